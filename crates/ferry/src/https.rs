//! Ferry's own HTTPS listener (`[https]`): the certificate and key files, checked at start-up
//! (a bad pair stops Ferry with the reason) and re-read on `SIGHUP` or when they change, or
//! certificates from an ACME CA (`[https.acme]`, checked here and run by `ferry_tls::acme`);
//! the HSTS header; whether the plain listener only redirects; and whether FTPS presents the
//! same certificate. docs/https.md is the operator's guide.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::HeaderValue;
use ferry_tls::acme::{Acme, AcmeSettings, ChallengeKind};
use ferry_tls::{PemFiles, ReloadingCert, ServedCert};
use serde::Deserialize;

/// `[https]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpsSection {
    /// Listen address (`serve --https` wins); HTTPS is off without one.
    pub listen: Option<String>,
    /// PEM certificate chain, leaf first.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (RSA or ECDSA), readable by its owner (and group) only.
    pub key_file: Option<PathBuf>,
    /// `Strict-Transport-Security: max-age=…` on every HTTPS answer; 0 sends none.
    pub hsts_max_age_seconds: Option<u64>,
    /// Adds `includeSubDomains` to the HSTS header.
    #[serde(default)]
    pub hsts_include_subdomains: bool,
    /// The plain HTTP listener answers only with redirects to HTTPS (and the health probes).
    #[serde(default)]
    pub redirect_http: bool,
    /// How often the files are looked at for a change (SIGHUP re-reads them at once).
    pub reload_check_seconds: Option<u64>,
    /// FTPS presents this pair when `[ftps]` names none of its own (default true).
    pub ftps: Option<bool>,
    /// Certificates from an ACME CA.
    pub acme: Option<AcmeSection>,
}

/// `[https.acme]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeSection {
    /// The CA's directory URL.
    pub directory: Option<String>,
    /// Contact e-mail addresses the CA may write to (expiry notices, incidents).
    #[serde(default)]
    pub contact: Vec<String>,
    /// The names the certificate is for.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Where the account and certificates are kept (default: DATA_DIR/acme).
    pub cache_dir: Option<PathBuf>,
    /// `tls-alpn-01` (default, on the HTTPS port) or `http-01` (on the plain listener).
    pub challenge: Option<String>,
    /// The CA certificate the directory's HTTPS chains to, for a private CA.
    pub directory_ca_file: Option<PathBuf>,
    /// Agreement to the CA's terms of service; no order is placed without it.
    #[serde(default)]
    pub accept_terms: bool,
    /// The first pause after a failed order, doubling up to an hour (default 60).
    pub retry_seconds: Option<u64>,
}

/// One year: what HSTS preload lists ask for, and the common default.
const DEFAULT_HSTS_SECONDS: u64 = 365 * 24 * 3600;

/// HTTPS ready to bind: the certificate and what the listener needs.
pub struct Https {
    /// The listen address.
    pub listen: String,
    /// The certificate (files, ACME or both), shared with FTPS when it has none of its own.
    pub served: ServedCert,
    /// The HSTS header value, if sent.
    pub hsts: Option<HeaderValue>,
    /// Whether the plain listener only redirects.
    pub redirect_http: bool,
    /// Whether FTPS may present this pair.
    pub for_ftps: bool,
}

