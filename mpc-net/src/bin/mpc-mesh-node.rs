//! `mpc-mesh-node CONFIG [--suite] [--rounds N] [--elements N] [--pace-ms MS] [--dealer]`: one party of a session over the
//! QUIC mesh, for the multi-process tests. It connects, prints `connected`, then runs mpc-core's conformance
//! suite if `--suite` is given, then `N` rounds of input, Beaver multiplication and opening on 1,000 Z64
//! elements, checks every result against the plaintext, prints `done` and leaves. The loop's triples come from
//! the session's dealer with `--dealer` (not together with `--suite`, which connects its own dealer
//! sources), otherwise from the insecure shared seed. A dealer endpoint serves. Any error is printed and the
//! exit code is 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use mpc_core::preprocessing::{dealer, DealerSource, InsecureSharedSeed, Preprocessing};
use mpc_core::protocols::{input, mul, open};
use mpc_core::ring::Z64;
use mpc_core::Context;
use mpc_net::{Mesh, MeshOptions, PartyConfig, Role};

struct Args {
    config: PathBuf,
    rounds: u64,
    elements: u64,
    pace: Duration,
    dealer: bool,
    suite: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut args = Args {
        config: PathBuf::new(),
        rounds: 10,
        elements: 1000,
        pace: Duration::ZERO,
        dealer: false,
        suite: false,
    };
    let number = |v: Option<String>, what: &str| -> Result<u64, String> {
        v.and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{what} needs a number"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => args.rounds = number(it.next(), "--rounds")?,
            "--elements" => args.elements = number(it.next(), "--elements")?,
            "--pace-ms" => args.pace = Duration::from_millis(number(it.next(), "--pace-ms")?),
            "--dealer" => args.dealer = true,
            "--suite" => args.suite = true,
            _ if args.config.as_os_str().is_empty() => args.config = PathBuf::from(a),
            other => return Err(format!("unexpected argument '{other}'")),
        }
    }
    if args.suite && args.dealer {
        return Err("--suite and --dealer do not combine".into());
    }
    if args.config.as_os_str().is_empty() {
        return Err(
            "usage: mpc-mesh-node CONFIG [--suite] [--rounds N] [--elements N] [--pace-ms MS] [--dealer]".into(),
        );
    }
    Ok(args)
}

fn plaintext(round: u64, owner: u64, elements: u64) -> Vec<Z64> {
    (0..elements)
        .map(|i| Z64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ round << 8 ^ owner))
        .collect()
}

async fn compute(mut ctx: Context, args: &Args) -> mpc_core::Result<()> {
    if args.suite {
        mpc_core::testing::protocol_suite(&mut ctx).await?;
    }
    let mut source: Box<dyn Preprocessing<Z64>> = if args.dealer {
        Box::new(DealerSource::<Z64>::connect(&ctx).await?)
    } else {
        Box::new(InsecureSharedSeed::<Z64>::for_context([7; 32], &ctx))
    };
    let me = ctx.id();
    let mut mul_time = Duration::ZERO;
    for round in 0..args.rounds {
        let (xs, ys) = (
            plaintext(round, 0, args.elements),
            plaintext(round, 1, args.elements),
        );
        let x =
            input::share_from::<Z64>(&mut ctx, 0, (me == 0).then_some(&xs[..]), xs.len()).await?;
        let y =
            input::share_from::<Z64>(&mut ctx, 1, (me == 1).then_some(&ys[..]), ys.len()).await?;
        let start = std::time::Instant::now();
        let triples = source.triples(&mut ctx, xs.len()).await?;
        let z = mul::mul(&mut ctx, &x, &y, triples).await?;
        mul_time += start.elapsed();
        let got = open::open(&mut ctx, &z).await?;
        let want: Vec<Z64> = xs.iter().zip(&ys).map(|(&a, &b)| a * b).collect();
        if got != want {
            let err = mpc_core::Error::InvalidArgument(format!("round {round}: wrong product"));
            return Err(ctx.fail(err).await);
        }
        if !args.pace.is_zero() {
            tokio::time::sleep(args.pace).await;
        }
    }
    // Triple generation and the multiplication, from this party's view.
    let total = (args.rounds * args.elements) as f64;
    println!(
        "mul: {total} elements in {:.4} s, {:.3e} per second",
        mul_time.as_secs_f64(),
        total / mul_time.as_secs_f64().max(1e-9)
    );
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    let config = PartyConfig::load(&args.config).map_err(|e| e.to_string())?;
    let mesh = Mesh::connect(&config, MeshOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    println!("connected");
    let _ = std::io::stdout().flush();
    let ctx = Context::new(Arc::new(mesh.clone()), config.roster.computing_parties())
        .map_err(|e| e.to_string())?;
    let result = if config.me().role == Role::Dealer {
        dealer::serve(ctx).await
    } else {
        compute(ctx, &args).await
    };
    mesh.close().await;
    result.map_err(|e| e.to_string())?;
    println!("done");
    Ok(())
}

fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
