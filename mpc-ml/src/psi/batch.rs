//! The group operations of one PSI step over a whole vector, split across the machine's cores.
//!
//! A large batch is cut into one chunk per core and each chunk runs on tokio's blocking pool, so the
//! runtime's worker threads (which drive the network) are never held by the arithmetic; results come back in
//! order. A small batch, or a call outside a tokio runtime, runs inline. The blinding key is shared with the
//! chunks through an [`Arc`] and zeroized when the last chunk drops it; scalar multiplication is
//! curve25519-dalek's constant-time variable-base multiplication.

use std::sync::Arc;

use curve25519_dalek::ristretto::CompressedRistretto;

use super::{hash_to_group, BlindingKey, POINT};
use crate::error::{Error, Result};

/// A compressed Ristretto point.
pub(super) type Bytes = [u8; POINT];

/// Below this many elements a batch runs inline: splitting it costs more than it saves.
const MIN_SPLIT: usize = 2048;

/// `f(i, item)` for every item, in order, split across the cores; `i` is the item's index in `items`.
async fn par_map<I, O, F>(items: Vec<I>, f: F) -> Result<Vec<O>>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(usize, I) -> O + Send + Sync + 'static,
{
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let inline = |items: Vec<I>| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, x)| f(i, x))
            .collect()
    };
    if cores < 2 || items.len() < MIN_SPLIT || tokio::runtime::Handle::try_current().is_err() {
        return Ok(inline(items));
    }
    let chunk = items.len().div_ceil(cores);
    let f = Arc::new(f);
    let mut rest = items;
    let mut tasks = Vec::with_capacity(cores);
    let mut start = 0;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        let part = std::mem::replace(&mut rest, tail);
        let (f, offset) = (f.clone(), start);
        start += part.len();
        tasks.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .enumerate()
                .map(|(i, x)| f(offset + i, x))
                .collect::<Vec<O>>()
        }));
    }
    drop(f);
    let mut out = Vec::with_capacity(start);
    for t in tasks {
        let part = t
            .await
            .map_err(|e| Error::option("psi", format!("a group-operation task failed: {e}")))?;
        out.extend(part);
    }
    Ok(out)
}

/// `k H(id)`, compressed, for every id.
pub(super) async fn hash_and_blind(ids: Vec<Vec<u8>>, key: Arc<BlindingKey>) -> Result<Vec<Bytes>> {
    par_map(ids, move |_, id| {
        (key.0 * hash_to_group(&id)).compress().to_bytes()
    })
    .await
}

/// `k P`, compressed, for every received point `P`; an invalid point is refused with its index.
pub(super) async fn blind_received(
    points: Vec<Bytes>,
    key: Arc<BlindingKey>,
) -> Result<std::result::Result<Vec<Bytes>, String>> {
    let out = par_map(points, move |i, p| {
        decompress(i, &p).map(|p| (key.0 * p).compress().to_bytes())
    })
    .await?;
    Ok(out.into_iter().collect())
}

/// Checks that every received element is a valid compressed Ristretto point (a canonical encoding, so
/// comparing encodings compares points); returns the elements.
pub(super) async fn check_received(
    points: Vec<Bytes>,
) -> Result<std::result::Result<Vec<Bytes>, String>> {
    let out = par_map(points, |i, p| decompress(i, &p).map(|_| p)).await?;
    Ok(out.into_iter().collect())
}

pub(crate) fn decompress(
    i: usize,
    bytes: &Bytes,
) -> std::result::Result<curve25519_dalek::RistrettoPoint, String> {
    CompressedRistretto(*bytes)
        .decompress()
        .ok_or_else(|| format!("element {i} is not a valid Ristretto point"))
}

/// Exactly `len` elements of [`POINT`] bytes.
pub(crate) fn split_points(bytes: &[u8], len: usize) -> std::result::Result<Vec<Bytes>, String> {
    if bytes.len() != len * POINT {
        return Err(format!(
            "{} bytes where {len} group elements take {}",
            bytes.len(),
            len * POINT
        ));
    }
    Ok(bytes
        .chunks_exact(POINT)
        .map(|c| {
            let mut b = [0u8; POINT];
            b.copy_from_slice(c);
            b
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn split_batches_match_the_inline_computation() {
        let key = Arc::new(BlindingKey::random(&mut rand::rngs::OsRng));
        let ids: Vec<Vec<u8>> = (0..MIN_SPLIT + 7)
            .map(|i| format!("id{i}").into_bytes())
            .collect();
        let want: Vec<Bytes> = ids
            .iter()
            .map(|id| (key.0 * hash_to_group(id)).compress().to_bytes())
            .collect();
        let got = hash_and_blind(ids, key.clone()).await.unwrap();
        assert_eq!(got, want);
        let twice = blind_received(got.clone(), key.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            twice[5],
            (key.0 * key.0 * hash_to_group(b"id5"))
                .compress()
                .to_bytes()
        );
        let mut bad = got;
        bad[MIN_SPLIT + 3] = [0xff; POINT];
        let e = check_received(bad.clone()).await.unwrap().unwrap_err();
        assert!(e.contains(&format!("element {}", MIN_SPLIT + 3)), "{e}");
        let e = blind_received(bad, key).await.unwrap().unwrap_err();
        assert!(e.contains(&format!("element {}", MIN_SPLIT + 3)), "{e}");
    }
}
