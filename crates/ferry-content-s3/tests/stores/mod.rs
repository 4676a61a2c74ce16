//! The stores under test, shared by the conformance suite and the checkpoint tests: the
//! local directory, moto and s3s-fs, each fresh per test.

#![allow(dead_code)]

use ferry_content_fs::LocalContentStore;
use ferry_content_s3::{S3ContentStore, S3Credentials, S3Location};
use ferry_core::content::ContentStore;
use ferry_testkit::s3::{ACCESS_KEY, SECRET_KEY};
use ferry_testkit::{S3Kind, S3Server};
use std::sync::Arc;
use tokio::io::AsyncReadExt;

pub const MIB: usize = 1024 * 1024;
/// The object stores' part in these tests: S3's smallest, so few bytes make many parts.
pub const PART: usize = 5 * MIB;

/// A store under test and what keeps it alive.
pub struct Subject {
    pub store: Arc<dyn ContentStore>,
    _dirs: Vec<tempfile::TempDir>,
    _server: Option<Arc<S3Server>>,
}

pub fn s3_store(server: &S3Server, prefix: &str, spill: &std::path::Path) -> S3ContentStore {
    let location =
        S3Location::parse(&format!("{}&part_size_mib=5", server.storage_url(prefix))).unwrap();
    S3ContentStore::new(
        &location,
        Some(S3Credentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
        }),
        spill,
    )
    .unwrap()
}

/// One fresh store of each kind: a new directory, a new prefix in each server's bucket.
pub async fn subjects(servers: &[Arc<S3Server>]) -> Vec<(String, Subject)> {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalContentStore::open(dir.path()).await.unwrap();
    let mut out = vec![(
        "local".to_string(),
        Subject {
            store: Arc::new(local),
            _dirs: vec![dir],
            _server: None,
        },
    )];
    for server in servers {
        let spill = tempfile::tempdir().unwrap();
        let prefix = uuid_like();
        let store = s3_store(server, &prefix, spill.path());
        store.probe().await.unwrap();
        out.push((
            format!("{:?}", server.kind),
            Subject {
                store: Arc::new(store),
                _dirs: vec![spill],
                _server: Some(server.clone()),
            },
        ));
    }
    out
}

pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "case-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Deterministic bytes (a linear congruential sequence), so a misplaced part shows.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

pub async fn read_all(store: &dyn ContentStore, key: &str, offset: u64) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .open(key, offset)
        .await
        .unwrap()
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

pub fn servers() -> Vec<Arc<S3Server>> {
    vec![
        Arc::new(S3Server::start(S3Kind::Moto)),
        Arc::new(S3Server::start(S3Kind::S3sFs)),
    ]
}

/// Whether the store holds no committed content.
pub async fn nothing_stored(store: &dyn ContentStore) -> bool {
    store
        .keys_older_than(std::time::Duration::ZERO)
        .await
        .unwrap()
        .is_empty()
}
