//! Private set intersection of an id column on the Ristretto group: the Diffie-Hellman (ECDH) PSI of Meadows
//! ("A more efficient cryptographic matchmaking protocol for use in the absence of a continuously available
//! third party", 1986) and Huberman, Franklin and Hogg ("Enhancing privacy and trust in electronic
//! communities", 1999), for two parties and more, as used by the ECDH-PSI of vertical federated learning.
//!
//! Each id `x` is hashed to the group with the standard hash-to-Ristretto,
//! `H(x) = RistrettoPoint::hash_from_bytes::<Sha512>(DOMAIN || x)`, and each party `i` draws a secret scalar
//! `k_i` ([`BlindingKey`], zeroized on drop). The *join key* of `x` is `K(x) = (k_0 k_1 ... k_{n-1}) H(x)`;
//! under the decisional Diffie-Hellman assumption join keys are pseudorandom to anyone missing a key.
//!
//! Protocol, `n >= 2` parties, all messages through the [`Context`]:
//!
//! 1. **Sizes.** Every party announces the size of its id set and the minimum intersection it accepts; sizes
//!    are public (every ECDH-PSI reveals them), and a party whose minimum differs is named.
//! 2. **Ring blinding.** Party `o` shuffles its ids with a private permutation, draws a one-time scalar `r_o`
//!    and sends `r_o k_o H(x)` to party `o+1`, which multiplies every point by its `k` and passes the vector
//!    on, in order, around the ring; after `n-1` hops the vector comes back to `o`, which removes `r_o`. So
//!    `o` gets the join keys of its own ids and nobody else sees them: the parties on the way only see points
//!    blinded by `r_o`, which match nothing. All `n` vectors travel at once (`n` rounds). With two parties
//!    there is no `r_o` (the classic two-party protocol): `o` sends `k_o H(x)`, the peer returns
//!    `k_peer k_o H(x)`. The peer then knows the join keys of `o`'s ids, but in `o`'s private order, so
//!    comparing them with its own join keys tells it the intersection's size and which of its own rows are in
//!    it, which it learns anyway (with [`Reveal::SizeOnly`] its own join keys come back shuffled, so it learns
//!    the size alone). With more parties `r_o` is needed: the last party on the way would otherwise learn the
//!    size of its intersection with `o`.
//! 3. **Intersection at the leader.** Every party but party 0 (the leader) sends its join keys *sorted* (the
//!    order is that of pseudorandom values and says nothing about its file); the leader intersects them with
//!    its own and replies to each party with the intersection size and a bitmap over that party's sorted
//!    keys. Every received point is decoded with `CompressedRistretto::decompress`, and an invalid point,
//!    a wrong length, an unsorted or repeated key or an inconsistent bitmap aborts the session naming the
//!    sender.
//! 4. **Order.** The joint row order is the byte order of the ids ([`Intersection::rows`]): each party knows
//!    which of its rows are in the intersection, so it knows the intersection's ids themselves, and sorting
//!    them reveals nothing more, needs no message, and gives the same order (so the same train/test split)
//!    on every run. (Sorting by join key would also agree, but join keys are fresh on every run, so the
//!    split and the accuracy would change from run to run.)
//!
//! What each party learns (semi-honest parties, DDH), with [`Reveal::Rows`] (the default, which vertical
//! training needs):
//! - every party: every party's set size, the intersection size, and which of its own rows are in the
//!   intersection (the vertical training needs this to contribute the columns of exactly those rows);
//! - the leader (party 0) holds the join keys of every party's set (its own linked to its rows, the others'
//!   as sorted pseudorandom tokens), so it learns the whole membership pattern of the union: for every
//!   subset `T` of the parties, how many ids are held by exactly the parties of `T` (so the size of every
//!   multi-way intersection, `|S_i ∩ S_j|`, `|S_i ∩ S_j ∩ S_k|`, ..., of the parties' id sets), and for
//!   each of its own rows exactly which other parties hold that id. It does not learn the ids it does not
//!   hold. With two parties all of this is the intersection's size and the leader's own rows in it, so for
//!   `n = 2` every party learns only the sizes and its own rows in the intersection.
//!
//! The other parties see only points blinded by a one-time scalar (`n > 2`) or, with two parties, the join
//! keys of the peer's ids in the peer's private order, from which they learn what they get anyway.
//!
//! With [`Reveal::SizeOnly`] every hop also shuffles the vector it passes on and the leader replies with the
//! count alone: every party learns the set sizes and the intersection size, and (for `n > 2`) the leader the
//! same membership counts (for every subset of the parties, how many ids exactly they hold), but not which
//! of its own rows they concern.
//!
//! Not built: the variant that reveals nothing but secret shares of a 0/1 indicator per row (a circuit PSI,
//! for example by oblivious programmable PRFs, followed by training on all rows weighted by the shared
//! indicator). It would hide which rows match, but it needs an OPRF or a secure comparison of every pair of
//! candidate rows, and training on the union of the rows instead of the intersection; the ECDH protocol here
//! costs each party, per id (with sets of equal size), one hash and `n + 1` scalar multiplications (`n = 2`:
//! 2), plus the compressions and decompressions of the points it sends and receives.
//!
//! Group operations: every received point is decompressed (which checks it), the scalar multiplications are
//! curve25519-dalek's constant-time ones, and each step's operations over a whole vector are split across the
//! machine's cores on tokio's blocking pool, so the runtime's workers keep driving the network (a party that
//! held them for seconds would stall its QUIC connections).
//!
//! A configured minimum intersection ([`DEFAULT_MIN_INTERSECTION`] by default) stops a party from probing
//! single records with a tiny id file: every party checks it and stops with the same error.

