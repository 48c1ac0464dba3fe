//! The one error type of mpc-core. Every variant that a peer can cause names that peer.
//!
//! An error's text is local: it may hold values (an [`Error::OutOfRange`] value) and it stays with the party
//! that saw it. What a failing party tells its peers is only the [`AbortCategory`] of
//! [`Error::abort_category`] (see [`crate::abort`]); a peer's [`Error::PeerAborted`] reason is that category's
//! fixed text, or whatever another implementation chose to send.

use crate::abort::AbortCategory;
use crate::net::PartyId;

/// Result alias used throughout mpc-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in mpc-core. Nothing a peer sends makes mpc-core panic: it becomes one of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A peer sent a message that does not decode as what the protocol expects.
    #[error("party {party} sent a malformed message: {reason}")]
    Malformed {
        /// The party at fault.
        party: PartyId,
        /// What was wrong.
        reason: String,
    },
    /// A peer sent a message of the wrong length.
    #[error("party {party} sent {got} bytes where {expected} were expected")]
    WrongLength {
        /// The party at fault.
        party: PartyId,
        /// Bytes the protocol expected.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// A peer told us it aborted the session.
    #[error("party {party} aborted the session: {reason}")]
    PeerAborted {
        /// The party that aborted.
        party: PartyId,
        /// Its reason as it sent it (from this crate's parties: an [`AbortCategory::peer_reason`]).
        reason: String,
    },
    /// The link to a peer is gone (closed, reset, timed out).
    #[error("lost party {party}: {reason}")]
    PeerLost {
        /// The party that was lost.
        party: PartyId,
        /// Why, as far as we can tell.
        reason: String,
    },
    /// A party id outside the session.
    #[error("there is no party {party} in a session of {parties} parties")]
    UnknownParty {
        /// The id that was asked for.
        party: PartyId,
        /// Number of parties in the session.
        parties: usize,
    },
    /// A value that cannot be encoded in fixed point.
    #[error("value {value} is outside the fixed-point range [{min}, {max}] ({frac_bits} fractional bits in {ring})")]
    OutOfRange {
        /// The value.
        value: f64,
        /// Smallest encodable value.
        min: f64,
        /// Largest encodable value.
        max: f64,
        /// Fractional bits of the encoding.
        frac_bits: u32,
        /// The ring's name.
        ring: &'static str,
    },
    /// A NaN or an infinity where a number was needed.
    #[error("value {value} is not a finite number")]
    NonFinite {
        /// The value.
        value: f64,
    },
    /// Operands whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A byte string that is not a canonical ring encoding.
    #[error("invalid {ring} encoding: {reason}")]
    Encoding {
        /// The ring's name.
        ring: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A preprocessing source could not deliver.
    #[error("preprocessing: {0}")]
    Preprocessing(String),
    /// A transport-level failure that is not attributable to one peer.
    #[error("network: {0}")]
    Network(String),
    /// A bad argument from the local caller.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The session already failed; it refuses to continue.
    #[error("the session was aborted earlier: {0}")]
    SessionAborted(String),
}

impl Error {
    /// The peer this error blames, if any.
    pub fn party(&self) -> Option<PartyId> {
        match self {
            Error::Malformed { party, .. }
            | Error::WrongLength { party, .. }
            | Error::PeerAborted { party, .. }
            | Error::PeerLost { party, .. } => Some(*party),
            _ => None,
        }
    }

    /// The category a party that stops on this error tells its peers (a fixed text with no data).
    pub fn abort_category(&self) -> AbortCategory {
        match self {
            Error::Malformed { .. } | Error::WrongLength { .. } | Error::Encoding { .. } => {
                AbortCategory::ProtocolViolation
            }
            Error::PeerAborted { party, .. } => AbortCategory::PeerStopped(*party),
            Error::PeerLost { .. } | Error::Network(_) => AbortCategory::Network,
            Error::OutOfRange { .. } | Error::NonFinite { .. } => AbortCategory::RangeExceeded,
            Error::Preprocessing(_) => AbortCategory::Preprocessing,
            Error::UnknownParty { .. }
            | Error::Shape(_)
            | Error::InvalidArgument(_)
            | Error::SessionAborted(_) => AbortCategory::Internal,
        }
    }
}
