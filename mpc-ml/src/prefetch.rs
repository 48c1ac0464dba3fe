//! Correlated randomness fetched before the gradient steps, so that the steps themselves exchange only
//! protocol messages (with a dealer, party 0 would otherwise wait for the dealer at every request).
//!
//! [`Prefetched`] serves the requests of the steps from queues, one per kind of item, in the order they were
//! fetched; a request of another shape than the next item is an error (it would mean the plan and the steps
//! disagree), never a silent reuse. Items are consumed by move, as everywhere. The whole plan is announced
//! to the source first ([`Preprocessing::announce`]), so a dealer answers an epoch's requests in one round
//! trip.

use std::collections::VecDeque;

use async_trait::async_trait;
use mpc_core::preprocessing::{
    BitTriples, DaBits, MaskTriple, MaskUse, MatrixMask, MatrixTriple, Preprocessing, Request,
    Squares, Triples, TruncPairs,
};
use mpc_core::{Context, Error, Result, Shared, Z128};

/// One request of the steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// Beaver triples: count and the bits of each party's share of `a`
    /// ([`Preprocessing::triples_bounded`]).
    Triples(usize, u32),
    /// Square pairs: count, whether with products, and the bits of each party's share of the mask.
    Squares(usize, bool, u32),
    /// Truncation pairs: count and fractional bits.
    Trunc(usize, u32),
    /// A triple for the masked data matrix.
    Mask(MaskUse),
    /// Words of AND triples on bits.
    BitTriples(usize),
    /// daBits.
    DaBits(usize),
}

/// Items fetched ahead, served in order.
pub(crate) struct Prefetched {
    triples: VecDeque<(u32, Triples<Z128>)>,
    squares: VecDeque<Squares<Z128>>,
    truncs: VecDeque<TruncPairs<Z128>>,
    masks: VecDeque<(MaskUse, MaskTriple<Z128>)>,
    bits: VecDeque<BitTriples>,
    dabits: VecDeque<DaBits<Z128>>,
}

impl Prefetched {
    /// Fetches every item of `needs` from `source`, in order.
    pub(crate) async fn fetch(
        ctx: &mut Context,
        source: &mut dyn Preprocessing<Z128>,
        mask: &MatrixMask<Z128>,
        needs: impl IntoIterator<Item = Need>,
    ) -> Result<Self> {
        let mut p = Prefetched {
            triples: VecDeque::new(),
            squares: VecDeque::new(),
            truncs: VecDeque::new(),
            masks: VecDeque::new(),
            bits: VecDeque::new(),
            dabits: VecDeque::new(),
        };
        let needs: Vec<Need> = needs.into_iter().collect();
        let requests: Vec<Request> = needs
            .iter()
            .map(|need| match *need {
                Need::Triples(count, a_bits) => Request::Triples {
                    count,
                    a_bits: Some(a_bits),
                },
                Need::Squares(count, products, mask_bits) => Request::Squares {
                    count,
                    products,
                    mask_bits,
                },
                Need::Trunc(count, frac_bits) => Request::Trunc { count, frac_bits },
                Need::Mask(ref using) => Request::MaskTriple {
                    mask: mask.id(),
                    using: using.clone(),
                },
                Need::BitTriples(words) => Request::BitTriples { words },
                Need::DaBits(count) => Request::DaBits { count },
            })
            .collect();
        source.announce(ctx, &requests).await?;
        for need in needs {
            match need {
                Need::Triples(n, bits) => p
                    .triples
                    .push_back((bits, source.triples_bounded(ctx, n, bits).await?)),
                Need::Squares(n, products, bits) => p
                    .squares
                    .push_back(source.squares(ctx, n, products, bits).await?),
                Need::Trunc(n, bits) => p.truncs.push_back(source.trunc_pairs(ctx, n, bits).await?),
                Need::Mask(using) => {
                    let t = source.mask_triple(ctx, mask, using.clone()).await?;
                    p.masks.push_back((using, t));
                }
                Need::BitTriples(words) => p.bits.push_back(source.bit_triples(ctx, words).await?),
                Need::DaBits(count) => p.dabits.push_back(source.dabits(ctx, count).await?),
            }
        }
        Ok(p)
    }

    /// The next mask triple, which must be for `using`.
    pub(crate) fn mask_triple_for(&mut self, using: &MaskUse) -> Result<MaskTriple<Z128>> {
        match self.masks.pop_front() {
            Some((u, t)) if &u == using => Ok(t),
            _ => Err(plan_error("a mask triple")),
        }
    }
}

fn plan_error(what: &str) -> Error {
    Error::Preprocessing(format!(
        "internal: {what} was requested that the plan did not fetch"
    ))
}

#[async_trait]
impl Preprocessing<Z128> for Prefetched {
    fn name(&self) -> &'static str {
        "prefetched"
    }

    async fn triples(&mut self, _ctx: &mut Context, _count: usize) -> Result<Triples<Z128>> {
        Err(plan_error("uniform triples"))
    }

    async fn triples_bounded(
        &mut self,
        _ctx: &mut Context,
        count: usize,
        a_bits: u32,
    ) -> Result<Triples<Z128>> {
        match self.triples.pop_front() {
            Some((bits, t)) if t.len() == count && bits == a_bits => Ok(t),
            _ => Err(plan_error("triples")),
        }
    }

    async fn matrix_triple(
        &mut self,
        _: &mut Context,
        _: usize,
        _: usize,
        _: usize,
    ) -> Result<MatrixTriple<Z128>> {
        Err(plan_error("a matrix triple"))
    }

    async fn matrix_mask(
        &mut self,
        _: &mut Context,
        _: usize,
        _: usize,
    ) -> Result<MatrixMask<Z128>> {
        Err(plan_error("a matrix mask"))
    }

    async fn mask_triple(
        &mut self,
        _: &mut Context,
        _: &MatrixMask<Z128>,
        using: MaskUse,
    ) -> Result<MaskTriple<Z128>> {
        self.mask_triple_for(&using)
    }

    async fn trunc_pairs(
        &mut self,
        _ctx: &mut Context,
        count: usize,
        frac_bits: u32,
    ) -> Result<TruncPairs<Z128>> {
        match self.truncs.pop_front() {
            Some(t) if t.len() == count && t.frac_bits() == frac_bits => Ok(t),
            _ => Err(plan_error("truncation pairs")),
        }
    }

    async fn random(&mut self, _: &mut Context, _: usize) -> Result<Shared<Z128>> {
        Err(plan_error("random shares"))
    }

    async fn squares(
        &mut self,
        _ctx: &mut Context,
        count: usize,
        products: bool,
        _mask_bits: u32,
    ) -> Result<Squares<Z128>> {
        match self.squares.pop_front() {
            Some(t) if t.len() == count && (count == 0 || t.has_products() == products) => Ok(t),
            _ => Err(plan_error("square pairs")),
        }
    }

    async fn bit_triples(&mut self, _ctx: &mut Context, words: usize) -> Result<BitTriples> {
        match self.bits.pop_front() {
            Some(t) if t.words() == words => Ok(t),
            _ => Err(plan_error("bit triples")),
        }
    }

    async fn dabits(&mut self, _ctx: &mut Context, count: usize) -> Result<DaBits<Z128>> {
        match self.dabits.pop_front() {
            Some(t) if t.len() == count => Ok(t),
            _ => Err(plan_error("daBits")),
        }
    }
}
