//! One party's side of secure training: agreement on the public parameters, joint standardization, input
//! sharing, and mini-batch gradient descent on Z128 shares with the SecureML reuse of the masked data matrix.
//!
//! Protocol, for `n` parties holding rows of the same `d` columns (all messages through the [`Context`]):
//!
//! 1. **Agreement.** Every party sends every other its feature names, label name, training options and row
//!    count (all public); a party whose columns or options differ is named in an [`Error::Mismatch`].
//! 2. **Standardization** ([`Standardize::Global`]). Each party secret-shares its per-column sums and sums of
//!    squares (and the label's, for linear regression); only the shared totals are opened, which reveals the
//!    global means and standard deviations. The totals minus a party's own sums are the sums of all the
//!    others (whose row counts are public), so with **two parties each learns the other's per-column mean
//!    and variance** (and the label's, for linear regression), and in general any `n - 1` parties together
//!    learn the remaining one's ([`disclosures`] lists it for `n = 2`). Each party then standardizes its own
//!    rows locally.
//! 3. **Input.** Each party secret-shares its rows (plus a constant-1 column for the intercept) and labels, in
//!    fixed point (`FixedPoint::Z128_DEFAULT`: 20 fractional bits). The joint training matrix `X` is party 0's
//!    rows, then party 1's, and so on. From here to the model's opening is what [`Timing`] measures.
//! 4. **Masking once.** The matrix is cut into chunks of whole batches (about 2^16 rows). For each chunk,
//!    when first used, `E = X - A` is opened once for a random mask `A` from the source ([`MaskedMatrix`]);
//!    with `ot` preprocessing the mask is instead the owners' own rows (each party's share is its rows in
//!    the clear, zeros elsewhere; [`Preprocessing::owned_mask`]), so `E = 0` is not opened and the OT cross
//!    terms run only between a row's owner and the others. Every mini-batch product `X_b w` and `X_b^T g`
//!    then opens only the masked right operand (31 elements for 30 features). The last epoch drops each
//!    chunk after its batches.
//! 5. **Steps.** For each mini-batch, in order, one gradient step of [`crate::step`]: `z = X_b w`, for logistic
//!    regression the degree-9 polynomial of [`crate::sigmoid`] on `t = z / 24`, `g = s(z) - y` (linear:
//!    `g = z - y`), `G = X_b^T g`, and the update `lr / |b| * G + lr * l2 * w` (penalty on the weights only),
//!    subtracted from `w`. Every truncation is opened together with the next Beaver openings, so a logistic
//!    step takes 6 rounds and a linear step 2; the last update is applied in one more round before the
//!    output. The step's correlated randomness is fetched before each epoch (see `prefetch`), so steps
//!    exchange only protocol messages.
//! 6. **Output.** The final weights are opened to the receivers only, in one round: the model. With
//!    [`TrainConfig::epoch_models`] the weights after every epoch are opened instead (in the same round; the
//!    last is the model). Receivers turn them into weights on raw values and evaluate the training loss on
//!    their own rows (one value, or the loss curve). Non-receivers get nothing.
//!
//! With `solver = closed_form` (linear regression), steps 4 to 6 are replaced by the normal equations and a
//! Newton–Schulz inverse on the shares ([`crate::closed_form`]), and the model is opened once. With
//! `solver = newton` (logistic regression; the default `auto` picks it with a dealer for up to 64 features,
//! [`TrainConfig::resolve`]) they are replaced by Newton's method on the shares ([`crate::newton`]): the
//! data matrix is masked once as in step 4, and the model is opened once.
//!
//! Fixed-point bounds: every value and every product before truncation stays below `2^87` after scaling: a
//! forward product `z` at 40 fractional bits needs `|z| < 2^47`; the update before its truncation has 60
//! fractional bits, so a single step may change a weight by less than 2^27 (lr <= 10 and standardized data
//! keep it far below).
//! Raw values are limited to `2^24` ([`crate::data::INPUT_LIMIT`]) so the shared sums of squares fit.

use std::time::Instant;

use mpc_core::preprocessing::Preprocessing;
use mpc_core::protocols::matmul::MaskedMatrix;
use mpc_core::protocols::{input, open};
use mpc_core::{Context, FixedPoint, PartyId, Ring, Shared, SharedMatrix, Z128};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::bounds::RunShape;
use crate::config::{ModelKind, Solver, Standardize, TrainConfig};
use crate::data::{PartyData, MAX_ROWS, STANDARDIZED_LIMIT, UNSCALED_LIMIT};
use crate::error::{Error, Result};
use crate::hiding::{Masking, Plan};
use crate::metrics;
use crate::model::Model;
use crate::plain::batches;
use crate::prefetch::Prefetched;
use crate::scaling::Scaling;
use crate::step::{self, StepParams, Weights};

