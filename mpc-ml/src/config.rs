//! Training options: the model, the solver and its hyperparameters, standardization and the model's
//! receivers, checked before any party starts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which model to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Logistic regression on a 0/1 label, with the sigmoid approximation of [`crate::sigmoid`].
    #[default]
    Logistic,
    /// Linear regression (least squares) on a continuous label.
    Linear,
}

impl ModelKind {
    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Logistic => "logistic",
            ModelKind::Linear => "linear",
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "logistic" => Ok(ModelKind::Logistic),
            "linear" => Ok(ModelKind::Linear),
            other => Err(Error::option(
                "model",
                format!("`{other}` is not a model: use `logistic` or `linear`"),
            )),
        }
    }
}

/// What joint standardization reveals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Standardize {
    /// Standardize every feature (and a linear model's label) with the global mean and standard deviation of
    /// the training rows; those are computed from secret-shared sums and revealed to every party (with two
    /// parties, that gives each the other's per-column mean and variance: see [`crate::scaling`]).
    #[default]
    Global,
    /// No standardization: for data already on a common scale (every value must lie within
    /// [`crate::data::UNSCALED_LIMIT`]). Reveals nothing.
    None,
}

impl std::str::FromStr for Standardize {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "global" => Ok(Standardize::Global),
            "none" => Ok(Standardize::None),
            other => Err(Error::option(
                "standardize",
                format!("`{other}` is not a standardization: use `global` or `none`"),
            )),
        }
    }
}

/// How the model is fitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// The default: Newton's method for logistic regression with a dealer, global standardization, at most
    /// [`crate::newton::MAX_FEATURES`] features and [`crate::newton::MAX_ROWS`] rows and no per-epoch models,
    /// the closed form for linear regression with global standardization and at most 64 features, each only
    /// where its run meets `sigma` (at the default sigma of 40: Newton's method on breast cancer's shape, the
    /// closed form on diabetes'); gradient descent otherwise ([`TrainConfig::resolve`], once the shape is known).
    #[default]
    Auto,
    /// Mini-batch gradient descent (`epochs`, `batch_size`, `learning_rate`, `l2`): every model.
    GradientDescent,
    /// Newton's method (IRLS) for logistic regression on the shares ([`crate::newton`]), with
    /// scikit-learn's penalty `1 / (2 c)` on the summed loss: converges to the model of
    /// `LogisticRegression(C = c)`. Uses `c`; ignores `epochs`, `batch_size` and `learning_rate`; `l2` must
    /// be 0. The progress callback is told `(iterations_done, MAX_ITERATIONS)`.
    Newton,
    /// The normal equations of linear (ridge) regression, solved on the shares with a Newton–Schulz inverse
    /// ([`crate::closed_form`]): linear model with `standardize = global` and at most
    /// [`crate::closed_form::MAX_FEATURES`] features only. Uses `l2`; ignores `epochs`, `batch_size`,
    /// `learning_rate` and `epoch_models` (it opens one model). The progress callback is told `(iterations_done, iterations)` of the inversion.
    ClosedForm,
}

impl Solver {
    /// The name used in config files.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Auto => "auto",
            Solver::GradientDescent => "gradient_descent",
            Solver::Newton => "newton",
            Solver::ClosedForm => "closed_form",
        }
    }
}

impl std::str::FromStr for Solver {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "gd" | "gradient_descent" | "gradient-descent" => Ok(Solver::GradientDescent),
            "closed_form" | "closed-form" => Ok(Solver::ClosedForm),
            "newton" | "irls" => Ok(Solver::Newton),
            "auto" => Ok(Solver::Auto),
            other => Err(Error::option(
                "solver",
                format!(
                    "`{other}` is not a solver: use `auto`, `newton`, `gradient_descent` (or `gd`) or `closed_form` (or `closed-form`)"
                ),
            )),
        }
    }
}

