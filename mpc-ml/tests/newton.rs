//! Newton's method on the shares against the same objective's solution in f64.

mod common;

use mpc_ml::plain::{newton, Link};
use mpc_ml::scaling::Scaling;
use mpc_ml::split::pool;
use mpc_ml::{metrics, LocalOptions, PreprocessingKind, Solver, TrainConfig, Transport};

async fn breast_cancer(preprocessing: PreprocessingKind) {
    let config = TrainConfig {
        solver: Solver::Newton,
        ..TrainConfig::default()
    };
    let options = LocalOptions {
        config: config.clone(),
        preprocessing,
        progress: None,
    };
    let run = mpc_ml::run_local(common::hospitals(), options, Transport::InMemory)
        .await
        .unwrap();
    let out = run.receiver().unwrap();
    let model = out.model.clone().unwrap();
    let secure = out.scaling.to_standardized(&model.weights, model.intercept);
    let (rows, labels) = pool(&run.train);
    let scaling = Scaling::of_rows(&rows, &labels, false);
    let x: Vec<Vec<f64>> = rows.iter().map(|r| scaling.standardize(r)).collect();
    let approx = newton(&x, &labels, config.c, Link::Approx);
    let exact = newton(&x, &labels, config.c, Link::Exact);
    let worst = secure
        .iter()
        .zip(&approx)
        .map(|(s, a)| (s - a).abs())
        .fold(0.0, f64::max);
    let to_exact = secure
        .iter()
        .zip(&exact)
        .map(|(s, a)| (s - a).abs())
        .fold(0.0, f64::max);
    let t = &out.timing;
    eprintln!(
        "{preprocessing:?}: {} iterations, {} rounds, worst weight error {worst:.2e} (to the exact sigmoid's solution {to_exact:.2e}), {:.3} s",
        t.steps, t.step_rounds, t.training_seconds
    );
    assert!(worst <= 1e-3, "secure {secure:?}\nf64 {approx:?}");
    let (test_rows, test_labels) = pool(&run.test);
    let acc = metrics::evaluate(&model, &test_rows, &test_labels)
        .accuracy
        .unwrap();
    let (er, eb) = scaling.to_raw(&exact[..exact.len() - 1], exact[exact.len() - 1]);
    let exact_model = mpc_ml::Model {
        weights: er,
        intercept: eb,
        ..model.clone()
    };
    let exact_acc = metrics::evaluate(&exact_model, &test_rows, &test_labels)
        .accuracy
        .unwrap();
    assert!((acc - exact_acc).abs() <= 0.01, "{acc} vs {exact_acc}");
    assert!(out
        .revealed
        .iter()
        .any(|d| d.what.contains("whether the update's norm is below")));
    assert!(t.steps >= 3 && t.steps < mpc_ml::newton::MAX_ITERATIONS);
    assert_eq!(out.solver, Solver::Newton);
}

#[tokio::test]
async fn breast_cancer_newton_dealer() {
    breast_cancer(PreprocessingKind::Dealer).await;
}

#[tokio::test]
async fn breast_cancer_newton_ot() {
    breast_cancer(PreprocessingKind::Ot).await;
}

/// Breast cancer's Newton run meets the default sigma of 40 (about 47.8 bits with a dealer) and the default
/// solver picks it; above its bits an explicit Newton run is refused before any data is shared, naming
/// sigma and the run's bits, and the default solver picks gradient descent instead: nothing runs below
/// sigma.
#[tokio::test]
async fn newton_below_sigma_is_refused_and_auto_picks_descent() {
    let bits = mpc_ml::newton::security_bits(455, 30, 1.0, 3, false);
    assert!((44.0..48.0).contains(&bits), "{bits}");
    let auto = mpc_ml::run_local(
        common::hospitals(),
        LocalOptions {
            config: TrainConfig::default(),
            preprocessing: PreprocessingKind::Dealer,
            progress: None,
        },
        Transport::InMemory,
    )
    .await
    .unwrap();
    assert_eq!(auto.receiver().unwrap().solver, Solver::Newton);
    let refused = mpc_ml::run_local(
        common::hospitals(),
        LocalOptions {
            config: TrainConfig {
                solver: Solver::Newton,
                sigma: 48,
                ..TrainConfig::default()
            },
            preprocessing: PreprocessingKind::Dealer,
            progress: None,
        },
        Transport::InMemory,
    )
    .await;
    let Err(e) = refused else {
        panic!("a Newton run below sigma is refused");
    };
    let e = e.to_string();
    assert!(
        e.contains("sigma = 48")
            && e.contains("gradient_descent")
            && e.contains("bits of statistical security"),
        "{e}"
    );
    let auto = mpc_ml::run_local(
        common::hospitals(),
        LocalOptions {
            config: TrainConfig {
                sigma: 48,
                ..TrainConfig::default()
            },
            preprocessing: PreprocessingKind::Dealer,
            progress: None,
        },
        Transport::InMemory,
    )
    .await
    .unwrap();
    assert_eq!(auto.receiver().unwrap().solver, Solver::GradientDescent);
}
