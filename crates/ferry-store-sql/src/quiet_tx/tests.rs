//! Changes on the caller's thread against a real SQLite file: their writes and records
//! committed whole, a conflict or a drop undoing everything (alone) or only the change (in a
//! batch shared with others), under contention sharing commits, and another process's write
//! lock never waited for on the caller's thread.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, File, Operation, Outcome};
use ferry_core::store::{MetadataStore, StoreError};

use crate::chain_check::whole_chain;
use crate::{SqlStore, StoreOptions, connect};

/// The root folder every database starts with (migration 0002).
const ROOT: i64 = 1;

async fn store(dir: &tempfile::TempDir) -> SqlStore {
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    connect(&url, &StoreOptions::default()).await.unwrap()
}

fn file(name: &str, version: i64) -> File {
    File {
        id: 0,
        folder_id: ROOT,
        name: name.into(),
        version,
        size: 3,
        sha256: format!("{version:064}"),
        content_key: format!("inline-{name}-{version}"),
        created_at: Timestamp(10),
        modified_at: Timestamp(10 + version),
        created_by: None,
        modified_by: None,
        deleted: false,
        client_modified_at: Some(Timestamp(5)),
    }
}

fn uploaded(name: &str) -> AuditEntry {
    let mut e = AuditEntry::new(Operation::FileUploaded, Outcome::Success);
    e.path = Some(name.into());
    e
}

