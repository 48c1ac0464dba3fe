//! A party's TOML configuration: the session id, this party's id, key, certificate and listen address, an
//! optional `[network]` table of timeouts and limits, and the roster (`[[party]]` entries). A top-level
//! `[train]` table belongs to the training layer: it is kept as it is, unvalidated.
//!
//! Every other field is checked when the file is read, and a mistake names the file, the line and the field.
//! An inconsistent roster (duplicate ids, names or fingerprints, ids that are not `0..n`, a dealer that does
//! not have the highest id, this party missing) is refused before any connection is made. Relative key and
//! certificate paths resolve against the configuration file's folder.
//!
//! ```toml
//! session_id = "cohort-study-2026"
//! party_id = 0
//! key = "keys/hospital-a.key"
//! certificate = "keys/hospital-a.crt"
//! listen = "0.0.0.0:7100"
//!
//! [network]                  # optional
//! connect_timeout_secs = 60
//! idle_timeout_secs = 8
//! max_frame_bytes = 268435456
//!
//! [[party]]
//! id = 0
//! name = "hospital-a"
//! address = "a.example.org:7100"
//! fingerprint = "3F:A2:...:19"
//!
//! [[party]]
//! id = 1
//! name = "hospital-b"
//! address = "b.example.org:7100"
//! fingerprint = "..."
//!
//! [[party]]                  # optional dealer: highest id
//! id = 2
//! name = "dealer"
//! address = "d.example.org:7100"
//! fingerprint = "..."
//! role = "dealer"
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mpc_core::PartyId;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::error::{NetError, Result};
use crate::fingerprint::Fingerprint;

/// What an endpoint does in the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A computing party (ids `0..n`).
    Computing,
    /// The dealer of correlated randomness (the highest id).
    Dealer,
}

/// One roster entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyEntry {
    /// Party id.
    pub id: PartyId,
    /// Human-readable name (used in errors and logs).
    pub name: String,
    /// `host:port` the party listens on.
    pub address: String,
    /// SHA-256 of its certificate.
    pub fingerprint: Fingerprint,
    /// Computing party or dealer.
    pub role: Role,
}

/// Every endpoint of a session, indexed by id (entry `i` has id `i`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    parties: Vec<PartyEntry>,
}

impl Roster {
    /// A roster from entries; checks that ids are `0..n`, fingerprints and names are distinct and a dealer,
    /// if any, has the highest id. Errors name the first offending entry.
    pub fn new(mut parties: Vec<PartyEntry>) -> std::result::Result<Roster, String> {
        parties.sort_by_key(|p| p.id);
        if parties.len() < 2 {
            return Err(format!(
                "a session needs at least 2 parties, the roster has {}",
                parties.len()
            ));
        }
        for (i, p) in parties.iter().enumerate() {
            if p.id != i {
                return Err(if i > 0 && parties[i - 1].id == p.id {
                    format!("party id {} appears twice", p.id)
                } else {
                    format!(
                        "party ids must be 0..{} without gaps, but id {i} is missing",
                        parties.len()
                    )
                });
            }
        }
        let mut fps = HashMap::new();
        let mut names = HashMap::new();
        for p in &parties {
            if let Some(other) = fps.insert(p.fingerprint, p.id) {
                return Err(format!(
                    "parties {other} and {} have the same fingerprint",
                    p.id
                ));
            }
            if let Some(other) = names.insert(p.name.clone(), p.id) {
                return Err(format!(
                    "parties {other} and {} have the same name '{}'",
                    p.id, p.name
                ));
            }
            if p.role == Role::Dealer && p.id + 1 != parties.len() {
                return Err(format!(
                    "the dealer (party {}) must have the highest id, {}",
                    p.id,
                    parties.len() - 1
                ));
            }
        }
        if parties.iter().all(|p| p.role == Role::Dealer) {
            return Err("the roster has no computing party".into());
        }
        Ok(Roster { parties })
    }

    /// All entries, by id.
    pub fn parties(&self) -> &[PartyEntry] {
        &self.parties
    }

    /// Number of endpoints (computing parties plus a dealer if any).
    pub fn endpoints(&self) -> usize {
        self.parties.len()
    }

