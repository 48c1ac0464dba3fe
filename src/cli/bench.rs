//! `mpc bench`: throughput figures, each beside a baseline measured in the same run (machines are shared and
//! noisy: compare ratios, not absolute values). `--json` prints one JSON object per line for scripts.

use std::future::Future;
use std::time::{Duration, Instant};

use mpc_core::preprocessing::{DealerSource, InsecureSharedSeed, Preprocessing};
use mpc_core::prg::Prg;
use mpc_core::protocols::mul::mul;
use mpc_core::protocols::poly::{mul_fixed, Truncation};
use mpc_core::simulate::PartyOutput;
use mpc_core::{FixedPoint, PowerOfTwoRing, Ring, Shared, Z128, Z64};
use serde::Serialize;

use super::CliResult;

/// Arguments of `mpc bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    /// Timed runs per figure (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Elements per multiplication benchmark.
    #[arg(long, default_value_t = 1_000_000)]
    elements: usize,
    /// Only run figures whose name, or `name/transport/preprocessing` (for example
    /// `train.breast_cancer/quic/ot` or `mul.fixed_point_z64_local_trunc/memory`), contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// The training figures' solver: `auto` (the default: Newton's method with a dealer up to 64 features
    /// where its run meets sigma, gradient descent otherwise), `newton`, `gd` or `closed_form` (linear only).
    #[arg(long, default_value = "auto")]
    solver: mpc_ml::Solver,
}

/// One figure: what `--json` prints.
#[derive(Serialize, Debug)]
pub struct Figure {
    /// What was measured, e.g. `mul.z64`.
    pub name: String,
    /// The median measurement.
    pub value: f64,
    /// Unit of `value` and `baseline`.
    pub unit: &'static str,
    /// The same-run baseline (plaintext), in the same unit. The table's ratio is always "ours / plaintext
    /// speed" (for seconds: plaintext seconds / ours).
    pub baseline: f64,
    /// Computing parties.
    pub parties: usize,
    /// `memory` or `quic`.
    pub transport: &'static str,
    /// Preprocessing source.
    pub preprocessing: &'static str,
    /// Communication rounds of the slowest party, if meaningful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u64>,
    /// Bytes sent per party (the largest), if meaningful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_party: Option<u64>,
    /// Communication rounds per training step (the slowest party), for training figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds_per_step: Option<f64>,
    /// Bytes sent per training step (the busiest party's bytes over the steps, preprocessing included), for
    /// training figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_step: Option<f64>,
    /// Communication rounds of the whole training session (the slowest party: agreement, standardization,
    /// input sharing, the solver and the model's opening), for training figures: what decides the time
    /// between parties far apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds_total: Option<u64>,
    /// The solver a training figure used (the default, `auto`, resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solver: Option<&'static str>,
    /// Peak resident memory of this process during the figure's runs (all parties, and the dealer, run in
    /// this one process, so it bounds each party's), for training figures on Linux.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Test accuracy (logistic) or R^2 (linear) of the model, for training figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<f64>,
}

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Per-run result of one party: elapsed protocol time, rounds and bytes.
type Timed = (Duration, u64, u64);

fn slowest(outputs: Vec<PartyOutput<Timed>>) -> Result<Timed, mpc_core::Error> {
    let mut worst = (Duration::ZERO, 0, 0);
    for o in outputs {
        let t = o.result?;
        worst = (worst.0.max(t.0), worst.1.max(t.1), worst.2.max(t.2));
    }
    Ok(worst)
}

/// Runs `f` `runs` times; returns the median of the slowest party's time, and its rounds and bytes.
fn measure<F, Fut>(
    rt: &tokio::runtime::Runtime,
    runs: usize,
    f: F,
) -> Result<(f64, u64, u64), mpc_core::Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Timed, mpc_core::Error>>,
{
    let mut times = Vec::with_capacity(runs);
    let mut last = (0, 0);
    for _ in 0..runs.max(1) {
        let (t, r, b) = rt.block_on(f())?;
        times.push(t.as_secs_f64());
        last = (r, b);
    }
    Ok((median(times), last.0, last.1))
}

/// Where a figure's parties run.
type Via = mpc_ml::Transport;

/// How a transport is named in the figures.
pub(super) fn transport_name(via: Via) -> &'static str {
    match via {
        Via::InMemory => "memory",
        Via::LoopbackQuic => "quic",
        _ => "memory+wan",
    }
}

