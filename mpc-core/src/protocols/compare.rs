//! Secure comparison with zero and clamping, for additive shares in `Z/2^l`.
//!
//! **Sign by arithmetic-to-boolean conversion of the shares.** For `|x| < 2^b`, `x < 0` exactly when bit `b`
//! of `x mod 2^(b+1)` is set, and `x mod 2^(b+1) = sum_j (x_j mod 2^(b+1)) mod 2^(b+1)`: each party reduces
//! its own share, whose bits it knows in the clear, so every share is a private input to a boolean adder
//! (the A2B conversion of ABY, Demmler, Schneider and Zohner, NDSS 2015, section III; ABY3, Mohassel and
//! Rindal, CCS 2018, section 5.3, for more than two shares). With `n` shares, carry-save adders (one AND
//! round each, `n - 2` adders in `ceil(log_{3/2}(n / 2))` rounds) reduce them to two numbers, and the carry
//! into bit `b` of their sum comes from a tree of generate/propagate pairs (a parallel-prefix adder's carry,
//! Brent and Kung, 1982): one round for the generates and `ceil(log2 b)` for the tree. The result is
//! exact for every share: nothing here is probabilistic. The caller must guarantee `|x| < 2^b` (by a
//! public bound, see `mpc_ml::step`); beyond it the sign is that of `x` wrapped into `b + 1` bits.
//!
//! **Back to the ring** with daBits ([`crate::preprocessing::DaBits`]): open `e = c xor r` (perfectly
//! hidden by the uniform `r`), then `c = e + r - 2 e r` is linear in `r`'s additive shares.
//!
//! **Clamping** `clamp(t, lo, hi) = t + [t < lo] (lo - t) + [t > hi] (hi - t)` takes both comparisons in one
//! batch and one Beaver round ([`crate::protocols::mul`]) for the two products.
//!
//! Every opened value is a Beaver-masked bit (uniform), a daBit-masked bit (uniform) or a Beaver-masked ring
//! element under a uniform triple: the comparison hides its inputs perfectly.
//!
//! Rounds for `n = 3` and `b` bits: 1 (carry-save) + 1 (generates) + `ceil(log2 b)` (tree) + 1 (daBits) +
//! 1 (products). AND gates per compared value: `b` for each carry-save adder, `b` generates and about `2b`
//! in the tree.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::preprocessing::{lane, Preprocessing};
use crate::protocols::bits::{and_with, open_bits, Bits};
use crate::protocols::mul::mul;
use crate::ring::PowerOfTwoRing;
use crate::share::Shared;

/// `[x < 0]` for each element, XOR-shared, for `|x| < 2^bound_bits` (a public bound the caller guarantees).
pub async fn less_than_zero<R: PowerOfTwoRing>(
    ctx: &mut Context,
    pre: &mut dyn Preprocessing<R>,
    x: &Shared<R>,
    bound_bits: u32,
) -> Result<Bits> {
    if bound_bits == 0 || bound_bits >= R::BITS {
        return Err(Error::InvalidArgument(format!(
            "a comparison bound of {bound_bits} bits in {}",
            R::NAME
        )));
    }
    msb(ctx, pre, x, bound_bits + 1).await
}

