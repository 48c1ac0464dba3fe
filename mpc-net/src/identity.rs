//! A party's identity: an ECDSA P-256 key pair and a self-signed certificate (rcgen), written by
//! `mpc keygen` and loaded when a mesh starts. The private key zeroizes on drop and never appears in `Debug`
//! output or logs; the certificate's SHA-256 [`Fingerprint`] is what the other parties pin in their roster.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{NetError, Result};
use crate::fingerprint::Fingerprint;

/// A private key, zeroized on drop, redacted in `Debug`.
pub struct SecretKey(PrivateKeyDer<'static>);

impl SecretKey {
    /// A copy for rustls (which keeps its own signing key).
    pub(crate) fn to_der(&self) -> PrivateKeyDer<'static> {
        self.0.clone_key()
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A party's key and certificate.
#[derive(Debug)]
pub struct Identity {
    /// The certificate (DER).
    pub certificate: CertificateDer<'static>,
    /// The private key.
    pub key: SecretKey,
    /// SHA-256 of the certificate.
    pub fingerprint: Fingerprint,
}

/// Where [`generate`] wrote an identity.
#[derive(Debug)]
pub struct Generated {
    /// The identity itself.
    pub identity: Identity,
    /// The private key file (mode 0600).
    pub key_path: PathBuf,
    /// The certificate file.
    pub cert_path: PathBuf,
}

impl Identity {
    /// A fresh key pair and a self-signed certificate whose common name is `name`; nothing is written.
    pub fn new_self_signed(name: &str) -> Result<Identity> {
        let key_pair = rcgen::KeyPair::generate().map_err(|e| NetError::Tls(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(vec!["mpc-party.invalid".to_string()])
            .map_err(|e| NetError::Tls(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params
            .self_signed(&key_pair)
            .map_err(|e| NetError::Tls(e.to_string()))?;
        let certificate = cert.der().clone();
        let key_der = Zeroizing::new(key_pair.serialize_der());
        let key = SecretKey(PrivateKeyDer::Pkcs8(key_der.to_vec().into()));
        Ok(Identity {
            fingerprint: Fingerprint::of_der(&certificate),
            certificate,
            key,
        })
    }

    /// Loads a PEM private key and a PEM certificate.
    pub fn load(key_path: &Path, cert_path: &Path) -> Result<Identity> {
        let certificate = load_certificate(cert_path)?;
        let key_pem = Zeroizing::new(read(key_path)?);
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| NetError::BadKey {
            path: key_path.to_path_buf(),
            message: format!("not a PEM private key: {e}"),
        })?;
        if crate::tls::key_matches(&certificate, &key) == Some(false) {
            return Err(NetError::BadKey {
                path: key_path.to_path_buf(),
                message: format!(
                    "this private key does not belong to the certificate {} (their public keys differ): \
                     give the key and the certificate that `mpc keygen` wrote together",
                    cert_path.display()
                ),
            });
        }
        Ok(Identity {
            fingerprint: Fingerprint::of_der(&certificate),
            certificate,
            key: SecretKey(key),
        })
    }

    /// The certificate as PEM.
    pub fn certificate_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.certificate)
    }
}

/// Reads a PEM certificate (such as `mpc keygen` writes).
pub fn load_certificate(cert_path: &Path) -> Result<CertificateDer<'static>> {
    let cert_pem = read(cert_path)?;
    CertificateDer::from_pem_slice(&cert_pem).map_err(|e| NetError::BadKey {
        path: cert_path.to_path_buf(),
        message: format!("not a PEM certificate: {e}"),
    })
}

/// The SHA-256 fingerprint of the PEM certificate at `cert_path`: what the other parties pin in their roster.
pub fn certificate_fingerprint(cert_path: &Path) -> Result<Fingerprint> {
    Ok(Fingerprint::of_der(&load_certificate(cert_path)?))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| NetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // Sized up front: a growing string would leave pieces of a private key's encoding in freed memory.
    let mut b64 = Zeroizing::new(String::with_capacity(der.len().div_ceil(3) * 4));
    for chunk in der.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (chunk.get(1).copied().unwrap_or(0) as u32) << 8
            | chunk.get(2).copied().unwrap_or(0) as u32;
        for i in 0..4 {
            if i <= n {
                b64.push(ALPHABET[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let (begin, end) = (
        format!("-----BEGIN {label}-----\n"),
        format!("-----END {label}-----\n"),
    );
    let mut out =
        String::with_capacity(begin.len() + b64.len() + b64.len().div_ceil(64) + end.len());
    out.push_str(&begin);
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&end);
    out
}

/// Checks that a party name is usable as a file name: letters, digits, `.`, `_` and `-`, not starting with `.`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(NetError::InvalidArgument(format!(
            "party name '{name}': use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'"
        )))
    }
}

/// Generates a key pair and a self-signed certificate for party `name` and writes `DIR/NAME.key` (PEM,
/// mode 0600) and `DIR/NAME.crt` (PEM). Refuses to overwrite either file; creates `dir` if needed.
pub fn generate(name: &str, dir: &Path) -> Result<Generated> {
    check_name(name)?;
    let key_path = dir.join(format!("{name}.key"));
    let cert_path = dir.join(format!("{name}.crt"));
    for p in [&key_path, &cert_path] {
        if p.exists() {
            return Err(NetError::Exists(p.clone()));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| NetError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let identity = Identity::new_self_signed(name)?;
    let key_pem = Zeroizing::new(pem_encode("PRIVATE KEY", identity.key.0.secret_der()));
    write_new(&key_path, key_pem.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&cert_path, identity.certificate_pem().as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    Ok(Generated {
        identity,
        key_path,
        cert_path,
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let io = |source| NetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            NetError::Exists(path.to_path_buf())
        } else {
            io(e)
        }
    })?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "mpc-net-identity-{tag}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_naming_both_files() {
        let dir = temp_dir("mismatch");
        let a = generate("hospital-a", &dir).unwrap();
        let b = generate("hospital-b", &dir).unwrap();
        let e = Identity::load(&b.key_path, &a.cert_path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("hospital-b.key")
                && e.contains("hospital-a.crt")
                && e.contains("does not belong"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn generate_writes_loadable_files_and_refuses_to_overwrite() {
        let dir = temp_dir("gen");
        let g = generate("hospital-a", &dir).unwrap();
        let loaded = Identity::load(&g.key_path, &g.cert_path).unwrap();
        assert_eq!(loaded.fingerprint, g.identity.fingerprint);
        assert_eq!(loaded.key.0.secret_der(), g.identity.key.0.secret_der());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&g.key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = generate("hospital-a", &dir).unwrap_err();
        assert!(matches!(err, NetError::Exists(_)), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The PEM text of a key is built in exactly the space it needs: no reallocation leaves a partial copy
    /// of the key's encoding behind.
    #[test]
    fn pem_is_built_in_one_allocation() {
        for len in [0, 1, 2, 3, 47, 48, 49, 138] {
            let der: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let pem = pem_encode("PRIVATE KEY", &der);
            assert_eq!(pem.len(), pem.capacity(), "{len} bytes");
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let id = Identity::new_self_signed("x").unwrap();
        let dbg = format!("{id:?}");
        assert!(dbg.contains("<redacted>"));
        let key_bytes = format!("{:?}", id.key.0.secret_der());
        assert!(!dbg.contains(&key_bytes[1..40]));
    }

    #[test]
    fn bad_names_are_refused() {
        for name in ["", "../etc", ".hidden", "a b", "a/b"] {
            assert!(check_name(name).is_err(), "{name}");
        }
        assert!(check_name("bank_2.prod-1").is_ok());
    }
}
