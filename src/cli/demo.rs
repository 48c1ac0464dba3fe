//! `mpc demo` (not built yet: see the open issue that adds it).

use super::CliResult;

/// Arguments of `mpc demo`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `mpc demo`.
pub fn run(_args: Args) -> CliResult {
    Err("`mpc demo` is not available in this build yet".into())
}
