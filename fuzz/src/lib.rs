//! The bodies of the fuzz targets: one function per decoder family that a peer's bytes or a file reach.
//! Each takes arbitrary bytes and must return without panicking, whatever the bytes. The binaries in
//! `fuzz_targets/` hand libFuzzer's inputs to these functions; the workspace test
//! `tests/fuzz_corpora.rs` includes this file and runs every function over its corpus in `fuzz/corpus/`,
//! so the harness code builds and runs in `cargo test` without cargo-fuzz.
//!
//! Where a decoder needs what the receiving side already knows (a message length, an id count, an OT
//! state), the body derives it from the first bytes of the input within the bounds the receiving side
//! itself would use, and passes the rest as the peer's message. With the top bit of the selector set, the
//! message is repeated or cut to the exact length the decoder expects, so the fuzzer gets past the length
//! checks into the decoding proper.

use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use mpc_core::ot::gilboa::{self, Bounds};
use mpc_core::ot::iknp::{Check, IknpSender, KAPPA};
use mpc_core::ot::{base, fixed_choice, softspoken};
use mpc_core::preprocessing::{decode_dealer_message, Dealer, Request};
use mpc_core::prg::Seed;
use mpc_core::ring::{Fp, Ring, Z128, Z64};
use mpc_ml::config::ModelKind;
use mpc_ml::data::{load_csv_str, DataSpec};
use mpc_ml::party_config::{parse_train_section, parse_train_section_for, Session};
use mpc_ml::peer_decoders;
use mpc_ml::vertical::{load_vertical_str, VerticalSpec};
use mpc_net::config::PartyConfig;
use mpc_net::wire::{
    hello_version, read_frame, read_stream_header, Control, Hello, CONTROL_MAX, PROTOCOL_VERSION,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The names of the targets, as in `fuzz_targets/` and `corpus/`.
pub const TARGETS: [&str; 9] = [
    "frames",
    "control",
    "hello",
    "dealer",
    "preprocessing",
    "psi",
    "net_config",
    "train_config",
    "csv",
];

/// Runs the body of target `name` on `data`; `false` if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "frames" => frames(data),
        "control" => control(data),
        "hello" => hello(data),
        "dealer" => dealer(data),
        "preprocessing" => preprocessing(data),
        "psi" => psi(data),
        "net_config" => net_config(data),
        "train_config" => train_config(data),
        "csv" => csv(data),
        _ => return false,
    }
    true
}

/// Polls a future that never waits (it reads from a byte slice) to its end.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a read from a byte slice waited"),
    }
}

/// A data stream: the first byte picks the frame maximum (`2^(b % 24)`), the rest is the stream (header,
/// then frames). Every frame read must be within the maximum.
pub fn frames(data: &[u8]) {
    let Some((&b, stream)) = data.split_first() else {
        return;
    };
    let max = 1usize << (b % 24);
    let mut r = stream;
    if let Ok(Some(_channel)) = ready(read_stream_header(&mut r)) {
        while let Ok(Some(frame)) = ready(read_frame(&mut r, max)) {
            assert!(frame.len() <= max, "a frame of {} > {max}", frame.len());
        }
    }
}

/// A control message. Whatever decodes must encode back to a message that decodes to the same value.
pub fn control(data: &[u8]) {
    if let Ok(msg) = Control::decode(data) {
        let again = msg.encode();
        assert!(again.len() <= CONTROL_MAX);
        assert_eq!(Control::decode(&again).ok(), Some(msg));
    }
}

/// A hello as the set-up reads it: decoded as a control message and checked against the one expected, or,
/// if it does not decode, read for another protocol version.
pub fn hello(data: &[u8]) {
    let expected = Hello {
        version: PROTOCOL_VERSION,
        session_id: "study-2026".into(),
        roster_digest: [7; 32],
        from: 1,
        to: 0,
        nonce: [0; 32],
    };
    match Control::decode(data) {
        Ok(Control::Hello(h)) => {
            if let Err(reason) = h.check(&expected) {
                assert!(!reason.chars().any(char::is_control), "{reason:?}");
            }
        }
        Ok(_) => {}
        Err(_) => {
            let _ = hello_version(data);
        }
    }
}

fn seeds(ring: u8) -> Vec<Seed> {
    (0..3u8)
        .map(|p| Seed::from_slice(&[ring * 16 + p; 32]).expect("32 bytes"))
        .collect()
}

/// Largest request the dealer body serves (in elements, and for a mask triple at most 16 columns of masks
/// of at most this many elements): larger ones are decoded but not answered, as their answer only costs
/// time and memory up to the limit the dealer enforces (`2^28` elements per request).
const DEALER_ELEMENTS: usize = 1 << 8;

