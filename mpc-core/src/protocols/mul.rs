//! Beaver multiplication (Beaver, "Efficient multiparty protocols using circuit randomization", CRYPTO 1991).
//!
//! Given a triple `c = a * b`, the parties open `d = x - a` and `e = y - b` together (one round, one message
//! per peer) and compute `x * y = c + d*b + e*a + d*e` locally, party 0 adding the public `d*e`.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::preprocessing::Triples;
use crate::protocols::open::open_owned;
use crate::ring::Ring;
use crate::share::Shared;

/// Element-wise product of two shared vectors, consuming one triple per element.
pub async fn mul<R: Ring>(
    ctx: &mut Context,
    x: &Shared<R>,
    y: &Shared<R>,
    triples: Triples<R>,
) -> Result<Shared<R>> {
    let n = x.len();
    if y.len() != n || triples.len() != n {
        return Err(Error::Shape(format!(
            "multiplying vectors of {} and {} elements with {} triples",
            n,
            y.len(),
            triples.len()
        )));
    }
    let mut masked = Vec::with_capacity(2 * n);
    masked.extend(
        x.share_values()
            .iter()
            .zip(&triples.a)
            .map(|(&x, &a)| x - a),
    );
    masked.extend(
        y.share_values()
            .iter()
            .zip(&triples.b)
            .map(|(&y, &b)| y - b),
    );
    let opened = open_owned(ctx, Shared::from_share(masked)).await?;
    let (d, e) = opened.split_at(n);
    beaver_local(ctx.is_leader(), d, e, triples)
}

/// The local half of Beaver multiplication: `x * y` from the opened `d = x - a` and `e = y - b`, consuming the
/// triples. `leader` adds the public `d * e`. For protocols that open `d` and `e` together with other values
/// (see [`crate::protocols::fused`]).
pub fn beaver_local<R: Ring>(
    leader: bool,
    d: &[R],
    e: &[R],
    mut triples: Triples<R>,
) -> Result<Shared<R>> {
    if d.len() != triples.len() || e.len() != triples.len() {
        return Err(Error::Shape(format!(
            "{} and {} opened differences for {} triples",
            d.len(),
            e.len(),
            triples.len()
        )));
    }
    let mut z = std::mem::take(&mut triples.c);
    let terms = z.iter_mut().zip(d).zip(e).zip(&triples.a).zip(&triples.b);
    if leader {
        terms.for_each(|((((z, &d), &e), &a), &b)| *z += d * b + e * a + d * e);
    } else {
        terms.for_each(|((((z, &d), &e), &a), &b)| *z += d * b + e * a);
    }
    Ok(Shared::from_share(z))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{DealerSource, InsecureSharedSeed, Preprocessing};
    use crate::protocols::test_util::{for_parties, random_elems, shares_of};
    use crate::ring::{Fp, Z128, Z64};
    use crate::simulate::{collect, simulate_with, SimOptions};

    async fn check<R: Ring>(n: usize, dealer: bool) {
        let len = 257;
        let (x, y) = (random_elems::<R>(len), random_elems::<R>(len));
        let expected: Vec<R> = x.iter().zip(&y).map(|(&a, &b)| a * b).collect();
        let (xs, ys) = (shares_of(&x, n), shares_of(&y, n));
        let opts = SimOptions {
            dealer,
            ..Default::default()
        };
        let out = simulate_with(opts, n, move |mut ctx| {
            let (xs, ys) = (xs.clone(), ys.clone());
            async move {
                let mut source: Box<dyn Preprocessing<R>> = if dealer {
                    Box::new(DealerSource::connect(&ctx).await?)
                } else {
                    Box::new(InsecureSharedSeed::for_context([3; 32], &ctx))
                };
                let t = source.triples(&mut ctx, len).await?;
                let x = Shared::from_share(xs[ctx.id()].clone());
                let y = Shared::from_share(ys[ctx.id()].clone());
                let z = mul(&mut ctx, &x, &y, t).await?;
                let rounds = ctx.stats().rounds;
                Ok((crate::protocols::open::open(&mut ctx, &z).await?, rounds))
            }
        })
        .await
        .unwrap();
        for (z, rounds) in collect(out).unwrap() {
            assert_eq!(z, expected);
            // One round for the multiplication (the dealer's round trip to party 0 comes first).
            assert!(rounds <= 2);
        }
    }

    #[tokio::test]
    async fn beaver_matches_plaintext() {
        for_parties(|n| async move {
            for dealer in [false, true] {
                check::<Z64>(n, dealer).await;
                check::<Z128>(n, dealer).await;
                check::<Fp>(n, dealer).await;
            }
        })
        .await;
    }

    #[tokio::test]
    async fn shape_mismatch_is_an_error() {
        let out = crate::simulate(2, |mut ctx| async move {
            let mut src = InsecureSharedSeed::<Z64>::for_context([0; 32], &ctx);
            let t = src.triples(&mut ctx, 3).await?;
            mul(&mut ctx, &Shared::zeros(4), &Shared::zeros(4), t).await
        })
        .await;
        assert!(matches!(out, Err(Error::Shape(_))));
    }
}
