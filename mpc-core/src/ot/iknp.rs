//! IKNP OT extension (Ishai, Kilian, Nissim and Petrank, "Extending Oblivious Transfers Efficiently",
//! CRYPTO 2003) with the correlation check of KOS (Keller, Orsini and Scholl, "Actively Secure OT Extension
//! with Optimal Overhead", CRYPTO 2015) as an option.
//!
//! Setup: 128 base OTs with the roles swapped. The extension sender draws `Delta` and receives seed
//! `s_i = k_i^{Delta_i}`; the extension receiver holds both seeds `(k0_i, k1_i)`.
//!
//! Extension of `m` OTs (a multiple of 128) with choice bits `r`: the receiver expands
//! `t_i = G(k0_i)`, sends `u_i = t_i xor G(k1_i) xor r` for every column `i`, and the sender computes
//! `q_i = G(s_i) xor Delta_i u_i`. After transposing the `128 x m` bit matrices, row `j` satisfies
//! `q_j = t_j xor r_j Delta`: a correlated OT with global `Delta` ([`IknpSender::extend`] returns the `q_j`,
//! [`IknpReceiver::extend`] the `t_j`). Random OTs are `H(q_j), H(q_j xor Delta)` and `H(t_j)` for the
//! correlation-robust hash of [`super::hash`] ([`random_ot_sender`], [`random_ot_receiver`]). `G` is AES-128
//! in counter mode ([`AesPrg`]); the transposition works on 128 x 128 blocks ([`super::transpose`]).
//!
//! The KOS check (optional, [`Check::Kos`]): 256 extra OTs with random choices are appended; a challenge
//! key `h` is derived by hashing the batch number and all of `u` (Fiat-Shamir), and with the POLYVAL
//! polynomial hash `P_h` (coefficients `chi_j` = powers of `h`) the receiver sends `x = P_h(r_j * 1)` and
//! `t = P_h(t_j)`; the sender accepts iff `P_h(q_j) = t xor x * Delta`. A receiver that sends an inconsistent
//! `u` (not of the form `t_i xor G(k1_i) xor r` for one `r`) is caught except with probability about
//! `m / 2^128`. The 256 extra OTs mask `x` and `t`, so the check reveals nothing about the choices. In the
//! semi-honest model of the `ot` source the check is not needed; it is there for defence in depth and
//! as the first step towards active security.
//!
//! Per extended OT the receiver sends 16 bytes (`u`), plus 32 bytes and 256 OTs per batch with the check.
//!
//! The same types also run SoftSpokenOT ([`super::softspoken`], [`Extension::SoftSpoken`]): its columns
//! replace `G(k0_i)`, `G(k1_i)` and `u`, with `128 / k` columns of `u` instead of 128; the transposition,
//! the correlation `q_j = t_j xor r_j Delta` and the random OTs are unchanged.

use polyval::universal_hash::{KeyInit, UniversalHash};
use polyval::Polyval;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::base;
use super::hash::{ccr_hash, AesPrg, Block};
use super::resize_wiped;
use super::softspoken::{self, SoftReceiver, SoftSender};
use super::transpose::transpose_columns;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::net::PartyId;
use rand_core::RngCore;

/// The computational security parameter: base OTs per direction.
pub const KAPPA: usize = 128;

/// Extra OTs per batch that mask the KOS check values.
const CHECK_EXTRA_BLOCKS: usize = 2;

/// Whether OT extension runs the KOS correlation check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Check {
    /// No check: semi-honest security (the model of the `ot` source).
    #[default]
    None,
    /// The KOS consistency check on every batch.
    Kos,
}

/// The multiplicative identity of POLYVAL's field (`x^128 mod P`, in POLYVAL's representation), so that
/// `P_h` of `r_j * ONE` blocks is `sum chi_j r_j`.
const POLYVAL_ONE: Block = 0xc200_0000_0000_0000_0000_0000_0000_0001;

