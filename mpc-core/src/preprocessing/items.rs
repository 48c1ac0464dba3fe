//! The move-only items a preprocessing source hands out. Each zeroizes on drop and prints redacted.

use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::ring::Ring;
use crate::share::Shared;

macro_rules! redacted_debug {
    ($t:ident) => {
        impl<R: Ring> std::fmt::Debug for $t<R> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    concat!(stringify!($t), "<{}>[{}; <redacted>]"),
                    R::NAME,
                    self.len()
                )
            }
        }
    };
}

/// Shares of `count` Beaver triples: `c[i] = a[i] * b[i]`.
pub struct Triples<R: Ring> {
    pub(crate) a: Vec<R>,
    pub(crate) b: Vec<R>,
    pub(crate) c: Vec<R>,
}

impl<R: Ring> Triples<R> {
    /// Triples from this party's shares of `a`, `b` and `c` (for preprocessing sources).
    pub fn from_shares(a: Vec<R>, b: Vec<R>, c: Vec<R>) -> Result<Self> {
        if a.len() != b.len() || a.len() != c.len() {
            return Err(Error::Shape(format!(
                "triple shares of lengths {}, {}, {}",
                a.len(),
                b.len(),
                c.len()
            )));
        }
        Ok(Triples { a, b, c })
    }

    /// Number of triples.
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }

    /// This party's shares of `a`. Secret.
    pub fn a_share(&self) -> &[R] {
        &self.a
    }

    /// This party's shares of `b`. Secret.
    pub fn b_share(&self) -> &[R] {
        &self.b
    }

    /// Splits off the triples from `at` on; `self` keeps the first `at`.
    pub fn split_off(&mut self, at: usize) -> Result<Self> {
        if at > self.len() {
            return Err(Error::Shape(format!(
                "splitting {} triples at {at}",
                self.len()
            )));
        }
        Ok(Triples {
            a: self.a.split_off(at),
            b: self.b.split_off(at),
            c: self.c.split_off(at),
        })
    }

    /// Consumes the triples and returns the shares `(a, b, c)`.
    pub fn into_shares(mut self) -> (Shared<R>, Shared<R>, Shared<R>) {
        let take = |v: &mut Vec<R>| Shared::from_share(std::mem::take(v));
        (take(&mut self.a), take(&mut self.b), take(&mut self.c))
    }
}

impl<R: Ring> Drop for Triples<R> {
    fn drop(&mut self) {
        self.a.zeroize();
        self.b.zeroize();
        self.c.zeroize();
    }
}
redacted_debug!(Triples);

/// Shares of `count` square pairs `s[i] = a[i]^2`, each optionally with a product `c[i] = a[i] * b[i]` of the
/// same `a`: a value `x` masked once as `x - a` is then squared and multiplied by a second value `y` (masked as
/// `y - b`). A square costs about half the cross terms of a triple, and one opening instead of two.
pub struct Squares<R: Ring> {
    pub(crate) a: Vec<R>,
    pub(crate) s: Vec<R>,
    pub(crate) b: Vec<R>,
    pub(crate) c: Vec<R>,
}

impl<R: Ring> Squares<R> {
    /// Square pairs from this party's shares of `a` and `s = a^2`, with products (shares of `b` and
    /// `c = a b`) or without (`b` and `c` empty). For preprocessing sources.
    pub fn from_shares(a: Vec<R>, s: Vec<R>, b: Vec<R>, c: Vec<R>) -> Result<Self> {
        let products = b.len() == a.len() && c.len() == a.len();
        if s.len() != a.len() || !(products || (b.is_empty() && c.is_empty())) {
            return Err(Error::Shape(format!(
                "square shares of lengths {}, {}, {}, {}",
                a.len(),
                s.len(),
                b.len(),
                c.len()
            )));
        }
        Ok(Squares { a, s, b, c })
    }

    /// Number of square pairs.
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }

    /// True if every pair comes with a product `a b`.
    pub fn has_products(&self) -> bool {
        !self.b.is_empty() || self.a.is_empty()
    }

    /// This party's shares of `a`. Secret.
    pub fn a_share(&self) -> &[R] {
        &self.a
    }

    /// This party's shares of `b` (empty without products). Secret.
    pub fn b_share(&self) -> &[R] {
        &self.b
    }

    /// Consumes the pairs: `(a, a^2)` as square triples `(a, a, a^2)`, and the products `(a, b, a b)` if
    /// any, for [`crate::protocols::mul::beaver_local`].
    pub fn into_triples(mut self) -> (Triples<R>, Option<Triples<R>>) {
        let a = std::mem::take(&mut self.a);
        let s = std::mem::take(&mut self.s);
        let products = (!self.b.is_empty()).then(|| Triples {
            a: a.clone(),
            b: std::mem::take(&mut self.b),
            c: std::mem::take(&mut self.c),
        });
        (
            Triples {
                a: a.clone(),
                b: a,
                c: s,
            },
            products,
        )
    }
}

