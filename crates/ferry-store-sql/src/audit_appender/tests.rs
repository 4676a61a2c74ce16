//! The audit writer against a real SQLite file: records that wait share a commit, the chain
//! stays whole when they interleave with grouped changes on sqlx, each caller returns only
//! once its record is readable, and a record that cannot be committed fails its caller.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, Operation, Outcome};
use ferry_core::store::MetadataStore;

use crate::chain_check::whole_chain;
use crate::{SqlStore, StoreOptions, connect};

async fn store(dir: &tempfile::TempDir) -> SqlStore {
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    connect(&url, &StoreOptions::default()).await.unwrap()
}

fn entry(n: i64) -> AuditEntry {
    let mut e = AuditEntry::new(Operation::FileDownloaded, Outcome::Success);
    e.file_id = Some(n);
    e.path = Some(format!("file-{n}.bin"));
    e
}

/// The records' file IDs, in chain order, after checking the chain is whole.
async fn assert_chain_whole(store: &SqlStore) -> Vec<i64> {
    let records = whole_chain(store).await;
    records.iter().filter_map(|r| r.entry.file_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_wait_share_a_commit_and_each_returns_once_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&dir).await);
    // Quiet: the first record is a change on the caller's thread; the writer is not started.
    store
        .append_audit_alone(Timestamp(0), entry(0))
        .await
        .unwrap();
    assert!(store.audit_appender.as_ref().unwrap().get().is_none());

    // Twenty records while another writer holds the turn: they wait together, on the writer.
    let held = store.changes.turn().await.unwrap();
    let mut tasks = Vec::new();
    for n in 1..=20 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .append_audit_alone(Timestamp(n), entry(n))
                .await
                .unwrap();
            // Acknowledged: committed, so every reader sees it.
            let all = store.audit_records(0, 100).await.unwrap();
            assert!(
                all.iter().any(|r| r.entry.file_id == Some(n)),
                "record {n} is readable"
            );
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let appender = store.audit_appender.as_ref().unwrap().get().unwrap();
    assert_eq!(
        appender.commits(),
        0,
        "nothing commits while the turn is held"
    );
    drop(held);
    for t in tasks {
        t.await.unwrap();
    }
    let commits = appender.commits();
    assert!(commits <= 5, "20 waiting records took {commits} commits");
    let mut files = assert_chain_whole(&store).await;
    assert_eq!(files[0], 0, "the first record first");
    files.sort_unstable();
    assert_eq!(files, (0..=20).collect::<Vec<_>>(), "each record once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_alone_and_grouped_changes_interleave_into_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&dir).await);
    let mut tasks = Vec::new();
    for n in 0..200 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            if n % 3 == 0 {
                // A change through sqlx (as an upload's record is written).
                let mut tx = store.begin_grouped().await.unwrap();
                tx.append_audit(Timestamp(n), entry(n)).await.unwrap();
                tx.commit().await.unwrap();
            } else {
                store
                    .append_audit_alone(Timestamp(n), entry(n))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut files = assert_chain_whole(&store).await;
    files.sort_unstable();
    assert_eq!(files, (0..200).collect::<Vec<_>>(), "each record once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_cannot_be_committed_fails_its_caller_and_leaves_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    store
        .append_audit_alone(Timestamp(1), entry(1))
        .await
        .unwrap();
    // Another process holds SQLite's write lock past the writer's busy timeout? Too slow for
    // a test; a constraint the record breaks fails the same way: seq 2 is taken behind the
    // head's back, so the insert of the next record collides.
    sqlx::query(
        "INSERT INTO audit_log (seq, at, operation, status, prev_hash, hash) \
         VALUES (2, 0, 'x', 'x', 'x', 'x')",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    let err = store
        .append_audit_alone(Timestamp(2), entry(2))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not be committed"), "{err}");
    let head = store.audit_head().await.unwrap();
    assert_eq!(head.seq, 1, "the head did not move");
    // The writer goes on: the planted row removed, the next record is appended.
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&store.pool)
        .await
        .unwrap();
    store
        .append_audit_alone(Timestamp(3), entry(3))
        .await
        .unwrap();
    assert_eq!(assert_chain_whole(&store).await, vec![1, 3]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_record_waits_for_another_processs_lock_without_blocking_the_caller_s_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&dir).await);
    // Quiet: appended on the caller's thread.
    store
        .append_audit_alone(Timestamp(1), entry(1))
        .await
        .unwrap();
    // Another process (the CLI, say) takes SQLite's write lock and keeps it.
    let other = rusqlite::Connection::open(dir.path().join("ferry.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let task = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.append_audit_alone(Timestamp(2), entry(2)).await })
    };
    // This runtime has one thread: had the record waited for the lock on it, the sleep
    // would end only after the writer's busy timeout (10 s).
    let slept = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        slept.elapsed() < Duration::from_secs(3),
        "the caller's thread was blocked"
    );
    assert!(!task.is_finished(), "the record waits for the lock");
    other.execute_batch("COMMIT").unwrap();
    task.await.unwrap().unwrap();
    assert_eq!(assert_chain_whole(&store).await, vec![1, 2]);
}