/// `P_h(blocks)`. The key may be secret (`Delta` in [`field_mul`]): its copy here and the tag are wiped
/// (polyval wipes its own state).
fn polyval(h: Block, blocks: &[Block]) -> Block {
    let mut key: [u8; 16] = h.to_le_bytes();
    let mut p = Polyval::new(&key.into());
    key.zeroize();
    let mut bytes = Zeroizing::new(Vec::with_capacity(blocks.len() * 16));
    for b in blocks {
        bytes.extend_from_slice(&b.to_le_bytes());
    }
    p.update_padded(&bytes);
    let mut tag: [u8; 16] = p.finalize().into();
    let out = u128::from_le_bytes(tag);
    tag.zeroize();
    out
}

/// `a * b` in POLYVAL's field (`P_b` of the single block `a`).
fn field_mul(a: Block, b: Block) -> Block {
    polyval(b, &[a])
}

fn challenge(batch: u64, u: &[u8]) -> Block {
    let mut h = Sha256::new();
    h.update(b"mpc-core/ot/iknp/kos-challenge/v1");
    h.update(batch.to_le_bytes());
    h.update(u);
    let out: [u8; 32] = h.finalize().into();
    u128::from_le_bytes(out[..16].try_into().expect("16 bytes"))
}

fn blocks_to_bytes(blocks: &[Block], out: &mut Vec<u8>) {
    if cfg!(target_endian = "little") {
        out.extend_from_slice(bytemuck::cast_slice(blocks));
    } else {
        out.reserve(blocks.len() * 16);
        for b in blocks {
            out.extend_from_slice(&b.to_le_bytes());
        }
    }
}

/// The extension sender of one direction: holds `Delta` and one seed per column. Wiped on drop.
pub struct IknpSender {
    delta: Zeroizing<Block>,
    columns: SenderColumns,
    batch: u64,
    /// Scratch for the columns, kept between batches (fresh pages per batch cost as much as the PRG).
    scratch: Zeroizing<Vec<Block>>,
}

/// The extension receiver of one direction: holds both seeds of every column.
pub struct IknpReceiver {
    columns: ReceiverColumns,
    batch: u64,
    /// Scratch for the `t0` columns and for `u`, kept between batches.
    scratch: Zeroizing<Vec<Block>>,
    u: Vec<Block>,
}

/// How the sender makes its columns.
enum SenderColumns {
    /// IKNP: one seed per column.
    Iknp(Vec<AesPrg>),
    /// SoftSpokenOT's punctured leaves.
    Soft(SoftSender),
}

/// How the receiver makes its columns.
enum ReceiverColumns {
    /// IKNP: both seeds of every column.
    Iknp(Vec<[AesPrg; 2]>),
    /// SoftSpokenOT's leaves.
    Soft(SoftReceiver),
}

/// How OT extension makes its 128 columns (both ends of a direction use the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extension {
    /// IKNP: the receiver sends 16 bytes per OT.
    Iknp,
    /// SoftSpokenOT with `k` bits per block of base OTs ([`super::softspoken`]; `k` is 2, 4 or 8): the
    /// receiver sends `16 / k` bytes per OT; the PRG output grows with `2^k / k` (at `k = 2` the sender's is
    /// 1.5 times IKNP's, the receiver's the same). Semi-honest only: not with [`Check::Kos`].
    SoftSpoken(u8),
}

impl Extension {
    /// Bytes the receiver sends per OT (without the check).
    pub fn bytes_per_ot(self) -> f64 {
        match self {
            Extension::Iknp => 16.0,
            Extension::SoftSpoken(k) => 16.0 / k as f64,
        }
    }

    /// Whether `check` can run with these columns: an error naming the conflict if not.
    pub fn check_with(self, check: Check) -> Result<()> {
        match (self, check) {
            (Extension::SoftSpoken(k), _) if k < 2 || !softspoken::valid_k(k as usize) => {
                Err(Error::InvalidArgument(format!(
                    "SoftSpokenOT takes k = 2, 4 or 8 bits per block, not {k}"
                )))
            }
            (Extension::SoftSpoken(_), Check::Kos) => Err(Error::InvalidArgument(
                "the KOS check runs with IKNP extension only (SoftSpokenOT here is semi-honest)"
                    .into(),
            )),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Debug for IknpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IknpSender(<redacted>)")
    }
}

impl std::fmt::Debug for IknpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IknpReceiver(<redacted>)")
    }
}