/// Reads and checks the configured pair and starts watching it, and reads ACME's cache;
/// `None` when HTTPS is off. ACME's orders start with [`Https::start_acme`], once the
/// listeners are bound.
pub fn prepare(
    section: &HttpsSection,
    listen: Option<String>,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<Https>> {
    let Some(listen) = listen.or_else(|| section.listen.clone()) else {
        if section.cert_file.is_some() || section.key_file.is_some() || section.acme.is_some() {
            anyhow::bail!("[https] has certificates configured but https.listen is not set");
        }
        return Ok(None);
    };
    if listen.trim() == "0" {
        return Ok(None);
    }
    let files = match (&section.cert_file, &section.key_file) {
        (Some(cert), Some(key)) => {
            let files = PemFiles {
                cert: cert.clone(),
                key: key.clone(),
            };
            let (resolver, _) =
                ReloadingCert::load(files).context("cannot set up the HTTPS certificate")?;
            let every = Duration::from_secs(section.reload_check_seconds.unwrap_or(5).max(1));
            Arc::clone(&resolver).watch(every);
            Some(resolver)
        }
        (None, None) if section.acme.is_some() => None,
        (None, None) => {
            anyhow::bail!(
                "HTTPS on {listen} needs https.cert_file and https.key_file, or [https.acme]"
            )
        }
        _ => anyhow::bail!("https.cert_file and https.key_file go together"),
    };
    let acme = match &section.acme {
        Some(a) => {
            let settings = acme_settings(a, data_dir)?;
            let dir = settings.cache_dir.display().to_string();
            Some(Acme::new(settings).with_context(|| format!("cannot use the ACME cache {dir}"))?)
        }
        None => None,
    };
    let hsts = match section.hsts_max_age_seconds.unwrap_or(DEFAULT_HSTS_SECONDS) {
        0 => None,
        age => {
            let sub = if section.hsts_include_subdomains {
                "; includeSubDomains"
            } else {
                ""
            };
            Some(HeaderValue::from_str(&format!("max-age={age}{sub}"))?)
        }
    };
    Ok(Some(Https {
        listen,
        served: ServedCert::new(files, acme),
        hsts,
        redirect_http: section.redirect_http,
        for_ftps: section.ftps.unwrap_or(true),
    }))
}

/// Checks `[https.acme]`; every mistake names its key.
fn acme_settings(a: &AcmeSection, data_dir: &std::path::Path) -> anyhow::Result<AcmeSettings> {
    let directory = a.directory.clone().ok_or_else(|| {
        anyhow::anyhow!("https.acme.directory (the CA's directory URL) is required")
    })?;
    if !directory.starts_with("https://") || directory.contains(char::is_whitespace) {
        anyhow::bail!("https.acme.directory must be an https:// URL, not {directory:?}");
    }
    if !a.accept_terms {
        anyhow::bail!(
            "set https.acme.accept_terms = true to agree to the CA's terms of service; no certificate is ordered without it"
        );
    }
    if a.domains.is_empty() {
        anyhow::bail!("https.acme.domains names no domain");
    }
    let mut domains = Vec::new();
    for d in &a.domains {
        let Some(d) = ferry_tls::acme::domain_name(d) else {
            anyhow::bail!(
                "https.acme.domains: {d:?} is not a domain name (IP addresses and wildcards cannot be validated by HTTP-01 or TLS-ALPN-01)"
            );
        };
        domains.push(d);
    }
    domains.sort();
    domains.dedup();
    let mut contact = Vec::new();
    for c in &a.contact {
        let c = c.strip_prefix("mailto:").unwrap_or(c);
        let plausible = c.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.starts_with('.')
        }) && !c
            .contains(|ch: char| ch.is_whitespace() || ch == ',' || ch.is_control());
        if !plausible {
            anyhow::bail!("https.acme.contact: {c:?} is not an e-mail address");
        }
        contact.push(c.to_string());
    }
    let challenge = match a.challenge.as_deref().unwrap_or("tls-alpn-01") {
        "tls-alpn-01" => ChallengeKind::TlsAlpn01,
        "http-01" => ChallengeKind::Http01,
        other => {
            anyhow::bail!("https.acme.challenge is \"tls-alpn-01\" or \"http-01\", not {other:?}")
        }
    };
    if let Some(ca) = &a.directory_ca_file {
        std::fs::metadata(ca)
            .with_context(|| format!("https.acme.directory_ca_file {}", ca.display()))?;
    }
    Ok(AcmeSettings {
        directory,
        contact,
        domains,
        cache_dir: a.cache_dir.clone().unwrap_or_else(|| data_dir.join("acme")),
        challenge,
        directory_ca_file: a.directory_ca_file.clone(),
        retry: Duration::from_secs(a.retry_seconds.unwrap_or(60).max(1)),
    })
}

impl Https {
    /// The TLS settings the HTTP server uses.
    pub fn front(&self) -> ferry_http::server::TlsFront {
        ferry_http::server::TlsFront {
            config: Arc::new(ferry_tls::server_config(
                Arc::new(self.served.clone()),
                match self.served.acme() {
                    Some(a) if a.settings().challenge == ChallengeKind::TlsAlpn01 => {
                        ferry_tls::HTTPS_ALPN_WITH_ACME
                    }
                    _ => ferry_tls::HTTPS_ALPN,
                },
            )),
            hsts: self.hsts.clone(),
        }
    }
}

impl Https {
    /// Starts ACME's orders and renewals (the listeners must be bound: the CA connects back).
    pub fn start_acme(&self) {
        if let Some(acme) = self.served.acme() {
            Arc::clone(acme).run();
        }
    }

    /// What the start-up line says of the certificate, and where it comes from.
    pub fn describe(&self) -> (String, &'static str) {
        let Some(pair) = self.served.current() else {
            return (
                "no certificate until ACME issues one".to_string(),
                "nowhere yet",
            );
        };
        // At start-up an ACME certificate can only have come from the cache.
        let source = match self.served.acme() {
            Some(a) if a.current().is_some() => "the ACME cache",
            Some(_) => "https.cert_file until ACME issues one",
            None => "https.cert_file",
        };
        (format!("certificate SHA-256 {}", pair.fingerprint), source)
    }
}

/// `app` answering HTTP-01 challenges at `/.well-known/acme-challenge/TOKEN` (only tokens of
/// an open order; anything else is 404).
pub fn answer_http01(app: axum::Router, acme: &Arc<Acme>) -> axum::Router {
    use axum::extract::Path;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let challenges = Arc::clone(acme.challenges());
    app.route(
        "/.well-known/acme-challenge/{token}",
        axum::routing::get(move |Path(token): Path<String>| {
            let answer = challenges.http_answer(&token);
            async move {
                match answer {
                    Some(a) => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/octet-stream")],
                        a,
                    )
                        .into_response(),
                    None => StatusCode::NOT_FOUND.into_response(),
                }
            }
        }),
    )
}
