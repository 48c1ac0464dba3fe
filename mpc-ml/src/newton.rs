//! Logistic regression by Newton's method (iteratively reweighted least squares) on secret shares, with
//! scikit-learn's L2 penalty: `solver = newton` ([`crate::config::Solver::Newton`]), picked by the default
//! solver, where its run meets `sigma`, for up to [`MAX_FEATURES`] features.
//!
//! # The objective
//!
//! `sum_i l(y_i, s(x_i . w)) + |w'|^2 / (2 C)` on the standardized rows `x_i` (features, then the constant-1
//! intercept column), `w'` the weights without the intercept: scikit-learn's `LogisticRegression(C=C)`
//! objective (penalty on the *summed* loss, intercept not penalized; its default `C = 1`), with `s` the
//! clamped polynomial sigmoid of [`crate::sigmoid`] in the gradient. The solver finds the point where the
//! gradient `g(w) = X^T (s(X w) - y) + lambda I' w` (`lambda = 1 / C`) vanishes; [`crate::plain::newton`]
//! computes the same point in f64, and with the exact sigmoid scikit-learn's model.
//!
//! # Why Newton, not the fixed Böhning Hessian
//!
//! Böhning and Lindsay's bound (D. Böhning, B. Lindsay, "Monotonicity of quadratic-approximation
//! algorithms", Ann. Inst. Statist. Math. 40 (1988); D. Böhning, "Multinomial logistic regression
//! algorithm", ibid. 44 (1992), section 2) replaces the Hessian `X^T S X` by the constant `X^T X / 4`, so one
//! inverse serves every iteration. It converges monotonically but linearly, at a rate set by how far the
//! weights `S = s'(z)` fall below `1/4`: on breast cancer (455 training rows, `C = 1`) most rows end far
//! from the boundary with `s' ~ 0`, and it took 3,787 iterations to come within `1e-3` of the solution
//! (measured in f64, with this sigmoid), against 11 for Newton. Each iteration costs a gradient, so Böhning
//! would need more rounds than the 80 steps of gradient descent. Newton it is.
//!
//! # Protocol, per iteration
//!
//! `X` (`N x p`, `p = d + 1`) is masked once ([`MaskedMatrix`]; with `ot` preprocessing by its owners' rows,
//! as gradient descent does), so its products open only the right operand.
//!
//! The first iteration is at `w = 0`, where the sigmoid is `1/2`: it takes every row's Hessian weight as
//! `1/4`, so `[H | g] = X^T [X | 4 (1/2 - y)] / 4 + [I / C | 0]` is one masked product and one truncation by
//! 22 bits, with no sigmoid. It then checks `trace(X^T X) <= G = 1.1 N p` (one comparison, one bit opened;
//! global standardization gives each column `sum x^2 = N`, so this fails only where the fixed-point
//! statistics lost precision, and the run then stops with an error): every later bound rests on it. Its
//! inverse starts cold (below). Every later iteration:
//!
//! 1. `z = X w` (one round), clamped to `[-5.5, 5.5]` with the secure comparison of issue 17
//!    ([`mpc_core::protocols::compare::clamp_flagged`], exact at 40 fractional bits for every `z` the
//!    bounds allow: `|z| <= sqrt(p) x_max |w|`), which also gives a shared flag per row where it clamped.
//! 2. The sigmoid `s = 1/2 + t q(t^2)` (`t = z / 6`) and the Hessian weight `S = (q'(u) + a u^4) / 6`,
//!    `q'(u) = C0 + 3 C1 u + 5 C2 u^2 + 7 C3 u^3 + 9 C4 u^4`: both from `u = t^2` and `v = u^2`, with the two
//!    products of `v` in one round. The coefficients are [`crate::sigmoid`]'s times the public
//!    [`crate::sigmoid::saturation`] (1.0123), so that `s` reaches exactly 0 and 1 at the clamp
//!    ([`crate::sigmoid::saturating`]): with the plain polynomial every far-away row kept a residual of
//!    0.006, and on breast cancer the converged weights lay 0.60 from the exact sigmoid's (0.075 with the
//!    stretch), at no cost in rounds. `S` is the slope plus [`HESSIAN_TAIL`]` u^4 / 6`, positive on the
//!    whole interval where the slope dips below 0; a clamped row gets [`CLAMPED_WEIGHT`] (a local
//!    correction with the flag).
//! 3. `S X` (row `i` times `S_i`, one round of Beaver products), then `X^T [S X | s - y]` in one masked
//!    product: the Hessian `H = X^T S X + lambda I' + lambda e e^T` and the gradient `g` together. The
//!    extra `lambda` on the intercept's diagonal (`e` its unit vector) damps the one unpenalized direction,
//!    so `H >= lambda I`; it changes the path, not the point where `g = 0`.
//! 4. The warm check: `H M_prev` (the previous iteration's inverse), then `|I - H M_prev|_F^2 <= p`
//!    ([`WARM_LIMIT`]) by one round of squares and a comparison, one bit opened. If it holds,
//!    Newton–Schulz ([`crate::closed_form`]'s `M <- M (2I - H M)`) refines `M_prev` [`REFINEMENTS`] times
//!    (its first product already made): the Hessian changes little from one iteration to the next, and
//!    the iteration converges quadratically from a close start (an inexact Newton method, whose fixed point
//!    is still `g = 0`). If not, the inverse starts cold, from `I / c` with `c` the public bound on `|H|`
//!    ([`Bounds::hessian`]), refined [`FIRST_REFINEMENTS`] times. In f64 on breast cancer the largest
//!    `|I - H M_prev|_F^2` is `0.81 p` (the second iteration); the known-answer tests never started cold.
//! 5. `w <- w - M g`.
//! 6. From the second iteration on, `|M g|^2` (one round of squares) is compared with `TOLERANCE^2` (the
//!    stopping test) and with the divergence limit ([`Bounds::step_limit`]) in the next iteration's clamp
//!    circuit (two more lanes of the same comparison: no round of their own), and both bits are opened to
//!    every party right after it, before anything that rests on the weights' bound is truncated (`z` is
//!    compared exactly for every value the bounds allow; a diverged update stops the run there). After the
//!    first bit that says "converged", the weights are opened to the receivers (the clamp of that last
//!    iteration is the only work wasted); an update beyond the divergence limit, or [`MAX_ITERATIONS`]
//!    without convergence (the last update is then checked on its own), stops the run with an error (the
//!    objective is then too ill-conditioned for this solver: a smaller `C` or gradient descent).
//!
//! Sums, not means: `H` and `g` are the summed-loss quantities, so `M` is at most about `C` in norm and `g`
//! keeps all 20 fractional bits of each row's contribution.
//!
//! # Rounds
//!
//! Breast cancer (3 parties, a dealer) converges in 12 or 13 iterations (the last update's norm lies near
//! the tolerance, and the truncations' randomness decides) and 594 or 644 rounds from the masking to the
//! weights (the tests print them), against 80 steps of 16 rounds (1,297 in all) for ten epochs of gradient
//! descent, which moreover stop short of the converged model. The warm check costs about 11 rounds per
//! iteration; the stopping and divergence checks ride in the clamp's comparison, and the first iteration
//! saves the clamp and the sigmoid.
//!
//! # Cost
//!
//! Per iteration the solver computes on all `N` rows (`S X` is `N (d + 1)` Beaver products, the clamp
//! compares `2N` values) where a descent step touches one batch, so Newton's method wins where rounds cost
//! more than computation (parties far apart) and loses on loopback. With `ot` preprocessing the `d^3`-sized
//! matrix triples of the inverse and the `N d` Beaver triples of `S X` cost seconds of OT per iteration
//! (about 5 s for breast cancer): `auto` then keeps gradient descent. The correlated randomness of an
//! iteration is announced to the source before it starts, in two parts (before and after the warm check:
//! [`Preprocessing::announce`], a dealer answers each in one round trip).
//!
//! # Bounds and what is revealed
//!
//! Every truncation uses a public bound of its input ([`Bounds`], spectral norms, which bound every entry):
//! `|X|_2^2 <= G` (checked); `0 < S <= 1/4` by construction, so `|H| <= G / 4 + 1 / C + |F|` and
//! `|H^-1| <= 1 / (1 / C - |F|)`, `F` the truncation error of `S X` times `X` (a run where `|F|` could reach
//! half of `1 / C` is refused by `check`); the warm check gives `|I - H M_0| <= sqrt(p)`, and since
//! `I - H M_{j+1} = (I - H M_j)^2` up to the truncations, every later `H M_j` and `M_j = H^-1 (I - (I -
//! H M_j))` is bounded; a cold start grows at most as `(2^(2^j) - 1) / c`; the updates after the first are
//! checked against the divergence limit, so `|w|` is bounded by the first update's a-priori bound plus
//! [`MAX_ITERATIONS`] limits; the gradient by `sqrt(G N) |s - y| + |w| / C`. This solver's masks are
//! uniform, but with a dealer each truncation fails with probability `(|x| + 2^k) / 2^128` for its bound
//! `2^k`, and with `ot` its mask hides it within `2^k / 2^125`. [`security_bits`] sums them over
//! [`MAX_ITERATIONS`] iterations (counting both a warm and a cold inverse for each), and the report prints
//! it: 47.8 bits for breast cancer with a dealer, 45.8 with `ot`. A shape below `sigma` is refused
//! ([`crate::hiding::require_sigma`]) and the default solver picks gradient descent instead: 5,000 rows of
//! 20 features still meet 40 bits (45.4), but from about 20,000 rows of 30 features the worst-case bound on
//! `|F|` reaches half of `1 / C` and `check` refuses the shape (the bound adds every truncation error of
//! `S X` in the worst direction; a sharper argument would take more of them).
//!
//! Opened: `E = X - A` once (uniform; nothing with owned masks), the Beaver and matrix-triple differences
//! (uniform), the truncations' masked values, the check bits of `disclosures` (the trace check, one warm
//! check per iteration, the stopping and divergence bits per iteration: every party learns the iteration
//! count and whether each started warm), and the weights to the receivers.
//!
//! # References
//!
//! The method: P. McCullagh, J. Nelder, *Generalized Linear Models* (1989), section 4.4 (IRLS). Newton on
//! shares with a polynomial sigmoid: the same structure as the logistic-regression protocols of
//! SecureML (P. Mohassel, Y. Zhang, IEEE S&P 2017) for the gradient; the Newton–Schulz inverse:
//! G. Schulz (1933), V. Pan and R. Schreiber (1991), see [`crate::closed_form`].

