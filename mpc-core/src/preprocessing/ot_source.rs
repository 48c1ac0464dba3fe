//! The `ot` source: correlated randomness without a dealer, from oblivious transfer.
//!
//! Trust: semi-honest parties, any `n - 1` of the `n` may collude. Every party draws its own shares locally;
//! the only interaction is a pairwise two-party multiplication (Gilboa over SoftSpokenOT or IKNP OT
//! extension, [`crate::ot`]) for each cross term `x_i * y_j`, `i != j`. Each party is extension sender (with
//! its own `Delta`) towards every peer and extension receiver from every peer; [`OtSource::setup`] runs the
//! 128 base OTs of both directions with every peer at once (two flights, and a third for SoftSpokenOT's
//! GGM trees).
//!
//! - Triples: party `i` draws `a_i`, `b_i`; `c_i = a_i b_i + sum_j (its shares of a_i b_j and a_j b_i)`. The
//!   bits of `b_j` are the choice bits of party `j`'s OTs, `a_i` is party `i`'s correlation.
//! - Matrix triples `C = A B` (`A: m x k`, `B: k x n`): vector correlations, not scalar triples. If `n <= m`
//!   the elements of `B_j` are the choice elements and whole columns of `A_i` the correlations
//!   (`k n l` OTs carrying `m`-word vectors); otherwise the roles of `A` and `B` swap. A matrix-vector
//!   triple for `X (m x k)` times `w (k x 1)` costs `k l` OTs, not the `m k l` of scalar triples.
//! - Masks and mask triples (SecureML's reuse of `E = X - A`): each party keeps its share of the mask; a mask
//!   triple draws `B` and computes `C = A' B` for the sub-block `A'` like a matrix triple.
//! - Random shares: drawn locally, no communication.
//! - Truncation pairs, without a dealer and without communication: each party draws `r_i` uniform in
//!   `[0, 2^rho)` with `rho = l - 1 - ceil(log2 n)` ([`trunc_mask_bits`]) and holds `(r_i, r_i >> f)`. Then
//!   `r = sum r_i < 2^(l-1)` never wraps, and `sum (r_i >> f) = (r >> f) - e` with a carry error
//!   `0 <= e <= n - 1`. With [`crate::protocols::trunc::trunc`] (unchanged) and `|x| < 2^k`, the opened
//!   `x + 2^k + r` never wraps either, so truncation never fails; the result is `floor(x / 2^f) + d` with
//!   `0 <= d <= n` units in the last place (instead of the dealer's `d <= 1` with failure probability
//!   `2^(k+1-l)`). The price is statistical instead of perfect hiding: the honest party's `r_h` is uniform on
//!   `[0, 2^rho)`, so the opened value is within statistical distance `2^(k+1-rho)` of one independent of `x`,
//!   i.e. `sigma = rho - k - 1` bits ([`trunc_hiding_bits`]). For 40 bits take `k <= l - 42 - ceil(log2 n)`:
//!   `k <= 85` in Z128 for 2 parties, `k <= 84` for 3 or 4 (the default format's `k = 87` gives 38, 37 and 36
//!   bits for 2, 3-4 and 5-8 parties); in Z64 the default `k = 40` gives 21 bits for 2 parties. Here `r` is not
//!   uniform over the ring, unlike the dealer's pairs. These are per value: a run opens many, and their
//!   distances add up, so training truncates each value under the `k` of its own public bound (mpc-ml's
//!   `bounds` and `hiding`, which sum the run's distances against one parameter `sigma`).
//!
//! Communication per Z/2^l triple between two parties, each way: `l` OTs of extension (`u`: 8 bytes each
//! with the default SoftSpokenOT, 16 with IKNP, [`OtConfig::extension`]) plus `l (l + 1) / 16` bytes of
//! Gilboa corrections, i.e. 772 bytes for Z64 and 2,056 bytes for Z128 sent by each party per peer (1,284 and
//! 3,080 with IKNP; [`triple_bytes_per_peer`]); a batch rounds the OTs up to whole blocks of 128 and the
//! correction bits up to whole bytes. Two flights per batch.
//!
//! Rings: Z64 and Z128 ([`OtRing`]); `Fp` is not offered (Gilboa's bit decomposition as implemented here
//! needs a power-of-two modulus), so an `Fp` session keeps the dealer.
//!
//! A background [`OtSource::start_producer`] makes triples ahead on its own forked channel into a bounded
//! buffer while the online phase runs; [`OtSource::pregenerate`] makes everything a planned run needs up front
//! (a plan can be recorded from a dry run with [`Recorder`]) and reports its size. Requests announced with
//! [`Preprocessing::announce`] are made ahead: the mask triples on this party's task, the others on a second
//! engine running as a task of its own, so that both can use a core.
//!
//! A mask triple of an owned mask is pipelined: it is split into at least 4 batches, the parties without the
//! rows send every batch's extension message at once, and the owner answers them in order, so the owner
//! computes the next batch while the others finish the previous one.

use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use zeroize::Zeroizing;

use super::{
    MaskTriple, MaskUse, MatrixMask, MatrixTriple, Preprocessing, Squares, Triples, TruncPairs,
};
use crate::context::{Context, Stats};
use crate::error::{Error, Result};
use crate::net::PartyId;
use crate::ot::iknp::{self, Check, Extension, PairOt};
use crate::ot::{gilboa, OtRing};
use crate::ring::Ring;
use crate::share::{matmul_plain, Shared};

mod bits;
mod owned_ots;
use owned_ots::OwnedOts;

/// Options of the `ot` source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OtConfig {
    /// Run the KOS correlation check on every OT-extension batch (not needed for semi-honest security;
    /// only with [`Extension::Iknp`]).
    pub check: Check,
    /// How OT extension makes its columns: SoftSpokenOT with 2 bits per block by default (8 bytes per OT
    /// instead of IKNP's 16, for 1.5 times the sender's PRG work; with 4 bits, 4 bytes for 3.75 times the
    /// sender's and twice the receiver's, which cost more CPU than the bytes saved on loopback).
    pub extension: Extension,
    /// Upper bound on the OTs of one batch (one pair of flights). Small batches keep the OT matrices in
    /// the CPU cache (8,192 OTs: 128 KiB per matrix, fastest in memory and on a LAN); on a high-latency link
    /// raise it so that fewer round trips are needed.
    pub max_batch_ots: usize,
    /// Bits of each party's share of `B` in the mask triples of an owned mask
    /// ([`Preprocessing::owned_mask`]): the product's right operand `Y` is opened as `Y - B` and so hidden
    /// statistically, with about `owned_operand_bits - log2|Y|` bits (at most the ring's bits: then
    /// perfectly). The default 70 gives 40 bits for `|Y| < 2^30`, that is fixed-point values below 1,024 at
    /// 20 fractional bits (training's weights and truncated gradients); each bit less saves one OT per
    /// element of `B` and a share of the correction bytes. A run sizes it for its whole budget with
    /// [`Preprocessing::size_owned_hiding`].
    pub owned_operand_bits: u32,
    /// Largest owned mask, in OTs (its values times their bits plus one, times the other parties), whose
    /// owners choose with the bits of their values once, at [`Preprocessing::owned_mask`], and reuse those
    /// OTs in every mask triple with fresh pads (`owned_ots`): fewer bytes and no OT extension per triple
    /// (for breast cancer a quarter fewer bytes per training), and `B` uniform. Each OT keeps 16 bytes at both
    /// of its ends for the whole run; a larger mask makes its mask triples with `B` choosing instead
    /// ([`OtConfig::owned_operand_bits`]). The default, `2^22`, holds at most 64 MiB per party.
    pub reuse_owned_ots: usize,
    /// Statistical hiding of the short Gilboa pads of those larger masks' triples, where the owners' values
    /// are the correlations: pads of `value_bits + pad_hiding_bits` bits ([`gilboa::Bounds`]).
    pub pad_hiding_bits: u32,
}

impl OtConfig {
    /// Whether an owned mask of `m x k` values below `2^value_bits` among `parties` parties reuses its owners'
    /// OTs ([`OtConfig::reuse_owned_ots`]; `B` then uniform) in a ring of `ring_bits` bits, instead of making
    /// its triples with bounded `B` and short pads.
    pub fn reuses_owned_ots(
        &self,
        m: usize,
        k: usize,
        value_bits: u32,
        parties: usize,
        ring_bits: u32,
    ) -> bool {
        // Signed values below 2^value_bits: value_bits + 1 bits of two's complement.
        let bits = (value_bits + 1).min(ring_bits);
        OwnedOts::fits(m, k, bits, parties, self.reuse_owned_ots)
    }
}

impl Default for OtConfig {
    fn default() -> Self {
        OtConfig {
            check: Check::None,
            extension: Extension::SoftSpoken(2),
            max_batch_ots: 1 << 13,
            owned_operand_bits: 70,
            reuse_owned_ots: 1 << 22,
            pad_hiding_bits: gilboa::PAD_HIDING_BITS,
        }
    }
}

/// Bits of each party's truncation mask `r_i` in a ring of `l` bits with `parties` parties.
pub fn trunc_mask_bits(l: u32, parties: usize) -> u32 {
    let log_n = usize::BITS - (parties.max(1) - 1).leading_zeros();
    l.saturating_sub(1 + log_n)
}

/// Statistical hiding (in bits) of truncation with the `ot` source's pairs for values below `2^bound_bits`.
pub fn trunc_hiding_bits(l: u32, parties: usize, bound_bits: u32) -> i64 {
    trunc_mask_bits(l, parties) as i64 - bound_bits as i64 - 1
}

/// Bytes one party sends one peer per Z/2^l triple (OT extension `u` plus Gilboa corrections) with
/// `extension`, without per-batch rounding and without the optional check.
pub fn triple_bytes_per_peer(l: usize, extension: Extension) -> f64 {
    l as f64 * extension.bytes_per_ot() + (l * (l + 1)) as f64 / 16.0
}

/// A request to a preprocessing source, as a plan for [`OtSource::pregenerate`]. Mask ids are the order in
/// which masks are made (the first mask of a run is 0).
pub type OtRequest = super::Request;

/// What [`OtSource::pregenerate`] made and what it cost this party.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PregenReport {
    /// Requests prepared.
    pub requests: usize,
    /// Beaver triples.
    pub triples: usize,
    /// Matrix and mask triples.
    pub matrix_triples: usize,
    /// Elements of those matrix and mask triples' `C`.
    pub matrix_triple_outputs: usize,
    /// Truncation pairs.
    pub trunc_pairs: usize,
    /// Random shared elements (in masks and random requests).
    pub random_elements: usize,
    /// Square pairs (with or without products).
    pub squares: usize,
    /// AND triples on bits.
    pub bit_triples: usize,
    /// daBits.
    pub dabits: usize,
    /// Traffic of this party while generating.
    pub traffic: Stats,
    /// Wall-clock time.
    pub elapsed: Duration,
}

enum Prepared<R: Ring> {
    Triples(Triples<R>),
    MatrixTriple(MatrixTriple<R>),
    MatrixMask(MatrixMask<R>),
    MaskTriple(MaskTriple<R>),
    Trunc(TruncPairs<R>),
    Random(Shared<R>),
    Squares(Squares<R>),
    BitTriples(super::BitTriples),
    DaBits(super::DaBits<R>),
}

/// The OT machinery of one party: its own channel and both OT-extension directions with every peer.
struct Engine {
    ctx: Context,
    pairs: Vec<Option<PairOt>>,
    config: OtConfig,
}

impl Engine {
    async fn setup(mut ctx: Context, config: OtConfig) -> Result<Self> {
        if config.max_batch_ots < 128 {
            return Err(Error::InvalidArgument(format!(
                "batches of {} OTs: at least 128 are needed",
                config.max_batch_ots
            )));
        }
        config.extension.check_with(config.check)?;
        let pairs = iknp::setup(&mut ctx, config.extension).await?;
        Ok(Engine { ctx, pairs, config })
    }

