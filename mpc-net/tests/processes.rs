//! One process per party, each loading its own configuration file and keys: a session with a dealer runs
//! mpc-core's conformance suite and a multiplication loop to the end, and a party killed with SIGKILL mid-protocol makes every other party exit non-zero, naming it,
//! within a bounded time.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mpc_net::local::write_local_configs;

const NODE: &str = env!("CARGO_BIN_EXE_mpc-mesh-node");

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let d = std::env::temp_dir().join(format!("mpc-net-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Node {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Node {
    fn spawn(config: &Path, args: &[&str]) -> Node {
        let mut child = Command::new(NODE)
            .arg(config)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mpc-mesh-node");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Node { child, lines }
    }

    fn wait_line(&self, want: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l == want => return,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no '{want}' line within {within:?}");
    }

    /// Waits for the exit (killing the process if it overruns) and returns its status and stderr.
    fn finish(mut self, within: Duration) -> (Option<ExitStatus>, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status, err)
    }
}

#[test]
fn two_parties_and_a_dealer_in_separate_processes_finish_their_session() {
    let dir = temp_dir("dealer");
    let configs =
        write_local_configs(&dir, 2, true, "[network]\nconnect_timeout_secs = 30\n").unwrap();
    let nodes: Vec<Node> = configs
        .iter()
        .map(|c| Node::spawn(c, &["--suite", "--rounds", "3"]))
        .collect();
    for (id, node) in nodes.into_iter().enumerate() {
        let (status, stderr) = node.finish(Duration::from_secs(60));
        assert!(
            status.is_some_and(|s| s.success()),
            "party {id}: {status:?}\n{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_party_killed_mid_protocol_makes_the_others_exit_naming_it() {
    let dir = temp_dir("kill");
    let idle = 2.0;
    let configs = write_local_configs(
        &dir,
        3,
        false,
        &format!("[network]\nconnect_timeout_secs = 30\nidle_timeout_secs = {idle}\n"),
    )
    .unwrap();
    let mut nodes: Vec<Node> = configs
        .iter()
        .map(|c| Node::spawn(c, &["--rounds", "1000000", "--pace-ms", "10"]))
        .collect();
    for n in &nodes {
        n.wait_line("connected", Duration::from_secs(30));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut victim = nodes.pop().unwrap();
    victim.child.kill().unwrap(); // SIGKILL
    let killed_at = Instant::now();
    let _ = victim.child.wait();
    for (id, node) in nodes.into_iter().enumerate() {
        let (status, stderr) = node.finish(Duration::from_secs(20));
        let elapsed = killed_at.elapsed();
        let status = status.unwrap_or_else(|| panic!("party {id} did not exit within 20 s"));
        assert!(!status.success(), "party {id} exited successfully");
        assert!(
            elapsed < Duration::from_secs_f64(idle + 6.0),
            "party {id} took {elapsed:?}"
        );
        eprintln!("party {id} exited after {elapsed:?} with {status}:\n{stderr}");
        assert!(
            stderr.contains("party 2"),
            "party {id} did not name party 2:\n{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
