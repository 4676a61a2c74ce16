//! Each user's stored bytes (migration 0025), on both engines: counted from what a database
//! written before holds when the migration runs (every version a user uploaded, in whole 4 KiB
//! blocks and one at least, a deleted file's too, a purged file's not), then moved by the
//! triggers with every writer's change: a version added, a version handed over by a rename
//! (its row leaves the file it came from), a file purged, whoever writes it (here plain SQL,
//! as an operator or another node would).
use ferry_core::store::MetadataStore;
use ferry_store_sql::{StoreOptions, connect};
use ferry_testkit::Backend;

mod older;

async fn run(pool: &sqlx::AnyPool, statements: &[&'static str]) {
    for sql in statements {
        sqlx::query(*sql).execute(pool).await.unwrap();
    }
}

/// A file row in the root folder (`deleted`, `purged` as given).
async fn file(pool: &sqlx::AnyPool, id: i64, name: &str, deleted: i64, purged: i64) {
    sqlx::query(
        "INSERT INTO files (id, folder_id, name, name_key, version, size, sha256, content_key, \
         created_at, modified_at, deleted, purged) VALUES ($1, 1, $2, $2, 1, 0, '', $3, 1, 1, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(format!("k{id}"))
    .bind(deleted)
    .bind(purged)
    .execute(pool)
    .await
    .unwrap();
}

/// A version of file `file` of `size` bytes uploaded by `by` (`None`: nobody).
async fn version(pool: &sqlx::AnyPool, file: i64, version: i64, size: i64, by: Option<i64>) {
    sqlx::query(
        "INSERT INTO file_versions (file_id, version, size, sha256, content_key, created_at, \
         created_by) VALUES ($1, $2, $3, '', $4, 1, $5)",
    )
    .bind(file)
    .bind(version)
    .bind(size)
    .bind(format!("k{file}v{version}"))
    .bind(by)
    .execute(pool)
    .await
    .unwrap();
}

async fn stored_bytes_follow_every_writer(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = backend.fresh_database_url(dir.path());
    // As a version before 0025 left it.
    let before = older::migrated_up_to(&url, backend, 24).await;
    run(
        &before,
        &[
            "INSERT INTO users (id, name, name_key, role, created_at) VALUES (7, 'ann', 'ann', 3, 1)",
            "INSERT INTO users (id, name, name_key, role, created_at) VALUES (8, 'bob', 'bob', 3, 1)",
        ],
    )
    .await;
    file(&before, 1, "live", 0, 0).await;
    version(&before, 1, 1, 100, Some(7)).await;
    version(&before, 1, 2, 5000, Some(8)).await;
    version(&before, 1, 3, 5, None).await;
    file(&before, 2, "deleted", 1, 0).await;
    version(&before, 2, 1, 30, Some(7)).await;
    file(&before, 3, "purged", 1, 1).await;
    version(&before, 3, 1, 1000, Some(7)).await;
    before.close().await;

    let store = connect(&url, &StoreOptions::default()).await.unwrap();
    let stored = |user| {
        let store = &store;
        async move { store.stored_bytes(user).await.unwrap() }
    };
    // A deleted file counts until purged; a purged one does not; nobody's bytes go nowhere.
    // Each version counts whole blocks of 4 KiB, one at least: ann's 100 and 30 bytes two
    // blocks, bob's 5,000 bytes two.
    assert_eq!((stored(7).await, stored(8).await), (8192, 8192));
    assert_eq!(stored(9).await, 0, "a user who never uploaded");

    let writer = older::one_connection(&url, backend).await;
    // A new version, by a user with no row yet.
    run(
        &writer,
        &["INSERT INTO users (id, name, name_key, role, created_at) VALUES (9, 'cy', 'cy', 3, 1)"],
    )
    .await;
    version(&writer, 1, 4, 20, Some(9)).await;
    assert_eq!(stored(9).await, 4096);
    // A rename hands ann's first version over: its row leaves file 1 (the target records it
    // as a version of its own, counted as any insert).
    run(
        &writer,
        &["DELETE FROM file_versions WHERE file_id = 1 AND version = 1"],
    )
    .await;
    assert_eq!(stored(7).await, 4096);
    // The purge of the deleted file gives its bytes back, to each uploader.
    run(&writer, &["UPDATE files SET purged = 1 WHERE id = 2"]).await;
    assert_eq!(stored(7).await, 0);
    run(
        &writer,
        &["UPDATE files SET deleted = 1, purged = 1 WHERE id = 1"],
    )
    .await;
    assert_eq!((stored(8).await, stored(9).await), (0, 0));
    // Nothing moves twice: marking a purged file purged again, or removing a purged file's
    // version row.
    run(
        &writer,
        &[
            "UPDATE files SET purged = 1 WHERE id = 1",
            "DELETE FROM file_versions WHERE file_id = 3",
        ],
    )
    .await;
    assert_eq!((stored(7).await, stored(8).await), (0, 0));
}

#[tokio::test]
async fn stored_bytes_follow_every_writer_on_sqlite() {
    stored_bytes_follow_every_writer(Backend::Sqlite).await;
}

#[tokio::test]
async fn stored_bytes_follow_every_writer_on_postgres() {
    stored_bytes_follow_every_writer(Backend::Postgres).await;
}
