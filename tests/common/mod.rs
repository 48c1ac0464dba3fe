//! Helpers of the tests that run `mpc` processes: scratch folders, the bundled data, spawning and waiting.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A bundled data file.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// A fresh, empty folder for one test.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpc-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `mpc ARGS...` with stdout and stderr captured.
pub fn mpc(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mpc"));
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// `mpc train --config FILE`, started.
pub fn spawn(config: &Path) -> Child {
    mpc(&["train", "--config", config.to_str().unwrap()])
        .spawn()
        .unwrap()
}

/// Appends `text` to the file at `path`.
pub fn append(path: &Path, text: &str) {
    let mut all = std::fs::read_to_string(path).unwrap();
    all.push_str(text);
    std::fs::write(path, all).unwrap();
}

/// One finished process: success, stdout + stderr, and when it ended after the start of the wait.
#[derive(Debug)]
pub struct Ended {
    pub ok: bool,
    pub text: String,
    pub after: Duration,
}

/// Waits for every child, at most `limit` in all (then kills them and panics).
pub fn wait_all(children: Vec<Child>, limit: Duration) -> Vec<Ended> {
    let start = Instant::now();
    let mut children: Vec<Option<Child>> = children.into_iter().map(Some).collect();
    let mut results: Vec<Option<Ended>> = children.iter().map(|_| None).collect();
    while results.iter().any(Option::is_none) {
        for (i, slot) in children.iter_mut().enumerate() {
            let done = slot.as_mut().and_then(|c| c.try_wait().unwrap());
            if let Some(status) = done {
                let out = slot.take().unwrap().wait_with_output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout).to_string()
                    + &String::from_utf8_lossy(&out.stderr);
                results[i] = Some(Ended {
                    ok: status.success(),
                    text,
                    after: start.elapsed(),
                });
            }
        }
        if start.elapsed() > limit {
            for c in children.iter_mut().flatten() {
                let _ = c.kill();
            }
            panic!("the processes did not finish within {limit:?}: {results:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    results.into_iter().map(Option::unwrap).collect()
}

/// Sends `signal` (`TERM`, `INT`, `KILL`) to a child.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
