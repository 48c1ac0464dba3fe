//! What a local run hands back to people: the comparison with plaintext training, the model file
//! (`model.json`), the text table, and the Markdown report with its loss curve (`loss.svg`).
//!
//! The loss curve is evaluated by this process, which in a local run holds every party's rows: it scores the
//! models that were opened to the receivers on the pooled training rows, beside the plaintext baseline's.
//! Those are the final model alone unless [`TrainConfig::epoch_models`] asked for one per epoch (the closed
//! form has one model); without it the report shows the secure model's final loss and the plaintext curve,
//! and says that the secure curve needs `epoch_models`. Nothing else is opened for it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::bounds::RunShape;
use crate::config::{ModelKind, PreprocessingKind, Solver, TrainConfig};
use crate::error::{Error, Result};
use crate::hiding::run_security_bits;
use crate::local::LocalRun;
use crate::metrics::{self, Metrics};
use crate::model::Model;
use crate::plain::{loss_curve, train_plain, Link};
use crate::secure::{Disclosure, FORMAT};
use crate::sigmoid;
use crate::split::pool;
use crate::vertical::FeatureOwner;

/// The secure model against plaintext f64 training on the same split.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The secure model.
    pub model: Model,
    /// Its test metrics.
    pub secure: Metrics,
    /// The plaintext model's test metrics (exact sigmoid, same rows, same recipe).
    pub plain: Metrics,
    /// The test metrics of the converged f64 model of the objective scikit-learn fits on the standardized
    /// training rows: `LogisticRegression(C = c)` ([`crate::plain::newton`], exact sigmoid) or
    /// `LinearRegression()` (least squares). With Newton's method or the closed form it is `plain`.
    pub converged: Metrics,
    /// The largest difference between a weight (or the intercept) of the secure model and of that
    /// converged model, both on standardized features.
    pub converged_weight_gap: f64,
    /// Training loss of the secure model (pooled training rows) at each epoch of `plain_loss`, for the
    /// models that were opened: every epoch with [`TrainConfig::epoch_models`], else the last one only
    /// (`None` elsewhere).
    pub secure_loss: Vec<Option<f64>>,
    /// Training loss per epoch of the plaintext model.
    pub plain_loss: Vec<f64>,
    /// Seconds of secure training (party 0: input sharing to model opening).
    pub secure_seconds: f64,
    /// Seconds of plaintext training.
    pub plain_seconds: f64,
    /// Bytes sent by each party over the whole session.
    pub bytes_sent: Vec<u64>,
    /// Rounds per gradient step of each party.
    pub rounds_per_step: Vec<f64>,
}

impl Comparison {
    /// Compares the receivers' model of `run` with plaintext training of the same rows.
    pub fn of(run: &LocalRun, config: &TrainConfig) -> Result<Self> {
        let config = &resolved(config, run);
        let out = run
            .receiver()
            .ok_or_else(|| Error::option("receivers", "no party received the model"))?;
        let model = out
            .model
            .clone()
            .ok_or_else(|| Error::option("receivers", "no party received the model"))?;
        let (rows, labels) = pool(&run.test);
        let t = Instant::now();
        let plain = train_plain(&run.train, config, Link::Exact);
        let plain_seconds = t.elapsed().as_secs_f64();
        let plain_loss = loss_curve(&plain.epoch_models, &run.train);
        // The opened models are the last epochs' (all of them, or the final one).
        let opened = loss_curve(&out.epoch_models, &run.train);
        let skip = plain_loss.len().saturating_sub(opened.len());
        let secure_loss = (0..plain_loss.len().max(opened.len()))
            .map(|i| i.checked_sub(skip).and_then(|j| opened.get(j).copied()))
            .collect();
        let objective = TrainConfig {
            solver: match config.model {
                ModelKind::Logistic => Solver::Newton,
                ModelKind::Linear => Solver::ClosedForm,
            },
            l2: 0.0,
            ..config.clone()
        };
        let converged = train_plain(&run.train, &objective, Link::Exact);
        let s = &converged.scaling;
        let gap = s
            .to_standardized(&model.weights, model.intercept)
            .iter()
            .zip(s.to_standardized(&converged.model.weights, converged.model.intercept))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        Ok(Comparison {
            converged: metrics::evaluate(&converged.model, &rows, &labels),
            converged_weight_gap: gap,
            secure: metrics::evaluate(&model, &rows, &labels),
            plain: metrics::evaluate(&plain.model, &rows, &labels),
            secure_loss,
            plain_loss,
            secure_seconds: run.parties[0].output.timing.training_seconds,
            plain_seconds,
            bytes_sent: run.parties.iter().map(|p| p.stats.bytes_sent()).collect(),
            rounds_per_step: run
                .parties
                .iter()
                .map(|p| p.output.timing.rounds_per_step)
                .collect(),
            model,
        })
    }

