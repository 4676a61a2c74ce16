//! An upload to the bucket in progress.
//!
//! Most uploads only append. They *stream*: bytes fill an in-memory part, each full part goes
//! out as a part of a multipart upload while the next fills, and the commit sends the last,
//! short part and completes the upload. A file smaller than one part is one plain `PUT` at the
//! commit, with no multipart upload at all.
//!
//! A few SFTP clients write out of order, read back what they wrote, or cut the file. What
//! touches only the part still in memory is done there. Anything reaching further back turns
//! the upload *local*: what was sent is completed into an object, read back into a spill file
//! on this node's disk, and from then on the upload is a file that the commit sends. That
//! costs a round trip of the bytes sent so far, once, and only for those clients.

use std::os::unix::fs::FileExt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::content::{ContentError, StagedContent};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::multipart::MultipartStore;

use crate::checkpoint::Tails;
use crate::multipart::{Multipart, remove_marker};
use crate::{Inner, s3_error};

/// Bytes the in-memory part grows by, so that a small file never holds a whole part.
const GROW: usize = 256 * 1024;
/// Where the bytes are.
pub(crate) enum Mode {
    /// Appends only so far: everything before `sent` is in parts, the rest in `buf`.
    Stream {
        /// The part filling now; bytes past `filled` are room handed out, not content.
        buf: Vec<u8>,
        filled: usize,
        sent: u64,
    },
    /// In a spill file on this node's disk.
    Local {
        path: PathBuf,
        file: Arc<std::fs::File>,
        len: u64,
        /// Room for [`StagedContent::room`].
        block: Vec<u8>,
    },
}

/// An upload to the bucket. Dropped without a commit, its multipart upload is aborted and
/// its spill file removed.
pub(crate) struct S3Staged {
    pub(crate) inner: Arc<Inner>,
    pub(crate) key: String,
    /// Bytes per part (the store's, or the checkpoint's that this upload was resumed from).
    pub(crate) part_size: usize,
    pub(crate) mode: Mode,
    pub(crate) upload: Option<Multipart>,
    /// An object at the final key holding what was sent before the upload turned local,
    /// removed if the upload is dropped (the commit overwrites it).
    pub(crate) materialized: bool,
    /// Once checkpointed (`checkpoint.rs`): the tail objects of the last two checkpoints. The
    /// upload then outlives this value: dropped, it leaves everything for whoever resumes it.
    pub(crate) checkpointed: Option<Tails>,
}

impl S3Staged {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        S3Staged {
            key: uuid::Uuid::new_v4().simple().to_string(),
            mode: Mode::Stream {
                buf: Vec::new(),
                filled: 0,
                sent: 0,
            },
            part_size: inner.part_size,
            inner,
            upload: None,
            materialized: false,
            checkpointed: None,
        }
    }

    fn part_size(&self) -> usize {
        self.part_size
    }

    /// Sends the full in-memory part.
    async fn send_part(&mut self) -> Result<(), ContentError> {
        let Mode::Stream { buf, filled, sent } = &mut self.mode else {
            unreachable!("only a streaming upload sends parts as it goes")
        };
        buf.truncate(*filled);
        let bytes = std::mem::take(buf);
        *sent += *filled as u64;
        *filled = 0;
        if self.upload.is_none() {
            let path = self.inner.object_path(&self.key)?;
            let marker = self.marker_path();
            self.upload = Some(Multipart::start(&self.inner, path, marker).await?);
        }
        let upload = self.upload.as_mut().expect("started above");
        upload.send(&self.inner, bytes).await
    }

    /// The streaming part's window: `(sent, filled)`, or `None` once local.
    fn window(&self) -> Option<(u64, usize)> {
        match &self.mode {
            Mode::Stream { filled, sent, .. } => Some((*sent, *filled)),
            Mode::Local { .. } => None,
        }
    }

    /// Turns the upload local (see the module's documentation).
    async fn go_local(&mut self) -> Result<(), ContentError> {
        let Mode::Stream { buf, filled, sent } = &mut self.mode else {
            return Ok(());
        };
        let (tail, sent) = (buf[..*filled].to_vec(), *sent);
        tokio::fs::create_dir_all(&self.inner.spill_dir)
            .await
            .map_err(io_error)?;
        let path = self.inner.spill_dir.join(&self.key);
        let file = Arc::new(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(io_error)?,
        );
        if let Some(upload) = self.upload.as_mut() {
            upload.complete(&self.inner).await?;
            // Completed: nothing left to abort, but an object to remove if the upload is
            // dropped from here on.
            let upload = self.upload.take().expect("checked above");
            self.materialized = true;
            remove_marker(&self.inner, &upload.marker).await;
            let mut body = self
                .inner
                .s3
                .get(&upload.path)
                .await
                .map_err(s3_error)?
                .into_stream();
            let mut at = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(s3_error)?;
                pwrite(&file, at, chunk.to_vec()).await?;
                at += chunk.len() as u64;
            }
            if at != sent {
                return Err(ContentError::Other(format!(
                    "the object store returned {at} bytes of an upload of {sent}"
                )));
            }
        }
        let len = sent + tail.len() as u64;
        pwrite(&file, sent, tail).await?;
        self.mode = Mode::Local {
            path,
            file,
            len,
            block: Vec::new(),
        };
        Ok(())
    }

    fn local(&mut self) -> (&Arc<std::fs::File>, &mut u64) {
        match &mut self.mode {
            Mode::Local { file, len, .. } => (file, len),
            Mode::Stream { .. } => unreachable!("go_local ran first"),
        }
    }

    /// Sends a local upload's file: one `PUT` when it fits in a part, a multipart upload
    /// otherwise.
    async fn send_local(&mut self) -> Result<(), ContentError> {
        let (file, len) = match &self.mode {
            Mode::Local { file, len, .. } => (file.clone(), *len),
            Mode::Stream { .. } => unreachable!("only a local upload is sent from its file"),
        };
        let path = self.inner.object_path(&self.key)?;
        let part = self.part_size() as u64;
        if len <= part {
            let bytes = pread_exact(&file, 0, len as usize).await?;
            self.inner
                .s3
                .put(&path, bytes.into())
                .await
                .map_err(s3_error)?;
            return Ok(());
        }
        let marker = self.marker_path();
        self.upload = Some(Multipart::start(&self.inner, path, marker).await?);
        let mut at = 0;
        while at < len {
            let n = part.min(len - at);
            let bytes = pread_exact(&file, at, n as usize).await?;
            let upload = self.upload.as_mut().expect("started above");
            upload.send(&self.inner, bytes).await?;
            at += n;
        }
        let mut upload = self.upload.take().expect("started above");
        upload.complete(&self.inner).await?;
        remove_marker(&self.inner, &upload.marker).await;
        Ok(())
    }
}

