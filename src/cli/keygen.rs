//! `mpc keygen --name NAME --out DIR`: writes `DIR/NAME.key` (the private key, mode 0600) and `DIR/NAME.crt`
//! (a self-signed certificate), refusing to overwrite either, and prints the certificate's SHA-256
//! fingerprint to send to the other institutions (they paste it into their roster).
//! `mpc keygen --show FILE.crt` prints the fingerprint of an existing certificate again. The logic lives in
//! `mpc_net::identity`; this file is the command-line glue.

use std::path::PathBuf;
use std::process::ExitCode;

use mpc_net::Fingerprint;

use super::CliResult;

/// Arguments of `mpc keygen`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// This party's name (letters, digits, '.', '_', '-'); it names the files and the certificate.
    #[arg(long, required_unless_present = "show")]
    pub name: Option<String>,
    /// Folder for the key and certificate (created if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Print the fingerprint of this existing certificate instead of writing a new key pair.
    #[arg(long, value_name = "CERT", conflicts_with = "name")]
    pub show: Option<PathBuf>,
}

/// Runs `mpc keygen`.
pub fn run(args: Args) -> CliResult {
    if let Some(cert) = &args.show {
        let fp = mpc_net::identity::certificate_fingerprint(cert)?;
        println!("certificate:  {}", cert.display());
        print_fingerprint(&fp, None);
        return Ok(ExitCode::SUCCESS);
    }
    let name = args.name.as_deref().ok_or("`--name NAME` is required")?;
    let g = mpc_net::identity::generate(name, &args.out)?;
    println!(
        "private key:  {} (keep it secret; never send it)",
        g.key_path.display()
    );
    println!("certificate:  {}", g.cert_path.display());
    print_fingerprint(&g.identity.fingerprint, Some(name));
    Ok(ExitCode::SUCCESS)
}

fn print_fingerprint(fp: &Fingerprint, name: Option<&str>) {
    println!();
    println!("SHA-256 fingerprint of the certificate, to send to every other party:");
    println!();
    for line in fp.grouped().lines() {
        println!("    {line}");
    }
    println!();
    match name {
        Some(name) => println!("In their roster ([[party]] entry for '{name}'):"),
        None => println!("In their roster ([[party]] entry for this party):"),
    }
    println!("    fingerprint = \"{fp}\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_files_once() {
        let dir = std::env::temp_dir().join(format!("mpc-keygen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let args = || Args {
            name: Some("bank-b".into()),
            out: dir.clone(),
            show: None,
        };
        assert!(run(args()).is_ok());
        assert!(dir.join("bank-b.key").exists() && dir.join("bank-b.crt").exists());
        let err = run(args()).unwrap_err().to_string();
        assert!(err.contains("refusing to overwrite"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
