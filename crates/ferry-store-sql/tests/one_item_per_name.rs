//! Migration 0022 at the store, on both engines: a live file never takes a live folder's name
//! in the same folder, nor a folder a file's, whichever writer tries (a new file alone or in
//! a grouped change, a new folder, a rename, a move, a restore), and the refusal is a conflict
//! naming the kind that holds the name, with nothing written. PostgreSQL's one-statement
//! upload is stopped by its guard instead, so the batch it shares goes on. A deleted item
//! holds no name.

use ferry_core::store::{MetadataStore, StoreError};
use ferry_store_sql::SqlStore;
use ferry_testkit::Backend;

mod fixtures;
// Only some of the upload tests' helpers are used here.
#[allow(dead_code)]
#[path = "uploads/fixture.rs"]
mod uploads;

use fixtures::{ROOT, folder, store};
use uploads::{chain, entry, new_file};

fn taken_by(result: Result<impl std::fmt::Debug, StoreError>, kind: &str) {
    match result {
        Err(StoreError::Conflict(what)) => {
            assert_eq!(what, format!("a {kind} with that name in the folder"))
        }
        other => panic!("expected a conflict with a {kind}'s name, got {other:?}"),
    }
}

async fn refused_whoever_writes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let mut tx = s.begin().await.unwrap();
    let top = tx.insert_folder(&folder(ROOT, "top", false)).await.unwrap();
    let mut plans = folder(top, "Plans", true);
    plans.id = tx.insert_folder(&plans).await.unwrap();
    let mut report = new_file(top, "report.csv", "key-r");
    report.id = tx.insert_file(&report).await.unwrap();
    let other = tx
        .insert_folder(&folder(ROOT, "other", true))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let records = chain(&s).await.len();

    // New items on the other kind's name (another case of it too).
    let mut tx = s.begin().await.unwrap();
    taken_by(
        tx.insert_file(&new_file(top, "PLANS", "key-x")).await,
        "folder",
    );
    tx.rollback().await;
    let mut tx = s.begin().await.unwrap();
    taken_by(
        tx.insert_folder(&folder(top, "Report.CSV", true)).await,
        "file",
    );
    tx.rollback().await;
    let mut g = s.begin_grouped().await.unwrap();
    taken_by(
        g.record_version(&new_file(top, "plans", "key-x"), None)
            .await,
        "folder",
    );
    g.rollback().await;

    // Renamed, moved or restored onto it.
    let mut tx = s.begin().await.unwrap();
    let mut renamed = report.clone();
    renamed.name = "plans".into();
    taken_by(tx.update_file(&renamed, false).await, "folder");
    tx.rollback().await;
    let mut tx = s.begin().await.unwrap();
    let mut renamed = plans.clone();
    renamed.name = "REPORT.csv".into();
    taken_by(tx.update_folder(&renamed).await, "file");
    tx.rollback().await;
    let mut tx = s.begin().await.unwrap();
    let elsewhere = tx
        .insert_file(&new_file(other, "plans", "key-o"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    let mut moved = s.file(elsewhere).await.unwrap().unwrap();
    moved.folder_id = top;
    taken_by(tx.update_file(&moved, false).await, "folder");
    tx.rollback().await;
    let mut tx = s.begin().await.unwrap();
    let mut deleted = s.file(report.id).await.unwrap().unwrap();
    deleted.deleted = true;
    tx.update_file(&deleted, false).await.unwrap();
    let mut named_so = folder(top, "report.csv", true);
    named_so.id = tx.insert_folder(&named_so).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    let mut restored = deleted.clone();
    restored.deleted = false;
    taken_by(tx.update_file(&restored, false).await, "folder");
    tx.rollback().await;

    // Nothing of it was written: one file in `other`, none live in `top` (the report is
    // deleted), the folders as made, and the chain whole (these writes append no records
    // of their own: the Service's changes do).
    assert_eq!(s.files(top, 0, 10).await.unwrap(), []);
    assert_eq!(s.files(other, 0, 10).await.unwrap().len(), 1);
    assert_eq!(s.folder(plans.id).await.unwrap().unwrap().name, "Plans");
    assert_eq!(chain(&s).await.len(), records);

    // A deleted folder holds no name.
    let mut tx = s.begin().await.unwrap();
    let mut gone = plans.clone();
    gone.deleted = true;
    tx.update_folder(&gone).await.unwrap();
    tx.insert_file(&new_file(top, "plans", "key-p"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn on_sqlite_a_name_is_refused_to_the_other_kind_by_every_writer() {
    refused_whoever_writes(Backend::Sqlite).await;
}

#[tokio::test]
async fn on_postgres_a_name_is_refused_to_the_other_kind_by_every_writer() {
    refused_whoever_writes(Backend::Postgres).await;
}

/// PostgreSQL's upload in one statement takes no savepoint: a trigger failing there would
/// take its batch with it, so its guard stops it first and the batch's other members stand.
#[tokio::test]
async fn on_postgres_the_one_statement_upload_stops_at_its_guard_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let s: SqlStore = store(Backend::Postgres, &dir).await;
    let mut tx = s.begin().await.unwrap();
    let top = tx.insert_folder(&folder(ROOT, "top", false)).await.unwrap();
    tx.insert_folder(&folder(top, "Plans", true)).await.unwrap();
    tx.commit().await.unwrap();

    let mut g = s.begin_grouped().await.unwrap();
    let a = new_file(top, "a.bin", "key-a");
    let a_id = g
        .record_upload_as_seen(&a, None, ferry_core::Timestamp(9), entry(&a))
        .await
        .unwrap()
        .expect("recorded");
    let clash = new_file(top, "plans", "key-x");
    let stopped = g
        .record_upload_as_seen(&clash, None, ferry_core::Timestamp(9), entry(&clash))
        .await
        .unwrap();
    assert_eq!(stopped, None, "the guard stops it, writing nothing");
    g.commit().await.unwrap();
    assert_eq!(
        s.file_by_name(top, "a.bin").await.unwrap().unwrap().id,
        a_id
    );
    assert_eq!(s.file_by_name(top, "plans").await.unwrap(), None);
    chain(&s).await;
}
