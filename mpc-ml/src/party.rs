//! One party of a real deployment, from its `[train]` table: load and split its CSV file, connect to the
//! preprocessing, train with the other parties over the given context (for example mpc-net's QUIC mesh), and
//! write what it received: `model.json` and `loss.svg` if it is a receiver, and its own `report.md`.
//!
//! The context's network must include a dealer endpoint (id `n`) for `dealer` preprocessing.

use std::path::PathBuf;

use mpc_core::{Context, PartyId};

use crate::data::{load_csv_file, PartyData};
use crate::error::Result;
use crate::metrics::{self, Metrics};
use crate::party_config::TrainSection;
use crate::report::{loss_svg, revealed_section, security_line, OutputDir};
use crate::secure::{train_party, TrainOutput, FORMAT};
use crate::split::split_party;

/// What one party of a deployment gets.
#[derive(Clone, Debug)]
pub struct PartyResult {
    /// The training output.
    pub output: TrainOutput,
    /// The model's metrics on this party's own test rows (receivers only).
    pub own_test: Option<Metrics>,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Reads and checks this party's CSV file (the `[train]` table's `data`): the first thing a deployment's
/// party does, before it connects, so that a bad file stops it at once.
pub fn load_party_data(me: PartyId, section: &TrainSection) -> Result<PartyData> {
    load_csv_file(me, &section.data, &section.spec)
}

/// Runs this party (`ctx.id()`) of a deployment. A local failure (a bad file, a column that is not a
/// number) aborts the session (telling the others only its [`crate::Error::abort_category`]), so they stop too.
pub async fn run_party(ctx: &mut Context, section: &TrainSection) -> Result<PartyResult> {
    let data = match load_party_data(ctx.id(), section) {
        Ok(d) => d,
        Err(e) => {
            ctx.abort(e.abort_category()).await;
            return Err(e);
        }
    };
    run_party_on(ctx, section, data).await
}

/// [`run_party`] on rows already read with [`load_party_data`].
pub async fn run_party_on(
    ctx: &mut Context,
    section: &TrainSection,
    data: PartyData,
) -> Result<PartyResult> {
    let (train, test) = split_party(&data);
    let mut source = crate::source::connect(ctx, section.preprocessing).await?;
    let output = train_party(ctx, source.as_mut(), &train, &section.config).await?;
    let own_test = output
        .model
        .as_ref()
        .map(|m| metrics::evaluate(m, &test.rows, &test.labels));
    let files = write_party_outputs(ctx.parties(), section, &output, own_test.as_ref())?;
    Ok(PartyResult {
        output,
        own_test,
        files,
    })
}

/// Writes `model.json` (receivers only), `report.md` and, for receivers, `loss.svg` into the output folder.
fn write_party_outputs(
    parties: usize,
    section: &TrainSection,
    output: &TrainOutput,
    own_test: Option<&Metrics>,
) -> Result<Vec<PathBuf>> {
    let mut dir = OutputDir::create(&section.out)?;
    let me = output.party;
    let config = &crate::config::TrainConfig {
        solver: output.solver,
        ..section.config.clone()
    };
    let mut md = format!(
        "# Secure training report, party {me}\n\n{} regression with {parties} parties, {}, {} preprocessing; ring Z128, {} fractional bits.\n\nTraining rows per party: {:?}. Training took {:.3} s (input sharing to model opening), {} {} of {:.1} rounds; this party sent {} bytes.\n\n",
        config.model.name(),
        config.describe(),
        section.preprocessing.name(),
        FORMAT.frac_bits,
        output.rows_per_party,
        output.timing.training_seconds,
        output.timing.steps,
        match config.solver {
            crate::config::Solver::GradientDescent | crate::config::Solver::Auto => "steps",
            crate::config::Solver::ClosedForm => "Newton–Schulz iterations",
            crate::config::Solver::Newton => "Newton iterations",
        },
        output.timing.rounds_per_step,
        output.timing.bytes_sent,
    );
    if let Some(model) = &output.model {
        let file = serde_json::json!({
            "model": model.model,
            "features": model.features,
            "weights": model.weights,
            "intercept": model.intercept,
            "party": me,
            "parties": parties,
            "rows_per_party": output.rows_per_party,
            "config": config,
            "preprocessing": section.preprocessing,
            "ring": "Z128",
            "frac_bits": FORMAT.frac_bits,
            "bound_bits": FORMAT.bound_bits,
            "revealed": output.revealed,
            "own_loss_per_epoch": output.own_loss_per_epoch,
            "own_test_metrics": own_test,
        });
        dir.write_json("model.json", &file)?;
        dir.write(
            "loss.svg",
            loss_svg(&[(
                "training loss, own rows",
                &output.own_loss_per_epoch,
                "#d62728",
            )]),
        )?;
        md.push_str("## Metrics on this party's own test rows\n\n");
        match own_test {
            Some(m) => md.push_str(&format!("{m}\n\n")),
            None => md.push_str("This party has no test rows.\n\n"),
        }
        md.push_str("## Training loss (this party's own training rows)\n\n![loss](loss.svg)\n\n");
        let per_epoch = output.own_loss_per_epoch.len() > 1;
        for (i, l) in output.own_loss_per_epoch.iter().enumerate() {
            if per_epoch {
                md.push_str(&format!("- epoch {}: {l:.5}\n", i + 1));
            } else {
                md.push_str(&format!("- final model: {l:.5}\n"));
            }
        }
        md.push_str("\nThe loss uses the models opened to the receivers (listed below), evaluated on this party's rows only.");
        if !per_epoch && config.solver == crate::config::Solver::GradientDescent {
            md.push_str(" Only the final model was opened; a per-epoch curve needs `epoch_models = true` in every party's `[train]` table, which opens the model after every epoch to the receivers.");
        }
        md.push_str("\n\n");
    } else {
        md.push_str("This party is not a receiver: it learned no model.\n\n");
    }
    let shape = crate::bounds::RunShape {
        rows: output.rows_per_party.iter().sum(),
        features: output.scaling.mean.len(),
        parties,
    };
    md.push_str(&security_line(&shape, config, section.preprocessing, true));
    md.push_str(&revealed_section(
        &output.revealed,
        section.preprocessing,
        true,
    ));
    dir.write("report.md", md)?;
    Ok(dir.into_files())
}
