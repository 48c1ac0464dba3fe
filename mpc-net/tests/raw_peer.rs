//! A peer that speaks raw QUIC with a genuine roster certificate (party 0 of two), against a real mesh
//! (party 1): it can send what no mesh sends. Each test checks that the mesh refuses it, blames party 0, and
//! (after the set-up) aborts the session with a reason party 0 receives.

use std::sync::Arc;
use std::time::Duration;

use mpc_core::net::Network;
use mpc_net::local::{loopback_options, LoopbackParts};
use mpc_net::run::{fresh_nonce, run_id, RunId};
use mpc_net::wire::{
    encode_stream_header, frame_prefix, Control, Hello, CONTROL_MAX, PROTOCOL_VERSION,
};
use mpc_net::{tls, Mesh, MeshOptions, NetError, Roster};
use tokio::task::JoinHandle;

const BOUND: Duration = Duration::from_secs(10);

/// Party 0 by hand, connected to party 1 (a real mesh being set up).
struct Raw {
    conn: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    roster: Roster,
    party1: JoinHandle<mpc_net::Result<Mesh>>,
    _endpoint: quinn::Endpoint,
}

impl Raw {
    /// Connects and opens the control stream; sends nothing.
    async fn connect(opts: MeshOptions) -> Raw {
        let mut parts = LoopbackParts::new(2, false, 1 << 20).unwrap();
        let roster = parts.roster.clone();
        let (id1, sock1) = (
            parts.identities.pop().unwrap(),
            parts.sockets.pop().unwrap(),
        );
        let addr1 = sock1.local_addr().unwrap();
        let r1 = roster.clone();
        let party1 =
            tokio::spawn(async move { Mesh::connect_with(id1, &r1, "s", 1, sock1, opts).await });
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
        let (send, recv) = conn.open_bi().await.unwrap();
        Raw {
            conn,
            send,
            recv,
            roster,
            party1,
            _endpoint: endpoint,
        }
    }

    fn hello(&self, nonce: [u8; 32]) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            session_id: "s".into(),
            roster_digest: self.roster.digest("s"),
            from: 0,
            to: 1,
            nonce,
        }
    }

    async fn send_frame(&mut self, bytes: &[u8]) {
        self.send
            .write_all(&frame_prefix(bytes.len()).unwrap())
            .await
            .unwrap();
        self.send.write_all(bytes).await.unwrap();
    }

    async fn read_control(&mut self) -> Control {
        let mut prefix = [0u8; 4];
        self.recv.read_exact(&mut prefix).await.unwrap();
        let len = u32::from_le_bytes(prefix) as usize;
        assert!(len <= CONTROL_MAX);
        let mut reply = vec![0u8; len];
        self.recv.read_exact(&mut reply).await.unwrap();
        Control::decode(&reply).unwrap()
    }

    /// Exchanges hellos (ours with `nonce`); returns party 1's nonce.
    async fn hellos(&mut self, nonce: [u8; 32]) -> [u8; 32] {
        let hello = Control::Hello(self.hello(nonce)).encode();
        self.send_frame(&hello).await;
        match self.read_control().await {
            Control::Hello(h) => h.nonce,
            other => panic!("expected a hello, got {other:?}"),
        }
    }

    /// A full, correct set-up: hellos and the run check. Returns party 1's mesh and the run id.
    async fn set_up(opts: MeshOptions) -> (Raw, Mesh, RunId) {
        let mut raw = Raw::connect(opts).await;
        let ours = fresh_nonce();
        let theirs = raw.hellos(ours).await;
        let run = run_id("s", &raw.roster.digest("s"), &[ours, theirs]);
        raw.send_frame(&Control::Run { run_id: run.0 }.encode())
            .await;
        assert_eq!(raw.read_control().await, Control::Run { run_id: run.0 });
        let mesh = (&mut raw.party1).await.unwrap().unwrap();
        (raw, mesh, run)
    }

    /// The reason of the application close party 1 sent.
    async fn close_reason(&self) -> String {
        match tokio::time::timeout(BOUND, self.conn.closed())
            .await
            .expect("no close arrived")
        {
            quinn::ConnectionError::ApplicationClosed(c) => {
                String::from_utf8_lossy(&c.reason).into_owned()
            }
            other => panic!("expected an application close, got {other:?}"),
        }
    }
}