use mpc_core::preprocessing::{lane, MaskUse, Preprocessing, Request};
use mpc_core::protocols::bits::open_bits;
use mpc_core::protocols::compare::{clamp_flagged_and_signs, less_than_zero, ClampPlan};
use mpc_core::protocols::matmul::{self, MaskedMatrix};
use mpc_core::protocols::mul::mul;
use mpc_core::protocols::{open, trunc};
use mpc_core::{Context, FixedPoint, Ring, Shared, SharedMatrix, Z128};

// The bound helpers and the trace check the closed form shares: `G = TRACE_SLACK N p` is the bound on
// `trace(X^T X)` the first iteration checks.
use crate::closed_form::{bound_bits, next_residual, trace_check_failed, TRACE_SLACK, ULP};
use crate::config::{ModelKind, Solver, Standardize, TrainConfig};
use crate::error::{Error, Result};
use crate::secure::{mask_rows, owned_value_limit, Descent, OwnedRows, FORMAT};
use crate::sigmoid::{saturation, CLAMP_AT, COEFFS, RANGE};

/// The largest feature count Newton's method takes: its Hessian has `(d + 1)^2` entries, and each
/// Newton–Schulz refinement costs `d^3`; beyond this gradient descent is the better choice.
pub const MAX_FEATURES: usize = 64;

/// The largest row count: the data matrix is masked once, as one chunk.
pub const MAX_ROWS: usize = 1 << 16;

/// Iterations after which the run stops with an error if the stopping test has not passed.
pub const MAX_ITERATIONS: usize = 30;

/// The stopping test: the update's Euclidean norm (standardized weights) below this.
pub const TOLERANCE: f64 = 1e-4;

/// The first iteration (counting from 1) that ends with the stopping test and the divergence check. The
/// first iteration's update has an a-priori bound ([`Bounds::first_update`]); every later one is checked.
pub const FIRST_TEST: usize = 2;

/// Newton–Schulz refinements of a cold start (from `I / c`: the first iteration, and any iteration whose
/// warm start fails its check) and of a warm one.
pub const FIRST_REFINEMENTS: usize = 4;
/// See [`FIRST_REFINEMENTS`].
pub const REFINEMENTS: usize = 2;

/// A bound on the slope of Newton's sigmoid on `[-CLAMP_AT, CLAMP_AT]` (its largest is 0.2466, below the
/// exact sigmoid's 1/4; the unit test checks it).
pub const MAX_SLOPE: f64 = 0.25;

/// The least slope of Newton's sigmoid on the clamp's interval: the polynomial dips slightly near
/// `+-CLAMP_AT` (to -0.0044): the Hessian uses [`hessian_weight`] instead.
pub const MIN_SLOPE: f64 = -0.0045;

/// The Hessian's row weight is not the sigmoid's slope `s'(z) = (kappa / 6) q'(u)` (`u = (z / 6)^2`), which
/// dips to -0.0044 near the clamp, but `S(z) = (kappa / 6) (q'(u) + HESSIAN_TAIL u^4)`: the extra term costs
/// nothing (`q'` has a `u^4 = v^2` term already), is below 0.0006 for `|z| < 4`, and makes `S >= 0.0006`
/// on the whole clamp interval ([`hessian_weight`]; the unit test checks it), far above its fixed-point
/// error (below `1e-5`: the coefficients' encodings and three truncations of values below 128, each off by
/// at most `2^-20`, scaled by at most 3). A clamped row's weight is [`CLAMPED_WEIGHT`]. Every computed
/// weight is then positive, `X^T S X` positive semi-definite and `H >= I / C` up to the truncation error
/// `F` of `S X` ([`Bounds::hessian_error`]), which bounds the inverse. A weight that is not the slope
/// changes the Hessian (an inexact Newton method, as the warm-started inverse already is), not the point
/// where the gradient vanishes; on breast cancer it costs no iteration (12 with either, in f64).
pub const HESSIAN_TAIL: f64 = 0.075;

/// The Hessian weight of a clamped row (the slope there is 0): positive by more than the weight's
/// fixed-point error, small enough not to slow convergence (0.0005 took breast cancer from 12 to 16
/// iterations in f64; this, 12).
pub const CLAMPED_WEIGHT: f64 = 3e-5;

/// The Hessian weight `S(z)` of a row with `z = x . w` (see [`HESSIAN_TAIL`]).
pub fn hessian_weight(z: f64) -> f64 {
    if z.abs() >= CLAMP_AT {
        return CLAMPED_WEIGHT;
    }
    let u = (z / RANGE).powi(2);
    saturation() * (poly_slope(z) + HESSIAN_TAIL * u.powi(4) / RANGE)
}

/// The first iteration's Hessian weight, `2^-FIRST_WEIGHT_SHIFT = 1/4` for every row (at `w = 0` the
/// sigmoid is `1/2` and its slope `0.2465`): `H_1 = X^T X / 4 + I / C` is `X^T X` shifted.
const FIRST_WEIGHT_SHIFT: u32 = 2;

/// A warm start is kept while `|I - H M_prev|_F^2 <= WARM_LIMIT p` (the check opens one bit); else the
/// iteration starts cold. In f64 on breast cancer the largest value is 0.80 p (the second iteration).
pub const WARM_LIMIT: f64 = 1.0;

/// A truncation by `shift` bits of an input below `bound` (real units) at `frac_bits` fractional bits.
fn fx(shift: u32, bound: f64, frac_bits: u32) -> FixedPoint {
    FixedPoint {
        frac_bits: shift,
        bound_bits: bound_bits(bound, frac_bits).min(FORMAT.bound_bits),
    }
}

/// `|t| = |z| / 6` after the clamp, with the encoding's and the truncation's errors.
const T_BOUND: f64 = CLAMP_AT / RANGE + 0.01;
/// `u = t^2` and `v = u^2`.
const U_BOUND: f64 = 1.01;
/// `q(u)` and `q'(u)` (with the Hessian's tail) for `u <= U_BOUND`: at most 1.48 (the unit test evaluates
/// both on a grid), plus the fixed-point errors of their coefficients and inputs (below `1e-4`).
const Q_BOUND: f64 = 2.0;
/// `s - y` and `S`.
const RS_BOUND: f64 = 2.0;

/// `S x` for values below `x_max`.
fn sx_bound(x_max: f64) -> f64 {
    x_max * 1.01
}

