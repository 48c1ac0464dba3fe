//! Linear (ridge) regression in closed form on secret shares: the normal equations
//! `(X^T X / N + l2 I') w = X^T y / N`, with the matrix inverted on the shares by Newton–Schulz iteration.
//! Selected by `solver = closed_form` ([`crate::config::Solver::ClosedForm`]).
//!
//! `X` is the shared `N x p` training matrix of [`crate::secure`] (standardized features, then the
//! constant-1 intercept column, `p = d + 1`), `y` the shared standardized labels, both at
//! [`FORMAT`] (20 fractional bits in Z128); `I'` is the identity without the intercept's entry, so the
//! intercept is not penalized, as in gradient descent. With `l2 = 0` this is ordinary least squares; the
//! solution is the point gradient descent on the same objective converges to.
//!
//! # Protocol
//!
//! All products are mpc-core's matrix-triple product ([`matmul::matmul`]) followed by probabilistic
//! truncation ([`trunc::trunc`]); all correlated randomness (matrix triples, truncation pairs) is fetched
//! from the preprocessing source before the first product, since every shape is public.
//!
//! 1. **Gram matrix.** One product `X^T [X | y]` (`p x N` times `N x (p + 1)`) gives `X^T X` and `X^T y`
//!    together at `2f` fractional bits, truncated to `f` bits. Then the check `trace(X^T X) <= 1.1 N p`
//!    (one secure comparison, one bit opened to every party; the run stops with an error if it fails:
//!    global standardization gives each column `sum x^2 = N`, so only a loss of precision of the global
//!    statistics fails it), on which every later bound rests. Both are then scaled by the public
//!    `round(2^40 / N)` and truncated by 40 bits, giving `G0 = X^T X / N` and `h = X^T y / N` at `f` bits.
//!    Party 0 adds the public `l2` to the first `d` diagonal entries and the damping [`DAMPING`] `= 2^-8` to
//!    all of them: `G = G0 + l2 I' + delta I`.
//! 2. **Inverse.** Newton–Schulz (Schulz 1933): `M <- M (2I - G M)`, from the public `M0 = I / c` with
//!    `c = 1.1 (d + 1) + d l2 + delta` (see below), for [`iterations`] rounds of the loop, a public number fixed by the
//!    fixed-point precision, the feature count and `l2`. Each iteration is two products, each truncated.
//! 3. **Weights.** `w = M h` (one product, truncated), opened to the receivers only, as in gradient descent;
//!    they turn it into weights on raw values ([`crate::scaling::Scaling::to_raw`]).
//!
//! **Rounds** (online, after the preprocessing): `3` for the Gram matrix, the trace check's comparison and
//! its opening, `1` for the division, `4` per iteration, `2` for `w` and `1` to open it: `4 K + 7` plus the
//! comparison's, i.e. about 80 for the 10 features of the diabetes data (`K = 16`). Elements sent per
//! party to each peer: `N (2p + 1)` for the Gram product and `p (p + 1)` for its truncation, `6 p^2` per
//! iteration (two products of `2 p^2` and two truncations of `p^2`), `p^2 + 2p` for `w`, and `p` to each
//! receiver. Preprocessing: one `p x N x (p + 1)` matrix triple and `2K + 1` small ones, with `p (p + 1)`,
//! `p^2` or `p` truncation pairs each.
//!
//! # Why it converges, and why `K` iterations suffice
//!
//! With global standardization every feature column has mean 0 and `sum x^2 / N = 1` over the training rows
//! (a constant column becomes 0), and the intercept column is all ones; so `G` is symmetric positive
//! semi-definite, its trace is at most `1.1 (d + 1)` once checked, and every eigenvalue `lambda` of `G`
//! (with the penalty and the damping) lies in `[delta, c]`, `c = 1.1 (d + 1) + d l2 + delta`. Without standardization no such public bound exists, so the closed form refuses
//! `standardize = none` ([`crate::config::TrainConfig::validate`]). Every iterate is a polynomial in `G`, so
//! `G M_k` has the eigenvalues `s_k` with `1 - s_(k+1) = (1 - s_k)^2` and `s_0 = lambda / c` in `(0, 1]`
//! (with `1 / c` rounded to `f` bits; [`iterations`] counts with the rounded value):
//! after `K` iterations the residual on that eigenvector is `(1 - lambda / c)^(2^K) <= exp(-2^K lambda / c)`,
//! which is below `2^-f` once `2^K >= f ln 2 * c / lambda`. The rate depends on the condition number (through
//! `c / lambda_min`): for each halving of the smallest eigenvalue one more iteration is needed.
//!
//! [`iterations`] takes `K = ceil(log2(f ln 2 * c / lambda_floor))` with the floor
//! `lambda_floor = max(2^(-f/2), min(l2, 1) / 2)`:
//! - `2^(-f/2)` comes from the precision: `G` and `h` carry errors of about `2^-f`, so a system whose smallest
//!   eigenvalue is below `2^(-f/2)` has a solution with fewer than `f/2` correct bits in fixed point whatever
//!   the solver; directions with such eigenvalues are not fully inverted: the iterate is then the spectral
//!   filter `(1 - (1 - lambda/c)^(2^K)) / lambda` (between 0 and `2^K / c`), a regularized solution, never a
//!   divergence;
//! - with a penalty the eigenvalues of the features' block are at least `l2` and the intercept's is 1 (the
//!   columns are centred), so `min(l2, 1) / 2` (halved for the rounding of the means) is a floor too, and
//!   fewer iterations are needed: the penalty improves the conditioning.
//!
//! With the damping the floor is at least `delta = 2^-8` (above the precision's `2^-10`): for 10 features
//! and `l2 = 0`: `K = 16`; for 64 features: `K = 18`; for 10 features and `l2 = 0.5`: `K = 10`.
//!
//! # Fixed-point error
//!
//! Each truncation errs by at most `t` units of `2^-f` per entry (`t = 1` with the dealer's pairs, `t <= n`
//! with the `ot` source's, see `mpc_core::preprocessing`) and fails with probability at most `2^-40` per element
//! with the dealer. Every truncation is sized by a public bound of its input ([`Bounds`]: the sums by
//! `N v^2`, the scaled Gram matrix after the trace check, and in the loop `|G M_j| <= 1 + |E_j|`,
//! `|M_j| <= (1 + |E_j|) / (delta - p ulp)` while the residual bound `|E_j|` stays below 1, which the
//! damping guarantees where it dominates the truncation errors: up to about 13 features; beyond, the shape
//! is refused at any `sigma` and gradient descent is the default). [`security_bits`] sums the
//! truncations' failure probabilities (dealer) or statistical distances (`ot`): 52 bits for diabetes with a
//! dealer, 50 with `ot`. The Newton–Schulz map is self-correcting (its derivative
//! vanishes at `G^-1`), so truncation errors do not accumulate: after the `K` iterations, every entry of `M`
//! is within [`inverse_error_bound`] `= 2^-f (t (1 + sqrt(p) / lambda_min) + 1 / lambda_min)` of the inverse
//! of the shared `G` (the first term from the truncations, the second the residual of the iteration), for
//! `lambda_min >= lambda_floor`. The weights `w = M h` are then within that bound times `sum |h_j|`, plus `t`
//! units, of the exact solution of the shared system. The entries of that system (`G`, `h`) are themselves
//! within a few units of `2^-f` of their values on the unrounded standardized data (encoding and one
//! truncation), which moves the solution by about that much times the norm of `G^-1`. The unit test checks
//! the bound on a known matrix; the integration tests compare with least squares in f64.
//!
//! # What is revealed
//!
//! Only the weights `w` (standardized, intercept last), once, to the receivers: as much as one epoch of
//! gradient descent opens; and to every party the trace check's bit. Every other opened value is masked by fresh randomness (the `E = X^T - A` and
//! `F = Y - B` of each matrix-triple product, uniform; `x + r` of each truncation, uniform with the dealer and
//! statistically hiding with `ot`, as in gradient descent, see SECURITY.md), or is public (`N`, `d`, `l2`,
//! `K`).
//!
//! # References
//!
//! G. Schulz, "Iterative Berechnung der reziproken Matrix", Z. Angew. Math. Mech. 13 (1933): the iteration.
//! V. Pan and R. Schreiber, "An improved Newton iteration for the generalized inverse of a matrix, with
//! applications", SIAM J. Sci. Stat. Comput. 12 (1991): its convergence from a scaled start, in a linear then
//! a quadratic phase. V. Nikolaenko, U. Weinsberg, S. Ioannidis, M. Joye, D. Boneh, N. Taft,
//! "Privacy-preserving ridge regression on hundreds of millions of records" (IEEE S&P 2013), and A. Gascón,
//! P. Schoppmann, B. Balle, M. Raykova, J. Doerner, S. Zahur, D. Evans, "Privacy-preserving distributed linear
//! regression on high-dimensional data" (PoPETs 2017): ridge regression in MPC by aggregating `X^T X` and
//! `X^T y` and solving the small `p x p` system securely, which this module follows; they solve it in garbled
//! circuits (Cholesky decomposition; Gascón et al. also conjugate gradient descent in fixed point), here it
//! is Newton–Schulz on additive shares, which needs only matrix products and truncations.

