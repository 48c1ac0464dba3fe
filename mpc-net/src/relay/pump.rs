//! The relay's sockets and tasks. One task reads the listening socket and creates, per new client address,
//! an upstream socket connected to the upstream address with its own reading task; every datagram read is
//! judged by its direction's [`Link`] and, if not dropped, queued (a bounded channel: a full one drops) for
//! that direction's one sending task, which waits until the datagram is due, drops it if a cut has started
//! meanwhile, and sends it. A datagram due at once, with none queued before it, is sent by the task that read
//! it (no delay and no bandwidth limit: the relay costs two system calls per datagram). Either way each
//! direction keeps its order.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::link::{self, Link, LinkShape, Verdict};
use super::{Counters, RelayConfig, RelayError, Shared};

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_536;
/// Datagrams one direction's sending queue holds (beyond the link's own byte limit).
const QUEUE_DATAGRAMS: usize = 16_384;
/// Socket buffer sizes asked for.
const SOCKET_BUFFER: usize = 4 << 20;

/// A datagram waiting to be sent: to whom (the client, or the upstream socket), its bytes, when it is due.
struct Due<T> {
    to: T,
    bytes: Vec<u8>,
    at: Duration,
}

/// Sends a datagram at once without waiting (`try_send`); false if the socket would block or failed.
type SendNow<T> = Box<dyn Fn(&T, &[u8]) -> bool + Send + Sync>;

/// One direction: its link model, counters, the queue to its sending task, and how many datagrams that queue
/// holds or its task is sending.
struct Direction<T> {
    link: Mutex<Link>,
    counters: Arc<Shared>,
    up: bool,
    queue: mpsc::Sender<Due<T>>,
    pending: AtomicUsize,
    send_now: SendNow<T>,
    start: Instant,
}

impl<T> Direction<T> {
    fn counters(&self) -> &Counters {
        if self.up {
            &self.counters.up
        } else {
            &self.counters.down
        }
    }

    /// Judges a datagram that arrived now. One due now, with nothing queued before it, is sent at once (the
    /// fast path of a link without delay or limit: no hop through the sending task); any other is queued.
    /// The link's lock is held meanwhile, so two readers of one direction cannot overtake each other.
    fn offer(&self, to: T, bytes: &[u8]) {
        let now = self.start.elapsed();
        let Ok(mut link) = self.link.lock() else {
            return;
        };
        match link.admit(now, bytes.len()) {
            Verdict::Drop(why) => self.counters().dropped(why),
            Verdict::Deliver(at) => {
                if at <= now
                    && self.pending.load(Ordering::Acquire) == 0
                    && (self.send_now)(&to, bytes)
                {
                    self.counters().delivered(bytes.len());
                    return;
                }
                let due = Due {
                    to,
                    bytes: bytes.to_vec(),
                    at,
                };
                self.pending.fetch_add(1, Ordering::AcqRel);
                if self.queue.try_send(due).is_err() {
                    self.pending.fetch_sub(1, Ordering::AcqRel);
                    self.counters().dropped(link::Drop::QueueFull);
                }
            }
        }
    }