/// The public bounds of a run (real units, spectral norms, which also bound every entry), argued in the
/// module docs ("Bounds"). Every later one rests on the first iteration's check `trace(X^T X) <= gram`
/// and, per iteration, on the warm-start check and the previous update's divergence check.
#[derive(Clone, Debug)]
pub struct Bounds {
    rows: usize,
    p: usize,
    x_max: f64,
    lambda: f64,
    /// `G`: `trace(X^T X)`, checked, so `|X|_2^2 <= G`.
    pub gram: f64,
    /// The fixed-point error `|F|_2` of the computed Hessian: `S X`'s truncation errors times `X`, and the
    /// Hessian's own.
    pub hessian_error: f64,
    /// `|H|_2` from the second iteration on: `(MAX_SLOPE + ULP) G + 1 / C + |F|`; also the
    /// cold start's `c` (`I / c`).
    pub hessian: f64,
    /// `|H^-1|_2 <= 1 / (1 / C - |F|)` (`H`'s symmetric part is at least `I / C`).
    pub inverse: f64,
    /// `|I - H M_j|_2` after `j = 0, 1, 2` warm refinements.
    pub residual: [f64; 3],
    /// `|M|_2` at the end of any iteration: warm `inverse (1 + residual[2])`, cold `(2^16 - 1) / c`.
    pub inverse_out: f64,
    /// The divergence check's limit on the update's norm: `16 + 4 sqrt(2 C N ln 2)` (the penalized
    /// objective bounds the solution's norm by `sqrt(2 C N ln 2)`).
    pub step_limit: f64,
    /// The first update's norm: `(2^16 - 1) / c` times the first gradient's `sqrt(G N) / 2`.
    pub first_update: f64,
    /// `|w|_2`: the first update plus [`MAX_ITERATIONS`] checked ones.
    pub weights: f64,
    /// `|g|_2 <= sqrt(G N) RS_BOUND + |w| / C`.
    pub gradient: f64,
    /// `|M g|_2`, before its check.
    pub update: f64,
}

impl Bounds {
    /// The bounds for `rows` rows of `p` columns (intercept included), `C = c`; `None` where the fixed-point
    /// error of the Hessian could reach half its penalty `1 / C` (no bound on the inverse).
    pub fn new(rows: usize, p: usize, c: f64) -> Option<Bounds> {
        let (n, pf) = (rows as f64, p as f64);
        let x_max = owned_value_limit(rows, Standardize::Global).max(1.0);
        let lambda = 1.0 / c;
        let gram = TRACE_SLACK * n * pf;
        let hessian_error = gram.sqrt() * (n * pf).sqrt() * ULP + pf * ULP;
        // (NaN for a bad `c` is refused too.)
        if lambda.is_nan() || lambda <= 2.0 * hessian_error {
            return None;
        }
        let hessian = (MAX_SLOPE + ULP) * gram + lambda + hessian_error;
        let inverse = 1.0 / (lambda - hessian_error);
        let e0 = (WARM_LIMIT * pf).sqrt() + pf * ULP;
        let e1 = next_residual(e0, pf, hessian);
        let e2 = next_residual(e1, pf, hessian);
        let cold_out = COLD_GROWTH[FIRST_REFINEMENTS] / hessian * 2.0;
        let inverse_out = (inverse * (1.0 + e2)).max(cold_out);
        let step_limit = 16.0 + 4.0 * (2.0 * c * n * std::f64::consts::LN_2).sqrt();
        let first_update = cold_out * (gram * n).sqrt() * 0.5;
        let weights = first_update + MAX_ITERATIONS as f64 * step_limit;
        let gradient = (gram * n).sqrt() * RS_BOUND + lambda * weights;
        Some(Bounds {
            rows,
            p,
            x_max,
            lambda,
            gram,
            hessian_error,
            hessian,
            inverse,
            residual: [e0, e1, e2],
            inverse_out,
            step_limit,
            first_update,
            weights,
            gradient,
            update: inverse_out * gradient,
        })
    }

    /// `|z| = |x_i . w|`, at most `sqrt(p) x_max |w|`, plus the clamp's threshold.
    fn z(&self) -> f64 {
        (self.p as f64).sqrt() * self.x_max * self.weights + CLAMP_AT
    }

    /// The first iteration's `X^T [X | 4 (1/2 - y)]` before its shift, entry by entry: `N x_max^2` and
    /// `2 N x_max` a priori (its check comes after).
    fn first_products(&self) -> f64 {
        let n = self.rows as f64;
        (n * self.x_max * self.x_max).max(2.0 * n * self.x_max)
    }

    /// `|trace H_1|` a priori, and the limit it is checked against: `G / 4 + p / C` plus the truncations.
    fn trace(&self) -> (f64, f64) {
        let pf = self.p as f64;
        (
            pf * (self.first_products() / 4.0 + self.lambda),
            self.gram / 4.0 + pf * self.lambda + pf * ULP,
        )
    }

    /// The cold refinements' products, in order: `H M_j` then `M_{j+1}` for `j < FIRST_REFINEMENTS`
    /// (`|M_0| = 1 / c`, `|H M_j| <= |H| |M_j|`, `|M_{j+1}| <= |M_j| (2 + |H M_j|)`: `(2^(2^j) - 1)` and
    /// `(2^(2^(j+1)) - 1) / c`), doubled for the fixed-point errors.
    fn cold(&self) -> Vec<f64> {
        (0..FIRST_REFINEMENTS)
            .flat_map(|j| {
                [
                    COLD_GROWTH[j] * 2.0,
                    COLD_GROWTH[j + 1] / self.hessian * 2.0,
                ]
            })
            .collect()
    }

    /// The warm refinements' products after the check: `M_1`, `H M_1`, `M_2`
    /// (`|H M_j| <= 1 + e_j`, `|M_j| <= |H^-1| (1 + e_j)`).
    fn warm(&self) -> Vec<f64> {
        let [_, e1, e2] = self.residual;
        vec![
            self.inverse * (1.0 + e1),
            1.0 + e1,
            self.inverse * (1.0 + e2),
        ]
    }

    /// The warm check's `H M_prev` (a priori `|H| |M_prev|`), and `|E|_F^2 <= p^2 (1 + |H M_prev|)^2`.
    fn check_product(&self) -> f64 {
        self.hessian * self.inverse_out + self.p as f64 * ULP
    }

    /// Bits of the comparisons: the trace check, the warm check, the stopping and divergence check, the
    /// clamp of `z`.
    fn comparison_bits(&self) -> [u32; 4] {
        let f = FORMAT.frac_bits;
        let (trace, limit) = self.trace();
        let e = 1.0 + self.check_product();
        let pf = self.p as f64;
        [
            bound_bits(trace + limit, f),
            bound_bits(pf * pf * e * e + WARM_LIMIT * pf, 2 * f),
            bound_bits(
                self.update * self.update + self.step_limit * self.step_limit,
                2 * f,
            ),
            bound_bits(self.z(), 2 * f) + 1,
        ]
    }

    /// The truncations of the first iteration and of every later one: how many elements, and the bound
    /// `k` (bits of the input) of each.
    fn truncations(&self) -> (Vec<Truncations>, Vec<Truncations>) {
        let (n, p, f) = (self.rows, self.p, FORMAT.frac_bits);
        let mat = |b: f64| (p * p, bound_bits(b, 2 * f));
        let mut first = vec![(p * (p + 1), bound_bits(self.first_products(), 2 * f))];
        first.extend(self.cold().into_iter().map(mat));
        first.push((p, bound_bits(self.first_update, 2 * f)));
        let mut later = vec![
            (n, bound_bits(T_BOUND, 3 * f)),
            (2 * n, bound_bits(U_BOUND, 2 * f)),
            (2 * n, bound_bits(Q_BOUND, 3 * f)),
            (2 * n, bound_bits(RS_BOUND, 2 * f)),
            (n * p, bound_bits(sx_bound(self.x_max), 2 * f)),
            (
                p * (p + 1),
                bound_bits(self.hessian.max(self.gradient), 2 * f),
            ),
            mat(self.check_product()),
        ];
        // A warm iteration, or one whose check failed and that starts cold: both counted.
        later.extend(self.warm().into_iter().map(mat));
        later.extend(self.cold().into_iter().map(mat));
        later.push((p, bound_bits(self.update, 2 * f)));
        (first, later)
    }

    /// Whether every bounded value fits the format and every comparison the ring.
    fn fit(&self) -> bool {
        let (first, later) = self.truncations();
        first
            .iter()
            .chain(&later)
            .all(|&(_, k)| k <= FORMAT.bound_bits)
            && self.comparison_bits().iter().all(|&k| k < Z128::BITS - 2)
    }
}

/// How many elements a truncation takes, and the bound `k` (bits of its input) of each.
type Truncations = (usize, u32);

