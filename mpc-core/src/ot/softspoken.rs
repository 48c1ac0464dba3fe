//! SoftSpokenOT (Roy, "SoftSpokenOT: Quieter OT Extension from Small-Field Silent VOLE in the Minicrypt
//! Model", CRYPTO 2022), semi-honest: the 128 columns of OT extension from `128 / k` small-field VOLEs, so
//! that the receiver sends `128 / k` bits per OT instead of IKNP's 128.
//!
//! Setup, per block of `k` base OTs (columns `i k .. i k + k`): the extension receiver draws a GGM tree of
//! depth `k` ([`SoftReceiver::new`]) and sends, for every level, the sums (XORs) of its left and of its right
//! nodes, each masked by one key of that level's base OT. The extension sender, having chosen with the bits
//! of `Delta`, unmasks the sum on the side of its bits and rebuilds every leaf but one, `x* = not Delta`
//! on the block's bits ([`SoftSender::new`]): a `(2^k - 1)`-out-of-`2^k` OT of the leaf seeds.
//!
//! Extension of `m` OTs with choice bits `r`: for block `i` the receiver expands every leaf `x` into
//! `r_x` (`m` bits, AES-CTR), and forms `u_i = sum_x r_x` and `v_ij = sum_{x: x_j = 1} r_x`; it sends
//! `u_i xor r`. The sender, without `r_{x*}`, forms `w_ij = sum_{x != x*: (x xor x*)_j = 1} r_x`, which is
//! `v_ij xor x*_j u_i`, and adds `x*_j (u_i xor r)`: column `i k + j` is then `v_ij xor x*_j r`. So with
//! `t` the receiver's columns and `q` the sender's, `q = t xor r Delta'` column by column, with
//! `Delta' = not Delta`, exactly IKNP's correlation ([`super::iknp`] transposes the columns into OTs).
//! `k = 1` is IKNP itself. Per OT the receiver expands `2^k 128 / k` bits and the sender `(2^k - 1) 128 / k`,
//! against IKNP's 256 and 128: with `k = 2` the same and 1.5 times for half the bytes, with `k = 4` twice and
//! 3.75 times for a quarter.
//!
//! Only the semi-honest protocol is implemented: the KOS check of [`super::iknp`] is not claimed for these
//! columns (the paper gives SoftSpoken its own check), so a checked session uses IKNP.

use rand_core::RngCore;
use zeroize::{Zeroize, Zeroizing};

use super::hash::{AesPrg, Block};

/// Base OTs (and columns) of an extension.
const KAPPA: usize = 128;

/// Whether `k` bits per block are supported: 1, 2, 4 or 8 (dividing 128, and at most 256 leaves a block).
pub fn valid_k(k: usize) -> bool {
    matches!(k, 1 | 2 | 4 | 8)
}

/// Bytes of the receiver's set-up message: two blocks per base OT, whatever `k`.
pub const SETUP_BYTES: usize = KAPPA * 2 * 16;

/// A GGM node's two children.
fn children(seed: Block) -> [Block; 2] {
    let mut out = [0u128; 2];
    AesPrg::new(seed).fill(&mut out);
    out
}

/// The base-OT column of level `level` (1 = below the root) of block `i`: the level decides bit
/// `k - level` of the leaf index.
fn column(i: usize, k: usize, level: usize) -> usize {
    i * k + (k - level)
}

/// The receiver's ends: every leaf of every block (block `i`, leaf `x` at `i 2^k + x`).
pub(crate) struct SoftReceiver {
    k: usize,
    leaves: Vec<AesPrg>,
}

/// The sender's ends: every leaf but the punctured one of each block.
pub(crate) struct SoftSender {
    k: usize,
    punctured: Zeroizing<Vec<usize>>,
    leaves: Vec<Option<AesPrg>>,
}

/// XORs `src` into `dst`.
#[inline(always)]
fn xor_into(dst: &mut [Block], src: &[Block]) {
    dst.iter_mut().zip(src).for_each(|(d, s)| *d ^= s);
}

impl SoftReceiver {
    /// Draws the GGM trees from the base-OT key pairs (`pairs[c]` for column `c`) and returns the receiver
    /// and its set-up message ([`SETUP_BYTES`]).
    pub(crate) fn new(pairs: &[[Block; 2]], k: usize, rng: &mut impl RngCore) -> (Self, Vec<u8>) {
        debug_assert!(valid_k(k) && pairs.len() == KAPPA);
        let mut msg = Vec::with_capacity(SETUP_BYTES);
        let mut leaves = Vec::with_capacity((KAPPA / k) << k);
        for i in 0..KAPPA / k {
            let mut level = Zeroizing::new(vec![
                (rng.next_u64() as u128) << 64 | rng.next_u64() as u128,
            ]);
            for depth in 1..=k {
                let mut next = Zeroizing::new(Vec::with_capacity(level.len() * 2));
                for &node in level.iter() {
                    next.extend_from_slice(&children(node));
                }
                // The unmasked sums (and the base-OT keys that mask them) are wiped once sent.
                let mut sums = Zeroizing::new([0u128; 2]);
                for (y, &node) in next.iter().enumerate() {
                    sums[y & 1] ^= node;
                }
                let keys = &pairs[column(i, k, depth)];
                for b in 0..2 {
                    msg.extend_from_slice(&(sums[b] ^ keys[b]).to_le_bytes());
                }
                level = next;
            }
            leaves.extend(level.iter().map(|&s| AesPrg::new(s)));
        }
        (SoftReceiver { k, leaves }, msg)
    }

