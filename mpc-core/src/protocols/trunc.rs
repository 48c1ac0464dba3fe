//! Probabilistic truncation of fixed-point values: `x` with `2f` fractional bits becomes `x / 2^f`.
//!
//! [`trunc`] is the truncation-pair protocol in the style of Catrina and Saxena ("Secure computation with
//! fixed-point numbers", FC 2010) with a mask `r` uniform over the whole ring, as in ABY3 and SecureML's
//! pairs: the parties open `c = x + 2^k + r` (perfectly hiding) and compute
//! `x >> f = (c >> f) - (r >> f) - 2^(k-f)` locally, using shares of `r >> f` from a [`TruncPairs`].
//!
//! **Error.** With `|x| < 2^k` (the fixed-point format's `bound_bits`), the result is `floor(x / 2^f)` or
//! one more (at most one unit in the last place), except when `x + 2^k + r` wraps around the ring, which
//! happens with probability `(x + 2^k) / 2^l < 2^(k+1-l)` for a ring of `l` bits. The default training format
//! in Z128 (`k = 87`) fails with probability at most 2^-40 per element; the Z64 format (`k = 40`) at most
//! 2^-23. A failure gives a result off by about `2^(l-f)`, and is what the empirical test counts.
//!
//! [`trunc_local_two_party`] is SecureML's local truncation for two parties (Mohassel and Zhang 2017,
//! Theorem 1): no communication, the same 1-ulp error, and failure probability at most `2^(k+1-l)`.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::fixed::FixedPoint;
use crate::preprocessing::TruncPairs;
use crate::protocols::fused::PendingTrunc;
use crate::protocols::open::open_owned;
use crate::ring::PowerOfTwoRing;
use crate::share::Shared;

/// Divides every element by `2^fx.frac_bits` (one round), consuming one truncation pair per element.
pub async fn trunc<R: PowerOfTwoRing>(
    ctx: &mut Context,
    x: &Shared<R>,
    fx: FixedPoint,
    pairs: TruncPairs<R>,
) -> Result<Shared<R>> {
    let pending = PendingTrunc::start(ctx, x, fx, pairs)?;
    let c = open_owned(ctx, pending.masked().clone()).await?;
    Ok(pending.resolve(ctx.is_leader(), &c)?.value)
}

/// SecureML's local truncation for exactly two parties: party 0 shifts its share, party 1 shifts the
/// negation of its share and negates back. No communication.
pub fn trunc_local_two_party<R: PowerOfTwoRing>(
    party: usize,
    x: &Shared<R>,
    frac_bits: u32,
) -> Result<Shared<R>> {
    let rule = local_two_party_rule::<R>(party, frac_bits)?;
    Ok(Shared::from_share(
        x.share_values().iter().map(|&s| rule(s)).collect(),
    ))
}

