//! A conformance suite for [`Network`](crate::net::Network) implementations: every party of a session calls
//! [`protocol_suite`], which runs each protocol of this crate on inputs derived from a public seed, opens
//! the results and checks them against the same computation in plaintext. The in-memory network runs it in
//! this crate's tests; mpc-net runs it unchanged over QUIC.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::fixed::FixedPoint;
use crate::preprocessing::{DealerSource, InsecureSharedSeed, MaskUse, Preprocessing};
use crate::prg::Seed;
use crate::protocols::matmul::{matmul, MaskedMatrix};
use crate::protocols::open::{open, open_to};
use crate::protocols::poly::{eval, mul_fixed, Truncation};
use crate::protocols::{dot::dot_rows, input::share_from, mul::mul};
use crate::ring::{Fp, PowerOfTwoRing, Ring, Z128, Z64};
use crate::share::{matmul_plain, SharedMatrix};

fn mismatch(what: &str) -> Error {
    Error::InvalidArgument(format!("conformance: {what} does not match plaintext"))
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(mismatch(what))
    }
}

/// Public test inputs: every party derives the same values from the same label.
fn public<R: Ring>(label: u64, len: usize) -> Vec<R> {
    R::random_vec(&mut Seed::from_bytes([0x5a; 32]).prg(label), len)
}

async fn input_public<R: Ring>(
    ctx: &mut Context,
    owner: usize,
    label: u64,
    len: usize,
) -> Result<crate::Shared<R>> {
    let values = public::<R>(label, len);
    let mine = (ctx.id() == owner).then_some(values.as_slice());
    share_from(ctx, owner, mine, len).await
}

/// Square pairs with and without products: `s = a^2` and `c = a b` once opened.
pub(crate) async fn squares_suite<R: Ring>(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<R>,
) -> Result<()> {
    for (products, mask_bits) in [(true, R::BITS), (false, R::BITS), (true, 40), (false, 40)] {
        let sq = src.squares(ctx, 37, products, mask_bits).await?;
        check(
            sq.len() == 37 && sq.has_products() == products,
            "square pairs' products",
        )?;
        squares_suite_with(ctx, sq).await?;
    }
    Ok(())
}

/// Opens the square pairs `sq` and checks `s = a^2` and, if they have products, `c = a b`.
pub(crate) async fn squares_suite_with<R: Ring>(
    ctx: &mut Context,
    mut sq: crate::preprocessing::Squares<R>,
) -> Result<()> {
    let (products, len) = (sq.has_products(), sq.len());
    let parts: Vec<crate::Shared<R>> = [&mut sq.a, &mut sq.s, &mut sq.b, &mut sq.c]
        .into_iter()
        .map(|v| crate::Shared::from_share(std::mem::take(v)))
        .collect();
    let mut open_parts = Vec::new();
    for p in &parts {
        open_parts.push(open(ctx, p).await?);
    }
    let [a, s, b, c] = &open_parts[..] else {
        return Err(mismatch("square pairs"));
    };
    check(
        a.len() == len && a.iter().zip(s).all(|(&a, &s)| a * a == s),
        "square pairs",
    )?;
    let with_products = b.len() == len && a.iter().zip(b).zip(c).all(|((&a, &b), &c)| a * b == c);
    check(
        if products {
            with_products
        } else {
            b.is_empty() && c.is_empty()
        },
        "square pairs' products",
    )
}

/// Input, open, open to receivers, Beaver multiplication, row-wise dot products, matrix triples and the
/// masked-matrix reuse, over one ring.
async fn ring_suite<R: Ring>(ctx: &mut Context, src: &mut dyn Preprocessing<R>) -> Result<()> {
    let n = ctx.parties();
    let (len, m, k, c) = (300, 9, 4, 2);
    let x = input_public::<R>(ctx, 0, 1, len).await?;
    let y = input_public::<R>(ctx, n - 1, 2, len).await?;
    let (xp, yp) = (public::<R>(1, len), public::<R>(2, len));
    check(open(ctx, &x).await? == xp, "open")?;
    let receivers = [n - 1];
    let got = open_to(ctx, &y, &receivers).await?;
    check(
        got == (ctx.id() == n - 1).then(|| yp.clone()),
        "open to receivers",
    )?;
    squares_suite(ctx, src).await?;

    let t = src.triples(ctx, len).await?;
    let z = mul(ctx, &x, &y, t).await?;
    let zp: Vec<R> = xp.iter().zip(&yp).map(|(&a, &b)| a * b).collect();
    check(open(ctx, &z).await? == zp, "Beaver multiplication")?;

    let xm = SharedMatrix::new(len / 3, 3, x.clone())?;
    let ym = SharedMatrix::new(len / 3, 3, y.clone())?;
    let t = src.triples(ctx, len).await?;
    let d = dot_rows(ctx, &xm, &ym, t).await?;
    let dp: Vec<R> = zp.chunks(3).map(|r| r.iter().copied().sum()).collect();
    check(open(ctx, &d).await? == dp, "row-wise dot products")?;

    let a = SharedMatrix::new(m, k, x.slice(0..m * k)?)?;
    let b = SharedMatrix::new(k, c, y.slice(0..k * c)?)?;
    let t = src.matrix_triple(ctx, m, k, c).await?;
    let p = matmul(ctx, &a, &b, t).await?;
    let pp = matmul_plain(&xp[..m * k], &yp[..k * c], m, k, c);
    check(
        open(ctx, p.as_shared()).await? == pp,
        "matrix multiplication",
    )?;

    let mask = src.matrix_mask(ctx, m, k).await?;
    let masked = MaskedMatrix::open(ctx, &a, mask).await?;
    let using = MaskUse {
        row_start: 3,
        row_end: 7,
        transpose: true,
        cols: c,
    };
    let g = SharedMatrix::new(4, c, y.slice(10..10 + 4 * c)?)?;
    let t = src.mask_triple(ctx, masked.mask(), using.clone()).await?;
    let q = masked.mul(ctx, &using, &g, t).await?;
    let at: Vec<R> = (0..k)
        .flat_map(|j| (3..7).map(move |i| (i, j)))
        .map(|(i, j)| xp[i * k + j])
        .collect();
    let qp = matmul_plain(&at, &yp[10..10 + 4 * c], k, 4, c);
    check(
        open(ctx, q.as_shared()).await? == qp,
        "masked-matrix product",
    )?;
    Ok(())
}

