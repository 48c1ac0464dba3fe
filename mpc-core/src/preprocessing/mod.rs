//! Correlated randomness for the online protocols, behind one trait, consumed by move.
//!
//! A Beaver triple used twice, or a truncation mask used twice, leaks the secrets it masked; so every item here
//! is a move-only type that a protocol consumes, and nothing hands out a copy.
//!
//! Sources:
//! - [`DealerSource`]: a dealer endpoint (an ordinary party on the network, authenticated like any other)
//!   derives every party's shares from a per-party ChaCha seed, and sends party 0 one correction element per
//!   item. Trust: the dealer must not collude with any party.
//! - [`InsecureSharedSeed`]: every party derives everything from one public seed. It hides nothing and exists
//!   only to benchmark the online phase alone.
//! - [`OtSource`] (`ot`): no third party; base OTs on Ristretto, IKNP OT extension and Gilboa multiplication
//!   make every cross term pairwise. Trust: semi-honest, any `n - 1` parties may collude.

/// The error for a source whose internal bookkeeping produced the wrong kind of item.
pub(crate) fn wrong_item() -> Error {
    Error::Preprocessing("internal: the source produced an item of the wrong kind".into())
}

/// Implements [`Preprocessing`] for a source with a `next(&mut self, ctx, Request) -> Result<Item<R>>`.
macro_rules! impl_preprocessing_via_next {
    ($ty:ident, $name:expr, |$s:ident, $ctx:ident, $req:ident| $next:expr $(, extra { $($extra:tt)* })?) => {
        #[async_trait]
        impl<R: Ring> Preprocessing<R> for $ty<R> {
            fn name(&self) -> &'static str {
                $name
            }
            $($($extra)*)?
            async fn triples(&mut self, ctx: &mut Context, count: usize) -> Result<Triples<R>> {
                let ($s, $ctx, $req) = (self, ctx, Request::Triples { count, a_bits: None });
                match $next? {
                    Item::Triples(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
            async fn triples_bounded(
                &mut self,
                ctx: &mut Context,
                count: usize,
                a_bits: u32,
            ) -> Result<Triples<R>> {
                let req = Request::Triples {
                    count,
                    a_bits: Some(a_bits),
                };
                let ($s, $ctx, $req) = (self, ctx, req);
                match $next? {
                    Item::Triples(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
            async fn matrix_triple(
                &mut self,
                ctx: &mut Context,
                m: usize,
                k: usize,
                n: usize,
            ) -> Result<MatrixTriple<R>> {
                let ($s, $ctx, $req) = (self, ctx, Request::MatrixTriple { m, k, n });
                match $next? {
                    Item::MatrixTriple(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
            async fn matrix_mask(
                &mut self,
                ctx: &mut Context,
                m: usize,
                k: usize,
            ) -> Result<MatrixMask<R>> {
                let ($s, $ctx, $req) = (self, ctx, Request::MatrixMask { m, k });
                match $next? {
                    Item::MatrixMask(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
            async fn mask_triple(
                &mut self,
                ctx: &mut Context,
                mask: &MatrixMask<R>,
                using: MaskUse,
            ) -> Result<MaskTriple<R>> {
                let ($s, $ctx, $req) = (
                    self,
                    ctx,
                    Request::MaskTriple {
                        mask: mask.id(),
                        using,
                    },
                );
                match $next? {
                    Item::MaskTriple(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
            async fn trunc_pairs(
                &mut self,
                ctx: &mut Context,
                count: usize,
                frac_bits: u32,
            ) -> Result<TruncPairs<R>> {
                let ($s, $ctx, $req) = (self, ctx, Request::Trunc { count, frac_bits });
                match $next? {
                    Item::Trunc(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
            async fn random(&mut self, ctx: &mut Context, count: usize) -> Result<Shared<R>> {
                let ($s, $ctx, $req) = (self, ctx, Request::Random { count });
                match $next? {
                    Item::Random(t) => Ok(Shared::from_share(t)),
                    _ => Err(wrong_item()),
                }
            }
            async fn squares(
                &mut self,
                ctx: &mut Context,
                count: usize,
                products: bool,
                mask_bits: u32,
            ) -> Result<$crate::preprocessing::Squares<R>> {
                let ($s, $ctx, $req) = (
                    self,
                    ctx,
                    Request::Squares {
                        count,
                        products,
                        mask_bits,
                    },
                );
                match $next? {
                    Item::Squares(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
            async fn bit_triples(
                &mut self,
                ctx: &mut Context,
                words: usize,
            ) -> Result<$crate::preprocessing::BitTriples> {
                let ($s, $ctx, $req) = (self, ctx, Request::BitTriples { words });
                match $next? {
                    Item::BitTriples(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
            async fn dabits(
                &mut self,
                ctx: &mut Context,
                count: usize,
            ) -> Result<$crate::preprocessing::DaBits<R>> {
                let ($s, $ctx, $req) = (self, ctx, Request::DaBits { count });
                match $next? {
                    Item::DaBits(t) => Ok(t),
                    _ => Err(wrong_item()),
                }
            }
        }
    };
}

mod bit_items;
mod correlations;
pub mod dealer;
mod items;
mod ot_source;
mod shared_seed;

pub use bit_items::{lane, words_for, BitTriples, DaBits, LANES};
pub use correlations::Request;
pub use dealer::{decode_dealer_message, Dealer, DealerSource};
pub use items::{MaskTriple, MatrixMask, MatrixTriple, Squares, Triples, TruncPairs};
pub use ot_source::{
    triple_bytes_per_peer, trunc_hiding_bits, trunc_mask_bits, OtConfig, OtRequest, OtSource,
    PregenReport, Recorder,
};
pub use shared_seed::InsecureSharedSeed;

use async_trait::async_trait;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ring::Ring;
use crate::share::Shared;

/// Sizes of the statistically hiding parts of the mask triples of owned masks
/// ([`Preprocessing::owned_mask`]), chosen per run from its public plan so that the run's summed statistical
/// distance stays within its security parameter (see `OtConfig::owned_operand_bits` and
/// `OtConfig::pad_hiding_bits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnedHiding {
    /// Bits of each party's share of `B` (at most the ring's: then uniform).
    pub operand_bits: u32,
    /// Bits by which the short Gilboa pads exceed the owners' value bound.
    pub pad_hiding_bits: u32,
}

/// Which rows of a [`MatrixMask`] a [`MaskTriple`] is for, and whether the mask is used transposed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskUse {
    /// First row of the mask used.
    pub row_start: usize,
    /// One past the last row used.
    pub row_end: usize,
    /// If true the product is `A[rows]^T * B`, else `A[rows] * B`.
    pub transpose: bool,
    /// Columns of `B`.
    pub cols: usize,
}

/// A source of correlated randomness for ring `R`. Every party of a session must make the same sequence of
/// requests (the protocols guarantee it: request shapes depend only on public sizes).
#[async_trait]
pub trait Preprocessing<R: Ring>: Send {
    /// Short name for reports (`"dealer"`, `"insecure_shared_seed"`, `"ot"`).
    fn name(&self) -> &'static str;

    /// `count` Beaver triples `c = a * b`.
    async fn triples(&mut self, ctx: &mut Context, count: usize) -> Result<Triples<R>>;

    /// `count` Beaver triples whose `a` a source may draw with each party's share below `2^a_bits` (the
    /// `ot` source does: one OT per bit of `a` in each direction of every pair, instead of one per bit of
    /// `b`), so that `x - a` then hides `x` only statistically, with about `a_bits - log2|x|` bits. `b` is
    /// always uniform. The dealer's triples are uniform.
    async fn triples_bounded(
        &mut self,
        ctx: &mut Context,
        count: usize,
        a_bits: u32,
    ) -> Result<Triples<R>>;

    /// A matrix triple `C = A * B` with `A` of `m x k` and `B` of `k x n`.
    async fn matrix_triple(
        &mut self,
        ctx: &mut Context,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<MatrixTriple<R>>;

    /// A random `m x k` mask `A` to be reused across many products with the same left operand (SecureML).
    async fn matrix_mask(&mut self, ctx: &mut Context, m: usize, k: usize)
        -> Result<MatrixMask<R>>;

    /// `B` and `C = A[rows] * B` (or `A[rows]^T * B`) for a mask from [`Preprocessing::matrix_mask`].
    async fn mask_triple(
        &mut self,
        ctx: &mut Context,
        mask: &MatrixMask<R>,
        using: MaskUse,
    ) -> Result<MaskTriple<R>>;

    /// `count` truncation pairs `(r, r >> frac_bits)` with `r` uniform in the ring.
    async fn trunc_pairs(
        &mut self,
        ctx: &mut Context,
        count: usize,
        frac_bits: u32,
    ) -> Result<TruncPairs<R>>;

    /// `count` uniformly random shared elements.
    async fn random(&mut self, ctx: &mut Context, count: usize) -> Result<Shared<R>>;

    /// `count` square pairs `(a, a^2)`, with `products` each also with `(b, a b)` for the same `a`
    /// ([`Squares`]). A source may draw each party's share of `a` below `2^mask_bits` (the `ot` source does:
    /// one OT per bit of `a`), so that `x - a` then hides `x` only statistically, with about
    /// `mask_bits - log2|x|` bits; `R::BITS` asks for a uniform `a`. `b` is always uniform.
    async fn squares(
        &mut self,
        ctx: &mut Context,
        count: usize,
        products: bool,
        mask_bits: u32,
    ) -> Result<Squares<R>>;

    /// `words` words of AND triples on XOR-shared bits (128 per word): `c = a & b` lane by lane, for the
    /// boolean circuits of [`crate::protocols::compare`]. Only power-of-two rings' sources offer them.
    async fn bit_triples(&mut self, ctx: &mut Context, words: usize) -> Result<BitTriples>;

    /// `count` random bits, each XOR-shared and additively shared in `R` ([`DaBits`]): they carry a bit
    /// from a boolean circuit back to the ring ([`crate::protocols::compare::bits_to_ring`]).
    async fn dabits(&mut self, ctx: &mut Context, count: usize) -> Result<DaBits<R>>;

    /// A mask equal to a matrix whose rows are each held in the clear by one party (horizontally partitioned
    /// data): `owners` lists `(party, rows)` segments covering its rows in order, and `values` is this
    /// party's share, its own rows' values with zeros elsewhere. Then `E = X - A` is zero and needs no
    /// opening ([`crate::protocols::matmul::MaskedMatrix::owned`]), and a source may make mask triples from
    /// the cross terms between each row's owner and the other parties only. Every value is below
    /// `2^value_bits` in magnitude (signed; a public bound, the same at every party: a value beyond it is an
    /// error), which lets the `ot` source send shorter corrections. `None` if the source cannot use it (a
    /// dealer never sees data): use [`Preprocessing::matrix_mask`] then. The default returns `None`.
    async fn owned_mask(
        &mut self,
        ctx: &mut Context,
        owners: &[(crate::net::PartyId, usize)],
        k: usize,
        values: Vec<R>,
        value_bits: u32,
    ) -> Result<Option<MatrixMask<R>>> {
        let _ = (ctx, owners, k, value_bits);
        // The caller's values are this party's rows: wiped, not just dropped.
        drop(zeroize::Zeroizing::new(values));
        Ok(None)
    }

    /// Sizes the bounded masks of the mask triples of owned masks made from now on (every party the same).
    /// The default ignores it: sources whose masks are uniform.
    fn size_owned_hiding(&mut self, hiding: OwnedHiding) -> Result<()> {
        let _ = hiding;
        Ok(())
    }

    /// Tells the source the requests that will follow, in order (every party the same), so that a source
    /// served by a third party can send them all at once: with the dealer a batch then costs one round trip
    /// instead of one per item. Requests that differ from the announced ones are an error. The default does
    /// nothing.
    async fn announce(&mut self, ctx: &mut Context, upcoming: &[Request]) -> Result<()> {
        let _ = (ctx, upcoming);
        Ok(())
    }
}
