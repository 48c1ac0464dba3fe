//! A UDP relay that emulates a wide-area link, for tests and evaluation (`mpc relay`): it listens on one
//! address and forwards every datagram to one upstream address, with a one-way delay, jitter, random loss, a
//! bandwidth limit with a bounded queue, and scheduled cuts, set per direction ([`link`]).
//!
//! Like a NAT, it keeps one upstream socket per client source address, so the upstream's replies go back to
//! the client that caused them, and the upstream sees each client as a distinct address. Put one relay in
//! front of each party and write the relays' addresses into the roster: every QUIC connection then crosses
//! exactly one relay (the one of the party it dials).
//!
//! ```no_run
//! use mpc_net::relay::{LinkShape, Relay, RelayConfig};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let shape = LinkShape { delay: std::time::Duration::from_millis(10), ..LinkShape::default() };
//! let relay = Relay::start(RelayConfig::symmetric(
//!     "127.0.0.1:0".parse().unwrap(),
//!     "127.0.0.1:7100".parse().unwrap(),
//!     shape,
//! ))
//! .await
//! .unwrap();
//! println!("the party behind {} is 20 ms of round trip away", relay.local_addr());
//! # });
//! ```
//!
//! Timing: deliveries wait on tokio's timer, which rounds up to the millisecond, so a delay of `d` comes out
//! as `d` to `d + 1 ms`; a datagram due now is sent without waiting. Cuts count from [`Relay::start`].

pub mod link;
mod pump;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use link::{Cut, LinkShape};

/// Errors of the relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A direction's shape is invalid.
    #[error("the {direction} direction: {message}")]
    Shape {
        /// `client to upstream` or `upstream to client`.
        direction: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// What a relay does.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Where clients send (port 0: any free port, see [`Relay::local_addr`]).
    pub listen: SocketAddr,
    /// Where every client's datagrams go.
    pub upstream: SocketAddr,
    /// The client-to-upstream direction.
    pub up: LinkShape,
    /// The upstream-to-client direction.
    pub down: LinkShape,
    /// Seed of the loss and jitter generators (each direction derives its own).
    pub seed: u64,
    /// Most distinct clients served; datagrams from further clients are dropped and counted.
    pub max_clients: usize,
}

impl RelayConfig {
    /// The same shape in both directions, seed 0, at most 256 clients.
    pub fn symmetric(listen: SocketAddr, upstream: SocketAddr, shape: LinkShape) -> RelayConfig {
        RelayConfig {
            listen,
            upstream,
            up: shape.clone(),
            down: shape,
            seed: 0,
            max_clients: 256,
        }
    }
}

/// Counters of one direction, as read by [`Relay::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Datagrams delivered.
    pub packets: u64,
    /// Bytes delivered (UDP payload).
    pub bytes: u64,
    /// Datagrams dropped because the link was cut (on arrival or while in flight).
    pub dropped_cut: u64,
    /// Datagrams lost at random.
    pub dropped_loss: u64,
    /// Datagrams dropped at a full queue.
    pub dropped_queue: u64,
}

impl std::fmt::Display for DirectionStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} datagrams ({} bytes) delivered; dropped: {} cut, {} lost, {} at a full queue",
            self.packets, self.bytes, self.dropped_cut, self.dropped_loss, self.dropped_queue
        )
    }
}

/// Counters of a relay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Client to upstream.
    pub up: DirectionStats,
    /// Upstream to client.
    pub down: DirectionStats,
    /// Distinct clients seen.
    pub clients: u64,
    /// Datagrams refused because [`RelayConfig::max_clients`] clients were already served.
    pub refused: u64,
}

#[derive(Debug, Default)]
struct Counters {
    packets: AtomicU64,
    bytes: AtomicU64,
    cut: AtomicU64,
    loss: AtomicU64,
    queue: AtomicU64,
}

impl Counters {
    fn dropped(&self, why: link::Drop) {
        let c = match why {
            link::Drop::Cut => &self.cut,
            link::Drop::Loss => &self.loss,
            link::Drop::QueueFull => &self.queue,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn delivered(&self, bytes: usize) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn read(&self) -> DirectionStats {
        DirectionStats {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped_cut: self.cut.load(Ordering::Relaxed),
            dropped_loss: self.loss.load(Ordering::Relaxed),
            dropped_queue: self.queue.load(Ordering::Relaxed),
        }
    }
}

/// State shared by a relay's tasks.
#[derive(Debug, Default)]
struct Shared {
    up: Counters,
    down: Counters,
    clients: AtomicU64,
    refused: AtomicU64,
    /// Every task of the relay, aborted when the relay is dropped.
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Shared {
    fn track(&self, handle: tokio::task::AbortHandle) {
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(handle);
        }
    }
}

/// A running relay; dropping it stops it (its tasks are aborted, its sockets closed).
#[derive(Debug)]
pub struct Relay {
    local: SocketAddr,
    shared: Arc<Shared>,
}

impl Relay {
    /// Binds the listening socket and starts forwarding, on the current tokio runtime.
    pub async fn start(config: RelayConfig) -> Result<Relay, RelayError> {
        for (direction, shape) in [
            ("client to upstream", &config.up),
            ("upstream to client", &config.down),
        ] {
            shape
                .check()
                .map_err(|message| RelayError::Shape { direction, message })?;
        }
        let shared = Arc::new(Shared::default());
        let local = pump::start(config, shared.clone())?;
        Ok(Relay { local, shared })
    }

    /// The address clients send to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The counters so far.
    pub fn stats(&self) -> RelayStats {
        RelayStats {
            up: self.shared.up.read(),
            down: self.shared.down.read(),
            clients: self.shared.clients.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Ok(tasks) = self.shared.tasks.lock() {
            for t in tasks.iter() {
                t.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests;
