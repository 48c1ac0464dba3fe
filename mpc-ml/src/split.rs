//! The train/test split across parties: each party splits its own rows, deterministically.
//!
//! Party `p` shuffles its row indices with a ChaCha8 generator seeded with `SPLIT_SEED + p` and keeps the
//! first `round(0.8 n)` rows (at least one row on each side) for training, in the shuffled order; the rest
//! are its test rows. The joint training set is party 0's training rows, then party 1's, and so on; mini-
//! batches are taken in that order. The plaintext baseline uses exactly the same rows in the same order, so
//! the secure and plaintext models differ only by the secure arithmetic.

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::PartyData;

/// The public seed of the split.
pub const SPLIT_SEED: u64 = 20_170_522;

/// The share of each party's rows held out for testing.
pub const TEST_FRACTION: f64 = 0.2;

/// Splits one party's rows into (training, test).
pub fn split_party(data: &PartyData) -> (PartyData, PartyData) {
    let n = data.len();
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(SPLIT_SEED.wrapping_add(data.party as u64));
    idx.shuffle(&mut rng);
    let test = ((n as f64 * TEST_FRACTION).round() as usize).clamp(1.min(n), n.saturating_sub(1));
    let train_n = n - test;
    (data.select(&idx[..train_n]), data.select(&idx[train_n..]))
}

/// Splits every party's rows; returns (training parts, test parts).
pub fn split_parties(parties: &[PartyData]) -> (Vec<PartyData>, Vec<PartyData>) {
    parties.iter().map(split_party).unzip()
}

/// The rows and labels of several parties, concatenated in party order.
pub fn pool(parties: &[PartyData]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let rows = parties
        .iter()
        .flat_map(|p| p.rows.iter().cloned())
        .collect();
    let labels = parties
        .iter()
        .flat_map(|p| p.labels.iter().copied())
        .collect();
    (rows, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(p: usize, n: usize) -> PartyData {
        PartyData {
            party: p,
            path: "x.csv".into(),
            features: vec!["a".into()],
            label: "y".into(),
            rows: (0..n).map(|i| vec![i as f64]).collect(),
            labels: vec![0.0; n],
            lines: (2..n as u64 + 2).collect(),
        }
    }

    #[test]
    fn deterministic_disjoint_and_eighty_twenty() {
        let d = party(1, 240);
        let (tr, te) = split_party(&d);
        assert_eq!((tr.len(), te.len()), (192, 48));
        assert_eq!(split_party(&d), (tr.clone(), te.clone()));
        let mut all: Vec<u64> = tr.lines.iter().chain(&te.lines).copied().collect();
        all.sort();
        assert_eq!(all, d.lines);
        let (tr5, te5) = split_party(&party(0, 5));
        assert_eq!((tr5.len(), te5.len()), (4, 1));
    }
}
