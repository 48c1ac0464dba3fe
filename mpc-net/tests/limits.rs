//! Resources a peer can make a party hold are bounded: a flood of messages nobody reads stops at the inbox
//! bound (and is delivered whole, in order, once read); a party refuses to open more streams to a peer than
//! the limit; every run gets a fresh run id, the same on all its parties.

use std::time::Duration;

use mpc_core::net::Network;
use mpc_net::local::{loopback_mesh, loopback_options};
use mpc_net::MeshOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_nobody_reads_stays_within_the_inbox_bound() {
    let cap = 256 << 10;
    let opts = MeshOptions {
        inbox_bytes: cap,
        inbox_messages: 1000,
        ..loopback_options()
    };
    let meshes = loopback_mesh(2, opts).await.unwrap();
    let (m0, m1) = (meshes[0].clone(), meshes[1].clone());
    // 8 MiB in 4 KiB messages, 32 times the bound: without backpressure all of it lands in the inbox
    // (QUIC's receive windows are larger).
    let count = 2048usize;
    let msg = |i: usize| -> Vec<u8> { (0..4096).map(|j| (i * 31 + j) as u8).collect() };
    for i in 0..count {
        m0.send(5, 1, msg(i)).await.unwrap();
    }
    // Wait until the inbox is full, then give the reader time to overfill it if it could.
    let full = async {
        while m1.inbox_usage(0, 5).bytes + 4096 <= cap {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), full)
        .await
        .expect("the inbox never filled");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let usage = m1.inbox_usage(0, 5);
    assert!(usage.bytes <= cap, "{usage:?}");
    // The queued messages, and the slot the stalled reader holds for the next one.
    assert!(usage.messages <= cap / 4096 + 1, "{usage:?}");
    // Nothing is lost: every message arrives, in order, as the receiver reads.
    for i in 0..count {
        let got = tokio::time::timeout(Duration::from_secs(20), m1.recv(5, 0))
            .await
            .expect("recv hung")
            .unwrap();
        assert_eq!(got, msg(i), "message {i}");
        assert!(m1.inbox_usage(0, 5).bytes <= cap);
    }
    let (a, b) = tokio::join!(m0.close(), m1.close());
    let _ = (a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_empty_messages_stays_within_the_message_bound() {
    let opts = MeshOptions {
        inbox_messages: 16,
        ..loopback_options()
    };
    let meshes = loopback_mesh(2, opts).await.unwrap();
    let (m0, m1) = (meshes[0].clone(), meshes[1].clone());
    for _ in 0..5000 {
        m0.send(2, 1, Vec::new()).await.unwrap();
    }
    let full = async {
        while m1.inbox_usage(0, 2).messages < 16 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), full)
        .await
        .expect("the inbox never filled");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(m1.inbox_usage(0, 2).messages, 16);
    for _ in 0..5000 {
        let got = tokio::time::timeout(Duration::from_secs(20), m1.recv(2, 0))
            .await
            .expect("recv hung")
            .unwrap();
        assert!(got.is_empty());
    }
    tokio::join!(m0.close(), m1.close());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_on_more_channels_than_the_stream_limit_is_refused_locally() {
    let opts = MeshOptions {
        max_streams_per_peer: 4,
        ..loopback_options()
    };
    let meshes = loopback_mesh(2, opts).await.unwrap();
    let (m0, m1) = (meshes[0].clone(), meshes[1].clone());
    for channel in 0..4 {
        m0.send(channel, 1, vec![channel as u8]).await.unwrap();
    }
    // The same channels again are fine; a fifth is not.
    m0.send(3, 1, vec![9]).await.unwrap();
    let err = m0.send(4, 1, vec![4]).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("beyond the limit of 4 per peer to party 1"),
        "{err}"
    );
    for channel in 0..4 {
        assert_eq!(m1.recv(channel, 0).await.unwrap(), vec![channel as u8]);
    }
    assert_eq!(m1.recv(3, 0).await.unwrap(), vec![9]);
    tokio::join!(m0.close(), m1.close());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_has_a_fresh_run_id_shared_by_its_parties() {
    let first = loopback_mesh(3, loopback_options()).await.unwrap();
    let second = loopback_mesh(3, loopback_options()).await.unwrap();
    let id = first[0].run_id();
    assert!(first.iter().all(|m| m.run_id() == id));
    assert!(second.iter().all(|m| m.run_id() == second[0].run_id()));
    assert_ne!(id, second[0].run_id());
    for m in first.iter().chain(&second) {
        m.close().await;
    }
}