    /// Number of computing parties.
    pub fn computing_parties(&self) -> usize {
        self.parties
            .iter()
            .filter(|p| p.role == Role::Computing)
            .count()
    }

    /// The dealer's id, if the roster has one.
    pub fn dealer(&self) -> Option<PartyId> {
        self.parties
            .iter()
            .find(|p| p.role == Role::Dealer)
            .map(|p| p.id)
    }

    /// The entry of party `id`.
    pub fn get(&self, id: PartyId) -> Option<&PartyEntry> {
        self.parties.get(id)
    }

    /// The party whose certificate has this fingerprint.
    pub fn by_fingerprint(&self, fp: &Fingerprint) -> Option<&PartyEntry> {
        self.parties.iter().find(|p| &p.fingerprint == fp)
    }

    /// A digest of the whole roster and the session id, compared in the hello so that every party is sure
    /// the others run the same session with the same roster.
    pub fn digest(&self, session_id: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(b"mpc-net roster v1");
        field(session_id.as_bytes());
        for p in &self.parties {
            field(&(p.id as u64).to_le_bytes());
            field(p.name.as_bytes());
            field(p.address.as_bytes());
            field(&p.fingerprint.0);
            field(&[matches!(p.role, Role::Dealer) as u8]);
        }
        h.finalize().into()
    }
}

/// The optional `[network]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkSettings {
    /// How long to keep trying to reach every peer.
    pub connect_timeout: Option<Duration>,
    /// How long a silent peer is tolerated before it counts as lost.
    pub idle_timeout: Option<Duration>,
    /// Largest frame accepted from a peer.
    pub max_frame_bytes: Option<usize>,
}

/// One party's configuration file, checked.
#[derive(Clone, Debug)]
pub struct PartyConfig {
    /// The file it was read from.
    pub path: PathBuf,
    /// The file's text (the training layer re-reads its `[train]` spans from it).
    pub text: String,
    /// Session id; every party must use the same.
    pub session_id: String,
    /// This party's id.
    pub party_id: PartyId,
    /// Private key file (resolved against the config's folder).
    pub key_path: PathBuf,
    /// Certificate file (resolved against the config's folder).
    pub cert_path: PathBuf,
    /// Line and column of the `certificate` field (for errors about the certificate file).
    pub cert_at: (usize, usize),
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The `[network]` table.
    pub network: NetworkSettings,
    /// Every endpoint of the session.
    pub roster: Roster,
    /// The `[train]` table, unvalidated.
    pub train: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    session_id: Spanned<String>,
    party_id: Spanned<usize>,
    key: Spanned<String>,
    certificate: Spanned<String>,
    listen: Spanned<String>,
    network: Option<RawNetwork>,
    #[serde(default)]
    party: Vec<Spanned<RawParty>>,
    train: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    connect_timeout_secs: Option<Spanned<f64>>,
    idle_timeout_secs: Option<Spanned<f64>>,
    max_frame_bytes: Option<Spanned<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    id: Spanned<usize>,
    name: Spanned<String>,
    address: Spanned<String>,
    fingerprint: Spanned<String>,
    role: Option<Spanned<String>>,
}

struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Reader<'_> {
    fn line(&self, offset: usize) -> usize {
        line_col(self.text, offset).0
    }

    fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        field: &str,
        message: impl Into<String>,
    ) -> Result<T> {
        let (line, column) = line_col(self.text, span.start);
        Err(NetError::Config {
            path: self.path.to_path_buf(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        })
    }

    fn syntax(&self, e: toml::de::Error) -> NetError {
        let message = e.message().trim().to_string();
        // A missing field is reported over the whole table: name the field, not the key on its first line.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        let (line, column, field) = match (e.span(), missing) {
            (Some(span), Some(field)) => {
                let (line, column) = line_col(self.text, span.start);
                (line, column, field)
            }
            (None, Some(field)) => (1, 1, field),
            (Some(span), None) => {
                let (line, column) = line_col(self.text, span.start);
                let text = self.text.lines().nth(line - 1).unwrap_or("");
                let field = text
                    .split_once('=')
                    .map(|(k, _)| k.trim().to_string())
                    .unwrap_or_default();
                (line, column, field)
            }
            (None, None) => (0, 0, String::new()),
        };
        let field = if field.is_empty() {
            message
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| "(file)".into())
        } else {
            field
        };
        NetError::Config {
            path: self.path.to_path_buf(),
            line,
            column,
            field,
            message,
        }
    }

    fn secs(&self, v: &Option<Spanned<f64>>, field: &str) -> Result<Option<Duration>> {
        match v {
            None => Ok(None),
            Some(s) if s.get_ref().is_finite() && *s.get_ref() > 0.0 && *s.get_ref() < 1e6 => {
                Ok(Some(Duration::from_secs_f64(*s.get_ref())))
            }
            Some(s) => self.err(
                s.span(),
                field,
                "expected a positive number of seconds below 1e6",
            ),
        }
    }
}

