//! Gilboa multiplication ("Two party RSA key generation", CRYPTO 1999): correlated OTs turn a sender's
//! value `x` and a receiver's value `y` into additive shares of `x * y` in Z/2^l, here with a vector `x`
//! (a vector OLE: one choice element `y` times a whole vector of `w` elements, as needed for matrix-vector
//! triples).
//!
//! For bit `k` of `y` (OT number `e * l + k` for element `e`) the IKNP outputs are `q` at the sender and
//! `t = q xor y_k Delta` at the receiver. The sender derives `s0 = H(q)` and `s1 = H(q xor Delta)` (as `w`
//! words each, [`super::hash::ccr_hash`] with counters) and sends `tau = s0 - s1 + x mod 2^(l-k)`; the
//! receiver takes `v = H(t) + y_k tau = s0 + y_k x mod 2^(l-k)`. Then
//! `sum_k 2^k v_k = sum_k 2^k s0_k + x y mod 2^l`, so the receiver's share is `sum_k 2^k v_k` and the
//! sender's is `-sum_k 2^k s0_k`. Only the low `l - k` bits of `tau` matter for bit `k` (higher bits are
//! multiplied away by `2^k`), so the sender sends `l - k` bits: `w l (l + 1) / 2` bits per element in all
//! (2080 bits for Z64, 8256 for Z128, with `w = 1`).
//!
//! Known bounds shorten this ([`Bounds`]): choice elements below `2^cb` need `cb` OTs, and sender values
//! below `2^v` in magnitude need words of only `v + 42` bits where `l - k` is longer, with pads of `v + 40`
//! bits that hide `x` statistically (SPDZ-style bounded masking: the receiver that chose 1 sees `x + s0`).
//!
//! The pads `s0`, `s1` of one OT are cut from its hash blocks at a stride of the most pad bits any of its
//! words needs, in whole bytes (`PadLayout`): 72-bit pads take 10 bytes each, so a vector of 21 such words
//! hashes 14 blocks instead of 21.

use zeroize::Zeroizing;

use super::hash::{ccr_hash, ccr_hash_tweaked, Block};
use super::OtRing;

/// Bytes of the sender's message for `elements` choice elements with vectors of `w` words in a ring of `l` bits:
/// for single words the exact bits ([`send`]'s scalar path), else as [`message_len_bounded`].
pub fn message_len(elements: usize, w: usize, l: usize) -> usize {
    if w == 1 {
        let bits_per_word: usize = (0..l).map(|k| l - k).sum();
        return (elements * bits_per_word).div_ceil(8);
    }
    message_len_bounded(elements, w, l, Bounds::choices(l))
}

/// The bytes [`send_bounded`] sends under `bounds`: `choice_bits` OTs per element, bit `k` carrying `l - k`
/// bits per word, or `value_bits + 42` where short pads apply and that is shorter, each word in whole bytes
/// (whole 16-byte stores and loads instead of bit packing: about 4% more bytes for much less work).
pub fn message_len_bounded(elements: usize, w: usize, l: usize, bounds: Bounds) -> usize {
    let short = bounds.short_pads(l as u32);
    let bytes_per_word: usize = (0..bounds.choice_bits.min(l) as u32)
        .map(|k| word_bits(l as u32, k, short).div_ceil(8) as usize)
        .sum();
    elements * w * bytes_per_word
}

/// The default statistical hiding of short pads ([`Bounds::pad_hiding_bits`]): a sender word below `2^v` in
/// magnitude is hidden by pads of `v + 40` bits (the receiver that chose 1 sees `x + s0` with `s0` uniform
/// below `2^(v + 40)`: statistical distance below `2^-40` per word).
pub const PAD_HIDING_BITS: u32 = 40;

