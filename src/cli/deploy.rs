//! `mpc train --config party.toml`: one party (or the dealer) of a real deployment over the QUIC mesh.
//!
//! Every local check runs before the first connection, so that a mistake stops this party at once instead of
//! after the others have connected (or, worse, after training): the network part of the file (session id,
//! this party's id, key, certificate, listen address, roster) is read and checked by mpc-net; the `[train]`
//! table by mpc-ml, against the roster (the receivers are parties of the session, `dealer` preprocessing has a
//! dealer entry); the data file is read and checked (columns, cells, rows); and the output folder is created
//! and written to once. A party that fails one of these says so at once, then connects for a few seconds to
//! tell the peers that answer (only an [`AbortCategory`]), so they stop too. The dealer's own config has the same network part, its roster entry has
//! `role = "dealer"`, and it needs no `[train]`.
//!
//! With `partitioning = "horizontal"` (the default) a party trains with mpc-ml's `run_party_on`; with
//! `partitioning = "vertical"` it matches its rows with the others' by the private set intersection on
//! `id_column` and trains on the joined columns (`run_vertical_party_on`).
//!
//! The exit status says whether the session succeeded, the dealer's included: the dealer fails when a party
//! it served was lost or aborted. SIGTERM and Ctrl-C abort the session (the peers are told
//! [`AbortCategory::Interrupted`] and stop at once) and exit 1.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use mpc_core::{AbortCategory, Context, Network};
use mpc_ml::data::PartyData;
use mpc_ml::party::{load_party_data, run_party_on};
use mpc_ml::party_config::{load_train_section_for, Session, TrainSection};
use mpc_ml::report::check_output_dir;
use mpc_ml::vertical::VerticalData;
use mpc_ml::vertical_party::{load_vertical_party_data, run_vertical_party_on};
use mpc_ml::Partitioning;
use mpc_net::{Mesh, MeshOptions, PartyConfig};

use super::common::say;
use super::CliResult;
use std::io::Write;

/// What this process does once connected, with everything it read before connecting.
enum Work {
    Dealer,
    Horizontal(TrainSection, PartyData),
    Vertical(TrainSection, VerticalData),
}

/// Runs this party of the deployment described by `path`.
pub fn run(path: &Path) -> CliResult {
    let net = PartyConfig::load(path)?;
    let me = net.party_id;
    let work = prepare(path, &net);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut stop = StopSignal::install()?;
        let work = match work {
            Ok(w) => w,
            Err((e, category)) => {
                // Said at once; then the peers that answer are told, so they stop too.
                eprintln!("error: {e}");
                tokio::select! {
                    _ = tell_peers(net, category) => {}
                    sig = stop.recv() => eprintln!("party {me}: stopped by {sig}"),
                }
                return Ok(ExitCode::FAILURE);
            }
        };
        let mesh = tokio::select! {
            m = Mesh::connect(&net, MeshOptions::default()) => m?,
            sig = stop.recv() => return Err(format!("party {me}: stopped by {sig} while connecting").into()),
        };
        let parties = net.roster.computing_parties();
        let ctx = Context::new(Arc::new(mesh.clone()), parties)?;
        let result = tokio::select! {
            r = session(ctx, &mesh, work) => r,
            sig = stop.recv() => {
                mesh.abort(&AbortCategory::Interrupted.peer_reason(me)).await;
                Err(format!("party {me}: stopped by {sig}; told the other parties").into())
            }
        };
        mesh.close().await;
        result
    })
}

