//! `MetadataStore::record_upload_alone` (issue 21): on PostgreSQL, with nothing else under way
//! in the process, an upload recorded in one statement that is its own commit, chained to the
//! head the process last committed. Recorded only if that guess still holds under the head's
//! lock and the folder and name are as the checks saw them; otherwise nothing is written and
//! the caller takes a grouped change. Attacked here: another node moving the head before
//! (the guess stale) and during (its change holding the head's lock and taking the same
//! name), a change of this process open meanwhile, and every guard refusal; after each the
//! files and the chain are as they were and the chain verifies. On SQLite it is never taken.

use std::time::Duration;

use ferry_core::Timestamp;
use ferry_core::domain::File;
use ferry_core::inline_content::InlineContents;
use ferry_core::store::MetadataStore;
use ferry_store_sql::{SqlStore, StoreOptions, connect};
use ferry_testkit::Backend;

mod fixtures;
#[path = "uploads/fixture.rs"]
mod uploads;

use fixtures::{ROOT, folder, store};
use uploads::{chain, entry, new_file, next_of, recorded_new, state, top_and_gone};

/// `f` recorded alone; its answer.
async fn alone(s: &SqlStore, f: &File, inline: Option<&[u8]>) -> Option<i64> {
    s.record_upload_alone(f, inline, Timestamp(9), entry(f))
        .await
        .unwrap()
}

/// `f` recorded in a grouped change, committed (which leaves the process's guess of the head).
async fn grouped(s: &SqlStore, f: &File) -> i64 {
    let mut g = s.begin_grouped().await.unwrap();
    let id = g
        .record_upload_as_seen(f, None, Timestamp(9), entry(f))
        .await
        .unwrap()
        .expect("recorded");
    g.commit().await.unwrap();
    id
}

/// A folder under the root, made in a change of its own.
async fn make_folder(s: &SqlStore, name: &str) -> i64 {
    let mut tx = s.begin().await.unwrap();
    let id = tx.insert_folder(&folder(ROOT, name, false)).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// Two nodes, two stores on one fresh PostgreSQL database, with a folder `top`, and node a
/// knowing its guess of the head (it has committed since it started).
async fn two_nodes(dir: &tempfile::TempDir) -> (SqlStore, SqlStore, i64) {
    let url = Backend::Postgres.fresh_database_url(dir.path());
    let a = connect(&url, &StoreOptions::default()).await.unwrap();
    let b = connect(&url, &StoreOptions::default()).await.unwrap();
    let top = make_folder(&a, "top").await;
    grouped(&a, &new_file(top, "primer.bin", "k")).await;
    (a, b, top)
}

#[tokio::test]
async fn on_postgres_a_quiet_upload_is_one_commit_and_only_as_seen() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(Backend::Postgres, &dir).await;
    let (top, gone) = top_and_gone(&s).await;
    let before = chain(&s).await.len();

    // A new file with its small bytes: the file, its version, the bytes, the record.
    let first = new_file(top, "Report.csv", "inline-1");
    let id = alone(&s, &first, Some(b"one.."))
        .await
        .expect("recorded alone");
    let stored = recorded_new(&s, id, &first, b"one..", before).await;
    assert_eq!(s.file_versions(id).await.unwrap().len(), 1);

    // Its next version, alone again (the guess is the head it just left).
    let second = next_of(&stored, "key-2");
    assert_eq!(alone(&s, &second, None).await, Some(id));
    assert_eq!(s.file(id).await.unwrap().unwrap(), second);
    assert_eq!(s.file_versions(id).await.unwrap().len(), 2);

    // Refused, nothing written: the name taken, a deleted or missing folder, a version
    // behind. A refusal forgets the guess, so each is tried after a grouped commit.
    let stale = next_of(&stored, "key-stale");
    let seen = state(&s, top, "report.csv").await;
    for (i, (f, why)) in [
        (new_file(top, "REPORT.CSV", "inline-x"), "the name taken"),
        (new_file(gone, "a.csv", "inline-x"), "a deleted folder"),
        (new_file(9999, "a.csv", "inline-x"), "no such folder"),
        (stale, "a version behind"),
    ]
    .into_iter()
    .enumerate()
    {
        let primer = grouped(&s, &new_file(top, &format!("primer-{i}"), "k")).await;
        let seen = (seen.0.clone(), seen.1, seen.2 + i + 1);
        assert!(primer > 0);
        assert_eq!(alone(&s, &f, Some(b"xxxxx")).await, None, "{why}");
        assert_eq!(state(&s, top, "report.csv").await, seen, "{why}");
        assert_eq!(s.inline_content("inline-x").await.unwrap(), None, "{why}");
        // No guess now: not taken until a commit leaves one.
        let fine = new_file(top, &format!("after-{i}"), "k");
        assert_eq!(alone(&s, &fine, None).await, None, "{why}: no guess");
    }
    let n = chain(&s).await.len();
    grouped(&s, &new_file(top, "primer-last", "k")).await;
    assert!(
        alone(&s, &new_file(top, "z.bin", "k"), None)
            .await
            .is_some()
    );
    assert_eq!(chain(&s).await.len(), n + 2);
}

