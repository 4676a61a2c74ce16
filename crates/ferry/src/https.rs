//! Ferry's own HTTPS listener (`[https]`): the certificate and key files, checked at start-up
//! (a bad pair stops Ferry with the reason) and re-read on `SIGHUP` or when they change; the
//! HSTS header; whether the plain listener only redirects; and whether FTPS presents the
//! same pair. docs/https.md is the operator's guide.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::HeaderValue;
use ferry_tls::{LoadedPair, PemFiles, ReloadingCert};
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
}

/// One year: what HSTS preload lists ask for, and the common default.
const DEFAULT_HSTS_SECONDS: u64 = 365 * 24 * 3600;

/// HTTPS ready to bind: the reloading certificate and what the listener needs.
pub struct Https {
    /// The listen address.
    pub listen: String,
    /// The certificate, shared with FTPS when it has none of its own.
    pub resolver: Arc<ReloadingCert>,
    /// The pair as first read (for the start-up line).
    pub loaded: LoadedPair,
    /// The HSTS header value, if sent.
    pub hsts: Option<HeaderValue>,
    /// Whether the plain listener only redirects.
    pub redirect_http: bool,
    /// Whether FTPS may present this pair.
    pub for_ftps: bool,
}

/// Reads and checks the configured pair and starts watching it; `None` when HTTPS is off.
pub fn prepare(section: &HttpsSection, listen: Option<String>) -> anyhow::Result<Option<Https>> {
    let Some(listen) = listen.or_else(|| section.listen.clone()) else {
        if section.cert_file.is_some() || section.key_file.is_some() {
            anyhow::bail!("https.cert_file and https.key_file are set but https.listen is not");
        }
        return Ok(None);
    };
    if listen.trim() == "0" {
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&section.cert_file, &section.key_file) else {
        anyhow::bail!("HTTPS on {listen} needs https.cert_file and https.key_file");
    };
    let files = PemFiles {
        cert: cert.clone(),
        key: key.clone(),
    };
    let (resolver, loaded) =
        ReloadingCert::load(files).context("cannot set up the HTTPS certificate")?;
    let every = Duration::from_secs(section.reload_check_seconds.unwrap_or(5).max(1));
    Arc::clone(&resolver).watch(every);
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
        resolver,
        loaded,
        hsts,
        redirect_http: section.redirect_http,
        for_ftps: section.ftps.unwrap_or(true),
    }))
}

impl Https {
    /// The TLS settings the HTTP server uses.
    pub fn front(&self) -> ferry_http::server::TlsFront {
        ferry_http::server::TlsFront {
            config: Arc::new(ferry_tls::server_config(
                self.resolver.clone(),
                ferry_tls::HTTPS_ALPN,
            )),
            hsts: self.hsts.clone(),
        }
    }
}
