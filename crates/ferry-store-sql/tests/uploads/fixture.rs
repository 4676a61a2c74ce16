//! What the upload tests (`upload_as_seen.rs`, `upload_alone.rs`, `one_item_per_name.rs`)
//! share: files as an upload's checks would make them, their audit entries, and the state a
//! refusal must leave.

use ferry_core::Timestamp;
use ferry_core::domain::audit::GENESIS_HASH;
use ferry_core::domain::{AuditEntry, AuditRecord, File, Operation, Outcome};
use ferry_core::inline_content::InlineContents;
use ferry_core::store::MetadataStore;
use ferry_store_sql::SqlStore;

use crate::fixtures::{ROOT, folder};

/// A new file (ID 0) named `name` in `folder_id`, its content under `key`.
pub fn new_file(folder_id: i64, name: &str, key: &str) -> File {
    File {
        id: 0,
        folder_id,
        name: name.into(),
        version: 1,
        size: 5,
        sha256: "0".repeat(64),
        content_key: key.into(),
        created_at: Timestamp(2),
        modified_at: Timestamp(2),
        created_by: None,
        modified_by: None,
        deleted: false,
        client_modified_at: Some(Timestamp(7)),
    }
}

/// `f`'s next version, as an upload's checks would make it from `f` as they saw it.
pub fn next_of(f: &File, key: &str) -> File {
    let mut next = f.clone();
    next.version += 1;
    next.content_key = key.into();
    next.modified_at = Timestamp(f.modified_at.0 + 1);
    next
}

/// The audit entry of `f`'s upload.
pub fn entry(f: &File) -> AuditEntry {
    let mut e = AuditEntry::new(Operation::FileUploaded, Outcome::Success);
    e.folder_id = Some(f.folder_id);
    e.path = Some(f.name.clone());
    e.detail = Some(format!("version {}", f.version));
    e
}

/// The chain, checked whole: no gap, each record linked and matching its hash, the head on
/// the last.
pub async fn chain(s: &SqlStore) -> Vec<AuditRecord> {
    let records = s.audit_records(0, 10_000).await.unwrap();
    let mut prev = GENESIS_HASH.to_string();
    for (i, r) in records.iter().enumerate() {
        assert_eq!((r.seq, &r.prev_hash), (i as i64 + 1, &prev), "linked");
        assert!(r.hash_is_consistent(), "record {} matches its hash", r.seq);
        prev = r.hash.clone();
    }
    let head = s.audit_head().await.unwrap();
    assert_eq!((head.seq, head.hash), (records.len() as i64, prev));
    records
}

/// What a refusal must leave as it was: the live file by name, its versions, the chain.
pub async fn state(s: &SqlStore, folder: i64, name: &str) -> (Option<File>, usize, usize) {
    let live = s.file_by_name(folder, name).await.unwrap();
    let versions = match &live {
        Some(f) => s.file_versions(f.id).await.unwrap().len(),
        None => 0,
    };
    (live, versions, chain(s).await.len())
}

/// Checks that the new file `sent` (with its small `bytes`) was recorded as file `id`: stored
/// as sent, its bytes kept under its content key, and one record more on a whole chain than
/// `chain_before`, naming the file, at the time the tests record with. Returns it as stored.
pub async fn recorded_new(
    s: &SqlStore,
    id: i64,
    sent: &File,
    bytes: &[u8],
    chain_before: usize,
) -> File {
    let stored = s.file(id).await.unwrap().unwrap();
    assert_eq!(stored, File { id, ..sent.clone() });
    assert_eq!(
        s.inline_content(&sent.content_key)
            .await
            .unwrap()
            .as_deref(),
        Some(bytes)
    );
    let records = chain(s).await;
    assert_eq!(records.len(), chain_before + 1);
    let last = records.last().unwrap();
    assert_eq!(
        (last.entry.file_id, last.entry.path.as_deref(), last.at),
        (Some(id), Some(sent.name.as_str()), Timestamp(9))
    );
    stored
}

/// Two folders under the root for the guards to meet: `top`, live, and `gone`, deleted.
pub async fn top_and_gone(s: &SqlStore) -> (i64, i64) {
    let mut tx = s.begin().await.unwrap();
    let top = tx.insert_folder(&folder(ROOT, "top", false)).await.unwrap();
    let mut gone = folder(ROOT, "gone", false);
    gone.id = tx.insert_folder(&gone).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    gone.deleted = true;
    tx.update_folder(&gone).await.unwrap();
    tx.commit().await.unwrap();
    (top, gone.id)
}
