//! Keeping the content store in step with the records: deleted files' content purged after
//! the retention period, content no version references swept away (what a crash between the
//! content commit and the metadata commit leaves), staging cleaned at start-up, and the room
//! left (SFTP `statvfs`).

use super::{Service, SessionContext};
use crate::clock::Timestamp;
use crate::domain::{AuditEntry, Operation, Outcome};
use crate::error::Result;

impl Service {
    /// Removes the content of files deleted longer ago than the retention period (every
    /// version), auditing each; returns how many files were purged. Content goes first and the
    /// record second, so a crash in between only repeats an idempotent delete.
    pub async fn purge_deleted_files(&self) -> Result<usize> {
        let mut purged = 0;
        loop {
            let cutoff = Timestamp(self.clock.now().0 - self.config.purge_after_ms);
            let mut tx = self.store.begin().await?;
            let batch = tx.files_to_purge(cutoff, 100).await?;
            drop(tx);
            if batch.is_empty() {
                return Ok(purged);
            }
            for file in batch {
                for version in self.store.file_versions(file.id).await? {
                    self.content.delete(&version.content_key).await?;
                }
                let mut tx = self.store.begin().await?;
                tx.mark_purged(file.id).await?;
                let mut e = AuditEntry::new(Operation::FilePurged, Outcome::Success);
                e.folder_id = Some(file.folder_id);
                e.file_id = Some(file.id);
                e.path = Some(file.name.clone());
                tx.append_audit(self.clock.now(), e).await?;
                tx.commit().await?;
                purged += 1;
            }
        }
    }

    /// Deletes committed content that no file version references and that is older than
    /// `min_age`: what a crash between the content commit and the metadata commit leaves
    /// behind. The age keeps it clear of uploads that are committing right now (on this node or,
    /// with shared storage, another). Returns how many objects were removed.
    pub async fn sweep_unreferenced_content(&self, min_age: std::time::Duration) -> Result<usize> {
        let mut removed = 0;
        for key in self.content.keys_older_than(min_age).await? {
            if !self.store.content_referenced(&key).await? {
                self.content.delete(&key).await?;
                tracing::info!(key = %key, "unreferenced content removed");
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Ends uploads any node started and nobody continued for `min_age` (a node killed
    /// mid-upload leaves a multipart upload in a bucket). Returns how many.
    pub async fn sweep_abandoned_uploads(&self, min_age: std::time::Duration) -> Result<usize> {
        Ok(self.content.sweep_abandoned(min_age).await?)
    }

    /// The room the caller has, when it can be told (SFTP `statvfs`): the content store's,
    /// within their storage quota if they have one (as `df` shows a quota over OpenSSH).
    pub async fn storage_capacity(
        &self,
        ctx: &SessionContext,
    ) -> Result<Option<crate::content::Capacity>> {
        let disk = self.content.capacity().await?;
        match ctx.user.quota.bound(self.config.user_quota) {
            None => Ok(disk),
            Some(bound) => {
                let stored = self.store.stored_bytes(ctx.user.id).await?;
                Ok(Some(super::storage_quota::within_quota(
                    disk, bound, stored,
                )))
            }
        }
    }

    /// Removes uploads left in staging by a crash (run at start-up).
    pub async fn clean_staging(&self) -> Result<usize> {
        Ok(self.content.clean_staging().await?)
    }
}
