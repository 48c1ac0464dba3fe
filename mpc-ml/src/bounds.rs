//! Public bounds on the values of a gradient-descent run, computed by every party alike from public
//! parameters only (row and feature counts, the training options, the number of parties).
//!
//! They size the run's statistically hiding masks and its truncations ([`crate::hiding`]): a truncation of
//! a value below `2^k` (after scaling) opens it under a mask whose hiding, with `ot` preprocessing, or whose
//! failure probability, with a dealer, grows with `2^k`, so each truncation of [`crate::step`] uses the `k`
//! of its own bound ([`TruncBound::format`]) instead of the format's 87.
//!
//! Values, in real units (before fixed-point scaling by `2^20`), with `T` the run's gradient steps, `n` the
//! parties and `e = (n + 1) 2^-20` the error of one truncation (at most `n` units in the last place with the
//! `ot` source, one with a dealer) plus its rounding:
//!
//! - `X`: every training value (and the intercept's 1) is below the owned-value limit of
//!   [`crate::secure`]: Samuelson's inequality bounds a standardized value by `sqrt(rows - 1)` standard
//!   deviations (the run checks it; 1% and 1 are added for the fixed-point statistics), or 64 without
//!   standardization. Labels: 0 or 1 (logistic), below `X` (linear, standardized like the features).
//! - Logistic regression. `t = z / 24` is within `[-1 - 2^-10, 1 + 2^-10]` ([`T_BOUND`]). **Assumption:**
//!   this holds by construction once `z` is clamped before the polynomial (issue 17's secure comparison,
//!   written in another change); until then a `|z|` beyond `24 (1 + 2^-10)` leaves the stated statistical
//!   security (not the result's correctness, which the truncations keep with overwhelming probability since
//!   their masks are far wider). Then `u = t^2`, `v = u^2`, `q(u)` and `g = s(z) - y` follow with the
//!   truncation errors added; `|q|` and `|t q(t^2)|` are bounded on a grid plus the polynomial's Lipschitz
//!   constant times half the grid step, and `|g| <= max(1 + 2^-10, 1/2 + max |t q(t^2)|)` (the first for a
//!   clamped sigmoid output, the second for the polynomial of [`crate::sigmoid`]). A weight changes by at
//!   most `lr' |g| X + e` per step (`lr' = lr + b 2^-21` for the fixed-point `lr / b`), shrunk or grown by
//!   the decay `|1 - lr l2|`, so `|w_j| <= T (lr' |g| X + e)` when `lr l2 <= 2` (else the geometric sum).
//! - Linear regression. Each residual is clamped to `+-r` (`crate::step::residual_bound`, twice `X`; a run
//!   that clamped any stops with an error), so `|g| <= r` and `|w_j| <= T (lr' r X + e)` by construction.
//! - `Z = (d + 1) W X` bounds `z = x w`; the update of a step is below `lr' |g| X + lr l2 W`.

use mpc_core::FixedPoint;

use crate::config::{ModelKind, TrainConfig};
use crate::error::{Error, Result};
use crate::secure::{owned_value_limit, FORMAT};
use crate::sigmoid::COEFFS;

/// The bound of `|t|`, `t = z / 24`, that the clamp of `z` guarantees (see the module docs).
pub const T_BOUND: f64 = 1.0 + 1.0 / 1024.0;

/// The public shape of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunShape {
    /// Training rows in all.
    pub rows: usize,
    /// Features, without the intercept.
    pub features: usize,
    /// Computing parties.
    pub parties: usize,
}

/// A truncation: its input's bound in real units at `frac_bits` fractional bits, truncated by `shift` bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TruncBound {
    /// `|x|` before scaling is below this.
    pub input: f64,
    /// Fractional bits of the input.
    pub frac_bits: u32,
    /// Bits truncated.
    pub shift: u32,
}

impl TruncBound {
    /// `log2` of the scaled bound: `|x 2^frac_bits| < 2^scaled_log2()`.
    pub fn scaled_log2(&self) -> f64 {
        self.input.log2() + self.frac_bits as f64
    }

    /// The smallest `k` with `|x| < 2^k` after scaling.
    pub fn bound_bits(&self) -> u32 {
        (self.scaled_log2().floor() + 1.0).max(self.shift as f64 + 1.0) as u32
    }

    /// The truncation's format (`k` of [`TruncBound::bound_bits`]); an error if it exceeds the training
    /// format's bound.
    pub fn format(&self, what: &str) -> Result<FixedPoint> {
        let k = self.bound_bits();
        if k > FORMAT.bound_bits {
            return Err(Error::option(
                "learning-rate",
                format!(
                    "{what} may reach 2^{k} at {} fractional bits, beyond the fixed-point bound 2^{}: fewer epochs or a smaller learning rate",
                    self.frac_bits, FORMAT.bound_bits
                ),
            ));
        }
        Ok(FixedPoint {
            frac_bits: self.shift,
            bound_bits: k,
        })
    }

