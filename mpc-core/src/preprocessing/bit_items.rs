//! The boolean correlations: AND triples on XOR-shared bits (Beaver's triples over GF(2), as in GMW), and
//! doubly shared random bits (daBits: Rotaru and Wood, "MArBled Circuits", INDOCRYPT 2019, section 3), which
//! carry a bit from an XOR sharing to an additive one. Both are move-only, wiped on drop and printed redacted, like the
//! arithmetic items.
//!
//! Bits are packed: a `u128` word holds 128 independent lanes, and the XOR of every party's word is the shared
//! word.

use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::ring::Ring;

/// Lanes per word of packed bits.
pub const LANES: usize = 128;

/// Words needed for `bits` lanes.
pub fn words_for(bits: usize) -> usize {
    bits.div_ceil(LANES)
}

/// This party's XOR shares of `words x 128` AND triples: `c = a & b` lane by lane.
pub struct BitTriples {
    pub(crate) a: Vec<u128>,
    pub(crate) b: Vec<u128>,
    pub(crate) c: Vec<u128>,
}

impl BitTriples {
    /// Triples from this party's shares (for preprocessing sources).
    pub fn from_shares(a: Vec<u128>, b: Vec<u128>, c: Vec<u128>) -> Result<Self> {
        if a.len() != b.len() || a.len() != c.len() {
            return Err(Error::Shape(format!(
                "bit triple shares of {}, {} and {} words",
                a.len(),
                b.len(),
                c.len()
            )));
        }
        Ok(BitTriples { a, b, c })
    }

    /// Number of words (128 triples each).
    pub fn words(&self) -> usize {
        self.a.len()
    }

    /// Splits off the words from `at` on; `self` keeps the first `at`.
    pub fn split_off(&mut self, at: usize) -> Result<Self> {
        if at > self.words() {
            return Err(Error::Shape(format!(
                "splitting {} words of bit triples at {at}",
                self.words()
            )));
        }
        Ok(BitTriples {
            a: self.a.split_off(at),
            b: self.b.split_off(at),
            c: self.c.split_off(at),
        })
    }
}

impl std::fmt::Debug for BitTriples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BitTriples[{} words; <redacted>]", self.words())
    }
}

impl Drop for BitTriples {
    fn drop(&mut self) {
        self.a.zeroize();
        self.b.zeroize();
        self.c.zeroize();
    }
}

/// This party's shares of `count` random bits `r`, each both XOR-shared (packed, lane `i` of word `i / 128`)
/// and additively shared in `R` (element `i`).
pub struct DaBits<R: Ring> {
    pub(crate) xor: Vec<u128>,
    pub(crate) arith: Vec<R>,
}

impl<R: Ring> DaBits<R> {
    /// DaBits from this party's shares (for preprocessing sources): `xor` must have exactly the words `arith`
    /// needs, and its lanes beyond `arith.len()` must be zero.
    pub fn from_shares(xor: Vec<u128>, arith: Vec<R>) -> Result<Self> {
        let n = arith.len();
        let spare = words_for(n) * LANES - n;
        let tail_clear = spare == 0 || xor.last().is_none_or(|w| w >> (LANES - spare) == 0);
        if xor.len() != words_for(n) || !tail_clear {
            return Err(Error::Shape(format!(
                "daBit shares of {} words for {n} bits",
                xor.len()
            )));
        }
        Ok(DaBits { xor, arith })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.arith.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.arith.is_empty()
    }
}

impl<R: Ring> std::fmt::Debug for DaBits<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DaBits<{}>[{}; <redacted>]", R::NAME, self.len())
    }
}

impl<R: Ring> Drop for DaBits<R> {
    fn drop(&mut self) {
        self.xor.zeroize();
        self.arith.zeroize();
    }
}

/// Clears the lanes of the last word beyond `bits`.
pub(crate) fn clear_tail(words: &mut [u128], bits: usize) {
    let spare = words.len() * LANES - bits;
    if spare > 0 && spare < LANES {
        if let Some(w) = words.last_mut() {
            *w &= u128::MAX >> spare;
        }
    } else if spare >= LANES {
        // Only reachable for inconsistent lengths; clear everything past `bits`.
        for w in words.iter_mut().skip(words_for(bits)) {
            *w = 0;
        }
    }
}

/// Lane `i` of packed words.
pub fn lane(words: &[u128], i: usize) -> bool {
    (words[i / LANES] >> (i % LANES)) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::Z128;

    #[test]
    fn debug_is_redacted_and_shapes_are_checked() {
        let t = BitTriples::from_shares(vec![0xdead_beef], vec![7], vec![9]).unwrap();
        let s = format!("{t:?}");
        assert!(s.contains("redacted") && !s.contains("dead") && !s.contains("3735928559"));
        assert!(BitTriples::from_shares(vec![1], vec![], vec![1]).is_err());
        let d = DaBits::<Z128>::from_shares(vec![1], vec![Z128(12345)]).unwrap();
        assert!(!format!("{d:?}").contains("12345"));
        // A lane past the last bit must be clear.
        assert!(DaBits::<Z128>::from_shares(vec![2], vec![Z128(1)]).is_err());
        assert!(DaBits::<Z128>::from_shares(vec![1, 0], vec![Z128(1)]).is_err());
    }

    #[test]
    fn tails_are_cleared() {
        let mut w = vec![u128::MAX, u128::MAX];
        clear_tail(&mut w, 130);
        assert_eq!(w, vec![u128::MAX, 3]);
        assert!(lane(&w, 129) && !lane(&w, 130));
    }
}
