//! `mpc train --local --vertical` and `mpc demo --vertical` end to end: the model file names each feature's
//! owner, and file errors name the party and the file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mpc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpc"))
        .args(args)
        .output()
        .expect("the mpc binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpc-vertical-cli-{}-{name}", std::process::id()));
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

#[test]
fn train_local_vertical_writes_model_with_owners() {
    let dir = scratch("train");
    let out = dir.join("out");
    let o = mpc(&[
        "train",
        "--local",
        "--vertical",
        "--party-data",
        &data("vertical_clinic.csv"),
        "--party-data",
        &data("vertical_lab.csv"),
        "--id-column",
        "patient_id",
        "--label",
        "malignant",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("private set intersection"), "{stdout}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    let owners = model["feature_owners"].as_array().unwrap();
    assert_eq!(owners.len(), 30);
    assert_eq!(owners[0]["feature"], "mean_radius");
    assert_eq!(owners[0]["party"], 0);
    assert_eq!(owners[29]["feature"], "worst_fractal_dimension");
    assert_eq!(owners[29]["party"], 1);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("private set intersection") && report.contains("| party 1 |"),
        "{report}"
    );
}

#[test]
fn vertical_errors_name_party_and_file() {
    let dir = scratch("errors");
    let lab = dir.join("lab.csv");
    let text = std::fs::read_to_string(data("vertical_lab.csv")).unwrap();
    std::fs::write(&lab, text.replacen("patient_id", "pid", 1)).unwrap();
    let o = mpc(&[
        "train",
        "--local",
        "--vertical",
        "--party-data",
        &data("vertical_clinic.csv"),
        "--party-data",
        lab.to_str().unwrap(),
        "--id-column",
        "patient_id",
        "--label",
        "malignant",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("party 1") && stderr.contains("lab.csv") && stderr.contains("patient_id"),
        "{stderr}"
    );
    let o = mpc(&[
        "train",
        "--local",
        "--vertical",
        "--party-data",
        &data("vertical_clinic.csv"),
        "--party-data",
        &data("vertical_lab.csv"),
        "--label",
        "malignant",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--id-column"));
}

#[test]
fn demo_vertical_passes() {
    let out = scratch("demo").join("out");
    let o = mpc(&["demo", "--vertical", "--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("ok: secure accuracy"), "{stdout}");
}
