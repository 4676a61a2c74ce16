//! Settings: command line and environment first, then the TOML configuration file, then the
//! defaults of DESIGN.md §6. Every field of the file is optional.
//!
//! ```toml
//! data_dir = "/var/lib/ferry"
//! database_url = "postgres://ferry@db/ferry"
//! http = "0.0.0.0:8080"
//! log_format = "json"
//! trusted_proxies = ["10.0.0.0/8"]   # whose X-Forwarded-For names the client (tools' AllowedIP)
//!
//! [sessions]
//! immutable_ttl_hours = 48
//! sweep_interval_seconds = 60
//! web_idle_minutes = 30          # the web client signs out a browser left idle this long
//! web_max_hours = 12             # ... and one in use this long after its sign-in
//! cache_milliseconds = 1000      # PostgreSQL: longest a node trusts a cached check; 0: no cache
//! max_per_user = 1000            # immutable sign-ins one user holds; a new one ends the least used
//!
//! [lockout]
//! account_threshold = 5          # failures for one account from one address
//! account_total_threshold = 50   # ... from every address it never signed in from
//! address_threshold = 20         # failures from one address, every account
//! base_delay_seconds = 30
//! max_delay_seconds = 900
//! forget_after_seconds = 900
//!
//! [files]
//! purge_after_days = 30
//! inline_max_kib = 16         # small files' content in the database
//! user_quota = "none"         # bytes each user may store ("10G"); accounts may set their own
//!
//! [storage]                   # content in a bucket (crate::storage); FERRY_STORAGE_URL wins
//! url = "s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1"
//!
//! [passwords]
//! argon2_memory_kib = 19456
//! argon2_iterations = 2
//! argon2_parallelism = 1
//!
//! [sso]                       # ticket sign-in; FERRY_SSO_SITE_NAME / FERRY_SSO_PASSWORD win
//! site_name = "files.example.com"
//! password_file = "/etc/ferry/sso-password"   # or password = "…"
//! max_age_seconds = 300
//! clock_skew_seconds = 60
//! tickets_open_privileged_accounts = false   # may a ticket open an Administrator or System?
//! tickets_open_password_accounts = false     # may a ticket open an account with a password?
//! single_use = false          # true: a ticket opens one session (a replay is refused)
//!
//! [tools]                     # browser tools; FERRY_TOKEN_KEY / FERRY_TOKEN_IV win
//! key = "base64 of 32 bytes"  # or key_file = "/etc/ferry/token-key"
//! iv = "base64 of 16 bytes"   # version-1 tokens only
//! version_1 = true            # accept the spec's AES-256-CBC tokens (false: version 2 only)
//! max_age_seconds = 600
//! clock_skew_seconds = 60
//! single_use = false
//! grant_hours = 12
//! redirect_hosts = ["portal.example.com"]   # allowed ThruSuccessUrl / ThruErrorReportingUrl hosts
//!
//! [totp]                      # two-step sign-in; FERRY_TOTP_KEY wins (docs/second-factor.md)
//! key = "base64 of 32 bytes"  # or key_file; seals each user's secret in the database
//! issuer = "Ferry"            # what authenticator apps show beside the account
//! required_roles = ["administrator", "system"]
//!
//! [ftps]                      # serve --ftps / FERRY_FTPS win over listen
//! listen = "127.0.0.1:2121"   # "0": off
//! passive_ports = "50000-50100"
//! passive_address = "203.0.113.7"
//! cert_file = "/etc/ferry/ftps.pem"           # default: self-signed, kept in the data directory
//! key_file = "/etc/ferry/ftps.key"
//! idle_timeout_seconds = 600
//! max_connections_per_ip = 50
//! max_connections_per_user = 64
//! max_passive_ports_per_user = 16
//! allow_plain_data = false
//! require_tls_session_reuse = true          # data connections resume the control TLS session
//! passcode_in_password = false              # PASS password+passcode for two-step users
//!
//! [https]                     # serve --https / FERRY_HTTPS win over listen (docs/https.md)
//! listen = "0.0.0.0:8443"
//! cert_file = "/etc/ferry/tls/fullchain.pem" # leaf first; re-read on SIGHUP or change
//! key_file = "/etc/ferry/tls/key.pem"        # RSA or ECDSA; mode 600 or 640
//! hsts_max_age_seconds = 31536000            # 0: no Strict-Transport-Security
//! hsts_include_subdomains = false
//! redirect_http = false       # the plain listener only redirects to HTTPS
//! reload_check_seconds = 5
//! ftps = true                 # FTPS presents this pair when [ftps] names none
//! [https.acme]                # certificates from an ACME CA instead of (or before) the files
//! directory = "https://acme-v02.api.letsencrypt.org/directory"
//! domains = ["files.example.com"]
//! contact = ["ops@example.com"]
//! accept_terms = true
//! challenge = "tls-alpn-01"   # or "http-01"
//!
//! [sftp]                      # serve --sftp / FERRY_SFTP win over listen
//! listen = "127.0.0.1:2222"   # "0": off; the host key is made once in the data directory
//! idle_timeout_seconds = 600
//! max_connections_per_ip = 50
//! max_connections_per_user = 64
//! max_sessions_per_connection = 10
//! max_handles_per_connection = 64
//! max_handles_per_user = 256
//!
//! [metrics]                   # FERRY_METRICS_TOKEN wins
//! bearer_token = "…"          # or bearer_token_file; /metrics then needs "Authorization: Bearer …"
//!
//! [limits]                    # every listener
//! max_connections = 0         # node-wide, every protocol; default from the open-file limit
//! http_connections_per_ip = 256             # trusted proxies are exempt
//! header_read_timeout_seconds = 20
//! body_read_timeout_seconds = 60            # longest pause inside a request body
//! sign_in_timeout_seconds = 60              # SFTP and FTPS connections must sign in by then
//! uploads_per_user = 128                    # in progress at once, every protocol together
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ferry_core::domain::QuotaSetting;
use ferry_core::service::TicketSettings;
use ferry_core::{LockoutPolicy, ServiceConfig};
use ferry_crypto::{PasswordParams, TicketKey};
use ferry_http::client_addr::{ProxyNet, TrustedProxies};
use serde::Deserialize;

