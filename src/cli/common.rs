//! Helpers shared by `mpc train --local` and `mpc demo`: the runtime, the epoch progress bar, and running a
//! local training with its comparison table and output files.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use mpc_ml::report::{write_outputs, Comparison, RunInfo};
use mpc_ml::{LocalOptions, PartyData, PreprocessingKind, TrainConfig, Transport};

/// Prints a line to stdout, ignoring a closed pipe (`mpc demo | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

/// A local run's comparison and the files written.
pub struct Outcome {
    /// Secure against plaintext.
    pub comparison: Comparison,
}

/// Runs every party on this machine, prints the table and writes the model and the report into `out`.
pub fn train_locally(
    parties: Vec<PartyData>,
    config: TrainConfig,
    preprocessing: PreprocessingKind,
    files: Vec<String>,
    out: &Path,
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bar = if std::io::stdout().is_terminal() {
        let bar = indicatif::ProgressBar::new(config.epochs as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("training {bar:30} epoch {pos}/{len} {elapsed}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let progress_bar = bar.clone();
    let options = LocalOptions {
        config: config.clone(),
        preprocessing,
        progress: Some(Arc::new(move |done, _| {
            progress_bar.set_position(done as u64)
        })),
    };
    let run = runtime.block_on(mpc_ml::run_local(parties, options, Transport::InMemory));
    bar.finish_and_clear();
    let run = run?;
    let comparison = Comparison::of(&run, &config)?;
    let info = RunInfo {
        files,
        preprocessing,
        transport: "in-memory".into(),
    };
    let paths = write_outputs(out, &comparison, &run, &config, &info)?;
    say!("{}", comparison.table());
    say!(
        "{} parties, {} training steps; model to parties {:?}",
        run.parties.len(),
        run.parties[0].output.timing.steps,
        config.receivers
    );
    for p in paths {
        say!("wrote {}", p.display());
    }
    Ok(Outcome { comparison })
}
