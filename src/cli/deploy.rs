//! `mpc train --config party.toml`: one party (or the dealer) of a real deployment over the QUIC mesh.
//!
//! The network part of the file (session id, this party's id, key, certificate, listen address, roster) is
//! read and checked by mpc-net; the `[train]` table by mpc-ml, before any connection is made. The dealer's
//! own config has the same network part, its roster entry has `role = "dealer"`, and it needs no `[train]`.
//! With `partitioning = "horizontal"` (the default) a party trains with mpc-ml's `run_party`; with
//! `partitioning = "vertical"` it matches its rows with the others' by the private set intersection on
//! `id_column` and trains on the joined columns (`run_vertical_party`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use mpc_core::Context;
use mpc_ml::party::run_party;
use mpc_ml::party_config::load_train_section;
use mpc_ml::vertical_party::run_vertical_party;
use mpc_ml::Partitioning;
use mpc_net::{Mesh, MeshOptions, PartyConfig};

use super::common::say;
use super::CliResult;
use std::io::Write;

/// Runs this party of the deployment described by `path`.
pub fn run(path: &Path) -> CliResult {
    let net = PartyConfig::load(path)?;
    let roster = &net.roster;
    let parties = roster.computing_parties();
    let is_dealer = roster.dealer() == Some(net.party_id);
    // Check the training table before any connection, so a mistake stops this party at once.
    let section = if is_dealer {
        None
    } else {
        Some(load_train_section(path)?)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mesh = Mesh::connect(&net, MeshOptions::default()).await?;
        let mut ctx = Context::new(Arc::new(mesh.clone()), parties)?;
        let Some(section) = section else {
            let served = mpc_core::preprocessing::dealer::serve(ctx).await;
            mesh.close().await;
            served?;
            say!("dealer: served the session to its end");
            return Ok(ExitCode::SUCCESS);
        };
        if section.partitioning == Partitioning::Vertical {
            let result = run_vertical_party(&mut ctx, &section).await;
            mesh.close().await;
            let result = result?;
            let me = net.party_id;
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
            return Ok(ExitCode::SUCCESS);
        }
        let result = run_party(&mut ctx, &section).await;
        mesh.close().await;
        let result = result?;
        let me = net.party_id;
        let stats = ctx.stats();
        say!(
            "party {me}: trained in {:.3} s, {} rounds, {} bytes sent",
            result.output.timing.training_seconds,
            stats.rounds,
            stats.bytes_sent()
        );
        match (&result.output.model, &result.own_test) {
            (Some(_), Some(m)) => say!(
                "party {me}: received the model; on this party's own test rows: accuracy {:?}, R^2 {:?}",
                m.accuracy,
                m.r2
            ),
            (Some(_), None) => say!("party {me}: received the model"),
            (None, _) => say!("party {me}: not a receiver of the model"),
        }
        for f in &result.files {
            say!("wrote {}", f.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}
