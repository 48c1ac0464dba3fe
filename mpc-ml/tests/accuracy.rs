//! The secure models against plaintext f64 training on the same split, computed here.

mod common;

use mpc_ml::plain::{train_plain, Link};
use mpc_ml::split::pool;
use mpc_ml::{metrics, ModelKind, Solver, TrainConfig};

#[tokio::test]
async fn breast_cancer_logistic_matches_plaintext() {
    let config = TrainConfig {
        solver: Solver::GradientDescent,
        ..TrainConfig::default()
    };
    let run = common::run(common::hospitals(), config.clone())
        .await
        .unwrap();
    let model = run.receiver().unwrap().model.clone().unwrap();
    let (rows, labels) = pool(&run.test);
    let secure = metrics::evaluate(&model, &rows, &labels).accuracy.unwrap();
    let exact = train_plain(&run.train, &config, Link::Exact);
    let plain = metrics::evaluate(&exact.model, &rows, &labels)
        .accuracy
        .unwrap();
    assert!(secure >= 0.95, "secure accuracy {secure}");
    assert!(
        (secure - plain).abs() <= 0.01,
        "secure {secure}, plaintext {plain}"
    );
    // The secure arithmetic itself: the same recipe with the same approximation in f64 gives nearly the same
    // weights (within 0.3%: the fit on [-6, 6] is four times steeper in z than the former fit on [-24, 24],
    // so the 20-bit quantization of t = z / 6, and the clamp's decision on z at 5 fractional bits, weigh more).
    let approx = train_plain(&run.train, &config, Link::Approx);
    let (s, a) = (model.weights.iter(), approx.model.weights.iter());
    for (i, (s, a)) in s.zip(a).enumerate() {
        assert!(
            (s - a).abs() <= 3e-3 * (1.0 + a.abs()),
            "weight {i}: secure {s}, f64 {a}"
        );
    }
    // Rounds counted by the network layer, for every party: 7 per logistic step plus the clamp's
    // (`mpc_core::protocols::compare::ClampPlan::rounds`: for three parties 1 carry-save, 1 generate,
    // 5 or 6 for the carry tree of breast cancer's 27-bit bound, 1 for the daBits, 1 for the products).
    for p in &run.parties {
        let r = p.output.timing.rounds_per_step;
        assert!((16.0..=17.0).contains(&r), "party {}: {r}", p.output.party);
    }
    // Only party 0 (the default receiver) learns the model.
    assert!(run.parties[1..].iter().all(|p| p.output.model.is_none()));
}

#[tokio::test]
async fn diabetes_linear_matches_least_squares() {
    let config = TrainConfig {
        model: ModelKind::Linear,
        receivers: vec![0, 1],
        solver: Solver::GradientDescent,
        ..TrainConfig::default()
    };
    let run = common::run(common::diabetes(), config.clone())
        .await
        .unwrap();
    let model = run.parties[1].output.model.clone().unwrap();
    let (rows, labels) = pool(&run.test);
    let secure = metrics::evaluate(&model, &rows, &labels).r2.unwrap();
    let (train_rows, train_labels) = pool(&run.train);
    let ols = mpc_ml::plain::least_squares(&train_rows, &train_labels, &[]).unwrap();
    let ols_r2 = metrics::r2(
        &rows.iter().map(|r| ols.score(r)).collect::<Vec<_>>(),
        &labels,
    );
    assert!(
        (secure - ols_r2).abs() <= 0.01,
        "secure R^2 {secure}, OLS {ols_r2}"
    );
    // 2 rounds per linear step.
    for p in &run.parties {
        // 2 per linear step, plus the residual's truncation and its clamp's rounds
        // (`mpc_core::protocols::compare::ClampPlan::rounds`).
        let r = p.output.timing.rounds_per_step;
        assert!((10.0..=12.0).contains(&r), "party {}: {r}", p.output.party);
    }
}

