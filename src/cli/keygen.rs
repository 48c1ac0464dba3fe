//! `mpc keygen --name NAME --out DIR`: writes `DIR/NAME.key` (the private key, mode 0600) and `DIR/NAME.crt`
//! (a self-signed certificate), refusing to overwrite either, and prints the certificate's SHA-256
//! fingerprint to send to the other institutions (they paste it into their roster). The logic lives in
//! `mpc_net::identity`; this file is the command-line glue.

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliResult;

/// Arguments of `mpc keygen`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// This party's name (letters, digits, '.', '_', '-'); it names the files and the certificate.
    #[arg(long)]
    pub name: String,
    /// Folder for the key and certificate (created if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// Runs `mpc keygen`.
pub fn run(args: Args) -> CliResult {
    let g = mpc_net::identity::generate(&args.name, &args.out)?;
    let fp = g.identity.fingerprint;
    println!(
        "private key:  {} (keep it secret; never send it)",
        g.key_path.display()
    );
    println!("certificate:  {}", g.cert_path.display());
    println!();
    println!("SHA-256 fingerprint of the certificate, to send to every other party:");
    println!();
    for line in fp.grouped().lines() {
        println!("    {line}");
    }
    println!();
    println!("In their roster ([[party]] entry for '{}'):", args.name);
    println!("    fingerprint = \"{fp}\"");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_files_once() {
        let dir = std::env::temp_dir().join(format!("mpc-keygen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let args = || Args {
            name: "bank-b".into(),
            out: dir.clone(),
        };
        assert!(run(args()).is_ok());
        assert!(dir.join("bank-b.key").exists() && dir.join("bank-b.crt").exists());
        let err = run(args()).unwrap_err().to_string();
        assert!(err.contains("refusing to overwrite"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