/// Records an upload of `name` as the Service does: a new file or a new version, its bytes
/// and its record, in one grouped change.
async fn record_upload(store: &SqlStore, name: &str) -> Result<i64, StoreError> {
    let mut tx = store.begin_grouped().await?;
    let key = name.to_lowercase();
    let id = match tx.file_by_name(ROOT, &key).await? {
        Some(mut existing) => {
            existing.version += 1;
            existing.content_key = format!("inline-{name}-{}", existing.version);
            tx.update_file(&existing, true).await?;
            existing.id
        }
        None => tx.insert_file(&file(name, 1)).await?,
    };
    let written = tx
        .insert_inline_content(&format!("k-{name}-{id}-{}", rand_suffix()), b"abc")
        .await;
    if let Err(e) = written {
        tx.rollback().await;
        return Err(e);
    }
    tx.append_audit(Timestamp(20), uploaded(name)).await?;
    tx.commit().await?;
    Ok(id)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

async fn assert_chain_whole(store: &SqlStore) -> usize {
    whole_chain(store).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_upload_commits_on_the_callers_thread_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let records = assert_chain_whole(&store).await;
    let id = record_upload(&store, "a.txt").await.unwrap();
    assert_eq!(
        record_upload(&store, "a.txt").await.unwrap(),
        id,
        "a new version"
    );
    assert_eq!(
        store.changes.committed(),
        (0, 0),
        "no batch went through sqlx"
    );
    let found = store.file_by_name(ROOT, "a.txt").await.unwrap().unwrap();
    assert_eq!((found.id, found.version), (id, 2));
    let versions = store.file_versions(id).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].client_modified_at, Some(Timestamp(5)));
    assert_eq!(assert_chain_whole(&store).await, records + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_change_reads_its_file_inside_the_change_as_sqlx_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let id = record_upload(&store, "t.txt").await.unwrap();
    // A time set, as the Service saves it: the file read inside the change, then updated.
    let mut tx = store.begin_grouped().await.unwrap();
    let mut f = tx
        .file(id)
        .await
        .unwrap()
        .expect("the file, inside the change");
    f.client_modified_at = Some(Timestamp(77));
    f.deleted = true;
    tx.update_file(&f, false).await.unwrap();
    // The change sees its own write; a deleted file is still found by ID.
    let seen = tx.file(id).await.unwrap().unwrap();
    assert_eq!(
        (seen.client_modified_at, seen.deleted),
        (Some(Timestamp(77)), true)
    );
    assert!(tx.file(id + 1000).await.unwrap().is_none());
    tx.append_audit(Timestamp(30), uploaded("t.txt"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.changes.committed(),
        (0, 0),
        "no batch went through sqlx"
    );
    let after = store.file(id).await.unwrap().unwrap();
    assert_eq!(
        (after.client_modified_at, after.deleted),
        (Some(Timestamp(77)), true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_or_a_drop_undoes_the_whole_change_and_the_next_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let records = assert_chain_whole(&store).await;
    record_upload(&store, "b.txt").await.unwrap();

    // The same name inserted again: a conflict, and nothing of the change stays.
    let mut tx = store.begin_grouped().await.unwrap();
    tx.append_audit(Timestamp(30), uploaded("b.txt"))
        .await
        .unwrap();
    let err = tx.insert_file(&file("b.txt", 1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    tx.rollback().await;

    // Dropped without an end: undone too.
    let mut tx = store.begin_grouped().await.unwrap();
    tx.insert_file(&file("c.txt", 1)).await.unwrap();
    tx.append_audit(Timestamp(31), uploaded("c.txt"))
        .await
        .unwrap();
    drop(tx);
    assert!(store.file_by_name(ROOT, "c.txt").await.unwrap().is_none());

    // The connection and the turn are free again.
    record_upload(&store, "d.txt").await.unwrap();
    assert_eq!(assert_chain_whole(&store).await, records + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_contention_changes_share_commits_here_and_the_chain_stays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&dir).await);
    let records = assert_chain_whole(&store).await;
    // While another writer holds the turn, changes wait for it and then share batches.
    let held = store.changes.turn().await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..100 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            record_upload(&store, &format!("f{}.txt", n % 10))
                .await
                .unwrap();
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(held);
    for t in tasks {
        t.await.unwrap();
    }
    let (batches, changes) = store.changes.committed_here();
    assert_eq!(changes, 100, "every change on the caller's thread");
    assert!(batches < 50, "changes shared commits: {batches} for 100");
    assert_eq!(store.changes.committed(), (0, 0), "none through sqlx");
    for n in 0..10 {
        let f = store
            .file_by_name(ROOT, &format!("f{n}.txt"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.version, 10, "ten uploads of f{n}.txt, each a version");
        assert_eq!(store.file_versions(f.id).await.unwrap().len(), 10);
    }
    assert_eq!(assert_chain_whole(&store).await, records + 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_shared_batch_a_failed_or_dropped_change_is_undone_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&dir).await);
    let records = assert_chain_whole(&store).await;
    record_upload(&store, "taken.txt").await.unwrap();
    let held = store.changes.turn().await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..30 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            match n % 3 {
                // A good upload.
                0 => record_upload(&store, &format!("g{n}.txt"))
                    .await
                    .map(|_| true),
                // A conflict after a record: rolled back to its savepoint.
                1 => {
                    let mut tx = store.begin_grouped().await?;
                    tx.append_audit(Timestamp(40), uploaded("taken.txt"))
                        .await?;
                    let err = tx.insert_file(&file("taken.txt", 1)).await.unwrap_err();
                    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
                    tx.rollback().await;
                    Ok(false)
                }
                // Dropped after writing: undone too.
                _ => {
                    let mut tx = store.begin_grouped().await?;
                    tx.insert_file(&file(&format!("d{n}.txt"), 1)).await?;
                    tx.append_audit(Timestamp(41), uploaded("dropped")).await?;
                    drop(tx);
                    Ok(false)
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(held);
    let mut good = 0;
    for t in tasks {
        good += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(good, 10);
    for n in 0..30 {
        let kept = store
            .file_by_name(ROOT, &format!("g{n}.txt"))
            .await
            .unwrap();
        assert_eq!(kept.is_some(), n % 3 == 0, "g{n}.txt");
        let dropped = store
            .file_by_name(ROOT, &format!("d{n}.txt"))
            .await
            .unwrap();
        assert!(dropped.is_none(), "d{n}.txt was dropped");
    }
    let (batches, _) = store.changes.committed_here();
    assert!(
        batches < 12,
        "the good ones shared commits: {batches} batches"
    );
    assert_eq!(assert_chain_whole(&store).await, records + 11);
}

#[tokio::test(flavor = "current_thread")]
async fn another_processs_lock_is_waited_for_off_the_callers_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&dir).await);
    record_upload(&store, "e.txt").await.unwrap();
    let other = rusqlite::Connection::open(dir.path().join("ferry.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let task = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { record_upload(&store, "e.txt").await })
    };
    // One runtime thread: had the change waited for the lock on it, this sleep would end
    // only after sqlx's busy timeout.
    let slept = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        slept.elapsed() < Duration::from_secs(3),
        "the caller's thread was blocked"
    );
    assert!(!task.is_finished(), "the change waits for the lock");
    other.execute_batch("COMMIT").unwrap();
    task.await.unwrap().unwrap();
    let f = store.file_by_name(ROOT, "e.txt").await.unwrap().unwrap();
    assert_eq!(f.version, 2);
}
