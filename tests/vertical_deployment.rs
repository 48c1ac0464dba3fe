//! A vertical deployment in miniature: a clinic (party 0, holding the label) and a lab (party 1) with other
//! columns about the same patients, and a dealer, each its own `mpc train --config` process with its own key
//! over the QUIC mesh on 127.0.0.1; rows are matched by the private set intersection on `patient_id`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mpc_ml::plain::{train_plain, Link};
use mpc_ml::vertical::{load_vertical_csv, split_joint, VerticalData, VerticalSpec};
use mpc_ml::{metrics, Model, ModelKind, PartyData, TrainConfig};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpc-vdeploy-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the session's configs (2 parties and a dealer) with a vertical `[train]` table per party, starts
/// every process and waits for all; returns (success, stdout + stderr) per process, the dealer (if
/// `preprocessing` is `dealer`) last.
fn run_deployment(
    dir: &Path,
    files: [&Path; 2],
    epochs: usize,
    preprocessing: &str,
) -> Vec<(bool, String)> {
    let configs =
        mpc_net::local::write_local_configs(dir, 2, preprocessing == "dealer", "").unwrap();
    for (i, file) in files.iter().enumerate() {
        let train = format!(
            "\n[train]\ndata = {:?}\nlabel = \"malignant\"\nid_column = \"patient_id\"\npartitioning = \"vertical\"\nepochs = {epochs}\npreprocessing = \"{preprocessing}\"\nreceivers = [0]\nout = \"out-{i}\"\n",
            file.to_str().unwrap()
        );
        let mut text = std::fs::read_to_string(&configs[i]).unwrap();
        text.push_str(&train);
        std::fs::write(&configs[i], text).unwrap();
    }
    let children: Vec<Child> = configs
        .iter()
        .map(|c| {
            Command::new(env!("CARGO_BIN_EXE_mpc"))
                .args(["train", "--config", c.to_str().unwrap()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    wait_all(children, Duration::from_secs(180))
}

/// Waits for every child, at most `limit` in all.
fn wait_all(children: Vec<Child>, limit: Duration) -> Vec<(bool, String)> {
    let start = Instant::now();
    let mut children: Vec<Option<Child>> = children.into_iter().map(Some).collect();
    let mut results: Vec<Option<(bool, String)>> = children.iter().map(|_| None).collect();
    while results.iter().any(Option::is_none) {
        for (i, slot) in children.iter_mut().enumerate() {
            let done = slot.as_mut().and_then(|c| c.try_wait().unwrap());
            if let Some(status) = done {
                let out = slot.take().unwrap().wait_with_output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout).to_string()
                    + &String::from_utf8_lossy(&out.stderr);
                results[i] = Some((status.success(), text));
            }
        }
        if start.elapsed() > limit {
            for c in children.iter_mut().flatten() {
                let _ = c.kill();
            }
            panic!("the processes did not finish within {limit:?}: {results:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    results.into_iter().map(Option::unwrap).collect()
}

/// The joined table in the clear (the test holds both files): the common ids in byte order, clinic columns
/// then lab columns, split by the public joint split; (training rows, test rows).
fn plain_join(clinic: &VerticalData, lab: &VerticalData) -> (PartyData, PartyData) {
    let at_lab: HashMap<&str, usize> = lab
        .ids
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut common: Vec<(&str, usize, usize)> = clinic
        .ids
        .ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| at_lab.get(id.as_str()).map(|&j| (id.as_str(), i, j)))
        .collect();
    common.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let (train, test) = split_joint(common.len());
    let labels = clinic.labels.as_ref().unwrap();
    let table = |positions: &[usize]| PartyData {
        party: 0,
        path: "joined".into(),
        features: clinic
            .features
            .iter()
            .chain(&lab.features)
            .cloned()
            .collect(),
        label: "malignant".into(),
        rows: positions
            .iter()
            .map(|&t| {
                let (_, i, j) = common[t];
                clinic.rows[i].iter().chain(&lab.rows[j]).copied().collect()
            })
            .collect(),
        labels: positions.iter().map(|&t| labels[common[t].1]).collect(),
        lines: positions.iter().map(|&t| common[t].1 as u64 + 2).collect(),
    };
    (table(&train), table(&test))
}

#[test]
fn a_clinic_a_lab_and_a_dealer_train_on_joined_columns() {
    let dir = scratch("ok");
    let (clinic_file, lab_file) = (data("vertical_clinic.csv"), data("vertical_lab.csv"));
    let epochs = 10;
    let results = run_deployment(&dir, [&clinic_file, &lab_file], epochs, "dealer");
    for (i, (ok, text)) in results.iter().enumerate() {
        assert!(ok, "process {i} failed: {text}");
    }
    assert!(
        results[0].1.contains("party 0: received the model"),
        "{}",
        results[0].1
    );
    assert!(
        results[1].1.contains("party 1: not a receiver"),
        "{}",
        results[1].1
    );
    assert!(
        results[2].1.contains("dealer: served the session"),
        "{}",
        results[2].1
    );
    assert!(
        !dir.join("out-1/model.json").exists(),
        "a non-receiver writes no model"
    );
    assert!(dir.join("out-1/report.md").exists());

    let text = std::fs::read_to_string(dir.join("out-0/model.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let model: Model = serde_json::from_value(json.clone()).unwrap();

    let spec = VerticalSpec {
        id_column: "patient_id".into(),
        label: "malignant".into(),
        features: None,
        model: ModelKind::Logistic,
    };
    let clinic = load_vertical_csv(0, &clinic_file, &spec).unwrap();
    let lab = load_vertical_csv(1, &lab_file, &spec).unwrap();
    // Every feature named with the party whose file has it, clinic columns first.
    let owners = json["feature_owners"].as_array().unwrap();
    let want: Vec<(String, u64)> = clinic
        .features
        .iter()
        .map(|f| (f.clone(), 0))
        .chain(lab.features.iter().map(|f| (f.clone(), 1)))
        .collect();
    let got: Vec<(String, u64)> = owners
        .iter()
        .map(|o| {
            (
                o["feature"].as_str().unwrap().to_string(),
                o["party"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        model.features,
        want.iter().map(|w| w.0.clone()).collect::<Vec<_>>()
    );

    // Against plaintext training on the same joined rows, evaluated on the joined test rows.
    let (train, test) = plain_join(&clinic, &lab);
    assert_eq!(json["intersection"], train.rows.len() + test.rows.len());
    assert_eq!(json["test_rows"], test.rows.len());
    let config = TrainConfig {
        epochs,
        receivers: vec![0],
        ..TrainConfig::default()
    };
    let plain = train_plain(&[train], &config, Link::Exact);
    let secure = metrics::evaluate(&model, &test.rows, &test.labels)
        .accuracy
        .unwrap();
    let baseline = metrics::evaluate(&plain.model, &test.rows, &test.labels)
        .accuracy
        .unwrap();
    eprintln!("accuracy on the joined test rows: secure {secure}, plaintext {baseline}");
    assert!(
        secure >= 0.95 && (secure - baseline).abs() <= 0.01,
        "secure accuracy {secure}, plaintext {baseline}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A repeated id at party 1 stops every process; only party 1's output holds the id (which would tell the
/// others that this person is in party 1's set), the file and the line.
#[test]
fn a_repeated_id_at_one_party_stops_every_process_and_only_it_shows_the_id() {
    const MARKER: &str = "ZQX_MARKER_7731";
    let dir = scratch("dup");
    let lab = dir.join("lab_dup.csv");
    let text = std::fs::read_to_string(data("vertical_lab.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for i in [1, 3] {
        let rest = lines[i].split_once(',').unwrap().1.to_string();
        lines[i] = format!("{MARKER},{rest}");
    }
    std::fs::write(&lab, lines.join("\n") + "\n").unwrap();
    let results = run_deployment(&dir, [&data("vertical_clinic.csv"), &lab], 1, "dealer");
    for (i, (ok, text)) in results.iter().enumerate() {
        assert!(!ok, "process {i} succeeded: {text}");
    }
    let own = &results[1].1;
    assert!(
        own.contains("party 1")
            && own.contains("lab_dup.csv")
            && own.contains("line 4")
            && own.contains("appears twice")
            && own.contains(MARKER),
        "{own}"
    );
    for i in [0, 2] {
        let text = &results[i].1;
        // Party 1's own abort, or another's that names party 1 (whichever reaches this process first).
        assert!(
            text.contains("party 1 aborted the session: input rejected; see party 1's log")
                || text.contains("stopped because party 1 stopped"),
            "process {i} does not name the party and the category: {text}"
        );
        for secret in [MARKER, "lab_dup", "line 4", "appears twice"] {
            assert!(
                !text.contains(secret),
                "`{secret}` reached process {i}: {text}"
            );
        }
    }
    assert!(!dir.join("out-0/model.json").exists());
    let _ = std::fs::remove_dir_all(dir);
}
