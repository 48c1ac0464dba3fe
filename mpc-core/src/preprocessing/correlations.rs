//! Seed-derived correlated randomness, shared by the dealer and the insecure shared-seed source.
//!
//! Party `i` expands its own seed into its shares of every item. The holder of all seeds (the dealer, or
//! every party under the insecure shared seed) computes party 0's *correction*: the one component of party
//! 0's share that makes the item correct (for a triple, `c_0 = a*b - sum_{i>0} c_i`). So a party's shares
//! cost it one PRG expansion, and the dealer sends one element per triple, to party 0 only.

use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::prg::Seed;
use crate::ring::{Ring, Z128};
use crate::share::matmul_plain;

use super::bit_items::{clear_tail, lane, words_for, BitTriples, DaBits};
use super::items::{MaskTriple, MatrixMask, MatrixTriple, Squares, Triples, TruncPairs};
use super::MaskUse;

/// What a party asks of a source (one per [`super::Preprocessing`] method); every party makes the same
/// sequence of requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `count` Beaver triples.
    Triples {
        /// Number of triples.
        count: usize,
        /// Each party's share of `a` may be drawn below `2^a_bits` (see
        /// [`super::Preprocessing::triples_bounded`]); `None` for uniform triples.
        a_bits: Option<u32>,
    },
    /// A matrix triple for `m x k` times `k x n`.
    MatrixTriple {
        /// Rows of `A`.
        m: usize,
        /// Columns of `A`, rows of `B`.
        k: usize,
        /// Columns of `B`.
        n: usize,
    },
    /// A reusable `m x k` mask.
    MatrixMask {
        /// Rows.
        m: usize,
        /// Columns.
        k: usize,
    },
    /// A triple for the mask with this id.
    MaskTriple {
        /// The mask's id ([`super::MatrixMask::id`]).
        mask: u64,
        /// Which rows, and whether transposed.
        using: MaskUse,
    },
    /// Truncation pairs.
    Trunc {
        /// Number of pairs.
        count: usize,
        /// The shift.
        frac_bits: u32,
    },
    /// Random shared elements.
    Random {
        /// Number of elements.
        count: usize,
    },
    /// Square pairs `(a, a^2)`, with `products` also `(b, a b)` ([`super::Squares`]).
    Squares {
        /// Number of pairs.
        count: usize,
        /// Whether each pair has a product of the same `a`.
        products: bool,
        /// Each party's share of `a` may be drawn below `2^mask_bits` (see [`super::Preprocessing::squares`]).
        mask_bits: u32,
    },
    /// AND triples on XOR-shared bits, 128 per word ([`super::BitTriples`]).
    BitTriples {
        /// Number of words.
        words: usize,
    },
    /// Random bits shared both ways ([`super::DaBits`]).
    DaBits {
        /// Number of bits.
        count: usize,
    },
}

/// Upper bound on elements in one request, so a peer's request cannot make the dealer allocate without limit.
pub(crate) const MAX_REQUEST_ELEMENTS: usize = 1 << 28;