#[tokio::test]
async fn another_node_moving_the_head_first_makes_the_guess_stale_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, top) = two_nodes(&dir).await;

    // Node b takes the name a's checks saw free, and moves the head.
    let b_id = grouped(&b, &new_file(top, "same.bin", "key-b")).await;
    let seen = state(&a, top, "same.bin").await;
    assert_eq!(
        alone(&a, &new_file(top, "same.bin", "key-a"), None).await,
        None
    );
    assert_eq!(state(&a, top, "same.bin").await, seen);
    assert_eq!(seen.0.unwrap().id, b_id);

    // Only a record moved it (a download's): stale all the same, nothing written.
    grouped(&a, &new_file(top, "primer-2.bin", "k")).await;
    b.append_audit_alone(Timestamp(10), entry(&new_file(top, "read.bin", "k")))
        .await
        .unwrap();
    let n = chain(&a).await.len();
    assert_eq!(
        alone(&a, &new_file(top, "other.bin", "key-o"), None).await,
        None
    );
    assert_eq!(a.file_by_name(top, "other.bin").await.unwrap(), None);
    assert_eq!(chain(&a).await.len(), n);
}

#[tokio::test]
async fn another_node_holding_the_head_makes_the_upload_wait_then_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, top) = two_nodes(&dir).await;

    // Node b's change holds the head's lock and has taken the name, not yet committed.
    let mut held = b.begin_grouped().await.unwrap();
    let b_file = new_file(top, "same.bin", "key-b");
    let b_id = held
        .record_upload_as_seen(&b_file, None, Timestamp(9), entry(&b_file))
        .await
        .unwrap()
        .expect("recorded");
    let a2 = a.clone();
    let waiting = tokio::spawn(async move {
        let f = new_file(top, "same.bin", "key-a");
        a2.record_upload_alone(&f, None, Timestamp(9), entry(&f))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "a waits for the head's lock");
    held.commit().await.unwrap();
    // Once b commits, a's check finds the head moved: no error, nothing written.
    let answer = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("a's statement ends once the lock is free")
        .unwrap();
    assert_eq!(answer.unwrap(), None);
    let live = a.file_by_name(top, "same.bin").await.unwrap().unwrap();
    assert_eq!((live.id, live.content_key.as_str()), (b_id, "key-b"));
    assert_eq!(a.file_versions(b_id).await.unwrap().len(), 1);
    chain(&a).await;
}

#[tokio::test]
async fn with_a_change_of_its_own_under_way_the_process_does_not_go_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(Backend::Postgres, &dir).await;
    let top = make_folder(&s, "top").await;
    grouped(&s, &new_file(top, "primer.bin", "k")).await;
    let open = s.begin_grouped().await.unwrap();
    let f = new_file(top, "a.bin", "key-a");
    // Not waited for: the call answers at once that it did nothing.
    let answer = tokio::time::timeout(Duration::from_secs(5), alone(&s, &f, None))
        .await
        .expect("answered at once");
    assert_eq!(answer, None);
    open.commit().await.unwrap();
    assert_eq!(s.file_by_name(top, "a.bin").await.unwrap(), None);
    assert_eq!(alone(&s, &f, None).await.map(|id| id > 0), Some(true));
}

#[tokio::test]
async fn on_sqlite_an_upload_is_never_recorded_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(Backend::Sqlite, &dir).await;
    let top = make_folder(&s, "top").await;
    let before = chain(&s).await.len();
    let f = new_file(top, "a.bin", "inline-a");
    assert_eq!(alone(&s, &f, Some(b"aaaaa")).await, None);
    assert_eq!(state(&s, top, "a.bin").await, (None, 0, before));
    assert_eq!(s.inline_content("inline-a").await.unwrap(), None);
}
