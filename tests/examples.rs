//! The deployment examples a hospital copies (`examples/deployment/`) are what runs here: parsed as they are
//! (with the fingerprints filled in), and run as four processes on loopback with keys made by `mpc keygen`,
//! roster entries made by `mpc roster-entry`, and only the addresses, ports and data paths changed.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{data, mpc, scratch, spawn, wait_all};
use mpc_ml::party_config::{parse_train_section_for, Session};
use mpc_net::PartyConfig;

const NAMES: [&str; 4] = ["hospital-a", "hospital-b", "hospital-c", "dealer"];

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/deployment")
        .join(format!("{name}.toml"))
}

fn placeholder(name: &str) -> String {
    format!("\"REPLACE-WITH-{name}-FINGERPRINT\"")
}

#[test]
fn the_examples_parse_once_the_fingerprints_are_filled_in() {
    for (id, name) in NAMES.iter().enumerate() {
        let path = example(name);
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (i, n) in NAMES.iter().enumerate() {
            let fp = mpc_net::Fingerprint([i as u8 + 1; 32]).to_string();
            text = text.replace(&placeholder(n), &format!("\"{fp}\""));
        }
        let c = PartyConfig::parse(&path, text.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.party_id, id);
        assert_eq!(c.me().name, *name);
        assert_eq!(c.roster.computing_parties(), 3);
        assert_eq!(c.roster.dealer(), Some(3));
        let session = Session {
            parties: 3,
            dealer: true,
        };
        if *name == "dealer" {
            assert!(c.train.is_none(), "the dealer has no [train] table");
        } else {
            let s =
                parse_train_section_for(&path, &text, session).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                s.data.exists(),
                "{name}: the example points at a bundled file: {}",
                s.data.display()
            );
            assert_eq!(s.config.receivers, vec![0]);
        }
    }
    // As shipped, the placeholders are refused with the field named.
    let e = PartyConfig::load(&example("hospital-a"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("field `party[0].fingerprint`"), "{e}");
}

/// A UDP port free now.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The text of `mpc ARGS`, which must succeed.
fn run_ok(args: &[&str]) -> String {
    let out = mpc(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mpc {args:?}: {text}");
    text
}

#[test]
fn the_examples_train_a_model_on_loopback() {
    let root = scratch("examples");
    let ports: Vec<u16> = NAMES.iter().map(|_| free_port()).collect();
    // Each institution makes its key pair on its own machine (here a folder each) ...
    let mut entries = Vec::new();
    for (id, name) in NAMES.iter().enumerate() {
        let machine = root.join(name);
        let keys = machine.join("keys");
        let made = run_ok(&["keygen", "--name", name, "--out", keys.to_str().unwrap()]);
        let cert = keys.join(format!("{name}.crt"));
        let shown = run_ok(&["keygen", "--show", cert.to_str().unwrap()]);
        let fp_line = |t: &str| {
            t.lines()
                .find(|l| l.contains("fingerprint = "))
                .unwrap()
                .trim()
                .to_string()
        };
        assert_eq!(
            fp_line(&made),
            fp_line(&shown),
            "--show prints the fingerprint keygen printed"
        );
        // ... and sends its certificate; every party makes the roster entry from it.
        let mut args = vec![
            "roster-entry".to_string(),
            "--id".into(),
            id.to_string(),
            "--name".into(),
            name.to_string(),
            "--address".into(),
            format!("127.0.0.1:{}", ports[id]),
            "--certificate".into(),
            cert.to_str().unwrap().into(),
        ];
        if *name == "dealer" {
            args.push("--dealer".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        entries.push(run_ok(&args));
    }
    let mut configs = Vec::new();
    for (id, name) in NAMES.iter().enumerate() {
        let text = std::fs::read_to_string(example(name)).unwrap();
        // The example's own lines up to its roster, then the roster made by `mpc roster-entry`.
        let head = &text[..text.find("[[party]]").unwrap()];
        let mut text = head.replace("0.0.0.0:7100", &format!("127.0.0.1:{}", ports[id]));
        for f in ["hospital_a.csv", "hospital_b.csv", "hospital_c.csv"] {
            text = text.replace(&format!("../../data/{f}"), data(f).to_str().unwrap());
        }
        text.push_str(&entries.join("\n"));
        let path = root.join(name).join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        configs.push(path);
    }
    let children = configs.iter().map(|c| spawn(c)).collect();
    let out = wait_all(children, Duration::from_secs(120));
    for (name, o) in NAMES.iter().zip(&out) {
        assert!(o.ok, "{name} failed: {}", o.text);
    }
    assert!(
        out[0]
            .text
            .contains("party 0: received the model; on this party's own test rows: accuracy"),
        "{}",
        out[0].text
    );
    assert!(
        out[3]
            .text
            .contains("dealer: served the session to its end"),
        "{}",
        out[3].text
    );
    let model = root.join("hospital-a/mpc-out/model.json");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model).unwrap()).unwrap();
    assert_eq!(model["parties"], 3);
    assert_eq!(
        model["features"].as_array().unwrap().len(),
        30,
        "every column but the id and the label"
    );
    for name in ["hospital-b", "hospital-c"] {
        let dir = root.join(name).join("mpc-out");
        assert!(
            dir.join("report.md").exists() && !dir.join("model.json").exists(),
            "{name}: a report, no model"
        );
    }
    let _ = std::fs::remove_dir_all(root);
}