use std::collections::VecDeque;

use mpc_core::preprocessing::{lane, MatrixTriple, Preprocessing, Request, TruncPairs};
use mpc_core::protocols::bits::open_bits;
use mpc_core::protocols::compare::{less_than_zero, ClampPlan};
use mpc_core::protocols::{matmul, open, trunc};
use mpc_core::{Context, FixedPoint, Ring, Shared, SharedMatrix, Z128};

use crate::config::Standardize;
use crate::config::{Solver, TrainConfig};
use crate::data::MAX_ROWS;
use crate::error::{Error, Result};
use crate::secure::{owned_value_limit, Descent, FORMAT};

/// The largest feature count the closed form accepts: its cost grows with `d^3` per iteration, and beyond
/// this gradient descent is the better choice.
pub const MAX_FEATURES: usize = 64;

/// Extra bits of the public `2^SCALE_BITS / N` that divides the Gram matrix by the row count.
const SCALE_BITS: u32 = 40;

/// `trace(X^T X) <= TRACE_SLACK N p`, which the solve checks before it divides by `N` (one opened bit):
/// global standardization gives every column `sum x^2 = N`, up to the fixed-point statistics.
pub const TRACE_SLACK: f64 = 1.1;

/// `delta = 2^-8`, added to every diagonal entry of `G` (the intercept's too): `G + delta I >= delta I`
/// whatever the data (`X^T X` is positive semi-definite), which bounds the inverse and every iterate
/// ([`Bounds`]). On standardized data it is ridge with `alpha = delta N` plus a damping of the intercept,
/// whose exact value is 0 (the labels are centred): on diabetes it moves R^2 by 0.0004 and the weights by
/// at most 0.15 (standardized units, on the collinear columns `s1`, `s2`), where the precision floor of the
/// iteration already moved them by 0.05. The plaintext baseline solves the same system
/// ([`crate::plain::closed_form`]).
pub const DAMPING: f64 = 1.0 / 256.0;

