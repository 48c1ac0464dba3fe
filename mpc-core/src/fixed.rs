//! Fixed-point encoding of real numbers in any ring: `x` is stored as the integer `round(x * 2^f)`.
//!
//! Encoding checks the value: a NaN or infinity is [`Error::NonFinite`], and a value whose encoding would not
//! fit the range the session allows is [`Error::OutOfRange`] naming the value and the range. Nothing wraps
//! silently.
//!
//! The range is set by `bound_bits` (written `k` in the truncation docs): every encoded value and every
//! intermediate product before truncation must satisfy `|x * 2^f| < 2^k`. Truncation's failure probability
//! is `2^(k+1-l)` per element in a ring of `l` bits (see [`crate::protocols::trunc`]).

use crate::error::{Error, Result};
use crate::ring::Ring;

/// A fixed-point format: `frac_bits` fractional bits, values bounded by `2^bound_bits` after scaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedPoint {
    /// Fractional bits `f`.
    pub frac_bits: u32,
    /// Bound `k`: encodings (and products before truncation) stay below `2^k` in absolute value.
    pub bound_bits: u32,
}

impl FixedPoint {
    /// The default training format in Z128: 20 fractional bits, values below 2^87 after scaling, so that
    /// truncation fails with probability at most 2^-40 per element.
    pub const Z128_DEFAULT: FixedPoint = FixedPoint {
        frac_bits: 20,
        bound_bits: 87,
    };

    /// A faster format in Z64: 16 fractional bits, values below 2^40 after scaling (products of two values
    /// of magnitude up to 2^8); truncation fails with probability at most 2^-23 per element.
    pub const Z64_DEFAULT: FixedPoint = FixedPoint {
        frac_bits: 16,
        bound_bits: 40,
    };

    /// A format, checked against the ring: it needs `frac_bits < bound_bits < R::BITS - 1`.
    pub fn new<R: Ring>(frac_bits: u32, bound_bits: u32) -> Result<Self> {
        if frac_bits == 0 || frac_bits >= bound_bits || bound_bits + 1 >= R::BITS.min(127) {
            return Err(Error::InvalidArgument(format!(
                "fixed point with {frac_bits} fractional bits and a bound of 2^{bound_bits} does not fit {}",
                R::NAME
            )));
        }
        Ok(FixedPoint {
            frac_bits,
            bound_bits,
        })
    }

    /// The default format for a ring (Z128: [`Self::Z128_DEFAULT`]; others: [`Self::Z64_DEFAULT`]).
    pub fn default_for<R: Ring>() -> Self {
        if R::BITS >= 128 {
            Self::Z128_DEFAULT
        } else {
            Self::Z64_DEFAULT
        }
    }

    /// 2^f as an f64.
    pub fn scale(&self) -> f64 {
        (self.frac_bits as f64).exp2()
    }

    /// The largest magnitude a value may have (exclusive), in real units: 2^(k-f).
    pub fn max_abs(&self) -> f64 {
        ((self.bound_bits - self.frac_bits) as f64).exp2()
    }

    /// Truncation failure probability bound per element in a ring of `ring_bits` bits: 2^(k+1-l).
    pub fn truncation_failure_bound(&self, ring_bits: u32) -> f64 {
        (self.bound_bits as f64 + 1.0 - ring_bits as f64).exp2()
    }

    /// Encodes one value.
    pub fn encode<R: Ring>(&self, x: f64) -> Result<R> {
        if !x.is_finite() {
            return Err(Error::NonFinite { value: x });
        }
        let max = self.max_abs();
        let scaled = (x * self.scale()).round();
        if scaled.abs() >= (self.bound_bits as f64).exp2() {
            return Err(Error::OutOfRange {
                value: x,
                min: -max,
                max,
                frac_bits: self.frac_bits,
                ring: R::NAME,
            });
        }
        Ok(R::from_i128(scaled as i128))
    }

    /// Encodes a slice; the first bad value is reported with its index via [`FixedPoint::encode_indexed`].
    pub fn encode_slice<R: Ring>(&self, xs: &[f64]) -> Result<Vec<R>> {
        self.encode_indexed(xs).map_err(|(_, e)| e)
    }

    /// Encodes a slice, reporting the index of the first value that fails.
    pub fn encode_indexed<R: Ring>(
        &self,
        xs: &[f64],
    ) -> std::result::Result<Vec<R>, (usize, Error)> {
        // The values may be a party's data: allocated once (collecting a `Result` would grow the vector and
        // leave copies in freed memory), and wiped if a bad value ends the encoding.
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(xs.len()));
        for (i, &x) in xs.iter().enumerate() {
            out.push(self.encode(x).map_err(|e| (i, e))?);
        }
        Ok(std::mem::take(&mut *out))
    }

    /// Decodes one value (the ring element read as a signed integer, divided by 2^f). Elements that do not
    /// fit an i128 (only possible in `Fp`) decode to NaN.
    pub fn decode<R: Ring>(&self, x: R) -> f64 {
        match x.to_i128() {
            Some(v) => v as f64 / self.scale(),
            None => f64::NAN,
        }
    }

    /// Decodes a slice.
    pub fn decode_slice<R: Ring>(&self, xs: &[R]) -> Vec<f64> {
        xs.iter().map(|&x| self.decode(x)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Fp, Z128, Z64};

    #[test]
    fn known_answers() {
        let fx = FixedPoint {
            frac_bits: 16,
            bound_bits: 40,
        };
        assert_eq!(fx.encode::<Z64>(1.0).unwrap(), Z64(65536));
        assert_eq!(fx.encode::<Z64>(-0.5).unwrap(), Z64(u64::MAX - 32767));
        assert_eq!(fx.encode::<Z64>(1.5 / 65536.0).unwrap(), Z64(2)); // rounds half away from zero
        assert_eq!(fx.decode(Z64(u64::MAX - 32767)), -0.5);
        assert_eq!(fx.encode::<Fp>(-2.25).unwrap(), Fp::from_i128(-147456));
    }

    #[test]
    fn round_trip_within_half_ulp() {
        let fx = FixedPoint::Z128_DEFAULT;
        for &x in &[0.0, 1e-7, -3.75, 123456.789, -9.99e10] {
            let back = fx.decode(fx.encode::<Z128>(x).unwrap());
            assert!((back - x).abs() <= 0.5 / fx.scale(), "{x} -> {back}");
        }
    }

    #[test]
    fn rejects_out_of_range_and_non_finite() {
        let fx = FixedPoint::Z64_DEFAULT;
        match fx.encode::<Z64>(1e9) {
            Err(Error::OutOfRange { value, max, .. }) => {
                assert_eq!(value, 1e9);
                assert_eq!(max, 16777216.0);
            }
            other => panic!("{other:?}"),
        }
        let msg = fx.encode::<Z64>(-2e7).unwrap_err().to_string();
        assert!(
            msg.contains("-20000000") && msg.contains("16777216"),
            "{msg}"
        );
        assert!(matches!(
            fx.encode::<Z64>(f64::NAN),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            fx.encode::<Z64>(f64::INFINITY),
            Err(Error::NonFinite { .. })
        ));
        assert_eq!(fx.encode_indexed::<Z64>(&[1.0, f64::NAN]).unwrap_err().0, 1);
        assert!(FixedPoint::new::<Z64>(16, 63).is_err());
        assert!(FixedPoint::new::<Z64>(16, 40).is_ok());
    }
}
