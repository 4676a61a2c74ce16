//! The certificate a TLS listener presents, re-read without a restart: on `SIGHUP`, and when
//! either file changes (checked every few seconds). rustls asks for the certificate at each
//! handshake, so connections already open keep theirs and new ones get the new pair. A new
//! pair that fails a check ([`crate::pem_pair`]) is refused with a log line and the old one
//! stays.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::pem_pair::{LoadedPair, PairError, PemFiles, load};

/// What identifies a file's contents cheaply: modification time, length and inode (a
/// rename over the file, as certbot and ACME clients do, changes the inode).
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &std::path::Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// A certificate resolver over a pair of PEM files that can be re-read.
#[derive(Debug)]
pub struct ReloadingCert {
    files: PemFiles,
    current: RwLock<LoadedPair>,
    /// The files' stamps when last read (whether or not that read was accepted).
    seen: Mutex<(Stamp, Stamp)>,
}

impl ReloadingCert {
    /// Reads and checks the pair; an error here stops the start-up.
    pub fn load(files: PemFiles) -> Result<(Arc<ReloadingCert>, LoadedPair), PairError> {
        let seen = (stamp(&files.cert), stamp(&files.key));
        let loaded = load(&files, SystemTime::now())?;
        loaded.publish_expiry("file");
        let resolver = ReloadingCert {
            files,
            current: RwLock::new(loaded.clone()),
            seen: Mutex::new(seen),
        };
        Ok((Arc::new(resolver), loaded))
    }

    /// The files it reads.
    pub fn files(&self) -> &PemFiles {
        &self.files
    }

    /// The pair served now.
    pub fn current(&self) -> LoadedPair {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the pair again; serves it from the next handshake on if it passes every check.
    pub fn reload(&self) -> Result<LoadedPair, PairError> {
        let seen = (stamp(&self.files.cert), stamp(&self.files.key));
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = seen;
        let loaded = load(&self.files, SystemTime::now())?;
        loaded.publish_expiry("file");
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = loaded.clone();
        Ok(loaded)
    }

    /// Whether either file changed since it was last read.
    fn changed(&self) -> bool {
        let now = (stamp(&self.files.cert), stamp(&self.files.key));
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) != now
    }

    /// Re-reads the pair on `SIGHUP` and when the files change (looked at every `every`),
    /// logging each outcome, for as long as the process runs.
    pub fn watch(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut hangup = match tokio::signal::unix::signal(
                tokio::signal::unix::SignalKind::hangup(),
            ) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGHUP; certificate files are still watched");
                    None
                }
            };
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let why = tokio::select! {
                    _ = async {
                        match hangup.as_mut() {
                            Some(h) => { h.recv().await; }
                            None => std::future::pending::<()>().await,
                        }
                    } => "SIGHUP",
                    _ = tick.tick() => {
                        if !self.changed() {
                            continue;
                        }
                        "the files changed"
                    }
                };
                match self.reload() {
                    Ok(pair) => tracing::info!(
                        cert = %self.files.cert.display(),
                        fingerprint = %pair.fingerprint,
                        not_after = %pair.not_after,
                        reason = why,
                        "TLS certificate reloaded"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        reason = why,
                        "new TLS certificate refused; the previous one is still served"
                    ),
                }
            }
        })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .certified,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pairs::{Pair, write_pair};

    #[test]
    fn a_good_new_pair_replaces_the_old_and_a_bad_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_pair(dir.path(), "live", Pair::Ecdsa, 0o600);
        let (resolver, first) = ReloadingCert::load(files.clone()).unwrap();
        let served = || resolver.current().certified.cert[0].clone();
        assert_eq!(served(), first.certified.cert[0]);
        assert!(!resolver.changed());

        // A new pair over the old files.
        let next = write_pair(dir.path(), "next", Pair::Rsa, 0o600);
        std::fs::copy(&next.cert, &files.cert).unwrap();
        std::fs::copy(&next.key, &files.key).unwrap();
        assert!(resolver.changed());
        let second = resolver.reload().unwrap();
        assert_ne!(second.fingerprint, first.fingerprint);
        assert_eq!(served(), second.certified.cert[0]);
        assert!(!resolver.changed());

        // A certificate whose key is another's: refused, the second pair stays.
        let other = write_pair(dir.path(), "other", Pair::Ecdsa, 0o600);
        std::fs::copy(&other.cert, &files.cert).unwrap();
        assert!(resolver.reload().is_err());
        assert_eq!(served(), second.certified.cert[0]);
        // ... and is not read again until the files change once more.
        assert!(!resolver.changed());
    }
}