/// The fixed-point format of training: 20 fractional bits in Z128, values below 2^87 after scaling.
pub const FORMAT: FixedPoint = FixedPoint::Z128_DEFAULT;

/// The public bound of the owned masks ([`Preprocessing::owned_mask`]): every encoded training value is
/// below `2^owned_value_bits(..)` in magnitude. Each bit less saves the `ot` source one OT per value and
/// one correction per value and mask triple where the owners' OTs are reused
/// ([`mpc_core::preprocessing::OtConfig::reuse_owned_ots`]: 26 OTs per value at 25 bits), and otherwise
/// shortens the mask triples' correction words by one bit (74 bits at 32, 67 at 25), down to 23, below which
/// short words no longer apply ([`mpc_core::ot::gilboa::Bounds`]).
///
/// Standardized with the global mean and population standard deviation of `total` rows, no value can lie
/// beyond `sqrt(total - 1)` standard deviations (Samuelson's inequality), a public bound: 21.3 for the 455
/// training rows of breast cancer, so 25 bits instead of the 32 of [`STANDARDIZED_LIMIT`]. The bound
/// allowed is 1% wider plus 1, for the fixed-point statistics; [`encode_rows`] rejects a value beyond it
/// (the statistics then lost precision). Without standardization the bound is [`UNSCALED_LIMIT`].
pub(crate) fn owned_value_limit(total: usize, standardize: Standardize) -> f64 {
    match standardize {
        Standardize::Global => ((total.max(1) - 1) as f64).sqrt() * 1.01 + 1.0,
        Standardize::None => UNSCALED_LIMIT,
    }
    .min(STANDARDIZED_LIMIT)
}

/// Bits of the owned masks' bound for values up to `limit` in magnitude (see [`owned_value_limit`]).
pub(crate) fn owned_value_bits(limit: f64) -> u32 {
    // 2^(bits - 20) > limit, so that even a value at the limit, rounded, encodes below 2^bits.
    (FORMAT.frac_bits + limit.log2().floor().max(0.0) as u32 + 1).clamp(23, FORMAT.frac_bits + 12)
}

/// The format of the shared sums and sums of squares of standardization: they are only added and opened,
/// never multiplied or truncated, so they may use almost the whole ring.
const SUMS_FORMAT: FixedPoint = FixedPoint {
    frac_bits: 20,
    bound_bits: 120,
};

/// A value opened during a run beyond masked values, and who learned it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// What was opened.
    pub what: String,
    /// The parties that learned it.
    pub to: Vec<PartyId>,
}

/// Time and traffic of one party's training.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds from the start of input sharing to the model's opening.
    pub training_seconds: f64,
    /// Gradient steps (closed form: Newton–Schulz iterations).
    pub steps: usize,
    /// Communication rounds of this party during the steps (preprocessing is fetched before each epoch; closed
    /// form: the rounds from the Gram product to the weights, preprocessing fetched before).
    pub step_rounds: u64,
    /// Rounds per step.
    pub rounds_per_step: f64,
    /// Rounds of the whole run (agreement to model).
    pub total_rounds: u64,
    /// Bytes this party sent in the whole run (to parties and dealer).
    pub bytes_sent: u64,
}

/// What one party gets from [`train_party`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOutput {
    /// The party.
    pub party: PartyId,
    /// The model on raw values, if this party is a receiver.
    pub model: Option<Model>,
    /// Every model opened to this party (receivers only; empty otherwise): the model after each epoch with
    /// [`TrainConfig::epoch_models`], else the final model alone ([`TrainConfig::models_opened`]). The last
    /// one is `model`.
    pub epoch_models: Vec<Model>,
    /// The training loss on this party's own training rows of each model in `epoch_models`.
    pub own_loss_per_epoch: Vec<f64>,
    /// Every feature of the model with the party that holds its column (vertical runs; empty in horizontal
    /// runs, where every party holds every column).
    pub feature_owners: Vec<crate::vertical::FeatureOwner>,
    /// The standardization (public).
    pub scaling: Scaling,
    /// Training rows of every party (public).
    pub rows_per_party: Vec<usize>,
    /// Everything opened beyond masked values, and to whom.
    pub revealed: Vec<Disclosure>,
    /// Time and traffic.
    pub timing: Timing,
    /// The solver the run used (the default, [`crate::config::Solver::Auto`], resolved).
    pub solver: crate::config::Solver,
}

