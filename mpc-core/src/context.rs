//! The session context a protocol runs in: who we are, how many computing parties there are, the network,
//! local randomness, and counters of rounds, messages and bytes per peer.
//!
//! A context can [`fork`](Context::fork) children on fresh channels, so that sub-protocols (for example a
//! background preprocessing producer) run concurrently without their messages interleaving. After any error
//! the context tells its peers it aborts (with the error's [`crate::AbortCategory`] only, never its text) and
//! refuses to continue.

use std::sync::{Arc, Mutex};

use crate::abort::AbortCategory;
use crate::error::{Error, Result};
use crate::net::{ChannelId, Network, PartyId};
use crate::prg::Prg;
use crate::ring::Ring;
use zeroize::Zeroizing;

/// Traffic counters for one peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Messages sent to the peer.
    pub messages_sent: u64,
    /// Bytes sent to the peer (payload only).
    pub bytes_sent: u64,
    /// Messages received from the peer.
    pub messages_received: u64,
    /// Bytes received from the peer.
    pub bytes_received: u64,
}

/// A snapshot of a party's traffic in a session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Communication rounds: the number of times this party waited for a message after having sent since
    /// its last wait. A protocol step whose messages all go out before any comes in counts once.
    pub rounds: u64,
    /// Per-peer counters, indexed by party id (endpoints, including a dealer).
    pub peers: Vec<PeerStats>,
}

impl Stats {
    /// Bytes this party sent in total.
    pub fn bytes_sent(&self) -> u64 {
        self.peers.iter().map(|p| p.bytes_sent).sum()
    }
    /// Bytes this party received in total.
    pub fn bytes_received(&self) -> u64 {
        self.peers.iter().map(|p| p.bytes_received).sum()
    }
    /// Messages this party sent in total.
    pub fn messages_sent(&self) -> u64 {
        self.peers.iter().map(|p| p.messages_sent).sum()
    }
    /// The counters accumulated since an earlier snapshot.
    pub fn since(&self, earlier: &Stats) -> Stats {
        Stats {
            rounds: self.rounds - earlier.rounds,
            peers: self
                .peers
                .iter()
                .zip(
                    earlier
                        .peers
                        .iter()
                        .chain(std::iter::repeat(&PeerStats::default())),
                )
                .map(|(a, b)| PeerStats {
                    messages_sent: a.messages_sent - b.messages_sent,
                    bytes_sent: a.bytes_sent - b.bytes_sent,
                    messages_received: a.messages_received - b.messages_received,
                    bytes_received: a.bytes_received - b.bytes_received,
                })
                .collect(),
        }
    }
}

struct SharedState {
    stats: Stats,
    claimed: std::collections::HashSet<String>,
    failure: Option<String>,
    next_channel: ChannelId,
}

