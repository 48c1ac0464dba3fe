//! What a party that stops tells its peers: only its party id and a category, never the cell, the value, the
//! PSI id, the file path or the line of its error. Every byte that crosses the in-memory network (messages and
//! abort reasons) is recorded and searched for the failing party's details.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpc_core::net::Recorder;
use mpc_core::{simulate_with, SimOptions};
use mpc_ml::party::run_party;
use mpc_ml::party_config::{parse_train_section, TrainSection};
use mpc_ml::vertical_party::run_vertical_party;
use mpc_ml::Error;

const MARKER: &str = "ZQX_MARKER_7731";

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mpc-ml-peer-errors-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn section(dir: &Path, party: usize, data: &Path, extra: &str) -> TrainSection {
    let text = format!(
        "session = \"s\"\nparty_id = {party}\n\n[train]\ndata = {:?}\nlabel = \"malignant\"\nid_column = \"patient_id\"\nepochs = 1\nreceivers = [0]\nout = \"out{party}\"\n{extra}",
        data.to_str().unwrap()
    );
    parse_train_section(&dir.join(format!("party{party}.toml")), &text).unwrap()
}

/// `name` of the data folder with line `line` (the header is line 1) changed by `edit`, written to `dir`.
fn edited(dir: &Path, name: &str, out: &str, edit: impl Fn(usize, &str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(common::data_dir().join(name)).unwrap();
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| edit(i + 1, l))
        .collect();
    let path = dir.join(out);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Runs every party's `run` over the in-memory network with a dealer and a recorder; returns each party's
/// error (None if it succeeded) and everything that crossed.
async fn run_recorded<F, Fut>(n: usize, run: F) -> (Vec<Option<Error>>, Vec<mpc_core::net::Crossed>)
where
    F: Fn(mpc_core::Context) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = mpc_ml::Result<()>> + Send + 'static,
{
    let recorder = Recorder::new();
    let errors: Arc<Mutex<Vec<Option<Error>>>> =
        Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let slots = errors.clone();
    let run = Arc::new(run);
    let opts = SimOptions {
        dealer: true,
        recorder: Some(recorder.clone()),
        ..SimOptions::default()
    };
    let session = simulate_with(opts, n, move |ctx| {
        let (run, slots) = (run.clone(), slots.clone());
        async move {
            let me = ctx.id();
            run(ctx).await.map_err(|e| {
                let text = e.to_string();
                slots.lock().unwrap()[me] = Some(e);
                mpc_core::Error::InvalidArgument(text)
            })
        }
    });
    // The dealer reports its own PeerAborted when every party failed; only the parties' errors matter here.
    let _ = tokio::time::timeout(Duration::from_secs(60), session)
        .await
        .expect("no party hangs");
    let errors = std::mem::take(&mut *errors.lock().unwrap());
    (errors, recorder.crossed())
}

/// Asserts that no byte that crossed between endpoints contains any of `secrets`.
fn assert_nothing_crossed(crossed: &[mpc_core::net::Crossed], secrets: &[&str]) {
    assert!(!crossed.is_empty(), "the recorder saw nothing");
    for c in crossed {
        for s in secrets {
            assert!(
                !c.bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "`{s}` crossed from {} to {}: {:?}",
                c.from,
                c.to,
                String::from_utf8_lossy(&c.bytes)
            );
        }
    }
}

/// Asserts that `e` is a peer's report of party `party`'s abort, with a category and no detail.
fn assert_peer_sees_category(me: usize, e: &Error, party: usize, category: &str, secrets: &[&str]) {
    match e {
        Error::Mpc {
            source:
                mpc_core::Error::PeerAborted {
                    party: from,
                    reason,
                },
            ..
        } => {
            assert!(
                reason.contains(category) && reason.contains("'s log"),
                "party {me}: {reason}"
            );
            if *from == party {
                assert_eq!(
                    reason,
                    &format!("{category}; see party {party}'s log"),
                    "party {me}"
                );
            }
            for s in secrets {
                assert!(!reason.contains(s), "party {me} sees `{s}`: {reason}");
            }
        }
        other => panic!("party {me}: expected a PeerAborted, got {other:?}"),
    }
    for s in secrets {
        assert!(!e.to_string().contains(s), "party {me} sees `{s}`: {e}");
    }
}

#[tokio::test]
async fn a_bad_cell_reaches_no_peer_horizontal() {
    let dir = scratch("cell");
    let bad = edited(&dir, "hospital_b.csv", "bad_hospital_b.csv", |i, l| {
        if i == 137 {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells[1] = MARKER;
            cells.join(",")
        } else {
            l.to_string()
        }
    });
    let bad_text = std::fs::read_to_string(&bad).unwrap();
    assert!(bad_text.lines().nth(136).unwrap().contains(MARKER));
    let files = [
        common::data_dir().join("hospital_a.csv"),
        bad.clone(),
        common::data_dir().join("hospital_c.csv"),
    ];
    let sections: Arc<Vec<TrainSection>> =
        Arc::new((0..3).map(|p| section(&dir, p, &files[p], "")).collect());
    let (errors, crossed) = run_recorded(3, move |mut ctx| {
        let sections = sections.clone();
        async move {
            let me = ctx.id();
            run_party(&mut ctx, &sections[me]).await.map(|_| ())
        }
    })
    .await;
    let own = errors[1].as_ref().expect("party 1 fails").to_string();
    assert!(
        own.contains(MARKER) && own.contains("bad_hospital_b.csv") && own.contains("line 137"),
        "{own}"
    );
    let secrets = [MARKER, "bad_hospital_b", "line 137", "not a number"];
    assert_nothing_crossed(&crossed, &secrets);
    for p in [0, 2] {
        let e = errors[p].as_ref().expect("every party stops");
        assert_peer_sees_category(p, e, 1, "input rejected", &secrets);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_repeated_psi_id_reaches_no_peer_vertical() {
    let dir = scratch("psi");
    let clinic = common::data_dir().join("vertical_clinic.csv");
    let lab = edited(&dir, "vertical_lab.csv", "dup_lab.csv", |i, l| {
        if i == 3 || i == 9 {
            let (_, rest) = l.split_once(',').unwrap();
            format!("{MARKER},{rest}")
        } else {
            l.to_string()
        }
    });
    let vertical = "partitioning = \"vertical\"\n";
    let sections: Arc<Vec<TrainSection>> = Arc::new(vec![
        section(&dir, 0, &clinic, vertical),
        section(&dir, 1, &lab, vertical),
    ]);
    let (errors, crossed) = run_recorded(2, move |mut ctx| {
        let sections = sections.clone();
        async move {
            let me = ctx.id();
            run_vertical_party(&mut ctx, &sections[me])
                .await
                .map(|_| ())
        }
    })
    .await;
    let own = errors[1].as_ref().expect("party 1 fails").to_string();
    assert!(
        own.contains(MARKER)
            && own.contains("dup_lab.csv")
            && own.contains("line 9")
            && own.contains("appears twice"),
        "{own}"
    );
    let secrets = [MARKER, "dup_lab", "line 9", "line 3", "appears twice"];
    assert_nothing_crossed(&crossed, &secrets);
    let e = errors[0].as_ref().expect("the other party stops");
    assert_peer_sees_category(0, e, 1, "input rejected", &secrets);
    let _ = std::fs::remove_dir_all(dir);
}
