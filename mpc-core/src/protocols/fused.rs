//! Truncation whose opening shares a round with the Beaver openings that use its result.
//!
//! The truncation-pair protocol of [`crate::protocols::trunc`] opens `c = x + 2^k + r` and sets
//! `x' = P - r'` with the public `P = (c >> f) - 2^(k-f)` and shares of `r' = r >> f`. A later Beaver
//! multiplication of `x'` with a triple `(a, b, ab)` needs the public difference `x' - a = P - (r' + a)`,
//! and `r' + a` depends on preprocessing only. So the parties open `c` **and** `r' + a` in the same round
//! (for every mask `a` that `x'` will meet) and every product of `x'` costs no round of its own: a chain
//! "multiply, truncate, multiply, truncate" takes one round per link instead of two.
//!
//! Security: `c` is the truncation protocol's own message. What `r' + a` adds depends on the mask `a`:
//!
//! - **Uniform `a`** (every triple of [`crate::preprocessing::Preprocessing::triples`], and the dealer's
//!   triples and squares of every kind): `a` is used nowhere else, so `r' + a` is uniform and independent of
//!   `r'` and of `c`, and reveals nothing (the same argument as Beaver's opening of `x - a`).
//! - **Bounded `a`** (a source may draw each party's share of `a` below `2^b`:
//!   [`crate::preprocessing::Preprocessing::triples_bounded`] and
//!   [`crate::preprocessing::Preprocessing::squares`], as the `ot` source does): `r' + a` is *not* uniform.
//!   To the parties that hold every share but an honest party `h`'s, it gives `r'_h + a_h` with `a_h`
//!   uniform below `2^b`, so it reveals the high bits of `r'_h` (those above about `b`), and `r_h` stays
//!   uniform only on a window of `2^(f + b)` values: its low `f` bits and the `b` bits `a_h` covers. The
//!   opened `c` then hides the value `x` being truncated by those low bits alone, statistically: for
//!   `|x| < 2^m` the view is within statistical distance about `2^(m + 1 - f - b)` of one independent of
//!   `x`, plus the chance `2^(b + f - bits(r_h))` that the window meets an end of `r_h`'s range
//!   ([`crate::preprocessing::TruncPairs`]: uniform in the ring from the dealer, below `2^rho` from the `ot`
//!   source). The truncated `x' = P - r'` itself is hidden in the Beaver difference `x' - a` by `a`'s
//!   bounded shares, statistically (see those methods). `m` is the bound the caller guarantees for `x`, not
//!   the format's `k`: a caller that uses bounded masks states both bounds.
//!
//! The result and its error are those of [`crate::protocols::trunc::trunc`]: at most one unit in the last
//! place (or the source's documented bound), failing with probability below `2^(k+1-l)`.
//!
//! [`PendingTrunc`] holds a truncation between its start and the round that opens it; the caller puts
//! [`PendingTrunc::masked`] and the alignments `r' + a` ([`PendingTrunc::aligned`]) into one
//! [`crate::protocols::open::open_many`], then calls [`PendingTrunc::resolve`], [`differences`] and
//! [`crate::protocols::mul::beaver_local`].

use zeroize::Zeroize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::fixed::FixedPoint;
use crate::preprocessing::TruncPairs;
use crate::ring::PowerOfTwoRing;
use crate::share::Shared;

/// A truncation by `2^fx.frac_bits` whose masked value has not been opened yet.
pub struct PendingTrunc<R: PowerOfTwoRing> {
    fx: FixedPoint,
    masked: Shared<R>,
    r_shifted: Vec<R>,
}

impl<R: PowerOfTwoRing> std::fmt::Debug for PendingTrunc<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PendingTrunc<{}>[{}; <redacted>]",
            R::NAME,
            self.r_shifted.len()
        )
    }
}

impl<R: PowerOfTwoRing> Drop for PendingTrunc<R> {
    fn drop(&mut self) {
        self.r_shifted.zeroize();
    }
}

/// A resolved truncation: the public `P` and this party's share of `x' = P - r'`.
pub struct Resolved<R: PowerOfTwoRing> {
    /// `P = (c >> f) - 2^(k-f)`, public.
    pub public: Vec<R>,
    /// This party's share of the truncated value.
    pub value: Shared<R>,
}