    /// True if the secure loss is known at every epoch (a model was opened after each).
    pub fn secure_curve(&self) -> bool {
        self.secure_loss.iter().all(Option::is_some)
    }

    /// The secure loss as a curve for [`loss_svg`]: NaN where no model was opened.
    pub fn secure_points(&self) -> Vec<f64> {
        self.secure_loss
            .iter()
            .map(|l| l.unwrap_or(f64::NAN))
            .collect()
    }

    /// The headline difference: accuracy points (logistic) or R^2 (linear), secure minus plaintext.
    pub fn gap(&self) -> f64 {
        match self.model.model {
            ModelKind::Logistic => {
                self.secure.accuracy.unwrap_or(0.0) - self.plain.accuracy.unwrap_or(0.0)
            }
            ModelKind::Linear => self.secure.r2.unwrap_or(0.0) - self.plain.r2.unwrap_or(0.0),
        }
    }

    /// The metrics table as aligned text.
    pub fn table(&self) -> String {
        let rows = self.metric_rows();
        let mut s = format!(
            "{:<22} {:>12} {:>12} {:>16}\n",
            "", "secure", "plaintext", "scikit-learn's"
        );
        for (name, a, b, c) in rows {
            s.push_str(&format!("{name:<22} {a:>12} {b:>12} {c:>16}\n"));
        }
        s.push_str(&format!(
            "standardized weights: the secure model's are within {:.2e} of scikit-learn's objective's converged f64 model\n",
            self.converged_weight_gap
        ));
        s
    }

    fn metric_rows(&self) -> Vec<(String, String, String, String)> {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        let mut rows = Vec::new();
        let (s, p, c) = (&self.secure, &self.plain, &self.converged);
        let pairs = [
            ("test accuracy", s.accuracy, p.accuracy, c.accuracy),
            ("test ROC AUC", s.roc_auc, p.roc_auc, c.roc_auc),
            ("test log-loss", s.log_loss, p.log_loss, c.log_loss),
            ("test R^2", s.r2, p.r2, c.r2),
            ("test MSE", s.mse, p.mse, c.mse),
        ];
        for (name, a, b, c) in pairs {
            if a.is_some() || b.is_some() {
                rows.push((name.to_string(), f(a), f(b), f(c)));
            }
        }
        rows.push((
            "training seconds".into(),
            format!("{:.3}", self.secure_seconds),
            format!("{:.4}", self.plain_seconds),
            "-".into(),
        ));
        let bytes: Vec<String> = self
            .bytes_sent
            .iter()
            .map(|b| format!("{:.1} KiB", *b as f64 / 1024.0))
            .collect();
        rows.push((
            "bytes sent per party".into(),
            bytes.join(" / "),
            "0".into(),
            "-".into(),
        ));
        let rounds: Vec<String> = self
            .rounds_per_step
            .iter()
            .map(|r| format!("{r:.1}"))
            .collect();
        rows.push((
            "rounds per step".into(),
            rounds.join(" / "),
            "-".into(),
            "-".into(),
        ));
        rows
    }
}

