//! The deployment path in one process: configuration files and key files written by `write_local_configs`,
//! read by `PartyConfig::load`, connected by `Mesh::connect`; and a certificate that does not match the
//! roster is refused before any connection.

use std::path::PathBuf;
use std::time::Duration;

use mpc_core::net::Network;
use mpc_net::local::write_local_configs;
use mpc_net::{Mesh, MeshOptions, NetError, PartyConfig};

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let d = std::env::temp_dir().join(format!("mpc-net-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parties_connect_from_their_config_files() {
    let dir = temp_dir("cfg");
    let paths = write_local_configs(
        &dir,
        3,
        false,
        "[network]\nconnect_timeout_secs = 20\n\n[train]\nepochs = 2\n",
    )
    .unwrap();
    let mut tasks = Vec::new();
    for p in paths {
        tasks.push(tokio::spawn(async move {
            let cfg = PartyConfig::load(&p).unwrap();
            assert!(cfg.train.is_some());
            assert_eq!(cfg.network.connect_timeout, Some(Duration::from_secs(20)));
            let mesh = Mesh::connect(&cfg, MeshOptions::default()).await.unwrap();
            let me = mesh.id();
            for peer in (0..3).filter(|&q| q != me) {
                mesh.send(5, peer, vec![me as u8; 3]).await.unwrap();
            }
            let mut got = Vec::new();
            for peer in (0..3).filter(|&q| q != me) {
                got.push(mesh.recv(5, peer).await.unwrap());
            }
            mesh.close().await;
            (me, got)
        }));
    }
    for t in tasks {
        let (me, got) = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .unwrap()
            .unwrap();
        let want: Vec<Vec<u8>> = (0..3)
            .filter(|&q| q != me)
            .map(|q| vec![q as u8; 3])
            .collect();
        assert_eq!(got, want);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_the_roster_does_not_pin_is_refused_before_connecting() {
    let dir = temp_dir("wrongcert");
    let paths = write_local_configs(&dir, 2, false, "").unwrap();
    // Party 0's configuration now points at party 1's certificate and key.
    let text = std::fs::read_to_string(&paths[0])
        .unwrap()
        .replace("keys/party-0.", "keys/party-1.");
    std::fs::write(&paths[0], text).unwrap();
    let cfg = PartyConfig::load(&paths[0]).unwrap();
    let err = Mesh::connect(&cfg, MeshOptions::default())
        .await
        .unwrap_err();
    match &err {
        NetError::Config { field, message, .. } => {
            assert_eq!(field, "certificate");
            assert!(message.contains("the roster pins"), "{message}");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
