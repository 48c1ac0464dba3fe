//! Vertical partitioning: parties hold different columns about the same people (a clinic and a lab, a bank and
//! an insurer); their rows are aligned by the private set intersection of [`crate::psi`] on an id column, and
//! the regression models of mpc-ml are trained on the joined columns, on secret shares.
//!
//! Protocol of [`train_vertical_party`], for `n` parties (all messages through the [`Context`]):
//!
//! 1. **Agreement.** Every party announces its feature names, whether it holds the label, the label and id
//!    column names and the training options. Exactly one party must hold the label; a feature name held by two
//!    parties, or differing options, stop every party with an error naming the party.
//! 2. **Intersection.** [`psi::intersect`] (ECDH-PSI on Ristretto) gives each party its rows in the
//!    intersection, in the joint order (the ids' byte order), which every party computes alone.
//! 3. **Split.** The joint rows are split 80/20 by a shuffle with the public seed [`crate::split::SPLIT_SEED`]
//!    ([`split_joint`]); every party applies the same permutation to its own columns.
//! 4. **Standardization** ([`Standardize::Global`]). Each party holds whole columns, so it computes the mean and
//!    standard deviation of its columns over the training rows in the clear and announces them (the label's
//!    holder does the same for a linear model's label). They are revealed to every party, as in the horizontal
//!    case; receivers need them to turn the model into weights on raw values.
//! 5. **Input.** Each party secret-shares its standardized columns of the training rows
//!    ([`mpc_core::protocols::input::share_from`]), the label holder also the labels; every party assembles
//!    its shares of the joint matrix `[X_0 | X_1 | ... | 1]` locally.
//! 6. **Training.** The same masked gradient descent as horizontal training ([`crate::secure`]), or its closed
//!    form ([`crate::closed_form`]); the final model (with [`TrainConfig::epoch_models`], the model after
//!    every epoch) is opened to the receivers only, with every feature named with the party that holds it.

use std::sync::Arc;

use mpc_core::preprocessing::Preprocessing;
use mpc_core::protocols::input;
use mpc_core::{Context, PartyId, Ring, Shared, SharedMatrix, Z128};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::config::{ModelKind, PreprocessingKind, Standardize, TrainConfig};
use crate::data::{parse_cell, PartyData, MIN_ROWS, UNSCALED_LIMIT};
use crate::error::{Error, Result};
use crate::local::{LocalRun, PartyRun, Progress, Transport};
use crate::model::Model;
use crate::psi::{self, IdList, Intersection, PsiOptions};
use crate::scaling::Scaling;
use crate::secure::{fit, Disclosure, Timing, TrainOutput, FORMAT};
use crate::split::{SPLIT_SEED, TEST_FRACTION};

/// Which columns a party reads from its file in a vertical run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerticalSpec {
    /// The id column every party has (for example `patient_id`).
    pub id_column: String,
    /// The label column, held by exactly one party.
    pub label: String,
    /// The feature columns; `None` means every column but the id and the label.
    pub features: Option<Vec<String>>,
    /// The model, which decides how labels are checked.
    pub model: ModelKind,
}

/// One party's columns in a vertical run, checked. Its values and labels are wiped on drop and never shown
/// by `Debug`.
#[derive(Clone, PartialEq)]
pub struct VerticalData {
    /// The ids, one per row (checked: none empty, none repeated).
    pub ids: IdList,
    /// Feature names, in column order.
    pub features: Vec<String>,
    /// Feature values, one vector per row.
    pub rows: Vec<Vec<f64>>,
    /// The label column's name.
    pub label: String,
    /// The labels, if this party holds the label column.
    pub labels: Option<Vec<f64>>,
    /// The feature list this party was given, if any ([`VerticalSpec::features`]): during the agreement
    /// [`train_vertical_party`] checks that every listed column is some party's feature, so a misspelt
    /// name stops the run instead of being dropped.
    pub feature_list: Option<Vec<String>>,
}

