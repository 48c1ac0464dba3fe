//! What goes on the wire, and the checked decoders for it.
//!
//! - Every data stream (one QUIC unidirectional stream per peer, channel and direction) starts with an
//!   8-byte header: the magic `MPCn` and the channel number (u32, little endian).
//! - On every stream, messages are frames: a u32 little-endian length, then that many bytes. A length above
//!   the configured maximum is refused before anything is allocated, and a frame's buffer grows as its bytes
//!   arrive ([`read_frame_body`]), so an announced length costs nothing until the bytes come. Ring vectors
//!   travel as the raw bytes mpc-core encodes.
//! - The control stream (one bidirectional stream per connection) carries [`Control`] messages, bincode
//!   encoded, in frames of at most [`CONTROL_MAX`] bytes; every decoded message is checked. The set-up
//!   sends a [`Hello`] each way (with the sender's fresh per-run nonce), then, once every link is up, a
//!   [`Control::Run`] with the run id that binds every party's nonce ([`crate::run`]).
//!
//! The decoders are plain functions over bytes or any `AsyncRead`, so the proptests and the fuzz targets
//! (`fuzz/`, targets `frames`, `control` and `hello`) drive them without a socket.

use mpc_core::net::ChannelId;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Version of this wire format, checked in the hello. Version 2 added the hello's nonce and the run check.
pub const PROTOCOL_VERSION: u32 = 2;

/// First bytes of every data stream.
pub const MAGIC: [u8; 4] = *b"MPCn";

/// Size of a data stream's header.
pub const STREAM_HEADER_LEN: usize = 8;

/// Largest control frame.
pub const CONTROL_MAX: usize = 16 * 1024;

/// Longest abort reason kept (longer ones are cut).
pub const REASON_MAX: usize = 1024;

/// A frame or header that cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A frame announced more bytes than allowed.
    #[error("a frame of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Announced length.
        len: u64,
        /// The maximum.
        max: usize,
    },
    /// The stream ended inside a frame or header.
    #[error("the stream ended inside a frame")]
    Truncated,
    /// A stream header without the magic.
    #[error("a stream header without the magic bytes (got {0:02x?})")]
    BadMagic([u8; 4]),
    /// A control message that does not decode or is out of bounds.
    #[error("bad control message: {0}")]
    BadControl(String),
    /// The transport failed underneath.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Encodes a data stream's header.
pub fn encode_stream_header(channel: ChannelId) -> [u8; STREAM_HEADER_LEN] {
    let mut h = [0u8; STREAM_HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4..].copy_from_slice(&channel.to_le_bytes());
    h
}

/// Decodes a data stream's header.
pub fn decode_stream_header(h: &[u8; STREAM_HEADER_LEN]) -> Result<ChannelId, FrameError> {
    let magic: [u8; 4] = [h[0], h[1], h[2], h[3]];
    if magic != MAGIC {
        return Err(FrameError::BadMagic(magic));
    }
    Ok(u32::from_le_bytes([h[4], h[5], h[6], h[7]]))
}

/// Checks a frame's length prefix against the maximum.
pub fn decode_frame_len(prefix: [u8; 4], max: usize) -> Result<usize, FrameError> {
    let len = u32::from_le_bytes(prefix) as u64;
    if len > max as u64 {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(len as usize)
}

/// The length prefix of a frame of `len` bytes, or `None` if it cannot be framed.
pub fn frame_prefix(len: usize) -> Option<[u8; 4]> {
    u32::try_from(len).ok().map(u32::to_le_bytes)
}

/// Reads a data stream's header; `None` if the stream ended before any byte.
pub async fn read_stream_header<R: AsyncRead + Unpin>(
    r: &mut R,
) -> Result<Option<ChannelId>, FrameError> {
    let mut h = [0u8; STREAM_HEADER_LEN];
    if !read_full(r, &mut h).await? {
        return Ok(None);
    }
    decode_stream_header(&h).map(Some)
}

/// Reads one frame of at most `max` bytes; `None` at a clean end of stream (between frames).
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let Some(len) = read_frame_len(r, max).await? else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    read_frame_body(r, len, &mut buf).await?;
    Ok(Some(buf))
}

/// Reads a frame's length prefix and checks it against `max`; `None` at a clean end of stream.
pub async fn read_frame_len<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<usize>, FrameError> {
    let mut prefix = [0u8; 4];
    if !read_full(r, &mut prefix).await? {
        return Ok(None);
    }
    decode_frame_len(prefix, max).map(Some)
}

/// First allocation for a frame's body.
pub const FIRST_CHUNK: usize = 1024;

