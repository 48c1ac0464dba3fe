//! The sigmoid approximation of [`crate::sigmoid`] on fixed-point shares, in 4 multiplication rounds and
//! 3 truncation rounds, with one truncation left to the caller's scale.
//!
//! The polynomial is odd about `1/2`: `s(z) - 1/2 = t q(u)` with `t = z / 24`, `u = t^2` and
//! `q(u) = C0 + C1 u + C2 u^2 + C3 u^3 + C4 u^4`. From `t` (20 fractional bits):
//!
//! 1. `u = t t`, truncated (1 multiplication round, 1 truncation round);
//! 2. `u^2 = u u`, truncated (1 + 1);
//! 3. `u^3 = u u^2` and `u^4 = u^2 u^2` in one batch, left untruncated at 40 bits (1);
//! 4. `q` summed with every term lifted to 60 fractional bits, truncated once by 40 bits (1);
//! 5. `t q` (1 multiplication round), returned untruncated at 40 fractional bits.
//!
//! Against a generic evaluation of all powers up to 9 (as [`mpc_core::protocols::poly::eval`] does) this
//! saves two rounds per step and about half the bytes. The values stay far inside the fixed-point bound:
//! `q` at 60 fractional bits needs `|q| < 2^27`, true for `|t| < 8`, that is `|z| < 192`.

use mpc_core::preprocessing::Preprocessing;
use mpc_core::protocols::mul::mul;
use mpc_core::protocols::poly::{truncate, Truncation};
use mpc_core::{Context, FixedPoint, Result, Ring, Shared, Z128};

use crate::prefetch::Need;
use crate::secure::FORMAT;
use crate::sigmoid::COEFFS;

/// The requests of [`odd_part`] for `n` elements, in order.
pub(crate) fn needs(n: usize) -> Vec<Need> {
    let f = FORMAT.frac_bits;
    vec![
        Need::Triples(n),
        Need::Trunc(n, f),
        Need::Triples(n),
        Need::Trunc(n, f),
        Need::Triples(2 * n),
        Need::Trunc(n, 2 * f),
        Need::Triples(n),
    ]
}

async fn product(
    ctx: &mut Context,
    x: &Shared<Z128>,
    y: &Shared<Z128>,
    source: &mut dyn Preprocessing<Z128>,
) -> Result<Shared<Z128>> {
    let triples = source.triples(ctx, x.len()).await?;
    mul(ctx, x, y, triples).await
}

/// `s(z) - 1/2` at 40 fractional bits, for `t = z / 24` at 20 fractional bits.
pub(crate) async fn odd_part(
    ctx: &mut Context,
    t: &Shared<Z128>,
    source: &mut dyn Preprocessing<Z128>,
) -> Result<Shared<Z128>> {
    let n = t.len();
    let f = FORMAT.frac_bits;
    let q_format = FixedPoint {
        frac_bits: 2 * f,
        bound_bits: FORMAT.bound_bits,
    };
    let u = product(ctx, t, t, source).await?;
    let u = truncate(ctx, &u, FORMAT, Truncation::Pairs, source).await?;
    let u2 = product(ctx, &u, &u, source).await?;
    let u2 = truncate(ctx, &u2, FORMAT, Truncation::Pairs, source).await?;
    let hi = product(
        ctx,
        &Shared::concat(&[&u, &u2]),
        &Shared::concat(&[&u2, &u2]),
        source,
    )
    .await?;
    let (u3, u4) = (hi.slice(0..n)?, hi.slice(n..2 * n)?);
    let c: Vec<Z128> = COEFFS
        .iter()
        .map(|&c| FORMAT.encode(c))
        .collect::<Result<_>>()?;
    let lift = Z128::from_i128(1i128 << f);
    // Every term at 3f fractional bits: c (f) * u^k (f or 2f), lifted where needed.
    let mut q: Vec<Z128> = u
        .share_values()
        .iter()
        .zip(u2.share_values())
        .zip(u3.share_values().iter().zip(u4.share_values()))
        .map(|((&u, &u2), (&u3, &u4))| (c[1] * u + c[2] * u2) * lift + c[3] * u3 + c[4] * u4)
        .collect();
    if ctx.is_leader() {
        let c0 = c[0] * lift * lift;
        q.iter_mut().for_each(|v| *v += c0);
    }
    let q = truncate(
        ctx,
        &Shared::from_share(q),
        q_format,
        Truncation::Pairs,
        source,
    )
    .await?;
    product(ctx, t, &q, source).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefetch::Prefetched;
    use crate::sigmoid::{approx, RANGE};
    use mpc_core::preprocessing::InsecureSharedSeed;
    use mpc_core::protocols::open::open;

    /// On shares the approximation matches its f64 evaluation to about 1e-4 over and beyond the fitted range.
    #[tokio::test]
    async fn shares_match_the_f64_polynomial() {
        let zs: Vec<f64> = (0..=240).map(|i| -60.0 + 0.5 * i as f64).collect();
        let n = zs.len();
        let ts: Vec<Z128> = zs
            .iter()
            .map(|z| FORMAT.encode(z / RANGE).unwrap())
            .collect();
        for parties in [2, 3] {
            let ts = ts.clone();
            let out = mpc_core::simulate(parties, move |mut ctx| {
                let ts = ts.clone();
                async move {
                    // Benchmark-only preprocessing is fine for checking arithmetic.
                    let mut src = InsecureSharedSeed::<Z128>::for_context([7; 32], &ctx);
                    let mask = src.matrix_mask(&mut ctx, 1, 1).await?;
                    let mut pre = Prefetched::fetch(&mut ctx, &mut src, &mask, needs(n)).await?;
                    let t = Shared::from_public(ctx.id(), &ts);
                    let s = odd_part(&mut ctx, &t, &mut pre).await?;
                    open(&mut ctx, &s).await
                }
            })
            .await
            .unwrap();
            let got: Vec<f64> = out[0]
                .iter()
                .map(|&v| FORMAT.decode(v) / FORMAT.scale())
                .collect();
            for (z, g) in zs.iter().zip(got) {
                let want = approx(*z) - 0.5;
                assert!(
                    (g - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "z {z}: {g} vs {want}"
                );
            }
        }
    }
}
