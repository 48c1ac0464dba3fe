//! The share domains: [`Z64`] and [`Z128`] (integers modulo 2^64 and 2^128, wrapping) and [`Fp`] (the prime
//! field of curve25519's scalars, from curve25519-dalek).
//!
//! Every ring encodes to little-endian bytes of a fixed width ([`Ring::BYTES`]) and decodes with checks:
//! a wrong length or a non-canonical field element is an [`Error::Encoding`], never a panic.
//!
//! # Constant time
//! Equality of secret values goes through [`subtle::ConstantTimeEq`]; `PartialEq` is there for public values
//! and tests. Arithmetic on `Z64`/`Z128` is branch-free machine arithmetic; `Fp` uses curve25519-dalek's
//! constant-time scalar arithmetic.

use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use curve25519_dalek::Scalar;
use rand_core::RngCore;
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// A commutative ring with the operations the protocols need.
pub trait Ring:
    Copy
    + Default
    + PartialEq
    + Eq
    + Debug
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
    + ConstantTimeEq
    + Zeroize
{
    /// Short name used in errors and reports (`"Z64"`, `"Z128"`, `"Fp"`).
    const NAME: &'static str;
    /// Width of the little-endian encoding in bytes.
    const BYTES: usize;
    /// Bits of the modulus: 64, 128, or 253 for `Fp`.
    const BITS: u32;
    /// The additive identity.
    const ZERO: Self;
    /// The multiplicative identity.
    const ONE: Self;

    /// The image of an integer (reduced modulo the ring's modulus; negative values map to their negation).
    fn from_i128(x: i128) -> Self;

    /// The signed integer this element stands for, taking the representative of smallest absolute value;
    /// `None` if it does not fit in an `i128` (only possible for `Fp`).
    fn to_i128(self) -> Option<i128>;

    /// A uniformly random element.
    fn random(rng: &mut impl RngCore) -> Self;

    /// Fills `out` with uniformly random elements. Rings override this with a bulk path.
    fn fill_random(rng: &mut impl RngCore, out: &mut [Self]) {
        for x in out {
            *x = Self::random(rng);
        }
    }

    /// The canonical (unsigned) representative shifted right by `bits`. For `Z64`/`Z128` this is the
    /// logical shift that fixed-point truncation uses.
    fn shr_canonical(self, bits: u32) -> Self;

    /// Writes the little-endian encoding into `out`, which must be exactly [`Ring::BYTES`] long.
    fn write_le(self, out: &mut [u8]);

    /// Reads a little-endian encoding of exactly [`Ring::BYTES`] bytes.
    fn read_le(bytes: &[u8]) -> Result<Self>;

    /// Encodes a slice as concatenated little-endian elements.
    fn encode_slice(xs: &[Self]) -> Vec<u8> {
        let mut out = vec![0u8; xs.len() * Self::BYTES];
        for (x, chunk) in xs.iter().zip(out.chunks_exact_mut(Self::BYTES)) {
            x.write_le(chunk);
        }
        out
    }

    /// Decodes concatenated little-endian elements; the length must be a multiple of [`Ring::BYTES`].
    fn decode_slice(bytes: &[u8]) -> Result<Vec<Self>> {
        if bytes.len() % Self::BYTES != 0 {
            return Err(Error::Encoding {
                ring: Self::NAME,
                reason: format!(
                    "{} bytes is not a multiple of the element width {}",
                    bytes.len(),
                    Self::BYTES
                ),
            });
        }
        bytes.chunks_exact(Self::BYTES).map(Self::read_le).collect()
    }

    /// Adds the little-endian elements in `bytes` to `acc`, element by element; `bytes` must hold exactly
    /// `acc.len()` elements.
    fn add_from_le(acc: &mut [Self], bytes: &[u8]) -> Result<()> {
        if bytes.len() != acc.len() * Self::BYTES {
            return Err(length_error(
                Self::NAME,
                acc.len() * Self::BYTES,
                bytes.len(),
            ));
        }
        for (a, chunk) in acc.iter_mut().zip(bytes.chunks_exact(Self::BYTES)) {
            *a += Self::read_le(chunk)?;
        }
        Ok(())
    }

    /// A vector of `n` random elements.
    fn random_vec(rng: &mut impl RngCore, n: usize) -> Vec<Self> {
        let mut v = vec![Self::ZERO; n];
        Self::fill_random(rng, &mut v);
        v
    }
}