impl Request {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let (tag, fields): (u8, [u64; 5]) = match *self {
            Request::Triples { count, a_bits } => {
                (1, [count as u64, a_bits.unwrap_or(0) as u64, 0, 0, 0])
            }
            Request::MatrixTriple { m, k, n } => (2, [m as u64, k as u64, n as u64, 0, 0]),
            Request::MatrixMask { m, k } => (3, [m as u64, k as u64, 0, 0, 0]),
            Request::MaskTriple { mask, ref using } => (
                4,
                [
                    mask,
                    using.row_start as u64,
                    using.row_end as u64,
                    using.cols as u64,
                    using.transpose as u64,
                ],
            ),
            Request::Trunc { count, frac_bits } => (5, [count as u64, frac_bits as u64, 0, 0, 0]),
            Request::Random { count } => (6, [count as u64, 0, 0, 0, 0]),
            Request::Squares {
                count,
                products,
                mask_bits,
            } => (7, [count as u64, products as u64, mask_bits as u64, 0, 0]),
            Request::BitTriples { words } => (8, [words as u64, 0, 0, 0, 0]),
            Request::DaBits { count } => (9, [count as u64, 0, 0, 0, 0]),
        };
        let mut out = vec![tag];
        for f in fields {
            out.extend_from_slice(&f.to_le_bytes());
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> std::result::Result<Request, String> {
        if bytes.len() != 41 {
            return Err(format!(
                "a preprocessing request is 41 bytes, got {}",
                bytes.len()
            ));
        }
        let f: Vec<u64> = bytes[1..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8")))
            .collect();
        let size = |x: u64| usize::try_from(x).map_err(|_| format!("size {x} too large"));
        let req = match bytes[0] {
            1 => Request::Triples {
                count: size(f[0])?,
                a_bits: match f[1] {
                    0 => None,
                    b @ 1..=128 => Some(b as u32),
                    b => return Err(format!("{b} mask bits")),
                },
            },
            2 => Request::MatrixTriple {
                m: size(f[0])?,
                k: size(f[1])?,
                n: size(f[2])?,
            },
            3 => Request::MatrixMask {
                m: size(f[0])?,
                k: size(f[1])?,
            },
            4 => Request::MaskTriple {
                mask: f[0],
                using: MaskUse {
                    row_start: size(f[1])?,
                    row_end: size(f[2])?,
                    cols: size(f[3])?,
                    transpose: match f[4] {
                        0 => false,
                        1 => true,
                        t => return Err(format!("transpose flag {t}")),
                    },
                },
            },
            5 => Request::Trunc {
                count: size(f[0])?,
                frac_bits: u32::try_from(f[1]).map_err(|e| e.to_string())?,
            },
            6 => Request::Random { count: size(f[0])? },
            7 => Request::Squares {
                count: size(f[0])?,
                products: match f[1] {
                    0 => false,
                    1 => true,
                    p => return Err(format!("products flag {p}")),
                },
                mask_bits: match f[2] {
                    b @ 1..=128 => b as u32,
                    b => return Err(format!("{b} mask bits")),
                },
            },
            8 => Request::BitTriples { words: size(f[0])? },
            9 => Request::DaBits { count: size(f[0])? },
            t => return Err(format!("unknown request kind {t}")),
        };
        req.check_size()?;
        Ok(req)
    }

    /// The number of ring elements (or words, for bit items) the request's item holds across its parts,
    /// saturating at `usize::MAX`; `None` for a mask triple whose row range is reversed. For a mask triple
    /// this counts `rows x cols` twice, from the request alone: its real size also depends on the mask's
    /// shape, which the holder of the mask checks when it answers.
    pub fn elements(&self) -> Option<usize> {
        match *self {
            Request::Triples { count, .. }
            | Request::Random { count }
            | Request::Trunc { count, .. } => Some(count.saturating_mul(3)),
            Request::Squares { count, .. } => Some(count.saturating_mul(4)),
            Request::BitTriples { words } => Some(words.saturating_mul(3)),
            Request::DaBits { count } => Some(count.saturating_mul(2)),
            Request::MatrixTriple { m, k, n } => Some(
                m.saturating_mul(k)
                    .saturating_add(k.saturating_mul(n))
                    .saturating_add(m.saturating_mul(n)),
            ),
            Request::MatrixMask { m, k } => Some(m.saturating_mul(k)),
            Request::MaskTriple { ref using, .. } => using
                .row_end
                .checked_sub(using.row_start)
                .map(|r| r.saturating_mul(using.cols).saturating_mul(2)),
        }
    }

    /// Refuses a request whose item exceeds [`MAX_REQUEST_ELEMENTS`], or one of whose dimensions does: a
    /// matrix of zero elements may still have a dimension the answer loops over (`m` rows of a `m x 0`
    /// times `0 x 0` product), and a mask triple's columns multiply the mask's rows or columns, which only
    /// the dealer knows ([`mask_use_shape`] checks the product).
    fn check_size(&self) -> std::result::Result<(), String> {
        let dims_ok = match *self {
            Request::MatrixTriple { m, k, n } => {
                [m, k, n].iter().all(|&d| d <= MAX_REQUEST_ELEMENTS)
            }
            Request::MatrixMask { m, k } => m <= MAX_REQUEST_ELEMENTS && k <= MAX_REQUEST_ELEMENTS,
            Request::MaskTriple { ref using, .. } => {
                using.row_end <= MAX_REQUEST_ELEMENTS && using.cols <= MAX_REQUEST_ELEMENTS
            }
            _ => true,
        };
        match self.elements() {
            Some(e) if e <= MAX_REQUEST_ELEMENTS && dims_ok => Ok(()),
            _ => Err(format!("request {self:?} is too large or malformed")),
        }
    }
}

const TAG_A: u64 = 0;
const TAG_B: u64 = 1;
const TAG_C: u64 = 2;
/// The products `a b` of square pairs (their squares use [`TAG_C`]).
const TAG_D: u64 = 3;

fn expand<R: Ring>(seed: &Seed, request: u64, tag: u64, len: usize) -> Vec<R> {
    let mut prg = seed.expander(request.wrapping_mul(8).wrapping_add(tag));
    R::random_vec(&mut prg, len)
}

/// Packed random bits: `len` words of party `seed`'s stream `(request, tag)`.
/// The ring elements the words are read from are wiped; the caller owns (and wipes) the words.
fn expand_words(seed: &Seed, request: u64, tag: u64, len: usize) -> Vec<u128> {
    let elements = Zeroizing::new(expand::<Z128>(seed, request, tag, len));
    elements.iter().map(|w| w.0).collect()
}

/// This party's XOR share of `count` daBits' bits (packed, lanes past `count` clear).
fn expand_bits(seed: &Seed, request: u64, tag: u64, count: usize) -> Vec<u128> {
    let mut w = expand_words(seed, request, tag, words_for(count));
    clear_tail(&mut w, count);
    w
}

/// The XOR of every party's words from `from` on: a whole secret, wiped on drop like each party's words
/// folded into it.
fn xor_shares(
    seeds: &[Seed],
    request: u64,
    tag: u64,
    len: usize,
    from: usize,
) -> Zeroizing<Vec<u128>> {
    let mut total = Zeroizing::new(vec![0u128; len]);
    for seed in &seeds[from..] {
        let share = Zeroizing::new(expand_words(seed, request, tag, len));
        for (t, x) in total.iter_mut().zip(share.iter()) {
            *t ^= x;
        }
    }
    total
}

/// Packed words carried as ring elements (the dealer's corrections are ring elements): `R::BYTES` bytes each.
/// Only rings whose every byte string is an element (Z64, Z128) can carry them.
pub(crate) fn words_to_ring<R: Ring>(words: &[u128]) -> Result<Vec<R>> {
    ring_len_of_words::<R>(words.len())?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let out = R::decode_slice(&bytes);
    let mut bytes = bytes;
    zeroize::Zeroize::zeroize(&mut bytes);
    out
}

/// The inverse of [`words_to_ring`].
pub(crate) fn ring_to_words<R: Ring>(xs: &[R]) -> Result<Vec<u128>> {
    let mut bytes = R::encode_slice(xs);
    if bytes.len() % 16 != 0 {
        return Err(Error::Preprocessing(format!(
            "{} bytes of packed bits are not whole words",
            bytes.len()
        )));
    }
    let out = bytes
        .chunks_exact(16)
        .map(|c| u128::from_le_bytes(c.try_into().expect("16 bytes")))
        .collect();
    zeroize::Zeroize::zeroize(&mut bytes);
    Ok(out)
}

/// Ring elements that carry `words` words.
fn ring_len_of_words<R: Ring>(words: usize) -> Result<usize> {
    if R::BYTES > 16 || 16 % R::BYTES != 0 {
        return Err(Error::Preprocessing(format!(
            "bit correlations need a power-of-two ring, not {}",
            R::NAME
        )));
    }
    Ok(words * (16 / R::BYTES))
}

fn sum_shares<R: Ring>(seeds: &[Seed], request: u64, tag: u64, len: usize, from: usize) -> Vec<R> {
    let mut total = vec![R::ZERO; len];
    for seed in &seeds[from..] {
        let share = Zeroizing::new(expand::<R>(seed, request, tag, len));
        for (t, &x) in total.iter_mut().zip(share.iter()) {
            *t += x;
        }
    }
    total
}

/// Elements per chunk when corrections are computed streaming: small enough to stay in cache.
const CHUNK: usize = 4096;

/// `c_0 = (sum_i a_i) (sum_i b_i) - sum_{i>0} c_i`, computed chunk by chunk from the parties' expanders with
/// no large temporaries. `own` holds party 0's `a_0`, `b_0` if already expanded.
fn streamed_triple_correction<R: Ring>(
    seeds: &[Seed],
    id: u64,
    count: usize,
    own: Option<(&[R], &[R])>,
) -> Vec<R> {
    let stream = |tag: u64| id.wrapping_mul(8).wrapping_add(tag);
    let first = usize::from(own.is_some());
    let mut ea: Vec<_> = seeds[first..]
        .iter()
        .map(|s| s.expander(stream(TAG_A)))
        .collect();
    let mut eb: Vec<_> = seeds[first..]
        .iter()
        .map(|s| s.expander(stream(TAG_B)))
        .collect();
    let mut ec: Vec<_> = seeds[1..]
        .iter()
        .map(|s| s.expander(stream(TAG_C)))
        .collect();
    let mut out = vec![R::ZERO; count];
    let (mut a, mut b, mut buf) = (
        vec![R::ZERO; CHUNK],
        vec![R::ZERO; CHUNK],
        vec![R::ZERO; CHUNK],
    );
    let mut start = 0;
    while start < count {
        let len = CHUNK.min(count - start);
        let (a, b, buf) = (&mut a[..len], &mut b[..len], &mut buf[..len]);
        for (acc, exps, own) in [
            (&mut *a, &mut ea, own.map(|o| o.0)),
            (&mut *b, &mut eb, own.map(|o| o.1)),
        ] {
            match own {
                Some(o) => acc.copy_from_slice(&o[start..start + len]),
                None => acc.fill(R::ZERO),
            }
            for e in exps.iter_mut() {
                R::fill_random(e, buf);
                acc.iter_mut().zip(buf.iter()).for_each(|(x, &y)| *x += y);
            }
        }
        let o = &mut out[start..start + len];
        o.iter_mut()
            .zip(a.iter().zip(b.iter()))
            .for_each(|(o, (&x, &y))| *o = x * y);
        for e in ec.iter_mut() {
            R::fill_random(e, buf);
            o.iter_mut().zip(buf.iter()).for_each(|(x, &y)| *x -= y);
        }
        start += len;
    }
    for v in [&mut a, &mut b, &mut buf] {
        zeroize::Zeroize::zeroize(v);
    }
    out
}

/// Shapes of the mask's sub-matrix `A'` used by a mask triple: `(rows of A', cols of A' = rows of B)`. An
/// error if the rows are not within the mask's `m`, or if `B` and `C` together would exceed
/// [`MAX_REQUEST_ELEMENTS`].
fn mask_use_shape(m: usize, k: usize, using: &MaskUse) -> Result<(usize, usize)> {
    if using.row_start > using.row_end || using.row_end > m {
        return Err(Error::Preprocessing(format!(
            "rows {}..{} of a mask of {m} rows",
            using.row_start, using.row_end
        )));
    }
    let rows = using.row_end - using.row_start;
    let (out_rows, inner) = if using.transpose {
        (k, rows)
    } else {
        (rows, k)
    };
    // The triple holds `B` (inner x cols) and `C` (out_rows x cols): both must fit the request limit.
    let elements = out_rows
        .checked_add(inner)
        .and_then(|r| r.checked_mul(using.cols));
    if elements.is_none_or(|e| e > MAX_REQUEST_ELEMENTS) {
        return Err(Error::Preprocessing(format!(
            "a triple of {out_rows} x {inner} mask rows times {} columns is too large",
            using.cols
        )));
    }
    Ok((out_rows, inner))
}

fn sub_matrix<R: Ring>(a: &[R], k: usize, using: &MaskUse) -> Vec<R> {
    let block = &a[using.row_start * k..using.row_end * k];
    if !using.transpose {
        return block.to_vec();
    }
    let rows = using.row_end - using.row_start;
    let mut t = vec![R::ZERO; block.len()];
    for r in 0..rows {
        for c in 0..k {
            t[c * rows + r] = block[r * k + c];
        }
    }
    t
}

/// Party `party`'s own view: expands its seed, and for party 0 takes the correction as the corrected part.
pub(crate) struct LocalShares<'a> {
    pub(crate) party: usize,
    pub(crate) seed: &'a Seed,
    /// Shapes of masks seen so far, by id.
    pub(crate) masks: &'a mut HashMap<u64, (usize, usize)>,
}

/// The item a request yields at one party.
pub(crate) enum Item<R: Ring> {
    Triples(Triples<R>),
    MatrixTriple(MatrixTriple<R>),
    MatrixMask(MatrixMask<R>),
    MaskTriple(MaskTriple<R>),
    Trunc(TruncPairs<R>),
    Random(Vec<R>),
    Squares(Squares<R>),
    BitTriples(BitTriples),
    DaBits(DaBits<R>),
}

impl LocalShares<'_> {
    /// Number of correction elements party 0 needs for `req`.
    pub(crate) fn correction_len<R: Ring>(&self, req: &Request) -> Result<usize> {
        Ok(match *req {
            Request::Triples { count, .. } | Request::Trunc { count, .. } => count,
            Request::MatrixTriple { m, n, .. } => m * n,
            Request::MaskTriple { mask, ref using } => {
                let &(m, k) = self
                    .masks
                    .get(&mask)
                    .ok_or_else(|| Error::Preprocessing(format!("no mask {mask}")))?;
                let (rows, _) = mask_use_shape(m, k, using)?;
                rows * using.cols
            }
            Request::MatrixMask { .. } | Request::Random { .. } => 0,
            Request::Squares {
                count, products, ..
            } => count * (1 + usize::from(products)),
            Request::BitTriples { words } => ring_len_of_words::<R>(words)?,
            Request::DaBits { count } => count,
        })
    }

