//! The training figures of `mpc bench`: the peers' tasks (`../shared/peers/common.py`: breast cancer, diabetes,
//! 100,000 and 1,000,000 synthetic rows), timed as the peers time them: from secret-sharing the inputs to
//! revealing the model (`Timing::training_seconds`, the slowest party), with connections already open.
//! Preprocessing is inside that time (the dealer's items or the OT generation, fetched before each epoch);
//! the base OTs of the `ot` source run when it connects, before the clock, like the connections.
//!
//! Data and split as the peers have them: the bundled `breast_cancer.csv` and `diabetes.csv` tables, and
//! synthetic rows drawn by the peers' recipe (`x` standard normal in 20 columns, a standard-normal weight
//! vector, label `x w + 0.5 e > 0`; with our generator, ChaCha12 and Box-Muller, since numpy's `default_rng`
//! is not reproduced). Every table is split as sklearn's `train_test_split(test_size=0.2, random_state=0)`
//! splits it ([`super::peer_split`]); the training rows, in that order, are dealt to the parties in contiguous
//! parts, so the joint training matrix and its mini-batches are the peers' own, and the model is tested on the
//! peers' test rows.

use std::time::Instant;

use mpc_core::net::LinkEmulation;
use mpc_ml::{LocalOptions, ModelKind, PartyData, PreprocessingKind, TrainConfig, Transport};
use rand::{Rng, SeedableRng};

use super::bench::{median, transport_name, Figure};

/// One training task.
struct Task {
    name: &'static str,
    model: ModelKind,
    epochs: usize,
    batch_size: usize,
    /// Computing parties.
    parties: usize,
    /// Small enough that its `dealer` runs wait on messages more than they compute: they run on one worker
    /// thread.
    latency_bound: bool,
    /// Transports and sources to run it with.
    runs: &'static [(Where, PreprocessingKind)],
    /// Every row of the task's table, in file order.
    data: fn() -> Result<PartyData, mpc_ml::Error>,
}

#[derive(Clone, Copy)]
enum Where {
    Memory,
    Quic,
    /// In memory with this round-trip time in ms.
    Rtt(u64),
}

impl Where {
    fn transport(self) -> Transport {
        match self {
            Where::Memory => Transport::InMemory,
            Where::Quic => Transport::LoopbackQuic,
            Where::Rtt(ms) => Transport::Emulated(LinkEmulation {
                latency: std::time::Duration::from_micros(ms * 500),
                bandwidth: None,
            }),
        }
    }
}

use PreprocessingKind::{Dealer, Ot};

const TASKS: [Task; 4] = [
    Task {
        name: "train.breast_cancer",
        model: ModelKind::Logistic,
        epochs: 10,
        batch_size: 64,
        parties: 3,
        latency_bound: true,
        runs: &[
            (Where::Memory, Dealer),
            (Where::Quic, Dealer),
            (Where::Quic, Ot),
            (Where::Memory, Ot),
            (Where::Rtt(20), Dealer),
        ],
        data: breast_cancer,
    },
    Task {
        name: "train.diabetes",
        model: ModelKind::Linear,
        epochs: 10,
        batch_size: 64,
        parties: 3,
        latency_bound: true,
        runs: &[
            (Where::Memory, Dealer),
            (Where::Quic, Dealer),
            (Where::Quic, Ot),
        ],
        data: diabetes,
    },
    Task {
        name: "train.synthetic_100k",
        model: ModelKind::Logistic,
        epochs: 1,
        batch_size: 128,
        parties: 2,
        latency_bound: false,
        runs: &[(Where::Quic, Dealer), (Where::Quic, Ot)],
        data: synthetic_100k,
    },
    Task {
        name: "train.synthetic_1m",
        model: ModelKind::Logistic,
        epochs: 1,
        batch_size: 128,
        parties: 2,
        latency_bound: false,
        runs: &[(Where::Quic, Dealer)],
        data: synthetic_1m,
    },
];

fn breast_cancer() -> Result<PartyData, mpc_ml::Error> {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/breast_cancer.csv"
    ));
    let spec = spec("malignant", Some("patient_id"), ModelKind::Logistic);
    mpc_ml::data::load_csv_str(0, "breast_cancer.csv", text, &spec)
}

