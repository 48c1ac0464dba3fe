//! XOR-shared bits, packed 128 to a word, and AND gates with Beaver triples over GF(2) (the GMW protocol of
//! Goldreich, Micali and Wigderson, 1987, with Beaver's circuit randomization, 1991).
//!
//! A [`Bits`] holds this party's XOR share of `len` bits. XOR and NOT are local; AND opens `x xor a` and
//! `y xor b` for a fresh triple `(a, b, c = a & b)` and sets `x & y = c xor (d & b) xor (e & a) xor (d & e)`
//! (the last term at one party). Every AND of one call shares one round: one message to every peer.
//!
//! Security: `d` and `e` are XORs with uniform bits used once, so they are uniform and independent of the
//! inputs (perfect hiding, like Beaver's arithmetic openings).

use zeroize::Zeroize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::net::PartyId;
use crate::preprocessing::{words_for, BitTriples, Preprocessing, LANES};
use crate::ring::Ring;

/// This party's XOR share of `len` packed bits (lanes past `len` are kept clear).
#[derive(Clone, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u128>,
    len: usize,
}

impl Bits {
    /// `len` zero bits (a valid sharing of zeros at every party).
    pub fn zeros(len: usize) -> Self {
        Bits {
            words: vec![0; words_for(len)],
            len,
        }
    }

    /// This party's share from its words (lanes past `len` are cleared).
    pub fn from_words(mut words: Vec<u128>, len: usize) -> Result<Self> {
        if words.len() != words_for(len) {
            return Err(Error::Shape(format!(
                "{} words for {len} bits",
                words.len()
            )));
        }
        clear_past(&mut words, len);
        Ok(Bits { words, len })
    }

    /// This party's share from one bool per lane.
    pub fn from_lanes(lanes: impl ExactSizeIterator<Item = bool>) -> Self {
        let len = lanes.len();
        let mut words = vec![0u128; words_for(len)];
        for (i, b) in lanes.enumerate() {
            words[i / LANES] |= (b as u128) << (i % LANES);
        }
        Bits { words, len }
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// This party's packed share. Secret.
    pub fn words(&self) -> &[u128] {
        &self.words
    }

    /// Lane `i` of this party's share. Secret.
    pub fn lane(&self, i: usize) -> bool {
        (self.words[i / LANES] >> (i % LANES)) & 1 == 1
    }

    /// `self xor other` (local).
    pub fn xor(&self, other: &Bits) -> Result<Bits> {
        self.same_len(other)?;
        Ok(Bits {
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(a, b)| a ^ b)
                .collect(),
            len: self.len,
        })
    }

    /// `self xor public` for a public bit string: only the leader's share changes.
    pub fn xor_public(&self, lead: bool, public: &[u128]) -> Result<Bits> {
        if public.len() != self.words.len() {
            return Err(Error::Shape(format!(
                "{} public words for {} bits",
                public.len(),
                self.len
            )));
        }
        let mut out = self.clone();
        if lead {
            out.words.iter_mut().zip(public).for_each(|(w, p)| *w ^= p);
            clear_past(&mut out.words, out.len);
        }
        Ok(out)
    }

    /// `not self`: the leader flips its share.
    pub fn not(&self, lead: bool) -> Bits {
        let ones = vec![u128::MAX; self.words.len()];
        self.xor_public(lead, &ones).expect("same length")
    }