/// Bit `k - 1` of `x mod 2^k` for each element, XOR-shared (`1 <= k <= 128`).
pub async fn msb<R: PowerOfTwoRing>(
    ctx: &mut Context,
    pre: &mut dyn Preprocessing<R>,
    x: &Shared<R>,
    k: u32,
) -> Result<Bits> {
    let k = k as usize;
    let m = x.len();
    let (me, n) = (ctx.id(), ctx.parties());
    // Party j's number: its own share's bits, planes 0..k; the others' are zero here.
    let mine: Vec<Bits> = (0..k)
        .map(|i| Bits::from_lanes(x.share_values().iter().map(|v| (v.to_u128() >> i) & 1 == 1)))
        .collect();
    let mut numbers: Vec<Vec<Bits>> = (0..n)
        .map(|j| {
            if j == me {
                mine.clone()
            } else {
                (0..k).map(|_| Bits::zeros(m)).collect()
            }
        })
        .collect();
    // Carry-save adders, every group of three of a layer in one round.
    while numbers.len() > 2 {
        let groups = numbers.len() / 3;
        let rest = numbers.split_off(groups * 3);
        let mut pairs_l = Vec::new();
        let mut pairs_r = Vec::new();
        for g in numbers.chunks(3) {
            let (a, b, c) = (&g[0], &g[1], &g[2]);
            for i in 0..k - 1 {
                pairs_l.push(a[i].xor(&c[i])?);
                pairs_r.push(b[i].xor(&c[i])?);
            }
        }
        let ands = and_concat(ctx, pre, &pairs_l, &pairs_r, m).await?;
        let mut next = Vec::with_capacity(2 * groups + rest.len());
        for (gi, g) in numbers.chunks(3).enumerate() {
            let (a, b, c) = (&g[0], &g[1], &g[2]);
            let sum: Vec<Bits> = (0..k)
                .map(|i| a[i].xor(&b[i])?.xor(&c[i]))
                .collect::<Result<_>>()?;
            let mut carry = vec![Bits::zeros(m)];
            for i in 0..k - 1 {
                // maj(a, b, c) = ((a ^ c) & (b ^ c)) ^ c
                carry.push(ands[gi * (k - 1) + i].xor(&c[i])?);
            }
            next.push(sum);
            next.push(carry);
        }
        next.extend(rest);
        numbers = next;
    }
    let (x, y) = match numbers.len() {
        1 => return Ok(numbers.swap_remove(0).swap_remove(k - 1)),
        _ => (&numbers[0], &numbers[1]),
    };
    let top = x[k - 1].xor(&y[k - 1])?;
    if k == 1 {
        return Ok(top);
    }
    // Generates and propagates of positions 0..k-1; position 0's propagate is never needed.
    let g = and_concat(ctx, pre, &x[..k - 1], &y[..k - 1], m).await?;
    let mut segs: Vec<(Bits, Option<Bits>)> = g
        .into_iter()
        .enumerate()
        .map(|(i, g)| Ok((g, if i == 0 { None } else { Some(x[i].xor(&y[i])?) })))
        .collect::<Result<_>>()?;
    while segs.len() > 1 {
        // (G_hi, P_hi) o (G_lo, P_lo) = (G_hi ^ P_hi & G_lo, P_hi & P_lo)
        let (mut l, mut r) = (Vec::new(), Vec::new());
        for pair in segs.chunks(2) {
            if let [lo, hi] = pair {
                let p_hi = hi.1.as_ref().ok_or_else(internal)?;
                l.push(p_hi.clone());
                r.push(lo.0.clone());
                if let Some(p_lo) = &lo.1 {
                    l.push(p_hi.clone());
                    r.push(p_lo.clone());
                }
            }
        }
        let mut ands = and_concat(ctx, pre, &l, &r, m).await?.into_iter();
        let mut next = Vec::with_capacity(segs.len().div_ceil(2));
        for pair in segs.chunks(2) {
            match pair {
                [lo, hi] => {
                    let pg = ands.next().ok_or_else(internal)?;
                    let g = hi.0.xor(&pg)?;
                    let p = match lo.1 {
                        Some(_) => Some(ands.next().ok_or_else(internal)?),
                        None => None,
                    };
                    next.push((g, p));
                }
                [only] => next.push((only.0.clone(), only.1.clone())),
                _ => return Err(internal()),
            }
        }
        segs = next;
    }
    top.xor(&segs[0].0)
}

fn internal() -> Error {
    Error::InvalidArgument("internal: comparison circuit shape".into())
}