/// Bytes of the receiver's message for `blocks` blocks of 128 OTs with IKNP columns
/// ([`IknpSender::message_len`] for either kind).
pub fn message_len(blocks: usize, check: Check) -> usize {
    match check {
        Check::None => KAPPA * blocks * 16,
        Check::Kos => KAPPA * (blocks + CHECK_EXTRA_BLOCKS) * 16 + 32,
    }
}

/// Blocks of 128 OTs extended for `blocks` asked for (the check adds its own).
fn total_blocks(blocks: usize, check: Check) -> usize {
    match check {
        Check::None => blocks,
        Check::Kos => blocks + CHECK_EXTRA_BLOCKS,
    }
}

impl IknpSender {
    /// The sender from `Delta` and the base-OT keys it received (`seeds[i] = k_i^{Delta_i}`).
    pub fn new(delta: Block, seeds: &[Block]) -> Result<Self> {
        if seeds.len() != KAPPA {
            return Err(Error::InvalidArgument(format!(
                "IKNP needs {KAPPA} base OTs, got {}",
                seeds.len()
            )));
        }
        Ok(IknpSender {
            delta: Zeroizing::new(delta),
            columns: SenderColumns::Iknp(seeds.iter().map(|&s| AesPrg::new(s)).collect()),
            batch: 0,
            scratch: Zeroizing::new(Vec::new()),
        })
    }

    /// A SoftSpokenOT sender with `k` bits per block from the base-OT keys chosen with the bits of
    /// `base_delta` and the receiver's set-up message ([`IknpReceiver::soft`]). Its correlation is
    /// `not base_delta`.
    pub fn soft(
        base_delta: Block,
        seeds: &[Block],
        k: usize,
        msg: &[u8],
    ) -> std::result::Result<Self, String> {
        let soft = SoftSender::new(seeds, base_delta, k, msg)?;
        Ok(IknpSender {
            delta: Zeroizing::new(soft.delta()),
            columns: SenderColumns::Soft(soft),
            batch: 0,
            scratch: Zeroizing::new(Vec::new()),
        })
    }

    /// Bytes of the receiver's message for `blocks` blocks of 128 OTs.
    pub fn message_len(&self, blocks: usize, check: Check) -> usize {
        match &self.columns {
            SenderColumns::Iknp(_) => message_len(blocks, check),
            SenderColumns::Soft(s) => s.message_blocks(blocks) * 16,
        }
    }

    /// The global correlation `Delta`. Secret.
    pub fn delta(&self) -> Block {
        *self.delta
    }

    /// A sender for an independent second stream of OTs with the same `Delta`: each column's new seed is the
    /// next block of this sender's own stream for that column, which the receiver's
    /// [`IknpReceiver::split`] draws too; neither stream reuses the other's output. Both sides must split at
    /// the same point of their streams (between the same two batches).
    pub fn split(&mut self) -> IknpSender {
        let mut seed = Zeroizing::new([0u128]);
        IknpSender {
            delta: self.delta.clone(),
            columns: match &mut self.columns {
                SenderColumns::Iknp(prgs) => SenderColumns::Iknp(
                    prgs.iter_mut()
                        .map(|p| {
                            p.fill(&mut seed[..]);
                            AesPrg::new(seed[0])
                        })
                        .collect(),
                ),
                SenderColumns::Soft(soft) => SenderColumns::Soft(soft.split()),
            },
            batch: 0,
            scratch: Zeroizing::new(Vec::new()),
        }
    }

