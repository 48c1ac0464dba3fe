//! The running mesh: [`Mesh`] implements mpc-core's [`Network`] over one QUIC connection per peer.
//!
//! - Sending never waits for the peer: each `(peer, channel)` has a writer task with an unbounded queue that
//!   opens the channel's unidirectional stream on first use and writes frames in order.
//! - Receiving: a reader task per incoming stream reads frames into the `(peer, channel)` inbox as they
//!   arrive, so a peer's data is never stuck behind a slow consumer of another channel. Each inbox is
//!   bounded ([`MeshOptions::inbox_messages`], [`MeshOptions::inbox_bytes`]): when it is full its reader stops
//!   reading the stream and QUIC flow control stops the sender ([`crate::inbox`]).
//! - Limits per peer: at most [`MeshOptions::max_streams_per_peer`] data streams (quinn grants one more, so
//!   the excess stream is seen) and one stream per channel; a peer beyond either aborts the session with a
//!   reason naming it. A frame above [`MeshOptions::max_frame`] is malformed and does the same.
//! - Failure: a monitor per connection turns its end (timeout, abort, close) into the peer's state, which
//!   wakes every waiting `recv` with an error naming the peer. A malformed frame aborts the session.
//! - Leaving: [`Mesh::close`] finishes every stream, sends `Bye` with the number of streams it opened, waits
//!   for each peer's `Drained` (they have read everything into their inboxes: a peer whose inbox stays full
//!   confirms only once its application takes messages, or not before the close timeout), then closes. A peer that left makes `recv`
//!   return `PeerLost` once its last message has been read, or `PeerAborted` if another peer aborted the
//!   session before (the abort is the cause; the leaver may have died without passing it on).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use mpc_core::net::{ChannelId, Network, PartyId};
use quinn::{ConnectionError, VarInt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{PartyConfig, Roster};
use crate::error::{NetError, Result};
use crate::identity::Identity;
use crate::inbox::{Inbox, InboxUsage};
use crate::run::RunId;
use crate::setup::{code, Link, Setup};
use crate::transport::{self, MeshOptions};
use crate::wire::{self, Control, FrameError, CONTROL_MAX};

/// What we know of a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PeerState {
    Alive,
    /// Left gracefully and everything it sent has been read.
    Left,
    Aborted(String),
    Lost(String),
    Malformed(String),
}

struct Progress {
    bye: Option<u64>,
    finished: u64,
    drained_sent: bool,
}

struct Peer {
    id: PartyId,
    conn: quinn::Connection,
    control: tokio::sync::Mutex<quinn::SendStream>,
    state: watch::Sender<PeerState>,
    opened: AtomicU64,
    /// Data streams the peer opened to us.
    accepted: AtomicU64,
    /// Channels the peer opened a data stream for.
    channels: Mutex<HashSet<ChannelId>>,
    progress: Mutex<Progress>,
    drained: watch::Sender<bool>,
}

type Outboxes = HashMap<(PartyId, ChannelId), mpsc::UnboundedSender<Bytes>>;

struct Shared {
    me: PartyId,
    endpoints: usize,
    names: Vec<String>,
    max_frame: usize,
    max_streams: usize,
    inbox_messages: usize,
    inbox_bytes: usize,
    idle_timeout: Duration,
    peers: Vec<Option<Peer>>,
    inboxes: Mutex<HashMap<(PartyId, ChannelId), Arc<Inbox>>>,
    outboxes: Mutex<Option<Outboxes>>,
    writers: Mutex<Vec<JoinHandle<()>>>,
    /// `Some(reason)` once this party closed or aborted.
    local: watch::Sender<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn peer(&self, id: PartyId) -> Result<&Peer> {
        match self.peers.get(id) {
            Some(Some(p)) => Ok(p),
            _ => Err(NetError::UnknownPeer {
                party: id,
                endpoints: self.endpoints,
                me: self.me,
            }),
        }
    }

    fn name(&self, id: PartyId) -> &str {
        self.names.get(id).map(String::as_str).unwrap_or("?")
    }

