//! PSI throughput: two parties with `PSI_IDS` ids each (default 100,000; 80% shared) over loopback QUIC (mpc-net's
//! mesh: two endpoints on 127.0.0.1 with their own keys, mutually authenticated TLS, real UDP sockets) and over
//! mpc-core's in-memory network, beside the cost of the Ristretto operations alone measured in the same run.
//!
//! `cargo bench -p mpc-ml --bench psi` (set `PSI_IDS` for another size, `PSI_RUNS` for the number of runs per
//! network, default 3). Prints, per network, the median over the runs of the protocol's time (from the start of
//! `psi::intersect` to the last party's result; the mesh is connected beforehand), ids per second (both
//! parties' ids / that time), payload bytes sent per id (as counted by mpc-core's `Context`: QUIC, TLS and UDP
//! headers are not included) and rounds. Then the per-id cost of hash-to-group, scalar multiplication,
//! compression and decompression on one core (median of 3), the per-party work of the protocol built from them,
//! and the speed-up of splitting a batch of scalar multiplications across the machine's cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use curve25519_dalek::ristretto::CompressedRistretto;
use mpc_core::context::Stats;
use mpc_core::{Context, Network};
use mpc_ml::psi::{self, BlindingKey, IdList, PsiOptions};

fn ids(p: usize, n: usize) -> Vec<String> {
    let shared = n * 4 / 5;
    (0..shared)
        .map(|i| format!("P{i:08}"))
        .chain((shared..n).map(|i| format!("Q{p}-{i:08}")))
        .rev()
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One party: the intersection's size, its time and its counters.
async fn party(
    mut ctx: Context,
    lists: Arc<Vec<IdList>>,
) -> mpc_core::Result<(usize, Duration, Stats)> {
    let list = &lists[ctx.id()];
    let start = Instant::now();
    let r = psi::intersect(&mut ctx, list, &PsiOptions::default())
        .await
        .map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))?;
    Ok((r.len(), start.elapsed(), ctx.stats()))
}