fn diabetes() -> Result<PartyData, mpc_ml::Error> {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/diabetes.csv"));
    let spec = spec("progression", None, ModelKind::Linear);
    mpc_ml::data::load_csv_str(0, "diabetes.csv", text, &spec)
}

fn synthetic_100k() -> Result<PartyData, mpc_ml::Error> {
    Ok(synthetic(100_000))
}

fn synthetic_1m() -> Result<PartyData, mpc_ml::Error> {
    Ok(synthetic(1_000_000))
}

fn spec(label: &str, id: Option<&str>, model: ModelKind) -> mpc_ml::DataSpec {
    mpc_ml::DataSpec {
        label: label.into(),
        id_column: id.map(Into::into),
        features: None,
        model,
    }
}

/// The peers' split of `all`: the training rows (in the split's order) dealt to `n` parties in contiguous
/// parts, and the test rows.
fn peer_split(all: &PartyData, n: usize) -> (Vec<PartyData>, PartyData) {
    let (train, test) = super::peer_split::train_test(all.len());
    let train = all.select(&train);
    let len = train.len();
    let parties = (0..n)
        .map(|i| {
            let idx: Vec<usize> = (i * len / n..(i + 1) * len / n).collect();
            let mut part = train.select(&idx);
            part.party = i;
            part
        })
        .collect();
    (parties, all.select(&test))
}

