//! PSI throughput: two parties with `PSI_IDS` ids each (default 100,000; 80% shared) over the in-memory
//! network, beside the cost of the Ristretto operations alone measured in the same run.
//!
//! `cargo bench -p mpc-ml --bench psi` (set `PSI_IDS` for another size). Prints ids per second, bytes per id
//! and rounds, then the per-id cost of hash-to-group, scalar multiplication, compression and decompression
//! on one core, and the per-party work the protocol does per id built from them.

use std::time::Instant;

use curve25519_dalek::ristretto::CompressedRistretto;
use mpc_core::simulate_with;
use mpc_core::SimOptions;
use mpc_ml::psi::{self, BlindingKey, IdList, PsiOptions};

fn ids(p: usize, n: usize) -> Vec<String> {
    let shared = n * 4 / 5;
    (0..shared)
        .map(|i| format!("P{i:08}"))
        .chain((shared..n).map(|i| format!("Q{p}-{i:08}")))
        .rev()
        .collect()
}

fn main() {
    let n: usize = std::env::var("PSI_IDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");

    // The protocol, two parties, in memory.
    let lists: Vec<IdList> = (0..2)
        .map(|p| {
            let v = ids(p, n);
            let lines = (2..v.len() as u64 + 2).collect();
            IdList::new(p, "bench", "id", v, lines).expect("distinct ids")
        })
        .collect();
    let start = Instant::now();
    let out = runtime
        .block_on(simulate_with(SimOptions::default(), 2, move |mut ctx| {
            let list = lists[ctx.id()].clone();
            async move {
                let r = psi::intersect(&mut ctx, &list, &PsiOptions::default())
                    .await
                    .map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))?;
                Ok(r.len())
            }
        }))
        .expect("the run");
    let secs = start.elapsed().as_secs_f64();
    let size = *out[0].result.as_ref().expect("party 0's result");
    let bytes: u64 = out.iter().map(|o| o.stats.bytes_sent()).sum();
    let rounds = out[0].stats.rounds;
    let total_ids = 2 * n;
    println!(
        "PSI, 2 parties, {n} ids each, intersection {size}, in-memory network, 2 worker threads"
    );
    println!(
        "  wall time {secs:.2} s; {:.0} ids/s (both parties' ids / wall time); {:.1} bytes sent per id; {rounds} rounds",
        total_ids as f64 / secs,
        bytes as f64 / total_ids as f64
    );

    // The Ristretto operations alone, one core.
    let sample: Vec<String> = ids(0, n.min(20_000));
    let m = sample.len() as f64;
    let t = Instant::now();
    let points: Vec<_> = sample
        .iter()
        .map(|s| psi::hash_to_group(s.as_bytes()))
        .collect();
    let hash = t.elapsed().as_secs_f64() / m;
    let key = BlindingKey::random(&mut rand::rngs::OsRng);
    let t = Instant::now();
    let blinded = key.blind(&points);
    let mul = t.elapsed().as_secs_f64() / m;
    let t = Instant::now();
    let compressed: Vec<CompressedRistretto> = blinded.iter().map(|p| p.compress()).collect();
    let compress = t.elapsed().as_secs_f64() / m;
    let t = Instant::now();
    let ok = compressed
        .iter()
        .filter(|c| c.decompress().is_some())
        .count();
    let decompress = t.elapsed().as_secs_f64() / m;
    assert_eq!(ok, compressed.len());
    println!(
        "Ristretto alone, one core, {} ids: hash-to-group {:.1} us, scalar multiplication {:.1} us, compress {:.1} us, decompress {:.1} us",
        sample.len(),
        hash * 1e6,
        mul * 1e6,
        compress * 1e6,
        decompress * 1e6
    );
    // Per id and party: 1 hash, 3 multiplications (blind own, blind peer's, unblind own), 3 compressions and
    // about 3 decompressions (peer's vector, own returned vector, the leader checks the sorted keys).
    let per_party = hash + 3.0 * mul + 3.0 * compress + 3.0 * decompress;
    println!(
        "  per id and party: hash + 3 mul + 3 compress + 3 decompress = {:.1} us, so {:.0} ids/s for two parties on two cores without overhead",
        per_party * 1e6,
        2.0 / per_party
    );
}