/// `c = 1.1 (d + 1) + d l2 + delta`: a public bound on the largest eigenvalue of `G` (its trace, checked),
/// the start's scale.
pub fn trace_bound(features: usize, l2: f64) -> f64 {
    TRACE_SLACK * (features + 1) as f64 + features as f64 * l2 + DAMPING
}

/// The smallest eigenvalue of `G` the iteration count is chosen for: `max(delta, min(l2, 1) / 2)`
/// ([`DAMPING`]; it is above the precision floor `2^(-f/2)`).
pub fn eigenvalue_floor(l2: f64, frac_bits: u32) -> f64 {
    (-(frac_bits as f64) / 2.0)
        .exp2()
        .max(l2.min(1.0) / 2.0)
        .max(DAMPING)
}

/// An upper bound on one unit in the last place of the 20-fractional-bit values.
pub(crate) const ULP: f64 = 1.0 / (1u64 << 20) as f64;

/// `k` with `|x| 2^frac_bits < 2^k` for `|x| <= bound` (not capped: the callers refuse a run whose values
/// could leave the format; an infinite bound gives a `k` beyond any format).
pub(crate) fn bound_bits(bound: f64, frac_bits: u32) -> u32 {
    if !bound.is_finite() {
        return u32::MAX / 2;
    }
    (bound.max(1e-9).log2() + frac_bits as f64).floor().max(0.0) as u32 + 2
}

/// The Newton–Schulz residual bound after one more refinement of a `p x p` inverse of a matrix below `c`
/// in norm: `|E_(j+1)| <= |E_j|^2 + (1 + |E_j|) p ulp + c p ulp`, since `I - A M_(j+1) = E_j^2 + (I - E_j) D_1
/// - A D_2` with `D_1`, `D_2` the two products' truncation errors (at most `p ulp` in norm each).
pub(crate) fn next_residual(e: f64, p: f64, c: f64) -> f64 {
    e * e + (1.0 + e) * p * ULP + c * p * ULP
}

/// The error of a solver whose opened trace check failed: `trace(X^T X)` above `TRACE_SLACK N p`.
pub(crate) fn trace_check_failed(solver: &str) -> mpc_core::Error {
    mpc_core::Error::InvalidArgument(format!(
        "the standardized columns' sum of squares exceeds {TRACE_SLACK} times rows x columns (the global statistics lost precision: a column whose mean is far larger than its spread); {solver} bounds rest on it: train with `gradient_descent`"
    ))
}

/// The public bounds of a closed-form run (real units, spectral norms, which bound every entry).
///
/// After the trace check `|G| <= c`; `G + delta I` (computed, truncation errors `|D| <= p ulp` included) has
/// smallest singular value at least `delta - p ulp`, so `|G^-1| <= 1 / (delta - p ulp)`. With
/// `E_j = I - G M_j`, `E_0 = I - G / c` has `|E_0| <= 1 - delta / c + p ulp / c`, and the truncations give
/// `|E_(j+1)| <= |E_j|^2 + (1 + |E_j|) p ulp + c p ulp` (`I - G M_(j+1) = E_j^2 + (I - E_j) D_1 - G D_2`,
/// `D_1`, `D_2` the two products' truncation errors); while `|E_j| < 1` (checked term by term here, else
/// the shape is refused), `|G M_j| <= 1 + |E_j|` and `|M_j| = |G^-1 (I - E_j)| <= (1 + |E_j|) / (delta -
/// p ulp)`.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// `X^T [X | y]` before its first truncation: `N v^2` a priori (`v` the values' public bound), each
    /// entry.
    pub sums: f64,
    /// The trace check's limit: `trace(X^T X) <= TRACE_SLACK N p`.
    pub trace_limit: f64,
    /// `X^T [X | y] / N` after the check: at most `max(1.1 p, sqrt(1.1 p) v)` per entry.
    pub scaled: f64,
    /// Per iteration `j`: the bounds of `G M_j` and of `M_j (2I - G M_j)`.
    pub loop_products: Vec<(f64, f64)>,
    /// `|w| = |M h|`.
    pub weights: f64,
    /// Whether every `|E_j|` stayed below 1 (else the bounds do not hold and the shape is refused).
    pub contracting: bool,
}

