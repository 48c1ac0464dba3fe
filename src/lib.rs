//! `mpc`: secure multi-party computation for institutions that train a model together without pooling
//! their data. This facade re-exports the workspace's crates:
//!
//! - [`core`] (mpc-core): rings, shares, fixed point, protocols, preprocessing, the `Network` trait, `simulate`;
//! - [`net`] (mpc-net): the mutually authenticated QUIC mesh;
//! - [`ml`] (mpc-ml): data loading and regression on secret shares.
//!
//! ```
//! use mpc::core::{simulate, protocols::{input, open}, ring::Z64};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sums = simulate(3, |mut ctx| async move {
//!     let me = ctx.id();
//!     let mine = [mpc::core::ring::Z64(me as u64 + 1)];
//!     let mut total = mpc::core::Shared::zeros(1);
//!     for owner in 0..3 {
//!         let x = input::share_from::<Z64>(&mut ctx, owner, (owner == me).then_some(&mine[..]), 1).await?;
//!         total = &total + &x;
//!     }
//!     open::open(&mut ctx, &total).await
//! })
//! .await
//! .unwrap();
//! assert_eq!(sums[0], vec![Z64(6)]);
//! # });
//! ```

pub use mpc_core as core;
pub use mpc_ml as ml;
pub use mpc_net as net;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