    fn same_len(&self, other: &Bits) -> Result<()> {
        if self.len != other.len {
            return Err(Error::Shape(format!(
                "bit vectors of {} and {} bits",
                self.len, other.len
            )));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Bits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bits[{}; <redacted>]", self.len)
    }
}

impl Drop for Bits {
    fn drop(&mut self) {
        self.words.zeroize();
    }
}

fn clear_past(words: &mut [u128], len: usize) {
    let spare = words.len() * LANES - len;
    if spare > 0 {
        if let Some(w) = words.last_mut() {
            *w &= u128::MAX >> spare;
        }
    }
}

fn encode_words(words: &[u128]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn xor_from_le(acc: &mut [u128], bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.len() != acc.len() * 16 {
        return Err(format!(
            "{} bytes for {} words of bits",
            bytes.len(),
            acc.len()
        ));
    }
    for (a, c) in acc.iter_mut().zip(bytes.chunks_exact(16)) {
        *a ^= u128::from_le_bytes(c.try_into().expect("16 bytes"));
    }
    Ok(())
}

/// Opens packed words to every party: each sends its share to every peer and XORs what it receives.
pub async fn open_words(ctx: &mut Context, words: &[u128]) -> Result<Vec<u128>> {
    let mut bytes = encode_words(words);
    let peers: Vec<PartyId> = ctx.peers().collect();
    for &p in &peers {
        ctx.send_bytes(p, bytes.clone()).await?;
    }
    bytes.zeroize();
    let mut acc = words.to_vec();
    for &p in &peers {
        ctx.recv_checked(p, |b| xor_from_le(&mut acc, b)).await?;
    }
    Ok(acc)
}

/// Opens shared bits to every party.
pub async fn open_bits(ctx: &mut Context, x: &Bits) -> Result<Vec<u128>> {
    open_words(ctx, &x.words).await
}

/// The ANDs `x & y` of every pair, all in one round, consuming `triples` (exactly the words of all pairs:
/// [`and_words`]).
pub async fn and_many(
    ctx: &mut Context,
    pairs: &[(&Bits, &Bits)],
    mut triples: BitTriples,
) -> Result<Vec<Bits>> {
    let total = and_words(pairs.iter().map(|(x, _)| x.len()));
    for (x, y) in pairs {
        x.same_len(y)?;
    }
    if triples.words() != total {
        return Err(Error::Preprocessing(format!(
            "{} words of bit triples for {total} words of ANDs",
            triples.words()
        )));
    }
    // d = x xor a, e = y xor b, all pairs in one message.
    let mut de = Vec::with_capacity(2 * total);
    let mut at = 0;
    for (x, _) in pairs {
        let n = x.words.len();
        de.extend(
            x.words
                .iter()
                .zip(&triples.a[at..at + n])
                .map(|(x, a)| x ^ a),
        );
        at += n;
    }
    at = 0;
    for (_, y) in pairs {
        let n = y.words.len();
        de.extend(
            y.words
                .iter()
                .zip(&triples.b[at..at + n])
                .map(|(y, b)| y ^ b),
        );
        at += n;
    }
    let opened = open_words(ctx, &de).await;
    de.zeroize();
    let opened = opened?;
    let (d, e) = opened.split_at(total);
    let lead = ctx.is_leader();
    let mut out = Vec::with_capacity(pairs.len());
    at = 0;
    for (x, _) in pairs {
        let n = x.words.len();
        let mut words: Vec<u128> = (at..at + n)
            .map(|i| {
                let (a, b, c) = (triples.a[i], triples.b[i], triples.c[i]);
                let mut z = c ^ (d[i] & b) ^ (e[i] & a);
                if lead {
                    z ^= d[i] & e[i];
                }
                z
            })
            .collect();
        clear_past(&mut words, x.len);
        out.push(Bits { words, len: x.len });
        at += n;
    }
    // Consumed: the triples are wiped on drop.
    triples.a.clear();
    Ok(out)
}

/// Words of bit triples that [`and_many`] consumes for operands of these lengths.
pub fn and_words(lens: impl Iterator<Item = usize>) -> usize {
    lens.map(words_for).sum()
}

/// [`and_many`], taking the triples from `pre`.
pub async fn and_with<R: Ring>(
    ctx: &mut Context,
    pre: &mut dyn Preprocessing<R>,
    pairs: &[(&Bits, &Bits)],
) -> Result<Vec<Bits>> {
    let words = and_words(pairs.iter().map(|(x, _)| x.len()));
    let triples = pre.bit_triples(ctx, words).await?;
    and_many(ctx, pairs, triples).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{DealerSource, InsecureSharedSeed};
    use crate::ring::Z128;
    use crate::simulate::{simulate_with, SimOptions};
    use rand::Rng;

    /// Party 0 holds `x` and party 1 holds `y` in the clear (the other shares are zero); every AND matches
    /// the plaintext AND, for 2, 3 and 5 parties and lengths that end inside a word, with the dealer.
    #[tokio::test]
    async fn ands_match_plaintext() {
        for parties in [2, 3, 5] {
            for len in [1, 127, 130] {
                let mut rng = rand::thread_rng();
                let x: Vec<bool> = (0..len).map(|_| rng.gen()).collect();
                let y: Vec<bool> = (0..len).map(|_| rng.gen()).collect();
                let (xc, yc) = (x.clone(), y.clone());
                let opts = SimOptions {
                    dealer: true,
                    ..Default::default()
                };
                let out = simulate_with(opts, parties, move |mut ctx| {
                    let (x, y) = (xc.clone(), yc.clone());
                    async move {
                        let me = ctx.id();
                        let xs = if me == 0 {
                            Bits::from_lanes(x.into_iter())
                        } else {
                            Bits::zeros(len)
                        };
                        let ys = if me == 1 {
                            Bits::from_lanes(y.into_iter())
                        } else {
                            Bits::zeros(len)
                        };
                        let mut pre = DealerSource::<Z128>::connect(&ctx).await?;
                        let z = and_with(&mut ctx, &mut pre, &[(&xs, &ys), (&ys, &ys)]).await?;
                        let a = open_bits(&mut ctx, &z[0]).await?;
                        let b = open_bits(&mut ctx, &z[1]).await?;
                        Ok((a, b))
                    }
                })
                .await
                .unwrap();
                for party in &out {
                    let (a, b) = party.result.as_ref().unwrap();
                    for i in 0..len {
                        let lane = |w: &[u128]| (w[i / 128] >> (i % 128)) & 1 == 1;
                        assert_eq!(lane(a), x[i] && y[i], "{parties} parties, lane {i}");
                        assert_eq!(lane(b), y[i]);
                    }
                    // Lanes past the length stay clear.
                    assert_eq!(a.last().unwrap() >> (len % 128).max(1) >> 127, 0);
                }
            }
        }
    }

    /// The wrong number of triples is an error, not a wrong result.
    #[tokio::test]
    async fn wrong_triple_count_is_an_error() {
        let out = simulate_with(SimOptions::default(), 2, |mut ctx| async move {
            let mut pre = InsecureSharedSeed::<Z128>::for_context([3; 32], &ctx);
            let t = pre.bit_triples(&mut ctx, 2).await?;
            let x = Bits::zeros(10);
            and_many(&mut ctx, &[(&x, &x)], t).await
        })
        .await
        .unwrap();
        assert!(out.iter().all(|p| p.result.is_err()));
    }
}
