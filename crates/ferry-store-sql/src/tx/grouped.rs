//! [`SqlTx`]'s part that a grouped change uses (`GroupedTx`): the reads an upload makes inside
//! its change (from the committed database where that answers as the change would), the
//! writes of a file and its versions, the audit record, and an upload in one statement on
//! PostgreSQL (`upload_as_seen.rs`).

use async_trait::async_trait;
use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, AuditHead, AuditRecord, File, FileId, Folder, FolderId};
use ferry_core::store::{GroupedTx, StoreResult};

use super::{Eviction, SqlTx};
use crate::connect::Engine;
use crate::{audit_writes, file_writes, folder_reads, inline_contents, queries, upload_as_seen};

#[async_trait]
impl GroupedTx for SqlTx {
    async fn folder(&mut self, id: FolderId) -> StoreResult<Option<Folder>> {
        if let Some(reader) = self.committed_reader() {
            return reader.folder(id);
        }
        queries::folder(self.turn.guarded_conn().await?, id).await
    }

    async fn file(&mut self, id: FileId) -> StoreResult<Option<File>> {
        if let Some(reader) = self.committed_reader() {
            return reader.file(id);
        }
        queries::file(self.turn.guarded_conn().await?, id).await
    }

    async fn file_by_name(
        &mut self,
        folder: FolderId,
        name_key: &str,
    ) -> StoreResult<Option<File>> {
        if let Some(reader) = self.committed_reader() {
            return reader.file_by_name(folder, name_key);
        }
        queries::file_by_name(self.turn.guarded_conn().await?, folder, name_key).await
    }

    async fn folder_and_file_by_name(
        &mut self,
        folder: FolderId,
        name_key: &str,
    ) -> StoreResult<(Option<Folder>, Option<File>)> {
        if let Some(reader) = self.committed_reader() {
            return Ok((
                reader.folder(folder)?,
                reader.file_by_name(folder, name_key)?,
            ));
        }
        folder_reads::folder_and_file_by_name(self.turn.guarded_conn().await?, folder, name_key)
            .await
    }

    async fn record_version(&mut self, f: &File, inline: Option<&[u8]>) -> StoreResult<FileId> {
        file_writes::record_version(self.turn.guarded_conn().await?, self.engine, f, inline).await
    }

    async fn insert_file(&mut self, f: &File) -> StoreResult<FileId> {
        file_writes::insert_file(self.turn.guarded_conn().await?, self.engine, f).await
    }

    async fn update_file(&mut self, f: &File, new_version: bool) -> StoreResult<()> {
        file_writes::update_file(self.turn.guarded_conn().await?, self.engine, f, new_version).await
    }

    async fn insert_inline_content(&mut self, key: &str, bytes: &[u8]) -> StoreResult<()> {
        inline_contents::insert(self.turn.guarded_conn().await?, key, bytes).await
    }

    async fn append_audit(&mut self, at: Timestamp, entry: AuditEntry) -> StoreResult<i64> {
        let r = AuditRecord::next(&self.head, at, entry);
        audit_writes::append(self.turn.guarded_conn().await?, self.engine, &r).await?;
        self.head = AuditHead {
            seq: r.seq,
            hash: r.hash,
        };
        Ok(r.seq)
    }

    async fn record_upload_as_seen(
        &mut self,
        f: &File,
        inline: Option<&[u8]>,
        at: Timestamp,
        entry: AuditEntry,
    ) -> StoreResult<Option<FileId>> {
        // SQLite's steps are in-process reads and writes: nothing to gain.
        if self.engine != Engine::Postgres {
            return Ok(None);
        }
        let before = self.turn.unguarded();
        let conn = self.turn.conn();
        let done = upload_as_seen::record(
            conn,
            &self.file_ids,
            (&self.head, false),
            f,
            inline,
            (at, entry),
        );
        let Some((id, r)) = done.await? else {
            // The guard stopped it: nothing to undo, the change may go on step by step.
            self.turn.wrote_nothing_since(before);
            return Ok(None);
        };
        self.head = AuditHead {
            seq: r.seq,
            hash: r.hash,
        };
        Ok(Some(id))
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        let head = self.head.clone();
        self.turn.leaves_head(head);
        let done = self.turn.commit().await;
        // Whatever the outcome: a commit whose answer was lost may still have happened.
        if let Some(cache) = &self.cache {
            for e in &self.evictions {
                match e {
                    Eviction::Session(id) => cache.evict_session(id),
                    Eviction::User(id) => cache.evict_user(*id),
                    Eviction::All => cache.evict_all(),
                }
            }
        }
        done
    }

    async fn rollback(self: Box<Self>) {
        self.turn.rollback().await
    }
}