/// The peers' synthetic task: `rows` rows of 20 standard-normal columns, labels from a random hyperplane with
/// noise.
fn synthetic(rows: usize) -> PartyData {
    let d = 20;
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(0);
    let mut normal = move || {
        // Box-Muller.
        let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let w: Vec<f64> = (0..d).map(|_| normal()).collect();
    let features: Vec<String> = (0..d).map(|j| format!("x{j}")).collect();
    let mut all = PartyData {
        party: 0,
        path: "synthetic".into(),
        features,
        label: "y".into(),
        rows: Vec::with_capacity(rows),
        labels: Vec::with_capacity(rows),
        lines: Vec::with_capacity(rows),
    };
    for i in 0..rows {
        let x: Vec<f64> = (0..d).map(|_| normal()).collect();
        let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + 0.5 * normal();
        all.rows.push(x);
        all.labels.push(if z > 0.0 { 1.0 } else { 0.0 });
        all.lines.push(i as u64 + 2);
    }
    all
}

/// Peak resident memory of this process since the last reset, and a reset (Linux; `None` elsewhere).
fn peak_rss(reset: bool) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    if reset {
        // Writing 5 to clear_refs resets the peak (Linux 4.0 and later).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
    Some(kb * 1024)
}

/// What one timed run gives.
struct Measured {
    seconds: f64,
    rounds_per_step: f64,
    steps: usize,
    rounds_total: u64,
    solver: mpc_ml::Solver,
    bytes: u64,
    quality: f64,
}

async fn train_once(
    parties: Vec<PartyData>,
    test: PartyData,
    config: TrainConfig,
    prep: PreprocessingKind,
    via: Where,
) -> Result<Measured, mpc_ml::Error> {
    let options = LocalOptions {
        config,
        preprocessing: prep,
        progress: None,
    };
    let linear = options.config.model == ModelKind::Linear;
    let run = mpc_ml::run_local_split(parties, vec![test], options, via.transport()).await?;
    let slowest = |f: fn(&mpc_ml::Timing) -> f64| {
        run.parties
            .iter()
            .map(|p| f(&p.output.timing))
            .fold(0.0, f64::max)
    };
    let model = run.receiver().and_then(|o| o.model.clone());
    let (rows, labels) = mpc_ml::split::pool(&run.test);
    let quality = model.map_or(f64::NAN, |m| {
        let metrics = mpc_ml::metrics::evaluate(&m, &rows, &labels);
        if linear {
            metrics.r2.unwrap_or(f64::NAN)
        } else {
            metrics.accuracy.unwrap_or(f64::NAN)
        }
    });
    Ok(Measured {
        seconds: slowest(|t| t.training_seconds),
        rounds_per_step: slowest(|t| t.rounds_per_step),
        steps: run
            .parties
            .iter()
            .map(|p| p.output.timing.steps)
            .max()
            .unwrap_or(0),
        rounds_total: run
            .parties
            .iter()
            .map(|p| p.output.timing.total_rounds)
            .max()
            .unwrap_or(0),
        solver: run
            .parties
            .first()
            .map_or(mpc_ml::Solver::Auto, |p| p.output.solver),
        bytes: run
            .parties
            .iter()
            .map(|p| p.stats.bytes_sent())
            .max()
            .unwrap_or(0),
        quality,
    })
}

/// Plaintext f64 training of the same rows with the same recipe, in seconds (the baseline).
fn plaintext_seconds(train: &[PartyData], config: &TrainConfig) -> f64 {
    let start = Instant::now();
    std::hint::black_box(mpc_ml::plain::train_plain(
        train,
        config,
        mpc_ml::plain::Link::Exact,
    ));
    start.elapsed().as_secs_f64()
}

/// Appends every wanted training figure to `out`.
pub(super) fn figures(
    rt: &tokio::runtime::Runtime,
    runs: usize,
    solver: mpc_ml::Solver,
    wanted: &dyn Fn(&str) -> bool,
    out: &mut Vec<Figure>,
) -> Result<(), mpc_ml::Error> {
    // The small tasks' runs with the dealer are bound by message latency: all parties' tasks on one worker
    // thread avoid the cross-thread wake-ups of every message (3-4x faster for diabetes over loopback QUIC).
    // Runs with `ot`, and the large tasks, are bound by computation and keep both cores.
    let one_thread = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| mpc_ml::Error::Option {
            field: "runtime".into(),
            reason: e.to_string(),
        })?;
    let transport_of = |via: Where| match via {
        Where::Rtt(20) => "memory+rtt20ms",
        Where::Rtt(_) => "memory+rtt",
        _ => transport_name(via.transport()),
    };
    // A filter may name one run: `name/transport/preprocessing`.
    let run_wanted = |task: &Task, via: Where, prep: PreprocessingKind| {
        wanted(task.name)
            || wanted(&format!(
                "{}/{}/{}",
                task.name,
                transport_of(via),
                prep.name()
            ))
    };
    for task in &TASKS {
        if !task
            .runs
            .iter()
            .any(|&(via, prep)| run_wanted(task, via, prep))
        {
            continue;
        }
        let all = (task.data)()?;
        let (parties, test) = peer_split(&all, task.parties);
        drop(all);
        let config = TrainConfig {
            model: task.model,
            epochs: task.epochs,
            batch_size: task.batch_size,
            solver,
            ..TrainConfig::default()
        };
        // With `auto` the plaintext baseline is the solver a dealer run resolves to.
        let baseline = plaintext_seconds(&parties, &config);
        let repeat = if parties.iter().map(PartyData::len).sum::<usize>() > 200_000 {
            1
        } else {
            runs.clamp(1, 3)
        };
        for &(via, prep) in task.runs {
            if !run_wanted(task, via, prep) {
                continue;
            }
            let mut times = Vec::new();
            let mut last = None;
            peak_rss(true);
            for _ in 0..repeat {
                let rt = if prep == Dealer && task.latency_bound {
                    &one_thread
                } else {
                    rt
                };
                let m = rt.block_on(train_once(
                    parties.clone(),
                    test.clone(),
                    config.clone(),
                    prep,
                    via,
                ))?;
                times.push(m.seconds);
                last = Some(m);
            }
            let Some(m) = last else { continue };
            let transport = transport_of(via);
            out.push(Figure {
                name: task.name.to_string(),
                value: median(times),
                unit: "s",
                baseline,
                parties: parties.len(),
                transport,
                preprocessing: prep.name(),
                rounds: None,
                bytes_per_party: Some(m.bytes),
                rounds_per_step: Some(m.rounds_per_step),
                bytes_per_step: Some(m.bytes as f64 / m.steps.max(1) as f64),
                rounds_total: Some(m.rounds_total),
                solver: Some(m.solver.name()),
                peak_rss_bytes: peak_rss(false),
                quality: Some(m.quality),
            });
        }
    }
    Ok(())
}
