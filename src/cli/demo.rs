//! `mpc demo`: three hospitals train a breast-cancer classifier together, every party on this machine, with
//! dealer preprocessing; prints secure against plaintext training and writes the model and the report.
//!
//! The data is read from the repository's `data/` folder when it is there and is otherwise taken from copies
//! embedded in the binary, so the demo runs anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mpc_ml::{data, DataSpec, ModelKind, PreprocessingKind, TrainConfig};

use std::io::Write;

use super::common::{say, train_locally};
use super::CliResult;

/// The bundled example's files, with their embedded copies.
const HOSPITALS: [(&str, &str); 3] = [
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

/// The accepted gap to plaintext training (accuracy points) and the accepted accuracy.
const TOLERANCE: f64 = 0.01;
const MIN_ACCURACY: f64 = 0.95;

/// Arguments of `mpc demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory for the model and the report.
    #[arg(long, value_name = "DIR", default_value = "mpc-demo-out")]
    pub out: PathBuf,
}

/// Runs `mpc demo`.
pub fn run(args: Args) -> CliResult {
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
    say!("mpc demo: 3 hospitals, logistic regression on secret shares, dealer preprocessing, in-memory network");
    let config = TrainConfig::default();
    let outcome = train_locally(parties, config, PreprocessingKind::Dealer, files, &args.out)?;
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
