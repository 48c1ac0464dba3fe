//! The preprocessing source a party trains with, chosen by the `preprocessing` setting: the session's
//! dealer endpoint, or OT-based generation with no third party (mpc-core's `OtSource`).

use mpc_core::preprocessing::{DealerSource, OtSource, Preprocessing};
use mpc_core::{AbortCategory, Context, Z128};

use crate::config::PreprocessingKind;
use crate::error::{Error, Result};

/// Connects this party's source: `dealer` receives its seed from the dealer endpoint; `ot` runs base OTs
/// with every peer (every computing party must call this at the same point of the session). The parties
/// first check, in one round, that they all chose the same source: a mismatch is an error naming the party.
pub async fn connect(
    ctx: &mut Context,
    kind: PreprocessingKind,
) -> Result<Box<dyn Preprocessing<Z128>>> {
    let me = ctx.id();
    agree(ctx, kind).await?;
    Ok(match kind {
        PreprocessingKind::Dealer => Box::new(
            DealerSource::<Z128>::connect(ctx)
                .await
                .map_err(Error::mpc(me))?,
        ),
        PreprocessingKind::Ot => {
            Box::new(OtSource::<Z128>::setup(ctx).await.map_err(Error::mpc(me))?)
        }
    })
}

fn tag(kind: PreprocessingKind) -> u8 {
    match kind {
        PreprocessingKind::Dealer => 1,
        PreprocessingKind::Ot => 2,
    }
}

/// A peer's preprocessing choice: one byte, 1 (dealer) or 2 (ot).
pub(crate) fn decode_choice(b: &[u8]) -> std::result::Result<u8, String> {
    match b {
        [t @ (1 | 2)] => Ok(*t),
        _ => Err(format!("a preprocessing announcement of {} bytes", b.len())),
    }
}

/// Every party announces its choice to every other; all must match.
async fn agree(ctx: &mut Context, kind: PreprocessingKind) -> Result<()> {
    let me = ctx.id();
    let peers: Vec<usize> = ctx.peers().collect();
    for &p in &peers {
        ctx.send_bytes(p, vec![tag(kind)])
            .await
            .map_err(Error::mpc(me))?;
    }
    for p in peers {
        let theirs = ctx
            .recv_checked(p, decode_choice)
            .await
            .map_err(Error::mpc(me))?;
        if theirs != tag(kind) {
            let name = |t: u8| if t == 1 { "dealer" } else { "ot" };
            let mut choices = [(p, name(theirs)), (me, name(tag(kind)))];
            choices.sort();
            let reason = format!(
                "the parties disagree on preprocessing: party {} chose {}, party {} chose {}",
                choices[0].0, choices[0].1, choices[1].0, choices[1].1
            );
            ctx.abort(AbortCategory::ConfigMismatch(Some("preprocessing")))
                .await;
            return Err(Error::mpc(me)(mpc_core::Error::InvalidArgument(reason)));
        }
    }
    Ok(())
}
