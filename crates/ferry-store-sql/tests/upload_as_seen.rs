//! `GroupedTx::record_upload_as_seen` (issue 21): on PostgreSQL an upload recorded in one
//! statement when the folder and name are as its checks saw them, and nothing written when
//! they are not: the name taken (by a commit, or earlier in the same change), a version
//! behind, another file's creation, a deleted folder, a folder that does not exist. After
//! each refusal the file, its versions, its bytes and the audit chain are as they were; after
//! each success they hold what the steps would have written, the record naming the file.
//! On SQLite the call does nothing and says so.

use ferry_core::Timestamp;
use ferry_core::domain::File;
use ferry_core::inline_content::InlineContents;
use ferry_core::store::MetadataStore;
use ferry_store_sql::SqlStore;
use ferry_testkit::Backend;

mod fixtures;
#[path = "uploads/fixture.rs"]
mod uploads;

use fixtures::{ROOT, folder, store};
use uploads::{chain, entry, new_file, next_of, recorded_new, state, top_and_gone};

/// One grouped change that records `f` as seen, committed; its answer.
async fn record(s: &SqlStore, f: &File, inline: Option<&[u8]>) -> Option<i64> {
    let mut g = s.begin_grouped().await.unwrap();
    let id = g
        .record_upload_as_seen(f, inline, Timestamp(9), entry(f))
        .await
        .unwrap();
    g.commit().await.unwrap();
    id
}

#[tokio::test]
async fn on_postgres_an_upload_is_recorded_in_one_step_only_as_seen() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(Backend::Postgres, &dir).await;
    let (top, gone) = top_and_gone(&s).await;
    let before = chain(&s).await.len();

    // A new file with its small bytes: the file, its first version, the bytes, the record.
    let first = new_file(top, "Report.csv", "inline-1");
    let id = record(&s, &first, Some(b"one..")).await.expect("recorded");
    let stored = recorded_new(&s, id, &first, b"one..", before).await;
    let versions = s.file_versions(id).await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.content_key.as_str()))
            .collect::<Vec<_>>(),
        [(1, "inline-1")]
    );

    // Refused, nothing written: the name is taken (another case of it too), the folder is
    // deleted or does not exist.
    let seen = state(&s, top, "report.csv").await;
    for (f, why) in [
        (new_file(top, "REPORT.CSV", "inline-x"), "the name taken"),
        (new_file(gone, "a.csv", "inline-x"), "a deleted folder"),
        (new_file(9999, "a.csv", "inline-x"), "no such folder"),
    ] {
        assert_eq!(record(&s, &f, Some(b"xxxxx")).await, None, "{why}");
        assert_eq!(state(&s, top, "report.csv").await, seen, "{why}");
        assert_eq!(s.inline_content("inline-x").await.unwrap(), None, "{why}");
    }

    // The next version, as seen: recorded, without bytes too.
    let second = next_of(&stored, "key-2");
    assert_eq!(record(&s, &second, None).await, Some(id));
    assert_eq!(s.file(id).await.unwrap().unwrap(), second);
    assert_eq!(s.file_versions(id).await.unwrap().len(), 2);

    // A version behind, another file's creation, renamed, moved, deleted: refused.
    let stale = next_of(&stored, "key-stale");
    let mut other_creation = next_of(&second, "key-x");
    other_creation.created_at = Timestamp(3);
    let mut renamed = next_of(&second, "key-x");
    renamed.name = "report.CSV".into();
    let mut moved = next_of(&second, "key-x");
    moved.folder_id = ROOT;
    let seen = state(&s, top, "report.csv").await;
    for (f, why) in [
        (stale, "a version behind"),
        (other_creation, "another creation"),
        (renamed, "another name"),
        (moved, "another folder"),
    ] {
        assert_eq!(record(&s, &f, None).await, None, "{why}");
        assert_eq!(state(&s, top, "report.csv").await, seen, "{why}");
    }
    let mut tx = s.begin().await.unwrap();
    let mut removed = s.file(id).await.unwrap().unwrap();
    removed.deleted = true;
    tx.update_file(&removed, false).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(record(&s, &next_of(&second, "key-x"), None).await, None);
    assert_eq!(s.file_versions(id).await.unwrap().len(), 2);

    // Within one change, a name it recorded is taken for what follows; new files' IDs are
    // taken ahead in order.
    let mut g = s.begin_grouped().await.unwrap();
    let a = new_file(top, "a.bin", "key-a");
    let a_id = g
        .record_upload_as_seen(&a, None, Timestamp(9), entry(&a))
        .await
        .unwrap()
        .expect("recorded");
    let again = g
        .record_upload_as_seen(&a, None, Timestamp(9), entry(&a))
        .await
        .unwrap();
    assert_eq!(again, None);
    let b = new_file(top, "b.bin", "key-b");
    let b_id = g
        .record_upload_as_seen(&b, None, Timestamp(9), entry(&b))
        .await
        .unwrap()
        .expect("recorded");
    g.commit().await.unwrap();
    assert!(id < a_id && a_id < b_id, "{id} < {a_id} < {b_id}");
    assert_eq!(
        s.file_by_name(top, "a.bin").await.unwrap().unwrap().id,
        a_id
    );
    let records = chain(&s).await;
    let named: Vec<_> = records
        .iter()
        .rev()
        .take(2)
        .map(|r| r.entry.file_id)
        .collect();
    assert_eq!(named, [Some(b_id), Some(a_id)]);

    // A file made the usual way after the IDs taken ahead gets one of its own.
    let mut tx = s.begin().await.unwrap();
    let c = tx
        .insert_file(&new_file(top, "c.bin", "key-c"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(![id, a_id, b_id].contains(&c));
}

#[tokio::test]
async fn on_sqlite_the_one_step_is_not_taken_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(Backend::Sqlite, &dir).await;
    let mut tx = s.begin().await.unwrap();
    let top = tx.insert_folder(&folder(ROOT, "top", false)).await.unwrap();
    tx.commit().await.unwrap();
    let before = chain(&s).await.len();
    let f = new_file(top, "a.bin", "inline-a");
    assert_eq!(record(&s, &f, Some(b"aaaaa")).await, None);
    assert_eq!(state(&s, top, "a.bin").await, (None, 0, before));
    assert_eq!(s.inline_content("inline-a").await.unwrap(), None);
}
