//! Building the mesh: every pair of parties shares one QUIC connection, dialled by the lower id. Dialling
//! retries with backoff until the peer answers or the deadline passes; every accepted connection is
//! identified by its pinned certificate. Then each side sends a hello on the connection's control stream and
//! checks the other's: protocol version, session id and roster digest must match, or the connection is
//! refused with a reason that says which. Each hello carries the sender's fresh nonce for this run; once every
//! link is up, each side sends the run id derived from every party's nonce ([`crate::run`]) and checks the
//! peer's: a peer that saw another process somewhere, or a hello from another run, is refused with
//! [`NetError::HelloMismatch`] naming it. A peer may finish its own set-up first and then abort (a bad input
//! file, say) while this side still waits for another peer or for its hello: its abort, on a connection in
//! progress or on one already up, ends this side's set-up with [`NetError::PeerAborted`] and the peer's
//! reason, not with a wait for the deadline.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpc_core::PartyId;
use quinn::{ConnectionError, VarInt};
use rustls::pki_types::CertificateDer;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::{PartyEntry, Roster};
use crate::error::{MissingParty, NetError, Result};
use crate::fingerprint::Fingerprint;
use crate::identity::Identity;
use crate::run::{run_id, RunId};
use crate::tls;
use crate::transport::MeshOptions;
use crate::wire::{hello_version, hex8, read_frame, Control, Hello, CONTROL_MAX, PROTOCOL_VERSION};

/// Application close codes of a connection.
pub(crate) mod code {
    /// The peer left after a graceful close.
    pub const BYE: u32 = 0;
    /// The peer aborted the session; the reason follows.
    pub const ABORT: u32 = 1;
    /// The peer refused our hello; the reason follows.
    pub const HELLO_REFUSED: u32 = 2;
    /// The peer broke the connection protocol (wrong dial direction, no hello).
    pub const PROTOCOL: u32 = 3;
    /// The peer's mesh was dropped without a close.
    pub const DROPPED: u32 = 4;
}

/// One established, hello-checked connection.
pub(crate) struct Link {
    pub id: PartyId,
    pub conn: quinn::Connection,
    pub control_send: quinn::SendStream,
    pub control_recv: quinn::RecvStream,
    /// The nonce of the peer's hello.
    pub nonce: [u8; 32],
}

/// What a side of the session needs to set up its links.
pub(crate) struct Setup<'a> {
    pub identity: &'a Identity,
    pub roster: &'a Roster,
    pub session_id: &'a str,
    pub me: PartyId,
    pub opts: &'a MeshOptions,
    /// This party's fresh nonce for this run.
    pub nonce: [u8; 32],
}

enum Failure {
    Retry(String),
    Fatal(NetError),
}

type LastErrors = Arc<Mutex<HashMap<PartyId, String>>>;