/// How the parties' data is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Partitioning {
    /// Every party holds rows of the same columns.
    #[default]
    Horizontal,
    /// Every party holds other columns about the same people; rows are matched by a private set
    /// intersection on an id column ([`crate::vertical`]).
    Vertical,
}

impl std::str::FromStr for Partitioning {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "horizontal" => Ok(Partitioning::Horizontal),
            "vertical" => Ok(Partitioning::Vertical),
            other => Err(Error::option(
                "partitioning",
                format!("`{other}` is not a partitioning: use `horizontal` or `vertical`"),
            )),
        }
    }
}

/// Where the correlated randomness comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PreprocessingKind {
    /// A dealer endpoint that does not collude with any party.
    #[default]
    Dealer,
    /// Oblivious transfer, no third party (mpc-core's `OtSource`).
    Ot,
}

impl PreprocessingKind {
    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PreprocessingKind::Dealer => "dealer",
            PreprocessingKind::Ot => "ot",
        }
    }
}

impl std::str::FromStr for PreprocessingKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dealer" => Ok(PreprocessingKind::Dealer),
            "ot" => Ok(PreprocessingKind::Ot),
            other => Err(Error::option(
                "preprocessing",
                format!("`{other}` is not a preprocessing: use `ot` or `dealer`"),
            )),
        }
    }
}

/// The public parameters of a training run; every party must use the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The model.
    pub model: ModelKind,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per gradient step (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Gradient-descent step size.
    pub learning_rate: f64,
    /// L2 penalty on the weights (not on the intercept): the step adds `l2 * w` to the gradient.
    pub l2: f64,
    /// What standardization reveals.
    pub standardize: Standardize,
    /// The parties that receive the model.
    pub receivers: Vec<usize>,
    /// The solver: [`Solver::Auto`] (the default) picks Newton's method, the closed form or gradient descent.
    #[serde(default)]
    pub solver: Solver,
    /// scikit-learn's `C` for Newton's method: the penalty `|w|^2 / (2 C)` on the summed loss (weights
    /// on standardized features, not the intercept). Default 1, scikit-learn's. Gradient descent uses
    /// `l2` instead.
    #[serde(default = "default_c")]
    pub c: f64,
    /// Open the model after every epoch to the receivers, not only the final one (gradient descent only;
    /// the closed form has one model). Off by default: each snapshot is one more output, and a receiver
    /// can difference consecutive snapshots (the sum of an epoch's updates). The per-epoch loss curve of
    /// the secure model needs it; without it the report shows the final model's loss.
    #[serde(default)]
    pub epoch_models: bool,
    /// Statistical security parameter: everything the run sends and opens is within statistical distance
    /// `2^-sigma` of a simulation from its declared outputs, and its truncations fail with a probability
    /// included in that bound ([`crate::hiding`]).
    #[serde(default = "default_sigma")]
    pub sigma: u32,
}

/// The default statistical security parameter.
pub const DEFAULT_SIGMA: u32 = 40;

/// Accepted values of [`TrainConfig::sigma`].
pub const SIGMA_RANGE: std::ops::RangeInclusive<u32> = 20..=80;

fn default_c() -> f64 {
    1.0
}

/// Accepted values of [`TrainConfig::c`].
pub const C_RANGE: std::ops::RangeInclusive<f64> = 1e-4..=1e4;

fn default_sigma() -> u32 {
    DEFAULT_SIGMA
}

impl Default for TrainConfig {
    /// The default solver ([`Solver::Auto`]: Newton's method with `C = 1` where it applies and meets sigma,
    /// else gradient descent), and for gradient descent 10 epochs, batch 64, learning rate 0.1, no penalty; final model to party 0 (no per-epoch
    /// snapshots).
    fn default() -> Self {
        TrainConfig {
            model: ModelKind::Logistic,
            epochs: 10,
            batch_size: 64,
            learning_rate: 0.1,
            l2: 0.0,
            standardize: Standardize::Global,
            receivers: vec![0],
            solver: Solver::Auto,
            c: 1.0,
            epoch_models: false,
            sigma: DEFAULT_SIGMA,
        }
    }
}

