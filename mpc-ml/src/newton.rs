//! Logistic regression by Newton's method (iteratively reweighted least squares) on secret shares, with
//! scikit-learn's L2 penalty: `solver = newton` ([`crate::config::Solver::Newton`]), picked by the default solver, where its run meets `sigma`, for up to
//! [`MAX_FEATURES`] features.
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
//! 1. `z = X w` (one round), clamped to `[-5.5, 5.5]` with the secure comparison of issue 17
//!    ([`mpc_core::protocols::compare::clamp_flagged`], exactly at 40 fractional bits, for every `z` the
//!    format can hold: [`CLAMP_BITS`]), which also gives a shared flag per row where it clamped.
//! 2. The sigmoid `s = 1/2 + t q(t^2)` (`t = z / 6`) and its derivative `s' = q'(t^2) / 6`,
//!    `q'(u) = C0 + 3 C1 u + 5 C2 u^2 + 7 C3 u^3 + 9 C4 u^4`: both from `u = t^2` and `v = u^2`, with the two
//!    products of `v` in one round. The coefficients are [`crate::sigmoid`]'s times the public
//!    [`crate::sigmoid::saturation`] (1.0123), so that `s` reaches exactly 0 and 1 at the clamp
//!    ([`crate::sigmoid::saturating`]): with the plain polynomial every far-away row kept a residual of
//!    0.006, and on breast cancer the converged weights lay 0.60 from the exact sigmoid's (0.075 with the
//!    stretch), at no cost in rounds. A clamped row's derivative is zero (the clamp is flat):
//!    `S = s'(z) - flag * s'(5.5)`, a local correction, since `s'` is even.
//! 3. `S X` (row `i` times `S_i`, one round of Beaver products), then `X^T [S X | s - y]` in one masked
//!    product: the Hessian `H = X^T S X + lambda I' + lambda e e^T` and the gradient `g` together. The
//!    extra `lambda` on the intercept's diagonal (`e` its unit vector) damps the one unpenalized direction
//!    so that `H` stays positive definite even when every row is clamped; it changes the path, not the
//!    point where `g = 0`.
//! 4. The inverse `M ~ H^-1` by Newton–Schulz ([`crate::closed_form`]'s iteration
//!    `M <- M (2I - H M)`), warm-started: the first iteration starts from `I / c` with `c` a public bound
//!    on `trace H` ([`trace_bound`]) and refines [`FIRST_REFINEMENTS`] times, every later one refines the
//!    previous iteration's `M` [`REFINEMENTS`] times against the new Hessian (the Hessian changes little
//!    from one iteration to the next, and Newton–Schulz converges quadratically from a close start: an
//!    inexact Newton method, whose fixed point is still `g = 0` as long as `M` is non-singular).
//! 5. `w <- w - M g`.
//! 6. The stopping test: `|M g|^2 < TOLERANCE^2` by a secure comparison, opened to every party (one bit per
//!    iteration from the [`FIRST_TEST`]th on, declared in [`crate::secure::disclosures`]). After the first bit that says "converged",
//!    the weights are opened to the receivers; after [`MAX_ITERATIONS`] without it the run stops with an
//!    error (the objective is then too ill-conditioned for this solver: a smaller `C` or gradient descent).
//!
//! Sums, not means: `H` and `g` are the summed-loss quantities, so `M` is at most `C` in norm and `g` keeps
//! all 20 fractional bits of each row's contribution (a mean would lose `log2 N` of them before `M`
//! multiplies them back).
//!
//! # Rounds
//!
//! Per iteration, for three parties: 1 (`X w`) + the clamp's ([`ClampPlan::rounds`] at [`CLAMP_BITS`]:
//! 11) + 1 (`t`) + 2 (`u`) + 2 (`v`) + 2 (`q`, `q'`) + 2 (`t q`, then `s - y` and `S`) + 2 (`S X`) + 2
//! (`X^T [S X | s - y]`) + 4 per Newton–Schulz refinement + 2 (`M g`) + 1 (`|M g|^2`) + the comparison's
//! (9) + 1 (the bit): `38 + 4 K`, i.e. 46 with `K = 2`; the first [`FIRST_TEST`]` - 1` iterations skip
//! the test's 11. Breast cancer converges in 12 iterations with a dealer (540 rounds from the masking to
//! the weights), against 80 steps of 16 rounds (1,280) for
//! ten epochs of gradient descent, which moreover stop short of the converged model.
//!
//! # Cost
//!
//! Per iteration the solver computes on all `N` rows (`S X` is `N (d + 1)` Beaver products, the clamp
//! compares `2N` values at 88 bits) where a descent step touches one batch: with a dealer breast cancer
//! takes about 60 ms of computation per iteration in memory, most of it in the clamp's comparisons, so
//! Newton's method wins where rounds cost more than computation (parties far apart) and loses on loopback.
//! With `ot` preprocessing the `d^3`-sized matrix triples of the inverse and the `N d` Beaver triples of
//! `S X` cost seconds of OT per iteration (about 5 s for breast cancer): `auto` then keeps gradient
//! descent. The correlated randomness of an iteration
//! is announced to the source before it starts ([`Preprocessing::announce`]: a dealer answers it in one
//! round trip).
//!
//! # Bounds and what is revealed
//!
//! Every sigmoid input is clamped. The truncations of the sigmoid's values use the bounds the clamp gives
//! them (`|t| <= 0.93`, `u, v <= 1.01`, `|q|, |q'| <= 128`, `|s - y|, |S| <= 2`), and `S X` the owned
//! values' public bound; those of `H`, `g`, `M` and the update use the format's (`2^87`), as the closed
//! form's do: the weights have no public bound yet (Newton's iterates are not bounded by construction as
//! descent's are, and the warm-started inverse is not either). This solver's masks are uniform (no bounded
//! masks), but with a dealer each truncation fails with probability `(|x| + 2^k) / 2^128`, `2^-40` at the
//! format's bound, and with `ot` its mask hides it within `2^k / 2^125`. [`security_bits`] sums them over
//! [`MAX_ITERATIONS`] iterations as [`crate::hiding`] does for gradient descent, and the report prints
//! it: about 23 bits for breast cancer, **below the default sigma of 40**, so such a run is refused
//! ([`crate::hiding::require_sigma`]: it runs only with `sigma` set that low) and the default solver
//! picks gradient descent instead. Bounding the weights (a clamp of `w` to a box the objective guarantees) would
//! give those truncations tight bounds; it is not done.
//!
//! Opened: `E = X - A` once (uniform; nothing with owned masks), the Beaver and matrix-triple differences
//! (uniform), the truncations' masked values, one bit per iteration (the stopping test: every party learns
//! the iteration count), and the weights to the receivers.
//!
//! # References
//!
//! The method: P. McCullagh, J. Nelder, *Generalized Linear Models* (1989), section 4.4 (IRLS). Newton on
//! shares with a polynomial sigmoid: the same structure as the logistic-regression protocols of
//! SecureML (P. Mohassel, Y. Zhang, IEEE S&P 2017) for the gradient; the Newton–Schulz inverse:
//! G. Schulz (1933), V. Pan and R. Schreiber (1991), see [`crate::closed_form`].

