//! Matrix multiplication with matrix triples, and the SecureML reuse of a masked left operand.
//!
//! With a matrix triple `C = A B` the parties open `E = X - A` and `F = Y - B` in one round and compute
//! `X Y = C + E B + A F + E F` locally (party 0 adds the public `E F`). Communication is `m k + k n`
//! elements instead of the `m k n` of element-wise triples. With uniform `A` and `B`, used for nothing else,
//! `E` and `F` are uniform and independent of `X` and `Y`: they reveal nothing. (The `ot` source's mask
//! triples of an owned mask may bound `B`: see `OtConfig::owned_operand_bits` in
//! [`crate::preprocessing`].)
//!
//! SecureML (Mohassel and Zhang, "SecureML: A System for Scalable Privacy-Preserving Machine Learning",
//! IEEE S&P 2017, section 4.2): when the left operand `X` stays fixed across many products (the data matrix
//! across training iterations), `E = X - A` is opened once ([`MaskedMatrix::open`]) and every later product
//! opens only `F = Y - B` for the small right operand. Sub-blocks of rows (mini-batches) and their
//! transposes reuse the same `E`, each with its own [`MaskTriple`] from the source.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::preprocessing::{MaskTriple, MaskUse, MatrixMask, MatrixTriple};
use crate::protocols::open::open_owned;
use crate::ring::Ring;
use crate::share::{Shared, SharedMatrix};

/// `X Y` for `X` of `m x k` and `Y` of `k x n`, consuming a matrix triple of that shape, in one round.
pub async fn matmul<R: Ring>(
    ctx: &mut Context,
    x: &SharedMatrix<R>,
    y: &SharedMatrix<R>,
    mut t: MatrixTriple<R>,
) -> Result<SharedMatrix<R>> {
    let (m, k, n) = (x.rows(), x.cols(), y.cols());
    if y.rows() != k || t.shape() != (m, k, n) {
        return Err(Error::Shape(format!(
            "{}x{} times {}x{} with a triple for {:?}",
            m,
            k,
            y.rows(),
            n,
            t.shape()
        )));
    }
    let mut masked = Vec::with_capacity(m * k + k * n);
    masked.extend(
        x.as_shared()
            .share_values()
            .iter()
            .zip(&t.a)
            .map(|(&x, &a)| x - a),
    );
    masked.extend(
        y.as_shared()
            .share_values()
            .iter()
            .zip(&t.b)
            .map(|(&y, &b)| y - b),
    );
    let opened = open_owned(ctx, Shared::from_share(masked)).await?;
    let (e, f) = opened.split_at(m * k);
    let mut z = std::mem::take(&mut t.c);
    beaver_matrix_local(&mut z, e, &t.a, &t.b, f, ctx.is_leader(), (m, k, n), false);
    SharedMatrix::new(m, n, Shared::from_share(z))
}

/// `z += E B + A F`, plus `E F` for the leader, as `E (B + F) + A F`: two products instead of three, each
/// accumulated into `z` with no temporary. `E` and `A` are `m x k` row-major, or stored transposed
/// (`k x m` row-major) if `transposed`; `B` and `F` are `k x n`.
#[allow(clippy::too_many_arguments)]
fn beaver_matrix_local<R: Ring>(
    z: &mut [R],
    e: &[R],
    a: &[R],
    b: &[R],
    f: &[R],
    leader: bool,
    (m, k, n): (usize, usize, usize),
    transposed: bool,
) {
    let bf: Vec<R>;
    let right = if leader {
        bf = b.iter().zip(f).map(|(&b, &f)| b + f).collect();
        &bf[..]
    } else {
        b
    };
    matmul_acc(z, e, right, (m, k, n), transposed);
    matmul_acc(z, a, f, (m, k, n), transposed);
}

/// `z += x y` for `x` `m x k` (stored as `k x m` if `transposed`) and `y` `k x n`, all row-major.
fn matmul_acc<R: Ring>(
    z: &mut [R],
    x: &[R],
    y: &[R],
    (m, k, n): (usize, usize, usize),
    transposed: bool,
) {
    for i in 0..m {
        let row = &mut z[i * n..(i + 1) * n];
        for t in 0..k {
            let xit = if transposed {
                x[t * m + i]
            } else {
                x[i * k + t]
            };
            row.iter_mut()
                .zip(&y[t * n..(t + 1) * n])
                .for_each(|(o, &ytj)| *o += xit * ytj);
        }
    }
}

/// A shared matrix `X` whose masked value `E = X - A` has been opened once, for reuse in many products.
///
/// Opening `E` reveals nothing: `A` is uniformly random and used only here.
pub struct MaskedMatrix<R: Ring> {
    rows: usize,
    cols: usize,
    e: Vec<R>,
    mask: MatrixMask<R>,
}

