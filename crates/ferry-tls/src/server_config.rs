//! The rustls server configuration Ferry's TLS listeners share: TLS 1.3 and 1.2 only, the
//! aws-lc-rs provider's default suites (ECDHE with AEAD ciphers: no CBC, no RSA key exchange,
//! no SHA-1 MACs), the certificate from a resolver so it can change while serving.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::ResolvesServerCert;

use crate::pem_pair::provider;

/// A server configuration presenting `resolver`'s certificate and offering `alpn` (most
/// preferred first; empty for none).
pub fn server_config(resolver: Arc<dyn ResolvesServerCert>, alpn: &[&[u8]]) -> ServerConfig {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("the aws-lc-rs provider supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// ALPN for HTTPS: HTTP/2, then HTTP/1.1.
pub const HTTPS_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// ALPN for HTTPS answering TLS-ALPN-01: a CA's validation connection offers `acme-tls/1`
/// alone, so browsers still get `h2`.
pub const HTTPS_ALPN_WITH_ACME: &[&[u8]] =
    &[b"h2", b"http/1.1", crate::acme::challenges::ACME_TLS_ALPN];
