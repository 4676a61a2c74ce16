//! What a grouped change may do ([`super::MetadataStore::begin_grouped`]), and the audit
//! record alone every store's cheaper paths come down to.

use async_trait::async_trait;

use super::StoreResult;
use crate::clock::Timestamp;
use crate::domain::{AuditEntry, File, FileId, Folder, FolderId};

/// Appends `entry` as the only change of `tx` and commits it; undone if the append fails.
/// What every store's audit record alone comes down to, whichever way it begins its change.
pub async fn append_alone_in(
    mut tx: Box<dyn GroupedTx>,
    at: Timestamp,
    entry: AuditEntry,
) -> StoreResult<()> {
    if let Err(e) = tx.append_audit(at, entry).await {
        tx.rollback().await;
        return Err(e);
    }
    tx.commit().await
}

/// What a grouped change may do ([`super::MetadataStore::begin_grouped`]: recording an upload, an
/// audit record alone, a change to a file's name, folder, deletion or time), and how every change ends. Dropping it without
/// [`GroupedTx::commit`] rolls everything back. Kept small on purpose: a store may run such
/// a change on a cheaper path of its own (SQLite's, `ferry-store-sql`), which then has only
/// these to provide.
#[async_trait]
pub trait GroupedTx: Send {
    /// The folder with this ID, as seen inside the change.
    async fn folder(&mut self, id: FolderId) -> StoreResult<Option<Folder>>;
    /// The file with this ID (deleted or not), as seen inside the change.
    async fn file(&mut self, id: FileId) -> StoreResult<Option<File>>;
    /// The live file with this name key in a folder, as seen inside the change.
    async fn file_by_name(&mut self, folder: FolderId, name_key: &str)
    -> StoreResult<Option<File>>;
    /// Inserts a file at version 1 with its first version row; returns its ID.
    /// [`super::StoreError::Conflict`] if a live file has the name.
    async fn insert_file(&mut self, file: &File) -> StoreResult<FileId>;
    /// Records `file`'s current fields (a new version, a rename, a move, a deletion) and, when
    /// `new_version` is set, adds its version row.
    async fn update_file(&mut self, file: &File, new_version: bool) -> StoreResult<()>;
    /// Keeps a small file's bytes under `key`, with the version that names it
    /// ([`crate::inline_content`]).
    async fn insert_inline_content(&mut self, key: &str, bytes: &[u8]) -> StoreResult<()>;
    /// Appends a record to the audit chain; returns its sequence number.
    async fn append_audit(&mut self, at: Timestamp, entry: AuditEntry) -> StoreResult<i64>;

    /// The folder and the live file with this name key in it, as seen inside the change:
    /// [`GroupedTx::folder`] and [`GroupedTx::file_by_name`], which a store may read in one
    /// query (an upload's first reads; PostgreSQL: one round trip instead of two).
    async fn folder_and_file_by_name(
        &mut self,
        folder: FolderId,
        name_key: &str,
    ) -> StoreResult<(Option<Folder>, Option<File>)> {
        let f = self.folder(folder).await?;
        Ok((f, self.file_by_name(folder, name_key).await?))
    }
    /// Records an upload's file: a new one at version 1 (`file.id` 0; returns its new ID) or
    /// the next version of an existing one, with a small file's `inline` bytes under
    /// `file.content_key` — what [`GroupedTx::insert_file`] or [`GroupedTx::update_file`] and
    /// [`GroupedTx::insert_inline_content`] do, which a store may do in one call.
    async fn record_version(&mut self, file: &File, inline: Option<&[u8]>) -> StoreResult<FileId> {
        if let Some(bytes) = inline {
            self.insert_inline_content(&file.content_key, bytes).await?;
        }
        if file.id == 0 {
            self.insert_file(file).await
        } else {
            self.update_file(file, true).await.map(|()| file.id)
        }
    }

    /// Records an upload and its audit record in one call where the store has one, if the
    /// folder and the name are still as the upload's checks saw them: the folder live and,
    /// for a new file (`file.id` 0), no live file with the name; for a new version, the live
    /// file `file.id` at the version before `file.version`, with `file`'s folder, name and
    /// creation. Does what [`GroupedTx::record_version`] and then [`GroupedTx::append_audit`]
    /// of `entry` would, with `entry.file_id` set to the file's ID (a new file's chosen by the
    /// store), and returns that ID. `None`: nothing changed (the store has no such call, or
    /// something differs), and the caller records the upload step by step, reading what the
    /// change sees (PostgreSQL: one round trip instead of three, issue 21).
    async fn record_upload_as_seen(
        &mut self,
        _file: &File,
        _inline: Option<&[u8]>,
        _at: Timestamp,
        _entry: AuditEntry,
    ) -> StoreResult<Option<FileId>> {
        Ok(None)
    }

    /// Makes the change durable and visible.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
    /// Undoes the change. For a grouped change this waits until what it may have read from
    /// the changes grouped with it is durable, so that the error it ends with reveals nothing
    /// that is not. (Dropping a change undoes it too, at once.)
    async fn rollback(self: Box<Self>) {}
}