impl Setup<'_> {
    /// Our hello to `to` (from `self.me`), or the hello we expect from `from` (whose nonce is not checked).
    fn hello(&self, from: PartyId, to: PartyId) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            session_id: self.session_id.to_string(),
            roster_digest: self.roster.digest(self.session_id),
            from: from as u64,
            to: to as u64,
            nonce: if from == self.me { self.nonce } else { [0; 32] },
        }
    }

    /// Connects to every peer and confirms the run with each: the links in party order and the run id.
    pub(crate) async fn run(&self, endpoint: &quinn::Endpoint) -> Result<(Vec<Link>, RunId)> {
        let deadline = Instant::now() + self.opts.connect_timeout;
        let links = self.links(endpoint, deadline).await?;
        let mut nonces = vec![[0u8; 32]; self.roster.endpoints()];
        nonces[self.me] = self.nonce;
        for l in &links {
            nonces[l.id] = l.nonce;
        }
        let run = run_id(
            self.session_id,
            &self.roster.digest(self.session_id),
            &nonces,
        );
        let links = confirm_run(links, run, self.roster, deadline).await?;
        Ok((links, run))
    }

    /// Connects to every peer, or fails at the deadline naming the missing ones.
    async fn links(&self, endpoint: &quinn::Endpoint, deadline: Instant) -> Result<Vec<Link>> {
        let transport = self.opts.transport()?;
        let last: LastErrors = Arc::default();
        let mut dials = JoinSet::new();
        for peer in self.roster.parties().iter().filter(|p| p.id > self.me) {
            let tls = tls::client_config(self.identity, peer.fingerprint)?;
            let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
                .map_err(|e| NetError::Tls(e.to_string()))?;
            let mut cfg = quinn::ClientConfig::new(Arc::new(quic));
            cfg.transport_config(transport.clone());
            dials.spawn(dial(
                endpoint.clone(),
                cfg,
                peer.clone(),
                self.hello(self.me, peer.id),
                self.hello(peer.id, self.me),
                deadline,
                last.clone(),
            ));
        }
        let needed = self.roster.endpoints() - 1;
        let mut accepts = JoinSet::new();
        let mut links: HashMap<PartyId, Link> = HashMap::new();
        // A peer whose link is up may abort (its own set-up done, it fails) while we still wait for others:
        // watch every link so that we stop with its reason instead of waiting for the deadline.
        let mut closes = JoinSet::new();
        let watch = |closes: &mut JoinSet<_>, link: &Link| {
            let (id, conn) = (link.id, link.conn.clone());
            closes.spawn(async move { (id, conn.stable_id(), conn.closed().await) });
        };
        let mut waiting = tokio::time::interval_at(Instant::now() + WAITING_REPORT, WAITING_REPORT);
        loop {
            if links.len() == needed {
                break;
            }
            tokio::select! {
                Some(res) = dials.join_next() => match res {
                    Ok(Ok(link)) => {
                        watch(&mut closes, &link);
                        links.insert(link.id, link);
                    }
                    Ok(Err(Failure::Fatal(e))) => return Err(give_up(links.values().map(|l| &l.conn), e)),
                    Ok(Err(Failure::Retry(_))) => {}
                    Err(e) => return Err(give_up(links.values().map(|l| &l.conn), NetError::Tls(format!("a dial task failed: {e}")))),
                },
                Some(incoming) = endpoint.accept() => {
                    let roster = self.roster.clone();
                    let me = self.me;
                    let ours: Vec<Hello> = (0..self.roster.endpoints()).map(|p| self.hello(me, p)).collect();
                    let theirs: Vec<Hello> = (0..self.roster.endpoints()).map(|p| self.hello(p, me)).collect();
                    let budget = self.opts.connect_timeout.min(Duration::from_secs(20));
                    let last = last.clone();
                    accepts.spawn(async move {
                        match tokio::time::timeout(budget, accept(incoming, &roster, me, &ours, &theirs, &last)).await {
                            Ok(r) => r,
                            Err(_) => Err(Failure::Retry("no hello in time".into())),
                        }
                    });
                },
                Some(res) = accepts.join_next() => match res {
                    Ok(Ok(link)) => {
                        watch(&mut closes, &link);
                        if let Some(old) = links.insert(link.id, link) {
                            old.conn.close(VarInt::from_u32(code::PROTOCOL), b"replaced by a newer connection");
                        }
                    }
                    Ok(Err(Failure::Fatal(e))) => return Err(give_up(links.values().map(|l| &l.conn), e)),
                    Ok(Err(Failure::Retry(_))) => {}
                    Err(e) => return Err(give_up(links.values().map(|l| &l.conn), NetError::Tls(format!("an accept task failed: {e}")))),
                },
                Some(res) = closes.join_next() => {
                    // A link that is still the current one for its peer and closed by the peer's side (an
                    // abort, or the peer killed or frozen: the idle timeout) ends the set-up at once; a link
                    // we replaced (closed locally) does not.
                    let current = |party: PartyId, stable: usize| {
                        links.get(&party).is_some_and(|l| l.conn.stable_id() == stable)
                    };
                    if let Some(e) = res.ok().and_then(|(party, stable, e)| {
                        abort_of(party, &e).or_else(|| lost_during_setup(party, &e).filter(|_| current(party, stable)))
                    }) {
                        return Err(give_up(links.values().map(|l| &l.conn), e));
                    }
                }
                _ = waiting.tick() => self.report_waiting(&links, &last, deadline),
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        if links.len() == needed {
            let mut v: Vec<Link> = links.into_values().collect();
            v.sort_by_key(|l| l.id);
            return Ok(v);
        }
        let last = last.lock().unwrap_or_else(|p| p.into_inner());
        let missing = self
            .roster
            .parties()
            .iter()
            .filter(|p| p.id != self.me && !links.contains_key(&p.id))
            .map(|p| MissingParty {
                id: p.id,
                name: p.name.clone(),
                address: p.address.clone(),
                last_error: last
                    .get(&p.id)
                    .cloned()
                    .or_else(|| (p.id < self.me).then(|| "it never dialled us".to_string())),
            })
            .collect();
        Err(give_up(
            links.values().map(|l| &l.conn),
            NetError::Unreachable {
                missing,
                secs: self.opts.connect_timeout.as_secs_f64(),
            },
        ))
    }
}

/// How often a party still setting up says whom it waits for.
const WAITING_REPORT: Duration = Duration::from_secs(3);

impl Setup<'_> {
    /// Logs (target `mpc_net::waiting`, level info) the parties not connected yet, with their addresses and
    /// the last failure seen, and the time left before the connect deadline.
    fn report_waiting(&self, links: &HashMap<PartyId, Link>, last: &LastErrors, deadline: Instant) {
        let last = last.lock().unwrap_or_else(|p| p.into_inner());
        let missing: Vec<String> = self
            .roster
            .parties()
            .iter()
            .filter(|p| p.id != self.me && !links.contains_key(&p.id))
            .map(|p| {
                MissingParty {
                    id: p.id,
                    name: p.name.clone(),
                    address: p.address.clone(),
                    last_error: last.get(&p.id).cloned(),
                }
                .to_string()
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        tracing::info!(
            target: "mpc_net::waiting",
            "party {}: still waiting for {} ({left} s left)",
            self.me,
            missing.join(", ")
        );
    }
}

/// `PeerAborted` with the peer's reason if `e` is `party` closing the connection with an abort.
fn abort_of(party: PartyId, e: &ConnectionError) -> Option<NetError> {
    match e {
        ConnectionError::ApplicationClosed(c) if c.error_code == VarInt::from_u32(code::ABORT) => {
            Some(NetError::PeerAborted {
                party,
                reason: crate::wire::sanitize(&String::from_utf8_lossy(&c.reason)),
            })
        }
        _ => None,
    }
}

/// `PeerLost` if `party`'s link closed during the set-up for a reason of the peer's side or of the network
/// (its idle timeout passed: killed or frozen; a reset; a close other than an abort), `None` if we closed it.
fn lost_during_setup(party: PartyId, e: &ConnectionError) -> Option<NetError> {
    let reason = match e {
        ConnectionError::LocallyClosed => return None,
        ConnectionError::TimedOut => {
            "its connection went silent past the idle timeout while this party waited for the others (killed or frozen)".to_string()
        }
        other => format!(
            "its connection closed while this party waited for the others: {}",
            crate::wire::sanitize(&other.to_string())
        ),
    };
    Some(NetError::PeerLost { party, reason })
}

/// Tells every peer already linked that this party gives up the set-up, and why (an abort they report as
/// [`NetError::PeerAborted`]), instead of the silent close of dropped connections; returns `e`.
fn give_up<'a>(conns: impl IntoIterator<Item = &'a quinn::Connection>, e: NetError) -> NetError {
    let reason = crate::wire::truncate(&format!("set-up failed: {e}"), 900);
    for conn in conns {
        conn.close(VarInt::from_u32(code::ABORT), reason.as_bytes());
    }
    e
}

/// Sends our run id on every link and checks each peer's (the first control message after the hellos).
/// Fails naming the peer whose run id differs, or the peers that did not confirm in time.
async fn confirm_run(
    links: Vec<Link>,
    run: RunId,
    roster: &Roster,
    deadline: Instant,
) -> Result<Vec<Link>> {
    let conns: Vec<quinn::Connection> = links.iter().map(|l| l.conn.clone()).collect();
    let ids: Vec<PartyId> = links.iter().map(|l| l.id).collect();
    let fail = |e| give_up(&conns, e);
    // A peer sends its run id once all of its own links are up, which may take until its deadline.
    let started = Instant::now();
    let until = deadline.max(started + Duration::from_secs(10));
    let mut checks = JoinSet::new();
    for mut link in links {
        checks.spawn(async move {
            let r = exchange_run(&mut link, run).await;
            (link, r)
        });
    }
    let mut done: Vec<Link> = Vec::new();
    loop {
        tokio::select! {
            next = checks.join_next() => match next {
                None => break,
                Some(Ok((link, Ok(())))) => done.push(link),
                Some(Ok((_, Err(Failure::Fatal(e))))) => return Err(fail(e)),
                Some(Ok((link, Err(Failure::Retry(m))))) => {
                    return Err(fail(NetError::PeerLost {
                        party: link.id,
                        reason: format!("the run check failed: {m}"),
                    }))
                }
                Some(Err(e)) => return Err(fail(NetError::Tls(format!("a run check task failed: {e}")))),
            },
            _ = tokio::time::sleep_until(until) => {
                let missing = roster
                    .parties()
                    .iter()
                    .filter(|p| ids.contains(&p.id) && !done.iter().any(|l| l.id == p.id))
                    .map(|p| MissingParty {
                        id: p.id,
                        name: p.name.clone(),
                        address: p.address.clone(),
                        last_error: Some("connected, but it did not confirm the run (its set-up may still wait for another party)".into()),
                    })
                    .collect();
                return Err(fail(NetError::Unreachable {
                    missing,
                    secs: (until - started).as_secs_f64(),
                }));
            }
        }
    }
    done.sort_by_key(|l| l.id);
    Ok(done)
}

/// Sends our run id on `link`'s control stream and checks the peer's.
async fn exchange_run(link: &mut Link, run: RunId) -> std::result::Result<(), Failure> {
    let party = link.id;
    write_frame(
        &mut link.control_send,
        &Control::Run { run_id: run.0 }.encode(),
    )
    .await
    .map_err(|e| connection_failure(party, &link.conn, e))?;
    let frame = match read_frame(&mut link.control_recv, CONTROL_MAX).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            let m = "the control stream closed before the run check".to_string();
            return Err(connection_failure(party, &link.conn, m));
        }
        Err(e) => return Err(connection_failure(party, &link.conn, e.to_string())),
    };
    let reason = match Control::decode(&frame) {
        Ok(Control::Run { run_id }) if run_id == run.0 => return Ok(()),
        Ok(Control::Run { run_id }) => format!(
            "run id {}.. (ours is {}..): it saw other parties' hellos, from other processes or another run",
            hex8(&run_id),
            hex8(&run.0)
        ),
        Ok(Control::Abort { reason }) => {
            return Err(Failure::Fatal(NetError::PeerAborted {
                party,
                reason: crate::wire::sanitize(&reason),
            }))
        }
        Ok(_) => "expected the run check, got another control message".to_string(),
        Err(e) => format!("a malformed run check: {e}"),
    };
    Err(refuse_hello(party, &link.conn, reason))
}