/// `2^(2^j) - 1`: the cold start's growth after `j` refinements.
const COLD_GROWTH: [f64; FIRST_REFINEMENTS + 1] = [1.0, 3.0, 15.0, 255.0, 65535.0];

/// Checks that Newton's method can fit `features` features and `rows` rows with `config`.
pub(crate) fn check(config: &TrainConfig, features: usize, rows: usize) -> Result<()> {
    let why = if config.model != ModelKind::Logistic {
        Some("Newton's method fits logistic regression only".to_string())
    } else if config.standardize != Standardize::Global {
        Some("Newton's method needs `standardize = global` (its bounds rest on the standardized columns' sums of squares)".into())
    } else if features == 0 || features > MAX_FEATURES {
        Some(format!(
            "{features} features: Newton's method handles 1 to {MAX_FEATURES}"
        ))
    } else if rows > MAX_ROWS {
        Some(format!(
            "{rows} rows: Newton's method handles up to {MAX_ROWS}"
        ))
    } else if config.l2 != 0.0 {
        Some("Newton's method takes its penalty from `c` (scikit-learn's C), not `l2`".into())
    } else {
        match Bounds::new(rows, features + 1, config.c) {
            None => Some(format!(
                "with c = {} the fixed-point error of the Hessian of {rows} rows could reach half its penalty 1/c, which leaves its inverse unbounded: use a smaller `c`",
                config.c
            )),
            Some(b) if !b.fit() => Some(format!(
                "with c = {} on {rows} rows and {features} features the bounds of the weights and the inverse leave the fixed-point format: use a smaller `c`",
                config.c
            )),
            Some(_) => None,
        }
    };
    match why {
        Some(why) => Err(Error::option(
            "solver",
            format!("{why}; or use `gradient_descent` (`--solver gd`)"),
        )),
        None => Ok(()),
    }
}

/// The statistical security, in bits, of a run of at most [`MAX_ITERATIONS`] iterations on `rows` rows and
/// `features` features with `C = c` among `parties` parties: `-log2` of the summed failure probability of
/// its truncations with a dealer (`(|x| + 2^k) / 2^128` per element under a bound `2^k`), or of their
/// summed statistical distance with the `ot` source (`2^k / 2^rho` per element, `rho` its masks' bits,
/// [`mpc_core::preprocessing::trunc_mask_bits`]), as [`crate::hiding`] counts gradient descent's, every
/// bound from [`Bounds`]. Every other opened value is masked uniformly. 0 for a shape `check` refuses.
pub fn security_bits(rows: usize, features: usize, c: f64, parties: usize, ot: bool) -> f64 {
    let Some(bounds) = Bounds::new(rows, features + 1, c).filter(Bounds::fit) else {
        return 0.0;
    };
    let each = |k: u32| crate::hiding::truncation_term(k, parties, ot);
    let sum = |list: Vec<Truncations>| -> f64 {
        list.into_iter()
            .map(|(count, k)| count as f64 * each(k))
            .sum()
    };
    let (first, later) = bounds.truncations();
    let total = sum(first) + (MAX_ITERATIONS - 1) as f64 * sum(later);
    (-total.log2()).min(Z128::BITS as f64)
}

/// What Newton's method opens to every party besides the model, for the report's "what was revealed":
/// the checks its bounds rest on (a failed check stops the run with an error, or for the warm start costs
/// a cold one) and the stopping bit.
pub(crate) fn disclosures() -> Vec<String> {
    vec![
        format!("one bit in the first iteration: whether the standardized columns' sum of squares is within {TRACE_SLACK} times rows x columns (always, unless the global statistics lost precision; the run then stops with an error)"),
        format!("one bit per iteration from the second: whether the previous iteration's inverse is close enough to the new Hessian's to start from (|I - H M|_F^2 <= {WARM_LIMIT} (d + 1); else the iteration starts from I / c)"),
        format!("two bits per iteration from the {FIRST_TEST}nd: whether the update's norm is below {TOLERANCE} (so every party learns the number of iterations), and whether it is below the divergence limit of `mpc_ml::newton::Bounds` (else the run stops with an error)"),
    ]
}

/// `x 2^frac_bits`, rounded, in the ring.
fn encode(x: f64, frac_bits: u32) -> Z128 {
    Z128::from_i128((x * (frac_bits as f64).exp2()).round() as i128)
}

/// The derivative of the sigmoid polynomial [`crate::sigmoid::approx`] at `z` (unclamped: the
/// polynomial's own); Newton's sigmoid's is `saturation()` times it.
pub fn poly_slope(z: f64) -> f64 {
    let u = (z / RANGE).powi(2);
    COEFFS
        .iter()
        .enumerate()
        .map(|(k, &c)| (2 * k + 1) as f64 * c * u.powi(k as i32))
        .sum::<f64>()
        / RANGE
}

/// The public constants of a run.
struct Params {
    rows: usize,
    p: usize,
    parties: usize,
    bounds: Bounds,
    /// The bits of the comparisons ([`Bounds::comparison_bits`]).
    bits: [u32; 4],
    /// Test only: the iterations (counting from 1) whose warm check is taken as failed, to run the cold
    /// fallback.
    #[cfg(test)]
    force_cold: Vec<usize>,
}

/// The correlated randomness of `values` comparisons at `bits` (an even count: two per plan element).
fn comparisons(values: usize, bits: u32, parties: usize) -> impl Iterator<Item = Request> {
    ClampPlan::new(values.div_ceil(2), bits, parties)
        .and_words
        .into_iter()
        .map(|words| Request::BitTriples { words })
}

impl Params {
    fn triples(count: usize) -> Request {
        Request::Triples {
            count,
            a_bits: Some(Z128::BITS),
        }
    }

    /// The requests of a product of `p x p` by `p x cols`, truncated.
    fn product(&self, cols: usize) -> [Request; 2] {
        let p = self.p;
        [
            Request::MatrixTriple {
                m: p,
                k: p,
                n: cols,
            },
            Request::Trunc {
                count: p * cols,
                frac_bits: FORMAT.frac_bits,
            },
        ]
    }

    /// The first iteration's requests: `X^T [X | r]`, the trace check, the cold inverse and the update.
    fn first_requests(&self, mask: u64) -> Vec<Request> {
        let (n, p, f) = (self.rows, self.p, FORMAT.frac_bits);
        let mut v = vec![
            Request::MaskTriple {
                mask,
                using: backward(n, p),
            },
            Request::Trunc {
                count: p * (p + 1),
                frac_bits: f + FIRST_WEIGHT_SHIFT,
            },
        ];
        v.extend(comparisons(2, self.bits[0], self.parties));
        v.extend(self.refinement_requests(FIRST_REFINEMENTS, false, false));
        v
    }

    /// The requests of a later iteration up to its warm check: `z`, the clamp, the sigmoid, `S X`, the
    /// Hessian and gradient, `H M_prev`, `|I - H M_prev|_F^2` and its comparison.
    fn head_requests(&self, mask: u64, check: bool) -> Vec<Request> {
        let (n, p, f) = (self.rows, self.p, FORMAT.frac_bits);
        let trunc = |count, frac_bits| Request::Trunc { count, frac_bits };
        let mut v = vec![Request::MaskTriple {
            mask,
            using: forward(n),
        }];
        // The clamp's comparisons, with the previous update's two checks as one more pair of lanes.
        let (lanes, bits) = if check {
            (n + 1, self.bits[2].max(self.bits[3]))
        } else {
            (n, self.bits[3])
        };
        v.extend(
            ClampPlan::new(lanes, bits, self.parties)
                .and_words
                .into_iter()
                .map(|words| Request::BitTriples { words }),
        );
        v.extend([
            Request::DaBits { count: 2 * n },
            Self::triples(2 * n),
            trunc(n, 2 * f),
            Self::triples(n),
            trunc(n, f),
            Self::triples(n),
            trunc(n, f),
            Self::triples(2 * n),
            trunc(2 * n, 2 * f),
            Self::triples(n),
            trunc(2 * n, f),
            Self::triples(n * p),
            trunc(n * p, f),
            Request::MaskTriple {
                mask,
                using: backward(n, p),
            },
            trunc(p * (p + 1), f),
        ]);
        v.extend(self.product(p));
        v.push(Self::triples(p * p));
        v.extend(comparisons(2, self.bits[1], self.parties));
        v
    }

