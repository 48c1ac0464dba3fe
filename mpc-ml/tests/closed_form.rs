//! Linear regression in closed form (`solver = closed_form`) against plaintext: ordinary least squares and
//! ridge on the bundled diabetes data, with the dealer and with `ot`; errors for what it does not cover.

mod common;

use mpc_ml::closed_form::{iterations, MAX_FEATURES};
use mpc_ml::plain::{least_squares, train_plain, Link};
use mpc_ml::split::pool;
use mpc_ml::vertical::{self, VerticalLocalOptions, VerticalOptions, VerticalSpec};
use mpc_ml::{
    data, metrics, DataSpec, Error, LocalOptions, LocalRun, Model, ModelKind, PartyData,
    PreprocessingKind, Solver, Standardize, TrainConfig, Transport,
};

fn closed_form(l2: f64, receivers: Vec<usize>) -> TrainConfig {
    TrainConfig {
        model: ModelKind::Linear,
        solver: Solver::ClosedForm,
        l2,
        receivers,
        ..TrainConfig::default()
    }
}

/// The 442 rows of diabetes.csv as three parties of 147, 147 and 148 rows.
fn diabetes_three() -> Vec<PartyData> {
    let text = std::fs::read_to_string(common::data_dir().join("diabetes.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(rows.len(), 442);
    let spec = DataSpec {
        label: "progression".into(),
        id_column: None,
        features: None,
        model: ModelKind::Linear,
    };
    [0..147, 147..294, 294..442]
        .into_iter()
        .enumerate()
        .map(|(p, range)| {
            let body = rows[range].join("\n");
            data::load_csv_str(
                p,
                &format!("diabetes_{p}.csv"),
                &format!("{header}\n{body}\n"),
                &spec,
            )
            .unwrap()
        })
        .collect()
}

async fn run(
    parties: Vec<PartyData>,
    config: TrainConfig,
    preprocessing: PreprocessingKind,
) -> mpc_ml::Result<LocalRun> {
    let options = LocalOptions {
        config,
        preprocessing,
        progress: None,
    };
    mpc_ml::run_local(parties, options, Transport::InMemory).await
}

fn r2(model: &Model, rows: &[Vec<f64>], labels: &[f64]) -> f64 {
    metrics::evaluate(model, rows, labels).r2.unwrap()
}

/// The largest difference of two models' weights and intercepts, measured on the standardized scale (a weight
/// difference times the feature's standard deviation over the label's), so that every coefficient counts
/// alike whatever its raw units.
fn standardized_gap(run: &LocalRun, a: &Model, b: &Model) -> f64 {
    let scaling = &run.receiver().unwrap().scaling;
    let weights = a
        .weights
        .iter()
        .zip(&b.weights)
        .zip(&scaling.sd)
        .map(|((x, y), sd)| (x - y).abs() * sd / scaling.label_sd);
    weights
        .chain([(a.intercept - b.intercept).abs() / scaling.label_sd])
        .fold(0.0, f64::max)
}

/// The secure closed form against ordinary least squares on the same training rows: test R^2 within 0.01,
/// and weights within 1e-3 on the standardized scale.
fn check_against_ols(run: &LocalRun, receivers: &[usize], preprocessing: PreprocessingKind) {
    let out = run.receiver().unwrap();
    let model = out.model.clone().unwrap();
    for (p, party) in run.parties.iter().enumerate() {
        assert_eq!(
            party.output.model.is_some(),
            receivers.contains(&p),
            "party {p}"
        );
    }
    assert_eq!(out.epoch_models.len(), 1, "the closed form opens one model");
    let k = iterations(model.weights.len(), 0.0, 20);
    assert_eq!(out.timing.steps, k);
    // The rounds of the module docs (`mpc_ml::closed_form::rounds`): with a dealer exactly, with `ot` more
    // (the trace check's AND triples are made online).
    let (train_rows, train_labels) = pool(&run.train);
    let want = mpc_ml::closed_form::rounds(
        train_rows.len(),
        model.weights.len(),
        0.0,
        run.parties.len(),
    );
    for party in &run.parties {
        let got = party.output.timing.step_rounds;
        assert!(
            got == want || (preprocessing == PreprocessingKind::Ot && got > want),
            "{got} rounds, {want} expected"
        );
    }
    let ols = least_squares(&train_rows, &train_labels, &model.features).unwrap();
    let (rows, labels) = pool(&run.test);
    let (secure, plain) = (r2(&model, &rows, &labels), r2(&ols, &rows, &labels));
    assert!(
        (secure - plain).abs() <= 0.01,
        "secure R^2 {secure}, OLS {plain}"
    );
    // The weights against the f64 solution of the same system (ridge with the damping 2^-8,
    // `mpc_ml::plain::closed_form`); against OLS they differ by the damping's effect on the collinear columns.
    let same = train_plain(
        &run.train,
        &closed_form(0.0, receivers.to_vec()),
        Link::Exact,
    )
    .model;
    let gap = standardized_gap(run, &model, &same);
    eprintln!(
        "closed form: R^2 {secure} (OLS {plain}), largest standardized weight gap {gap:e} to the same system, {:e} to OLS",
        standardized_gap(run, &model, &ols)
    );
    assert!(
        gap <= 1e-3,
        "weights {:?} against the same system's {:?}",
        model.weights,
        same.weights
    );
}

#[tokio::test]
async fn diabetes_three_parties_dealer_matches_least_squares() {
    let receivers = vec![0, 2];
    let run = run(
        diabetes_three(),
        closed_form(0.0, receivers.clone()),
        PreprocessingKind::Dealer,
    )
    .await
    .unwrap();
    check_against_ols(&run, &receivers, PreprocessingKind::Dealer);
    // Only the model is opened, once, to the receivers.
    let out = run.receiver().unwrap();
    let last = out.revealed.last().unwrap();
    assert!(
        last.what.contains("opened once") && last.to == receivers,
        "{last:?}"
    );
}

#[tokio::test]
async fn diabetes_two_parties_ot_matches_least_squares() {
    let run = run(
        common::diabetes(),
        closed_form(0.0, vec![1]),
        PreprocessingKind::Ot,
    )
    .await
    .unwrap();
    check_against_ols(&run, &[1], PreprocessingKind::Ot);
}

#[tokio::test]
async fn diabetes_three_parties_ot_matches_least_squares() {
    let run = run(
        diabetes_three(),
        closed_form(0.0, vec![0]),
        PreprocessingKind::Ot,
    )
    .await
    .unwrap();
    check_against_ols(&run, &[0], PreprocessingKind::Ot);
}

#[tokio::test]
async fn ridge_matches_plaintext_ridge() {
    let config = closed_form(0.5, vec![0]);
    let run = run(diabetes_three(), config.clone(), PreprocessingKind::Dealer)
        .await
        .unwrap();
    let model = run.receiver().unwrap().model.clone().unwrap();
    let plain = train_plain(&run.train, &config, Link::Exact).model;
    let gap = standardized_gap(&run, &model, &plain);
    eprintln!("ridge: largest standardized weight gap {gap:e}");
    assert!(
        gap <= 1e-3,
        "weights {:?} against {:?}",
        model.weights,
        plain.weights
    );
    // The penalty shrinks the standardized weights below least squares'.
    let (train_rows, train_labels) = pool(&run.train);
    let ols = least_squares(&train_rows, &train_labels, &model.features).unwrap();
    let sd = &run.receiver().unwrap().scaling.sd;
    let norm = |m: &Model| {
        m.weights
            .iter()
            .zip(sd)
            .map(|(w, s)| (w * s).powi(2))
            .sum::<f64>()
    };
    assert!(
        norm(&model) < 0.9 * norm(&ols),
        "{} against {}",
        norm(&model),
        norm(&ols)
    );
    // Fewer iterations than without the penalty.
    assert!(run.receiver().unwrap().timing.steps < iterations(10, 0.0, 20));
}

fn option_error(e: Error) -> (String, String) {
    match e {
        Error::Option { field, reason } => (field, reason),
        other => panic!("not an option error: {other}"),
    }
}

#[tokio::test]
async fn closed_form_refuses_logistic_unstandardized_and_too_many_features() {
    let logistic = TrainConfig {
        model: ModelKind::Logistic,
        ..closed_form(0.0, vec![0])
    };
    let e = run(common::hospitals(), logistic, PreprocessingKind::Dealer)
        .await
        .unwrap_err();
    let (field, reason) = option_error(e);
    assert_eq!(field, "solver");
    assert!(
        reason.contains("linear regression only") && reason.contains("gradient_descent"),
        "{reason}"
    );

    let unscaled = TrainConfig {
        standardize: Standardize::None,
        ..closed_form(0.0, vec![0])
    };
    let (field, reason) = option_error(unscaled.validate(2).unwrap_err());
    assert_eq!(field, "solver");
    assert!(reason.contains("standardize = global"), "{reason}");

    // 65 features: refused before any product, with the option that helps.
    let d = MAX_FEATURES + 1;
    let header: Vec<String> = (0..d)
        .map(|j| format!("f{j}"))
        .chain(["y".into()])
        .collect();
    let spec = DataSpec {
        label: "y".into(),
        id_column: None,
        features: None,
        model: ModelKind::Linear,
    };
    let parties: Vec<PartyData> = (0..2)
        .map(|p| {
            let rows: Vec<String> = (0..12)
                .map(|i| {
                    (0..=d)
                        .map(|j| (((i + 13 * p) * (j + 3)) % 17).to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            let text = format!("{}\n{}\n", header.join(","), rows.join("\n"));
            data::load_csv_str(p, "wide.csv", &text, &spec).unwrap()
        })
        .collect();
    let e = run(
        parties,
        closed_form(0.0, vec![0]),
        PreprocessingKind::Dealer,
    )
    .await
    .unwrap_err();
    let (field, reason) = option_error(e);
    assert_eq!(field, "solver");
    assert!(
        reason.contains("65 features") && reason.contains("`--solver gd`"),
        "{reason}"
    );
}

#[tokio::test]
async fn vertical_closed_form_recovers_a_linear_relation() {
    // Two parties with other columns about the same 60 people: y = 2a - b + 0.5c + 3 + small noise.
    let val = |i: usize, j: usize| ((i * (2 * j + 5) + j * 11) % 23) as f64 / 4.0;
    let mut texts = [String::from("pid,a,b,y\n"), String::from("pid,c\n")];
    for i in 0..60 {
        let (a, b, c) = (val(i, 0), val(i, 1), val(i, 2));
        let noise = ((i * 37) % 11) as f64 / 1000.0;
        let y = 2.0 * a - b + 0.5 * c + 3.0 + noise;
        texts[0].push_str(&format!("id{i},{a},{b},{y}\n"));
        texts[1].push_str(&format!("id{},{}\n", 59 - i, val(59 - i, 2)));
    }
    let spec = VerticalSpec {
        id_column: "pid".into(),
        label: "y".into(),
        features: None,
        model: ModelKind::Linear,
    };
    let parties = texts
        .iter()
        .enumerate()
        .map(|(p, t)| vertical::load_vertical_str(p, &format!("v{p}.csv"), t, &spec).unwrap())
        .collect();
    let options = VerticalLocalOptions {
        options: VerticalOptions {
            config: closed_form(0.0, vec![1]),
            psi: mpc_ml::psi::PsiOptions {
                min_intersection: 10,
                ..Default::default()
            },
        },
        preprocessing: PreprocessingKind::Dealer,
        progress: None,
    };
    let run = vertical::run_vertical_local(parties, options, Transport::InMemory)
        .await
        .unwrap();
    let out = &run.run.parties[1].output;
    let model = out.model.clone().unwrap();
    assert!(run.run.parties[0].output.model.is_none());
    assert_eq!(model.features, vec!["a", "b", "c"]);
    // Within 2% (the damping 2^-8 shrinks the weights slightly: ridge with alpha = N / 256).
    for (w, want) in model.weights.iter().zip([2.0, -1.0, 0.5]) {
        assert!((w - want).abs() < 0.02 * want.abs(), "{:?}", model.weights);
    }
    // The intercept moves with the shrunk weights times the features' means (about 3 each).
    assert!((model.intercept - 3.0).abs() < 0.1, "{}", model.intercept);
    assert_eq!(out.epoch_models.len(), 1);
}
