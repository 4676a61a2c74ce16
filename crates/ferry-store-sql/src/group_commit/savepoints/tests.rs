//! PostgreSQL's savepoints taken when needed, in a batch of two grouped changes: an upload
//! recorded in one statement (no savepoint), then a change whose guard fails and goes step by
//! step (its savepoint taken then) and fails: it is undone alone and the first commits. A
//! change that fails in its one statement without a savepoint takes the batch with it: the
//! first member fails too, and nothing of either is stored.

use std::sync::atomic::Ordering;

use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, File, Folder, FolderType, Operation, Outcome};
use ferry_core::store::{GroupedTx, MetadataStore, StoreError};
use ferry_testkit::Backend;

use crate::{SqlStore, StoreOptions, connect};

async fn store(dir: &tempfile::TempDir) -> (SqlStore, i64) {
    let url = Backend::Postgres.fresh_database_url(dir.path());
    let s = connect(&url, &StoreOptions::default()).await.unwrap();
    let mut tx = s.begin().await.unwrap();
    let top = tx
        .insert_folder(&Folder {
            id: 0,
            parent_id: Some(1),
            name: "top".into(),
            folder_type: FolderType::Regular,
            description: String::new(),
            inherit_permissions: false,
            owner_user_id: None,
            created_at: Timestamp(1),
            modified_at: Timestamp(1),
            created_by: None,
            modified_by: None,
            deleted: false,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (s, top)
}

fn file(folder_id: i64, name: &str, key: &str) -> File {
    File {
        id: 0,
        folder_id,
        name: name.into(),
        version: 1,
        size: 3,
        sha256: "0".repeat(64),
        content_key: key.into(),
        created_at: Timestamp(2),
        modified_at: Timestamp(2),
        created_by: None,
        modified_by: None,
        deleted: false,
        client_modified_at: None,
    }
}

fn entry() -> AuditEntry {
    AuditEntry::new(Operation::FileUploaded, Outcome::Success)
}

/// Waits until a writer waits for its turn.
async fn someone_waits(s: &SqlStore) {
    while s.changes.shared.waiting.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
}

/// A batch of two: `a.bin` recorded in one statement by the first change, which ends while
/// the second (`second`, given the store and the folder) waits for its turn; the first's
/// commit's outcome and the second's.
async fn batch_of_two<F, Fut>(
    s: &SqlStore,
    top: i64,
    second: F,
) -> (Result<(), StoreError>, Result<(), StoreError>)
where
    F: FnOnce(Box<dyn GroupedTx>, i64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send,
{
    let mut a = s.begin_grouped().await.unwrap();
    let recorded = a
        .record_upload_as_seen(
            &file(top, "a.bin", "inline-a"),
            Some(b"one"),
            Timestamp(3),
            entry(),
        )
        .await
        .unwrap();
    assert!(recorded.is_some());
    let b = {
        let s = s.clone();
        tokio::spawn(async move {
            let g = s.begin_grouped().await?;
            second(g, top).await
        })
    };
    someone_waits(s).await;
    let first = a.commit().await;
    (first, b.await.unwrap())
}

#[tokio::test]
async fn a_change_that_fails_after_taking_its_savepoint_is_undone_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (s, top) = store(&dir).await;
    let (first, second) = batch_of_two(&s, top, |mut g, top| async move {
        // The name is taken by the first change: the guard stops the one statement, and the
        // steps that follow take the savepoint; the insert then fails.
        let f = file(top, "a.bin", "inline-b");
        let id = g
            .record_upload_as_seen(&f, Some(b"two"), Timestamp(3), entry())
            .await?;
        assert_eq!(id, None);
        let (folder, existing) = g.folder_and_file_by_name(top, "a.bin").await?;
        assert!(folder.is_some() && existing.is_some());
        let failed = g.insert_file(&f).await;
        assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
        g.rollback().await;
        Err(StoreError::Conflict("the name".into()))
    })
    .await;
    assert!(first.is_ok(), "{first:?}");
    assert!(second.is_err());
    let stored = s.file_by_name(top, "a.bin").await.unwrap().unwrap();
    assert_eq!(stored.content_key, "inline-a");
    let records = crate::chain_check::whole_chain(&s).await;
    assert_eq!(records.last().unwrap().entry.file_id, Some(stored.id));
}

#[tokio::test]
async fn a_change_that_fails_without_a_savepoint_takes_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (s, top) = store(&dir).await;
    let head = s.audit_head().await.unwrap();
    let (first, second) = batch_of_two(&s, top, |mut g, top| async move {
        // Another name, the first's content key: the one statement fails on the key.
        let f = file(top, "b.bin", "inline-a");
        let failed = g
            .record_upload_as_seen(&f, Some(b"two"), Timestamp(3), entry())
            .await;
        assert!(failed.is_err(), "{failed:?}");
        g.rollback().await;
        Err(StoreError::Conflict("the key".into()))
    })
    .await;
    assert!(
        first.is_err(),
        "the first member fails with its batch: {first:?}"
    );
    assert!(second.is_err());
    for name in ["a.bin", "b.bin"] {
        assert_eq!(s.file_by_name(top, name).await.unwrap(), None, "{name}");
    }
    assert_eq!(s.audit_head().await.unwrap(), head);
    crate::chain_check::whole_chain(&s).await;
}