/// Rings of the form Z/2^k: the ones fixed-point truncation works in.
pub trait PowerOfTwoRing: Ring {
    /// The element shifted right by `bits` as an unsigned integer (logical shift).
    fn shr_logical(self, bits: u32) -> Self;
    /// 2^e as a ring element (`e < BITS`).
    fn pow2(e: u32) -> Self;
    /// The unsigned representative, widened.
    fn to_u128(self) -> u128;
}

fn length_error(ring: &'static str, expected: usize, got: usize) -> Error {
    Error::Encoding {
        ring,
        reason: format!("expected {expected} bytes, got {got}"),
    }
}

macro_rules! wrapping_ring {
    ($name:ident, $int:ty, $sint:ty, $bits:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(
            Clone, Copy, Default, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable, Zeroize,
        )]
        #[repr(transparent)]
        pub struct $name(pub $int);

        impl Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl Add for $name {
            type Output = Self;
            #[inline(always)]
            fn add(self, rhs: Self) -> Self {
                $name(self.0.wrapping_add(rhs.0))
            }
        }
        impl Sub for $name {
            type Output = Self;
            #[inline(always)]
            fn sub(self, rhs: Self) -> Self {
                $name(self.0.wrapping_sub(rhs.0))
            }
        }
        impl Mul for $name {
            type Output = Self;
            #[inline(always)]
            fn mul(self, rhs: Self) -> Self {
                $name(self.0.wrapping_mul(rhs.0))
            }
        }
        impl Neg for $name {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                $name(self.0.wrapping_neg())
            }
        }
        impl AddAssign for $name {
            #[inline(always)]
            fn add_assign(&mut self, rhs: Self) {
                self.0 = self.0.wrapping_add(rhs.0)
            }
        }
        impl SubAssign for $name {
            #[inline(always)]
            fn sub_assign(&mut self, rhs: Self) {
                self.0 = self.0.wrapping_sub(rhs.0)
            }
        }
        impl MulAssign for $name {
            #[inline(always)]
            fn mul_assign(&mut self, rhs: Self) {
                self.0 = self.0.wrapping_mul(rhs.0)
            }
        }
        impl Sum for $name {
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                iter.fold($name(0), |a, b| a + b)
            }
        }
        impl ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> Choice {
                self.0.ct_eq(&other.0)
            }
        }

        impl Ring for $name {
            const NAME: &'static str = stringify!($name);
            const BYTES: usize = $bits / 8;
            const BITS: u32 = $bits;
            const ZERO: Self = $name(0);
            const ONE: Self = $name(1);

            #[inline]
            fn from_i128(x: i128) -> Self {
                $name(x as $int)
            }

            #[inline]
            fn to_i128(self) -> Option<i128> {
                Some(self.0 as $sint as i128)
            }

            fn random(rng: &mut impl RngCore) -> Self {
                let mut b = [0u8; $bits / 8];
                rng.fill_bytes(&mut b);
                $name(<$int>::from_le_bytes(b))
            }

            fn fill_random(rng: &mut impl RngCore, out: &mut [Self]) {
                rng.fill_bytes(bytemuck::cast_slice_mut(out));
                if cfg!(target_endian = "big") {
                    for x in out.iter_mut() {
                        x.0 = <$int>::from_le(x.0);
                    }
                }
            }

            #[inline(always)]
            fn shr_canonical(self, bits: u32) -> Self {
                $name(self.0 >> bits)
            }

            #[inline]
            fn write_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.0.to_le_bytes());
            }

            fn read_le(bytes: &[u8]) -> Result<Self> {
                let arr: [u8; $bits / 8] = bytes
                    .try_into()
                    .map_err(|_| length_error(Self::NAME, $bits / 8, bytes.len()))?;
                Ok($name(<$int>::from_le_bytes(arr)))
            }

            fn encode_slice(xs: &[Self]) -> Vec<u8> {
                if cfg!(target_endian = "little") {
                    bytemuck::cast_slice(xs).to_vec()
                } else {
                    xs.iter().flat_map(|x| x.0.to_le_bytes()).collect()
                }
            }

            fn random_vec(rng: &mut impl RngCore, n: usize) -> Vec<Self> {
                // Zeroed allocation (calloc) instead of a memset pass before the fill.
                let mut v: Vec<Self> = bytemuck::zeroed_vec(n);
                Self::fill_random(rng, &mut v);
                v
            }

            fn add_from_le(acc: &mut [Self], bytes: &[u8]) -> Result<()> {
                const W: usize = $bits / 8;
                if bytes.len() != acc.len() * W {
                    return Err(length_error(Self::NAME, acc.len() * W, bytes.len()));
                }
                match bytemuck::try_cast_slice::<u8, $int>(bytes) {
                    Ok(words) if cfg!(target_endian = "little") => {
                        acc.iter_mut()
                            .zip(words)
                            .for_each(|(a, &w)| a.0 = a.0.wrapping_add(w));
                    }
                    _ => acc
                        .iter_mut()
                        .zip(bytes.chunks_exact(W))
                        .for_each(|(a, c)| {
                            a.0 = a.0.wrapping_add(<$int>::from_le_bytes(
                                c.try_into().expect("chunk of W bytes"),
                            ))
                        }),
                }
                Ok(())
            }

            fn decode_slice(bytes: &[u8]) -> Result<Vec<Self>> {
                const W: usize = $bits / 8;
                if bytes.len() % W != 0 {
                    return Err(Error::Encoding {
                        ring: Self::NAME,
                        reason: format!(
                            "{} bytes is not a multiple of the element width {W}",
                            bytes.len()
                        ),
                    });
                }
                let mut out = vec![$name(0); bytes.len() / W];
                bytemuck::cast_slice_mut::<Self, u8>(&mut out).copy_from_slice(bytes);
                if cfg!(target_endian = "big") {
                    for x in out.iter_mut() {
                        x.0 = <$int>::from_le(x.0);
                    }
                }
                Ok(out)
            }
        }

        impl PowerOfTwoRing for $name {
            #[inline(always)]
            fn shr_logical(self, bits: u32) -> Self {
                $name(self.0 >> bits)
            }
            #[inline]
            fn pow2(e: u32) -> Self {
                $name((1 as $int) << e)
            }
            #[inline]
            fn to_u128(self) -> u128 {
                self.0 as u128
            }
        }
    };
}