/// The ANDs `l[i] & r[i]` (each `m` bits), all in one round with the planes packed end to end.
async fn and_concat<R: PowerOfTwoRing>(
    ctx: &mut Context,
    pre: &mut dyn Preprocessing<R>,
    l: &[Bits],
    r: &[Bits],
    m: usize,
) -> Result<Vec<Bits>> {
    if l.is_empty() {
        return Ok(Vec::new());
    }
    let (lc, rc) = (concat(l), concat(r));
    let z = and_with(ctx, pre, &[(&lc, &rc)]).await?;
    split(&z[0], l.len(), m)
}

fn concat(parts: &[Bits]) -> Bits {
    let total: usize = parts.iter().map(Bits::len).sum();
    let lanes = parts
        .iter()
        .flat_map(|p| (0..p.len()).map(move |i| p.lane(i)))
        .collect::<Vec<bool>>();
    debug_assert_eq!(lanes.len(), total);
    Bits::from_lanes(lanes.into_iter())
}

fn split(all: &Bits, parts: usize, m: usize) -> Result<Vec<Bits>> {
    if all.len() != parts * m {
        return Err(internal());
    }
    Ok((0..parts)
        .map(|p| Bits::from_lanes((0..m).map(|i| all.lane(p * m + i))))
        .collect())
}

/// XOR-shared bits as additive shares of 0 and 1, with daBits (one round).
pub async fn bits_to_ring<R: PowerOfTwoRing>(
    ctx: &mut Context,
    pre: &mut dyn Preprocessing<R>,
    c: &Bits,
) -> Result<Shared<R>> {
    let mut dab = pre.dabits(ctx, c.len()).await?;
    let masked = Bits::from_words(std::mem::take(&mut dab.xor), c.len())?.xor(c)?;
    let e = open_bits(ctx, &masked).await?;
    let lead = ctx.is_leader();
    let two = R::from_i128(2);
    let shares = dab
        .arith
        .iter()
        .enumerate()
        .map(|(i, &r)| match (lane(&e, i), lead) {
            (false, _) => r,
            (true, true) => R::ONE - r * two + r,
            (true, false) => -r,
        })
        .collect();
    Ok(Shared::from_share(shares))
}

/// `clamp(t, lo, hi)` for each element (`lo <= hi` public), for `|t - lo|` and `|hi - t|` below
/// `2^bound_bits` (a public bound the caller guarantees).
pub async fn clamp<R: PowerOfTwoRing>(
    ctx: &mut Context,
    pre: &mut dyn Preprocessing<R>,
    t: &Shared<R>,
    lo: R,
    hi: R,
    bound_bits: u32,
) -> Result<Shared<R>> {
    Ok(clamp_flagged(ctx, pre, t, lo, hi, bound_bits).await?.0)
}

/// [`clamp`], also returning for each element the additive shares of 1 where it was clamped and 0 where
/// not (a caller that must not clamp silently adds them up and checks the sum):
/// `t + [t < lo] (lo - t) + [t > hi] (hi - t)`.
pub async fn clamp_flagged<R: PowerOfTwoRing>(
    ctx: &mut Context,
    pre: &mut dyn Preprocessing<R>,
    t: &Shared<R>,
    lo: R,
    hi: R,
    bound_bits: u32,
) -> Result<(Shared<R>, Shared<R>)> {
    let m = t.len();
    let me = ctx.id();
    // t - lo < 0, and hi - t < 0; their negations are the distances to the ends.
    let below = t.add_public(me, &vec![-lo; m])?;
    let above = Shared::zeros(m).add_public(me, &vec![hi; m])?.try_sub(t)?;
    let signs = less_than_zero(ctx, pre, &Shared::concat(&[&below, &above]), bound_bits).await?;
    let c = bits_to_ring(ctx, pre, &signs).await?;
    // c_lo (lo - t) + c_hi (hi - t): one Beaver round for both, uniform triples.
    let y = Shared::concat(&[&below.scale(-R::ONE), &above]);
    let triples = pre.triples_bounded(ctx, 2 * m, R::BITS).await?;
    let prod = mul(ctx, &c, &y, triples).await?;
    let (p_lo, p_hi) = (prod.slice(0..m)?, prod.slice(m..2 * m)?);
    let flags = c.slice(0..m)?.try_add(&c.slice(m..2 * m)?)?;
    Ok((t.try_add(&p_lo)?.try_add(&p_hi)?, flags))
}

