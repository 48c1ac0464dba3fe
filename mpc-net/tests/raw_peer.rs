//! A peer that speaks raw QUIC with a genuine roster certificate and a correct hello, then sends a data
//! stream that does not start with the magic bytes: the mesh refuses it, blames that peer, and aborts the
//! session with a reason the peer receives.

use std::sync::Arc;
use std::time::Duration;

use mpc_core::net::Network;
use mpc_net::local::{loopback_options, LoopbackParts};
use mpc_net::wire::{frame_prefix, Control, Hello, PROTOCOL_VERSION};
use mpc_net::{tls, Mesh};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_without_the_magic_aborts_the_session_blaming_its_sender() {
    let mut parts = LoopbackParts::new(2, false, 1 << 20).unwrap();
    let roster = parts.roster.clone();
    let (id1, sock1) = (
        parts.identities.pop().unwrap(),
        parts.sockets.pop().unwrap(),
    );
    let addr1 = sock1.local_addr().unwrap();
    let r1 = roster.clone();
    let party1 = tokio::spawn(async move {
        Mesh::connect_with(id1, &r1, "s", 1, sock1, loopback_options()).await
    });

    // Party 0, by hand.
    let id0 = parts.identities.pop().unwrap();
    let client = tls::client_config(&id0, roster.parties()[1].fingerprint).unwrap();
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(client).unwrap();
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    let conn = endpoint
        .connect(addr1, tls::SERVER_NAME)
        .unwrap()
        .await
        .unwrap();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    let hello = Control::Hello(Hello {
        version: PROTOCOL_VERSION,
        session_id: "s".into(),
        roster_digest: roster.digest("s"),
        from: 0,
        to: 1,
    })
    .encode();
    send.write_all(&frame_prefix(hello.len()).unwrap())
        .await
        .unwrap();
    send.write_all(&hello).await.unwrap();
    let mut prefix = [0u8; 4];
    recv.read_exact(&mut prefix).await.unwrap();
    let mut reply = vec![0u8; u32::from_le_bytes(prefix) as usize];
    recv.read_exact(&mut reply).await.unwrap();
    assert!(matches!(
        Control::decode(&reply).unwrap(),
        Control::Hello(_)
    ));

    let mesh1 = party1.await.unwrap().unwrap();
    let mut bad = conn.open_uni().await.unwrap();
    bad.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();

    let err = tokio::time::timeout(Duration::from_secs(10), mesh1.recv(0, 0))
        .await
        .expect("recv hung")
        .unwrap_err();
    match &err {
        mpc_core::Error::Malformed { party: 0, reason } => {
            assert!(reason.contains("magic"), "{reason}")
        }
        other => panic!("expected Malformed from party 0, got {other:?}"),
    }
    let closed = tokio::time::timeout(Duration::from_secs(10), conn.closed())
        .await
        .expect("no abort arrived");
    match closed {
        quinn::ConnectionError::ApplicationClosed(c) => {
            let reason = String::from_utf8_lossy(&c.reason);
            assert!(
                reason.contains("party 0 sent a malformed frame"),
                "{reason}"
            );
        }
        other => panic!("expected an application close, got {other:?}"),
    }
    mesh1.close().await;
}
