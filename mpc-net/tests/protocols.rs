//! mpc-core's protocols over loopback QUIC for 2, 3 and 5 parties, each checked against the plaintext: mpc-core's
//! own conformance suite (`mpc_core::testing::protocol_suite`, every ring, with and without a dealer), a
//! suite of this file's own over Z64; and 16 MB messages and channel ordering.

mod common;

use common::run_loopback;
use mpc_core::preprocessing::{DealerSource, InsecureSharedSeed, Preprocessing};
use mpc_core::protocols::poly::{self, Truncation};
use mpc_core::protocols::{input, matmul, open};
use mpc_core::ring::Z64;
use mpc_core::share::matmul_plain;
use mpc_core::{Context, Error, FixedPoint, Result, SharedMatrix};
use mpc_net::local::loopback_options;

fn values(len: usize, salt: u64) -> Vec<Z64> {
    (0..len as u64)
        .map(|i| Z64(i.wrapping_mul(0x2545_f491_4f6c_dd1d).wrapping_add(salt)))
        .collect()
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{what}: got {got:?}, want {want:?}"
        )))
    }
}

/// Input, open, Beaver multiplication, matrix multiplication, fixed-point multiplication with truncation
/// and polynomial evaluation, each compared with the plaintext.
async fn suite(ctx: &mut Context, source: &mut dyn Preprocessing<Z64>) -> Result<()> {
    let me = ctx.id();
    let last = ctx.parties() - 1;
    let (xs, ys) = (values(64, 1), values(64, 2));
    let x = input::share_from::<Z64>(ctx, 0, (me == 0).then_some(&xs[..]), 64).await?;
    let y = input::share_from::<Z64>(ctx, last, (me == last).then_some(&ys[..]), 64).await?;
    let sum: Vec<Z64> = xs.iter().zip(&ys).map(|(&a, &b)| a + b).collect();
    check("open", open::open(ctx, &(&x + &y)).await?, sum)?;

    let triples = source.triples(ctx, 64).await?;
    let z = mpc_core::protocols::mul::mul(ctx, &x, &y, triples).await?;
    let prod: Vec<Z64> = xs.iter().zip(&ys).map(|(&a, &b)| a * b).collect();
    check("mul", open::open(ctx, &z).await?, prod)?;

    let (m, k, n) = (3, 4, 2);
    let (a, b) = (values(m * k, 3), values(k * n, 4));
    let sa = input::share_from::<Z64>(ctx, 0, (me == 0).then_some(&a[..]), m * k).await?;
    let sb = input::share_from::<Z64>(ctx, last, (me == last).then_some(&b[..]), k * n).await?;
    let t = source.matrix_triple(ctx, m, k, n).await?;
    let c = matmul::matmul(
        ctx,
        &SharedMatrix::new(m, k, sa)?,
        &SharedMatrix::new(k, n, sb)?,
        t,
    )
    .await?;
    check(
        "matmul",
        open::open(ctx, c.as_shared()).await?,
        matmul_plain(&a, &b, m, k, n),
    )?;

    let fx = FixedPoint::default_for::<Z64>();
    let reals: Vec<f64> = (0..16).map(|i| i as f64 * 0.37 - 2.5).collect();
    let enc = fx.encode_slice::<Z64>(&reals)?;
    let r = input::share_from::<Z64>(ctx, 0, (me == 0).then_some(&enc[..]), reals.len()).await?;
    let sq = poly::mul_fixed(ctx, &r, &r, fx, Truncation::Pairs, source).await?;
    let sq = fx.decode_slice(&open::open(ctx, &sq).await?);
    for (got, x) in sq.iter().zip(&reals) {
        if (got - x * x).abs() > 1e-3 {
            return Err(Error::InvalidArgument(format!("square of {x}: got {got}")));
        }
    }
    let coeffs = [0.5, 0.25, -0.125];
    let p = poly::eval(ctx, &r, &coeffs, fx, Truncation::Pairs, source).await?;
    let p = fx.decode_slice(&open::open(ctx, &p).await?);
    for (got, x) in p.iter().zip(&reals) {
        let want = 0.5 + 0.25 * x - 0.125 * x * x;
        if (got - want).abs() > 1e-3 {
            return Err(Error::InvalidArgument(format!(
                "polynomial at {x}: got {got}, want {want}"
            )));
        }
    }
    Ok(())
}

