//! A file open for writing over SFTP, with the open flags honoured as OpenSSH's server honours
//! them on a POSIX file, for a store whose committed versions never change:
//!
//! - `TRUNC`, or a name with no file: the next version starts empty, and `CLOSE` commits it
//!   even if nothing was written (an empty file, as `open(2)` would leave).
//! - Neither (lftp's `put -c`, sshfs, editors): the next version starts from the stored bytes,
//!   copied in when the client first writes (copy-on-write); writes go at any offset; a
//!   handle that wrote nothing commits nothing, so a resume of a complete file leaves the
//!   file as it was.
//! - `APPEND`: every write goes at the end, whatever its offset (SFTP v3, as OpenSSH does).
//!
//! Nothing is visible before `CLOSE`. `FSTAT`, and `STAT` of the path, answer the size the
//! handle has now, since sshfs asks right after opening a new file.

use std::sync::Arc;
use std::time::Instant;

use ferry_core::domain::FileId;
use ferry_core::service::{PendingAppend, SessionContext, Upload, UploadRequest};
use ferry_core::{Error, Service, Timestamp};

/// Where a written file's bytes are.
enum Content {
    /// Still the stored file's (nothing written yet).
    Stored(Box<PendingAppend>),
    /// In the upload.
    Staged(Box<Upload>),
    /// A copy of the stored bytes failed; the handle is unusable.
    Lost,
}

/// A file open for writing.
pub(crate) struct Writing {
    /// The file's absolute tree path, for `STAT` while it is being written.
    pub(crate) path: String,
    content: Content,
    /// Opened with `APPEND`: every write goes at the end.
    append: bool,
    /// Opened with `READ` as well.
    readable: bool,
    /// Whether `CLOSE` commits: something was written or resized, or the open made the file
    /// or emptied it.
    changed: bool,
    /// The stored file whose bytes the handle started from, while a read of them has not yet
    /// been checked and audited as a download.
    unaudited_base: Option<FileId>,
    /// The stored file the handle was opened on, if any.
    base: Option<FileId>,
    /// The modification time the client set on the handle (`put -p`), if any.
    client_time: Option<Timestamp>,
    /// When the handle was opened: a file's time in the server, `OPEN` to `CLOSE`'s answer,
    /// is `ferry_sftp_upload_seconds` (`/metrics`).
    pub(crate) opened: Instant,
    /// The session and request the upload was opened with, for its `UploadFailed` record
    /// should it not be committed.
    opened_as: (SessionContext, UploadRequest),
}

/// What `CLOSE` does with a write handle.
pub(crate) enum Commit {
    /// Records the upload as the file's next version (or the new file).
    Upload(Box<Upload>),
    /// Nothing was written, but the client set the stored file's time.
    Time(FileId, Timestamp),
    /// Nothing changed.
    Nothing,
}

/// How a file was opened for writing.
pub(crate) struct WriteFlags {
    /// `TRUNC`: start empty.
    pub(crate) truncate: bool,
    /// `APPEND`: writes go at the end.
    pub(crate) append: bool,
    /// `READ`: reads are allowed too.
    pub(crate) read: bool,
}

impl Writing {
    /// A handle on `path` over the checked write `pending`.
    pub(crate) fn new(path: String, pending: PendingAppend, flags: WriteFlags) -> Self {
        let base = pending.base().map(|f| f.id);
        let opened_as = (
            pending.upload().context().clone(),
            pending.upload().request().clone(),
        );
        let (content, changed, unaudited_base) = match base {
            Some(id) if !flags.truncate => (Content::Stored(Box::new(pending)), false, Some(id)),
            _ => (Content::Staged(Box::new(pending.into_empty())), true, None),
        };
        Writing {
            path,
            content,
            append: flags.append,
            readable: flags.read,
            changed,
            unaudited_base,
            base,
            client_time: None,
            opened: Instant::now(),
            opened_as,
        }
    }

    /// What an `UploadFailed` record of this handle names, if it would have committed
    /// something (something written, or a file made or emptied): its session, its request and
    /// the bytes it held.
    pub(crate) fn uncommitted(&self) -> Option<(SessionContext, UploadRequest, u64)> {
        self.changed.then(|| {
            (
                self.opened_as.0.clone(),
                self.opened_as.1.clone(),
                self.size(),
            )
        })
    }

    /// Sets the modification time the file will have (`FSETSTAT`, or `SETSTAT` of its path).
    pub(crate) fn set_client_time(&mut self, at: Timestamp) {
        self.client_time = Some(at);
    }

    /// The file's size as this handle sees it.
    pub(crate) fn size(&self) -> u64 {
        match &self.content {
            Content::Stored(p) => p.base_size(),
            Content::Staged(u) => u.size(),
            Content::Lost => 0,
        }
    }

    /// The upload, copying the stored bytes in first if that has not been done.
    async fn staged(&mut self) -> Result<&mut Upload, Error> {
        if matches!(self.content, Content::Stored(_)) {
            let Content::Stored(pending) = std::mem::replace(&mut self.content, Content::Lost)
            else {
                unreachable!("matched above");
            };
            self.content = Content::Staged(Box::new(pending.copy_stored().await?));
        }
        match &mut self.content {
            Content::Staged(upload) => Ok(upload),
            _ => Err(Error::Internal(
                "a write handle whose stored bytes could not be copied".into(),
            )),
        }
    }

    /// Writes `data` at `offset` (at the end, with `APPEND`).
    pub(crate) async fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), Error> {
        let append = self.append;
        let upload = self.staged().await?;
        if append {
            upload.write(data).await?;
        } else {
            upload.write_at(offset, data).await?;
        }
        self.changed = true;
        Ok(())
    }

    /// Cuts or extends the file to `len` bytes.
    pub(crate) async fn set_size(&mut self, len: u64) -> Result<(), Error> {
        if len == self.size() && matches!(self.content, Content::Stored(_)) {
            return Ok(());
        }
        self.staged().await?.set_size(len).await?;
        self.changed = true;
        Ok(())
    }

    /// Reads up to `len` bytes at `offset`, as the handle has them. Bytes that came from the
    /// stored file are a download: the first such read is checked and audited as one.
    pub(crate) async fn read(
        &mut self,
        service: &Arc<Service>,
        ctx: &SessionContext,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, Error> {
        if !self.readable {
            return Err(Error::NotPermitted("the handle was not opened for reading"));
        }
        if let Some(id) = self.unaudited_base {
            // Recorded as a download of the stored file; the handle then reads its own staged
            // copy, so how much of it the client reads is not this download's to tally.
            let mut base = service.download(ctx, id, None).await?;
            base.reader.tally_mut().settle();
            self.unaudited_base = None;
        }
        self.staged().await?.read_at(offset, len).await
    }

    /// What `CLOSE` commits: the upload if the handle changed anything (with the time the
    /// client set), else the time alone.
    pub(crate) fn into_commit(self) -> Commit {
        match (self.content, self.client_time, self.base) {
            (Content::Staged(mut upload), time, _) if self.changed => {
                if let Some(at) = time {
                    upload.set_client_time(at);
                }
                Commit::Upload(upload)
            }
            (_, Some(at), Some(id)) => Commit::Time(id, at),
            _ => Commit::Nothing,
        }
    }
}