/// One run over `nets`: (intersection size, slowest party's time, both parties' bytes, rounds of party 0), or
/// the first party's error.
async fn run(
    nets: Vec<Arc<dyn Network>>,
    lists: Arc<Vec<IdList>>,
) -> Result<(usize, f64, u64, u64), String> {
    let out = mpc_core::simulate::run_endpoints(
        nets,
        2,
        move |ctx| party(ctx, lists.clone()),
        |_| async {},
    )
    .await
    .map_err(|e| e.to_string())?;
    let results: Vec<(usize, Duration, Stats)> = out
        .into_iter()
        .map(|o| o.result.map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let secs = results
        .iter()
        .map(|r| r.1.as_secs_f64())
        .fold(0.0, f64::max);
    let bytes = results.iter().map(|r| r.2.bytes_sent()).sum();
    Ok((results[0].0, secs, bytes, results[0].2.rounds))
}

fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = env("PSI_IDS", 100_000);
    let runs = env("PSI_RUNS", 3).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let lists: Arc<Vec<IdList>> = Arc::new(
        (0..2)
            .map(|p| {
                let v = ids(p, n);
                let lines = (2..v.len() as u64 + 2).collect();
                IdList::new(p, "bench", "id", v, lines).expect("distinct ids")
            })
            .collect(),
    );
    let total_ids = 2 * n;
    println!(
        "PSI, 2 parties, {n} ids each (80% shared), {runs} runs per network, 2 tokio worker threads, {cores} cores"
    );
    for network in ["loopback QUIC", "in-memory"] {
        let mut times = Vec::new();
        let mut last = (0, 0, 0);
        for _ in 0..runs {
            let lists = lists.clone();
            let outcome = runtime.block_on(async move {
                let nets: Vec<Arc<dyn Network>> = if network == "in-memory" {
                    mpc_core::net::MemoryNetwork::new(2)
                        .into_iter()
                        .map(|e| Arc::new(e) as Arc<dyn Network>)
                        .collect()
                } else {
                    let meshes =
                        mpc_net::local::loopback_mesh(2, mpc_net::local::loopback_options())
                            .await
                            .map_err(|e| e.to_string())?;
                    let nets = meshes
                        .iter()
                        .map(|m| Arc::new(m.clone()) as Arc<dyn Network>)
                        .collect();
                    let result = run(nets, lists).await;
                    for m in &meshes {
                        m.close().await;
                    }
                    return result;
                };
                run(nets, lists).await
            });
            match outcome {
                Ok((size, secs, bytes, rounds)) => {
                    assert_eq!(size, n * 4 / 5, "the intersection");
                    times.push(secs);
                    last = (size, bytes, rounds);
                }
                Err(e) => println!("  {network}: a run failed: {e}"),
            }
        }
        if times.is_empty() {
            continue;
        }
        let secs = median(times.clone());
        println!(
            "  {network}: median {secs:.2} s (runs: {}); {:.0} ids/s (both parties' ids / time); {:.1} payload bytes sent per id; {} rounds; intersection {}",
            times
                .iter()
                .map(|t| format!("{t:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            total_ids as f64 / secs,
            last.1 as f64 / total_ids as f64,
            last.2,
            last.0
        );
    }

    // The Ristretto operations alone, one core, median of 3.
    let sample: Vec<String> = ids(0, n.min(20_000));
    let m = sample.len() as f64;
    let key = BlindingKey::random(&mut rand::rngs::OsRng);
    let (mut hash, mut mul, mut compress, mut decompress) = (vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        let t = Instant::now();
        let points: Vec<_> = sample
            .iter()
            .map(|s| psi::hash_to_group(s.as_bytes()))
            .collect();
        hash.push(t.elapsed().as_secs_f64() / m);
        let t = Instant::now();
        let blinded = key.blind(&points);
        mul.push(t.elapsed().as_secs_f64() / m);
        let t = Instant::now();
        let compressed: Vec<CompressedRistretto> = blinded.iter().map(|p| p.compress()).collect();
        compress.push(t.elapsed().as_secs_f64() / m);
        let t = Instant::now();
        let ok = compressed
            .iter()
            .filter(|c| c.decompress().is_some())
            .count();
        decompress.push(t.elapsed().as_secs_f64() / m);
        assert_eq!(ok, compressed.len());
    }
    let (hash, mul, compress, decompress) = (
        median(hash),
        median(mul),
        median(compress),
        median(decompress),
    );
    println!(
        "Ristretto alone, one core, {} ids, median of 3: hash-to-group {:.1} us, scalar multiplication {:.1} us, compress {:.1} us, decompress {:.1} us",
        sample.len(),
        hash * 1e6,
        mul * 1e6,
        compress * 1e6,
        decompress * 1e6
    );
    // Per id and party with two parties. The ring with a one-time scalar r (what every party did before
    // this change, and what more than two parties still do): 1 hash, 3 multiplications (blind own ids under
    // k r, blind the peer's vector, remove r), 3 compressions and about 3 decompressions. Without r (two
    // parties now): 1 hash, 2 multiplications (blind own ids, blind the peer's vector), 2 compressions (own
    // vector, the peer's vector sent back), 2 decompressions (the peer's vector, the check of the own join keys
    // returned), plus the leader's check of the peer's sorted join keys: 2.5 decompressions on average.
    for (name, muls, compressions, decompressions) in
        [("with r", 3.0, 3.0, 3.0), ("without r", 2.0, 2.0, 2.5)]
    {
        let per_party = hash + muls * mul + compressions * compress + decompressions * decompress;
        println!(
            "  per id and party, {name}: hash + {muls} mul + {compressions} compress + {decompressions} decompress = {:.1} us, so {:.0} ids/s for two parties with one core each and no other cost",
            per_party * 1e6,
            2.0 / per_party
        );
    }

    // Splitting a batch of scalar multiplications across the cores (as the protocol does), against one core.
    let points: Vec<_> = sample
        .iter()
        .map(|s| psi::hash_to_group(s.as_bytes()))
        .collect();
    let t = Instant::now();
    let one = key.blind(&points);
    let single = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let chunk = points.len().div_ceil(cores);
    let split: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = points
            .chunks(chunk)
            .map(|c| s.spawn(|| key.blind(c)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker"))
            .collect()
    });
    let parallel = t.elapsed().as_secs_f64();
    assert_eq!(one, split);
    println!(
        "  {} scalar multiplications: {:.1} ms on one core, {:.1} ms split across {cores} cores ({:.2}x)",
        points.len(),
        single * 1e3,
        parallel * 1e3,
        single / parallel
    );
}