    /// The requests after the warm check (`warm`: its first product `H M_prev` already made) or after the
    /// first iteration's trace check: the refinements, the update, and from [`FIRST_TEST`] on the update's
    /// squared norm (`test`; its comparisons run with the next iteration's clamp).
    fn refinement_requests(&self, refinements: usize, warm: bool, test: bool) -> Vec<Request> {
        let p = self.p;
        let mut v = Vec::new();
        for j in 0..refinements {
            if !(warm && j == 0) {
                v.extend(self.product(p));
            }
            v.extend(self.product(p));
        }
        v.extend(self.product(1));
        if test {
            v.push(Self::triples(p));
        }
        v
    }
}

fn forward(rows: usize) -> MaskUse {
    MaskUse {
        row_start: 0,
        row_end: rows,
        transpose: false,
        cols: 1,
    }
}

fn backward(rows: usize, p: usize) -> MaskUse {
    MaskUse {
        row_start: 0,
        row_end: rows,
        transpose: true,
        cols: p + 1,
    }
}

/// Fits logistic regression to the shared `x` (`N x (d + 1)`, intercept column last) and labels `y` by
/// Newton's method, and opens the weights to the receivers (standardized, intercept last). `progress` is
/// told `(iterations_done, MAX_ITERATIONS)`.
pub(crate) async fn solve(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    x: &SharedMatrix<Z128>,
    y: &Shared<Z128>,
    owned: Option<&OwnedRows<'_>>,
    config: &TrainConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Descent> {
    let (rows, p) = (x.rows(), x.cols());
    check(config, p.saturating_sub(1), rows)?;
    let bounds = Bounds::new(rows, p, config.c)
        .ok_or_else(|| Error::option("c", "no bound on the Hessian's inverse".to_string()))?;
    let params = Params {
        rows,
        p,
        parties: ctx.parties(),
        bits: bounds.comparison_bits(),
        bounds,
        #[cfg(test)]
        force_cold: Vec::new(),
    };
    solve_with(ctx, source, (x, y), owned, config, progress, &params).await
}

async fn solve_with(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    (x, y): (&SharedMatrix<Z128>, &Shared<Z128>),
    owned: Option<&OwnedRows<'_>>,
    config: &TrainConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
    params: &Params,
) -> Result<Descent> {
    let me = ctx.id();
    let mpc = Error::mpc;
    let rows = params.rows;
    if y.len() != rows || rows == 0 {
        return Err(mpc(me)(mpc_core::Error::Shape(format!(
            "{rows} rows and {} labels",
            y.len()
        ))));
    }
    let online = ctx.stats();
    let masked = mask_rows(ctx, source, x, owned, 0, rows).await?;
    let mask = masked.mask().id();
    let mut w = Shared::<Z128>::zeros(params.p);
    let mut inverse: Option<SharedMatrix<Z128>> = None;
    let mut iterations = 0;
    let mut cold_starts = 0;
    // The last update's squared norm, whose stopping and divergence checks run with the next clamp.
    let mut pending: Option<Shared<Z128>> = None;
    let diverged = || {
        Error::option(
            "c",
            format!(
                "Newton's method diverged: an update's norm exceeded {:.0} (the bound its fixed-point ranges rest on); train with a smaller `c` or with `gradient_descent`",
                params.bounds.step_limit
            ),
        )
    };
    loop {
        if iterations == MAX_ITERATIONS {
            // The last update's checks, on their own.
            let verdict = match pending.take() {
                Some(squares) => Some(
                    final_checks(ctx, source, &squares, params)
                        .await
                        .map_err(mpc(me))?,
                ),
                None => None,
            };
            match verdict {
                Some(Verdict::Converged) => break,
                Some(Verdict::Diverged) => return Err(diverged()),
                _ => {}
            }
            return Err(Error::option(
                "c",
                format!(
                    "Newton's method did not converge in {MAX_ITERATIONS} iterations (the update's norm stayed above {TOLERANCE}): the data may be separable; train with a smaller `c` or with `gradient_descent`"
                ),
            ));
        }
        let step = match inverse.take() {
            None => {
                source
                    .announce(ctx, &params.first_requests(mask))
                    .await
                    .map_err(mpc(me))?;
                first_iteration(ctx, source, &masked, (x, y), params)
                    .await
                    .map_err(mpc(me))?
            }
            Some(previous) => {
                source
                    .announce(ctx, &params.head_requests(mask, pending.is_some()))
                    .await
                    .map_err(mpc(me))?;
                let head = match head(
                    ctx,
                    source,
                    &masked,
                    (x, y),
                    (&w, pending.take().as_ref()),
                    &previous,
                    params,
                )
                .await
                .map_err(mpc(me))?
                {
                    Verdict::Converged => break,
                    Verdict::Diverged => return Err(diverged()),
                    Verdict::Continue(head) => head,
                };
                #[cfg(test)]
                let head = Head {
                    warm: head.warm && !params.force_cold.contains(&(iterations + 1)),
                    ..head
                };
                let refinements = if head.warm {
                    REFINEMENTS
                } else {
                    cold_starts += 1;
                    FIRST_REFINEMENTS
                };
                source
                    .announce(
                        ctx,
                        &params.refinement_requests(refinements, head.warm, true),
                    )
                    .await
                    .map_err(mpc(me))?;
                let start = if head.warm {
                    Start::Warm(previous, head.hm)
                } else {
                    Start::Cold
                };
                tail(ctx, source, &head.h, &head.g, start, params, true)
                    .await
                    .map_err(mpc(me))?
            }
        };
        inverse = Some(step.inverse);
        w = w.try_sub(&step.update).map_err(mpc(me))?;
        pending = step.squares;
        iterations += 1;
        progress(iterations, MAX_ITERATIONS);
    }
    let step_rounds = ctx.stats().since(&online).rounds;
    tracing::info!(
        party = me,
        iterations,
        cold_starts,
        "Newton's method converged"
    );
    let opened = open::open_to(ctx, &w, &config.receivers)
        .await
        .map_err(mpc(me))?;
    Ok(Descent {
        weights: opened.map(|v| vec![FORMAT.decode_slice(&v)]),
        steps: iterations,
        step_rounds,
    })
}

/// What an iteration ends with: the update `M g` (to subtract), the inverse for the next warm start, and
/// from [`FIRST_TEST`] on the update's squared norm `|M g|^2` (40 fractional bits), which the next
/// iteration's clamp compares with `TOLERANCE^2` and `step_limit^2`.
struct Step {
    update: Shared<Z128>,
    inverse: SharedMatrix<Z128>,
    squares: Option<Shared<Z128>>,
}

/// The opened checks of the last update: below the tolerance (the run has converged), beyond the
/// divergence limit (the run stops), or neither (with what the iteration made so far).
enum Verdict<T> {
    Converged,
    Diverged,
    Continue(T),
}

/// `[|u|^2 - TOLERANCE^2, |u|^2 - step_limit^2]` for the squared norm `squares` (one element).
fn check_lanes(me: usize, squares: &Shared<Z128>, b: &Bounds) -> mpc_core::Result<Shared<Z128>> {
    let f = FORMAT.frac_bits;
    Ok(Shared::concat(&[
        &squares.add_public(me, &[-encode(TOLERANCE * TOLERANCE, 2 * f)])?,
        &squares.add_public(me, &[-encode(b.step_limit * b.step_limit, 2 * f)])?,
    ]))
}

/// The verdict from the opened signs of [`check_lanes`].
fn verdict<T>(stop: bool, within: bool, then: T) -> Verdict<T> {
    match (stop, within) {
        (_, false) => Verdict::Diverged,
        (true, true) => Verdict::Converged,
        (false, true) => Verdict::Continue(then),
    }
}

/// The last update's checks on their own (after [`MAX_ITERATIONS`] iterations: no next clamp).
async fn final_checks(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    squares: &Shared<Z128>,
    pp: &Params,
) -> mpc_core::Result<Verdict<()>> {
    let requests: Vec<Request> = comparisons(2, pp.bits[2], pp.parties).collect();
    src.announce(ctx, &requests).await?;
    let lanes = check_lanes(ctx.id(), squares, &pp.bounds)?;
    let signs = opened_signs(ctx, src, &[&lanes], pp.bits[2]).await?;
    Ok(verdict(signs[0], signs[1], ()))
}

/// How the inverse starts: from the previous one (with `H M_prev`, already made by the warm check), or
/// from `I / c`.
enum Start {
    Warm(SharedMatrix<Z128>, SharedMatrix<Z128>),
    Cold,
}

/// `p x p` identity times `x` at `frac_bits`, as public values.
fn scaled_identity(p: usize, x: f64, frac_bits: u32) -> Vec<Z128> {
    let mut d = vec![Z128::ZERO; p * p];
    (0..p).for_each(|j| d[j * p + j] = encode(x, frac_bits));
    d
}

/// Splits `p x (p + 1)` rows `[H | g]` into `H` and `g`.
fn split(
    hg: &Shared<Z128>,
    p: usize,
) -> mpc_core::Result<(SharedMatrix<Z128>, SharedMatrix<Z128>)> {
    let hv = hg.share_values();
    let mut h = Vec::with_capacity(p * p);
    let mut g = Vec::with_capacity(p);
    for j in 0..p {
        h.extend_from_slice(&hv[j * (p + 1)..j * (p + 1) + p]);
        g.push(hv[j * (p + 1) + p]);
    }
    Ok((
        SharedMatrix::new(p, p, Shared::from_share(h))?,
        SharedMatrix::new(p, 1, Shared::from_share(g))?,
    ))
}

/// `[x < 0]` for each of `values` (`|x| < 2^bits`), opened to every party.
async fn opened_signs(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    values: &[&Shared<Z128>],
    bits: u32,
) -> mpc_core::Result<Vec<bool>> {
    let all = Shared::concat(values);
    let signs = less_than_zero(ctx, src, &all, bits).await?;
    let opened = open_bits(ctx, &signs).await?;
    Ok((0..all.len()).map(|i| lane(&opened, i)).collect())
}

/// The first iteration, at `w = 0`: the sigmoid is `1/2` and every row's weight `1/4`, so
/// `[H | g] = X^T [X | 4 (1/2 - y)] / 4 + [I / C | 0]` needs no sigmoid; then the check
/// `trace(X^T X) <= G` (one opened bit) and a cold inverse.
async fn first_iteration(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    masked: &MaskedMatrix<Z128>,
    (x, y): (&SharedMatrix<Z128>, &Shared<Z128>),
    pp: &Params,
) -> mpc_core::Result<Step> {
    let me = ctx.id();
    let (n, p, f) = (pp.rows, pp.p, FORMAT.frac_bits);
    let r = y
        .scale(Z128::from_i128(-4))
        .add_public(me, &vec![encode(2.0, f); n])?;
    let hg = transposed_product(ctx, src, masked, x.as_shared(), &r).await?;
    let pairs = src
        .trunc_pairs(ctx, p * (p + 1), f + FIRST_WEIGHT_SHIFT)
        .await?;
    let hg = trunc::trunc(
        ctx,
        &hg,
        fx(f + FIRST_WEIGHT_SHIFT, pp.bounds.first_products(), 2 * f),
        pairs,
    )
    .await?;
    let (h, g) = split(&hg, p)?;
    let h = SharedMatrix::new(
        p,
        p,
        h.as_shared()
            .add_public(me, &scaled_identity(p, pp.bounds.lambda, f))?,
    )?;
    // The check every later bound rests on: trace(H_1) = trace(X^T X) / 4 + p / C within its limit.
    let hv = h.as_shared().share_values();
    let trace = Shared::from_share(vec![(0..p).fold(Z128::ZERO, |acc, j| acc + hv[j * p + j])]);
    let below = trace.add_public(me, &[-encode(pp.bounds.trace().1, f)])?;
    let signs = opened_signs(ctx, src, &[&below, &below], pp.bits[0]).await?;
    if !signs[0] {
        return Err(trace_check_failed("Newton's method's"));
    }
    tail(ctx, src, &h, &g, Start::Cold, pp, false).await
}

/// What a later iteration has before its inverse: the Hessian, the gradient, `H M_prev` and whether the
/// warm start passed its check.
struct Head {
    h: SharedMatrix<Z128>,
    g: SharedMatrix<Z128>,
    hm: SharedMatrix<Z128>,
    warm: bool,
}

/// A later iteration at `w` up to its warm check against `previous` (the last iteration's inverse).
async fn head(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    masked: &MaskedMatrix<Z128>,
    (x, y): (&SharedMatrix<Z128>, &Shared<Z128>),
    (w, pending): (&Shared<Z128>, Option<&Shared<Z128>>),
    previous: &SharedMatrix<Z128>,
    pp: &Params,
) -> mpc_core::Result<Verdict<Head>> {
    let me = ctx.id();
    let (n, p, f) = (pp.rows, pp.p, FORMAT.frac_bits);
    let uniform = Z128::BITS;

    // 1. z = X w (40 fractional bits), clamped exactly (|z| is bounded through |w|), and in the same
    // comparison circuit the previous update's stopping and divergence checks, opened before anything
    // that depends on `w`'s bound is truncated (`z` itself is compared exactly for every value the
    // bounds allow, and the run stops if the update diverged).
    let fwd = forward(n);
    let t = src.mask_triple(ctx, masked.mask(), fwd.clone()).await?;
    let z = masked
        .mul(ctx, &fwd, &SharedMatrix::new(p, 1, w.clone())?, t)
        .await?
        .into_shared();
    let at = encode(CLAMP_AT, 2 * f);
    let (extra, bits) = match pending {
        Some(squares) => (
            check_lanes(me, squares, &pp.bounds)?,
            pp.bits[2].max(pp.bits[3]),
        ),
        None => (Shared::zeros(0), pp.bits[3]),
    };
    let (z, flags, signs) = clamp_flagged_and_signs(ctx, src, &z, (-at, at), &extra, bits).await?;
    if pending.is_some() {
        let opened = open_bits(ctx, &signs).await?;
        match verdict(lane(&opened, 0), lane(&opened, 1), ()) {
            Verdict::Converged => return Ok(Verdict::Converged),
            Verdict::Diverged => return Ok(Verdict::Diverged),
            Verdict::Continue(()) => {}
        }
    }

    // 2. t = z / 6, u = t^2, v = u^2 (20 fractional bits).
    let pairs = src.trunc_pairs(ctx, n, 2 * f).await?;
    let t = trunc::trunc(
        ctx,
        &z.scale(encode(1.0 / RANGE, f)),
        fx(2 * f, T_BOUND, 3 * f),
        pairs,
    )
    .await?;
    let u = square(ctx, src, &t).await?;
    let v = square(ctx, src, &u).await?;

    // q(u) = C0 + C1 u + v (C2 + C3 u + C4 v), q'(u) = C0 + 3 C1 u + v (5 C2 + 7 C3 u + 9 C4 v), at 60
    // fractional bits, then truncated to 20.
    // Newton's sigmoid is the polynomial stretched to saturate at 0 and 1 ([`crate::sigmoid::saturating`]):
    // every coefficient times the public `saturation()`.
    let kappa = saturation();
    let c = |k: usize, m: f64| encode(m * kappa * COEFFS[k], f);
    let lift = encode(1.0, f);
    let linear = |m2: f64, m3: f64, m4: f64| -> mpc_core::Result<Shared<Z128>> {
        u.scale(c(3, m3))
            .try_add(&v.scale(c(4, m4)))?
            .add_public(me, &vec![encode(m2 * kappa * COEFFS[2], 2 * f); n])
    };
    // q' with the Hessian's tail: the weight S, not the slope ([`HESSIAN_TAIL`]).
    let (wq, wd) = (
        linear(1.0, 1.0, 1.0)?,
        linear(5.0, 7.0, 9.0 + HESSIAN_TAIL / COEFFS[4])?,
    );
    let tr = src.triples_bounded(ctx, 2 * n, uniform).await?;
    let vw = mul(
        ctx,
        &Shared::concat(&[&v, &v]),
        &Shared::concat(&[&wq, &wd]),
        tr,
    )
    .await?;
    let head = |m1: f64| -> mpc_core::Result<Shared<Z128>> {
        u.scale(c(1, m1) * lift)
            .add_public(me, &vec![encode(kappa * COEFFS[0], 3 * f); n])
    };
    let q3 = Shared::concat(&[
        &vw.slice(0..n)?.try_add(&head(1.0)?)?,
        &vw.slice(n..2 * n)?.try_add(&head(3.0)?)?,
    ]);
    let pairs = src.trunc_pairs(ctx, 2 * n, 2 * f).await?;
    let qs = trunc::trunc(ctx, &q3, fx(2 * f, Q_BOUND, 3 * f), pairs).await?;
    let (q, dq) = (qs.slice(0..n)?, qs.slice(n..2 * n)?);

    // s - y = 1/2 + t q - y, and S = (q' + tail) / 6, or CLAMPED_WEIGHT where clamped (40 fractional
    // bits), truncated together.
    let tr = src.triples_bounded(ctx, n, uniform).await?;
    let tq = mul(ctx, &t, &q, tr).await?;
    let r = tq
        .add_public(me, &vec![encode(0.5, 2 * f); n])?
        .try_sub(&y.scale(lift))?;
    let s = dq
        .scale(encode(1.0 / RANGE, f))
        .try_sub(&flags.scale(encode(
            hessian_weight(CLAMP_AT - 1e-12) - CLAMPED_WEIGHT,
            2 * f,
        )))?;
    let pairs = src.trunc_pairs(ctx, 2 * n, f).await?;
    let rs = trunc::trunc(
        ctx,
        &Shared::concat(&[&r, &s]),
        fx(f, RS_BOUND, 2 * f),
        pairs,
    )
    .await?;
    let (r, s) = (rs.slice(0..n)?, rs.slice(n..2 * n)?);

    // 3. S X, then X^T [S X | s - y]: the Hessian and the gradient (40 fractional bits).
    let spread: Vec<Z128> = s
        .share_values()
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, p))
        .collect();
    let tr = src.triples_bounded(ctx, n * p, uniform).await?;
    let sx = mul(ctx, &Shared::from_share(spread), x.as_shared(), tr).await?;
    let pairs = src.trunc_pairs(ctx, n * p, f).await?;
    let sx = trunc::trunc(ctx, &sx, fx(f, sx_bound(pp.bounds.x_max), 2 * f), pairs).await?;
    let hg = transposed_product(ctx, src, masked, &sx, &r).await?;
    // lambda on the diagonal (the intercept's too: damping), lambda w' in the gradient.
    let lambda2 = encode(pp.bounds.lambda, 2 * f);
    let mut diagonal = vec![Z128::ZERO; p * (p + 1)];
    for j in 0..p {
        diagonal[j * (p + 1) + j] = lambda2;
    }
    let mut penalty = vec![Z128::ZERO; p * (p + 1)];
    for j in 0..p - 1 {
        penalty[j * (p + 1) + p] = encode(pp.bounds.lambda, f);
    }
    let mut weights = vec![Z128::ZERO; p * (p + 1)];
    for (j, &wj) in w.share_values().iter().enumerate() {
        weights[j * (p + 1) + p] = wj;
    }
    let hg = hg
        .add_public(me, &diagonal)?
        .try_add(&Shared::from_share(weights).mul_public(&penalty)?)?;
    let pairs = src.trunc_pairs(ctx, p * (p + 1), f).await?;
    let b = &pp.bounds;
    let hg = trunc::trunc(ctx, &hg, fx(f, b.hessian.max(b.gradient), 2 * f), pairs).await?;
    let (h, g) = split(&hg, p)?;

    // 4. The warm check: |I - H M_prev|_F^2 <= WARM_LIMIT p, one bit opened to all.
    let hm = product(ctx, src, &h, previous, b.check_product()).await?;
    let e = (-hm.as_shared()).add_public(me, &scaled_identity(p, 1.0, f))?;
    let tr = src.triples_bounded(ctx, p * p, uniform).await?;
    let squares = mul(ctx, &e, &e, tr).await?.sum();
    let below = squares.add_public(me, &[-encode(WARM_LIMIT * p as f64, 2 * f)])?;
    let signs = opened_signs(ctx, src, &[&below, &below], pp.bits[1]).await?;
    Ok(Verdict::Continue(Head {
        h,
        g,
        hm,
        warm: signs[0],
    }))
}