/// Wipes the values and labels (and so empties them); ids, names and lists stay.
impl Zeroize for VerticalData {
    fn zeroize(&mut self) {
        self.rows.zeroize();
        self.labels.zeroize();
    }
}

impl Drop for VerticalData {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl std::fmt::Debug for VerticalData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerticalData")
            .field("ids", &self.ids)
            .field("features", &self.features)
            .field("rows", &format_args!("[{}; <redacted>]", self.rows.len()))
            .field("label", &self.label)
            .field("has_labels", &self.labels.is_some())
            .finish_non_exhaustive()
    }
}

impl VerticalData {
    /// The party.
    pub fn party(&self) -> PartyId {
        self.ids.party
    }

    /// The file.
    pub fn path(&self) -> &str {
        &self.ids.path
    }
}

/// A feature of the joint model and the party that holds its column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureOwner {
    /// The column name.
    pub feature: String,
    /// The party that holds it.
    pub party: PartyId,
}

/// Reads party `party`'s CSV file for a vertical run.
pub fn load_vertical_csv(
    party: PartyId,
    path: &std::path::Path,
    spec: &VerticalSpec,
) -> Result<VerticalData> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        party,
        path: name.clone(),
        reason: e.to_string(),
    })?;
    load_vertical_str(party, &name, &text, spec)
}

/// Checks party `party`'s CSV text for a vertical run; `name` names the file in errors. The id column must be
/// there; the label column may be (the party then holds the label); every id must be non-empty and unique.
pub fn load_vertical_str(
    party: PartyId,
    name: &str,
    text: &str,
    spec: &VerticalSpec,
) -> Result<VerticalData> {
    let header_err = |reason: String| Error::Header {
        party,
        path: name.to_string(),
        line: 1,
        reason,
    };
    let io = |e: csv::Error| Error::Io {
        party,
        path: name.to_string(),
        reason: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(io)?
        .iter()
        .map(str::to_string)
        .collect();
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(header_err(format!("column {} has an empty name", i + 1)));
        }
        if header[..i].contains(h) {
            return Err(header_err(format!("column `{h}` appears twice")));
        }
    }
    let id_at = header
        .iter()
        .position(|h| *h == spec.id_column)
        .ok_or_else(|| header_err(format!("no id column `{}` in the header", spec.id_column)))?;
    let label_at = header.iter().position(|h| *h == spec.label);
    let feature_at: Vec<usize> = match &spec.features {
        // With a feature list, each party takes the listed columns it has.
        Some(list) => header
            .iter()
            .enumerate()
            .filter(|(i, h)| list.contains(h) && *i != id_at && Some(*i) != label_at)
            .map(|(i, _)| i)
            .collect(),
        None => (0..header.len())
            .filter(|&i| i != id_at && Some(i) != label_at)
            .collect(),
    };
    if feature_at.is_empty() && label_at.is_none() {
        return Err(header_err(
            "no feature columns and no label: the file brings nothing to the joined table".into(),
        ));
    }
    let mut ids = Vec::new();
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    let line_of = crate::data::Lines::of_text(text);
    for record in reader.records() {
        let record = record.map_err(io)?;
        let line = line_of.of(&record);
        if record.len() == 1 && record.get(0) == Some("") {
            continue;
        }
        if record.len() != header.len() {
            return Err(Error::Row {
                party,
                path: name.to_string(),
                line,
                reason: format!(
                    "{} cells where the header has {} columns",
                    record.len(),
                    header.len()
                ),
            });
        }
        let cell = |i: usize| -> Result<f64> {
            parse_cell(record.get(i).unwrap_or("")).map_err(|reason| Error::Cell {
                party,
                path: name.to_string(),
                line,
                column: header[i].clone(),
                reason,
            })
        };
        rows.push(
            feature_at
                .iter()
                .map(|&i| cell(i))
                .collect::<Result<Vec<f64>>>()?,
        );
        if let Some(l) = label_at {
            let y = cell(l)?;
            if spec.model == ModelKind::Logistic && y != 0.0 && y != 1.0 {
                return Err(Error::Cell {
                    party,
                    path: name.to_string(),
                    line,
                    column: header[l].clone(),
                    reason: format!("a logistic regression label must be 0 or 1, got {y}"),
                });
            }
            labels.push(y);
        }
        ids.push(record.get(id_at).unwrap_or("").to_string());
        lines.push(line);
    }
    Ok(VerticalData {
        ids: IdList::new(party, name, &spec.id_column, ids, lines)?,
        features: feature_at.iter().map(|&i| header[i].clone()).collect(),
        rows,
        label: spec.label.clone(),
        labels: label_at.map(|_| labels),
        feature_list: spec.features.clone(),
    })
}

