//! mpc-core: rings, additive shares, fixed point, the online protocols and their correlated randomness, all
//! written against the [`Network`](net::Network) trait so that they run in one process over the in-memory
//! network and unchanged over mpc-net's QUIC mesh.
//!
//! Security model: semi-honest parties (each runs the protocol as written, any set of them may pool their
//! views afterwards, and nothing detects a party that deviates); shares are additive over a ring, so any
//! `n - 1` parties learn nothing from shares alone; what a protocol opens is its declared output. Correlated randomness comes from a
//! [`preprocessing`] source whose trust assumption is stated there.
//!
//! ```
//! use mpc_core::{simulate, protocols::{input, mul, open}, preprocessing::{InsecureSharedSeed, Preprocessing}, ring::Z64};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // Three parties; party 0 inputs x, party 1 inputs y; everyone learns x * y.
//! let out = simulate(3, |mut ctx| async move {
//!     let me = ctx.id();
//!     let x = input::share_from::<Z64>(&mut ctx, 0, (me == 0).then_some(&[Z64(6)][..]), 1).await?;
//!     let y = input::share_from::<Z64>(&mut ctx, 1, (me == 1).then_some(&[Z64(7)][..]), 1).await?;
//!     // Benchmark-only preprocessing; use a dealer or OT in deployments.
//!     let mut source = InsecureSharedSeed::for_context([0; 32], &ctx);
//!     let triples = source.triples(&mut ctx, 1).await?;
//!     let z = mul::mul(&mut ctx, &x, &y, triples).await?;
//!     open::open(&mut ctx, &z).await
//! })
//! .await
//! .unwrap();
//! assert_eq!(out, vec![vec![Z64(42)]; 3]);
//! # });
//! ```

pub mod abort;
pub mod context;
pub mod error;
pub mod fixed;
pub mod net;
pub mod ot;
pub mod preprocessing;
pub mod prg;
pub mod protocols;
pub mod ring;
pub mod share;
pub mod simulate;
pub mod testing;

pub use abort::AbortCategory;
pub use context::{Context, Stats};
pub use error::{Error, Result};
pub use fixed::FixedPoint;
pub use net::{Network, PartyId};
pub use ring::{Fp, PowerOfTwoRing, Ring, Z128, Z64};
pub use share::{Shared, SharedMatrix};
pub use simulate::{simulate, simulate_with, SimOptions};
