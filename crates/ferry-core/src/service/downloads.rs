//! Downloads: the rights checked, the audit record committed before the first byte, and the
//! content opened at the offset asked for.
//!
//! The record's commit starts once the content is open and runs as a task of its own
//! (`download_record.rs`); [`Service::download_view`] returns once it is durable, and
//! [`Service::download_view_pipelined`] at once, with readers that wait for it.

use std::sync::Arc;

use super::download_tally::{DownloadTally, TalliedReader};
use super::{FileView, Recorded, Service, SessionContext};
use crate::content::ContentReader;
use crate::domain::{AuditEntry, File, FileId, Operation, Outcome, Permissions};
use crate::error::{Error, Result};
use crate::inline_content::is_inline;

/// A download: the file, the range to send, and a reader positioned at its start.
pub struct Download {
    /// The file (current version).
    pub file: File,
    /// First byte sent.
    pub offset: u64,
    /// Bytes to send.
    pub length: u64,
    /// The content, from `offset`; the caller reads at most `length` bytes. Its first read
    /// waits for the download's audit record; dropped before `length` bytes were read from
    /// it, it records the download as broken off (`download_tally.rs`).
    pub reader: TalliedReader,
    /// The commit of the download's audit record, for readers opened later
    /// ([`Service::download_continued`]).
    pub recorded: Recorded,
}

impl Service {
    /// Whether a download under way may go on: asked by the front ends every
    /// [`super::SESSION_RECHECK`] as its bytes go out. Its session (or page) must still live
    /// ([`Service::context_alive`]) and its caller still hold Read and Download on `folder`,
    /// the folder of the file when the download began: a grant taken away (a partner's access
    /// withdrawn) breaks it off as an ended session does, instead of sending the rest of a
    /// large file. A folder deleted meanwhile is not a withdrawal (a deleted file's download
    /// goes on, its content kept until purged). Not counted as a use of the session.
    pub async fn download_may_go_on(
        &self,
        ctx: &SessionContext,
        folder: crate::domain::FolderId,
    ) -> Result<bool> {
        if !self.context_alive(ctx).await? {
            return Ok(false);
        }
        match self.effective(ctx, folder).await {
            Ok(held) => Ok(held.contains(Permissions::READ.union(Permissions::DOWNLOAD))),
            Err(Error::FolderNotFound) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Opens a file for download: needs Download on its folder. `range` is the first and last
    /// byte wanted (already checked against the size by the caller, see [`Service::file`]).
    /// The download is audited before this returns, so before any byte is sent.
    pub async fn download(
        &self,
        ctx: &SessionContext,
        id: FileId,
        range: Option<(u64, u64)>,
    ) -> Result<Download> {
        let view = self.readable(ctx, id, true).await?;
        self.download_view(ctx, view, range).await
    }

    /// [`Service::download`] of a file the same request has just read or resolved through the
    /// Service (`GetFile`'s view, a path's file), with the bits found then: the download
    /// serves the version that view describes, and the file and its folder's grants are not
    /// read a second time. Returns once the download's audit record is committed, so a
    /// record that cannot be written fails the call, not a later read.
    pub async fn download_view(
        &self,
        ctx: &SessionContext,
        view: FileView,
        range: Option<(u64, u64)>,
    ) -> Result<Download> {
        self.open_download(ctx, view, range, false).await
    }

    /// [`Service::download_view`] that returns while the download's audit record is still
    /// being committed: for a front end that has something to do before the first byte (an
    /// SFTP `OPEN`'s answer, an FTPS data connection to accept). The reader, and every reader
    /// [`Service::download_continued`] opens for it, sends nothing until the record is
    /// durable, and fails if it cannot be written.
    pub async fn download_view_pipelined(
        &self,
        ctx: &SessionContext,
        view: FileView,
        range: Option<(u64, u64)>,
    ) -> Result<Download> {
        self.open_download(ctx, view, range, true).await
    }

    /// Checks, opens and records a download; `pipelined`: the record commits as a task of
    /// its own, else on this task, before this returns (no task to hand it to and wake from:
    /// a `GET` over one connection waits for both).
    async fn open_download(
        &self,
        ctx: &SessionContext,
        view: FileView,
        range: Option<(u64, u64)>,
        pipelined: bool,
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
        let FileView {
            file, prefetched, ..
        } = view;
        let size = file.size as u64;
        let (offset, length) = match range {
            Some((first, last)) if first <= last && last < size => (first, last - first + 1),
            Some(_) => return Err(Error::invalid("the requested range is not satisfiable")),
            None => (0, size),
        };
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
        // Opened first: a download whose content cannot be opened is not recorded as one.
        let content: ContentReader = match prefetched {
            Some(bytes) if is_inline(&file.content_key) => {
                let mut at = std::io::Cursor::new(bytes);
                at.set_position(offset);
                Box::pin(at)
            }
            _ => self.content.open(&file.content_key, offset).await?,
        };
        let template = e.clone();
        let recorded = if pipelined {
            self.record_download(e)
        } else {
            self.audit_alone(e).await?;
            Recorded::committed()
        };
        let reader = self.tallied(recorded.gate(content), template, &recorded, offset, length);
        Ok(Download {
            file,
            offset,
            length,
            reader,
            recorded,
        })
    }

    /// The content of a file being downloaded, from `offset`: for protocols whose clients read
    /// at offsets of their choosing (SFTP) after opening the download with
    /// [`Service::download_view_pipelined`], which audited it. The bits are checked again;
    /// nothing is audited; the reader waits for the download's record (`recorded`) as the
    /// first one does.
    pub async fn download_continued(
        &self,
        ctx: &SessionContext,
        file: &File,
        offset: u64,
        recorded: &Recorded,
    ) -> Result<ContentReader> {
        let held = self.effective(ctx, file.folder_id).await?;
        if !held.contains(Permissions::READ.union(Permissions::DOWNLOAD)) {
            return Err(Error::NotPermitted("Download is needed on the folder"));
        }
        Ok(recorded.gate(self.content.open(&file.content_key, offset).await?))
    }

    /// `content` counted for the download `entry` records, of `length` bytes from `offset`
    /// (`download_tally.rs`).
    pub(super) fn tallied(
        &self,
        content: ContentReader,
        entry: AuditEntry,
        recorded: &Recorded,
        offset: u64,
        length: u64,
    ) -> TalliedReader {
        let tally = DownloadTally::new(
            Arc::clone(&self.store),
            Arc::clone(&self.clock),
            entry,
            recorded.clone(),
            offset,
            length,
        );
        TalliedReader::new(content, tally)
    }

    /// Starts committing a download's record as a task of its own (`download_record.rs`);
    /// it shares its commit with concurrent ones (issue 21).
    fn record_download(&self, entry: AuditEntry) -> Recorded {
        let (store, at) = (Arc::clone(&self.store), self.clock.now());
        Recorded::start(async move { store.append_audit_alone(at, entry).await })
    }
}