use std::collections::HashMap;
use std::sync::Arc;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::Scalar;
use mpc_core::{Context, PartyId};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::secure::Disclosure;

pub(crate) mod batch;

/// The domain-separation prefix of the hash to the group.
pub const DOMAIN: &[u8] = b"mpc-ml/psi/v1/ristretto255/id\0";

/// The default smallest intersection a run accepts.
pub const DEFAULT_MIN_INTERSECTION: usize = 10;

/// The largest id set a party may announce (the row limit of mpc-ml).
pub const MAX_IDS: usize = crate::data::MAX_ROWS;

/// Bytes of a compressed Ristretto point.
const POINT: usize = 32;

/// A party's secret blinding scalar; zeroized on drop, redacted in `Debug`.
pub struct BlindingKey(Scalar);

impl BlindingKey {
    /// A fresh uniform non-zero scalar.
    pub fn random(rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng)) -> Self {
        loop {
            let s = Scalar::random(rng);
            if s != Scalar::ZERO {
                return BlindingKey(s);
            }
        }
    }

    /// `k P` for every point.
    pub fn blind(&self, points: &[RistrettoPoint]) -> Vec<RistrettoPoint> {
        points.iter().map(|p| self.0 * p).collect()
    }

    fn mul(&self, other: &BlindingKey) -> BlindingKey {
        BlindingKey(self.0 * other.0)
    }

    fn invert(&self) -> BlindingKey {
        BlindingKey(self.0.invert())
    }
}

impl Drop for BlindingKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for BlindingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindingKey(<redacted>)")
    }
}

/// `H(x)`: the id hashed to the Ristretto group with the domain prefix [`DOMAIN`].
pub fn hash_to_group(id: &[u8]) -> RistrettoPoint {
    let mut h = Sha512::new();
    h.update(DOMAIN);
    h.update(id);
    RistrettoPoint::from_hash(h)
}

/// One party's id column, checked: no empty id, no id twice. The ids are wiped on drop and never shown by
/// `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct IdList {
    /// The party.
    pub party: PartyId,
    /// The file the ids come from.
    pub path: String,
    /// The id column's name.
    pub column: String,
    /// The ids, one per row.
    pub ids: Vec<String>,
    /// The file line of each id (the header is line 1).
    pub lines: Vec<u64>,
}

impl Drop for IdList {
    fn drop(&mut self) {
        self.ids.zeroize();
    }
}

impl std::fmt::Debug for IdList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdList")
            .field("party", &self.party)
            .field("path", &self.path)
            .field("column", &self.column)
            .field("ids", &format_args!("[{}; <redacted>]", self.ids.len()))
            .finish_non_exhaustive()
    }
}