    /// The bound of the truncated value (`input / 2^(frac_bits - shift)`), as a count of units of
    /// `2^-(frac_bits - shift)`: `|x| / 2^shift` after scaling.
    pub fn shifted(&self) -> f64 {
        (self.scaled_log2() - self.shift as f64).exp2()
    }
}

/// The truncations of one step ([`crate::step::step`]), in its order; the logistic ones are `None` for
/// linear regression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepTruncs {
    /// `z / 24` (round 2): `z` (40 fractional bits) times `1/24` (20), by 40.
    pub t: Option<TruncBound>,
    /// `t^2` (round 3), by 20.
    pub u: Option<TruncBound>,
    /// `t^4` (round 4), by 20.
    pub v: Option<TruncBound>,
    /// `q(u)` (round 5) at 60 fractional bits, by 40.
    pub q: Option<TruncBound>,
    /// The error `g` (round 6; linear: round 2), by 20.
    pub g: TruncBound,
    /// The weight update at 60 fractional bits, by 40 (opened with the next step).
    pub update: TruncBound,
}

/// The public bounds of a run (real units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueBounds {
    /// Gradient steps of the run.
    pub steps: usize,
    /// Every training value.
    pub x: f64,
    /// Every label.
    pub y: f64,
    /// Every weight, at every step.
    pub w: f64,
    /// `z = x w`.
    pub z: f64,
    /// The truncations of a step.
    pub truncs: StepTruncs,
}

/// One truncation's error bound (units in the last place, plus the rounding of the value's encoding).
fn trunc_error(parties: usize) -> f64 {
    (parties as f64 + 1.0) * (-(FORMAT.frac_bits as f64)).exp2()
}

/// `max |p(x)|` over `[0, hi]` for `p(x) = sum c[k] x^e[k]`: the grid's maximum plus the Lipschitz bound
/// times half the grid's step.
fn poly_max(c: &[(f64, i32)], hi: f64) -> f64 {
    const GRID: usize = 1 << 14;
    let p = |x: f64| c.iter().map(|&(c, e)| c * x.powi(e)).sum::<f64>();
    let lipschitz: f64 = c
        .iter()
        .filter(|&&(_, e)| e > 0)
        .map(|&(c, e)| (c * e as f64).abs() * hi.powi(e - 1))
        .sum();
    let h = hi / GRID as f64;
    let grid = (0..=GRID)
        .map(|i| p(i as f64 * h).abs())
        .fold(0.0, f64::max);
    grid + lipschitz * h / 2.0
}