/// 1-based line and column of byte offset `at` (lines end at `\n`, so a CRLF file counts the same).
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Checks a roster address: an IP address and port, or a host name and port (`a.example.org:7100`).
pub fn check_address(s: &str) -> std::result::Result<(), String> {
    if s.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(':') => port
            .parse::<u16>()
            .map(|_| ())
            .map_err(|_| format!("'{port}' is not a port number")),
        _ => Err(format!("'{s}' is not host:port")),
    }
}

impl PartyConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<PartyConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| NetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // A byte-order mark (as some Windows editors write) is not TOML; the lines stay the same without it.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        Self::parse(path, text)
    }

    /// Checks configuration text as if read from `path` (which names it in errors and anchors relative paths).
    pub fn parse(path: &Path, text: String) -> Result<PartyConfig> {
        let r = Reader { path, text: &text };
        let raw: RawConfig = toml::from_str(&text).map_err(|e| r.syntax(e))?;
        if raw.session_id.get_ref().trim().is_empty() || raw.session_id.get_ref().len() > 256 {
            return r.err(
                raw.session_id.span(),
                "session_id",
                "must be 1 to 256 characters",
            );
        }
        let listen = match raw.listen.get_ref().parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                return r.err(
                    raw.listen.span(),
                    "listen",
                    format!(
                        "'{}' is not an IP address and port such as 0.0.0.0:7100",
                        raw.listen.get_ref()
                    ),
                )
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |s: &Spanned<String>, field: &str| -> Result<PathBuf> {
            if s.get_ref().is_empty() {
                return r.err(s.span(), field, "must name a file");
            }
            Ok(base.join(s.get_ref()))
        };
        let key_path = resolve(&raw.key, "key")?;
        let cert_path = resolve(&raw.certificate, "certificate")?;

        let network = match &raw.network {
            None => NetworkSettings::default(),
            Some(n) => NetworkSettings {
                connect_timeout: r.secs(&n.connect_timeout_secs, "network.connect_timeout_secs")?,
                idle_timeout: r.secs(&n.idle_timeout_secs, "network.idle_timeout_secs")?,
                max_frame_bytes: match &n.max_frame_bytes {
                    Some(m) if *m.get_ref() < 1024 || *m.get_ref() > (1 << 32) - 1 => {
                        return r.err(
                            m.span(),
                            "network.max_frame_bytes",
                            "must be between 1024 and 4294967295",
                        )
                    }
                    m => m.as_ref().map(|m| *m.get_ref()),
                },
            },
        };

        if raw.party.is_empty() {
            return r.err(0..0, "party", "the roster has no [[party]] entries");
        }
        let mut entries = Vec::new();
        let mut spans: HashMap<usize, std::ops::Range<usize>> = HashMap::new();
        let mut addresses: HashMap<String, (usize, std::ops::Range<usize>)> = HashMap::new();
        for (i, sp) in raw.party.iter().enumerate() {
            let p = sp.get_ref();
            let f = |name: &str| format!("party[{i}].{name}");
            if p.name.get_ref().trim().is_empty() {
                return r.err(p.name.span(), &f("name"), "must not be empty");
            }
            if let Err(m) = check_address(p.address.get_ref()) {
                return r.err(p.address.span(), &f("address"), m);
            }
            let fingerprint = match Fingerprint::parse(p.fingerprint.get_ref()) {
                Ok(fp) => fp,
                Err(m) => return r.err(p.fingerprint.span(), &f("fingerprint"), m),
            };
            let role = match p.role.as_ref().map(|s| s.get_ref().as_str()) {
                None | Some("computing") => Role::Computing,
                Some("dealer") => Role::Dealer,
                Some(other) => {
                    let span = p.role.as_ref().map(|s| s.span()).unwrap_or(0..0);
                    return r.err(
                        span,
                        &f("role"),
                        format!("unknown role '{other}' (expected \"dealer\" or \"computing\")"),
                    );
                }
            };
            if let Some(first) = spans.get(p.id.get_ref()) {
                let first_line = r.line(first.start);
                return r.err(
                    p.id.span(),
                    &f("id"),
                    format!(
                        "party id {} appears twice (first on line {first_line})",
                        p.id.get_ref()
                    ),
                );
            }
            spans.insert(*p.id.get_ref(), p.id.span());
            let address = p.address.get_ref().trim().to_ascii_lowercase();
            if let Some((other, first)) = addresses.get(&address) {
                return r.err(
                    p.address.span(),
                    &f("address"),
                    format!(
                        "'{}' is also party {other}'s address (line {}): every party needs its own host:port",
                        p.address.get_ref(),
                        r.line(first.start)
                    ),
                );
            }
            addresses.insert(address, (*p.id.get_ref(), p.address.span()));
            entries.push(PartyEntry {
                id: *p.id.get_ref(),
                name: p.name.get_ref().clone(),
                address: p.address.get_ref().clone(),
                fingerprint,
                role,
            });
        }
        let first_party = raw.party[0].span();
        let roster = match Roster::new(entries) {
            Ok(r) => r,
            Err(m) => return r.err(first_party, "party", m),
        };
        let party_id = *raw.party_id.get_ref();
        if roster.get(party_id).is_none() {
            return r.err(
                raw.party_id.span(),
                "party_id",
                format!(
                    "party {party_id} is not in the roster (ids 0..{})",
                    roster.endpoints()
                ),
            );
        }
        Ok(PartyConfig {
            path: path.to_path_buf(),
            session_id: raw.session_id.into_inner(),
            party_id,
            key_path,
            cert_path,
            cert_at: line_col(&text, raw.certificate.span().start),
            listen,
            network,
            roster,
            train: raw.train,
            text,
        })
    }

    /// This party's roster entry.
    pub fn me(&self) -> &PartyEntry {
        &self.roster.parties()[self.party_id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(i: u8) -> String {
        Fingerprint([i; 32]).to_string()
    }

    fn config(parties: &str) -> String {
        format!(
            "session_id = \"s1\"\nparty_id = 1\nkey = \"k/b.key\"\ncertificate = \"k/b.crt\"\nlisten = \"127.0.0.1:7001\"\n{parties}"
        )
    }

    fn party(id: usize, fpi: u8, extra: &str) -> String {
        format!(
            "\n[[party]]\nid = {id}\nname = \"p{id}\"\naddress = \"127.0.0.1:{}\"\nfingerprint = \"{}\"\n{extra}",
            7000 + id,
            fp(fpi)
        )
    }

    fn parse(text: String) -> Result<PartyConfig> {
        PartyConfig::parse(Path::new("/etc/mpc/party.toml"), text)
    }

    fn config_err(text: String) -> (usize, String, String) {
        match parse(text) {
            Err(NetError::Config {
                line,
                field,
                message,
                ..
            }) => (line, field, message),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_config_is_read_with_paths_resolved_and_train_kept() {
        let text = config(&format!(
            "{}{}{}\n[train]\nepochs = 3\n",
            party(0, 1, ""),
            party(1, 2, ""),
            party(2, 3, "role = \"dealer\"")
        ));
        let c = parse(text).unwrap();
        assert_eq!(c.party_id, 1);
        assert_eq!(c.key_path, Path::new("/etc/mpc/k/b.key"));
        assert_eq!(c.roster.computing_parties(), 2);
        assert_eq!(c.roster.dealer(), Some(2));
        assert_eq!(c.me().name, "p1");
        let train = c.train.unwrap();
        assert_eq!(train.get("epochs").and_then(|v| v.as_integer()), Some(3));
    }

    #[test]
    fn a_bad_fingerprint_names_line_and_field() {
        let text =
            config(&format!("{}{}", party(0, 1, ""), party(1, 2, ""))).replace(&fp(2), "AB:CD");
        let (line, field, msg) = config_err(text);
        assert_eq!(field, "party[1].fingerprint");
        assert_eq!(line, 17);
        assert!(msg.contains("64 hex digits"), "{msg}");
    }

    #[test]
    fn wrong_types_and_unknown_fields_name_the_line() {
        let text = config(&format!("{}{}", party(0, 1, ""), party(1, 2, "")))
            .replace("party_id = 1", "party_id = \"one\"");
        let (line, field, _) = config_err(text);
        assert_eq!((line, field.as_str()), (2, "party_id"));
        let text = config(&format!("{}{}", party(0, 1, ""), party(1, 2, "colour = 3")));
        let (line, _, msg) = config_err(text);
        assert_eq!(line, 18);
        assert!(msg.contains("colour"), "{msg}");
    }

    #[test]
    fn one_format_and_the_right_field_for_every_config_error() {
        let good = config(&format!("{}{}", party(0, 1, ""), party(1, 2, "")));
        let e = parse(good.replace("session_id = \"s1\"\n", ""))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/etc/mpc/party.toml, line ")
                && e.contains("field `session_id`")
                && !e.contains("field `party_id`"),
            "{e}"
        );
        let e = parse(good.replace("\"127.0.0.1:7000\"", "\"nowhere\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/etc/mpc/party.toml, line 10, column 11: field `party[0].address`"),
            "{e}"
        );
        let crlf = good.replace('\n', "\r\n");
        let (line, field, _) = config_err(crlf.replace("party_id = 1", "party_id = \"one\""));
        assert_eq!(
            (line, field.as_str()),
            (2, "party_id"),
            "CRLF lines count the same"
        );
        let c = parse(good).unwrap();
        assert_eq!(
            c.cert_at,
            (4, 15),
            "the certificate field's line and column"
        );
    }

    #[test]
    fn duplicate_addresses_are_refused() {
        let text = config(&format!("{}{}", party(0, 1, ""), party(1, 2, ""))).replace(
            "127.0.0.1:7001\"\nfingerprint",
            "127.0.0.1:7000\"\nfingerprint",
        );
        let (line, field, msg) = config_err(text);
        assert_eq!((line, field.as_str()), (16, "party[1].address"));
        assert!(msg.contains("also party 0's address (line 10)"), "{msg}");
    }

    #[test]
    fn inconsistent_rosters_are_refused() {
        let dup_id = config(&format!("{}{}", party(0, 1, ""), party(0, 2, "")));
        assert!(config_err(dup_id).2.contains("appears twice"));
        let dup_fp = config(&format!("{}{}", party(0, 1, ""), party(1, 1, "")));
        assert!(config_err(dup_fp).2.contains("same fingerprint"));
        let gap = config(&format!("{}{}", party(0, 1, ""), party(2, 2, "")));
        assert!(config_err(gap).2.contains("id 1 is missing"));
        let me_missing = config(&format!("{}{}", party(0, 1, ""), party(1, 2, "")))
            .replace("party_id = 1", "party_id = 5");
        let (line, field, _) = config_err(me_missing);
        assert_eq!((line, field.as_str()), (2, "party_id"));
        let dealer_low = config(&format!(
            "{}{}{}",
            party(0, 1, "role = \"dealer\""),
            party(1, 2, ""),
            party(2, 3, "")
        ));
        assert!(config_err(dealer_low).2.contains("highest id"));
        let bad_listen = config(&format!("{}{}", party(0, 1, ""), party(1, 2, "")))
            .replace("127.0.0.1:7001", "localhost");
        assert_eq!(config_err(bad_listen).1, "listen");
    }

    #[test]
    fn the_digest_covers_every_field() {
        let text = config(&format!("{}{}", party(0, 1, ""), party(1, 2, "")));
        let a = parse(text.clone()).unwrap().roster;
        let b = parse(text.replace("p1\"", "p9\"")).unwrap().roster;
        assert_ne!(a.digest("s1"), b.digest("s1"));
        assert_ne!(a.digest("s1"), a.digest("s2"));
        assert_eq!(a.digest("s1"), a.clone().digest("s1"));
    }
}