    /// A second engine on `ctx` (a channel forked at the same point by every party) whose OT extensions
    /// continue this one's independently ([`iknp::PairOt::split`]): no base OTs, no messages.
    fn split(&mut self, ctx: Context) -> Engine {
        Engine {
            ctx,
            pairs: self
                .pairs
                .iter_mut()
                .map(|p| p.as_mut().map(|p| p.split()))
                .collect(),
            config: self.config,
        }
    }

    /// This party's shares of `sum_{i != j} x_i (outer) y_j` over all ordered pairs of parties: for every
    /// choice element `e`, the `w`-word vector `x_i[e] * y_j[e]`.
    async fn cross<R: OtRing>(&mut self, x: &[R], w: usize, y: &[R]) -> Result<Zeroizing<Vec<R>>> {
        self.cross_pairs(x, w, y, false, R::BITS as usize).await
    }

    /// [`Engine::cross`] with every `y` below `2^cb` (`cb` OTs per element); with `half`, only the pairs
    /// `i < j` (party `i` chooses with `y_i`, party `j` sends `x_j`): the shares of `sum_{i < j} x_j y_i`,
    /// in one OT direction per pair.
    async fn cross_pairs<R: OtRing>(
        &mut self,
        x: &[R],
        w: usize,
        y: &[R],
        half: bool,
        cb: usize,
    ) -> Result<Zeroizing<Vec<R>>> {
        let l = R::BITS as usize;
        let elements = y.len();
        if x.len() != elements * w {
            return Err(Error::Shape(format!(
                "{} correlation words for {elements} elements of {w}",
                x.len()
            )));
        }
        let mut acc = Zeroizing::new(vec![R::ZERO; elements * w]);
        if elements == 0 || w == 0 {
            return Ok(acc);
        }
        // Bound OTs and correction bytes of one batch.
        let cb = cb.clamp(1, l);
        let bounds = gilboa::Bounds::choices(cb);
        let by_ots = self.config.max_batch_ots / cb;
        let by_bytes =
            MAX_BATCH_CORRECTION_BYTES / gilboa::message_len_bounded(1, w, l, bounds).max(1);
        let per_batch = by_ots.min(by_bytes).max(1);
        let me = self.ctx.id();
        let peers: Vec<PartyId> = self.ctx.peers().collect();
        // The peers this party chooses against, and those it sends to.
        let choosing: Vec<PartyId> = peers.iter().copied().filter(|&p| !half || me < p).collect();
        let sending: Vec<PartyId> = peers.iter().copied().filter(|&p| !half || p < me).collect();
        let check = self.config.check;
        let mut start = 0;
        while start < elements {
            let end = (start + per_batch).min(elements);
            let (xs, ys) = (&x[start * w..end * w], &y[start..end]);
            let choices = gilboa::choice_blocks_bounded(ys, cb);
            let blocks = choices.len();
            let Engine { ctx, pairs, .. } = &mut *self;
            // Flight 1: as extension receiver from every peer, send u.
            let mut ts = Vec::with_capacity(choosing.len());
            for &p in &choosing {
                let pair = pairs[p].as_mut().ok_or_else(missing_peer)?;
                let (msg, t) = pair.receiver.extend(&choices, check, ctx.rng());
                ctx.send_bytes(p, msg).await?;
                ts.push(t);
            }
            // Flight 2: as extension sender to every peer, answer with the Gilboa corrections.
            for &p in &sending {
                let pair = pairs[p].as_mut().ok_or_else(missing_peer)?;
                let q = ctx
                    .recv_checked(p, |b| pair.sender.extend(blocks, b, check))
                    .await?;
                let (msg, share) = if cb == l {
                    gilboa::send(&q, pair.sender.delta(), xs, w)
                } else {
                    gilboa::send_bounded(&q, pair.sender.delta(), xs, w, bounds)
                };
                add_into(&mut acc[start * w..end * w], &share);
                ctx.send_bytes(p, msg).await?;
            }
            for (&p, t) in choosing.iter().zip(&ts) {
                let share = ctx
                    .recv_checked(p, |b| {
                        if cb == l {
                            gilboa::receive(t, ys, w, b)
                        } else {
                            gilboa::receive_bounded(t, ys, w, bounds, b)
                        }
                    })
                    .await?;
                add_into(&mut acc[start * w..end * w], &share);
            }
            start = end;
        }
        Ok(acc)
    }

    /// [`Engine::cross`] over every ordered pair, or, with `owner`, only the pairs where the owner holds the
    /// correlations `x` (every other party's `x` is zero, so its cross terms vanish): the owner's shares of
    /// `x_owner (outer) y_j` for every other `j`, in one OT direction per pair.
    ///
    /// With an owner, the choice elements `y` and the owner's `x` are within `bounds` (see
    /// [`gilboa::Bounds`]).
    async fn cross_by<R: OtRing>(
        &mut self,
        owner: Option<PartyId>,
        x: &[R],
        w: usize,
        y: &[R],
        bounds: gilboa::Bounds,
    ) -> Result<Zeroizing<Vec<R>>> {
        let Some(owner) = owner else {
            return self.cross(x, w, y).await;
        };
        let l = R::BITS as usize;
        let elements = y.len();
        if x.len() != elements * w {
            return Err(Error::Shape(format!(
                "{} correlation words for {elements} elements of {w}",
                x.len()
            )));
        }
        let mut acc = Zeroizing::new(vec![R::ZERO; elements * w]);
        if elements == 0 || w == 0 || owner >= self.ctx.parties() {
            return Ok(acc);
        }
        let cb = bounds.choice_bits.clamp(1, l);
        let bounds = gilboa::Bounds {
            choice_bits: cb,
            ..bounds
        };
        let by_ots = self.config.max_batch_ots / cb;
        let by_bytes =
            MAX_BATCH_CORRECTION_BYTES / gilboa::message_len_bounded(1, w, l, bounds).max(1);
        // At least PIPELINE_BATCHES batches where each still has PIPELINE_MIN_OTS OTs, so that the others
        // work on one batch while the owner computes the next.
        let pipelined = elements
            .div_ceil(PIPELINE_BATCHES)
            .max(PIPELINE_MIN_OTS.div_ceil(cb));
        let per_batch = by_ots.min(by_bytes).min(pipelined).max(1);
        let batches: Vec<(usize, usize)> = (0..elements)
            .step_by(per_batch)
            .map(|start| (start, (start + per_batch).min(elements)))
            .collect();
        let peers: Vec<PartyId> = self.ctx.peers().collect();
        let me = self.ctx.id();
        let check = self.config.check;
        let Engine { ctx, pairs, .. } = &mut *self;
        if me == owner {
            // Each batch's extension message is already on its way: answer them in order.
            for &(start, end) in &batches {
                let blocks = ((end - start) * cb).div_ceil(128);
                let xs = &x[start * w..end * w];
                for &p in &peers {
                    let pair = pairs[p].as_mut().ok_or_else(missing_peer)?;
                    let q = ctx
                        .recv_checked(p, |b| pair.sender.extend(blocks, b, check))
                        .await?;
                    let (msg, share) = gilboa::send_bounded(&q, pair.sender.delta(), xs, w, bounds);
                    add_into(&mut acc[start * w..end * w], &share);
                    ctx.send_bytes(p, msg).await?;
                }
            }
        } else {
            // Every batch's extension first (one flight), then the owner's answers as they come.
            let pair = pairs[owner].as_mut().ok_or_else(missing_peer)?;
            let mut outputs = Vec::with_capacity(batches.len());
            for &(start, end) in &batches {
                let choices = gilboa::choice_blocks_bounded(&y[start..end], cb);
                let (msg, t) = pair.receiver.extend(&choices, check, ctx.rng());
                ctx.send_bytes(owner, msg).await?;
                outputs.push(t);
            }
            for (&(start, end), t) in batches.iter().zip(&outputs) {
                let ys = &y[start..end];
                let share = ctx
                    .recv_checked(owner, |b| gilboa::receive_bounded(t, ys, w, bounds, b))
                    .await?;
                add_into(&mut acc[start * w..end * w], &share);
            }
        }
        Ok(acc)
    }

    /// Triples; with `a_bits`, each party's share of `a` is drawn below `2^a_bits` and is the choice
    /// element of every pair's OTs (`a_bits` OTs each way instead of the ring's bits).
    async fn triples<R: OtRing>(
        &mut self,
        count: usize,
        a_bits: Option<u32>,
    ) -> Result<Triples<R>> {
        let cb = a_bits.map_or(R::BITS, |bits| bits.clamp(1, R::BITS));
        let a = short_random::<R>(self.ctx.rng(), count, cb);
        let b = R::random_vec(self.ctx.rng(), count);
        let cross = if cb < R::BITS {
            // sum_{i != j} b_j a_i: the same cross terms, with the short `a` choosing.
            self.cross_pairs(&b, 1, &a, false, cb as usize).await?
        } else {
            self.cross(&a, 1, &b).await?
        };
        let c = a
            .iter()
            .zip(&b)
            .zip(cross.iter())
            .map(|((&a, &b), &s)| a * b + s)
            .collect();
        Triples::from_shares(a, b, c)
    }

    /// Square pairs `(a, a^2)`, with `products` also `(b, a b)`: with products, one OT per bit of `a` carries
    /// both `a_j` and `b_j` (every ordered pair); without, only the pairs `i < j` run and the cross terms are
    /// doubled (`sum_{i != j} a_i a_j = 2 sum_{i < j} a_i a_j`).
    async fn squares<R: OtRing>(
        &mut self,
        count: usize,
        products: bool,
        mask_bits: u32,
    ) -> Result<Squares<R>> {
        let cb = mask_bits.clamp(1, R::BITS);
        let a = short_random::<R>(self.ctx.rng(), count, cb);
        let cb = cb as usize;
        if !products {
            let cross = self.cross_pairs(&a, 1, &a, true, cb).await?;
            let s = a
                .iter()
                .zip(cross.iter())
                .map(|(&a, &x)| a * a + x + x)
                .collect();
            return Squares::from_shares(a, s, Vec::new(), Vec::new());
        }
        let b = R::random_vec(self.ctx.rng(), count);
        let x: Zeroizing<Vec<R>> =
            Zeroizing::new(a.iter().zip(&b).flat_map(|(&a, &b)| [a, b]).collect());
        let cross = self.cross_pairs(&x, 2, &a, false, cb).await?;
        let (mut s, mut c) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for ((&a, &b), x) in a.iter().zip(&b).zip(cross.chunks_exact(2)) {
            s.push(a * a + x[0]);
            c.push(a * b + x[1]);
        }
        Squares::from_shares(a, s, b, c)
    }

