//! TLS 1.3 with mutual authentication against pinned certificates (rustls with ring).
//!
//! No public CA is involved: a server accepts a client certificate only if its SHA-256 fingerprint is in
//! the roster (and refuses every other one, logging its fingerprint), and a client accepts only the exact
//! certificate pinned for the party it dials. The signature checks of the handshake are rustls's own, so
//! the peer proves it holds the pinned certificate's key. The certificate then fixes the peer's party id.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::error::{NetError, Result};
use crate::fingerprint::Fingerprint;
use crate::identity::Identity;

/// ALPN protocol name of the mesh.
pub const ALPN: &[u8] = b"mpc-net/1";

/// The server name a client asks for; certificates carry it, but pinning, not the name, authenticates.
pub const SERVER_NAME: &str = "mpc-party.invalid";

/// ring's provider with AES-128-GCM first: a mesh moves hundreds of megabytes of OT extension per run, and
/// AES-128 (10 rounds) seals them faster than AES-256 (14) with the 128-bit security the MPC protocols
/// themselves have (the OT extension's 128 base OTs). The other TLS 1.3 suites stay as fallbacks.
fn provider() -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites
        .sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    Arc::new(p)
}

/// Whether `key` is the private key of `cert`: `Some(false)` if their public keys differ, `None` if rustls
/// cannot tell (a key type it does not check).
pub(crate) fn key_matches(
    cert: &CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
) -> Option<bool> {
    let signer = provider()
        .key_provider
        .load_private_key(key.clone_key())
        .ok()?;
    match rustls::sign::CertifiedKey::new(vec![cert.clone()], signer).keys_match() {
        Ok(()) => Some(true),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Some(false),
        Err(_) => None,
    }
}

fn tls_err(e: impl std::fmt::Display) -> NetError {
    NetError::Tls(e.to_string())
}

/// Accepts client certificates whose fingerprints are in `allowed` (a roster's, minus our own).
#[derive(Debug)]
struct RosterClientVerifier {
    allowed: Vec<Fingerprint>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for RosterClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let fp = Fingerprint::of_der(end_entity);
        if self.allowed.contains(&fp) {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!(fingerprint = %fp, "refused a connection from a certificate that is not in the roster");
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Accepts exactly one server certificate: the one pinned for the party being dialled.
#[derive(Debug)]
struct PinnedServerVerifier {
    pinned: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = Fingerprint::of_der(end_entity);
        if fp == self.pinned {
            Ok(ServerCertVerified::assertion())
        } else {
            tracing::warn!(fingerprint = %fp, expected = %self.pinned, "a peer presented a certificate other than the pinned one");
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The server side: our certificate, and client certificates restricted to `allowed`.
pub fn server_config(
    identity: &Identity,
    allowed: Vec<Fingerprint>,
) -> Result<rustls::ServerConfig> {
    let provider = provider();
    let verifier = Arc::new(RosterClientVerifier {
        allowed,
        provider: provider.clone(),
    });
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.certificate.clone()], identity.key.to_der())
        .map_err(tls_err)?;
    cfg.alpn_protocols = vec![ALPN.to_vec()];
    Ok(cfg)
}

/// The client side for dialling the party whose certificate is `pinned`, presenting our certificate.
pub fn client_config(identity: &Identity, pinned: Fingerprint) -> Result<rustls::ClientConfig> {
    let provider = provider();
    let verifier = Arc::new(PinnedServerVerifier {
        pinned,
        provider: provider.clone(),
    });
    // rustls files every custom server verifier under `dangerous()`; this one is stricter than a CA: it
    // accepts one certificate only.
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![identity.certificate.clone()], identity.key.to_der())
        .map_err(tls_err)?;
    cfg.alpn_protocols = vec![ALPN.to_vec()];
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_128_gcm_is_offered_first_and_the_others_stay() {
        let p = provider();
        let suites: Vec<_> = p.cipher_suites.iter().map(|s| s.suite()).collect();
        assert_eq!(
            suites.first(),
            Some(&rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
        );
        assert_eq!(
            suites.len(),
            rustls::crypto::ring::default_provider().cipher_suites.len()
        );
    }
}
