//! A file's older versions: downloading one, and restoring one as the newest (the web
//! client's file page). A restore copies no bytes: the new version names the old version's
//! content, which stays as long as any version references it (the purge and the sweep of
//! unreferenced content already count references).

use super::{Download, FileView, Recorded, Service, SessionContext};
use crate::domain::{AuditEntry, FileId, FileVersion, Operation, Outcome, Permissions};
use crate::error::{Error, Result};

impl Service {
    /// One version of a file, if the caller may read the file.
    async fn version_of(
        &self,
        ctx: &SessionContext,
        id: FileId,
        version: i64,
    ) -> Result<(FileView, FileVersion)> {
        let view = self.readable_file(ctx, id).await?;
        let found = self
            .store
            .file_version(id, version)
            .await?
            .ok_or(Error::FileNotFound)?;
        Ok((view, found))
    }

    /// One version of a file as [`Service::download_version`] would send it, with every check
    /// it makes (Read and Download) but nothing opened and nothing recorded: what a `HEAD`
    /// answers from.
    pub async fn version_to_download(
        &self,
        ctx: &SessionContext,
        id: FileId,
        version: i64,
    ) -> Result<(FileView, FileVersion)> {
        let (view, old) = self.version_of(ctx, id, version).await?;
        if !view.effective.contains(Permissions::DOWNLOAD) {
            self.require(
                ctx,
                view.file.folder_id,
                Permissions::DOWNLOAD,
                Operation::FileDownloaded,
            )
            .await?;
        }
        Ok((view, old))
    }

    /// Opens an older (or the current) version of a file for download: needs Read and
    /// Download, audited as a download with the version named.
    pub async fn download_version(
        &self,
        ctx: &SessionContext,
        id: FileId,
        version: i64,
    ) -> Result<Download> {
        let (view, old) = self.version_to_download(ctx, id, version).await?;
        let length = old.size as u64;
        let mut e = AuditEntry::new(Operation::FileDownloaded, Outcome::Success);
        ctx.stamp(&mut e);
        e.folder_id = Some(view.file.folder_id);
        e.file_id = Some(id);
        e.path = Some(view.file.name.clone());
        e.size = Some(old.size);
        e.digest = Some(old.sha256.clone());
        e.detail = Some(format!("version {version}"));
        let content = self.content.open(&old.content_key, 0).await?;
        self.audit_alone(e.clone()).await?;
        let recorded = Recorded::committed();
        Ok(Download {
            file: view.file,
            offset: 0,
            length,
            reader: self.tallied(content, e, &recorded, 0, length),
            recorded,
        })
    }

    /// Makes an older version's content the file's newest version (n+1): needs Read and
    /// Modify. Restoring the newest version changes nothing.
    pub async fn restore_version(
        &self,
        ctx: &SessionContext,
        id: FileId,
        version: i64,
    ) -> Result<FileView> {
        let (view, old) = self.version_of(ctx, id, version).await?;
        let held = self
            .require(
                ctx,
                view.file.folder_id,
                Permissions::MODIFY,
                Operation::FileVersionRestored,
            )
            .await?;
        if old.version == view.file.version {
            return Ok(view);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut file = match tx.file(id).await? {
            Some(current) if !current.deleted && current.version == view.file.version => current,
            _ => return Err(Error::FileNotFound),
        };
        let newest = file.version;
        file.version += 1;
        file.size = old.size;
        file.sha256 = old.sha256.clone();
        file.content_key = old.content_key.clone();
        file.client_modified_at = old.client_modified_at;
        file.modified_at = now;
        file.modified_by = Some(ctx.user.id);
        tx.update_file(&file, true).await?;
        let mut e = AuditEntry::new(Operation::FileVersionRestored, Outcome::Success);
        ctx.stamp(&mut e);
        e.folder_id = Some(file.folder_id);
        e.file_id = Some(id);
        e.path = Some(file.name.clone());
        e.size = Some(file.size);
        e.digest = Some(file.sha256.clone());
        e.detail = Some(format!(
            "version {} restored as version {} (was {newest})",
            old.version, file.version
        ));
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(FileView::checked(file, held))
    }
}
