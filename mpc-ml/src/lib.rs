//! mpc-ml: institutions that hold rows of the same columns (horizontal partitioning), or other columns about
//! the same people (vertical partitioning, rows matched privately by [`psi`]), train a logistic or
//! linear regression model together on secret shares, and only the parties named to receive it learn it.
//!
//! ```
//! use mpc_ml::{data, split, DataSpec, LocalOptions, ModelKind, PreprocessingKind, TrainConfig, Transport};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let spec = DataSpec { label: "progression".into(), id_column: None, features: None, model: ModelKind::Linear };
//! let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
//! let parties = vec![
//!     data::load_csv_file(0, &dir.join("diabetes_a.csv"), &spec)?,
//!     data::load_csv_file(1, &dir.join("diabetes_b.csv"), &spec)?,
//! ];
//! let config = TrainConfig { model: ModelKind::Linear, ..TrainConfig::default() };
//! let options = LocalOptions { config, preprocessing: PreprocessingKind::Dealer, progress: None };
//! let run = mpc_ml::run_local(parties, options, Transport::InMemory).await?;
//! let model = run.receiver().and_then(|o| o.model.clone()).expect("party 0 receives the model");
//! let (rows, labels) = split::pool(&run.test);
//! assert!(mpc_ml::metrics::evaluate(&model, &rows, &labels).r2.unwrap() > 0.3);
//! # Ok::<(), mpc_ml::Error>(())
//! # }).unwrap();
//! ```
//!
//! - [`data`]: CSV loading with errors naming party, file, line and column;
//! - [`split`]: each party's deterministic 80/20 train/test split;
//! - [`secure`]: [`train_party`], one party's side of joint standardization and gradient descent, over any
//!   [`mpc_core::Context`] (in memory, or mpc-net's QUIC mesh); [`sigmoid`]: the approximation and its error;
//!   [`closed_form`]: linear (ridge) regression by the normal equations and a Newton–Schulz inverse on the
//!   shares, for up to 64 features (`solver = closed_form`);
//! - [`local`]: [`run_local`], every party of a run in one process; [`party`]: [`party::run_party`], one party
//!   of a deployment from its `[train]` table ([`party_config`]);
//! - [`psi`]: the private set intersection of an id column (ECDH on Ristretto, 2 or more parties);
//!   [`vertical`]: parties holding other columns about the same people train on the joined columns, rows
//!   aligned by the intersection ([`vertical::run_vertical_local`], [`vertical::train_vertical_party`]);
//!   [`vertical_party`]: [`vertical_party::run_vertical_party`], one party of a vertical deployment;
//! - [`plain`]: the plaintext f64 baseline with the same recipe; [`metrics`]: accuracy, ROC AUC, log-loss, R^2;
//! - [`model`], [`report`]: the model file (weights on raw values) and the Markdown report.
//!
//! Security: semi-honest parties, as in mpc-core; with the dealer, the dealer must not collude with a party.
//! A run reveals the model to its receivers and the aggregate statistics it lists in
//! [`TrainOutput::revealed`] (by default the global means and standard deviations of the features), nothing
//! else.

pub mod bounds;
pub mod closed_form;
pub mod config;
pub mod data;
pub mod error;
pub mod hiding;
pub mod local;
pub mod metrics;
pub mod model;
pub mod newton;
pub mod party;
pub mod party_config;
pub mod peer_decoders;
pub mod plain;
mod prefetch;
pub mod psi;
pub mod report;
pub mod scaling;
pub mod secure;
pub mod sigmoid;
pub mod source;
pub mod split;
mod step;
pub mod vertical;
pub mod vertical_party;

pub use config::{ModelKind, Partitioning, PreprocessingKind, Solver, Standardize, TrainConfig};
pub use data::{DataSpec, PartyData};
pub use error::{Error, Result};
pub use local::{run_local, run_local_split, LocalOptions, LocalRun, Transport};
pub use model::Model;
pub use secure::{train_party, train_party_with_progress, Disclosure, Timing, TrainOutput};
