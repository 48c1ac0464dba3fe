//! One party of a real deployment, from its `[train]` table: load and split its CSV file, connect to the
//! preprocessing, train with the other parties over the given context (for example mpc-net's QUIC mesh), and
//! write what it received (the model file, if it is a receiver, and its own report).
//!
//! The context's network must include a dealer endpoint (id `n`) for `dealer` preprocessing.

use std::path::PathBuf;

use mpc_core::preprocessing::DealerSource;
use mpc_core::Context;

use crate::config::PreprocessingKind;
use crate::data::load_csv_file;
use crate::error::{Error, Result};
use crate::metrics::{self, Metrics};
use crate::party_config::TrainSection;
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

/// Runs this party (`ctx.id()`) of a deployment. A local failure (a bad file, `ot` preprocessing in this
/// build) aborts the session with the reason, so the other parties stop too.
pub async fn run_party(ctx: &mut Context, section: &TrainSection) -> Result<PartyResult> {
    let me = ctx.id();
    let prepared = (|| {
        if section.preprocessing == PreprocessingKind::Ot {
            return Err(Error::Unsupported(
                "ot preprocessing is not available in this build".into(),
            ));
        }
        load_csv_file(me, &section.data, &section.spec)
    })();
    let data = match prepared {
        Ok(d) => d,
        Err(e) => {
            ctx.abort(&e.to_string()).await;
            return Err(e);
        }
    };
    let (train, test) = split_party(&data);
    let mut source = DealerSource::connect(ctx).await.map_err(Error::mpc(me))?;
    let output = train_party(ctx, &mut source, &train, &section.config).await?;
    let own_test = output
        .model
        .as_ref()
        .map(|m| metrics::evaluate(m, &test.rows, &test.labels));
    let mut files = Vec::new();
    if let Some(model) = &output.model {
        let out_err = |p: &std::path::Path, e: &dyn std::fmt::Display| Error::Output {
            path: p.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(&section.out).map_err(|e| out_err(&section.out, &e))?;
        let file = serde_json::json!({
            "model": model.model,
            "features": model.features,
            "weights": model.weights,
            "intercept": model.intercept,
            "party": me,
            "parties": ctx.parties(),
            "rows_per_party": output.rows_per_party,
            "config": section.config,
            "preprocessing": section.preprocessing,
            "ring": "Z128",
            "frac_bits": FORMAT.frac_bits,
            "revealed": output.revealed,
            "own_loss_per_epoch": output.own_loss_per_epoch,
            "own_test_metrics": own_test,
        });
        let p = section.out.join("model.json");
        let text = serde_json::to_string_pretty(&file).map_err(|e| out_err(&p, &e))?;
        std::fs::write(&p, text).map_err(|e| out_err(&p, &e))?;
        files.push(p);
    }
    Ok(PartyResult {
        output,
        own_test,
        files,
    })
}