/// Facts about the run for the model file and the report.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// Each party's data file.
    pub files: Vec<String>,
    /// The preprocessing used.
    pub preprocessing: PreprocessingKind,
    /// The transport: `in-memory`, or loopback QUIC for `mpc demo` and `mpc train --local` without `--in-memory`.
    pub transport: String,
}

/// The model file: weights on raw values and the run's metadata.
#[derive(Clone, Debug, Serialize)]
pub struct ModelFile {
    /// `logistic` or `linear`.
    pub model: ModelKind,
    /// Feature names.
    pub features: Vec<String>,
    /// Weights on raw feature values.
    pub weights: Vec<f64>,
    /// Intercept on raw values.
    pub intercept: f64,
    /// How to score a row.
    pub scoring: String,
    /// Number of parties.
    pub parties: usize,
    /// Training rows per party.
    pub rows_per_party: Vec<usize>,
    /// The training options.
    pub config: TrainConfig,
    /// `dealer` or `ot`.
    pub preprocessing: PreprocessingKind,
    /// The share ring.
    pub ring: String,
    /// Fixed-point fractional bits.
    pub frac_bits: u32,
    /// Fixed-point bound bits.
    pub bound_bits: u32,
    /// The sigmoid approximation used in training.
    pub sigmoid: String,
    /// What was opened, to whom.
    pub revealed: Vec<Disclosure>,
    /// In a vertical run, every feature with the party that holds its column.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub feature_owners: Vec<FeatureOwner>,
}

impl ModelFile {
    /// The file for a model trained with `config` in `run`.
    pub fn new(model: &Model, run: &LocalRun, config: &TrainConfig, info: &RunInfo) -> Self {
        let config = &resolved(config, run);
        let out = &run.parties[0].output;
        ModelFile {
            model: model.model,
            features: model.features.clone(),
            weights: model.weights.clone(),
            intercept: model.intercept,
            scoring: match model.model {
                ModelKind::Logistic => {
                    "p = 1 / (1 + exp(-(intercept + sum(weights[j] * x[j])))) on raw CSV values"
                        .into()
                }
                ModelKind::Linear => {
                    "y = intercept + sum(weights[j] * x[j]) on raw CSV values".into()
                }
            },
            parties: run.parties.len(),
            rows_per_party: out.rows_per_party.clone(),
            config: config.clone(),
            preprocessing: info.preprocessing,
            ring: "Z128".into(),
            frac_bits: FORMAT.frac_bits,
            bound_bits: FORMAT.bound_bits,
            sigmoid: sigmoid_description(),
            revealed: out.revealed.clone(),
            feature_owners: out.feature_owners.clone(),
        }
    }
}

fn sigmoid_description() -> String {
    format!(
        "odd degree-9 least-squares polynomial in z/{r} on [-{r}, {r}] of z clamped to [-{c}, {c}] by a secure comparison, max error {} for every input (see mpc_ml::sigmoid)",
        sigmoid::MAX_ERROR,
        r = sigmoid::RANGE,
        c = sigmoid::CLAMP_AT
    )
}

