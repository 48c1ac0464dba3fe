//! Known answers from scikit-learn: the secure models against `LogisticRegression()` and `LinearRegression()`
//! on the bundled splits and on generated data sets that are hard for a solver.
//!
//! The data sets are generated here, deterministically ([`datasets`]); `cargo test -p mpc-ml --test
//! known_answers -- --ignored export` writes their training and test rows (after the project's split) to
//! `target/known_answers/`, and `known_answers/fit_sklearn.py` fits scikit-learn on them and writes
//! `known_answers/sklearn.json`, which is stored in the repository. The tests read only that file: they do
//! not need Python.

mod common;

use std::path::PathBuf;

use mpc_ml::plain::{newton, Link};
use mpc_ml::split::{pool, split_parties};
use mpc_ml::{
    metrics, LocalOptions, Model, ModelKind, PartyData, PreprocessingKind, Solver, TrainConfig,
    Transport,
};
use serde_json::Value;

/// A deterministic generator (SplitMix64) with normal draws (Box-Muller).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// One generated data set: `rows` rows of `d` features with the given kinds of columns, a logistic label
/// with intercept `bias` (negative: a rarer positive class), split among three parties (40%, 35%, 25%).
struct Spec {
    name: &'static str,
    seed: u64,
    rows: usize,
    d: usize,
    /// Columns that are constant.
    constant: &'static [usize],
    /// Columns `j` that repeat column `j - 1` up to noise of 1e-3 (before scaling).
    collinear: &'static [usize],
    /// Column `j` is scaled by `10^(lo + (hi - lo) j / (d - 1))`.
    scales: (f64, f64),
    bias: f64,
}

const SPECS: [Spec; 3] = [
    Spec {
        name: "wide64",
        seed: 64,
        rows: 600,
        d: 64,
        constant: &[5, 40, 63],
        collinear: &[7, 15, 23, 31],
        scales: (-3.0, 4.0),
        bias: -2.5,
    },
    Spec {
        name: "scales12",
        seed: 12,
        rows: 500,
        d: 12,
        constant: &[],
        collinear: &[],
        scales: (-3.0, 4.0),
        bias: -0.2,
    },
    Spec {
        name: "rare20",
        seed: 20,
        rows: 800,
        d: 20,
        constant: &[3],
        collinear: &[10],
        scales: (0.0, 2.0),
        bias: -4.0,
    },
];

fn generate(spec: &Spec) -> Vec<PartyData> {
    let mut g = Gen(spec.seed);
    let d = spec.d;
    let beta: Vec<f64> = (0..d)
        .map(|j| {
            if j % 3 == 0 {
                g.normal()
            } else {
                0.3 * g.normal()
            }
        })
        .collect();
    let mut rows = Vec::with_capacity(spec.rows);
    let mut labels = Vec::with_capacity(spec.rows);
    for _ in 0..spec.rows {
        let latent: Vec<f64> = (0..4).map(|_| g.normal()).collect();
        let mut std = vec![0.0; d];
        for j in 0..d {
            std[j] = if spec.constant.contains(&j) {
                0.0
            } else if spec.collinear.contains(&j) {
                std[j - 1] + 1e-3 * g.normal()
            } else {
                0.6 * latent[j % 4] + 0.8 * g.normal()
            };
        }
        let logit = spec.bias + std.iter().zip(&beta).map(|(x, b)| x * b).sum::<f64>();
        let p = 1.0 / (1.0 + (-logit).exp());
        labels.push(f64::from(u8::from(g.uniform() < p)));
        let (lo, hi) = spec.scales;
        rows.push(
            std.iter()
                .enumerate()
                .map(|(j, &x)| {
                    let scale = 10f64.powf(lo + (hi - lo) * j as f64 / (d - 1).max(1) as f64);
                    scale * (x + 1.5)
                })
                .collect::<Vec<f64>>(),
        );
    }
    let cuts = [0, spec.rows * 40 / 100, spec.rows * 75 / 100, spec.rows];
    (0..3)
        .map(|p| PartyData {
            party: p,
            path: format!("{}_{p}.csv", spec.name),
            features: (0..d).map(|j| format!("f{j}")).collect(),
            label: "y".into(),
            rows: rows[cuts[p]..cuts[p + 1]].to_vec(),
            labels: labels[cuts[p]..cuts[p + 1]].to_vec(),
            lines: (cuts[p] as u64 + 2..cuts[p + 1] as u64 + 2).collect(),
        })
        .collect()
}

/// Every logistic data set by name: the bundled breast-cancer hospitals and the generated ones.
fn datasets() -> Vec<(&'static str, Vec<PartyData>)> {
    let mut out = vec![("breast_cancer", common::hospitals())];
    out.extend(SPECS.iter().map(|s| (s.name, generate(s))));
    out
}

fn figures() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/known_answers/sklearn.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn write_csv(path: &PathBuf, parts: &[PartyData]) {
    let (rows, labels) = pool(parts);
    let d = rows.first().map_or(0, Vec::len);
    let mut s: String = (0..d).map(|j| format!("f{j},")).collect();
    s.push_str("y\n");
    for (r, y) in rows.iter().zip(&labels) {
        for v in r {
            s.push_str(&format!("{v:e},"));
        }
        s.push_str(&format!("{y}\n"));
    }
    std::fs::write(path, s).unwrap();
}