/// The inverse from `start` (Newton–Schulz, `M <- M (2I - H M)`), the update `M g`, and with `test` the
/// stopping and divergence check.
async fn tail(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    h: &SharedMatrix<Z128>,
    g: &SharedMatrix<Z128>,
    start: Start,
    pp: &Params,
    test: bool,
) -> mpc_core::Result<Step> {
    let me = ctx.id();
    let (p, f) = (pp.p, FORMAT.frac_bits);
    let b = &pp.bounds;
    let (mut m, mut first, bounds, refinements) = match start {
        Start::Warm(m, hm) => {
            let [m1, hm1, m2] = b.warm()[..] else {
                unreachable!("three warm bounds")
            };
            (m, Some(hm), vec![0.0, m1, hm1, m2], REFINEMENTS)
        }
        Start::Cold => {
            let start = Shared::from_public(me, &scaled_identity(p, 1.0 / b.hessian, f));
            (
                SharedMatrix::new(p, p, start)?,
                None,
                b.cold(),
                FIRST_REFINEMENTS,
            )
        }
    };
    let two = scaled_identity(p, 2.0, f);
    for j in 0..refinements {
        let hm = match first.take() {
            Some(hm) => hm,
            None => product(ctx, src, h, &m, bounds[2 * j]).await?,
        };
        let r = (-hm.as_shared()).add_public(me, &two)?;
        m = product(
            ctx,
            src,
            &m,
            &SharedMatrix::new(p, p, r)?,
            bounds[2 * j + 1],
        )
        .await?;
    }

    // The update M g, and from the second iteration on its squared norm (40 fractional bits), which the
    // next iteration's clamp compares.
    let bound = if test { b.update } else { b.first_update };
    let update = product(ctx, src, &m, g, bound).await?.into_shared();
    let squares = if test {
        let tr = src.triples_bounded(ctx, p, Z128::BITS).await?;
        Some(mul(ctx, &update, &update, tr).await?.sum())
    } else {
        None
    };
    Ok(Step {
        update,
        inverse: m,
        squares,
    })
}

