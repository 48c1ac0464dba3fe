//! Oblivious transfer and OT-based multiplication: the machinery behind the dealer-free `ot` preprocessing
//! source ([`crate::preprocessing::OtSource`]).
//!
//! One protocol per file, each citing its paper:
//! - [`base`]: Chou–Orlandi base OTs on Ristretto, with the transcript and index hashed into every key.
//! - [`iknp`]: IKNP OT extension (correlated and random OTs) with the optional KOS correlation check, and
//!   the same correlated OTs from [`softspoken`] columns ([`iknp::Extension`]).
//! - [`softspoken`]: SoftSpokenOT's columns from small-field VOLE, `16 / k` bytes per OT instead of 16.
//! - [`gilboa`]: Gilboa multiplication (vector OLE) in Z/2^64 and Z/2^128 from correlated OTs, with the
//!   shrinking message length per bit.
//! - [`fixed_choice`]: Gilboa multiplication whose choice operand is fixed, with one OT per bit made once
//!   and fresh pads hashed for every product.
//! - [`hash`]: the AES-128 counter-mode PRG and the fixed-key-AES correlation-robust hash they use.
//! - [`transpose`]: 128 x 128 bit-matrix transposition.
//!
//! Every key, seed and OT output is held in zeroizing containers and prints redacted. Nothing a peer sends
//! can make these functions panic: lengths are checked before any slicing, points are validated on decoding,
//! and failures come back as errors that name the peer.
//!
//! Security: semi-honest, computational (128-bit base OTs and extension, AES as a random permutation for the
//! correlation-robust hash, AES-CTR as the PRG of the GGM trees and columns). SoftSpokenOT is implemented
//! in its semi-honest form only; the KOS check runs with IKNP columns.

pub mod base;
pub mod fixed_choice;
pub mod gilboa;
pub mod hash;
pub mod iknp;
pub mod softspoken;
pub mod transpose;

use zeroize::{Zeroize, Zeroizing};

use crate::ring::{PowerOfTwoRing, Z128, Z64};

/// Resizes a zeroizing scratch vector to `len` elements without leaving its contents in a freed allocation:
/// to grow beyond its capacity it is wiped and replaced instead of reallocated. New elements are zero.
pub(crate) fn resize_wiped<T: Zeroize + Clone + Default>(v: &mut Zeroizing<Vec<T>>, len: usize) {
    if len > v.capacity() {
        v.zeroize();
        **v = Vec::with_capacity(len);
    }
    v.resize(len, T::default());
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::ring::Z64 {}
    impl Sealed for crate::ring::Z128 {}
}

/// The rings OT-based multiplication supports: Z/2^64 and Z/2^128 (Gilboa's bit decomposition needs a
/// power-of-two modulus). Sealed.
pub trait OtRing: PowerOfTwoRing + sealed::Sealed {}

impl OtRing for Z64 {}
impl OtRing for Z128 {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Growing past the capacity replaces the vector (new elements zero, old ones gone); shrinking and
    /// regrowing within it keeps the allocation.
    #[test]
    fn resize_wiped_grows_by_replacement() {
        let mut v = Zeroizing::new(vec![7u128; 4]);
        resize_wiped(&mut v, 64);
        assert_eq!(v.len(), 64);
        assert!(v.iter().all(|&x| x == 0));
        v.iter_mut().for_each(|x| *x = 9);
        let before = v.as_ptr();
        resize_wiped(&mut v, 10);
        resize_wiped(&mut v, 64);
        assert_eq!(v.as_ptr(), before);
        assert_eq!(v[..10], [9u128; 10]);
        assert!(v[10..].iter().all(|&x| x == 0));
    }
}
