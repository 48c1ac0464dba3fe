//! One mini-batch gradient step on shares: for logistic regression 7 rounds plus the clamp's (16 for three
//! parties and breast cancer's bound: [`ClampPlan::rounds`]), 2 for linear regression.
//!
//! Every truncation is opened in the same round as the Beaver openings of the products that use its result
//! ([`mpc_core::protocols::fused`]), and the weight update's truncation is opened with the next step's
//! forward product. With `X_b` the batch rows of the masked data matrix ([`MaskedMatrix`]), `w` the weights
//! and `f` = 20 fractional bits:
//!
//! | round | opens | then computes locally |
//! | --- | --- | --- |
//! | 1 | the previous update `+ r`, and `w + r' - B` | `w` updated, `z = X_b w` (2f bits) |
//! | clamp | bits of the comparisons, daBits, two products ([`mpc_core::protocols::compare::clamp`]) | `z` clamped to `[-5.5, 5.5]` |
//! | 2' | `z / 6 + r`, and `t`'s alignment with its mask | `t`, `u2 = t t` |
//! | 3 | `u2 + r`, and `u`'s alignment | `u = t^2`, `v2 = u u` |
//! | 4 | `v2 + r`, and the alignments of `v` and of `w = C2 + C3 u + C4 v` | `v = t^4`, `v w`, `q` (3f bits) |
//! | 5 | `q + r`, and `q`'s alignment | `g = t q + 1/2 - y` (2f bits; `t`'s mask is reused) |
//! | 6 | `g + r`, and `g' - B` for the backward product | `X_b^T g'`, the update (3f bits, pending) |
//!
//! Linear regression has `g = z - y` after round 1 and goes straight to round 6: 2 rounds per step. The
//! sigmoid is the degree-9 odd polynomial of [`crate::sigmoid`] of the clamped `z`, `1/2 + t q(u)` with `t = z / 6`, `u = t^2`,
//! `q(u) = C0 + C1 u + C2 u^2 + C3 u^3 + C4 u^4 = C0 + C1 u + v w` with `v = u^2` and
//! `w = C2 + C3 u + C4 v`: `w` is a public combination of two truncated values, so its Beaver difference is
//! public once their alignments are opened, and one product replaces `u v` and `v v`.
//!
//! `t` is masked once for both of its products: a square pair with a product (`a`, `a^2`, `b`, `a b`,
//! [`mpc_core::preprocessing::Squares`]) serves `t t` and `t q`, a square pair without one serves `u u`, and
//! only `v w` takes a triple, whose `a` (the mask of `v`) is short. With `ot` preprocessing that is about a
//! quarter fewer bytes than four triples (one OT per bit of `a` carries both of `t`'s products, and a square
//! needs only half of the pairs of parties), and the short masks take fewer OTs per element than 128 (77
//! for breast cancer, where 70 and 72 hid each value with 40 bits but not the run).
//!
//! The mask sizes and each truncation's bound `k` are the run's ([`StepParams`], from [`crate::hiding`] and
//! [`crate::bounds`]): the masks are sized so that the whole run stays within statistical distance
//! `2^-sigma`, and each truncation opens `x + 2^k + r` with the `k` of its own input's public bound instead
//! of the format's 87, which is what keeps the `ot` source's truncations (masks of `125` bits or so) and a
//! dealer's truncation failures within that budget.
//!
//! Per step of `b` rows and `d + 1` weights (logistic): `b` square pairs with products, `b` without, `b`
//! triples with short `a`, truncation pairs for `4b` plus `b` and `d + 1` elements, and two mask triples.
//!
use mpc_core::preprocessing::{MaskUse, Preprocessing};
use mpc_core::protocols::bits::open_bits;
use mpc_core::protocols::compare::{clamp, clamp_flagged, less_than_zero, ClampPlan};
use mpc_core::protocols::fused::{differences, PendingTrunc};
use mpc_core::protocols::matmul::MaskedMatrix;
use mpc_core::protocols::mul::beaver_local;
use mpc_core::protocols::open::{open_many, open_owned};
use mpc_core::{Context, FixedPoint, Result, Ring, Shared, Z128};

