//! mpc-net: the QUIC mesh of a real deployment. quinn and rustls with pinned self-signed certificates,
//! implementing [`mpc_core::Network`] so that every mpc-core protocol runs unchanged between processes and
//! machines.
//!
//! - [`identity`]: key pairs and self-signed certificates (`mpc keygen`), [`fingerprint`]s to exchange.
//! - [`config`]: a party's TOML file and the roster, checked before any connection.
//! - [`tls`]: TLS 1.3 with mutual authentication against the roster's pinned certificates.
//! - [`transport`]: QUIC tuning ([`MeshOptions`]) and the UDP endpoint.
//! - [`wire`]: frames, stream headers and control messages, with checked decoders.
//! - [`Mesh`]: the connected mesh (set-up with retries and a hello check, then per-channel streams into
//!   bounded inboxes, at most [`MeshOptions::max_streams_per_peer`] streams from each peer).
//! - [`run`]: the fresh per-run nonces and the run id the set-up binds them into ([`Mesh::run_id`]).
//! - [`relay`]: a UDP relay that emulates a wide-area link (delay, loss, bandwidth, cuts), for tests and
//!   evaluation (`mpc relay`).
//! - [`local`]: every party of a session in one process over loopback QUIC, for tests, demos and benchmarks.
//!
//! A deployment, per institution: `mpc keygen --name NAME --out keys` (wraps [`identity::generate`]) and
//! e-mail the printed fingerprint; collect the others' into the roster of a [`PartyConfig`] file; then
//! `Mesh::connect(&PartyConfig::load(path)?, MeshOptions::default())` and hand the mesh to
//! `mpc_core::Context::new`. Call [`Mesh::close`] at the end so peers read everything before the
//! connections go. A session that fails on any party fails on all of them, with an error naming the party.
//!
//! In one process (tests, the demo, benchmarks), [`local::loopback_mesh`] connects `n` fresh parties over
//! loopback QUIC:
//!
//! ```
//! use std::sync::Arc;
//! use mpc_core::{Context, protocols::{input, open}, ring::Z64};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let meshes = mpc_net::local::loopback_mesh(2, mpc_net::MeshOptions::default()).await.unwrap();
//! let mut tasks = Vec::new();
//! for mesh in meshes {
//!     tasks.push(tokio::spawn(async move {
//!         let mut ctx = Context::new(Arc::new(mesh.clone()), 2)?;
//!         let me = ctx.id();
//!         let mine = [Z64(me as u64 + 20)];
//!         let a = input::share_from::<Z64>(&mut ctx, 0, (me == 0).then_some(&mine[..]), 1).await?;
//!         let b = input::share_from::<Z64>(&mut ctx, 1, (me == 1).then_some(&mine[..]), 1).await?;
//!         let sum = open::open(&mut ctx, &(&a + &b)).await;
//!         mesh.close().await;
//!         sum
//!     }));
//! }
//! for t in tasks {
//!     assert_eq!(t.await.unwrap().unwrap(), vec![Z64(41)]);
//! }
//! # });
//! ```

pub mod config;
pub mod error;
pub mod fingerprint;
pub mod identity;
mod inbox;
pub mod local;
mod mesh;
pub mod relay;
pub mod run;
mod setup;
pub mod tls;
pub mod transport;
pub mod wire;

pub use config::{PartyConfig, PartyEntry, Role, Roster};
pub use error::{NetError, Result};
pub use fingerprint::Fingerprint;
pub use identity::{generate, Identity};
pub use inbox::InboxUsage;
pub use mesh::Mesh;
pub use run::RunId;
pub use transport::MeshOptions;
