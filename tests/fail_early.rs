//! Fail early, end honestly: every local mistake stops a party before it connects (so it never waits for the
//! others, nor computes a model it cannot write); a waiting party names whom it waits for; the dealer's exit
//! status says whether the session succeeded; SIGTERM and Ctrl-C stop the peers at once.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{append, data, scratch, signal, spawn, wait_all};

fn train_table(file: &Path, extra: &str) -> String {
    format!(
        "\n[train]\ndata = {:?}\nlabel = \"malignant\"\nid_column = \"patient_id\"\n{extra}",
        file.to_str().unwrap()
    )
}

/// Configs for two hospitals (and a dealer if `dealer`) with `network` as their `[network]` table.
fn configs(dir: &Path, dealer: bool, network: &str) -> Vec<PathBuf> {
    mpc_net::local::write_local_configs(dir, 2, dealer, network).unwrap()
}

#[test]
fn local_mistakes_stop_a_party_before_it_connects() {
    let dir = scratch("early");
    let empty = dir.join("header_only.csv");
    let header = std::fs::read_to_string(data("hospital_a.csv")).unwrap();
    std::fs::write(&empty, header.lines().next().unwrap()).unwrap();
    std::fs::write(dir.join("a-file"), "x").unwrap();
    let a = data("hospital_a.csv");
    let cases: Vec<(&str, bool, String, &[&str])> = vec![
        (
            "missing-file",
            true,
            train_table(&dir.join("no_such.csv"), ""),
            &["cannot read", "no_such.csv"],
        ),
        (
            "label",
            true,
            train_table(&a, "").replace("\"malignant\"", "\"outcome\""),
            &["no label column `outcome`"],
        ),
        (
            "zero-rows",
            true,
            train_table(&empty, ""),
            &["header_only.csv", "0 data rows"],
        ),
        (
            "receivers",
            true,
            train_table(&a, "receivers = [5]\n"),
            &["field `train.receivers`", "no party 5"],
        ),
        (
            "no-dealer",
            false,
            train_table(&a, ""),
            &[
                "field `train.preprocessing`",
                "(the default) needs a dealer in the roster",
            ],
        ),
        (
            "out-is-a-file",
            true,
            train_table(&a, "out = \"a-file\"\n"),
            &["a-file", "not a folder"],
        ),
        (
            "id-column",
            true,
            train_table(&a, "").replace("id_column = \"patient_id\"\n", ""),
            &[
                "column `patient_id`",
                "looks like an id column",
                "id_column = \\\"patient_id\\\"",
            ],
        ),
    ];
    for (tag, dealer, table, expect) in cases {
        let case = dir.join(tag);
        std::fs::create_dir_all(&case).unwrap();
        if tag == "out-is-a-file" {
            std::fs::write(case.join("a-file"), "x").unwrap();
        }
        let cfg = configs(&case, dealer, "[network]\nconnect_timeout_secs = 2\n");
        append(&cfg[0], &table);
        let start = Instant::now();
        let out = wait_all(vec![spawn(&cfg[0])], Duration::from_secs(20));
        let (ok, text) = (out[0].ok, &out[0].text);
        assert!(!ok, "{tag}: the party must fail: {text}");
        for e in expect {
            let e = e.replace("\\\"", "\"");
            assert!(text.contains(&e), "{tag}: expected `{e}` in: {text}");
        }
        assert!(
            text.starts_with("error: ") && start.elapsed() < Duration::from_secs(10),
            "{tag}: said first, before any connection ({:?}): {text}",
            start.elapsed()
        );
        assert!(
            text.contains("party 0: could not tell every other party within 2 s"),
            "{tag}: then tries to tell the peers, for the connect timeout at most: {text}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_wrong_key_or_a_duplicate_address_stops_a_party_at_once() {
    let dir = scratch("early-net");
    let cfg = configs(&dir, true, "");
    let text = std::fs::read_to_string(&cfg[0]).unwrap();
    // Party 0 with party 1's private key.
    std::fs::write(
        &cfg[0],
        text.replace("keys/party-0.key", "keys/party-1.key"),
    )
    .unwrap();
    append(&cfg[0], &train_table(&data("hospital_a.csv"), ""));
    let out = wait_all(vec![spawn(&cfg[0])], Duration::from_secs(20));
    assert!(
        !out[0].ok
            && out[0].text.contains("party-1.key")
            && out[0].text.contains("party-0.crt")
            && out[0].text.contains("does not belong"),
        "{}",
        out[0].text
    );
    // The dealer listed at party 0's address.
    let text = std::fs::read_to_string(&cfg[1]).unwrap();
    let addr = |name: &str| {
        let at = text.find(&format!("name = \"{name}\"")).unwrap();
        let line = text[at..].lines().nth(1).unwrap().to_string();
        line
    };
    let (a0, a2) = (addr("party-0"), addr("dealer"));
    std::fs::write(&cfg[1], text.replace(&a2, &a0)).unwrap();
    let out = wait_all(vec![spawn(&cfg[1])], Duration::from_secs(20));
    assert!(
        !out[0].ok
            && out[0].text.contains("field `party[2].address`")
            && out[0].text.contains("also party 0's address"),
        "{}",
        out[0].text
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_waiting_party_names_whom_it_waits_for_in_plain_text() {
    let dir = scratch("waiting");
    let cfg = configs(&dir, true, "[network]\nconnect_timeout_secs = 5\n");
    append(&cfg[0], &train_table(&data("hospital_a.csv"), ""));
    let out = wait_all(vec![spawn(&cfg[0])], Duration::from_secs(30));
    let text = &out[0].text;
    assert!(!out[0].ok && text.contains("timed out"), "{text}");
    assert!(
        text.contains("party 0: still waiting for party 1 (party-1) at 127.0.0.1:")
            && text.contains("party 2 (dealer)"),
        "the waiting party says whom it waits for, without -v: {text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes into a pipe: {text:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Two hospitals and a dealer on a long run, with `idle` seconds of idle timeout; returns the folder and the
/// configs.
fn long_run(tag: &str, idle: u32) -> (PathBuf, Vec<PathBuf>) {
    let dir = scratch(tag);
    let cfg = configs(
        &dir,
        true,
        &format!("[network]\nidle_timeout_secs = {idle}\n"),
    );
    for (i, f) in ["hospital_a.csv", "hospital_b.csv"].iter().enumerate() {
        append(
            &cfg[i],
            &train_table(
                &data(f),
                &format!("solver = \"gradient_descent\"\nepochs = 5000\nreceivers = [0, 1]\nout = \"out-{i}\"\n"),
            ),
        );
    }
    (dir, cfg)
}

/// No output folder holds a half-written file, and no model was written by a failed run.
fn no_outputs(dir: &Path) {
    for f in common::files_under(dir) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.contains("partial") && name != "model.json" && name != "report.md",
            "a failed run left {}",
            f.display()
        );
    }
}

#[test]
fn the_dealer_fails_when_the_party_it_serves_is_killed() {
    let (dir, cfg) = long_run("kill0", 3);
    let children: Vec<_> = cfg.iter().map(|c| spawn(c)).collect();
    std::thread::sleep(Duration::from_millis(2500));
    signal(&children[0], "KILL");
    let out = wait_all(children, Duration::from_secs(40));
    let dealer = &out[2];
    // Whoever notices first: the dealer loses party 0 itself, or party 1 does and aborts the session.
    assert!(
        !dealer.ok
            && (dealer.text.contains("dealer: the session failed")
                && dealer.text.contains("party 0")
                || dealer.text.contains("party 1 aborted the session")),
        "the dealer's exit status says the session failed: {}",
        dealer.text
    );
    assert!(
        !dealer.text.contains("served the session to its end"),
        "{}",
        dealer.text
    );
    assert!(
        !out[1].ok && out[1].text.contains("party 0"),
        "{}",
        out[1].text
    );
    no_outputs(&dir);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigterm_and_ctrl_c_stop_every_peer_at_once() {
    for (sig, name) in [("TERM", "SIGTERM"), ("INT", "Ctrl-C (SIGINT)")] {
        // An idle timeout of 30 s: ending within a few seconds means the peers were told.
        let (dir, cfg) = long_run(&format!("sig{sig}"), 30);
        let children: Vec<_> = cfg.iter().map(|c| spawn(c)).collect();
        std::thread::sleep(Duration::from_millis(2500));
        signal(&children[1], sig);
        let out = wait_all(children, Duration::from_secs(25));
        assert!(
            !out[1].ok
                && out[1].text.contains(&format!(
                    "party 1: stopped by {name}; told the other parties"
                )),
            "{}",
            out[1].text
        );
        for i in [0, 2] {
            assert!(!out[i].ok, "process {i} must fail: {}", out[i].text);
            assert!(
                out[i]
                    .text
                    .contains("party 1 aborted the session: stopped by its operator")
                    || out[i].text.contains("stopped because party 1 stopped"),
                "process {i} names party 1 and why: {}",
                out[i].text
            );
            assert!(
                out[i].after < Duration::from_secs(10),
                "process {i} stopped at once, not at the idle timeout: {:?}",
                out[i].after
            );
        }
        no_outputs(&dir);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A peer lost during set-up (the dealer killed while party 1 never comes) ends party 0's set-up within the
/// idle timeout, naming the dealer, instead of at the 60 s connect deadline.
#[test]
fn a_peer_lost_during_set_up_ends_it_within_the_idle_timeout() {
    let dir = scratch("setup-lost");
    let cfg = configs(&dir, true, "[network]\nidle_timeout_secs = 3\n");
    append(&cfg[0], &train_table(&data("hospital_a.csv"), ""));
    let party0 = spawn(&cfg[0]);
    let mut dealer = spawn(&cfg[2]);
    std::thread::sleep(Duration::from_millis(2500));
    signal(&dealer, "KILL");
    let _ = dealer.wait();
    let out = wait_all(vec![party0], Duration::from_secs(40));
    let text = &out[0].text;
    assert!(!out[0].ok, "{text}");
    assert!(
        text.contains("lost party 2") && text.contains("idle timeout"),
        "party 0 names the dealer it lost: {text}"
    );
    assert!(
        out[0].after < Duration::from_secs(12),
        "party 0 stopped within the idle timeout, not at the connect deadline: {:?}",
        out[0].after
    );
    let _ = std::fs::remove_dir_all(dir);
}
