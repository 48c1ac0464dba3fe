//! Throughput of the dealer-free `ot` preprocessing, in memory: random OTs (IKNP) between two parties, and
//! Z64 / Z128 Beaver triples for 2 and 3 parties. Bytes per item are printed beside the times (in MPC the
//! network is the cost). Run with `cargo bench -p mpc-core --bench ot`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mpc_core::ot::iknp::{self, random_ot_receiver, random_ot_sender, Check};
use mpc_core::ot::OtRing;
use mpc_core::preprocessing::{triple_bytes_per_peer, OtConfig, OtSource, Preprocessing};
use mpc_core::{simulate, Z128, Z64};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// `iters` batches of `blocks * 128` random OTs from party 0 (receiver) to party 1 (sender); returns the
/// slower party's time and the bytes party 0 sent per OT.
fn random_ots(
    rt: &tokio::runtime::Runtime,
    blocks: usize,
    iters: u64,
    check: Check,
) -> (Duration, f64) {
    let out = rt
        .block_on(simulate(2, move |mut ctx| async move {
            let mut pairs = iknp::setup(&mut ctx, OtConfig::default().extension).await?;
            let me = ctx.id();
            let before = ctx.stats();
            let start = Instant::now();
            for _ in 0..iters {
                if me == 0 {
                    let pair = pairs[1].as_mut().expect("peer");
                    let choices = vec![0x5555_aaaa_u128 ^ iters as u128; blocks];
                    let (msg, t) = pair.receiver.extend(&choices, check, ctx.rng());
                    ctx.send_bytes(1, msg).await?;
                    std::hint::black_box(random_ot_receiver(&t));
                } else {
                    let pair = pairs[0].as_mut().expect("peer");
                    let msg = ctx.recv_bytes(0).await?;
                    let q = pair
                        .sender
                        .extend(blocks, &msg, check)
                        .map_err(mpc_core::Error::Preprocessing)?;
                    std::hint::black_box(random_ot_sender(&q, pair.sender.delta()));
                }
            }
            // Let the sender finish before the receiver's clock stops.
            if me == 1 {
                ctx.send_bytes(0, vec![1]).await?;
            } else {
                ctx.recv_bytes(1).await?;
            }
            Ok((start.elapsed(), ctx.stats().since(&before).bytes_sent()))
        }))
        .expect("run");
    let elapsed = out.iter().map(|o| o.0).max().unwrap_or_default();
    let ots = (iters as usize * blocks * 128) as f64;
    (elapsed, out[0].1 as f64 / ots)
}

/// `iters` batches of `batch` triples for `n` parties; returns the slowest party's time and the bytes one
/// party sent per triple.
fn triples<R: OtRing>(
    rt: &tokio::runtime::Runtime,
    n: usize,
    batch: usize,
    iters: u64,
    config: OtConfig,
) -> (Duration, f64) {
    let out = rt
        .block_on(simulate(n, move |mut ctx| async move {
            let mut src = OtSource::<R>::setup_with(&mut ctx, config).await?;
            let before = ctx.stats();
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(src.triples(&mut ctx, batch).await?);
            }
            Ok((start.elapsed(), ctx.stats().since(&before).bytes_sent()))
        }))
        .expect("run");
    let elapsed = out.iter().map(|o| o.0).max().unwrap_or_default();
    (elapsed, out[0].1 as f64 / (iters as usize * batch) as f64)
}