/// Every local check, before any connection: the `[train]` table against the roster, the data file, the
/// output folder. An error comes with the category the peers are told.
fn prepare(path: &Path, net: &PartyConfig) -> Result<Work, (mpc_ml::Error, AbortCategory)> {
    let roster = &net.roster;
    if roster.dealer() == Some(net.party_id) {
        return Ok(Work::Dealer);
    }
    let session = Session {
        parties: roster.computing_parties(),
        dealer: roster.dealer().is_some(),
    };
    let with_category = |e: mpc_ml::Error| {
        let c = e.abort_category();
        (e, c)
    };
    let section = load_train_section_for(path, session).map_err(with_category)?;
    check_output_dir(&section.out).map_err(with_category)?;
    Ok(match section.partitioning {
        Partitioning::Horizontal => {
            let data = load_party_data(net.party_id, &section).map_err(with_category)?;
            Work::Horizontal(section, data)
        }
        Partitioning::Vertical => {
            let data = load_vertical_party_data(net.party_id, &section).map_err(with_category)?;
            Work::Vertical(section, data)
        }
    })
}

/// Longest a party that failed its local checks tries to reach its peers to tell them.
const TELL_PEERS_FOR: Duration = Duration::from_secs(10);

/// After a local failure: connects for at most [`TELL_PEERS_FOR`] (or the configured connect timeout if
/// shorter) and aborts the session with `category` only, so that the peers already up stop at once instead
/// of at their connect deadline. Nothing of the local error crosses.
async fn tell_peers(mut net: PartyConfig, category: AbortCategory) {
    let me = net.party_id;
    let limit = net
        .network
        .connect_timeout
        .map_or(TELL_PEERS_FOR, |t| t.min(TELL_PEERS_FOR));
    net.network.connect_timeout = Some(limit);
    match Mesh::connect(&net, MeshOptions::default()).await {
        Ok(mesh) => {
            mesh.abort(&category.peer_reason(me)).await;
            mesh.close().await;
            eprintln!("party {me}: told the other parties that this party stopped ({category})");
        }
        Err(_) => eprintln!(
            "party {me}: could not tell every other party within {:.0} s that this party stopped",
            limit.as_secs_f64()
        ),
    }
}

/// The session itself, once connected.
async fn session(mut ctx: Context, mesh: &Mesh, work: Work) -> CliResult {
    let me = ctx.id();
    match work {
        Work::Dealer => {
            mpc_core::preprocessing::dealer::serve(ctx).await?;
            // The dealer's loop ends when the party it serves goes: gracefully, or lost.
            if let Some(e) = mesh.peer_failure() {
                return Err(format!("dealer: the session failed: {e}").into());
            }
            say!("dealer: served the session to its end");
        }
        Work::Vertical(section, data) => {
            let result = run_vertical_party_on(&mut ctx, &section, data).await?;
            let stats = ctx.stats();
            let psi = &result.output.intersection;
            say!(
                "party {me}: private set intersection on `{}`: {} rows in common (id counts {:?})",
                section.spec.id_column.as_deref().unwrap_or(""),
                psi.len(),
                psi.set_sizes
            );
            let train = &result.output.output;
            say!(
                "party {me}: trained in {:.3} s, {} rounds, {} bytes sent",
                train.timing.training_seconds,
                stats.rounds,
                stats.bytes_sent()
            );
            if train.model.is_some() {
                say!("party {me}: received the model");
            } else {
                say!("party {me}: not a receiver of the model");
            }
            for f in &result.files {
                say!("wrote {}", f.display());
            }
        }
        Work::Horizontal(section, data) => {
            let result = run_party_on(&mut ctx, &section, data).await?;
            let stats = ctx.stats();
            say!(
                "party {me}: trained in {:.3} s, {} rounds, {} bytes sent",
                result.output.timing.training_seconds,
                stats.rounds,
                stats.bytes_sent()
            );
            match (&result.output.model, &result.own_test) {
                (Some(_), Some(m)) => {
                    say!("party {me}: received the model; on this party's own test rows: {m}")
                }
                (Some(_), None) => say!("party {me}: received the model"),
                (None, _) => say!("party {me}: not a receiver of the model"),
            }
            for f in &result.files {
                say!("wrote {}", f.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM and Ctrl-C (SIGINT), caught once the runtime runs so that the peers can be told.
struct StopSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn install() -> std::io::Result<StopSignal> {
        Ok(StopSignal {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
        })
    }

    /// Waits for either signal; returns its name.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => "Ctrl-C (SIGINT)",
                _ = self.term.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