/// Appends exactly `len` bytes of `r` to `buf`. The buffer grows as bytes arrive, never ahead of them:
/// it starts at [`FIRST_CHUNK`] bytes and at most doubles whenever it is full, never past `len`. So a peer
/// that announces a large frame and sends a few bytes costs a few bytes (at most twice what arrived, or
/// [`FIRST_CHUNK`]), not the announced length. `Truncated` if the stream ends first (`buf` keeps what
/// arrived).
pub async fn read_frame_body<R: AsyncRead + Unpin>(
    r: &mut R,
    len: usize,
    buf: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let end = buf.len().saturating_add(len);
    let mut rest = (&mut *r).take(len as u64);
    while buf.len() < end {
        if buf.len() == buf.capacity() {
            let grow = buf.capacity().max(FIRST_CHUNK).min(end - buf.len());
            buf.reserve_exact(grow);
        }
        // Reads into the spare capacity (no zero-filling pass), at most what `take` still allows.
        if rest.read_buf(buf).await? == 0 {
            return Err(FrameError::Truncated);
        }
    }
    Ok(())
}

/// Fills `buf`. Returns false if the stream ended before the first byte, an error if it ended later.
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> Result<bool, FrameError> {
    let mut have = 0;
    while have < buf.len() {
        let n = r.read(&mut buf[have..]).await?;
        if n == 0 {
            return if have == 0 {
                Ok(false)
            } else {
                Err(FrameError::Truncated)
            };
        }
        have += n;
    }
    Ok(true)
}

/// The first message each side sends on a new connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub version: u32,
    /// The sender's session id.
    pub session_id: String,
    /// The sender's roster digest.
    pub roster_digest: [u8; 32],
    /// The sender's party id.
    pub from: u64,
    /// The party id the sender believes it talks to.
    pub to: u64,
    /// The sender's fresh random nonce for this run (the same on all its connections); every party's
    /// nonce goes into the run id ([`crate::run::run_id`]) that [`Control::Run`] confirms.
    pub nonce: [u8; 32],
}

impl Hello {
    /// Compares a received hello with what we expect from `peer`; the error says which field differs.
    /// The nonce is not compared (it is fresh): the run check binds it.
    pub fn check(&self, expected: &Hello) -> Result<(), String> {
        if self.version != expected.version {
            return Err(format!(
                "protocol version {} (ours is {})",
                self.version, expected.version
            ));
        }
        if self.session_id != expected.session_id {
            return Err(format!(
                "session id '{}' (ours is '{}')",
                sanitize(&self.session_id),
                expected.session_id
            ));
        }
        if self.roster_digest != expected.roster_digest {
            return Err(format!(
                "roster digest {} (ours is {}): the configuration files list different parties",
                hex8(&self.roster_digest),
                hex8(&expected.roster_digest)
            ));
        }
        if self.from != expected.from || self.to != expected.to {
            return Err(format!(
                "party ids {} -> {} (expected {} -> {})",
                self.from, self.to, expected.from, expected.to
            ));
        }
        Ok(())
    }
}