/// Checks that every column of a feature list is some party's feature (each party takes the listed columns
/// it has, so a misspelt name would otherwise be dropped silently).
pub fn check_feature_list(parties: &[VerticalData], list: &[String]) -> Result<()> {
    match list
        .iter()
        .find(|f| !parties.iter().any(|p| p.features.contains(f)))
    {
        Some(f) => Err(Error::option(
            "features",
            format!("no party's file has the feature column `{f}`"),
        )),
        None => Ok(()),
    }
}

/// The 80/20 split of `m` joint rows: (training positions, test positions), in the shuffled order of a ChaCha8
/// generator seeded with [`SPLIT_SEED`]; every party computes the same.
pub fn split_joint(m: usize) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..m).collect();
    idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(SPLIT_SEED));
    let test = ((m as f64 * TEST_FRACTION).round() as usize)
        .max(1)
        .min(m.saturating_sub(1));
    let test_idx = idx.split_off(m - test);
    (idx, test_idx)
}

/// Options of a vertical run; every party must use the same.
#[derive(Clone, Debug, PartialEq)]
pub struct VerticalOptions {
    /// The training options.
    pub config: TrainConfig,
    /// The private set intersection's options (the minimum intersection).
    pub psi: PsiOptions,
}

/// What one party gets from [`train_vertical_party`].
#[derive(Clone, Debug, PartialEq)]
pub struct VerticalOutput {
    /// The training result; `model` and `epoch_models` name the joint features, in party order, and
    /// `feature_owners` names the party that holds each.
    pub output: TrainOutput,
    /// The intersection: this party's rows of the joined table, in the joint order.
    pub intersection: Intersection,
    /// Positions (into the joint order) of the training rows, in training order.
    pub train_positions: Vec<usize>,
    /// Positions of the test rows.
    pub test_positions: Vec<usize>,
}