/// Largest number of epochs accepted.
pub const MAX_EPOCHS: usize = 10_000;

impl TrainConfig {
    /// The first training option in which `theirs` (another party's) differs from `self`, named as in the
    /// config file with both values: "the training option `epochs` (5 against this party's 10)". `None` if
    /// they agree. The options are public to the session, so the text may go into a local error about a peer.
    pub fn difference(&self, theirs: &TrainConfig) -> Option<String> {
        if self == theirs {
            return None;
        }
        let (Ok(serde_json::Value::Object(mine)), Ok(serde_json::Value::Object(other))) =
            (serde_json::to_value(self), serde_json::to_value(theirs))
        else {
            return Some("the training options".into());
        };
        mine.iter()
            .find(|(k, v)| other.get(*k) != Some(*v))
            .map(|(k, v)| {
                let show = |v: Option<&serde_json::Value>| match v {
                    Some(serde_json::Value::String(s)) => format!("`{s}`"),
                    Some(v) => v.to_string(),
                    None => "nothing".into(),
                };
                format!(
                    "the training option `{k}` ({} against this party's {})",
                    show(other.get(k)),
                    show(Some(v))
                )
            })
            .or_else(|| Some("the training options".into()))
    }

    /// Checks every field for a session of `parties` parties; the error names the field.
    pub fn validate(&self, parties: usize) -> Result<()> {
        if self.epochs == 0 || self.epochs > MAX_EPOCHS {
            return Err(Error::option(
                "epochs",
                format!("{} is not in 1..={MAX_EPOCHS}", self.epochs),
            ));
        }
        if self.batch_size == 0 || self.batch_size > 1 << 16 {
            return Err(Error::option(
                "batch-size",
                format!("{} is not in 1..=65536", self.batch_size),
            ));
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 10.0)
        {
            return Err(Error::option(
                "learning-rate",
                format!("{} is not in (0, 10]", self.learning_rate),
            ));
        }
        if !(self.l2.is_finite() && (0.0..=100.0).contains(&self.l2)) {
            return Err(Error::option(
                "l2",
                format!("{} is not in [0, 100]", self.l2),
            ));
        }
        if !(self.c.is_finite() && C_RANGE.contains(&self.c)) {
            return Err(Error::option(
                "c",
                format!(
                    "{} is not in [{:e}, {:e}]",
                    self.c,
                    C_RANGE.start(),
                    C_RANGE.end()
                ),
            ));
        }
        if !SIGMA_RANGE.contains(&self.sigma) {
            return Err(Error::option(
                "sigma",
                format!(
                    "{} is not in {}..={}",
                    self.sigma,
                    SIGMA_RANGE.start(),
                    SIGMA_RANGE.end()
                ),
            ));
        }
        if self.receivers.is_empty() {
            return Err(Error::option(
                "receivers",
                "name at least one party to receive the model",
            ));
        }
        if let Some(&p) = self.receivers.iter().find(|&&p| p >= parties) {
            return Err(Error::option(
                "receivers",
                format!("there is no party {p} in a session of {parties} parties"),
            ));
        }
        if self.solver == Solver::ClosedForm {
            if self.model != ModelKind::Linear {
                return Err(Error::option(
                    "solver",
                    format!(
                        "the closed form solves linear regression only; the {} model needs `gradient_descent` (`--solver gd`)",
                        self.model.name()
                    ),
                ));
            }
            if self.standardize != Standardize::Global {
                return Err(Error::option(
                    "solver",
                    "the closed form needs `standardize = global` (its inversion starts from the unit diagonal that standardization gives); without standardization use `gradient_descent` (`--solver gd`)",
                ));
            }
        }
        if self.solver == Solver::Newton {
            crate::newton::check(self, 1, 1)?;
        }
        Ok(())
    }

