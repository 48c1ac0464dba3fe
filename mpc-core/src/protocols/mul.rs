//! Beaver multiplication (Beaver, "Efficient multiparty protocols using circuit randomization", CRYPTO 1991).
//!
//! Given a triple `c = a * b`, the parties open `d = x - a` and `e = y - b` together (one round; a long vector
//! goes as several messages per peer, all sent before any is received) and compute
//! `x * y = c + d*b + e*a + d*e` locally, party 0 adding the public `d*e`.
//!
//! Hiding: with a uniform `a` (and `b`), used for nothing else, `d` (and `e`) is uniform and independent of
//! `x` (and `y`): it reveals nothing. A source may bound `a`
//! ([`crate::preprocessing::Preprocessing::triples_bounded`]); `d` then hides `x` only statistically.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::net::PartyId;
use crate::preprocessing::Triples;
use crate::ring::Ring;
use crate::share::Shared;

/// Elements per message of a multiplication. A long vector is opened in chunks, every chunk sent before any
/// is received (still one round), so that a party combines the first chunks while the rest are in flight and
/// works on cache-sized pieces instead of whole-vector temporaries.
const CHUNK: usize = 1 << 13;

/// Element-wise product of two shared vectors, consuming one triple per element.
pub async fn mul<R: Ring>(
    ctx: &mut Context,
    x: &Shared<R>,
    y: &Shared<R>,
    triples: Triples<R>,
) -> Result<Shared<R>> {
    mul_mapped(ctx, x, y, triples, |z| z).await
}

/// [`mul`], with `post` applied to each element of this party's share of the product in the same pass (for
/// example a local truncation, [`crate::protocols::trunc::trunc_local_two_party`]'s rule).
pub async fn mul_mapped<R: Ring>(
    ctx: &mut Context,
    x: &Shared<R>,
    y: &Shared<R>,
    mut triples: Triples<R>,
    post: impl Fn(R) -> R,
) -> Result<Shared<R>> {
    let n = x.len();
    if y.len() != n || triples.len() != n {
        return Err(Error::Shape(format!(
            "multiplying vectors of {} and {} elements with {} triples",
            n,
            y.len(),
            triples.len()
        )));
    }
    let (x, y) = (x.share_values(), y.share_values());
    let peers: Vec<PartyId> = ctx.peers().collect();
    // This party's shares of `d = x - a` and `e = y - b` for `start..end`, side by side in `de`.
    let own = |de: &mut Vec<R>, t: &Triples<R>, start: usize, end: usize| {
        de.clear();
        de.extend(
            x[start..end]
                .iter()
                .zip(&t.a[start..end])
                .map(|(&x, &a)| x - a),
        );
        de.extend(
            y[start..end]
                .iter()
                .zip(&t.b[start..end])
                .map(|(&y, &b)| y - b),
        );
    };
    let mut de = Vec::with_capacity(2 * CHUNK.min(n));
    for start in (0..n).step_by(CHUNK) {
        own(&mut de, &triples, start, (start + CHUNK).min(n));
        let bytes = R::encode_slice(&de);
        if let Some((&last, rest)) = peers.split_last() {
            for &p in rest {
                ctx.send_bytes(p, bytes.clone()).await?;
            }
            ctx.send_bytes(last, bytes).await?;
        }
    }
    let leader = ctx.is_leader();
    let mut z = std::mem::take(&mut triples.c);
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        // The shares are recomputed rather than kept: cheaper than a vector-sized temporary.
        own(&mut de, &triples, start, end);
        for &p in &peers {
            ctx.recv_add_elems::<R>(p, &mut de).await?;
        }
        let (d, e) = de.split_at(end - start);
        let (a, b) = (&triples.a[start..end], &triples.b[start..end]);
        combine(&mut z[start..end], d, e, a, b, leader, &post);
    }
    Ok(Shared::from_share(z))
}

/// `z = post(c + d*b + e*a (+ d*e for the leader))` in place, `z` holding `c`.
fn combine<R: Ring>(
    z: &mut [R],
    d: &[R],
    e: &[R],
    a: &[R],
    b: &[R],
    leader: bool,
    post: impl Fn(R) -> R,
) {
    let terms = z.iter_mut().zip(d.iter().zip(e)).zip(a.iter().zip(b));
    if leader {
        terms.for_each(|((z, (&d, &e)), (&a, &b))| *z = post(*z + d * b + e * a + d * e));
    } else {
        terms.for_each(|((z, (&d, &e)), (&a, &b))| *z = post(*z + d * b + e * a));
    }
}