wrapping_ring!(
    Z64,
    u64,
    i64,
    64,
    "Integers modulo 2^64 with wrapping arithmetic."
);
wrapping_ring!(
    Z128,
    u128,
    i128,
    128,
    "Integers modulo 2^128 with wrapping arithmetic: the default training ring."
);

/// The prime field of order ℓ = 2^252 + 27742317777372353535851937790883648493 (curve25519's scalars).
#[derive(Clone, Copy, Default, PartialEq, Eq, Zeroize)]
pub struct Fp(pub Scalar);

impl Debug for Fp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_i128() {
            Some(v) => write!(f, "Fp({v})"),
            None => write!(
                f,
                "Fp(0x{})",
                self.0
                    .as_bytes()
                    .iter()
                    .rev()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
        }
    }
}

impl Add for Fp {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Fp(self.0 + rhs.0)
    }
}
impl Sub for Fp {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Fp(self.0 - rhs.0)
    }
}
impl Mul for Fp {
    type Output = Self;
    fn mul(self, rhs: Self) -> Self {
        Fp(self.0 * rhs.0)
    }
}
impl Neg for Fp {
    type Output = Self;
    fn neg(self) -> Self {
        Fp(-self.0)
    }
}
impl AddAssign for Fp {
    fn add_assign(&mut self, rhs: Self) {
        self.0 += rhs.0
    }
}
impl SubAssign for Fp {
    fn sub_assign(&mut self, rhs: Self) {
        self.0 -= rhs.0
    }
}
impl MulAssign for Fp {
    fn mul_assign(&mut self, rhs: Self) {
        self.0 *= rhs.0
    }
}
impl Sum for Fp {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Fp::ZERO, |a, b| a + b)
    }
}
impl ConstantTimeEq for Fp {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl Ring for Fp {
    const NAME: &'static str = "Fp";
    const BYTES: usize = 32;
    const BITS: u32 = 253;
    const ZERO: Self = Fp(Scalar::ZERO);
    const ONE: Self = Fp(Scalar::ONE);

