//! Boolean correlations from OT: AND triples on XOR-shared bits and daBits, each cross term one OT with a
//! one-bit choice (Gilboa's product with a single choice bit is a correlated OT).
//!
//! - AND triples: party `i` draws random words `a_i`, `b_i`. Over all lanes, `a b = xor_{i,j} a_i b_j`; the
//!   cross terms `a_i b_j` (`i != j`) come from [`super::Engine::cross_pairs`] in `Z64` with one choice bit
//!   (`b_j`) and correlation `a_i` (0 or 1): the parties' additive shares of `sum_{i != j} a_i b_j`, whose low
//!   bits are XOR shares of `xor_{i != j} a_i b_j`, since the low bit of a sum is the XOR of the low bits. So
//!   `c_i = (a_i & b_i) xor low(cross_i)`. The additive shares are uniform (Gilboa), so their low bits are
//!   uniform XOR shares; nothing else is sent.
//! - daBits: party `i` draws a private bit `r_i`; the shared bit is `r = xor_i r_i`, whose XOR sharing is the
//!   `r_i` themselves. Its additive sharing is built by folding the parties in from the last one down: `acc`
//!   starts as party `n - 1`'s bit (its share; the others hold 0), and for `j = n - 2, ..., 0`,
//!   `acc xor r_j = acc + r_j - 2 acc r_j`, where `acc r_j = sum_i acc_i r_j`: party `j`'s own term is local,
//!   the others are cross terms with party `j` choosing with `r_j` (one OT per bit and ordered pair; every
//!   other party chooses with zeros, so its terms vanish). `n - 1` rounds of cross products, all bits at once.
//!
//! Security is that of the Gilboa products (semi-honest, any `n - 1` colluding): every message is an OT
//! extension message or a correction under a pad the receiver does not know.

use zeroize::Zeroizing;

use super::Engine;
use crate::error::Result;
use crate::preprocessing::bit_items::{clear_tail, words_for, BitTriples, DaBits, LANES};
use crate::ring::{Ring, Z64};

/// The lanes of packed words as `Z64` elements 0 and 1.
fn unpack(words: &[u128], lanes: usize) -> Zeroizing<Vec<Z64>> {
    Zeroizing::new(
        (0..lanes)
            .map(|i| Z64(((words[i / LANES] >> (i % LANES)) & 1) as u64))
            .collect(),
    )
}

/// The low bits of `xs` packed into words.
fn pack_low_bits<R: Ring>(xs: &[R], low: impl Fn(&R) -> bool) -> Vec<u128> {
    let mut out = vec![0u128; words_for(xs.len())];
    for (i, x) in xs.iter().enumerate() {
        out[i / LANES] |= (low(x) as u128) << (i % LANES);
    }
    out
}

fn random_words(engine: &mut Engine, words: usize) -> Vec<u128> {
    use rand_core::RngCore;
    (0..words)
        .map(|_| {
            let rng = engine.ctx.rng();
            (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
        })
        .collect()
}

impl Engine {
    /// `words` words of AND triples.
    pub(super) async fn bit_triples(&mut self, words: usize) -> Result<BitTriples> {
        let a = random_words(self, words);
        let b = random_words(self, words);
        let lanes = words * LANES;
        let (xa, yb) = (unpack(&a, lanes), unpack(&b, lanes));
        let cross = Zeroizing::new(self.cross_pairs::<Z64>(&xa, 1, &yb, false, 1).await?);
        let low = Zeroizing::new(pack_low_bits(&cross, |x| x.0 & 1 == 1));
        let c = a
            .iter()
            .zip(&b)
            .zip(low.iter())
            .map(|((&a, &b), &l)| (a & b) ^ l)
            .collect();
        BitTriples::from_shares(a, b, c)
    }

    /// `count` daBits in `R`.
    pub(super) async fn dabits<R: crate::ot::OtRing>(&mut self, count: usize) -> Result<DaBits<R>> {
        let mut xor = random_words(self, words_for(count));
        clear_tail(&mut xor, count);
        let me = self.ctx.id();
        let n = self.ctx.parties();
        let mine: Zeroizing<Vec<R>> = Zeroizing::new(
            (0..count)
                .map(|i| R::from_i128(((xor[i / LANES] >> (i % LANES)) & 1) as i128))
                .collect(),
        );
        let zeros = Zeroizing::new(vec![R::ZERO; count]);
        // acc starts as the last party's bit.
        let mut acc: Zeroizing<Vec<R>> = if me == n - 1 {
            mine.clone()
        } else {
            zeros.clone()
        };
        let two = R::from_i128(2);
        for j in (0..n - 1).rev() {
            // acc r_j = sum_i acc_i r_j: cross terms with party j choosing with its bits, and its own term.
            let y = if me == j { &mine } else { &zeros };
            let mut prod = Zeroizing::new(self.cross_pairs::<R>(&acc, 1, y, false, 1).await?);
            if me == j {
                for ((p, &a), &r) in prod.iter_mut().zip(acc.iter()).zip(mine.iter()) {
                    *p += a * r;
                }
            }
            for (i, (a, &p)) in acc.iter_mut().zip(prod.iter()).enumerate() {
                if me == j {
                    *a += mine[i];
                }
                *a -= two * p;
            }
        }
        let arith = std::mem::take(&mut *acc);
        DaBits::from_shares(xor, arith)
    }
}