use mpc_core::preprocessing::{lane, MaskUse, Preprocessing, Request};
use mpc_core::protocols::bits::open_bits;
use mpc_core::protocols::compare::{clamp_flagged, less_than_zero, ClampPlan};
use mpc_core::protocols::matmul::{self, MaskedMatrix};
use mpc_core::protocols::mul::mul;
use mpc_core::protocols::{open, trunc};
use mpc_core::{Context, FixedPoint, Ring, Shared, SharedMatrix, Z128};

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

/// The first iteration after which the stopping test runs (counting from 1): before it the test is skipped
/// (its rounds saved). Continuing past convergence only refines the model (at the solution `M g` stays
/// below the tolerance), so this never stops a run early; Newton's method from `w = 0` took at least 6
/// iterations on every data set of the known-answer tests.
pub const FIRST_TEST: usize = 4;

/// Newton–Schulz refinements of the first iteration (from `I / c`) and of every later one (warm).
pub const FIRST_REFINEMENTS: usize = 4;
/// See [`FIRST_REFINEMENTS`].
pub const REFINEMENTS: usize = 2;

/// Bits of the clamp's comparisons: every `z` the format holds at 40 fractional bits (`|z| < 2^87`), plus
/// the threshold, so the clamp is right for any weights.
pub const CLAMP_BITS: u32 = FORMAT.bound_bits + 1;

