//! `mpc demo`: three hospitals train a breast-cancer classifier together (`--vertical`: a clinic and a lab
//! with other columns about the same patients, rows matched by a private set intersection), every party on
//! this machine, with `ot` preprocessing by default, over loopback QUIC; prints secure against plaintext
//! training and writes the model and the report.
//!
//! The data is read from the repository's `data/` folder when it is there and is otherwise taken from copies
//! embedded in the binary, so the demo runs anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mpc_ml::{data, DataSpec, ModelKind, PreprocessingKind, TrainConfig};

use std::io::Write;

use mpc_ml::psi::PsiOptions;
use mpc_ml::vertical::{self, VerticalOptions, VerticalSpec};

use super::common::{say, train_locally, train_vertically, transport, transport_name, Outcome};
use super::CliResult;

/// The bundled example's files, with their embedded copies.
pub(crate) const HOSPITALS: [(&str, &str); 3] = [
    (
        "hospital_a.csv",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/hospital_a.csv")),
    ),
    (
        "hospital_b.csv",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/hospital_b.csv")),
    ),
    (
        "hospital_c.csv",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/hospital_c.csv")),
    ),
];

/// The vertical example: a clinic (with the label) and a lab, other columns about mostly the same patients.
const CLINIC_LAB: [(&str, &str); 2] = [
    (
        "vertical_clinic.csv",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/vertical_clinic.csv"
        )),
    ),
    (
        "vertical_lab.csv",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/vertical_lab.csv"
        )),
    ),
];

/// The accepted gap to plaintext training (accuracy points) and the accepted accuracy.
const TOLERANCE: f64 = 0.01;
const MIN_ACCURACY: f64 = 0.95;

/// Arguments of `mpc demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory for the model and the report.
    #[arg(long, value_name = "DIR", default_value = "mpc-demo-out")]
    pub out: PathBuf,
    /// The vertical example instead: a clinic and a lab hold other columns about the same patients; rows are
    /// matched by a private set intersection on `patient_id`.
    #[arg(long)]
    pub vertical: bool,
    /// Where the correlated randomness comes from: `ot` (no third party) or `dealer`.
    #[arg(long, value_name = "ot|dealer", default_value = "ot")]
    pub preprocessing: PreprocessingKind,
    /// Run the parties over the in-memory network instead of loopback QUIC.
    #[arg(long)]
    pub in_memory: bool,
    /// Open the model after every epoch to the receiver (the secure loss curve), not only the final one.
    #[arg(long)]
    pub epoch_models: bool,
}

/// Runs `mpc demo`.
pub fn run(args: Args) -> CliResult {
    if args.vertical {
        return run_vertical(&args);
    }
    let spec = DataSpec {
        label: "malignant".into(),
        id_column: Some("patient_id".into()),
        features: None,
        model: ModelKind::Logistic,
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut parties = Vec::new();
    let mut files = Vec::new();
    for (p, (name, embedded)) in HOSPITALS.iter().enumerate() {
        let path = dir.join(name);
        let party = match std::fs::read_to_string(&path) {
            Ok(text) => data::load_csv_str(p, &path.display().to_string(), &text, &spec)?,
            Err(_) => data::load_csv_str(p, &format!("{name} (embedded)"), embedded, &spec)?,
        };
        files.push(name.to_string());
        parties.push(party);
    }
    let transport = transport(args.in_memory);
    say!(
        "mpc demo: 3 hospitals, logistic regression on secret shares, {} preprocessing, over {}",
        args.preprocessing.name(),
        transport_name(transport)
    );
    let config = TrainConfig {
        epoch_models: args.epoch_models,
        ..TrainConfig::default()
    };
    let outcome = train_locally(
        parties,
        config,
        args.preprocessing,
        transport,
        files,
        &args.out,
    )?;
    verdict(&outcome)
}

fn run_vertical(args: &Args) -> CliResult {
    let out = &args.out;
    let spec = VerticalSpec {
        id_column: "patient_id".into(),
        label: "malignant".into(),
        features: None,
        model: ModelKind::Logistic,
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut parties = Vec::new();
    let mut files = Vec::new();
    for (p, (name, embedded)) in CLINIC_LAB.iter().enumerate() {
        let path = dir.join(name);
        let party = match std::fs::read_to_string(&path) {
            Ok(text) => vertical::load_vertical_str(p, &path.display().to_string(), &text, &spec)?,
            Err(_) => {
                vertical::load_vertical_str(p, &format!("{name} (embedded)"), embedded, &spec)?
            }
        };
        files.push(name.to_string());
        parties.push(party);
    }
    say!(
        "mpc demo --vertical: a clinic and a lab, rows matched by a private set intersection on patient_id, logistic regression on secret shares, {} preprocessing, over {}",
        args.preprocessing.name(),
        transport_name(transport(args.in_memory))
    );
    let options = VerticalOptions {
        config: TrainConfig {
            epoch_models: args.epoch_models,
            ..TrainConfig::default()
        },
        psi: PsiOptions::default(),
    };
    let outcome = train_vertically(
        parties,
        options,
        args.preprocessing,
        transport(args.in_memory),
        files,
        out,
    )?;
    verdict(&outcome)
}

fn verdict(outcome: &Outcome) -> CliResult {
    let cmp = &outcome.comparison;
    let secure = cmp.secure.accuracy.unwrap_or(0.0);
    let gap = cmp.gap().abs();
    if secure >= MIN_ACCURACY && gap <= TOLERANCE + 1e-12 {
        say!(
            "ok: secure accuracy {secure:.4}, {:.2} points from plaintext (tolerance {:.0})",
            gap * 100.0,
            TOLERANCE * 100.0
        );
        Ok(ExitCode::SUCCESS)
    } else {
        say!(
            "FAILED: secure accuracy {secure:.4}, {:.2} points from plaintext",
            gap * 100.0
        );
        Ok(ExitCode::FAILURE)
    }
}