/// What both sides assume about the inputs, which shortens the message.
///
/// - Choice elements below `2^choice_bits`: one OT per bit.
/// - Sender words below `2^value_bits` in magnitude (signed; for example data that its owner multiplies):
///   bit `k`'s word then needs only `value_bits + pad_hiding_bits + 2` bits instead of `l - k` where that is
///   shorter, with pads of `value_bits + pad_hiding_bits` bits (each word within statistical distance
///   `2^-pad_hiding_bits` of uniform; [`PAD_HIDING_BITS`] by default). This applies only where
///   the short pads of the low bits and the full pads of the high bits together cover every bit of the
///   ring, so that the sender's share stays exactly uniform: pads of `p` bits with `0 < l - p - 2 <= p`
///   and `l - p - 2 < choice_bits` (at `l = 128`: `23 <= value_bits < 86` and
///   `choice_bits > 86 - value_bits`). A word beyond the bound gives a wrong product: the caller checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Choice elements are below `2^choice_bits` (at most the ring's bits).
    pub choice_bits: usize,
    /// Sender words are below `2^value_bits` in magnitude, if known.
    pub value_bits: Option<u32>,
    /// Bits by which short pads exceed `value_bits` (see [`Bounds::short_pads`]).
    pub pad_hiding_bits: u32,
}

impl Bounds {
    /// Choice elements below `2^choice_bits`, sender words unbounded.
    pub fn choices(choice_bits: usize) -> Self {
        Bounds {
            choice_bits,
            value_bits: None,
            pad_hiding_bits: PAD_HIDING_BITS,
        }
    }

    /// The short pads' bits, when they apply in a ring of `l` bits (see [`Bounds`]).
    pub fn short_pads(&self, l: u32) -> Option<u32> {
        let pads = self.value_bits?.checked_add(self.pad_hiding_bits)?;
        // The first OT whose full word (l - k bits) is no longer than a short one (pads + 2 bits).
        let first_full = l.checked_sub(pads + 2)?;
        let cb = self.choice_bits.min(l as usize);
        (first_full > 0 && pads >= first_full && (first_full as usize) < cb).then_some(pads)
    }

    /// OTs per choice element whose words use short pads in a ring of `l` bits (the statistically hiding
    /// ones: each carries one word per sender value), 0 if short pads do not apply.
    pub fn short_words(&self, l: u32) -> u32 {
        let short = self.short_pads(l);
        (0..self.choice_bits.min(l as usize) as u32)
            .filter(|&k| pad_bits(l, k, short) < l - k)
            .count() as u32
    }
}

/// Bits of bit `k`'s word: `l - k`, or its short pad's bits plus 2 (a signed tau) where short pads apply.
#[inline(always)]
fn word_bits(l: u32, k: u32, short: Option<u32>) -> u32 {
    match pad_bits(l, k, short) {
        p if p < l - k => p + 2,
        full => full,
    }
}

/// `v`'s low `bits` bits, sign-extended to 128.
#[inline(always)]
fn sign_extend(v: u128, bits: u32) -> u128 {
    if bits >= 128 {
        v
    } else {
        (((v << (128 - bits)) as i128) >> (128 - bits)) as u128
    }
}

/// OTs processed per inner chunk (bounds the scratch buffers).
const CHUNK_OTS: usize = 128;

/// Appends values of up to 128 bits to a little-endian bit stream (bit `i` of the stream is bit `i % 8` of
/// byte `i / 8`). Bits gather in a register and leave in whole 8- or 16-byte stores.
struct BitWriter {
    out: Vec<u8>,
    pos: usize,
    acc: u128,
    fill: u32,
}

impl BitWriter {
    /// A writer for a stream of at most `capacity` bytes.
    fn new(capacity: usize) -> Self {
        BitWriter {
            out: vec![0u8; capacity + 16],
            pos: 0,
            acc: 0,
            fill: 0,
        }
    }

    #[inline(always)]
    fn store<const N: usize>(&mut self, bytes: &[u8]) {
        match self
            .out
            .get_mut(self.pos..)
            .and_then(|s| s.first_chunk_mut::<N>())
        {
            Some(dst) => {
                if let Some(src) = bytes.first_chunk::<N>() {
                    *dst = *src;
                }
            }
            None => debug_assert!(false, "bit stream longer than its capacity"),
        }
        self.pos += N;
    }

    /// Appends the low `bits` bits of `v`.
    #[inline(always)]
    fn push(&mut self, v: u128, bits: u32) {
        self.push_masked(v & mask(bits), bits);
    }

