//! Base oblivious transfers on the Ristretto group: the "simplest OT" of Chou and Orlandi ("The Simplest
//! Protocol for Oblivious Transfer", LATINCRYPT 2015), batched, with the known fixes.
//!
//! 1. The sender draws `a` and sends `A = a G`.
//! 2. For each OT `i` with choice `c_i`, the receiver draws `b_i` and sends `B_i = b_i G + c_i A` (the
//!    addition is a constant-time conditional select).
//! 3. The sender's keys are `k0_i = H(A, B_i, i, a B_i)` and `k1_i = H(A, B_i, i, a (B_i - A))`; the receiver's
//!    is `k_{c_i} = H(A, B_i, i, b_i A)`.
//!
//! The fixes: the original hashed only the shared point, which lets a party replay or correlate keys across
//! OTs; as suggested by Genç, Iovino and Rial ("The simplest oblivious transfer protocol revisited", 2018) and
//! Hauck and Loss ("Efficient and universally composable protocols for oblivious transfer from the CDH
//! assumption", 2017), each key hashes the whole transcript of its OT (`A`, `B_i`), the OT's index and a
//! domain string naming both parties, so keys of different OTs and sessions are independent. Points are
//! checked on decoding (canonical Ristretto encodings only) and `A` must not be the identity.
//!
//! The outputs are random 128-bit keys (random OT); OT extension uses them as PRG seeds. The protocol core
//! here does no I/O: [`Sender::start`], [`Receiver::respond`] and [`Sender::finish`] map bytes to bytes, and
//! the OT-extension setup moves the messages through the session [`Context`](crate::Context).

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::traits::Identity;
use curve25519_dalek::Scalar;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable};
use zeroize::{Zeroize, Zeroizing};

use super::hash::Block;
use crate::net::PartyId;

const DOMAIN: &[u8] = b"mpc-core/ot/base/chou-orlandi/v1";

/// Bytes of one encoded point.
pub const POINT_BYTES: usize = 32;

fn key(
    sender: PartyId,
    receiver: PartyId,
    a: &[u8],
    b: &[u8],
    i: usize,
    p: &RistrettoPoint,
) -> Block {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update((sender as u64).to_le_bytes());
    h.update((receiver as u64).to_le_bytes());
    h.update(a);
    h.update(b);
    h.update((i as u64).to_le_bytes());
    let mut shared = p.compress().to_bytes();
    h.update(shared.as_slice()); // a borrow: passing the array would copy it
    shared.zeroize();
    let mut out: [u8; 32] = h.finalize_reset().into();
    let k = u128::from_le_bytes(out[..16].try_into().expect("16 bytes"));
    out.zeroize();
    // sha2 does not wipe its state: the block buffer still holds the tail of the shared point. Fewer than
    // 64 bytes after a reset are only buffered, so they overwrite it.
    h.update([0u8; 63]);
    std::hint::black_box(&h);
    k
}

fn decode_point(bytes: &[u8], what: &str) -> Result<RistrettoPoint, String> {
    CompressedRistretto::from_slice(bytes)
        .ok()
        .and_then(|c| c.decompress())
        .ok_or_else(|| format!("{what} is not a canonical Ristretto point"))
}

/// The base-OT sender's state between its two steps. Its scalar is wiped on drop.
pub struct Sender {
    a: Zeroizing<Scalar>,
    a_bytes: [u8; POINT_BYTES],
    a_point: RistrettoPoint,
    ids: (PartyId, PartyId),
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("base::Sender(<redacted>)")
    }
}

impl Sender {
    /// Step 1: draws `a` and returns the state and the message `A` for the receiver. `sender` and `receiver`
    /// are the two parties' ids (hashed into every key).
    pub fn start(
        rng: &mut (impl RngCore + CryptoRng),
        sender: PartyId,
        receiver: PartyId,
    ) -> (Sender, Vec<u8>) {
        let a = Zeroizing::new(Scalar::random(rng));
        let a_point = &*a * RISTRETTO_BASEPOINT_TABLE;
        let a_bytes = a_point.compress().to_bytes();
        (
            Sender {
                a,
                a_bytes,
                a_point,
                ids: (sender, receiver),
            },
            a_bytes.to_vec(),
        )
    }