/// Bits of the stopping test's comparison: `|M g|^2` at 40 fractional bits within the format.
const STOP_BITS: u32 = FORMAT.bound_bits;

/// A bound on the slope of Newton's sigmoid on `[-CLAMP_AT, CLAMP_AT]` (its largest is 0.2466, below the
/// exact sigmoid's 1/4; the unit test checks it).
pub const MAX_SLOPE: f64 = 0.25;

/// The least slope of Newton's sigmoid on the clamp's interval: the polynomial dips slightly near
/// `+-CLAMP_AT` (to -0.0044), so a row whose `z` lies there adds a slightly negative weight to the Hessian,
/// far below the penalty's `1 / C` on the diagonal for the data this solver takes.
pub const MIN_SLOPE: f64 = -0.0045;

/// `c`: a public bound on `trace H` for standardized data (each feature column has `sum x^2 = N`, the
/// intercept column `N`, and `S <= MAX_SLOPE`), plus the penalties: the start `I / c` of the inverse.
pub fn trace_bound(rows: usize, features: usize, lambda: f64) -> f64 {
    let p = (features + 1) as f64;
    MAX_SLOPE * rows as f64 * p + lambda * p
}

/// Checks that Newton's method can fit `features` features and `rows` rows with `config`.
pub(crate) fn check(config: &TrainConfig, features: usize, rows: usize) -> Result<()> {
    let why = if config.model != ModelKind::Logistic {
        Some("Newton's method fits logistic regression only".to_string())
    } else if config.standardize != Standardize::Global {
        Some("Newton's method needs `standardize = global` (its inverse starts from the trace bound that standardization gives)".into())
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
        None
    };
    match why {
        Some(why) => Err(Error::option(
            "solver",
            format!("{why}; use `gradient_descent` (`--solver gd`)"),
        )),
        None => Ok(()),
    }
}

/// `k` with `|x| 2^frac_bits < 2^k` for `|x| <= bound`, at most the format's bound.
fn bound_bits(bound: f64, frac_bits: u32) -> u32 {
    ((bound.log2() + frac_bits as f64).floor() as u32 + 2).min(FORMAT.bound_bits)
}

/// A truncation by `shift` bits of an input below `bound` (real units) at `frac_bits` fractional bits.
fn fx(shift: u32, bound: f64, frac_bits: u32) -> FixedPoint {
    FixedPoint {
        frac_bits: shift,
        bound_bits: bound_bits(bound, frac_bits),
    }
}

/// The format's bound, for values without a tighter public one.
fn full(shift: u32) -> FixedPoint {
    FixedPoint {
        frac_bits: shift,
        bound_bits: FORMAT.bound_bits,
    }
}

/// `|t| = |z| / 6` after the clamp, with the encoding's and the truncation's errors.
const T_BOUND: f64 = CLAMP_AT / RANGE + 0.01;
/// `u = t^2` and `v = u^2`.
const U_BOUND: f64 = 1.01;
/// `q(u)` and `q'(u)` (all coefficients' magnitudes times their powers' factors, times the stretch, is
/// below 100).
const Q_BOUND: f64 = 128.0;
/// `s - y` and `S`.
const RS_BOUND: f64 = 2.0;

/// `S x` for values below `x_max`.
fn sx_bound(x_max: f64) -> f64 {
    x_max * 1.01
}

/// The truncations of one iteration with `refinements` Newton–Schulz refinements, for `rows` rows of `p`
/// columns: how many elements, and the bound `k` (bits of the input) of each.
fn truncations(rows: usize, p: usize, refinements: usize, x_max: f64) -> Vec<(usize, u32)> {
    let f = FORMAT.frac_bits;
    let full = FORMAT.bound_bits;
    vec![
        (rows, bound_bits(T_BOUND, 3 * f)),
        (2 * rows, bound_bits(U_BOUND, 2 * f)),
        (2 * rows, bound_bits(Q_BOUND, 3 * f)),
        (2 * rows, bound_bits(RS_BOUND, 2 * f)),
        (rows * p, bound_bits(sx_bound(x_max), 2 * f)),
        (p * (p + 1), full),
        (2 * refinements * p * p, full),
        (p, full),
    ]
}