/// `X^T [A | r]` (`p x (p + 1)`, 40 fractional bits) for the shared `N x p` matrix `a` (row-major) and
/// column `r`, with `X` the masked data matrix: one masked product that opens only the right operand.
async fn transposed_product(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    masked: &MaskedMatrix<Z128>,
    a: &Shared<Z128>,
    r: &Shared<Z128>,
) -> mpc_core::Result<Shared<Z128>> {
    let n = r.len();
    let p = a.len() / n.max(1);
    let (av, rv) = (a.share_values(), r.share_values());
    let mut right = Vec::with_capacity(n * (p + 1));
    for (i, &ri) in rv.iter().enumerate() {
        right.extend_from_slice(&av[i * p..(i + 1) * p]);
        right.push(ri);
    }
    let back = backward(n, p);
    let t = src.mask_triple(ctx, masked.mask(), back.clone()).await?;
    Ok(masked
        .mul(
            ctx,
            &back,
            &SharedMatrix::new(n, p + 1, Shared::from_share(right))?,
            t,
        )
        .await?
        .into_shared())
}

/// `a^2` element-wise for `|a| <= 1.005`, truncated by 20 bits (two rounds).
async fn square(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    a: &Shared<Z128>,
) -> mpc_core::Result<Shared<Z128>> {
    let f = FORMAT.frac_bits;
    let tr = src.triples_bounded(ctx, a.len(), Z128::BITS).await?;
    let sq = mul(ctx, a, a, tr).await?;
    let pairs = src.trunc_pairs(ctx, a.len(), f).await?;
    trunc::trunc(ctx, &sq, fx(f, U_BOUND, 2 * f), pairs).await
}

/// `a b` truncated by 20 bits (matrix triple, two rounds), for products below `bound` in every entry.
async fn product(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    a: &SharedMatrix<Z128>,
    b: &SharedMatrix<Z128>,
    bound: f64,
) -> mpc_core::Result<SharedMatrix<Z128>> {
    let f = FORMAT.frac_bits;
    let t = src.matrix_triple(ctx, a.rows(), a.cols(), b.cols()).await?;
    let z = matmul::matmul(ctx, a, b, t).await?;
    let (rows, cols) = (z.rows(), z.cols());
    let pairs = src.trunc_pairs(ctx, rows * cols, f).await?;
    let out = trunc::trunc(ctx, z.as_shared(), fx(f, bound, 2 * f), pairs).await?;
    SharedMatrix::new(rows, cols, out)
}