/// Single-threaded cost of each local step, in nanoseconds per OT, for the notes ("where the time goes").
fn components() {
    use mpc_core::ot::hash::{ccr_hash, AesPrg};
    use mpc_core::ot::transpose::transpose_columns;
    use mpc_core::ot::{gilboa, iknp::IknpReceiver, iknp::IknpSender};
    let blocks = 256; // 32,768 OTs per round, 32 rounds
    let ots = blocks * 128;
    let rounds = 32;
    let per_ot = |d: Duration| d.as_nanos() as f64 / (rounds * ots) as f64;
    let mut buf = vec![0u128; ots];
    let mut prg = AesPrg::new(7);
    let t = Instant::now();
    for _ in 0..rounds {
        prg.fill(&mut buf);
    }
    eprintln!(
        "component: AES-CTR PRG, one block per OT: {:.2} ns/OT",
        per_ot(t.elapsed())
    );
    let t = Instant::now();
    for _ in 0..rounds {
        ccr_hash(&mut buf);
    }
    eprintln!(
        "component: CCR hash, one block: {:.2} ns/OT",
        per_ot(t.elapsed())
    );
    let mut out = vec![0u128; ots];
    let t = Instant::now();
    for _ in 0..rounds {
        transpose_columns(&buf, blocks, &mut out);
    }
    eprintln!("component: transposition: {:.2} ns/OT", per_ot(t.elapsed()));
    let seeds: Vec<[u128; 2]> = (0..128u128).map(|i| [i, i << 64 | 1]).collect();
    let delta = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321u128;
    let chosen: Vec<u128> = (0..128)
        .map(|i| seeds[i][((delta >> i) & 1) as usize])
        .collect();
    let mut r = IknpReceiver::new(&seeds).expect("receiver");
    let mut s = IknpSender::new(delta, &chosen).expect("sender");
    let mut rng = mpc_core::prg::Prg::from_entropy();
    let choices = vec![0x0f0f_u128; blocks];
    let (mut tr, mut ts) = (Duration::ZERO, Duration::ZERO);
    let (mut gs, mut gr) = (Duration::ZERO, Duration::ZERO);
    let x: Vec<Z64> = (0..ots as u64 / 64)
        .map(|i| Z64(i.wrapping_mul(0x9e37_79b9)))
        .collect();
    let y: Vec<Z64> = (0..ots as u64 / 64).map(|i| Z64(i ^ 0x5555)).collect();
    for _ in 0..rounds {
        let t = Instant::now();
        let (msg, tt) = r.extend(&choices, Check::None, &mut rng);
        tr += t.elapsed();
        let t = Instant::now();
        let q = s.extend(blocks, &msg, Check::None).expect("extend");
        ts += t.elapsed();
        let t = Instant::now();
        let (m, _) = gilboa::send(&q, delta, &x, 1);
        gs += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(gilboa::receive(&tt, &y, 1, &m).expect("receive"));
        gr += t.elapsed();
    }
    let t = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(r.extend(&choices, Check::None, &mut rng));
    }
    eprintln!(
        "component: IKNP receiver alone: {:.2} ns/OT",
        per_ot(t.elapsed())
    );
    eprintln!(
        "component: IKNP receiver {:.2}, IKNP sender {:.2}, Gilboa Z64 sender {:.2}, receiver {:.2} ns/OT",
        per_ot(tr),
        per_ot(ts),
        per_ot(gs),
        per_ot(gr)
    );
    fixed_choice_component(&mut r, &mut s, delta);
}

/// One breast-cancer mask triple's products with reused OTs (`ot::fixed_choice`): 64 rows of 31 values of
/// 26 bits, times one word each, in Z128.
fn fixed_choice_component(
    r: &mut mpc_core::ot::iknp::IknpReceiver,
    s: &mut mpc_core::ot::iknp::IknpSender,
    delta: u128,
) {
    use mpc_core::ot::fixed_choice;
    use mpc_core::ot::gilboa::choice_blocks_bounded;
    use mpc_core::Ring;
    let (values, bits, rounds) = (64 * 31, 26u32, 64);
    let mut rng = mpc_core::prg::Prg::from_entropy();
    let x: Vec<Z128> = (0..values as i128)
        .map(|i| Z128::from_i128((i * 0x9e37_79b9) % (1 << 25)))
        .collect();
    let choices = choice_blocks_bounded(&x, bits as usize);
    let (msg, t) = r.extend(&choices, Check::None, &mut rng);
    let q = s.extend(choices.len(), &msg, Check::None).expect("extend");
    let beta = Z128::random_vec(&mut rng, values);
    let (mut ds, mut dr) = (Duration::ZERO, Duration::ZERO);
    for tweak in 0..rounds {
        let start = Instant::now();
        let (m, _) = fixed_choice::send(&q, delta, tweak, bits, &beta, 1).expect("send");
        ds += start.elapsed();
        let start = Instant::now();
        std::hint::black_box(fixed_choice::receive(&t, &x, tweak, bits, 1, &m).expect("receive"));
        dr += start.elapsed();
    }
    let per = |d: Duration| d.as_nanos() as f64 / (rounds as usize * values * bits as usize) as f64;
    eprintln!(
        "component: fixed-choice Gilboa Z128, 26-bit values: sender {:.2}, receiver {:.2} ns per value bit",
        per(ds),
        per(dr)
    );
}