async fn resolve(address: &str) -> std::result::Result<SocketAddr, String> {
    let mut addrs = tokio::net::lookup_host(address)
        .await
        .map_err(|e| format!("cannot resolve {address}: {e}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{address} resolves to no address"))
}

/// Turns a failed connection into a setup failure: a refused hello, and a peer that aborted the session
/// (it may finish its own set-up, fail, and abort before this side has read its hello), are fatal; the rest
/// is retried.
fn connection_failure(party: PartyId, conn: &quinn::Connection, what: String) -> Failure {
    let Some(closed) = conn.close_reason() else {
        return Failure::Retry(what);
    };
    if let Some(e) = abort_of(party, &closed) {
        return Failure::Fatal(e);
    }
    match closed {
        ConnectionError::ApplicationClosed(c)
            if c.error_code == VarInt::from_u32(code::HELLO_REFUSED) =>
        {
            Failure::Fatal(NetError::HelloMismatch {
                party,
                reason: format!(
                    "party {party} refused our hello: {}",
                    crate::wire::sanitize(&String::from_utf8_lossy(&c.reason))
                ),
            })
        }
        e => Failure::Retry(e.to_string()),
    }
}

async fn write_frame(send: &mut quinn::SendStream, msg: &[u8]) -> std::result::Result<(), String> {
    let prefix = crate::wire::frame_prefix(msg.len()).ok_or("frame too large")?;
    send.write_all(&prefix).await.map_err(|e| e.to_string())?;
    send.write_all(msg).await.map_err(|e| e.to_string())
}

