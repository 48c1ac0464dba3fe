//! Subcommands of the `mpc` binary, one file each.

pub mod bench;
mod bench_train;
pub mod common;
pub mod demo;
pub mod deploy;
pub mod keygen;
mod peer_split;
pub mod relay;
pub mod roster_entry;
pub mod train;

/// Errors of the command line: any displayable error, reported once by `main`.
pub type CliResult = Result<std::process::ExitCode, Box<dyn std::error::Error + Send + Sync>>;

/// Installs the tracing subscriber on stderr: warnings by default (and, while a party sets up its
/// connections, every few seconds whom it still waits for), more with each `-v`. Colour codes only when
/// stderr is a terminal, so a log file holds plain text.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn,mpc_net::waiting=info",
        1 => "info",
        2 => "debug,rustls=info,quinn=info,quinn_proto=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