    fn state_error(&self, party: PartyId, state: &PeerState) -> Option<NetError> {
        let named = |r: &str| format!("{} ({})", r, self.name(party));
        match state {
            PeerState::Alive => None,
            PeerState::Left => Some(NetError::PeerLost {
                party,
                reason: named("it left the session"),
            }),
            PeerState::Aborted(r) => Some(NetError::PeerAborted {
                party,
                reason: r.clone(),
            }),
            PeerState::Lost(r) => Some(NetError::PeerLost {
                party,
                reason: named(r),
            }),
            PeerState::Malformed(r) => Some(NetError::Malformed {
                party,
                reason: r.clone(),
            }),
        }
    }

    /// The abort of the first peer (by id) that aborted the session, if any did.
    fn first_abort(&self) -> Option<NetError> {
        self.peers
            .iter()
            .flatten()
            .find_map(|p| match self.state_error(p.id, &p.state.borrow()) {
                e @ Some(NetError::PeerAborted { .. }) => e,
                _ => None,
            })
    }

    fn local_error(&self) -> Option<NetError> {
        self.local.borrow().clone().map(NetError::Closed)
    }

    /// Records a peer's state if it is the first thing that happened to it.
    fn set_state(&self, peer: &Peer, state: PeerState) {
        peer.state.send_if_modified(|s| {
            if *s == PeerState::Alive {
                if let Some(e) = self
                    .state_error(peer.id, &state)
                    .filter(|_| state != PeerState::Left)
                {
                    tracing::warn!("{e}");
                }
                *s = state;
                true
            } else {
                false
            }
        });
    }

    fn describe_close(&self, e: &ConnectionError) -> PeerState {
        match e {
            ConnectionError::ApplicationClosed(c) => {
                let reason = wire::sanitize(&String::from_utf8_lossy(&c.reason));
                match c.error_code.into_inner() as u32 {
                    code::ABORT => PeerState::Aborted(reason),
                    code::BYE => PeerState::Lost("it closed the connection".into()),
                    code::HELLO_REFUSED => {
                        PeerState::Aborted(format!("refused our hello: {reason}"))
                    }
                    code::DROPPED => PeerState::Lost("its mesh was dropped without closing".into()),
                    other => PeerState::Lost(format!("closed with code {other}: {reason}")),
                }
            }
            ConnectionError::TimedOut => PeerState::Lost(format!(
                "no packet for {:.1} s (idle timeout): the process died or the network failed",
                self.idle_timeout.as_secs_f64()
            )),
            ConnectionError::LocallyClosed => PeerState::Lost("we closed the connection".into()),
            ConnectionError::Reset => PeerState::Lost("the connection was reset".into()),
            other => PeerState::Lost(other.to_string()),
        }
    }

    fn inbox(&self, key: (PartyId, ChannelId)) -> Arc<Inbox> {
        lock(&self.inboxes)
            .entry(key)
            .or_insert_with(|| Arc::new(Inbox::new(self.inbox_messages, self.inbox_bytes)))
            .clone()
    }

    async fn send_control(&self, peer: &Peer, msg: &Control) -> std::result::Result<(), String> {
        let bytes = msg.encode();
        let prefix = wire::frame_prefix(bytes.len()).ok_or("control frame too large")?;
        let mut s = peer.control.lock().await;
        s.write_all(&prefix).await.map_err(|e| e.to_string())?;
        s.write_all(&bytes).await.map_err(|e| e.to_string())
    }

    /// A peer sent something we cannot accept: blame it, and abort the session.
    async fn malformed(self: &Arc<Self>, peer: &Peer, err: &FrameError) {
        let reason = err.to_string();
        self.set_state(peer, PeerState::Malformed(reason.clone()));
        self.abort(&format!(
            "party {} sent a malformed frame: {reason}",
            peer.id
        ))
        .await;
    }