use crate::bounds::ValueBounds;
use crate::hiding::Plan;
use crate::prefetch::{Need, Prefetched};
use crate::secure::FORMAT;
use crate::sigmoid::{CLAMP_AT, COEFFS, RANGE};

/// The bits the clamp compares with: the operand (`z` for logistic regression, the residual `z - y` for
/// linear) at 40 fractional bits, exactly, so nothing is truncated before it (a truncation would add a
/// statistically hidden value per row to the run's budget, [`crate::hiding`], and an error to the
/// threshold). Its public bound comes from the run's value bounds ([`crate::bounds`]: the clamped sigmoid
/// or residual bounds every gradient, the step count and learning rate bound the weights, the values'
/// public bound bounds `x . w`), so `2^bits` must exceed `2^40 (|operand| + threshold)`. An error if `z` at 40
/// fractional bits would pass the format's bound `2^87` (then fewer steps, a smaller learning rate or a
/// smaller value bound are needed).
fn clamp_bound_bits(bounds: &ValueBounds, linear: bool) -> Result<u32> {
    let (operand, at) = if linear {
        (bounds.z + bounds.y, residual_bound(bounds.x))
    } else {
        (bounds.z, CLAMP_AT)
    };
    let f = 2 * FORMAT.frac_bits;
    let limit = ((FORMAT.bound_bits - f) as f64).exp2();
    if operand.is_nan() || operand >= limit {
        return Err(mpc_core::Error::InvalidArgument(format!(
            "the public bound of x . w after {} steps ({operand:.3e}) is beyond the fixed-point range \
             ({limit:.3e}): train for fewer epochs or with a smaller learning rate",
            bounds.steps
        )));
    }
    Ok(((operand + at) * (f as f64).exp2() + 1.0).log2().ceil() as u32 + 1)
}

/// Linear regression clamps each residual `z - y` to `+-residual_bound(x_max)` (twice the public bound of
/// the standardized values, which bounds the label too): a descent that converges never comes near it (at
/// the start `w = 0` and the residual is `-y`), so the clamp only bounds the weights by construction, as the
/// sigmoid's does for logistic regression; a run in which any residual was clamped (a diverging descent) is
/// stopped after its last step ([`Weights::check_unclamped`]), never ended with a wrong model.
pub(crate) fn residual_bound(x_max: f64) -> f64 {
    2.0 * x_max
}

/// The public constants of the steps.
pub(crate) struct StepParams {
    linear: bool,
    /// Bits of the clamp's comparisons ([`clamp_bound_bits`]).
    clamp_bits: u32,
    parties: usize,
    /// Linear regression's residual bound ([`residual_bound`]).
    residual: f64,
    learning_rate: f64,
    /// `lr * l2` at 40 fractional bits.
    l2: Z128,
    inv_range: Z128,
    coeffs: [Z128; 5],
    /// Bits of each party's share of the masks of `t` and `u` (the `ot` source needs that many OTs per
    /// element instead of 128), sized for the run ([`crate::hiding`]).
    square_mask_bits: u32,
    /// Bits of each party's share of the mask `a` of `v = t^4` in `v w` (`w`'s mask `b` stays uniform).
    product_mask_bits: u32,
    /// The formats of the step's truncations, each under its own input's bound ([`crate::bounds`]): `z / 24`,
    /// `t^2`, `t^4`, `q`, `g` and the update.
    fx: [FixedPoint; 6],
}

impl StepParams {
    pub(crate) fn new(
        linear: bool,
        learning_rate: f64,
        l2: f64,
        parties: usize,
        plan: &Plan,
    ) -> Result<Self> {
        let f = FORMAT.frac_bits;
        let mut coeffs = [Z128::ZERO; 5];
        for (c, &v) in coeffs.iter_mut().zip(&COEFFS) {
            *c = FORMAT.encode(v)?;
        }
        let tr = &plan.bounds.truncs;
        let fmt = |t, shift| {
            Plan::format(t, shift).map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))
        };
        Ok(StepParams {
            linear,
            clamp_bits: clamp_bound_bits(&plan.bounds, linear)?,
            parties,
            residual: residual_bound(plan.bounds.x),
            learning_rate,
            l2: Z128::from_i128((learning_rate * l2 * ((2 * f) as f64).exp2()).round() as i128),
            inv_range: FORMAT.encode(1.0 / RANGE)?,
            coeffs,
            square_mask_bits: plan.sizes.square_mask_bits,
            product_mask_bits: plan.sizes.product_mask_bits,
            fx: [
                fmt(tr.t, 2 * f)?,
                fmt(tr.u, f)?,
                fmt(tr.v, f)?,
                fmt(tr.q, 2 * f)?,
                fmt(Some(tr.g), f)?,
                fmt(Some(tr.update), 2 * f)?,
            ],
        })
    }
}