/// `n` triples from the OT source; setup (base OTs) is outside the clock.
async fn ot_triples<R: mpc_core::ot::OtRing>(
    n: usize,
    parties: usize,
    via: Via,
) -> Result<Timed, mpc_core::Error> {
    let out = mpc_ml::local::run_parties(via, parties, false, move |mut ctx| async move {
        let mut src = mpc_core::preprocessing::OtSource::<R>::setup(&mut ctx).await?;
        let before = ctx.stats();
        let start = Instant::now();
        std::hint::black_box(src.triples(&mut ctx, n).await?);
        let used = ctx.stats().since(&before);
        Ok((start.elapsed(), used.rounds, used.bytes_sent()))
    })
    .await?;
    slowest(out)
}

/// `batches` batches of 8,192 random OTs (the `ot` source's extension, SoftSpokenOT by default; no check)
/// from party 0 (receiver) to party 1 (sender), after the base OTs; the slower party's time, and the bytes
/// party 0 sent.
async fn random_ots(batches: usize, via: Via) -> Result<Timed, mpc_core::Error> {
    use mpc_core::ot::iknp::{self, random_ot_receiver, random_ot_sender, Check};
    const BLOCKS: usize = 64; // 64 x 128 = 8,192 OTs per batch
    let out = mpc_ml::local::run_parties(via, 2, false, move |mut ctx| async move {
        let extension = mpc_core::preprocessing::OtConfig::default().extension;
        let mut pairs = iknp::setup(&mut ctx, extension).await?;
        let me = ctx.id();
        let peer = 1 - me;
        let before = ctx.stats();
        let start = Instant::now();
        let pair = pairs[peer]
            .as_mut()
            .ok_or_else(|| mpc_core::Error::Preprocessing("no OT state for the peer".into()))?;
        for i in 0..batches {
            if me == 0 {
                let choices = vec![0x5555_aaaa_u128 ^ i as u128; BLOCKS];
                let (msg, t) = pair.receiver.extend(&choices, Check::None, ctx.rng());
                ctx.send_bytes(1, msg).await?;
                std::hint::black_box(random_ot_receiver(&t));
            } else {
                let msg = ctx.recv_bytes(0).await?;
                let q = pair
                    .sender
                    .extend(BLOCKS, &msg, Check::None)
                    .map_err(mpc_core::Error::Preprocessing)?;
                std::hint::black_box(random_ot_sender(&q, pair.sender.delta()));
            }
        }
        // The receiver's clock stops when the sender has finished too.
        if me == 1 {
            ctx.send_bytes(0, vec![1]).await?;
        } else {
            ctx.recv_bytes(1).await?;
        }
        let used = ctx.stats().since(&before);
        Ok((start.elapsed(), used.rounds, used.bytes_sent()))
    })
    .await?;
    slowest(out)
}

async fn beaver<R: Ring>(n: usize, parties: usize, dealer: bool) -> Result<Timed, mpc_core::Error> {
    beaver_via::<R>(n, parties, dealer, Via::InMemory).await
}

async fn beaver_via<R: Ring>(
    n: usize,
    parties: usize,
    dealer: bool,
    via: Via,
) -> Result<Timed, mpc_core::Error> {
    let out = mpc_ml::local::run_parties(via, parties, dealer, move |mut ctx| async move {
        let mut rng = Prg::from_entropy();
        let (x, y) = (
            Shared::from_share(R::random_vec(&mut rng, n)),
            Shared::from_share(R::random_vec(&mut rng, n)),
        );
        let mut src: Box<dyn Preprocessing<R>> = if dealer {
            Box::new(DealerSource::connect(&ctx).await?)
        } else {
            Box::new(InsecureSharedSeed::for_context([1; 32], &ctx))
        };
        let before = ctx.stats();
        let start = Instant::now();
        let t = src.triples(&mut ctx, n).await?;
        std::hint::black_box(mul(&mut ctx, &x, &y, t).await?);
        let used = ctx.stats().since(&before);
        Ok((start.elapsed(), used.rounds, used.bytes_sent()))
    })
    .await?;
    slowest(out)
}