#[async_trait]
impl StagedContent for S3Staged {
    async fn write(&mut self, mut chunk: &[u8]) -> Result<(), ContentError> {
        while !chunk.is_empty() {
            let room = self.room();
            let n = room.len().min(chunk.len());
            room[..n].copy_from_slice(&chunk[..n]);
            self.filled(n).await?;
            chunk = &chunk[n..];
        }
        Ok(())
    }

    fn room(&mut self) -> &mut [u8] {
        let part_size = self.part_size;
        match &mut self.mode {
            Mode::Stream { buf, filled, .. } => {
                if buf.len() == *filled {
                    buf.resize(*filled + GROW.min(part_size - *filled), 0);
                }
                &mut buf[*filled..]
            }
            Mode::Local { block, .. } => {
                if block.is_empty() {
                    block.resize(GROW, 0);
                }
                block
            }
        }
    }

    async fn filled(&mut self, n: usize) -> Result<(), ContentError> {
        match &mut self.mode {
            Mode::Stream { filled, .. } => {
                *filled += n;
                if *filled == self.part_size {
                    self.send_part().await?;
                }
                Ok(())
            }
            Mode::Local {
                file, len, block, ..
            } => {
                pwrite(file, *len, block[..n].to_vec()).await?;
                *len += n as u64;
                Ok(())
            }
        }
    }

    async fn write_at(&mut self, offset: u64, chunk: &[u8]) -> Result<(), ContentError> {
        let part_size = self.part_size() as u64;
        if let Some((sent, filled)) = self.window()
            && offset >= sent
            && offset + chunk.len() as u64 <= sent + part_size
        {
            let (from, to) = (
                (offset - sent) as usize,
                (offset - sent) as usize + chunk.len(),
            );
            let Mode::Stream { buf, filled: f, .. } = &mut self.mode else {
                unreachable!()
            };
            if buf.len() < to {
                buf.resize(to, 0);
            }
            // A gap between the content and this write reads as zeros, whatever room the
            // buffer handed out earlier held.
            if from > filled {
                buf[filled..from].fill(0);
            }
            buf[from..to].copy_from_slice(chunk);
            *f = filled.max(to);
            if *f as u64 == part_size {
                self.send_part().await?;
            }
            return Ok(());
        }
        self.go_local().await?;
        let (file, len) = self.local();
        let file = file.clone();
        *len = (*len).max(offset + chunk.len() as u64);
        pwrite(&file, offset, chunk.to_vec()).await
    }

    async fn read_at(&mut self, offset: u64, out: &mut [u8]) -> Result<usize, ContentError> {
        if let Some((sent, filled)) = self.window()
            && offset >= sent
        {
            let Mode::Stream { buf, .. } = &self.mode else {
                unreachable!()
            };
            let from = ((offset - sent) as usize).min(filled);
            let n = out.len().min(filled - from);
            out[..n].copy_from_slice(&buf[from..from + n]);
            return Ok(n);
        }
        self.go_local().await?;
        let (file, len) = self.local();
        let want = (out.len() as u64).min(len.saturating_sub(offset)) as usize;
        let bytes = pread_exact(file, offset, want).await?;
        out[..want].copy_from_slice(&bytes);
        Ok(want)
    }