    /// This configuration with [`Solver::Auto`] replaced by the solver it picks for `features` features,
    /// `rows` training rows, `parties` computing parties and the preprocessing (`ot`: the `ot` source); every
    /// party computes it alike from public values. Other solvers unchanged. Newton's method (logistic, with a
    /// dealer only: with `ot` its Hessian's correlated randomness costs seconds per iteration) and the closed
    /// form (linear, up to [`crate::closed_form::MAX_FEATURES`] features with global standardization, no
    /// per-epoch models) are picked only where their run meets `sigma` ([`crate::newton::security_bits`],
    /// [`crate::closed_form::security_bits`]);
    /// otherwise gradient descent, whose run-wide security is checked by [`crate::hiding::Plan`].
    pub fn resolve(&self, features: usize, rows: usize, parties: usize, ot: bool) -> TrainConfig {
        let mut out = self.clone();
        if self.solver == Solver::Auto {
            let closed_form = TrainConfig {
                solver: Solver::ClosedForm,
                ..self.clone()
            };
            let meets = |bits: f64| bits >= self.sigma as f64;
            out.solver = if !ot
                && crate::newton::fits(self, features, rows)
                && meets(crate::newton::security_bits(
                    rows, features, self.c, parties, ot,
                )) {
                Solver::Newton
            } else if self.model == ModelKind::Linear
                && !self.epoch_models
                && crate::closed_form::check(&closed_form, features).is_ok()
                && meets(crate::closed_form::security_bits(
                    rows, features, self.l2, parties, ot,
                ))
            {
                Solver::ClosedForm
            } else {
                Solver::GradientDescent
            };
        }
        out
    }

    /// How many weight vectors the run opens to the receivers: one per epoch with gradient descent and
    /// [`TrainConfig::epoch_models`], otherwise one (the final model).
    pub fn models_opened(&self) -> usize {
        match self.solver {
            Solver::GradientDescent | Solver::Auto if self.epoch_models => self.epochs,
            _ => 1,
        }
    }

    /// What the run opens to the receivers, for the disclosures of reports and model files.
    pub fn model_disclosure(&self) -> String {
        match self.solver {
            Solver::GradientDescent | Solver::Auto if self.epoch_models => format!(
                "the model's weights and intercept after each of the {} epochs (`epoch_models`: {} models; the last is the model, the others give the loss curve)",
                self.epochs, self.epochs
            ),
            Solver::GradientDescent | Solver::Auto => "the final model's weights and intercept, opened once (no per-epoch snapshots)".into(),
            Solver::Newton => "the model's weights and intercept (Newton's method: opened once)".into(),
            Solver::ClosedForm => "the model's weights and intercept (closed form: opened once)".into(),
        }
    }

    /// The solver and its options, for reports: `"10 epochs, batch 64, learning rate 0.1, L2 0"` or
    /// `"closed form (normal equations, Newton–Schulz inverse), L2 0"`.
    pub fn describe(&self) -> String {
        match self.solver {
            Solver::GradientDescent => format!(
                "{} epochs, batch {}, learning rate {}, L2 {}{}",
                self.epochs,
                self.batch_size,
                self.learning_rate,
                self.l2,
                if self.epoch_models {
                    ", a model opened after every epoch"
                } else {
                    ""
                }
            ),
            Solver::ClosedForm => format!(
                "closed form (normal equations, Newton–Schulz inverse), L2 {}, damping 2^-8 on the diagonal",
                self.l2
            ),
            Solver::Newton => format!(
                "Newton's method (IRLS), C = {} (scikit-learn's: penalty |w|^2 / 2C on the summed loss), until the update's norm is below {}",
                self.c,
                crate::newton::TOLERANCE
            ),
            Solver::Auto => format!(
                "auto (Newton's method with C = {} or the closed form where the run meets sigma {}, else {} epochs of gradient descent)",
                self.c,
                self.sigma,
                self.epochs
            ),
        }
    }
}
