//! A connection attempt from a certificate that is not in the roster is refused, and the refusal is logged
//! with that certificate's fingerprint; the real parties still connect. A dialler refuses a server whose
//! certificate is not the one pinned for it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpc_net::local::{loopback_options, LoopbackParts};
use mpc_net::{tls, Identity, Mesh, MeshOptions};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_outside_the_roster_is_refused_and_logged() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .init();

    let mut parts = LoopbackParts::new(2, false, 1 << 20).unwrap();
    let roster = parts.roster.clone();
    let opts = MeshOptions {
        connect_timeout: Duration::from_secs(20),
        ..loopback_options()
    };
    // Party 1 starts and waits for party 0 to dial.
    let (id1, sock1) = (
        parts.identities.pop().unwrap(),
        parts.sockets.pop().unwrap(),
    );
    let party1_addr = sock1.local_addr().unwrap();
    let (r1, o1) = (roster.clone(), opts.clone());
    let party1 = tokio::spawn(async move { Mesh::connect_with(id1, &r1, "s", 1, sock1, o1).await });

    // A stranger with a real key of its own, which pins party 1's genuine certificate, dials party 1.
    let stranger = Identity::new_self_signed("stranger").unwrap();
    let stranger_fp = stranger.fingerprint;
    let tls = tls::client_config(&stranger, roster.parties()[1].fingerprint).unwrap();
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    let attempt = async {
        let conn = endpoint.connect(party1_addr, tls::SERVER_NAME)?.await?;
        // TLS 1.3 clients finish before the server checks their certificate: the refusal shows on first use.
        let (mut send, mut recv) = conn.open_bi().await?;
        send.write_all(b"hello?").await?;
        let mut buf = [0u8; 1];
        recv.read_exact(&mut buf).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    let refused = tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .expect("the stranger hung");
    assert!(refused.is_err(), "the stranger was let in");
    endpoint.close(0u32.into(), b"");

    // The genuine party 0 still gets in.
    let (id0, sock0) = (
        parts.identities.pop().unwrap(),
        parts.sockets.pop().unwrap(),
    );
    let m0 = Mesh::connect_with(id0, &roster, "s", 0, sock0, opts)
        .await
        .unwrap();
    let m1 = party1.await.unwrap().unwrap();
    m0.close().await;
    m1.close().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("not in the roster") && text.contains(&stranger_fp.to_string()),
        "log was: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_other_than_the_pinned_one_is_refused() {
    let parts = LoopbackParts::new(2, false, 1 << 20).unwrap();
    // Party 0 pins a certificate for party 1 that party 1 does not hold.
    let mut entries = parts.roster.parties().to_vec();
    entries[1].fingerprint = Identity::new_self_signed("impostor").unwrap().fingerprint;
    let wrong = mpc_net::Roster::new(entries).unwrap();
    let opts = MeshOptions {
        connect_timeout: Duration::from_secs(2),
        ..loopback_options()
    };
    let mut tasks = Vec::new();
    for (id, (identity, socket)) in parts.identities.into_iter().zip(parts.sockets).enumerate() {
        let roster = if id == 0 {
            wrong.clone()
        } else {
            parts.roster.clone()
        };
        let opts = opts.clone();
        tasks.push(tokio::spawn(async move {
            Mesh::connect_with(identity, &roster, "s", id, socket, opts).await
        }));
    }
    let r0 = tasks.remove(0).await.unwrap();
    let r1 = tasks.remove(0).await.unwrap();
    match r0 {
        Err(mpc_net::NetError::Unreachable { missing, .. }) => {
            assert_eq!(missing.len(), 1);
            let why = missing[0].last_error.clone().unwrap_or_default();
            assert!(why.contains("certificate"), "{why}");
        }
        other => panic!("party 0 connected to an unpinned certificate: {other:?}"),
    }
    assert!(r1.is_err(), "party 1 should not have a link to party 0");
}