    fn from_i128(x: i128) -> Self {
        let s = Scalar::from(x.unsigned_abs());
        if x < 0 {
            Fp(-s)
        } else {
            Fp(s)
        }
    }

    fn to_i128(self) -> Option<i128> {
        // The representative of smallest absolute value: v if v < ℓ/2, otherwise v - ℓ.
        let fits =
            |s: &Scalar| s.as_bytes()[16..].iter().all(|&b| b == 0) && s.as_bytes()[15] < 0x80;
        let low =
            |s: &Scalar| i128::from_le_bytes(s.as_bytes()[..16].try_into().expect("16 bytes"));
        if fits(&self.0) {
            Some(low(&self.0))
        } else {
            let neg = -self.0;
            fits(&neg).then(|| -low(&neg))
        }
    }

    fn random(rng: &mut impl RngCore) -> Self {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        let s = Scalar::from_bytes_mod_order_wide(&wide);
        wide.zeroize();
        Fp(s)
    }

    fn shr_canonical(self, bits: u32) -> Self {
        let mut limbs = [0u64; 4];
        for (l, chunk) in limbs.iter_mut().zip(self.0.as_bytes().chunks_exact(8)) {
            *l = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        let (words, rem) = ((bits / 64) as usize, bits % 64);
        let mut out = [0u64; 4];
        for (i, o) in out.iter_mut().enumerate() {
            let lo = limbs.get(i + words).copied().unwrap_or(0);
            let hi = limbs.get(i + words + 1).copied().unwrap_or(0);
            *o = if rem == 0 {
                lo
            } else {
                (lo >> rem) | (hi << (64 - rem))
            };
        }
        let mut bytes = [0u8; 32];
        for (chunk, l) in bytes.chunks_exact_mut(8).zip(out) {
            chunk.copy_from_slice(&l.to_le_bytes());
        }
        // A right shift of a canonical value is smaller than it, hence canonical.
        Fp(Scalar::from_bytes_mod_order(bytes))
    }

    fn write_le(self, out: &mut [u8]) {
        out.copy_from_slice(self.0.as_bytes());
    }

    fn read_le(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| length_error("Fp", 32, bytes.len()))?;
        Option::from(Scalar::from_canonical_bytes(arr))
            .map(Fp)
            .ok_or_else(|| Error::Encoding {
                ring: "Fp",
                reason: "not a canonical scalar (value >= ℓ)".into(),
            })
    }
}

#[cfg(test)]
mod laws {
    use super::*;
    use proptest::prelude::*;

