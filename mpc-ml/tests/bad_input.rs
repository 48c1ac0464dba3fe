//! Bad input stops every party, and nothing hangs: the failing party's error names the party, the file, the
//! line and the column or field; the others learn the party and the category only.

mod common;

use std::time::Duration;

use mpc_core::net::Recorder;
use mpc_core::preprocessing::DealerSource;
use mpc_core::{simulate_with, SimOptions};
use mpc_ml::{data, DataSpec, Error, ModelKind, PartyData, Standardize, TrainConfig};

fn small(party: usize, header: &str, rows: &[&str]) -> PartyData {
    let text = format!("{header}\n{}\n", rows.join("\n"));
    let spec = DataSpec {
        label: "y".into(),
        id_column: None,
        features: None,
        model: ModelKind::Logistic,
    };
    data::load_csv_str(party, &format!("p{party}.csv"), &text, &spec).unwrap()
}

fn rows(scale: f64) -> Vec<String> {
    (0..10)
        .map(|i| format!("{},{},{}", i as f64 * scale, (i * 7 % 5) as f64, i % 2))
        .collect()
}

fn party(p: usize, header: &str, scale: f64) -> PartyData {
    let r = rows(scale);
    small(p, header, &r.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Runs `train_party` for every party directly (as an embedding service would) and returns each result.
async fn each_party(parties: Vec<PartyData>, config: TrainConfig) -> Vec<Result<(), String>> {
    each_party_recorded(parties, config, Recorder::new()).await
}

/// [`each_party`], with `recorder` recording every message and abort reason that crosses.
async fn each_party_recorded(
    parties: Vec<PartyData>,
    config: TrainConfig,
    recorder: Recorder,
) -> Vec<Result<(), String>> {
    let n = parties.len();
    let parties = std::sync::Arc::new(parties);
    let run = simulate_with(
        SimOptions {
            dealer: true,
            recorder: Some(recorder),
            ..Default::default()
        },
        n,
        move |mut ctx| {
            let (parties, config) = (parties.clone(), config.clone());
            async move {
                let me = ctx.id();
                let mut source = DealerSource::connect(&ctx).await?;
                let r = mpc_ml::train_party(&mut ctx, &mut source, &parties[me], &config).await;
                r.map(|_| ())
                    .map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))
            }
        },
    );
    let out = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("no party hangs")
        .unwrap();
    out.into_iter()
        .map(|o| o.result.map_err(|e| e.to_string()))
        .collect()
}

#[tokio::test]
async fn different_columns_stop_every_party() {
    let a = party(0, "a,b,y", 1.0);
    let b = party(1, "a,c,y", 1.0);
    let results = each_party(
        vec![a.clone(), b.clone(), a.clone().with_party(2)],
        TrainConfig::default(),
    )
    .await;
    assert!(results.iter().all(Result::is_err), "{results:?}");
    assert!(
        results[0]
            .as_ref()
            .unwrap_err()
            .contains("party 1 disagrees with party 0 on the feature columns (it has `c`)"),
        "{results:?}"
    );
    // The local runner finds it before any session, naming the file and the line.
    let e = common::run(vec![a, b], TrainConfig::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("party 1: p1.csv, line 1") && e.contains("`c` is not in party 0's file p0.csv"),
        "{e}"
    );
}

#[tokio::test]
async fn different_options_stop_every_party() {
    let parties = vec![party(0, "a,b,y", 1.0), party(1, "a,b,y", 1.0)];
    let parties = std::sync::Arc::new(parties);
    let out = simulate_with(
        SimOptions {
            dealer: true,
            ..Default::default()
        },
        2,
        move |mut ctx| {
            let parties = parties.clone();
            async move {
                let me = ctx.id();
                let config = TrainConfig {
                    epochs: 3 + me,
                    ..TrainConfig::default()
                };
                let mut source = DealerSource::connect(&ctx).await?;
                let r = mpc_ml::train_party(&mut ctx, &mut source, &parties[me], &config).await;
                r.map(|_| ())
                    .map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))
            }
        },
    )
    .await
    .unwrap();
    // Each names the setting and both values, its own last.
    for (o, values) in out
        .into_iter()
        .zip(["(4 against this party's 3)", "(3 against this party's 4)"])
    {
        let e = o.result.unwrap_err().to_string();
        assert!(
            e.contains("disagrees")
                && e.contains("the training option `epochs` ")
                && e.contains(values),
            "{e}"
        );
    }
}

#[tokio::test]
async fn out_of_range_value_at_one_party_stops_every_party() {
    // Without standardization values must stay within 64: party 1's line 11, column `a` holds 90.
    let config = TrainConfig {
        standardize: Standardize::None,
        ..TrainConfig::default()
    };
    let parties = vec![party(0, "a,b,y", 1.0), party(1, "a,b,y", 10.0)];
    let recorder = Recorder::new();
    let results = each_party_recorded(parties.clone(), config.clone(), recorder.clone()).await;
    let own = results[1].as_ref().unwrap_err();
    assert!(
        own.contains("party 1: p1.csv, line")
            && own.contains("column `a`")
            && own.contains("exceeds 64"),
        "{own}"
    );
    // The other party learns who stopped and the category, not the file, the line, the column or the value.
    let other = results[0].as_ref().unwrap_err();
    assert!(
        other.contains("party 1 aborted the session: input rejected; see party 1's log"),
        "{other}"
    );
    for detail in ["p1.csv", "line", "column", "exceeds", "90"] {
        assert!(
            !other.contains(detail),
            "`{detail}` reached party 0: {other}"
        );
    }
    // The error comes after the scaling's secure sums: messages did cross, none with the error's text.
    let crossed = recorder.crossed();
    assert!(crossed.iter().any(|c| c.from == 1 && c.bytes.len() > 100));
    for c in &crossed {
        for detail in ["p1.csv", "exceeds", "column `a`"] {
            let found = c
                .bytes
                .windows(detail.len())
                .any(|w| w == detail.as_bytes());
            assert!(!found, "`{detail}` crossed from {} to {}", c.from, c.to);
        }
    }
    let e = common::run(parties, config).await.unwrap_err();
    assert!(matches!(e, Error::Cell { party: 1, .. }), "{e}");
}

#[tokio::test]
async fn bad_options_and_missing_features() {
    let parties = || vec![party(0, "a,b,y", 1.0), party(1, "a,b,y", 1.0)];
    let e = common::run(
        parties(),
        TrainConfig {
            epochs: 0,
            ..TrainConfig::default()
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("`epochs`"), "{e}");
    let e = common::run(
        parties(),
        TrainConfig {
            receivers: vec![2],
            ..TrainConfig::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("`receivers`") && e.to_string().contains("no party 2"),
        "{e}"
    );
    let e = common::run(
        parties(),
        TrainConfig {
            learning_rate: f64::NAN,
            ..TrainConfig::default()
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("`learning-rate`"), "{e}");
    let e = common::run(vec![party(0, "a,b,y", 1.0)], TrainConfig::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at least 2"), "{e}");
}

#[test]
fn missing_file_names_party_and_path() {
    let spec = DataSpec {
        label: "y".into(),
        id_column: None,
        features: None,
        model: ModelKind::Logistic,
    };
    let e = data::load_csv_file(2, std::path::Path::new("/nonexistent/h.csv"), &spec)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("party 2: cannot read /nonexistent/h.csv"),
        "{e}"
    );
}

trait WithParty {
    fn with_party(self, p: usize) -> Self;
}

impl WithParty for PartyData {
    fn with_party(mut self, p: usize) -> Self {
        self.party = p;
        self
    }
}
