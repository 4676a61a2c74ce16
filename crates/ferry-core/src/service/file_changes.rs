//! Changes to a file other than its content: `RenameFile`, `MoveFile`, `DeleteFile` (soft:
//! the content stays until the purge) and a client-set modification time, each checked, saved
//! and audited in one change, made on the file as that change finds it (`change_races.rs`).

use super::change_races::{Attempt, until_settled};
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
        self.place_file(ctx, id, None, Some(name)).await?;
        self.readable_file(ctx, id).await
    }

    /// `MoveFile`. Needs Read, Download, Modify and Delete where it is
    /// ([`Permissions::MOVE_AWAY`]) and Create where it goes.
    pub async fn move_file(
        &self,
        ctx: &SessionContext,
        id: FileId,
        to: FolderId,
    ) -> Result<FileView> {
        self.place_file(ctx, id, Some(to), None).await?;
        self.readable_file(ctx, id).await
    }

    /// Moves a file `to` another folder and/or renames it to `name` in one change (REST's
    /// update of a file): each needs what `MoveFile` and `RenameFile` need, and a refusal of
    /// either leaves the file as it was.
    pub async fn relocate_file(
        &self,
        ctx: &SessionContext,
        id: FileId,
        to: Option<FolderId>,
        name: Option<&str>,
    ) -> Result<FileView> {
        if to.is_some() || name.is_some() {
            self.place_file(ctx, id, to, name).await?;
        }
        self.readable_file(ctx, id).await
    }

    /// Moves a file `to` another folder and/or renames it to `name`, in one change with a
    /// record for each (`FileMoved`, then `FileRenamed`): a rename refused where the file goes
    /// leaves it where it was (SFTP's and FTP's renames do both at once).
    pub(super) async fn place_file(
        &self,
        ctx: &SessionContext,
        id: FileId,
        to: Option<FolderId>,
        name: Option<&str>,
    ) -> Result<()> {
        let name = text::new_item_name("name", name)?;
        let name = name.as_ref();
        let operation = match to {
            Some(_) => Operation::FileMoved,
            None => Operation::FileRenamed,
        };
        until_settled(|| async move {
            let view = self.readable_file(ctx, id).await?;
            // Only a change of folder moves it away; `to` may name the folder it is in.
            let away = to.is_some_and(|to| to != view.file.folder_id);
            let needed = match away {
                true => Permissions::MOVE_AWAY,
                false => Permissions::MODIFY,
            };
            self.require(ctx, view.file.folder_id, needed, operation)
                .await?;
            if let Some(to) = to {
                self.require(ctx, to, Permissions::CREATE, Operation::FileMoved)
                    .await?;
            }
            let edit = |file: &mut File| {
                let mut records = Vec::new();
                if let Some(to) = to {
                    let from = std::mem::replace(&mut file.folder_id, to);
                    let detail = format!("from folder {from} to folder {to}");
                    records.push((Operation::FileMoved, detail));
                }
                if let Some(name) = name {
                    let old = std::mem::replace(&mut file.name, name.clone());
                    records.push((Operation::FileRenamed, format!("{old} -> {name}")));
                }
                records
            };
            self.save_file_change(ctx, &view.file, to, edit).await
        })
        .await
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
        until_settled(|| async move {
            let view = self.readable_file(ctx, id).await?;
            if view.file.client_modified_at == Some(at) {
                return Ok(Attempt::Done(()));
            }
            self.require(
                ctx,
                view.file.folder_id,
                Permissions::MODIFY,
                Operation::FileTimeSet,
            )
            .await?;
            let edit = |file: &mut File| {
                file.client_modified_at = Some(at);
                let detail = format!("modified time {}", at.to_rfc3339());
                vec![(Operation::FileTimeSet, detail)]
            };
            self.save_file_change(ctx, &view.file, None, edit).await
        })
        .await
    }

    /// `DeleteFile`: a soft delete; the file leaves listings at once. Needs Delete.
    pub async fn delete_file(&self, ctx: &SessionContext, id: FileId) -> Result<()> {
        until_settled(|| async move {
            let view = self.readable_file(ctx, id).await?;
            self.require(
                ctx,
                view.file.folder_id,
                Permissions::DELETE,
                Operation::FileDeleted,
            )
            .await?;
            let edit = |file: &mut File| {
                file.deleted = true;
                vec![(Operation::FileDeleted, file.name.clone())]
            };
            self.save_file_change(ctx, &view.file, None, edit).await
        })
        .await
    }

    /// Makes `edit` (which returns the audit records' operations and details) to the file as
    /// its change finds it, and records it: [`Attempt::Raced`] if the file is no longer where, or at the
    /// version, its checks saw it (`seen`), so that the checks run again (`change_races.rs`).
    /// A move names the folder it goes `into`, which must still be live.
    async fn save_file_change(
        &self,
        ctx: &SessionContext,
        seen: &File,
        into: Option<FolderId>,
        edit: impl FnOnce(&mut File) -> Vec<(Operation, String)> + Send,
    ) -> Result<Attempt<()>> {
        // Grouped, as an upload is: sync tools set each file's time right after uploading it
        // (FTP `MFMT`, SFTP `SETSTAT`), so this change is as frequent. Every way out ends the
        // change with a commit or a rollback, which wait for the group's commit.
        let mut tx = self.store.begin_grouped().await?;
        match self
            .save_file_change_in(&mut *tx, ctx, seen, into, edit)
            .await
        {
            Ok(Attempt::Done(())) => Ok(Attempt::Done(tx.commit().await?)),
            outcome => {
                tx.rollback().await;
                outcome
            }
        }
    }

    /// [`Service::save_file_change`]'s change.
    async fn save_file_change_in(
        &self,
        tx: &mut dyn GroupedTx,
        ctx: &SessionContext,
        seen: &File,
        into: Option<FolderId>,
        edit: impl FnOnce(&mut File) -> Vec<(Operation, String)> + Send,
    ) -> Result<Attempt<()>> {
        let mut file = match tx.file(seen.id).await? {
            Some(current) if current.deleted => return Err(Error::FileNotFound),
            Some(current)
                if current.folder_id == seen.folder_id && current.version == seen.version =>
            {
                current
            }
            Some(_) => return Ok(Attempt::Raced),
            None => return Err(Error::FileNotFound),
        };
        if let Some(into) = into
            && tx.folder(into).await?.is_none_or(|f| f.deleted)
        {
            return Err(Error::FolderNotFound);
        }
        let records = edit(&mut file);
        let now = self.clock.now();
        file.modified_at = now;
        file.modified_by = Some(ctx.user.id);
        tx.update_file(&file, false).await?;
        for (operation, detail) in records {
            let mut e = AuditEntry::new(operation, Outcome::Success);
            ctx.stamp(&mut e);
            e.folder_id = Some(file.folder_id);
            e.file_id = Some(file.id);
            e.path = Some(file.name.clone());
            if operation == Operation::FileMoved && seen.folder_id != file.folder_id {
                // The folder it left keeps a record of its own: its trail (`GetAuditLog`
                // by folder) would otherwise show the file arrive and never leave.
                let mut left = e.clone();
                left.folder_id = Some(seen.folder_id);
                left.path = Some(seen.name.clone());
                left.detail = Some(format!("left this folder: {detail}"));
                tx.append_audit(now, left).await?;
            }
            e.detail = Some(detail);
            tx.append_audit(now, e).await?;
        }
        Ok(Attempt::Done(()))
    }
}
