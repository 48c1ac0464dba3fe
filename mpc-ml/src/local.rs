//! Every party of a run on this machine: [`run_local`] splits each party's rows, starts the parties (and a
//! dealer) over a [`Transport`], and returns every party's output with its traffic counters.
//!
//! The transport is the in-memory network of mpc-core or a loopback QUIC mesh of mpc-net (fresh keys per
//! party, mutually authenticated TLS, real UDP sockets on 127.0.0.1); both run the same [`party_task`] per
//! party and mpc-core's dealer on an extra endpoint when the preprocessing is `dealer`.

use std::sync::{Arc, Mutex};

use std::future::Future;

use mpc_core::context::Stats;
use mpc_core::simulate::PartyOutput;
use mpc_core::{simulate_with, Context, SimOptions};

use crate::config::{PreprocessingKind, TrainConfig};
use crate::data::{check_same_columns, PartyData};
use crate::error::{Error, Result};
use crate::secure::{train_party_with_progress, TrainOutput};
use crate::split::split_parties;

/// How the parties of a local run reach each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// mpc-core's in-memory network, every party a task of this process.
    #[default]
    InMemory,
    /// mpc-net's QUIC mesh over 127.0.0.1, every party a task of this process with its own key pair.
    LoopbackQuic,
    /// The in-memory network with an emulated delay (and optionally bandwidth) on every link, to see what
    /// distance does to a run.
    Emulated(mpc_core::net::LinkEmulation),
}

/// Runs `task` for each of `n` parties over `transport` (with a dealer endpoint if `dealer`) and returns
/// every party's output with its counters. If parties fail, the error returned is the root cause: a party's
/// own mpc-ml error rather than the `PeerAborted` it caused at the others.
pub(crate) async fn run_local_parties<T, F, Fut>(
    transport: Transport,
    n: usize,
    dealer: bool,
    task: F,
) -> Result<Vec<(T, Stats)>>
where
    T: Send + 'static,
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let errors: Arc<Mutex<Vec<Option<Error>>>> =
        Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let slots = errors.clone();
    let task = Arc::new(task);
    let outputs = run_parties(transport, n, dealer, move |ctx| {
        let (task, slots) = (task.clone(), slots.clone());
        async move {
            let me = ctx.id();
            // Shares the session's failure state: an abort here is the session's first, or nothing.
            let abort = ctx.on_channel(u32::MAX - 1);
            match task(ctx).await {
                Ok(v) => Ok(v),
                Err(e) => {
                    if !e.is_consequence() {
                        abort.abort(e.abort_category()).await;
                    }
                    let msg = e.to_string();
                    if let Ok(mut slot) = slots.lock() {
                        slot[me] = Some(e);
                    }
                    Err(mpc_core::Error::InvalidArgument(msg))
                }
            }
        }
    })
    .await;
    let mut errors: Vec<Error> = errors
        .lock()
        .map(|mut v| v.iter_mut().filter_map(Option::take).collect())
        .unwrap_or_default();
    if let Some(i) = errors.iter().position(|e| !e.is_consequence()) {
        return Err(errors.swap_remove(i));
    }
    let outputs = outputs.map_err(Error::mpc(0))?;
    if !errors.is_empty() {
        return Err(errors.swap_remove(0));
    }
    outputs
        .into_iter()
        .enumerate()
        .map(|(party, o)| Ok((o.result.map_err(Error::mpc(party))?, o.stats)))
        .collect()
}

/// Runs `f` for each of `n` parties over `transport`, with a dealer endpoint if `dealer`.
pub async fn run_parties<T, F, Fut>(
    transport: Transport,
    n: usize,
    dealer: bool,
    f: F,
) -> mpc_core::Result<Vec<PartyOutput<T>>>
where
    T: Send + 'static,
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = mpc_core::Result<T>> + Send + 'static,
{
    match transport {
        Transport::InMemory => {
            let sim = SimOptions {
                dealer,
                ..SimOptions::default()
            };
            simulate_with(sim, n, f).await
        }
        Transport::Emulated(emulation) => {
            let sim = SimOptions {
                dealer,
                emulation,
                ..SimOptions::default()
            };
            simulate_with(sim, n, f).await
        }
        Transport::LoopbackQuic => {
            let opts = mpc_net::local::loopback_options();
            Ok(mpc_net::local::run_session(n, dealer, opts, f).await?)
        }
    }
}

