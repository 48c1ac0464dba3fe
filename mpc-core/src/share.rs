//! A party's additive shares of vectors and matrices.
//!
//! A secret vector `x` is held as `x = x_0 + x_1 + ... + x_{n-1}` with party `i` holding `x_i`. Linear
//! operations (adding shares, adding a public vector, multiplying by public values) are local; anything else
//! is a protocol in [`crate::protocols`].
//!
//! Shares zeroize on drop, print as `<redacted>`, and compare in constant time ([`subtle::ConstantTimeEq`]).

use std::ops::{Add, Neg, Sub};

use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::net::PartyId;
use crate::ring::Ring;

/// One party's additive share of a secret vector. `==` is [`ConstantTimeEq`].
#[derive(Clone)]
pub struct Shared<R: Ring> {
    values: Vec<R>,
}

impl<R: Ring> Shared<R> {
    /// Wraps this party's share values.
    pub fn from_share(values: Vec<R>) -> Self {
        Shared { values }
    }

    /// The sharing of zero (every party holds zeros).
    pub fn zeros(len: usize) -> Self {
        Shared {
            values: vec![R::ZERO; len],
        }
    }

    /// The sharing of a public vector: party 0 holds the values, the others zeros.
    pub fn from_public(party: PartyId, public: &[R]) -> Self {
        if party == 0 {
            Shared {
                values: public.to_vec(),
            }
        } else {
            Self::zeros(public.len())
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True if there are no elements.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// This party's share values. Secret: do not log or send them except inside a protocol.
    pub fn share_values(&self) -> &[R] {
        &self.values
    }

    /// Mutable access to this party's share values, for protocol code.
    pub fn share_values_mut(&mut self) -> &mut [R] {
        &mut self.values
    }

    /// Consumes the sharing and returns the raw share vector (the caller takes over wiping it).
    pub fn into_share_values(mut self) -> Vec<R> {
        std::mem::take(&mut self.values)
    }

    fn check_len(&self, other: usize, what: &str) -> Result<()> {
        if self.len() != other {
            return Err(Error::Shape(format!(
                "{what}: lengths {} and {other}",
                self.len()
            )));
        }
        Ok(())
    }

    /// Adds a public vector (only party 0 adds it to its share).
    pub fn add_public(&self, party: PartyId, public: &[R]) -> Result<Self> {
        self.check_len(public.len(), "adding a public vector")?;
        let mut out = self.clone();
        if party == 0 {
            out.values
                .iter_mut()
                .zip(public)
                .for_each(|(x, &c)| *x += c);
        }
        Ok(out)
    }

    /// Multiplies element-wise by a public vector.
    pub fn mul_public(&self, public: &[R]) -> Result<Self> {
        self.check_len(public.len(), "multiplying by a public vector")?;
        Ok(Shared {
            values: self
                .values
                .iter()
                .zip(public)
                .map(|(&x, &c)| x * c)
                .collect(),
        })
    }

    /// Multiplies every element by a public scalar.
    pub fn scale(&self, c: R) -> Self {
        Shared {
            values: self.values.iter().map(|&x| x * c).collect(),
        }
    }

    /// Element-wise sum of two sharings of the same length.
    pub fn try_add(&self, other: &Self) -> Result<Self> {
        self.check_len(other.len(), "adding shares")?;
        Ok(Shared {
            values: self
                .values
                .iter()
                .zip(&other.values)
                .map(|(&a, &b)| a + b)
                .collect(),
        })
    }

    /// Element-wise difference of two sharings of the same length.
    pub fn try_sub(&self, other: &Self) -> Result<Self> {
        self.check_len(other.len(), "subtracting shares")?;
        Ok(Shared {
            values: self
                .values
                .iter()
                .zip(&other.values)
                .map(|(&a, &b)| a - b)
                .collect(),
        })
    }

    /// The sum of all elements, as a one-element sharing.
    pub fn sum(&self) -> Self {
        Shared {
            values: vec![self.values.iter().copied().sum()],
        }
    }

    /// Elements `range` of the vector.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Result<Self> {
        self.values
            .get(range.clone())
            .map(|v| Shared { values: v.to_vec() })
            .ok_or_else(|| Error::Shape(format!("range {range:?} of a vector of {}", self.len())))
    }

    /// Concatenation of several sharings (allocated once: growing would leave copies in freed memory).
    pub fn concat(parts: &[&Self]) -> Self {
        let mut values = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            values.extend_from_slice(&p.values);
        }
        Shared { values }
    }
}