    /// This party's share of `C = A B` given its shares `a` (`m x k`) and `b` (`k x n`); with `owner`
    /// `(party, bounds)`, only that party's `a` is nonzero, and the shares of `b` and the owner's `a` are
    /// within `bounds` (see [`Engine::cross_by`]).
    async fn matrix_product<R: OtRing>(
        &mut self,
        owner: Option<(PartyId, gilboa::Bounds)>,
        a: &[R],
        b: &[R],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<R>> {
        // Wiped if a peer's failure ends this early; handed out whole otherwise.
        let mut c = Zeroizing::new(matmul_plain(a, b, m, k, n));
        if n <= m {
            // Choice elements: B[t][col]; correlation: column t of A (m words).
            let mut x = Zeroizing::new(Vec::with_capacity(k * n * m));
            for t in 0..k {
                for _ in 0..n {
                    x.extend((0..m).map(|r| a[r * k + t]));
                }
            }
            let (who, bounds) = match owner {
                Some((p, bounds)) => (Some(p), bounds),
                None => (None, gilboa::Bounds::choices(R::BITS as usize)),
            };
            let out = self.cross_by(who, &x, m, b, bounds).await?;
            for t in 0..k {
                for col in 0..n {
                    let v = &out[(t * n + col) * m..(t * n + col + 1) * m];
                    for (r, &v) in v.iter().enumerate() {
                        c[r * n + col] += v;
                    }
                }
            }
        } else {
            // Choice elements: A[r][t]; correlation: row t of B (n words).
            let mut x = Zeroizing::new(Vec::with_capacity(m * k * n));
            for _ in 0..m {
                for t in 0..k {
                    x.extend_from_slice(&b[t * n..(t + 1) * n]);
                }
            }
            // The choices here are `A`'s: an owner would be the receiver, so every pair runs (zeros add nothing).
            let out = self
                .cross_by(None, &x, n, a, gilboa::Bounds::choices(R::BITS as usize))
                .await?;
            for r in 0..m {
                for t in 0..k {
                    let v = &out[(r * k + t) * n..(r * k + t + 1) * n];
                    add_into(&mut c[r * n..(r + 1) * n], v);
                }
            }
        }
        Ok(std::mem::take(&mut *c))
    }
}

/// The `(owner, rows)` segments of rows `start..end`, from segments covering rows from 0.
fn segments_within(owners: &[(PartyId, usize)], start: usize, end: usize) -> Vec<(PartyId, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(p, len) in owners {
        let (lo, hi) = (at.max(start), (at + len).min(end));
        if lo < hi {
            out.push((p, hi - lo));
        }
        at += len;
    }
    out
}

fn missing_peer() -> Error {
    Error::Preprocessing("internal: no OT extension with a peer".into())
}

/// `count` random elements below `2^bits` (uniform over the ring if `bits` is the ring's).
fn short_random<R: OtRing>(rng: &mut impl rand_core::RngCore, count: usize, bits: u32) -> Vec<R> {
    let mut v = R::random_vec(rng, count);
    if bits < R::BITS {
        let keep = (1u128 << bits) - 1;
        v.iter_mut()
            .for_each(|x| *x = R::from_i128((x.to_u128() & keep) as i128));
    }
    v
}

fn add_into<R: Ring>(acc: &mut [R], x: &[R]) {
    acc.iter_mut().zip(x).for_each(|(a, &b)| *a += b);
}

/// Batches an owned product is split into, at least, so that its parties work in parallel (see
/// [`Engine::cross_by`]), unless that would leave a batch with fewer than [`PIPELINE_MIN_OTS`] OTs.
const PIPELINE_BATCHES: usize = 4;
const PIPELINE_MIN_OTS: usize = 512;

/// Upper bound on the Gilboa corrections of one batch (for wide vector correlations).
const MAX_BATCH_CORRECTION_BYTES: usize = 1 << 22;

/// Upper bound on the elements of one request, as for the dealer.
const MAX_REQUEST_ELEMENTS: usize = 1 << 28;

fn check_size(what: &str, elems: Option<usize>) -> Result<()> {
    match elems {
        Some(e) if e <= MAX_REQUEST_ELEMENTS => Ok(()),
        _ => Err(Error::InvalidArgument(format!("{what} is too large"))),
    }
}

/// The `ot` preprocessing source of one party. Create it with [`OtSource::setup`] (every party at the same
/// point of the session, since it forks the context).
pub struct OtSource<R: OtRing> {
    engine: Engine,
    /// A second engine on its own channel ([`Engine::split`]): announced mask triples and the other
    /// requests are made concurrently, one on each ([`Preprocessing::announce`]).
    /// `None` only while a [`OtSource::make_ahead`] has it on another task.
    side: Option<Engine>,
    tables: Tables<R>,
    next_mask: u64,
    planned: VecDeque<(OtRequest, Prepared<R>)>,
    producer: Option<Producer<R>>,
    _ring: PhantomData<R>,
}

/// The masks made so far, by id.
struct Tables<R: Ring> {
    masks: HashMap<u64, (usize, usize, Zeroizing<Vec<R>>)>,
    /// Row owners of the masks made by [`Preprocessing::owned_mask`]: `(party, rows)` segments, and the
    /// public bound on the values' magnitude (bits).
    owners: HashMap<u64, (Vec<(PartyId, usize)>, u32)>,
    /// The OTs of the owned masks whose mask triples reuse them ([`OtConfig::reuse_owned_ots`]).
    reused: HashMap<u64, OwnedOts>,
}

impl<R: Ring> Tables<R> {
    fn new() -> Self {
        Tables {
            masks: HashMap::new(),
            owners: HashMap::new(),
            reused: HashMap::new(),
        }
    }
}

impl<R: OtRing> std::fmt::Debug for OtSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtSource")
            .field("party", &self.engine.ctx.id())
            .field("ring", &R::NAME)
            .field("config", &self.engine.config)
            .field("planned", &self.planned.len())
            .finish_non_exhaustive()
    }
}

impl<R: OtRing> OtSource<R> {
    /// Forks a channel from `ctx` and runs the base OTs with every peer (both directions).
    pub async fn setup(ctx: &mut Context) -> Result<Self> {
        Self::setup_with(ctx, OtConfig::default()).await
    }

    /// [`OtSource::setup`] with options.
    pub async fn setup_with(ctx: &mut Context, config: OtConfig) -> Result<Self> {
        let mut engine = Engine::setup(ctx.fork(), config).await?;
        let side = engine.split(ctx.fork());
        Ok(OtSource {
            engine,
            side: Some(side),
            tables: Tables::new(),
            next_mask: 0,
            planned: VecDeque::new(),
            producer: None,
            _ring: PhantomData,
        })
    }

    /// The traffic counters of the session (shared with the context the source was made from).
    pub fn stats(&self) -> Stats {
        self.engine.ctx.stats()
    }