    /// Processes the receiver's message for `blocks * 128` OTs and returns the `q_j`
    /// (`q_j = t_j xor r_j Delta`). Any malformed message, or a failed KOS check, is an error.
    pub fn extend(
        &mut self,
        blocks: usize,
        msg: &[u8],
        check: Check,
    ) -> std::result::Result<Zeroizing<Vec<Block>>, String> {
        if check == Check::Kos && matches!(self.columns, SenderColumns::Soft(_)) {
            return Err("the KOS check runs with IKNP extension only".into());
        }
        let expected = self.message_len(blocks, check);
        if msg.len() != expected {
            return Err(format!(
                "an OT-extension message of {} bytes, expected {expected}",
                msg.len()
            ));
        }
        let total = total_blocks(blocks, check);
        let batch = self.batch;
        self.batch += 1;
        let cols = &mut self.scratch;
        resize_wiped(cols, KAPPA * total);
        match &mut self.columns {
            SenderColumns::Iknp(prgs) => {
                for (i, (prg, col)) in prgs.iter_mut().zip(cols.chunks_mut(total)).enumerate() {
                    if (*self.delta >> i) & 1 == 1 {
                        let u = &msg[i * total * 16..(i + 1) * total * 16];
                        for (c, u) in col.iter_mut().zip(u.chunks_exact(16)) {
                            *c = u128::from_le_bytes(u.try_into().expect("16 bytes"));
                        }
                        prg.xor_into(col);
                    } else {
                        prg.fill(col);
                    }
                }
            }
            SenderColumns::Soft(soft) => {
                let u: Zeroizing<Vec<Block>> = Zeroizing::new(
                    msg.chunks_exact(16)
                        .map(|b| u128::from_le_bytes(b.try_into().expect("16 bytes")))
                        .collect(),
                );
                soft.columns(&u, total, cols);
            }
        }
        let mut q = Zeroizing::new(vec![0u128; KAPPA * total]);
        transpose_columns(cols, total, &mut q);
        if check == Check::Kos {
            let u_len = KAPPA * total * 16;
            let h = challenge(batch, &msg[..u_len]);
            let x = u128::from_le_bytes(msg[u_len..u_len + 16].try_into().expect("16"));
            let t = u128::from_le_bytes(msg[u_len + 16..].try_into().expect("16"));
            let lhs = polyval(h, &q);
            let rhs = t ^ field_mul(x, *self.delta);
            if !bool::from(lhs.ct_eq(&rhs)) {
                return Err("the OT-extension correlation check failed".into());
            }
            q.truncate(KAPPA * blocks);
        }
        Ok(q)
    }
}

impl IknpReceiver {
    /// The receiver from the base-OT key pairs it sent.
    pub fn new(seeds: &[[Block; 2]]) -> Result<Self> {
        if seeds.len() != KAPPA {
            return Err(Error::InvalidArgument(format!(
                "IKNP needs {KAPPA} base OTs, got {}",
                seeds.len()
            )));
        }
        Ok(IknpReceiver {
            columns: ReceiverColumns::Iknp(
                seeds
                    .iter()
                    .map(|&[k0, k1]| [AesPrg::new(k0), AesPrg::new(k1)])
                    .collect(),
            ),
            batch: 0,
            scratch: Zeroizing::new(Vec::new()),
            u: Vec::new(),
        })
    }

    /// A SoftSpokenOT receiver with `k` bits per block from the base-OT key pairs it sent; returns it and its
    /// set-up message for the sender ([`IknpSender::soft`]).
    pub fn soft(seeds: &[[Block; 2]], k: usize, rng: &mut impl RngCore) -> Result<(Self, Vec<u8>)> {
        if seeds.len() != KAPPA || !softspoken::valid_k(k) {
            return Err(Error::InvalidArgument(format!(
                "SoftSpokenOT with k = {k} and {} base OTs",
                seeds.len()
            )));
        }
        let (soft, msg) = SoftReceiver::new(seeds, k, rng);
        Ok((
            IknpReceiver {
                columns: ReceiverColumns::Soft(soft),
                batch: 0,
                scratch: Zeroizing::new(Vec::new()),
                u: Vec::new(),
            },
            msg,
        ))
    }