impl IdList {
    /// Checks the ids of `party`'s file `path`: an empty or repeated id is an error naming its line.
    pub fn new(
        party: PartyId,
        path: &str,
        column: &str,
        ids: Vec<String>,
        lines: Vec<u64>,
    ) -> Result<IdList> {
        let cell = |line: u64, reason: String| Error::Cell {
            party,
            path: path.to_string(),
            line,
            column: column.to_string(),
            reason,
        };
        if ids.len() != lines.len() {
            return Err(Error::option(
                "ids",
                format!("{} ids with {} line numbers", ids.len(), lines.len()),
            ));
        }
        if ids.len() > MAX_IDS {
            return Err(Error::Data {
                party,
                path: path.to_string(),
                reason: format!("more than {MAX_IDS} ids"),
            });
        }
        let mut seen: HashMap<&str, u64> = HashMap::with_capacity(ids.len());
        for (id, &line) in ids.iter().zip(&lines) {
            if id.is_empty() {
                return Err(cell(line, "the id is empty".into()));
            }
            if let Some(first) = seen.insert(id.as_str(), line) {
                return Err(cell(
                    line,
                    format!("the id `{id}` appears twice (first on line {first})"),
                ));
            }
        }
        Ok(IdList {
            party,
            path: path.to_string(),
            column: column.to_string(),
            ids,
            lines,
        })
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True if there are no ids.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// What [`intersect`] reveals to each party.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reveal {
    /// The intersection's size, and to each party which of its own rows are in it (vertical training needs
    /// this to contribute the columns of those rows).
    #[default]
    Rows,
    /// The intersection's size only: every hop of the ring also shuffles the vector it passes on, so no party
    /// can link a join key to its own rows, and the leader replies with the count alone.
    SizeOnly,
}

/// Options of [`intersect`]; every party must use the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PsiOptions {
    /// The smallest intersection accepted (at least 1).
    pub min_intersection: usize,
    /// What the parties learn.
    pub reveal: Reveal,
}

impl Default for PsiOptions {
    fn default() -> Self {
        PsiOptions {
            min_intersection: DEFAULT_MIN_INTERSECTION,
            reveal: Reveal::Rows,
        }
    }
}

/// What one party learns from [`intersect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intersection {
    /// This party's row indices (into its [`IdList`]) of the intersection, in the joint order (the ids' byte
    /// order): row `t` of the joined table is `rows[t]` at every party. Empty with [`Reveal::SizeOnly`].
    pub rows: Vec<usize>,
    /// The intersection's size.
    pub size: usize,
    /// Every party's id count (public).
    pub set_sizes: Vec<usize>,
    /// What the intersection revealed, and to whom.
    pub revealed: Vec<Disclosure>,
}

impl Intersection {
    /// The intersection's size.
    pub fn len(&self) -> usize {
        self.size
    }

    /// True if the intersection is empty (never, after a successful [`intersect`]).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Announce {
    ids: usize,
    min_intersection: usize,
    reveal: Reveal,
}

/// Runs the private set intersection of `ids` with the other parties of `ctx`. On a local error the party
/// aborts the session with the error's category only (never the text, which may hold an id), so every party
/// stops.
pub async fn intersect(
    ctx: &mut Context,
    ids: &IdList,
    options: &PsiOptions,
) -> Result<Intersection> {
    let result = run(ctx, ids, options).await;
    crate::error::abort_on_own_error(ctx, result).await
}

