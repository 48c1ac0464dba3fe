//! `insecure_shared_seed`: every party derives all correlated randomness from one public seed.
//!
//! **Insecure by design**: anyone who knows the seed (every party) can compute every other party's shares, so
//! it protects nothing. It exists to benchmark the online phase alone, and is named insecure wherever it
//! appears. Party 0 computes its corrections itself; no messages are sent.

use std::collections::HashMap;
use std::marker::PhantomData;

use async_trait::async_trait;

use super::correlations::{Corrector, Item, LocalShares, Request};
use super::wrong_item;
use super::{MaskTriple, MaskUse, MatrixMask, MatrixTriple, Preprocessing, Triples, TruncPairs};
use crate::context::Context;
use crate::error::Result;
use crate::prg::Seed;
use crate::ring::Ring;
use crate::share::Shared;

/// Correlated randomness from a public seed. Hides nothing: for benchmarks of the online phase only.
pub struct InsecureSharedSeed<R: Ring> {
    party: usize,
    seed: Seed,
    corrector: Option<Corrector<R>>,
    masks: HashMap<u64, (usize, usize)>,
    next_id: u64,
    _ring: PhantomData<R>,
}

impl<R: Ring> std::fmt::Debug for InsecureSharedSeed<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsecureSharedSeed")
            .field("party", &self.party)
            .finish_non_exhaustive()
    }
}

impl<R: Ring> InsecureSharedSeed<R> {
    /// The source for `party` of `parties`, all of whom must pass the same `public_seed`.
    pub fn new(public_seed: [u8; 32], party: usize, parties: usize) -> Self {
        let master = Seed::from_bytes(public_seed);
        let seeds: Vec<Seed> = (0..parties)
            .map(|i| Seed::from_rng(&mut master.prg(u64::MAX - i as u64)))
            .collect();
        InsecureSharedSeed {
            party,
            seed: seeds[party.min(parties - 1)].clone(),
            corrector: (party == 0).then(|| Corrector::new(seeds)),
            masks: HashMap::new(),
            next_id: 0,
            _ring: PhantomData,
        }
    }

    /// The source for the party `ctx` belongs to.
    pub fn for_context(public_seed: [u8; 32], ctx: &Context) -> Self {
        Self::new(public_seed, ctx.id(), ctx.parties())
    }

    fn next(&mut self, req: Request) -> Result<Item<R>> {
        let id = self.next_id;
        self.next_id += 1;
        let mut local = LocalShares {
            party: self.party,
            seed: &self.seed,
            masks: &mut self.masks,
        };
        match (&mut self.corrector, &req) {
            // Party 0 expands its own a_0, b_0 once and computes c_0 from them.
            (Some(c), &Request::Triples { count, .. }) => {
                let mut item = local.item(id, &req, vec![R::ZERO; count])?;
                let correction = c.correction(id, &req, Some(&item))?;
                if let Item::Triples(t) = &mut item {
                    t.c = correction;
                }
                Ok(item)
            }
            (Some(c), _) => {
                let correction = c.correction(id, &req, None)?;
                local.item(id, &req, correction)
            }
            (None, _) => local.item(id, &req, Vec::new()),
        }
    }
}

impl_preprocessing_via_next!(InsecureSharedSeed, "insecure_shared_seed", |s, ctx, req| {
    let _ = ctx;
    s.next(req)
});
