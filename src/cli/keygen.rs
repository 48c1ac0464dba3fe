//! `mpc keygen` (not built yet: see the open issue that adds it).

use super::CliResult;

/// Arguments of `mpc keygen`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `mpc keygen`.
pub fn run(_args: Args) -> CliResult {
    Err("`mpc keygen` is not available in this build yet".into())
}