/// User plus system CPU time of this process so far (Linux `/proc/self/stat`, 100 Hz ticks); zero elsewhere.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}

/// Wall-clock and CPU throughput of longer runs, printed for the notes: the machine is shared, so the CPU
/// figure (items per CPU-second, both parties together) is the load-independent one.
fn summary(rt: &tokio::runtime::Runtime, config: OtConfig) {
    let batch = 4096;
    let rounds = 16;
    for (name, l, n) in [
        ("z64", 64, 2),
        ("z128", 128, 2),
        ("z64", 64, 3),
        ("z128", 128, 3),
    ] {
        let cpu = process_cpu();
        let (wall, bytes) = if l == 64 {
            triples::<Z64>(rt, n, batch, rounds, config)
        } else {
            triples::<Z128>(rt, n, batch, rounds, config)
        };
        let cpu = process_cpu() - cpu;
        let items = (batch * rounds as usize) as f64;
        eprintln!(
            "summary: {name} triples, {n} parties: {:.0}/s wall, {:.0} per CPU-second (all parties), {bytes:.1} bytes sent per triple per party (formula {:.1})",
            items / wall.as_secs_f64(),
            items / cpu.as_secs_f64().max(1e-9),
            (n - 1) as f64 * triple_bytes_per_peer(l, config.extension),
        );
    }
    for check in [Check::None, Check::Kos] {
        let blocks = 64;
        let rounds = 512;
        let cpu = process_cpu();
        let (wall, bytes) = random_ots(rt, blocks, rounds, check);
        let cpu = process_cpu() - cpu;
        let items = (blocks * 128 * rounds as usize) as f64;
        eprintln!(
            "summary: random OTs ({check:?}), 2 parties: {:.0}/s wall, {:.0} per CPU-second, {bytes:.3} bytes per OT",
            items / wall.as_secs_f64(),
            items / cpu.as_secs_f64().max(1e-9),
        );
    }
}

fn bench(c: &mut Criterion) {
    components();
    if std::env::var_os("OT_BENCH_SUMMARY").is_some() {
        let mut config = OtConfig::default();
        if let Some(v) = std::env::var("OT_BENCH_BATCH_OTS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            config.max_batch_ots = v;
        }
        summary(&runtime(), config);
        return;
    }
    if std::env::var_os("OT_BENCH_COMPONENTS_ONLY").is_some() {
        return;
    }
    let rt = runtime();
    let mut g = c.benchmark_group("ot");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    let blocks = 64; // 8,192 OTs per batch, as the source uses
    for check in [Check::None, Check::Kos] {
        let (_, bytes) = random_ots(&rt, blocks, 1, check);
        eprintln!("random OT ({check:?}): {bytes:.3} bytes sent per OT by the receiver");
        g.throughput(Throughput::Elements((blocks * 128) as u64));
        g.bench_function(format!("random_ot_2p_{check:?}"), |b| {
            b.iter_custom(|iters| random_ots(&rt, blocks, iters, check).0)
        });
    }

    let batch = 4096;
    let mut config = OtConfig::default();
    if let Some(v) = std::env::var("OT_BENCH_BATCH_OTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.max_batch_ots = v;
    }
    for n in [2, 3] {
        for (name, l) in [("z64", 64), ("z128", 128)] {
            let run = |iters| {
                if l == 64 {
                    triples::<Z64>(&rt, n, batch, iters, config)
                } else {
                    triples::<Z128>(&rt, n, batch, iters, config)
                }
            };
            let (_, bytes) = run(1);
            eprintln!(
                "{name} triples, {n} parties: {bytes:.1} bytes sent per triple by one party (formula {:.1})",
                (n - 1) as f64 * triple_bytes_per_peer(l, config.extension)
            );
            g.throughput(Throughput::Elements(batch as u64));
            g.bench_function(format!("triples_{name}_{n}p"), |b| {
                b.iter_custom(|iters| run(iters).0)
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
