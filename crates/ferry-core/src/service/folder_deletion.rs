//! Deleting folders: `DeleteFolder` (a soft delete of the folder and everything below it,
//! purged after the retention period) and the file protocols' remove-if-empty, each recording
//! every file it takes with it.

use super::change_races::{Attempt, until_settled};
use super::folders::{folder_as_checked, unheld_below};
use super::{Service, SessionContext};
use crate::domain::{AuditEntry, Folder, FolderId, Operation, Outcome, Permissions};
use crate::error::{Error, Result};
use crate::store::StoreTx;

impl Service {
    /// `DeleteFolder`: a soft delete; the folder and everything below it disappear, and the
    /// files below are purged after the retention period. Needs Delete; system and home
    /// folders cannot be deleted.
    pub async fn delete_folder(&self, ctx: &SessionContext, id: FolderId) -> Result<()> {
        self.delete_folder_if(ctx, id, false).await
    }

    /// [`Service::delete_folder`], or with `only_empty` the file protocols' `RMD`/`RMDIR`,
    /// refused with [`Error::FolderNotEmpty`] if anything at all is below the folder, whether
    /// or not the caller may see it, as the deletion's own change finds it (an upload
    /// acknowledged a moment before is never removed by a remove-if-empty).
    pub(super) async fn delete_folder_if(
        &self,
        ctx: &SessionContext,
        id: FolderId,
        only_empty: bool,
    ) -> Result<()> {
        until_settled(|| async move {
            self.require(ctx, id, Permissions::DELETE, Operation::FolderDeleted)
                .await?;
            let seen = self
                .changeable(id, "system and home folders cannot be deleted")
                .await?;
            let mut tx = self.store.begin().await?;
            let Attempt::Done(mut folder) = folder_as_checked(&mut tx, &seen).await? else {
                tx.rollback().await;
                return Ok(Attempt::Raced);
            };
            let unheld = unheld_below(ctx, &mut tx, id).await?;
            if unheld > 0 {
                tx.rollback().await;
                let operation = Operation::FolderDeleted;
                return Err(self.refuse_unheld_below(ctx, id, unheld, operation).await?);
            }
            folder.deleted = true;
            let now = self.clock.now();
            if !only_empty {
                self.audit_files_taken(ctx, &mut tx, &folder, now).await?;
            }
            // The folders below go too, so that a change checked before this one cannot
            // put anything into them; and the files, to be purged.
            let (files, folders) = tx.delete_below(id, now).await?;
            if only_empty && files + folders > 0 {
                tx.rollback().await;
                return Err(Error::FolderNotEmpty);
            }
            let count = |n: i64, kind: &str| format!("{n} {kind}{}", if n == 1 { "" } else { "s" });
            let detail = format!(
                "{} and {} deleted with it",
                count(files, "file"),
                count(folders, "folder")
            );
            let records = vec![(Operation::FolderDeleted, detail)];
            self.save_folder_change(ctx, tx, folder, records)
                .await
                .map(Attempt::Done)
        })
        .await
    }

    /// A `FileDeleted` record for each file the deletion of `folder` takes with it, in the
    /// deletion's change: a file's trail (`GetAuditLog` by file, its page's activity) then
    /// ends with who deleted it and when, as it does for a file deleted alone. Before
    /// (until 2026-12-07) the folder's one record counted them, so the trail of each ended at
    /// its upload until its purge days later. Read a page at a time, so a large folder's
    /// deletion holds one page in memory.
    async fn audit_files_taken(
        &self,
        ctx: &SessionContext,
        tx: &mut Box<dyn StoreTx>,
        folder: &Folder,
        now: crate::clock::Timestamp,
    ) -> Result<()> {
        const PAGE: i64 = 1_000;
        let mut after = 0;
        loop {
            let page = tx.live_files_below(folder.id, after, PAGE).await?;
            for (file, in_folder, name) in &page {
                let mut e = AuditEntry::new(Operation::FileDeleted, Outcome::Success);
                ctx.stamp(&mut e);
                e.folder_id = Some(*in_folder);
                e.file_id = Some(*file);
                e.path = Some(name.clone());
                e.detail = Some(format!(
                    "deleted with folder {} ({})",
                    folder.id, folder.name
                ));
                tx.append_audit(now, e).await?;
            }
            match page.last() {
                Some((last, _, _)) if page.len() as i64 == PAGE => after = *last,
                _ => return Ok(()),
            }
        }
    }
}
