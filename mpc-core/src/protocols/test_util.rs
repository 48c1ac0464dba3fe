//! Helpers for the protocol tests: run for 2, 3 and 5 parties, split plaintexts into shares.

use std::future::Future;
use std::sync::Arc;

use crate::prg::Prg;
use crate::ring::Ring;

/// Runs `f(n)` for n = 2, 3 and 5.
pub(crate) async fn for_parties<F, Fut>(f: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    for n in [2, 3, 5] {
        f(n).await;
    }
}

/// Random additive shares of `x` for `n` parties.
pub(crate) fn shares_of<R: Ring>(x: &[R], n: usize) -> Arc<Vec<Vec<R>>> {
    let mut rng = Prg::from_entropy();
    let mut shares: Vec<Vec<R>> = (1..n).map(|_| R::random_vec(&mut rng, x.len())).collect();
    let last: Vec<R> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| shares.iter().fold(v, |acc, s| acc - s[i]))
        .collect();
    shares.push(last);
    Arc::new(shares)
}

/// Random ring elements.
pub(crate) fn random_elems<R: Ring>(len: usize) -> Vec<R> {
    R::random_vec(&mut Prg::from_entropy(), len)
}