impl<R: PowerOfTwoRing> PendingTrunc<R> {
    /// Starts truncating `x` (with `|x| < 2^fx.bound_bits`) by `fx.frac_bits` bits, consuming one pair per
    /// element. Local: nothing is sent.
    pub fn start(
        ctx: &Context,
        x: &Shared<R>,
        fx: FixedPoint,
        mut pairs: TruncPairs<R>,
    ) -> Result<Self> {
        if pairs.len() != x.len() || pairs.frac_bits() != fx.frac_bits {
            return Err(Error::Shape(format!(
                "truncating {} elements by {} bits with {} pairs for {} bits",
                x.len(),
                fx.frac_bits,
                pairs.len(),
                pairs.frac_bits()
            )));
        }
        if fx.bound_bits + 1 >= R::BITS || fx.frac_bits > fx.bound_bits {
            return Err(Error::InvalidArgument(format!(
                "truncating by {} bits under a bound of 2^{} in {}",
                fx.frac_bits,
                fx.bound_bits,
                R::NAME
            )));
        }
        let offset = if ctx.is_leader() {
            R::pow2(fx.bound_bits)
        } else {
            R::ZERO
        };
        let masked = x
            .share_values()
            .iter()
            .zip(&pairs.r)
            .map(|(&x, &r)| x + r + offset)
            .collect();
        Ok(PendingTrunc {
            fx,
            masked: Shared::from_share(masked),
            r_shifted: std::mem::take(&mut pairs.r_shifted),
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.r_shifted.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.r_shifted.is_empty()
    }

    /// The value to open (perfectly or statistically hiding, as the pairs are).
    pub fn masked(&self) -> &Shared<R> {
        &self.masked
    }

    /// Shares of `r' + a` for a mask `a` (this party's shares) that the truncated value will be used with:
    /// open it in the same round as [`PendingTrunc::masked`], then [`differences`] gives `x' - a`.
    pub fn aligned(&self, a: &[R]) -> Result<Shared<R>> {
        self.aligned_scaled(R::ONE, a)
    }

    /// Shares of `scale r' + a`, for a later operand that is a linear combination in which the truncated
    /// value appears with the public factor `scale` (open it like [`PendingTrunc::aligned`]).
    pub fn aligned_scaled(&self, scale: R, a: &[R]) -> Result<Shared<R>> {
        if a.len() != self.len() {
            return Err(Error::Shape(format!(
                "aligning {} masks with {} truncated elements",
                a.len(),
                self.len()
            )));
        }
        Ok(Shared::from_share(
            self.r_shifted
                .iter()
                .zip(a)
                .map(|(&r, &a)| scale * r + a)
                .collect(),
        ))
    }

    /// Finishes the truncation with the opened `c`: the public `P` and the shares of `x' = P - r'`.
    pub fn resolve(mut self, leader: bool, c: &[R]) -> Result<Resolved<R>> {
        if c.len() != self.len() {
            return Err(Error::Shape(format!(
                "{} opened values for {} truncations",
                c.len(),
                self.len()
            )));
        }
        let f = self.fx.frac_bits;
        let unshift = R::pow2(self.fx.bound_bits - f);
        let public: Vec<R> = c.iter().map(|&c| c.shr_logical(f) - unshift).collect();
        let mut value = std::mem::take(&mut self.r_shifted);
        if leader {
            value
                .iter_mut()
                .zip(&public)
                .for_each(|(v, &p)| *v = p - *v);
        } else {
            value.iter_mut().for_each(|v| *v = -*v);
        }
        Ok(Resolved {
            public,
            value: Shared::from_share(value),
        })
    }
}

/// `x' - a = P - (r' + a)` element-wise, from the public `P` and an opened alignment.
pub fn differences<R: PowerOfTwoRing>(public: &[R], opened_alignment: &[R]) -> Result<Vec<R>> {
    if public.len() != opened_alignment.len() {
        return Err(Error::Shape(format!(
            "{} public values against {} alignments",
            public.len(),
            opened_alignment.len()
        )));
    }
    Ok(public
        .iter()
        .zip(opened_alignment)
        .map(|(&p, &o)| p - o)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{DealerSource, InsecureSharedSeed, Preprocessing};
    use crate::protocols::mul::{beaver_local, mul};
    use crate::protocols::open::{open, open_many};
    use crate::protocols::test_util::{for_parties, shares_of};
    use crate::ring::{Z128, Z64};
    use crate::simulate::{collect, simulate_with, SimOptions};

    /// `((x y) / 2^f) * z` with the truncation fused into the product's opening, against f64, and in one round
    /// fewer than truncating and multiplying apart.
    async fn check<R: PowerOfTwoRing>(n: usize, fx: FixedPoint, dealer: bool) {
        let len = 300;
        let xs: Vec<f64> = (0..len).map(|i| (i as f64 - 150.0) / 7.0).collect();
        let ys: Vec<f64> = (0..len)
            .map(|i| ((i * 37) % 101) as f64 / 13.0 - 3.0)
            .collect();
        let zs: Vec<f64> = (0..len)
            .map(|i| ((i * 11) % 23) as f64 / 5.0 - 2.0)
            .collect();
        let enc = |v: &[f64]| fx.encode_slice::<R>(v).unwrap();
        let (x, y, z) = (
            shares_of(&enc(&xs), n),
            shares_of(&enc(&ys), n),
            shares_of(&enc(&zs), n),
        );
        let opts = SimOptions {
            dealer,
            ..Default::default()
        };
        let out = simulate_with(opts, n, move |mut ctx| {
            let (x, y, z) = (x.clone(), y.clone(), z.clone());
            async move {
                let me = ctx.id();
                let mut src: Box<dyn Preprocessing<R>> = if dealer {
                    Box::new(DealerSource::connect(&ctx).await?)
                } else {
                    Box::new(InsecureSharedSeed::for_context([5; 32], &ctx))
                };
                let (x, y, z) = (
                    Shared::from_share(x[me].clone()),
                    Shared::from_share(y[me].clone()),
                    Shared::from_share(z[me].clone()),
                );
                let t = src.triples(&mut ctx, len).await?;
                let xy = mul(&mut ctx, &x, &y, t).await?;
                let pairs = src.trunc_pairs(&mut ctx, len, fx.frac_bits).await?;
                let t2 = src.triples(&mut ctx, len).await?;
                let before = ctx.stats().rounds;
                let pending = PendingTrunc::start(&ctx, &xy, fx, pairs)?;
                let aligned = pending.aligned(t2.a_share())?;
                let z_masked = Shared::from_share(
                    z.share_values()
                        .iter()
                        .zip(t2.b_share())
                        .map(|(&z, &b)| z - b)
                        .collect(),
                );
                let opened = open_many(&mut ctx, &[pending.masked(), &aligned, &z_masked]).await?;
                let resolved = pending.resolve(ctx.is_leader(), &opened[0])?;
                let d = differences(&resolved.public, &opened[1])?;
                let prod = beaver_local(ctx.is_leader(), &d, &opened[2], t2)?;
                let rounds = ctx.stats().rounds - before;
                let out = open(&mut ctx, &prod).await?;
                let truncated = open(&mut ctx, &resolved.value).await?;
                Ok((out, truncated, rounds))
            }
        })
        .await
        .unwrap();
        let ulp = 1.0 / fx.scale();
        for (out, truncated, rounds) in collect(out).unwrap() {
            assert_eq!(rounds, 1, "truncation and product share one round");
            for i in 0..len {
                // Against the product of the encoded inputs, so that only the truncation error remains.
                let xy = fx.decode(fx.encode::<R>(xs[i]).unwrap())
                    * fx.decode(fx.encode::<R>(ys[i]).unwrap());
                let t = fx.decode(truncated[i]);
                assert!((t - xy).abs() <= n as f64 * ulp + 1e-9, "{t} vs {xy}");
                // The product is at 2f fractional bits.
                let got = fx.decode(out[i]) / fx.scale();
                let want = t * fx.decode(fx.encode::<R>(zs[i]).unwrap());
                assert!((got - want).abs() <= 2.0 * ulp, "{got} vs {want}");
            }
        }
    }

    #[tokio::test]
    async fn fused_truncation_then_product_matches_f64() {
        for_parties(|n| async move {
            for dealer in [false, true] {
                check::<Z128>(n, FixedPoint::Z128_DEFAULT, dealer).await;
            }
        })
        .await;
    }

    /// The first case of the module docs: the dealer's masks stay uniform even where a bound is allowed
    /// (`triples_bounded`, `squares` with `mask_bits < 128`): no share of `a` is below `2^41`, which a
    /// share drawn below `2^40` always is and a uniform one is with probability `2^-87`.
    #[tokio::test]
    async fn dealer_masks_are_uniform_even_where_a_bound_is_allowed() {
        let sim = SimOptions {
            dealer: true,
            ..SimOptions::default()
        };
        let out = simulate_with(sim, 2, |mut ctx| async move {
            let mut src = DealerSource::<Z128>::connect(&ctx).await?;
            let triples = src.triples_bounded(&mut ctx, 64, 40).await?;
            let squares = src.squares(&mut ctx, 64, true, 40).await?;
            Ok(triples
                .a_share()
                .iter()
                .chain(squares.a_share())
                .all(|v| v.to_u128() >= 1 << 41))
        })
        .await
        .unwrap();
        for uniform in collect(out).unwrap() {
            assert!(uniform, "a dealer mask share below 2^41");
        }
    }

    #[tokio::test]
    async fn shape_mismatches_are_errors() {
        let out = simulate_with(SimOptions::default(), 2, |mut ctx| async move {
            let mut src = InsecureSharedSeed::<Z64>::for_context([1; 32], &ctx);
            let pairs = src.trunc_pairs(&mut ctx, 3, 16).await?;
            let x = Shared::<Z64>::zeros(4);
            let e = PendingTrunc::start(&ctx, &x, FixedPoint::Z64_DEFAULT, pairs).unwrap_err();
            Ok(e.to_string())
        })
        .await
        .unwrap();
        for e in collect(out).unwrap() {
            assert!(e.contains("4 elements") && e.contains("3 pairs"), "{e}");
        }
    }
}
