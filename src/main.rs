//! The `mpc` command: key generation, training, the bundled demo and benchmarks.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Secure multi-party training of regression models across institutions.
#[derive(Parser, Debug)]
#[command(name = "mpc", version, about)]
struct Cli {
    /// Verbose logs (tracing); logs never contain shares, seeds or keys.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a private key and a self-signed certificate, and print the certificate's fingerprint (or, with
    /// --show, print an existing certificate's fingerprint).
    Keygen(cli::keygen::Args),
    /// Print a party's [[party]] roster entry from its certificate, to paste into every party's config.
    RosterEntry(cli::roster_entry::Args),
    /// Train a model: one party of a deployment (--config), or every party on this machine (--local).
    Train(cli::train::Args),
    /// Run the bundled three-hospital example, every party on this machine over loopback QUIC.
    Demo(cli::demo::Args),
    /// Measure multiplication, preprocessing and training throughput beside same-run baselines.
    Bench(cli::bench::Args),
    /// A test and evaluation tool: a UDP relay that emulates a wide-area link (delay, jitter, loss,
    /// bandwidth, cuts) in front of one party; not part of a deployment.
    Relay(cli::relay::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_logging(cli.verbose);
    let result = match cli.command {
        Command::Keygen(a) => cli::keygen::run(a),
        Command::RosterEntry(a) => cli::roster_entry::run(a),
        Command::Train(a) => cli::train::run(a),
        Command::Demo(a) => cli::demo::run(a),
        Command::Bench(a) => cli::bench::run(a),
        Command::Relay(a) => cli::relay::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