/// Party 0's messages to the dealer, each as `[length u8][message]`, answered in order by one dealer of
/// three parties (as [`mpc_core::preprocessing::dealer::serve`] does, which stops at the first error).
pub fn dealer(data: &[u8]) {
    let mut d = Dealer::with_seeds(seeds(1), seeds(2), seeds(3));
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = (len as usize).min(tail.len());
        let (msg, tail) = tail.split_at(len);
        rest = tail;
        if let Ok((_, _, req)) = decode_dealer_message(msg) {
            // A mask triple's size also grows with its mask's shape: its columns are bounded too.
            let cols = match req {
                Request::MaskTriple { ref using, .. } => using.cols,
                _ => 0,
            };
            if req.elements().is_none_or(|e| e > DEALER_ELEMENTS) || cols > 16 {
                continue;
            }
        }
        if d.answer(msg).is_err() {
            return;
        }
    }
}

/// `body` as the peer's message: as is, or (with `exact`) repeated or cut to `len` bytes.
fn fit(body: &[u8], len: usize, exact: bool) -> Vec<u8> {
    if !exact {
        return body.to_vec();
    }
    if body.is_empty() {
        return vec![0; len];
    }
    body.iter().copied().cycle().take(len).collect()
}

fn blocks(rng: &mut ChaCha20Rng, n: usize) -> Vec<u128> {
    Z128::random_vec(rng, n).into_iter().map(|z| z.0).collect()
}

/// Gilboa multiplication, receiver's side, in ring `R`: `shape` picks the elements, the words per element
/// and the bounds; `body` is the sender's message.
fn gilboa_receive<R: mpc_core::ot::OtRing>(
    rng: &mut ChaCha20Rng,
    shape: u8,
    body: &[u8],
    exact: bool,
) {
    let elements = 1 + (shape % 4) as usize;
    let w = 1 + ((shape >> 2) % 3) as usize;
    let l = R::BITS as usize;
    let t = blocks(rng, elements * l);
    let y = R::random_vec(rng, elements);
    if shape & 0x20 == 0 {
        let msg = fit(body, gilboa::message_len(elements, w, l), exact);
        let _ = gilboa::receive(&t, &y, w, &msg);
    } else {
        let bounds = Bounds {
            choice_bits: l,
            value_bits: Some(if shape & 0x40 == 0 { 30 } else { 50 }),
            pad_hiding_bits: gilboa::PAD_HIDING_BITS,
        };
        let msg = fit(
            body,
            gilboa::message_len_bounded(elements, w, l, bounds),
            exact,
        );
        let _ = gilboa::receive_bounded(&t, &y, w, bounds, &msg);
    }
}

/// Fixed-choice Gilboa multiplication, receiver's side, in ring `R`.
fn fixed_receive<R: mpc_core::ot::OtRing>(
    rng: &mut ChaCha20Rng,
    shape: u8,
    body: &[u8],
    exact: bool,
) {
    let n = 1 + (shape % 3) as usize;
    let bits = 1 + ((shape >> 2) % 8) as u32;
    let values = 1 + ((shape >> 5) % 4) as usize;
    let x = R::random_vec(rng, values);
    let t = blocks(rng, values * bits as usize);
    let len = fixed_choice::message_len(values, n, R::BITS, bits);
    let _ = fixed_choice::receive(&t, &x, 5, bits, n, &fit(body, len, exact));
}