    /// The receiver matching [`SoftSender::split`]: every leaf reseeded from its own stream.
    pub(crate) fn split(&mut self) -> SoftReceiver {
        SoftReceiver {
            k: self.k,
            leaves: self.leaves.iter_mut().map(reseed).collect(),
        }
    }

    /// Bytes of the extension message for `blocks` blocks of 128 OTs.
    pub(crate) fn message_blocks(&self, blocks: usize) -> usize {
        KAPPA / self.k * blocks
    }

    /// Fills the 128 columns `t` (column-major, `r.len()` blocks each) for the choices `r`, and `u` with the
    /// message, `u_i xor r` for every block `i` of columns.
    pub(crate) fn columns(&mut self, r: &[Block], t: &mut [Block], u: &mut [Block]) {
        let (k, total) = (self.k, r.len());
        let n = 1usize << k;
        let mut buf = Zeroizing::new(vec![0u128; total]);
        for i in 0..KAPPA / k {
            let ui = &mut u[i * total..(i + 1) * total];
            ui.copy_from_slice(r);
            let v = &mut t[i * k * total..(i + 1) * k * total];
            v.fill(0);
            for x in 0..n {
                self.leaves[i * n + x].fill(&mut buf);
                xor_into(ui, &buf);
                for j in (0..k).filter(|j| (x >> j) & 1 == 1) {
                    xor_into(&mut v[j * total..(j + 1) * total], &buf);
                }
            }
        }
    }
}

impl SoftSender {
    /// Rebuilds every leaf but the punctured one of each block from the base-OT keys chosen with the bits
    /// of `delta` (`chosen[c]` for column `c`) and the receiver's set-up message. The correlation of the
    /// extension is then `not delta` ([`SoftSender::delta`]).
    pub(crate) fn new(
        chosen: &[Block],
        delta: Block,
        k: usize,
        msg: &[u8],
    ) -> Result<Self, String> {
        if !valid_k(k) || chosen.len() != KAPPA {
            return Err(format!(
                "SoftSpoken with k = {k} and {} base OTs",
                chosen.len()
            ));
        }
        if msg.len() != SETUP_BYTES {
            return Err(format!(
                "a SoftSpoken set-up message of {} bytes, expected {SETUP_BYTES}",
                msg.len()
            ));
        }
        let block = |at: usize| {
            u128::from_le_bytes(msg[at * 16..at * 16 + 16].try_into().expect("16 bytes"))
        };
        let n = 1usize << k;
        let mut punctured = Zeroizing::new(Vec::with_capacity(KAPPA / k));
        let mut leaves = Vec::with_capacity((KAPPA / k) << k);
        for i in 0..KAPPA / k {
            let bits = ((!delta >> (i * k)) as usize) & (n - 1);
            punctured.push(bits);
            // The nodes of the current level; the one on the path to the punctured leaf is unknown.
            let mut level: Zeroizing<Vec<Option<Block>>> = Zeroizing::new(vec![None]);
            for depth in 1..=k {
                let mut next: Zeroizing<Vec<Option<Block>>> =
                    Zeroizing::new(Vec::with_capacity(level.len() * 2));
                for node in level.iter() {
                    match node {
                        Some(s) => next.extend(children(*s).map(Some)),
                        None => next.extend([None, None]),
                    }
                }
                let c = column(i, k, depth);
                let b = ((delta >> c) & 1) as usize;
                let path = bits >> (k - depth);
                let sibling = path ^ 1;
                debug_assert_eq!(sibling & 1, b);
                let mut sum = block((i * k + depth - 1) * 2 + b) ^ chosen[c];
                for (y, node) in next.iter().enumerate() {
                    if let (Some(s), true) = (node, y & 1 == b) {
                        sum ^= s;
                    }
                }
                next[sibling] = Some(sum);
                sum.zeroize();
                level = next;
            }
            leaves.extend(level.iter().map(|s| s.map(AesPrg::new)));
        }
        Ok(SoftSender {
            k,
            punctured,
            leaves,
        })
    }

