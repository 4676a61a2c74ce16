//! Changes to a file other than its content: `RenameFile`, `MoveFile`, `DeleteFile` (soft:
//! the content stays until the purge) and a client-set modification time, each checked, saved
//! and audited in one change.

use super::{FileView, Service, SessionContext};
use crate::Timestamp;
use crate::domain::{AuditEntry, File, FileId, FolderId, Operation, Outcome, Permissions};
use crate::error::{Error, Result};
use crate::store::GroupedTx;
use crate::text;

impl Service {
    /// `RenameFile`. Needs Modify.
    pub async fn rename_file(
        &self,
        ctx: &SessionContext,
        id: FileId,
        name: &str,
    ) -> Result<FileView> {
        let (name, _) = text::item_name("name", name)?;
        let view = self.readable_file(ctx, id).await?;
        self.require(
            ctx,
            view.file.folder_id,
            Permissions::MODIFY,
            Operation::FileRenamed,
        )
        .await?;
        let mut file = view.file;
        let old = std::mem::replace(&mut file.name, name.clone());
        self.save_file_change(
            ctx,
            file,
            Operation::FileRenamed,
            format!("{old} -> {name}"),
        )
        .await?;
        self.readable_file(ctx, id).await
    }

    /// `MoveFile`. Needs Modify where it is and Create where it goes.
    pub async fn move_file(
        &self,
        ctx: &SessionContext,
        id: FileId,
        to: FolderId,
    ) -> Result<FileView> {
        let view = self.readable_file(ctx, id).await?;
        self.require(
            ctx,
            view.file.folder_id,
            Permissions::MODIFY,
            Operation::FileMoved,
        )
        .await?;
        self.require(ctx, to, Permissions::CREATE, Operation::FileMoved)
            .await?;
        let mut file = view.file;
        let from = std::mem::replace(&mut file.folder_id, to);
        self.save_file_change(
            ctx,
            file,
            Operation::FileMoved,
            format!("from folder {from} to folder {to}"),
        )
        .await?;
        self.readable_file(ctx, id).await
    }

    /// The modification time a client gives a file's current version (SFTP `SETSTAT`, FTP
    /// `MFMT`), shown to SFTP and FTP clients from then on, so that a sync tool sees the time
    /// it set. Needs Modify; audited (`FileTimeSet`). The time it already has changes nothing.
    pub async fn set_file_time(
        &self,
        ctx: &SessionContext,
        id: FileId,
        at: Timestamp,
    ) -> Result<()> {
        let view = self.readable_file(ctx, id).await?;
        if view.file.client_modified_at == Some(at) {
            return Ok(());
        }
        self.require(
            ctx,
            view.file.folder_id,
            Permissions::MODIFY,
            Operation::FileTimeSet,
        )
        .await?;
        let mut file = view.file;
        file.client_modified_at = Some(at);
        self.save_file_change(
            ctx,
            file,
            Operation::FileTimeSet,
            format!("modified time {}", at.to_rfc3339()),
        )
        .await
    }

    /// `DeleteFile`: a soft delete; the file leaves listings at once. Needs Delete.
    pub async fn delete_file(&self, ctx: &SessionContext, id: FileId) -> Result<()> {
        let view = self.readable_file(ctx, id).await?;
        self.require(
            ctx,
            view.file.folder_id,
            Permissions::DELETE,
            Operation::FileDeleted,
        )
        .await?;
        let mut file = view.file;
        file.deleted = true;
        let name = file.name.clone();
        self.save_file_change(ctx, file, Operation::FileDeleted, name)
            .await
    }

    async fn save_file_change(
        &self,
        ctx: &SessionContext,
        mut file: File,
        operation: Operation,
        detail: String,
    ) -> Result<()> {
        let now = self.clock.now();
        file.modified_at = now;
        file.modified_by = Some(ctx.user.id);
        // Grouped, as an upload is: sync tools set each file's time right after uploading it
        // (FTP `MFMT`, SFTP `SETSTAT`), so this change is as frequent. Every way out ends the
        // change with a commit or a rollback, which wait for the group's commit.
        let mut tx = self.store.begin_grouped().await?;
        match Self::save_file_change_in(&mut *tx, ctx, &file, now, operation, detail).await {
            Ok(()) => Ok(tx.commit().await?),
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    /// [`Service::save_file_change`]'s change.
    async fn save_file_change_in(
        tx: &mut dyn GroupedTx,
        ctx: &SessionContext,
        file: &File,
        now: Timestamp,
        operation: Operation,
        detail: String,
    ) -> Result<()> {
        match tx.file(file.id).await? {
            Some(current) if !current.deleted && current.version == file.version => {}
            _ => return Err(Error::FileNotFound),
        }
        tx.update_file(file, false).await?;
        let mut e = AuditEntry::new(operation, Outcome::Success);
        ctx.stamp(&mut e);
        e.folder_id = Some(file.folder_id);
        e.file_id = Some(file.id);
        e.path = Some(file.name.clone());
        e.detail = Some(detail);
        tx.append_audit(now, e).await?;
        Ok(())
    }
}
