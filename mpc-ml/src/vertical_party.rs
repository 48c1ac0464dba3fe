//! One party of a real vertical deployment, from its `[train]` table with `partitioning = "vertical"`: read
//! its columns and its id column, connect to the preprocessing, match the rows with the other parties by the
//! private set intersection and train on the joined columns ([`train_vertical_party`]) over the given context
//! (for example mpc-net's QUIC mesh), and write what it received: `model.json` if it is a receiver, and its
//! own `report.md`.
//!
//! No party holds the joined test rows (each holds its own columns of them), so no party evaluates the model
//! here; a receiver knows which of its rows are the test rows (the split is public, see
//! [`crate::vertical::split_joint`]). The context's network must include a dealer endpoint (id `n`) for
//! `dealer` preprocessing.

use std::path::PathBuf;

use mpc_core::{Context, PartyId};

use crate::error::{Error, Result};
use crate::party_config::TrainSection;
use crate::psi::PsiOptions;
use crate::report::{revealed_section, security_line, OutputDir};
use crate::secure::FORMAT;
use crate::vertical::{
    load_vertical_csv, train_vertical_party, VerticalData, VerticalOptions, VerticalOutput,
    VerticalSpec,
};

/// What one party of a vertical deployment gets.
#[derive(Clone, Debug)]
pub struct VerticalPartyResult {
    /// The training output and the intersection.
    pub output: VerticalOutput,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Reads and checks this party's columns and ids (the `[train]` table's `data`), before it connects.
pub fn load_vertical_party_data(me: PartyId, section: &TrainSection) -> Result<VerticalData> {
    spec_of(section).and_then(|spec| load_vertical_csv(me, &section.data, &spec))
}

/// Runs this party (`ctx.id()`) of a vertical deployment. A local failure (a bad file, a repeated or empty id)
/// aborts the session (telling the others only its [`Error::abort_category`]), so they and the dealer stop
/// too.
pub async fn run_vertical_party(
    ctx: &mut Context,
    section: &TrainSection,
) -> Result<VerticalPartyResult> {
    let data = match load_vertical_party_data(ctx.id(), section) {
        Ok(d) => d,
        Err(e) => {
            ctx.abort(e.abort_category()).await;
            return Err(e);
        }
    };
    run_vertical_party_on(ctx, section, data).await
}

/// [`run_vertical_party`] on the columns already read with [`load_vertical_party_data`].
pub async fn run_vertical_party_on(
    ctx: &mut Context,
    section: &TrainSection,
    data: VerticalData,
) -> Result<VerticalPartyResult> {
    let options = VerticalOptions {
        config: section.config.clone(),
        psi: PsiOptions {
            min_intersection: section.min_intersection,
            ..PsiOptions::default()
        },
    };
    let mut source = crate::source::connect(ctx, section.preprocessing).await?;
    let output = train_vertical_party(ctx, source.as_mut(), &data, &options, &|_, _| {}).await?;
    let files = write_outputs(ctx.parties(), section, &output)?;
    Ok(VerticalPartyResult { output, files })
}

fn spec_of(section: &TrainSection) -> Result<VerticalSpec> {
    let id_column = section
        .spec
        .id_column
        .clone()
        .ok_or_else(|| Error::Option {
            field: "train.id_column".into(),
            reason: "vertical partitioning needs the column the rows are matched on".into(),
        })?;
    Ok(VerticalSpec {
        id_column,
        label: section.spec.label.clone(),
        features: section.spec.features.clone(),
        model: section.spec.model,
    })
}

/// Writes `model.json` (receivers only) and `report.md` into the output folder.
fn write_outputs(
    parties: usize,
    section: &TrainSection,
    out: &VerticalOutput,
) -> Result<Vec<PathBuf>> {
    let mut dir = OutputDir::create(&section.out)?;
    let train = &out.output;
    let me = train.party;
    let psi = &out.intersection;
    let mut md = format!(
        "# Secure vertical training report, party {me}\n\n{} regression with {parties} parties holding other columns about the same people, rows matched by a private set intersection (ECDH on Ristretto) on `{}`; {} epochs, batch {}, learning rate {}, L2 {}, {} preprocessing; ring Z128, {} fractional bits.\n\nId counts per party: {:?}; intersection: {} rows, {} for training and {} for testing (the same split at every party). Training took {:.3} s (input sharing to model opening), {} steps of {:.1} rounds; this party sent {} bytes during training.\n\n",
        section.config.model.name(),
        section.spec.id_column.as_deref().unwrap_or(""),
        section.config.epochs,
        section.config.batch_size,
        section.config.learning_rate,
        section.config.l2,
        section.preprocessing.name(),
        FORMAT.frac_bits,
        psi.set_sizes,
        psi.len(),
        out.train_positions.len(),
        out.test_positions.len(),
        train.timing.training_seconds,
        train.timing.steps,
        train.timing.rounds_per_step,
        train.timing.bytes_sent,
    );
    md.push_str("## Features and the parties that hold them\n\n");
    for o in &train.feature_owners {
        md.push_str(&format!("- `{}`: party {}\n", o.feature, o.party));
    }
    md.push('\n');
    if let Some(model) = &train.model {
        let file = serde_json::json!({
            "model": model.model,
            "features": model.features,
            "feature_owners": train.feature_owners,
            "weights": model.weights,
            "intercept": model.intercept,
            "party": me,
            "parties": parties,
            "partitioning": "vertical",
            "id_column": section.spec.id_column,
            "set_sizes": psi.set_sizes,
            "intersection": psi.len(),
            "training_rows": out.train_positions.len(),
            "test_rows": out.test_positions.len(),
            "config": section.config,
            "preprocessing": section.preprocessing,
            "ring": "Z128",
            "frac_bits": FORMAT.frac_bits,
            "bound_bits": FORMAT.bound_bits,
            "revealed": train.revealed,
        });
        dir.write_json("model.json", &file)?;
        md.push_str("This party received the model (`model.json`, weights on raw values). It holds only its own columns of the test rows, so it cannot evaluate the model alone.\n\n");
    } else {
        md.push_str("This party is not a receiver: it learned no model.\n\n");
    }
    let shape = crate::bounds::RunShape {
        rows: out.train_positions.len(),
        features: train.feature_owners.len(),
        parties,
    };
    md.push_str(&security_line(
        &shape,
        &crate::config::TrainConfig {
            solver: train.solver,
            ..section.config.clone()
        },
        section.preprocessing,
        false,
    ));
    md.push_str(&revealed_section(
        &train.revealed,
        section.preprocessing,
        false,
    ));
    dir.write("report.md", md)?;
    Ok(dir.into_files())
}
