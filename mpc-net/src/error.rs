//! The one error type of mpc-net, and its conversion into [`mpc_core::Error`] where it crosses the
//! [`Network`](mpc_core::Network) trait. Every variant a peer or a file can cause names that peer or file.

use std::net::SocketAddr;
use std::path::PathBuf;

use mpc_core::PartyId;

/// Result alias of mpc-net.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// A party that could not be reached while the mesh was being set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingParty {
    /// Its id.
    pub id: PartyId,
    /// Its name in the roster.
    pub name: String,
    /// The address it was expected at (it dials us if its id is lower than ours).
    pub address: String,
    /// The last failure seen, if any.
    pub last_error: Option<String>,
}

impl std::fmt::Display for MissingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "party {} ({}) at {}", self.id, self.name, self.address)?;
        if let Some(e) = &self.last_error {
            write!(f, " [{e}]")?;
        }
        Ok(())
    }
}

fn list(missing: &[MissingParty]) -> String {
    missing
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything that can go wrong in mpc-net.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `keygen` refuses to overwrite an existing key or certificate.
    #[error("{0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
    /// A configuration file is wrong; `line` and `column` are 1-based. The same format as mpc-ml's errors
    /// in the `[train]` table: file, line, column, field.
    #[error("{}, line {line}, column {column}: field `{field}`: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// The line of the offending value (0 if unknown).
        line: usize,
        /// The column of the offending value (0 if unknown).
        column: usize,
        /// The field at fault (dotted path, e.g. `party[2].fingerprint`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A key or certificate that does not parse.
    #[error("{path}: {message}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Certificate generation or TLS configuration failed locally.
    #[error("TLS: {0}")]
    Tls(String),
    /// The local socket or QUIC endpoint could not be set up.
    #[error("cannot listen on {addr}: {message}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The operating system's or quinn's error.
        message: String,
    },
    /// Some peers did not connect before the deadline.
    #[error("connection set-up timed out after {secs:.1} s; missing: {}", list(.missing))]
    Unreachable {
        /// The parties that are missing, with their addresses.
        missing: Vec<MissingParty>,
        /// The deadline that passed, in seconds.
        secs: f64,
    },
    /// A peer's hello did not match ours (version, session or roster).
    #[error("party {party}: hello mismatch: {reason}")]
    HelloMismatch {
        /// The peer.
        party: PartyId,
        /// Which field differs, with both values.
        reason: String,
    },
    /// A peer sent a frame or message that does not decode, or is too large.
    #[error("party {party} sent a malformed frame: {reason}")]
    Malformed {
        /// The peer at fault.
        party: PartyId,
        /// What was wrong.
        reason: String,
    },
    /// A peer aborted the session.
    #[error("party {party} aborted the session: {reason}")]
    PeerAborted {
        /// The peer.
        party: PartyId,
        /// Its reason.
        reason: String,
    },
    /// The connection to a peer is gone (closed, timed out, killed).
    #[error("lost party {party}: {reason}")]
    PeerLost {
        /// The peer.
        party: PartyId,
        /// Why, as far as we can tell.
        reason: String,
    },
    /// A party id that is not a peer of this mesh.
    #[error("there is no peer {party} in a mesh of {endpoints} endpoints (this party is {me})")]
    UnknownPeer {
        /// The id asked for.
        party: PartyId,
        /// Endpoints in the mesh.
        endpoints: usize,
        /// Our own id.
        me: PartyId,
    },
    /// This party already closed or aborted the mesh.
    #[error("this party's mesh is closed: {0}")]
    Closed(String),
    /// A bad argument from the local caller.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl From<NetError> for mpc_core::Error {
    fn from(e: NetError) -> Self {
        use mpc_core::Error as E;
        match e {
            NetError::PeerAborted { party, reason } => E::PeerAborted { party, reason },
            NetError::PeerLost { party, reason } => E::PeerLost { party, reason },
            NetError::Malformed { party, reason } => E::Malformed { party, reason },
            NetError::HelloMismatch { party, reason } => E::Malformed {
                party,
                reason: format!("hello mismatch: {reason}"),
            },
            NetError::UnknownPeer {
                party, endpoints, ..
            } => E::UnknownParty {
                party,
                parties: endpoints,
            },
            NetError::InvalidArgument(m) => E::InvalidArgument(m),
            other => E::Network(other.to_string()),
        }
    }
}