    /// The sending task is done with one queued datagram (sent or dropped).
    fn done(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let std = crate::transport::bind_udp(addr, SOCKET_BUFFER)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std.set_nonblocking(true)?;
    UdpSocket::from_std(std)
}

/// Binds the listening socket, spawns the tasks, and returns the bound address.
pub(super) fn start(config: RelayConfig, shared: Arc<Shared>) -> Result<SocketAddr, RelayError> {
    let listen_err = |source| RelayError::Listen {
        addr: config.listen,
        source,
    };
    let listen = Arc::new(bind(config.listen).map_err(listen_err)?);
    let local = listen.local_addr().map_err(listen_err)?;
    let start = Instant::now();
    let (up_tx, up_rx) = mpsc::channel::<Due<Arc<UdpSocket>>>(QUEUE_DATAGRAMS);
    let (down_tx, down_rx) = mpsc::channel::<Due<SocketAddr>>(QUEUE_DATAGRAMS);
    let up = Arc::new(Direction {
        link: Mutex::new(Link::new(config.up.clone(), config.seed.wrapping_mul(2))),
        counters: shared.clone(),
        up: true,
        queue: up_tx,
        pending: AtomicUsize::new(0),
        send_now: Box::new(|sock: &Arc<UdpSocket>, bytes: &[u8]| sock.try_send(bytes).is_ok()),
        start,
    });
    let down = Arc::new(Direction {
        link: Mutex::new(Link::new(
            config.down.clone(),
            config.seed.wrapping_mul(2).wrapping_add(1),
        )),
        counters: shared.clone(),
        up: false,
        queue: down_tx,
        pending: AtomicUsize::new(0),
        send_now: {
            let listen = listen.clone();
            Box::new(move |client: &SocketAddr, bytes: &[u8]| {
                listen.try_send_to(bytes, *client).is_ok()
            })
        },
        start,
    });
    let up_sender = tokio::spawn(up_sender(up_rx, config.up.clone(), up.clone()));
    shared.track(up_sender.abort_handle());
    let down_sender = tokio::spawn(down_sender(
        down_rx,
        listen.clone(),
        config.down.clone(),
        down.clone(),
    ));
    shared.track(down_sender.abort_handle());
    let listener = tokio::spawn(listen_loop(listen, config, up, down, shared.clone()));
    shared.track(listener.abort_handle());
    Ok(local)
}

/// Reads the listening socket: finds or makes the client's upstream socket, and offers the datagram to the
/// client-to-upstream direction.
async fn listen_loop(
    listen: Arc<UdpSocket>,
    config: RelayConfig,
    up: Arc<Direction<Arc<UdpSocket>>>,
    down: Arc<Direction<SocketAddr>>,
    shared: Arc<Shared>,
) {
    let mut clients: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let any: IpAddr = match config.upstream {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    loop {
        // Errors of a UDP read (an ICMP error reported late) concern one datagram: read on.
        let Ok((n, client)) = listen.recv_from(&mut buf).await else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        let sock = match clients.get(&client) {
            Some(s) => s.clone(),
            None => {
                if clients.len() >= config.max_clients {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let Ok(sock) = bind(SocketAddr::new(any, 0)) else {
                    continue;
                };
                if sock.connect(config.upstream).await.is_err() {
                    continue;
                }
                let sock = Arc::new(sock);
                clients.insert(client, sock.clone());
                shared.clients.fetch_add(1, Ordering::Relaxed);
                let reader = tokio::spawn(upstream_loop(sock.clone(), client, down.clone()));
                shared.track(reader.abort_handle());
                sock
            }
        };
        up.offer(sock, &buf[..n]);
    }
}

/// Reads one client's upstream socket and offers each datagram to the upstream-to-client direction.
async fn upstream_loop(sock: Arc<UdpSocket>, client: SocketAddr, down: Arc<Direction<SocketAddr>>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match sock.recv(&mut buf).await {
            Ok(n) => down.offer(client, &buf[..n]),
            // The upstream not listening yet (ICMP port unreachable): it may start later.
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

/// Waits until a datagram is due; false (and counted) if a cut covers that moment.
async fn wait_due(at: Duration, shape: &LinkShape, start: Instant, counters: &Counters) -> bool {
    let when = start + at;
    if when > Instant::now() {
        tokio::time::sleep_until(when).await;
    }
    if shape.cut_at(start.elapsed()) {
        counters.dropped(link::Drop::Cut);
        return false;
    }
    true
}

/// The client-to-upstream sender: each datagram, when due, through its client's upstream socket. A send that
/// fails (the upstream not listening) is a loss, as on any UDP path.
async fn up_sender(
    mut queue: mpsc::Receiver<Due<Arc<UdpSocket>>>,
    shape: LinkShape,
    dir: Arc<Direction<Arc<UdpSocket>>>,
) {
    while let Some(due) = queue.recv().await {
        if wait_due(due.at, &shape, dir.start, dir.counters()).await
            && due.to.send(&due.bytes).await.is_ok()
        {
            dir.counters().delivered(due.bytes.len());
        }
        dir.done();
    }
}

/// The upstream-to-client sender: each datagram, when due, from the listening socket to its client.
async fn down_sender(
    mut queue: mpsc::Receiver<Due<SocketAddr>>,
    listen: Arc<UdpSocket>,
    shape: LinkShape,
    dir: Arc<Direction<SocketAddr>>,
) {
    while let Some(due) = queue.recv().await {
        if wait_due(due.at, &shape, dir.start, dir.counters()).await
            && listen.send_to(&due.bytes, due.to).await.is_ok()
        {
            dir.counters().delivered(due.bytes.len());
        }
        dir.done();
    }
}
