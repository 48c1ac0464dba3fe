//! Shared helpers of the integration tests: the bundled data, and a local run with default options.

#![allow(dead_code)]

use std::path::PathBuf;

use mpc_ml::{
    data, DataSpec, LocalOptions, LocalRun, ModelKind, PartyData, PreprocessingKind, TrainConfig,
    Transport,
};

/// The repository's data folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data")
}

/// The three hospitals of the breast-cancer example.
pub fn hospitals() -> Vec<PartyData> {
    load(
        &["hospital_a.csv", "hospital_b.csv", "hospital_c.csv"],
        "malignant",
        Some("patient_id"),
        ModelKind::Logistic,
    )
}

/// The two diabetes parties.
pub fn diabetes() -> Vec<PartyData> {
    load(
        &["diabetes_a.csv", "diabetes_b.csv"],
        "progression",
        None,
        ModelKind::Linear,
    )
}

/// Loads files of the data folder, party `i` from `names[i]`.
pub fn load(names: &[&str], label: &str, id: Option<&str>, model: ModelKind) -> Vec<PartyData> {
    let spec = DataSpec {
        label: label.into(),
        id_column: id.map(Into::into),
        features: None,
        model,
    };
    names
        .iter()
        .enumerate()
        .map(|(p, n)| data::load_csv_file(p, &data_dir().join(n), &spec).unwrap())
        .collect()
}

/// Runs every party in memory with the dealer.
pub async fn run(parties: Vec<PartyData>, config: TrainConfig) -> mpc_ml::Result<LocalRun> {
    let options = LocalOptions {
        config,
        preprocessing: PreprocessingKind::Dealer,
        progress: None,
    };
    mpc_ml::run_local(parties, options, Transport::InMemory).await
}