    /// Appends `v`, which is below `2^bits`.
    #[inline(always)]
    fn push_masked(&mut self, v: u128, bits: u32) {
        // Invariant: fill < 64.
        self.acc |= v << self.fill;
        let total = self.fill + bits;
        if total >= 128 {
            let bytes = self.acc.to_le_bytes();
            self.store::<16>(&bytes);
            self.acc = if self.fill == 0 {
                0
            } else {
                v >> (128 - self.fill)
            };
            self.fill = total - 128;
        } else if total >= 64 {
            let bytes = (self.acc as u64).to_le_bytes();
            self.store::<8>(&bytes);
            self.acc >>= 64;
            self.fill = total - 64;
        } else {
            self.fill = total;
        }
    }

    #[inline(always)]
    fn push64(&mut self, v: u64, bits: u32) {
        self.push(v as u128, bits);
    }

    fn finish(mut self) -> Vec<u8> {
        let bytes = self.acc.to_le_bytes();
        self.store::<16>(&bytes);
        self.out
            .truncate(self.pos - 16 + self.fill.div_ceil(8) as usize);
        self.out
    }
}

/// Reads values of up to 128 bits from a little-endian bit stream whose length was checked beforehand (past
/// its end it reads zeros).
struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, bit: 0 }
    }

    #[inline(always)]
    fn read(&mut self, bits: u32) -> u128 {
        self.read_masked(bits, mask(bits))
    }

    /// [`BitReader::read`] with `m = mask(bits)` given.
    #[inline(always)]
    fn read_masked(&mut self, bits: u32, m: u128) -> u128 {
        let (byte, shift) = (self.bit / 8, (self.bit % 8) as u32);
        self.bit += bits as usize;
        let rest = self.bytes.get(byte..).unwrap_or(&[]);
        let word = match rest.first_chunk::<16>() {
            Some(w) => u128::from_le_bytes(*w),
            None => {
                let mut w = [0u8; 16];
                w[..rest.len()].copy_from_slice(rest);
                u128::from_le_bytes(w)
            }
        };
        let mut v = word >> shift;
        if shift > 0 && bits + shift > 128 {
            v |= (rest.get(16).copied().unwrap_or(0) as u128) << (128 - shift);
        }
        v & m
    }

    #[inline(always)]
    fn read64(&mut self, bits: u32) -> u64 {
        self.read(bits) as u64
    }
}

/// Pad bits of bit `k`'s word: the word's bits less the two of a signed tau where short pads apply, else
/// `l - k` (only the low `l - k` bits of a pad survive its shift by `k`).
#[inline(always)]
fn pad_bits(l: u32, k: u32, short: Option<u32>) -> u32 {
    match short {
        Some(p) if p + 2 < l - k => p,
        _ => l - k,
    }
}

/// The pad layout of one OT's message of `w` words: word `i`'s pad is read as the 16 bytes from byte
/// `i * stride` of the OT's hash blocks (as little-endian bytes), masked to its bits; `stride` is the most
/// pad bits any of the `cb` OTs of an element needs, in whole bytes. Pads shorter than the ring thus take
/// fewer blocks of hashing than one block per word (72-bit pads: 10 bytes instead of 16), at the price of one
/// unaligned load each.
#[derive(Clone, Copy)]
struct PadLayout {
    stride: usize,
    nb: usize,
}

impl PadLayout {
    fn new(w: usize, l: u32, cb: usize, short: Option<u32>) -> Self {
        let bits = (0..cb as u32)
            .map(|k| pad_bits(l, k, short))
            .max()
            .unwrap_or(l);
        let stride = bits.div_ceil(8) as usize;
        PadLayout {
            stride,
            nb: (w.saturating_sub(1) * stride + 16).div_ceil(16),
        }
    }

    /// Word `i`'s pad in one OT's hash blocks (as bytes), before masking.
    #[inline(always)]
    fn pad(&self, bytes: &[u8], i: usize) -> u128 {
        match bytes
            .get(i * self.stride..)
            .and_then(|b| b.first_chunk::<16>())
        {
            Some(b) => u128::from_le_bytes(*b),
            None => {
                debug_assert!(false, "a pad beyond its OT's hash blocks");
                0
            }
        }
    }
}

/// The hash blocks as the little-endian bytes the pads are read from.
fn pad_bytes(blocks: &mut [Block]) -> &[u8] {
    if cfg!(target_endian = "big") {
        blocks.iter_mut().for_each(|b| *b = b.to_le());
    }
    bytemuck::cast_slice(blocks)
}

fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// The sender's side for `x.len() / w` elements: given the correlated-OT outputs `q` (at least
/// `elements * l` of them) and `Delta`, returns the message for the receiver and the sender's shares of
/// `x_e * y_e` (`w` words per element, in the order of `x`).
pub fn send<R: OtRing>(
    q: &[Block],
    delta: Block,
    x: &[R],
    w: usize,
) -> (Vec<u8>, Zeroizing<Vec<R>>) {
    if w == 1 {
        return send_scalar(q, delta, x);
    }
    send_bounded(q, delta, x, w, Bounds::choices(R::BITS as usize))
}

/// [`send`] under `bounds`: `choice_bits` OTs per element (`q` holds `elements * choice_bits`), so the
/// product is `x_e * (y_e mod 2^choice_bits)`; with `value_bits`, every `x` must be below `2^value_bits` in
/// magnitude.
pub fn send_bounded<R: OtRing>(
    q: &[Block],
    delta: Block,
    x: &[R],
    w: usize,
    bounds: Bounds,
) -> (Vec<u8>, Zeroizing<Vec<R>>) {
    let l = R::BITS as usize;
    let cb = bounds.choice_bits.min(l);
    let short = bounds.short_pads(l as u32);
    let elements = x.len().checked_div(w).unwrap_or(0);
    debug_assert!(q.len() >= elements * cb);
    let layout = PadLayout::new(w, l as u32, cb, short);
    let nb = layout.nb;
    let len = message_len_bounded(elements, w, l, bounds);
    // 16 bytes of slack: every word is stored as a whole block, the next one overwrites the rest.
    let mut out = vec![0u8; len + 16];
    let mut pos = 0;
    let mut share = Zeroizing::new(vec![0u128; elements * w]);
    let mut h0 = Zeroizing::new(vec![0u128; CHUNK_OTS * nb]);
    let mut h1 = Zeroizing::new(vec![0u128; CHUNK_OTS * nb]);
    let xw: Zeroizing<Vec<u128>> = Zeroizing::new(
        x.iter()
            .map(|v| sign_extend(v.to_u128(), l as u32))
            .collect(),
    );
    let total = elements * cb;
    let mut start = 0;
    while start < total {
        let end = (start + CHUNK_OTS).min(total);
        ccr_hash_tweaked(&q[start..end], 0, nb, &mut h0);
        ccr_hash_tweaked(&q[start..end], delta, nb, &mut h1);
        let (h0, h1) = (pad_bytes(&mut h0), pad_bytes(&mut h1));
        for j in start..end {
            let (e, k) = (j / cb, (j % cb) as u32);
            let width = word_bits(l as u32, k, short).div_ceil(8) as usize;
            // Full words: pads and tau modulo 2^(l - k). Short words: pads below 2^p, tau signed.
            let pm = mask(pad_bits(l as u32, k, short));
            let off = (j - start) * nb * 16;
            let (s0, s1) = (&h0[off..off + nb * 16], &h1[off..off + nb * 16]);
            let (xs, shares) = (&xw[e * w..(e + 1) * w], &mut share[e * w..(e + 1) * w]);
            for (i, (&x, sh)) in xs.iter().zip(shares.iter_mut()).enumerate() {
                let a = layout.pad(s0, i) & pm;
                let b = layout.pad(s1, i) & pm;
                // The word's bits beyond its own are dropped by the receiver's mask.
                let tau = a.wrapping_sub(b).wrapping_add(x).to_le_bytes();
                if let Some(dst) = out.get_mut(pos..).and_then(|o| o.first_chunk_mut::<16>()) {
                    *dst = tau;
                }
                pos += width;
                *sh = sh.wrapping_sub(a << k);
            }
        }
        start = end;
    }
    out.truncate(len);
    let shares = Zeroizing::new(share.iter().map(|&v| R::from_i128(v as i128)).collect());
    (out, shares)
}

/// The receiver's side: given the correlated-OT outputs `t`, its choice elements `y` and the sender's
/// message, returns its shares of `x_e * y_e` (`w` words per element). A message of the wrong length is an
/// error.
pub fn receive<R: OtRing>(
    t: &[Block],
    y: &[R],
    w: usize,
    msg: &[u8],
) -> std::result::Result<Zeroizing<Vec<R>>, String> {
    if w == 1 {
        let expected = message_len(y.len(), 1, R::BITS as usize);
        if msg.len() != expected {
            return Err(format!(
                "a multiplication message of {} bytes, expected {expected}",
                msg.len()
            ));
        }
        return Ok(receive_scalar(t, y, msg));
    }
    receive_bounded(t, y, w, Bounds::choices(R::BITS as usize), msg)
}