/// The local half of Beaver multiplication: `x * y` from the opened `d = x - a` and `e = y - b`, consuming the
/// triples. `leader` adds the public `d * e`. For protocols that open `d` and `e` together with other values
/// (see [`crate::protocols::fused`]).
pub fn beaver_local<R: Ring>(
    leader: bool,
    d: &[R],
    e: &[R],
    mut triples: Triples<R>,
) -> Result<Shared<R>> {
    if d.len() != triples.len() || e.len() != triples.len() {
        return Err(Error::Shape(format!(
            "{} and {} opened differences for {} triples",
            d.len(),
            e.len(),
            triples.len()
        )));
    }
    let mut z = std::mem::take(&mut triples.c);
    combine(&mut z, d, e, &triples.a, &triples.b, leader, |z| z);
    Ok(Shared::from_share(z))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{DealerSource, InsecureSharedSeed, Preprocessing};
    use crate::protocols::test_util::{for_parties, random_elems, shares_of};
    use crate::ring::{Fp, Z128, Z64};
    use crate::simulate::{collect, simulate_with, SimOptions};

    async fn check<R: Ring>(n: usize, dealer: bool) {
        let len = 257;
        let (x, y) = (random_elems::<R>(len), random_elems::<R>(len));
        let expected: Vec<R> = x.iter().zip(&y).map(|(&a, &b)| a * b).collect();
        let (xs, ys) = (shares_of(&x, n), shares_of(&y, n));
        let opts = SimOptions {
            dealer,
            ..Default::default()
        };
        let out = simulate_with(opts, n, move |mut ctx| {
            let (xs, ys) = (xs.clone(), ys.clone());
            async move {
                let mut source: Box<dyn Preprocessing<R>> = if dealer {
                    Box::new(DealerSource::connect(&ctx).await?)
                } else {
                    Box::new(InsecureSharedSeed::for_context([3; 32], &ctx))
                };
                let t = source.triples(&mut ctx, len).await?;
                let x = Shared::from_share(xs[ctx.id()].clone());
                let y = Shared::from_share(ys[ctx.id()].clone());
                let z = mul(&mut ctx, &x, &y, t).await?;
                let rounds = ctx.stats().rounds;
                Ok((crate::protocols::open::open(&mut ctx, &z).await?, rounds))
            }
        })
        .await
        .unwrap();
        for (z, rounds) in collect(out).unwrap() {
            assert_eq!(z, expected);
            // One round for the multiplication (the dealer's round trip to party 0 comes first).
            assert!(rounds <= 2);
        }
    }

    #[tokio::test]
    async fn beaver_matches_plaintext() {
        for_parties(|n| async move {
            for dealer in [false, true] {
                check::<Z64>(n, dealer).await;
                check::<Z128>(n, dealer).await;
                check::<Fp>(n, dealer).await;
            }
        })
        .await;
    }

    /// A vector longer than a chunk goes as several messages per peer, still in one round, and matches
    /// plaintext; the fused local truncation matches the separate one.
    #[tokio::test]
    async fn long_vectors_in_chunks_in_one_round() {
        use crate::protocols::trunc::{local_two_party_rule, trunc_local_two_party};
        let len = 2 * CHUNK + 5;
        // Small values (products below 2^38), as fixed-point products are, so the local truncation holds
        // (it fails with probability about 2^-25 per element; the product's shares depend only on the values
        // and the fixed-seed triples, so this test is deterministic).
        let x: Vec<Z64> = (0..len as i128)
            .map(|i| Z64::from_i128((i % 2001 - 1000) << 8))
            .collect();
        let y: Vec<Z64> = (0..len as i128)
            .map(|i| Z64::from_i128((i % 997 - 498) << 10))
            .collect();
        let expected: Vec<Z64> = x.iter().zip(&y).map(|(&a, &b)| a * b).collect();
        for n in [2, 3] {
            let (xs, ys) = (shares_of(&x, n), shares_of(&y, n));
            let out = crate::simulate(n, move |mut ctx| {
                let (xs, ys) = (xs.clone(), ys.clone());
                async move {
                    let mut src = InsecureSharedSeed::<Z64>::for_context([5; 32], &ctx);
                    let x = Shared::from_share(xs[ctx.id()].clone());
                    let y = Shared::from_share(ys[ctx.id()].clone());
                    let t = src.triples(&mut ctx, len).await?;
                    let before = ctx.stats();
                    let z = mul(&mut ctx, &x, &y, t).await?;
                    let used = ctx.stats().since(&before);
                    let fused = if ctx.parties() == 2 {
                        let t = src.triples(&mut ctx, len).await?;
                        let rule = local_two_party_rule::<Z64>(ctx.id(), 16)?;
                        let fused = mul_mapped(&mut ctx, &x, &y, t, rule).await?;
                        Some((fused, trunc_local_two_party(ctx.id(), &z, 16)?))
                    } else {
                        None
                    };
                    let opened = crate::protocols::open::open(&mut ctx, &z).await?;
                    let fused = match fused {
                        Some((f, s)) => Some((
                            crate::protocols::open::open(&mut ctx, &f).await?,
                            crate::protocols::open::open(&mut ctx, &s).await?,
                        )),
                        None => None,
                    };
                    Ok((opened, used.rounds, used.messages_sent(), fused))
                }
            })
            .await
            .unwrap();
            for (z, rounds, messages, fused) in out {
                assert_eq!(z, expected);
                assert_eq!(rounds, 1);
                assert_eq!(messages, 3 * (n as u64 - 1));
                if let Some((fused, separate)) = fused {
                    // Both truncate the same product with the same rule, but of different sharings of it
                    // (fresh triples), so each is within one unit of the exact shift.
                    for ((f, s), e) in fused.iter().zip(&separate).zip(&expected) {
                        let exact = Z64(((e.0 as i64) >> 16) as u64);
                        assert!((f.0.wrapping_sub(exact.0) as i64).abs() <= 1);
                        assert!((s.0.wrapping_sub(exact.0) as i64).abs() <= 1);
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn shape_mismatch_is_an_error() {
        let out = crate::simulate(2, |mut ctx| async move {
            let mut src = InsecureSharedSeed::<Z64>::for_context([0; 32], &ctx);
            let t = src.triples(&mut ctx, 3).await?;
            mul(&mut ctx, &Shared::zeros(4), &Shared::zeros(4), t).await
        })
        .await;
        assert!(matches!(out, Err(Error::Shape(_))));
    }
}
