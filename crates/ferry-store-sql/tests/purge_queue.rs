//! The purge queue's index (migration 0021, issue 21) holds deleted files only, and the
//! purge's query still reads it: an upload of a live file writes no entry of it.

use ferry_store_sql::{StoreOptions, connect};
use ferry_testkit::Backend;

/// The purge's query (`file_writes::files_to_purge`), with its parameters.
const PURGE_QUERY: &str = "SELECT id FROM files WHERE deleted = 1 AND purged = 0 \
     AND deleted_at <= ?1 ORDER BY deleted_at LIMIT ?2";

#[tokio::test]
async fn the_purge_reads_an_index_of_deleted_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = Backend::Sqlite.fresh_database_url(dir.path());
    let store = connect(&url, &StoreOptions::default()).await.unwrap();
    drop(store);
    let db = rusqlite::Connection::open(dir.path().join("ferry.db")).unwrap();
    let plan: Vec<String> = db
        .prepare(&format!("EXPLAIN QUERY PLAN {PURGE_QUERY}"))
        .unwrap()
        .query_map((0, 10), |row| row.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter().any(|step| step.contains("files_purge_queue")),
        "the purge reads its index: {plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "and needs no sort: {plan:?}"
    );
    let partial: String = db
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'files_purge_queue'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(
        partial.contains("WHERE deleted = 1 AND purged = 0"),
        "live files are not in it: {partial}"
    );
}
