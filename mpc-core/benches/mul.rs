//! Online multiplication throughput in memory: 10^6 Beaver multiplications for 2 and 3 parties, with the
//! triples' generation inside the timed region (insecure shared seed, then dealer), fixed-point multiplication
//! with truncation in Z128 and Z64, and the plaintext wrapping multiply of the same vectors as the baseline.
//!
//! `cargo bench -p mpc-core --bench mul`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mpc_core::preprocessing::{DealerSource, InsecureSharedSeed, Preprocessing};
use mpc_core::prg::Prg;
use mpc_core::protocols::mul::mul;
use mpc_core::protocols::poly::{mul_fixed, Truncation};
use mpc_core::{simulate_with, FixedPoint, PowerOfTwoRing, Ring, Shared, SimOptions, Z128, Z64};

const N: usize = 1_000_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The slowest party's time from its first protocol step to its last (inputs are made before the clock
/// starts; a dealer connects before it, as in a session that is already running).
fn slowest(outputs: Vec<mpc_core::simulate::PartyOutput<Duration>>) -> Duration {
    outputs
        .into_iter()
        .map(|o| o.result.expect("party failed"))
        .max()
        .unwrap_or_default()
}

/// One run: every party multiplies its share vectors with fresh triples from the chosen source.
async fn beaver_run<R: Ring>(parties: usize, dealer: bool) -> Duration {
    let opts = SimOptions {
        dealer,
        ..Default::default()
    };
    let out = simulate_with(opts, parties, move |mut ctx| async move {
        let mut rng = Prg::from_entropy();
        let (x, y) = (
            Shared::from_share(R::random_vec(&mut rng, N)),
            Shared::from_share(R::random_vec(&mut rng, N)),
        );
        let mut src: Box<dyn Preprocessing<R>> = if dealer {
            Box::new(DealerSource::connect(&ctx).await?)
        } else {
            Box::new(InsecureSharedSeed::for_context([1; 32], &ctx))
        };
        let start = Instant::now();
        let t = src.triples(&mut ctx, N).await?;
        black_box(mul(&mut ctx, &x, &y, t).await?);
        Ok(start.elapsed())
    })
    .await
    .expect("simulation");
    slowest(out)
}

async fn fixed_run<R: PowerOfTwoRing>(parties: usize, how: Truncation) -> Duration {
    let out = simulate_with(SimOptions::default(), parties, move |mut ctx| async move {
        let fx = FixedPoint::default_for::<R>();
        let mut rng = Prg::from_entropy();
        let (x, y) = (
            Shared::from_share(R::random_vec(&mut rng, N)),
            Shared::from_share(R::random_vec(&mut rng, N)),
        );
        let mut src = InsecureSharedSeed::<R>::for_context([2; 32], &ctx);
        let start = Instant::now();
        black_box(mul_fixed(&mut ctx, &x, &y, fx, how, &mut src).await?);
        Ok(start.elapsed())
    })
    .await
    .expect("simulation");
    slowest(out)
}

fn timed(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    f: impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Duration>>>,
) -> Duration {
    (0..iters).map(|_| rt.block_on(f())).sum()
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("mul_1m");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(N as u64));
    let mut rng = Prg::from_entropy();
    let (a, b) = (Z64::random_vec(&mut rng, N), Z64::random_vec(&mut rng, N));
    g.bench_function("plaintext_z64", |bench| {
        bench.iter(|| black_box(a.iter().zip(&b).map(|(&x, &y)| x * y).collect::<Vec<Z64>>()))
    });
    for parties in [2, 3] {
        g.bench_with_input(
            BenchmarkId::new("beaver_z64_shared_seed", parties),
            &parties,
            |bench, &p| {
                bench.iter_custom(|iters| {
                    timed(&rt, iters, || Box::pin(beaver_run::<Z64>(p, false)))
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("beaver_z64_dealer", parties),
            &parties,
            |bench, &p| {
                bench
                    .iter_custom(|iters| timed(&rt, iters, || Box::pin(beaver_run::<Z64>(p, true))))
            },
        );
    }
    g.bench_function("fixed_z128_trunc_pairs/2", |bench| {
        bench.iter_custom(|iters| {
            timed(&rt, iters, || {
                Box::pin(fixed_run::<Z128>(2, Truncation::Pairs))
            })
        })
    });
    g.bench_function("fixed_z128_trunc_local/2", |bench| {
        bench.iter_custom(|iters| {
            timed(&rt, iters, || {
                Box::pin(fixed_run::<Z128>(2, Truncation::LocalTwoParty))
            })
        })
    });
    g.bench_function("fixed_z64_trunc_pairs/2", |bench| {
        bench.iter_custom(|iters| {
            timed(&rt, iters, || {
                Box::pin(fixed_run::<Z64>(2, Truncation::Pairs))
            })
        })
    });
    g.bench_function("fixed_z64_trunc_local/2", |bench| {
        bench.iter_custom(|iters| {
            timed(&rt, iters, || {
                Box::pin(fixed_run::<Z64>(2, Truncation::LocalTwoParty))
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