/// The rule [`trunc_local_two_party`] applies to each element of `party`'s share, for protocols that fuse it
/// into another pass ([`crate::protocols::mul::mul_mapped`]).
pub fn local_two_party_rule<R: PowerOfTwoRing>(
    party: usize,
    frac_bits: u32,
) -> Result<impl Fn(R) -> R + Copy> {
    if party > 1 {
        return Err(Error::InvalidArgument(format!(
            "local truncation is for two parties, called by party {party}"
        )));
    }
    let negate = party == 1;
    Ok(move |s: R| {
        if negate {
            -((-s).shr_logical(frac_bits))
        } else {
            s.shr_logical(frac_bits)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{InsecureSharedSeed, Preprocessing};
    use crate::protocols::mul::mul;
    use crate::protocols::open::open;
    use crate::protocols::test_util::{for_parties, shares_of};
    use crate::ring::{Ring, Z128, Z64};
    use crate::simulate;
    use rand::Rng;

    /// Fixed-point multiply-then-truncate against f64, over many random inputs.
    async fn fixed_mul_matches_f64<R: PowerOfTwoRing>(n: usize, fx: FixedPoint, local: bool) {
        let len = 2000;
        let mut rng = rand::thread_rng();
        let xf: Vec<f64> = (0..len).map(|_| rng.gen_range(-100.0..100.0)).collect();
        let yf: Vec<f64> = (0..len).map(|_| rng.gen_range(-100.0..100.0)).collect();
        let (x, y): (Vec<R>, Vec<R>) =
            (fx.encode_slice(&xf).unwrap(), fx.encode_slice(&yf).unwrap());
        let (xs, ys) = (shares_of(&x, n), shares_of(&y, n));
        let out = simulate(n, move |mut ctx| {
            let (xs, ys) = (xs.clone(), ys.clone());
            async move {
                let mut src = InsecureSharedSeed::<R>::for_context([5; 32], &ctx);
                let t = src.triples(&mut ctx, len).await?;
                let (x, y) = (
                    Shared::from_share(xs[ctx.id()].clone()),
                    Shared::from_share(ys[ctx.id()].clone()),
                );
                let z = mul(&mut ctx, &x, &y, t).await?;
                let z = if local {
                    trunc_local_two_party(ctx.id(), &z, fx.frac_bits)?
                } else {
                    let pairs = src.trunc_pairs(&mut ctx, len, fx.frac_bits).await?;
                    trunc(&mut ctx, &z, fx, pairs).await?
                };
                open(&mut ctx, &z).await
            }
        })
        .await
        .unwrap();
        // Error: half an ulp from each encoding, times the other factor, plus one ulp of truncation.
        let ulp = 1.0 / fx.scale();
        for (i, got) in fx.decode_slice(&out[0]).iter().enumerate() {
            let want = xf[i] * yf[i];
            let tol = ulp * (0.5 * (xf[i].abs() + yf[i].abs()) + 2.0);
            assert!(
                (got - want).abs() <= tol,
                "{} * {} = {want}, got {got} (n={n}, {})",
                xf[i],
                yf[i],
                R::NAME
            );
        }
    }

    #[tokio::test]
    async fn fixed_point_multiplication_within_stated_error() {
        for_parties(|n| async move {
            fixed_mul_matches_f64::<Z128>(n, FixedPoint::Z128_DEFAULT, false).await;
            fixed_mul_matches_f64::<Z64>(n, FixedPoint::Z64_DEFAULT, false).await;
        })
        .await;
        fixed_mul_matches_f64::<Z128>(2, FixedPoint::Z128_DEFAULT, true).await;
        fixed_mul_matches_f64::<Z64>(2, FixedPoint::Z64_DEFAULT, true).await;
    }

    /// At a bound where failures are frequent (Z64, k = 60), the measured failure rate matches the formula
    /// `E[(x + 2^k) / 2^64]`, here `2^60 / 2^64 = 1/16` for x uniform in `[-2^59, 2^59)`.
    #[tokio::test]
    async fn failure_rate_matches_formula() {
        let fx = FixedPoint {
            frac_bits: 16,
            bound_bits: 60,
        };
        let len = 40_000usize;
        let mut rng = rand::thread_rng();
        let x: Vec<Z64> = (0..len)
            .map(|_| Z64::from_i128(rng.gen_range(-(1i64 << 59)..(1i64 << 59)) as i128))
            .collect();
        let xs = shares_of(&x, 3);
        let out = simulate(3, move |mut ctx| {
            let xs = xs.clone();
            async move {
                let mut src = InsecureSharedSeed::<Z64>::for_context([8; 32], &ctx);
                let pairs = src.trunc_pairs(&mut ctx, len, fx.frac_bits).await?;
                let x = Shared::from_share(xs[ctx.id()].clone());
                let t = trunc(&mut ctx, &x, fx, pairs).await?;
                open(&mut ctx, &t).await
            }
        })
        .await
        .unwrap();
        let failures = out[0]
            .iter()
            .zip(&x)
            .filter(|(t, x)| {
                let want = x.to_i128().unwrap() >> 16;
                let got = t.to_i128().unwrap();
                !(got == want || got == want + 1)
            })
            .count();
        let p = 1.0 / 16.0;
        let (mean, sd) = (len as f64 * p, (len as f64 * p * (1.0 - p)).sqrt());
        assert!(
            ((failures as f64) - mean).abs() < 5.0 * sd,
            "{failures} failures, expected {mean} ± {sd}"
        );
        // The stated bound for this format: 2^(60+1-64) = 1/8, above the average rate.
        assert_eq!(fx.truncation_failure_bound(64), 0.125);
    }

    #[tokio::test]
    async fn no_failures_at_the_default_format() {
        let fx = FixedPoint::Z128_DEFAULT;
        let len = 20_000usize;
        let mut rng = rand::thread_rng();
        let lim = 1i128 << (fx.bound_bits - 1);
        let x: Vec<Z128> = (0..len)
            .map(|_| Z128::from_i128(rng.gen_range(-lim..lim)))
            .collect();
        let xs = shares_of(&x, 2);
        let out = simulate(2, move |mut ctx| {
            let xs = xs.clone();
            async move {
                let mut src = InsecureSharedSeed::<Z128>::for_context([2; 32], &ctx);
                let pairs = src.trunc_pairs(&mut ctx, len, fx.frac_bits).await?;
                let x = Shared::from_share(xs[ctx.id()].clone());
                let t = trunc(&mut ctx, &x, fx, pairs).await?;
                open(&mut ctx, &t).await
            }
        })
        .await
        .unwrap();
        for (t, x) in out[0].iter().zip(&x) {
            let d = t.to_i128().unwrap() - (x.to_i128().unwrap() >> fx.frac_bits);
            assert!(d == 0 || d == 1);
        }
    }

    #[tokio::test]
    async fn local_truncation_needs_two_parties() {
        assert!(trunc_local_two_party(2, &Shared::<Z64>::zeros(1), 3).is_err());
        let _ = Z64::ZERO;
    }
}
