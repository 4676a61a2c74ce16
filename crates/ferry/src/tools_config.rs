//! `[tools]`: the browser tools' token key (`FERRY_TOKEN_KEY`, `key` or `key_file`), its IV
//! for version-1 tokens, and how long tokens and page grants live. Without a key the tools
//! are off. docs/upload-tool.md is the guide.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ferry_core::service::ToolSettings;
use ferry_crypto::ToolTokenKeys;
use serde::Deserialize;

use crate::secret_setting::{Cut, secret};

/// `[tools]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolsSection {
    key: Option<String>,
    key_file: Option<PathBuf>,
    iv: Option<String>,
    version_1: Option<bool>,
    max_age_seconds: Option<u32>,
    clock_skew_seconds: Option<u32>,
    #[serde(default)]
    single_use: bool,
    grant_hours: Option<f64>,
    /// Hosts `ThruSuccessUrl` and `ThruErrorReportingUrl` may name.
    #[serde(default)]
    pub(crate) redirect_hosts: Vec<String>,
}

impl ToolsSection {
    /// Whether the key is written in the configuration file itself.
    pub(crate) fn inline_key(&self) -> bool {
        self.key.is_some()
    }
}

/// The browser tools' settings from the environment and `[tools]`; `None` (tools off) when
/// no key is configured. A key or IV of the wrong length stops start-up.
pub(crate) fn tool_settings(tools: &ToolsSection) -> anyhow::Result<Option<Arc<ToolSettings>>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let key = secret(
        "FERRY_TOKEN_KEY",
        "tools.key",
        &tools.key,
        &tools.key_file,
        Cut::Whitespace,
    )?;
    let iv = env("FERRY_TOKEN_IV").or_else(|| tools.iv.clone());
    let Some(key) = key else {
        if iv.is_some() {
            anyhow::bail!(
                "a token IV is configured but no token key (FERRY_TOKEN_KEY or tools.key)"
            );
        }
        return Ok(None);
    };
    let version_1 = tools.version_1.unwrap_or(true);
    let keys = ToolTokenKeys::from_base64(&key, iv.as_deref(), version_1)
        .context("the browser tools' token key")?;
    let secs =
        |v: Option<u32>, default_ms: i64| v.map(|s| i64::from(s) * 1000).unwrap_or(default_ms);
    let grant_ttl_ms = match tools.grant_hours {
        Some(h) if h > 0.0 => (h * 3_600_000.0) as i64,
        Some(_) => anyhow::bail!("tools.grant_hours must be positive"),
        None => ToolSettings::DEFAULT_GRANT_TTL_MS,
    };
    Ok(Some(Arc::new(ToolSettings {
        keys,
        max_age_ms: secs(tools.max_age_seconds, ToolSettings::DEFAULT_MAX_AGE_MS),
        max_skew_ms: secs(tools.clock_skew_seconds, ToolSettings::DEFAULT_MAX_SKEW_MS),
        single_use: tools.single_use,
        grant_ttl_ms,
    })))
}
