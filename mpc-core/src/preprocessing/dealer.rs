//! The `dealer` source: a dealer endpoint derives every party's correlated randomness from a per-party ChaCha
//! seed and sends party 0 one correction element per item (the masked-seed dealer of SPDZ-style
//! preprocessing, without MACs).
//!
//! The dealer is an ordinary endpoint of the network (id `n` in a session of `n` computing parties), so the
//! same code runs in memory and over the QUIC mesh, authenticated like any party.
//!
//! Messages: at start the dealer sends each party one 32-byte seed per ring, on that ring's seed channel
//! (`DEALER_CHANNEL - tag`). On [`DEALER_CHANNEL`] party 0 sends
//! each request that needs a correction or that defines a mask, as `[ring tag][request id u64][request]`; the
//! dealer answers with the correction's elements. Other parties send nothing: their shares come from their seed.
//!
//! Trust: the dealer learns nothing about inputs but knows every share of the correlated randomness; it must
//! not collude with any computing party.

use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;

use async_trait::async_trait;

use super::correlations::{Corrector, Item, LocalShares, Request};
use super::wrong_item;
use super::{MaskTriple, MaskUse, MatrixMask, MatrixTriple, Preprocessing, Triples, TruncPairs};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::net::{ChannelId, PartyId};
use crate::prg::Seed;
use crate::ring::{Fp, Ring, Z128, Z64};
use crate::share::Shared;

/// The channel the dealer and the parties talk on, apart from every protocol channel.
pub const DEALER_CHANNEL: ChannelId = u32::MAX - 1;

fn ring_tag<R: Ring>() -> u8 {
    match R::NAME {
        "Z64" => 1,
        "Z128" => 2,
        "Fp" => 3,
        _ => 0,
    }
}

fn seed_channel(tag: u8) -> ChannelId {
    DEALER_CHANNEL - tag as ChannelId
}

/// A computing party's handle on the dealer. One per ring per session.
pub struct DealerSource<R: Ring> {
    ctx: Context,
    dealer: PartyId,
    seed: Seed,
    masks: HashMap<u64, (usize, usize)>,
    next_id: u64,
    /// Requests already sent to the dealer (by [`Preprocessing::announce`]), with their ids, in order.
    announced: VecDeque<(u64, Request)>,
    _ring: PhantomData<R>,
}

impl<R: Ring> std::fmt::Debug for DealerSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DealerSource")
            .field("party", &self.ctx.id())
            .field("dealer", &self.dealer)
            .finish_non_exhaustive()
    }
}

impl<R: Ring> DealerSource<R> {
    /// Receives this party's seed from the session's dealer (the endpoint after the computing parties).
    /// A session has one dealer source per ring: connecting a second time for the same ring is an error.
    pub async fn connect(ctx: &Context) -> Result<Self> {
        let dealer = ctx
            .dealer()
            .ok_or_else(|| Error::Preprocessing("the session has no dealer endpoint".into()))?;
        if !ctx.claim_once(&format!("dealer source {}", R::NAME)) {
            return Err(Error::Preprocessing(format!(
                "a dealer source for {} is already connected",
                R::NAME
            )));
        }
        let mut sctx = ctx.on_channel(seed_channel(ring_tag::<R>()));
        let seed = sctx
            .recv_secret_checked(dealer, |b| {
                Seed::from_slice(b)
                    .ok_or_else(|| format!("a dealer seed is 32 bytes, got {}", b.len()))
            })
            .await?;
        Ok(DealerSource {
            ctx: ctx.on_channel(DEALER_CHANNEL),
            dealer,
            seed,
            masks: HashMap::new(),
            next_id: 0,
            announced: VecDeque::new(),
            _ring: PhantomData,
        })
    }

    /// Party 0 sends the request with this id to the dealer (other parties send nothing).
    async fn send_request(&mut self, id: u64, req: &Request) -> Result<()> {
        if self.ctx.id() == 0 && !matches!(req, Request::Random { .. }) {
            let mut msg = vec![ring_tag::<R>()];
            msg.extend_from_slice(&id.to_le_bytes());
            msg.extend_from_slice(&req.encode());
            self.ctx.send_bytes(self.dealer, msg).await?;
        }
        Ok(())
    }

    async fn announce_requests(&mut self, upcoming: &[Request]) -> Result<()> {
        for req in upcoming {
            let id = self.next_id;
            self.next_id += 1;
            self.send_request(id, req).await?;
            self.announced.push_back((id, req.clone()));
        }
        Ok(())
    }

    async fn next(&mut self, req: Request) -> Result<Item<R>> {
        let id = match self.announced.pop_front() {
            Some((id, announced)) if announced == req => id,
            Some((_, announced)) => {
                return Err(Error::Preprocessing(format!(
                    "internal: {req:?} requested where {announced:?} was announced"
                )))
            }
            None => {
                let id = self.next_id;
                self.next_id += 1;
                self.send_request(id, &req).await?;
                id
            }
        };
        let correction_len = LocalShares {
            party: self.ctx.id(),
            seed: &self.seed,
            masks: &mut self.masks,
        }
        .correction_len::<R>(&req)?;
        let mut correction = Vec::new();
        if self.ctx.id() == 0 && correction_len > 0 && !matches!(req, Request::Random { .. }) {
            // Party 0's share part: the received bytes are wiped, the vector moves into the item.
            let mut received = self
                .ctx
                .recv_secret_elems::<R>(self.dealer, correction_len)
                .await?;
            correction = std::mem::take(&mut *received);
        }
        LocalShares {
            party: self.ctx.id(),
            seed: &self.seed,
            masks: &mut self.masks,
        }
        .item(id, &req, correction)
    }
}

