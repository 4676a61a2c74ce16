//! What ACME leaves on disk, in the cache folder (mode 700): the account's credentials per
//! directory URL, and the certificate and key per directory and set of domains, so a restart
//! (or a CA that is down) serves the last certificate instead of ordering a new one. Every
//! file is written whole to a temporary name and renamed, keys and credentials with mode 600.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::pem_pair::PemFiles;

/// The cache folder and the names in it for one configuration.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// Names the account: one per directory URL.
    account_tag: String,
    /// Names the certificate: one per directory URL and set of domains.
    certificate_tag: String,
}

fn tag(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Cache {
    /// The cache for `directory` and `domains` (sorted, lower-case) in `dir`.
    pub fn new(dir: &Path, directory: &str, domains: &[String]) -> Cache {
        let mut parts = vec![directory];
        parts.extend(domains.iter().map(String::as_str));
        Cache {
            dir: dir.to_path_buf(),
            account_tag: tag(&[directory]),
            certificate_tag: tag(&parts),
        }
    }

    /// Creates the folder (mode 700) if it is missing.
    pub fn create(&self) -> std::io::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
    }

    /// The account credentials file.
    pub fn account_file(&self) -> PathBuf {
        self.dir.join(format!("account-{}.json", self.account_tag))
    }

    /// The certificate chain and key files.
    pub fn certificate_files(&self) -> PemFiles {
        PemFiles {
            cert: self
                .dir
                .join(format!("certificate-{}.pem", self.certificate_tag)),
            key: self.dir.join(format!("key-{}.pem", self.certificate_tag)),
        }
    }

    /// Writes `bytes` to `path` whole (temporary file, then rename) with `mode`.
    pub fn write(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
        let temporary = path.with_extension("partial");
        let _ = std::fs::remove_file(&temporary);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&temporary, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_directory_and_domains_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = Cache::new(dir.path(), "https://ca/dir", &["a.example".into()]);
        let b = Cache::new(dir.path(), "https://ca/dir", &["b.example".into()]);
        let c = Cache::new(dir.path(), "https://other/dir", &["a.example".into()]);
        assert_eq!(a.account_file(), b.account_file());
        assert_ne!(a.account_file(), c.account_file());
        assert_ne!(a.certificate_files(), b.certificate_files());
        assert_ne!(a.certificate_files(), c.certificate_files());

        let nested = Cache::new(&dir.path().join("x/acme"), "https://ca/dir", &[]);
        nested.create().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("x/acme")), 0o700);
        let key = nested.certificate_files().key;
        Cache::write(&key, b"one", 0o600).unwrap();
        Cache::write(&key, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&key).unwrap(), b"two");
        assert_eq!(mode(&key), 0o600);
    }
}
