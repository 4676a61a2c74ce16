//! A certificate chain and its private key read from PEM files, with every check made before
//! the pair is used: the key file's permissions, that both files parse, that the leaf
//! certificate is valid now, and that the key belongs to it. A pair that fails any check is
//! never served: at start-up Ferry stops with the reason, on a reload the old pair stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

/// Where a pair lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemFiles {
    /// The certificate chain, leaf first (PEM, one or more `CERTIFICATE` blocks).
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PathBuf,
}

/// Why a pair cannot be used. Each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// A file could not be read, or holds no usable PEM block.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The key file may be read or changed by other users.
    #[error(
        "{path}: the private key is open to other users (mode {mode:o}); make it readable by its owner (and group) only, e.g. chmod 600"
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The leaf certificate is outside its validity period.
    #[error("{path}: {message}")]
    Validity {
        /// The certificate file.
        path: PathBuf,
        /// Expired or not yet valid, with the date.
        message: String,
    },
    /// The key is not the certificate's (or of a kind rustls cannot sign with).
    #[error("{key}: {message} (certificate {cert})")]
    Key {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
        /// What rustls said.
        message: String,
    },
}

/// A pair that passed every check.
#[derive(Debug, Clone)]
pub struct LoadedPair {
    /// What rustls serves.
    pub certified: Arc<CertifiedKey>,
    /// SHA-256 of the leaf certificate, as `AB:CD:…`.
    pub fingerprint: String,
    /// The leaf's last valid moment, as RFC 2822 text for logs.
    pub not_after: String,
    /// The leaf's validity period in Unix seconds (`notBefore`, `notAfter`): when to renew.
    pub validity: (i64, i64),
}

/// The provider every Ferry TLS listener uses (one provider linked: aws-lc-rs).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> PairError {
    PairError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads and checks the pair as of `now`.
pub fn load(files: &PemFiles, now: SystemTime) -> Result<LoadedPair, PairError> {
    check_key_permissions(&files.key)?;
    let cert_pem = std::fs::read(&files.cert).map_err(|e| file_error(&files.cert, e))?;
    let key_pem = std::fs::read(&files.key).map_err(|e| file_error(&files.key, e))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(&files.cert, format!("not a PEM certificate chain ({e})")))?;
    if chain.is_empty() {
        return Err(file_error(&files.cert, "no PEM certificate found"));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| file_error(&files.key, format!("no usable PEM private key ({e})")))?;
    let (not_after, validity) = check_validity(&files.cert, &chain[0], now)?;
    let key_error = |message: String| PairError::Key {
        key: files.key.clone(),
        cert: files.cert.clone(),
        message,
    };
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| key_error(format!("the key cannot be used ({e})")))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|_| key_error("the private key does not belong to the certificate".into()))?;
    let fingerprint = Sha256::digest(certified.cert[0].as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok(LoadedPair {
        certified: Arc::new(certified),
        fingerprint,
        not_after,
        validity,
    })
}

impl LoadedPair {
    /// Publishes the pair's expiry as `ferry_tls_certificate_expiry_timestamp_seconds`
    /// (labelled with where it came from: `file` or `acme`), for an alert before it lapses.
    pub fn publish_expiry(&self, source: &'static str) {
        metrics::gauge!("ferry_tls_certificate_expiry_timestamp_seconds", "source" => source)
            .set(self.validity.1 as f64);
    }
}

/// Refuses a key file that users other than its owner and group may read or write (the
/// Debian convention `root:ssl-cert 0640` passes), and a group-writable one.
fn check_key_permissions(path: &Path) -> Result<(), PairError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| file_error(path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o027 != 0 {
        return Err(PairError::KeyPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// The leaf's `notAfter` (as text, and both ends in Unix seconds) when it is valid at `now`.
fn check_validity(
    path: &Path,
    leaf: &CertificateDer<'_>,
    now: SystemTime,
) -> Result<(String, (i64, i64)), PairError> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| file_error(path, format!("the certificate does not parse ({e})")))?;
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let validity = cert.validity();
    let text = |t: &x509_parser::time::ASN1Time| {
        t.to_rfc2822().unwrap_or_else(|_| t.timestamp().to_string())
    };
    if now < validity.not_before.timestamp() {
        return Err(PairError::Validity {
            path: path.to_path_buf(),
            message: format!(
                "the certificate is not valid before {}",
                text(&validity.not_before)
            ),
        });
    }
    if now > validity.not_after.timestamp() {
        return Err(PairError::Validity {
            path: path.to_path_buf(),
            message: format!("the certificate expired on {}", text(&validity.not_after)),
        });
    }
    Ok((
        text(&validity.not_after),
        (
            validity.not_before.timestamp(),
            validity.not_after.timestamp(),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pairs::{Pair, write_pair};

    #[test]
    fn a_good_pair_loads_and_bad_ones_name_their_fault() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_pair(dir.path(), "good", Pair::Ecdsa, 0o600);
        let loaded = load(&good, SystemTime::now()).unwrap();
        assert_eq!(loaded.fingerprint.len(), 32 * 3 - 1);
        let rsa = write_pair(dir.path(), "rsa", Pair::Rsa, 0o640);
        load(&rsa, SystemTime::now()).unwrap();

        // The key of another pair.
        let other = write_pair(dir.path(), "other", Pair::Ecdsa, 0o600);
        let crossed = PemFiles {
            cert: good.cert.clone(),
            key: other.key.clone(),
        };
        let e = load(&crossed, SystemTime::now()).unwrap_err().to_string();
        assert!(e.contains("does not belong"), "{e}");

        // Expired, and not yet valid.
        let expired = write_pair(dir.path(), "expired", Pair::Expired, 0o600);
        let e = load(&expired, SystemTime::now()).unwrap_err().to_string();
        assert!(e.contains("expired on"), "{e}");
        let future = write_pair(dir.path(), "future", Pair::NotYetValid, 0o600);
        let e = load(&future, SystemTime::now()).unwrap_err().to_string();
        assert!(e.contains("not valid before"), "{e}");

        // A key others may read; a missing file; garbage.
        let open = write_pair(dir.path(), "open", Pair::Ecdsa, 0o644);
        let e = load(&open, SystemTime::now()).unwrap_err().to_string();
        assert!(e.contains("mode 644"), "{e}");
        let missing = PemFiles {
            cert: dir.path().join("nope.pem"),
            key: good.key.clone(),
        };
        assert!(
            load(&missing, SystemTime::now())
                .unwrap_err()
                .to_string()
                .contains("nope.pem")
        );
        std::fs::write(
            &good.cert,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = load(&good, SystemTime::now()).unwrap_err().to_string();
        assert!(e.contains("good-cert.pem"), "{e}");
        std::fs::write(&good.cert, "hello").unwrap();
        let e = load(&good, SystemTime::now()).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
    }
}
