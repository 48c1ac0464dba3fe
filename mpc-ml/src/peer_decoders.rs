//! Every decoder that a peer's bytes reach in this crate's protocols, as plain functions over bytes. Each
//! runs the same check the protocol runs on a received message and returns `Ok(())` if the protocol would
//! accept the bytes, or the reason it would refuse them. They exist so that the fuzz targets (`fuzz/` at the
//! repository root) and tests drive the decoders without a network; the protocols call the decoders
//! directly.
//!
//! `len` and `d` are what the receiving party already knows (a peer's announced id count, a peer's
//! feature count), never taken from the message itself.

use std::result::Result;

/// The PSI size announcement ([`crate::psi::intersect`], step 1): JSON, at most [`crate::psi::MAX_IDS`] ids.
pub fn psi_announcement(bytes: &[u8]) -> Result<(), String> {
    crate::psi::decode_announce(bytes).map(drop)
}

/// A travelling PSI vector of `len` blinded points: exactly `len * 32` bytes, each 32 a valid Ristretto
/// point.
pub fn psi_points(bytes: &[u8], len: usize) -> Result<(), String> {
    let points = crate::psi::batch::split_points(bytes, len)?;
    for (i, p) in points.iter().enumerate() {
        crate::psi::batch::decompress(i, p)?;
    }
    Ok(())
}

/// A party's PSI join keys sent to the leader: `len` points of 32 bytes, strictly increasing.
pub fn psi_sorted_keys(bytes: &[u8], len: usize) -> Result<(), String> {
    crate::psi::decode_sorted_keys(bytes, len).map(drop)
}

/// The PSI leader's size-only reply: an 8-byte count of at most `len`.
pub fn psi_count(bytes: &[u8], len: usize) -> Result<(), String> {
    crate::psi::decode_count(bytes, len).map(drop)
}

/// The PSI leader's reply: an 8-byte count, then one bit per key of `len`, the count matching the bits.
pub fn psi_bitmap(bytes: &[u8], len: usize) -> Result<(), String> {
    crate::psi::decode_bitmap(bytes, len).map(drop)
}

/// A vertical party's announcement of its columns and options: JSON, at most 4096 features.
pub fn vertical_announcement(bytes: &[u8]) -> Result<(), String> {
    crate::vertical::decode_announce(bytes).map(drop)
}

/// A vertical party's column statistics for its `d` features: finite means, finite positive deviations.
pub fn vertical_moments(bytes: &[u8], d: usize) -> Result<(), String> {
    crate::vertical::decode_moments(bytes, d).map(drop)
}

/// A horizontal training party's announcement of its columns, options and row count: JSON.
pub fn training_announcement(bytes: &[u8]) -> Result<(), String> {
    crate::secure::decode_announce(bytes).map(drop)
}

/// A party's preprocessing choice: one byte, 1 (dealer) or 2 (ot).
pub fn preprocessing_choice(bytes: &[u8]) -> Result<(), String> {
    crate::source::decode_choice(bytes).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders_accept_what_the_protocols_send_and_refuse_garbage() {
        assert!(psi_announcement(br#"{"ids":3,"min_intersection":1,"reveal":"SizeOnly"}"#).is_ok());
        assert!(psi_announcement(br#"{"ids":3}"#).is_err());
        assert!(
            psi_points(&[0u8; 32], 1).is_ok(),
            "the identity encodes as zeros"
        );
        assert!(psi_points(&[0xffu8; 32], 1).is_err());
        assert!(psi_points(&[0u8; 31], 1).is_err());
        assert!(psi_count(&2u64.to_le_bytes(), 2).is_ok());
        assert!(psi_count(&3u64.to_le_bytes(), 2).is_err());
        assert!(preprocessing_choice(&[2]).is_ok());
        assert!(preprocessing_choice(&[3]).is_err());
        assert!(vertical_moments(br#"{"mean":[0.5],"sd":[1.0],"label":null}"#, 1).is_ok());
        assert!(vertical_moments(br#"{"mean":[0.5],"sd":[0.0],"label":null}"#, 1).is_err());
        assert!(training_announcement(b"{").is_err());
        assert!(vertical_announcement(b"[]").is_err());
    }
}