    /// Ring laws, written once and instantiated for every ring (the swanky `field-test` habit).
    macro_rules! ring_laws {
        ($modname:ident, $ring:ty) => {
            mod $modname {
                use super::*;

                fn elem() -> impl Strategy<Value = $ring> {
                    any::<[u8; 32]>().prop_map(|s| <$ring>::random(&mut crate::prg::Seed::from_bytes(s).prg(0)))
                }

                proptest! {
                    #[test]
                    fn additive_group(a in elem(), b in elem(), c in elem()) {
                        prop_assert_eq!(a + b, b + a);
                        prop_assert_eq!((a + b) + c, a + (b + c));
                        prop_assert_eq!(a + <$ring>::ZERO, a);
                        prop_assert_eq!(a + (-a), <$ring>::ZERO);
                        prop_assert_eq!(a - b, a + (-b));
                    }

                    #[test]
                    fn multiplicative_monoid_and_distributivity(a in elem(), b in elem(), c in elem()) {
                        prop_assert_eq!(a * b, b * a);
                        prop_assert_eq!((a * b) * c, a * (b * c));
                        prop_assert_eq!(a * <$ring>::ONE, a);
                        prop_assert_eq!(a * (b + c), a * b + a * c);
                        let mut d = a; d += b; d -= c; d *= b;
                        prop_assert_eq!(d, (a + b - c) * b);
                    }

                    #[test]
                    fn encoding_round_trips(a in elem(), v in proptest::collection::vec(elem(), 0..20)) {
                        let mut buf = vec![0u8; <$ring>::BYTES];
                        a.write_le(&mut buf);
                        prop_assert_eq!(<$ring>::read_le(&buf).unwrap(), a);
                        let bytes = <$ring>::encode_slice(&v);
                        prop_assert_eq!(bytes.len(), v.len() * <$ring>::BYTES);
                        prop_assert_eq!(&<$ring>::decode_slice(&bytes).unwrap(), &v);
                        let mut acc = vec![a; v.len()];
                        <$ring>::add_from_le(&mut acc, &bytes).unwrap();
                        prop_assert!(acc.iter().zip(&v).all(|(&s, &x)| s == a + x));
                        prop_assert!(<$ring>::add_from_le(&mut acc, &bytes[..bytes.len().saturating_sub(1)]).is_err() || v.is_empty());
                    }

                    #[test]
                    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
                        let _ = <$ring>::decode_slice(&bytes);
                        if bytes.len() % <$ring>::BYTES != 0 {
                            prop_assert!(<$ring>::decode_slice(&bytes).is_err());
                        }
                        prop_assert!(<$ring>::read_le(&bytes[..bytes.len().min(<$ring>::BYTES - 1)]).is_err());
                    }

                    #[test]
                    fn small_integers_embed(x in -(1i64 << 62)..(1i64 << 62), y in -(1i64 << 30)..(1i64 << 30)) {
                        let (a, b) = (<$ring>::from_i128(x as i128), <$ring>::from_i128(y as i128));
                        prop_assert_eq!(a.to_i128(), Some(x as i128));
                        prop_assert_eq!((a + b).to_i128(), Some(x as i128 + y as i128));
                        prop_assert_eq!((b * b).to_i128(), Some((y as i128) * (y as i128)));
                    }

                    #[test]
                    fn constant_time_eq_agrees(a in elem(), b in elem()) {
                        prop_assert_eq!(bool::from(a.ct_eq(&b)), a == b);
                        prop_assert!(bool::from(a.ct_eq(&a)));
                    }
                }
            }
        };
    }

    ring_laws!(z64, Z64);
    ring_laws!(z128, Z128);
    ring_laws!(fp, Fp);

    #[test]
    fn fp_rejects_non_canonical() {
        // ℓ itself, little-endian, is not canonical.
        let ell: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        assert!(Fp::read_le(&ell).is_err());
        assert_eq!(Fp::from_i128(-1) + Fp::ONE, Fp::ZERO);
        assert_eq!(Fp::from_i128(-5).to_i128(), Some(-5));
    }

    /// `random_vec` gives the elements of one fill of the whole vector, whatever its length.
    #[test]
    fn random_vectors_are_the_stream_of_one_fill() {
        use crate::prg::Expander;
        fn check<R: Ring>(n: usize) {
            let v = R::random_vec(&mut Expander::from_key([7; 16]), n);
            let mut whole = vec![R::ZERO; n];
            R::fill_random(&mut Expander::from_key([7; 16]), &mut whole);
            assert_eq!(v, whole, "{} of {n}", R::NAME);
        }
        for n in [0, 1, 255, 256, 257, 511, 512, 513, 3000] {
            check::<Z64>(n);
            check::<Z128>(n);
        }
    }

    #[test]
    fn z64_wraps() {
        assert_eq!(Z64(u64::MAX) + Z64(1), Z64(0));
        assert_eq!(Z64::from_i128(-1), Z64(u64::MAX));
        assert_eq!(Z64(u64::MAX).to_i128(), Some(-1));
        assert_eq!(Z128::pow2(127).shr_logical(127), Z128(1));
        assert_eq!(
            Fp::from_i128(1 << 100).shr_canonical(70),
            Fp::from_i128(1 << 30)
        );
        assert_eq!(
            Fp::from_i128(12345).shr_canonical(3),
            Fp::from_i128(12345 >> 3)
        );
    }
}
