//! The `mpc train` and `mpc demo` commands end to end: outputs, exit status and error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mpc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpc"))
        .args(args)
        .output()
        .expect("the mpc binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpc-ml-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
        .display()
        .to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn demo_writes_model_and_report_and_passes() {
    let dir = scratch("demo");
    let out = dir.join("out");
    let o = mpc(&["demo", "--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", stderr(&o));
    assert!(
        stdout.contains("test accuracy") && stdout.contains("bytes sent per party"),
        "{stdout}"
    );
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["model"], "logistic");
    assert_eq!(model["features"].as_array().unwrap().len(), 30);
    assert_eq!(model["weights"].as_array().unwrap().len(), 30);
    assert!(model["intercept"].is_number());
    assert_eq!(model["ring"], "Z128");
    assert_eq!(model["rows_per_party"], serde_json::json!([192, 152, 111]));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("## What was revealed, to whom")
            && report.contains("global mean and standard deviation")
    );
    // The demo runs over loopback QUIC, and its report says so (it said `in-memory` for every run).
    assert!(
        report.contains("loopback QUIC") && !report.contains("in-memory"),
        "{report}"
    );
    assert!(std::fs::read_to_string(out.join("loss.svg"))
        .unwrap()
        .contains("<polyline"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn local_linear_training() {
    let dir = scratch("linear");
    let (a, b) = (data("diabetes_a.csv"), data("diabetes_b.csv"));
    let o = mpc(&[
        "train",
        "--local",
        "--party-data",
        &a,
        "--party-data",
        &b,
        "--label",
        "progression",
        "--model",
        "linear",
        "--receivers",
        "0,1",
        "--out",
        dir.to_str().unwrap(),
        "--in-memory",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", stderr(&o));
    assert!(stdout.contains("test R^2"), "{stdout}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["model"], "linear");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn local_closed_form_training() {
    let dir = scratch("closed");
    let (a, b) = (data("diabetes_a.csv"), data("diabetes_b.csv"));
    let args = |solver: &'static str, model: &'static str| {
        vec![
            "train".to_string(),
            "--local".into(),
            "--party-data".into(),
            a.clone(),
            "--party-data".into(),
            b.clone(),
            "--label".into(),
            "progression".into(),
            "--model".into(),
            model.into(),
            "--solver".into(),
            solver.into(),
            "--out".into(),
            dir.to_str().unwrap().to_string(),
            "--in-memory".into(),
        ]
    };
    let run = |v: Vec<String>| mpc(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let o = run(args("closed-form", "linear"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", stderr(&o));
    assert!(stdout.contains("test R^2"), "{stdout}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["config"]["solver"], "closed_form");
    assert_eq!(model["weights"].as_array().unwrap().len(), 10);
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("closed form (normal equations, Newton–Schulz inverse)")
            && report.contains("16 Newton–Schulz iterations"),
        "{report}"
    );
    let o = run(args("closed-form", "logistic"));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("`solver`") && stderr(&o).contains("linear regression only"),
        "{}",
        stderr(&o)
    );
    let o = run(args("newton", "linear"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--solver"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_cell_is_located() {
    let dir = scratch("badcell");
    let bad = dir.join("bad.csv");
    let text = std::fs::read_to_string(data("diabetes_b.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[4].split(',').map(String::from).collect();
    cells[1] = "x9".into();
    lines[4] = cells.join(",");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let o = mpc(&[
        "train",
        "--local",
        "--party-data",
        &data("diabetes_a.csv"),
        "--party-data",
        bad.to_str().unwrap(),
        "--label",
        "progression",
        "--model",
        "linear",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("party 1")
            && e.contains("bad.csv, line 5, column `sex`")
            && e.contains("`x9` is not a number"),
        "{e}"
    );
    assert!(!dir.join("out").exists(), "nothing is written on failure");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ot_runs_and_missing_options_are_clear() {
    let dir = scratch("opts");
    let out = dir.join("out");
    let base = ["train", "--local", "--party-data"];
    let (a, b) = (data("hospital_a.csv"), data("hospital_b.csv"));
    // Dealer-free preprocessing runs end to end (one epoch of linear regression, to keep debug runs short).
    let o = mpc(&[
        "train",
        "--local",
        "--party-data",
        &data("diabetes_a.csv"),
        "--party-data",
        &data("diabetes_b.csv"),
        "--label",
        "progression",
        "--model",
        "linear",
        "--epochs",
        "1",
        "--preprocessing",
        "ot",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = std::fs::read_to_string(out.join("model.json")).unwrap();
    assert!(model.contains("\"preprocessing\": \"ot\""), "{model}");
    let _ = std::fs::remove_dir_all(&out);
    let o = mpc(&[
        &base[..],
        &[
            &a,
            "--party-data",
            &b,
            "--label",
            "malignant",
            "--out",
            out.to_str().unwrap(),
        ],
    ]
    .concat());
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("party 0") && stderr(&o).contains("column `patient_id`"),
        "{}",
        stderr(&o)
    );
    let o = mpc(&[
        &base[..],
        &[
            &a,
            "--party-data",
            &b,
            "--label",
            "nope",
            "--out",
            out.to_str().unwrap(),
        ],
    ]
    .concat());
    assert!(
        stderr(&o).contains("line 1") && stderr(&o).contains("no label column `nope`"),
        "{}",
        stderr(&o)
    );
    let o = mpc(&[
        &base[..],
        &[&a, "--label", "malignant", "--out", out.to_str().unwrap()],
    ]
    .concat());
    assert!(stderr(&o).contains("at least two"), "{}", stderr(&o));
    let o = mpc(&[
        &base[..],
        &[
            &a,
            "--party-data",
            &b,
            "--label",
            "malignant",
            "--epochs",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
    ]
    .concat());
    assert!(stderr(&o).contains("`epochs`"), "{}", stderr(&o));
    let o = mpc(&[
        &base[..],
        &[
            "/nonexistent/x.csv",
            "--party-data",
            &b,
            "--label",
            "malignant",
            "--out",
            out.to_str().unwrap(),
        ],
    ]
    .concat());
    assert!(
        stderr(&o).contains("party 0: cannot read /nonexistent/x.csv"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn config_file_errors_are_located_before_connecting() {
    let dir = scratch("config");
    // The network part is checked first: a missing field is named with the file.
    let cfg = dir.join("party.toml");
    std::fs::write(
        &cfg,
        "party_id = 0\n[train]\ndata = \"a.csv\"\nlabel = \"malignant\"\n",
    )
    .unwrap();
    let o = mpc(&["train", "--config", cfg.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("party.toml") && e.contains("session_id"), "{e}");
    // A valid network part with a bad [train] value: the error names file, line, column and field, and
    // nothing connects (the test would otherwise wait for the peer).
    let configs = mpc_net::local::write_local_configs(&dir, 2, false, "").unwrap();
    let mut text = std::fs::read_to_string(&configs[0]).unwrap();
    let line = text.lines().count() + 5;
    text.push_str("\n[train]\ndata = \"a.csv\"\nlabel = \"malignant\"\nbatch_size = 0\n");
    std::fs::write(&configs[0], text).unwrap();
    let o = mpc(&["train", "--config", configs[0].to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "party-0.toml, line {line}, column 14: field `train.batch_size`"
        )),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
