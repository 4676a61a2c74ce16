//! Certificates from an ACME CA (RFC 8555; Let's Encrypt, ZeroSSL, step-ca, pebble…),
//! obtained and renewed while Ferry serves. At start-up the cached certificate is served if
//! it is still valid; a CA that is down never stops the start: Ferry serves the cached or the
//! configured certificate and keeps trying, with a growing pause. A certificate is renewed
//! when a third of its life is left (Let's Encrypt's advice: day 60 of 90).
//!
//! The protocol is instant-acme's ([`order`]); the challenge answers are [`challenges`]; what
//! is kept on disk is [`cache`]. [`crate::served::ServedCert`] presents the result.

pub mod cache;
pub mod challenges;
mod order;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::sign::CertifiedKey;

use crate::pem_pair::{LoadedPair, load};
use cache::Cache;
use challenges::Challenges;

/// How the CA checks that Ferry holds a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// TLS-ALPN-01 on the HTTPS port (which must be reachable on port 443 for a public CA).
    TlsAlpn01,
    /// HTTP-01 on the plain HTTP listener (port 80 for a public CA).
    Http01,
}

impl ChallengeKind {
    /// The name used in the configuration and by RFC 8555.
    pub fn as_config(self) -> &'static str {
        match self {
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
            ChallengeKind::Http01 => "http-01",
        }
    }
}

/// What `[https.acme]` says, checked.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// The directory URL (`https://…`).
    pub directory: String,
    /// Contact e-mail addresses given to the CA.
    pub contact: Vec<String>,
    /// The domains the certificate names, lower-case, sorted.
    pub domains: Vec<String>,
    /// Where the account and certificates are kept.
    pub cache_dir: PathBuf,
    /// The challenge answered.
    pub challenge: ChallengeKind,
    /// A CA certificate (PEM) the directory's own HTTPS certificate chains to, for a private
    /// CA; the system's roots otherwise.
    pub directory_ca_file: Option<PathBuf>,
    /// The first pause after a failed order (doubling on each failure, up to an hour).
    pub retry: Duration,
}

/// The longest pause between attempts after failures, and between looks at the clock.
const LONGEST_PAUSE: Duration = Duration::from_secs(3600);

/// The ACME certificate being served and the challenges being answered.
#[derive(Debug)]
pub struct Acme {
    settings: AcmeSettings,
    cache: Cache,
    current: RwLock<Option<LoadedPair>>,
    challenges: Arc<Challenges>,
}

impl Acme {
    /// Prepares the cache folder and reads the cached certificate, if one is there and valid.
    pub fn new(settings: AcmeSettings) -> std::io::Result<Arc<Acme>> {
        let cache = Cache::new(&settings.cache_dir, &settings.directory, &settings.domains);
        cache.create()?;
        let files = cache.certificate_files();
        let current = if files.cert.exists() {
            match load(&files, SystemTime::now()) {
                Ok(pair) => {
                    pair.publish_expiry("acme");
                    Some(pair)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the cached ACME certificate cannot be served; a new one will be ordered");
                    None
                }
            }
        } else {
            None
        };
        Ok(Arc::new(Acme {
            settings,
            cache,
            current: RwLock::new(current),
            challenges: Arc::new(Challenges::default()),
        }))
    }

    /// The settings.
    pub fn settings(&self) -> &AcmeSettings {
        &self.settings
    }

    /// The certificate from the CA, while it is valid.
    pub fn current(&self) -> Option<LoadedPair> {
        self.while_valid(LoadedPair::clone)
    }

    /// What a handshake gets: the certificate from the CA while it is valid.
    pub fn certified(&self) -> Option<Arc<CertifiedKey>> {
        self.while_valid(|p| Arc::clone(&p.certified))
    }

    fn while_valid<T>(&self, f: impl FnOnce(&LoadedPair) -> T) -> Option<T> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|p| unix_now() <= p.validity.1)
            .map(f)
    }

    /// The challenge answers (HTTP-01 is served by the plain listener from these).
    pub fn challenges(&self) -> &Arc<Challenges> {
        &self.challenges
    }

    /// When the current certificate should be renewed (now, if there is none).
    fn renew_at(&self) -> i64 {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        match current.as_ref() {
            Some(p) => {
                let (from, until) = p.validity;
                until - (until - from).max(0) / 3
            }
            None => i64::MIN,
        }
    }

    /// Orders, caches and installs a certificate.
    async fn renew(&self) -> Result<LoadedPair, String> {
        let issued = order::obtain(&self.settings, &self.cache, &self.challenges).await?;
        let files = self.cache.certificate_files();
        // The key first: a crash between the two leaves a pair that fails the key check and
        // is ordered again, never a certificate served with a stale key.
        Cache::write(&files.key, issued.key_pem.as_bytes(), 0o600)
            .map_err(|e| format!("cannot write {}: {e}", files.key.display()))?;
        Cache::write(&files.cert, issued.chain_pem.as_bytes(), 0o644)
            .map_err(|e| format!("cannot write {}: {e}", files.cert.display()))?;
        let pair = load(&files, SystemTime::now())
            .map_err(|e| format!("the CA's certificate cannot be served: {e}"))?;
        pair.publish_expiry("acme");
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(pair.clone());
        Ok(pair)
    }

    /// Keeps a certificate: orders one now if none is served, renews each when a third of
    /// its life is left, and after a failure tries again after `retry`, doubling each time.
    pub fn run(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut pause = self.settings.retry;
            loop {
                let wait = self.renew_at().saturating_sub(unix_now());
                if wait > 0 {
                    let wait = Duration::from_secs(wait as u64).min(LONGEST_PAUSE);
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let outcome = self.renew().await;
                let label = if outcome.is_ok() { "issued" } else { "failed" };
                metrics::counter!("ferry_acme_orders_total", "outcome" => label).increment(1);
                match outcome {
                    Ok(pair) => {
                        pause = self.settings.retry;
                        tracing::info!(
                            domains = %self.settings.domains.join(","),
                            fingerprint = %pair.fingerprint,
                            not_after = %pair.not_after,
                            "ACME certificate installed"
                        );
                    }
                    Err(e) => {
                        let serving = if self.current().is_some() {
                            "the previous ACME certificate is still served"
                        } else {
                            "the configured certificate, if any, is served"
                        };
                        tracing::error!(
                            directory = %self.settings.directory,
                            error = %e,
                            retry_in_seconds = pause.as_secs(),
                            "ACME: no certificate obtained; {serving}"
                        );
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(LONGEST_PAUSE);
                    }
                }
            }
        })
    }
}

/// `name` as a certificate names it (lower-case, no final dot) if it is a DNS name ACME can
/// validate by HTTP-01 or TLS-ALPN-01: not an IP address, not a wildcard.
pub fn domain_name(name: &str) -> Option<String> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let ok = rustls::pki_types::DnsName::try_from(name.as_str()).is_ok()
        && name.parse::<std::net::IpAddr>().is_err()
        && !name.contains('*');
    ok.then_some(name)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::domain_name;

    #[test]
    fn only_names_acme_can_validate_here_are_domains() {
        assert_eq!(
            domain_name("Files.Example.COM.").as_deref(),
            Some("files.example.com")
        );
        assert_eq!(domain_name("localhost").as_deref(), Some("localhost"));
        for bad in [
            "",
            "127.0.0.1",
            "::1",
            "*.example.com",
            "a b.com",
            "a/b",
            "-x.com.",
        ] {
            assert_eq!(domain_name(bad), None, "{bad:?}");
        }
    }
}
