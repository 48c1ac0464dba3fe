//! Gilboa multiplication with a fixed choice operand: one OT per bit of each value, made once and reused
//! for every product with that value.
//!
//! Gilboa ("Two party RSA key generation", CRYPTO 1999, see [`super::gilboa`]) multiplies a receiver's
//! value `x` by a sender's `beta` with one OT per bit of `x`, the bits being the choices. When `x` stays the
//! same across many products (a data owner's rows, multiplied by fresh masks in every training step), its
//! choice bits are too: a random OT per bit made once ([`super::iknp`], `t = q xor x_t Delta`) then serves
//! every product, as long as each product derives fresh pads. Use `u` of a product hashes with the tweak
//! `tau_u = u << 64`: the sender's pads are `s0 = H(q xor tau_u)` and `s1 = H(q xor Delta xor tau_u)`, the
//! receiver's `H(t xor tau_u) = s_{x_t}`, with `H` the circular-correlation-robust hash of Guo, Katz, Wang
//! and Yu ([`super::hash::ccr_hash`]; its inputs are distinct across OTs and uses, which is all that
//! correlation robustness asks). A product then costs only the corrections: `l - t` bits for bit `t` per
//! value and word of `beta`, in one message from the sender, with no OT-extension traffic and no round trip.
//!
//! Values are signed `bits`-bit two's complement numbers: bit `t < bits - 1` weighs `2^t`, the top bit
//! `-2^(bits - 1)`. For bit `t` the sender sends `d = s0 - s1 + beta mod 2^(l - t)` and keeps `-w_t s0`; the
//! receiver takes `y = H(t) + x_t d = s0 + x_t beta mod 2^(l - t)` and keeps `w_t y`, so the shares add up
//! to `x beta` in Z/2^l. The receiver sees `d`, which `s_{1 - x_t}` (unknown to it) hides perfectly. Each `d`
//! travels in whole bytes.

use zeroize::Zeroizing;

use super::hash::{ccr_hash, Block};
use super::OtRing;

/// Bytes of bit `t`'s correction in a ring of `l` bits: its `l - t` bits in whole bytes (stores and loads
/// stay whole 16-byte moves; exact bit packing would save 4% of the bytes at several times the work).
#[inline(always)]
fn width(l: u32, t: usize) -> usize {
    (l as usize - t).div_ceil(8)
}

/// Bytes of the sender's message for `values` values of `bits` bits, each times `n` words, in a ring of
/// `l` bits.
pub fn message_len(values: usize, n: usize, l: u32, bits: u32) -> usize {
    let per_word: usize = (0..bits.min(l) as usize).map(|t| width(l, t)).sum();
    values * n * per_word
}

/// The tweak of word `c` of use `tweak` (see the module docs): in the high half, where the hash's input
/// blocks are uniform.
#[inline(always)]
fn use_tweak(tweak: u64, c: usize) -> Block {
    (tweak.wrapping_add(c as u64) as u128) << 64
}

/// Values hashed together (`values * bits` OTs, both pads: at most 256 blocks in flight).
fn group(bits: usize) -> usize {
    (128 / bits.max(1)).max(1)
}

