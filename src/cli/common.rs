//! Helpers shared by `mpc train --local` and `mpc demo`: the runtime, the progress bar (epochs, or the
//! Newton–Schulz iterations of the closed form), and running a local training with its comparison table and
//! output files.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use mpc_ml::report::{write_outputs, Comparison, RunInfo};
use mpc_ml::vertical::{run_vertical_local, VerticalData, VerticalLocalOptions, VerticalOptions};
use mpc_ml::{LocalOptions, LocalRun, PartyData, PreprocessingKind, TrainConfig, Transport};

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
    transport: Transport,
    files: Vec<String>,
    out: &Path,
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bar = progress_bar(config.epochs);
    let progress_bar = bar.clone();
    let options = LocalOptions {
        config: config.clone(),
        preprocessing,
        progress: Some(Arc::new(move |done, total| {
            progress_bar.set_length(total as u64);
            progress_bar.set_position(done as u64)
        })),
    };
    let run = runtime.block_on(mpc_ml::run_local(parties, options, transport));
    bar.finish_and_clear();
    finish(run?, &config, (preprocessing, transport), files, out)
}

/// Runs every party of a vertical run on this machine (rows matched by the private set intersection), prints
/// the table and writes the model (with each feature's owner) and the report into `out`.
pub fn train_vertically(
    parties: Vec<VerticalData>,
    options: VerticalOptions,
    preprocessing: PreprocessingKind,
    transport: Transport,
    files: Vec<String>,
    out: &Path,
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bar = progress_bar(options.config.epochs);
    let progress_bar = bar.clone();
    let config = options.config.clone();
    let local = VerticalLocalOptions {
        options,
        preprocessing,
        progress: Some(Arc::new(move |done, total| {
            progress_bar.set_length(total as u64);
            progress_bar.set_position(done as u64)
        })),
    };
    let run = runtime.block_on(run_vertical_local(parties, local, transport));
    bar.finish_and_clear();
    let run = run?;
    say!(
        "private set intersection on the id column: {} rows in common (set sizes {:?})",
        run.outputs[0].intersection.len(),
        run.outputs[0].intersection.set_sizes
    );
    finish(run.run, &config, (preprocessing, transport), files, out)
}

fn progress_bar(epochs: usize) -> indicatif::ProgressBar {
    if std::io::stdout().is_terminal() {
        let bar = indicatif::ProgressBar::new(epochs as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("training {bar:30} {pos}/{len} {elapsed}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}

/// Writes a local run's outputs; the report names the preprocessing and the transport the run used.
fn finish(
    run: LocalRun,
    config: &TrainConfig,
    (preprocessing, transport): (PreprocessingKind, Transport),
    files: Vec<String>,
    out: &Path,
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let config = config.clone();
    let comparison = Comparison::of(&run, &config)?;
    let info = RunInfo {
        files,
        preprocessing,
        transport: match transport {
            Transport::LoopbackQuic => "loopback QUIC (mutually authenticated TLS)".into(),
            _ => "in-memory".into(),
        },
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

/// The transport of a local run: loopback QUIC unless `--in-memory`.
pub fn transport(in_memory: bool) -> Transport {
    if in_memory {
        Transport::InMemory
    } else {
        Transport::LoopbackQuic
    }
}

/// How the transport is named in the output.
pub fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::LoopbackQuic => {
            "loopback QUIC with mutually authenticated TLS (a fresh key pair per party)"
        }
        _ => "the in-memory network",
    }
}