/// [`receive`] under `bounds` (see [`send_bounded`]).
pub fn receive_bounded<R: OtRing>(
    t: &[Block],
    y: &[R],
    w: usize,
    bounds: Bounds,
    msg: &[u8],
) -> std::result::Result<Zeroizing<Vec<R>>, String> {
    let l = R::BITS as usize;
    let cb = bounds.choice_bits.min(l);
    let short = bounds.short_pads(l as u32);
    let elements = y.len();
    let expected = message_len_bounded(elements, w, l, bounds);
    if msg.len() != expected {
        return Err(format!(
            "a multiplication message of {} bytes, expected {expected}",
            msg.len()
        ));
    }
    debug_assert!(t.len() >= elements * cb);
    let layout = PadLayout::new(w, l as u32, cb, short);
    let nb = layout.nb;
    let mut pos = 0;
    let mut share = Zeroizing::new(vec![0u128; elements * w]);
    let mut h = Zeroizing::new(vec![0u128; CHUNK_OTS * nb]);
    let total = elements * cb;
    let mut start = 0;
    while start < total {
        let end = (start + CHUNK_OTS).min(total);
        ccr_hash_tweaked(&t[start..end], 0, nb, &mut h);
        let h = pad_bytes(&mut h);
        for j in start..end {
            let (e, k) = (j / cb, (j % cb) as u32);
            let bits = word_bits(l as u32, k, short);
            let pads = pad_bits(l as u32, k, short);
            // A short word's tau is signed; a full one is taken modulo 2^(l - k) by the shift.
            let ext = if pads < l as u32 - k { bits } else { 128 };
            let (pm, wm) = (mask(pads), mask(bits));
            let pad = &h[(j - start) * nb * 16..(j - start + 1) * nb * 16];
            let shares = &mut share[e * w..(e + 1) * w];
            let width = bits.div_ceil(8) as usize;
            if (y[e].to_u128() >> k) & 1 == 0 {
                // Choice 0: the share is the pad; the correction is not needed.
                for (i, sh) in shares.iter_mut().enumerate() {
                    *sh = sh.wrapping_add((layout.pad(pad, i) & pm) << k);
                }
                pos += w * width;
            } else {
                for (i, sh) in shares.iter_mut().enumerate() {
                    let tau = sign_extend(read_word(msg, pos) & wm, ext);
                    pos += width;
                    *sh = sh.wrapping_add((layout.pad(pad, i) & pm).wrapping_add(tau) << k);
                }
            }
        }
        start = end;
    }
    Ok(Zeroizing::new(
        share.iter().map(|&v| R::from_i128(v as i128)).collect(),
    ))
}

/// The 16 bytes of `msg` from `pos` as a little-endian block (zeros past its end; the length was checked).
#[inline(always)]
fn read_word(msg: &[u8], pos: usize) -> u128 {
    let rest = msg.get(pos..).unwrap_or(&[]);
    match rest.first_chunk::<16>() {
        Some(b) => u128::from_le_bytes(*b),
        None => {
            let mut b = [0u8; 16];
            b[..rest.len()].copy_from_slice(rest);
            u128::from_le_bytes(b)
        }
    }
}

