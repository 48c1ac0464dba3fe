//! Failure never hangs: hello mismatches, missing parties, aborts, oversized frames and vanished peers
//! each end in an error that names the party at fault, within a bounded time.

mod common;

use std::time::{Duration, Instant};

use common::run_on;
use mpc_core::Error;
use mpc_net::local::{loopback_options, LoopbackParts};
use mpc_net::{Mesh, MeshOptions, NetError, PartyEntry, Roster};

/// Connects every endpoint of `parts`, party `i` with `session(i)`, `roster(i)` and `opts(i)`.
async fn connect_each(
    parts: LoopbackParts,
    session: impl Fn(usize) -> String,
    roster: impl Fn(usize, &Roster) -> Roster,
    opts: impl Fn(usize) -> MeshOptions,
) -> Vec<Result<Mesh, NetError>> {
    let mut tasks = Vec::new();
    for (id, (identity, socket)) in parts.identities.into_iter().zip(parts.sockets).enumerate() {
        let (s, r, o) = (session(id), roster(id, &parts.roster), opts(id));
        tasks.push(tokio::spawn(async move {
            Mesh::connect_with(identity, &r, &s, id, socket, o).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn quick() -> MeshOptions {
    MeshOptions {
        connect_timeout: Duration::from_secs(10),
        ..loopback_options()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_session_id_is_refused_naming_the_field() {
    let parts = LoopbackParts::new(2, false, 1 << 20).unwrap();
    let started = Instant::now();
    let results = connect_each(
        parts,
        |id| {
            if id == 0 {
                "study-a".into()
            } else {
                "study-b".into()
            }
        },
        |_, r| r.clone(),
        |_| quick(),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    for (id, r) in results.into_iter().enumerate() {
        match r {
            Err(NetError::HelloMismatch { party, reason }) => {
                assert_eq!(party, 1 - id);
                assert!(reason.contains("session id"), "{reason}");
            }
            other => panic!("party {id}: expected a hello mismatch, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_roster_is_refused_naming_the_digest() {
    let parts = LoopbackParts::new(2, false, 1 << 20).unwrap();
    let renamed = |id: usize, r: &Roster| {
        if id == 0 {
            return r.clone();
        }
        let mut entries: Vec<PartyEntry> = r.parties().to_vec();
        entries[0].name = "someone-else".into();
        Roster::new(entries).unwrap()
    };
    let results = connect_each(parts, |_| "s".into(), renamed, |_| quick()).await;
    for (id, r) in results.into_iter().enumerate() {
        match r {
            Err(NetError::HelloMismatch { reason, .. }) => {
                assert!(reason.contains("roster digest"), "{reason}")
            }
            other => panic!("party {id}: expected a hello mismatch, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_party_is_named_with_its_address_at_the_deadline() {
    let mut parts = LoopbackParts::new(3, false, 1 << 20).unwrap();
    let roster = parts.roster.clone();
    // Only party 0 starts; parties 1 and 2 never answer.
    let identity = parts.identities.remove(0);
    let socket = parts.sockets.remove(0);
    let opts = MeshOptions {
        connect_timeout: Duration::from_millis(1500),
        ..loopback_options()
    };
    let started = Instant::now();
    let err = Mesh::connect_with(identity, &roster, "s", 0, socket, opts)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let msg = err.to_string();
    match &err {
        NetError::Unreachable { missing, .. } => {
            assert_eq!(missing.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 2]);
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    for p in &roster.parties()[1..] {
        assert!(msg.contains(&p.address) && msg.contains(&p.name), "{msg}");
    }
}

/// A peer whose link is already up and which gives up during set-up ends the set-up of the others at once,
/// with its reason, instead of leaving them waiting for their own deadline: party 0 never starts, party 1
/// (link to 2 up) gives up after 1.5 s, party 2 (deadline 60 s) stops with PeerAborted from 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_giving_up_during_set_up_stops_the_others_with_its_reason() {
    let mut parts = LoopbackParts::new(3, false, 1 << 20).unwrap();
    let roster = parts.roster.clone();
    let (_, _) = (parts.identities.remove(0), parts.sockets.remove(0));
    let mut tasks = Vec::new();
    for (id, (identity, socket)) in (1..).zip(parts.identities.into_iter().zip(parts.sockets)) {
        let roster = roster.clone();
        let opts = MeshOptions {
            connect_timeout: if id == 1 {
                Duration::from_millis(1500)
            } else {
                Duration::from_secs(60)
            },
            ..loopback_options()
        };
        tasks.push(tokio::spawn(async move {
            Mesh::connect_with(identity, &roster, "s", id, socket, opts).await
        }));
    }
    let started = Instant::now();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&results[0], Err(NetError::Unreachable { .. })),
        "{:?}",
        results[0].as_ref().err()
    );
    match &results[1] {
        Err(NetError::PeerAborted { party: 1, reason }) => {
            assert!(reason.contains("set-up failed"), "{reason}")
        }
        other => panic!(
            "party 2: expected PeerAborted from 1, got {:?}",
            other.as_ref().err()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_reaches_every_peer_with_its_reason() {
    let meshes = mpc_net::local::loopback_mesh(3, loopback_options())
        .await
        .unwrap();
    let results = run_on(meshes, 3, |mut ctx| async move {
        if ctx.id() == 2 {
            ctx.abort(mpc_core::AbortCategory::InputRejected).await;
            return Ok(());
        }
        ctx.recv_bytes(2).await.map(|_| ())
    })
    .await;
    for (id, r) in results.into_iter().enumerate().take(2) {
        match r {
            Err(Error::PeerAborted { party: 2, reason }) => {
                assert_eq!(reason, "input rejected; see party 2's log")
            }
            other => panic!("party {id}: expected PeerAborted from 2, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_aborts_the_session_and_blames_the_sender() {
    let parts = LoopbackParts::new(2, false, 1 << 20).unwrap();
    let small = |id: usize| MeshOptions {
        max_frame: if id == 1 { 4096 } else { 1 << 20 },
        ..quick()
    };
    let meshes: Vec<Mesh> = connect_each(parts, |_| "s".into(), |_, r| r.clone(), small)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let results = run_on(meshes, 2, |mut ctx| async move {
        if ctx.id() == 0 {
            ctx.send_bytes(1, vec![0; 10_000]).await?;
        }
        ctx.recv_bytes(1 - ctx.id()).await.map(|_| ())
    })
    .await;
    match &results[1] {
        Err(Error::Malformed { party: 0, reason }) => {
            assert!(reason.contains("exceeds the maximum"), "{reason}")
        }
        other => panic!("party 1: expected Malformed from 0, got {other:?}"),
    }
    match &results[0] {
        // Party 1's mesh aborts on the frame ("party 0 sent a malformed frame") and its session aborts with
        // the protocol-violation category; whichever reaches party 0 first is its reason.
        Err(Error::PeerAborted { party: 1, reason }) => assert!(
            reason.contains("malformed") || reason.contains("a peer broke the protocol"),
            "{reason}"
        ),
        other => panic!("party 0: expected PeerAborted from 1, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_is_reported_lost_not_awaited() {
    let mut meshes = mpc_net::local::loopback_mesh(2, loopback_options())
        .await
        .unwrap();
    let gone = meshes.pop().unwrap();
    drop(gone);
    let started = Instant::now();
    let results = run_on(meshes, 2, |mut ctx| async move {
        ctx.recv_bytes(1).await.map(|_| ())
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    match &results[0] {
        Err(Error::PeerLost { party: 1, .. }) => {}
        other => panic!("expected PeerLost from 1, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_that_leaves_is_read_to_the_end_then_reported() {
    let meshes = mpc_net::local::loopback_mesh(2, loopback_options())
        .await
        .unwrap();
    let results = run_on(meshes, 2, |mut ctx| async move {
        if ctx.id() == 1 {
            for i in 0..20u8 {
                ctx.send_bytes(0, vec![i; 100_000]).await?;
            }
            return Ok(20);
        }
        // Party 1 closes right after sending: every message still arrives, then the loss is reported.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut got = 0;
        loop {
            match ctx.recv_bytes(1).await {
                Ok(m) if m == vec![got as u8; 100_000] => got += 1,
                Ok(_) => return Err(Error::InvalidArgument("wrong message".into())),
                Err(Error::PeerLost { party: 1, reason }) if reason.contains("left") => {
                    return Ok(got)
                }
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    assert_eq!(results[0].as_ref().unwrap(), &20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_session_reports_the_root_cause_and_every_party_stops() {
    let outputs = mpc_net::local::run_session(3, false, loopback_options(), |mut ctx| async move {
        if ctx.id() == 1 {
            return Err(Error::InvalidArgument("party 1 has no data".into()));
        }
        ctx.recv_bytes(1).await.map(|_| ())
    })
    .await
    .unwrap();
    for (id, o) in outputs.iter().enumerate() {
        assert!(o.result.is_err(), "party {id} succeeded");
    }
    match mpc_core::simulate::collect(outputs) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("no data")),
        other => panic!("expected the root cause, got {other:?}"),
    }
}