impl<R: Ring> Drop for Shared<R> {
    fn drop(&mut self) {
        self.values.zeroize();
    }
}

impl<R: Ring> std::fmt::Debug for Shared<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shared<{}>[{}; <redacted>]", R::NAME, self.values.len())
    }
}

impl<R: Ring> PartialEq for Shared<R> {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl<R: Ring> Eq for Shared<R> {}

impl<R: Ring> ConstantTimeEq for Shared<R> {
    fn ct_eq(&self, other: &Self) -> Choice {
        if self.values.len() != other.values.len() {
            return Choice::from(0);
        }
        self.values
            .iter()
            .zip(&other.values)
            .fold(Choice::from(1), |acc, (a, b)| acc & a.ct_eq(b))
    }
}

/// `&x + &y` for sharings of equal length. Panics on a length mismatch, like slice indexing: lengths are
/// decided by the local program, never by a peer. Use [`Shared::try_add`] to get an error instead.
impl<R: Ring> Add for &Shared<R> {
    type Output = Shared<R>;
    fn add(self, rhs: Self) -> Shared<R> {
        self.try_add(rhs)
            .expect("adding sharings of different lengths")
    }
}

/// `&x - &y` for sharings of equal length; see the note on `Add`.
impl<R: Ring> Sub for &Shared<R> {
    type Output = Shared<R>;
    fn sub(self, rhs: Self) -> Shared<R> {
        self.try_sub(rhs)
            .expect("subtracting sharings of different lengths")
    }
}

impl<R: Ring> Neg for &Shared<R> {
    type Output = Shared<R>;
    fn neg(self) -> Shared<R> {
        Shared {
            values: self.values.iter().map(|&x| -x).collect(),
        }
    }
}

/// One party's additive share of a secret matrix, row-major. `==` is [`ConstantTimeEq`] (on the shares).
#[derive(Clone, PartialEq, Eq)]
pub struct SharedMatrix<R: Ring> {
    rows: usize,
    cols: usize,
    data: Shared<R>,
}

impl<R: Ring> SharedMatrix<R> {
    /// A matrix from a row-major share vector of `rows * cols` elements.
    pub fn new(rows: usize, cols: usize, data: Shared<R>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(Error::Shape(format!(
                "{} elements for a {rows}x{cols} matrix",
                data.len()
            )));
        }
        Ok(SharedMatrix { rows, cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major share vector.
    pub fn as_shared(&self) -> &Shared<R> {
        &self.data
    }

    /// Consumes the matrix and returns its row-major share vector.
    pub fn into_shared(self) -> Shared<R> {
        self.data
    }

    /// Rows `range` as a new matrix.
    pub fn row_range(&self, range: std::ops::Range<usize>) -> Result<Self> {
        if range.start > range.end || range.end > self.rows {
            return Err(Error::Shape(format!(
                "rows {range:?} of a matrix of {} rows",
                self.rows
            )));
        }
        let data = self
            .data
            .slice(range.start * self.cols..range.end * self.cols)?;
        Ok(SharedMatrix {
            rows: range.len(),
            cols: self.cols,
            data,
        })
    }

    /// The transpose.
    pub fn transpose(&self) -> Self {
        let v = self.data.share_values();
        let mut out = vec![R::ZERO; v.len()];
        for r in 0..self.rows {
            for c in 0..self.cols {
                out[c * self.rows + r] = v[r * self.cols + c];
            }
        }
        SharedMatrix {
            rows: self.cols,
            cols: self.rows,
            data: Shared::from_share(out),
        }
    }
}

impl<R: Ring> std::fmt::Debug for SharedMatrix<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SharedMatrix<{}>[{}x{}; <redacted>]",
            R::NAME,
            self.rows,
            self.cols
        )
    }
}

impl<R: Ring> ConstantTimeEq for SharedMatrix<R> {
    fn ct_eq(&self, other: &Self) -> Choice {
        Choice::from(u8::from(self.rows == other.rows && self.cols == other.cols))
            & self.data.ct_eq(&other.data)
    }
}

