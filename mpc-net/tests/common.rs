//! Helpers shared by the integration tests: run one closure per party over a loopback mesh, with a bound.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mpc_core::{Context, Result};
use mpc_net::{local, Mesh, MeshOptions};

/// Generous bound for any one session in these tests.
pub const SESSION_BOUND: Duration = Duration::from_secs(60);

/// Runs `f` for each computing party (and `dealer::serve` on a dealer endpoint) over loopback QUIC, closes
/// every mesh, and returns each computing party's result.
pub async fn run_loopback<T, F, Fut>(
    parties: usize,
    dealer: bool,
    opts: MeshOptions,
    f: F,
) -> Vec<Result<T>>
where
    T: Send + 'static,
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let meshes = local::loopback_session(parties, dealer, opts)
        .await
        .expect("loopback mesh");
    run_on(meshes, parties, f).await
}

/// Like [`run_loopback`] on meshes already connected.
pub async fn run_on<T, F, Fut>(meshes: Vec<Mesh>, parties: usize, f: F) -> Vec<Result<T>>
where
    T: Send + 'static,
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let f = Arc::new(f);
    let mut parties_tasks = Vec::new();
    let mut dealer_task = None;
    for mesh in meshes {
        let ctx = Context::new(Arc::new(mesh.clone()), parties).expect("context");
        if ctx.id() >= parties {
            dealer_task = Some(tokio::spawn(async move {
                let r = mpc_core::preprocessing::dealer::serve(ctx).await;
                mesh.close().await;
                r
            }));
            continue;
        }
        let f = f.clone();
        parties_tasks.push(tokio::spawn(async move {
            let r = f(ctx).await;
            mesh.close().await;
            r
        }));
    }
    let all = async {
        let mut out = Vec::new();
        for t in parties_tasks {
            out.push(t.await.expect("party task"));
        }
        if let Some(d) = dealer_task {
            d.await.expect("dealer task").expect("the dealer failed");
        }
        out
    };
    tokio::time::timeout(SESSION_BOUND, all)
        .await
        .expect("the session hung")
}