impl_preprocessing_via_next!(DealerSource, "dealer", |s, ctx, req| {
    let _ = ctx;
    s.next(req).await
}, extra {
    async fn announce(&mut self, _ctx: &mut Context, upcoming: &[Request]) -> Result<()> {
        self.announce_requests(upcoming).await
    }
});

struct RingState<R: Ring> {
    corrector: Corrector<R>,
    last_id: Option<u64>,
}

impl<R: Ring> RingState<R> {
    /// Draws a fresh seed per party and sends each party its own on this ring's seed channel.
    async fn start(ctx: &Context) -> Result<Self> {
        let seeds: Vec<Seed> = (0..ctx.parties()).map(|_| Seed::random()).collect();
        let mut sctx = ctx.on_channel(seed_channel(ring_tag::<R>()));
        for (party, seed) in seeds.iter().enumerate() {
            sctx.send_bytes(party, seed.expose_bytes().to_vec()).await?;
        }
        Ok(RingState::with_seeds(seeds))
    }

    fn with_seeds(seeds: Vec<Seed>) -> Self {
        RingState {
            corrector: Corrector::new(seeds),
            last_id: None,
        }
    }

    fn answer(&mut self, id: u64, req: &Request) -> std::result::Result<Vec<u8>, String> {
        if self.last_id.is_some_and(|last| id <= last) {
            return Err(format!(
                "request id {id} does not follow {}",
                self.last_id.unwrap_or_default()
            ));
        }
        self.last_id = Some(id);
        let correction = zeroize::Zeroizing::new(
            self.corrector
                .correction(id, req, None)
                .map_err(|e| e.to_string())?,
        );
        Ok(R::encode_slice(&correction))
    }
}

/// Decodes one message party 0 sends the dealer: `[ring tag][request id u64 LE][request]`. Returns the ring
/// tag (1 = Z64, 2 = Z128, 3 = Fp), the id and the request, or why the bytes are refused (too short, an
/// unknown ring tag, a request that does not decode or asks for more than the dealer serves at once).
pub fn decode_dealer_message(msg: &[u8]) -> std::result::Result<(u8, u64, Request), String> {
    if msg.len() < 9 {
        return Err(format!("a dealer request of {} bytes", msg.len()));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&msg[1..9]);
    let id = u64::from_le_bytes(id);
    match msg[0] {
        tag @ 1..=3 => Ok((tag, id, Request::decode(&msg[9..])?)),
        t => Err(format!("unknown ring tag {t}")),
    }
}

/// The dealer's state for its three rings: each party's seed per ring and the last request id answered.
/// [`serve`] draws the seeds and runs one over the network; [`Dealer::with_seeds`] builds one from given
/// seeds, so the answer to a party's bytes can be computed (and tested) without a network.
pub struct Dealer {
    z64: RingState<Z64>,
    z128: RingState<Z128>,
    fp: RingState<Fp>,
}

impl std::fmt::Debug for Dealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dealer(<redacted>)")
    }
}

impl Dealer {
    /// A dealer whose party `i` holds `z64[i]`, `z128[i]` and `fp[i]` as its seeds for the three rings.
    pub fn with_seeds(z64: Vec<Seed>, z128: Vec<Seed>, fp: Vec<Seed>) -> Self {
        Dealer {
            z64: RingState::with_seeds(z64),
            z128: RingState::with_seeds(z128),
            fp: RingState::with_seeds(fp),
        }
    }

    /// The answer to one message of party 0 ([`decode_dealer_message`]): the correction's elements, encoded
    /// (empty for a request that needs none). An error if the message does not decode, its id does not
    /// follow the previous one on its ring, or the request cannot be served (a mask id never defined, say).
    pub fn answer(&mut self, msg: &[u8]) -> std::result::Result<Vec<u8>, String> {
        let (tag, id, req) = decode_dealer_message(msg)?;
        match tag {
            1 => self.z64.answer(id, &req),
            2 => self.z128.answer(id, &req),
            _ => self.fp.answer(id, &req),
        }
    }
}

/// Runs the dealer until party 0 leaves the session. `ctx` is the dealer's context (its id is the number of
/// computing parties). Returns an error if a party aborts or sends a malformed request.
pub async fn serve(ctx: Context) -> Result<()> {
    let mut dealer = Dealer {
        z64: RingState::start(&ctx).await?,
        z128: RingState::start(&ctx).await?,
        fp: RingState::start(&ctx).await?,
    };
    let mut ctx = ctx.on_channel(DEALER_CHANNEL);
    loop {
        let Some(msg) = ctx.recv_bytes_or_end(0).await? else {
            return Ok(());
        };
        match dealer.answer(&msg) {
            Ok(bytes) if bytes.is_empty() => {}
            Ok(bytes) => ctx.send_bytes(0, bytes).await?,
            Err(reason) => return Err(ctx.fail(Error::Malformed { party: 0, reason }).await),
        }
    }
}