    /// The receiver matching [`IknpSender::split`]: both seeds of every column drawn from their streams.
    pub fn split(&mut self) -> IknpReceiver {
        let mut seed = Zeroizing::new([0u128]);
        let mut next = |p: &mut AesPrg| {
            p.fill(&mut seed[..]);
            AesPrg::new(seed[0])
        };
        IknpReceiver {
            columns: match &mut self.columns {
                ReceiverColumns::Iknp(prgs) => ReceiverColumns::Iknp(
                    prgs.iter_mut()
                        .map(|[g0, g1]| [next(g0), next(g1)])
                        .collect(),
                ),
                ReceiverColumns::Soft(soft) => ReceiverColumns::Soft(soft.split()),
            },
            batch: 0,
            scratch: Zeroizing::new(Vec::new()),
            u: Vec::new(),
        }
    }

    /// Extends `128 * choices.len()` OTs with the packed choice bits (bit `j % 128` of `choices[j / 128]` is
    /// `r_j`). Returns the message for the sender and the `t_j`.
    pub fn extend(
        &mut self,
        choices: &[Block],
        check: Check,
        rng: &mut impl RngCore,
    ) -> (Vec<u8>, Zeroizing<Vec<Block>>) {
        let blocks = choices.len();
        // SoftSpoken columns run without the check (the sender refuses a checked batch of them).
        let soft = matches!(self.columns, ReceiverColumns::Soft(_));
        let check = if soft { Check::None } else { check };
        // Room for the check's blocks up front: a reallocation would leave the choices in freed memory.
        let mut r = Zeroizing::new(Vec::with_capacity(total_blocks(blocks, check)));
        r.extend_from_slice(choices);
        if check == Check::Kos {
            for _ in 0..CHECK_EXTRA_BLOCKS {
                r.push((rng.next_u64() as u128) << 64 | rng.next_u64() as u128);
            }
        }
        let total = r.len();
        let batch = self.batch;
        self.batch += 1;
        let t0 = &mut self.scratch;
        resize_wiped(t0, KAPPA * total);
        let u = &mut self.u;
        match &mut self.columns {
            ReceiverColumns::Iknp(prgs) => {
                u.resize(KAPPA * total, 0);
                for (i, [g0, g1]) in prgs.iter_mut().enumerate() {
                    let col = &mut t0[i * total..(i + 1) * total];
                    let row = &mut u[i * total..(i + 1) * total];
                    g0.fill(col);
                    for ((u, a), r) in row.iter_mut().zip(col.iter()).zip(r.iter()) {
                        *u = a ^ r;
                    }
                    g1.xor_into(row);
                }
            }
            ReceiverColumns::Soft(soft) => {
                u.resize(soft.message_blocks(total), 0);
                soft.columns(&r, t0, u);
            }
        }
        let mut msg = Vec::with_capacity(u.len() * 16 + 32);
        blocks_to_bytes(u, &mut msg);
        let mut t = Zeroizing::new(vec![0u128; KAPPA * total]);
        transpose_columns(t0, total, &mut t);
        if check == Check::Kos {
            let h = challenge(batch, &msg);
            let ones: Zeroizing<Vec<Block>> = Zeroizing::new(
                (0..KAPPA * total)
                    .map(|j| ((r[j / 128] >> (j % 128)) & 1) * POLYVAL_ONE)
                    .collect(),
            );
            let x = polyval(h, &ones);
            let tt = polyval(h, &t);
            msg.extend_from_slice(&x.to_le_bytes());
            msg.extend_from_slice(&tt.to_le_bytes());
            t.truncate(KAPPA * blocks);
        }
        (msg, t)
    }
}

/// Random OTs from correlated ones, for the sender: `(H(q_j), H(q_j xor Delta))`.
pub fn random_ot_sender(q: &[Block], delta: Block) -> Zeroizing<Vec<[Block; 2]>> {
    let mut h0 = Zeroizing::new(q.to_vec());
    let mut h1 = Zeroizing::new(q.iter().map(|x| x ^ delta).collect::<Vec<_>>());
    ccr_hash(&mut h0);
    ccr_hash(&mut h1);
    Zeroizing::new(h0.iter().zip(h1.iter()).map(|(&a, &b)| [a, b]).collect())
}