async fn run(ctx: &mut Context, ids: &IdList, options: &PsiOptions) -> Result<Intersection> {
    let me = ctx.id();
    let n = ctx.parties();
    let mpc = Error::mpc;
    if ids.party != me {
        return Err(Error::option(
            "ids",
            format!("ids of party {} given to party {me}", ids.party),
        ));
    }
    if options.min_intersection == 0 {
        return Err(Error::option("min_intersection", "must be at least 1"));
    }
    if n < 2 {
        return Err(Error::option(
            "parties",
            "a private set intersection needs at least 2 parties",
        ));
    }

    // 1. Sizes.
    let mine = Announce {
        ids: ids.len(),
        min_intersection: options.min_intersection,
        reveal: options.reveal,
    };
    let bytes = serde_json::to_vec(&mine).map_err(|e| Error::option("psi", e.to_string()))?;
    let peers: Vec<PartyId> = ctx.peers().collect();
    for &p in &peers {
        ctx.send_bytes(p, bytes.clone()).await.map_err(mpc(me))?;
    }
    let mut sizes = vec![0; n];
    sizes[me] = ids.len();
    for &p in &peers {
        let theirs: Announce = ctx
            .recv_checked(p, decode_announce)
            .await
            .map_err(mpc(me))?;
        if theirs.min_intersection != options.min_intersection {
            return Err(Error::Mismatch {
                party: p,
                other: me,
                what: format!(
                    "the minimum intersection ({} against {})",
                    theirs.min_intersection, options.min_intersection
                ),
            });
        }
        if theirs.reveal != options.reveal {
            return Err(Error::Mismatch {
                party: p,
                other: me,
                what: format!(
                    "what the intersection reveals ({:?} against {:?})",
                    theirs.reveal, options.reveal
                ),
            });
        }
        sizes[p] = theirs.ids;
    }
    if sizes.contains(&0) {
        return Err(empty_error(ids, n));
    }

    // 2. Ring blinding: this party's ids in a private random order, under k_me (two parties) or k_me * r.
    let key = Arc::new(BlindingKey::random(ctx.rng()));
    let once = (n > 2).then(|| BlindingKey::random(ctx.rng()));
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.shuffle(ctx.rng());
    let start = match &once {
        Some(r) => Arc::new(key.mul(r)),
        None => key.clone(),
    };
    let own: Vec<Vec<u8>> = order
        .iter()
        .map(|&i| ids.ids[i].as_bytes().to_vec())
        .collect();
    let mut travelling = batch::hash_and_blind(own, start).await?;
    let size_only = options.reveal == Reveal::SizeOnly;
    let next = (me + 1) % n;
    let prev = (me + n - 1) % n;
    for hop in 1..=n {
        ctx.send_bytes(next, travelling.as_flattened().to_vec())
            .await
            .map_err(mpc(me))?;
        // The vector that started at party `me - hop`.
        let origin = (me + n - hop % n) % n;
        let len = sizes[origin];
        let received = ctx
            .recv_checked(prev, |b| batch::split_points(b, len))
            .await
            .map_err(mpc(me))?;
        let step = if hop < n {
            batch::blind_received(received, key.clone()).await?
        } else if let Some(r) = &once {
            // My vector is back, blinded by every key and by r: remove r.
            batch::blind_received(received, Arc::new(r.invert())).await?
        } else {
            // Two parties: my vector is back under k_0 k_1, my join keys; check them.
            batch::check_received(received).await?
        };
        travelling = match step {
            Ok(v) => v,
            Err(reason) => {
                return Err(mpc(me)(
                    ctx.fail(mpc_core::Error::Malformed {
                        party: prev,
                        reason,
                    })
                    .await,
                ))
            }
        };
        if hop < n && size_only {
            travelling.shuffle(ctx.rng());
        }
    }
    drop(key);
    drop(once);
    // My join keys, compressed, by my row index.
    let mut keys: Vec<([u8; POINT], usize)> = travelling.into_iter().zip(order).collect();
    keys.sort_unstable_by_key(|k| k.0);
    if keys.windows(2).any(|w| w[0].0 == w[1].0) {
        // Two distinct ids with one join key: a hash collision, which does not happen in practice.
        return Err(Error::Data {
            party: me,
            path: ids.path.clone(),
            reason: "two ids hash to the same group element".into(),
        });
    }

    // 3. Intersection at the leader.
    let size;
    let rows: Vec<usize> = if me == 0 {
        let mut inside = vec![true; keys.len()];
        let mut theirs_all = Vec::with_capacity(n - 1);
        for &p in &peers {
            let len = sizes[p];
            let received = ctx
                .recv_checked(p, |b| decode_sorted_keys(b, len))
                .await
                .map_err(mpc(me))?;
            let theirs = match batch::check_received(received).await? {
                Ok(v) => v,
                Err(reason) => {
                    return Err(mpc(me)(
                        ctx.fail(mpc_core::Error::Malformed { party: p, reason })
                            .await,
                    ))
                }
            };
            for (flag, (k, _)) in inside.iter_mut().zip(&keys) {
                *flag = *flag && theirs.binary_search(k).is_ok();
            }
            theirs_all.push((p, theirs));
        }
        let common: Vec<[u8; POINT]> = keys
            .iter()
            .zip(&inside)
            .filter(|(_, &f)| f)
            .map(|(k, _)| k.0)
            .collect();
        for (p, theirs) in theirs_all {
            if size_only {
                let msg = (common.len() as u64).to_le_bytes().to_vec();
                ctx.send_bytes(p, msg).await.map_err(mpc(me))?;
                continue;
            }
            let mut bitmap = vec![0u8; theirs.len().div_ceil(8)];
            for (i, k) in theirs.iter().enumerate() {
                if common.binary_search(k).is_ok() {
                    bitmap[i / 8] |= 1 << (i % 8);
                }
            }
            let mut msg = (common.len() as u64).to_le_bytes().to_vec();
            msg.extend_from_slice(&bitmap);
            ctx.send_bytes(p, msg).await.map_err(mpc(me))?;
        }
        size = common.len();
        keys.iter()
            .zip(&inside)
            .filter(|(_, &f)| f && !size_only)
            .map(|(k, _)| k.1)
            .collect()
    } else {
        let sorted: Vec<u8> = keys.iter().flat_map(|(k, _)| k.iter().copied()).collect();
        ctx.send_bytes(0, sorted).await.map_err(mpc(me))?;
        let len = keys.len();
        if size_only {
            size = ctx
                .recv_checked(0, |b| decode_count(b, len))
                .await
                .map_err(mpc(me))?;
            Vec::new()
        } else {
            let bitmap = ctx
                .recv_checked(0, |b| decode_bitmap(b, len))
                .await
                .map_err(mpc(me))?;
            size = bitmap.iter().filter(|&&b| b).count();
            keys.iter()
                .zip(bitmap)
                .filter(|(_, f)| *f)
                .map(|(k, _)| k.1)
                .collect()
        }
    };
    // The joint order: the ids' byte order (see the module docs), the same at every party and on every run.
    let mut rows = rows;
    rows.sort_unstable_by(|&a, &b| ids.ids[a].as_bytes().cmp(ids.ids[b].as_bytes()));
    if size == 0 {
        return Err(empty_error(ids, n));
    }
    if size < options.min_intersection {
        return Err(Error::Data {
            party: me,
            path: ids.path.clone(),
            reason: format!(
                "the private set intersection on `{}` over {n} parties has {} rows; at least {} are required (min_intersection), so that no party can probe single records",
                ids.column,
                size,
                options.min_intersection
            ),
        });
    }
    tracing::info!(party = me, size, "private set intersection done");
    let all: Vec<PartyId> = (0..n).collect();
    let mut revealed = vec![Disclosure {
        what: if size_only {
            format!(
                "the number of ids of every party and the size of the intersection (id column `{}`)",
                ids.column
            )
        } else {
            format!(
                "the number of ids of every party, the size of the intersection, and to each party which of its own rows are in it (id column `{}`)",
                ids.column
            )
        },
        to: all,
    }];
    if n > 2 {
        revealed.push(Disclosure {
            what: format!(
                "for every subset of the parties, how many ids exactly those parties hold (so the size of every multi-way intersection of the id sets){}",
                if size_only {
                    ""
                } else {
                    ", and for each of the leader's own rows which other parties hold that id"
                }
            ),
            to: vec![0],
        });
    }
    Ok(Intersection {
        rows,
        size,
        set_sizes: sizes,
        revealed,
    })
}