    /// The receiver's counterpart: every known leaf reseeded from its own stream.
    pub(crate) fn split(&mut self) -> SoftSender {
        SoftSender {
            k: self.k,
            punctured: self.punctured.clone(),
            leaves: self
                .leaves
                .iter_mut()
                .map(|l| l.as_mut().map(reseed))
                .collect(),
        }
    }

    /// The extension's correlation: the punctured leaves' bits, `not Delta` of the base OTs.
    pub(crate) fn delta(&self) -> Block {
        self.punctured
            .iter()
            .enumerate()
            .fold(0, |d, (i, &x)| d | (x as u128) << (i * self.k))
    }

    /// Blocks of the extension message for `blocks` blocks of 128 OTs.
    pub(crate) fn message_blocks(&self, blocks: usize) -> usize {
        KAPPA / self.k * blocks
    }

    /// Fills the 128 columns `q` (column-major, `total` blocks each) from the receiver's message `u`.
    pub(crate) fn columns(&mut self, u: &[Block], total: usize, q: &mut [Block]) {
        let k = self.k;
        let n = 1usize << k;
        let mut buf = Zeroizing::new(vec![0u128; total]);
        for i in 0..KAPPA / k {
            let star = self.punctured[i];
            let w = &mut q[i * k * total..(i + 1) * k * total];
            w.fill(0);
            for x in (0..n).filter(|&x| x != star) {
                if let Some(prg) = self.leaves[i * n + x].as_mut() {
                    prg.fill(&mut buf);
                }
                let d = x ^ star;
                for j in (0..k).filter(|j| (d >> j) & 1 == 1) {
                    xor_into(&mut w[j * total..(j + 1) * total], &buf);
                }
            }
            let ui = &u[i * total..(i + 1) * total];
            for j in (0..k).filter(|j| (star >> j) & 1 == 1) {
                xor_into(&mut w[j * total..(j + 1) * total], ui);
            }
        }
    }
}

/// A PRG keyed by the next block of `prg`'s stream.
fn reseed(prg: &mut AesPrg) -> AesPrg {
    let mut seed = Zeroizing::new([0u128]);
    prg.fill(&mut seed[..]);
    AesPrg::new(seed[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prg::Prg;

    fn random_block(rng: &mut Prg) -> Block {
        (rng.next_u64() as u128) << 64 | rng.next_u64() as u128
    }

    /// The sender rebuilds every leaf but `not Delta`'s, and the columns correlate as IKNP's:
    /// `q = t xor r Delta'` in every column, for every `k`, before and after a split.
    #[test]
    fn columns_correlate_with_not_delta() {
        let mut rng = Prg::from_entropy();
        for k in [1, 2, 4, 8] {
            let delta = random_block(&mut rng);
            let pairs: Vec<[Block; 2]> = (0..KAPPA)
                .map(|_| [random_block(&mut rng), random_block(&mut rng)])
                .collect();
            let chosen: Vec<Block> = (0..KAPPA)
                .map(|c| pairs[c][((delta >> c) & 1) as usize])
                .collect();
            let (mut r, msg) = SoftReceiver::new(&pairs, k, &mut rng);
            assert_eq!(msg.len(), SETUP_BYTES);
            let mut s = SoftSender::new(&chosen, delta, k, &msg).unwrap();
            assert_eq!(s.delta(), !delta);
            let total = 3;
            for round in 0..3 {
                if round == 2 {
                    (r, s) = (r.split(), s.split());
                }
                let choices: Vec<Block> = (0..total).map(|_| random_block(&mut rng)).collect();
                let mut t = vec![0u128; KAPPA * total];
                let mut u = vec![0u128; r.message_blocks(total)];
                r.columns(&choices, &mut t, &mut u);
                let mut q = vec![0u128; KAPPA * total];
                s.columns(&u, total, &mut q);
                for c in 0..KAPPA {
                    let bit = (!delta >> c) & 1;
                    for b in 0..total {
                        let want = t[c * total + b] ^ (choices[b] * bit);
                        assert_eq!(q[c * total + b], want, "k {k} column {c} round {round}");
                    }
                }
            }
            // A wrong base key breaks the leaves (and so the correlation): not silently accepted.
            let (mut r, msg) = SoftReceiver::new(&pairs, k, &mut rng);
            let mut wrong = chosen.clone();
            wrong[0] ^= 1;
            let mut s = SoftSender::new(&wrong, delta, k, &msg).unwrap();
            let choices = vec![0u128; 1];
            let (mut t, mut q) = (vec![0u128; KAPPA], vec![0u128; KAPPA]);
            let mut u = vec![0u128; r.message_blocks(1)];
            r.columns(&choices, &mut t, &mut u);
            s.columns(&u, 1, &mut q);
            assert_ne!(q, t, "k {k}");
            assert!(SoftSender::new(&chosen, delta, k, &msg[1..]).is_err());
        }
    }
}