async fn fixed<R: PowerOfTwoRing>(
    n: usize,
    parties: usize,
    how: Truncation,
    via: Via,
) -> Result<Timed, mpc_core::Error> {
    let out = mpc_ml::local::run_parties(via, parties, false, move |mut ctx| async move {
        let fx = FixedPoint::default_for::<R>();
        let mut rng = Prg::from_entropy();
        let (x, y) = (
            Shared::from_share(R::random_vec(&mut rng, n)),
            Shared::from_share(R::random_vec(&mut rng, n)),
        );
        let mut src = InsecureSharedSeed::<R>::for_context([2; 32], &ctx);
        let before = ctx.stats();
        let start = Instant::now();
        std::hint::black_box(mul_fixed(&mut ctx, &x, &y, fx, how, &mut src).await?);
        let used = ctx.stats().since(&before);
        Ok((start.elapsed(), used.rounds, used.bytes_sent()))
    })
    .await?;
    slowest(out)
}

/// Plaintext baseline: seconds for `n` wrapping multiplications of ring elements.
fn plaintext_mul<R: Ring>(n: usize, runs: usize) -> f64 {
    let mut rng = Prg::from_entropy();
    let (a, b) = (R::random_vec(&mut rng, n), R::random_vec(&mut rng, n));
    let times = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            let c: Vec<R> = a.iter().zip(&b).map(|(&x, &y)| x * y).collect();
            std::hint::black_box(c);
            start.elapsed().as_secs_f64()
        })
        .collect();
    median(times)
}