    /// This party's item for request number `id`; `correction` is party 0's (empty elsewhere).
    pub(crate) fn item<R: Ring>(
        &mut self,
        id: u64,
        req: &Request,
        correction: Vec<R>,
    ) -> Result<Item<R>> {
        let lead = self.party == 0;
        let own_or = |len: usize, tag: u64, corr: Vec<R>| {
            if lead {
                corr
            } else {
                expand(self.seed, id, tag, len)
            }
        };
        Ok(match *req {
            Request::Triples { count, .. } => Item::Triples(Triples::from_shares(
                expand(self.seed, id, TAG_A, count),
                expand(self.seed, id, TAG_B, count),
                own_or(count, TAG_C, correction),
            )?),
            Request::MatrixTriple { m, k, n } => Item::MatrixTriple(MatrixTriple::from_shares(
                m,
                k,
                n,
                expand(self.seed, id, TAG_A, m * k),
                expand(self.seed, id, TAG_B, k * n),
                own_or(m * n, TAG_C, correction),
            )?),
            Request::MatrixMask { m, k } => {
                self.masks.insert(id, (m, k));
                Item::MatrixMask(MatrixMask::from_share(
                    id,
                    m,
                    k,
                    expand(self.seed, id, TAG_A, m * k),
                )?)
            }
            Request::MaskTriple { mask, ref using } => {
                let &(m, k) = self
                    .masks
                    .get(&mask)
                    .ok_or_else(|| Error::Preprocessing(format!("no mask {mask}")))?;
                let (rows, inner) = mask_use_shape(m, k, using)?;
                Item::MaskTriple(MaskTriple::from_shares(
                    mask,
                    expand(self.seed, id, TAG_B, inner * using.cols),
                    own_or(rows * using.cols, TAG_C, correction),
                ))
            }
            Request::Trunc { count, frac_bits } => Item::Trunc(TruncPairs::from_shares(
                frac_bits,
                expand(self.seed, id, TAG_A, count),
                own_or(count, TAG_C, correction),
            )?),
            Request::Random { count } => Item::Random(expand(self.seed, id, TAG_A, count)),
            Request::Squares {
                count, products, ..
            } => {
                // Party 0's correction holds its squares, then its products.
                let (s, c) = if lead {
                    let mut s = correction;
                    let c = s.split_off(count.min(s.len()));
                    (s, c)
                } else {
                    (
                        expand(self.seed, id, TAG_C, count),
                        if products {
                            expand(self.seed, id, TAG_D, count)
                        } else {
                            Vec::new()
                        },
                    )
                };
                let b = if products {
                    expand(self.seed, id, TAG_B, count)
                } else {
                    Vec::new()
                };
                Item::Squares(Squares::from_shares(
                    expand(self.seed, id, TAG_A, count),
                    s,
                    b,
                    c,
                )?)
            }
            Request::BitTriples { words } => Item::BitTriples(BitTriples::from_shares(
                expand_words(self.seed, id, TAG_A, words),
                expand_words(self.seed, id, TAG_B, words),
                if lead {
                    ring_to_words(&correction)?
                } else {
                    expand_words(self.seed, id, TAG_C, words)
                },
            )?),
            Request::DaBits { count } => Item::DaBits(DaBits::from_shares(
                expand_bits(self.seed, id, TAG_A, count),
                own_or(count, TAG_B, correction),
            )?),
        })
    }
}