    /// A peer went beyond a limit of this mesh: blame it, and abort the session.
    async fn over_limit(self: &Arc<Self>, peer: &Peer, what: String) {
        self.set_state(peer, PeerState::Malformed(what.clone()));
        self.abort(&format!(
            "party {} ({}) {what}",
            peer.id,
            self.name(peer.id)
        ))
        .await;
    }

    /// Checks whether a leaving peer's streams are all read; if so, marks it Left and confirms.
    fn check_drained(self: &Arc<Self>, peer: &Peer) {
        let done = {
            let mut p = lock(&peer.progress);
            let done = p.bye == Some(p.finished) && !p.drained_sent;
            if done {
                p.drained_sent = true;
            }
            done
        };
        if done {
            self.set_state(peer, PeerState::Left);
            let me = self.clone();
            let id = peer.id;
            tokio::spawn(async move {
                if let Ok(peer) = me.peer(id) {
                    let _ = me.send_control(peer, &Control::Drained).await;
                }
            });
        }
    }

    async fn abort(self: &Arc<Self>, reason: &str) {
        let first = self.local.send_if_modified(|l| {
            if l.is_none() {
                *l = Some(format!("this party aborted: {reason}"));
                true
            } else {
                false
            }
        });
        if !first {
            return;
        }
        tracing::warn!("aborting the session: {reason}");
        lock(&self.outboxes).take();
        let reason = wire::truncate(reason, 900);
        let msg = Control::Abort {
            reason: reason.clone(),
        };
        for peer in self.peers.iter().flatten() {
            if peer.conn.close_reason().is_none() {
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), self.send_control(peer, &msg))
                        .await;
            }
        }
        for peer in self.peers.iter().flatten() {
            peer.conn
                .close(VarInt::from_u32(code::ABORT), reason.as_bytes());
        }
    }
}

/// A party's endpoint of a QUIC mesh; implements [`Network`]. Cheap to clone: clones share the connections.
///
/// Messages from a peer are read as they arrive into bounded per-channel queues; a full queue stops reading
/// its stream (backpressure), so what a peer can make this party hold is bounded by
/// `max_streams_per_peer * max(inbox_bytes, max_frame)` plus QUIC's connection receive window (128 MiB).
/// What this party sends is queued without bound (its own protocol decides how much).
///
/// Call [`Mesh::close`] when the session is over so that peers read everything before the connections go;
/// dropping the last clone without closing closes the connections abruptly.
#[derive(Clone)]
pub struct Mesh {
    inner: Arc<MeshInner>,
}

struct MeshInner {
    shared: Arc<Shared>,
    endpoint: quinn::Endpoint,
    close_timeout: Duration,
    roster: Roster,
    run_id: RunId,
}

impl Drop for MeshInner {
    fn drop(&mut self) {
        // Ends the writer tasks (their queues close) and, with the connections and the endpoint, every
        // reader and monitor task.
        lock(&self.shared.outboxes).take();
        for peer in self.shared.peers.iter().flatten() {
            peer.conn.close(VarInt::from_u32(code::DROPPED), b"dropped");
        }
        self.endpoint
            .close(VarInt::from_u32(code::DROPPED), b"dropped");
    }
}