impl Bounds {
    /// The bounds for `rows` rows, `features` features and penalty `l2`.
    pub fn new(rows: usize, features: usize, l2: f64) -> Bounds {
        let (n, p) = (rows as f64, (features + 1) as f64);
        let v = owned_value_limit(rows, Standardize::Global).max(1.0);
        let c = trace_bound(features, l2);
        let inverse = 1.0 / (DAMPING - p * ULP);
        let k = iterations(features, l2, FORMAT.frac_bits);
        let mut e = 1.0 - DAMPING / c + p * ULP / c;
        let mut contracting = e < 1.0;
        let mut loop_products = Vec::with_capacity(k);
        for _ in 0..k {
            // Past 1 the bound no longer holds; capped so the figures stay finite for the refusal.
            let next = next_residual(e, p, c).min(2.0);
            contracting &= next < 1.0;
            loop_products.push((1.0 + e + p * ULP, inverse * (1.0 + next) + p * ULP));
            e = next;
        }
        Bounds {
            sums: n * v * v,
            trace_limit: TRACE_SLACK * n * p,
            scaled: (TRACE_SLACK * p).max((TRACE_SLACK * p).sqrt() * v),
            weights: inverse * 2.0 * c.sqrt() * v + p * ULP,
            loop_products,
            contracting,
        }
    }

    /// The truncations: how many elements, and the bound `k` (bits of the input) of each.
    fn truncations(&self, p: usize) -> Vec<(usize, u32)> {
        let f = FORMAT.frac_bits;
        let mut out = vec![
            (p * (p + 1), bound_bits(self.sums, 2 * f)),
            (p * (p + 1), bound_bits(self.scaled, f + SCALE_BITS)),
        ];
        for &(gm, m) in &self.loop_products {
            out.push((p * p, bound_bits(gm, 2 * f)));
            out.push((p * p, bound_bits(m, 2 * f)));
        }
        out.push((p, bound_bits(self.weights, 2 * f)));
        out
    }

    /// Bits of the trace check's comparison: `trace(X^T X)` (at most `p N v^2`) against its limit.
    fn trace_bits(&self, p: usize) -> u32 {
        bound_bits(p as f64 * self.sums + self.trace_limit, FORMAT.frac_bits)
    }
}

/// The number of Newton–Schulz iterations for `features` features, penalty `l2` and `frac_bits` fractional
/// bits: `ceil(log2(f ln 2 * c / lambda_floor))`, so that every eigenvalue above the floor converges to
/// within `2^-f` (see the module docs).
pub fn iterations(features: usize, l2: f64, frac_bits: u32) -> usize {
    // The start is I / c rounded to f bits: count with the c it encodes.
    let scale = (frac_bits as f64).exp2();
    let c = scale / (scale / trace_bound(features, l2)).round().max(1.0);
    let need = frac_bits as f64 * std::f64::consts::LN_2 * c / eigenvalue_floor(l2, frac_bits);
    need.log2().ceil().max(1.0) as usize
}

/// The statistical security, in bits, of a closed-form run on `rows` rows and `features` features with
/// penalty `l2` among `parties` parties (`ot`: the `ot` source): `-log2` of the summed
/// [`crate::hiding::truncation_term`] of its truncations (the sums' and the scaled Gram matrix's
/// `p (p + 1)` each, two `p x p` per Newton–Schulz iteration, the weights' `p`), each at its public bound
/// ([`Bounds`]). 0 where the bounds do not hold (too many features for the damping to dominate the
/// truncation errors) or leave the format, so such a shape is refused at any sigma.
pub fn security_bits(rows: usize, features: usize, l2: f64, parties: usize, ot: bool) -> f64 {
    let p = features + 1;
    let bounds = Bounds::new(rows, features, l2);
    let list = bounds.truncations(p);
    if !bounds.contracting
        || list.iter().any(|&(_, k)| k > FORMAT.bound_bits)
        || bounds.trace_bits(p) >= Z128::BITS - 2
    {
        return 0.0;
    }
    let total: f64 = list
        .iter()
        .map(|&(count, k)| count as f64 * crate::hiding::truncation_term(k, parties, ot))
        .sum();
    (-total.log2()).min(Z128::BITS as f64)
}

/// The trace check's comparison: one value, as two lanes.
fn trace_check_plan(bounds: &Bounds, p: usize, parties: usize) -> ClampPlan {
    ClampPlan::new(1, bounds.trace_bits(p), parties)
}

/// The online rounds of a closed-form run with a dealer, from the Gram product to the weights (before their
/// opening): 2 for the sums, the trace check's AND rounds and its opening, 1 for the division by `N`, 4 per
/// Newton–Schulz iteration and 2 for the weights.
pub fn rounds(rows: usize, features: usize, l2: f64, parties: usize) -> u64 {
    let bounds = Bounds::new(rows, features, l2);
    let and_rounds = trace_check_plan(&bounds, features + 1, parties)
        .and_words
        .len();
    (4 * iterations(features, l2, FORMAT.frac_bits) + 6 + and_rounds) as u64
}

/// What the closed form opens to every party besides the model, for the report's "what was revealed".
pub(crate) fn disclosures() -> Vec<String> {
    vec![format!("one bit: whether the standardized columns' sum of squares is within {TRACE_SLACK} times rows x columns (always, unless the global statistics lost precision; the run then stops with an error)")]
}