#[derive(Serialize, Deserialize, PartialEq)]
pub(crate) struct Announce {
    features: Vec<String>,
    holds_label: bool,
    label: String,
    id_column: String,
    config: TrainConfig,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Moments {
    mean: Vec<f64>,
    sd: Vec<f64>,
    label: Option<(f64, f64)>,
}

/// A peer's announcement of its columns and options: JSON, at most 4096 features.
pub(crate) fn decode_announce(b: &[u8]) -> std::result::Result<Announce, String> {
    let a: Announce =
        serde_json::from_slice(b).map_err(|e| format!("an unreadable announcement: {e}"))?;
    if a.features.len() > 1 << 12 {
        return Err(format!("{} features, more than 4096", a.features.len()));
    }
    Ok(a)
}

/// A peer's column statistics for its `d` features: JSON, `d` finite means and `d` finite positive
/// deviations, and for the label holder a finite mean and a finite positive deviation.
pub(crate) fn decode_moments(b: &[u8], d: usize) -> std::result::Result<Moments, String> {
    let m: Moments =
        serde_json::from_slice(b).map_err(|e| format!("unreadable column statistics: {e}"))?;
    let finite = m.mean.iter().chain(&m.sd).all(|v| v.is_finite())
        && m.sd.iter().all(|&s| s > 0.0)
        && m.label
            .is_none_or(|(a, s)| a.is_finite() && s.is_finite() && s > 0.0);
    if m.mean.len() != d || m.sd.len() != d || !finite {
        return Err(format!(
            "column statistics that are not {d} finite means and positive deviations"
        ));
    }
    Ok(m)
}

/// One party's side of vertical training over `ctx`, with correlated randomness from `source`. On a local
/// error the party aborts the session with the error's category only ([`Error::abort_category`]), so every
/// party stops.
pub async fn train_vertical_party(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    data: &VerticalData,
    options: &VerticalOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<VerticalOutput> {
    let result = run(ctx, source, data, options, progress).await;
    crate::error::abort_on_own_error(ctx, result).await
}

async fn run(
    ctx: &mut Context,
    source: &mut dyn Preprocessing<Z128>,
    data: &VerticalData,
    options: &VerticalOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<VerticalOutput> {
    let me = ctx.id();
    let n = ctx.parties();
    let mpc = Error::mpc;
    let config = &options.config;
    config.validate(n)?;
    if data.party() != me {
        return Err(Error::option(
            "data",
            format!("columns of party {} given to party {me}", data.party()),
        ));
    }
    let rows_ok = data.rows.len() == data.ids.len()
        && data.rows.iter().all(|r| r.len() == data.features.len())
        && data
            .labels
            .as_ref()
            .is_none_or(|l| l.len() == data.ids.len());
    if !rows_ok {
        return Err(Error::option(
            "data",
            "rows, labels and ids of different lengths",
        ));
    }

    if options.psi.reveal != psi::Reveal::Rows {
        return Err(Error::option(
            "reveal",
            "vertical training needs each party to know its rows in the intersection (Reveal::Rows)",
        ));
    }

    // 1. Agreement.
    let features = agree(ctx, data, config).await?;
    let label_party = features.label_party;

    // 2. Intersection.
    let intersection = psi::intersect(ctx, &data.ids, &options.psi).await?;
    let m = intersection.len();

    if m < MIN_ROWS {
        return Err(Error::Data {
            party: me,
            path: data.path().to_string(),
            reason: format!(
                "the intersection has {m} rows; training needs at least {MIN_ROWS} (for a training and a test split)"
            ),
        });
    }

    // 3. Split.
    let (train_positions, test_positions) = split_joint(m);
    let mine: Vec<usize> = train_positions
        .iter()
        .map(|&t| intersection.rows[t])
        .collect();
    let total = mine.len();
    let linear = config.model == ModelKind::Linear;
    // Copies of this party's rows and labels: wiped when dropped.
    let own_rows: Zeroizing<Vec<Vec<f64>>> =
        Zeroizing::new(mine.iter().map(|&i| data.rows[i].clone()).collect());
    let own_labels: Zeroizing<Option<Vec<f64>>> = Zeroizing::new(
        data.labels
            .as_ref()
            .map(|l| mine.iter().map(|&i| l[i]).collect()),
    );

    // 4. Standardization of own columns, announced.
    let own_scaling = match config.standardize {
        Standardize::Global => Scaling::of_rows(
            &own_rows,
            own_labels.as_deref().unwrap_or(&[]),
            linear && own_labels.is_some(),
        ),
        Standardize::None => Scaling::identity(data.features.len()),
    };
    let scaling = if config.standardize == Standardize::Global {
        exchange_moments(
            ctx,
            &own_scaling,
            me == label_party && linear,
            &features.counts,
        )
        .await?
    } else {
        Scaling::identity(features.counts.iter().sum())
    };

    // 5. Input.
    let start = std::time::Instant::now();
    let stats_start = ctx.stats();
    let d_all: usize = features.counts.iter().sum();
    let line_of = |r: usize| data.ids.lines.get(mine[r]).copied().unwrap_or(0);
    let encode = |v: f64, r: usize, column: &str| -> Result<Z128> {
        if config.standardize == Standardize::None && v.abs() > UNSCALED_LIMIT {
            return Err(Error::Cell {
                party: me,
                path: data.path().to_string(),
                line: line_of(r),
                column: column.to_string(),
                reason: format!("{v} exceeds {UNSCALED_LIMIT}, the limit without standardization"),
            });
        }
        FORMAT.encode(v).map_err(|e| Error::Cell {
            party: me,
            path: data.path().to_string(),
            line: line_of(r),
            column: column.to_string(),
            reason: e.to_string(),
        })
    };
    let mut block = Zeroizing::new(Vec::with_capacity(total * (data.features.len() + 1)));
    for (r, row) in own_rows.iter().enumerate() {
        let standardized = Zeroizing::new(own_scaling.standardize(row));
        for (j, &v) in standardized.iter().enumerate() {
            block.push(encode(v, r, &data.features[j])?);
        }
    }
    if let Some(labels) = &*own_labels {
        for (r, &y) in labels.iter().enumerate() {
            block.push(encode(own_scaling.standardize_label(y), r, &data.label)?);
        }
    }
    let mut blocks: Vec<Zeroizing<Vec<Z128>>> = Vec::with_capacity(n);
    let mut ys = Zeroizing::new(Vec::new());
    for (owner, &d_o) in features.counts.iter().enumerate() {
        let with_label = owner == label_party;
        let len = total * d_o + if with_label { total } else { 0 };
        let part = input::share_from::<Z128>(ctx, owner, (owner == me).then_some(&block[..]), len)
            .await
            .map_err(mpc(me))?;
        let mut v = Zeroizing::new(part.into_share_values());
        if with_label {
            *ys = v.split_off(total * d_o);
        }
        blocks.push(v);
    }
    let one = if me == 0 {
        FORMAT.encode(1.0).map_err(mpc(me))?
    } else {
        Z128::ZERO
    };
    let mut xs = Zeroizing::new(Vec::with_capacity(total * (d_all + 1)));
    for r in 0..total {
        for (b, &d_o) in blocks.iter().zip(&features.counts) {
            xs.extend_from_slice(&b[r * d_o..(r + 1) * d_o]);
        }
        xs.push(one);
    }
    let x = SharedMatrix::new(
        total,
        d_all + 1,
        Shared::from_share(std::mem::take(&mut *xs)),
    )
    .map_err(mpc(me))?;
    let y = Shared::from_share(std::mem::take(&mut *ys));

    // 6. Training, with the default solver resolved for the joined shape (every party alike).
    let config = &config.resolve(d_all, total, ctx.parties(), source.name() == "ot");
    let descent = fit(ctx, source, &x, &y, None, config, progress).await?;
    let training_seconds = start.elapsed().as_secs_f64();
    let run_stats = ctx.stats().since(&stats_start);
    let epoch_models: Vec<Model> = descent
        .weights
        .map(|ws| {
            ws.iter()
                .map(|c| {
                    let (weights, intercept) = scaling.to_raw(&c[..d_all], c[d_all]);
                    Model {
                        model: config.model,
                        features: features.owners.iter().map(|o| o.feature.clone()).collect(),
                        weights,
                        intercept,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let steps = descent.steps;
    let mut revealed = vec![Disclosure {
        what: "the feature names of every party, which party holds the label, and the training options"
            .into(),
        to: (0..n).collect(),
    }];
    revealed.extend(intersection.revealed.iter().cloned());
    if config.standardize == Standardize::Global {
        revealed.push(Disclosure {
            what: format!(
                "the mean and standard deviation of every feature{} over the joined training rows (each party computes its own columns' and announces them)",
                if linear { " and of the label" } else { "" }
            ),
            to: (0..n).collect(),
        });
    }
    if config.solver == crate::config::Solver::Newton {
        for what in crate::newton::disclosures() {
            revealed.push(Disclosure {
                what,
                to: (0..n).collect(),
            });
        }
    }
    if config.solver == crate::config::Solver::ClosedForm {
        for what in crate::closed_form::disclosures() {
            revealed.push(Disclosure {
                what,
                to: (0..n).collect(),
            });
        }
    }
    revealed.push(Disclosure {
        what: config.model_disclosure(),
        to: config.receivers.clone(),
    });
    Ok(VerticalOutput {
        output: TrainOutput {
            party: me,
            model: epoch_models.last().cloned(),
            epoch_models,
            own_loss_per_epoch: Vec::new(),
            feature_owners: features.owners.clone(),
            scaling,
            rows_per_party: vec![total; n],
            revealed,
            solver: config.solver,
            timing: Timing {
                training_seconds,
                steps,
                step_rounds: descent.step_rounds,
                rounds_per_step: descent.step_rounds as f64 / steps.max(1) as f64,
                total_rounds: ctx.stats().rounds,
                bytes_sent: run_stats.bytes_sent(),
            },
        },
        intersection,
        train_positions,
        test_positions,
    })
}

/// The joint columns, as agreed.
struct Agreed {
    /// Feature count of each party.
    counts: Vec<usize>,
    /// Every feature with its owner, in party order.
    owners: Vec<FeatureOwner>,
    /// The party holding the label.
    label_party: PartyId,
}

async fn agree(ctx: &mut Context, data: &VerticalData, config: &TrainConfig) -> Result<Agreed> {
    let me = ctx.id();
    let n = ctx.parties();
    let mine = Announce {
        features: data.features.clone(),
        holds_label: data.labels.is_some(),
        label: data.label.clone(),
        id_column: data.ids.column.clone(),
        config: config.clone(),
    };
    let bytes = serde_json::to_vec(&mine).map_err(|e| Error::option("config", e.to_string()))?;
    let peers: Vec<PartyId> = ctx.peers().collect();
    for &p in &peers {
        ctx.send_bytes(p, bytes.clone())
            .await
            .map_err(Error::mpc(me))?;
    }
    let mut all: Vec<Option<Announce>> = (0..n).map(|_| None).collect();
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
        } else if theirs.id_column != mine.id_column {
            Some(format!(
                "the id column (`{}` against `{}`)",
                theirs.id_column, mine.id_column
            ))
        } else {
            mine.config.difference(&theirs.config)
        };
        if let Some(what) = what {
            return Err(Error::Mismatch {
                party: p,
                other: me,
                what,
            });
        }
        all[p] = Some(theirs);
    }
    all[me] = Some(mine);
    let all: Vec<Announce> = all.into_iter().flatten().collect();
    let holders: Vec<PartyId> = (0..n).filter(|&p| all[p].holds_label).collect();
    let label_party = match holders[..] {
        [p] => p,
        [] => {
            return Err(Error::Data {
                party: me,
                path: data.path().to_string(),
                reason: format!("no party has the label column `{}`", data.label),
            })
        }
        [a, b, ..] => {
            return Err(Error::Data {
                party: b,
                path: if b == me {
                    data.path().to_string()
                } else {
                    format!("party {b}'s file")
                },
                reason: format!(
                    "parties {a} and {b} both have the label column `{}`; exactly one may hold it",
                    data.label
                ),
            })
        }
    };
    let mut owners = Vec::new();
    for (p, a) in all.iter().enumerate() {
        for f in &a.features {
            if let Some(o) = owners.iter().find(|o: &&FeatureOwner| o.feature == *f) {
                return Err(Error::Mismatch {
                    party: p,
                    other: o.party,
                    what: format!("the feature column `{f}`, which both hold; rename or drop one"),
                });
            }
            owners.push(FeatureOwner {
                feature: f.clone(),
                party: p,
            });
        }
    }
    if let Some(f) = data
        .feature_list
        .iter()
        .flatten()
        .find(|f| !owners.iter().any(|o| o.feature == **f))
    {
        return Err(Error::option(
            "features",
            format!("party {me}'s feature list names `{f}`, which no party's file has"),
        ));
    }
    if owners.is_empty() {
        return Err(Error::Data {
            party: me,
            path: data.path().to_string(),
            reason: "no party has a feature column".into(),
        });
    }
    Ok(Agreed {
        counts: all.iter().map(|a| a.features.len()).collect(),
        owners,
        label_party,
    })
}

/// Every party announces its columns' moments; returns the joint scaling (party order, label from its holder).
async fn exchange_moments(
    ctx: &mut Context,
    own: &Scaling,
    with_label: bool,
    counts: &[usize],
) -> Result<Scaling> {
    let me = ctx.id();
    let mine = Moments {
        mean: own.mean.clone(),
        sd: own.sd.clone(),
        label: with_label.then_some((own.label_mean, own.label_sd)),
    };
    let bytes = serde_json::to_vec(&mine).map_err(|e| Error::option("scaling", e.to_string()))?;
    let peers: Vec<PartyId> = ctx.peers().collect();
    for &p in &peers {
        ctx.send_bytes(p, bytes.clone())
            .await
            .map_err(Error::mpc(me))?;
    }
    let mut scaling = Scaling::identity(0);
    for (p, &d) in counts.iter().enumerate() {
        let theirs = if p == me {
            mine.clone_moments()
        } else {
            ctx.recv_checked(p, |b| decode_moments(b, d))
                .await
                .map_err(Error::mpc(me))?
        };
        scaling.mean.extend(theirs.mean);
        scaling.sd.extend(theirs.sd);
        if let Some((m, s)) = theirs.label {
            scaling.label_mean = m;
            scaling.label_sd = s;
        }
    }
    Ok(scaling)
}

impl Moments {
    fn clone_moments(&self) -> Moments {
        Moments {
            mean: self.mean.clone(),
            sd: self.sd.clone(),
            label: self.label,
        }
    }
}

/// Options of a local vertical run.
#[derive(Clone)]
pub struct VerticalLocalOptions {
    /// Training and intersection options.
    pub options: VerticalOptions,
    /// The preprocessing.
    pub preprocessing: PreprocessingKind,
    /// Progress reports (party 0), if wanted.
    pub progress: Option<Progress>,
}

/// The result of a local vertical run.
#[derive(Clone, Debug)]
pub struct VerticalRun {
    /// Every party's output, and the joined training and test tables (one entry each, as party 0) that the
    /// plaintext baseline and the report use; the joined tables exist only because this process holds
    /// every party's file.
    pub run: LocalRun,
    /// Every party's full output.
    pub outputs: Vec<VerticalOutput>,
}

/// Trains with every party of `parties` (party `i` is `parties[i]`) on this machine, rows aligned by the
/// private set intersection; errors name the party and file at fault, and every party stops with it.
pub async fn run_vertical_local(
    parties: Vec<VerticalData>,
    local: VerticalLocalOptions,
    transport: Transport,
) -> Result<VerticalRun> {
    let n = parties.len();
    if n < 2 {
        return Err(Error::option(
            "party-data",
            format!("{n} parties; a run needs at least 2"),
        ));
    }
    local.options.config.validate(n)?;
    if let Some((i, p)) = parties.iter().enumerate().find(|(i, p)| p.party() != *i) {
        return Err(Error::option(
            "party-data",
            format!("entry {i} holds party {}'s columns", p.party()),
        ));
    }
    let parties = Arc::new(parties);
    let shared = Arc::new((parties.clone(), local.clone()));
    let dealer = local.preprocessing == PreprocessingKind::Dealer;
    let outputs = crate::local::run_local_parties(transport, n, dealer, move |mut ctx| {
        let shared = shared.clone();
        async move {
            let (parties, local) = &*shared;
            let me = ctx.id();
            let noop = |_: usize, _: usize| {};
            let report: &(dyn Fn(usize, usize) + Sync) = match (me, &local.progress) {
                (0, Some(p)) => p.as_ref(),
                _ => &noop,
            };
            let mut source = crate::source::connect(&mut ctx, local.preprocessing).await?;
            train_vertical_party(
                &mut ctx,
                source.as_mut(),
                &parties[me],
                &local.options,
                report,
            )
            .await
        }
    })
    .await?;
    let mut runs = Vec::with_capacity(n);
    let mut full = Vec::with_capacity(n);
    for (out, stats) in outputs {
        runs.push(PartyRun {
            output: out.output.clone(),
            stats,
        });
        full.push(out);
    }
    let train = joined(&parties, &full, |o| &o.train_positions)?;
    let test = joined(&parties, &full, |o| &o.test_positions)?;
    Ok(VerticalRun {
        run: LocalRun {
            parties: runs,
            train: vec![train],
            test: vec![test],
        },
        outputs: full,
    })
}

/// The joined table at `positions` of the joint order, built from every party's file (local runs only).
fn joined(
    parties: &[VerticalData],
    outputs: &[VerticalOutput],
    positions: impl Fn(&VerticalOutput) -> &Vec<usize>,
) -> Result<PartyData> {
    let pos = positions(&outputs[0]);
    let holder = parties
        .iter()
        .position(|p| p.labels.is_some())
        .ok_or_else(|| Error::option("label", "no party holds the label"))?;
    let mut rows = vec![Vec::new(); pos.len()];
    let mut labels = Vec::with_capacity(pos.len());
    let mut lines = Vec::with_capacity(pos.len());
    for (p, (data, out)) in parties.iter().zip(outputs).enumerate() {
        for (t, &at) in pos.iter().enumerate() {
            let i = *out.intersection.rows.get(at).ok_or_else(|| {
                Error::option("intersection", format!("party {p} has no joint row {at}"))
            })?;
            rows[t].extend_from_slice(&data.rows[i]);
            if p == holder {
                labels.push(data.labels.as_ref().map_or(0.0, |l| l[i]));
                lines.push(data.ids.lines[i]);
            }
        }
    }
    Ok(PartyData {
        party: 0,
        path: parties
            .iter()
            .map(|p| p.path().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        features: parties
            .iter()
            .flat_map(|p| p.features.iter().cloned())
            .collect(),
        label: parties[holder].label.clone(),
        rows,
        labels,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joint_split_is_deterministic_and_disjoint() {
        assert_eq!(split_joint(1), (vec![0], vec![]));
        assert_eq!(split_joint(0), (vec![], vec![]));
        let (tr, te) = split_joint(50);
        assert_eq!((tr.len(), te.len()), (40, 10));
        assert_eq!(split_joint(50), (tr.clone(), te.clone()));
        let mut all: Vec<usize> = tr.iter().chain(&te).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
    }

    /// `Debug` shows the shape, never a value, label or id; `zeroize` (what drop runs) clears values and
    /// labels.
    #[test]
    fn vertical_data_is_redacted_and_wiped() {
        let ids = IdList::new(1, "v.csv", "id", vec!["ID-55501".into()], vec![2]).unwrap();
        let mut data = VerticalData {
            ids,
            features: vec!["bmi".into()],
            rows: vec![vec![4321.75]],
            label: "y".into(),
            labels: Some(vec![8765.5]),
            feature_list: None,
        };
        let shown = format!("{data:?}");
        assert!(
            shown.contains("<redacted>") && shown.contains("bmi"),
            "{shown}"
        );
        for digits in ["55501", "4321", "8765"] {
            assert!(!shown.contains(digits), "{shown}");
        }
        data.zeroize();
        assert!(data.rows.is_empty() && data.labels.is_none());
    }
}