impl ValueBounds {
    /// The bounds of a gradient-descent run of `config` on `shape`.
    pub fn new(shape: &RunShape, config: &TrainConfig) -> Result<Self> {
        let f = FORMAT.frac_bits;
        let ulp = (-(f as f64)).exp2();
        let e = trunc_error(shape.parties);
        let steps = crate::plain::batches(shape.rows, config.batch_size).len() * config.epochs;
        let x = owned_value_limit(shape.rows, config.standardize).max(1.0) + ulp;
        let linear = config.model == ModelKind::Linear;
        let y = if linear { x } else { 1.0 };
        // The fixed-point lr / b times b, and lr l2 at 40 fractional bits.
        let lr = config.learning_rate + config.batch_size as f64 * ulp / 2.0;
        let lr_l2 = config.learning_rate * config.l2 + (-(2.0 * f as f64) - 1.0).exp2();
        let at = |input: f64, frac_bits: u32, shift: u32| TruncBound {
            input,
            frac_bits,
            shift,
        };
        let (w, z, t, u, v, q, g) = if linear {
            // The residual is clamped to +-r (`crate::step::residual_bound`).
            let r = crate::step::residual_bound(x);
            let w = steps as f64 * (lr * (r + e) * x + e);
            let z = (shape.features + 1) as f64 * w * x;
            (w, z, None, None, None, None, at(r + e, 2 * f, f))
        } else {
            // 1/24 at 20 fractional bits is off by at most 2^-21: relative 2^-16.4.
            let t = at(T_BOUND * (1.0 + (-14.0f64).exp2()), 3 * f, 2 * f);
            let t_out = t.input + e;
            let u = at(t_out * t_out, 2 * f, f);
            let u_out = u.input + e;
            let v = at(u_out * u_out, 2 * f, f);
            // q(u) = C0 + C1 u + ... + C4 u^4 at 60 fractional bits, with 2^-8 for the fixed-point
            // evaluation (coefficients below 48 times a few units in the last place).
            let qc: Vec<(f64, i32)> = COEFFS.iter().zip(0..).map(|(&c, k)| (c, k)).collect();
            let slack = (-8.0f64).exp2();
            let q = at(poly_max(&qc, u_out) + slack, 3 * f, 2 * f);
            // s(z) - 1/2 = t q(t^2), an odd polynomial of t.
            let sc: Vec<(f64, i32)> = COEFFS
                .iter()
                .zip(0..)
                .map(|(&c, k)| (c, 2 * k + 1))
                .collect();
            let g = (0.5 + poly_max(&sc, t_out) + (t_out + 1.0) * slack).max(T_BOUND);
            let g = at(g, 2 * f, f);
            let per_step = lr * (g.input + e) * x + e;
            let decay = (1.0 - lr_l2).abs().max(1.0);
            let w = if decay > 1.0 {
                per_step * (decay.powf(steps as f64) - 1.0) / (decay - 1.0)
            } else {
                per_step * steps as f64
            };
            let z = (shape.features + 1) as f64 * w * x;
            (w, z, Some(t), Some(u), Some(v), Some(q), g)
        };
        if !(w.is_finite() && z.is_finite()) {
            return Err(Error::option(
                "epochs",
                "the weights' public bound overflows: fewer epochs or a smaller L2 penalty",
            ));
        }
        let update = at(lr * (g.input + e) * x + lr_l2 * w, 3 * f, 2 * f);
        Ok(ValueBounds {
            steps,
            x,
            y,
            w,
            z,
            truncs: StepTruncs {
                t,
                u,
                v,
                q,
                g,
                update,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Standardize;
    use crate::sigmoid::approx;

    fn breast_cancer() -> (RunShape, TrainConfig) {
        (
            RunShape {
                rows: 455,
                features: 30,
                parties: 3,
            },
            TrainConfig::default(),
        )
    }

    /// Every bound holds for the plaintext quantities it bounds, over the whole range it claims.
    #[test]
    fn sigmoid_bounds_cover_the_polynomial() {
        let (shape, config) = breast_cancer();
        let b = ValueBounds::new(&shape, &config).unwrap();
        let tr = b.truncs;
        let (t, u, v, q) = (tr.t.unwrap(), tr.u.unwrap(), tr.v.unwrap(), tr.q.unwrap());
        for i in 0..=20_000 {
            let tv = T_BOUND * (i as f64 / 10_000.0 - 1.0);
            let (uv, vv) = (tv * tv, tv.powi(4));
            let qv: f64 = COEFFS.iter().zip(0..).map(|(&c, k)| c * uv.powi(k)).sum();
            assert!(tv.abs() < t.input && uv < u.input && vv < v.input, "{tv}");
            assert!(qv.abs() < q.input, "q({uv}) = {qv} against {}", q.input);
            for y in [0.0, 1.0] {
                let g = approx(24.0 * tv) - y;
                assert!(g.abs() < tr.g.input, "g = {g} against {}", tr.g.input);
            }
        }
        // q is about 3 at u = 0: the bound is not loose by orders of magnitude.
        assert!(q.input < 4.0 && tr.g.input < 1.5, "{q:?} {:?}", tr.g);
    }

    /// The weight bound is the brief's `T lr |g| X`, and the update, `z` and truncation formats follow it.
    #[test]
    fn weights_and_updates_follow_the_steps() {
        let (shape, config) = breast_cancer();
        let b = ValueBounds::new(&shape, &config).unwrap();
        // 455 rows in batches of 64: 8 steps per epoch, 10 epochs.
        assert_eq!(b.steps, 80);
        let x = owned_value_limit(455, Standardize::Global);
        assert!(b.x >= x && b.x < x + 1e-5);
        let w = 80.0 * 0.1 * b.truncs.g.input * x;
        assert!(b.w >= w && b.w < w * 1.01, "{} vs {w}", b.w);
        assert!((b.z - 31.0 * b.w * b.x).abs() < 1e-6 * b.z);
        let update = b.truncs.update;
        assert!(update.input >= 0.1 * b.truncs.g.input * x);
        let fx = update.format("the update").unwrap();
        assert_eq!(fx.frac_bits, 40);
        assert!((1i128 << fx.bound_bits) as f64 > update.input * 2f64.powi(60));
        assert!(fx.bound_bits < FORMAT.bound_bits);
        // An L2 penalty with lr l2 > 2 makes the weights' bound grow geometrically.
        let decaying = TrainConfig {
            l2: 30.0,
            ..config.clone()
        };
        let grown = ValueBounds::new(&shape, &decaying);
        assert!(grown.is_err() || grown.unwrap().w > 1e6 * b.w);
        // Linear regression: the clamped residual bounds the weights by construction.
        let linear = TrainConfig {
            model: ModelKind::Linear,
            ..config
        };
        let l = ValueBounds::new(&shape, &linear).unwrap();
        let r = crate::step::residual_bound(l.x);
        assert!(l.truncs.t.is_none() && l.truncs.g.input >= r);
        assert!(l.w >= l.steps as f64 * linear.learning_rate * r * l.x);
    }

    #[test]
    fn formats_beyond_the_training_bound_are_errors() {
        let big = TruncBound {
            input: 2f64.powi(30),
            frac_bits: 60,
            shift: 40,
        };
        assert_eq!(big.bound_bits(), 91);
        let e = big.format("the update").unwrap_err().to_string();
        assert!(e.contains("2^91") && e.contains("the update"), "{e}");
        let one = TruncBound {
            input: 1.0,
            frac_bits: 40,
            shift: 20,
        };
        assert_eq!(one.bound_bits(), 41);
        assert_eq!(one.shifted(), 2f64.powi(20));
    }
}
