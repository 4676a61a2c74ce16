//! `[totp]`: two-step sign-in. The key that seals each user's TOTP secret in the database
//! (`FERRY_TOTP_KEY`, `key` or `key_file`: base64 of 32 bytes), the issuer name authenticator
//! apps show, and the roles that must use it. Without a key, two-step sign-in is off
//! (enrolment answers error 152). docs/second-factor.md is the guide.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use ferry_core::domain::Role;
use ferry_core::service::TotpSettings;
use ferry_crypto::totp::TotpKey;
use serde::Deserialize;

use crate::secret_setting::{Cut, secret};

/// `[totp]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpSection {
    /// Base64 of 32 random bytes (`openssl rand -base64 32`).
    pub key: Option<String>,
    /// A file holding the same.
    pub key_file: Option<PathBuf>,
    /// Shown beside the account in authenticator apps (default "Ferry").
    pub issuer: Option<String>,
    /// Roles that must have two-step sign-in (e.g. `["administrator", "system"]`).
    #[serde(default)]
    pub required_roles: Vec<String>,
}

/// The Service's settings, or `None` when no key is configured.
pub fn totp_settings(section: &TotpSection) -> anyhow::Result<Option<Arc<TotpSettings>>> {
    let key = secret(
        "FERRY_TOTP_KEY",
        "totp.key",
        &section.key,
        &section.key_file,
        Cut::Whitespace,
    )?;
    let required_roles = section
        .required_roles
        .iter()
        .map(|r| {
            Role::parse(r).with_context(|| {
                format!("totp.required_roles: {r:?} is not a role (guest, recipient, member, manager, administrator, system)")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some(key) = key else {
        if !required_roles.is_empty() {
            anyhow::bail!("totp.required_roles needs a key (FERRY_TOTP_KEY or totp.key)");
        }
        return Ok(None);
    };
    let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("the TOTP key must be base64 of 32 bytes (openssl rand -base64 32)")?;
    let issuer = section.issuer.clone().unwrap_or_else(|| "Ferry".into());
    if issuer.is_empty() || issuer.len() > 64 || issuer.chars().any(char::is_control) {
        anyhow::bail!("totp.issuer must be 1 to 64 characters, no control characters");
    }
    Ok(Some(Arc::new(TotpSettings {
        key: TotpKey::new(&bytes),
        issuer,
        required_roles,
    })))
}