/// Whether `config` resolves to Newton's method for `features` features and `rows` rows (the default
/// solver's choice, [`Solver::Auto`]).
pub(crate) fn fits(config: &TrainConfig, features: usize, rows: usize) -> bool {
    let probe = TrainConfig {
        solver: Solver::Newton,
        ..config.clone()
    };
    !config.epoch_models && check(&probe, features, rows).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigmoid::approx;

    /// The slope of Newton's sigmoid stays within `[MIN_SLOPE, MAX_SLOPE)` on the clamp's interval (so the
    /// trace bound holds), and `poly_slope` is the derivative of `approx`.
    #[test]
    fn slope_is_bounded_and_is_the_derivative() {
        let mut max: f64 = 0.0;
        for i in 0..=11_000 {
            let z = -CLAMP_AT + i as f64 * 1e-3;
            let s = poly_slope(z);
            let k = saturation() * s;
            assert!((MIN_SLOPE..MAX_SLOPE).contains(&k), "slope {k} at {z}");
            let weight = hessian_weight(z.clamp(-CLAMP_AT + 1e-9, CLAMP_AT - 1e-9));
            assert!(
                (0.0006..MAX_SLOPE).contains(&weight),
                "Hessian weight {weight} at {z}"
            );
            if z.abs() < 4.0 {
                assert!((weight - k).abs() < 6e-4, "{weight} vs {k} at {z}");
            }
            max = max.max(k);
            let h = 1e-5;
            if z.abs() < CLAMP_AT - h {
                let numeric = (approx(z + h) - approx(z - h)) / (2.0 * h);
                assert!((numeric - s).abs() < 1e-6, "{numeric} vs {s} at {z}");
            }
        }
        assert!(max > 0.24, "{max}");
        assert_eq!(hessian_weight(-CLAMP_AT), CLAMPED_WEIGHT);
        // The polynomials the protocol truncates stay below Q_BOUND with room for their fixed-point errors.
        let kappa = saturation();
        let mut largest: f64 = 0.0;
        for i in 0..=10_100 {
            let u = i as f64 * 1e-4;
            let q: f64 = COEFFS
                .iter()
                .enumerate()
                .map(|(k, c)| c * u.powi(k as i32))
                .sum();
            let dq: f64 = COEFFS
                .iter()
                .enumerate()
                .map(|(k, c)| (2 * k + 1) as f64 * c * u.powi(k as i32))
                .sum::<f64>()
                + HESSIAN_TAIL * u.powi(4);
            largest = largest.max((kappa * q).abs()).max((kappa * dq).abs());
        }
        assert!(largest < Q_BOUND - 0.5, "{largest}");
    }

    /// `rows` rows of `d` standardized features (population mean 0, variance 1) and labels from a noisy
    /// linear rule; `scale` multiplies the first column after standardization.
    fn standardized(rows: usize, d: usize, scale: f64) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x: Vec<Vec<f64>> = (0..rows)
            .map(|_| (0..d).map(|_| uniform() * 2.0 - 1.0).collect())
            .collect();
        for j in 0..d {
            let mean = x.iter().map(|r| r[j]).sum::<f64>() / rows as f64;
            let var = x.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / rows as f64;
            for r in x.iter_mut() {
                r[j] = (r[j] - mean) / var.sqrt() * if j == 0 { scale } else { 1.0 };
            }
        }
        let y = x
            .iter()
            .map(|r| {
                let z: f64 = r
                    .iter()
                    .enumerate()
                    .map(|(j, v)| v * (j as f64 - 1.5))
                    .sum();
                f64::from(z + uniform() * 2.0 - 1.0 > 0.0)
            })
            .collect();
        (x, y)
    }

    /// Runs [`solve_with`] among three parties with a dealer on rows shared by party 0, the warm check
    /// overridden to fail at `force_cold`; party 0's weights and rounds.
    async fn solve_on_shares(
        x: &[Vec<f64>],
        y: &[f64],
        force_cold: Vec<usize>,
    ) -> std::result::Result<(Vec<f64>, usize, u64), String> {
        use mpc_core::preprocessing::DealerSource;
        use mpc_core::protocols::input;
        use mpc_core::simulate::{collect, simulate_with, SimOptions};
        let (rows, p) = (x.len(), x[0].len() + 1);
        let flat: Vec<f64> = x
            .iter()
            .flat_map(|r| r.iter().copied().chain([1.0]))
            .collect();
        let (xe, ye) = (
            FORMAT.encode_slice(&flat).unwrap(),
            FORMAT.encode_slice(y).unwrap(),
        );
        let opts = SimOptions {
            dealer: true,
            ..SimOptions::default()
        };
        let out = simulate_with(opts, 3, move |mut ctx| {
            let (xe, ye, force_cold) = (xe.clone(), ye.clone(), force_cold.clone());
            async move {
                let me = ctx.id();
                let mut source = DealerSource::<Z128>::connect(&ctx).await?;
                let xs =
                    input::share_from(&mut ctx, 0, (me == 0).then_some(&xe[..]), rows * p).await?;
                let ys = input::share_from(&mut ctx, 0, (me == 0).then_some(&ye[..]), rows).await?;
                let x = SharedMatrix::new(rows, p, xs)?;
                let config = TrainConfig {
                    solver: Solver::Newton,
                    ..TrainConfig::default()
                };
                let bounds = Bounds::new(rows, p, config.c).unwrap();
                let params = Params {
                    rows,
                    p,
                    parties: 3,
                    bits: bounds.comparison_bits(),
                    bounds,
                    force_cold,
                };
                let run = solve_with(
                    &mut ctx,
                    &mut source,
                    (&x, &ys),
                    None,
                    &config,
                    &|_, _| {},
                    &params,
                )
                .await;
                Ok(run
                    .map(|d| (d.weights.map(|w| w[0].clone()), d.steps, d.step_rounds))
                    .map_err(|e| e.to_string()))
            }
        })
        .await
        .unwrap();
        let mut all = collect(out).unwrap();
        let (w, steps, rounds) = all.swap_remove(0)?;
        Ok((w.unwrap(), steps, rounds))
    }

    /// The warm start's fallback: iterations whose check fails start cold and the run still converges to
    /// the same objective's f64 solution, in more rounds; and the first iteration's trace check stops a run
    /// whose columns are not standardized.
    #[tokio::test]
    async fn cold_restarts_converge_and_the_trace_check_stops_unstandardized_data() {
        let (x, y) = standardized(240, 4, 1.0);
        let want = crate::plain::newton(&x, &y, 1.0, crate::plain::Link::Approx);
        let error = |w: &[f64]| {
            w.iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        };
        let (warm, warm_steps, warm_rounds) = solve_on_shares(&x, &y, vec![]).await.unwrap();
        let (cold, cold_steps, cold_rounds) = solve_on_shares(&x, &y, vec![2, 3]).await.unwrap();
        eprintln!("warm: {warm_steps} iterations, {warm_rounds} rounds, error {:.1e}; cold at 2 and 3: {cold_steps} iterations, {cold_rounds} rounds, error {:.1e}", error(&warm), error(&cold));
        assert!(error(&warm) < 1e-3 && error(&cold) < 1e-3);
        assert!(cold_rounds > warm_rounds, "{cold_rounds} vs {warm_rounds}");
        let (x3, y3) = standardized(240, 4, 3.0);
        let e = solve_on_shares(&x3, &y3, vec![]).await.unwrap_err();
        assert!(e.contains("sum of squares exceeds"), "{e}");
    }

    #[test]
    fn checks_name_the_solver() {
        let config = TrainConfig {
            solver: Solver::Newton,
            ..TrainConfig::default()
        };
        assert!(check(&config, 30, 455).is_ok());
        for (e, what) in [
            (check(&config, 65, 455), "65 features"),
            (check(&config, 30, MAX_ROWS + 1), "rows"),
            (
                check(
                    &TrainConfig {
                        model: ModelKind::Linear,
                        ..config.clone()
                    },
                    3,
                    10,
                ),
                "logistic",
            ),
            (
                check(
                    &TrainConfig {
                        l2: 0.1,
                        ..config.clone()
                    },
                    3,
                    10,
                ),
                "`c`",
            ),
        ] {
            let e = e.unwrap_err().to_string();
            assert!(
                e.contains("`solver`") && e.contains(what) && e.contains("gradient_descent"),
                "{e}"
            );
        }
        assert!(fits(&TrainConfig::default(), 30, 455));
        // Breast cancer's shape meets the default sigma with a dealer and with `ot`.
        let bits = security_bits(455, 30, 1.0, 3, false);
        eprintln!("{:#?}", Bounds::new(455, 31, 1.0));
        eprintln!(
            "bits: dealer {bits}, ot {}",
            security_bits(455, 30, 1.0, 3, true)
        );
        for (rows, d) in [(100, 5), (1000, 10), (5000, 20), (20000, 30), (65536, 64)] {
            eprintln!(
                "{rows} x {d}: dealer {:.1}, ot {:.1}",
                security_bits(rows, d, 1.0, 3, false),
                security_bits(rows, d, 1.0, 3, true)
            );
        }
        assert!(bits >= 40.0, "{bits}");
        assert!(security_bits(455, 30, 1.0, 3, true) < bits);
        assert!(!fits(&TrainConfig::default(), 65, 455));
    }
}
