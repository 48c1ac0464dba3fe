//! SHA-256 certificate fingerprints: computed from a certificate's DER bytes, written as colon-separated
//! upper-case hex (the form one institution e-mails another), and parsed back leniently (colons, spaces and
//! case do not matter).

use sha2::{Digest, Sha256};

/// The SHA-256 digest of a certificate's DER encoding. It is public: it identifies, it does not authenticate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Parses 64 hex digits, optionally separated by `:`, spaces or newlines, in any case.
    pub fn parse(s: &str) -> Result<Fingerprint, String> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| !matches!(b, b':' | b' ' | b'\t' | b'\n' | b'\r'))
            .collect();
        if digits.len() != 64 {
            return Err(format!(
                "a SHA-256 fingerprint has 64 hex digits (32 bytes), this one has {}",
                digits.len()
            ));
        }
        let mut out = [0u8; 32];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0]);
            let lo = hex_value(pair[1]);
            match (hi, lo) {
                (Some(h), Some(l)) => out[i] = h << 4 | l,
                _ => {
                    return Err(format!(
                        "'{}' is not a hex byte",
                        String::from_utf8_lossy(pair)
                    ))
                }
            }
        }
        Ok(Fingerprint(out))
    }

    /// The fingerprint as four lines of eight bytes, for reading aloud or printing.
    pub fn grouped(&self) -> String {
        self.0
            .chunks(8)
            .map(|c| {
                c.iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parses_back_in_every_form() {
        let fp = Fingerprint::of_der(b"certificate bytes");
        assert_eq!(Fingerprint::parse(&fp.to_string()), Ok(fp));
        assert_eq!(Fingerprint::parse(&fp.grouped()), Ok(fp));
        let plain: String = fp.to_string().replace(':', "").to_lowercase();
        assert_eq!(Fingerprint::parse(&plain), Ok(fp));
        assert_eq!(fp.to_string().len(), 95);
        assert_eq!(fp.grouped().lines().count(), 4);
    }

    #[test]
    fn parse_rejects_wrong_length_and_non_hex() {
        assert!(Fingerprint::parse("AB:CD")
            .unwrap_err()
            .contains("64 hex digits"));
        let bad = "ZZ".repeat(32);
        assert!(Fingerprint::parse(&bad)
            .unwrap_err()
            .contains("not a hex byte"));
    }
}