/// Every figure of this build.
pub fn figures(args: &Args) -> Result<Vec<Figure>, mpc_core::Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| mpc_core::Error::Network(format!("cannot start the runtime: {e}")))?;
    let n = args.elements;
    let wanted = |name: &str| args.filter.as_deref().is_none_or(|f| name.contains(f));
    // A filter may also name one run: `name/transport/preprocessing`.
    let wanted_run = |name: &str, via: Via, prep: &str| {
        wanted(name) || wanted(&format!("{name}/{}/{prep}", transport_name(via)))
    };
    let rate = |secs: f64| n as f64 / secs;
    let mut out = Vec::new();
    let base64 = rate(plaintext_mul::<Z64>(n, args.runs));
    let base128 = rate(plaintext_mul::<Z128>(n, args.runs));
    for parties in [2, 3] {
        for (dealer, prep) in [(false, "insecure_shared_seed"), (true, "dealer")] {
            let name = "mul.z64".to_string();
            if wanted_run(&name, Via::InMemory, prep) {
                let (t, rounds, bytes) =
                    measure(&rt, args.runs, || beaver::<Z64>(n, parties, dealer))?;
                out.push(Figure {
                    name,
                    value: rate(t),
                    unit: "mul/s",
                    baseline: base64,
                    parties,
                    transport: "memory",
                    preprocessing: prep,
                    rounds: Some(rounds),
                    bytes_per_party: Some(bytes),
                    rounds_per_step: None,
                    bytes_per_step: None,
                    rounds_total: None,
                    solver: None,
                    peak_rss_bytes: None,
                    quality: None,
                });
            }
        }
    }
    for (name, how, z128, via) in [
        ("mul.fixed_point", Truncation::Pairs, true, Via::InMemory),
        (
            "mul.fixed_point_local_trunc",
            Truncation::LocalTwoParty,
            true,
            Via::InMemory,
        ),
        (
            "mul.fixed_point_z64",
            Truncation::Pairs,
            false,
            Via::InMemory,
        ),
        (
            "mul.fixed_point_z64_local_trunc",
            Truncation::LocalTwoParty,
            false,
            Via::InMemory,
        ),
        (
            "mul.fixed_point_z64_local_trunc",
            Truncation::LocalTwoParty,
            false,
            Via::LoopbackQuic,
        ),
    ] {
        if !wanted_run(name, via, "insecure_shared_seed") {
            continue;
        }
        let (t, rounds, bytes) = if z128 {
            measure(&rt, args.runs, || fixed::<Z128>(n, 2, how, via))?
        } else {
            measure(&rt, args.runs, || fixed::<Z64>(n, 2, how, via))?
        };
        out.push(Figure {
            name: name.to_string(),
            value: rate(t),
            unit: "mul/s",
            baseline: if z128 { base128 } else { base64 },
            parties: 2,
            transport: transport_name(via),
            preprocessing: "insecure_shared_seed",
            rounds: Some(rounds),
            bytes_per_party: Some(bytes),
            rounds_per_step: None,
            bytes_per_step: None,
            rounds_total: None,
            solver: None,
            peak_rss_bytes: None,
            quality: None,
        });
    }
    for (via, parties, elements) in [
        (Via::LoopbackQuic, 2, n),
        (Via::LoopbackQuic, 3, n),
        (
            Via::Emulated(mpc_core::net::LinkEmulation {
                latency: Duration::from_millis(20),
                bandwidth: Some(125_000_000),
            }),
            2,
            n / 10,
        ),
    ] {
        let name = "mul.z64".to_string();
        if !wanted_run(&name, via, "insecure_shared_seed") {
            continue;
        }
        let (t, rounds, bytes) = measure(&rt, args.runs, || {
            beaver_via::<Z64>(elements, parties, false, via)
        })?;
        out.push(Figure {
            name,
            value: elements as f64 / t,
            unit: "mul/s",
            baseline: base64,
            parties,
            transport: transport_name(via),
            preprocessing: "insecure_shared_seed",
            rounds: Some(rounds),
            bytes_per_party: Some(bytes),
            rounds_per_step: None,
            bytes_per_step: None,
            rounds_total: None,
            solver: None,
            peak_rss_bytes: None,
            quality: None,
        });
    }
    let batches = 256;
    for via in [Via::InMemory, Via::LoopbackQuic] {
        let name = "preprocessing.random_ot";
        if !wanted_run(name, via, "ot") {
            continue;
        }
        let (t, rounds, bytes) = measure(&rt, args.runs.min(3), || random_ots(batches, via))?;
        let ots = (batches * 8192) as f64;
        out.push(Figure {
            name: name.to_string(),
            value: ots / t,
            unit: "ot/s",
            baseline: base64,
            parties: 2,
            transport: transport_name(via),
            preprocessing: "ot",
            rounds: Some(rounds),
            bytes_per_party: Some(bytes),
            rounds_per_step: None,
            bytes_per_step: None,
            rounds_total: None,
            solver: None,
            peak_rss_bytes: None,
            quality: None,
        });
    }
    let triples = 200_000;
    for (via, parties, z128) in [
        (Via::InMemory, 2, false),
        (Via::LoopbackQuic, 2, false),
        (Via::LoopbackQuic, 3, false),
        (Via::LoopbackQuic, 2, true),
        (Via::LoopbackQuic, 3, true),
    ] {
        let name = if z128 {
            "preprocessing.ot_triples_z128"
        } else {
            "preprocessing.ot_triples_z64"
        };
        if !wanted_run(name, via, "ot") {
            continue;
        }
        let (t, rounds, bytes) = if z128 {
            measure(&rt, args.runs.min(3), || {
                ot_triples::<Z128>(triples, parties, via)
            })?
        } else {
            measure(&rt, args.runs.min(3), || {
                ot_triples::<Z64>(triples, parties, via)
            })?
        };
        out.push(Figure {
            name: name.to_string(),
            value: triples as f64 / t,
            unit: "triples/s",
            baseline: if z128 { base128 } else { base64 },
            parties,
            transport: transport_name(via),
            preprocessing: "ot",
            rounds: Some(rounds),
            bytes_per_party: Some(bytes),
            rounds_per_step: None,
            bytes_per_step: None,
            rounds_total: None,
            solver: None,
            peak_rss_bytes: None,
            quality: None,
        });
    }
    super::bench_train::figures(&rt, args.runs, args.solver, &wanted, &mut out)
        .map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))?;
    Ok(out)
}

/// Runs `mpc bench`.
pub fn run(args: Args) -> CliResult {
    let figures = figures(&args)?;
    if args.json {
        for f in &figures {
            println!("{}", serde_json::to_string(f)?);
        }
    } else {
        println!(
            "{:<34} {:>8} {:>7} {:<21} {:>14} {:>14} {:>9} {:>7} {:>12}",
            "figure",
            "parties",
            "via",
            "preprocessing",
            "value",
            "baseline",
            "ratio",
            "rounds",
            "bytes/party"
        );
        for f in &figures {
            println!(
                "{:<34} {:>8} {:>7} {:<21} {:>14} {:>14} {:>9.4} {:>7} {:>12}",
                f.name,
                f.parties,
                f.transport,
                match f.solver {
                    Some(s) => format!("{}, {s}", f.preprocessing),
                    None => f.preprocessing.to_string(),
                },
                format!("{:.3e} {}", f.value, f.unit),
                format!("{:.3e}", f.baseline),
                if f.unit == "s" {
                    f.baseline / f.value
                } else {
                    f.value / f.baseline
                },
                f.rounds
                    .or(f.rounds_total)
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
                f.bytes_per_party.map(|b| b.to_string()).unwrap_or_default(),
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