/// The public parameters every party announces and checks.
#[derive(Serialize, Deserialize, PartialEq)]
pub(crate) struct Announce {
    features: Vec<String>,
    label: String,
    config: TrainConfig,
    rows: usize,
}

/// A peer's announcement of its columns, options and row count: JSON.
pub(crate) fn decode_announce(b: &[u8]) -> std::result::Result<Announce, String> {
    serde_json::from_slice(b).map_err(|e| format!("an unreadable announcement: {e}"))
}

/// Trains with the other parties of `ctx` on this party's training rows `data`, drawing correlated randomness
/// from `source`. Every party must call it with the same `config` and the same columns. On a local error
/// (bad data, bad options) the party aborts the session with the error's category only
/// ([`Error::abort_category`]), so the others stop too.
pub async fn train_party(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    data: &PartyData,
    config: &TrainConfig,
) -> Result<TrainOutput> {
    train_party_with_progress(ctx, source, data, config, &|_, _| {}).await
}

/// [`train_party`], calling `progress(epochs_done, epochs)` after every epoch.
pub async fn train_party_with_progress(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    data: &PartyData,
    config: &TrainConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<TrainOutput> {
    let result = run(ctx, source, data, config, progress).await;
    crate::error::abort_on_own_error(ctx, result).await
}

async fn run(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    data: &PartyData,
    config: &TrainConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<TrainOutput> {
    let me = ctx.id();
    let n = ctx.parties();
    let mpc = Error::mpc;
    config.validate(n)?;
    if data.party != me {
        return Err(Error::option(
            "data",
            format!("rows of party {} given to party {me}", data.party),
        ));
    }
    let d = data.features.len();
    let rows_per_party = agree(ctx, data, config).await?;
    let total: usize = rows_per_party.iter().sum();
    if total > MAX_ROWS || data.is_empty() {
        return Err(Error::Data {
            party: me,
            path: data.path.clone(),
            reason: format!("{total} training rows in all parties; 1 to {MAX_ROWS} per party and in total are accepted"),
        });
    }
    // The default solver's choice, now that the shape is known (every party alike).
    let config = &config.resolve(d, total, n, source.name() == "ot");
    tracing::info!(
        party = me,
        parties = n,
        rows = total,
        features = d,
        "training starts"
    );

    // Standardization from shared sums.
    let linear = config.model == ModelKind::Linear;
    let scaling = match config.standardize {
        Standardize::Global => global_scaling(ctx, data, total, linear).await?,
        Standardize::None => Scaling::identity(d),
    };

    // Input sharing.
    let start = Instant::now();
    let stats_start = ctx.stats();
    let limit = owned_value_limit(total, config.standardize);
    let mine = encode_rows(data, &scaling, config.standardize, limit)?;
    // Allocated once and wiped if a failure ends the sharing early; handed to the shares otherwise.
    let mut xs = Zeroizing::new(Vec::with_capacity(total * (d + 1)));
    let mut ys = Zeroizing::new(Vec::with_capacity(total));
    for (owner, &rows) in rows_per_party.iter().enumerate() {
        let len = rows * (d + 2);
        let part = input::share_from::<Z128>(ctx, owner, (owner == me).then_some(&mine[..]), len)
            .await
            .map_err(mpc(me))?;
        let v = part.share_values();
        xs.extend_from_slice(&v[..rows * (d + 1)]);
        ys.extend_from_slice(&v[rows * (d + 1)..]);
    }
    let x = SharedMatrix::new(total, d + 1, Shared::from_share(std::mem::take(&mut *xs)))
        .map_err(mpc(me))?;
    let y = Shared::from_share(std::mem::take(&mut *ys));
    let owned = OwnedRows {
        rows_per_party: &rows_per_party,
        mine: &mine[..data.len() * (d + 1)],
        value_bits: owned_value_bits(limit),
    };
    let descent = fit(ctx, source, &x, &y, Some(&owned), config, progress).await?;
    let training_seconds = start.elapsed().as_secs_f64();
    let run_stats = ctx.stats().since(&stats_start);
    let steps = descent.steps;
    let step_rounds = descent.step_rounds;

    let epoch_models: Vec<Model> = descent
        .weights
        .map(|v| {
            v.iter()
                .map(|c| {
                    let (weights, intercept) = scaling.to_raw(&c[..d], c[d]);
                    Model {
                        model: config.model,
                        features: data.features.clone(),
                        weights,
                        intercept,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let own_loss_per_epoch = epoch_models
        .iter()
        .map(|m| metrics::loss(m, &data.rows, &data.labels))
        .collect();
    tracing::info!(party = me, seconds = training_seconds, "training done");
    Ok(TrainOutput {
        party: me,
        model: epoch_models.last().cloned(),
        epoch_models,
        own_loss_per_epoch,
        feature_owners: Vec::new(),
        revealed: disclosures(n, config),
        solver: config.solver,
        scaling,
        rows_per_party,
        timing: Timing {
            training_seconds,
            steps,
            step_rounds,
            rounds_per_step: step_rounds as f64 / steps.max(1) as f64,
            total_rounds: ctx.stats().rounds,
            bytes_sent: run_stats.bytes_sent(),
        },
    })
}

/// The standardized weights (with the intercept last) opened to the receivers, and the step counts of
/// [`descend`].
pub(crate) struct Descent {
    /// The weight vectors opened ([`TrainConfig::models_opened`]: one per epoch with `epoch_models`, else
    /// one), if this party is a receiver.
    pub weights: Option<Vec<Vec<f64>>>,
    /// Gradient steps (closed form: Newton–Schulz iterations).
    pub steps: usize,
    /// Rounds of this party during the steps.
    pub step_rounds: u64,
}

/// Fits the model to the shared `x` and `y` with the configured solver: [`descend`], or the closed form of
/// [`crate::closed_form`] (same output, one weight vector). Horizontal and vertical training both end here.
pub(crate) async fn fit(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    x: &SharedMatrix<Z128>,
    y: &Shared<Z128>,
    owned: Option<&OwnedRows<'_>>,
    config: &TrainConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Descent> {
    let (d, ot) = (x.cols().saturating_sub(1), source.name() == "ot");
    let config = &config.resolve(d, x.rows(), ctx.parties(), ot);
    // Newton's method and the closed form count their run-wide security here (gradient descent's plan
    // refuses its own runs below sigma).
    match config.solver {
        Solver::Newton => crate::newton::check(config, d, x.rows())?,
        Solver::ClosedForm => crate::closed_form::check(config, d)?,
        Solver::GradientDescent | Solver::Auto => {}
    }
    match config.solver {
        Solver::Newton => crate::hiding::require_sigma(
            "Newton's-method",
            crate::newton::security_bits(x.rows(), d, config.c, ctx.parties(), ot),
            config.sigma,
        )?,
        Solver::ClosedForm => crate::hiding::require_sigma(
            "closed-form",
            crate::closed_form::security_bits(x.rows(), d, config.l2, ctx.parties(), ot),
            config.sigma,
        )?,
        Solver::GradientDescent | Solver::Auto => {}
    }
    match config.solver {
        Solver::GradientDescent | Solver::Auto => {
            descend(ctx, source, x, y, owned, config, progress).await
        }
        Solver::ClosedForm => crate::closed_form::solve(ctx, source, x, y, config, progress).await,
        Solver::Newton => crate::newton::solve(ctx, source, x, y, owned, config, progress).await,
    }
}

/// The training matrix's rows as their owners hold them in the clear (horizontal partitioning): every
/// party's row count, in the order of the matrix, and this party's own encoded rows (`d + 1` values each).
pub(crate) struct OwnedRows<'a> {
    pub rows_per_party: &'a [usize],
    pub mine: &'a [Z128],
    /// Every value of `mine` is below `2^value_bits` in magnitude, a bound every party computes alike.
    pub value_bits: u32,
}

impl OwnedRows<'_> {
    /// The `(owner, rows)` segments of rows `c0..c1`, and this party's share of them: its own rows' values,
    /// zeros elsewhere.
    fn chunk(
        &self,
        me: PartyId,
        c0: usize,
        c1: usize,
        k: usize,
    ) -> (Vec<(PartyId, usize)>, Vec<Z128>) {
        let mut segments = Vec::new();
        let mut values = vec![Z128::ZERO; (c1 - c0) * k];
        let mut at = 0;
        for (p, &rows) in self.rows_per_party.iter().enumerate() {
            let (lo, hi) = (at.max(c0), (at + rows).min(c1));
            if lo < hi {
                segments.push((p, hi - lo));
                if p == me {
                    values[(lo - c0) * k..(hi - c0) * k]
                        .copy_from_slice(&self.mine[(lo - at) * k..(hi - at) * k]);
                }
            }
            at += rows;
        }
        (segments, values)
    }
}

/// Masks rows `c0..c1` of the shared training matrix once for many products ([`MaskedMatrix`]): with
/// `owned` (the rows as their owners hold them) by a source that supports it, with the owners' own rows
/// ([`Preprocessing::owned_mask`]: nothing opened); otherwise with a random mask, opening `E = X - A`.
pub(crate) async fn mask_rows(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    x: &SharedMatrix<Z128>,
    owned: Option<&OwnedRows<'_>>,
    c0: usize,
    c1: usize,
) -> Result<MaskedMatrix<Z128>> {
    let me = ctx.id();
    let mpc = Error::mpc;
    let k = x.cols();
    let by_owner = match owned {
        Some(o) => {
            let (segments, values) = o.chunk(me, c0, c1, k);
            source
                .owned_mask(ctx, &segments, k, values, o.value_bits)
                .await
                .map_err(mpc(me))?
        }
        None => None,
    };
    Ok(match by_owner {
        Some(mask) => MaskedMatrix::owned(mask),
        None => {
            let mask = source.matrix_mask(ctx, c1 - c0, k).await.map_err(mpc(me))?;
            let rows = x.row_range(c0..c1).map_err(mpc(me))?;
            MaskedMatrix::open(ctx, &rows, mask)
                .await
                .map_err(mpc(me))?
        }
    })
}

/// Steps 4 to 6 on shares: masks the shared training matrix `x` (rows, features plus the intercept column),
/// runs mini-batch gradient descent against the shared labels `y` (at [`FORMAT`]), and opens the final
/// weights (with [`TrainConfig::epoch_models`]: the weights after every epoch) to the receivers. Horizontal and vertical training both end here. With `owned` (the
/// rows as their owners hold them) a source that supports it masks each chunk with the owners' own rows
/// ([`Preprocessing::owned_mask`]): nothing is opened for `E`, and OT makes fewer cross terms.
pub(crate) async fn descend(
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
    let total = x.rows();
    let d = x.cols().saturating_sub(1);
    let linear = config.model == ModelKind::Linear;
    // The data matrix is masked in chunks of whole batches, each when first used (SecureML's reuse of
    // `E = X - A` holds within a chunk across epochs); the last epoch drops each chunk after its batches, and
    // preprocessing is fetched per chunk, so memory stays near one copy of the shares.
    let chunk_rows = chunk_rows(config.batch_size);
    let mut chunks: Vec<Option<MaskedMatrix<Z128>>> =
        (0..total.div_ceil(chunk_rows)).map(|_| None).collect();
    // The run's public plan: value bounds, mask sizes, truncation bounds and its statistical security.
    let shape = RunShape {
        rows: total,
        features: d,
        parties: ctx.parties(),
    };
    let plan = Plan::new(
        &shape,
        config,
        Masking::of_source(source.name()),
        owned.is_some(),
    )?;
    tracing::info!(
        party = me,
        bits = plan.security_bits(),
        sigma = config.sigma,
        "statistical security of the run"
    );
    if owned.is_some() {
        source
            .size_owned_hiding(plan.owned_hiding())
            .map_err(mpc(me))?;
    }
    let schedule = batches(total, config.batch_size);
    let params = StepParams::new(
        linear,
        config.learning_rate,
        config.l2,
        ctx.parties(),
        &plan,
    )
    .map_err(mpc(me))?;
    let mut weights = Weights::zeros(d + 1);
    let mut snapshots = Vec::with_capacity(config.models_opened());
    let mut step_rounds = 0;
    for epoch in 0..config.epochs {
        for (c, chunk) in chunks.iter_mut().enumerate() {
            let (c0, c1) = (c * chunk_rows, ((c + 1) * chunk_rows).min(total));
            let masked = match chunk {
                Some(m) => m,
                None => chunk.insert(mask_rows(ctx, source, x, owned, c0, c1).await?),
            };
            let here: Vec<(usize, usize)> = schedule
                .iter()
                .filter(|&&(s, _)| (c0..c1).contains(&s))
                .map(|&(s, e)| (s - c0, e - c0))
                .collect();
            let needs = here
                .iter()
                .flat_map(|&(s, e)| step::needs(s, e, d + 1, &params))
                .collect::<Vec<_>>();
            let mut pre = Prefetched::fetch(ctx, source, masked.mask(), needs)
                .await
                .map_err(mpc(me))?;
            for &(s, e) in &here {
                let yb = y.slice(c0 + s..c0 + e).map_err(mpc(me))?;
                let before = ctx.stats().rounds;
                step::step(ctx, masked, &mut pre, &mut weights, &yb, (s, e), &params)
                    .await
                    .map_err(mpc(me))?;
                step_rounds += ctx.stats().rounds - before;
                if config.epoch_models && epoch > 0 && c0 + s == 0 {
                    // The epoch's first step applied the previous epoch's last update.
                    snapshots.push(weights.current().clone());
                }
            }
            if epoch + 1 == config.epochs {
                *chunk = None;
            }
        }
        progress(epoch + 1, config.epochs);
        tracing::info!(party = me, epoch = epoch + 1, "epoch done");
    }
    weights.settle(ctx).await.map_err(mpc(me))?;
    if linear {
        let residuals = total * config.epochs;
        let unclamped = weights
            .check_unclamped(ctx, source, residuals)
            .await
            .map_err(mpc(me))?;
        if !unclamped {
            return Err(Error::option(
                "learning_rate",
                format!(
                    "gradient descent diverged: a residual passed its public bound ({} standard deviations); \
                     train with a smaller learning rate",
                    step::residual_bound(plan.bounds.x)
                ),
            ));
        }
    }
    snapshots.push(weights.current().clone());
    let opened = open::open_to(
        ctx,
        &Shared::concat(&snapshots.iter().collect::<Vec<_>>()),
        &config.receivers,
    )
    .await
    .map_err(mpc(me))?;
    let steps = schedule.len() * config.epochs;
    Ok(Descent {
        weights: opened.map(|v| {
            FORMAT
                .decode_slice(&v)
                .chunks(d + 1)
                .map(<[f64]>::to_vec)
                .collect()
        }),
        steps,
        step_rounds,
    })
}

/// Rows per masked chunk of the data matrix: whole batches, about 2^16 rows (a chunk's `E` is one message of
/// about 22 MB for 20 features).
pub(crate) fn chunk_rows(batch_size: usize) -> usize {
    batch_size * (65_536 / batch_size).max(1)
}

/// What a run with `config` opens beyond masked values.
pub fn disclosures(parties: usize, config: &TrainConfig) -> Vec<Disclosure> {
    let all: Vec<PartyId> = (0..parties).collect();
    let mut out = vec![Disclosure {
        what:
            "the number of training rows of each party, the column names and the training options"
                .into(),
        to: all.clone(),
    }];
    if config.standardize == Standardize::Global {
        out.push(Disclosure {
            what: "the global mean and standard deviation of every feature over all training rows (opened as secret-shared sums and sums of squares)".into(),
            to: all.clone(),
        });
        if config.model == ModelKind::Linear {
            out.push(Disclosure {
                what: "the global mean and standard deviation of the label over all training rows"
                    .into(),
                to: all.clone(),
            });
        }
        if parties == 2 {
            out.push(Disclosure {
                what: format!(
                    "with two parties, the other party's mean and variance of every feature{} over its own training rows: the global sums minus a party's own are the other's",
                    if config.model == ModelKind::Linear { " and of the label" } else { "" }
                ),
                to: all.clone(),
            });
        }
    }
    if config.solver == Solver::Newton {
        for what in crate::newton::disclosures() {
            out.push(Disclosure {
                what,
                to: all.clone(),
            });
        }
    }
    if config.solver == Solver::ClosedForm {
        for what in crate::closed_form::disclosures() {
            out.push(Disclosure {
                what,
                to: all.clone(),
            });
        }
    }
    if config.model == ModelKind::Linear && config.solver == Solver::GradientDescent {
        out.push(Disclosure {
            what: "one bit after the last step: whether any residual passed its public bound (gradient descent diverged; the run then stops with an error)".into(),
            to: (0..parties).collect(),
        });
    }
    out.push(Disclosure {
        what: config.model_disclosure(),
        to: config.receivers.clone(),
    });
    out
}

/// Step 1: every party announces its public parameters; returns the rows of every party.
async fn agree(ctx: &mut Context, data: &PartyData, config: &TrainConfig) -> Result<Vec<usize>> {
    let me = ctx.id();
    let mine = Announce {
        features: data.features.clone(),
        label: data.label.clone(),
        config: config.clone(),
        rows: data.len(),
    };
    let bytes = serde_json::to_vec(&mine).map_err(|e| Error::option("config", e.to_string()))?;
    let peers: Vec<PartyId> = ctx.peers().collect();
    for &p in &peers {
        ctx.send_bytes(p, bytes.clone())
            .await
            .map_err(Error::mpc(me))?;
    }
    let mut rows = vec![0; ctx.parties()];
    rows[me] = data.len();
    for &p in &peers {
        let theirs: Announce = ctx
            .recv_checked(p, decode_announce)
            .await
            .map_err(Error::mpc(me))?;
        let what = if theirs.label != mine.label {
            Some(format!(
                "the label column (`{}` against `{}`)",
                theirs.label, mine.label
            ))
        } else if theirs.features != mine.features {
            let diff = theirs
                .features
                .iter()
                .find(|c| !mine.features.contains(c))
                .map(|c| format!("it has `{c}`"))
                .or_else(|| {
                    mine.features
                        .iter()
                        .find(|c| !theirs.features.contains(c))
                        .map(|c| format!("it lacks `{c}`"))
                })
                .unwrap_or_else(|| "another order".into());
            Some(format!("the feature columns ({diff})"))
        } else if let Some(what) = mine.config.difference(&theirs.config) {
            Some(what)
        } else if theirs.rows == 0 || theirs.rows > MAX_ROWS {
            Some(format!(
                "the number of rows ({}, where 1 to {MAX_ROWS} are accepted)",
                theirs.rows
            ))
        } else {
            None
        };
        if let Some(what) = what {
            return Err(Error::Mismatch {
                party: p,
                other: me,
                what,
            });
        }
        rows[p] = theirs.rows;
    }
    Ok(rows)
}

/// Step 2: the global moments from secret-shared sums.
async fn global_scaling(
    ctx: &mut Context,
    data: &PartyData,
    total: usize,
    linear: bool,
) -> Result<Scaling> {
    let me = ctx.id();
    let d = data.features.len();
    let len = 2 * d + 2;
    // This party's own sums (secret until combined): wiped, like their encoding.
    let mut sums = Zeroizing::new(vec![0.0; len]);
    for (row, &y) in data.rows.iter().zip(&data.labels) {
        for (j, &v) in row.iter().enumerate() {
            sums[j] += v;
            sums[d + j] += v * v;
        }
        if linear {
            sums[2 * d] += y;
            sums[2 * d + 1] += y * y;
        }
    }
    let encoded = SUMS_FORMAT
        .encode_indexed::<Z128>(&sums)
        .map(Zeroizing::new)
        .map_err(|(i, _)| {
            let column = if i < 2 * d {
                data.features[i % d].clone()
            } else {
                data.label.clone()
            };
            Error::Data {
                party: me,
                path: data.path.clone(),
                reason: format!(
                    "the sum of squares of column `{column}` is outside the fixed-point range"
                ),
            }
        })?;
    let mut acc = Shared::<Z128>::zeros(len);
    for owner in 0..ctx.parties() {
        let part =
            input::share_from::<Z128>(ctx, owner, (owner == me).then_some(&encoded[..]), len)
                .await
                .map_err(Error::mpc(me))?;
        acc = &acc + &part;
    }
    let totals = SUMS_FORMAT.decode_slice(&open::open(ctx, &acc).await.map_err(Error::mpc(me))?);
    let label = linear.then(|| (totals[2 * d], totals[2 * d + 1]));
    Ok(Scaling::from_sums(
        total,
        &totals[..d],
        &totals[d..2 * d],
        label,
    ))
}

/// Step 3: this party's rows (standardized, with the intercept column) then labels, in fixed point.
/// `limit` bounds every standardized value ([`owned_value_limit`]). The encoding and every standardized row
/// are wiped when dropped.
fn encode_rows(
    data: &PartyData,
    scaling: &Scaling,
    standardize: Standardize,
    limit: f64,
) -> Result<Zeroizing<Vec<Z128>>> {
    let d = data.features.len();
    let mut out = Zeroizing::new(Vec::with_capacity(data.len() * (d + 2)));
    let cell = |i: usize, column: &str, reason: String| Error::Cell {
        party: data.party,
        path: data.path.clone(),
        line: data.lines.get(i).copied().unwrap_or(0),
        column: column.to_string(),
        reason,
    };
    for (i, row) in data.rows.iter().enumerate() {
        if row.len() != d {
            return Err(cell(
                i,
                "",
                format!("{} values where there are {d} features", row.len()),
            ));
        }
        let standardized = Zeroizing::new(scaling.standardize(row));
        for (j, &v) in standardized.iter().enumerate() {
            if standardize == Standardize::None && v.abs() > UNSCALED_LIMIT {
                return Err(cell(
                    i,
                    &data.features[j],
                    format!("{v} exceeds {UNSCALED_LIMIT}, the limit without standardization"),
                ));
            }
            if v.abs() >= STANDARDIZED_LIMIT {
                return Err(cell(
                    i,
                    &data.features[j],
                    format!(
                        "standardized to {v}, beyond {STANDARDIZED_LIMIT} standard deviations: the \
                         column's spread is too small for the fixed-point sums"
                    ),
                ));
            }
            if standardize == Standardize::Global && v.abs() > limit {
                return Err(cell(
                    i,
                    &data.features[j],
                    format!(
                        "standardized to {v}, beyond the {limit:.2} standard deviations that any value \
                         of the training rows can reach: the fixed-point statistics lost precision (the \
                         column's spread is too small against its mean)"
                    ),
                ));
            }
            out.push(
                FORMAT
                    .encode(v)
                    .map_err(|e| cell(i, &data.features[j], e.to_string()))?,
            );
        }
        out.push(FORMAT.encode(1.0).map_err(|e| cell(i, "", e.to_string()))?);
    }
    for (i, &y) in data.labels.iter().enumerate() {
        let v = scaling.standardize_label(y);
        if standardize == Standardize::None && v.abs() > UNSCALED_LIMIT {
            return Err(cell(
                i,
                &data.label,
                format!("{v} exceeds {UNSCALED_LIMIT}, the limit without standardization"),
            ));
        }
        out.push(
            FORMAT
                .encode(v)
                .map_err(|e| cell(i, &data.label, e.to_string()))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standardized value at or beyond `STANDARDIZED_LIMIT` (the public bound the `ot` source's owned masks
    /// rely on) is an error naming the file, line and column; one just below it is encoded.
    #[test]
    fn standardized_values_beyond_the_limit_are_cell_errors() {
        let data = PartyData {
            party: 1,
            path: "lab.csv".into(),
            features: vec!["age".into(), "glucose".into()],
            label: "y".into(),
            rows: vec![vec![1.0, 0.4095], vec![2.0, 0.4096]],
            labels: vec![0.0, 1.0],
            lines: vec![2, 3],
        };
        let scaling = Scaling {
            mean: vec![0.0, 0.0],
            sd: vec![1.0, 1e-4],
            label_mean: 0.0,
            label_sd: 1.0,
        };
        let err = encode_rows(&data, &scaling, Standardize::Global, STANDARDIZED_LIMIT)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lab.csv") && err.contains("line 3") && err.contains("glucose"),
            "{err}"
        );
        let first = data.select(&[0]);
        let encoded =
            encode_rows(&first, &scaling, Standardize::Global, STANDARDIZED_LIMIT).unwrap();
        // Features, the intercept, then the label; 4095 standard deviations encode below 2^32.
        assert_eq!(encoded[1], FORMAT.encode(4095.0).unwrap());
        assert!(encoded[1].to_i128().unwrap() < 1i128 << owned_value_bits(STANDARDIZED_LIMIT));
    }

    /// The owned masks' bound follows the rows: an outlier at exactly `sqrt(n - 1)` standard deviations (the
    /// most any value can reach) is encoded below it, a value beyond it is a cell error.
    #[test]
    fn owned_values_are_bounded_by_the_row_count() {
        let n = 455;
        let limit = owned_value_limit(n, Standardize::Global);
        assert_eq!(owned_value_bits(limit), 25);
        assert_eq!(
            owned_value_bits(owned_value_limit(n, Standardize::None)),
            27
        );
        assert_eq!(
            owned_value_bits(owned_value_limit(MAX_ROWS, Standardize::Global)),
            32
        );
        assert_eq!(
            owned_value_bits(owned_value_limit(3, Standardize::Global)),
            23
        );
        // n - 1 zeros and one outlier x: mean x / n, population sd x sqrt(n - 1) / n.
        let x = 7.0;
        let mut rows = vec![vec![0.0]; n - 1];
        rows.push(vec![x]);
        let data = PartyData {
            party: 2,
            path: "clinic.csv".into(),
            features: vec!["dose".into()],
            label: "y".into(),
            labels: vec![0.0; n],
            lines: (2..n as u64 + 2).collect(),
            rows,
        };
        let scaling = Scaling {
            mean: vec![x / n as f64],
            sd: vec![x * ((n - 1) as f64).sqrt() / n as f64],
            label_mean: 0.0,
            label_sd: 1.0,
        };
        let encoded = encode_rows(&data, &scaling, Standardize::Global, limit).unwrap();
        let outlier = encoded[(n - 1) * 2].to_i128().unwrap();
        assert!((outlier as f64 / 2f64.powi(20) - ((n - 1) as f64).sqrt()).abs() < 1e-5);
        assert!(outlier.abs() < 1i128 << owned_value_bits(limit));
        // A column whose statistics are off: the outlier now lies beyond the bound.
        let off = Scaling {
            sd: vec![scaling.sd[0] / 2.0],
            ..scaling
        };
        let err = encode_rows(&data, &off, Standardize::Global, limit)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("clinic.csv")
                && err.contains(&format!("line {}", n + 1))
                && err.contains("dose"),
            "{err}"
        );
    }
}