#[tokio::test]
async fn l2_penalty_and_receivers_match_plaintext_recipe() {
    let config = TrainConfig {
        model: ModelKind::Linear,
        l2: 0.5,
        epochs: 3,
        batch_size: 50,
        receivers: vec![1],
        ..TrainConfig::default()
    };
    let run = common::run(common::diabetes(), config.clone())
        .await
        .unwrap();
    assert!(run.parties[0].output.model.is_none());
    let model = run.parties[1].output.model.clone().unwrap();
    let plain = train_plain(&run.train, &config, Link::Exact).model;
    let unpenalized = train_plain(
        &run.train,
        &TrainConfig {
            l2: 0.0,
            ..config.clone()
        },
        Link::Exact,
    )
    .model;
    for (i, (s, p)) in model.weights.iter().zip(&plain.weights).enumerate() {
        assert!(
            (s - p).abs() <= 1e-3 * (1.0 + p.abs()),
            "weight {i}: secure {s}, f64 {p}"
        );
    }
    assert!((model.intercept - plain.intercept).abs() <= 1e-2 * (1.0 + plain.intercept.abs()));
    let norm = |m: &mpc_ml::Model| m.weights.iter().map(|w| w * w).sum::<f64>();
    assert!(
        norm(&model) < norm(&unpenalized),
        "the penalty shrinks the weights"
    );
}

#[tokio::test]
async fn without_standardization_on_data_already_scaled() {
    // Two parties with features already on a common scale; nothing but the model is revealed.
    let make = |party: usize, offset: usize| {
        let rows: Vec<String> = (0..40)
            .map(|i| {
                let k = (i + offset) as f64;
                let (a, b) = ((k * 0.37).sin() * 2.0, (k * 0.61).cos() * 1.5);
                format!("{a:.4},{b:.4},{}", u8::from(a - 0.5 * b > 0.1))
            })
            .collect();
        let spec = mpc_ml::DataSpec {
            label: "y".into(),
            id_column: None,
            features: None,
            model: ModelKind::Logistic,
        };
        mpc_ml::data::load_csv_str(
            party,
            "s.csv",
            &format!("a,b,y\n{}\n", rows.join("\n")),
            &spec,
        )
        .unwrap()
    };
    let config = TrainConfig {
        standardize: mpc_ml::Standardize::None,
        batch_size: 16,
        ..TrainConfig::default()
    };
    let run = common::run(vec![make(0, 0), make(1, 40)], config.clone())
        .await
        .unwrap();
    let out = run.receiver().unwrap();
    assert!(
        !out.revealed.iter().any(|d| d.what.contains("mean")),
        "{:?}",
        out.revealed
    );
    let model = out.model.clone().unwrap();
    let approx = train_plain(&run.train, &config, Link::Approx).model;
    for (s, a) in model
        .weights
        .iter()
        .chain([&model.intercept])
        .zip(approx.weights.iter().chain([&approx.intercept]))
    {
        assert!(
            (s - a).abs() <= 3e-3 * (1.0 + a.abs()),
            "secure {s}, f64 {a}"
        );
    }
    let (rows, labels) = pool(&run.test);
    assert!(metrics::evaluate(&model, &rows, &labels).accuracy.unwrap() >= 0.85);
}

/// Without a dealer: `ot` preprocessing, where each batch's rows serve as their owner's mask (no `E` opened,
/// cross terms only between the owner and the others). Two epochs, against the f64 recipe with the same
/// sigmoid approximation.
#[tokio::test]
async fn breast_cancer_with_ot_matches_the_f64_recipe() {
    let config = TrainConfig {
        epochs: 2,
        solver: Solver::GradientDescent,
        ..TrainConfig::default()
    };
    let options = mpc_ml::LocalOptions {
        config: config.clone(),
        preprocessing: mpc_ml::PreprocessingKind::Ot,
        progress: None,
    };
    let run = mpc_ml::run_local(common::hospitals(), options, mpc_ml::Transport::InMemory)
        .await
        .unwrap();
    let model = run.receiver().unwrap().model.clone().unwrap();
    let approx = train_plain(&run.train, &config, Link::Approx);
    for (i, (s, a)) in model.weights.iter().zip(&approx.model.weights).enumerate() {
        assert!(
            (s - a).abs() <= 3e-3 * (1.0 + a.abs()),
            "weight {i}: secure {s}, f64 {a}"
        );
    }
    for p in &run.parties {
        let r = p.output.timing.rounds_per_step;
        assert!((16.0..=17.0).contains(&r), "{r}");
    }
}
