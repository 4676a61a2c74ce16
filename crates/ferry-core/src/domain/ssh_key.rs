//! SSH public keys users sign in to SFTP with: parsed from OpenSSH's one-line form
//! (`ssh-ed25519 AAAA… comment`), checked, and identified by OpenSSH's SHA256 fingerprint.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::domain::UserId;
use crate::error::{Error, Result};

/// Key types accepted. RSA is not (ARCHITECTURE.md: no RSA in the SSH stack).
pub const ACCEPTED_KEY_TYPES: [&str; 6] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Longest public-key line accepted.
pub const MAX_KEY_LINE: usize = 8192;

/// A stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKey {
    /// Its ID.
    pub id: i64,
    /// Whose it is.
    pub user_id: UserId,
    /// `ssh-ed25519`, …
    pub algorithm: String,
    /// `type base64` (without the comment).
    pub public_key: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The comment of the line, if any.
    pub comment: String,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A key line, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// The key type.
    pub algorithm: String,
    /// `type base64`.
    pub public_key: String,
    /// `SHA256:…`.
    pub fingerprint: String,
    /// The comment.
    pub comment: String,
}

/// OpenSSH's SHA256 fingerprint of a key blob.
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

/// Parses `type base64 [comment]`; the blob must start with the same type name.
pub fn parse_public_key(line: &str) -> Result<ParsedKey> {
    let line = line.trim();
    if line.len() > MAX_KEY_LINE || line.contains('\0') {
        return Err(Error::invalid("the key is too long or contains NUL"));
    }
    let mut parts = line.splitn(3, char::is_whitespace);
    let (kind, data) = match (parts.next(), parts.next()) {
        (Some(k), Some(d)) => (k, d.trim()),
        _ => {
            return Err(Error::invalid(
                "the key must be one line: type, base64 data, optional comment",
            ));
        }
    };
    let comment = parts.next().unwrap_or("").trim().to_string();
    if kind == "ssh-rsa" || kind == "ssh-dss" {
        return Err(Error::invalid(
            "RSA and DSA keys are not accepted; make an Ed25519 key: ssh-keygen -t ed25519",
        ));
    }
    if !ACCEPTED_KEY_TYPES.contains(&kind) {
        return Err(Error::invalid(format!(
            "unsupported key type; accepted: {}",
            ACCEPTED_KEY_TYPES.join(", ")
        )));
    }
    let blob = STANDARD
        .decode(data)
        .map_err(|_| Error::invalid("the key data is not base64"))?;
    let named = blob
        .get(..4)
        .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
        .and_then(|n| blob.get(4..4 + n));
    if named != Some(kind.as_bytes()) || comment.chars().any(char::is_control) {
        return Err(Error::invalid("the key data does not match its type"));
    }
    Ok(ParsedKey {
        algorithm: kind.to_string(),
        public_key: format!("{kind} {data}"),
        fingerprint: fingerprint(&blob),
        comment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ssh-keygen -t ed25519` output, and its `ssh-keygen -l -E sha256` fingerprint.
    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJecqacUgAoLtJQXlRMFE3FOtnu+3CJUjDnc//UfvYD ann@laptop";
    const FINGERPRINT: &str = "SHA256:qB3N9AYqODqufDM0D/BpUzbw/Tn+ICKmRrCi0vyvpl8";

    #[test]
    fn an_openssh_line_parses_to_ssh_keygens_fingerprint() {
        let k = parse_public_key(KEY).unwrap();
        assert_eq!(k.algorithm, "ssh-ed25519");
        assert_eq!(k.comment, "ann@laptop");
        assert_eq!(k.fingerprint, FINGERPRINT);
    }

    #[test]
    fn bad_keys_are_refused() {
        for bad in [
            "",
            "ssh-ed25519",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x",
            "ssh-ed25519 not-base64!",
            "ecdsa-sha2-nistp256 AAAAC3NzaC1lZDI1NTE5AAAAIHJecqacUgAoLtJQXlRMFE3FOtnu+3CJUjDnc//UfvYD",
            "foo-key AAAA",
        ] {
            assert!(parse_public_key(bad).is_err(), "{bad:?}");
        }
    }
}
