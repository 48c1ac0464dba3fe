//! Parties on separate hosts over an emulated wide-area network: each party (and the dealer) in its own
//! network namespace ([`netns`]), behind a relay in the root namespace (`mpc_net::relay`) that adds delay,
//! loss and cuts, with a `tc tbf` bandwidth limit on every host's link. The roster points at the relays, so
//! every QUIC connection crosses one (the relay of the party it dials).
//!
//! These tests need root and `ip netns`; elsewhere they print why and return. The two relay-only tests at the
//! end run everywhere.

mod common;
mod netns;
mod wan_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use common::{scratch, signal, spawn, wait_all};
use mpc_net::relay::{Cut, LinkShape, Relay, RelayConfig};
use netns::{lab_or_skip, Lab};
use wan_support::{
    all_ok, assert_same_model, listen_ports, loopback_model, model, no_outputs, rewire, Session,
};

/// One session on namespaces at a time: the timing assertions must not depend on how many sessions share
/// the machine's cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds [`ONE_AT_A_TIME`] (also after another test panicked while holding it).
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The port every party listens on inside its namespace.
const PORT: u16 = 7100;

/// A session on separate hosts: the lab, the relays (one per endpoint), their runtime, the configs.
struct Wan {
    lab: Lab,
    relays: Vec<Relay>,
    started: Instant,
    configs: Vec<PathBuf>,
    _rt: tokio::runtime::Runtime,
    /// Held until everything else is dropped.
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Wan {
    /// Namespaces for `session`'s endpoints (links limited to `rate`), one relay per endpoint with `shape`
    /// (`shape_of` may change it per endpoint), configs in `dir`; `None` if namespaces cannot be made here.
    fn new(
        test: &str,
        dir: &Path,
        session: &Session,
        rate: &str,
        shape_of: impl Fn(usize) -> LinkShape,
    ) -> Option<Wan> {
        let lab = lab_or_skip(test, session.endpoints(), Some(rate))?;
        let guard = one_at_a_time();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let configs = session.write(dir);
        let started = Instant::now();
        let relays: Vec<Relay> = (0..session.endpoints())
            .map(|i| {
                let mut cfg = RelayConfig::symmetric(
                    SocketAddr::new(lab.gateway().into(), 0),
                    SocketAddr::new(lab.host(i).into(), PORT),
                    shape_of(i),
                );
                cfg.seed = i as u64 + 1;
                rt.block_on(Relay::start(cfg)).unwrap()
            })
            .collect();
        let listen: Vec<SocketAddr> = (0..relays.len())
            .map(|i| SocketAddr::new(lab.host(i).into(), PORT))
            .collect();
        let roster: Vec<SocketAddr> = relays.iter().map(Relay::local_addr).collect();
        rewire(&configs, &listen, &roster);
        Some(Wan {
            _guard: guard,
            lab,
            relays,
            started,
            configs,
            _rt: rt,
        })
    }

    /// Starts every endpoint in its namespace.
    fn spawn(&self) -> Vec<Child> {
        self.configs
            .iter()
            .enumerate()
            .map(|(i, c)| self.lab.spawn_train(i, c))
            .collect()
    }
}

/// 10 ms each way (20 ms round trip), 1% loss each way.
fn wan_shape() -> LinkShape {
    LinkShape {
        delay: Duration::from_millis(10),
        loss: 0.01,
        ..LinkShape::default()
    }
}

#[test]
fn breast_cancer_over_a_wan_gives_the_loopback_model() {
    // `ot` moves about 70 MB per epoch, which QUIC's congestion control carries at a few MB/s at 1% loss:
    // one epoch keeps the test short.
    for (dealer, epochs) in [(true, 2), (false, 1)] {
        let session = Session {
            hospitals: 3,
            dealer,
            network: "[network]\nconnect_timeout_secs = 30\n".into(),
            train: format!("epochs = {epochs}\n"),
        };
        let what = if dealer { "dealer" } else { "ot" };
        let dir = scratch(&format!("wan-same-{what}"));
        let Some(wan) = Wan::new("wan-same", &dir.join("wan"), &session, "100mbit", |_| {
            wan_shape()
        }) else {
            let _ = std::fs::remove_dir_all(dir);
            return;
        };
        let out = wait_all(wan.spawn(), Duration::from_secs(240));
        all_ok(&out);
        let lost: u64 = wan
            .relays
            .iter()
            .map(|r| r.stats().up.dropped_loss + r.stats().down.dropped_loss)
            .sum();
        assert!(lost > 0, "{what}: datagrams were lost on the way");
        let reference = loopback_model(&dir.join("loop"), &session);
        assert_same_model(&model(&dir.join("wan/out-0")), &reference, what);
        drop(wan);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Two hospitals and a dealer, idle timeout `idle` s, a run long enough to be cut or stopped.
fn long_session(idle: u64) -> Session {
    Session {
        hospitals: 2,
        dealer: true,
        network: format!("[network]\nconnect_timeout_secs = 30\nidle_timeout_secs = {idle}\n"),
        train: "epochs = 5000\nreceivers = [0, 1]\n".into(),
    }
}

#[test]
fn a_three_second_cut_of_every_link_is_survived() {
    let session = Session {
        hospitals: 3,
        dealer: true,
        network: "[network]\nconnect_timeout_secs = 30\nidle_timeout_secs = 6\n".into(),
        train: "epochs = 8\n".into(),
    };
    let dir = scratch("wan-cut3");
    let (at, length) = (Duration::from_secs(3), Duration::from_secs(3));
    let Some(wan) = Wan::new("wan-cut3", &dir.join("wan"), &session, "100mbit", |_| {
        LinkShape {
            cuts: vec![Cut {
                at,
                length: Some(length),
            }],
            ..wan_shape()
        }
    }) else {
        let _ = std::fs::remove_dir_all(dir);
        return;
    };
    let children = wan.spawn();
    std::thread::sleep((wan.started + at + length).saturating_duration_since(Instant::now()));
    let at_end: u64 = wan.relays.iter().map(|r| r.stats().up.packets).sum();
    let out = wait_all(children, Duration::from_secs(180));
    all_ok(&out);
    let cut: u64 = wan.relays.iter().map(|r| r.stats().up.dropped_cut).sum();
    let after: u64 = wan.relays.iter().map(|r| r.stats().up.packets).sum::<u64>() - at_end;
    assert!(
        cut > 0 && after > 100,
        "the cut fell in the session: {cut} datagrams cut, {after} delivered after it"
    );
    let reference = loopback_model(&dir.join("loop"), &session);
    assert_same_model(
        &model(&dir.join("wan/out-0")),
        &reference,
        "after a 3 s cut",
    );
    drop(wan);
    let _ = std::fs::remove_dir_all(dir);
}

/// How a party is lost.
#[derive(Clone, Copy, Debug)]
enum Loss {
    /// The link between parties 0 and 1 (party 1's relay) is cut for good.
    CutForGood,
    /// Party 1 is frozen (SIGSTOP).
    Frozen,
    /// Party 1 is killed (SIGKILL).
    Killed,
}

fn a_lost_party_ends_every_process(loss: Loss) {
    let idle: u64 = 6;
    let when = Duration::from_secs(3);
    let session = long_session(idle);
    let tag = format!("wan-{loss:?}").to_lowercase();
    let dir = scratch(&tag);
    let Some(wan) = Wan::new(&tag, &dir.join("wan"), &session, "100mbit", |i| {
        let mut shape = wan_shape();
        if matches!(loss, Loss::CutForGood) && i == 1 {
            shape.cuts.push(Cut {
                at: when,
                length: None,
            });
        }
        shape
    }) else {
        let _ = std::fs::remove_dir_all(dir);
        return;
    };
    let mut children = wan.spawn();
    std::thread::sleep((wan.started + when).saturating_duration_since(Instant::now()));
    let before: u64 = wan.relays[1].stats().up.packets;
    assert!(
        before > 100,
        "{loss:?}: the session was under way: {before} datagrams to party 1"
    );
    let mut gone = None;
    match loss {
        Loss::CutForGood => {}
        Loss::Killed => {
            signal(&children[1], "KILL");
            gone = Some(children.remove(1));
        }
        Loss::Frozen => {
            signal(&children[1], "STOP");
            gone = Some(children.remove(1));
        }
    }
    let limit = Duration::from_secs(idle + 2);
    let out = wait_all(children, Duration::from_secs(60));
    if let Some(mut f) = gone {
        let _ = f.kill();
        let _ = f.wait();
    }
    for (i, e) in out.iter().enumerate() {
        eprintln!("{loss:?}: process {i} ended {:?} after the loss", e.after);
        assert!(!e.ok, "{loss:?}: process {i} must fail: {}", e.text);
        assert!(
            e.after <= limit,
            "{loss:?}: process {i} ended {:?} after the loss, later than the idle timeout plus 2 s: {}",
            e.after,
            e.text
        );
    }
    // Party 0 names the party it lost; the other processes (the dealer, and party 1 if it is only cut off)
    // name it or the party that stopped because of it.
    let named = |text: &str, lost: usize| {
        text.contains(&format!("party {lost}"))
            && (text.contains("idle timeout")
                || text.contains(&format!("because party {lost} stopped")))
    };
    assert!(
        named(&out[0].text, 1),
        "{loss:?}: party 0 names party 1: {}",
        out[0].text
    );
    for (i, e) in out.iter().enumerate().skip(1) {
        assert!(
            named(&e.text, 1) || named(&e.text, 0),
            "{loss:?}: process {i} names the lost party: {}",
            e.text
        );
    }
    no_outputs(&dir);
    drop(wan);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_link_cut_for_good_ends_every_process_within_the_idle_timeout() {
    a_lost_party_ends_every_process(Loss::CutForGood);
}

#[test]
fn a_frozen_party_ends_every_other_process_within_the_idle_timeout() {
    a_lost_party_ends_every_process(Loss::Frozen);
}

#[test]
fn a_killed_party_ends_every_other_process_within_the_idle_timeout() {
    a_lost_party_ends_every_process(Loss::Killed);
}

/// Runs everywhere: parties on loopback, each behind a relay on loopback with 5 ms each way and 1% loss.
#[test]
fn breast_cancer_through_loopback_relays_gives_the_loopback_model() {
    let session = Session {
        hospitals: 3,
        dealer: true,
        network: "[network]\nconnect_timeout_secs = 30\n".into(),
        train: "epochs = 2\n".into(),
    };
    let _guard = one_at_a_time();
    let dir = scratch("wan-relay-only");
    let configs = session.write(&dir.join("relayed"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listen: Vec<SocketAddr> = listen_ports(&configs)
        .iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
        .collect();
    let relays: Vec<Relay> = listen
        .iter()
        .enumerate()
        .map(|(i, upstream)| {
            let shape = LinkShape {
                delay: Duration::from_millis(5),
                loss: 0.01,
                ..LinkShape::default()
            };
            let mut cfg = RelayConfig::symmetric("127.0.0.1:0".parse().unwrap(), *upstream, shape);
            cfg.seed = i as u64 + 1;
            rt.block_on(Relay::start(cfg)).unwrap()
        })
        .collect();
    let roster: Vec<SocketAddr> = relays.iter().map(Relay::local_addr).collect();
    rewire(&configs, &listen, &roster);
    let out = wait_all(
        configs.iter().map(|c| spawn(c)).collect(),
        Duration::from_secs(120),
    );
    all_ok(&out);
    // Party 0 dials everyone: it reaches 1, 2 and the dealer only through their relays.
    for (i, r) in relays.iter().enumerate().skip(1) {
        let s = r.stats();
        assert!(
            s.clients >= 1 && s.up.packets > 0 && s.down.packets > 0,
            "relay {i}: {s:?}"
        );
    }
    let reference = loopback_model(&dir.join("loop"), &session);
    assert_same_model(
        &model(&dir.join("relayed/out-0")),
        &reference,
        "through relays",
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs everywhere: `mpc relay` as a process prints its address, forwards with its delay, and reports what
/// it carried when stopped.
#[test]
fn the_relay_command_forwards_and_reports() {
    use std::io::{BufRead, BufReader, Read};
    let echo = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let upstream = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            let _ = echo.send_to(&buf[..n], from);
        }
    });
    let mut relay = common::mpc(&[
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &upstream.to_string(),
        "--delay",
        "30ms",
    ])
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(relay.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr: SocketAddr = first
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .parse()
        .unwrap();
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let start = Instant::now();
    client.send_to(b"ping", addr).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    let rtt = start.elapsed();
    assert_eq!((&buf[..n], from), (&b"ping"[..], addr));
    assert!(
        rtt >= Duration::from_millis(60),
        "two 30 ms delays: {rtt:?}"
    );
    signal(&relay, "TERM");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(relay.wait().unwrap().success());
    assert!(
        rest.contains("clients: 1; client to upstream: 1 datagrams (4 bytes) delivered")
            && rest.contains("upstream to client: 1 datagrams (4 bytes) delivered"),
        "{rest}"
    );
}