/// The statistical security, in bits, of a run of at most [`MAX_ITERATIONS`] iterations on `rows` rows and
/// `features` features among `parties` parties: `-log2` of the summed failure probability of its
/// truncations with a dealer (`(|x| + 2^k) / 2^128` per element under a bound `2^k`), or of their summed
/// statistical distance with the `ot` source (`2^k / 2^rho` per element, `rho` its masks' bits,
/// [`mpc_core::preprocessing::trunc_mask_bits`]), as [`crate::hiding`] counts gradient descent's. Every
/// other opened value is masked uniformly. The truncations of `H`, `g`, `M` and the update use the
/// format's bound, which dominates: about 23 bits for breast cancer, **below the default sigma of 40** (such
/// runs are refused).
pub fn security_bits(rows: usize, features: usize, parties: usize, ot: bool) -> f64 {
    let p = features + 1;
    let x_max = owned_value_limit(rows, Standardize::Global).max(1.0);
    let each = |k: u32| crate::hiding::truncation_term(k, parties, ot);
    let iteration = |refinements| -> f64 {
        truncations(rows, p, refinements, x_max)
            .into_iter()
            .map(|(count, k)| count as f64 * each(k))
            .sum()
    };
    let total = iteration(FIRST_REFINEMENTS) + (MAX_ITERATIONS - 1) as f64 * iteration(REFINEMENTS);
    (-total.log2()).min(Z128::BITS as f64)
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
    /// `1 / C`.
    lambda: f64,
    /// The bound of the standardized values.
    x_max: f64,
}