    /// Step 3: the key pairs `(k0_i, k1_i)` from the receiver's message of `count` points.
    pub fn finish(self, msg: &[u8], count: usize) -> Result<Zeroizing<Vec<[Block; 2]>>, String> {
        if msg.len() != count * POINT_BYTES {
            return Err(format!(
                "base OT: expected {} bytes of points, got {}",
                count * POINT_BYTES,
                msg.len()
            ));
        }
        let a_a = Zeroizing::new(*self.a * self.a_point);
        let mut keys = Zeroizing::new(Vec::with_capacity(count));
        for (i, b_bytes) in msg.chunks_exact(POINT_BYTES).enumerate() {
            let b = decode_point(b_bytes, "a base-OT receiver point")?;
            let mut p0 = *self.a * b;
            let mut p1 = p0 - *a_a;
            let (s, r) = self.ids;
            keys.push([
                key(s, r, &self.a_bytes, b_bytes, i, &p0),
                key(s, r, &self.a_bytes, b_bytes, i, &p1),
            ]);
            p0.zeroize();
            p1.zeroize();
        }
        Ok(keys)
    }
}

/// The base-OT receiver's state between its two steps. Its scalars are wiped on drop.
pub struct Receiver {
    keys: Zeroizing<Vec<Block>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("base::Receiver(<redacted>)")
    }
}

impl Receiver {
    /// Step 2: given the sender's `A` and the choice bits, returns the state and the message of points `B_i`.
    pub fn respond(
        rng: &mut (impl RngCore + CryptoRng),
        sender: PartyId,
        receiver: PartyId,
        a_msg: &[u8],
        choices: &[bool],
    ) -> Result<(Receiver, Vec<u8>), String> {
        if a_msg.len() != POINT_BYTES {
            return Err(format!(
                "base OT: the sender's point is {POINT_BYTES} bytes, got {}",
                a_msg.len()
            ));
        }
        let a = decode_point(a_msg, "the base-OT sender's point")?;
        if a == RistrettoPoint::identity() {
            return Err("the base-OT sender's point is the identity".into());
        }
        let mut msg = Vec::with_capacity(choices.len() * POINT_BYTES);
        let mut keys = Zeroizing::new(Vec::with_capacity(choices.len()));
        for (i, &c) in choices.iter().enumerate() {
            let mut b = Scalar::random(rng);
            // `b G` and `b G + A` each tell the choice apart from `B`: both are wiped.
            let mut bg = &b * RISTRETTO_BASEPOINT_TABLE;
            let mut bga = bg + a;
            let big_b = RistrettoPoint::conditional_select(&bg, &bga, Choice::from(c as u8));
            let b_bytes = big_b.compress().to_bytes();
            let mut shared = b * a;
            keys.push(key(sender, receiver, a_msg, &b_bytes, i, &shared));
            msg.extend_from_slice(&b_bytes);
            shared.zeroize();
            b.zeroize();
            bg.zeroize();
            bga.zeroize();
        }
        Ok((Receiver { keys }, msg))
    }

    /// The chosen keys `k_{c_i}`.
    pub fn keys(self) -> Zeroizing<Vec<Block>> {
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn receiver_gets_exactly_the_chosen_key() {
        let mut rng = crate::prg::Prg::from_entropy();
        let choices: Vec<bool> = (0..64).map(|_| rand::thread_rng().gen()).collect();
        let (sender, a) = Sender::start(&mut rng, 0, 1);
        let (receiver, b) = Receiver::respond(&mut rng, 0, 1, &a, &choices).unwrap();
        let pairs = sender.finish(&b, choices.len()).unwrap();
        let got = receiver.keys();
        for (i, &c) in choices.iter().enumerate() {
            assert_eq!(got[i], pairs[i][c as usize]);
            assert_ne!(got[i], pairs[i][1 - c as usize]);
        }
        // Keys of different OTs differ (the index is hashed in).
        assert_ne!(pairs[0][0], pairs[1][0]);
    }

    #[test]
    fn malformed_messages_are_errors() {
        let mut rng = crate::prg::Prg::from_entropy();
        let (sender, _) = Sender::start(&mut rng, 0, 1);
        assert!(sender.finish(&[0u8; 31], 1).is_err());
        let (sender, _) = Sender::start(&mut rng, 0, 1);
        assert!(sender.finish(&[0xffu8; 32], 1).is_err());
        // The identity (all-zero encoding) is refused as the sender's point.
        assert!(Receiver::respond(&mut rng, 0, 1, &[0u8; 32], &[true]).is_err());
        assert!(Receiver::respond(&mut rng, 0, 1, &[1u8; 5], &[true]).is_err());
    }
}