/// [`clamp_flagged`] of `t`, and in the same comparison circuit (no extra round) `[x < 0]` for each element
/// of `extra` (XOR-shared, not converted), for a caller that must check other values at the same time. All
/// lanes share `bound_bits`. Takes from a source the AND triples of [`ClampPlan::new`]`(t.len() +
/// extra.len() / 2, ..)` (`extra.len()` even), then `2 t.len()` daBits and uniform triples.
pub async fn clamp_flagged_and_signs<R: PowerOfTwoRing>(
    ctx: &mut Context,
    pre: &mut dyn Preprocessing<R>,
    t: &Shared<R>,
    (lo, hi): (R, R),
    extra: &Shared<R>,
    bound_bits: u32,
) -> Result<(Shared<R>, Shared<R>, Bits)> {
    let m = t.len();
    let me = ctx.id();
    let below = t.add_public(me, &vec![-lo; m])?;
    let above = Shared::zeros(m).add_public(me, &vec![hi; m])?.try_sub(t)?;
    let all = Shared::concat(&[&below, &above, extra]);
    let signs = less_than_zero(ctx, pre, &all, bound_bits).await?;
    let part = |r: std::ops::Range<usize>| Bits::from_lanes(r.map(|i| signs.lane(i)));
    let (clamp_signs, extra_signs) = (part(0..2 * m), part(2 * m..all.len()));
    let c = bits_to_ring(ctx, pre, &clamp_signs).await?;
    let y = Shared::concat(&[&below.scale(-R::ONE), &above]);
    let triples = pre.triples_bounded(ctx, 2 * m, R::BITS).await?;
    let prod = mul(ctx, &c, &y, triples).await?;
    let (p_lo, p_hi) = (prod.slice(0..m)?, prod.slice(m..2 * m)?);
    let flags = c.slice(0..m)?.try_add(&c.slice(m..2 * m)?)?;
    Ok((t.try_add(&p_lo)?.try_add(&p_hi)?, flags, extra_signs))
}

/// What [`clamp`] (or [`clamp_flagged`]) of `m` values takes from a source, in order: the words of bit triples of
/// each AND round, then daBits, then uniform triples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClampPlan {
    /// Words of bit triples per AND round, in order.
    pub and_words: Vec<usize>,
    /// daBits.
    pub dabits: usize,
    /// Uniform triples (requested as `triples_bounded(count, R::BITS)`).
    pub triples: usize,
}

impl ClampPlan {
    /// The plan for `m` values compared with `bound_bits` among `parties`: the shape of [`msb`]'s circuit.
    pub fn new(m: usize, bound_bits: u32, parties: usize) -> Self {
        let lanes = 2 * m;
        let k = bound_bits as usize + 1;
        let mut and_words = Vec::new();
        let mut push = |ands: usize| {
            if ands > 0 {
                and_words.push(crate::preprocessing::words_for(ands * lanes));
            }
        };
        let mut numbers = parties;
        while numbers > 2 {
            let groups = numbers / 3;
            push(groups * (k - 1));
            numbers = 2 * groups + numbers % 3;
        }
        if numbers == 2 && k > 1 {
            push(k - 1);
            // Segments of the carry tree: whether each has a propagate.
            let mut has_p: Vec<bool> = (0..k - 1).map(|i| i > 0).collect();
            while has_p.len() > 1 {
                let mut ands = 0;
                let mut next = Vec::new();
                for pair in has_p.chunks(2) {
                    match *pair {
                        [lo, _] => {
                            ands += 1 + usize::from(lo);
                            next.push(lo);
                        }
                        [only] => next.push(only),
                        _ => {}
                    }
                }
                push(ands);
                has_p = next;
            }
        }
        ClampPlan {
            and_words,
            dabits: lanes,
            triples: lanes,
        }
    }