/// The holder of every party's seed: computes party 0's corrections and remembers the masks it made.
pub(crate) struct Corrector<R: Ring> {
    pub(crate) seeds: Vec<Seed>,
    masks: HashMap<u64, (usize, usize, Zeroizing<Vec<R>>)>,
}

impl<R: Ring> Corrector<R> {
    pub(crate) fn new(seeds: Vec<Seed>) -> Self {
        Corrector {
            seeds,
            masks: HashMap::new(),
        }
    }

    /// Party 0's correction for request number `id` (empty for requests that need none). `own`, if given,
    /// is party 0's own item with its seed-derived parts already expanded, so they are not expanded twice.
    pub(crate) fn correction(
        &mut self,
        id: u64,
        req: &Request,
        own: Option<&Item<R>>,
    ) -> Result<Vec<R>> {
        let seeds = &self.seeds;
        let own_triples = match own {
            Some(Item::Triples(t)) => Some((t.a.as_slice(), t.b.as_slice())),
            _ => None,
        };
        // Sums of shares are whole secrets: each is wiped after use (the targets are reused in place).
        let minus_others = |mut target: Vec<R>, tag: u64| {
            let others = Zeroizing::new(sum_shares::<R>(seeds, id, tag, target.len(), 1));
            target
                .iter_mut()
                .zip(others.iter())
                .for_each(|(t, &o)| *t -= o);
            target
        };
        Ok(match *req {
            Request::Triples { count, .. } => {
                streamed_triple_correction(seeds, id, count, own_triples)
            }
            Request::MatrixTriple { m, k, n } => {
                let a = Zeroizing::new(sum_shares::<R>(seeds, id, TAG_A, m * k, 0));
                let b = Zeroizing::new(sum_shares::<R>(seeds, id, TAG_B, k * n, 0));
                minus_others(matmul_plain(&a, &b, m, k, n), TAG_C)
            }
            Request::MatrixMask { m, k } => {
                let a = Zeroizing::new(sum_shares::<R>(seeds, id, TAG_A, m * k, 0));
                self.masks.insert(id, (m, k, a));
                Vec::new()
            }
            Request::MaskTriple { mask, ref using } => {
                let (m, k, a) = self
                    .masks
                    .get(&mask)
                    .ok_or_else(|| Error::Preprocessing(format!("no mask {mask}")))?;
                let (rows, inner) = mask_use_shape(*m, *k, using)?;
                let sub = Zeroizing::new(sub_matrix(a, *k, using));
                let b = Zeroizing::new(sum_shares::<R>(seeds, id, TAG_B, inner * using.cols, 0));
                minus_others(matmul_plain(&sub, &b, rows, inner, using.cols), TAG_C)
            }
            Request::Trunc { count, frac_bits } => {
                if frac_bits >= R::BITS {
                    return Err(Error::Preprocessing(format!(
                        "a shift of {frac_bits} bits in {}",
                        R::NAME
                    )));
                }
                let mut r = sum_shares::<R>(seeds, id, TAG_A, count, 0);
                r.iter_mut().for_each(|x| *x = x.shr_canonical(frac_bits));
                minus_others(r, TAG_C)
            }
            Request::Random { .. } => Vec::new(),
            Request::Squares {
                count, products, ..
            } => {
                let a = Zeroizing::new(sum_shares::<R>(seeds, id, TAG_A, count, 0));
                // Allocated once: growing would leave the squares' corrections in freed memory.
                let mut out = Vec::with_capacity(count * (1 + usize::from(products)));
                out.extend_from_slice(&Zeroizing::new(minus_others(
                    a.iter().map(|&x| x * x).collect(),
                    TAG_C,
                )));
                if products {
                    let b = Zeroizing::new(sum_shares::<R>(seeds, id, TAG_B, count, 0));
                    out.extend_from_slice(&Zeroizing::new(minus_others(
                        a.iter().zip(b.iter()).map(|(&x, &y)| x * y).collect(),
                        TAG_D,
                    )));
                }
                out
            }
            Request::BitTriples { words } => {
                // c_0 = (xor a)(xor b) xor (xor_{i>0} c_i).
                let a = xor_shares(seeds, id, TAG_A, words, 0);
                let b = xor_shares(seeds, id, TAG_B, words, 0);
                let others = xor_shares(seeds, id, TAG_C, words, 1);
                let c: Zeroizing<Vec<u128>> = Zeroizing::new(
                    a.iter()
                        .zip(b.iter())
                        .zip(others.iter())
                        .map(|((&a, &b), &o)| (a & b) ^ o)
                        .collect(),
                );
                words_to_ring(&c)?
            }
            Request::DaBits { count } => {
                let mut bits = xor_shares(seeds, id, TAG_A, words_for(count), 0);
                clear_tail(&mut bits, count);
                let r: Vec<R> = (0..count)
                    .map(|i| if lane(&bits, i) { R::ONE } else { R::ZERO })
                    .collect();
                minus_others(r, TAG_B)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of request survives the dealer's wire format; malformed fields are named.
    #[test]
    fn requests_round_trip_and_bad_fields_are_errors() {
        let all = [
            Request::Triples {
                count: 5,
                a_bits: None,
            },
            Request::Triples {
                count: 5,
                a_bits: Some(72),
            },
            Request::MatrixTriple { m: 2, k: 3, n: 4 },
            Request::MatrixMask { m: 6, k: 7 },
            Request::MaskTriple {
                mask: 3,
                using: MaskUse {
                    row_start: 1,
                    row_end: 9,
                    cols: 1,
                    transpose: true,
                },
            },
            Request::Trunc {
                count: 8,
                frac_bits: 20,
            },
            Request::Random { count: 9 },
            Request::Squares {
                count: 4,
                products: true,
                mask_bits: 70,
            },
            Request::BitTriples { words: 3 },
            Request::DaBits { count: 300 },
        ];
        for r in all {
            assert_eq!(Request::decode(&r.encode()), Ok(r.clone()), "{r:?}");
        }
        let mut bad = Request::Triples {
            count: 5,
            a_bits: Some(72),
        }
        .encode();
        bad[9] = 200;
        assert_eq!(Request::decode(&bad), Err("200 mask bits".to_string()));
        assert!(Request::decode(&bad[1..]).is_err());
    }

    /// Found by the `dealer` fuzz target: a matrix triple of `m x 0` times `0 x 0` has no elements, but
    /// its answer looked at each of its `m` rows, so `m = 2^63` kept the dealer busy for ever.
    #[test]
    fn a_request_with_a_huge_dimension_and_no_elements_is_refused() {
        let huge = Request::MatrixTriple {
            m: 1 << 62,
            k: 0,
            n: 0,
        };
        assert_eq!(huge.elements(), Some(0));
        assert!(Request::decode(&huge.encode()).is_err());
        let mask = Request::MatrixMask { m: 0, k: 1 << 40 };
        assert!(Request::decode(&mask.encode()).is_err());
        let cols = Request::MaskTriple {
            mask: 0,
            using: MaskUse {
                row_start: 0,
                row_end: 0,
                cols: 1 << 40,
                transpose: false,
            },
        };
        assert!(Request::decode(&cols.encode()).is_err());
        let fine = Request::MatrixTriple { m: 3, k: 0, n: 2 };
        assert_eq!(Request::decode(&fine.encode()), Ok(fine));
    }

    /// Found by the `dealer` fuzz target: a triple of `2^27 x 0` times `0 x 0` is within every limit and
    /// has no elements; the dealer answers it at once (it used to walk the `2^27` empty rows, for seconds).
    #[test]
    fn an_empty_matrix_triple_with_many_rows_is_answered_empty() {
        let seeds: Vec<Seed> = (0..2u8)
            .map(|i| Seed::from_slice(&[i; 32]).unwrap())
            .collect();
        let mut c = Corrector::<crate::ring::Z128>::new(seeds);
        let req = Request::MatrixTriple {
            m: 1 << 27,
            k: 0,
            n: 0,
        };
        assert_eq!(Request::decode(&req.encode()), Ok(req.clone()));
        assert!(c.correction(0, &req, None).unwrap().is_empty());
    }

    /// A mask triple's `B` has the mask's columns (or rows) times the columns asked for, which only the
    /// holder of the mask knows: an empty row range with many columns is refused there, not allocated.
    #[test]
    fn a_mask_triple_larger_than_the_limit_is_refused_by_the_dealer() {
        let seeds: Vec<Seed> = (0..2u8)
            .map(|i| Seed::from_slice(&[i; 32]).unwrap())
            .collect();
        let mut c = Corrector::<crate::ring::Z64>::new(seeds);
        let mask = Request::MatrixMask { m: 2, k: 1 << 20 };
        assert!(c.correction(0, &mask, None).unwrap().is_empty());
        let wide = Request::MaskTriple {
            mask: 0,
            using: MaskUse {
                row_start: 1,
                row_end: 1,
                cols: 1 << 9,
                transpose: false,
            },
        };
        assert!(
            Request::decode(&wide.encode()).is_ok(),
            "no elements by the request alone"
        );
        let err = c.correction(1, &wide, None).unwrap_err().to_string();
        assert!(err.contains("too large"), "{err}");
        let narrow = Request::MaskTriple {
            mask: 0,
            using: MaskUse {
                row_start: 0,
                row_end: 1,
                cols: 2,
                transpose: false,
            },
        };
        assert_eq!(c.correction(2, &narrow, None).unwrap().len(), 2);
    }
}