/// [`send`] for `w = 1`: one hash block per message, whole elements per chunk of 128 OTs.
fn send_scalar<R: OtRing>(q: &[Block], delta: Block, x: &[R]) -> (Vec<u8>, Zeroizing<Vec<R>>) {
    let l = R::BITS as usize;
    let lmask = mask(l as u32);
    let mut writer = BitWriter::new(message_len(x.len(), 1, l));
    let mut share = Zeroizing::new(vec![R::ZERO; x.len()]);
    let mut h0 = Zeroizing::new([0u128; CHUNK_OTS]);
    let mut h1 = Zeroizing::new([0u128; CHUNK_OTS]);
    let per_chunk = CHUNK_OTS / l;
    for (c, (xs, shares)) in x
        .chunks(per_chunk)
        .zip(share.chunks_mut(per_chunk))
        .enumerate()
    {
        let qs = &q[c * CHUNK_OTS..c * CHUNK_OTS + xs.len() * l];
        let n = qs.len();
        h0[..n].copy_from_slice(qs);
        h1[..n].iter_mut().zip(qs).for_each(|(h, q)| *h = q ^ delta);
        ccr_hash(&mut h0[..n]);
        ccr_hash(&mut h1[..n]);
        for (e, (x, sh)) in xs.iter().zip(shares.iter_mut()).enumerate() {
            let (h0, h1) = (&h0[e * l..(e + 1) * l], &h1[e * l..(e + 1) * l]);
            if l == 64 {
                // Z64: all in 64-bit words.
                let x = x.to_u128() as u64;
                let mut acc = 0u64;
                for (k, (&a, &b)) in h0.iter().zip(h1.iter()).enumerate() {
                    let (a, b) = (a as u64, b as u64);
                    writer.push64(a.wrapping_sub(b).wrapping_add(x), 64 - k as u32);
                    acc = acc.wrapping_sub(a << k);
                }
                *sh = R::from_i128(acc as i128);
                continue;
            }
            let x = x.to_u128();
            let mut acc = 0u128;
            for (k, (&a, &b)) in h0.iter().zip(h1.iter()).enumerate() {
                let (a, b) = (a & lmask, b & lmask);
                let bits = (l - k) as u32;
                writer.push(a.wrapping_sub(b).wrapping_add(x), bits);
                acc = acc.wrapping_sub(a << k);
            }
            *sh = R::from_i128(acc as i128);
        }
    }
    (writer.finish(), share)
}

/// [`receive`] for `w = 1`, after the length check.
fn receive_scalar<R: OtRing>(t: &[Block], y: &[R], msg: &[u8]) -> Zeroizing<Vec<R>> {
    let l = R::BITS as usize;
    let lmask = mask(l as u32);
    let mut reader = BitReader::new(msg);
    let mut share = Zeroizing::new(vec![R::ZERO; y.len()]);
    let mut h = Zeroizing::new([0u128; CHUNK_OTS]);
    let per_chunk = CHUNK_OTS / l;
    for (c, (ys, shares)) in y
        .chunks(per_chunk)
        .zip(share.chunks_mut(per_chunk))
        .enumerate()
    {
        let ts = &t[c * CHUNK_OTS..c * CHUNK_OTS + ys.len() * l];
        let n = ts.len();
        h[..n].copy_from_slice(ts);
        ccr_hash(&mut h[..n]);
        for (e, (y, sh)) in ys.iter().zip(shares.iter_mut()).enumerate() {
            let h = &h[e * l..(e + 1) * l];
            if l == 64 {
                let y = y.to_u128() as u64;
                let mut acc = 0u64;
                for (k, &h) in h.iter().enumerate() {
                    let tau = reader.read64(64 - k as u32);
                    let take = 0u64.wrapping_sub((y >> k) & 1);
                    acc = acc.wrapping_add((h as u64).wrapping_add(tau & take) << k);
                }
                *sh = R::from_i128(acc as i128);
                continue;
            }
            let y = y.to_u128();
            let mut acc = 0u128;
            for (k, &h) in h.iter().enumerate() {
                let bits = (l - k) as u32;
                let tau = reader.read(bits);
                let take = 0u128.wrapping_sub((y >> k) & 1);
                acc = acc.wrapping_add((h & lmask).wrapping_add(tau & take) << k);
            }
            *sh = R::from_i128(acc as i128);
        }
    }
    share
}

/// The IKNP choice bits for choice elements `y`: bit `k` of `y_e` is OT `e * l + k`, padded with zeros to
/// whole blocks of 128 OTs.
pub fn choice_blocks<R: OtRing>(y: &[R]) -> Zeroizing<Vec<Block>> {
    let l = R::BITS as usize;
    let blocks = (y.len() * l).div_ceil(128);
    let mut out = Zeroizing::new(vec![0u128; blocks]);
    let per = 128 / l;
    for (e, v) in y.iter().enumerate() {
        out[e / per] |= v.to_u128() << ((e % per) * l);
    }
    out
}