async fn suite_for(parties: usize, dealer: bool) {
    let results = run_loopback(
        parties,
        dealer,
        loopback_options(),
        move |mut ctx| async move {
            let mut source: Box<dyn Preprocessing<Z64>> = if dealer {
                Box::new(DealerSource::<Z64>::connect(&ctx).await?)
            } else {
                Box::new(InsecureSharedSeed::<Z64>::for_context([9; 32], &ctx))
            };
            suite(&mut ctx, source.as_mut()).await?;
            Ok(ctx.stats())
        },
    )
    .await;
    for (party, r) in results.into_iter().enumerate() {
        let stats =
            r.unwrap_or_else(|e| panic!("{parties} parties, dealer {dealer}: party {party}: {e}"));
        assert!(
            stats.rounds >= 6,
            "party {party} counted {} rounds",
            stats.rounds
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_suite_over_quic_2_parties() {
    suite_for(2, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_suite_over_quic_3_parties() {
    suite_for(3, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_suite_over_quic_5_parties() {
    suite_for(5, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_suite_over_quic_with_dealer_2_and_3_parties() {
    suite_for(2, true).await;
    suite_for(3, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_megabyte_messages_cross_both_ways_before_either_reads() {
    const LEN: usize = 16 << 20;
    let results = run_loopback(2, false, loopback_options(), |mut ctx| async move {
        let me = ctx.id();
        let peer = 1 - me;
        let mine: Vec<u8> = (0..LEN).map(|i| (i * 31 + me) as u8).collect();
        // Both send 16 MB on two channels before either receives: send must not wait for the reader.
        let mut other = ctx.fork();
        ctx.send_bytes(peer, mine.clone()).await?;
        other.send_bytes(peer, vec![me as u8; 1000]).await?;
        let small = other.recv_bytes(peer).await?;
        let big = ctx.recv_bytes(peer).await?;
        let want: Vec<u8> = (0..LEN).map(|i| (i * 31 + peer) as u8).collect();
        check("small", small, vec![peer as u8; 1000])?;
        check("big length", big.len(), LEN)?;
        check("big content", big == want, true)
    })
    .await;
    for r in results {
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_keep_their_order_and_never_interleave() {
    let results = run_loopback(3, false, loopback_options(), |ctx| async move {
        let me = ctx.id();
        let channels = [0u32, 1, 77, u32::MAX - 2];
        let mut ctxs: Vec<Context> = channels.iter().map(|&c| ctx.on_channel(c)).collect();
        for (ci, c) in ctxs.iter_mut().enumerate() {
            for p in (0..3).filter(|&p| p != me) {
                for i in 0..50u32 {
                    c.send_bytes(
                        p,
                        [ci as u32, me as u32, i]
                            .iter()
                            .flat_map(|v| v.to_le_bytes())
                            .collect(),
                    )
                    .await?;
                }
            }
        }
        for (ci, c) in ctxs.iter_mut().enumerate().rev() {
            for p in (0..3).filter(|&p| p != me) {
                for i in 0..50u32 {
                    let want: Vec<u8> = [ci as u32, p as u32, i]
                        .iter()
                        .flat_map(|v| v.to_le_bytes())
                        .collect();
                    check("message", c.recv_bytes(p).await?, want)?;
                }
            }
        }
        Ok(())
    })
    .await;
    for r in results {
        r.unwrap();
    }
}

async fn conformance(parties: usize, dealer: bool) {
    let results = run_loopback(parties, dealer, loopback_options(), |mut ctx| async move {
        mpc_core::testing::protocol_suite(&mut ctx).await
    })
    .await;
    for (party, r) in results.into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("{parties} parties, dealer {dealer}: party {party}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpc_core_conformance_suite_over_quic_2_parties() {
    conformance(2, false).await;
    conformance(2, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpc_core_conformance_suite_over_quic_3_parties() {
    conformance(3, false).await;
    conformance(3, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpc_core_conformance_suite_over_quic_5_parties() {
    conformance(5, false).await;
    conformance(5, true).await;
}
