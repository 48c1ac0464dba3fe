//! Loopback benchmarks of the mesh, each beside a same-run baseline:
//!
//! - `throughput/mesh_16MiB` vs `throughput/bare_quinn_16MiB`: one 16 MiB message from party 0 to party 1,
//!   through `Network::send`/`recv` versus a single quinn stream with the same TLS and transport settings.
//! - `rtt/mesh_1B` vs `rtt/bare_quinn_1B`: a one-byte ping-pong.
//! - `beaver/mul_1M_Z64_2p`: Beaver multiplication of 1,000,000 Z64 elements between 2 parties over loopback
//!   QUIC with insecure-shared-seed triples (generated outside the timed part); one round, 16 MB sent by
//!   each party; beside it the same over mpc-core's in-memory network (no encryption, no sockets).
//!
//! Run: `cargo bench -p mpc-net --bench mesh`. Figures are in mpc-net/BENCH_NOTES.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mpc_core::net::Network;
use mpc_core::preprocessing::{InsecureSharedSeed, Preprocessing};
use mpc_core::protocols::mul::mul;
use mpc_core::ring::{Ring, Z64};
use mpc_core::{Context, Shared};
use mpc_net::local::{loopback_mesh, loopback_options};
use mpc_net::transport::{bind_udp, endpoint};
use mpc_net::{tls, Identity, Mesh, MeshOptions};
use tokio::runtime::Runtime;

const BIG: usize = 16 << 20;
const MUL_LEN: usize = 1_000_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A bare quinn connection with the mesh's TLS and transport settings: (client side, server side).
async fn bare_pair(opts: &MeshOptions) -> (quinn::Connection, quinn::Connection) {
    let a = Identity::new_self_signed("a").unwrap();
    let b = Identity::new_self_signed("b").unwrap();
    let server_tls = tls::server_config(&b, vec![a.fingerprint]).unwrap();
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(
        quinn::crypto::rustls::QuicServerConfig::try_from(server_tls).unwrap(),
    ));
    server.transport_config(opts_transport(opts));
    let sock = bind_udp("127.0.0.1:0".parse().unwrap(), opts.socket_buffer).unwrap();
    let addr = sock.local_addr().unwrap();
    let server_ep = endpoint(sock, server.clone(), opts).unwrap();
    let client_ep = endpoint(
        bind_udp("127.0.0.1:0".parse().unwrap(), opts.socket_buffer).unwrap(),
        server,
        opts,
    )
    .unwrap();
    let client_tls = tls::client_config(&a, b.fingerprint).unwrap();
    let mut client = quinn::ClientConfig::new(Arc::new(
        quinn::crypto::rustls::QuicClientConfig::try_from(client_tls).unwrap(),
    ));
    client.transport_config(opts_transport(opts));
    let connecting = client_ep
        .connect_with(client, addr, tls::SERVER_NAME)
        .unwrap();
    let (c, s) = tokio::join!(connecting, async {
        server_ep.accept().await.unwrap().await
    });
    (c.unwrap(), s.unwrap())
}

fn opts_transport(opts: &MeshOptions) -> Arc<quinn::TransportConfig> {
    // Same settings as the mesh uses (MeshOptions::transport is crate-private; rebuild it the same way).
    let mut t = quinn::TransportConfig::default();
    t.max_idle_timeout(Some(
        quinn::IdleTimeout::try_from(opts.idle_timeout).unwrap(),
    ));
    t.keep_alive_interval(Some(opts.idle_timeout / 3));
    t.stream_receive_window(quinn::VarInt::from_u32(32 << 20));
    t.receive_window(quinn::VarInt::from_u32(128 << 20));
    t.send_window(128 << 20);
    t.initial_mtu(opts.initial_mtu);
    let mut mtu = quinn::MtuDiscoveryConfig::default();
    mtu.upper_bound(opts.max_mtu);
    t.mtu_discovery_config(Some(mtu));
    Arc::new(t)
}

