//! One party of a deployment from its `[train]` table ([`mpc_ml::party::run_party`]), every party over the
//! in-memory network (the QUIC mesh plugs in the same way).

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use mpc_core::{simulate_with, SimOptions};
use mpc_ml::party::run_party;
use mpc_ml::party_config::parse_train_section;

fn section(
    dir: &std::path::Path,
    party: usize,
    file: &str,
    extra: &str,
) -> mpc_ml::party_config::TrainSection {
    let text = format!(
        "session = \"demo\"\nparty_id = {party}\n\n[train]\ndata = \"{}\"\nlabel = \"progression\"\nmodel = \"linear\"\nreceivers = [1]\nout = \"out{party}\"\n{extra}",
        common::data_dir().join(file).display()
    );
    parse_train_section(&dir.join(format!("party{party}.toml")), &text).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpc-ml-party-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn each_party_from_its_config_and_only_receivers_get_the_model() {
    let dir = scratch("ok");
    let sections = Arc::new(vec![
        section(&dir, 0, "diabetes_a.csv", ""),
        section(&dir, 1, "diabetes_b.csv", ""),
    ]);
    let out = simulate_with(
        SimOptions {
            dealer: true,
            ..Default::default()
        },
        2,
        move |mut ctx| {
            let sections = sections.clone();
            async move {
                let me = ctx.id();
                run_party(&mut ctx, &sections[me])
                    .await
                    .map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))
            }
        },
    )
    .await
    .unwrap();
    let results: Vec<_> = out.into_iter().map(|o| o.result.unwrap()).collect();
    assert!(results[0].output.model.is_none());
    assert!(
        !dir.join("out0/model.json").exists(),
        "a non-receiver writes no model"
    );
    let report0 = std::fs::read_to_string(dir.join("out0/report.md")).unwrap();
    assert!(report0.contains("not a receiver") && report0.contains("What was revealed, to whom"));
    let report1 = std::fs::read_to_string(dir.join("out1/report.md")).unwrap();
    assert!(report1.contains("loss.svg"));
    // Without `epoch_models` the receiver got the final model alone, and its report says so (the default
    // solver is the closed form here, a linear model of 10 features whose run meets sigma: it opens one
    // model either way).
    assert_eq!(results[1].output.epoch_models.len(), 1);
    assert_eq!(results[1].output.solver, mpc_ml::Solver::ClosedForm);
    assert!(
        report1.contains("- final model: ") && report1.contains("Newton–Schulz iterations"),
        "{report1}"
    );
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out1/model.json")).unwrap())
            .unwrap();
    assert_eq!(model["model"], "linear");
    assert_eq!(model["weights"].as_array().unwrap().len(), 10);
    assert!(results[1].own_test.as_ref().unwrap().r2.unwrap() > 0.2);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn mismatched_settings_or_a_missing_file_at_one_party_stops_both_naming_the_setting() {
    let dir = scratch("bad");
    for (bad, expect) in [
        (
            section(&dir, 1, "diabetes_b.csv", "preprocessing = \"ot\"\n"),
            [
                "the parties disagree on preprocessing: party 0 chose dealer, party 1 chose ot",
                "the parties disagree on preprocessing: party 0 chose dealer, party 1 chose ot",
            ],
        ),
        (
            section(&dir, 1, "diabetes_b.csv", "epochs = 3\n"),
            [
                "party 1 disagrees with party 0 on the training option `epochs` (3 against this party's 10)",
                "party 0 disagrees with party 1 on the training option `epochs` (10 against this party's 3)",
            ],
        ),
        (
            section(&dir, 1, "diabetes_b.csv", "learning_rate = 0.05\n"),
            [
                "on the training option `learning_rate` (0.05 against this party's 0.1)",
                "on the training option `learning_rate` (0.1 against this party's 0.05)",
            ],
        ),
        (
            section(&dir, 1, "no_such_file.csv", ""),
            [
                "party 1 aborted the session: input rejected; see party 1's log",
                "party 1: cannot read",
            ],
        ),
    ] {
        let sections = Arc::new(vec![section(&dir, 0, "diabetes_a.csv", ""), bad]);
        let out = simulate_with(
            SimOptions {
                dealer: true,
                ..Default::default()
            },
            2,
            move |mut ctx| {
                let sections = sections.clone();
                async move {
                    let me = ctx.id();
                    run_party(&mut ctx, &sections[me])
                        .await
                        .map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))
                }
            },
        )
        .await
        .unwrap();
        for (o, expect) in out.into_iter().zip(expect) {
            let e = o.result.unwrap_err().to_string();
            assert!(e.contains(expect), "{e}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
