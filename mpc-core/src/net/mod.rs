//! The transport abstraction every protocol runs on, and the in-memory network that tests and researchers use.
//!
//! A [`Network`] moves opaque byte messages between parties, in order, on independent numbered channels: two
//! protocol instances on different channels (say a background preprocessing producer and the online phase)
//! never see each other's messages. mpc-net's QUIC mesh implements the same trait, so a protocol written
//! against it runs unchanged between processes and machines.

mod memory;

pub use memory::{Crossed, LinkEmulation, MemoryNetwork, Recorder};

use async_trait::async_trait;

use crate::error::Result;

/// A party's index in the session: `0..n` for the computing parties; a dealer, if any, comes after them.
pub type PartyId = usize;

/// A logical stream between two parties. Channel 0 is the main protocol; forks take others.
pub type ChannelId = u32;

/// Ordered, reliable, authenticated delivery of byte messages between the parties of one session.
///
/// Implementations must deliver messages on one `(peer, channel)` in the order they were sent, must not
/// interleave different channels, and must turn every failure of a peer (closed, timed out, aborted) into an
/// error naming that peer rather than waiting forever.
#[async_trait]
pub trait Network: Send + Sync {
    /// This endpoint's party id.
    fn id(&self) -> PartyId;
    /// Number of endpoints in the session (computing parties, plus a dealer if there is one).
    fn endpoints(&self) -> usize;
    /// Sends one message to `to` on `channel`.
    async fn send(&self, channel: ChannelId, to: PartyId, msg: Vec<u8>) -> Result<()>;
    /// Receives the next message from `from` on `channel`.
    async fn recv(&self, channel: ChannelId, from: PartyId) -> Result<Vec<u8>>;
    /// Tells every peer that this party aborts the session, and why. Best effort; never fails. The
    /// [`crate::Context`] passes only an [`crate::AbortCategory::peer_reason`] here, never an error's text.
    async fn abort(&self, reason: &str);
}
