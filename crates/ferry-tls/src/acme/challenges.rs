//! The answers to ACME challenges while an order is open: for TLS-ALPN-01 (RFC 8737) a
//! self-signed certificate per domain carrying the key authorization's digest, presented only
//! to a client whose ALPN offer is `acme-tls/1`; for HTTP-01 (RFC 8555 §8.3) the key
//! authorization served at `/.well-known/acme-challenge/TOKEN` on the plain listener. Each
//! answer is removed when its order ends, whatever the outcome.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use crate::pem_pair::provider;

/// The ALPN protocol of TLS-ALPN-01 validation connections.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The answers being served.
#[derive(Debug, Default)]
pub struct Challenges {
    /// Domain → its validation certificate.
    tls_alpn: RwLock<HashMap<String, Arc<CertifiedKey>>>,
    /// Token → key authorization.
    http: RwLock<HashMap<String, String>>,
}

impl Challenges {
    /// The validation certificate for `domain`, if a TLS-ALPN-01 challenge for it is open.
    pub fn tls_alpn_certificate(&self, domain: &str) -> Option<Arc<CertifiedKey>> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.tls_alpn
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&domain)
            .cloned()
    }

    /// The key authorization for an HTTP-01 `token`, if its challenge is open.
    pub fn http_answer(&self, token: &str) -> Option<String> {
        self.http
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }

    /// Starts answering TLS-ALPN-01 for `domain` with the SHA-256 `digest` of the key
    /// authorization.
    pub(crate) fn open_tls_alpn(&self, domain: &str, digest: &[u8]) -> Result<(), String> {
        let certificate = validation_certificate(domain, digest)?;
        self.tls_alpn
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(domain.to_ascii_lowercase(), Arc::new(certificate));
        Ok(())
    }

    /// Starts answering HTTP-01 `token` with `key_authorization`.
    pub(crate) fn open_http(&self, token: &str, key_authorization: &str) {
        self.http
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.to_string(), key_authorization.to_string());
    }

    /// Stops answering everything (the order is over).
    pub(crate) fn clear(&self) {
        self.tls_alpn
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.http.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// RFC 8737 §3: a certificate for `domain` alone with the critical `acmeIdentifier`
/// extension holding the digest; a fresh key each time (the CA only checks the extension).
fn validation_certificate(domain: &str, digest: &[u8]) -> Result<CertifiedKey, String> {
    let mut params = CertificateParams::new(vec![domain.to_string()]).map_err(|e| e.to_string())?;
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing = provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| e.to_string())?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_found_by_domain_or_token_until_cleared() {
        let c = Challenges::default();
        c.open_tls_alpn("Files.Example.com", &[7u8; 32]).unwrap();
        c.open_http("tok", "tok.thumb");
        assert!(c.tls_alpn_certificate("files.example.com.").is_some());
        assert!(c.tls_alpn_certificate("other.example.com").is_none());
        assert_eq!(c.http_answer("tok").as_deref(), Some("tok.thumb"));
        assert_eq!(c.http_answer("nope"), None);

        // The certificate carries the critical acmeIdentifier extension with the digest.
        let cert = c.tls_alpn_certificate("files.example.com").unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.cert[0].as_ref()).unwrap();
        let ext = parsed
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier");
        assert!(ext.critical);
        assert!(ext.value.ends_with(&[7u8; 32]));

        c.clear();
        assert!(c.tls_alpn_certificate("files.example.com").is_none());
        assert_eq!(c.http_answer("tok"), None);
    }
}