/// The error of party 1's next receive from party 0: must be `Malformed` blaming party 0.
async fn blamed_reason(mesh: &Mesh) -> String {
    let err = tokio::time::timeout(BOUND, mesh.recv(0, 0))
        .await
        .expect("recv hung")
        .unwrap_err();
    match err {
        mpc_core::Error::Malformed { party: 0, reason } => reason,
        other => panic!("expected Malformed from party 0, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_without_the_magic_aborts_the_session_blaming_its_sender() {
    let (raw, mesh1, _) = Raw::set_up(loopback_options()).await;
    let mut bad = raw.conn.open_uni().await.unwrap();
    bad.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let reason = blamed_reason(&mesh1).await;
    assert!(reason.contains("magic"), "{reason}");
    let reason = raw.close_reason().await;
    assert!(
        reason.contains("party 0 sent a malformed frame"),
        "{reason}"
    );
    mesh1.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_limit_aborts_the_session_blaming_its_sender() {
    let opts = MeshOptions {
        max_frame: 1 << 16,
        ..loopback_options()
    };
    let (raw, mesh1, _) = Raw::set_up(opts).await;
    let mut s = raw.conn.open_uni().await.unwrap();
    s.write_all(&encode_stream_header(0)).await.unwrap();
    s.write_all(&frame_prefix((1 << 16) + 1).unwrap())
        .await
        .unwrap();
    s.write_all(&[0; 100]).await.unwrap();
    let reason = blamed_reason(&mesh1).await;
    assert!(
        reason.contains("65537 bytes exceeds the maximum of 65536"),
        "{reason}"
    );
    let reason = raw.close_reason().await;
    assert!(
        reason.contains("party 0 sent a malformed frame"),
        "{reason}"
    );
    mesh1.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_opening_more_streams_than_the_limit_aborts_the_session() {
    let opts = MeshOptions {
        max_streams_per_peer: 3,
        ..loopback_options()
    };
    let (raw, mesh1, _) = Raw::set_up(opts).await;
    let mut streams = Vec::new();
    for channel in 10..14 {
        // quinn grants one stream over the limit so that the mesh sees it.
        let mut s = tokio::time::timeout(BOUND, raw.conn.open_uni())
            .await
            .expect("no stream credit")
            .unwrap();
        s.write_all(&encode_stream_header(channel)).await.unwrap();
        streams.push(s);
    }
    let reason = blamed_reason(&mesh1).await;
    assert!(
        reason.contains("opened more than 3 data streams"),
        "{reason}"
    );
    let reason = raw.close_reason().await;
    assert!(
        reason.contains("party 0 (party-0) opened more than 3 data streams, the limit per peer"),
        "{reason}"
    );
    mesh1.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_stream_for_a_channel_aborts_the_session() {
    let (raw, mesh1, _) = Raw::set_up(loopback_options()).await;
    for _ in 0..2 {
        let mut s = raw.conn.open_uni().await.unwrap();
        s.write_all(&encode_stream_header(7)).await.unwrap();
        s.write_all(&frame_prefix(1).unwrap()).await.unwrap();
        s.write_all(&[1]).await.unwrap();
    }
    let reason = blamed_reason(&mesh1).await;
    assert!(
        reason.contains("a second data stream for channel 7"),
        "{reason}"
    );
    let reason = raw.close_reason().await;
    assert!(reason.contains("party 0 (party-0)"), "{reason}");
    mesh1.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_id_binds_both_nonces() {
    let (raw, mesh1, run) = Raw::set_up(loopback_options()).await;
    assert_eq!(mesh1.run_id(), run);
    // Data flows after the run check.
    let mut s = raw.conn.open_uni().await.unwrap();
    s.write_all(&encode_stream_header(0)).await.unwrap();
    s.write_all(&frame_prefix(3).unwrap()).await.unwrap();
    s.write_all(b"abc").await.unwrap();
    let got = tokio::time::timeout(BOUND, mesh1.recv(0, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"abc");
    mesh1.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_check_from_another_run_is_refused() {
    let mut raw = Raw::connect(loopback_options()).await;
    let ours = fresh_nonce();
    let theirs = raw.hellos(ours).await;
    // The run id of another run of the same session: party 1's nonce there was another one.
    let stale = run_id("s", &raw.roster.digest("s"), &[ours, fresh_nonce()]);
    assert_ne!(stale, run_id("s", &raw.roster.digest("s"), &[ours, theirs]));
    raw.send_frame(&Control::Run { run_id: stale.0 }.encode())
        .await;
    let err = tokio::time::timeout(BOUND, &mut raw.party1)
        .await
        .expect("set-up hung")
        .unwrap()
        .unwrap_err();
    match &err {
        NetError::HelloMismatch { party: 0, reason } => {
            assert!(reason.contains("run id"), "{reason}");
            assert!(reason.contains("another run"), "{reason}");
        }
        other => panic!("expected a hello mismatch with party 0, got {other}"),
    }
    let reason = raw.close_reason().await;
    assert!(reason.contains("run id"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_of_protocol_version_1_is_refused_naming_both_versions() {
    #[derive(serde::Serialize)]
    struct HelloV1 {
        version: u32,
        session_id: String,
        roster_digest: [u8; 32],
        from: u64,
        to: u64,
    }
    #[derive(serde::Serialize)]
    enum ControlV1 {
        Hello(HelloV1),
    }
    let mut raw = Raw::connect(loopback_options()).await;
    let v1 = ControlV1::Hello(HelloV1 {
        version: 1,
        session_id: "s".into(),
        roster_digest: raw.roster.digest("s"),
        from: 0,
        to: 1,
    });
    let bytes = bincode::serde::encode_to_vec(&v1, bincode::config::standard()).unwrap();
    raw.send_frame(&bytes).await;
    let err = tokio::time::timeout(BOUND, &mut raw.party1)
        .await
        .expect("set-up hung")
        .unwrap()
        .unwrap_err();
    let expected = format!("protocol version 1 (ours is {PROTOCOL_VERSION})");
    assert!(err.to_string().contains(&expected), "{err}");
    assert!(raw.close_reason().await.contains(&expected));
}