    /// Rounds of the clamp: one per AND round, one for the daBits and one for the products.
    pub fn rounds(&self) -> usize {
        self.and_words.len() + 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::{DealerSource, InsecureSharedSeed, OtSource};
    use crate::protocols::input::share_from;
    use crate::protocols::open::open;
    use crate::ring::{Ring, Z128, Z64};
    use crate::simulate::{simulate_with, SimOptions};
    use rand::Rng;

    #[derive(Clone, Copy, Debug)]
    enum Src {
        Dealer,
        Ot,
        Seed,
    }

    async fn source<R: crate::ot::OtRing>(
        src: Src,
        ctx: &mut Context,
    ) -> Result<Box<dyn Preprocessing<R>>> {
        Ok(match src {
            Src::Dealer => Box::new(DealerSource::<R>::connect(ctx).await?),
            Src::Ot => Box::new(OtSource::<R>::setup(ctx).await?),
            Src::Seed => Box::new(InsecureSharedSeed::<R>::for_context([9; 32], ctx)),
        })
    }

    /// Values at every edge of the bound and random ones in between; party 0 inputs them.
    fn values(bits: u32, count: usize) -> Vec<i128> {
        let b = 1i128 << bits;
        let mut v = vec![0, -1, 1, b - 1, -(b - 1), -b + 2, 2, b / 2, -b / 2];
        v.retain(|x| x.abs() < b);
        let mut rng = rand::thread_rng();
        v.extend((0..count).map(|_| rng.gen_range(-(b - 1)..b)));
        v
    }

    async fn run_lt<R: crate::ot::OtRing>(parties: usize, src: Src, bits: u32) {
        let vals = values(bits, 40);
        let input: Vec<R> = vals.iter().map(|&v| R::from_i128(v)).collect();
        let opts = SimOptions {
            dealer: matches!(src, Src::Dealer),
            ..Default::default()
        };
        let out = simulate_with(opts, parties, move |mut ctx| {
            let input = input.clone();
            async move {
                let me = ctx.id();
                let len = input.len();
                let x = share_from::<R>(&mut ctx, 0, (me == 0).then_some(&input[..]), len).await?;
                let mut pre = source::<R>(src, &mut ctx).await?;
                let s = less_than_zero(&mut ctx, pre.as_mut(), &x, bits).await?;
                let as_ring = bits_to_ring(&mut ctx, pre.as_mut(), &s).await?;
                let bits = open_bits(&mut ctx, &s).await?;
                let ring = open(&mut ctx, &as_ring).await?;
                Ok((bits, ring))
            }
        })
        .await
        .unwrap();
        for p in &out {
            let (b, r) = p.result.as_ref().unwrap();
            for (i, &v) in vals.iter().enumerate() {
                let lane = (b[i / 128] >> (i % 128)) & 1 == 1;
                assert_eq!(
                    lane,
                    v < 0,
                    "{parties} parties, {src:?}, {bits} bits, value {v}"
                );
                assert_eq!(r[i], if v < 0 { R::ONE } else { R::ZERO }, "{v}");
            }
        }
    }

    /// The sign of every value within the bound, at its edges too, for 2, 3 and 5 parties with the dealer,
    /// with OT and with the shared seed, in Z64 and Z128, and as ring elements through daBits.
    #[tokio::test]
    async fn signs_match_plaintext() {
        for parties in [2, 3, 5] {
            run_lt::<Z128>(parties, Src::Dealer, 40).await;
            run_lt::<Z128>(parties, Src::Seed, 100).await;
        }
        run_lt::<Z128>(3, Src::Ot, 33).await;
        run_lt::<Z128>(2, Src::Ot, 1).await;
        run_lt::<Z64>(3, Src::Dealer, 62).await;
        run_lt::<Z64>(4, Src::Ot, 20).await;
    }

    /// A source that records the bit-triple words, daBits and triples asked of it.
    struct Counting(InsecureSharedSeed<Z128>, Vec<usize>, usize, usize);

    #[async_trait::async_trait]
    impl Preprocessing<Z128> for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        async fn triples(
            &mut self,
            c: &mut Context,
            n: usize,
        ) -> Result<crate::preprocessing::Triples<Z128>> {
            self.3 += n;
            self.0.triples(c, n).await
        }
        async fn triples_bounded(
            &mut self,
            c: &mut Context,
            n: usize,
            b: u32,
        ) -> Result<crate::preprocessing::Triples<Z128>> {
            self.3 += n;
            self.0.triples_bounded(c, n, b).await
        }
        async fn matrix_triple(
            &mut self,
            c: &mut Context,
            m: usize,
            k: usize,
            n: usize,
        ) -> Result<crate::preprocessing::MatrixTriple<Z128>> {
            self.0.matrix_triple(c, m, k, n).await
        }
        async fn matrix_mask(
            &mut self,
            c: &mut Context,
            m: usize,
            k: usize,
        ) -> Result<crate::preprocessing::MatrixMask<Z128>> {
            self.0.matrix_mask(c, m, k).await
        }
        async fn mask_triple(
            &mut self,
            c: &mut Context,
            mask: &crate::preprocessing::MatrixMask<Z128>,
            using: crate::preprocessing::MaskUse,
        ) -> Result<crate::preprocessing::MaskTriple<Z128>> {
            self.0.mask_triple(c, mask, using).await
        }
        async fn trunc_pairs(
            &mut self,
            c: &mut Context,
            n: usize,
            f: u32,
        ) -> Result<crate::preprocessing::TruncPairs<Z128>> {
            self.0.trunc_pairs(c, n, f).await
        }
        async fn random(&mut self, c: &mut Context, n: usize) -> Result<Shared<Z128>> {
            self.0.random(c, n).await
        }
        async fn squares(
            &mut self,
            c: &mut Context,
            n: usize,
            p: bool,
            b: u32,
        ) -> Result<crate::preprocessing::Squares<Z128>> {
            self.0.squares(c, n, p, b).await
        }
        async fn bit_triples(
            &mut self,
            c: &mut Context,
            w: usize,
        ) -> Result<crate::preprocessing::BitTriples> {
            self.1.push(w);
            self.0.bit_triples(c, w).await
        }
        async fn dabits(
            &mut self,
            c: &mut Context,
            n: usize,
        ) -> Result<crate::preprocessing::DaBits<Z128>> {
            self.2 += n;
            self.0.dabits(c, n).await
        }
    }