/// A callback told `(epochs_done, epochs)` as party 0 trains.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// Options of a local run.
#[derive(Clone)]
pub struct LocalOptions {
    /// The training options every party uses.
    pub config: TrainConfig,
    /// The preprocessing.
    pub preprocessing: PreprocessingKind,
    /// Progress reports, if wanted.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for LocalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalOptions")
            .field("config", &self.config)
            .field("preprocessing", &self.preprocessing)
            .finish_non_exhaustive()
    }
}

/// One party's result in a local run.
#[derive(Clone, Debug)]
pub struct PartyRun {
    /// What [`crate::train_party`] returned.
    pub output: TrainOutput,
    /// The party's traffic counters over the whole session.
    pub stats: Stats,
}

/// The result of a local run.
#[derive(Clone, Debug)]
pub struct LocalRun {
    /// Every party's result, by party id.
    pub parties: Vec<PartyRun>,
    /// Every party's training rows.
    pub train: Vec<PartyData>,
    /// Every party's test rows.
    pub test: Vec<PartyData>,
}

impl LocalRun {
    /// The first receiver's output (it holds the model).
    pub fn receiver(&self) -> Option<&TrainOutput> {
        self.parties
            .iter()
            .map(|p| &p.output)
            .find(|o| o.model.is_some())
    }
}

/// Trains with every party of `parties` (party `i` is `parties[i]`, its `party` field must be `i`) on this
/// machine. Errors name the party, file, line and column or field at fault; when one party fails, every party
/// stops.
pub async fn run_local(
    parties: Vec<PartyData>,
    options: LocalOptions,
    transport: Transport,
) -> Result<LocalRun> {
    let (train, test) = split_parties(&parties);
    run_local_split(train, test, options, transport).await
}

/// [`run_local`] on rows already split: party `i` trains on `train[i]`; `test` is only returned with the run
/// (for example one set of test rows held apart, as a benchmark against other frameworks' split needs).
pub async fn run_local_split(
    train: Vec<PartyData>,
    test: Vec<PartyData>,
    options: LocalOptions,
    transport: Transport,
) -> Result<LocalRun> {
    let n = train.len();
    if n < 2 {
        return Err(Error::option(
            "party-data",
            format!("{n} parties; a run needs at least 2"),
        ));
    }
    options.config.validate(n)?;
    if let Some((i, p)) = train.iter().enumerate().find(|(i, p)| p.party != *i) {
        return Err(Error::option(
            "party-data",
            format!("entry {i} holds party {}'s rows", p.party),
        ));
    }
    check_same_columns(&train)?;
    let shared = Arc::new((
        train.clone(),
        options.config.clone(),
        options.progress.clone(),
        options.preprocessing,
    ));
    let dealer = options.preprocessing == PreprocessingKind::Dealer;
    let outputs = run_local_parties(transport, n, dealer, move |ctx| {
        let shared = shared.clone();
        async move {
            let (train, config, progress, kind) = &*shared;
            let me = ctx.id();
            party_task(ctx, &train[me], config, *kind, progress.as_ref()).await
        }
    })
    .await?;
    let runs = outputs
        .into_iter()
        .map(|(output, stats)| PartyRun { output, stats })
        .collect();
    Ok(LocalRun {
        parties: runs,
        train,
        test,
    })
}

/// One party of a local run: what each transport runs per party (party 0 reports progress). With `dealer`
/// preprocessing the context's network must have a dealer endpoint.
pub async fn party_task(
    mut ctx: mpc_core::Context,
    train: &PartyData,
    config: &TrainConfig,
    preprocessing: PreprocessingKind,
    progress: Option<&Progress>,
) -> Result<TrainOutput> {
    let me = ctx.id();
    let mut source = crate::source::connect(&mut ctx, preprocessing).await?;
    let noop = |_: usize, _: usize| {};
    let report: &(dyn Fn(usize, usize) + Sync) = match (me, progress) {
        (0, Some(p)) => p.as_ref(),
        _ => &noop,
    };
    train_party_with_progress(&mut ctx, source.as_mut(), train, config, report).await
}
