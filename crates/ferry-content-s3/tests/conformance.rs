//! The content-store conformance suite: the same cases on the local directory, on moto and on
//! s3s-fs (both started on loopback by the test), so the port means one thing whatever is
//! behind it. Then what only an object store can do wrong: refuse the credentials, lose the
//! bucket, go away mid-upload.

use std::sync::Arc;
use std::time::Duration;

use ferry_content_fs::LocalContentStore;
use ferry_content_s3::{S3ContentStore, S3Credentials, S3Location};
use ferry_core::content::{ContentError, ContentStore};
use ferry_testkit::s3::{ACCESS_KEY, SECRET_KEY};
use ferry_testkit::{S3Kind, S3Server};
use tokio::io::AsyncReadExt;

const MIB: usize = 1024 * 1024;
/// The object stores' part in these tests: S3's smallest, so few bytes make many parts.
const PART: usize = 5 * MIB;

/// A store under test and what keeps it alive.
struct Subject {
    store: Arc<dyn ContentStore>,
    _dirs: Vec<tempfile::TempDir>,
    _server: Option<Arc<S3Server>>,
}

fn s3_store(server: &S3Server, prefix: &str, spill: &std::path::Path) -> S3ContentStore {
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
async fn subjects(servers: &[Arc<S3Server>]) -> Vec<(String, Subject)> {
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

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "case-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Deterministic bytes (a linear congruential sequence), so a misplaced part shows.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

async fn read_all(store: &dyn ContentStore, key: &str, offset: u64) -> Vec<u8> {
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

fn servers() -> Vec<Arc<S3Server>> {
    vec![
        Arc::new(S3Server::start(S3Kind::Moto)),
        Arc::new(S3Server::start(S3Kind::S3sFs)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_keeps_what_it_was_given() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        for (len, seed) in [(0, 1), (3, 2), (PART, 3), (PART * 2 + PART / 2, 4)] {
            let data = pattern(len, seed);
            let mut staged = store.stage().await.unwrap();
            // Half through `write`, half through `room`/`filled`, as the front ends do.
            let (a, b) = data.split_at(len / 2);
            staged.write(a).await.unwrap();
            let mut rest = b;
            while !rest.is_empty() {
                let room = staged.room();
                let n = room.len().min(rest.len()).min(100_000);
                room[..n].copy_from_slice(&rest[..n]);
                staged.filled(n).await.unwrap();
                rest = &rest[n..];
            }
            let key = staged.commit().await.unwrap();
            assert_eq!(read_all(store, &key, 0).await, data, "{name}: {len} bytes");
            let mid = len as u64 / 3;
            assert_eq!(
                read_all(store, &key, mid).await,
                data[mid as usize..],
                "{name}: {len} bytes from {mid}"
            );
            assert!(
                read_all(store, &key, len as u64).await.is_empty(),
                "{name}: reading at the end"
            );
        }
    }
}

/// One step of the random-access model.
enum Step {
    Append(usize),
    WriteAt(u64, usize),
    ReadAt(u64, usize),
    SetLen(u64),
    Truncate(u64),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_access_matches_a_plain_file() {
    use Step::*;
    // First inside the part still in memory, then reaching back into parts already sent (the
    // object stores turn the upload local there), then past the end and back.
    let steps = [
        Append(MIB),
        WriteAt(1000, 5000),
        ReadAt(500, 10_000),
        Truncate(MIB as u64 - 10),
        SetLen(2 * MIB as u64),
        WriteAt(3 * MIB as u64, 100),
        Append(PART + MIB),
        ReadAt(PART as u64 + 7, 1000),
        Truncate(PART as u64 + 2 * MIB as u64),
        WriteAt(10, 4096),
        ReadAt(0, 3 * MIB),
        Append(PART),
        SetLen(3 * PART as u64 + 12_345),
        WriteAt(2 * PART as u64 - 3, 6),
        Truncate(2 * PART as u64 + 1),
        Append(777),
    ];
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut model: Vec<u8> = Vec::new();
        let mut staged = store.stage().await.unwrap();
        for (i, step) in steps.iter().enumerate() {
            let seed = i as u32 + 10;
            match *step {
                Append(n) => {
                    let bytes = pattern(n, seed);
                    staged.write(&bytes).await.unwrap();
                    model.extend_from_slice(&bytes);
                }
                WriteAt(at, n) => {
                    let bytes = pattern(n, seed);
                    staged.write_at(at, &bytes).await.unwrap();
                    let end = at as usize + n;
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[at as usize..end].copy_from_slice(&bytes);
                }
                ReadAt(at, n) => {
                    let mut buf = vec![0u8; n];
                    let got = staged.read_at(at, &mut buf).await.unwrap();
                    let want =
                        &model[(at as usize).min(model.len())..(at as usize + n).min(model.len())];
                    assert_eq!(&buf[..got], want, "{name}: step {i}");
                }
                SetLen(len) | Truncate(len) => {
                    if matches!(step, SetLen(_)) {
                        staged.set_len(len).await.unwrap();
                    } else {
                        staged.truncate(len).await.unwrap();
                    }
                    model.resize(len as usize, 0);
                }
            }
        }
        let key = staged.commit().await.unwrap();
        let stored = read_all(store, &key, 0).await;
        assert_eq!(stored.len(), model.len(), "{name}: length");
        assert!(stored == model, "{name}: content differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_visible_before_the_commit_and_a_drop_leaves_nothing() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut staged = store.stage().await.unwrap();
        staged.write(&pattern(2 * PART + 1, 1)).await.unwrap();
        assert!(
            store
                .keys_older_than(Duration::ZERO)
                .await
                .unwrap()
                .is_empty(),
            "{name}: an object exists before the commit"
        );
        drop(staged);
        // The drop aborts in the background; give it a moment, then nothing may be left.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            store
                .keys_older_than(Duration::ZERO)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.sweep_abandoned(Duration::ZERO).await.unwrap(),
            0,
            "{name}"
        );
        assert_eq!(store.clean_staging().await.unwrap(), 0, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_abandoned_by_a_killed_node_is_swept() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut staged = store.stage().await.unwrap();
        staged.write(&pattern(PART + 10, 2)).await.unwrap();
        // A killed process runs no destructor.
        std::mem::forget(staged);
        let young = store
            .sweep_abandoned(Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(young, 0, "{name}: an upload in progress was swept");
        let swept = store.clean_staging().await.unwrap()
            + store.sweep_abandoned(Duration::ZERO).await.unwrap();
        assert_eq!(swept, 1, "{name}");
        assert_eq!(
            store.clean_staging().await.unwrap()
                + store.sweep_abandoned(Duration::ZERO).await.unwrap(),
            0,
            "{name}: swept twice"
        );
        assert!(
            store
                .keys_older_than(Duration::ZERO)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_are_idempotent_and_bad_keys_are_refused() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let store = s.store.as_ref();
        let mut a = store.stage().await.unwrap();
        a.write(b"first").await.unwrap();
        let a = a.commit().await.unwrap();
        let mut b = store.stage().await.unwrap();
        b.write(b"second").await.unwrap();
        let b = b.commit().await.unwrap();
        let mut keys = store.keys_older_than(Duration::ZERO).await.unwrap();
        keys.sort();
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(keys, want, "{name}");
        assert!(
            store
                .keys_older_than(Duration::from_secs(3600))
                .await
                .unwrap()
                .is_empty()
        );
        store.delete(&a).await.unwrap();
        store.delete(&a).await.unwrap();
        assert!(
            matches!(store.open(&a, 0).await.err(), Some(ContentError::NotFound)),
            "{name}: a deleted object must read as not found"
        );
        assert_eq!(read_all(store, &b, 0).await, b"second");
        for bad in [
            "../../etc/passwd",
            "ab",
            "",
            &"g".repeat(32),
            &format!("{b}/x"),
        ] {
            assert!(
                matches!(store.open(bad, 0).await.err(), Some(ContentError::Other(_))),
                "{name}: key {bad:?}"
            );
            assert!(store.delete(bad).await.is_err(), "{name}: key {bad:?}");
        }
        store.check().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_each_keep_their_own_bytes() {
    let servers = servers();
    for (name, s) in subjects(&servers).await {
        let mut tasks = Vec::new();
        for i in 0..8u32 {
            let store = s.store.clone();
            tasks.push(tokio::spawn(async move {
                let data = pattern(PART + 1000 * i as usize, 100 + i);
                let mut staged = store.stage().await.unwrap();
                for chunk in data.chunks(64 * 1024) {
                    staged.write(chunk).await.unwrap();
                }
                (staged.commit().await.unwrap(), data)
            }));
        }
        for t in tasks {
            let (key, data) = t.await.unwrap();
            assert!(read_all(s.store.as_ref(), &key, 0).await == data, "{name}");
        }
    }
}
