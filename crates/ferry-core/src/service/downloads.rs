//! Downloads: the rights checked, the audit record written before the first byte, and the
//! content opened at the offset asked for.

use super::{FileView, Service, SessionContext};
use crate::content::ContentReader;
use crate::domain::{AuditEntry, File, FileId, Operation, Outcome, Permissions};
use crate::error::{Error, Result};

/// A download: the file, the range to send, and a reader positioned at its start.
pub struct Download {
    /// The file (current version).
    pub file: File,
    /// First byte sent.
    pub offset: u64,
    /// Bytes to send.
    pub length: u64,
    /// The content, from `offset`; the caller reads at most `length` bytes.
    pub reader: ContentReader,
}

impl Service {
    /// Opens a file for download: needs Download on its folder. `range` is the first and last
    /// byte wanted (already checked against the size by the caller, see [`Service::file`]).
    /// The download is audited before this returns, so before any byte is sent.
    pub async fn download(
        &self,
        ctx: &SessionContext,
        id: FileId,
        range: Option<(u64, u64)>,
    ) -> Result<Download> {
        let view = self.readable_file(ctx, id).await?;
        self.download_view(ctx, view, range).await
    }

    /// [`Service::download`] of a file the same request has just read or resolved through the
    /// Service (`GetFile`'s view, a path's file), with the bits found then: the download
    /// serves the version that view describes, and the file and its folder's grants are not
    /// read a second time.
    pub async fn download_view(
        &self,
        ctx: &SessionContext,
        view: FileView,
        range: Option<(u64, u64)>,
    ) -> Result<Download> {
        if !view.effective.contains(Permissions::DOWNLOAD) {
            self.require(
                ctx,
                view.file.folder_id,
                Permissions::DOWNLOAD,
                Operation::FileDownloaded,
            )
            .await?;
        }
        let file = view.file;
        let size = file.size as u64;
        let (offset, length) = match range {
            Some((first, last)) if first <= last && last < size => (first, last - first + 1),
            Some(_) => return Err(Error::invalid("the requested range is not satisfiable")),
            None => (0, size),
        };
        let reader = self.content.open(&file.content_key, offset).await?;
        let mut e = AuditEntry::new(Operation::FileDownloaded, Outcome::Success);
        ctx.stamp(&mut e);
        e.folder_id = Some(file.folder_id);
        e.file_id = Some(file.id);
        e.path = Some(file.name.clone());
        e.size = Some(length as i64);
        e.digest = Some(file.sha256.clone());
        if range.is_some() {
            e.detail = Some(format!("bytes {offset}-{}", offset + length - 1));
        }
        self.audit_alone(e).await?;
        Ok(Download {
            file,
            offset,
            length,
            reader,
        })
    }

    /// The content of a file being downloaded, from `offset`: for protocols whose clients read
    /// at offsets of their choosing (SFTP) after opening the download with
    /// [`Service::download`], which audited it. The bits are checked again; nothing is audited.
    pub async fn download_continued(
        &self,
        ctx: &SessionContext,
        file: &File,
        offset: u64,
    ) -> Result<ContentReader> {
        let held = self.effective(ctx, file.folder_id).await?;
        if !held.contains(Permissions::READ.union(Permissions::DOWNLOAD)) {
            return Err(Error::NotPermitted("Download is needed on the folder"));
        }
        Ok(self.content.open(&file.content_key, offset).await?)
    }
}