/// The rows `s..e` of the data matrix, transposed or not, for a one-column right operand.
pub(crate) fn mask_use(row_start: usize, row_end: usize, transpose: bool) -> MaskUse {
    MaskUse {
        row_start,
        row_end,
        transpose,
        cols: 1,
    }
}

/// The requests of one [`step`] on rows `s..e` with `d + 1` weights, in the order the step consumes them.
pub(crate) fn needs(s: usize, e: usize, weights: usize, p: &StepParams) -> Vec<Need> {
    let (b, f) = (e - s, FORMAT.frac_bits);
    let mut v = vec![Need::Mask(mask_use(s, e, false))];
    let clamp = ClampPlan::new(b, p.clamp_bits, p.parties);
    let clamp_needs = |v: &mut Vec<Need>| {
        v.extend(clamp.and_words.iter().map(|&w| Need::BitTriples(w)));
        v.extend([
            Need::DaBits(clamp.dabits),
            Need::Triples(clamp.triples, Z128::BITS),
        ]);
    };
    if p.linear {
        clamp_needs(&mut v);
    } else {
        v.extend([
            Need::Squares(b, true, p.square_mask_bits),
            Need::Squares(b, false, p.square_mask_bits),
            Need::Triples(b, p.product_mask_bits),
        ]);
        clamp_needs(&mut v);
        v.extend([
            Need::Trunc(b, 2 * f),
            Need::Trunc(b, f),
            Need::Trunc(b, f),
            Need::Trunc(b, 2 * f),
        ]);
    }
    v.extend([
        Need::Trunc(b, f),
        Need::Mask(mask_use(s, e, true)),
        Need::Trunc(weights, 2 * f),
    ]);
    v
}

/// The shared weights (20 fractional bits) and the last step's update, whose truncation is still to be
/// opened.
pub(crate) struct Weights {
    w: Shared<Z128>,
    pending: Option<PendingTrunc<Z128>>,
    /// Linear regression: the number of residuals clamped so far, shared.
    clamped: Shared<Z128>,
}

impl Weights {
    pub(crate) fn zeros(len: usize) -> Self {
        Weights {
            w: Shared::zeros(len),
            pending: None,
            clamped: Shared::zeros(1),
        }
    }

    /// The weights, as of the last applied update.
    pub(crate) fn current(&self) -> &Shared<Z128> {
        &self.w
    }

    /// Linear regression, after the last step: stops the run if any residual was clamped (the descent
    /// diverged), opening one bit to every party: whether the count of clamped residuals is zero.
    /// `at_most` bounds that count (every residual of every step).
    pub(crate) async fn check_unclamped(
        &self,
        ctx: &mut Context,
        source: &mut dyn Preprocessing<Z128>,
        at_most: usize,
    ) -> Result<bool> {
        let bits = (at_most as f64 + 1.0).log2().ceil() as u32 + 1;
        let negated = self.clamped.scale(-Z128::ONE);
        let any = less_than_zero(ctx, source, &negated, bits).await?;
        let opened = open_bits(ctx, &any).await?;
        Ok(opened[0] & 1 == 0)
    }

    /// Opens and applies a pending update on its own (one round); nothing if there is none.
    pub(crate) async fn settle(&mut self, ctx: &mut Context) -> Result<()> {
        if let Some(p) = self.pending.take() {
            let c = open_owned(ctx, p.masked().clone()).await?;
            let r = p.resolve(ctx.is_leader(), &c)?;
            self.w = self.w.try_sub(&r.value)?;
        }
        Ok(())
    }
}