/// Random OTs from correlated ones, for the receiver: `H(t_j)`.
pub fn random_ot_receiver(t: &[Block]) -> Zeroizing<Vec<Block>> {
    let mut h = Zeroizing::new(t.to_vec());
    ccr_hash(&mut h);
    h
}

/// Both directions of OT extension between this party and one peer.
#[derive(Debug)]
pub struct PairOt {
    /// This party as extension sender (it holds `Delta`) towards the peer.
    pub sender: IknpSender,
    /// This party as extension receiver from the peer.
    pub receiver: IknpReceiver,
}

impl PairOt {
    /// Both directions split ([`IknpSender::split`], [`IknpReceiver::split`]).
    pub fn split(&mut self) -> PairOt {
        PairOt {
            sender: self.sender.split(),
            receiver: self.receiver.split(),
        }
    }
}

/// Runs the base OTs with every peer, both directions at once (two flights), and returns one [`PairOt`] per
/// party id (`None` at this party's own index). With [`Extension::SoftSpoken`] a third flight carries each
/// receiver's GGM set-up to its sender.
pub async fn setup(ctx: &mut Context, extension: Extension) -> Result<Vec<Option<PairOt>>> {
    extension.check_with(Check::None)?;
    let me = ctx.id();
    let peers: Vec<PartyId> = ctx.peers().collect();
    // Flight 1: as base-OT sender (for our extension receiver towards each peer), send A.
    let mut senders = Vec::new();
    for &p in &peers {
        let (s, a) = base::Sender::start(ctx.rng(), me, p);
        ctx.send_bytes(p, a).await?;
        senders.push(s);
    }
    // Flight 2: as base-OT receiver with the bits of a fresh Delta per peer, answer each peer's A.
    let mut deltas = Vec::new();
    let mut receivers = Vec::new();
    for &p in &peers {
        let mut d = [0u8; 16];
        ctx.rng().fill_bytes(&mut d);
        let delta = Zeroizing::new(u128::from_le_bytes(d));
        d.zeroize();
        let bits: Zeroizing<Vec<bool>> =
            Zeroizing::new((0..KAPPA).map(|i| (*delta >> i) & 1 == 1).collect());
        let a = ctx.recv_bytes(p).await?;
        let (r, msg) = match base::Receiver::respond(ctx.rng(), p, me, &a, &bits) {
            Ok(x) => x,
            Err(reason) => return Err(ctx.fail(Error::Malformed { party: p, reason }).await),
        };
        ctx.send_bytes(p, msg).await?;
        deltas.push(delta);
        receivers.push(r);
    }
    let mut ext_receivers = Vec::new();
    for (&p, s) in peers.iter().zip(senders) {
        let pairs = ctx
            .recv_checked(p, |b| s.finish(b, KAPPA).map_err(|e| e.to_string()))
            .await?;
        ext_receivers.push(match extension {
            Extension::Iknp => IknpReceiver::new(&pairs)?,
            Extension::SoftSpoken(k) => {
                // Flight 3: the GGM set-up of our receiver towards `p`.
                let (r, msg) = IknpReceiver::soft(&pairs, k as usize, ctx.rng())?;
                ctx.send_bytes(p, msg).await?;
                r
            }
        });
    }
    let mut out: Vec<Option<PairOt>> = (0..ctx.parties()).map(|_| None).collect();
    for ((&p, r), (receiver, delta)) in peers
        .iter()
        .zip(receivers)
        .zip(ext_receivers.into_iter().zip(deltas))
    {
        let keys = r.keys();
        let sender = match extension {
            Extension::Iknp => IknpSender::new(*delta, &keys)?,
            Extension::SoftSpoken(k) => {
                ctx.recv_checked(p, |b| IknpSender::soft(*delta, &keys, k as usize, b))
                    .await?
            }
        };
        out[p] = Some(PairOt { sender, receiver });
    }
    Ok(out)
}

