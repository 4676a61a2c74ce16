//! The certificate a listener presents, chosen at each handshake: to an ACME validation
//! connection (ALPN `acme-tls/1` alone, RFC 8737 §3) the challenge certificate for its name
//! or none;
//! to everyone else the ACME certificate while it is valid, else the configured files' pair.
//! With neither, the handshake fails (a fresh ACME set-up before its first certificate).

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::acme::Acme;
use crate::acme::challenges::ACME_TLS_ALPN;
use crate::pem_pair::LoadedPair;
use crate::reloading::ReloadingCert;

/// A resolver over the configured files and ACME.
#[derive(Debug, Clone)]
pub struct ServedCert {
    files: Option<Arc<ReloadingCert>>,
    acme: Option<Arc<Acme>>,
    /// Whether TLS-ALPN-01 validation connections are answered (HTTPS yes, FTPS no).
    answers_challenges: bool,
}

impl ServedCert {
    /// Serves `files` and, when given, ACME's certificate (which wins while valid).
    pub fn new(files: Option<Arc<ReloadingCert>>, acme: Option<Arc<Acme>>) -> ServedCert {
        ServedCert {
            files,
            acme,
            answers_challenges: true,
        }
    }

    /// The same certificates without the challenge answers: for a listener that is not the
    /// one the CA validates (FTPS).
    pub fn without_challenges(&self) -> ServedCert {
        ServedCert {
            answers_challenges: false,
            ..self.clone()
        }
    }

    /// The pair a client gets now, if any.
    pub fn current(&self) -> Option<LoadedPair> {
        self.acme
            .as_ref()
            .and_then(|a| a.current())
            .or_else(|| self.files.as_ref().map(|f| f.current()))
    }

    /// The configured files, if any.
    pub fn files(&self) -> Option<&Arc<ReloadingCert>> {
        self.files.as_ref()
    }

    /// ACME, if configured.
    pub fn acme(&self) -> Option<&Arc<Acme>> {
        self.acme.as_ref()
    }
}

impl ResolvesServerCert for ServedCert {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut offered = hello.alpn().into_iter().flatten();
        let validation = offered.next() == Some(ACME_TLS_ALPN) && offered.next().is_none();
        if validation {
            // Only a CA asks for acme-tls/1; it gets the challenge certificate or nothing.
            let acme = self.acme.as_ref().filter(|_| self.answers_challenges)?;
            return acme.challenges().tls_alpn_certificate(hello.server_name()?);
        }
        if let Some(certified) = self.acme.as_ref().and_then(|a| a.certified()) {
            return Some(certified);
        }
        self.files.as_ref().and_then(|f| f.resolve(hello))
    }
}
