//! The TLS identity FTPS presents: the certificate and key named in the configuration, or a
//! self-signed pair generated on first start and kept in the data directory (so clients that
//! pinned its fingerprint keep working across restarts).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// A certificate chain and its key.
#[derive(Debug)]
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// Why the identity could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// Reading or writing a PEM file failed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// rustls refused the pair.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Generating the self-signed pair failed.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> CertificateError {
    CertificateError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl TlsIdentity {
    /// Reads a PEM certificate chain and a PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsIdentity, CertificateError> {
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| file_error(cert, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_error(cert, e))?;
        if chain.is_empty() {
            return Err(file_error(cert, "no certificate found"));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| file_error(key, e))?;
        Ok(TlsIdentity { chain, key })
    }

    /// SHA-256 of the leaf certificate, as `AB:CD:…` (what clients show when asking to trust it).
    pub fn fingerprint(&self) -> String {
        colon_hex(&Sha256::digest(self.chain[0].as_ref()))
    }

    /// SHA-1 of the leaf certificate, as `AB:CD:…`: lftp, FileZilla's older versions and several
    /// other clients show this one when asking to trust the certificate.
    pub fn fingerprint_sha1(&self) -> String {
        fingerprint_sha1(&self.chain[0])
    }

    /// The TLS server configuration for this pair: TLS 1.3 and 1.2 with rustls' default
    /// (modern, AEAD-only) cipher suites. Building it checks that the key matches the
    /// certificate, so a bad configuration stops the start-up instead of failing each connection.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, CertificateError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Ok(rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?)
    }
}

/// A certificate and key in PEM files, with what was learnt loading them.
#[derive(Debug)]
pub struct LoadedIdentity {
    /// The certificate chain file.
    pub cert_file: PathBuf,
    /// The key file.
    pub key_file: PathBuf,
    /// The parsed pair.
    pub identity: TlsIdentity,
    /// Whether it was generated just now.
    pub generated: bool,
}

/// The configured pair, or the one kept in `dir` (`ftps-cert.pem`, `ftps-key.pem`), made now
/// if absent: self-signed for `localhost` and the given host names / addresses. Checked.
pub fn load_or_generate(
    configured: Option<(&Path, &Path)>,
    dir: &Path,
    names: &[String],
) -> Result<LoadedIdentity, CertificateError> {
    let (cert, key, generated) = match configured {
        Some((cert, key)) => (cert.to_path_buf(), key.to_path_buf(), false),
        None => {
            let (cert, key) = (dir.join("ftps-cert.pem"), dir.join("ftps-key.pem"));
            let generated = !(cert.exists() && key.exists());
            if generated {
                generate(&cert, &key, names)?;
            }
            (cert, key, generated)
        }
    };
    let identity = TlsIdentity::from_pem_files(&cert, &key)?;
    identity.server_config()?;
    Ok(LoadedIdentity {
        cert_file: cert,
        key_file: key,
        identity,
        generated,
    })
}

fn generate(cert: &Path, key: &Path, names: &[String]) -> Result<(), CertificateError> {
    // A half-written pair from an interrupted start is replaced.
    let _ = std::fs::remove_file(key);
    let mut subject_names = vec!["localhost".to_string()];
    subject_names.extend(names.iter().cloned());
    let made = rcgen::generate_simple_self_signed(subject_names)?;
    write_private(key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(cert, made.cert.pem()).map_err(|e| file_error(cert, e))?;
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CertificateError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| file_error(path, e))?;
    f.write_all(bytes).map_err(|e| file_error(path, e))?;
    f.sync_all().map_err(|e| file_error(path, e))
}

/// Bytes as upper-case hex pairs joined by colons, as certificate viewers print them.
/// SHA-1 of a certificate, as `AB:CD:…`: lftp, FileZilla's older versions and several
/// other clients show this one when asking to trust the certificate.
pub fn fingerprint_sha1(cert: &CertificateDer<'_>) -> String {
    colon_hex(&<sha1::Sha1 as sha1::Digest>::digest(cert.as_ref()))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