/// [`choice_blocks`] for choice elements below `2^cb`: bit `k < cb` of `y_e` is OT `e * cb + k`.
pub fn choice_blocks_bounded<R: OtRing>(y: &[R], cb: usize) -> Zeroizing<Vec<Block>> {
    let cb = cb.min(R::BITS as usize);
    if cb == R::BITS as usize {
        return choice_blocks(y);
    }
    let mut out = Zeroizing::new(vec![0u128; (y.len() * cb).div_ceil(128)]);
    for (e, v) in y.iter().enumerate() {
        let v = v.to_u128();
        for k in 0..cb {
            let j = e * cb + k;
            out[j / 128] |= ((v >> k) & 1) << (j % 128);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ot::iknp::{clear_pair as iknp_pair, Check};
    use crate::prg::Prg;
    use crate::ring::{Z128, Z64};
    use rand_core::RngCore;

    fn check<R: OtRing>(elements: usize, w: usize) {
        let mut rng = Prg::from_entropy();
        let (delta, mut s, mut r) = iknp_pair(&mut rng);
        let x = R::random_vec(&mut rng, elements * w);
        let mut y = R::random_vec(&mut rng, elements);
        if elements > 1 {
            y[0] = R::ZERO;
            y[1] = -R::ONE; // all bits set
        }
        let choices = choice_blocks(&y);
        let (u, t) = r.extend(&choices, Check::None, &mut rng);
        let q = s.extend(choices.len(), &u, Check::None).unwrap();
        let (msg, s_share) = send(&q, delta, &x, w);
        assert_eq!(msg.len(), message_len(elements, w, R::BITS as usize));
        let r_share = receive(&t, &y, w, &msg).unwrap();
        for e in 0..elements {
            for i in 0..w {
                assert_eq!(
                    s_share[e * w + i] + r_share[e * w + i],
                    x[e * w + i] * y[e],
                    "{} element {e} word {i}",
                    R::NAME
                );
            }
        }
        assert!(receive(&t, &y, w, &msg[1..]).is_err());
    }

    /// Choice elements below `2^cb`: `cb` OTs each, fewer bytes, the same products.
    #[test]
    fn bounded_choices_match_plaintext() {
        use crate::ring::{PowerOfTwoRing, Ring};
        let mut rng = Prg::from_entropy();
        let (delta, mut s, mut r) = iknp_pair(&mut rng);
        let (elements, w, cb) = (5, 3, 70);
        let x = Z128::random_vec(&mut rng, elements * w);
        let y: Vec<Z128> = Z128::random_vec(&mut rng, elements)
            .into_iter()
            .map(|v| Z128::from_i128((v.to_u128() & ((1u128 << cb) - 1)) as i128))
            .collect();
        let choices = choice_blocks_bounded(&y, cb);
        assert_eq!(choices.len(), (elements * cb).div_ceil(128));
        let (u, t) = r.extend(&choices, Check::None, &mut rng);
        let q = s.extend(choices.len(), &u, Check::None).unwrap();
        let bounds = Bounds::choices(cb);
        let (msg, s_share) = send_bounded(&q, delta, &x, w, bounds);
        assert_eq!(msg.len(), message_len_bounded(elements, w, 128, bounds));
        assert!(msg.len() < message_len(elements, w, 128));
        let r_share = receive_bounded(&t, &y, w, bounds, &msg).unwrap();
        for e in 0..elements {
            for i in 0..w {
                assert_eq!(s_share[e * w + i] + r_share[e * w + i], x[e * w + i] * y[e]);
            }
        }
        assert!(receive_bounded(&t, &y, w, bounds, &msg[1..]).is_err());
    }

    /// Pads are cut at a byte stride from as few hash blocks as their bits need.
    #[test]
    fn pads_take_only_the_bits_they_need() {
        // Short pads of 72 bits (74 for the full words of bits 54..69), 10 bytes apart: 21 words in 14
        // blocks, not 21.
        let short = Bounds {
            choice_bits: 70,
            value_bits: Some(32),
            pad_hiding_bits: PAD_HIDING_BITS,
        };
        let layout = PadLayout::new(21, 128, 70, short.short_pads(128));
        assert_eq!((layout.stride, layout.nb), (10, 14));
        // Full words need the whole ring at bit 0; Z64 packs two words per block.
        let full = PadLayout::new(21, 128, 70, None);
        assert_eq!((full.stride, full.nb), (16, 21));
        let z64 = PadLayout::new(3, 64, 64, None);
        assert_eq!((z64.stride, z64.nb), (8, 2));
        // Pad 1 is bytes 10..26: block 0's top 6 bytes, then block 1's low 10.
        let mut blocks = [u128::MAX << 80, 0x0b];
        let bytes = pad_bytes(&mut blocks);
        assert_eq!(layout.pad(bytes, 1), u128::MAX >> 80 | 0x0b << 48);
    }

    /// Sender words below `2^v` in magnitude (signed, at the bound's edges too): short pads, fewer bytes, the
    /// same products; outside the window where short pads keep the shares uniform, the plain lengths.
    #[test]
    fn bounded_values_shorten_the_message_and_match_plaintext() {
        use crate::ring::{PowerOfTwoRing, Ring};
        let mut rng = Prg::from_entropy();
        let (delta, mut s, mut r) = iknp_pair(&mut rng);
        let (elements, w, cb, v) = (7, 5, 70, 32u32);
        let limit = (1i128 << v) - 1;
        let mut x: Vec<Z128> = (0..elements * w)
            .map(|_| Z128::from_i128((rng.next_u64() as i128) % limit))
            .collect();
        x[0] = Z128::from_i128(limit);
        x[1] = Z128::from_i128(-limit);
        x[2] = Z128::ZERO;
        let mut y: Vec<Z128> = Z128::random_vec(&mut rng, elements)
            .into_iter()
            .map(|v| Z128::from_i128((v.to_u128() & ((1u128 << cb) - 1)) as i128))
            .collect();
        y[0] = Z128::from_i128((1i128 << cb) - 1);
        let choices = choice_blocks_bounded(&y, cb);
        let (u, t) = r.extend(&choices, Check::None, &mut rng);
        let q = s.extend(choices.len(), &u, Check::None).unwrap();
        let bounds = Bounds {
            choice_bits: cb,
            value_bits: Some(v),
            pad_hiding_bits: PAD_HIDING_BITS,
        };
        assert_eq!(bounds.short_pads(128), Some(v + PAD_HIDING_BITS));
        // Short words for the bits k with 72 + 2 < 128 - k: 0..53.
        assert_eq!(bounds.short_words(128), 54);
        let longer = Bounds {
            pad_hiding_bits: 60,
            ..bounds
        };
        assert_eq!(longer.short_pads(128), Some(v + 60));
        assert_eq!(longer.short_words(128), 34);
        let (msg, s_share) = send_bounded(&q, delta, &x, w, bounds);
        assert_eq!(msg.len(), message_len_bounded(elements, w, 128, bounds));
        // Bits 0..53 carry 74 bits (10 bytes), bits 54..69 carry 128 - k bits in whole bytes: 680 bytes
        // per word instead of 848.
        assert_eq!(msg.len(), elements * w * 680);
        let r_share = receive_bounded(&t, &y, w, bounds, &msg).unwrap();
        for e in 0..elements {
            for i in 0..w {
                assert_eq!(s_share[e * w + i] + r_share[e * w + i], x[e * w + i] * y[e]);
            }
        }
        // Where the short pads would not cover the high bits, or bound nothing, they are not used.
        for (cb, v) in [(40, 32), (70, 10), (128, 90)] {
            let b = Bounds {
                choice_bits: cb,
                value_bits: Some(v),
                pad_hiding_bits: PAD_HIDING_BITS,
            };
            assert_eq!(b.short_pads(128), None, "{cb} {v}");
            assert_eq!(b.short_words(128), 0);
            assert_eq!(
                message_len_bounded(3, 2, 128, b),
                message_len_bounded(3, 2, 128, Bounds::choices(cb))
            );
        }
    }

    #[test]
    fn products_match_plaintext() {
        for (e, w) in [(1, 1), (3, 1), (5, 3), (2, 7)] {
            check::<Z64>(e, w);
            check::<Z128>(e, w);
        }
    }

    #[test]
    fn message_is_the_shrinking_length() {
        assert_eq!(message_len(1, 1, 64), 260);
        assert_eq!(message_len(1, 1, 128), 1032);
        assert_eq!(message_len(8, 1, 64), 8 * 260);
    }
}
