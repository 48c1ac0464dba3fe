//! `mpc bench` (not built yet: see the open issue that adds it).

use super::CliResult;

/// Arguments of `mpc bench`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `mpc bench`.
pub fn run(_args: Args) -> CliResult {
    Err("`mpc bench` is not available in this build yet".into())
}
