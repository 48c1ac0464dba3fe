//! Open: reconstruct a shared vector, for every party or only for named receivers.
//!
//! Every party sends its share to every receiver (one message each, in one round) and the receivers add
//! them up. A party that is not a receiver sends but receives nothing, so it learns nothing about the value.

use crate::context::Context;
use crate::error::Result;
use crate::net::PartyId;
use crate::ring::Ring;
use crate::share::Shared;

/// Opens `x` to every computing party.
pub async fn open<R: Ring>(ctx: &mut Context, x: &Shared<R>) -> Result<Vec<R>> {
    let all: Vec<PartyId> = (0..ctx.parties()).collect();
    let out = open_to(ctx, x, &all).await?;
    out.ok_or_else(|| {
        crate::error::Error::InvalidArgument("internal: open to all returned nothing".into())
    })
}

/// Opens `x` to the parties in `receivers` only: they get `Some(value)`, every other party `None`.
pub async fn open_to<R: Ring>(
    ctx: &mut Context,
    x: &Shared<R>,
    receivers: &[PartyId],
) -> Result<Option<Vec<R>>> {
    open_owned_to(ctx, x.clone(), receivers).await
}

/// Opens `x` to every party, consuming it: its share vector becomes the accumulator (no copy).
pub async fn open_owned<R: Ring>(ctx: &mut Context, x: Shared<R>) -> Result<Vec<R>> {
    let all: Vec<PartyId> = (0..ctx.parties()).collect();
    let out = open_owned_to(ctx, x, &all).await?;
    out.ok_or_else(|| {
        crate::error::Error::InvalidArgument("internal: open to all returned nothing".into())
    })
}

/// [`open_to`], consuming `x`.
pub async fn open_owned_to<R: Ring>(
    ctx: &mut Context,
    x: Shared<R>,
    receivers: &[PartyId],
) -> Result<Option<Vec<R>>> {
    ctx.check_parties(receivers)?;
    let me = ctx.id();
    let bytes = R::encode_slice(x.share_values());
    let targets: Vec<PartyId> = receivers.iter().copied().filter(|&r| r != me).collect();
    if let Some((&last, rest)) = targets.split_last() {
        for &r in rest {
            ctx.send_bytes(r, bytes.clone()).await?;
        }
        ctx.send_bytes(last, bytes).await?;
    }
    if !receivers.contains(&me) {
        return Ok(None);
    }
    // The share becomes the sum; once the others' shares are added it is the public value.
    // Until every share is in, the partial sum is secret: wiped if a peer's failure ends this early.
    let mut sum = zeroize::Zeroizing::new(x.into_share_values());
    let peers: Vec<PartyId> = ctx.peers().collect();
    for p in peers {
        ctx.recv_add_elems::<R>(p, &mut sum).await?;
    }
    Ok(Some(std::mem::take(&mut *sum)))
}

/// Opens several vectors to every party in one round (one message per peer), returning them in order.
pub async fn open_many<R: Ring>(ctx: &mut Context, xs: &[&Shared<R>]) -> Result<Vec<Vec<R>>> {
    let all = open_owned(ctx, Shared::concat(xs)).await?;
    let mut out = Vec::with_capacity(xs.len());
    let mut at = 0;
    for x in xs {
        out.push(all[at..at + x.len()].to_vec());
        at += x.len();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::protocols::test_util::{for_parties, shares_of};
    use crate::ring::{Fp, Z128, Z64};
    use crate::simulate;

    async fn to_receivers<R: Ring>(n: usize) {
        let secret: Vec<R> = (0..50).map(|i| R::from_i128(i * 1000 - 7)).collect();
        let shares = shares_of(&secret, n);
        let receivers: Vec<PartyId> = (0..n).filter(|p| p % 2 == 1).collect();
        let rec = receivers.clone();
        let out = simulate(n, move |mut ctx| {
            let shares = shares.clone();
            let rec = rec.clone();
            async move {
                let x = Shared::from_share(shares[ctx.id()].clone());
                let opened = open_to(&mut ctx, &x, &rec).await?;
                Ok((opened, ctx.stats().bytes_received()))
            }
        })
        .await
        .unwrap();
        for (p, (opened, received)) in out.into_iter().enumerate() {
            if receivers.contains(&p) {
                assert_eq!(opened.as_deref(), Some(secret.as_slice()));
            } else {
                assert_eq!(opened, None);
                assert_eq!(received, 0, "a non-receiver must receive nothing");
            }
        }
    }

    #[tokio::test]
    async fn opens_to_all_and_to_receivers() {
        for_parties(|n| async move {
            to_receivers::<Z64>(n).await;
            to_receivers::<Z128>(n).await;
            to_receivers::<Fp>(n).await;
        })
        .await;
    }

    #[tokio::test]
    async fn counts_one_round_and_bytes() {
        let out = crate::simulate::simulate_with(Default::default(), 3, |mut ctx| async move {
            let x = Shared::from_share(vec![Z64(1); 10]);
            let (a, b) = (
                open(&mut ctx, &x).await?,
                open_many(&mut ctx, &[&x, &x]).await?,
            );
            Ok((a, b))
        })
        .await
        .unwrap();
        for o in out {
            let (a, b) = o.result.unwrap();
            assert_eq!(a, vec![Z64(3); 10]);
            assert_eq!(b, vec![vec![Z64(3); 10]; 2]);
            assert_eq!(o.stats.rounds, 2);
            assert_eq!(o.stats.bytes_sent(), 2 * (80 + 160));
        }
    }

    #[tokio::test]
    async fn malformed_share_is_blamed_and_nobody_hangs() {
        let out = crate::simulate::simulate_with(Default::default(), 3, |mut ctx| async move {
            if ctx.id() == 2 {
                // Party 2 sends 7 bytes instead of a Z64 element, then waits for more than party 0 sends.
                ctx.send_bytes(0, vec![0; 7]).await?;
                ctx.send_bytes(1, vec![0; 7]).await?;
                ctx.recv_bytes(0).await?;
                ctx.recv_bytes(0).await?;
                return Ok(vec![]);
            }
            open(&mut ctx, &Shared::from_share(vec![Z64(1)])).await
        })
        .await
        .unwrap();
        for (p, o) in out.iter().enumerate().take(2) {
            match &o.result {
                Err(Error::WrongLength {
                    party: 2,
                    expected: 8,
                    got: 7,
                }) => {}
                Err(Error::PeerAborted { .. }) => {}
                other => panic!("party {p}: {other:?}"),
            }
        }
        assert!(
            matches!(out[2].result, Err(Error::PeerAborted { .. })),
            "{:?}",
            out[2].result
        );
    }
}