use crate::secret_setting::{Cut, secret};

use crate::cli::{GlobalArgs, LogFormat};

/// The configuration file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    http: Option<String>,
    log_format: Option<LogFormat>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    sessions: SessionsSection,
    #[serde(default)]
    lockout: LockoutSection,
    #[serde(default)]
    passwords: PasswordsSection,
    #[serde(default)]
    files: FilesSection,
    #[serde(default)]
    sso: SsoSection,
    #[serde(default)]
    tools: crate::tools_config::ToolsSection,
    #[serde(default)]
    ftps: FtpsSection,
    #[serde(default)]
    https: crate::https::HttpsSection,
    #[serde(default)]
    totp: crate::totp_config::TotpSection,
    #[serde(default)]
    sftp: SftpSection,
    #[serde(default)]
    limits: crate::limits::LimitsSection,
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    soap: SoapSection,
    #[serde(default)]
    storage: crate::storage::StorageSection,
}

/// `[soap]`: Thru's SOAP wire (docs/thru-compatibility.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SoapSection {
    /// The WSDL's target namespace, for clients generated from another WSDL (Thru's own).
    namespace: Option<String>,
}

/// `[metrics]`: who may scrape `/metrics`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsSection {
    bearer_token: Option<String>,
    bearer_token_file: Option<PathBuf>,
}

/// `[sftp]`: the SFTP front end.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpSection {
    /// Listen address; "0" turns SFTP off.
    pub listen: Option<String>,
    /// Idle connections are closed after this.
    pub idle_timeout_seconds: Option<u64>,
    /// Most simultaneous connections from one address.
    pub max_connections_per_ip: Option<usize>,
    /// Most simultaneous signed-in connections of one user.
    pub max_connections_per_user: Option<usize>,
    /// Most session channels open at once on one connection (OpenSSH's `MaxSessions`).
    pub max_sessions_per_connection: Option<usize>,
    /// Most open handles (files, listings) on one SFTP session channel.
    pub max_handles_per_connection: Option<usize>,
    /// Most open handles of one user across their connections.
    pub max_handles_per_user: Option<usize>,
}

