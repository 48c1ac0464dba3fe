//! `mpc train` (not built yet: see the open issue that adds it).

use super::CliResult;

/// Arguments of `mpc train`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `mpc train`.
pub fn run(_args: Args) -> CliResult {
    Err("`mpc train` is not available in this build yet".into())
}