    /// [`ClampPlan`] predicts exactly what the clamp asks for, for several party counts and widths, and
    /// its rounds match the messages counted.
    #[tokio::test]
    async fn plan_matches_requests() {
        for (parties, m, bits) in [
            (2, 5, 1),
            (2, 130, 20),
            (3, 57, 33),
            (4, 10, 7),
            (5, 3, 60),
            (7, 2, 9),
        ] {
            let out = simulate_with(SimOptions::default(), parties, move |mut ctx| async move {
                let mut pre =
                    Counting(InsecureSharedSeed::for_context([4; 32], &ctx), vec![], 0, 0);
                let x = Shared::<Z128>::zeros(m);
                let before = ctx.stats();
                clamp(&mut ctx, &mut pre, &x, Z128::ZERO, Z128::ONE, bits).await?;
                let msgs = ctx.stats().since(&before).messages_sent();
                Ok((pre.1.clone(), pre.2, pre.3, msgs))
            })
            .await
            .unwrap();
            let plan = ClampPlan::new(m, bits, parties);
            for p in &out {
                let (words, dab, tr, msgs) = p.result.as_ref().unwrap().clone();
                assert_eq!(
                    words, plan.and_words,
                    "{parties} parties, {m} values, {bits} bits"
                );
                assert_eq!((dab, tr), (plan.dabits, plan.triples));
                assert_eq!(msgs as usize, plan.rounds() * (parties - 1));
            }
        }
    }