/// The stated bound on the error of every entry of the computed inverse, for a `p x p` matrix whose smallest
/// eigenvalue is `lambda_min` (at least the floor), with truncation errors of at most `t` units of `2^-f`.
pub fn inverse_error_bound(p: usize, lambda_min: f64, t: usize, frac_bits: u32) -> f64 {
    let ulp = (-(frac_bits as f64)).exp2();
    ulp * (t as f64 * (1.0 + (p as f64).sqrt() / lambda_min) + 1.0 / lambda_min)
}

/// Checks that the closed form can fit `features` features with `config` (the error names `solver`).
pub(crate) fn check(config: &TrainConfig, features: usize) -> Result<()> {
    if config.solver != Solver::ClosedForm {
        return Ok(());
    }
    config.validate(usize::MAX)?;
    if features == 0 || features > MAX_FEATURES {
        return Err(Error::option(
            "solver",
            format!(
                "{features} features: the closed form handles 1 to {MAX_FEATURES}; use `gradient_descent` (`--solver gd`)"
            ),
        ));
    }
    if !Bounds::new(1, features, config.l2).contracting {
        return Err(Error::option(
            "solver",
            format!(
                "{features} features: the closed form's damping cannot keep the inverse bounded against its fixed-point errors beyond about 13 features (more with a larger `l2`); use `gradient_descent` (`--solver gd`)"
            ),
        ));
    }
    Ok(())
}

