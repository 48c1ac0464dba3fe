//! The one error type of mpc-ml. Every variant that a file, a config or a peer can cause names the party, the
//! file, the line and the column or field at fault.
//!
//! That text is local: it stays in the failing party's error (its `Display`), which the caller logs or
//! prints. A party that stops on its own error tells every peer only [`Error::abort_category`], a
//! [`mpc_core::AbortCategory`] with a fixed text: a peer's error reads `party P aborted the session: input
//! rejected; see party P's log` (or `configuration mismatch`, `range exceeded`, ...). No cell, value, PSI id,
//! file path or line crosses to a peer in that abort.

use mpc_core::{AbortCategory, PartyId};

/// Result alias used throughout mpc-ml.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in mpc-ml. Nothing a file or a peer provides makes mpc-ml panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A data file that cannot be opened or read.
    #[error("party {party}: cannot read {path}: {reason}")]
    Io {
        /// The party whose file it is.
        party: PartyId,
        /// The file.
        path: String,
        /// The operating system's or the CSV reader's reason.
        reason: String,
    },
    /// A bad header: a missing, duplicated or unexpected column, or columns that differ from another party's.
    #[error("party {party}: {path}, line {line}: {reason}")]
    Header {
        /// The party whose file it is.
        party: PartyId,
        /// The file.
        path: String,
        /// The line (1 for the header).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A bad cell: empty, not a number, not finite, out of range, or a label that is not 0/1.
    #[error("party {party}: {path}, line {line}, column `{column}`: {reason}")]
    Cell {
        /// The party whose file it is.
        party: PartyId,
        /// The file.
        path: String,
        /// The line (the header is line 1).
        line: u64,
        /// The column's name.
        column: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// A row with the wrong number of cells.
    #[error("party {party}: {path}, line {line}: {reason}")]
    Row {
        /// The party whose file it is.
        party: PartyId,
        /// The file.
        path: String,
        /// The line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A file that is well formed but unusable as a whole (for example too few rows).
    #[error("party {party}: {path}: {reason}")]
    Data {
        /// The party whose file it is.
        party: PartyId,
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A bad value in a party's TOML config file.
    #[error("{path}, line {line}, column {column}: field `{field}`: {reason}")]
    Config {
        /// The config file.
        path: String,
        /// The line (1-based), or 0 if unknown.
        line: usize,
        /// The column (1-based), or 0 if unknown.
        column: usize,
        /// The field, as a dotted path (`train.epochs`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A bad training option given by the caller (command line or library).
    #[error("invalid option `{field}`: {reason}")]
    Option {
        /// The option's name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Parties that disagree on the public parameters of a run (columns, model, hyperparameters).
    #[error("party {party} disagrees with party {other} on {what}")]
    Mismatch {
        /// The party that differs.
        party: PartyId,
        /// The party it was compared to.
        other: PartyId,
        /// What differs.
        what: String,
    },
    /// A feature this build does not have.
    #[error("{0}")]
    Unsupported(String),
    /// A failure of the secure computation (a peer aborted, a malformed message, preprocessing).
    #[error("party {party}: {source}")]
    Mpc {
        /// The local party that saw the failure.
        party: PartyId,
        /// mpc-core's error (it names the peer at fault where there is one).
        #[source]
        source: mpc_core::Error,
    },
    /// An output file that cannot be written.
    #[error("cannot write {path}: {reason}")]
    Output {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// True if this error only reports another party's failure (the root cause is elsewhere).
    pub fn is_consequence(&self) -> bool {
        matches!(
            self,
            Error::Mpc {
                source: mpc_core::Error::PeerAborted { .. }
                    | mpc_core::Error::PeerLost { .. }
                    | mpc_core::Error::SessionAborted(_),
                ..
            }
        )
    }

    /// The category a party that stops on this error tells its peers: input rejected (a data file, a cell,
    /// a row), configuration mismatch (a config file, an option, a disagreement on public settings), or the
    /// category of mpc-core's error. Never the error's text.
    pub fn abort_category(&self) -> AbortCategory {
        match self {
            Error::Io { .. }
            | Error::Header { .. }
            | Error::Cell { .. }
            | Error::Row { .. }
            | Error::Data { .. } => AbortCategory::InputRejected,
            Error::Config { .. } | Error::Option { .. } | Error::Mismatch { .. } => {
                AbortCategory::ConfigMismatch(None)
            }
            Error::Unsupported(_) => AbortCategory::Unsupported,
            Error::Mpc { source, .. } => source.abort_category(),
            Error::Output { .. } => AbortCategory::Internal,
        }
    }

    pub(crate) fn mpc(party: PartyId) -> impl FnOnce(mpc_core::Error) -> Error {
        move |source| Error::Mpc { party, source }
    }

    pub(crate) fn option(field: &str, reason: impl Into<String>) -> Error {
        Error::Option {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// If `result` is this party's own error (not a report of another party's failure), tells every peer that
/// the session aborts, with the error's [`Error::abort_category`] only, so they stop too; returns `result`
/// unchanged.
pub(crate) async fn abort_on_own_error<T>(ctx: &mpc_core::Context, result: Result<T>) -> Result<T> {
    if let Err(e) = &result {
        if !e.is_consequence() {
            ctx.abort(e.abort_category()).await;
        }
    }
    result
}
