//! Dot products: row-wise inner products of two shared matrices, with Beaver triples (Beaver 1991), in one
//! round. Each party multiplies element-wise and adds up each row locally.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::preprocessing::Triples;
use crate::protocols::mul::mul;
use crate::ring::Ring;
use crate::share::{Shared, SharedMatrix};

/// The inner product of two shared vectors of equal length, consuming one triple per element.
pub async fn dot<R: Ring>(
    ctx: &mut Context,
    x: &Shared<R>,
    y: &Shared<R>,
    triples: Triples<R>,
) -> Result<Shared<R>> {
    Ok(mul(ctx, x, y, triples).await?.sum())
}

/// For each row `i`, the inner product of row `i` of `x` with row `i` of `y` (both `m x k`), as a vector of
/// `m` shares, consuming `m * k` triples in one round.
pub async fn dot_rows<R: Ring>(
    ctx: &mut Context,
    x: &SharedMatrix<R>,
    y: &SharedMatrix<R>,
    triples: Triples<R>,
) -> Result<Shared<R>> {
    if x.rows() != y.rows() || x.cols() != y.cols() {
        return Err(Error::Shape(format!(
            "row-wise dot products of {}x{} and {}x{}",
            x.rows(),
            x.cols(),
            y.rows(),
            y.cols()
        )));
    }
    let k = x.cols().max(1);
    let products = mul(ctx, x.as_shared(), y.as_shared(), triples).await?;
    Ok(Shared::from_share(
        products
            .share_values()
            .chunks(k)
            .map(|row| row.iter().copied().sum())
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{InsecureSharedSeed, Preprocessing};
    use crate::protocols::open::open;
    use crate::protocols::test_util::{for_parties, random_elems, shares_of};
    use crate::ring::{Fp, Z128, Z64};
    use crate::simulate;

    async fn check<R: Ring>(n: usize) {
        let (m, k) = (7, 13);
        let (x, y) = (random_elems::<R>(m * k), random_elems::<R>(m * k));
        let expected: Vec<R> = (0..m)
            .map(|i| (0..k).map(|j| x[i * k + j] * y[i * k + j]).sum())
            .collect();
        let expected_dot: R = expected.iter().copied().sum();
        let (xs, ys) = (shares_of(&x, n), shares_of(&y, n));
        let out = simulate(n, move |mut ctx| {
            let (xs, ys) = (xs.clone(), ys.clone());
            async move {
                let mut src = InsecureSharedSeed::<R>::for_context([9; 32], &ctx);
                let xm = SharedMatrix::new(m, k, Shared::from_share(xs[ctx.id()].clone()))?;
                let ym = SharedMatrix::new(m, k, Shared::from_share(ys[ctx.id()].clone()))?;
                let t = src.triples(&mut ctx, m * k).await?;
                let rows = dot_rows(&mut ctx, &xm, &ym, t).await?;
                let t = src.triples(&mut ctx, m * k).await?;
                let whole = dot(&mut ctx, xm.as_shared(), ym.as_shared(), t).await?;
                Ok((open(&mut ctx, &rows).await?, open(&mut ctx, &whole).await?))
            }
        })
        .await
        .unwrap();
        for (rows, whole) in out {
            assert_eq!(rows, expected);
            assert_eq!(whole, vec![expected_dot]);
        }
    }

    #[tokio::test]
    async fn dot_products_match_plaintext() {
        for_parties(|n| async move {
            check::<Z64>(n).await;
            check::<Z128>(n).await;
            check::<Fp>(n).await;
        })
        .await;
    }
}