/// Fits the closed form to the shared `x` (`N x (d + 1)`, intercept column last) and labels `y`, and opens
/// the weights to the receivers: one weight vector (standardized, intercept last). `progress` is told
/// `(iterations_done, iterations)`.
pub(crate) async fn solve(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    x: &SharedMatrix<Z128>,
    y: &Shared<Z128>,
    config: &TrainConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Descent> {
    let me = ctx.id();
    let mpc = Error::mpc;
    let (rows, p) = (x.rows(), x.cols());
    let d = p.saturating_sub(1);
    check(config, d)?;
    if y.len() != rows || rows == 0 || rows > MAX_ROWS {
        return Err(Error::mpc(me)(mpc_core::Error::Shape(format!(
            "{rows} rows and {} labels",
            y.len()
        ))));
    }
    let f = FORMAT.frac_bits;
    let k = iterations(d, config.l2, f);
    let bounds = Bounds::new(rows, d, config.l2);
    let mut plan = Plan::new(
        gram_needs(rows, p)
            .chain(inverse_needs(p, k))
            .chain([Need::Matrix(p, p, 1), Need::Trunc(p, f)]),
    );
    // Everything the solve draws, announced in order (the plan's items, then the trace check's AND
    // triples, drawn during the online phase): a dealer sends them in one round trip.
    let mut upcoming: Vec<Request> = plan.requests();
    upcoming.extend(
        trace_check_plan(&bounds, p, ctx.parties())
            .and_words
            .into_iter()
            .map(|words| Request::BitTriples { words }),
    );
    source.announce(ctx, &upcoming).await.map_err(mpc(me))?;
    plan.fetch(ctx, source).await.map_err(mpc(me))?;
    let online = ctx.stats();

    let (g, h) = gram(ctx, &mut plan, source, x, y, config.l2, &bounds)
        .await
        .map_err(mpc(me))?;
    let m = newton_schulz(
        ctx,
        &mut plan,
        &g,
        trace_bound(d, config.l2),
        &bounds.loop_products,
        progress,
    )
    .await
    .map_err(mpc(me))?;
    let w = product(ctx, &mut plan, &m, &h, f, bounds.weights)
        .await
        .map_err(mpc(me))?;
    let step_rounds = ctx.stats().since(&online).rounds;
    tracing::info!(party = me, iterations = k, "closed form solved");
    let opened = open::open_to(ctx, w.as_shared(), &config.receivers)
        .await
        .map_err(mpc(me))?;
    Ok(Descent {
        weights: opened.map(|v| vec![FORMAT.decode_slice(&v)]),
        steps: k,
        step_rounds,
    })
}

/// Step 1: `G = X^T X / N + l2 I' + delta I` (`p x p`) and `h = X^T y / N` (`p x 1`) at `f` fractional
/// bits: the sums `X^T [X | y]` truncated to `f` bits, the check `trace(X^T X) <= 1.1 N p` (one comparison
/// drawn from `source`, one bit opened to every party; the run stops with an error if it fails), then the
/// division by `N`.
async fn gram(
    ctx: &mut Context,
    plan: &mut Plan,
    source: &mut dyn Preprocessing<Z128>,
    x: &SharedMatrix<Z128>,
    y: &Shared<Z128>,
    l2: f64,
    bounds: &Bounds,
) -> mpc_core::Result<(SharedMatrix<Z128>, SharedMatrix<Z128>)> {
    let me = ctx.id();
    let (rows, p) = (x.rows(), x.cols());
    let f = FORMAT.frac_bits;
    let xs = x.as_shared().share_values();
    let ys = y.share_values();
    let mut right = Vec::with_capacity(rows * (p + 1));
    for (r, &yr) in ys.iter().enumerate() {
        right.extend_from_slice(&xs[r * p..(r + 1) * p]);
        right.push(yr);
    }
    let right = SharedMatrix::new(rows, p + 1, Shared::from_share(right))?;
    let t = plan.matrix(p, rows, p + 1)?;
    let raw = matmul::matmul(ctx, &x.transpose(), &right, t).await?;
    let fx = FixedPoint {
        frac_bits: f,
        bound_bits: bound_bits(bounds.sums, 2 * f),
    };
    let pairs = plan.trunc(raw.as_shared().len(), f)?;
    let sums = trunc::trunc(ctx, raw.as_shared(), fx, pairs).await?;
    // The check the bounds rest on: trace(X^T X) within 1.1 N p.
    let sv = sums.share_values();
    let trace = (0..p).fold(Z128::ZERO, |acc, j| acc + sv[j * (p + 1) + j]);
    let limit = FORMAT.encode::<Z128>(bounds.trace_limit)?;
    let below = Shared::from_share(vec![trace; 2]).add_public(me, &[-limit, -limit])?;
    let signs = less_than_zero(ctx, source, &below, bounds.trace_bits(p)).await?;
    if !lane(&open_bits(ctx, &signs).await?, 0) {
        return Err(trace_check_failed("the closed form's"));
    }
    // Divide by N: multiply by round(2^40 / N) and drop 40 bits.
    let n = rows as i128;
    let inv_n = Z128::from_i128(((1i128 << SCALE_BITS) + n / 2) / n);
    let scaled = sums.scale(inv_n);
    let fx = FixedPoint {
        frac_bits: SCALE_BITS,
        bound_bits: bound_bits(bounds.scaled, f + SCALE_BITS),
    };
    let pairs = plan.trunc(scaled.len(), fx.frac_bits)?;
    let q = trunc::trunc(ctx, &scaled, fx, pairs).await?;
    let qv = q.share_values();
    let mut g = Vec::with_capacity(p * p);
    let mut h = Vec::with_capacity(p);
    for i in 0..p {
        g.extend_from_slice(&qv[i * (p + 1)..i * (p + 1) + p]);
        h.push(qv[i * (p + 1) + p]);
    }
    let (l2, delta) = (FORMAT.encode::<Z128>(l2)?, FORMAT.encode::<Z128>(DAMPING)?);
    let mut penalty = vec![Z128::ZERO; p * p];
    for j in 0..p {
        penalty[j * p + j] = if j + 1 < p { l2 + delta } else { delta };
    }
    let g = Shared::from_share(g).add_public(me, &penalty)?;
    Ok((
        SharedMatrix::new(p, p, g)?,
        SharedMatrix::new(p, 1, Shared::from_share(h))?,
    ))
}

/// Step 2: Newton–Schulz iterations `M <- M (2I - G M)` from `M0 = I / c`, one per entry of `bounds` (the
/// bounds of its two products, [`Bounds::loop_products`]), for a shared positive definite `g` at
/// [`FORMAT`] whose eigenvalues are at most `c`. Draws two matrix triples and two batches of truncation
/// pairs per iteration from `plan` ([`inverse_needs`]).
async fn newton_schulz(
    ctx: &mut Context,
    plan: &mut Plan,
    g: &SharedMatrix<Z128>,
    c: f64,
    bounds: &[(f64, f64)],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> mpc_core::Result<SharedMatrix<Z128>> {
    let iterations = bounds.len();
    let me = ctx.id();
    let p = g.rows();
    let f = FORMAT.frac_bits;
    if g.cols() != p || !(c.is_finite() && c > 0.0) {
        return Err(mpc_core::Error::Shape(format!(
            "Newton–Schulz on a {p}x{} matrix with scale {c}",
            g.cols()
        )));
    }
    let diagonal = |v: Z128| {
        let mut out = vec![Z128::ZERO; p * p];
        (0..p).for_each(|j| out[j * p + j] = v);
        out
    };
    let start = Shared::from_public(me, &diagonal(FORMAT.encode::<Z128>(1.0 / c)?));
    let two = diagonal(FORMAT.encode::<Z128>(2.0)?);
    let mut m = SharedMatrix::new(p, p, start)?;
    for (i, &(gm_bound, m_bound)) in bounds.iter().enumerate() {
        let gm = product(ctx, plan, g, &m, f, gm_bound).await?;
        let r = (-gm.as_shared()).add_public(me, &two)?;
        m = product(ctx, plan, &m, &SharedMatrix::new(p, p, r)?, f, m_bound).await?;
        progress(i + 1, iterations);
    }
    Ok(m)
}

/// `a b` truncated by `frac_bits`, for products below `bound` (real units) in every entry: two rounds.
async fn product(
    ctx: &mut Context,
    plan: &mut Plan,
    a: &SharedMatrix<Z128>,
    b: &SharedMatrix<Z128>,
    frac_bits: u32,
    bound: f64,
) -> mpc_core::Result<SharedMatrix<Z128>> {
    let t = plan.matrix(a.rows(), a.cols(), b.cols())?;
    let z = matmul::matmul(ctx, a, b, t).await?;
    let fx = FixedPoint {
        frac_bits,
        bound_bits: bound_bits(bound, 2 * FORMAT.frac_bits).min(FORMAT.bound_bits),
    };
    let pairs = plan.trunc(z.as_shared().len(), frac_bits)?;
    let rows = z.rows();
    let cols = z.cols();
    let out = trunc::trunc(ctx, z.as_shared(), fx, pairs).await?;
    SharedMatrix::new(rows, cols, out)
}

/// One item of correlated randomness the solve needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// A matrix triple for `m x k` times `k x n`.
    Matrix(usize, usize, usize),
    /// Truncation pairs: count and bits.
    Trunc(usize, u32),
}

fn gram_needs(rows: usize, p: usize) -> impl Iterator<Item = Need> {
    [
        Need::Matrix(p, rows, p + 1),
        Need::Trunc(p * (p + 1), FORMAT.frac_bits),
        Need::Trunc(p * (p + 1), SCALE_BITS),
    ]
    .into_iter()
}

fn inverse_needs(p: usize, iterations: usize) -> impl Iterator<Item = Need> {
    let f = FORMAT.frac_bits;
    (0..iterations).flat_map(move |_| {
        [
            Need::Matrix(p, p, p),
            Need::Trunc(p * p, f),
            Need::Matrix(p, p, p),
            Need::Trunc(p * p, f),
        ]
    })
}

/// The solve's correlated randomness, fetched before the first product and served in order; a request of
/// another shape than planned is an error, never a reuse.
struct Plan {
    needs: Vec<Need>,
    matrices: VecDeque<MatrixTriple<Z128>>,
    truncs: VecDeque<TruncPairs<Z128>>,
}

impl Plan {
    fn new(needs: impl IntoIterator<Item = Need>) -> Self {
        Plan {
            needs: needs.into_iter().collect(),
            matrices: VecDeque::new(),
            truncs: VecDeque::new(),
        }
    }

    /// The plan's needs as the source's requests, in order.
    fn requests(&self) -> Vec<Request> {
        self.needs
            .iter()
            .map(|&need| match need {
                Need::Matrix(m, k, n) => Request::MatrixTriple { m, k, n },
                Need::Trunc(count, frac_bits) => Request::Trunc { count, frac_bits },
            })
            .collect()
    }

    async fn fetch(
        &mut self,
        ctx: &mut Context,
        source: &mut dyn Preprocessing<Z128>,
    ) -> mpc_core::Result<()> {
        for need in std::mem::take(&mut self.needs) {
            match need {
                Need::Matrix(m, k, n) => self
                    .matrices
                    .push_back(source.matrix_triple(ctx, m, k, n).await?),
                Need::Trunc(count, bits) => self
                    .truncs
                    .push_back(source.trunc_pairs(ctx, count, bits).await?),
            }
        }
        Ok(())
    }

    fn matrix(&mut self, m: usize, k: usize, n: usize) -> mpc_core::Result<MatrixTriple<Z128>> {
        match self.matrices.pop_front() {
            Some(t) if t.shape() == (m, k, n) => Ok(t),
            _ => Err(plan_error("a matrix triple")),
        }
    }

    fn trunc(&mut self, count: usize, bits: u32) -> mpc_core::Result<TruncPairs<Z128>> {
        match self.truncs.pop_front() {
            Some(t) if t.len() == count && t.frac_bits() == bits => Ok(t),
            _ => Err(plan_error("truncation pairs")),
        }
    }
}

fn plan_error(what: &str) -> mpc_core::Error {
    mpc_core::Error::Preprocessing(format!(
        "internal: {what} was requested that the closed form's plan did not fetch"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpc_core::preprocessing::{DealerSource, OtSource};
    use mpc_core::protocols::input;
    use mpc_core::simulate::{collect, simulate_with, SimOptions};

    /// A symmetric tridiagonal matrix with exact fixed-point entries: 1 on the diagonal, 1/4 beside it.
    /// Its eigenvalues are `1 + cos(j pi / (p + 1)) / 2`, so the smallest is `1 - cos(pi / 5) / 2` for p = 4.
    fn tridiagonal(p: usize) -> Vec<f64> {
        let mut g = vec![0.0; p * p];
        for i in 0..p {
            g[i * p + i] = 1.0;
            if i + 1 < p {
                g[i * p + i + 1] = 0.25;
                g[(i + 1) * p + i] = 0.25;
            }
        }
        g
    }

    /// The inverse by Gauss-Jordan in f64.
    fn inverse(g: &[f64], p: usize) -> Vec<f64> {
        let mut a: Vec<Vec<f64>> = (0..p)
            .map(|i| {
                let mut row = g[i * p..(i + 1) * p].to_vec();
                row.extend((0..p).map(|j| f64::from(u8::from(i == j))));
                row
            })
            .collect();
        for i in 0..p {
            let pivot = a[i][i];
            a[i].iter_mut().for_each(|v| *v /= pivot);
            let row_i = a[i].clone();
            for (r, row) in a.iter_mut().enumerate() {
                if r != i {
                    let f = row[i];
                    row.iter_mut().zip(&row_i).for_each(|(v, q)| *v -= f * q);
                }
            }
        }
        a.iter().flat_map(|row| row[p..].to_vec()).collect()
    }

    /// Runs Newton–Schulz on shares of `g` (shared by party 0) for `n` parties and opens the result.
    async fn invert_on_shares(
        n: usize,
        ot: bool,
        g: Vec<f64>,
        p: usize,
        c: f64,
        k: usize,
    ) -> Vec<f64> {
        let encoded: Vec<Z128> = FORMAT.encode_slice(&g).unwrap();
        let opts = SimOptions {
            dealer: !ot,
            ..SimOptions::default()
        };
        let out = simulate_with(opts, n, move |mut ctx| {
            let encoded = encoded.clone();
            async move {
                let me = ctx.id();
                let mut source: Box<dyn Preprocessing<Z128>> = if ot {
                    Box::new(OtSource::<Z128>::setup(&mut ctx).await?)
                } else {
                    Box::new(DealerSource::<Z128>::connect(&ctx).await?)
                };
                let shared =
                    input::share_from(&mut ctx, 0, (me == 0).then_some(&encoded[..]), p * p)
                        .await?;
                let g = SharedMatrix::new(p, p, shared)?;
                let mut plan = Plan::new(inverse_needs(p, k));
                plan.fetch(&mut ctx, source.as_mut()).await?;
                let bounds = Bounds::new(100, p - 1, 0.0).loop_products;
                let m = newton_schulz(&mut ctx, &mut plan, &g, c, &bounds[..k], &|_, _| {}).await?;
                open::open(&mut ctx, m.as_shared()).await
            }
        })
        .await
        .unwrap();
        let opened = collect(out).unwrap();
        assert!(opened.iter().all(|o| o == &opened[0]));
        FORMAT.decode_slice(&opened[0])
    }

    fn max_error(got: &[f64], want: &[f64]) -> f64 {
        got.iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    #[tokio::test]
    async fn newton_schulz_inverts_a_known_matrix_within_the_stated_error() {
        let p = 4;
        let g = tridiagonal(p);
        let want = inverse(&g, p);
        let lambda_min = 1.0 - (std::f64::consts::PI / 5.0).cos() / 2.0;
        // The trace is p, the bound the training uses for p - 1 standardized features and no penalty.
        let c = trace_bound(p - 1, 0.0);
        assert!((c - 4.4 - DAMPING).abs() < 1e-12, "{c}");
        let k = iterations(p - 1, 0.0, FORMAT.frac_bits);
        for (n, ot) in [(2, false), (3, false), (2, true)] {
            let t = if ot { n } else { 1 };
            let got = invert_on_shares(n, ot, g.clone(), p, c, k).await;
            let err = max_error(&got, &want);
            let bound = inverse_error_bound(p, lambda_min, t, FORMAT.frac_bits);
            eprintln!("{n} parties, ot {ot}: error {err:e}, bound {bound:e}");
            assert!(
                err <= bound,
                "{n} parties, ot {ot}: error {err:e} above the bound {bound:e}"
            );
        }
        // Too few iterations leave a residual far above the bound: the check above can fail.
        let got = invert_on_shares(2, false, g, p, c, 2).await;
        let err = max_error(&got, &want);
        assert!(
            err > 100.0 * inverse_error_bound(p, lambda_min, 1, FORMAT.frac_bits),
            "{err:e}"
        );
    }

    #[test]
    fn iteration_counts() {
        let f = FORMAT.frac_bits;
        // The damping's floor (2^-8) is above the precision's (2^-10): two iterations fewer than without it.
        assert_eq!(iterations(10, 0.0, f), 16);
        assert_eq!(iterations(64, 0.0, f), 18);
        assert_eq!(iterations(10, 0.5, f), 10);
        // The penalty never adds iterations.
        for d in [1, 10, 30, 64] {
            for l2 in [0.01, 0.1, 1.0, 10.0, 100.0] {
                assert!(iterations(d, l2, f) <= iterations(d, 0.0, f), "{d} {l2}");
            }
        }
        // Every eigenvalue at the floor converges to within 2^-f.
        for d in [1, 10, 64] {
            for l2 in [0.0, 0.3, 100.0] {
                let s0 = eigenvalue_floor(l2, f) / trace_bound(d, l2);
                let k = iterations(d, l2, f) as i32;
                assert!((1.0 - s0).powf(2f64.powi(k)) <= (-(f as f64)).exp2() * 1.01);
            }
        }
    }

    #[test]
    fn checks_name_the_solver() {
        let config = TrainConfig {
            model: crate::ModelKind::Linear,
            solver: Solver::ClosedForm,
            ..TrainConfig::default()
        };
        assert!(check(&config, 10).is_ok());
        // Diabetes' shape (353 training rows, 10 features) meets the default sigma with either source.
        for ot in [false, true] {
            let bits = security_bits(353, 10, 0.0, 3, ot);
            eprintln!(
                "diabetes, ot {ot}: {bits:.1} bits; 5000 x 20: {:.1}; 65536 x 64: {:.1}",
                security_bits(5000, 20, 0.0, 3, ot),
                security_bits(65536, 64, 0.0, 3, ot)
            );
            assert!(bits >= 40.0, "{bits}");
        }
        let e = check(&config, MAX_FEATURES + 1).unwrap_err().to_string();
        assert!(
            e.contains("`solver`") && e.contains("65 features") && e.contains("gradient_descent"),
            "{e}"
        );
        let e = check(
            &TrainConfig {
                model: crate::ModelKind::Logistic,
                ..config
            },
            10,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`solver`") && e.contains("linear"), "{e}");
    }
}
