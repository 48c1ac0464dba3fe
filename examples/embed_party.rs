//! A service that embeds one party of a training run as a library call, with its own network and its own
//! error handling: `mpc_ml::train_party(&mut ctx, &mut source, &data, &config).await`.
//!
//! Here the "network" is mpc-core's in-memory mesh and all parties run in this process (each as its own tokio
//! task, exactly as separate services would run); a deployment hands each party a context over mpc-net's
//! QUIC mesh instead. Run with `cargo run --example embed_party`.

use std::path::Path;
use std::sync::Arc;

use mpc::core::net::MemoryNetwork;
use mpc::core::preprocessing::{dealer, DealerSource};
use mpc::core::{Context, Network};
use mpc::ml::{data, split, DataSpec, ModelKind, TrainConfig};

/// One party's service: load its own file, keep its own test rows, train, and handle errors its own way.
async fn party_service(
    net: Arc<dyn Network>,
    parties: usize,
    file: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut ctx = Context::new(net, parties)?;
    let spec = DataSpec {
        label: "malignant".into(),
        id_column: Some("patient_id".into()),
        features: None,
        model: ModelKind::Logistic,
    };
    let rows = match data::load_csv_file(ctx.id(), file, &spec) {
        Ok(rows) => rows,
        Err(e) => {
            ctx.abort(e.abort_category()).await; // tell the other parties we stop, and the category only
            return Err(e.into());
        }
    };
    let (train, test) = split::split_party(&rows);
    let config = TrainConfig {
        receivers: vec![0, 2],
        ..TrainConfig::default()
    };
    let mut source = DealerSource::connect(&ctx).await?;
    let out = mpc::ml::train_party(&mut ctx, &mut source, &train, &config).await?;
    match &out.model {
        Some(model) => {
            let m = mpc::ml::metrics::evaluate(model, &test.rows, &test.labels);
            println!(
                "party {}: received the model; accuracy on my {} test rows {:.3}; {:.3} s, {:.1} rounds per step",
                out.party,
                test.len(),
                m.accuracy.unwrap_or(f64::NAN),
                out.timing.training_seconds,
                out.timing.rounds_per_step
            );
        }
        None => println!(
            "party {}: trained, not a receiver: learned no model",
            out.party
        ),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let files = ["hospital_a.csv", "hospital_b.csv", "hospital_c.csv"];
    let n = files.len();
    // Endpoints 0..n are the hospitals, endpoint n the dealer.
    let mut tasks = Vec::new();
    for net in MemoryNetwork::new(n + 1) {
        let net: Arc<dyn Network> = Arc::new(net);
        if net.id() == n {
            let ctx = Context::new(net, n)?;
            tokio::spawn(async move { dealer::serve(ctx).await });
            continue;
        }
        let file = dir.join(files[net.id()]);
        tasks.push(tokio::spawn(async move {
            party_service(net, n, &file)
                .await
                .map_err(|e| e.to_string())
        }));
    }
    for t in tasks {
        if let Err(e) = t.await? {
            eprintln!("a party stopped: {e}");
        }
    }
    Ok(())
}
