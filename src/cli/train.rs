//! `mpc train`: one party of a deployment (`--config party.toml`), or every party on this machine
//! (`--local --party-data FILE ...`), horizontally (same columns) or with `--vertical` (same people, other
//! columns, rows matched by a private set intersection on `--id-column`).

use std::path::PathBuf;
use std::process::ExitCode;

use mpc_ml::psi::PsiOptions;
use mpc_ml::vertical::{self, VerticalOptions, VerticalSpec};
use mpc_ml::{data, DataSpec, ModelKind, PreprocessingKind, Solver, Standardize, TrainConfig};

use super::common::{train_locally, train_vertically, transport};
use super::CliResult;

/// Arguments of `mpc train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// This party's config file (network part for mpc-net, `[train]` table for training).
    #[arg(long, value_name = "FILE", conflicts_with = "local")]
    pub config: Option<PathBuf>,
    /// Run every party on this machine, one per `--party-data` file.
    #[arg(long)]
    pub local: bool,
    /// A party's CSV file (repeat: the first is party 0).
    #[arg(long = "party-data", value_name = "FILE")]
    pub party_data: Vec<PathBuf>,
    /// The label column.
    #[arg(long)]
    pub label: Option<String>,
    /// `logistic` or `linear`.
    #[arg(long, default_value = "logistic")]
    pub model: ModelKind,
    /// An id column (for example `patient_id`): left out of the features in horizontal runs (a file with one
    /// needs this option, or its ids are read as numbers); with `--vertical`, the column the rows are matched on.
    #[arg(long)]
    pub id_column: Option<String>,
    /// Vertical partitioning: each `--party-data` file holds other columns about the same people; rows are
    /// aligned by a private set intersection on `--id-column`, and one file holds `--label`.
    #[arg(long, requires = "local")]
    pub vertical: bool,
    /// With `--vertical`: the smallest intersection accepted (so that no party can probe single records).
    #[arg(long, default_value_t = mpc_ml::psi::DEFAULT_MIN_INTERSECTION)]
    pub min_intersection: usize,
    /// Feature columns, comma separated (default: every column but the label and the id).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// `auto` (the default: `newton` for a logistic model up to 64 features with the dealer, `gd`
    /// otherwise), `newton` (Newton's method on the shares, logistic only: converges to scikit-learn's
    /// `LogisticRegression(C = --c)` model; ignores the epochs, batch size and learning rate), `gd`
    /// (mini-batch gradient descent) or `closed-form` (linear model only: the normal equations solved on the
    /// shares, up to 64 features; uses `--l2`, ignores the epochs, batch size and learning rate).
    #[arg(long, default_value = "auto")]
    pub solver: Solver,
    /// scikit-learn's `C` for `newton`: the penalty `|w|^2 / 2C` on the summed loss (standardized
    /// weights, not the intercept).
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Passes over the training rows.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Rows per gradient step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Gradient-descent step size.
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f64,
    /// L2 penalty on the weights.
    #[arg(long, default_value_t = 0.0)]
    pub l2: f64,
    /// `dealer` or `ot`.
    #[arg(long, default_value = "dealer")]
    pub preprocessing: PreprocessingKind,
    /// `global` (reveals global means and standard deviations) or `none`.
    #[arg(long, default_value = "global")]
    pub standardize: Standardize,
    /// Parties that receive the model, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub receivers: Vec<usize>,
    /// Open the model after every epoch to the receivers (the secure loss curve), not only the final one;
    /// a receiver can difference consecutive models.
    #[arg(long)]
    pub epoch_models: bool,
    /// Output directory for the model and the report.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Statistical security of the whole run, in bits: everything it sends and opens is within statistical
    /// distance 2^-sigma of its declared outputs (every party the same).
    #[arg(long, default_value_t = mpc_ml::config::DEFAULT_SIGMA)]
    pub sigma: u32,
    /// Connect the local parties over the in-memory network instead of loopback QUIC.
    #[arg(long)]
    pub in_memory: bool,
}

/// Runs `mpc train`.
pub fn run(args: Args) -> CliResult {
    if let Some(path) = &args.config {
        return super::deploy::run(path);
    }
    if !args.local {
        return Err("say `--config party.toml` (one party) or `--local --party-data FILE ...` (every party here)".into());
    }
    if args.party_data.len() < 2 {
        return Err(
            "`--local` needs at least two `--party-data FILE` options, one per party".into(),
        );
    }
    let label = args.label.clone().ok_or("`--label COLUMN` is required")?;
    let out = args.out.clone().ok_or("`--out DIR` is required")?;
    let spec = DataSpec {
        label,
        id_column: args.id_column.clone(),
        features: args.features.clone(),
        model: args.model,
    };
    let config = TrainConfig {
        model: args.model,
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        l2: args.l2,
        standardize: args.standardize,
        receivers: args.receivers.clone(),
        solver: args.solver,
        c: args.c,
        epoch_models: args.epoch_models,
        sigma: args.sigma,
    };
    config.validate(args.party_data.len())?;
    if args.vertical {
        let id_column = args
            .id_column
            .clone()
            .ok_or("`--vertical` needs `--id-column COLUMN`, the column the rows are matched on")?;
        let spec = VerticalSpec {
            id_column,
            label: spec.label,
            features: spec.features,
            model: spec.model,
        };
        let parties = args
            .party_data
            .iter()
            .enumerate()
            .map(|(p, f)| vertical::load_vertical_csv(p, f, &spec))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(list) = &spec.features {
            vertical::check_feature_list(&parties, list)?;
        }
        let files = args
            .party_data
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let options = VerticalOptions {
            config,
            psi: PsiOptions {
                min_intersection: args.min_intersection,
                ..PsiOptions::default()
            },
        };
        train_vertically(
            parties,
            options,
            args.preprocessing,
            transport(args.in_memory),
            files,
            &out,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let parties = args
        .party_data
        .iter()
        .enumerate()
        .map(|(p, f)| data::load_csv_file(p, f, &spec))
        .collect::<Result<Vec<_>, _>>()?;
    let files = args
        .party_data
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    train_locally(
        parties,
        config,
        args.preprocessing,
        transport(args.in_memory),
        files,
        &out,
    )?;
    Ok(ExitCode::SUCCESS)
}