/// The sender's side: `q` holds the OTs of `beta.len() / n` values (`bits` each, OT `i * bits + t` for
/// bit `t` of value `i`), `beta` the `n` words each value multiplies. Words `tweak..tweak + n` of use
/// tweaks are consumed; a tweak must never be used twice with the same OTs. Returns the message and this
/// side's shares (`n` per value, value-major).
pub fn send<R: OtRing>(
    q: &[Block],
    delta: Block,
    tweak: u64,
    bits: u32,
    beta: &[R],
    n: usize,
) -> Result<(Vec<u8>, Zeroizing<Vec<R>>), String> {
    let (l, b) = (R::BITS, bits.clamp(1, R::BITS) as usize);
    let values = check_shape(q.len(), beta.len(), n, b)?;
    let len = message_len(values, n, l, b as u32);
    // 16 bytes of slack: every correction is stored as a whole block, the next one overwrites the rest.
    let mut out = vec![0u8; len + 16];
    let mut pos = 0;
    let widths: Vec<usize> = (0..b).map(|t| width(l, t)).collect();
    let mut share = Zeroizing::new(vec![R::ZERO; values * n]);
    let per = group(b);
    // h[..ots] the pads s0 of a group, h[ots..2 ots] its pads s1.
    let mut h = Zeroizing::new(vec![0u128; 2 * per * b]);
    for start in (0..values).step_by(per) {
        let end = (start + per).min(values);
        let qs = &q[start * b..end * b];
        let ots = qs.len();
        for c in 0..n {
            let tau = use_tweak(tweak, c);
            let (h0, h1) = h.split_at_mut(ots);
            for ((a, b1), &q) in h0.iter_mut().zip(h1.iter_mut()).zip(qs) {
                *a = q ^ tau;
                *b1 = q ^ delta ^ tau;
            }
            ccr_hash(&mut h[..2 * ots]);
            let (h0, h1) = h.split_at(ots);
            for (v, (h0, h1)) in h0.chunks_exact(b).zip(h1.chunks_exact(b)).enumerate() {
                let i = start + v;
                let x = beta[i * n + c].to_u128();
                let mut acc = 0u128;
                for (t, ((&s0, &s1), &w)) in h0.iter().zip(h1).zip(&widths).enumerate() {
                    let d = s0.wrapping_sub(s1).wrapping_add(x).to_le_bytes();
                    if let Some(dst) = out.get_mut(pos..).and_then(|o| o.first_chunk_mut::<16>()) {
                        *dst = d;
                    }
                    pos += w;
                    acc = acc.wrapping_sub(s0 << t);
                }
                // The sign bit weighs -2^(b-1): its term is added, not subtracted.
                acc = acc.wrapping_add((h0[b - 1] << (b - 1)).wrapping_mul(2));
                share[i * n + c] = R::from_i128(acc as i128);
            }
        }
    }
    out.truncate(len);
    Ok((out, share))
}

/// The receiver's side: `t` holds the OTs of `x.len()` values whose low `bits` bits were the choices,
/// `msg` the sender's message for the same `tweak` and `n`. Returns this side's shares (`n` per value).
pub fn receive<R: OtRing>(
    t: &[Block],
    x: &[R],
    tweak: u64,
    bits: u32,
    n: usize,
    msg: &[u8],
) -> Result<Zeroizing<Vec<R>>, String> {
    let (l, b) = (R::BITS, bits.clamp(1, R::BITS) as usize);
    let values = check_shape(t.len(), x.len() * n, n, b)?;
    let expected = message_len(values, n, l, b as u32);
    if msg.len() != expected {
        return Err(format!(
            "a fixed-choice Gilboa message of {} bytes, expected {expected}",
            msg.len()
        ));
    }
    let fields: Vec<(usize, u128)> = (0..b)
        .map(|t| {
            let w = width(l, t);
            (
                w,
                if w >= 16 {
                    u128::MAX
                } else {
                    (1u128 << (8 * w)) - 1
                },
            )
        })
        .collect();
    let read = |pos: usize, m: u128| -> u128 {
        match msg.get(pos..).and_then(|r| r.first_chunk::<16>()) {
            Some(bytes) => u128::from_le_bytes(*bytes) & m,
            None => {
                let mut bytes = [0u8; 16];
                let rest = msg.get(pos..).unwrap_or(&[]);
                bytes[..rest.len()].copy_from_slice(rest);
                u128::from_le_bytes(bytes) & m
            }
        }
    };
    let mut pos = 0;
    let mut share = Zeroizing::new(vec![R::ZERO; values * n]);
    let per = group(b);
    let mut h = Zeroizing::new(vec![0u128; per * b]);
    for start in (0..values).step_by(per) {
        let end = (start + per).min(values);
        let ts = &t[start * b..end * b];
        let ots = ts.len();
        for c in 0..n {
            let tau = use_tweak(tweak, c);
            h[..ots].iter_mut().zip(ts).for_each(|(h, &t)| *h = t ^ tau);
            ccr_hash(&mut h[..ots]);
            for (v, h) in h[..ots].chunks_exact(b).enumerate() {
                let i = start + v;
                let xi = x[i].to_u128();
                let mut acc = 0u128;
                let mut last = 0u128;
                for (bit, (&s, &(w, m))) in h.iter().zip(&fields).enumerate() {
                    let take = 0u128.wrapping_sub((xi >> bit) & 1);
                    last = s.wrapping_add(read(pos, m) & take);
                    pos += w;
                    acc = acc.wrapping_add(last << bit);
                }
                // The sign bit weighs -2^(b-1): its term is subtracted, not added.
                acc = acc.wrapping_sub((last << (b - 1)).wrapping_mul(2));
                share[i * n + c] = R::from_i128(acc as i128);
            }
        }
    }
    Ok(share)
}

