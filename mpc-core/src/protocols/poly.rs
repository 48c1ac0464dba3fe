//! Evaluation of a public polynomial on fixed-point shares: the basis of the sigmoid approximation.
//!
//! The powers `x^2 .. x^d` are computed by doubling: at level `j` every power in `(2^j, 2^(j+1)]` is the
//! product of `x^(2^j)` with a lower power, all in one batched Beaver multiplication and one batched
//! truncation. A degree-`d` polynomial costs `ceil(log2 d)` levels of (1 multiplication round + 1 truncation
//! round) and one final truncation round for the coefficients; with two parties and local truncation
//! ([`Truncation::LocalTwoParty`]) only the multiplication rounds remain.
//!
//! Coefficients are encoded with the same `f` fractional bits; each term `c_j x^j` then has `2f` bits and the
//! sum is truncated once.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::fixed::FixedPoint;
use crate::preprocessing::Preprocessing;
use crate::protocols::mul::{mul, mul_mapped};
use crate::protocols::trunc::{local_two_party_rule, trunc, trunc_local_two_party};
use crate::ring::PowerOfTwoRing;
use crate::share::Shared;

/// How fixed-point products are truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Truncation {
    /// With truncation pairs: one round, any number of parties.
    #[default]
    Pairs,
    /// SecureML's local truncation: no round, two parties only.
    LocalTwoParty,
}

/// Truncates with the chosen method, drawing pairs from `source` if needed.
pub async fn truncate<R: PowerOfTwoRing>(
    ctx: &mut Context,
    x: &Shared<R>,
    fx: FixedPoint,
    how: Truncation,
    source: &mut dyn Preprocessing<R>,
) -> Result<Shared<R>> {
    match how {
        Truncation::LocalTwoParty if ctx.parties() == 2 => {
            trunc_local_two_party(ctx.id(), x, fx.frac_bits)
        }
        Truncation::LocalTwoParty => Err(Error::InvalidArgument(format!(
            "local truncation with {} parties",
            ctx.parties()
        ))),
        Truncation::Pairs => {
            let pairs = source.trunc_pairs(ctx, x.len(), fx.frac_bits).await?;
            trunc(ctx, x, fx, pairs).await
        }
    }
}

/// Fixed-point element-wise product with truncation.
pub async fn mul_fixed<R: PowerOfTwoRing>(
    ctx: &mut Context,
    x: &Shared<R>,
    y: &Shared<R>,
    fx: FixedPoint,
    how: Truncation,
    source: &mut dyn Preprocessing<R>,
) -> Result<Shared<R>> {
    let triples = source.triples(ctx, x.len()).await?;
    if how == Truncation::LocalTwoParty && ctx.parties() == 2 {
        // The shift is fused into the multiplication's last pass.
        let rule = local_two_party_rule::<R>(ctx.id(), fx.frac_bits)?;
        return mul_mapped(ctx, x, y, triples, rule).await;
    }
    let z = mul(ctx, x, y, triples).await?;
    truncate(ctx, &z, fx, how, source).await
}

/// `sum_j coeffs[j] * x^j` element-wise, for fixed-point shares `x`.
pub async fn eval<R: PowerOfTwoRing>(
    ctx: &mut Context,
    x: &Shared<R>,
    coeffs: &[f64],
    fx: FixedPoint,
    how: Truncation,
    source: &mut dyn Preprocessing<R>,
) -> Result<Shared<R>> {
    let degree = coeffs.len().saturating_sub(1);
    let n = x.len();
    // powers[j] = x^j for j >= 1, with f fractional bits.
    let mut powers: Vec<Shared<R>> = vec![Shared::zeros(n), x.clone()];
    let mut top = 1;
    while top < degree {
        let hi = (2 * top).min(degree);
        let count = hi - top;
        let left = Shared::concat(&vec![&powers[top]; count]);
        let right_parts: Vec<&Shared<R>> = (1..=count).map(|j| &powers[j]).collect();
        let right = Shared::concat(&right_parts);
        let prod = mul_fixed(ctx, &left, &right, fx, how, source).await?;
        for j in 0..count {
            powers.push(prod.slice(j * n..(j + 1) * n)?);
        }
        top = hi;
    }
    let mut acc = vec![R::ZERO; n];
    for (j, &c) in coeffs.iter().enumerate().skip(1) {
        let c: R = fx.encode(c)?;
        acc.iter_mut()
            .zip(powers[j].share_values())
            .for_each(|(a, &p)| *a += c * p);
    }
    let mut out = truncate(ctx, &Shared::from_share(acc), fx, how, source).await?;
    if let Some(&c0) = coeffs.first() {
        out = out.add_public(ctx.id(), &vec![fx.encode::<R>(c0)?; n])?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::InsecureSharedSeed;
    use crate::protocols::open::open;
    use crate::protocols::test_util::{for_parties, shares_of};
    use crate::ring::{Z128, Z64};
    use crate::simulate;

    async fn check<R: PowerOfTwoRing>(n: usize, coeffs: Vec<f64>, how: Truncation) {
        let fx = FixedPoint::default_for::<R>();
        let xf: Vec<f64> = (0..200).map(|i| -4.0 + 8.0 * i as f64 / 199.0).collect();
        let x: Vec<R> = fx.encode_slice(&xf).unwrap();
        let xs = shares_of(&x, n);
        let c2 = coeffs.clone();
        let out = simulate(n, move |mut ctx| {
            let (xs, coeffs) = (xs.clone(), c2.clone());
            async move {
                let mut src = InsecureSharedSeed::<R>::for_context([4; 32], &ctx);
                let x = Shared::from_share(xs[ctx.id()].clone());
                let y = eval(&mut ctx, &x, &coeffs, fx, how, &mut src).await?;
                open(&mut ctx, &y).await
            }
        })
        .await
        .unwrap();
        for (got, &x) in fx.decode_slice(&out[0]).iter().zip(&xf) {
            let want: f64 = coeffs
                .iter()
                .enumerate()
                .map(|(j, c)| c * x.powi(j as i32))
                .sum();
            assert!((got - want).abs() < 1e-3, "p({x}) = {want}, got {got}");
        }
    }

    #[tokio::test]
    async fn polynomials_match_plaintext() {
        let cubic = vec![0.5, 0.197, 0.0, -0.004];
        let quintic = vec![0.1, -0.2, 0.3, 0.01, -0.02, 0.001];
        for_parties(|n| {
            let (cubic, quintic) = (cubic.clone(), quintic.clone());
            async move {
                check::<Z128>(n, cubic.clone(), Truncation::Pairs).await;
                check::<Z64>(n, cubic, Truncation::Pairs).await;
                check::<Z128>(n, quintic, Truncation::Pairs).await;
            }
        })
        .await;
        check::<Z128>(2, cubic, Truncation::LocalTwoParty).await;
    }
}
