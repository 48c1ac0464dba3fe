//! Real-world records that break unchecked ranges: outlier rows (a unit or entry error: every feature three
//! times a real record's), one feature far out, a constant column. Secure training must match plaintext
//! training on the same split within 0.02 accuracy, with both preprocessing sources, or stop with an error;
//! before the sigmoid's clamp, one such record took accuracy from 0.97 to 0.76 with exit 0.

mod common;

use mpc_ml::plain::{train_plain, Link};
use mpc_ml::{metrics, LocalOptions, PartyData, PreprocessingKind, TrainConfig, Transport};

/// The hospitals with `copies` extra records at party 0, each a malignant record's features times `factor`.
fn with_outliers(copies: usize, factor: f64) -> Vec<PartyData> {
    let mut parties = common::hospitals();
    let p = &mut parties[0];
    let i = p.labels.iter().position(|&y| y == 1.0).unwrap();
    let row: Vec<f64> = p.rows[i].iter().map(|v| v * factor).collect();
    let last = *p.lines.last().unwrap();
    for c in 0..copies {
        p.rows.push(row.clone());
        p.labels.push(1.0);
        p.lines.push(last + 1 + c as u64);
    }
    parties
}

fn pool(parties: &[PartyData]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let rows = parties.iter().flat_map(|p| p.rows.clone()).collect();
    let labels = parties.iter().flat_map(|p| p.labels.clone()).collect();
    (rows, labels)
}

/// Trains securely and in plaintext (exact sigmoid) on the same split and compares test accuracy.
async fn check(parties: Vec<PartyData>, preprocessing: PreprocessingKind, what: &str) {
    let config = TrainConfig::default();
    let options = LocalOptions {
        config: config.clone(),
        preprocessing,
        progress: None,
    };
    let run = mpc_ml::run_local(parties, options, Transport::InMemory)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let model = run.receiver().unwrap().model.clone().unwrap();
    let (rows, labels) = pool(&run.test);
    let secure = metrics::evaluate(&model, &rows, &labels).accuracy.unwrap();
    let exact = train_plain(&run.train, &config, Link::Exact);
    let plain = metrics::evaluate(&exact.model, &rows, &labels)
        .accuracy
        .unwrap();
    eprintln!("{what} ({preprocessing:?}): secure {secure:.4}, plaintext {plain:.4}");
    assert!(
        (secure - plain).abs() <= 0.02,
        "{what} ({preprocessing:?}): secure {secure}, plaintext {plain}"
    );
}

#[tokio::test]
async fn one_outlier_record_matches_plaintext() {
    for pre in [PreprocessingKind::Dealer, PreprocessingKind::Ot] {
        check(with_outliers(1, 3.0), pre, "one record x3").await;
    }
}

#[tokio::test]
async fn twelve_outlier_records_match_plaintext() {
    for pre in [PreprocessingKind::Dealer, PreprocessingKind::Ot] {
        check(with_outliers(12, 3.0), pre, "twelve records x3").await;
    }
}

#[tokio::test]
async fn one_feature_far_out_and_a_constant_column_match_plaintext() {
    let mut parties = common::hospitals();
    // One cell a thousand times its value (a unit error), and the last feature constant everywhere.
    parties[1].rows[3][0] *= 1000.0;
    for p in &mut parties {
        for r in &mut p.rows {
            *r.last_mut().unwrap() = 7.0;
        }
    }
    check(
        parties,
        PreprocessingKind::Dealer,
        "one cell x1000, a constant column",
    )
    .await;
}

/// A diverging linear descent (unscaled features up to 60 and a learning rate of 1, far beyond the
/// stable step) stops every party with an error naming the setting, instead of ending with a wrong model:
/// its residuals pass their public bound and are counted. The same rate on the same data in plaintext
/// gives no model either (its weights overflow).
#[tokio::test]
async fn a_diverging_linear_descent_stops_with_an_error() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let parties: Vec<PartyData> = (0..3)
        .map(|party| {
            let rows: Vec<Vec<f64>> = (0..60)
                .map(|_| (0..3).map(|_| rng.gen_range(-60.0..60.0)).collect())
                .collect();
            let labels = rows.iter().map(|r| (r[0] - r[1] + r[2]) / 4.0).collect();
            PartyData {
                party,
                path: format!("synthetic_{party}.csv"),
                features: vec!["a".into(), "b".into(), "c".into()],
                label: "y".into(),
                lines: (2..62).collect(),
                rows,
                labels,
            }
        })
        .collect();
    let config = TrainConfig {
        model: mpc_ml::ModelKind::Linear,
        standardize: mpc_ml::Standardize::None,
        learning_rate: 1.0,
        ..TrainConfig::default()
    };
    let plain = train_plain(&parties, &config, Link::Exact);
    assert!(
        plain
            .model
            .weights
            .iter()
            .any(|w| !w.is_finite() || w.abs() > 1e12),
        "the plaintext descent was meant to diverge: {:?}",
        plain.model.weights
    );
    for pre in [PreprocessingKind::Dealer, PreprocessingKind::Ot] {
        let options = LocalOptions {
            config: config.clone(),
            preprocessing: pre,
            progress: None,
        };
        let err = mpc_ml::run_local(parties.clone(), options, Transport::InMemory)
            .await
            .err()
            .unwrap_or_else(|| panic!("{pre:?}: a diverging descent ended without an error"));
        assert!(err.to_string().contains("learning_rate"), "{pre:?}: {err}");
    }
}
