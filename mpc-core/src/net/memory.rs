//! An in-memory [`Network`] for running every party of a session as tasks of one process, with optional
//! emulated one-way latency and bandwidth per link, and an optional [`Recorder`] of everything that crosses
//! between the endpoints (for tests of what a party reveals to its peers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{ChannelId, Network, PartyId};
use crate::error::{Error, Result};

/// Emulated properties of every link of an in-memory network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkEmulation {
    /// Fixed one-way delay added to every message.
    pub latency: Duration,
    /// Bytes per second of each directed link; `None` for unlimited.
    pub bandwidth: Option<u64>,
}

enum Envelope {
    Data {
        bytes: Vec<u8>,
        deliver_at: Option<Instant>,
    },
}

type Key = (PartyId, PartyId, ChannelId); // (from, to, channel)

/// One thing that crossed from one endpoint to another: a message's bytes, or an abort's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossed {
    /// The sending endpoint.
    pub from: PartyId,
    /// The receiving endpoint.
    pub to: PartyId,
    /// The message, or the abort reason's UTF-8 bytes (recorded once per peer the abort reaches).
    pub bytes: Vec<u8>,
}

/// A tap on an in-memory network, for tests: when given to [`MemoryNetwork::with_recorder`] (or
/// [`crate::SimOptions::recorder`]) it keeps a copy of every message sent and of every abort reason, per
/// receiving endpoint. Clones share the record.
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<Vec<Crossed>>>);

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Everything recorded so far, in the order it was sent.
    pub fn crossed(&self) -> Vec<Crossed> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn record(&self, from: PartyId, to: PartyId, bytes: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Crossed {
                from,
                to,
                bytes: bytes.to_vec(),
            });
    }
}

struct Mailbox {
    tx: mpsc::UnboundedSender<Envelope>,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Envelope>>>,
}

#[derive(Clone, Debug, PartialEq)]
enum PartyState {
    Alive,
    Aborted(String),
    Gone,
}

struct Shared {
    mailboxes: Mutex<HashMap<Key, Mailbox>>,
    link_free_at: Mutex<HashMap<(PartyId, PartyId), Instant>>,
    states: Vec<watch::Sender<PartyState>>,
    emulation: LinkEmulation,
    recorder: Option<Recorder>,
}

impl Shared {
    fn mailbox(
        &self,
        key: Key,
    ) -> (
        mpsc::UnboundedSender<Envelope>,
        Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Envelope>>>,
    ) {
        let mut map = self.mailboxes.lock().unwrap_or_else(|p| p.into_inner());
        let mb = map.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            Mailbox {
                tx,
                rx: Arc::new(tokio::sync::Mutex::new(rx)),
            }
        });
        (mb.tx.clone(), mb.rx.clone())
    }
}

/// One endpoint of an in-memory network. Create all endpoints together with [`MemoryNetwork::new`].
///
/// Dropping an endpoint tells its peers it is gone: a peer waiting on it gets [`Error::PeerLost`] once every
/// message it had sent has been read.
pub struct MemoryNetwork {
    id: PartyId,
    shared: Arc<Shared>,
}

impl MemoryNetwork {
    /// `n` connected endpoints with no emulated delay.
    pub fn new(n: usize) -> Vec<MemoryNetwork> {
        Self::with_emulation(n, LinkEmulation::default())
    }

    /// `n` connected endpoints whose links add the given latency and bandwidth limit.
    pub fn with_emulation(n: usize, emulation: LinkEmulation) -> Vec<MemoryNetwork> {
        Self::with_recorder(n, emulation, None)
    }

