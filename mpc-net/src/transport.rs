//! QUIC tuning and the UDP endpoint: [`MeshOptions`], quinn's transport configuration (receive windows large
//! enough for 16 MB messages to flow at speed, keep-alive and idle timeout for detecting a dead peer, 4 KiB
//! datagrams at most, and stream limits: one control stream and [`MeshOptions::max_streams_per_peer`] data
//! streams per peer) and a socket with 4 MiB buffers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{IdleTimeout, MtuDiscoveryConfig, TransportConfig, VarInt};

use crate::config::NetworkSettings;
use crate::error::{NetError, Result};

/// Settings of a mesh. The defaults suit a deployment; [`crate::local`] uses larger first datagrams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshOptions {
    /// How long to keep trying to reach every peer before failing with the list of missing parties.
    pub connect_timeout: Duration,
    /// A peer silent for this long (no packet, not even a keep-alive) is lost. Keep-alives go every third of it.
    pub idle_timeout: Duration,
    /// Largest frame (message) accepted from a peer or sent to one.
    pub max_frame: usize,
    /// UDP payload size used from the start (at least 1200; larger only where the path is known to allow it).
    pub initial_mtu: u16,
    /// Largest UDP payload path-MTU discovery may reach (quinn 0.11 stalls with 8 KB datagrams).
    pub max_mtu: u16,
    /// How long [`crate::Mesh::close`] waits for peers to confirm they read everything.
    pub close_timeout: Duration,
    /// Socket send and receive buffer sizes (best effort: the OS may cap them).
    pub socket_buffer: usize,
    /// Data streams a peer may open over the whole session (one per channel it sends on). The protocols of
    /// this workspace use a handful of channels (the main one, two per OT source, one per background
    /// producer, the dealer's four); the workspace's multi-process and training tests open at most 4 per
    /// peer. A peer that opens more aborts the session, and this party refuses to send on more channels
    /// than this to one peer.
    pub max_streams_per_peer: usize,
    /// Messages one `(peer, channel)` inbox holds before its stream is no longer read (backpressure).
    pub inbox_messages: usize,
    /// Bytes one `(peer, channel)` inbox holds before its stream is no longer read (a single larger frame,
    /// up to `max_frame`, is taken when the inbox is empty). At most `u32::MAX`.
    pub inbox_bytes: usize,
}

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions {
            connect_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(6),
            max_frame: 256 << 20,
            initial_mtu: 1200,
            max_mtu: 4096,
            close_timeout: Duration::from_secs(5),
            socket_buffer: 4 << 20,
            max_streams_per_peer: 32,
            inbox_messages: 4096,
            inbox_bytes: 64 << 20,
        }
    }
}

impl MeshOptions {
    /// These options with the values of a configuration file's `[network]` table applied.
    pub fn with_settings(mut self, s: &NetworkSettings) -> Self {
        if let Some(t) = s.connect_timeout {
            self.connect_timeout = t;
        }
        if let Some(t) = s.idle_timeout {
            self.idle_timeout = t;
        }
        if let Some(m) = s.max_frame_bytes {
            self.max_frame = m;
        }
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(NetError::InvalidArgument(m.to_string()));
        if self.initial_mtu < 1200 || self.max_mtu < self.initial_mtu {
            return bad("MTUs must satisfy 1200 <= initial_mtu <= max_mtu");
        }
        if self.idle_timeout < Duration::from_millis(100)
            || self.idle_timeout > Duration::from_secs(3600)
        {
            return bad("idle_timeout must be between 100 ms and one hour");
        }
        if self.max_frame > u32::MAX as usize {
            return bad("max_frame must fit in 32 bits");
        }
        if self.max_streams_per_peer == 0 || self.max_streams_per_peer > 1 << 16 {
            return bad("max_streams_per_peer must be between 1 and 65536");
        }
        if self.inbox_messages == 0 || self.inbox_bytes == 0 || self.inbox_bytes > u32::MAX as usize
        {
            return bad("inbox_messages must be at least 1, inbox_bytes between 1 and 2^32 - 1");
        }
        Ok(())
    }

    pub(crate) fn transport(&self) -> Result<Arc<TransportConfig>> {
        let mut t = TransportConfig::default();
        let idle = IdleTimeout::try_from(self.idle_timeout)
            .map_err(|e| NetError::InvalidArgument(format!("idle_timeout: {e}")))?;
        t.max_idle_timeout(Some(idle));
        t.keep_alive_interval(Some(self.idle_timeout / 3));
        t.stream_receive_window(VarInt::from_u32(32 << 20));
        t.receive_window(VarInt::from_u32(128 << 20));
        t.send_window(128 << 20);
        // One data stream per channel and direction, and one control stream. One stream more than the limit
        // is let through so that the mesh sees it and aborts naming the peer (instead of the peer's open
        // waiting for credit forever).
        let uni = u32::try_from(self.max_streams_per_peer + 1).unwrap_or(u32::MAX);
        t.max_concurrent_uni_streams(VarInt::from_u32(uni));
        t.max_concurrent_bidi_streams(VarInt::from_u32(1));
        t.initial_mtu(self.initial_mtu);
        let mut mtu = MtuDiscoveryConfig::default();
        mtu.upper_bound(self.max_mtu);
        t.mtu_discovery_config(Some(mtu));
        Ok(Arc::new(t))
    }
}

/// A UDP socket bound to `addr` with the requested buffer sizes.
pub fn bind_udp(addr: SocketAddr, buffer: usize) -> Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let err = |e: std::io::Error| NetError::Listen {
        addr,
        message: e.to_string(),
    };
    let sock =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    // Best effort: the kernel caps these at net.core.[rw]mem_max.
    let _ = sock.set_recv_buffer_size(buffer);
    let _ = sock.set_send_buffer_size(buffer);
    sock.bind(&addr.into()).map_err(err)?;
    Ok(sock.into())
}

/// A quinn endpoint on `socket`, serving with `server` and able to dial.
pub fn endpoint(
    socket: std::net::UdpSocket,
    server: quinn::ServerConfig,
    opts: &MeshOptions,
) -> Result<quinn::Endpoint> {
    let addr = socket
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let mut cfg = quinn::EndpointConfig::default();
    cfg.max_udp_payload_size(opts.max_mtu.max(1200))
        .map_err(|e| NetError::Listen {
            addr,
            message: e.to_string(),
        })?;
    quinn::Endpoint::new(cfg, Some(server), socket, Arc::new(quinn::TokioRuntime)).map_err(|e| {
        NetError::Listen {
            addr,
            message: e.to_string(),
        }
    })
}