/// An IKNP sender and receiver with base OTs done in the clear, for the tests of what runs on OT extension.
#[cfg(test)]
pub(crate) fn clear_pair(rng: &mut impl RngCore) -> (Block, IknpSender, IknpReceiver) {
    let delta = (rng.next_u64() as u128) << 64 | rng.next_u64() as u128;
    let pairs: Vec<[Block; 2]> = (0..KAPPA)
        .map(|_| [rng.next_u64() as u128, (rng.next_u64() as u128) << 64])
        .collect();
    let chosen: Vec<Block> = (0..KAPPA)
        .map(|i| pairs[i][((delta >> i) & 1) as usize])
        .collect();
    (
        delta,
        IknpSender::new(delta, &chosen).expect("128 seeds"),
        IknpReceiver::new(&pairs).expect("128 seed pairs"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate;

    fn random_blocks(n: usize) -> Vec<Block> {
        let mut rng = rand::thread_rng();
        (0..n)
            .map(|_| (rng.next_u64() as u128) << 64 | rng.next_u64() as u128)
            .collect()
    }

    fn local_pair() -> (IknpSender, IknpReceiver) {
        let delta = random_blocks(1)[0];
        let pairs: Vec<[Block; 2]> = (0..KAPPA)
            .map(|_| [random_blocks(1)[0], random_blocks(1)[0]])
            .collect();
        let chosen: Vec<Block> = (0..KAPPA)
            .map(|i| pairs[i][((delta >> i) & 1) as usize])
            .collect();
        (
            IknpSender::new(delta, &chosen).unwrap(),
            IknpReceiver::new(&pairs).unwrap(),
        )
    }

    #[test]
    fn correlation_holds_on_every_output() {
        for check in [Check::None, Check::Kos] {
            let (mut s, mut r) = local_pair();
            let mut rng = rand::thread_rng();
            for blocks in [1, 3] {
                let choices = random_blocks(blocks);
                let (msg, t) = r.extend(&choices, check, &mut rng);
                assert_eq!(msg.len(), message_len(blocks, check));
                let q = s.extend(blocks, &msg, check).unwrap();
                assert_eq!((q.len(), t.len()), (128 * blocks, 128 * blocks));
                for j in 0..128 * blocks {
                    let rj = (choices[j / 128] >> (j % 128)) & 1;
                    assert_eq!(q[j] ^ t[j], rj * s.delta(), "OT {j}");
                }
                // Random OT: the receiver gets exactly the chosen message and not the other.
                let (m, k) = (random_ot_sender(&q, s.delta()), random_ot_receiver(&t));
                for j in 0..128 * blocks {
                    let rj = ((choices[j / 128] >> (j % 128)) & 1) as usize;
                    assert_eq!(k[j], m[j][rj]);
                    assert_ne!(k[j], m[j][1 - rj]);
                }
            }
        }
    }

    /// A split pair and the original both keep the correlation, with the same `Delta`, and their outputs
    /// differ (independent streams).
    #[test]
    fn split_streams_keep_the_correlation() {
        let mut rng = rand::thread_rng();
        let (mut s, mut r) = local_pair();
        let choices = random_blocks(2);
        let (msg, _) = r.extend(&choices, Check::None, &mut rng);
        s.extend(2, &msg, Check::None).unwrap();
        let (mut s2, mut r2) = (s.split(), r.split());
        assert_eq!(s2.delta(), s.delta());
        let mut ts = Vec::new();
        for (s, r) in [(&mut s, &mut r), (&mut s2, &mut r2)] {
            for check in [Check::None, Check::Kos] {
                let (msg, t) = r.extend(&choices, check, &mut rng);
                let q = s.extend(2, &msg, check).unwrap();
                for j in 0..256 {
                    let rj = (choices[j / 128] >> (j % 128)) & 1;
                    assert_eq!(q[j] ^ t[j], rj * s.delta(), "OT {j}");
                }
                ts.push(t);
            }
        }
        assert!(ts[0].iter().zip(ts[2].iter()).all(|(a, b)| a != b));
    }

    #[test]
    fn polyval_one_is_the_identity() {
        let a = random_blocks(1)[0];
        assert_eq!(field_mul(a, POLYVAL_ONE), a);
        assert_eq!(field_mul(POLYVAL_ONE, a), a);
    }

    #[test]
    fn correlation_check_rejects_a_tampered_message() {
        let mut rng = rand::thread_rng();
        for tamper in [0usize, 16 * 3 + 5, 128 * 3 * 16 - 1, 128 * 3 * 16 + 7] {
            let (mut s, mut r) = local_pair();
            let choices = random_blocks(1);
            let (mut msg, _) = r.extend(&choices, Check::Kos, &mut rng);
            msg[tamper] ^= 0x10;
            let err = s.extend(1, &msg, Check::Kos).unwrap_err();
            assert!(err.contains("check failed"), "{err}");
        }
        // An honest message passes, and a wrong length is refused without panicking.
        let (mut s, mut r) = local_pair();
        let (msg, _) = r.extend(&random_blocks(2), Check::Kos, &mut rng);
        assert!(s.extend(2, &msg[..msg.len() - 1], Check::Kos).is_err());
        assert!(s.extend(2, &msg, Check::Kos).is_ok());
    }

    /// Base OTs and extension over the in-memory network, every pair, both directions, with IKNP (and the
    /// KOS check) and with SoftSpokenOT (a quarter, a half of the bytes).
    #[tokio::test]
    async fn setup_over_the_network_gives_correlated_ots() {
        let cases = [
            (Extension::Iknp, Check::Kos),
            (Extension::Iknp, Check::None),
            (Extension::SoftSpoken(2), Check::None),
            (Extension::SoftSpoken(4), Check::None),
        ];
        for (extension, check) in cases {
            for n in [2, 3] {
                let out = simulate(n, move |mut ctx| async move {
                    let mut pairs = setup(&mut ctx, extension).await?;
                    let me = ctx.id();
                    let mut deltas = vec![0u128; ctx.parties()];
                    let mut results = Vec::new();
                    for p in ctx.peers().collect::<Vec<_>>() {
                        let pair = pairs[p].as_mut().expect("peer");
                        deltas[p] = pair.sender.delta();
                        // Deterministic choices so that the test can recompute them: party id in every bit.
                        let choices = vec![if me % 2 == 0 { 0 } else { u128::MAX }; 2];
                        let (msg, t) = pair.receiver.extend(&choices, check, ctx.rng());
                        if check == Check::None {
                            assert_eq!(msg.len() as f64, 256.0 * extension.bytes_per_ot());
                        }
                        ctx.send_bytes(p, msg).await?;
                        let got = ctx.recv_bytes(p).await?;
                        let q = pair
                            .sender
                            .extend(2, &got, check)
                            .map_err(crate::Error::Preprocessing)?;
                        results.push((p, t.to_vec(), q.to_vec()));
                    }
                    Ok((deltas, results))
                })
                .await
                .unwrap();
                for (me, (_, results)) in out.iter().enumerate() {
                    for (p, t, _) in results {
                        // My t (as receiver from p) against p's q (as sender to me), with p's Delta.
                        let (deltas_p, results_p) = &out[*p];
                        let q = &results_p.iter().find(|(x, _, _)| *x == me).unwrap().2;
                        let r = if me % 2 == 0 { 0 } else { deltas_p[me] };
                        for j in 0..256 {
                            assert_eq!(q[j] ^ t[j], r, "{extension:?}");
                        }
                    }
                }
            }
        }
        // SoftSpokenOT refuses the KOS check, and k must be 2, 4 or 8.
        assert!(Extension::SoftSpoken(4).check_with(Check::Kos).is_err());
        assert!(Extension::SoftSpoken(3).check_with(Check::None).is_err());
        assert!(Extension::Iknp.check_with(Check::Kos).is_ok());
    }
}
