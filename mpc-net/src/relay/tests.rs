//! The relay over real UDP sockets on loopback: an echo server behind it, clients in front.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::{Cut, LinkShape, Relay, RelayConfig};

/// A UDP echo server on loopback; returns its address.
async fn echo() -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let _ = sock.send_to(&buf[..n], from).await;
        }
    });
    addr
}

async fn relay(shape: LinkShape) -> Relay {
    let upstream = echo().await;
    Relay::start(RelayConfig::symmetric(
        "127.0.0.1:0".parse().unwrap(),
        upstream,
        shape,
    ))
    .await
    .unwrap()
}

async fn client(relay: &Relay) -> UdpSocket {
    let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    c.connect(relay.local_addr()).await.unwrap();
    c
}

/// Sends `msg` and waits up to `limit` for the echo; the round trip, or `None`.
async fn ping(c: &UdpSocket, msg: &[u8], limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    c.send(msg).await.unwrap();
    let mut buf = vec![0u8; 65_536];
    let n = tokio::time::timeout(limit, c.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    assert_eq!(&buf[..n], msg, "the echo of what was sent");
    Some(start.elapsed())
}

#[tokio::test]
async fn the_delay_is_applied_each_way() {
    let r = relay(LinkShape {
        delay: Duration::from_millis(25),
        ..LinkShape::default()
    })
    .await;
    let c = client(&r).await;
    for i in 0..5u8 {
        let rtt = ping(&c, &[i; 100], Duration::from_secs(2)).await.unwrap();
        assert!(
            rtt >= Duration::from_millis(50) && rtt < Duration::from_millis(150),
            "round trip {rtt:?} for 2 x 25 ms"
        );
    }
    let s = r.stats();
    assert_eq!((s.up.packets, s.down.packets, s.clients), (5, 5, 1));
    assert_eq!((s.up.bytes, s.down.bytes), (500, 500));
}

#[tokio::test]
async fn each_client_gets_its_own_replies_in_order() {
    let r = relay(LinkShape::default()).await;
    let (a, b) = (client(&r).await, client(&r).await);
    for i in 0..200u16 {
        a.send(&[b"a".as_slice(), &i.to_le_bytes()].concat())
            .await
            .unwrap();
        b.send(&[b"b".as_slice(), &i.to_le_bytes()].concat())
            .await
            .unwrap();
    }
    for (c, tag) in [(&a, b'a'), (&b, b'b')] {
        let mut buf = [0u8; 16];
        for i in 0..200u16 {
            let n = tokio::time::timeout(Duration::from_secs(2), c.recv(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&buf[..n], &[[tag].as_slice(), &i.to_le_bytes()].concat());
        }
    }
    assert_eq!(r.stats().clients, 2);
}

#[tokio::test]
async fn a_cut_drops_then_traffic_resumes() {
    let r = relay(LinkShape {
        cuts: vec![Cut {
            at: Duration::from_millis(300),
            length: Some(Duration::from_millis(400)),
        }],
        ..LinkShape::default()
    })
    .await;
    let c = client(&r).await;
    let limit = Duration::from_millis(100);
    assert!(ping(&c, b"before", limit).await.is_some());
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(ping(&c, b"during", limit).await.is_none());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(ping(&c, b"after", limit).await.is_some());
    let s = r.stats();
    assert_eq!(s.up.dropped_cut, 1, "{s:?}");
    assert_eq!((s.up.packets, s.down.packets), (2, 2));
}

#[tokio::test]
async fn the_bandwidth_limits_throughput() {
    // 8 Mbit/s: 1 MB takes one second.
    let r = relay(LinkShape {
        bandwidth: Some(8_000_000),
        queue_bytes: 4 << 20,
        ..LinkShape::default()
    })
    .await;
    let c = client(&r).await;
    let start = Instant::now();
    let chunk = [7u8; 1000];
    for _ in 0..500 {
        c.send(&chunk).await.unwrap();
    }
    let mut buf = [0u8; 2000];
    for _ in 0..500 {
        tokio::time::timeout(Duration::from_secs(5), c.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
    }
    // 500 kB each way through its own 1 MB/s direction: at least half a second.
    let t = start.elapsed();
    assert!(
        t >= Duration::from_millis(490) && t < Duration::from_millis(2000),
        "{t:?}"
    );
    assert_eq!(r.stats().down.bytes, 500_000);
}

#[tokio::test]
async fn loss_drops_about_the_stated_share() {
    let mut cfg = RelayConfig::symmetric(
        "127.0.0.1:0".parse().unwrap(),
        echo().await,
        LinkShape::default(),
    );
    cfg.up.loss = 0.2;
    cfg.seed = 11;
    let r = Relay::start(cfg).await.unwrap();
    let c = client(&r).await;
    // 50 at a time, each batch read by the relay before the next (no socket buffer overflows).
    for i in 0..1000u64 {
        c.send(&i.to_le_bytes()).await.unwrap();
        if i % 50 == 49 {
            let seen = || {
                let s = r.stats();
                s.up.packets + s.up.dropped_loss
            };
            let start = Instant::now();
            while seen() < i + 1 && start.elapsed() < Duration::from_secs(5) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s = r.stats();
    assert_eq!(s.up.dropped_loss + s.up.packets, 1000, "{s:?}");
    assert!((140..=260).contains(&s.up.dropped_loss), "{s:?}");
    assert_eq!(s.down.packets, s.up.packets, "nothing lost on the way back");
}

#[tokio::test]
async fn a_bad_shape_is_refused_naming_the_direction() {
    let mut cfg = RelayConfig::symmetric(
        "127.0.0.1:0".parse().unwrap(),
        "127.0.0.1:9".parse().unwrap(),
        LinkShape::default(),
    );
    cfg.down.loss = -1.0;
    let e = Relay::start(cfg).await.unwrap_err().to_string();
    assert!(
        e.contains("upstream to client") && e.contains("loss"),
        "{e}"
    );
}