/// The loss curves as a small SVG line chart, each point marked; a non-finite value is a gap (no point).
pub fn loss_svg(curves: &[(&str, &[f64], &str)]) -> String {
    let (w, h, pad) = (560.0, 300.0, 48.0);
    let max_len = curves.iter().map(|c| c.1.len()).max().unwrap_or(0).max(2);
    let finite = curves
        .iter()
        .flat_map(|c| c.1.iter().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo.min(0.0), hi)
    } else {
        (0.0, 1.0)
    };
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (max_len - 1) as f64;
    let y = |v: f64| h - pad - (h - 2.0 * pad) * (v - lo) / (hi - lo);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    s.push_str(&format!(
        "<line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/><line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"black\"/>\n",
        b = h - pad,
        r = w - pad
    ));
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch</text><text x=\"6\" y=\"{}\">{hi:.3}</text><text x=\"6\" y=\"{}\">{lo:.3}</text>\n",
        w / 2.0,
        h - 12.0,
        pad + 4.0,
        h - pad
    ));
    for (k, (name, values, colour)) in curves.iter().enumerate() {
        let pts: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v)))
            .collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n<text x=\"{}\" y=\"{}\" fill=\"{colour}\">{name}</text>\n",
            pts.join(" "),
            w - pad - 150.0,
            pad + 16.0 * k as f64
        ));
        for p in &pts {
            if let Some((cx, cy)) = p.split_once(',') {
                s.push_str(&format!(
                    "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"3\" fill=\"{colour}\"/>\n"
                ));
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// `config` with the default solver resolved for the run's shape, as the parties resolved it.
pub(crate) fn resolved(config: &TrainConfig, run: &LocalRun) -> TrainConfig {
    match run.parties.first() {
        Some(p) => TrainConfig {
            solver: p.output.solver,
            ..config.clone()
        },
        None => config.clone(),
    }
}

/// The Markdown report.
pub fn markdown(cmp: &Comparison, run: &LocalRun, config: &TrainConfig, info: &RunInfo) -> String {
    let config = &resolved(config, run);
    let out = &run.parties[0].output;
    let mut s = String::from("# Secure training report\n\n");
    s.push_str(&format!(
        "{} regression by {} parties ({}), {}, {} preprocessing, {} network; ring Z128, {} fractional bits.\n\n",
        config.model.name(),
        run.parties.len(),
        info.files.join(", "),
        config.describe(),
        info.preprocessing.name(),
        info.transport,
        FORMAT.frac_bits,
    ));
    if out.feature_owners.is_empty() {
        s.push_str("Split: each party shuffles its own rows with a public seed and keeps 80% for training, 20% for testing; the plaintext baseline trains on exactly the same rows in the same order with the exact sigmoid (f64).\n\n");
    } else {
        s.push_str("Vertical partitioning: the parties' rows were aligned by a private set intersection (ECDH on Ristretto) on the id column and put in the byte order of the ids; that joint order is shuffled with a public seed and split 80% for training, 20% for testing; the plaintext baseline trains on the same joined rows in the same order with the exact sigmoid (f64).\n\n");
    }
    s.push_str(&format!(
        "Training rows per party: {:?}; test rows: {}.\n\n",
        out.rows_per_party,
        run.test.iter().map(|t| t.len()).sum::<usize>()
    ));
    let shape = RunShape {
        rows: out.rows_per_party.iter().sum(),
        features: cmp.model.features.len(),
        parties: run.parties.len(),
    };
    let horizontal = out.feature_owners.is_empty();
    s.push_str(&security_line(
        &shape,
        config,
        info.preprocessing,
        horizontal,
    ));
    s.push_str("## Metrics\n\n| | secure | plaintext | scikit-learn's objective |\n| --- | ---: | ---: | ---: |\n");
    for (name, a, b, c) in cmp.metric_rows() {
        s.push_str(&format!("| {name} | {a} | {b} | {c} |\n"));
    }
    s.push_str(&format!(
        "\n\"scikit-learn's objective\" is the converged f64 model of the objective scikit-learn fits, on the same standardized training rows: {}. The secure model's weights and intercept (on standardized features) are within **{:.2e}** of it{}.\n",
        match config.model {
            ModelKind::Logistic => format!("`LogisticRegression(C = {})` (Newton's method to convergence with the exact sigmoid; scikit-learn's figures agree to 1e-3 in the project's known-answer tests)", config.c),
            ModelKind::Linear => "`LinearRegression()` (least squares)".into(),
        },
        cmp.converged_weight_gap,
        match (config.model, config.solver) {
            (ModelKind::Logistic, Solver::Newton) => ": Newton's method on the shares converges to the same objective with the secure run's sigmoid (a polynomial, error at most 0.0083), which is what remains between them",
            (ModelKind::Logistic, _) => ": gradient descent stops after its epochs, wherever it is",
            _ => "",
        }
    ));
    s.push_str(&match config.solver {
        Solver::Newton => format!(
            "\nTraining time is party 0's, from input sharing to the model's opening; Newton's method took {} iterations ({} rounds from the data's masking to the weights, {:.1} per iteration; the correlated randomness of each iteration is announced to the source before it, inside the timed span). The plaintext baseline is the same objective's converged model in f64 with the exact sigmoid: scikit-learn's `LogisticRegression(C = {})` on the standardized features.\n\n",
            out.timing.steps,
            out.timing.step_rounds,
            out.timing.rounds_per_step,
            config.c
        ),
        Solver::GradientDescent | Solver::Auto => format!(
            "\nTraining time is party 0's, from input sharing to the model's opening; it takes {} steps of {:.1} rounds each (correlated randomness is fetched before each chunk of batches, from the dealer or by OT, inside the timed span, and is not counted in the steps' rounds).\n\n",
            out.timing.steps,
            out.timing.rounds_per_step
        ),
        Solver::ClosedForm => format!(
            "\nTraining time is party 0's, from input sharing to the model's opening; the closed form takes one product for `X^T X` and `X^T y`, {} Newton–Schulz iterations and one product for the weights: {} rounds from the first product to the weights, and one more to open them (\"rounds per step\" is these rounds per iteration; the correlated randomness is fetched before the first product, inside the timed span, and is not counted in these rounds). The plaintext baseline solves the same normal equations in f64.\n\n",
            out.timing.steps,
            out.timing.step_rounds
        ),
    });
    s.push_str("## Training loss per epoch\n\n![training loss per epoch](loss.svg)\n\n");
    s.push_str("| epoch | secure | plaintext |\n| ---: | ---: | ---: |\n");
    for (i, (a, b)) in cmp.secure_loss.iter().zip(&cmp.plain_loss).enumerate() {
        let a = a.map_or("-".to_string(), |a| format!("{a:.5}"));
        s.push_str(&format!("| {} | {a} | {b:.5} |\n", i + 1));
    }
    s.push_str(&format!(
        "\nThe loss ({}) is evaluated by this local run, which holds every party's rows, on the pooled training rows: for the secure model it scores the models opened to the receivers (listed below). In a deployment a receiver evaluates it on its own rows only.{}\n\n",
        match config.model {
            ModelKind::Logistic => "mean log-loss with the exact sigmoid",
            ModelKind::Linear => "mean squared error",
        },
        if cmp.secure_curve() {
            ""
        } else {
            " Only the final model was opened, so the secure column has the final model's loss alone; the secure per-epoch curve needs `epoch_models = true` in every party's `[train]` table (`--epoch-models` for `mpc train --local` and `mpc demo`), which opens the model after every epoch to the receivers."
        }
    ));
    s.push_str(&revealed_section(
        &out.revealed,
        info.preprocessing,
        out.feature_owners.is_empty(),
    ));
    s.push_str(&format!(
        "## Model\n\nSigmoid approximation in training: {}.\n\n",
        sigmoid_description()
    ));
    s.push_str("| feature | weight (raw units) | held by |\n| --- | ---: | ---: |\n");
    for (f, w) in cmp.model.features.iter().zip(&cmp.model.weights) {
        let owner = out
            .feature_owners
            .iter()
            .find(|o| o.feature == *f)
            .map_or_else(
                || "every party".to_string(),
                |o| format!("party {}", o.party),
            );
        s.push_str(&format!("| {f} | {w:.6e} | {owner} |\n"));
    }
    s.push_str(&format!("| (intercept) | {:.6e} |\n", cmp.model.intercept));
    s
}

/// The report section "What was revealed, to whom": every disclosure, then what the other openings hide
/// with this preprocessing, for horizontal (rows held by their owners) or vertical data.
pub(crate) fn revealed_section(
    revealed: &[Disclosure],
    preprocessing: PreprocessingKind,
    horizontal: bool,
) -> String {
    let mut s = String::from("## What was revealed, to whom\n\n");
    for d in revealed {
        s.push_str(&format!("- {} — to parties {:?}\n", d.what, d.to));
    }
    s.push_str(match preprocessing {
        PreprocessingKind::Dealer => "\nEverything else opened during the run is masked by fresh uniform randomness from the dealer and reveals nothing: `E = X - A` (each chunk of the data matrix under a dealer mask, once), the masked right operands of every product, Beaver-masked differences in the sigmoid polynomial, and masked values in every truncation. The dealer learns nothing about the data; it must not collude with a party.\n\n",
        PreprocessingKind::Ot if horizontal => "\nEverything else opened during the run is masked, without a third party: each party's own rows are the mask of its rows, so nothing is opened for the data matrix; the Beaver-masked differences in the sigmoid polynomial, the truncations and the right operands of the data-matrix products hide statistically, not perfectly: their masks are bounded (the sigmoid's square and product masks, truncation masks below the ring's size, and, for data matrices too large to reuse the owners' OTs, the shares of `B`), so each hides a value only while the value stays far below its mask (see SECURITY.md).\n\n",
        PreprocessingKind::Ot => "\nEverything else opened during the run is masked, without a third party: `E = X - A` (each chunk of the data matrix under a uniform random mask, once) and the right operands of the data-matrix products hide perfectly; the Beaver-masked differences in the sigmoid polynomial and the truncations hide statistically, not perfectly: their masks are bounded (the sigmoid's square and product masks, truncation masks below the ring's size), so each hides a value only while the value stays far below its mask (see SECURITY.md).\n\n",
    });
    s
}

/// The report's line on the run's statistical security: `-log2` of the summed statistical distance of
/// everything the run sends and opens, and of its truncation failures ([`crate::hiding`]), computed from the
/// run's public shape as the run itself sized its masks (`horizontal`: owners' rows as masks).
pub(crate) fn security_line(
    shape: &RunShape,
    config: &TrainConfig,
    preprocessing: PreprocessingKind,
    horizontal: bool,
) -> String {
    let sigma = config.sigma;
    match config.solver {
        Solver::Newton => {
            let ot = preprocessing == PreprocessingKind::Ot;
            let bits = crate::newton::security_bits(
                shape.rows,
                shape.features,
                config.c,
                shape.parties,
                ot,
            );
            format!(
                "Statistical security of this run: {:.1} bits (sigma = {sigma}; runs below it are refused): Newton's method's masks are uniform; each truncation with `{}` may {} with probability up to 2^k / 2^{} for its input's public bound 2^k, summed over {} iterations. The bounds rest on the checks whose bits are listed above (the standardized columns' sum of squares, each warm start's residual, each update's norm) and on `S > 0` by construction; see `mpc_ml::newton::Bounds` and `security_bits`.\n\n",
                (bits * 10.0).floor() / 10.0,
                preprocessing.name(),
                if ot { "leak its value statistically" } else { "fail" },
                if ot { 125 } else { 127 },
                crate::newton::MAX_ITERATIONS
            )
        }
        Solver::ClosedForm => {
            let ot = preprocessing == PreprocessingKind::Ot;
            let bits = crate::closed_form::security_bits(
                shape.rows,
                shape.features,
                config.l2,
                shape.parties,
                ot,
            );
            format!(
                "Statistical security of this run: {:.1} bits (sigma = {sigma}; runs below it are refused): the closed form's masks are uniform; each truncation is sized by a public bound that the opened trace check and the damping `2^-8` of the inverted matrix make hold (see `mpc_ml::closed_form::Bounds` and `security_bits`).\n\n",
                (bits * 10.0).floor() / 10.0,
            )
        }
        Solver::GradientDescent | Solver::Auto => {
            match run_security_bits(shape, config, preprocessing, horizontal) {
                Ok(bits) => format!(
                    "Statistical security of this run: {:.1} bits (sigma = {sigma}).\n\n",
                    (bits * 10.0).floor() / 10.0
                ),
                Err(e) => {
                    format!("Statistical security of this run: below sigma = {sigma} ({e}).\n\n")
                }
            }
        }
    }
}

/// An output folder: created on first use, every write's error names the file, and the paths written are kept.
pub(crate) struct OutputDir<'a> {
    dir: &'a Path,
    files: Vec<PathBuf>,
}

impl<'a> OutputDir<'a> {
    /// Creates `dir` if needed.
    pub(crate) fn create(dir: &'a Path) -> Result<Self> {
        if dir.exists() && !dir.is_dir() {
            return Err(output_error(
                dir,
                &"it is a file, not a folder: name another output folder",
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| output_error(dir, &e))?;
        Ok(OutputDir {
            dir,
            files: Vec::new(),
        })
    }

    /// Writes `name` in the folder: first to a temporary name in the same folder, then renamed, so that a
    /// reader (or a crash) never sees a half-written file under the final name.
    pub(crate) fn write(&mut self, name: &str, text: String) -> Result<()> {
        let p = self.dir.join(name);
        let tmp = self
            .dir
            .join(format!(".{name}.partial-{}", std::process::id()));
        let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &p));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(output_error(&p, &e));
        }
        self.files.push(p);
        Ok(())
    }

    /// Writes `value` as pretty JSON into `name`.
    pub(crate) fn write_json(&mut self, name: &str, value: &impl Serialize) -> Result<()> {
        let json = serde_json::to_string_pretty(value).map_err(|e| output_error(self.dir, &e))?;
        self.write(name, json)
    }

    /// The paths written, in order.
    pub(crate) fn into_files(self) -> Vec<PathBuf> {
        self.files
    }
}