/// The OT-based preprocessing messages: the first byte picks the decoder (low 3 bits) and whether the
/// message is fitted to the expected length (top bit), the second the receiving side's shapes, the rest
/// is the peer's message.
pub fn preprocessing(data: &[u8]) {
    let [sel, shape, body @ ..] = data else {
        return;
    };
    let (sel, shape) = (*sel, *shape);
    let exact = sel & 0x80 != 0;
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(shape));
    match sel % 8 {
        0 => {
            // Base OT: the receiver's points, read by the sender.
            let count = 1 + (shape % 8) as usize;
            let (s, _) = base::Sender::start(&mut rng, 0, 1);
            let _ = s.finish(&fit(body, count * base::POINT_BYTES, exact), count);
        }
        1 => {
            // Base OT: the sender's point, read by the receiver.
            let choices: Vec<bool> = (0..1 + shape % 8).map(|i| shape >> i & 1 == 1).collect();
            let msg = fit(body, base::POINT_BYTES, exact);
            let _ = base::Receiver::respond(&mut rng, 0, 1, &msg, &choices);
        }
        2 => {
            // SoftSpokenOT set-up, then one extension message.
            let k = [1, 2, 4, 8][(shape % 4) as usize];
            let seeds = blocks(&mut rng, KAPPA);
            let delta = blocks(&mut rng, 1)[0];
            let setup = fit(body, softspoken::SETUP_BYTES, exact);
            if let Ok(mut s) = IknpSender::soft(delta, &seeds, k, &setup) {
                let n = 1 + ((shape >> 2) % 4) as usize;
                let rest = body.get(softspoken::SETUP_BYTES..).unwrap_or_default();
                let msg = fit(rest, s.message_len(n, Check::None), exact);
                let _ = s.extend(n, &msg, Check::None);
            }
        }
        3 => {
            // IKNP extension, with or without the KOS check.
            let seeds = blocks(&mut rng, KAPPA);
            let delta = blocks(&mut rng, 1)[0];
            let check = if shape & 1 == 1 {
                Check::Kos
            } else {
                Check::None
            };
            let n = 1 + ((shape >> 1) % 4) as usize;
            if let Ok(mut s) = IknpSender::new(delta, &seeds) {
                let msg = fit(body, s.message_len(n, check), exact);
                let _ = s.extend(n, &msg, check);
            }
        }
        4 => {
            if shape & 0x80 == 0 {
                gilboa_receive::<Z64>(&mut rng, shape, body, exact);
            } else {
                gilboa_receive::<Z128>(&mut rng, shape, body, exact);
            }
        }
        5 => {
            if shape & 0x80 == 0 {
                fixed_receive::<Z64>(&mut rng, shape, body, exact);
            } else {
                fixed_receive::<Z128>(&mut rng, shape, body, exact);
            }
        }
        6 => {
            // Ring elements as every protocol receives them.
            match shape % 3 {
                0 => drop(Z64::decode_slice(body)),
                1 => drop(Z128::decode_slice(body)),
                _ => drop(Fp::decode_slice(body)),
            }
        }
        _ => {
            // A dealer's seed.
            let _ = Seed::from_slice(body);
        }
    }
}

/// The messages of mpc-ml's protocols (PSI, vertical and horizontal training, the preprocessing choice):
/// the first byte picks the decoder, the second the receiving side's count, the rest is the message.
pub fn psi(data: &[u8]) {
    let [sel, len, body @ ..] = data else {
        return;
    };
    let len = *len as usize;
    match sel % 9 {
        0 => drop(peer_decoders::psi_announcement(body)),
        1 => drop(peer_decoders::psi_points(body, len % 8)),
        2 => drop(peer_decoders::psi_sorted_keys(body, len % 8)),
        3 => drop(peer_decoders::psi_count(body, len)),
        4 => drop(peer_decoders::psi_bitmap(body, len)),
        5 => drop(peer_decoders::vertical_announcement(body)),
        6 => drop(peer_decoders::vertical_moments(body, len % 8)),
        7 => drop(peer_decoders::training_announcement(body)),
        _ => drop(peer_decoders::preprocessing_choice(body)),
    }
}

/// A party configuration file as mpc-net reads it (roster, keys, network settings).
pub fn net_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PartyConfig::parse(Path::new("/fuzz/party.toml"), text.to_string());
    }
}

/// A configuration file's `[train]` table as mpc-ml reads it: the first byte picks whether it is checked
/// against a roster (and of how many parties, with or without a dealer).
pub fn train_config(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let path = Path::new("/fuzz/party.toml");
    if sel & 1 == 0 {
        let _ = parse_train_section(path, text);
    } else {
        let session = Session {
            parties: 1 + (sel >> 1 & 7) as usize,
            dealer: sel & 0x10 != 0,
        };
        let _ = parse_train_section_for(path, text, session);
    }
}

/// A party's CSV file: the first byte picks the loader (horizontal or vertical), the model and whether a
/// feature list is given; the columns are those of `data/hospital_a.csv`.
pub fn csv(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let model = if sel & 2 == 0 {
        ModelKind::Logistic
    } else {
        ModelKind::Linear
    };
    let features =
        (sel & 4 != 0).then(|| vec!["mean_radius".to_string(), "mean_texture".to_string()]);
    if sel & 1 == 0 {
        let spec = DataSpec {
            label: "malignant".into(),
            id_column: (sel & 8 == 0).then(|| "patient_id".to_string()),
            features,
            model,
        };
        let _ = load_csv_str(0, "fuzz.csv", text, &spec);
    } else {
        let spec = VerticalSpec {
            id_column: "patient_id".into(),
            label: "malignant".into(),
            features,
            model,
        };
        let _ = load_vertical_str(0, "fuzz.csv", text, &spec);
    }
}
