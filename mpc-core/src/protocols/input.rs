//! Input: an owner secret-shares a vector among all computing parties.
//!
//! The owner draws a fresh 32-byte seed for every other party and sends it; that party's share is the seed's
//! AES-CTR expansion ([`crate::prg::Seed::expander`]), and the owner keeps `x - sum of the expansions`. One message of 32 bytes per party,
//! whatever the vector's length. The length is public and must be known to every party.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::net::PartyId;
use crate::prg::Seed;
use crate::ring::Ring;
use crate::share::Shared;
use zeroize::Zeroizing;

/// Shares `values` (given only at the owner) of public length `len`; every party gets its share.
pub async fn share_from<R: Ring>(
    ctx: &mut Context,
    owner: PartyId,
    values: Option<&[R]>,
    len: usize,
) -> Result<Shared<R>> {
    ctx.check_parties(&[owner])?;
    if ctx.id() == owner {
        let values = values.ok_or_else(|| {
            Error::InvalidArgument("the input owner must supply its values".into())
        })?;
        if values.len() != len {
            return Err(Error::Shape(format!(
                "input of {} values where {len} were announced",
                values.len()
            )));
        }
        // The owner's share is wiped on every way out (a `Shared`); so is each peer's share, once
        // subtracted. The seed's bytes go to the network, which moves them to the peer (who wipes them).
        let mut own = Shared::from_share(values.to_vec());
        let mut theirs = Zeroizing::new(vec![R::ZERO; len]);
        let peers: Vec<PartyId> = ctx.peers().collect();
        for peer in peers {
            let seed = Seed::from_rng(ctx.rng());
            R::fill_random(&mut seed.expander(0), &mut theirs);
            own.share_values_mut()
                .iter_mut()
                .zip(theirs.iter())
                .for_each(|(o, &t)| *o -= t);
            ctx.send_bytes(peer, seed.expose_bytes().to_vec()).await?;
        }
        Ok(own)
    } else {
        let seed = ctx
            .recv_secret_checked(owner, |b| {
                Seed::from_slice(b)
                    .ok_or_else(|| format!("an input seed is 32 bytes, got {}", b.len()))
            })
            .await?;
        Ok(Shared::from_share(R::random_vec(
            &mut seed.expander(0),
            len,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::open::open;
    use crate::protocols::test_util::for_parties;
    use crate::ring::{Fp, Z128, Z64};
    use crate::simulate;

    async fn round_trip<R: Ring>(n: usize) {
        let values: Vec<R> = (0..100).map(|i| R::from_i128(i * 7 - 300)).collect();
        let expected = values.clone();
        let out = simulate(n, move |mut ctx| {
            let values = values.clone();
            async move {
                let owner = n - 1;
                let mine = (ctx.id() == owner).then_some(values.as_slice());
                let x = share_from::<R>(&mut ctx, owner, mine, 100).await?;
                assert_ne!(
                    x.share_values(),
                    values.as_slice(),
                    "a share must not equal the input"
                );
                open(&mut ctx, &x).await
            }
        })
        .await
        .unwrap();
        assert!(
            out.iter().all(|o| o == &expected),
            "{} n={n}: {:?} vs {:?}",
            R::NAME,
            &out[0][..3],
            &expected[..3]
        );
    }

    #[tokio::test]
    async fn shares_and_opens() {
        for_parties(|n| async move {
            round_trip::<Z64>(n).await;
            round_trip::<Z128>(n).await;
            round_trip::<Fp>(n).await;
        })
        .await;
    }

    #[tokio::test]
    async fn wrong_length_seed_is_blamed_on_the_owner() {
        let out = simulate(2, |mut ctx| async move {
            if ctx.id() == 0 {
                ctx.send_bytes(1, vec![1, 2, 3]).await?;
                Ok(())
            } else {
                share_from::<Z64>(&mut ctx, 0, None, 4).await.map(|_| ())
            }
        })
        .await;
        match out {
            Err(Error::Malformed { party: 0, reason }) => {
                assert!(reason.contains("32 bytes"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