/// Checks, before a run starts, that its outputs can be written into `dir`: creates the folder if needed,
/// refuses a file in its place, and writes and removes a probe file (so a folder without write permission
/// is found before any computation, not after training).
pub fn check_output_dir(dir: &Path) -> Result<()> {
    OutputDir::create(dir)?;
    let probe = dir.join(format!(".mpc-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| output_error(dir, &e))?;
    std::fs::remove_file(&probe).map_err(|e| output_error(&probe, &e))
}

fn output_error(p: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Output {
        path: p.display().to_string(),
        reason: e.to_string(),
    }
}

/// Writes `model.json`, `report.md` and `loss.svg` into `dir` (created if needed); returns their paths.
pub fn write_outputs(
    dir: &Path,
    cmp: &Comparison,
    run: &LocalRun,
    config: &TrainConfig,
    info: &RunInfo,
) -> Result<Vec<PathBuf>> {
    let mut out = OutputDir::create(dir)?;
    out.write_json("model.json", &ModelFile::new(&cmp.model, run, config, info))?;
    out.write("report.md", markdown(cmp, run, config, info))?;
    out.write(
        "loss.svg",
        loss_svg(&[
            ("secure", &cmp.secure_points(), "#d62728"),
            ("plaintext", &cmp.plain_loss, "#1f77b4"),
        ]),
    )?;
    Ok(out.into_files())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mpc-report-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_output_folder_is_checked_before_the_run() {
        let dir = scratch("check");
        let out = dir.join("new/folder");
        check_output_dir(&out).unwrap();
        assert!(out.is_dir(), "the folder is created");
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "no probe left");
        let file = dir.join("a-file");
        std::fs::write(&file, "x").unwrap();
        let e = check_output_dir(&file).unwrap_err().to_string();
        assert!(e.contains("a-file") && e.contains("not a folder"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn files_are_written_under_a_temporary_name_then_renamed() {
        let dir = scratch("atomic");
        let mut out = OutputDir::create(&dir).unwrap();
        out.write("report.md", "hello".into()).unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec!["report.md".to_string()],
            "no temporary file left"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("report.md")).unwrap(),
            "hello"
        );
        // A target that cannot be replaced (a folder of that name) fails, and leaves no partial file.
        std::fs::create_dir_all(dir.join("model.json/inner")).unwrap();
        assert!(out.write("model.json", "{}".into()).is_err());
        let partial = std::fs::read_dir(&dir)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().contains("partial"));
        assert!(!partial, "the temporary file is removed on failure");
        let _ = std::fs::remove_dir_all(dir);
    }
}