    /// `n` connected endpoints with the given emulation whose traffic and aborts `recorder`, if any, records.
    pub fn with_recorder(
        n: usize,
        emulation: LinkEmulation,
        recorder: Option<Recorder>,
    ) -> Vec<MemoryNetwork> {
        let shared = Arc::new(Shared {
            mailboxes: Mutex::new(HashMap::new()),
            link_free_at: Mutex::new(HashMap::new()),
            states: (0..n)
                .map(|_| watch::channel(PartyState::Alive).0)
                .collect(),
            emulation,
            recorder,
        });
        (0..n)
            .map(|id| MemoryNetwork {
                id,
                shared: shared.clone(),
            })
            .collect()
    }

    fn check_peer(&self, peer: PartyId) -> Result<()> {
        if peer >= self.shared.states.len() || peer == self.id {
            return Err(Error::UnknownParty {
                party: peer,
                parties: self.shared.states.len(),
            });
        }
        Ok(())
    }

    fn deliver_at(&self, to: PartyId, len: usize) -> Option<Instant> {
        let em = self.shared.emulation;
        if em.latency.is_zero() && em.bandwidth.is_none() {
            return None;
        }
        let now = Instant::now();
        let sent = match em.bandwidth {
            Some(bps) => {
                let mut free = self
                    .shared
                    .link_free_at
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let start = free.get(&(self.id, to)).copied().unwrap_or(now).max(now);
                let done = start + Duration::from_secs_f64(len as f64 / bps.max(1) as f64);
                free.insert((self.id, to), done);
                done
            }
            None => now,
        };
        Some(sent + em.latency)
    }
}

#[async_trait]
impl Network for MemoryNetwork {
    fn id(&self) -> PartyId {
        self.id
    }

    fn endpoints(&self) -> usize {
        self.shared.states.len()
    }

    async fn send(&self, channel: ChannelId, to: PartyId, msg: Vec<u8>) -> Result<()> {
        self.check_peer(to)?;
        let state = self.shared.states[to].borrow().clone();
        match state {
            PartyState::Alive => {}
            PartyState::Aborted(reason) => return Err(Error::PeerAborted { party: to, reason }),
            PartyState::Gone => {
                return Err(Error::PeerLost {
                    party: to,
                    reason: "the party has left the session".into(),
                })
            }
        }
        if let Some(r) = &self.shared.recorder {
            r.record(self.id, to, &msg);
        }
        let deliver_at = self.deliver_at(to, msg.len());
        let (tx, _) = self.shared.mailbox((self.id, to, channel));
        tx.send(Envelope::Data {
            bytes: msg,
            deliver_at,
        })
        .map_err(|_| Error::PeerLost {
            party: to,
            reason: "mailbox closed".into(),
        })
    }

    async fn recv(&self, channel: ChannelId, from: PartyId) -> Result<Vec<u8>> {
        self.check_peer(from)?;
        let (_, rx) = self.shared.mailbox((from, self.id, channel));
        let mut rx = rx.lock().await;
        let mut state = self.shared.states[from].subscribe();
        let envelope = loop {
            // Messages sent before a peer left or aborted are still delivered first.
            if let Ok(env) = rx.try_recv() {
                break env;
            }
            let current = state.borrow_and_update().clone();
            match current {
                PartyState::Alive => {}
                PartyState::Aborted(reason) => {
                    return Err(Error::PeerAborted {
                        party: from,
                        reason,
                    })
                }
                PartyState::Gone => {
                    return Err(Error::PeerLost {
                        party: from,
                        reason: "the party left the session before sending the expected message"
                            .into(),
                    })
                }
            }
            tokio::select! {
                biased;
                env = rx.recv() => match env {
                    Some(env) => break env,
                    None => return Err(Error::PeerLost { party: from, reason: "mailbox closed".into() }),
                },
                changed = state.changed() => {
                    if changed.is_err() {
                        return Err(Error::PeerLost { party: from, reason: "network dropped".into() });
                    }
                }
            }
        };
        let Envelope::Data { bytes, deliver_at } = envelope;
        if let Some(at) = deliver_at {
            tokio::time::sleep_until(at).await;
        }
        Ok(bytes)
    }