impl<R: Ring> std::fmt::Debug for MaskedMatrix<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MaskedMatrix<{}>[{}x{}; <redacted>]",
            R::NAME,
            self.rows,
            self.cols
        )
    }
}

impl<R: Ring> MaskedMatrix<R> {
    /// Opens `E = X - A` (one round, `m k` elements per peer) and keeps it with the mask.
    pub async fn open(ctx: &mut Context, x: &SharedMatrix<R>, mask: MatrixMask<R>) -> Result<Self> {
        if mask.shape() != (x.rows(), x.cols()) {
            return Err(Error::Shape(format!(
                "a {:?} mask for a {}x{} matrix",
                mask.shape(),
                x.rows(),
                x.cols()
            )));
        }
        let masked: Vec<R> = x
            .as_shared()
            .share_values()
            .iter()
            .zip(mask.share_values())
            .map(|(&x, &a)| x - a)
            .collect();
        let e = open_owned(ctx, Shared::from_share(masked)).await?;
        Ok(MaskedMatrix {
            rows: x.rows(),
            cols: x.cols(),
            e,
            mask,
        })
    }

    /// A matrix whose mask equals it ([`crate::preprocessing::Preprocessing::owned_mask`]: every row held in
    /// the clear by its owner): `E = 0`, nothing is opened. The caller vouches that the mask's shares add up
    /// to the matrix it multiplies.
    pub fn owned(mask: MatrixMask<R>) -> Self {
        let (rows, cols) = mask.shape();
        MaskedMatrix {
            rows,
            cols,
            e: vec![R::ZERO; rows * cols],
            mask,
        }
    }

    /// `(rows, cols)` of `X`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The mask, for requesting [`MaskTriple`]s from the source.
    pub fn mask(&self) -> &MatrixMask<R> {
        &self.mask
    }

    /// This party's share of `X` itself (`E + A`, with `E` added by party 0), for local linear work.
    pub fn share(&self, party: usize) -> SharedMatrix<R> {
        let v: Vec<R> = if party == 0 {
            self.e
                .iter()
                .zip(self.mask.share_values())
                .map(|(&e, &a)| e + a)
                .collect()
        } else {
            self.mask.share_values().to_vec()
        };
        SharedMatrix::new(self.rows, self.cols, Shared::from_share(v))
            .expect("shape kept since open")
    }

    /// `X[rows] Y` (or `X[rows]^T Y` if `using.transpose`), for `Y` of `k' x n`, in one round that opens
    /// only `F = Y - B`. `triple` must come from the source for this mask and this `using`.
    pub async fn mul(
        &self,
        ctx: &mut Context,
        using: &MaskUse,
        y: &SharedMatrix<R>,
        triple: MaskTriple<R>,
    ) -> Result<SharedMatrix<R>> {
        if y.as_shared().len() != triple.b.len() {
            return Err(Error::Shape(format!(
                "a {}x{} right operand with a triple for {} elements",
                y.rows(),
                y.cols(),
                triple.b.len()
            )));
        }
        let masked: Vec<R> = y
            .as_shared()
            .share_values()
            .iter()
            .zip(&triple.b)
            .map(|(&y, &b)| y - b)
            .collect();
        let f = open_owned(ctx, Shared::from_share(masked)).await?;
        self.mul_opened(ctx.is_leader(), using, &f, triple)
    }