async fn share_fixed<R: Ring>(
    ctx: &mut Context,
    fx: FixedPoint,
    owner: usize,
    v: &[f64],
) -> Result<crate::Shared<R>> {
    let enc = fx.encode_slice::<R>(v)?;
    let me = ctx.id();
    share_from(
        ctx,
        owner,
        (me == owner).then_some(enc.as_slice()),
        enc.len(),
    )
    .await
}

/// Fixed-point multiplication with truncation and a polynomial, against f64.
async fn fixed_suite<R: PowerOfTwoRing>(
    ctx: &mut Context,
    src: &mut dyn Preprocessing<R>,
) -> Result<()> {
    let fx = FixedPoint::default_for::<R>();
    let len = 100;
    let xf: Vec<f64> = (0..len).map(|i| (i as f64 - 50.0) / 7.0).collect();
    let yf: Vec<f64> = (0..len).map(|i| 3.0 - i as f64 / 11.0).collect();
    let n = ctx.parties();
    let x = share_fixed::<R>(ctx, fx, 0, &xf).await?;
    let y = share_fixed::<R>(ctx, fx, n - 1, &yf).await?;
    let z = mul_fixed(ctx, &x, &y, fx, Truncation::Pairs, src).await?;
    let zs = fx.decode_slice(&open(ctx, &z).await?);
    let tol = 4.0 / fx.scale() * 16.0;
    check(
        zs.iter()
            .zip(xf.iter().zip(&yf))
            .all(|(g, (a, b))| (g - a * b).abs() <= tol),
        "fixed-point product",
    )?;
    let coeffs = [0.5, 0.197, 0.0, -0.004];
    let p = eval(ctx, &x, &coeffs, fx, Truncation::Pairs, src).await?;
    let ps = fx.decode_slice(&open(ctx, &p).await?);
    let want = |v: f64| {
        coeffs
            .iter()
            .enumerate()
            .map(|(j, c)| c * v.powi(j as i32))
            .sum::<f64>()
    };
    check(
        ps.iter().zip(&xf).all(|(g, &v)| (g - want(v)).abs() < 1e-2),
        "polynomial evaluation",
    )
}

/// Runs every protocol of mpc-core over `ctx` and checks the results against plaintext. Every computing
/// party of the session must call it; if the network has a dealer endpoint, the dealer must run
/// [`crate::preprocessing::dealer::serve`] and the suite runs a second time with dealer preprocessing.
pub async fn protocol_suite(ctx: &mut Context) -> Result<()> {
    let seed = [0x17; 32];
    ring_suite::<Z64>(ctx, &mut InsecureSharedSeed::for_context(seed, ctx)).await?;
    ring_suite::<Z128>(ctx, &mut InsecureSharedSeed::for_context(seed, ctx)).await?;
    ring_suite::<Fp>(ctx, &mut InsecureSharedSeed::for_context(seed, ctx)).await?;
    fixed_suite::<Z128>(ctx, &mut InsecureSharedSeed::for_context(seed, ctx)).await?;
    fixed_suite::<Z64>(ctx, &mut InsecureSharedSeed::for_context(seed, ctx)).await?;
    if ctx.dealer().is_some() {
        let mut z64 = DealerSource::<Z64>::connect(ctx).await?;
        ring_suite::<Z64>(ctx, &mut z64).await?;
        let mut z128 = DealerSource::<Z128>::connect(ctx).await?;
        ring_suite::<Z128>(ctx, &mut z128).await?;
        fixed_suite::<Z128>(ctx, &mut z128).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{collect, simulate_with, SimOptions};

    #[tokio::test]
    async fn suite_passes_in_memory() {
        for n in [2, 3, 5] {
            for dealer in [false, true] {
                let opts = SimOptions {
                    dealer,
                    ..Default::default()
                };
                let out =
                    simulate_with(
                        opts,
                        n,
                        |mut ctx| async move { protocol_suite(&mut ctx).await },
                    )
                    .await;
                collect(out.unwrap())
                    .unwrap_or_else(|e| panic!("{n} parties, dealer {dealer}: {e}"));
            }
        }
    }
}
