//! Parties on separate hosts: one Linux network namespace per endpoint, each with a veth pair whose root end
//! is on a bridge of the root namespace, its own address `10.77.S.(10 + i)/24` (the bridge is `10.77.S.1`),
//! and optionally a token-bucket (`tc ... tbf`) bandwidth limit on both ends of its veth pair. Processes run
//! in a namespace with `ip netns exec`, which execs them (the child's pid is the program's own, so signals
//! reach it). Everything is removed when the [`Lab`] is dropped, also when a test panics.
//!
//! It needs root and `ip`; [`Lab::new`] returns the reason where it cannot run, and the tests print it and
//! skip.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Namespaces, veth pairs and a bridge for one test.
pub struct Lab {
    tag: String,
    subnet: u8,
    bridge: Option<String>,
    namespaces: Vec<String>,
}

/// Runs `ip`/`tc` with `args`; the error holds the command and its stderr.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|l| l.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

impl Lab {
    /// `endpoints` namespaces on a fresh bridge; with `tbf` (a `tc` rate such as `100mbit`), every veth end
    /// is limited to it. `Err` says why it cannot run here (not root, no `ip`, namespaces refused).
    pub fn new(endpoints: usize, tbf: Option<&str>) -> Result<Lab, String> {
        if !is_root() {
            return Err("network namespaces need root".into());
        }
        run("ip", &["-V"]).map_err(|e| format!("no usable `ip` command: {e}"))?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let tag = format!("{}{n}", pid % 100_000);
        // A /24 per lab, chosen from the pid and counter, skipping one already on an interface.
        let used = Command::new("ip")
            .args(["-4", "-o", "addr"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        let subnet = (0..250u32)
            .map(|k| ((pid.wrapping_mul(7) + n * 13 + k) % 250 + 1) as u8)
            .find(|s| !used.contains(&format!("10.77.{s}.")))
            .ok_or("every 10.77.x.0/24 subnet is taken")?;
        let mut lab = Lab {
            tag: tag.clone(),
            subnet,
            bridge: None,
            namespaces: Vec::new(),
        };
        let bridge = format!("mwb{tag}");
        run("ip", &["link", "add", &bridge, "type", "bridge"])?;
        lab.bridge = Some(bridge.clone());
        let gw = format!("{}/24", lab.gateway());
        run("ip", &["addr", "add", &gw, "dev", &bridge])?;
        run("ip", &["link", "set", &bridge, "up"])?;
        for i in 0..endpoints {
            let ns = format!("mpc-wan-{tag}-{i}");
            run("ip", &["netns", "add", &ns])
                .map_err(|e| format!("cannot add a namespace: {e}"))?;
            lab.namespaces.push(ns.clone());
            let (outer, inner) = (format!("mwv{tag}x{i}"), format!("mwv{tag}y{i}"));
            run(
                "ip",
                &[
                    "link", "add", &outer, "type", "veth", "peer", "name", &inner,
                ],
            )?;
            run("ip", &["link", "set", &inner, "netns", &ns])?;
            run("ip", &["link", "set", &outer, "master", &bridge])?;
            run("ip", &["link", "set", &outer, "up"])?;
            let addr = format!("{}/24", lab.host(i));
            let inside = |args: &[&str]| {
                let mut all = vec!["netns", "exec", &ns, "ip"];
                all.extend_from_slice(args);
                run("ip", &all)
            };
            inside(&["addr", "add", &addr, "dev", &inner])?;
            inside(&["link", "set", &inner, "up"])?;
            inside(&["link", "set", "lo", "up"])?;
            if let Some(rate) = tbf {
                let tbf = [
                    "qdisc", "add", "dev", "", "root", "tbf", "rate", rate, "burst", "128kb",
                    "latency", "50ms",
                ];
                let mut outside = tbf;
                outside[3] = &outer;
                run("tc", &outside)?;
                let mut within = vec!["netns", "exec", &ns, "tc"];
                let mut t = tbf;
                t[3] = &inner;
                within.extend_from_slice(&t);
                run("ip", &within)?;
            }
        }
        Ok(lab)
    }

    /// The root namespace's address on the bridge, `10.77.S.1`: where the relays listen.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.subnet, 1)
    }

    /// Endpoint `i`'s address in its namespace, `10.77.S.(10 + i)`.
    pub fn host(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.subnet, 10 + i as u8)
    }

    /// `mpc train --config CONFIG` in endpoint `i`'s namespace, started, stdout and stderr captured.
    pub fn spawn_train(&self, i: usize, config: &Path) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.namespaces[i]])
            .arg(env!("CARGO_BIN_EXE_mpc"))
            .args(["train", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ip netns exec")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and with it the root end.
        for ns in &self.namespaces {
            let _ = run("ip", &["netns", "del", ns]);
        }
        if let Some(b) = &self.bridge {
            let _ = run("ip", &["link", "del", b]);
        }
    }
}

/// Lab for a test, or `None` after printing why the test is skipped.
pub fn lab_or_skip(test: &str, endpoints: usize, tbf: Option<&str>) -> Option<Lab> {
    match Lab::new(endpoints, tbf) {
        Ok(lab) => Some(lab),
        Err(reason) => {
            eprintln!("skipped {test}: {reason}");
            None
        }
    }
}
