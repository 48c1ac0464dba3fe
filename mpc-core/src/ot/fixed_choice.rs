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
//! correlation robustness asks). A product then costs only the corrections: `sum_t (l - t)` bits per value
//! and word of `beta`, in one message from the sender, with no OT-extension traffic and no round trip.
//!
//! Values are signed `bits`-bit two's complement numbers: bit `t < bits - 1` weighs `2^t`, the top bit
//! `-2^(bits - 1)`. For bit `t` the sender sends `d = s0 - s1 + beta mod 2^(l - t)` and keeps `-w_t s0`; the
//! receiver takes `y = H(t) + x_t d = s0 + x_t beta mod 2^(l - t)` and keeps `w_t y`, so the shares add up
//! to `x beta` in Z/2^l. The receiver sees `d`, which `s_{1 - x_t}` (unknown to it) hides perfectly.

use zeroize::Zeroizing;

use super::bits::{mask, BitReader, BitWriter};
use super::hash::{ccr_hash, Block};
use super::OtRing;

/// Bytes of the sender's message for `values` values of `bits` bits, each times `n` words, in a ring of
/// `l` bits.
pub fn message_len(values: usize, n: usize, l: u32, bits: u32) -> usize {
    let per_word: usize = (0..bits.min(l)).map(|t| (l - t) as usize).sum();
    (values * n * per_word).div_ceil(8)
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
    let mut writer = BitWriter::new(message_len(values, n, l, b as u32));
    let mut share = Zeroizing::new(vec![R::ZERO; values * n]);
    let per = group(b);
    // h[..len] the pads s0 of a group, h[len..2 len] its pads s1.
    let mut h = Zeroizing::new(vec![0u128; 2 * per * b]);
    for start in (0..values).step_by(per) {
        let end = (start + per).min(values);
        let qs = &q[start * b..end * b];
        let len = qs.len();
        for c in 0..n {
            let tau = use_tweak(tweak, c);
            let (h0, h1) = h.split_at_mut(len);
            for ((a, b1), &q) in h0.iter_mut().zip(h1.iter_mut()).zip(qs) {
                *a = q ^ tau;
                *b1 = q ^ delta ^ tau;
            }
            ccr_hash(&mut h[..2 * len]);
            let (h0, h1) = h.split_at(len);
            for (v, (h0, h1)) in h0.chunks_exact(b).zip(h1.chunks_exact(b)).enumerate() {
                let i = start + v;
                let x = beta[i * n + c].to_u128();
                let mut acc = 0u128;
                for (t, (&s0, &s1)) in h0.iter().zip(h1).enumerate() {
                    writer.push(s0.wrapping_sub(s1).wrapping_add(x), l - t as u32);
                    let term = s0 << t;
                    acc = if t + 1 == b {
                        acc.wrapping_add(term)
                    } else {
                        acc.wrapping_sub(term)
                    };
                }
                share[i * n + c] = R::from_i128(acc as i128);
            }
        }
    }
    Ok((writer.finish(), share))
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
    let mut reader = BitReader::new(msg);
    let mut share = Zeroizing::new(vec![R::ZERO; values * n]);
    let per = group(b);
    let mut h = Zeroizing::new(vec![0u128; per * b]);
    for start in (0..values).step_by(per) {
        let end = (start + per).min(values);
        let ts = &t[start * b..end * b];
        let len = ts.len();
        for c in 0..n {
            let tau = use_tweak(tweak, c);
            h[..len].iter_mut().zip(ts).for_each(|(h, &t)| *h = t ^ tau);
            ccr_hash(&mut h[..len]);
            for (v, h) in h[..len].chunks_exact(b).enumerate() {
                let i = start + v;
                let xi = x[i].to_u128();
                let mut acc = 0u128;
                for (bit, &s) in h.iter().enumerate() {
                    let d = reader.read_masked(l - bit as u32, mask(l - bit as u32));
                    let take = 0u128.wrapping_sub((xi >> bit) & 1);
                    let term = s.wrapping_add(d & take) << bit;
                    acc = if bit + 1 == b {
                        acc.wrapping_sub(term)
                    } else {
                        acc.wrapping_add(term)
                    };
                }
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
    use crate::ot::iknp::{Check, IknpReceiver, IknpSender, KAPPA};
    use crate::prg::Prg;
    use crate::ring::{Z128, Z64};
    use rand_core::RngCore;

    fn iknp_pair(rng: &mut Prg) -> (Block, IknpSender, IknpReceiver) {
        let delta = (rng.next_u64() as u128) << 64 | rng.next_u64() as u128;
        let pairs: Vec<[Block; 2]> = (0..KAPPA)
            .map(|_| [rng.next_u64() as u128, (rng.next_u64() as u128) << 64])
            .collect();
        let chosen: Vec<Block> = (0..KAPPA)
            .map(|i| pairs[i][((delta >> i) & 1) as usize])
            .collect();
        (
            delta,
            IknpSender::new(delta, &chosen).unwrap(),
            IknpReceiver::new(&pairs).unwrap(),
        )
    }

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

    /// A product costs `sum_t (l - t)` bits per value and word: 26-bit values in Z128 about 375 bytes.
    #[test]
    fn message_length_is_the_shrinking_words() {
        assert_eq!(
            message_len(1, 1, 128, 26),
            (26usize * 128 - 25 * 26 / 2).div_ceil(8)
        );
        assert_eq!(message_len(10, 2, 64, 64), 10 * 2 * 64 * 65 / 2 / 8);
        assert!(check_shape(25, 3, 1, 26).is_err());
        assert!(check_shape(26 * 3, 3, 1, 26).is_ok());
        assert!(check_shape(100, 4, 3, 26).is_err());
    }
}
