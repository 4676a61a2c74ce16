//! An upload in progress: its declaration, its staged bytes and their digest.
//!
//! Most uploads arrive in order and are hashed as they pass. SFTP clients may also write at
//! offsets of their choosing (sshfs, lftp's resume of a file opened without `TRUNC`): the
//! first write anywhere but the end switches the upload to *random* writes, whose digest is
//! computed at the end by reading the staged bytes back. Either way nothing is visible until
//! [`super::Service::finish_upload`] commits it.

use std::sync::Arc;

use sha2_011::digest::common::hazmat::SerializableState;
use sha2_011::{Digest, Sha256};

use super::SessionContext;
use crate::clock::{Clock, Timestamp};
use crate::connection_limit::Permit;
use crate::content::{ContentStore, StagedContent};
use crate::domain::{File, FolderId, Permissions, UserId};
use crate::error::{Error, Result};
use crate::store::MetadataStore;

/// Bytes read back at a time to hash an upload written at random offsets.
const REHASH_CHUNK: usize = 1024 * 1024;
/// How far a file may reach beyond the bytes actually put into it. A positioned write past
/// the end, or an extension, leaves a gap that costs the client nothing to send; without a
/// bound one packet could make a file of an exabyte (which the digest would then read). Clients
/// that write out of order keep their gaps to a few requests' worth (pkg/sftp: 64 × 32 KiB).
pub const MAX_UNWRITTEN: u64 = 64 * 1024 * 1024;

/// What an upload declares before its bytes arrive (kept with a resumable upload, so field
/// names are a stored format).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UploadRequest {
    /// The folder to upload into.
    pub folder_id: FolderId,
    /// The file's name.
    pub name: String,
    /// Whether an existing file of that name gets a new version (true) or the upload fails
    /// with [`Error::FileExists`] (false).
    pub overwrite: bool,
    /// Instead of failing where the name is taken (by a file or a folder), the file is stored
    /// as `name (2).ext`, `name (3).ext`, …: a shared link's uploads, whose sender must not
    /// learn what the folder holds (a refusal told them a name was there). Chosen again by
    /// every check, so a resumed upload takes whichever is free when it continues.
    #[serde(default)]
    pub rename_if_taken: bool,
    /// The length the client announced (`Content-Length`), checked at the end.
    pub expected_size: Option<u64>,
    /// The SHA-256 the client announced (lowercase hex), checked at the end.
    pub expected_sha256: Option<String>,
    /// Recorded as the external user of the upload (an upload token's `Email`); the session's
    /// `userString` otherwise.
    pub external_user: Option<String>,
}

/// An upload in progress.
pub struct Upload {
    pub(super) ctx: SessionContext,
    pub(super) req: UploadRequest,
    pub(super) name: String,
    pub(super) name_key: String,
    pub(super) held: Permissions,
    pub(super) staged: Box<dyn StagedContent>,
    /// The digest of the bytes so far, while they arrived in order; none once a write landed
    /// elsewhere (then it is computed at the end).
    pub(super) hasher: Option<Sha256>,
    pub(super) size: u64,
    /// Bytes put into the upload (copied from a stored file or sent), overwrites included.
    pub(super) written: u64,
    /// The modification time the client gave the file being written, if any.
    pub(super) client_time: Option<Timestamp>,
    /// The live file the upload's checks found under its name, if any: what the upload is
    /// recorded against in one step where the store can and it still holds.
    pub(super) seen: Option<File>,
    /// Its places among the uploads in progress, given back when it ends.
    pub(super) place: UploadPlace,
    /// When its checks last read the caller's session and rights (`held`): read again each
    /// [`super::SESSION_RECHECK`] while the bytes arrive, and before the record if that is
    /// longer ago.
    pub(super) checked_at: std::time::Instant,
    /// When the upload last asked (a read that failed included), so that it asks at most once
    /// a second.
    pub(super) asked_at: std::time::Instant,
    /// Where those reads are made.
    pub(super) watch: UploadWatch,
}

/// What an upload reads its caller's session and rights from while its bytes arrive.
pub(super) struct UploadWatch {
    store: Arc<dyn MetadataStore>,
    clock: Arc<dyn Clock>,
}

/// An upload's places in the counts of uploads in progress: its user's and, for one made
/// through a browser tool's page, the page token's own (so that whoever holds a shared link or
/// a token takes at most [`super::MAX_UPLOADS_PER_PAGE`] of its user's places). Dropped, both
/// are given back.
#[derive(Debug)]
pub(super) struct UploadPlace {
    pub(super) _user: Permit<UserId>,
    pub(super) _page: Option<Permit<String>>,
    /// Its share of its user's storage quota, if they have one.
    pub(super) quota: Option<super::storage_quota::QuotaHold>,
}

impl super::Service {
    /// What an upload begun now reads its session and rights from.
    pub(super) fn upload_watch(&self) -> UploadWatch {
        UploadWatch {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
        }
    }
}

