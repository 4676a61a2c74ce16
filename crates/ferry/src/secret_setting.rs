//! A secret setting given three ways: an environment variable (which wins), the value in the
//! configuration file, or a file holding it (`…_file`, so the secret stays out of the
//! configuration). The browser tools' key, the TOTP key, the SSO password, the directory's
//! bind password, the metrics token and the bucket's secret key all read theirs here, with the
//! same precedence and the same errors.
//!
//! A secret's file must be closed to other users, as `[https] key_file` must (owner and group
//! may read it: `root:ferry 0640` passes; group-writable or open to others is refused at
//! start). Before, a key file any local account could read was used as given, though whoever
//! reads the tools' key forges every upload link and whoever reads the TOTP key opens every
//! user's second factor.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// What is cut from a secret read from its file.
#[derive(Debug, Clone, Copy)]
pub enum Cut {
    /// Leading and trailing whitespace (keys and tokens: base64 or plain characters).
    Whitespace,
    /// Only the line end an editor leaves (a password may start or end with a space).
    LineEnd,
}

/// The secret named `key` (as `section.name`): `env_var` if set and not empty, else `value`,
/// else the contents of `file`; `None` when none is given. Both `value` and `file`: an error.
pub fn secret(
    env_var: &str,
    key: &str,
    value: &Option<String>,
    file: &Option<PathBuf>,
    cut: Cut,
) -> anyhow::Result<Option<String>> {
    if let Some(v) = std::env::var(env_var).ok().filter(|v| !v.is_empty()) {
        return Ok(Some(v));
    }
    configured_secret(key, value, file, cut)
}

/// [`secret`] without an environment variable of its own: `value`, else the contents of
/// `file` (closed to other users).
pub fn configured_secret(
    key: &str,
    value: &Option<String>,
    file: &Option<PathBuf>,
    cut: Cut,
) -> anyhow::Result<Option<String>> {
    match (value, file) {
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(path)) => {
            closed_to_others(key, path)?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {key}_file {}", path.display()))?;
            Ok(Some(match cut {
                Cut::Whitespace => text.trim().to_string(),
                Cut::LineEnd => text.trim_end_matches(['\r', '\n']).to_string(),
            }))
        }
        (Some(_), Some(_)) => anyhow::bail!("{key} and {key}_file are alternatives; give one"),
        (None, None) => Ok(None),
    }
}

/// The warning to log when the configuration file at `path` holds the secrets `inline` and
/// other users may read it (or its group write it); `None` otherwise. A warning, not a refusal
/// as for a secret's own file: a configuration file is usually world-readable, and one without
/// secrets may well be. The warning names the settings, never their values.
pub fn exposed_config(path: &Path, inline: &[&str]) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o027 != 0 && !inline.is_empty()).then(|| {
        format!(
            "the configuration file {} (mode {mode:o}) holds {} and other users on this \
             machine may read it: move each to its *_file setting (mode 600) or its \
             environment variable, or chmod 600 {0}",
            path.display(),
            inline.join(", ")
        )
    })
}

/// Refuses a secret's file that other users may read or write, or its group write.
fn closed_to_others(key: &str, path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read {key}_file {}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o027 != 0 {
        anyhow::bail!(
            "{key}_file {}: the secret is open to other users (mode {mode:o}); make it readable \
             by its owner (and group) only, e.g. chmod 600",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_file_both_and_neither() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, " secret value \n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let unset = "FERRY_TEST_SECRET_NEVER_SET";
        let v = Some("inline".to_string());
        let f = Some(path);
        assert_eq!(
            secret(unset, "x.key", &v, &None, Cut::Whitespace)
                .unwrap()
                .as_deref(),
            Some("inline")
        );
        assert_eq!(
            secret(unset, "x.key", &None, &f, Cut::Whitespace)
                .unwrap()
                .as_deref(),
            Some("secret value")
        );
        assert_eq!(
            secret(unset, "x.key", &None, &f, Cut::LineEnd)
                .unwrap()
                .as_deref(),
            Some(" secret value ")
        );
        assert_eq!(
            secret(unset, "x.key", &None, &None, Cut::Whitespace).unwrap(),
            None
        );
        let both = secret(unset, "x.key", &v, &f, Cut::Whitespace)
            .unwrap_err()
            .to_string();
        assert!(
            both.contains("x.key and x.key_file are alternatives"),
            "{both}"
        );
        let missing = Some(dir.path().join("missing"));
        let err = secret(unset, "x.key", &None, &missing, Cut::Whitespace)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot read x.key_file"), "{err}");
        // Open to others, or writable by the group: refused, the secret unread.
        for mode in [0o644, 0o604, 0o660] {
            std::fs::set_permissions(f.as_ref().unwrap(), std::fs::Permissions::from_mode(mode))
                .unwrap();
            let err = secret(unset, "x.key", &None, &f, Cut::Whitespace)
                .unwrap_err()
                .to_string();
            assert!(err.contains("open to other users"), "{mode:o}: {err}");
            assert!(!err.contains("secret value"));
        }
    }
}