    async fn set_len(&mut self, len: u64) -> Result<(), ContentError> {
        let part_size = self.part_size() as u64;
        if let Some((sent, filled)) = self.window()
            && len >= sent
            && len < sent + part_size
        {
            let to = (len - sent) as usize;
            let Mode::Stream { buf, filled: f, .. } = &mut self.mode else {
                unreachable!()
            };
            if buf.len() < to {
                buf.resize(to, 0);
            }
            if to > filled {
                buf[filled..to].fill(0);
            }
            *f = to;
            return Ok(());
        }
        self.go_local().await?;
        let (file, current) = self.local();
        let file = file.clone();
        *current = len;
        tokio::task::spawn_blocking(move || file.set_len(len))
            .await
            .map_err(|e| ContentError::Other(format!("spill task failed: {e}")))?
            .map_err(io_error)
    }

    async fn commit(mut self: Box<Self>) -> Result<String, ContentError> {
        match &mut self.mode {
            Mode::Stream { buf, filled, .. } => {
                if self.upload.is_none() {
                    buf.truncate(*filled);
                    let bytes = std::mem::take(buf);
                    let path = self.inner.object_path(&self.key)?;
                    self.inner
                        .s3
                        .put(&path, bytes.into())
                        .await
                        .map_err(s3_error)?;
                } else {
                    if *filled > 0 {
                        self.send_part().await?;
                    }
                    let mut upload = self.upload.take().expect("checked above");
                    upload.complete(&self.inner).await?;
                    remove_marker(&self.inner, &upload.marker).await;
                }
            }
            Mode::Local { .. } => self.send_local().await?,
        }
        self.materialized = false;
        if self.checkpointed.take().is_some() {
            crate::checkpoint::clear(&self.inner, &self.key).await;
        }
        Ok(self.key.clone())
    }

    async fn checkpoint(&mut self) -> Result<String, ContentError> {
        self.checkpoint_now().await
    }

    fn take_small(&mut self, max: usize) -> Option<Vec<u8>> {
        // Small: no part went out, and the part in memory holds at most `max` bytes.
        match &mut self.mode {
            Mode::Stream { buf, filled, sent }
                if *sent == 0
                    && *filled <= max
                    && self.upload.is_none()
                    && self.checkpointed.is_none() =>
            {
                buf.truncate(*filled);
                *filled = 0;
                Some(std::mem::take(buf))
            }
            _ => None,
        }
    }

    async fn settle(&mut self) -> Result<(), ContentError> {
        if let Some(upload) = self.upload.as_mut() {
            upload.settle_all().await?;
        }
        Ok(())
    }
}

impl Drop for S3Staged {
    fn drop(&mut self) {
        if let Mode::Local { path, .. } = &self.mode {
            let _ = std::fs::remove_file(path);
        }
        if self.checkpointed.is_some() || (self.upload.is_none() && !self.materialized) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // the abandoned-upload sweep will find the marker
        };
        let (inner, key, upload, materialized) = (
            self.inner.clone(),
            self.key.clone(),
            self.upload.take(),
            self.materialized,
        );
        runtime.spawn(async move {
            if let Some(mut upload) = upload {
                upload.in_flight.abort_all();
                if let Err(e) = inner.s3.abort_multipart(&upload.path, &upload.id).await {
                    tracing::warn!(error = %e, "could not abort an abandoned multipart upload");
                    return; // its marker stays, for the sweep
                }
                remove_marker(&inner, &upload.marker).await;
            }
            if materialized && let Ok(path) = inner.object_path(&key) {
                let _ = inner.s3.delete(&path).await;
            }
        });
    }
}

/// Removes this node's spill files (start-up: what a crash left).
pub(crate) async fn clean_spill_dir(dir: &FsPath) -> Result<usize, ContentError> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_error(e)),
    };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
        tokio::fs::remove_file(entry.path())
            .await
            .map_err(io_error)?;
        removed += 1;
    }
    Ok(removed)
}

fn io_error(e: std::io::Error) -> ContentError {
    if e.raw_os_error() == Some(28) {
        ContentError::Full
    } else {
        ContentError::Other(format!("spill file: {e}"))
    }
}

async fn pwrite(file: &Arc<std::fs::File>, at: u64, bytes: Vec<u8>) -> Result<(), ContentError> {
    let file = file.clone();
    tokio::task::spawn_blocking(move || file.write_all_at(&bytes, at))
        .await
        .map_err(|e| ContentError::Other(format!("spill task failed: {e}")))?
        .map_err(io_error)
}

/// Reads exactly `n` bytes at `at` (the caller knows they are there).
async fn pread_exact(
    file: &Arc<std::fs::File>,
    at: u64,
    n: usize,
) -> Result<Vec<u8>, ContentError> {
    let file = file.clone();
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; n];
        file.read_exact_at(&mut buf, at).map(|()| buf)
    })
    .await
    .map_err(|e| ContentError::Other(format!("spill task failed: {e}")))?
    .map_err(io_error)
}