impl<R: Ring> Drop for Squares<R> {
    fn drop(&mut self) {
        self.a.zeroize();
        self.s.zeroize();
        self.b.zeroize();
        self.c.zeroize();
    }
}
redacted_debug!(Squares);

/// Shares of a matrix triple `C = A * B`, `A` of `m x k`, `B` of `k x n`, row-major.
pub struct MatrixTriple<R: Ring> {
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) a: Vec<R>,
    pub(crate) b: Vec<R>,
    pub(crate) c: Vec<R>,
}

impl<R: Ring> MatrixTriple<R> {
    /// A matrix triple from this party's shares (for preprocessing sources).
    pub fn from_shares(
        m: usize,
        k: usize,
        n: usize,
        a: Vec<R>,
        b: Vec<R>,
        c: Vec<R>,
    ) -> Result<Self> {
        if a.len() != m * k || b.len() != k * n || c.len() != m * n {
            return Err(Error::Shape(format!(
                "matrix triple shares for {m}x{k} times {k}x{n}"
            )));
        }
        Ok(MatrixTriple { m, k, n, a, b, c })
    }

    /// `(m, k, n)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.m, self.k, self.n)
    }

    fn len(&self) -> usize {
        self.c.len()
    }
}

impl<R: Ring> Drop for MatrixTriple<R> {
    fn drop(&mut self) {
        self.a.zeroize();
        self.b.zeroize();
        self.c.zeroize();
    }
}
redacted_debug!(MatrixTriple);

/// Shares of a random `m x k` mask `A` reused across products with one left operand (SecureML's trick:
/// `E = X - A` is opened once and reused for every product with `X`).
pub struct MatrixMask<R: Ring> {
    pub(crate) id: u64,
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) a: Vec<R>,
}

impl<R: Ring> MatrixMask<R> {
    /// A mask from this party's share (for preprocessing sources); `id` names it for later requests.
    pub fn from_share(id: u64, m: usize, k: usize, a: Vec<R>) -> Result<Self> {
        if a.len() != m * k {
            return Err(Error::Shape(format!(
                "mask share of {} elements for {m}x{k}",
                a.len()
            )));
        }
        Ok(MatrixMask { id, m, k, a })
    }

    /// `(m, k)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.m, self.k)
    }

    /// The identifier the source gave this mask.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// This party's share of `A`, row-major. Secret.
    pub fn share_values(&self) -> &[R] {
        &self.a
    }

    fn len(&self) -> usize {
        self.a.len()
    }
}

impl<R: Ring> Drop for MatrixMask<R> {
    fn drop(&mut self) {
        self.a.zeroize();
    }
}
redacted_debug!(MatrixMask);

/// Shares of `B` (`k' x n`) and `C = A' * B` for a sub-matrix `A'` of a [`MatrixMask`] (rows, maybe transposed).
pub struct MaskTriple<R: Ring> {
    pub(crate) mask_id: u64,
    pub(crate) b: Vec<R>,
    pub(crate) c: Vec<R>,
}

impl<R: Ring> MaskTriple<R> {
    /// A mask triple from this party's shares (for preprocessing sources).
    pub fn from_shares(mask_id: u64, b: Vec<R>, c: Vec<R>) -> Self {
        MaskTriple { mask_id, b, c }
    }

    /// This party's share of `B`, row-major. Secret.
    pub fn b_share(&self) -> &[R] {
        &self.b
    }

    fn len(&self) -> usize {
        self.c.len()
    }
}

impl<R: Ring> Drop for MaskTriple<R> {
    fn drop(&mut self) {
        self.b.zeroize();
        self.c.zeroize();
    }
}
redacted_debug!(MaskTriple);

/// Shares of truncation pairs: `r` uniform in the ring and `r_shifted = r >> frac_bits` (logical shift).
pub struct TruncPairs<R: Ring> {
    pub(crate) frac_bits: u32,
    pub(crate) r: Vec<R>,
    pub(crate) r_shifted: Vec<R>,
}

impl<R: Ring> TruncPairs<R> {
    /// Pairs from this party's shares (for preprocessing sources).
    pub fn from_shares(frac_bits: u32, r: Vec<R>, r_shifted: Vec<R>) -> Result<Self> {
        if r.len() != r_shifted.len() {
            return Err(Error::Shape(format!(
                "truncation pair shares of lengths {} and {}",
                r.len(),
                r_shifted.len()
            )));
        }
        Ok(TruncPairs {
            frac_bits,
            r,
            r_shifted,
        })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.r.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.r.is_empty()
    }

    /// The shift these pairs were made for.
    pub fn frac_bits(&self) -> u32 {
        self.frac_bits
    }
}

impl<R: Ring> Drop for TruncPairs<R> {
    fn drop(&mut self) {
        self.r.zeroize();
        self.r_shifted.zeroize();
    }
}
redacted_debug!(TruncPairs);