    async fn abort(&self, reason: &str) {
        let first = self.shared.states[self.id].send_if_modified(|s| {
            if *s == PartyState::Alive {
                *s = PartyState::Aborted(reason.to_string());
                true
            } else {
                false
            }
        });
        if let Some(r) = self.shared.recorder.as_ref().filter(|_| first) {
            for to in (0..self.shared.states.len()).filter(|&p| p != self.id) {
                r.record(self.id, to, reason.as_bytes());
            }
        }
    }
}

impl Drop for MemoryNetwork {
    fn drop(&mut self) {
        self.shared.states[self.id].send_if_modified(|s| {
            if *s == PartyState::Alive {
                *s = PartyState::Gone;
                true
            } else {
                false
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_in_order_per_channel() {
        let mut nets = MemoryNetwork::new(2);
        let b = nets.pop().unwrap();
        let a = nets.pop().unwrap();
        a.send(0, 1, vec![1]).await.unwrap();
        a.send(1, 1, vec![9]).await.unwrap();
        a.send(0, 1, vec![2]).await.unwrap();
        assert_eq!(b.recv(1, 0).await.unwrap(), vec![9]);
        assert_eq!(b.recv(0, 0).await.unwrap(), vec![1]);
        assert_eq!(b.recv(0, 0).await.unwrap(), vec![2]);
    }

    #[tokio::test]
    async fn dropped_peer_is_lost_after_its_messages() {
        let mut nets = MemoryNetwork::new(2);
        let b = nets.pop().unwrap();
        let a = nets.pop().unwrap();
        a.send(0, 1, vec![5]).await.unwrap();
        drop(a);
        assert_eq!(b.recv(0, 0).await.unwrap(), vec![5]);
        assert!(matches!(
            b.recv(0, 0).await,
            Err(Error::PeerLost { party: 0, .. })
        ));
    }

    #[tokio::test]
    async fn abort_reaches_a_waiting_peer() {
        let mut nets = MemoryNetwork::new(2);
        let b = nets.pop().unwrap();
        let a = nets.pop().unwrap();
        let waiter = tokio::spawn(async move { b.recv(0, 0).await });
        tokio::task::yield_now().await;
        a.abort("bad input").await;
        match waiter.await.unwrap() {
            Err(Error::PeerAborted { party: 0, reason }) => assert_eq!(reason, "bad input"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn recorder_sees_every_message_and_abort() {
        let recorder = Recorder::new();
        let mut nets =
            MemoryNetwork::with_recorder(3, LinkEmulation::default(), Some(recorder.clone()));
        let c = nets.pop().unwrap();
        let b = nets.pop().unwrap();
        let a = nets.pop().unwrap();
        a.send(4, 2, vec![7, 8]).await.unwrap();
        b.abort("stop").await;
        b.abort("again").await;
        assert_eq!(c.recv(4, 0).await.unwrap(), vec![7, 8]);
        let crossed = |from, to, bytes: &[u8]| Crossed {
            from,
            to,
            bytes: bytes.to_vec(),
        };
        assert_eq!(
            recorder.crossed(),
            vec![
                crossed(0, 2, &[7, 8]),
                crossed(1, 0, b"stop"),
                crossed(1, 2, b"stop")
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn emulated_latency_and_bandwidth_delay_delivery() {
        let em = LinkEmulation {
            latency: Duration::from_millis(20),
            bandwidth: Some(1_000_000),
        };
        let mut nets = MemoryNetwork::with_emulation(2, em);
        let b = nets.pop().unwrap();
        let a = nets.pop().unwrap();
        let start = Instant::now();
        a.send(0, 1, vec![0; 100_000]).await.unwrap();
        b.recv(0, 0).await.unwrap();
        let elapsed = start.elapsed();
        // 100 kB at 1 MB/s is 100 ms, plus 20 ms latency.
        assert!(
            elapsed >= Duration::from_millis(120) && elapsed < Duration::from_millis(125),
            "{elapsed:?}"
        );
    }
}