/// The first 8 bytes of a digest in hex.
pub(crate) fn hex8(d: &[u8; 32]) -> String {
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Messages of the control stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Control {
    /// Version, session and roster check; the first message each way.
    Hello(Hello),
    /// The sender aborts the session.
    Abort {
        /// Why.
        reason: String,
    },
    /// The sender leaves after having opened `streams` data streams to the receiver, all finished.
    Bye {
        /// Data streams the sender opened to the receiver.
        streams: u64,
    },
    /// The sender has read everything the receiver sent before its `Bye`.
    Drained,
    /// The run id the sender derived from every party's hello nonce; sent once every link is up, before
    /// anything else, and compared with ours.
    Run {
        /// [`crate::run::run_id`] of the sender's view.
        run_id: [u8; 32],
    },
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<CONTROL_MAX>()
}

impl Control {
    /// Encodes a control message (reasons are cut to [`REASON_MAX`] bytes).
    pub fn encode(&self) -> Vec<u8> {
        let msg = match self {
            Control::Abort { reason } => Control::Abort {
                reason: truncate(reason, REASON_MAX),
            },
            other => other.clone(),
        };
        // Encoding an owned enum of strings and integers into a Vec cannot fail; an empty frame would be
        // refused by the peer's decoder.
        bincode::serde::encode_to_vec(&msg, bincode_config()).unwrap_or_default()
    }

    /// Decodes and checks a control message: the whole frame must be used, strings are bounded.
    pub fn decode(bytes: &[u8]) -> Result<Control, FrameError> {
        if bytes.len() > CONTROL_MAX {
            return Err(FrameError::BadControl(format!(
                "{} bytes, more than {CONTROL_MAX}",
                bytes.len()
            )));
        }
        let (msg, used): (Control, usize) =
            bincode::serde::decode_from_slice(bytes, bincode_config())
                .map_err(|e| FrameError::BadControl(e.to_string()))?;
        if used != bytes.len() {
            return Err(FrameError::BadControl(format!(
                "{} trailing bytes",
                bytes.len() - used
            )));
        }
        match &msg {
            Control::Abort { reason } if reason.len() > REASON_MAX => Err(FrameError::BadControl(
                format!("an abort reason of {} bytes", reason.len()),
            )),
            Control::Hello(h) if h.session_id.len() > 256 => Err(FrameError::BadControl(format!(
                "a session id of {} bytes",
                h.session_id.len()
            ))),
            _ => Ok(msg),
        }
    }
}

/// The protocol version of a hello that does not decode as ours: every version starts a hello with the
/// `Hello` tag and the version, so a peer of another version gets a refusal that names both versions.
pub fn hello_version(bytes: &[u8]) -> Option<u32> {
    let (tag, used): (u32, usize) =
        bincode::serde::decode_from_slice(bytes, bincode_config()).ok()?;
    if tag != 0 {
        return None;
    }
    let (version, _): (u32, usize) =
        bincode::serde::decode_from_slice(&bytes[used..], bincode_config()).ok()?;
    Some(version)
}

/// Cuts a string to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Replaces control characters so that a peer's text cannot forge log lines or terminal escapes.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    fn frames(bytes: &[u8], max: usize) -> Result<Vec<Vec<u8>>, FrameError> {
        block_on(async {
            let mut r = bytes;
            let mut out = Vec::new();
            while let Some(f) = read_frame(&mut r, max).await? {
                out.push(f);
            }
            Ok(out)
        })
    }

    #[test]
    fn frames_round_trip() {
        let mut wire = Vec::new();
        for m in [&b"abc"[..], b"", &[7u8; 1000]] {
            wire.extend_from_slice(&frame_prefix(m.len()).unwrap());
            wire.extend_from_slice(m);
        }
        let got = frames(&wire, 1000).unwrap();
        assert_eq!(got, vec![b"abc".to_vec(), vec![], vec![7u8; 1000]]);
    }

    #[test]
    fn oversized_and_truncated_frames_are_refused() {
        let mut wire = frame_prefix(1001).unwrap().to_vec();
        wire.extend_from_slice(&[0; 1001]);
        assert!(matches!(
            frames(&wire, 1000),
            Err(FrameError::TooLarge { len: 1001, .. })
        ));
        let wire = [5, 0, 0, 0, 1, 2];
        assert!(matches!(frames(&wire, 1000), Err(FrameError::Truncated)));
        assert!(matches!(frames(&[1, 0], 1000), Err(FrameError::Truncated)));
        // A huge announced length is refused before any allocation.
        assert!(matches!(
            frames(&[0xff; 4], 1 << 20),
            Err(FrameError::TooLarge { .. })
        ));
    }

    /// A reader that yields `data` in pieces of at most `piece` bytes, then ends.
    struct Trickle<'a> {
        data: &'a [u8],
        piece: usize,
    }

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let n = self.piece.min(self.data.len()).min(buf.remaining());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_frame_buffer_grows_with_the_bytes_that_arrive_not_the_announced_length() {
        let huge = 1usize << 30;
        // 1 GiB announced, 10 bytes sent: the buffer holds the 10 bytes in the first chunk.
        let mut wire = frame_prefix(huge).unwrap().to_vec();
        wire.extend_from_slice(&[9; 10]);
        let mut buf = Vec::new();
        let got = block_on(async {
            let mut r = Trickle {
                data: &wire,
                piece: 3,
            };
            let len = read_frame_len(&mut r, u32::MAX as usize).await?.unwrap();
            assert_eq!(len, huge);
            read_frame_body(&mut r, len, &mut buf).await
        });
        assert!(matches!(got, Err(FrameError::Truncated)), "{got:?}");
        assert_eq!(buf, vec![9; 10]);
        assert!(buf.capacity() <= FIRST_CHUNK, "{}", buf.capacity());

        // 3 MiB of a 1 GiB frame: at most twice what arrived.
        let sent = 3 << 20;
        let body = vec![1u8; sent];
        let mut buf = Vec::new();
        let got = block_on(async {
            let mut r = Trickle {
                data: &body,
                piece: 64 << 10,
            };
            read_frame_body(&mut r, huge, &mut buf).await
        });
        assert!(matches!(got, Err(FrameError::Truncated)));
        assert_eq!(buf.len(), sent);
        assert!(buf.capacity() <= 2 * sent, "{}", buf.capacity());

        // A complete frame is read exactly, the buffer never past its length.
        let len = 100_000;
        let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut buf = Vec::new();
        block_on(async {
            let mut r = Trickle {
                data: &body,
                piece: 777,
            };
            read_frame_body(&mut r, len, &mut buf).await
        })
        .unwrap();
        assert_eq!(buf, body);
        assert_eq!(buf.capacity(), len);
    }

    #[test]
    fn a_hello_of_another_version_is_recognised() {
        #[derive(Serialize)]
        struct HelloV1 {
            version: u32,
            session_id: String,
            roster_digest: [u8; 32],
            from: u64,
            to: u64,
        }
        #[derive(Serialize)]
        enum ControlV1 {
            Hello(HelloV1),
        }
        let v1 = ControlV1::Hello(HelloV1 {
            version: 1,
            session_id: "s".into(),
            roster_digest: [0; 32],
            from: 0,
            to: 1,
        });
        let bytes = bincode::serde::encode_to_vec(&v1, bincode_config()).unwrap();
        assert!(Control::decode(&bytes).is_err());
        assert_eq!(hello_version(&bytes), Some(1));
        assert_eq!(hello_version(&Control::Drained.encode()), None);
    }

    #[test]
    fn stream_headers_round_trip_and_check_the_magic() {
        for c in [0, 1, u32::MAX - 1, u32::MAX] {
            assert_eq!(decode_stream_header(&encode_stream_header(c)).unwrap(), c);
        }
        assert!(matches!(
            decode_stream_header(b"HTTP/1.1"),
            Err(FrameError::BadMagic(_))
        ));
    }

    #[test]
    fn control_messages_round_trip_and_reasons_are_cut() {
        let hello = Control::Hello(Hello {
            version: PROTOCOL_VERSION,
            session_id: "s".into(),
            roster_digest: [3; 32],
            from: 0,
            to: 1,
            nonce: [5; 32],
        });
        let run = Control::Run { run_id: [6; 32] };
        for m in [hello, run, Control::Bye { streams: 7 }, Control::Drained] {
            assert_eq!(Control::decode(&m.encode()).unwrap(), m);
        }
        let long = Control::Abort {
            reason: "é".repeat(REASON_MAX),
        };
        match Control::decode(&long.encode()).unwrap() {
            Control::Abort { reason } => {
                assert!(reason.len() <= REASON_MAX && reason.len() >= REASON_MAX - 1)
            }
            other => panic!("{other:?}"),
        }
        let mut trailing = Control::Drained.encode();
        trailing.push(0);
        assert!(Control::decode(&trailing).is_err());
    }

    #[test]
    fn hello_check_names_the_field() {
        let ours = Hello {
            version: 1,
            session_id: "a".into(),
            roster_digest: [0; 32],
            from: 1,
            to: 0,
            nonce: [0; 32],
        };
        let mut theirs = ours.clone();
        theirs.nonce = [7; 32];
        assert!(
            theirs.check(&ours).is_ok(),
            "the nonce is fresh, not compared"
        );
        theirs.session_id = "b\x1b[31m".into();
        let e = theirs.check(&ours).unwrap_err();
        assert!(e.contains("session id 'b?[31m'"), "{e}");
        let mut theirs = ours.clone();
        theirs.roster_digest = [1; 32];
        assert!(theirs.check(&ours).unwrap_err().contains("roster digest"));
        let mut theirs = ours.clone();
        theirs.version = 9;
        assert!(theirs
            .check(&ours)
            .unwrap_err()
            .contains("protocol version 9"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn frame_decoder_never_panics_nor_overallocates(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            // The maximum is small, so any frame the decoder accepts is bounded by it and by the input.
            match frames(&bytes, 512) {
                Ok(fs) => {
                    let total: usize = fs.iter().map(|f| f.len() + 4).sum();
                    prop_assert_eq!(total, bytes.len());
                    prop_assert!(fs.iter().all(|f| f.len() <= 512));
                }
                Err(FrameError::TooLarge { len, .. }) => prop_assert!(len > 512),
                Err(FrameError::Truncated) => {}
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }

        #[test]
        fn control_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(msg) = Control::decode(&bytes) {
                // Whatever decodes is within bounds and survives a round trip.
                prop_assert_eq!(Control::decode(&msg.encode()).unwrap(), msg);
            }
        }

        #[test]
        fn control_decoder_handles_huge_length_fields(tag in 0u8..4, len in any::<u64>()) {
            let mut bytes = vec![tag, 0xff];
            bytes.extend_from_slice(&len.to_le_bytes());
            let _ = Control::decode(&bytes);
        }

        #[test]
        fn stream_header_decoder_accepts_exactly_the_magic(h in any::<[u8; 8]>()) {
            prop_assert_eq!(decode_stream_header(&h).is_ok(), h[..4] == MAGIC);
        }
    }
}
