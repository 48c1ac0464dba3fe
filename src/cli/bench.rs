//! `mpc bench`: throughput figures, each beside a baseline measured in the same run (machines are shared and
//! noisy: compare ratios, not absolute values). `--json` prints one JSON object per line for scripts.

use std::future::Future;
use std::time::{Duration, Instant};

use mpc_core::preprocessing::{DealerSource, InsecureSharedSeed, Preprocessing};
use mpc_core::prg::Prg;
use mpc_core::protocols::mul::mul;
use mpc_core::protocols::poly::{mul_fixed, Truncation};
use mpc_core::simulate::PartyOutput;
use mpc_core::{simulate_with, FixedPoint, PowerOfTwoRing, Ring, Shared, SimOptions, Z128, Z64};
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
    /// Only run figures whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
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
    /// The same-run baseline (plaintext), in the same unit.
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
}

fn median(mut v: Vec<f64>) -> f64 {
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

async fn beaver<R: Ring>(n: usize, parties: usize, dealer: bool) -> Result<Timed, mpc_core::Error> {
    let opts = SimOptions {
        dealer,
        ..Default::default()
    };
    let out = simulate_with(opts, parties, move |mut ctx| async move {
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
) -> Result<Timed, mpc_core::Error> {
    let out = simulate_with(SimOptions::default(), parties, move |mut ctx| async move {
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
    let rate = |secs: f64| n as f64 / secs;
    let mut out = Vec::new();
    let base64 = rate(plaintext_mul::<Z64>(n, args.runs));
    let base128 = rate(plaintext_mul::<Z128>(n, args.runs));
    for parties in [2, 3] {
        for (dealer, prep) in [(false, "insecure_shared_seed"), (true, "dealer")] {
            let name = "mul.z64".to_string();
            if wanted(&name) {
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
                });
            }
        }
    }
    for (name, how, z128) in [
        ("mul.fixed_point", Truncation::Pairs, true),
        (
            "mul.fixed_point_local_trunc",
            Truncation::LocalTwoParty,
            true,
        ),
        ("mul.fixed_point_z64", Truncation::Pairs, false),
        (
            "mul.fixed_point_z64_local_trunc",
            Truncation::LocalTwoParty,
            false,
        ),
    ] {
        if !wanted(name) {
            continue;
        }
        let (t, rounds, bytes) = if z128 {
            measure(&rt, args.runs, || fixed::<Z128>(n, 2, how))?
        } else {
            measure(&rt, args.runs, || fixed::<Z64>(n, 2, how))?
        };
        out.push(Figure {
            name: name.to_string(),
            value: rate(t),
            unit: "mul/s",
            baseline: if z128 { base128 } else { base64 },
            parties: 2,
            transport: "memory",
            preprocessing: "insecure_shared_seed",
            rounds: Some(rounds),
            bytes_per_party: Some(bytes),
        });
    }
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
                f.preprocessing,
                format!("{:.3e} {}", f.value, f.unit),
                format!("{:.3e}", f.baseline),
                f.value / f.baseline,
                f.rounds.map(|r| r.to_string()).unwrap_or_default(),
                f.bytes_per_party.map(|b| b.to_string()).unwrap_or_default(),
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