    /// The local half of [`MaskedMatrix::mul`]: the product from the opened `F = Y - B` (row-major, `k' x n`),
    /// for protocols that open `F` together with other values. `leader` adds the public `E F`.
    pub fn mul_opened(
        &self,
        leader: bool,
        using: &MaskUse,
        f: &[R],
        mut triple: MaskTriple<R>,
    ) -> Result<SharedMatrix<R>> {
        if using.row_start > using.row_end || using.row_end > self.rows {
            return Err(Error::Shape(format!(
                "rows {}..{} of {} rows",
                using.row_start, using.row_end, self.rows
            )));
        }
        let block = using.row_end - using.row_start;
        let (m, k) = if using.transpose {
            (self.cols, block)
        } else {
            (block, self.cols)
        };
        let n = using.cols;
        if f.len() != k * n || triple.b.len() != k * n || triple.c.len() != m * n {
            return Err(Error::Shape(format!(
                "a {m}x{k} block times {} opened elements with a triple for {}x{n} outputs",
                f.len(),
                triple.c.len() / n.max(1)
            )));
        }
        if triple.mask_id != self.mask.id() {
            return Err(Error::Preprocessing(format!(
                "a triple for mask {} used with mask {}",
                triple.mask_id,
                self.mask.id()
            )));
        }
        // The block's rows of E and A, row-major; a transposed use reads them transposed in place.
        let range = using.row_start * self.cols..using.row_end * self.cols;
        let (e, a) = (&self.e[range.clone()], &self.mask.share_values()[range]);
        let mut z = std::mem::take(&mut triple.c);
        beaver_matrix_local(
            &mut z,
            e,
            a,
            &triple.b,
            f,
            leader,
            (m, k, n),
            using.transpose,
        );
        SharedMatrix::new(m, n, Shared::from_share(z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{DealerSource, InsecureSharedSeed, Preprocessing};
    use crate::protocols::open::open;
    use crate::protocols::test_util::{for_parties, random_elems, shares_of};
    use crate::ring::{Fp, Z128, Z64};
    use crate::share::matmul_plain;
    use crate::simulate::{collect, simulate_with, SimOptions};

    async fn check<R: Ring>(n: usize, dealer: bool) {
        let (m, k, c) = (12, 5, 3);
        let x = random_elems::<R>(m * k);
        let ys: Vec<Vec<R>> = (0..3).map(|_| random_elems::<R>(k * c)).collect();
        let g = random_elems::<R>(4 * c); // for a transposed product: X[4..8]^T (k x 4) times G (4 x c)
        let expected_full = matmul_plain(&x, &ys[0], m, k, c);
        let expected_rows = matmul_plain(&x[2 * k..6 * k], &ys[1], 4, k, c);
        let xt: Vec<R> = (0..k)
            .flat_map(|j| (4..8).map(move |i| (i, j)))
            .map(|(i, j)| x[i * k + j])
            .collect();
        let expected_t = matmul_plain(&xt, &g, k, 4, c);
        let expected_plain_triple = matmul_plain(&x, &ys[2], m, k, c);
        let (xs, y0, y1, y2, gs) = (
            shares_of(&x, n),
            shares_of(&ys[0], n),
            shares_of(&ys[1], n),
            shares_of(&ys[2], n),
            shares_of(&g, n),
        );
        let opts = SimOptions {
            dealer,
            ..Default::default()
        };
        let out = simulate_with(opts, n, move |mut ctx| {
            let (xs, y0, y1, y2, gs) = (xs.clone(), y0.clone(), y1.clone(), y2.clone(), gs.clone());
            async move {
                let me = ctx.id();
                let mut src: Box<dyn Preprocessing<R>> = if dealer {
                    Box::new(DealerSource::connect(&ctx).await?)
                } else {
                    Box::new(InsecureSharedSeed::for_context([1; 32], &ctx))
                };
                let mat = |v: &Vec<Vec<R>>, r, c| {
                    SharedMatrix::new(r, c, Shared::from_share(v[me].clone()))
                };
                let xm = mat(&xs, m, k)?;
                let mask = src.matrix_mask(&mut ctx, m, k).await?;
                let masked = MaskedMatrix::open(&mut ctx, &xm, mask).await?;
                let full = MaskUse {
                    row_start: 0,
                    row_end: m,
                    transpose: false,
                    cols: c,
                };
                let t = src
                    .mask_triple(&mut ctx, masked.mask(), full.clone())
                    .await?;
                let before = ctx.stats();
                let z0 = masked.mul(&mut ctx, &full, &mat(&y0, k, c)?, t).await?;
                let bytes = ctx.stats().since(&before).bytes_sent();
                let rows = MaskUse {
                    row_start: 2,
                    row_end: 6,
                    transpose: false,
                    cols: c,
                };
                let t = src
                    .mask_triple(&mut ctx, masked.mask(), rows.clone())
                    .await?;
                let z1 = masked.mul(&mut ctx, &rows, &mat(&y1, k, c)?, t).await?;
                let tr = MaskUse {
                    row_start: 4,
                    row_end: 8,
                    transpose: true,
                    cols: c,
                };
                let t = src.mask_triple(&mut ctx, masked.mask(), tr.clone()).await?;
                let z2 = masked.mul(&mut ctx, &tr, &mat(&gs, 4, c)?, t).await?;
                let t = src.matrix_triple(&mut ctx, m, k, c).await?;
                let z3 = matmul(&mut ctx, &xm, &mat(&y2, k, c)?, t).await?;
                let mut outs = Vec::new();
                for z in [z0, z1, z2, z3] {
                    outs.push(open(&mut ctx, z.as_shared()).await?);
                }
                Ok((outs, bytes))
            }
        })
        .await
        .unwrap();
        for (outs, bytes) in collect(out).unwrap() {
            assert_eq!(outs[0], expected_full);
            assert_eq!(outs[1], expected_rows);
            assert_eq!(outs[2], expected_t);
            assert_eq!(outs[3], expected_plain_triple);
            // Reusing E, a product moves only F = Y - B: k x c elements to each peer.
            assert_eq!(bytes, ((n - 1) * k * c * R::BYTES) as u64);
        }
    }

    #[tokio::test]
    async fn matrix_products_match_plaintext() {
        for_parties(|n| async move {
            for dealer in [false, true] {
                check::<Z64>(n, dealer).await;
                check::<Z128>(n, dealer).await;
                check::<Fp>(n, dealer).await;
            }
        })
        .await;
    }
}