/// Reads the peer's hello and checks it against `expected`: `Err` if it did not arrive (retried),
/// `Ok(Err(reason))` if it must be refused (a hello of another protocol version included).
async fn read_hello(
    recv: &mut quinn::RecvStream,
    expected: &Hello,
) -> std::result::Result<std::result::Result<Hello, String>, String> {
    let bytes = match read_frame(recv, CONTROL_MAX).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err("the control stream closed before the hello".into()),
        Err(e) => return Err(e.to_string()),
    };
    match Control::decode(&bytes) {
        Ok(Control::Hello(h)) => Ok(h.check(expected).map(|()| h)),
        Ok(_) => Err("expected a hello, got another control message".into()),
        Err(e) => match hello_version(&bytes) {
            Some(v) if v != PROTOCOL_VERSION => Ok(Err(format!(
                "protocol version {v} (ours is {PROTOCOL_VERSION})"
            ))),
            _ => Err(e.to_string()),
        },
    }
}

fn refuse_hello(party: PartyId, conn: &quinn::Connection, reason: String) -> Failure {
    let reason = crate::wire::truncate(&reason, 900);
    conn.close(VarInt::from_u32(code::HELLO_REFUSED), reason.as_bytes());
    Failure::Fatal(NetError::HelloMismatch { party, reason })
}

