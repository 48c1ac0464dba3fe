//! Mask triples of an owned mask from OTs made once: the row owner's values are the choices
//! ([`crate::ot::fixed_choice`]).
//!
//! An owned mask's values (the owner's rows, [`super::Preprocessing::owned_mask`]) never change, while
//! every mask triple multiplies them by a fresh `B`. So the owner, as OT-extension receiver, chooses with
//! the bits of its values once, towards every other party ([`OwnedOts::setup`], one flight), and each mask
//! triple afterwards costs one message from every other party to the owner: the Gilboa corrections of its
//! share of `B` against every bit of every value used, with fresh pads. With `v`-bit values (signed, so
//! `v + 1` choice bits) a value times one word of `B` costs `l - t` bits for bit `t` in whole bytes, 386 bytes in Z128
//! at `v = 25`, against the `70 * (v + 42)` bits (586 bytes) plus OT extension of the per-triple way, where
//! the bits of `B` choose and the owner's columns are the correlations. `B` is then uniform, so `Y - B`
//! hides `Y` perfectly.
//!
//! The OTs take 16 bytes at each end, so the source uses them only for masks with at most
//! [`super::OtConfig::reuse_owned_ots`] of them.

use zeroize::Zeroizing;

use super::{missing_peer, Engine};
use crate::error::{Error, Result};
use crate::net::PartyId;
use crate::ot::fixed_choice;
use crate::ot::gilboa::choice_blocks_bounded;
use crate::ot::hash::Block;
use crate::ot::OtRing;
use crate::preprocessing::MaskUse;

/// Values per message of a mask triple, so that the owner works on one part while the others make the next.
const MESSAGE_VALUES: usize = 512;

/// The OTs of one owned mask: one per choice bit of every value, between the value's owner and every other
/// party.
pub(super) struct OwnedOts {
    k: usize,
    bits: u32,
    segments: Vec<Segment>,
    /// The next unused tweak (each product consumes one per column of `B`).
    next_tweak: u64,
}

/// Rows `start..start + len`, owned by `owner`.
struct Segment {
    owner: PartyId,
    start: usize,
    len: usize,
    ots: Ends,
}

/// This party's ends of a segment's OTs.
enum Ends {
    /// It owns the rows: its `t` from every other party, indexed by party (empty for itself).
    Owner(Vec<Zeroizing<Vec<Block>>>),
    /// Another party does: its `q` towards the owner (with the `Delta` of its extension sender).
    Other(Zeroizing<Vec<Block>>),
}

impl OwnedOts {
    /// OTs a mask of `m x k` values of `bits` choice bits takes among `parties` parties, if it fits in `max`.
    pub(super) fn fits(m: usize, k: usize, bits: u32, parties: usize, max: usize) -> bool {
        m.checked_mul(k)
            .and_then(|v| v.checked_mul(bits as usize))
            .and_then(|v| v.checked_mul(parties.saturating_sub(1)))
            .is_some_and(|ots| ots <= max)
    }

    /// Runs the OT extensions of an owned mask (every party at the same point): the owner of each segment
    /// as receiver, choosing with the low `bits` bits of its values (`values`: this party's share of the
    /// mask, its own rows' values), towards every other party. One flight.
    pub(super) async fn setup<R: OtRing>(
        engine: &mut Engine,
        owners: &[(PartyId, usize)],
        k: usize,
        values: &[R],
        bits: u32,
    ) -> Result<Self> {
        let Engine { ctx, pairs, config } = engine;
        let (me, parties) = (ctx.id(), ctx.parties());
        let peers: Vec<PartyId> = ctx.peers().collect();
        let per_message = (config.max_batch_ots / 128).max(1);
        let mut segments = Vec::with_capacity(owners.len());
        let mut start = 0;
        // As owner: every extension message out first.
        for &(owner, len) in owners {
            if owner >= parties {
                return Err(Error::UnknownParty {
                    party: owner,
                    parties,
                });
            }
            let ots = if owner == me {
                let rows = values
                    .get(start * k..(start + len) * k)
                    .ok_or_else(|| Error::Shape("owned rows beyond the mask".into()))?;
                let choices = choice_blocks_bounded(rows, bits as usize);
                let mut ts = vec![Zeroizing::new(Vec::new()); parties];
                for &p in &peers {
                    let pair = pairs[p].as_mut().ok_or_else(missing_peer)?;
                    let t = &mut ts[p];
                    t.reserve(choices.len() * 128);
                    for piece in choices.chunks(per_message) {
                        let (msg, part) = pair.receiver.extend(piece, config.check, ctx.rng());
                        ctx.send_bytes(p, msg).await?;
                        t.extend_from_slice(&part);
                    }
                }
                Ends::Owner(ts)
            } else {
                Ends::Other(Zeroizing::new(Vec::new()))
            };
            segments.push(Segment {
                owner,
                start,
                len,
                ots,
            });
            start += len;
        }
        // As another party: the owners' messages, in the same order.
        for seg in &mut segments {
            let Ends::Other(q) = &mut seg.ots else {
                continue;
            };
            let pair = pairs[seg.owner].as_mut().ok_or_else(missing_peer)?;
            let blocks = (seg.len * k * bits as usize).div_ceil(128);
            q.reserve(blocks * 128);
            let mut left = blocks;
            while left > 0 {
                let piece = left.min(per_message);
                let part = ctx
                    .recv_checked(seg.owner, |b| pair.sender.extend(piece, b, config.check))
                    .await?;
                q.extend_from_slice(&part);
                left -= piece;
            }
        }
        Ok(OwnedOts {
            k,
            bits,
            segments,
            next_tweak: 0,
        })
    }

