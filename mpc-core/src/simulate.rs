//! Run every party of a session as tasks of one process over the in-memory network.
//!
//! ```
//! use mpc_core::{simulate, protocols::{input, open}, ring::Z64};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let outputs = simulate(3, |mut ctx| async move {
//!     let me = ctx.id();
//!     let x = input::share_from::<Z64>(&mut ctx, 0, (me == 0).then_some(&[Z64(5)][..]), 1).await?;
//!     let y = input::share_from::<Z64>(&mut ctx, 1, (me == 1).then_some(&[Z64(7)][..]), 1).await?;
//!     open::open(&mut ctx, &(&x + &y)).await
//! })
//! .await
//! .unwrap();
//! assert!(outputs.iter().all(|o| o == &vec![Z64(12)]));
//! # });
//! ```

use std::future::Future;
use std::sync::Arc;

use crate::context::{Context, Stats};
use crate::error::{Error, Result};
use crate::net::{LinkEmulation, MemoryNetwork, Network, PartyId, Recorder};
use crate::preprocessing::dealer;

/// Options for [`simulate_with`].
#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// Emulated latency and bandwidth of every link.
    pub emulation: LinkEmulation,
    /// Run a dealer as an extra endpoint (id `n`), serving [`crate::preprocessing::DealerSource`] requests.
    pub dealer: bool,
    /// Record every message and abort reason that crosses between endpoints (for tests of what a party
    /// reveals to its peers); `None` records nothing.
    pub recorder: Option<Recorder>,
}

/// What one party returned, with its traffic counters.
#[derive(Debug)]
pub struct PartyOutput<T> {
    /// The party's result.
    pub result: Result<T>,
    /// The party's counters at the end of its run.
    pub stats: Stats,
}

/// Runs `f` for each of `n` parties over an in-memory network and returns every party's output, or the
/// error that caused the failure (a party's own error is preferred over the `PeerAborted` it caused elsewhere).
pub async fn simulate<T, F, Fut>(n: usize, f: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    collect(simulate_with(SimOptions::default(), n, f).await?)
}

/// Turns per-party outputs into all results, or the root-cause error.
pub fn collect<T>(outputs: Vec<PartyOutput<T>>) -> Result<Vec<T>> {
    let mut results = Vec::with_capacity(outputs.len());
    let mut errors = Vec::new();
    for o in outputs {
        match o.result {
            Ok(v) => results.push(v),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        return Ok(results);
    }
    let root = errors.iter().position(|e| {
        !matches!(
            e,
            Error::PeerAborted { .. } | Error::PeerLost { .. } | Error::SessionAborted(_)
        )
    });
    Err(errors.swap_remove(root.unwrap_or(0)))
}

/// Like [`simulate`], with options, returning each party's own result and counters.
pub async fn simulate_with<T, F, Fut>(
    opts: SimOptions,
    n: usize,
    f: F,
) -> Result<Vec<PartyOutput<T>>>
where
    T: Send + 'static,
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    if n == 0 {
        return Err(Error::InvalidArgument(
            "a session needs at least one party".into(),
        ));
    }
    let endpoints = n + usize::from(opts.dealer);
    let nets: Vec<Arc<dyn Network>> =
        MemoryNetwork::with_recorder(endpoints, opts.emulation, opts.recorder)
            .into_iter()
            .map(|net| Arc::new(net) as Arc<dyn Network>)
            .collect();
    run_endpoints(nets, n, f, |_| async {}).await
}

/// Runs a session over already-connected endpoints of any [`Network`]: `f` for each of the `n` computing
/// parties and [`dealer::serve`] on an endpoint beyond them, each as a task. `finish(id)` is awaited when an
/// endpoint's work is done (a transport closes its connections there). A party whose `f` fails aborts the
/// session with its error's [`Error::abort_category`], so the others stop too. Returns every party's result and counters, or the dealer's
/// failure if it failed while every party succeeded.
pub async fn run_endpoints<T, F, Fut, D, DFut>(
    nets: Vec<Arc<dyn Network>>,
    n: usize,
    f: F,
    finish: D,
) -> Result<Vec<PartyOutput<T>>>
where
    T: Send + 'static,
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
    D: Fn(PartyId) -> DFut + Send + Sync + 'static,
    DFut: Future<Output = ()> + Send + 'static,
{
    let f = Arc::new(f);
    let finish = Arc::new(finish);
    let mut handles = Vec::new();
    let mut dealer_handle = None;
    for net in nets {
        let ctx = Context::new(net, n)?;
        let id = ctx.id();
        let finish = finish.clone();
        if id >= n {
            dealer_handle = Some(tokio::spawn(async move {
                let served = dealer::serve(ctx).await;
                finish(id).await;
                served
            }));
            continue;
        }
        let f = f.clone();
        handles.push(tokio::spawn(async move {
            let stats_ctx = ctx.on_channel(u32::MAX);
            let result = f(ctx).await;
            if let Err(e) = &result {
                stats_ctx.abort(e.abort_category()).await;
            }
            finish(id).await;
            PartyOutput {
                result,
                stats: stats_ctx.stats(),
            }
        }));
    }
    let mut outputs = Vec::with_capacity(n);
    for (party, h) in handles.into_iter().enumerate() {
        outputs.push(h.await.unwrap_or_else(|e| PartyOutput {
            result: Err(Error::PeerLost {
                party,
                reason: format!("task failed: {e}"),
            }),
            stats: Stats::default(),
        }));
    }
    if let Some(h) = dealer_handle {
        match h.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if outputs.iter().all(|o| o.result.is_ok()) => {
                return Err(Error::Preprocessing(format!("the dealer failed: {e}")))
            }
            Ok(Err(_)) => {}
            Err(e) => return Err(Error::Preprocessing(format!("the dealer task failed: {e}"))),
        }
    }
    Ok(outputs)
}