async fn dial(
    endpoint: quinn::Endpoint,
    cfg: quinn::ClientConfig,
    peer: PartyEntry,
    ours: Hello,
    expected: Hello,
    deadline: Instant,
    last: LastErrors,
) -> std::result::Result<Link, Failure> {
    let mut backoff = Duration::from_millis(50);
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::Retry("deadline".into()));
        }
        let attempt = async {
            let addr = resolve(&peer.address).await.map_err(Failure::Retry)?;
            let connecting = endpoint
                .connect_with(cfg.clone(), addr, tls::SERVER_NAME)
                .map_err(|e| Failure::Retry(e.to_string()))?;
            let conn = connecting
                .await
                .map_err(|e| Failure::Retry(e.to_string()))?;
            let (mut send, mut recv) = conn
                .open_bi()
                .await
                .map_err(|e| connection_failure(peer.id, &conn, e.to_string()))?;
            write_frame(&mut send, &Control::Hello(ours.clone()).encode())
                .await
                .map_err(|e| connection_failure(peer.id, &conn, e))?;
            let hello = read_hello(&mut recv, &expected)
                .await
                .map_err(|e| connection_failure(peer.id, &conn, e))?
                .map_err(|reason| refuse_hello(peer.id, &conn, reason))?;
            Ok(Link {
                id: peer.id,
                conn,
                control_send: send,
                control_recv: recv,
                nonce: hello.nonce,
            })
        };
        let budget = (deadline - now).min(Duration::from_secs(3));
        let failure = match tokio::time::timeout(budget, attempt).await {
            Ok(Ok(link)) => return Ok(link),
            Ok(Err(Failure::Fatal(e))) => return Err(Failure::Fatal(e)),
            Ok(Err(Failure::Retry(m))) => m,
            Err(_) => "no answer".to_string(),
        };
        tracing::debug!(party = peer.id, address = %peer.address, "dial attempt failed: {failure}");
        last.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer.id, failure);
        let pause = backoff.min(deadline.saturating_duration_since(Instant::now()));
        tokio::time::sleep(pause).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// The roster entry of a connection's peer, from the certificate it presented.
fn peer_fingerprint(conn: &quinn::Connection) -> Option<Fingerprint> {
    let any = conn.peer_identity()?;
    let certs = any.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    certs.first().map(|c| Fingerprint::of_der(c))
}

async fn accept(
    incoming: quinn::Incoming,
    roster: &Roster,
    me: PartyId,
    ours: &[Hello],
    theirs: &[Hello],
    last: &LastErrors,
) -> std::result::Result<Link, Failure> {
    let remote = incoming.remote_address();
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%remote, "refused a connection: {e}");
            return Err(Failure::Retry(e.to_string()));
        }
    };
    let entry = match peer_fingerprint(&conn).and_then(|fp| roster.by_fingerprint(&fp)) {
        Some(e) => e,
        None => {
            conn.close(VarInt::from_u32(code::PROTOCOL), b"unknown certificate");
            return Err(Failure::Retry("unknown certificate".into()));
        }
    };
    let party = entry.id;
    if party >= me {
        tracing::warn!(%remote, party, "refused a connection from a higher id (the lower id dials)");
        conn.close(
            VarInt::from_u32(code::PROTOCOL),
            b"the lower party id dials",
        );
        return Err(Failure::Retry("wrong direction".into()));
    }
    let result = async {
        let (mut send, mut recv) = conn
            .accept_bi()
            .await
            .map_err(|e| connection_failure(party, &conn, e.to_string()))?;
        let hello = read_hello(&mut recv, &theirs[party])
            .await
            .map_err(|e| connection_failure(party, &conn, e))?
            .map_err(|reason| refuse_hello(party, &conn, reason))?;
        write_frame(&mut send, &Control::Hello(ours[party].clone()).encode())
            .await
            .map_err(|e| connection_failure(party, &conn, e))?;
        Ok((send, recv, hello.nonce))
    }
    .await;
    match result {
        Ok((control_send, control_recv, nonce)) => Ok(Link {
            id: party,
            conn,
            control_send,
            control_recv,
            nonce,
        }),
        Err(f) => {
            if let Failure::Retry(m) = &f {
                last.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(party, m.clone());
            }
            Err(f)
        }
    }
}