fn empty_error(ids: &IdList, n: usize) -> Error {
    Error::Data {
        party: ids.party,
        path: ids.path.clone(),
        reason: format!(
            "the private set intersection on `{}` over {n} parties is empty: the parties share no id",
            ids.column
        ),
    }
}

/// A peer's announcement of its id count and options: JSON, at most [`MAX_IDS`] ids.
pub(crate) fn decode_announce(b: &[u8]) -> std::result::Result<Announce, String> {
    let a: Announce =
        serde_json::from_slice(b).map_err(|e| format!("an unreadable PSI announcement: {e}"))?;
    if a.ids > MAX_IDS {
        return Err(format!("{} ids, more than {MAX_IDS}", a.ids));
    }
    Ok(a)
}

/// Exactly `len` elements of 32 bytes, strictly increasing as bytes (each is checked to be a valid point
/// afterwards, on all cores).
pub(crate) fn decode_sorted_keys(
    bytes: &[u8],
    len: usize,
) -> std::result::Result<Vec<[u8; POINT]>, String> {
    let keys = batch::split_points(bytes, len)?;
    if keys.windows(2).any(|w| w[0] >= w[1]) {
        return Err("join keys that are not strictly increasing".into());
    }
    Ok(keys)
}

/// The leader's reply in [`Reveal::SizeOnly`]: an 8-byte count, at most `len`.
pub(crate) fn decode_count(bytes: &[u8], len: usize) -> std::result::Result<usize, String> {
    let c: [u8; 8] = bytes.try_into().map_err(|_| {
        format!(
            "an intersection size of {} bytes where 8 are expected",
            bytes.len()
        )
    })?;
    let count = u64::from_le_bytes(c);
    if count > len as u64 {
        return Err(format!(
            "an intersection of {count} rows where this party has {len}"
        ));
    }
    Ok(count as usize)
}

