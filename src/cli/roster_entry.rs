//! `mpc roster-entry --name hospital-a --address host:port --certificate hospital-a.crt [--id N] [--dealer]`:
//! prints the `[[party]]` entry of a party's roster from its certificate (the fingerprint is computed from the
//! file, never typed), ready to paste into every party's config. The name and the address are checked as the
//! config reader checks them.

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliResult;

/// Arguments of `mpc roster-entry`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The party's name in the roster (as in its `mpc keygen --name`).
    #[arg(long)]
    pub name: String,
    /// The `host:port` (UDP) the party listens on, as the others reach it.
    #[arg(long)]
    pub address: String,
    /// The party's certificate (the `.crt` file `mpc keygen` wrote; never the key).
    #[arg(long, value_name = "FILE")]
    pub certificate: PathBuf,
    /// The party's id (0, 1, ... in the order every party agrees on; the dealer has the highest).
    #[arg(long)]
    pub id: Option<usize>,
    /// The entry is the dealer's.
    #[arg(long)]
    pub dealer: bool,
}

/// The entry's TOML text.
pub fn entry(args: &Args) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    if args.name.trim().is_empty() || args.name.contains('"') || args.name.contains('\\') {
        return Err(format!(
            "`--name {}`: give a non-empty name without quotes",
            args.name
        )
        .into());
    }
    mpc_net::config::check_address(&args.address).map_err(|m| format!("`--address`: {m}"))?;
    let fp = mpc_net::identity::certificate_fingerprint(&args.certificate)?;
    let id = match args.id {
        Some(id) => format!("id = {id}\n"),
        None => "id = 0  # TODO: this party's id, the same in every party's roster (0, 1, ...; the dealer last)\n"
            .to_string(),
    };
    let role = if args.dealer {
        "role = \"dealer\"\n"
    } else {
        ""
    };
    Ok(format!(
        "[[party]]\n{id}name = \"{}\"\naddress = \"{}\"\nfingerprint = \"{fp}\"  # SHA-256 of {}\n{role}",
        args.name,
        args.address,
        args.certificate
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    ))
}

/// Runs `mpc roster-entry`.
pub fn run(args: Args) -> CliResult {
    print!("{}", entry(&args)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries made from two certificates form a roster the config reader accepts, with their fingerprints.
    #[test]
    fn entries_paste_into_a_config() {
        let dir = std::env::temp_dir().join(format!("mpc-roster-entry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = mpc_net::identity::generate("hospital-a", &dir).unwrap();
        let b = mpc_net::identity::generate("dealer", &dir).unwrap();
        let ea = entry(&Args {
            name: "hospital-a".into(),
            address: "a.example.org:7100".into(),
            certificate: a.cert_path.clone(),
            id: Some(0),
            dealer: false,
        })
        .unwrap();
        let eb = entry(&Args {
            name: "dealer".into(),
            address: "10.0.0.9:7100".into(),
            certificate: b.cert_path.clone(),
            id: Some(1),
            dealer: true,
        })
        .unwrap();
        let text = format!(
            "session_id = \"s\"\nparty_id = 0\nkey = \"k\"\ncertificate = \"c\"\nlisten = \"0.0.0.0:7100\"\n\n{ea}\n{eb}"
        );
        let c = mpc_net::PartyConfig::parse(&dir.join("p.toml"), text).unwrap();
        assert_eq!(c.roster.parties()[0].fingerprint, a.identity.fingerprint);
        assert_eq!(c.roster.parties()[1].fingerprint, b.identity.fingerprint);
        assert_eq!(c.roster.dealer(), Some(1));
        assert_eq!(c.roster.parties()[0].address, "a.example.org:7100");
        let bad = Args {
            name: "x".into(),
            address: "no-port".into(),
            certificate: a.cert_path.clone(),
            id: None,
            dealer: false,
        };
        assert!(entry(&bad).unwrap_err().to_string().contains("--address"));
        let missing = Args {
            address: "h:1".into(),
            certificate: dir.join("nope.crt"),
            ..bad
        };
        assert!(entry(&missing)
            .unwrap_err()
            .to_string()
            .contains("nope.crt"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