fn sub(x: &[Z128], y: &[Z128]) -> Vec<Z128> {
    x.iter().zip(y).map(|(&x, &y)| x - y).collect()
}

/// One gradient step on rows `s..e` of `masked` with their labels `y`: applies the previous step's pending
/// update, and leaves this step's update pending in `weights`.
pub(crate) async fn step(
    ctx: &mut Context,
    masked: &MaskedMatrix<Z128>,
    pre: &mut Prefetched,
    weights: &mut Weights,
    y: &Shared<Z128>,
    (s, e): (usize, usize),
    p: &StepParams,
) -> Result<()> {
    let lead = ctx.is_leader();
    let (b, f) = (e - s, FORMAT.frac_bits);
    let lift = Z128::from_i128(1i128 << f);

    // Round 1: the previous update, and the forward product's opening.
    let fwd = mask_use(s, e, false);
    let tf = pre.mask_triple_for(&fwd)?;
    let w_minus_b = sub(weights.w.share_values(), tf.b_share());
    let f_fwd = match weights.pending.take() {
        None => open_owned(ctx, Shared::from_share(w_minus_b)).await?,
        Some(pending) => {
            let aligned = pending.aligned(&w_minus_b)?;
            let o = open_many(ctx, &[pending.masked(), &aligned]).await?;
            let r = pending.resolve(lead, &o[0])?;
            weights.w = weights.w.try_sub(&r.value)?;
            // w_new - B = (w - B + r') - P.
            sub(&o[1], &r.public)
        }
    };
    let z = masked.mul_opened(lead, &fwd, &f_fwd, tf)?.into_shared();
    let y_lifted = y.scale(lift);

    let g = if p.linear {
        // The residual, clamped to the public bound (compared exactly at 40 fractional bits); clamped
        // residuals are counted and stop the run after its last step.
        let g = z.try_sub(&y_lifted)?;
        let at = |sign: f64| Z128::from_i128((sign * p.residual * ((2 * f) as f64).exp2()) as i128);
        let (g, flags) = clamp_flagged(ctx, pre, &g, at(-1.0), at(1.0), p.clamp_bits).await?;
        weights.clamped = weights.clamped.try_add(&flags.sum())?;
        g
    } else {
        // t is masked once by `a` for t t and t q (a square pair with a product), u by a square pair, and
        // v w takes a triple.
        let sq_t = pre.squares(ctx, b, true, p.square_mask_bits).await?;
        let sq_u = pre.squares(ctx, b, false, p.square_mask_bits).await?;
        let t3 = pre.triples_bounded(ctx, b, p.product_mask_bits).await?;

        // The clamp's rounds: z to [-5.5, 5.5], compared exactly at 40 fractional bits.
        let at = |sign: f64| Z128::from_i128((sign * CLAMP_AT * ((2 * f) as f64).exp2()) as i128);
        let z = clamp(ctx, pre, &z, at(-1.0), at(1.0), p.clamp_bits).await?;

        // t = z / 6, aligned with its mask.
        let pt = pre.trunc_pairs(ctx, b, 2 * f).await?;
        let pt = PendingTrunc::start(ctx, &z.scale(p.inv_range), p.fx[0], pt)?;
        let a1 = pt.aligned(sq_t.a_share())?;
        let o = open_many(ctx, &[pt.masked(), &a1]).await?;
        let rt = pt.resolve(lead, &o[0])?;
        let d1 = differences(&rt.public, &o[1])?;
        let (t1, t5) = sq_t.into_triples();
        let t5 = t5.ok_or_else(|| {
            mpc_core::Error::Preprocessing("square pairs without products".into())
        })?;
        let u2 = beaver_local(lead, &d1, &d1, t1)?;

        // Round 3: u = t^2, aligned with its mask.
        let pu = pre.trunc_pairs(ctx, b, f).await?;
        let pu = PendingTrunc::start(ctx, &u2, p.fx[1], pu)?;
        let a2 = pu.aligned(sq_u.a_share())?;
        let o = open_many(ctx, &[pu.masked(), &a2]).await?;
        let ru = pu.resolve(lead, &o[0])?;
        let d2 = differences(&ru.public, &o[1])?;
        let v2 = beaver_local(lead, &d2, &d2, sq_u.into_triples().0)?;

        // Round 4: v = t^4, aligned for v w (t3), where w = C2 + C3 u + C4 v (40 fractional bits) is known
        // as public minus the mask C3 r'_u + C4 r'_v.
        let c = &p.coeffs;
        let pv = pre.trunc_pairs(ctx, b, f).await?;
        let pv = PendingTrunc::start(ctx, &v2, p.fx[2], pv)?;
        // This party's shares of C3 r'_u + b3 (r'_u = P_u - u).
        let c3_ru_b3: zeroize::Zeroizing<Vec<Z128>> = zeroize::Zeroizing::new(
            ru.value
                .share_values()
                .iter()
                .zip(&ru.public)
                .zip(t3.b_share())
                .map(|((&u, &pu), &b3)| c[3] * (if lead { pu } else { Z128::ZERO } - u) + b3)
                .collect(),
        );
        let (a3, b3) = (
            pv.aligned(t3.a_share())?,
            pv.aligned_scaled(c[4], &c3_ru_b3)?,
        );
        let o = open_many(ctx, &[pv.masked(), &a3, &b3]).await?;
        let rv = pv.resolve(lead, &o[0])?;
        let d3 = differences(&rv.public, &o[1])?;
        let w_public: Vec<Z128> = ru
            .public
            .iter()
            .zip(&rv.public)
            .map(|(&pu, &pv)| c[2] * lift + c[3] * pu + c[4] * pv)
            .collect();
        let e3 = differences(&w_public, &o[2])?;
        let vw = beaver_local(lead, &d3, &e3, t3)?;
        // q = C0 + C1 u + v w at 3f fractional bits.
        let c0 = if lead { c[0] * lift * lift } else { Z128::ZERO };
        let q: Vec<Z128> = ru
            .value
            .share_values()
            .iter()
            .zip(vw.share_values())
            .map(|(&u, &vw)| c[1] * u * lift + vw + c0)
            .collect();

        // Round 5: q to f bits, aligned for t q (t5).
        let pq = pre.trunc_pairs(ctx, b, 2 * f).await?;
        let pq = PendingTrunc::start(ctx, &Shared::from_share(q), p.fx[3], pq)?;
        let b5 = pq.aligned(t5.b_share())?;
        let o = open_many(ctx, &[pq.masked(), &b5]).await?;
        let rq = pq.resolve(lead, &o[0])?;
        let e5 = differences(&rq.public, &o[1])?;
        let odd = beaver_local(lead, &d1, &e5, t5)?;
        let half = Z128::from_i128(1i128 << (2 * f - 1));
        let mut g = odd.try_sub(&y_lifted)?;
        if lead {
            g.share_values_mut().iter_mut().for_each(|v| *v += half);
        }
        g
    };

    // Round 6 (2 for linear): g to f bits, aligned for the backward product.
    let bwd = mask_use(s, e, true);
    let pg = pre.trunc_pairs(ctx, b, f).await?;
    let tb = pre.mask_triple_for(&bwd)?;
    let pg = PendingTrunc::start(ctx, &g, p.fx[4], pg)?;
    let aligned = pg.aligned(tb.b_share())?;
    let o = open_many(ctx, &[pg.masked(), &aligned]).await?;
    let rg = pg.resolve(lead, &o[0])?;
    let f_bwd = differences(&rg.public, &o[1])?;
    let grad = masked.mul_opened(lead, &bwd, &f_bwd, tb)?.into_shared();

    // The update at 3f bits, truncated by 2f with the next round.
    let step_scale = FORMAT.encode(p.learning_rate / b as f64)?;
    let mut upd = grad.scale(step_scale);
    let d = upd.len() - 1;
    for (u, &wj) in upd.share_values_mut()[..d]
        .iter_mut()
        .zip(&weights.w.share_values()[..d])
    {
        *u += wj * p.l2;
    }
    let pairs = pre.trunc_pairs(ctx, d + 1, 2 * f).await?;
    weights.pending = Some(PendingTrunc::start(ctx, &upd, p.fx[5], pairs)?);
    Ok(())
}