/// The leader's reply: an 8-byte count, then one bit per key; the count must match the bits.
pub(crate) fn decode_bitmap(bytes: &[u8], len: usize) -> std::result::Result<Vec<bool>, String> {
    let expected = 8 + len.div_ceil(8);
    if bytes.len() != expected {
        return Err(format!(
            "an intersection reply of {} bytes where {expected} are expected",
            bytes.len()
        ));
    }
    let (count, bitmap) = bytes.split_at(8);
    let mut c = [0u8; 8];
    c.copy_from_slice(count);
    let count = u64::from_le_bytes(c);
    let bits: Vec<bool> = (0..len)
        .map(|i| bitmap[i / 8] >> (i % 8) & 1 == 1)
        .collect();
    let set = bits.iter().filter(|&&b| b).count() as u64;
    let padding = bitmap
        .last()
        .is_some_and(|&b| len % 8 != 0 && b >> (len % 8) != 0);
    if set != count || padding {
        return Err(format!(
            "an intersection of {count} rows with {set} rows marked"
        ));
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders_refuse_bad_input() {
        let p = hash_to_group(b"a").compress().to_bytes();
        assert_eq!(batch::split_points(&p, 1).unwrap(), vec![p]);
        assert!(batch::split_points(&p, 2).unwrap_err().contains("bytes"));
        let two = [p, p].concat();
        assert!(decode_sorted_keys(&two, 2)
            .unwrap_err()
            .contains("strictly"));
        assert_eq!(
            decode_bitmap(&[1, 0, 0, 0, 0, 0, 0, 0, 0b10], 3).unwrap(),
            vec![false, true, false]
        );
        assert!(decode_bitmap(&[2, 0, 0, 0, 0, 0, 0, 0, 0b10], 3).is_err());
        assert!(decode_bitmap(&[1, 0, 0, 0, 0, 0, 0, 0, 0b1000], 3).is_err());
    }

    #[test]
    fn ids_refused_with_line() {
        let e = IdList::new(
            1,
            "b.csv",
            "id",
            vec!["x".into(), "y".into(), "x".into()],
            vec![2, 3, 4],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("party 1")
                && e.contains("b.csv")
                && e.contains("line 4")
                && e.contains("line 2"),
            "{e}"
        );
        let e = IdList::new(0, "a.csv", "id", vec!["".into()], vec![2])
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn blinding_commutes() {
        let mut rng = rand::rngs::OsRng;
        let (a, b) = (BlindingKey::random(&mut rng), BlindingKey::random(&mut rng));
        let h = [hash_to_group(b"P1")];
        assert_eq!(a.blind(&b.blind(&h)), b.blind(&a.blind(&h)));
        assert_ne!(hash_to_group(b"P1"), hash_to_group(b"P2"));
        assert_eq!(format!("{a:?}"), "BlindingKey(<redacted>)");
    }

    /// An id list shows its file and size, never an id.
    #[test]
    fn id_list_debug_is_redacted() {
        let ids = IdList::new(
            0,
            "ids.csv",
            "patient",
            vec!["P-73519".into(), "P-86420".into()],
            vec![2, 3],
        )
        .unwrap();
        let shown = format!("{ids:?}");
        assert!(
            shown.contains("<redacted>") && shown.contains("ids.csv"),
            "{shown}"
        );
        assert!(
            !shown.contains("73519") && !shown.contains("86420"),
            "{shown}"
        );
    }
}
