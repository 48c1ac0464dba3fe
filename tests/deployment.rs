//! A deployment in miniature: every party (and the dealer) is its own `mpc train --config` process with its
//! own key, talking over the QUIC mesh on 127.0.0.1; the model reaches only the named receiver.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpc-deploy-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spawn(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mpc"))
        .args(["train", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for every child, at most `limit` in all; returns (status, stdout + stderr) per child.
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
            panic!("the parties did not finish within {limit:?}: {results:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    results.into_iter().map(Option::unwrap).collect()
}

#[test]
fn two_hospitals_and_a_dealer_as_separate_processes() {
    let dir = scratch("ok");
    let configs = mpc_net::local::write_local_configs(&dir, 2, true, "").unwrap();
    for (i, file) in ["diabetes_a.csv", "diabetes_b.csv"].iter().enumerate() {
        let train = format!(
            "\n[train]\ndata = {:?}\nlabel = \"progression\"\nmodel = \"linear\"\nepochs = 2\npreprocessing = \"dealer\"\nreceivers = [1]\nout = \"out-{i}\"\n",
            data(file).to_str().unwrap()
        );
        let mut text = std::fs::read_to_string(&configs[i]).unwrap();
        text.push_str(&train);
        std::fs::write(&configs[i], text).unwrap();
    }
    let children = configs.iter().map(|c| spawn(c)).collect();
    let results = wait_all(children, Duration::from_secs(60));
    for (i, (ok, text)) in results.iter().enumerate() {
        assert!(ok, "process {i} failed: {text}");
    }
    assert!(
        results[2].1.contains("dealer: served the session"),
        "{}",
        results[2].1
    );
    assert!(
        results[0].1.contains("party 0: not a receiver"),
        "{}",
        results[0].1
    );
    assert!(
        results[1].1.contains("party 1: received the model"),
        "{}",
        results[1].1
    );
    assert!(
        dir.join("out-1/model.json").exists(),
        "the receiver writes the model"
    );
    assert!(
        !dir.join("out-0/model.json").exists(),
        "a non-receiver writes no model"
    );
    // What a user reads: no `Some(..)`/`None`, no half-written file left.
    assert!(
        results[1].1.contains("on this party's own test rows: R^2 ")
            && !results[1].1.contains("Some("),
        "{}",
        results[1].1
    );
    let report = std::fs::read_to_string(dir.join("out-1/report.md")).unwrap();
    assert!(
        report.contains("R^2 ") && !report.contains("Some(") && !report.contains("None"),
        "{report}"
    );
    for out in ["out-0", "out-1"] {
        for f in std::fs::read_dir(dir.join(out)).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains("partial"), "{out}/{name} was left behind");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A bad cell at party 1 stops every process; only party 1's output holds the cell, the file and the line,
/// the other party and the dealer learn that party 1 rejected its input, and where to look.
#[test]
fn a_bad_cell_at_one_party_stops_every_process_and_only_it_shows_the_cell() {
    const MARKER: &str = "ZQX_MARKER_7731";
    let dir = scratch("bad");
    let configs = mpc_net::local::write_local_configs(&dir, 2, true, "").unwrap();
    let bad = dir.join("bad_cell_file.csv");
    let text = std::fs::read_to_string(data("diabetes_b.csv")).unwrap();
    std::fs::write(&bad, text.replacen("\n50,", &format!("\n{MARKER},"), 1)).unwrap();
    for (i, file) in [data("diabetes_a.csv"), bad].iter().enumerate() {
        let train = format!(
            "\n[train]\ndata = {:?}\nlabel = \"progression\"\nmodel = \"linear\"\nepochs = 1\nout = \"out-{i}\"\n",
            file.to_str().unwrap()
        );
        let mut text = std::fs::read_to_string(&configs[i]).unwrap();
        text.push_str(&train);
        std::fs::write(&configs[i], text).unwrap();
    }
    let children = configs.iter().map(|c| spawn(c)).collect();
    let results = wait_all(children, Duration::from_secs(60));
    assert!(
        !results[1].0
            && results[1].1.contains("bad_cell_file.csv, line 2")
            && results[1].1.contains(MARKER),
        "{}",
        results[1].1
    );
    for (i, who) in [(0, "party 0"), (2, "the dealer")] {
        let (ok, text) = &results[i];
        // Party 1's own abort, or another's that names party 1 (whichever reaches this process first).
        assert!(
            !ok && (text
                .contains("party 1 aborted the session: input rejected; see party 1's log")
                || text.contains("stopped because party 1 stopped")),
            "{who} names the party at fault and the category: {text}"
        );
        for secret in [MARKER, "bad_cell_file", "line 2"] {
            assert!(!text.contains(secret), "`{secret}` reached {who}: {text}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