/// Writes every data set's training and test rows for `known_answers/fit_sklearn.py`.
#[test]
#[ignore]
fn export() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/known_answers");
    std::fs::create_dir_all(&dir).unwrap();
    let mut all = datasets();
    all.push(("diabetes", common::diabetes()));
    for (name, parties) in all {
        let (train, test) = split_parties(&parties);
        write_csv(&dir.join(format!("{name}_train.csv")), &train);
        write_csv(&dir.join(format!("{name}_test.csv")), &test);
    }
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// The f64 Newton solver with the exact sigmoid is scikit-learn's `LogisticRegression(C=1)` on the
/// standardized features: the objective (penalty on the summed loss, intercept free) is the same.
#[test]
fn plaintext_newton_is_scikit_learns_objective() {
    let known = figures();
    for (name, parties) in datasets() {
        let (train, _) = split_parties(&parties);
        let (rows, labels) = pool(&train);
        let scaling = mpc_ml::scaling::Scaling::of_rows(&rows, &labels, false);
        let x: Vec<Vec<f64>> = rows.iter().map(|r| scaling.standardize(r)).collect();
        let ours = newton(&x, &labels, 1.0, Link::Exact);
        let theirs: Vec<f64> = known["logistic"][name]["weights_standardized"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let diff = max_diff(&ours, &theirs);
        assert!(
            diff < 1e-3,
            "{name}: {diff}\nours {ours:?}\nsklearn {theirs:?}"
        );
    }
}

fn accuracy(model: &Model, parts: &[PartyData]) -> f64 {
    let (rows, labels) = pool(parts);
    metrics::evaluate(model, &rows, &labels).accuracy.unwrap()
}

/// The secure model by Newton's method (`C = 1`, at the default sigma) against scikit-learn's test
/// accuracy, and its standardized weights against the same objective's f64 solution with the secure
/// run's standardization and sigmoid.
async fn check_logistic(name: &str, parties: Vec<PartyData>, preprocessing: PreprocessingKind) {
    let known = figures();
    let (train, test) = split_parties(&parties);
    let config = TrainConfig {
        solver: Solver::Newton,
        ..TrainConfig::default()
    };
    let options = LocalOptions {
        config: config.clone(),
        preprocessing,
        progress: None,
    };
    let run = mpc_ml::run_local_split(train, test, options, Transport::InMemory)
        .await
        .unwrap();
    let out = run.receiver().unwrap();
    let model = out.model.clone().unwrap();
    let secure = out.scaling.to_standardized(&model.weights, model.intercept);
    let (rows, labels) = pool(&run.train);
    let x: Vec<Vec<f64>> = rows.iter().map(|r| out.scaling.standardize(r)).collect();
    let same = newton(&x, &labels, config.c, Link::Approx);
    let weights = max_diff(&secure, &same);
    let acc = accuracy(&model, &run.test);
    let sk = known["logistic"][name]["accuracy"].as_f64().unwrap();
    let sk_weights: Vec<f64> = known["logistic"][name]["weights_standardized"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    eprintln!(
        "{name} {preprocessing:?}: accuracy {acc:.4} (scikit-learn {sk:.4}), {} iterations, {} rounds, weights within {weights:.2e} of f64, {:.3} from scikit-learn's",
        out.timing.steps,
        out.timing.step_rounds,
        max_diff(&secure, &sk_weights)
    );
    assert!(
        (acc - sk).abs() <= 0.01,
        "{name}: {acc} vs scikit-learn {sk}"
    );
    assert!(weights <= 1e-3, "{name}: {weights}");
}

#[tokio::test]
async fn breast_cancer_dealer_matches_scikit_learn() {
    check_logistic(
        "breast_cancer",
        common::hospitals(),
        PreprocessingKind::Dealer,
    )
    .await;
}

#[tokio::test]
async fn breast_cancer_ot_matches_scikit_learn() {
    check_logistic("breast_cancer", common::hospitals(), PreprocessingKind::Ot).await;
}

#[tokio::test]
async fn generated_data_sets_match_scikit_learn() {
    for spec in &SPECS {
        check_logistic(spec.name, generate(spec), PreprocessingKind::Dealer).await;
    }
}

/// Linear regression on diabetes in closed form (at the default sigma) against `LinearRegression()`'s
/// test R^2, with both sources.
#[tokio::test]
async fn diabetes_closed_form_matches_scikit_learn() {
    for preprocessing in [PreprocessingKind::Dealer, PreprocessingKind::Ot] {
        diabetes(preprocessing).await;
    }
}

async fn diabetes(preprocessing: PreprocessingKind) {
    let known = figures();
    let config = TrainConfig {
        model: ModelKind::Linear,
        solver: Solver::ClosedForm,
        ..TrainConfig::default()
    };
    let options = LocalOptions {
        config,
        preprocessing,
        progress: None,
    };
    let run = mpc_ml::run_local(common::diabetes(), options, Transport::InMemory)
        .await
        .unwrap();
    let out = run.receiver().unwrap();
    assert_eq!(out.solver, Solver::ClosedForm);
    let model = out.model.clone().unwrap();
    let (rows, labels) = pool(&run.test);
    let r2 = metrics::evaluate(&model, &rows, &labels).r2.unwrap();
    let sk = known["linear"]["diabetes"]["r2"].as_f64().unwrap();
    eprintln!("diabetes {preprocessing:?}: R^2 {r2:.4} (scikit-learn {sk:.4})");
    assert!((r2 - sk).abs() <= 0.005, "R^2 {r2} vs scikit-learn {sk}");
}
