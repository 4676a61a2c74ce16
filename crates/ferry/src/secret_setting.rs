//! A secret setting given three ways: an environment variable (which wins), the value in the
//! configuration file, or a file holding it (`…_file`, so the secret stays out of the
//! configuration). The browser tools' key, the TOTP key, the SSO password and the metrics
//! token all read theirs here, with the same precedence and the same errors.

use std::path::PathBuf;

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
    match (value, file) {
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(path)) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_file_both_and_neither() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, " secret value \n").unwrap();
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
    }
}
