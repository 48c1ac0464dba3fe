//! Every party of a session on this machine over real loopback QUIC: in one process
//! ([`loopback_mesh`], [`loopback_session`]) for tests, the demo and benchmarks, or as configuration files
//! with fresh keys ([`write_local_configs`]) for one process per party.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::future::Future;
use std::sync::Arc;

use mpc_core::simulate::PartyOutput;
use mpc_core::{Context, Network};

use crate::config::{PartyEntry, Role, Roster};
use crate::error::{NetError, Result};
use crate::identity::{self, Identity};
use crate::mesh::Mesh;
use crate::transport::{bind_udp, MeshOptions};

/// Options that suit loopback: first datagrams of 4 KiB (the loopback MTU is far larger).
pub fn loopback_options() -> MeshOptions {
    MeshOptions {
        initial_mtu: 4096,
        ..MeshOptions::default()
    }
}

/// `n` computing parties on 127.0.0.1 with fresh keys, connected; element `i` is party `i`.
pub async fn loopback_mesh(n: usize, opts: MeshOptions) -> Result<Vec<Mesh>> {
    loopback_session(n, false, opts).await
}

/// `parties` computing parties, plus a dealer endpoint (the last element, id `parties`) if `dealer`.
pub async fn loopback_session(
    parties: usize,
    dealer: bool,
    opts: MeshOptions,
) -> Result<Vec<Mesh>> {
    let parts = LoopbackParts::new(parties, dealer, opts.socket_buffer)?;
    let n = parts.identities.len();
    let mut tasks = Vec::with_capacity(n);
    for (id, (identity, socket)) in parts.identities.into_iter().zip(parts.sockets).enumerate() {
        let roster = parts.roster.clone();
        let opts = opts.clone();
        tasks.push(tokio::spawn(async move {
            Mesh::connect_with(identity, &roster, "loopback", id, socket, opts).await
        }));
    }
    let mut meshes = Vec::with_capacity(n);
    for t in tasks {
        meshes.push(
            t.await
                .map_err(|e| NetError::InvalidArgument(format!("a set-up task failed: {e}")))??,
        );
    }
    Ok(meshes)
}

/// Like mpc-core's `simulate_with`, over real loopback QUIC: runs `f` for each of `parties` computing
/// parties (and mpc-core's dealer on an extra endpoint if `dealer`), closes every mesh, and returns each
/// party's result with its traffic counters. Pass the outputs to `mpc_core::simulate::collect` for the
/// results or the root-cause error.
pub async fn run_session<T, F, Fut>(
    parties: usize,
    dealer: bool,
    opts: MeshOptions,
    f: F,
) -> Result<Vec<PartyOutput<T>>>
where
    T: Send + 'static,
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = mpc_core::Result<T>> + Send + 'static,
{
    let meshes = loopback_session(parties, dealer, opts).await?;
    let nets: Vec<Arc<dyn Network>> = meshes
        .iter()
        .map(|m| Arc::new(m.clone()) as Arc<dyn Network>)
        .collect();
    let meshes = Arc::new(meshes);
    let close = move |id: usize| {
        let meshes = meshes.clone();
        async move {
            if let Some(mesh) = meshes.get(id) {
                mesh.close().await;
            }
        }
    };
    mpc_core::simulate::run_endpoints(nets, parties, f, close)
        .await
        .map_err(|e| NetError::InvalidArgument(e.to_string()))
}

/// The ingredients of a loopback session before anything connects: fresh identities, bound sockets and the
/// roster, so that tests can connect each party with its own options (or a deliberately wrong session id).
#[derive(Debug)]
pub struct LoopbackParts {
    /// One identity per endpoint.
    pub identities: Vec<Identity>,
    /// One bound UDP socket on 127.0.0.1 per endpoint.
    pub sockets: Vec<std::net::UdpSocket>,
    /// The roster listing them (names `party-<i>`, and `dealer`).
    pub roster: Roster,
}

impl LoopbackParts {
    /// Identities, sockets and roster for `parties` computing parties plus a dealer if `dealer`.
    pub fn new(parties: usize, dealer: bool, socket_buffer: usize) -> Result<LoopbackParts> {
        let n = parties + usize::from(dealer);
        let mut identities = Vec::with_capacity(n);
        let mut sockets = Vec::with_capacity(n);
        let mut entries = Vec::with_capacity(n);
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        for id in 0..n {
            let is_dealer = dealer && id == parties;
            let identity = Identity::new_self_signed(&format!("party-{id}"))?;
            let socket = bind_udp(any, socket_buffer)?;
            let addr = socket.local_addr().map_err(|e| NetError::Listen {
                addr: any,
                message: e.to_string(),
            })?;
            entries.push(PartyEntry {
                id,
                name: if is_dealer {
                    "dealer".into()
                } else {
                    format!("party-{id}")
                },
                address: addr.to_string(),
                fingerprint: identity.fingerprint,
                role: if is_dealer {
                    Role::Dealer
                } else {
                    Role::Computing
                },
            });
            identities.push(identity);
            sockets.push(socket);
        }
        let roster = Roster::new(entries).map_err(NetError::InvalidArgument)?;
        Ok(LoopbackParts {
            identities,
            sockets,
            roster,
        })
    }
}

/// Writes fresh keys and one configuration file per endpoint into `dir` (`party-<i>.toml`), for a session
/// on 127.0.0.1 with free UDP ports; `extra` is appended to every file (e.g. a `[network]` table).
pub fn write_local_configs(
    dir: &Path,
    parties: usize,
    dealer: bool,
    extra: &str,
) -> Result<Vec<PathBuf>> {
    let n = parties + usize::from(dealer);
    let mut roster = String::new();
    let mut ports = Vec::new();
    for id in 0..n {
        let name = if dealer && id == parties {
            "dealer".to_string()
        } else {
            format!("party-{id}")
        };
        let generated = identity::generate(&name, &dir.join("keys"))?;
        // A port that is free now; another process could take it before the party binds it.
        let probe = bind_udp(SocketAddr::from(([127, 0, 0, 1], 0)), 0)?;
        let port = probe.local_addr().map(|a| a.port()).unwrap_or(0);
        drop(probe);
        ports.push((name.clone(), port));
        let _ = write!(
            roster,
            "\n[[party]]\nid = {id}\nname = \"{name}\"\naddress = \"127.0.0.1:{port}\"\nfingerprint = \"{}\"\n{}",
            generated.identity.fingerprint,
            if dealer && id == parties { "role = \"dealer\"\n" } else { "" }
        );
    }
    let mut paths = Vec::new();
    for (id, (name, port)) in ports.iter().enumerate() {
        let text = format!(
            "session_id = \"local-session\"\nparty_id = {id}\nkey = \"keys/{name}.key\"\ncertificate = \"keys/{name}.crt\"\nlisten = \"127.0.0.1:{port}\"\n{extra}\n{roster}"
        );
        let path = dir.join(format!("party-{id}.toml"));
        std::fs::write(&path, text).map_err(|source| NetError::Io {
            path: path.clone(),
            source,
        })?;
        paths.push(path);
    }
    Ok(paths)
}