fn throughput_and_rtt(c: &mut Criterion) {
    let rt = runtime();
    let opts = loopback_options();
    let meshes: Vec<Mesh> = rt.block_on(loopback_mesh(2, opts.clone())).unwrap();
    let (m0, m1) = (meshes[0].clone(), meshes[1].clone());
    let (client, server) = rt.block_on(bare_pair(&opts));
    // Bare quinn: one long-lived stream each way, like the mesh's per-channel streams.
    let (bare_send, mut bare_recv) = rt.block_on(async {
        let mut s = client.open_uni().await.unwrap();
        s.write_all(&[0]).await.unwrap();
        let mut r = server.accept_uni().await.unwrap();
        let mut b = [0u8; 1];
        r.read_exact(&mut b).await.unwrap();
        (s, r)
    });
    let (mut ping_s, mut ping_r, mut pong_s, mut pong_r) = rt.block_on(async {
        let (mut s, r) = client.open_bi().await.unwrap();
        s.write_all(&[0]).await.unwrap();
        let (ps, mut pr) = server.accept_bi().await.unwrap();
        let mut b = [0u8; 1];
        pr.read_exact(&mut b).await.unwrap();
        (s, r, ps, pr)
    });
    let payload = vec![7u8; BIG];

    let mut g = c.benchmark_group("throughput");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Bytes(BIG as u64));
    g.bench_function("mesh_16MiB", |b| {
        b.to_async(&rt).iter(|| {
            let (m0, m1, p) = (m0.clone(), m1.clone(), payload.clone());
            async move {
                m0.send(1, 1, p).await.unwrap();
                let got = m1.recv(1, 0).await.unwrap();
                assert_eq!(got.len(), BIG);
            }
        })
    });
    let mut bare_send = Some(bare_send);
    g.bench_function("bare_quinn_16MiB", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let (mut s, p) = (bare_send.take().unwrap(), payload.clone());
                let start = Instant::now();
                // The writer runs as its own task, as the mesh's writer does.
                let writer = tokio::spawn(async move {
                    for _ in 0..iters {
                        s.write_chunk(bytes::Bytes::from(p.clone())).await.unwrap();
                    }
                    s
                });
                for _ in 0..iters {
                    let mut buf = vec![0u8; BIG];
                    bare_recv.read_exact(&mut buf).await.unwrap();
                }
                let t = start.elapsed();
                bare_send = Some(writer.await.unwrap());
                t
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("rtt");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("mesh_1B", |b| {
        b.iter_custom(|iters| {
            let (m0, m1) = (m0.clone(), m1.clone());
            rt.block_on(async move {
                let echo = tokio::spawn(async move {
                    for _ in 0..iters {
                        let m = m1.recv(2, 0).await.unwrap();
                        m1.send(2, 0, m).await.unwrap();
                    }
                });
                let start = Instant::now();
                for _ in 0..iters {
                    m0.send(2, 1, vec![1]).await.unwrap();
                    m0.recv(2, 1).await.unwrap();
                }
                let t = start.elapsed();
                echo.await.unwrap();
                t
            })
        })
    });
    g.bench_function("bare_quinn_1B", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let echo = async {
                    let mut buf = [0u8; 1];
                    for _ in 0..iters {
                        pong_r.read_exact(&mut buf).await.unwrap();
                        pong_s.write_all(&buf).await.unwrap();
                    }
                };
                let ping = async {
                    let start = Instant::now();
                    let mut buf = [0u8; 1];
                    for _ in 0..iters {
                        ping_s.write_all(&[1]).await.unwrap();
                        ping_r.read_exact(&mut buf).await.unwrap();
                    }
                    start.elapsed()
                };
                tokio::join!(echo, ping).1
            })
        })
    });
    g.finish();
    rt.block_on(async {
        m0.close().await;
        m1.close().await;
    });
}

/// A party's context and triple source, shared with the benchmark's tasks.
type Party = Arc<tokio::sync::Mutex<(Context, InsecureSharedSeed<Z64>)>>;

fn beaver(c: &mut Criterion) {
    let rt = runtime();
    let meshes: Vec<Mesh> = rt.block_on(loopback_mesh(2, loopback_options())).unwrap();
    let quic: Vec<Arc<dyn Network>> = meshes
        .iter()
        .map(|m| Arc::new(m.clone()) as Arc<dyn Network>)
        .collect();
    let memory: Vec<Arc<dyn Network>> = mpc_core::net::MemoryNetwork::new(2)
        .into_iter()
        .map(|m| Arc::new(m) as Arc<dyn Network>)
        .collect();
    let mut g = c.benchmark_group("beaver");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(MUL_LEN as u64));
    for (name, nets) in [("mul_1M_Z64_2p", quic), ("mul_1M_Z64_2p_in_memory", memory)] {
        let parties: Vec<Party> = nets
            .into_iter()
            .map(|net| {
                let ctx = Context::new(net, 2).unwrap();
                let src = InsecureSharedSeed::<Z64>::for_context([1; 32], &ctx);
                Arc::new(tokio::sync::Mutex::new((ctx, src)))
            })
            .collect();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| rt.block_on(timed_muls(parties.clone(), iters)))
        });
    }
    g.finish();
    rt.block_on(async {
        for m in &meshes {
            m.close().await;
        }
    });
}

/// Both parties multiply `iters` times; the slower party's time (triples are made before the clock starts).
async fn timed_muls(parties: Vec<Party>, iters: u64) -> Duration {
    let barrier = Arc::new(tokio::sync::Barrier::new(parties.len()));
    let tasks: Vec<_> = parties
        .into_iter()
        .map(|c| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut guard = c.lock().await;
                let (ctx, src) = &mut *guard;
                let mut rng = mpc_core::prg::Prg::from_entropy();
                let x = Shared::from_share(Z64::random_vec(&mut rng, MUL_LEN));
                let y = Shared::from_share(Z64::random_vec(&mut rng, MUL_LEN));
                let mut triples = Vec::new();
                for _ in 0..iters {
                    triples.push(src.triples(ctx, MUL_LEN).await.unwrap());
                }
                barrier.wait().await;
                let start = Instant::now();
                for t in triples {
                    mul(ctx, &x, &y, t).await.unwrap();
                }
                start.elapsed()
            })
        })
        .collect();
    let mut worst = Duration::ZERO;
    for t in tasks {
        worst = worst.max(t.await.unwrap());
    }
    worst
}

criterion_group!(benches, throughput_and_rtt, beaver);
criterion_main!(benches);