    /// Clamping matches plaintext clamping, inside, at and beyond both ends.
    #[tokio::test]
    async fn clamp_matches_plaintext() {
        for (parties, src) in [(3, Src::Dealer), (3, Src::Ot), (2, Src::Seed)] {
            let vals = values(30, 30);
            let (lo, hi) = (-(1i128 << 20), 1i128 << 20);
            let input: Vec<Z128> = vals.iter().map(|&v| Z128::from_i128(v)).collect();
            let opts = SimOptions {
                dealer: matches!(src, Src::Dealer),
                ..Default::default()
            };
            let out = simulate_with(opts, parties, move |mut ctx| {
                let input = input.clone();
                async move {
                    let me = ctx.id();
                    let len = input.len();
                    let x = share_from::<Z128>(&mut ctx, 1, (me == 1).then_some(&input[..]), len)
                        .await?;
                    let mut pre = source::<Z128>(src, &mut ctx).await?;
                    let (l, h) = (Z128::from_i128(lo), Z128::from_i128(hi));
                    let c = clamp(&mut ctx, pre.as_mut(), &x, l, h, 32).await?;
                    open(&mut ctx, &c).await
                }
            })
            .await
            .unwrap();
            for p in &out {
                let got = p.result.as_ref().unwrap();
                for (i, &v) in vals.iter().enumerate() {
                    assert_eq!(got[i].to_i128(), Some(v.clamp(lo, hi)), "{src:?} {v}");
                }
            }
        }
    }

    /// The clamp with extra lanes clamps as [`clamp_flagged`] does, flags the clamped elements, and gives the
    /// extra values' signs from the same circuit.
    #[tokio::test]
    async fn clamp_with_extra_signs_matches_plaintext() {
        let vals = values(30, 30);
        let extra_vals = [-5i128, 7, 0, -(1 << 25)];
        let (lo, hi) = (-(1i128 << 20), 1i128 << 20);
        let input: Vec<Z128> = vals.iter().map(|&v| Z128::from_i128(v)).collect();
        let extra: Vec<Z128> = extra_vals.iter().map(|&v| Z128::from_i128(v)).collect();
        let opts = SimOptions {
            dealer: true,
            ..Default::default()
        };
        let out = simulate_with(opts, 3, move |mut ctx| {
            let (input, extra) = (input.clone(), extra.clone());
            async move {
                let me = ctx.id();
                let x =
                    share_from::<Z128>(&mut ctx, 1, (me == 1).then_some(&input[..]), input.len())
                        .await?;
                let e =
                    share_from::<Z128>(&mut ctx, 2, (me == 2).then_some(&extra[..]), extra.len())
                        .await?;
                let mut pre = source::<Z128>(Src::Dealer, &mut ctx).await?;
                let (l, h) = (Z128::from_i128(lo), Z128::from_i128(hi));
                let (c, flags, signs) =
                    clamp_flagged_and_signs(&mut ctx, pre.as_mut(), &x, (l, h), &e, 32).await?;
                let opened = open_bits(&mut ctx, &signs).await?;
                let signs: Vec<bool> = (0..e.len()).map(|i| lane(&opened, i)).collect();
                Ok((
                    open(&mut ctx, &c).await?,
                    open(&mut ctx, &flags).await?,
                    signs,
                ))
            }
        })
        .await
        .unwrap();
        for p in &out {
            let (got, flags, signs) = p.result.as_ref().unwrap();
            for (i, &v) in vals.iter().enumerate() {
                assert_eq!(got[i].to_i128(), Some(v.clamp(lo, hi)), "{v}");
                let clamped = v < lo || v > hi;
                assert_eq!(flags[i].to_i128(), Some(i128::from(clamped)), "{v}");
            }
            let want: Vec<bool> = extra_vals.iter().map(|&v| v < 0).collect();
            assert_eq!(signs, &want);
        }
    }
}