impl std::fmt::Debug for Mesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mesh")
            .field("id", &self.inner.shared.me)
            .field("endpoints", &self.inner.shared.endpoints)
            .field("local_addr", &self.inner.endpoint.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Mesh {
    /// Loads this party's key and certificate (which must be the one the roster pins for this party),
    /// listens on the configured address, and connects to every party of the roster. Values in the file's
    /// `[network]` table override `opts`. Fails with [`NetError::Unreachable`] naming the missing parties
    /// and their addresses if the connect timeout passes, or [`NetError::HelloMismatch`] if a peer runs
    /// another session, roster or protocol version.
    pub async fn connect(config: &PartyConfig, opts: MeshOptions) -> Result<Mesh> {
        let opts = opts.with_settings(&config.network);
        let identity = Identity::load(&config.key_path, &config.cert_path)?;
        let me = config.me();
        if identity.fingerprint != me.fingerprint {
            return Err(NetError::Config {
                path: config.path.clone(),
                line: config.cert_at.0,
                column: config.cert_at.1,
                field: "certificate".into(),
                message: format!(
                    "{} has fingerprint {}, but the roster pins {} for party {} ({})",
                    config.cert_path.display(),
                    identity.fingerprint,
                    me.fingerprint,
                    me.id,
                    me.name
                ),
            });
        }
        let socket = transport::bind_udp(config.listen, opts.socket_buffer)?;
        Self::connect_with(
            identity,
            &config.roster,
            &config.session_id,
            config.party_id,
            socket,
            opts,
        )
        .await
    }

    /// Connects as party `me` of `roster` from an already bound socket (for tests and in-process use).
    pub async fn connect_with(
        identity: Identity,
        roster: &Roster,
        session_id: &str,
        me: PartyId,
        socket: std::net::UdpSocket,
        opts: MeshOptions,
    ) -> Result<Mesh> {
        opts.check()?;
        if roster.get(me).is_none() {
            return Err(NetError::InvalidArgument(format!(
                "party {me} is not in the roster"
            )));
        }
        let allowed = roster
            .parties()
            .iter()
            .filter(|p| p.id != me)
            .map(|p| p.fingerprint)
            .collect();
        let tls = crate::tls::server_config(&identity, allowed)?;
        let quic = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
            .map_err(|e| NetError::Tls(e.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
        server.transport_config(opts.transport()?);
        let endpoint = transport::endpoint(socket, server, &opts)?;
        let setup = Setup {
            identity: &identity,
            roster,
            session_id,
            me,
            opts: &opts,
            nonce: crate::run::fresh_nonce(),
        };
        let (links, run_id) = match setup.run(&endpoint).await {
            Ok(l) => l,
            Err(e) => {
                endpoint.close(VarInt::from_u32(code::ABORT), b"set-up failed");
                return Err(e);
            }
        };
        Ok(Self::start(
            endpoint,
            roster.clone(),
            me,
            (links, run_id),
            &opts,
        ))
    }

    fn start(
        endpoint: quinn::Endpoint,
        roster: Roster,
        me: PartyId,
        (links, run_id): (Vec<Link>, RunId),
        opts: &MeshOptions,
    ) -> Mesh {
        let endpoints = roster.endpoints();
        let mut peers: Vec<Option<Peer>> = (0..endpoints).map(|_| None).collect();
        let mut recvs = Vec::new();
        for link in links {
            recvs.push((link.id, link.control_recv));
            peers[link.id] = Some(Peer {
                id: link.id,
                conn: link.conn,
                control: tokio::sync::Mutex::new(link.control_send),
                state: watch::channel(PeerState::Alive).0,
                opened: AtomicU64::new(0),
                accepted: AtomicU64::new(0),
                channels: Mutex::new(HashSet::new()),
                progress: Mutex::new(Progress {
                    bye: None,
                    finished: 0,
                    drained_sent: false,
                }),
                drained: watch::channel(false).0,
            });
        }
        let shared = Arc::new(Shared {
            me,
            endpoints,
            names: roster.parties().iter().map(|p| p.name.clone()).collect(),
            max_frame: opts.max_frame,
            max_streams: opts.max_streams_per_peer,
            inbox_messages: opts.inbox_messages,
            inbox_bytes: opts.inbox_bytes,
            idle_timeout: opts.idle_timeout,
            peers,
            inboxes: Mutex::new(HashMap::new()),
            outboxes: Mutex::new(Some(HashMap::new())),
            writers: Mutex::new(Vec::new()),
            local: watch::channel(None).0,
        });
        for (id, recv) in recvs {
            tokio::spawn(control_reader(shared.clone(), id, recv));
            tokio::spawn(stream_acceptor(shared.clone(), id));
            tokio::spawn(monitor(shared.clone(), id));
        }
        let ep = endpoint.clone();
        tokio::spawn(async move {
            while let Some(incoming) = ep.accept().await {
                tracing::warn!(remote = %incoming.remote_address(), "refused a connection: the session is already set up");
                incoming.refuse();
            }
        });
        Mesh {
            inner: Arc::new(MeshInner {
                shared,
                endpoint,
                close_timeout: opts.close_timeout,
                roster,
                run_id,
            }),
        }
    }

    /// The roster of the session.
    pub fn roster(&self) -> &Roster {
        &self.inner.roster
    }

    /// The id of this run, the same on every party of it and fresh for every run ([`crate::run`]).
    pub fn run_id(&self) -> RunId {
        self.inner.run_id
    }

    /// What the inbox of messages from `from` on `channel` holds now (zero if there is none).
    pub fn inbox_usage(&self, from: PartyId, channel: ChannelId) -> InboxUsage {
        lock(&self.inner.shared.inboxes)
            .get(&(from, channel))
            .map(|i| i.usage())
            .unwrap_or_default()
    }

    /// The first peer (by id) that failed: it aborted the session, was lost without leaving (killed,
    /// frozen past the idle timeout, a network failure) or broke the protocol; `None` if every peer is still
    /// connected or left gracefully. A server that ends its loop when a peer goes (the dealer) asks this to
    /// tell a finished session from a failed one.
    pub fn peer_failure(&self) -> Option<NetError> {
        let shared = &self.inner.shared;
        shared
            .peers
            .iter()
            .flatten()
            .find_map(|p| match &*p.state.borrow() {
                PeerState::Alive | PeerState::Left => None,
                s => shared.state_error(p.id, s),
            })
    }

    /// The local UDP address.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.endpoint.local_addr().ok()
    }

    /// Leaves the session gracefully: flushes every queued message, tells each peer how many streams it must
    /// read, waits (up to the close timeout) until each confirms, then closes the connections and the
    /// endpoint. After an abort it only closes. Later sends and receives fail.
    pub async fn close(&self) {
        let shared = &self.inner.shared;
        let aborted = shared.local.borrow().is_some();
        let outboxes = lock(&shared.outboxes).take();
        drop(outboxes);
        let deadline = tokio::time::Instant::now() + self.inner.close_timeout;
        if !aborted {
            let writers: Vec<_> = lock(&shared.writers).drain(..).collect();
            for w in writers {
                let _ = tokio::time::timeout_at(deadline, w).await;
            }
            shared.local.send_if_modified(|l| {
                if l.is_none() {
                    *l = Some("this party closed the mesh".into());
                    true
                } else {
                    false
                }
            });
            for peer in shared.peers.iter().flatten() {
                if peer.conn.close_reason().is_none() {
                    let bye = Control::Bye {
                        streams: peer.opened.load(Ordering::SeqCst),
                    };
                    let _ =
                        tokio::time::timeout_at(deadline, shared.send_control(peer, &bye)).await;
                }
            }
            for peer in shared.peers.iter().flatten() {
                let mut drained = peer.drained.subscribe();
                let conn = peer.conn.clone();
                let _ = tokio::time::timeout_at(deadline, async move {
                    tokio::select! {
                        _ = drained.wait_for(|d| *d) => {}
                        _ = conn.closed() => {}
                    }
                })
                .await;
            }
        }
        for peer in shared.peers.iter().flatten() {
            peer.conn.close(VarInt::from_u32(code::BYE), b"bye");
        }
        self.inner
            .endpoint
            .close(VarInt::from_u32(code::BYE), b"bye");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.endpoint.wait_idle()).await;
    }

    fn writer_for(&self, to: PartyId, channel: ChannelId) -> Result<mpsc::UnboundedSender<Bytes>> {
        let shared = &self.inner.shared;
        let mut guard = lock(&shared.outboxes);
        let map = guard.as_mut().ok_or_else(|| {
            shared
                .local_error()
                .unwrap_or_else(|| NetError::Closed("closed".into()))
        })?;
        if let Some(tx) = map.get(&(to, channel)) {
            return Ok(tx.clone());
        }
        let streams = map.keys().filter(|(p, _)| *p == to).count();
        if streams >= shared.max_streams {
            return Err(NetError::InvalidArgument(format!(
                "sending on channel {channel} would open a data stream beyond the limit of {} per peer \
                 to party {to} (MeshOptions::max_streams_per_peer)",
                shared.max_streams
            )));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        map.insert((to, channel), tx.clone());
        let handle = tokio::spawn(writer(shared.clone(), to, channel, rx));
        lock(&shared.writers).push(handle);
        Ok(tx)
    }

    async fn recv_inner(&self, channel: ChannelId, from: PartyId) -> Result<Vec<u8>> {
        let shared = &self.inner.shared;
        let peer = shared.peer(from)?;
        let inbox = shared.inbox((from, channel));
        let mut rx = inbox.rx.lock().await;
        let mut state = peer.state.subscribe();
        let mut local = shared.local.subscribe();
        loop {
            if let Ok(m) = rx.try_recv() {
                return Ok(m.msg);
            }
            // What happened to the peer explains more than our own abort (which it may have caused).
            let s = state.borrow_and_update().clone();
            if let Some(e) = shared
                .state_error(from, &s)
                .or_else(|| shared.local_error())
            {
                // The last messages may have been queued just before the state changed.
                if let Ok(m) = rx.try_recv() {
                    return Ok(m.msg);
                }
                // A peer gone after another aborted the session (it may have died without passing the
                // abort on): the abort is the cause to report.
                if matches!(e, NetError::PeerLost { .. }) {
                    if let Some(abort) = shared.first_abort() {
                        return Err(abort);
                    }
                }
                return Err(e);
            }
            tokio::select! {
                m = rx.recv() => if let Some(m) = m { return Ok(m.msg) },
                _ = state.changed() => {}
                _ = local.changed() => {}
            }
        }
    }
}

#[async_trait]
impl Network for Mesh {
    fn id(&self) -> PartyId {
        self.inner.shared.me
    }

    fn endpoints(&self) -> usize {
        self.inner.shared.endpoints
    }

    async fn send(&self, channel: ChannelId, to: PartyId, msg: Vec<u8>) -> mpc_core::Result<()> {
        let shared = &self.inner.shared;
        let peer = shared.peer(to)?;
        let state = peer.state.borrow().clone();
        if let Some(e) = shared
            .state_error(to, &state)
            .or_else(|| shared.local_error())
        {
            return Err(e.into());
        }
        if msg.len() > shared.max_frame {
            return Err(NetError::InvalidArgument(format!(
                "a message of {} bytes exceeds the maximum frame of {} bytes",
                msg.len(),
                shared.max_frame
            ))
            .into());
        }
        let tx = self.writer_for(to, channel)?;
        tx.send(Bytes::from(msg))
            .map_err(|_| NetError::Closed("the writer stopped".into()))?;
        Ok(())
    }

    async fn recv(&self, channel: ChannelId, from: PartyId) -> mpc_core::Result<Vec<u8>> {
        Ok(self.recv_inner(channel, from).await?)
    }

    async fn abort(&self, reason: &str) {
        self.inner.shared.abort(reason).await;
    }
}

async fn writer(
    shared: Arc<Shared>,
    to: PartyId,
    channel: ChannelId,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
) {
    let Ok(peer) = shared.peer(to) else { return };
    let mut stream: Option<quinn::SendStream> = None;
    while let Some(msg) = rx.recv().await {
        let s = match &mut stream {
            Some(s) => s,
            None => match peer.conn.open_uni().await {
                Ok(mut s) => {
                    peer.opened.fetch_add(1, Ordering::SeqCst);
                    if let Err(e) = s.write_all(&wire::encode_stream_header(channel)).await {
                        fail_write(&shared, peer, e.to_string());
                        return;
                    }
                    stream.insert(s)
                }
                Err(e) => {
                    fail_write(&shared, peer, e.to_string());
                    return;
                }
            },
        };
        let Some(prefix) = wire::frame_prefix(msg.len()) else {
            fail_write(&shared, peer, "a message too large to frame".into());
            return;
        };
        let mut chunks = [Bytes::copy_from_slice(&prefix), msg];
        if let Err(e) = s.write_all_chunks(&mut chunks).await {
            fail_write(&shared, peer, e.to_string());
            return;
        }
    }
    if let Some(mut s) = stream {
        let _ = s.finish();
    }
}

fn fail_write(shared: &Shared, peer: &Peer, what: String) {
    let state = match peer.conn.close_reason() {
        Some(e) => shared.describe_close(&e),
        None => PeerState::Lost(format!("sending failed: {what}")),
    };
    shared.set_state(peer, state);
}

async fn monitor(shared: Arc<Shared>, id: PartyId) {
    let Ok(peer) = shared.peer(id) else { return };
    let e = peer.conn.closed().await;
    if matches!(e, ConnectionError::LocallyClosed) {
        return; // our own close or abort; the local state says why
    }
    let state = shared.describe_close(&e);
    shared.set_state(peer, state);
}

async fn control_reader(shared: Arc<Shared>, id: PartyId, mut recv: quinn::RecvStream) {
    let Ok(peer) = shared.peer(id) else { return };
    loop {
        let frame = match wire::read_frame(&mut recv, CONTROL_MAX).await {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(FrameError::Io(_)) => return, // the monitor reports the connection's end
            Err(e) => return shared.malformed(peer, &e).await,
        };
        match Control::decode(&frame) {
            Ok(Control::Abort { reason }) => {
                shared.set_state(peer, PeerState::Aborted(wire::sanitize(&reason)));
            }
            Ok(Control::Bye { streams }) => {
                lock(&peer.progress).bye = Some(streams);
                shared.check_drained(peer);
            }
            Ok(Control::Drained) => {
                peer.drained.send_replace(true);
            }
            Ok(Control::Hello(_) | Control::Run { .. }) => {
                let e = FrameError::BadControl("a second hello or run check".into());
                return shared.malformed(peer, &e).await;
            }
            Err(e) => return shared.malformed(peer, &e).await,
        }
    }
}

async fn stream_acceptor(shared: Arc<Shared>, id: PartyId) {
    let Ok(peer) = shared.peer(id) else { return };
    while let Ok(stream) = peer.conn.accept_uni().await {
        let n = peer.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        if n > shared.max_streams as u64 {
            let what = format!(
                "opened more than {} data streams, the limit per peer",
                shared.max_streams
            );
            return shared.over_limit(peer, what).await;
        }
        tokio::spawn(stream_reader(shared.clone(), id, stream));
    }
}

async fn stream_reader(shared: Arc<Shared>, id: PartyId, mut stream: quinn::RecvStream) {
    let Ok(peer) = shared.peer(id) else { return };
    let channel = match wire::read_stream_header(&mut stream).await {
        Ok(Some(c)) => c,
        Ok(None) => return shared.malformed(peer, &FrameError::Truncated).await,
        Err(FrameError::Io(_)) => return,
        Err(e) => return shared.malformed(peer, &e).await,
    };
    if !lock(&peer.channels).insert(channel) {
        let what = format!("opened a second data stream for channel {channel}");
        return shared.over_limit(peer, what).await;
    }
    let inbox = shared.inbox((id, channel));
    loop {
        let len = match wire::read_frame_len(&mut stream, shared.max_frame).await {
            Ok(Some(len)) => len,
            Ok(None) => {
                lock(&peer.progress).finished += 1;
                shared.check_drained(peer);
                return;
            }
            Err(FrameError::Io(_)) => return,
            Err(e) => return shared.malformed(peer, &e).await,
        };
        // Room first, then the bytes: a full inbox stops reading this stream (backpressure).
        let room = tokio::select! {
            room = inbox.reserve(len) => room,
            _ = peer.conn.closed() => None,
        };
        let Some(room) = room else { return };
        let mut msg = Vec::new();
        match wire::read_frame_body(&mut stream, len, &mut msg).await {
            Ok(()) => room.deliver(msg),
            Err(FrameError::Io(_)) => return,
            Err(e) => return shared.malformed(peer, &e).await,
        }
    }
}