impl Upload {
    /// Stops the upload once its session has ended (the user disabled, a revocation, `Close`)
    /// or its caller may no longer upload to its folder (a partner's grant taken away), read
    /// at most once a [`super::SESSION_RECHECK`]: before, the bytes went on arriving for as
    /// long as the client sent them, hours for a large file, and were refused only at the end.
    /// The bits read are the ones the record then checks (Create for a new file, Modify for a
    /// new version); here losing both is enough to stop. A read that fails (the database
    /// unreachable for a moment) stops nothing: it is tried again a second later, and the
    /// record's own checks are the last word.
    async fn still_allowed(&mut self) -> Result<()> {
        if self.asked_at.elapsed() < super::SESSION_RECHECK {
            return Ok(());
        }
        self.asked_at = std::time::Instant::now();
        let store = &*self.watch.store;
        let read = async {
            let alive =
                super::sessions::context_alive_in(store, self.watch.clock.now(), &self.ctx).await?;
            let chain = store
                .permission_chain(self.req.folder_id, self.ctx.user.id)
                .await?;
            Ok::<_, Error>((alive, chain))
        };
        let (alive, chain) = match read.await {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(error = %e, "an upload could not ask after its session and rights");
                return Ok(());
            }
        };
        if !alive {
            return Err(Error::SessionNotFound);
        }
        let held = super::Service::effective_on_chain(&self.ctx, &chain)?;
        if !held.contains(Permissions::CREATE) && !held.contains(Permissions::MODIFY) {
            return Err(Error::NotPermitted(
                "the permission to upload to this folder was taken away",
            ));
        }
        self.held = held;
        self.checked_at = self.asked_at;
        Ok(())
    }

    /// Appends a chunk: hashed, counted, and written to staging.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.still_allowed().await?;
        let at = self.size;
        self.written += chunk.len() as u64;
        self.count_to(at + chunk.len() as u64)?;
        match self.hasher.as_mut() {
            Some(h) => {
                h.update(chunk);
                self.staged.write(chunk).await?;
            }
            None => self.staged.write_at(at, chunk).await?,
        }
        Ok(())
    }

    /// Writes a chunk at `offset`, which may be anywhere, past the end too (the gap reads as
    /// zeros, as in a POSIX file). At the end it is [`Upload::write`]; elsewhere the upload
    /// switches to random writes (see the module's documentation).
    pub async fn write_at(&mut self, offset: u64, chunk: &[u8]) -> Result<()> {
        if offset == self.size {
            return self.write(chunk).await;
        }
        let end = offset
            .checked_add(chunk.len() as u64)
            .ok_or_else(|| Error::invalid("write beyond the largest file size"))?;
        self.still_allowed().await?;
        self.written += chunk.len() as u64;
        self.within_written(end)?;
        self.count_to(end.max(self.size))?;
        self.hasher = None;
        self.staged.write_at(offset, chunk).await?;
        Ok(())
    }

    /// Reads up to `len` staged bytes at `offset` (empty at or past the end).
    pub async fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        if offset >= self.size {
            return Ok(Vec::new());
        }
        let len = len.min((self.size - offset) as usize);
        let mut buf = vec![0u8; len];
        let n = self.staged.read_at(offset, &mut buf).await?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Cuts the upload to `len` bytes, or extends it with zeros (SFTP's `SETSTAT` of a size on
    /// a file being written, as `ftruncate` does).
    pub async fn set_size(&mut self, len: u64) -> Result<()> {
        if len == self.size {
            return Ok(());
        }
        self.still_allowed().await?;
        self.within_written(len)?;
        self.count_to(len)?;
        self.hasher = None;
        self.staged.set_len(len).await?;
        Ok(())
    }

    /// Room to read the next bytes into in place, for a front end that reads them from a
    /// stream (no copy, unlike [`Upload::write`]); [`Upload::advance`] then takes them.
    pub fn room(&mut self) -> &mut [u8] {
        self.staged.room()
    }

    /// Appends the first `n` bytes of [`Upload::room`]: hashed, counted, and written.
    pub async fn advance(&mut self, n: usize) -> Result<()> {
        if self.hasher.is_none() {
            return Err(Error::Internal(
                "an upload written at random offsets advanced in place".into(),
            ));
        }
        self.still_allowed().await?;
        let Some(bytes) = self.staged.room().get(..n) else {
            return Err(Error::Internal("an upload advanced past its room".into()));
        };
        if let Some(h) = self.hasher.as_mut() {
            h.update(bytes);
        }
        self.written += n as u64;
        self.count_to(self.size + n as u64)?;
        self.staged.filled(n).await?;
        Ok(())
    }

    /// Refuses a size more than [`MAX_UNWRITTEN`] beyond the bytes put into the upload.
    fn within_written(&self, size: u64) -> Result<()> {
        if size > self.written.saturating_add(MAX_UNWRITTEN) {
            return Err(Error::invalid(
                "a file may not reach more than 64 MiB beyond the bytes written to it",
            ));
        }
        Ok(())
    }

    /// Sets the size to `size`, refusing more than the declared length.
    fn count_to(&mut self, size: u64) -> Result<()> {
        if self.req.expected_size.is_some_and(|n| size > n) {
            return Err(Error::ContentMismatch("length"));
        }
        if let Some(q) = self.place.quota.as_mut() {
            q.grow_to(size)?;
        }
        self.size = size;
        Ok(())
    }

    /// Gives the new version a client's modification time (SFTP `FSETSTAT` on the handle
    /// before `CLOSE`, as `put -p` and `scp -p` send it).
    pub fn set_client_time(&mut self, at: Timestamp) {
        self.client_time = Some(at);
    }

    /// Bytes received so far (with random writes: the end of the furthest one).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// What the upload declared.
    pub fn request(&self) -> &UploadRequest {
        &self.req
    }

    /// The session the upload is made in.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The length the upload was declared with, if any.
    pub fn expected_size(&self) -> Option<u64> {
        self.req.expected_size
    }

    /// The SHA-256 of the staged bytes, in lowercase hex: from the running digest, or read
    /// back after random writes.
    pub(super) async fn digest(&mut self) -> Result<String> {
        if let Some(h) = self.hasher.take() {
            return Ok(hex::encode(h.finalize()));
        }
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; REHASH_CHUNK];
        let mut at = 0;
        while at < self.size {
            let want = REHASH_CHUNK.min((self.size - at) as usize);
            let n = self.staged.read_at(at, &mut buf[..want]).await?;
            if n == 0 {
                return Err(Error::Internal(format!(
                    "staged upload ended at {at} of {} bytes",
                    self.size
                )));
            }
            hasher.update(&buf[..n]);
            at += n as u64;
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// Where a checkpointed upload stands: its bytes durable where any node reads them, and the
/// digest's state after them, so that resuming never reads them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadCheckpoint {
    /// Bytes in the upload.
    pub size: u64,
    /// The content store's description of the staged bytes.
    pub staged: String,
    /// The SHA-256 state after `size` bytes.
    pub hash_state: Vec<u8>,
}

impl Upload {
    /// Makes the upload's bytes durable where any node can pick them up
    /// ([`super::Service::resume_upload`]). Only for uploads that arrived in order.
    pub async fn checkpoint(&mut self) -> Result<UploadCheckpoint> {
        let Some(hasher) = self.hasher.as_ref() else {
            return Err(Error::Internal(
                "an upload written at random offsets cannot be checkpointed".into(),
            ));
        };
        let hash_state = hasher.serialize().to_vec();
        let staged = self.staged.checkpoint().await?;
        Ok(UploadCheckpoint {
            size: self.size,
            staged,
            hash_state,
        })
    }

    /// Waits for every write still on its way (before the upload is dropped in favour of its
    /// last checkpoint).
    pub async fn settle(&mut self) -> Result<()> {
        Ok(self.staged.settle().await?)
    }

    /// The digest state of a checkpoint, read back.
    pub(super) fn hasher_from(state: &[u8]) -> Result<Sha256> {
        let state = state.try_into().map_err(|_| {
            Error::Internal("a checkpoint's digest state has the wrong size".into())
        })?;
        Sha256::deserialize(state)
            .map_err(|_| Error::Internal("a checkpoint's digest state is unreadable".into()))
    }
}

/// A write to a file whose checks have passed, before the stored bytes (if any) are copied
/// in: from [`super::Service::begin_append`] (the client appends) or
/// [`super::Service::begin_rewrite`] (the client may change the file anywhere).
pub struct PendingAppend {
    pub(super) upload: Upload,
    /// The live file written to; none where no file has the name.
    pub(super) base: Option<File>,
    pub(super) content: Arc<dyn ContentStore>,
}

impl PendingAppend {
    /// Where the client's bytes will start: the stored file's size (0 for a new file).
    pub fn base_size(&self) -> u64 {
        self.base.as_ref().map_or(0, |f| f.size.max(0) as u64)
    }

    /// The live file written to, if the name has one.
    pub fn base(&self) -> Option<&File> {
        self.base.as_ref()
    }

    /// The upload this append will be.
    pub fn upload(&self) -> &Upload {
        &self.upload
    }

    /// The upload without the stored bytes: the file's next version starts empty (SFTP's
    /// `TRUNC`).
    pub fn into_empty(self) -> Upload {
        self.upload
    }

    /// Copies the stored bytes into the upload, which then takes the client's bytes.
    pub async fn copy_stored(self) -> Result<Upload> {
        let PendingAppend {
            mut upload,
            base,
            content,
        } = self;
        let Some(file) = base else {
            return Ok(upload);
        };
        let mut reader = content.open(&file.content_key, 0).await?;
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut reader, upload.room())
                .await
                .map_err(|e| Error::Internal(format!("reading content to append to: {e}")))?;
            if n == 0 {
                break;
            }
            upload.advance(n).await?;
        }
        if upload.size() != file.size.max(0) as u64 {
            return Err(Error::Internal(format!(
                "file {} has {} bytes of content, {} recorded",
                file.id,
                upload.size(),
                file.size
            )));
        }
        Ok(upload)
    }
}