/// Public matrix product helper: `a` (m x k) times `b` (k x n), row-major, in the ring. With `k = 0` or
/// `n = 0` it returns the zero (or empty) `m x n` product without visiting the rows, so its work is
/// proportional to `m k n` plus the `m n` outputs, never to `m` alone.
pub fn matmul_plain<R: Ring>(a: &[R], b: &[R], m: usize, k: usize, n: usize) -> Vec<R> {
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), k * n);
    let mut out = vec![R::ZERO; m * n];
    if k == 0 || n == 0 {
        return out;
    }
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        for (t, &aik) in a[i * k..(i + 1) * k].iter().enumerate() {
            for (o, &bkj) in row.iter_mut().zip(&b[t * n..(t + 1) * n]) {
                *o += aik * bkj;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::Z64;

    #[test]
    fn matmul_plain_with_an_empty_inner_dimension_is_the_zero_matrix() {
        let z = Z64::ZERO;
        assert_eq!(matmul_plain::<Z64>(&[], &[], 3, 0, 2), vec![z; 6]);
        assert!(matmul_plain::<Z64>(&[], &[], 1 << 40, 0, 0).is_empty());
        let a = [Z64(1), Z64(2), Z64(3), Z64(4)];
        let b = [Z64(5), Z64(6), Z64(7), Z64(8)];
        assert_eq!(
            matmul_plain(&a, &b, 2, 2, 2),
            vec![Z64(19), Z64(22), Z64(43), Z64(50)]
        );
    }

    #[test]
    fn debug_is_redacted() {
        let s = Shared::from_share(vec![Z64(123456789)]);
        let d = format!("{s:?}");
        assert!(d.contains("<redacted>") && !d.contains("123456789"), "{d}");
        let m = SharedMatrix::new(1, 1, s).unwrap();
        let d = format!("{m:?}");
        assert!(d.contains("<redacted>") && !d.contains("123456789"), "{d}");
    }

    /// Concatenation allocates exactly once (no reallocation leaves a partial copy behind) and keeps the
    /// order of the parts.
    #[test]
    fn concat_allocates_once() {
        let (a, b) = (
            Shared::from_share(vec![Z64(1), Z64(2)]),
            Shared::from_share(vec![Z64(3)]),
        );
        let c = Shared::concat(&[&a, &b, &a]);
        assert_eq!(c.share_values(), &[1, 2, 3, 1, 2].map(Z64));
        assert_eq!(c.values.capacity(), 5);
    }

    /// `==` on shares is the constant-time comparison.
    #[test]
    fn equality_is_constant_time_eq() {
        let a = Shared::from_share(vec![Z64(1), Z64(2)]);
        let b = Shared::from_share(vec![Z64(1), Z64(3)]);
        assert_eq!(a == a.clone(), bool::from(a.ct_eq(&a.clone())));
        assert_eq!(a == b, bool::from(a.ct_eq(&b)));
        assert!(a != b);
    }

    #[test]
    fn linear_ops_are_local() {
        let x0 = Shared::from_share(vec![Z64(1), Z64(2)]);
        let x1 = Shared::from_share(vec![Z64(10), Z64(20)]);
        let c = [Z64(100), Z64(200)];
        let y0 = x0.add_public(0, &c).unwrap().scale(Z64(3));
        let y1 = x1.add_public(1, &c).unwrap().scale(Z64(3));
        let y: Vec<_> = y0
            .share_values()
            .iter()
            .zip(y1.share_values())
            .map(|(&a, &b)| a + b)
            .collect();
        assert_eq!(y, vec![Z64(333), Z64(666)]);
        assert!(x0.try_add(&Shared::zeros(3)).is_err());
    }

    #[test]
    fn constant_time_equality() {
        let a = Shared::from_share(vec![Z64(1), Z64(2)]);
        assert!(bool::from(a.ct_eq(&a.clone())));
        assert!(!bool::from(
            a.ct_eq(&Shared::from_share(vec![Z64(1), Z64(3)]))
        ));
        assert!(!bool::from(a.ct_eq(&Shared::from_share(vec![Z64(1)]))));
    }

    #[test]
    fn transpose_and_rows() {
        let m = SharedMatrix::new(2, 3, Shared::from_share((1..=6).map(Z64).collect())).unwrap();
        let t = m.transpose();
        assert_eq!(t.as_shared().share_values(), &[1, 4, 2, 5, 3, 6].map(Z64));
        assert_eq!(
            m.row_range(1..2).unwrap().as_shared().share_values(),
            &[4, 5, 6].map(Z64)
        );
        assert!(m.row_range(1..3).is_err());
    }
}