    /// Starts a background producer of triples on its own forked channel (with its own base OTs): it makes
    /// batches of `batch` triples and keeps at most `capacity` batches ready. From then on [`triples`]
    /// requests are served from its buffer, so the online phase waits only when it runs ahead of it. Every
    /// party must call this at the same point, with the same arguments.
    ///
    /// [`triples`]: Preprocessing::triples
    pub async fn start_producer(&mut self, batch: usize, capacity: usize) -> Result<()> {
        if batch == 0 || capacity == 0 {
            return Err(Error::InvalidArgument(
                "a producer needs a batch size and a capacity of at least 1".into(),
            ));
        }
        if self.producer.is_some() {
            return Err(Error::InvalidArgument(
                "the producer is already running".into(),
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::InvalidArgument("the background producer needs a tokio runtime".into())
        })?;
        let ctx = self.engine.ctx.fork();
        let config = self.engine.config;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Triples<R>>>(capacity);
        let handle = runtime.spawn(async move {
            let mut engine = match Engine::setup(ctx, config).await {
                Ok(e) => e,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            loop {
                let item = engine.triples::<R>(batch, None).await;
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        self.producer = Some(Producer {
            rx,
            handle,
            leftover: None,
        });
        Ok(())
    }

    /// Makes every item of `plan` now, in order; later requests must follow the plan exactly and are served
    /// from what was made. Returns what was made and this party's traffic for it.
    pub async fn pregenerate(&mut self, plan: &[OtRequest]) -> Result<PregenReport> {
        let before = self.engine.ctx.stats();
        let started = Instant::now();
        let mut report = PregenReport::default();
        for req in plan {
            let item = self.make(req).await?;
            match &item {
                Prepared::Triples(t) => report.triples += t.len(),
                Prepared::MatrixTriple(t) => {
                    report.matrix_triples += 1;
                    report.matrix_triple_outputs += t.c.len();
                }
                Prepared::MaskTriple(t) => {
                    report.matrix_triples += 1;
                    report.matrix_triple_outputs += t.c.len();
                }
                Prepared::MatrixMask(mk) => report.random_elements += mk.a.len(),
                Prepared::Trunc(t) => report.trunc_pairs += t.len(),
                Prepared::Random(r) => report.random_elements += r.len(),
                Prepared::Squares(t) => report.squares += t.len(),
                Prepared::BitTriples(t) => report.bit_triples += t.words() * super::LANES,
                Prepared::DaBits(t) => report.dabits += t.len(),
            }
            report.requests += 1;
            self.planned.push_back((req.clone(), item));
        }
        report.traffic = self.engine.ctx.stats().since(&before);
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Items made by [`OtSource::pregenerate`] and not yet used.
    pub fn planned_remaining(&self) -> usize {
        self.planned.len()
    }

    async fn make(&mut self, req: &OtRequest) -> Result<Prepared<R>> {
        if let OtRequest::MatrixMask { m, k } = *req {
            check_size("a mask", m.checked_mul(k))?;
            let a = R::random_vec(self.engine.ctx.rng(), m * k);
            let id = self.next_mask;
            self.next_mask += 1;
            self.tables
                .masks
                .insert(id, (m, k, Zeroizing::new(a.clone())));
            return Ok(Prepared::MatrixMask(MatrixMask::from_share(id, m, k, a)?));
        }
        make_on(&mut self.engine, &mut self.tables, req).await
    }
}

/// `C` for a block of an owned mask (`sub` as the block is used: `rows x k`, or `k x rows` transposed),
/// one owner segment at a time, each with cross terms between its owner and the others only.
#[allow(clippy::too_many_arguments)]
async fn owned_product<R: OtRing>(
    engine: &mut Engine,
    segments: &[(PartyId, usize)],
    value_bits: u32,
    sub: &[R],
    b: &[R],
    k: usize,
    n: usize,
    transpose: bool,
) -> Result<Vec<R>> {
    let rows: usize = segments.iter().map(|s| s.1).sum();
    let cb = gilboa::Bounds {
        choice_bits: engine.config.owned_operand_bits as usize,
        value_bits: Some(value_bits),
        pad_hiding_bits: engine.config.pad_hiding_bits,
    };
    let mut c = Zeroizing::new(vec![R::ZERO; if transpose { k * n } else { rows * n }]);
    let mut r0 = 0;
    for &(owner, len) in segments {
        let range = r0..r0 + len;
        if transpose {
            // A_seg^T (k x len) times B_seg (len x n), summed over segments.
            let seg: Zeroizing<Vec<R>> = Zeroizing::new(
                (0..k)
                    .flat_map(|col| range.clone().map(move |r| sub[col * rows + r]))
                    .collect(),
            );
            let part = engine
                .matrix_product(
                    Some((owner, cb)),
                    &seg,
                    &b[r0 * n..(r0 + len) * n],
                    k,
                    len,
                    n,
                )
                .await
                .map(Zeroizing::new)?;
            add_into(&mut c, &part);
        } else {
            let part = engine
                .matrix_product(
                    Some((owner, cb)),
                    &sub[r0 * k..(r0 + len) * k],
                    b,
                    len,
                    k,
                    n,
                )
                .await
                .map(Zeroizing::new)?;
            c[r0 * n..(r0 + len) * n].copy_from_slice(&part);
        }
        r0 += len;
    }
    Ok(std::mem::take(&mut *c))
}

/// Makes one item on `engine` (any request but a new mask, which [`OtSource::make`] makes).
async fn make_on<R: OtRing>(
    engine: &mut Engine,
    tables: &mut Tables<R>,
    req: &OtRequest,
) -> Result<Prepared<R>> {
    Ok(match *req {
        OtRequest::Triples { count, a_bits } => {
            check_size("a triple request", count.checked_mul(3))?;
            Prepared::Triples(engine.triples(count, a_bits).await?)
        }
        OtRequest::MatrixTriple { m, k, n } => {
            check_size(
                "a matrix triple",
                m.checked_mul(k)
                    .and_then(|mk| mk.checked_mul(n))
                    .and_then(|x| x.checked_add(m.checked_mul(k)?))
                    .and_then(|x| x.checked_add(k.checked_mul(n)?)),
            )?;
            let a = R::random_vec(engine.ctx.rng(), m * k);
            let b = R::random_vec(engine.ctx.rng(), k * n);
            let c = engine.matrix_product(None, &a, &b, m, k, n).await?;
            Prepared::MatrixTriple(MatrixTriple::from_shares(m, k, n, a, b, c)?)
        }
        OtRequest::MatrixMask { .. } => return Err(super::wrong_item()),
        OtRequest::MaskTriple { mask, ref using } => {
            let (m, k, a) = tables
                .masks
                .get(&mask)
                .ok_or_else(|| Error::Preprocessing(format!("no mask {mask}")))?;
            let (m, k) = (*m, *k);
            if using.row_start > using.row_end || using.row_end > m {
                return Err(Error::Preprocessing(format!(
                    "rows {}..{} of a mask of {m} rows",
                    using.row_start, using.row_end
                )));
            }
            let rows = using.row_end - using.row_start;
            let n = using.cols;
            let (mm, kk) = if using.transpose {
                (k, rows)
            } else {
                (rows, k)
            };
            check_size(
                "a mask triple",
                mm.checked_mul(kk)
                    .and_then(|x| x.checked_mul(n))
                    .and_then(|x| x.checked_add(kk.checked_mul(n)?)),
            )?;
            let block = &a[using.row_start * k..using.row_end * k];
            let sub: Zeroizing<Vec<R>> = Zeroizing::new(if using.transpose {
                (0..k)
                    .flat_map(|c| (0..rows).map(move |r| block[r * k + c]))
                    .collect()
            } else {
                block.to_vec()
            });
            let (b, c) = if let Some(ots) = tables.reused.get_mut(&mask) {
                // The owners' OTs are reused: `B` uniform, the owners' values choose.
                let b = R::random_vec(engine.ctx.rng(), kk * n);
                let mut c = matmul_plain(&sub, &b, mm, kk, n);
                ots.add_cross(engine, a, using, &b, &mut c).await?;
                (b, c)
            } else if let Some((owners, value_bits)) = tables.owners.get(&mask) {
                // B hides the right operand statistically (see `OtConfig::owned_operand_bits`).
                let bits = engine.config.owned_operand_bits;
                let b = short_random::<R>(engine.ctx.rng(), kk * n, bits.min(R::BITS));
                let segments = segments_within(owners, using.row_start, using.row_end);
                let c = owned_product(
                    engine,
                    &segments,
                    *value_bits,
                    &sub,
                    &b,
                    k,
                    n,
                    using.transpose,
                )
                .await?;
                (b, c)
            } else {
                let b = R::random_vec(engine.ctx.rng(), kk * n);
                let c = engine.matrix_product(None, &sub, &b, mm, kk, n).await?;
                (b, c)
            };
            Prepared::MaskTriple(MaskTriple::from_shares(mask, b, c))
        }
        OtRequest::Trunc { count, frac_bits } => {
            check_size("a truncation request", count.checked_mul(2))?;
            let parties = engine.ctx.parties();
            let rho = trunc_mask_bits(R::BITS, parties);
            if frac_bits >= rho {
                return Err(Error::Preprocessing(format!(
                    "a shift of {frac_bits} bits with {rho}-bit masks in {}",
                    R::NAME
                )));
            }
            let keep = (1u128 << rho) - 1;
            let mut r = R::random_vec(engine.ctx.rng(), count);
            r.iter_mut()
                .for_each(|x| *x = R::from_i128((x.to_u128() & keep) as i128));
            let shifted = r.iter().map(|x| x.shr_logical(frac_bits)).collect();
            Prepared::Trunc(TruncPairs::from_shares(frac_bits, r, shifted)?)
        }
        OtRequest::Squares {
            count,
            products,
            mask_bits,
        } => {
            check_size("a square request", count.checked_mul(4))?;
            Prepared::Squares(engine.squares(count, products, mask_bits).await?)
        }
        OtRequest::BitTriples { words } => {
            check_size("a bit triple request", words.checked_mul(3 * super::LANES))?;
            Prepared::BitTriples(engine.bit_triples(words).await?)
        }
        OtRequest::DaBits { count } => {
            check_size("a daBit request", count.checked_mul(2))?;
            Prepared::DaBits(engine.dabits(count).await?)
        }
        OtRequest::Random { count } => {
            check_size("a random request", Some(count))?;
            Prepared::Random(Shared::from_share(R::random_vec(engine.ctx.rng(), count)))
        }
    })
}

impl<R: OtRing> OtSource<R> {
    /// Makes the announced `upcoming` requests ahead, the mask triples on one engine and the others on
    /// the second, as a task of its own so that the two can run on two cores: while one waits for a peer
    /// (a mask triple's row owner does most of its work), the other computes. Nothing is made if a plan is
    /// already pending, a producer runs, a new mask is among them (later mask triples would need it
    /// first), or only one kind is there.
    async fn make_ahead(&mut self, upcoming: &[OtRequest]) -> Result<()> {
        let is_mask = |r: &OtRequest| matches!(r, OtRequest::MaskTriple { .. });
        if !self.planned.is_empty()
            || self.producer.is_some()
            || upcoming
                .iter()
                .any(|r| matches!(r, OtRequest::MatrixMask { .. }))
            || !upcoming.iter().any(is_mask)
            || upcoming.iter().all(is_mask)
        {
            return Ok(());
        }
        // The other requests run on the second engine as a task of their own, so that the runtime can put
        // them on another core while this task works on the mask triples (or waits for their owner).
        let mut side = self
            .side
            .take()
            .ok_or_else(|| Error::Preprocessing("internal: the second OT engine is busy".into()))?;
        let requests: Vec<OtRequest> = upcoming.iter().filter(|r| !is_mask(r)).cloned().collect();
        let others = tokio::spawn(async move {
            // Only mask triples read the tables.
            let mut none = Tables::new();
            let mut out = Vec::with_capacity(requests.len());
            for r in &requests {
                match make_on(&mut side, &mut none, r).await {
                    Ok(item) => out.push(item),
                    Err(e) => return (side, Err(e)),
                }
            }
            (side, Ok(out))
        });
        let (engine, tables) = (&mut self.engine, &mut self.tables);
        let mut masks = Vec::new();
        for r in upcoming.iter().filter(|r| is_mask(r)) {
            match make_on(engine, tables, r).await {
                Ok(item) => masks.push(item),
                Err(e) => {
                    others.abort();
                    return Err(e);
                }
            }
        }
        let (side, others) = others
            .await
            .map_err(|e| Error::Preprocessing(format!("the second OT engine failed: {e}")))?;
        self.side = Some(side);
        let others = others?;
        let (mut masks, mut others) = (masks.into_iter(), others.into_iter());
        for r in upcoming {
            let item = if is_mask(r) {
                masks.next()
            } else {
                others.next()
            };
            self.planned
                .push_back((r.clone(), item.ok_or_else(super::wrong_item)?));
        }
        Ok(())
    }

    /// Serves one request: from the plan if there is one, else triples from the producer if it runs, else now.
    async fn next(&mut self, req: OtRequest) -> Result<Prepared<R>> {
        if let Some((planned, _)) = self.planned.front() {
            if *planned != req {
                return Err(Error::Preprocessing(format!(
                    "request {req:?} does not follow the plan, which expects {planned:?}"
                )));
            }
            let (_, item) = self.planned.pop_front().expect("front exists");
            return Ok(item);
        }
        if let (
            OtRequest::Triples {
                count,
                a_bits: None,
            },
            Some(p),
        ) = (&req, self.producer.as_mut())
        {
            return Ok(Prepared::Triples(p.take(*count).await?));
        }
        self.make(&req).await
    }
}

/// The background producer's end of the buffer.
struct Producer<R: Ring> {
    rx: tokio::sync::mpsc::Receiver<Result<Triples<R>>>,
    handle: tokio::task::JoinHandle<()>,
    leftover: Option<Triples<R>>,
}

impl<R: Ring> Producer<R> {
    async fn take(&mut self, count: usize) -> Result<Triples<R>> {
        let (mut a, mut b, mut c) = (
            Zeroizing::new(Vec::with_capacity(count)),
            Zeroizing::new(Vec::with_capacity(count)),
            Zeroizing::new(Vec::with_capacity(count)),
        );
        while a.len() < count {
            let mut batch = match self.leftover.take() {
                Some(t) => t,
                None => match self.rx.recv().await {
                    Some(t) => t?,
                    None => {
                        return Err(Error::Preprocessing(
                            "the background producer stopped".into(),
                        ))
                    }
                },
            };
            let need = count - a.len();
            if batch.len() > need {
                self.leftover = Some(batch.split_off(need)?);
            }
            let (ba, bb, bc) = batch.into_shares();
            let (ba, bb, bc) = (
                Zeroizing::new(ba.into_share_values()),
                Zeroizing::new(bb.into_share_values()),
                Zeroizing::new(bc.into_share_values()),
            );
            a.extend_from_slice(&ba);
            b.extend_from_slice(&bb);
            c.extend_from_slice(&bc);
        }
        let take = |v: &mut Zeroizing<Vec<R>>| std::mem::take(&mut **v);
        Triples::from_shares(take(&mut a), take(&mut b), take(&mut c))
    }
}

impl<R: Ring> Drop for Producer<R> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

macro_rules! expect_item {
    ($e:expr, $variant:ident) => {
        match $e {
            Prepared::$variant(x) => Ok(x),
            _ => Err(super::wrong_item()),
        }
    };
}

#[async_trait]
impl<R: OtRing> Preprocessing<R> for OtSource<R> {
    fn name(&self) -> &'static str {
        "ot"
    }

    async fn triples(&mut self, _ctx: &mut Context, count: usize) -> Result<Triples<R>> {
        let a_bits = None;
        expect_item!(
            self.next(OtRequest::Triples { count, a_bits }).await?,
            Triples
        )
    }

    async fn triples_bounded(
        &mut self,
        _ctx: &mut Context,
        count: usize,
        a_bits: u32,
    ) -> Result<Triples<R>> {
        let a_bits = Some(a_bits);
        expect_item!(
            self.next(OtRequest::Triples { count, a_bits }).await?,
            Triples
        )
    }

    async fn matrix_triple(
        &mut self,
        _ctx: &mut Context,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<MatrixTriple<R>> {
        expect_item!(
            self.next(OtRequest::MatrixTriple { m, k, n }).await?,
            MatrixTriple
        )
    }

    async fn matrix_mask(
        &mut self,
        _ctx: &mut Context,
        m: usize,
        k: usize,
    ) -> Result<MatrixMask<R>> {
        expect_item!(self.next(OtRequest::MatrixMask { m, k }).await?, MatrixMask)
    }

    async fn mask_triple(
        &mut self,
        _ctx: &mut Context,
        mask: &MatrixMask<R>,
        using: MaskUse,
    ) -> Result<MaskTriple<R>> {
        let req = OtRequest::MaskTriple {
            mask: mask.id(),
            using,
        };
        expect_item!(self.next(req).await?, MaskTriple)
    }

    async fn trunc_pairs(
        &mut self,
        _ctx: &mut Context,
        count: usize,
        frac_bits: u32,
    ) -> Result<TruncPairs<R>> {
        expect_item!(
            self.next(OtRequest::Trunc { count, frac_bits }).await?,
            Trunc
        )
    }

    async fn random(&mut self, _ctx: &mut Context, count: usize) -> Result<Shared<R>> {
        expect_item!(self.next(OtRequest::Random { count }).await?, Random)
    }

    async fn squares(
        &mut self,
        _ctx: &mut Context,
        count: usize,
        products: bool,
        mask_bits: u32,
    ) -> Result<Squares<R>> {
        expect_item!(
            self.next(OtRequest::Squares {
                count,
                products,
                mask_bits
            })
            .await?,
            Squares
        )
    }

    async fn bit_triples(&mut self, _ctx: &mut Context, words: usize) -> Result<super::BitTriples> {
        expect_item!(
            self.next(OtRequest::BitTriples { words }).await?,
            BitTriples
        )
    }

    async fn dabits(&mut self, _ctx: &mut Context, count: usize) -> Result<super::DaBits<R>> {
        expect_item!(self.next(OtRequest::DaBits { count }).await?, DaBits)
    }

    fn size_owned_hiding(&mut self, hiding: super::OwnedHiding) -> Result<()> {
        if hiding.operand_bits == 0 || hiding.pad_hiding_bits == 0 {
            return Err(Error::InvalidArgument(format!(
                "owned-mask hiding of {hiding:?}"
            )));
        }
        for engine in std::iter::once(&mut self.engine).chain(self.side.as_mut()) {
            engine.config.owned_operand_bits = hiding.operand_bits.min(R::BITS);
            engine.config.pad_hiding_bits = hiding.pad_hiding_bits;
        }
        Ok(())
    }

    async fn announce(&mut self, _ctx: &mut Context, upcoming: &[OtRequest]) -> Result<()> {
        self.make_ahead(upcoming).await
    }

    async fn owned_mask(
        &mut self,
        _ctx: &mut Context,
        owners: &[(PartyId, usize)],
        k: usize,
        values: Vec<R>,
        value_bits: u32,
    ) -> Result<Option<MatrixMask<R>>> {
        // This party's rows: wiped on every way out, errors included.
        let mut values = Zeroizing::new(values);
        let m: usize = owners.iter().map(|s| s.1).sum();
        if values.len() != m * k {
            return Err(Error::Shape(format!(
                "an owned mask of {} values for {m}x{k}",
                values.len()
            )));
        }
        if value_bits + 1 < R::BITS {
            // The short pads of the mask triples are correct only within the bound (see `gilboa::Bounds`).
            let shift = 128 - R::BITS;
            if let Some(i) = values.iter().position(|v| {
                ((v.to_u128() << shift) as i128 >> shift).unsigned_abs() >> value_bits != 0
            }) {
                return Err(Error::InvalidArgument(format!(
                    "row {} column {} of an owned mask is not below the declared bound 2^{value_bits}",
                    i / k.max(1),
                    i % k.max(1)
                )));
            }
        }
        let id = self.next_mask;
        self.next_mask += 1;
        // Signed values below 2^value_bits: value_bits + 1 bits of two's complement.
        let bits = (value_bits + 1).min(R::BITS);
        let parties = self.engine.ctx.parties();
        let config = self.engine.config;
        if config.reuses_owned_ots(m, k, value_bits, parties, R::BITS) {
            let ots = OwnedOts::setup(&mut self.engine, owners, k, &values, bits).await?;
            self.tables.reused.insert(id, ots);
        }
        self.tables.masks.insert(id, (m, k, values.clone()));
        self.tables.owners.insert(id, (owners.to_vec(), value_bits));
        Ok(Some(MatrixMask::from_share(
            id,
            m,
            k,
            std::mem::take(&mut *values),
        )?))
    }
}

/// Wraps any source and records the sequence of requests made of it (mask ids renumbered in order of
/// creation), to build the plan of a run for [`OtSource::pregenerate`] from a dry run (for example with
/// [`super::InsecureSharedSeed`] on dummy data of the same shapes).
pub struct Recorder<R: Ring, P: Preprocessing<R>> {
    inner: P,
    plan: Vec<OtRequest>,
    mask_ids: HashMap<u64, u64>,
    _ring: PhantomData<R>,
}

impl<R: Ring, P: Preprocessing<R>> std::fmt::Debug for Recorder<R, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("inner", &self.inner.name())
            .field("requests", &self.plan.len())
            .finish()
    }
}

impl<R: Ring, P: Preprocessing<R>> Recorder<R, P> {
    /// Records the requests made of `inner`.
    pub fn new(inner: P) -> Self {
        Recorder {
            inner,
            plan: Vec::new(),
            mask_ids: HashMap::new(),
            _ring: PhantomData,
        }
    }

    /// The requests so far.
    pub fn plan(&self) -> &[OtRequest] {
        &self.plan
    }

    /// The plan and the inner source.
    pub fn into_parts(self) -> (Vec<OtRequest>, P) {
        (self.plan, self.inner)
    }
}

#[async_trait]
impl<R: Ring, P: Preprocessing<R>> Preprocessing<R> for Recorder<R, P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn triples(&mut self, ctx: &mut Context, count: usize) -> Result<Triples<R>> {
        self.plan.push(OtRequest::Triples {
            count,
            a_bits: None,
        });
        self.inner.triples(ctx, count).await
    }

    async fn triples_bounded(
        &mut self,
        ctx: &mut Context,
        count: usize,
        a_bits: u32,
    ) -> Result<Triples<R>> {
        self.plan.push(OtRequest::Triples {
            count,
            a_bits: Some(a_bits),
        });
        self.inner.triples_bounded(ctx, count, a_bits).await
    }

    async fn matrix_triple(
        &mut self,
        ctx: &mut Context,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<MatrixTriple<R>> {
        self.plan.push(OtRequest::MatrixTriple { m, k, n });
        self.inner.matrix_triple(ctx, m, k, n).await
    }

    async fn matrix_mask(
        &mut self,
        ctx: &mut Context,
        m: usize,
        k: usize,
    ) -> Result<MatrixMask<R>> {
        self.plan.push(OtRequest::MatrixMask { m, k });
        let mask = self.inner.matrix_mask(ctx, m, k).await?;
        let ordinal = self.mask_ids.len() as u64;
        self.mask_ids.insert(mask.id(), ordinal);
        Ok(mask)
    }

    async fn mask_triple(
        &mut self,
        ctx: &mut Context,
        mask: &MatrixMask<R>,
        using: MaskUse,
    ) -> Result<MaskTriple<R>> {
        let ordinal = *self
            .mask_ids
            .get(&mask.id())
            .ok_or_else(|| Error::Preprocessing(format!("no mask {}", mask.id())))?;
        self.plan.push(OtRequest::MaskTriple {
            mask: ordinal,
            using: using.clone(),
        });
        self.inner.mask_triple(ctx, mask, using).await
    }

    async fn trunc_pairs(
        &mut self,
        ctx: &mut Context,
        count: usize,
        frac_bits: u32,
    ) -> Result<TruncPairs<R>> {
        self.plan.push(OtRequest::Trunc { count, frac_bits });
        self.inner.trunc_pairs(ctx, count, frac_bits).await
    }

    async fn random(&mut self, ctx: &mut Context, count: usize) -> Result<Shared<R>> {
        self.plan.push(OtRequest::Random { count });
        self.inner.random(ctx, count).await
    }

    async fn squares(
        &mut self,
        ctx: &mut Context,
        count: usize,
        products: bool,
        mask_bits: u32,
    ) -> Result<Squares<R>> {
        self.plan.push(OtRequest::Squares {
            count,
            products,
            mask_bits,
        });
        self.inner.squares(ctx, count, products, mask_bits).await
    }

    async fn bit_triples(&mut self, ctx: &mut Context, words: usize) -> Result<super::BitTriples> {
        self.plan.push(OtRequest::BitTriples { words });
        self.inner.bit_triples(ctx, words).await
    }

    async fn dabits(&mut self, ctx: &mut Context, count: usize) -> Result<super::DaBits<R>> {
        self.plan.push(OtRequest::DaBits { count });
        self.inner.dabits(ctx, count).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::FixedPoint;
    use crate::preprocessing::InsecureSharedSeed;
    use crate::protocols::open::open;
    use crate::protocols::test_util::{for_parties, shares_of};
    use crate::protocols::{mul::mul, trunc::trunc};
    use crate::ring::{PowerOfTwoRing, Z128, Z64};
    use crate::simulate;
    use rand::Rng;

    fn sum<R: Ring>(parts: &[Vec<R>]) -> Vec<R> {
        (0..parts[0].len())
            .map(|i| parts.iter().map(|p| p[i]).sum())
            .collect()
    }

    fn raw<R: Ring>(t: Triples<R>) -> [Vec<R>; 3] {
        let (a, b, c) = t.into_shares();
        [
            a.into_share_values(),
            b.into_share_values(),
            c.into_share_values(),
        ]
    }

    /// Square pairs from OT match plaintext (the conformance check), and cost what the step's byte
    /// accounting says: with products less than two triples, without about half of one.
    #[tokio::test]
    async fn square_pairs_match_plaintext_with_fewer_bytes() {
        for n in [2usize, 3, 5] {
            let out = simulate(n, |mut ctx| async move {
                let mut src = OtSource::<Z128>::setup(&mut ctx).await?;
                crate::testing::squares_suite(&mut ctx, &mut src).await?;
                let mut src64 = OtSource::<Z64>::setup(&mut ctx).await?;
                crate::testing::squares_suite(&mut ctx, &mut src64).await?;
                let mut sent = Vec::new();
                for what in 0..5 {
                    let before = ctx.stats();
                    match what {
                        0 => drop(src.triples(&mut ctx, 1000).await?),
                        1 => drop(src.squares(&mut ctx, 1000, true, 128).await?),
                        2 => drop(src.squares(&mut ctx, 1000, false, 128).await?),
                        b => {
                            // Shares of `a` below 2^70: 70 OTs per element.
                            let sq = src.squares(&mut ctx, 1000, b == 3, 70).await?;
                            assert!(sq.a_share().iter().all(|a| a.to_u128() >> 70 == 0));
                        }
                    }
                    sent.push(ctx.stats().since(&before).bytes_sent() as f64);
                }
                Ok(sent)
            })
            .await
            .unwrap();
            let total = |i: usize| out.iter().map(|s| s[i]).sum::<f64>();
            let (triple, with, without) = (total(0), total(1), total(2));
            // Per element and ordered pair: a triple 128 OTs + 1032 bytes (bits packed), a square with a
            // product 128 OTs + 2 words of 1088 (whole bytes per bit), a square alone the triple's bytes for
            // half of the pairs.
            let u = 128.0 * OtConfig::default().extension.bytes_per_ot();
            assert!(
                (with / triple - (u + 2176.0) / (u + 1032.0)).abs() < 0.02,
                "{n}: {with} vs {triple}"
            );
            assert!(
                (without / triple - 0.5).abs() < 0.02,
                "{n}: {without} vs {triple}"
            );
            // With a below 2^70: 70 OTs and 848 correction bytes per word, per element.
            let (with70, without70) = (total(3), total(4));
            let (per_word, u70) = (848.0, u * 70.0 / 128.0);
            assert!(
                (with70 / with - (u70 + 2.0 * per_word) / (u + 2176.0)).abs() < 0.02,
                "{n}: {with70} vs {with}"
            );
            assert!(
                (without70 / without - (u70 + per_word) / (u + 1032.0)).abs() < 0.02,
                "{n}: {without70} vs {without}"
            );
        }
    }

    /// Triples with `a` below `2^72`: the products hold, every party's share of `a` is short, `b` is not,
    /// and each party sends per peer 72 OTs plus sum_k (128 - k) correction bits per triple in
    /// each direction, against 128 OTs for a uniform triple.
    #[tokio::test]
    async fn bounded_triples_match_plaintext_with_short_a() {
        for_parties(|n| async move {
            let count = 8;
            let out = simulate(n, move |mut ctx| async move {
                let mut src = OtSource::<Z128>::setup(&mut ctx).await?;
                let before = ctx.stats();
                let t = src.triples_bounded(&mut ctx, count, 72).await?;
                let bytes = ctx.stats().since(&before).bytes_sent();
                Ok((raw(t), bytes))
            })
            .await
            .unwrap();
            let parts: Vec<&[Vec<Z128>; 3]> = out.iter().map(|(t, _)| t).collect();
            let [a, b, c] =
                [0, 1, 2].map(|k| sum(&parts.iter().map(|p| p[k].clone()).collect::<Vec<_>>()));
            for i in 0..count {
                assert_eq!(a[i] * b[i], c[i], "triple {i} of {n} parties");
            }
            for p in &parts {
                assert!(p[0].iter().all(|v| v.to_u128() < 1 << 72));
                assert!(p[1].iter().any(|v| v.to_u128() >= 1 << 72));
            }
            // 128 - k bits for bit k, in whole bytes: 864 bytes per triple and direction.
            let corrections: usize = (0..72usize).map(|k| (128 - k).div_ceil(8)).sum();
            assert_eq!(corrections, 864);
            let u = ot_bytes((count * 72).div_ceil(128) * 128);
            let expected = (n - 1) * (u + count * corrections);
            for (_, bytes) in &out {
                assert_eq!(*bytes as usize, expected, "{n} parties");
            }
        })
        .await;
    }

    async fn triples_and_bytes<R: OtRing>(n: usize) {
        let count = 6;
        let out = simulate(n, move |mut ctx| async move {
            let mut src = OtSource::<R>::setup(&mut ctx).await?;
            assert_eq!(src.name(), "ot");
            let before = ctx.stats();
            let t = src.triples(&mut ctx, count).await?;
            let bytes = ctx.stats().since(&before).bytes_sent();
            let empty = src.triples(&mut ctx, 0).await?;
            assert!(empty.is_empty());
            Ok((raw(t), bytes))
        })
        .await
        .unwrap();
        let l = R::BITS as usize;
        let parts: Vec<&[Vec<R>; 3]> = out.iter().map(|(t, _)| t).collect();
        let [a, b, c] =
            [0, 1, 2].map(|k| sum(&parts.iter().map(|p| p[k].clone()).collect::<Vec<_>>()));
        for i in 0..count {
            assert_eq!(a[i] * b[i], c[i], "{} triple {i} of {n} parties", R::NAME);
        }
        // Bytes per party: per peer, l OTs of u per triple (count l OTs, a whole number of blocks here)
        // plus l (l + 1) / 2 bits of corrections per triple, rounded up to bytes once per batch.
        let expected = (n - 1) * (ot_bytes(l * count) + (count * l * (l + 1) / 2).div_ceil(8));
        for (_, bytes) in &out {
            assert_eq!(*bytes as usize, expected);
        }
        assert_eq!(
            expected as f64,
            (n - 1) as f64 * count as f64 * triple_bytes_per_peer(l, OtConfig::default().extension)
        );
    }

    #[tokio::test]
    async fn triples_match_plaintext_and_byte_formula() {
        for_parties(|n| async move {
            triples_and_bytes::<Z64>(n).await;
            triples_and_bytes::<Z128>(n).await;
        })
        .await;
    }

    /// Matrix triples in both orientations and mask triples (row blocks, transposed), against plaintext.
    async fn matrices<R: OtRing>(n: usize) {
        let out = simulate(n, |mut ctx| async move {
            let mut src = OtSource::<R>::setup(&mut ctx).await?;
            let mut got = Vec::new();
            for (m, k, c) in [(5, 3, 1), (2, 3, 4)] {
                let t = src.matrix_triple(&mut ctx, m, k, c).await?;
                got.push(vec![t.a.clone(), t.b.clone(), t.c.clone()]);
            }
            let mask = src.matrix_mask(&mut ctx, 6, 3).await?;
            let a = mask.share_values().to_vec();
            for (rs, re, tr) in [(1, 5, false), (2, 6, true)] {
                let using = MaskUse {
                    row_start: rs,
                    row_end: re,
                    transpose: tr,
                    cols: 1,
                };
                let t = src.mask_triple(&mut ctx, &mask, using).await?;
                got.push(vec![a.clone(), t.b.clone(), t.c.clone()]);
            }
            Ok(got)
        })
        .await
        .unwrap();
        let total =
            |i: usize, k: usize| sum(&out.iter().map(|p| p[i][k].clone()).collect::<Vec<_>>());
        for (i, (m, k, c)) in [(5, 3, 1), (2, 3, 4)].into_iter().enumerate() {
            assert_eq!(
                matmul_plain(&total(i, 0), &total(i, 1), m, k, c),
                total(i, 2)
            );
        }
        let a = total(2, 0);
        let rows: Vec<R> = a[3..15].to_vec(); // rows 1..5 of a 6 x 3 mask
        assert_eq!(matmul_plain(&rows, &total(2, 1), 4, 3, 1), total(2, 2));
        let block = &a[6..18]; // rows 2..6, transposed to 3 x 4
        let t: Vec<R> = (0..3)
            .flat_map(|c| (0..4).map(move |r| block[r * 3 + c]))
            .collect();
        assert_eq!(matmul_plain(&t, &total(3, 1), 3, 4, 1), total(3, 2));
    }

    #[tokio::test]
    async fn matrix_and_mask_triples_match_plaintext() {
        for_parties(|n| async move {
            matrices::<Z64>(n).await;
            matrices::<Z128>(n).await;
        })
        .await;
    }

    /// The matrix-vector triple costs k l OTs (B's elements as choices), not m k l.
    #[tokio::test]
    async fn matrix_vector_triple_uses_vector_correlations() {
        let (m, k) = (40, 4);
        let out = simulate(2, move |mut ctx| async move {
            let mut src = OtSource::<Z64>::setup(&mut ctx).await?;
            let before = ctx.stats();
            let _t = src.matrix_triple(&mut ctx, m, k, 1).await?;
            Ok(ctx.stats().since(&before).bytes_sent())
        })
        .await
        .unwrap();
        // k elements of B, 64 OTs each (rounded to two blocks of 128), m-word corrections.
        let ext = OtConfig::default().extension;
        let expected = (2.0 * 128.0 * ext.bytes_per_ot()) as usize + gilboa::message_len(k, m, 64);
        assert_eq!(out, vec![expected as u64; 2]);
        assert!((expected as f64) < 0.6 * (m * k) as f64 * triple_bytes_per_peer(64, ext));
    }

    async fn trunc_pairs_check<R: OtRing>(n: usize) {
        let f = 12;
        let out = simulate(n, move |mut ctx| async move {
            let mut src = OtSource::<R>::setup(&mut ctx).await?;
            let p = src.trunc_pairs(&mut ctx, 200, f).await?;
            Ok((p.r.clone(), p.r_shifted.clone()))
        })
        .await
        .unwrap();
        let rho = trunc_mask_bits(R::BITS, n);
        for i in 0..200 {
            let r: u128 = out.iter().map(|(r, _)| r[i].to_u128()).sum();
            assert!(out.iter().all(|(r, _)| r[i].to_u128() >> rho == 0));
            assert!(r < 1u128 << (R::BITS - 1));
            let shifted: u128 = out.iter().map(|(_, s)| s[i].to_u128()).sum();
            let e = (r >> f) - shifted;
            assert!(e < n as u128, "carry error {e} with {n} parties");
        }
    }

    /// Fixed-point multiplication then truncation with the OT source's pairs and the unchanged trunc
    /// protocol: never a large error, and at most n ulps above floor(x / 2^f).
    async fn fixed_point_trunc<R: OtRing>(n: usize) {
        let fx = FixedPoint::default_for::<R>();
        let len = 40;
        let mut rng = rand::thread_rng();
        let lim = 1i128 << (fx.bound_bits - 1);
        let x: Vec<R> = (0..len)
            .map(|_| R::from_i128(rng.gen_range(-lim..lim)))
            .collect();
        let one = vec![R::from_i128(1 << fx.frac_bits); len];
        let (xs, ones) = (shares_of(&x, n), shares_of(&one, n));
        let out = simulate(n, move |mut ctx| {
            let (xs, ones) = (xs.clone(), ones.clone());
            async move {
                let mut src = OtSource::<R>::setup(&mut ctx).await?;
                let t = src.triples(&mut ctx, len).await?;
                let (x, o) = (
                    Shared::from_share(xs[ctx.id()].clone()),
                    Shared::from_share(ones[ctx.id()].clone()),
                );
                let z = mul(&mut ctx, &x, &o, t).await?;
                let pairs = src.trunc_pairs(&mut ctx, len, fx.frac_bits).await?;
                let z = trunc(&mut ctx, &z, fx, pairs).await?;
                open(&mut ctx, &z).await
            }
        })
        .await
        .unwrap();
        for (got, x) in out[0].iter().zip(&x) {
            let d = got.to_i128().unwrap() - x.to_i128().unwrap();
            assert!(
                (0..=n as i128).contains(&d),
                "error {d} ulps with {n} parties"
            );
        }
    }

    #[tokio::test]
    async fn truncation_pairs_without_a_dealer() {
        for_parties(|n| async move {
            trunc_pairs_check::<Z64>(n).await;
            trunc_pairs_check::<Z128>(n).await;
            fixed_point_trunc::<Z128>(n).await;
            fixed_point_trunc::<Z64>(n).await;
        })
        .await;
        assert_eq!(trunc_mask_bits(128, 2), 126);
        assert_eq!(trunc_mask_bits(128, 3), 125);
        assert_eq!(trunc_mask_bits(128, 5), 124);
        assert_eq!(trunc_hiding_bits(128, 2, 87), 38);
        assert_eq!(trunc_hiding_bits(128, 2, 85), 40);
    }

    /// Party `me`'s share of the row-owned matrix `x` (`k` columns): its own rows, zeros elsewhere.
    fn own_rows(x: &[Z128], owners: &[(PartyId, usize)], me: PartyId, k: usize) -> Vec<Z128> {
        let mut mine = vec![Z128::ZERO; x.len()];
        let mut at = 0;
        for &(p, len) in owners {
            if p == me {
                mine[at * k..(at + len) * k].copy_from_slice(&x[at * k..(at + len) * k]);
            }
            at += len;
        }
        mine
    }

    /// Bytes of `ots` OTs of extension with the default source.
    fn ot_bytes(ots: usize) -> usize {
        (ots as f64 * OtConfig::default().extension.bytes_per_ot()) as usize
    }

    /// Mask triples of owned masks made the per-triple way, with the bits of `B` as choices.
    fn per_triple() -> OtConfig {
        OtConfig {
            reuse_owned_ots: 0,
            ..OtConfig::default()
        }
    }

    /// Owned masks whose owners chose with their values' bits once (`owned_ots`): several mask triples,
    /// forward and transposed, over row ranges that cross owners, with one and two columns of `B`, all match
    /// plaintext; after the set-up each triple is only messages from the others to each owner, fewer bytes
    /// than the per-triple way, and `B` is uniform.
    #[tokio::test]
    async fn owned_masks_reuse_their_ots() {
        use crate::protocols::test_util::random_elems;
        let (m, k, value_bits) = (9, 4, 25u32);
        let x: Vec<Z128> = random_elems::<Z128>(m * k)
            .into_iter()
            .map(|v| Z128::from_i128(v.to_i128().unwrap_or(0) % (1i128 << value_bits)))
            .chain([(1i128 << value_bits) - 1, 1 - (1i128 << value_bits)].map(Z128::from_i128))
            .skip(2)
            .collect();
        let uses = [
            mask_use(0, m, false),
            mask_use(2, 8, true),
            MaskUse {
                cols: 2,
                ..mask_use(1, 7, false)
            },
            MaskUse {
                cols: 2,
                ..mask_use(0, m, true)
            },
            mask_use(0, m, false),
        ];
        for n in [2usize, 3] {
            let owners: Vec<(PartyId, usize)> = if n == 2 {
                vec![(1, 4), (0, 3), (1, 2)]
            } else {
                vec![(0, 2), (2, 3), (1, 4)]
            };
            let mut sent = Vec::new();
            for config in [OtConfig::default(), per_triple()] {
                let (xc, oc, uc) = (x.clone(), owners.clone(), uses.clone());
                let out = simulate(n, move |mut ctx| {
                    let (x, owners, uses) = (xc.clone(), oc.clone(), uc.clone());
                    async move {
                        let me = ctx.id();
                        let mut src = OtSource::<Z128>::setup_with(&mut ctx, config).await?;
                        let mine = own_rows(&x, &owners, me, k);
                        let mask = src
                            .owned_mask(&mut ctx, &owners, k, mine, value_bits)
                            .await?
                            .expect("owned masks");
                        let before = ctx.stats();
                        let mut triples = Vec::new();
                        for u in &uses {
                            triples.push(src.mask_triple(&mut ctx, &mask, u.clone()).await?);
                        }
                        let traffic = ctx.stats().since(&before);
                        let mut opened = Vec::new();
                        for t in triples {
                            let (b, c) = (t.b.clone(), t.c.clone());
                            opened.push((
                                open(&mut ctx, &Shared::from_share(b)).await?,
                                open(&mut ctx, &Shared::from_share(c)).await?,
                            ));
                        }
                        Ok((opened, traffic))
                    }
                })
                .await
                .unwrap();
                for (opened, _) in &out {
                    for (u, (b, c)) in uses.iter().zip(opened) {
                        let rows = u.row_end - u.row_start;
                        let block = &x[u.row_start * k..u.row_end * k];
                        let want = if u.transpose {
                            let t: Vec<Z128> = (0..k)
                                .flat_map(|j| (0..rows).map(move |i| block[i * k + j]))
                                .collect();
                            matmul_plain(&t, b, k, rows, u.cols)
                        } else {
                            matmul_plain(block, b, rows, k, u.cols)
                        };
                        assert_eq!(*c, want, "{n} parties, {u:?}");
                    }
                }
                sent.push(out.iter().map(|o| o.1.bytes_sent()).sum::<u64>());
                if config.reuse_owned_ots > 0 {
                    for (p, (_, traffic)) in out.iter().enumerate() {
                        let expected: usize = uses
                            .iter()
                            .map(|u| {
                                let mut at = 0;
                                owners
                                    .iter()
                                    .filter(|&&(owner, len)| {
                                        at += len;
                                        owner != p && at - len < u.row_end && u.row_start < at
                                    })
                                    .count()
                            })
                            .sum();
                        assert_eq!(traffic.messages_sent(), expected as u64, "party {p}");
                    }
                    // B is uniform: the per-triple way's B is below n 2^70.
                    assert!(out[0]
                        .0
                        .iter()
                        .any(|(b, _)| b.iter().any(|v| v.to_u128() >> 72 != 0)));
                }
            }
            assert!(
                sent[0] * 10 < sent[1] * 8,
                "reused OTs moved {} bytes, the per-triple way {}",
                sent[0],
                sent[1]
            );
        }
    }

    /// A mask owned row by row (horizontal data): the same products as with a random mask, nothing opened
    /// for `E`, and less OT traffic (only owner-to-other cross terms), less again with a bound on the values
    /// (short pads, at the bound's edges too).
    #[tokio::test]
    async fn owned_mask_products_match_plaintext_with_less_traffic() {
        use crate::protocols::matmul::MaskedMatrix;
        use crate::protocols::test_util::random_elems;
        use crate::share::SharedMatrix;
        for n in [2usize, 3] {
            let (m, k) = (7, 3);
            let owners: Vec<(PartyId, usize)> = if n == 2 {
                vec![(0, 3), (1, 4)]
            } else {
                vec![(0, 2), (1, 3), (2, 2)]
            };
            let bits = 32u32;
            let mut x: Vec<Z128> = random_elems::<Z128>(m * k)
                .into_iter()
                .map(|v| Z128::from_i128(v.to_i128().unwrap_or(0) % (1i128 << bits)))
                .collect();
            x[0] = Z128::from_i128((1i128 << bits) - 1);
            x[1] = Z128::from_i128(1 - (1i128 << bits));
            let (w, r) = (random_elems::<Z128>(k), random_elems::<Z128>(5));
            let xt: Vec<Z128> = (0..k)
                .flat_map(|j| (1..6).map(move |i| (i, j)))
                .map(|(i, j)| x[i * k + j])
                .collect();
            let want = (
                matmul_plain(&x, &w, m, k, 1),
                matmul_plain(&xt, &r, k, 5, 1),
            );
            let (xs, ws, rs) = (shares_of(&x, n), shares_of(&w, n), shares_of(&r, n));
            let mut bytes = Vec::new();
            // The last run sizes its masks for a run-wide budget: longer `B` and pads, same products.
            let longer = crate::preprocessing::OwnedHiding {
                operand_bits: 100,
                pad_hiding_bits: 60,
            };
            for (owned, value_bits, hiding) in [
                (true, bits, None),
                (true, 127, None),
                (false, 0, None),
                (true, bits, Some(longer)),
            ] {
                let (x, xs, ws, rs, owners) = (
                    x.clone(),
                    xs.clone(),
                    ws.clone(),
                    rs.clone(),
                    owners.clone(),
                );
                let out = simulate(n, move |mut ctx| {
                    let (x, xs, ws, rs, owners) = (
                        x.clone(),
                        xs.clone(),
                        ws.clone(),
                        rs.clone(),
                        owners.clone(),
                    );
                    async move {
                        let me = ctx.id();
                        let mat = |v: &Vec<Vec<Z128>>, r, c| {
                            SharedMatrix::new(r, c, Shared::from_share(v[me].clone()))
                        };
                        // The per-triple way (`B` chooses); `owned_masks_reuse_their_ots` covers the other.
                        let mut src = OtSource::<Z128>::setup_with(&mut ctx, per_triple()).await?;
                        if let Some(h) = hiding {
                            src.size_owned_hiding(h)?;
                        }
                        let before = ctx.stats();
                        let xm = if owned {
                            let mine = own_rows(&x, &owners, me, k);
                            let mask = src
                                .owned_mask(&mut ctx, &owners, k, mine, value_bits)
                                .await?;
                            MaskedMatrix::owned(mask.expect("the OT source supports owned masks"))
                        } else {
                            let mask = src.matrix_mask(&mut ctx, m, k).await?;
                            MaskedMatrix::open(&mut ctx, &mat(&xs, m, k)?, mask).await?
                        };
                        let all = MaskUse {
                            row_start: 0,
                            row_end: m,
                            transpose: false,
                            cols: 1,
                        };
                        let t = src.mask_triple(&mut ctx, xm.mask(), all.clone()).await?;
                        let xw = xm.mul(&mut ctx, &all, &mat(&ws, k, 1)?, t).await?;
                        let tr = MaskUse {
                            row_start: 1,
                            row_end: 6,
                            transpose: true,
                            cols: 1,
                        };
                        let t = src.mask_triple(&mut ctx, xm.mask(), tr.clone()).await?;
                        let xtr = xm.mul(&mut ctx, &tr, &mat(&rs, 5, 1)?, t).await?;
                        let sent = ctx.stats().since(&before).bytes_sent();
                        Ok((
                            open(&mut ctx, xw.as_shared()).await?,
                            open(&mut ctx, xtr.as_shared()).await?,
                            sent,
                        ))
                    }
                })
                .await
                .unwrap();
                let mut total = 0;
                for (a, b, sent) in out {
                    assert_eq!(
                        (a, b),
                        want,
                        "owned {owned} {value_bits} {hiding:?}, {n} parties"
                    );
                    total += sent;
                }
                bytes.push(total);
            }
            assert!(
                bytes[1] * 10 < bytes[2] * 7,
                "owned masks moved {} bytes against {} with a random mask",
                bytes[1],
                bytes[2]
            );
            assert!(
                bytes[0] * 10 < bytes[1] * 9,
                "bounded values moved {} bytes against {} without the bound",
                bytes[0],
                bytes[1]
            );
            assert!(
                bytes[3] > bytes[0],
                "100-bit B and 60-bit pads moved {} bytes against {} with 70 and 40",
                bytes[3],
                bytes[0]
            );
        }
    }

    /// A mask triple large enough to be pipelined goes as several batches (the others send every batch's
    /// extension message before reading any answer) and still matches plaintext, forward and transposed.
    #[tokio::test]
    async fn pipelined_owned_products_match_plaintext() {
        use crate::protocols::matmul::MaskedMatrix;
        use crate::protocols::test_util::random_elems;
        use crate::share::SharedMatrix;
        let (m, k) = (40, 24);
        let bits = 32u32;
        let x: Vec<Z128> = random_elems::<Z128>(m * k)
            .into_iter()
            .map(|v| Z128::from_i128(v.to_i128().unwrap_or(0) % (1i128 << bits)))
            .collect();
        let (w, g) = (random_elems::<Z128>(k), random_elems::<Z128>(m));
        let xt: Vec<Z128> = (0..k)
            .flat_map(|j| (0..m).map(move |i| (i, j)))
            .map(|(i, j)| x[i * k + j])
            .collect();
        let want = (
            matmul_plain(&x, &w, m, k, 1),
            matmul_plain(&xt, &g, k, m, 1),
        );
        // A quarter of the elements per batch, but at least 512 OTs of 70 choice bits (8 elements): 3
        // batches of 8 forward, 4 of 10 transposed.
        let per_batch = |e: usize| e.div_ceil(e.div_ceil(PIPELINE_BATCHES).max(8));
        let batches = (per_batch(k), per_batch(m));
        assert_eq!(batches, (3, 4));
        for n in [2usize, 3] {
            let owners: Vec<(PartyId, usize)> = vec![(n - 1, m)];
            let (ws, gs) = (shares_of(&w, n), shares_of(&g, n));
            let x = x.clone();
            let out = simulate(n, move |mut ctx| {
                let (x, ws, gs, owners) = (x.clone(), ws.clone(), gs.clone(), owners.clone());
                async move {
                    let me = ctx.id();
                    let mat = |v: &Vec<Vec<Z128>>, r, c| {
                        SharedMatrix::new(r, c, Shared::from_share(v[me].clone()))
                    };
                    let mut src = OtSource::<Z128>::setup_with(&mut ctx, per_triple()).await?;
                    let mine = own_rows(&x, &owners, me, k);
                    let mask = src.owned_mask(&mut ctx, &owners, k, mine, bits).await?;
                    let xm = MaskedMatrix::owned(mask.expect("owned masks"));
                    let (fwd, back) = (mask_use(0, m, false), mask_use(0, m, true));
                    let before = ctx.stats();
                    let t = src.mask_triple(&mut ctx, xm.mask(), fwd.clone()).await?;
                    let sent_fwd = ctx.stats().since(&before).messages_sent();
                    let before = ctx.stats();
                    let t2 = src.mask_triple(&mut ctx, xm.mask(), back.clone()).await?;
                    let sent_back = ctx.stats().since(&before).messages_sent();
                    let xw = xm.mul(&mut ctx, &fwd, &mat(&ws, k, 1)?, t).await?;
                    let xg = xm.mul(&mut ctx, &back, &mat(&gs, m, 1)?, t2).await?;
                    Ok((
                        open(&mut ctx, xw.as_shared()).await?,
                        open(&mut ctx, xg.as_shared()).await?,
                        sent_fwd,
                        sent_back,
                    ))
                }
            })
            .await
            .unwrap();
            for (p, (a, b, sent_fwd, sent_back)) in out.into_iter().enumerate() {
                assert_eq!((a, b), want, "{n} parties, party {p}");
                // Every batch is one message from each non-owner to the owner, and one back to each.
                let per_peer = if p == n - 1 { n as u64 - 1 } else { 1 };
                assert_eq!(
                    sent_fwd,
                    batches.0 as u64 * per_peer,
                    "{n} parties, party {p}"
                );
                assert_eq!(
                    sent_back,
                    batches.1 as u64 * per_peer,
                    "{n} parties, party {p}"
                );
            }
        }
    }

    fn mask_use(row_start: usize, row_end: usize, transpose: bool) -> MaskUse {
        MaskUse {
            row_start,
            row_end,
            transpose,
            cols: 1,
        }
    }

    /// Announced requests are made ahead, mask triples and the rest concurrently on two engines, and served
    /// in order: the same products as made on demand.
    #[tokio::test]
    async fn announced_requests_are_made_ahead_and_match_plaintext() {
        use crate::protocols::matmul::MaskedMatrix;
        use crate::protocols::test_util::random_elems;
        use crate::share::SharedMatrix;
        for n in [2usize, 3] {
            let (m, k) = (6, 3);
            let owners: Vec<(PartyId, usize)> = (0..n).map(|p| (p, m / n)).collect();
            let x: Vec<Z128> = random_elems::<Z128>(m * k)
                .into_iter()
                .map(|v| Z128::from_i128(v.to_i128().unwrap_or(0) % (1i128 << 30)))
                .collect();
            let w = random_elems::<Z128>(k);
            let want = matmul_plain(&x, &w, m, k, 1);
            let ws = shares_of(&w, n);
            let (x2, owners2) = (x.clone(), owners.clone());
            let out = simulate(n, move |mut ctx| {
                let (x, ws, owners) = (x2.clone(), ws.clone(), owners2.clone());
                async move {
                    let me = ctx.id();
                    let mut src = OtSource::<Z128>::setup(&mut ctx).await?;
                    let mine = own_rows(&x, &owners, me, k);
                    let mask = src
                        .owned_mask(&mut ctx, &owners, k, mine, 32)
                        .await?
                        .expect("owned masks");
                    let xm = MaskedMatrix::owned(mask);
                    let all = MaskUse {
                        row_start: 0,
                        row_end: m,
                        transpose: false,
                        cols: 1,
                    };
                    let plan = [
                        OtRequest::MaskTriple {
                            mask: xm.mask().id(),
                            using: all.clone(),
                        },
                        OtRequest::Triples {
                            count: 40,
                            a_bits: None,
                        },
                        OtRequest::Squares {
                            count: 9,
                            products: true,
                            mask_bits: 128,
                        },
                    ];
                    src.announce(&mut ctx, &plan).await?;
                    assert_eq!(src.planned_remaining(), 3);
                    let t = src.mask_triple(&mut ctx, xm.mask(), all.clone()).await?;
                    let w = SharedMatrix::new(k, 1, Shared::from_share(ws[me].clone()))?;
                    let xw = xm.mul(&mut ctx, &all, &w, t).await?;
                    let triples = raw(src.triples(&mut ctx, 40).await?);
                    let sq = src.squares(&mut ctx, 9, true, 128).await?;
                    assert_eq!(src.planned_remaining(), 0);
                    crate::testing::squares_suite_with(&mut ctx, sq).await?;
                    Ok((open(&mut ctx, xw.as_shared()).await?, triples))
                }
            })
            .await
            .unwrap();
            let parts: Vec<[Vec<Z128>; 3]> = out.iter().map(|o| o.1.clone()).collect();
            let (a, b, c) = (
                sum(&parts.iter().map(|p| p[0].clone()).collect::<Vec<_>>()),
                sum(&parts.iter().map(|p| p[1].clone()).collect::<Vec<_>>()),
                sum(&parts.iter().map(|p| p[2].clone()).collect::<Vec<_>>()),
            );
            for i in 0..40 {
                assert_eq!(a[i] * b[i], c[i]);
            }
            for o in &out {
                assert_eq!(o.0, want, "{n} parties");
            }
        }
    }

    /// An owned value beyond the declared bound is an error naming its row and column, not a wrong product;
    /// the other party aborts naming the party that left.
    #[tokio::test]
    async fn owned_value_beyond_its_bound_is_an_error() {
        let out = simulate(2, |mut ctx| async move {
            let mut src = OtSource::<Z128>::setup(&mut ctx).await?;
            let mut mine = vec![Z128::ZERO; 6];
            if ctx.id() == 1 {
                mine[4] = Z128::from_i128(-(1i128 << 32));
            }
            Ok(src
                .owned_mask(&mut ctx, &[(0, 1), (1, 2)], 2, mine, 32)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()))
        })
        .await
        .unwrap();
        // The other party waits for the owner's OT set-up and learns who left.
        let other = out[0].clone().unwrap_err();
        assert!(other.contains("party 1"), "{other}");
        let err = out[1].clone().unwrap_err();
        assert!(
            err.contains("row 2 column 0") && err.contains("2^32"),
            "{err}"
        );
    }

    /// SecureML's reuse of `E = X - A` with the OT source: `X^T r` and `X w` for a regression step.
    #[tokio::test]
    async fn masked_matrix_products_with_ot_triples() {
        use crate::protocols::matmul::MaskedMatrix;
        use crate::protocols::test_util::random_elems;
        use crate::share::SharedMatrix;
        for n in [2, 3] {
            let (m, k) = (6, 3);
            let x = random_elems::<Z128>(m * k);
            let (w, r) = (random_elems::<Z128>(k), random_elems::<Z128>(4));
            let xt: Vec<Z128> = (0..k)
                .flat_map(|j| (2..6).map(move |i| (i, j)))
                .map(|(i, j)| x[i * k + j])
                .collect();
            let want = (
                matmul_plain(&x, &w, m, k, 1),
                matmul_plain(&xt, &r, k, 4, 1),
            );
            let (xs, ws, rs) = (shares_of(&x, n), shares_of(&w, n), shares_of(&r, n));
            let out = simulate(n, move |mut ctx| {
                let (xs, ws, rs) = (xs.clone(), ws.clone(), rs.clone());
                async move {
                    let me = ctx.id();
                    let mat = |v: &Vec<Vec<Z128>>, r, c| {
                        SharedMatrix::new(r, c, Shared::from_share(v[me].clone()))
                    };
                    let mut src = OtSource::<Z128>::setup(&mut ctx).await?;
                    let mask = src.matrix_mask(&mut ctx, m, k).await?;
                    let xm = MaskedMatrix::open(&mut ctx, &mat(&xs, m, k)?, mask).await?;
                    let all = MaskUse {
                        row_start: 0,
                        row_end: m,
                        transpose: false,
                        cols: 1,
                    };
                    let t = src.mask_triple(&mut ctx, xm.mask(), all.clone()).await?;
                    let xw = xm.mul(&mut ctx, &all, &mat(&ws, k, 1)?, t).await?;
                    let tr = MaskUse {
                        row_start: 2,
                        row_end: 6,
                        transpose: true,
                        cols: 1,
                    };
                    let t = src.mask_triple(&mut ctx, xm.mask(), tr.clone()).await?;
                    let xtr = xm.mul(&mut ctx, &tr, &mat(&rs, 4, 1)?, t).await?;
                    Ok((
                        open(&mut ctx, xw.as_shared()).await?,
                        open(&mut ctx, xtr.as_shared()).await?,
                    ))
                }
            })
            .await
            .unwrap();
            for got in out {
                assert_eq!(got, want);
            }
        }
    }

    #[tokio::test]
    async fn random_shares_are_local() {
        let out = simulate(3, |mut ctx| async move {
            let mut src = OtSource::<Z64>::setup(&mut ctx).await?;
            let before = ctx.stats();
            let r = src.random(&mut ctx, 10).await?;
            assert_eq!(ctx.stats().since(&before).bytes_sent(), 0);
            Ok(r.share_values().to_vec())
        })
        .await
        .unwrap();
        assert_ne!(out[0], out[1]);
    }

    #[tokio::test]
    async fn background_producer_serves_triples() {
        let out = simulate(3, |mut ctx| async move {
            let mut src = OtSource::<Z128>::setup(&mut ctx).await?;
            src.start_producer(7, 2).await?;
            let mut got = Vec::new();
            for count in [10, 3, 1] {
                got.push(raw(src.triples(&mut ctx, count).await?));
            }
            // The online phase keeps its own channel meanwhile.
            let me = ctx.id();
            let x = crate::protocols::input::share_from::<Z128>(
                &mut ctx,
                0,
                (me == 0).then_some(&[Z128(9)][..]),
                1,
            )
            .await?;
            assert_eq!(open(&mut ctx, &x).await?, vec![Z128(9)]);
            Ok(got)
        })
        .await
        .unwrap();
        for i in 0..3 {
            let [a, b, c] =
                [0, 1, 2].map(|k| sum(&out.iter().map(|p| p[i][k].clone()).collect::<Vec<_>>()));
            assert_eq!(a.len(), [10, 3, 1][i]);
            for j in 0..a.len() {
                assert_eq!(a[j] * b[j], c[j]);
            }
        }
    }

    #[tokio::test]
    async fn pregenerated_plan_is_served_in_order() {
        let out = simulate(2, |mut ctx| async move {
            // Dry run with the insecure source to record the plan.
            let mut rec = Recorder::new(InsecureSharedSeed::<Z64>::for_context([3; 32], &ctx));
            let _ = rec.triples(&mut ctx, 4).await?;
            let mask = rec.matrix_mask(&mut ctx, 4, 2).await?;
            let using = MaskUse {
                row_start: 0,
                row_end: 4,
                transpose: true,
                cols: 1,
            };
            let _ = rec.mask_triple(&mut ctx, &mask, using.clone()).await?;
            let _ = rec.trunc_pairs(&mut ctx, 5, 8).await?;
            let (plan, _) = rec.into_parts();
            assert_eq!(
                plan[2],
                OtRequest::MaskTriple {
                    mask: 0,
                    using: using.clone()
                }
            );
            let mut src = OtSource::<Z64>::setup(&mut ctx).await?;
            let report = src.pregenerate(&plan).await?;
            let before = ctx.stats();
            let t = src.triples(&mut ctx, 4).await?;
            let mask = src.matrix_mask(&mut ctx, 4, 2).await?;
            let mt = src.mask_triple(&mut ctx, &mask, using).await?;
            // Served from the plan: no traffic now.
            assert_eq!(ctx.stats().since(&before).bytes_sent(), 0);
            let wrong = src.random(&mut ctx, 1).await;
            assert!(wrong.is_err());
            Ok((
                report,
                raw(t),
                mask.share_values().to_vec(),
                mt.b.clone(),
                mt.c.clone(),
            ))
        })
        .await
        .unwrap();
        let report = &out[0].0;
        assert_eq!(
            (
                report.requests,
                report.triples,
                report.matrix_triples,
                report.trunc_pairs
            ),
            (4, 4, 1, 5)
        );
        assert_eq!(report.random_elements, 8);
        // 4 triples and a 2 x 4 times 4 x 1 mask triple (4 choice elements of 2 words), one peer.
        let expected = ot_bytes(64 * 4) + 260 * 4 + ot_bytes(256) + gilboa::message_len(4, 2, 64);
        assert_eq!(report.traffic.bytes_sent() as usize, expected);
        let [a, b, c] = [0, 1, 2].map(|k| sum(&[out[0].1[k].clone(), out[1].1[k].clone()]));
        for i in 0..4 {
            assert_eq!(a[i] * b[i], c[i]);
        }
        let mask = sum(&[out[0].2.clone(), out[1].2.clone()]);
        let at: Vec<Z64> = (0..2)
            .flat_map(|c| (0..4).map(move |r| (r, c)))
            .map(|(r, c)| mask[r * 2 + c])
            .collect();
        let (b, c) = (
            sum(&[out[0].3.clone(), out[1].3.clone()]),
            sum(&[out[0].4.clone(), out[1].4.clone()]),
        );
        assert_eq!(matmul_plain(&at, &b, 2, 4, 1), c);
    }

    #[tokio::test]
    async fn kos_checked_source_and_redacted_debug() {
        let out = simulate(2, |mut ctx| async move {
            let config = OtConfig {
                check: Check::Kos,
                extension: Extension::Iknp,
                max_batch_ots: 256,
                ..OtConfig::default()
            };
            let mut src = OtSource::<Z64>::setup_with(&mut ctx, config).await?;
            let t = src.triples(&mut ctx, 9).await?; // 576 OTs: three batches
            let debug = format!("{src:?} {t:?}");
            Ok((raw(t), debug))
        })
        .await
        .unwrap();
        let [a, b, c] = [0, 1, 2].map(|k| sum(&[out[0].0[k].clone(), out[1].0[k].clone()]));
        for i in 0..9 {
            assert_eq!(a[i] * b[i], c[i]);
        }
        let shown = &out[0].1;
        assert!(shown.contains("redacted") && !shown.contains(&a[0].0.to_string()));
        let _ = Z64::pow2(1);
    }
}