/// The number of values, after checking that the OTs cover `words / n` values of `bits` bits.
fn check_shape(ots: usize, words: usize, n: usize, bits: usize) -> Result<usize, String> {
    if n == 0 || words % n != 0 {
        return Err(format!("{words} words in vectors of {n}"));
    }
    let values = words / n;
    if ots < values * bits {
        return Err(format!("{ots} OTs for {values} values of {bits} bits"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ot::gilboa::choice_blocks_bounded;
    use crate::ot::iknp::{clear_pair as iknp_pair, Check};
    use crate::prg::Prg;
    use crate::ring::{Z128, Z64};
    use rand_core::RngCore;

    /// Signed values below `2^(bits - 1)` in magnitude, the extremes among them.
    fn signed_values<R: OtRing>(rng: &mut Prg, count: usize, bits: u32) -> Vec<R> {
        if bits == 128 {
            let mut x = R::random_vec(rng, count);
            x[0] = R::from_i128(i128::MIN);
            x[1] = R::from_i128(i128::MAX);
            return x;
        }
        let half = 1i128 << (bits - 1);
        let mut x: Vec<R> = (0..count)
            .map(|_| R::from_i128((rng.next_u64() as i128).rem_euclid(2 * half) - half))
            .collect();
        x[0] = R::from_i128(-half);
        x[1] = R::from_i128(half - 1);
        x[2] = R::ZERO;
        x
    }

    /// Several products with the same OTs, each with fresh words: every one matches plaintext, and the
    /// corrections of two uses differ even for equal words (fresh pads).
    fn reused<R: OtRing>(bits: u32) {
        let mut rng = Prg::from_entropy();
        let (delta, mut s, mut r) = iknp_pair(&mut rng);
        let (values, n) = (7, 3);
        let x = signed_values::<R>(&mut rng, values, bits);
        let choices = choice_blocks_bounded(&x, bits as usize);
        let (u, t) = r.extend(&choices, Check::None, &mut rng);
        let q = s.extend(choices.len(), &u, Check::None).unwrap();
        let beta = R::random_vec(&mut rng, values * n);
        let mut messages = Vec::new();
        for tweak in [0, n as u64, 2 * n as u64] {
            let (msg, s_share) = send(&q, delta, tweak, bits, &beta, n).unwrap();
            assert_eq!(msg.len(), message_len(values, n, R::BITS, bits));
            let r_share = receive(&t, &x, tweak, bits, n, &msg).unwrap();
            for i in 0..values {
                for c in 0..n {
                    assert_eq!(
                        s_share[i * n + c] + r_share[i * n + c],
                        x[i] * beta[i * n + c],
                        "{} value {i} word {c} tweak {tweak}",
                        R::NAME
                    );
                }
            }
            // The wrong tweak gives a wrong product.
            let wrong = receive(&t, &x, tweak + 1, bits, n, &msg).unwrap();
            assert!((0..values * n).any(|j| s_share[j] + wrong[j] != x[j / n] * beta[j]));
            assert!(receive(&t, &x, tweak, bits, n, &msg[1..]).is_err());
            messages.push(msg);
        }
        assert_ne!(messages[0], messages[1]);
    }

    #[test]
    fn reused_ots_match_plaintext() {
        reused::<Z128>(26);
        reused::<Z128>(128);
        reused::<Z64>(26);
        reused::<Z64>(64);
    }

    /// A product costs `l - t` bits in whole bytes per value bit and word: 26-bit values in Z128 386 bytes.
    #[test]
    fn message_length_is_the_shrinking_words() {
        assert_eq!(
            message_len(1, 1, 128, 26),
            8 * 16 + 8 * 15 + 8 * 14 + 2 * 13
        );
        assert_eq!(message_len(10, 2, 64, 64), 10 * 2 * 8 * 36);
        assert!(check_shape(25, 3, 1, 26).is_err());
        assert!(check_shape(26 * 3, 3, 1, 26).is_ok());
        assert!(check_shape(100, 4, 3, 26).is_err());
    }
}