impl Params {
    /// The requests of one iteration with `refinements` Newton–Schulz refinements, in the order it makes
    /// them.
    fn requests(&self, mask: u64, refinements: usize, test: bool) -> Vec<Request> {
        let (n, p, f) = (self.rows, self.p, FORMAT.frac_bits);
        let triples = |count| Request::Triples {
            count,
            a_bits: Some(Z128::BITS),
        };
        let trunc = |count, frac_bits| Request::Trunc { count, frac_bits };
        let matrix = |m, k, n| Request::MatrixTriple { m, k, n };
        let mut v = vec![Request::MaskTriple {
            mask,
            using: forward(n),
        }];
        let clamp = ClampPlan::new(n, CLAMP_BITS, self.parties);
        v.extend(
            clamp
                .and_words
                .iter()
                .map(|&words| Request::BitTriples { words }),
        );
        v.extend([
            Request::DaBits {
                count: clamp.dabits,
            },
            triples(clamp.triples),
            trunc(n, 2 * f),
            triples(n),
            trunc(n, f),
            triples(n),
            trunc(n, f),
            triples(2 * n),
            trunc(2 * n, 2 * f),
            triples(n),
            trunc(2 * n, f),
            triples(n * p),
            trunc(n * p, f),
            Request::MaskTriple {
                mask,
                using: backward(n, p),
            },
            trunc(p * (p + 1), f),
        ]);
        for _ in 0..refinements {
            v.extend([
                matrix(p, p, p),
                trunc(p * p, f),
                matrix(p, p, p),
                trunc(p * p, f),
            ]);
        }
        v.extend([matrix(p, p, 1), trunc(p, f)]);
        if test {
            v.push(triples(p));
            let stop = ClampPlan::new(1, STOP_BITS, self.parties);
            v.extend(
                stop.and_words
                    .iter()
                    .map(|&words| Request::BitTriples { words }),
            );
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
    let me = ctx.id();
    let mpc = Error::mpc;
    let (rows, p) = (x.rows(), x.cols());
    let d = p.saturating_sub(1);
    check(config, d, rows)?;
    if y.len() != rows || rows == 0 {
        return Err(mpc(me)(mpc_core::Error::Shape(format!(
            "{rows} rows and {} labels",
            y.len()
        ))));
    }
    let params = Params {
        rows,
        p,
        parties: ctx.parties(),
        lambda: 1.0 / config.c,
        x_max: owned_value_limit(rows, config.standardize).max(1.0),
    };
    let online = ctx.stats();
    let masked = mask_rows(ctx, source, x, owned, 0, rows).await?;
    let mut w = Shared::<Z128>::zeros(p);
    let mut inverse: Option<SharedMatrix<Z128>> = None;
    let mut iterations = 0;
    loop {
        if iterations == MAX_ITERATIONS {
            return Err(Error::option(
                "c",
                format!(
                    "Newton's method did not converge in {MAX_ITERATIONS} iterations (the update's norm stayed above {TOLERANCE}): the data may be separable; train with a smaller `c` or with `gradient_descent`"
                ),
            ));
        }
        let refinements = if inverse.is_some() {
            REFINEMENTS
        } else {
            FIRST_REFINEMENTS
        };
        let test = iterations + 1 >= FIRST_TEST;
        let requests = params.requests(masked.mask().id(), refinements, test);
        source.announce(ctx, &requests).await.map_err(mpc(me))?;
        let (update, stop) = iteration(
            ctx,
            source,
            &masked,
            (x, y),
            &w,
            &mut inverse,
            &params,
            test,
        )
        .await
        .map_err(mpc(me))?;
        w = w.try_sub(&update).map_err(mpc(me))?;
        iterations += 1;
        progress(iterations, MAX_ITERATIONS);
        if stop {
            break;
        }
    }
    let step_rounds = ctx.stats().since(&online).rounds;
    tracing::info!(party = me, iterations, "Newton's method converged");
    let opened = open::open_to(ctx, &w, &config.receivers)
        .await
        .map_err(mpc(me))?;
    Ok(Descent {
        weights: opened.map(|v| vec![FORMAT.decode_slice(&v)]),
        steps: iterations,
        step_rounds,
    })
}

/// One Newton iteration at `w`: returns the update `M g` (to subtract) and the opened stopping bit.
#[allow(clippy::too_many_arguments)]
async fn iteration(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    masked: &MaskedMatrix<Z128>,
    (x, y): (&SharedMatrix<Z128>, &Shared<Z128>),
    w: &Shared<Z128>,
    inverse: &mut Option<SharedMatrix<Z128>>,
    pp: &Params,
    test: bool,
) -> mpc_core::Result<(Shared<Z128>, bool)> {
    let me = ctx.id();
    let (n, p, f) = (pp.rows, pp.p, FORMAT.frac_bits);
    let uniform = Z128::BITS;

    // 1. z = X w (40 fractional bits), clamped exactly.
    let fwd = forward(n);
    let t = src.mask_triple(ctx, masked.mask(), fwd.clone()).await?;
    let z = masked
        .mul(ctx, &fwd, &SharedMatrix::new(p, 1, w.clone())?, t)
        .await?
        .into_shared();
    let at = encode(CLAMP_AT, 2 * f);
    let (z, flags) = clamp_flagged(ctx, src, &z, -at, at, CLAMP_BITS).await?;

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
    let (wq, wd) = (linear(1.0, 1.0, 1.0)?, linear(5.0, 7.0, 9.0)?);
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

    // s - y = 1/2 + t q - y, and S = q' / 6 - flag s'(5.5) (40 fractional bits), truncated together.
    let tr = src.triples_bounded(ctx, n, uniform).await?;
    let tq = mul(ctx, &t, &q, tr).await?;
    let r = tq
        .add_public(me, &vec![encode(0.5, 2 * f); n])?
        .try_sub(&y.scale(lift))?;
    let s = dq
        .scale(encode(1.0 / RANGE, f))
        .try_sub(&flags.scale(encode(kappa * poly_slope(CLAMP_AT), 2 * f)))?;
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
    let sx = trunc::trunc(ctx, &sx, fx(f, sx_bound(pp.x_max), 2 * f), pairs).await?;
    let (sxv, rv) = (sx.share_values(), r.share_values());
    let mut right = Vec::with_capacity(n * (p + 1));
    for (i, &ri) in rv.iter().enumerate() {
        right.extend_from_slice(&sxv[i * p..(i + 1) * p]);
        right.push(ri);
    }
    let back = backward(n, p);
    let t = src.mask_triple(ctx, masked.mask(), back.clone()).await?;
    let hg = masked
        .mul(
            ctx,
            &back,
            &SharedMatrix::new(n, p + 1, Shared::from_share(right))?,
            t,
        )
        .await?
        .into_shared();
    // lambda on the diagonal (the intercept's too: damping), lambda w' in the gradient.
    let lambda2 = encode(pp.lambda, 2 * f);
    let mut diagonal = vec![Z128::ZERO; p * (p + 1)];
    for j in 0..p {
        diagonal[j * (p + 1) + j] = lambda2;
    }
    let mut penalty = vec![Z128::ZERO; p * (p + 1)];
    for j in 0..p - 1 {
        penalty[j * (p + 1) + p] = encode(pp.lambda, f);
    }
    let mut weights = vec![Z128::ZERO; p * (p + 1)];
    for (j, &wj) in w.share_values().iter().enumerate() {
        weights[j * (p + 1) + p] = wj;
    }
    let hg = hg
        .add_public(me, &diagonal)?
        .try_add(&Shared::from_share(weights).mul_public(&penalty)?)?;
    let pairs = src.trunc_pairs(ctx, p * (p + 1), f).await?;
    let hg = trunc::trunc(ctx, &hg, full(f), pairs).await?;
    let hv = hg.share_values();
    let mut h = Vec::with_capacity(p * p);
    let mut g = Vec::with_capacity(p);
    for j in 0..p {
        h.extend_from_slice(&hv[j * (p + 1)..j * (p + 1) + p]);
        g.push(hv[j * (p + 1) + p]);
    }
    let h = SharedMatrix::new(p, p, Shared::from_share(h))?;
    let g = SharedMatrix::new(p, 1, Shared::from_share(g))?;

    // 4. M ~ H^-1: Newton–Schulz, warm-started.
    let (mut m, refinements) = match inverse.take() {
        Some(m) => (m, REFINEMENTS),
        None => {
            let start = encode(1.0 / trace_bound(n, p - 1, pp.lambda), f);
            let mut diag = vec![Z128::ZERO; p * p];
            (0..p).for_each(|j| diag[j * p + j] = start);
            (
                SharedMatrix::new(p, p, Shared::from_public(me, &diag))?,
                FIRST_REFINEMENTS,
            )
        }
    };
    let mut two = vec![Z128::ZERO; p * p];
    (0..p).for_each(|j| two[j * p + j] = encode(2.0, f));
    for _ in 0..refinements {
        let hm = product(ctx, src, &h, &m).await?;
        let r = (-hm.as_shared()).add_public(me, &two)?;
        m = product(ctx, src, &m, &SharedMatrix::new(p, p, r)?).await?;
    }

    // 5. The update M g.
    let update = product(ctx, src, &m, &g).await?.into_shared();
    *inverse = Some(m);

    // 6. The stopping test: |M g|^2 < TOLERANCE^2 (40 fractional bits), one bit opened to all.
    if !test {
        return Ok((update, false));
    }
    let tr = src.triples_bounded(ctx, p, uniform).await?;
    let squares = mul(ctx, &update, &update, tr).await?.sum();
    let below = squares.add_public(me, &[-encode(TOLERANCE * TOLERANCE, 2 * f)])?;
    let bits = less_than_zero(ctx, src, &Shared::concat(&[&below, &below]), STOP_BITS).await?;
    let opened = open_bits(ctx, &bits).await?;
    Ok((update, lane(&opened, 0)))
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

/// `a b` truncated by 20 bits (matrix triple, two rounds).
async fn product(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<Z128>,
    a: &SharedMatrix<Z128>,
    b: &SharedMatrix<Z128>,
) -> mpc_core::Result<SharedMatrix<Z128>> {
    let f = FORMAT.frac_bits;
    let t = src.matrix_triple(ctx, a.rows(), a.cols(), b.cols()).await?;
    let z = matmul::matmul(ctx, a, b, t).await?;
    let (rows, cols) = (z.rows(), z.cols());
    let pairs = src.trunc_pairs(ctx, rows * cols, f).await?;
    let out = trunc::trunc(ctx, z.as_shared(), full(f), pairs).await?;
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
            max = max.max(k);
            let h = 1e-5;
            if z.abs() < CLAMP_AT - h {
                let numeric = (approx(z + h) - approx(z - h)) / (2.0 * h);
                assert!((numeric - s).abs() < 1e-6, "{numeric} vs {s} at {z}");
            }
        }
        assert!(max > 0.24, "{max}");
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
        // The format-bound truncations dominate the run's statistical budget (see `security_bits`).
        let bits = security_bits(455, 30, 3, false);
        assert!((20.0..26.0).contains(&bits), "{bits}");
        assert!(security_bits(455, 30, 3, true) < bits);
        assert!(!fits(&TrainConfig::default(), 65, 455));
    }
}