/// `[ftps]`: the FTPS front end.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtpsSection {
    /// Listen address; "0" turns FTPS off.
    pub listen: Option<String>,
    /// Passive data ports, "FIRST-LAST".
    pub passive_ports: Option<String>,
    /// IPv4 address advertised in PASV replies (behind NAT).
    pub passive_address: Option<std::net::Ipv4Addr>,
    /// PEM certificate chain; with `key_file`. Default: a self-signed pair in the data directory.
    pub cert_file: Option<PathBuf>,
    /// PEM private key.
    pub key_file: Option<PathBuf>,
    /// Idle control connections are closed after this.
    pub idle_timeout_seconds: Option<u64>,
    /// Most simultaneous control connections from one address.
    pub max_connections_per_ip: Option<usize>,
    /// Most simultaneous signed-in control connections of one user.
    pub max_connections_per_user: Option<usize>,
    /// Most passive ports one user holds open at once.
    pub max_passive_ports_per_user: Option<usize>,
    /// Allow data connections without TLS (logins always need TLS).
    #[serde(default)]
    pub allow_plain_data: bool,
    /// Refuse protected data connections that do not resume the control connection's TLS
    /// session (default true).
    pub require_tls_session_reuse: Option<bool>,
    /// Accept `PASS password+passcode` from users with two-step sign-in.
    #[serde(default)]
    pub passcode_in_password: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SsoSection {
    site_name: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    max_age_seconds: Option<u32>,
    clock_skew_seconds: Option<u32>,
    #[serde(default)]
    tickets_open_privileged_accounts: bool,
    #[serde(default)]
    tickets_open_password_accounts: bool,
    #[serde(default)]
    single_use: bool,
    sync: Option<crate::directory_sync::SyncSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilesSection {
    purge_after_days: Option<f64>,
    inline_max_kib: Option<usize>,
    user_quota: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsSection {
    immutable_ttl_hours: Option<f64>,
    sweep_interval_seconds: Option<u64>,
    web_idle_minutes: Option<f64>,
    web_max_hours: Option<f64>,
    cache_milliseconds: Option<u64>,
    max_per_user: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockoutSection {
    account_threshold: Option<i64>,
    account_total_threshold: Option<i64>,
    address_threshold: Option<i64>,
    base_delay_seconds: Option<i64>,
    max_delay_seconds: Option<i64>,
    forget_after_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordsSection {
    argon2_memory_kib: Option<u32>,
    argon2_iterations: Option<u32>,
    argon2_parallelism: Option<u32>,
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the SQLite database (by default) and later the content live.
    pub data_dir: PathBuf,
    /// The metadata database.
    pub database_url: String,
    /// HTTP listen address (`serve --http` wins over this).
    pub http: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Service tunables.
    pub service: ServiceConfig,
    /// Argon2 parameters for new password hashes.
    pub passwords: PasswordParams,
    /// How often expired sessions are swept.
    pub sweep_interval_secs: u64,
    /// PostgreSQL: the longest a node serves a session check from its cache (zero: no cache).
    pub session_cache: std::time::Duration,
    /// Scheduled directory sync, if configured.
    pub directory_sync: Option<crate::directory_sync::SyncSection>,
    /// The FTPS front end.
    pub ftps: FtpsSection,
    /// Ferry's own HTTPS listener.
    pub https: crate::https::HttpsSection,
    /// The SFTP front end.
    pub sftp: SftpSection,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Hosts the upload tool may redirect to.
    pub redirect_hosts: Vec<String>,
    /// Connection limits and request timeouts.
    pub limits: crate::limits::LimitsSection,
    /// The bearer token `/metrics` requires, if any.
    pub metrics_token: Option<String>,
    /// The SOAP wire's target namespace.
    pub soap_namespace: String,
    /// Where file content lives.
    pub storage: crate::storage::Storage,
    /// A warning for the log: the configuration file holds secrets and other users may read
    /// it ([`crate::secret_setting::exposed_config`]).
    pub exposed_secrets: Option<String>,
}

impl Settings {
    /// Merges the command line (with its environment fallbacks), the file and the defaults.
    pub fn resolve(args: &GlobalArgs) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let inline: Vec<&str> = [
            ("tools.key", file.tools.inline_key()),
            ("totp.key", file.totp.key.is_some()),
            ("sso.password", file.sso.password.is_some()),
            ("metrics.bearer_token", file.metrics.bearer_token.is_some()),
            ("storage.secret_access_key", file.storage.inline_secret()),
        ]
        .into_iter()
        .filter_map(|(key, written)| written.then_some(key))
        .collect();
        let exposed_secrets = args
            .config
            .as_deref()
            .and_then(|path| crate::secret_setting::exposed_config(path, &inline));
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("ferry-data"));
        let database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("ferry.db").display()));

        let defaults = ServiceConfig::default();
        let lockout_defaults = LockoutPolicy::default();
        let l = &file.lockout;
        let secs = |v: Option<i64>, default_ms: i64| v.map(|s| s * 1000).unwrap_or(default_ms);
        let lockout = LockoutPolicy {
            account_threshold: l
                .account_threshold
                .unwrap_or(lockout_defaults.account_threshold),
            account_total_threshold: l
                .account_total_threshold
                .unwrap_or(lockout_defaults.account_total_threshold),
            address_threshold: l
                .address_threshold
                .unwrap_or(lockout_defaults.address_threshold),
            base_delay_ms: secs(l.base_delay_seconds, lockout_defaults.base_delay_ms),
            max_delay_ms: secs(l.max_delay_seconds, lockout_defaults.max_delay_ms),
            forget_after_ms: secs(l.forget_after_seconds, lockout_defaults.forget_after_ms),
        };
        let immutable_session_ttl_ms = match file.sessions.immutable_ttl_hours {
            Some(h) if h > 0.0 => (h * 3_600_000.0) as i64,
            Some(_) => anyhow::bail!("sessions.immutable_ttl_hours must be positive"),
            None => defaults.immutable_session_ttl_ms,
        };
        let web_idle_ms = match file.sessions.web_idle_minutes {
            Some(m) if m > 0.0 && m <= 7.0 * 24.0 * 60.0 => (m * 60_000.0) as i64,
            Some(_) => {
                anyhow::bail!("sessions.web_idle_minutes must be above 0 and at most a week")
            }
            None => defaults.web_idle_ms,
        };
        let web_max_ms = match file.sessions.web_max_hours {
            Some(h) if h > 0.0 && h <= 30.0 * 24.0 => (h * 3_600_000.0) as i64,
            Some(_) => anyhow::bail!("sessions.web_max_hours must be above 0 and at most 720"),
            None => defaults.web_max_ms,
        };
        let max_sessions_per_user = match file.sessions.max_per_user {
            Some(n) if (1..=1_000_000).contains(&n) => n,
            Some(_) => anyhow::bail!("sessions.max_per_user must be 1 to 1000000"),
            None => defaults.max_sessions_per_user,
        };
        let tickets = ticket_settings(&file.sso)?;
        let tools = crate::tools_config::tool_settings(&file.tools)?;
        let trusted_proxies = TrustedProxies(
            file.trusted_proxies
                .iter()
                .map(|p| p.parse::<ProxyNet>().map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<_>>()
                .context("trusted_proxies")?,
        );
        let pw_defaults = PasswordParams::default();
        let p = &file.passwords;
        Ok(Settings {
            data_dir,
            database_url,
            http: file.http.unwrap_or_else(|| "127.0.0.1:8080".into()),
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            service: ServiceConfig {
                immutable_session_ttl_ms,
                web_idle_ms,
                web_max_ms,
                max_sessions_per_user,
                lockout,
                purge_after_ms: match file.files.purge_after_days {
                    Some(d) if d >= 0.0 => (d * 86_400_000.0) as i64,
                    Some(_) => anyhow::bail!("files.purge_after_days must not be negative"),
                    None => defaults.purge_after_ms,
                },
                inline_max_bytes: match file.files.inline_max_kib {
                    Some(k) if k <= 1024 => k * 1024,
                    Some(_) => anyhow::bail!("files.inline_max_kib must be at most 1024"),
                    None => defaults.inline_max_bytes,
                },
                user_quota: match file.files.user_quota.as_deref().map(QuotaSetting::parse) {
                    None => defaults.user_quota,
                    Some(Ok(q)) => q.bound(None),
                    Some(Err(e)) => anyhow::bail!("files.user_quota: {e}"),
                },
                max_uploads_per_user: file
                    .limits
                    .uploads_per_user
                    .unwrap_or(defaults.max_uploads_per_user)
                    .max(1),
                tickets,
                tools,
                totp: crate::totp_config::totp_settings(&file.totp)?,
                ..defaults
            },
            passwords: PasswordParams {
                memory_kib: p.argon2_memory_kib.unwrap_or(pw_defaults.memory_kib),
                iterations: p.argon2_iterations.unwrap_or(pw_defaults.iterations),
                parallelism: p.argon2_parallelism.unwrap_or(pw_defaults.parallelism),
            },
            sweep_interval_secs: file.sessions.sweep_interval_seconds.unwrap_or(60).max(1),
            session_cache: match file.sessions.cache_milliseconds {
                Some(ms) if ms > 60_000 => {
                    anyhow::bail!("sessions.cache_milliseconds must be at most 60000")
                }
                ms => std::time::Duration::from_millis(ms.unwrap_or(1000)),
            },
            directory_sync: file.sso.sync,
            ftps: file.ftps,
            https: file.https,
            sftp: file.sftp,
            trusted_proxies,
            redirect_hosts: file.tools.redirect_hosts,
            limits: file.limits,
            metrics_token: metrics_token(&file.metrics)?,
            soap_namespace: soap_namespace(&file.soap)?,
            storage: crate::storage::Storage::resolve(args.storage_url.clone(), file.storage)?,
            exposed_secrets,
        })
    }
}

/// `soap.namespace`, checked: an absolute `http`, `https` or `urn` URI of at most 255
/// characters with nothing that would need escaping in XML or a `SOAPAction` header.
fn soap_namespace(section: &SoapSection) -> anyhow::Result<String> {
    let Some(ns) = &section.namespace else {
        return Ok(ferry_http::soap::DEFAULT_NAMESPACE.to_string());
    };
    let plain = ns
        .chars()
        .all(|c| c.is_ascii_graphic() && !"\"'<>&\\`{}|^".contains(c));
    let scheme = ["http://", "https://", "urn:"]
        .iter()
        .any(|p| ns.len() > p.len() && ns[..p.len()].eq_ignore_ascii_case(p));
    if !plain || !scheme || ns.len() > 255 {
        anyhow::bail!(
            "soap.namespace must be an absolute http, https or urn URI of at most 255 characters, \
             without spaces, quotes or <>&"
        );
    }
    Ok(ns.clone())
}

/// The token `/metrics` requires: `FERRY_METRICS_TOKEN`, `metrics.bearer_token` or the first
/// line of `metrics.bearer_token_file`; none means only this machine may scrape.
fn metrics_token(section: &MetricsSection) -> anyhow::Result<Option<String>> {
    let token = secret(
        "FERRY_METRICS_TOKEN",
        "metrics.bearer_token",
        &section.bearer_token,
        &section.bearer_token_file,
        Cut::Whitespace,
    )?;
    if token.as_deref().is_some_and(|t| t.chars().count() < 16) {
        anyhow::bail!("the metrics bearer token must have at least 16 characters");
    }
    Ok(token)
}

/// Ticket sign-in settings from the environment and the `[sso]` section; `None` when neither
/// names a site and a password. The key is derived here, once (PBKDF2: a fraction of a second).
fn ticket_settings(sso: &SsoSection) -> anyhow::Result<Option<Arc<TicketSettings>>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let site_name = env("FERRY_SSO_SITE_NAME").or_else(|| sso.site_name.clone());
    let password = secret(
        "FERRY_SSO_PASSWORD",
        "sso.password",
        &sso.password,
        &sso.password_file,
        Cut::LineEnd,
    )?;
    let (site_name, password) = match (site_name, password) {
        (None, None) => return Ok(None),
        (Some(s), Some(p)) => (s.trim().to_string(), p),
        _ => anyhow::bail!(
            "ticket sign-in needs both a site name (FERRY_SSO_SITE_NAME or sso.site_name) and a \
             shared password (FERRY_SSO_PASSWORD, sso.password or sso.password_file)"
        ),
    };
    if site_name.is_empty() || site_name.chars().any(char::is_control) {
        anyhow::bail!("the SSO site name is empty or has control characters");
    }
    if password.chars().count() < 16 {
        anyhow::bail!("the SSO shared password must have at least 16 characters");
    }
    let secs =
        |v: Option<u32>, default_ms: i64| v.map(|s| i64::from(s) * 1000).unwrap_or(default_ms);
    Ok(Some(Arc::new(TicketSettings {
        site_name,
        key: TicketKey::derive(&password),
        max_age_ms: secs(sso.max_age_seconds, TicketSettings::DEFAULT_MAX_AGE_MS),
        max_skew_ms: secs(sso.clock_skew_seconds, TicketSettings::DEFAULT_MAX_SKEW_MS),
        admit_privileged: sso.tickets_open_privileged_accounts,
        admit_password_accounts: sso.tickets_open_password_accounts,
        single_use: sso.single_use,
    })))
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}
