//! mpc-ml: institutions that hold rows of the same columns (horizontal partitioning) train a logistic or
//! linear regression model together on secret shares, and only the parties named to receive it learn it.
//!
//! - [`data`]: CSV loading with errors naming party, file, line and column;
//! - [`split`]: each party's deterministic 80/20 train/test split;
//! - [`secure`]: [`train_party`], one party's side of joint standardization and gradient descent, over any
//!   [`mpc_core::Context`] (in memory, or mpc-net's QUIC mesh);
//! - [`local`]: [`run_local`], every party of a run in one process;
//! - [`plain`]: the plaintext f64 baseline with the same recipe; [`metrics`]: accuracy, ROC AUC, log-loss, R^2;
//! - [`model`], [`report`]: the model file (weights on raw values) and the Markdown report.
//!
//! Security: semi-honest parties, as in mpc-core. A run reveals the model to its receivers and the aggregate
//! statistics it lists in [`TrainOutput::revealed`] (by default the global means and standard deviations of
//! the features), nothing else.

pub mod config;
pub mod data;
pub mod error;
pub mod local;
pub mod metrics;
pub mod model;
pub mod party;
pub mod party_config;
pub mod plain;
mod prefetch;
pub mod report;
pub mod scaling;
pub mod secure;
pub mod sigmoid;
pub mod split;

pub use config::{ModelKind, PreprocessingKind, Standardize, TrainConfig};
pub use data::{DataSpec, PartyData};
pub use error::{Error, Result};
pub use local::{run_local, LocalOptions, LocalRun, Transport};
pub use model::Model;
pub use secure::{train_party, train_party_with_progress, Disclosure, Timing, TrainOutput};
