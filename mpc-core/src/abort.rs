//! What a party tells its peers when it stops: an [`AbortCategory`], never its error's text.
//!
//! A party that fails aborts the session with [`crate::Context::abort`] (or [`crate::Context::fail`], which
//! takes the category from [`crate::Error::abort_category`]). The only thing that crosses to every peer is
//! the string [`AbortCategory::peer_reason`] makes from the category and the aborting party's id:
//!
//! `"<the category's fixed text>; see party <id>'s log"`
//!
//! and the peer reports it as [`crate::Error::PeerAborted`] (with the aborting party's id, which the network
//! attributes). A category holds no data from the local error: no cell, value, id, file path or line. Those
//! stay in the local error (its `Display`), which the failing party returns, logs or prints. The only
//! parameters a category can carry are public to the session: a setting's name (a `&'static str`, so a fixed
//! text of the code and never read from a file) and a party id.

use crate::net::PartyId;

/// Why a party stops, as told to its peers. Every variant has a fixed, data-free text ([`std::fmt::Display`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbortCategory {
    /// Its own input (a data file, a cell, a row, an id list) was rejected.
    InputRejected,
    /// Its configuration is invalid or differs from another party's; names the setting where the code knows
    /// it (settings are public to the session).
    ConfigMismatch(Option<&'static str>),
    /// A value it computed or encoded went past its public bound (for example the fixed-point range).
    RangeExceeded,
    /// A peer sent it a message that breaks the protocol.
    ProtocolViolation,
    /// Its network failed or it lost a peer.
    Network,
    /// Its preprocessing (dealer or OT source) failed.
    Preprocessing,
    /// It lacks a feature the session needs.
    Unsupported,
    /// It stopped because the given party stopped first.
    PeerStopped(PartyId),
    /// A failure of its own (an output it could not write, a bad argument of its caller).
    Internal,
    /// Its operator stopped it (SIGTERM, Ctrl-C).
    Interrupted,
}

impl AbortCategory {
    /// The reason sent to every peer when party `me` aborts with this category.
    pub fn peer_reason(self, me: PartyId) -> String {
        format!("{self}; see party {me}'s log")
    }
}

impl std::fmt::Display for AbortCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AbortCategory::InputRejected => f.write_str("input rejected"),
            AbortCategory::ConfigMismatch(None) => f.write_str("configuration mismatch"),
            AbortCategory::ConfigMismatch(Some(setting)) => {
                write!(f, "configuration mismatch on `{setting}`")
            }
            AbortCategory::RangeExceeded => f.write_str("range exceeded"),
            AbortCategory::ProtocolViolation => f.write_str("a peer broke the protocol"),
            AbortCategory::Network => f.write_str("network failure"),
            AbortCategory::Preprocessing => f.write_str("preprocessing failed"),
            AbortCategory::Unsupported => f.write_str("unsupported in this build"),
            AbortCategory::PeerStopped(p) => write!(f, "stopped because party {p} stopped"),
            AbortCategory::Internal => f.write_str("internal failure"),
            AbortCategory::Interrupted => {
                f.write_str("stopped by its operator (SIGTERM or Ctrl-C)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_reason_is_the_category_and_the_party() {
        assert_eq!(
            AbortCategory::InputRejected.peer_reason(1),
            "input rejected; see party 1's log"
        );
        assert_eq!(
            AbortCategory::ConfigMismatch(Some("preprocessing")).peer_reason(0),
            "configuration mismatch on `preprocessing`; see party 0's log"
        );
    }
}