/// One party's handle on a session.
pub struct Context {
    net: Arc<dyn Network>,
    parties: usize,
    channel: ChannelId,
    sent_since_recv: bool,
    shared: Arc<Mutex<SharedState>>,
    rng: Prg,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id())
            .field("parties", &self.parties)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context over `net` for a session of `parties` computing parties (ids `0..parties`). Endpoints of the
    /// network beyond those (a dealer) are reachable but are not computing parties.
    pub fn new(net: Arc<dyn Network>, parties: usize) -> Result<Context> {
        if parties == 0 || parties > net.endpoints() {
            return Err(Error::InvalidArgument(format!(
                "a session of {parties} computing parties over a network of {} endpoints",
                net.endpoints()
            )));
        }
        let endpoints = net.endpoints();
        Ok(Context {
            net,
            parties,
            channel: 0,
            sent_since_recv: false,
            shared: Arc::new(Mutex::new(SharedState {
                stats: Stats {
                    rounds: 0,
                    peers: vec![PeerStats::default(); endpoints],
                },
                claimed: Default::default(),
                failure: None,
                next_channel: 1,
            })),
            rng: Prg::from_entropy(),
        })
    }

    /// This party's id.
    pub fn id(&self) -> PartyId {
        self.net.id()
    }

    /// Number of computing parties.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The computing parties other than this one.
    pub fn peers(&self) -> impl Iterator<Item = PartyId> + '_ {
        let me = self.id();
        (0..self.parties).filter(move |&p| p != me)
    }

    /// True for party 0, the party that adds public constants to shares.
    pub fn is_leader(&self) -> bool {
        self.id() == 0
    }

    /// The dealer's party id, if the network has one more endpoint than there are computing parties.
    pub fn dealer(&self) -> Option<PartyId> {
        (self.net.endpoints() > self.parties).then_some(self.parties)
    }

    /// The channel this context talks on.
    pub fn channel(&self) -> ChannelId {
        self.channel
    }

    /// This party's local randomness (seeded from the operating system).
    pub fn rng(&mut self) -> &mut Prg {
        &mut self.rng
    }

    /// The network underneath, for code that must hand it on.
    pub fn network(&self) -> &Arc<dyn Network> {
        &self.net
    }

    /// A child context on a fresh channel, sharing the counters. Every party must fork in the same order so
    /// that children with the same channel number talk to each other.
    pub fn fork(&mut self) -> Context {
        let channel = {
            let mut s = self.lock();
            let c = s.next_channel;
            s.next_channel += 1;
            c
        };
        self.on_channel(channel)
    }

    /// A child context on an explicit channel (for protocols that agree on channel numbers out of band).
    pub fn on_channel(&self, channel: ChannelId) -> Context {
        Context {
            net: self.net.clone(),
            parties: self.parties,
            channel,
            sent_since_recv: false,
            shared: self.shared.clone(),
            rng: Prg::from_entropy(),
        }
    }

    /// Marks a once-per-session resource (such as a dealer source for one ring) as taken; false if this
    /// session (this context or any of its forks) already took it.
    pub fn claim_once(&self, what: &str) -> bool {
        self.lock().claimed.insert(what.to_string())
    }

    /// A snapshot of the counters (shared by this context and its forks).
    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_alive(&self) -> Result<()> {
        match &self.lock().failure {
            Some(reason) => Err(Error::SessionAborted(reason.clone())),
            None => Ok(()),
        }
    }

    /// Records a failure, tells every peer its [`Error::abort_category`] (never its text), and returns the
    /// error. Later operations refuse to run.
    pub async fn fail(&self, err: Error) -> Error {
        self.abort(err.abort_category()).await;
        err
    }

    /// Tells every peer that this party aborts the session, with only `category`'s fixed text and this
    /// party's id ([`AbortCategory::peer_reason`]); later operations refuse to run. Only the first call of a
    /// session sends anything.
    pub async fn abort(&self, category: AbortCategory) {
        let reason = category.peer_reason(self.id());
        let first = {
            let mut s = self.lock();
            let first = s.failure.is_none();
            if first {
                s.failure = Some(reason.clone());
            }
            first
        };
        if first {
            self.net.abort(&reason).await;
        }
    }

    /// Sends raw bytes to a party.
    pub async fn send_bytes(&mut self, to: PartyId, msg: Vec<u8>) -> Result<()> {
        self.check_alive()?;
        let len = msg.len() as u64;
        if let Err(e) = self.net.send(self.channel, to, msg).await {
            return Err(self.fail(e).await);
        }
        self.sent_since_recv = true;
        let mut s = self.lock();
        let p = &mut s.stats.peers[to];
        p.messages_sent += 1;
        p.bytes_sent += len;
        Ok(())
    }

    /// Receives raw bytes from a party.
    pub async fn recv_bytes(&mut self, from: PartyId) -> Result<Vec<u8>> {
        self.check_alive()?;
        match self.net.recv(self.channel, from).await {
            Ok(m) => {
                self.count_received(from, m.len());
                Ok(m)
            }
            Err(e) => Err(self.fail(e).await),
        }
    }

    /// Counts a received message (and a new round, if this party sent since its last receive).
    fn count_received(&mut self, from: PartyId, len: usize) {
        let new_round = std::mem::take(&mut self.sent_since_recv);
        let mut s = self.lock();
        if new_round {
            s.stats.rounds += 1;
        }
        let p = &mut s.stats.peers[from];
        p.messages_received += 1;
        p.bytes_received += len as u64;
    }

    /// Receives raw bytes from a party, or `None` if that party has left or is lost: the end of a loop that
    /// serves it (the dealer's). Unlike [`Context::recv_bytes`], a departed peer does not abort the session.
    pub async fn recv_bytes_or_end(&mut self, from: PartyId) -> Result<Option<Vec<u8>>> {
        self.check_alive()?;
        match self.net.recv(self.channel, from).await {
            Ok(m) => {
                self.count_received(from, m.len());
                Ok(Some(m))
            }
            Err(Error::PeerLost { .. }) => Ok(None),
            Err(e) => Err(self.fail(e).await),
        }
    }

    /// Sends ring elements to a party as raw little-endian bytes.
    pub async fn send_elems<R: Ring>(&mut self, to: PartyId, xs: &[R]) -> Result<()> {
        self.send_bytes(to, R::encode_slice(xs)).await
    }

    /// Receives exactly `len` ring elements from a party; any other length or encoding is an error naming it.
    pub async fn recv_elems<R: Ring>(&mut self, from: PartyId, len: usize) -> Result<Vec<R>> {
        let bytes = self.recv_bytes(from).await?;
        self.decode_elems(from, &bytes, len).await
    }

    /// Receives exactly `acc.len()` ring elements from a party and adds them to `acc` without an
    /// intermediate vector; any other length or encoding is an error naming the party.
    pub async fn recv_add_elems<R: Ring>(&mut self, from: PartyId, acc: &mut [R]) -> Result<()> {
        let bytes = self.recv_bytes(from).await?;
        self.add_elems(from, &bytes, acc).await
    }

    /// [`Context::recv_elems`] for elements that are secret (a share, a dealer's correction): decoded into
    /// a vector allocated once and returned zeroizing, and the received bytes are wiped.
    pub async fn recv_secret_elems<R: Ring>(
        &mut self,
        from: PartyId,
        len: usize,
    ) -> Result<Zeroizing<Vec<R>>> {
        let bytes = Zeroizing::new(self.recv_bytes(from).await?);
        let mut out = Zeroizing::new(vec![R::ZERO; len]);
        self.add_elems(from, &bytes, &mut out).await?;
        Ok(out)
    }

    /// Adds the elements encoded in `bytes` (from `from`) to `acc`; a wrong length or encoding aborts the
    /// session, blaming `from`.
    async fn add_elems<R: Ring>(
        &mut self,
        from: PartyId,
        bytes: &[u8],
        acc: &mut [R],
    ) -> Result<()> {
        let expected = acc.len() * R::BYTES;
        if bytes.len() != expected {
            return Err(self
                .fail(Error::WrongLength {
                    party: from,
                    expected,
                    got: bytes.len(),
                })
                .await);
        }
        match R::add_from_le(acc, bytes) {
            Ok(()) => Ok(()),
            Err(e) => Err(self
                .fail(Error::Malformed {
                    party: from,
                    reason: e.to_string(),
                })
                .await),
        }
    }

    /// Checks and decodes `len` ring elements that `from` sent; failures abort the session.
    pub async fn decode_elems<R: Ring>(
        &mut self,
        from: PartyId,
        bytes: &[u8],
        len: usize,
    ) -> Result<Vec<R>> {
        let expected = len * R::BYTES;
        if bytes.len() != expected {
            let err = Error::WrongLength {
                party: from,
                expected,
                got: bytes.len(),
            };
            return Err(self.fail(err).await);
        }
        match R::decode_slice(bytes) {
            Ok(v) => Ok(v),
            Err(e) => Err(self
                .fail(Error::Malformed {
                    party: from,
                    reason: e.to_string(),
                })
                .await),
        }
    }

    /// Receives a message whose content `check` validates; a rejection aborts the session, blaming `from`.
    pub async fn recv_checked<T>(
        &mut self,
        from: PartyId,
        check: impl FnOnce(&[u8]) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let bytes = self.recv_bytes(from).await?;
        self.checked(from, check(&bytes)).await
    }

    /// `checked`'s value, or the session aborted blaming `from` for a message `check` rejected.
    async fn checked<T>(
        &mut self,
        from: PartyId,
        checked: std::result::Result<T, String>,
    ) -> Result<T> {
        match checked {
            Ok(v) => Ok(v),
            Err(reason) => Err(self
                .fail(Error::Malformed {
                    party: from,
                    reason,
                })
                .await),
        }
    }

    /// [`Context::recv_checked`] for a message that carries a secret (a seed, a share): the received bytes
    /// are wiped once `check` has read them.
    pub async fn recv_secret_checked<T>(
        &mut self,
        from: PartyId,
        check: impl FnOnce(&[u8]) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let bytes = Zeroizing::new(self.recv_bytes(from).await?);
        self.checked(from, check(&bytes)).await
    }

    /// Checks that every party id in `ids` is a computing party.
    pub fn check_parties(&self, ids: &[PartyId]) -> Result<()> {
        match ids.iter().find(|&&p| p >= self.parties) {
            Some(&party) => Err(Error::UnknownParty {
                party,
                parties: self.parties,
            }),
            None => Ok(()),
        }
    }
}