    /// Adds this party's shares of the cross terms of `A[rows] B` (or `A[rows]^T B`, per `using`) to `c`:
    /// between each row's owner (`mask`: this party's share of `A`, its own rows) and every other party
    /// (`b`: this party's share of `B`, `n` columns). The others send first, then the owners read.
    pub(super) async fn add_cross<R: OtRing>(
        &mut self,
        engine: &mut Engine,
        mask: &[R],
        using: &MaskUse,
        b: &[R],
        c: &mut [R],
    ) -> Result<()> {
        let (k, bits, n) = (self.k, self.bits, using.cols);
        if n == 0 || k == 0 {
            return Ok(());
        }
        let tweak = self.next_tweak;
        self.next_tweak += n as u64;
        let (lo, hi) = (using.row_start, using.row_end);
        let step = (MESSAGE_VALUES / k).max(1);
        let per_row = k * bits as usize;
        let Engine { ctx, pairs, .. } = engine;
        let peers: Vec<PartyId> = ctx.peers().collect();
        // Where value (r, col) finds its words of B and puts its products.
        let words = |r: usize, col: usize| if using.transpose { r - lo } else { col };
        let out = |r: usize, col: usize| if using.transpose { col } else { r - lo };
        let add = |c: &mut [R], r0: usize, share: &[R]| {
            for (i, s) in share.chunks_exact(n).enumerate() {
                let (r, col) = (r0 + i / k, i % k);
                let o = out(r, col);
                c[o * n..(o + 1) * n]
                    .iter_mut()
                    .zip(s)
                    .for_each(|(c, &s)| *c += s);
            }
        };
        let parts = |seg: &Segment| {
            let (a, z) = (seg.start.max(lo), (seg.start + seg.len).min(hi));
            (a..z).step_by(step).map(move |r0| (r0, (r0 + step).min(z)))
        };
        for seg in &self.segments {
            let Ends::Other(q) = &seg.ots else {
                continue;
            };
            let delta = Zeroizing::new(
                pairs[seg.owner]
                    .as_ref()
                    .ok_or_else(missing_peer)?
                    .sender
                    .delta(),
            );
            for (r0, r1) in parts(seg) {
                // This party's B-share words, copied: wiped after use.
                let beta: Zeroizing<Vec<R>> = Zeroizing::new(
                    (r0..r1)
                        .flat_map(|r| (0..k).flat_map(move |col| (0..n).map(move |j| (r, col, j))))
                        .map(|(r, col, j)| b[words(r, col) * n + j])
                        .collect(),
                );
                let ots = &q[(r0 - seg.start) * per_row..(r1 - seg.start) * per_row];
                let (msg, share) = fixed_choice::send(ots, *delta, tweak, bits, &beta, n)
                    .map_err(|e| Error::Preprocessing(format!("internal: {e}")))?;
                add(c, r0, &share);
                ctx.send_bytes(seg.owner, msg).await?;
            }
        }
        for seg in &self.segments {
            let Ends::Owner(ts) = &seg.ots else {
                continue;
            };
            for (r0, r1) in parts(seg) {
                let x = &mask[r0 * k..r1 * k];
                for &p in &peers {
                    let ots = &ts[p][(r0 - seg.start) * per_row..(r1 - seg.start) * per_row];
                    let share = ctx
                        .recv_checked(p, |m| fixed_choice::receive(ots, x, tweak, bits, n, m))
                        .await?;
                    add(c, r0, &share);
                }
            }
        }
        Ok(())
    }
}
