//! An upload in `staging/`, written with direct I/O through two aligned 1 MiB blocks. The file
//! is made when the first block goes to it: an upload small enough to be kept in the metadata
//! store never touches the disk here (no create, no unlink).
//!
//! Why direct I/O: `perf` on a 1 GiB HTTP upload showed 62 % of the server's time in the
//! kernel's copy into the page cache (which also allocates the cache's pages, expensive on a
//! virtual machine), and the commit's fsync then wrote the whole cache out again. With
//! `O_DIRECT` the device takes the bytes from Ferry's own block, so the copy goes, and the
//! commit's fsync has only metadata and the device's cache left. One block fills while the
//! previous one is written on a blocking thread, so the network and the disk overlap.
//!
//! Where a filesystem refuses direct I/O (at `open`, or with `EINVAL` on a write), for the
//! last, partial block, and after a cut to an unaligned length, the same code writes
//! through the page cache instead and, as before direct I/O, syncs in the background every
//! 64 MiB so that the commit's fsync has little left.

use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::content::{ContentError, StagedContent};
use tokio::task::JoinHandle;

use crate::aligned_block::{ALIGN, AlignedBlock, BLOCK};
use crate::{LocalContentStore, io_error, sync_dir};

/// Bytes written through the page cache after which a background sync starts.
const EARLY_SYNC: u64 = 64 * 1024 * 1024;

/// Opens `path` for reading and writing (creating it, when `create`), with `O_DIRECT` when
/// `direct` asks for it and the filesystem allows it. Returns the file and whether it is
/// direct. Blocking.
fn open_staging(path: &Path, create: bool, direct: bool) -> io::Result<(std::fs::File, bool)> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = |flags: i32| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create)
            .custom_flags(flags)
            .open(path)
    };
    if !direct {
        return Ok((open(0)?, false));
    }
    match open(libc::O_DIRECT) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok((open(0)?, false)),
        Err(e) => Err(e),
    }
}

/// Opens a new staging file, with `O_DIRECT` where the filesystem allows it (and `direct_io`
/// asks for it). Returns the file and whether it is direct.
pub(crate) async fn create(
    path: &Path,
    direct_io: bool,
) -> Result<(std::fs::File, bool), ContentError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || open_staging(&path, true, direct_io))
        .await
        .map_err(|e| ContentError::Other(format!("open task failed: {e}")))?
        .map_err(io_error)
}

/// Opens a checkpointed upload's file to go on at `len` (what follows it, a chunk taken back
/// or cut off, is cut away), with `O_DIRECT` when `direct_io` asks for it, the filesystem
/// allows it and `len` is aligned (so the next blocks are). Returns the file and whether it
/// is direct.
pub(crate) async fn reopen(
    path: &Path,
    len: u64,
    direct_io: bool,
) -> io::Result<(std::fs::File, bool)> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let aligned = len.is_multiple_of(ALIGN as u64);
        let (file, direct) = open_staging(&path, false, direct_io && aligned)?;
        let have = file.metadata()?.len();
        if have < len {
            return Err(io::Error::other(format!(
                "a checkpointed upload holds {have} bytes of {len}"
            )));
        }
        file.set_len(len)?;
        Ok((file, direct))
    })
    .await
    .map_err(|e| io::Error::other(format!("open task failed: {e}")))?
}

/// Switches `O_DIRECT` off for what follows on `file`.
fn stop_direct(file: &std::fs::File) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(file)?;
    rustix::fs::fcntl_setfl(file, flags - rustix::fs::OFlags::DIRECT)?;
    Ok(())
}

/// Writes `bytes` at `offset`, directly if `direct` and the length allows it, else through the
/// page cache. Returns whether the file is still direct.
fn write_block(file: &std::fs::File, bytes: &[u8], offset: u64, direct: bool) -> io::Result<bool> {
    if direct && !bytes.len().is_multiple_of(ALIGN) {
        stop_direct(file)?;
        file.write_all_at(bytes, offset)?;
        return Ok(false);
    }
    match file.write_all_at(bytes, offset) {
        // The filesystem accepted O_DIRECT at open but not this write: write the whole block
        // again, from its start, through the page cache.
        Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
            stop_direct(file)?;
            file.write_all_at(bytes, offset)?;
            Ok(false)
        }
        result => result.map(|()| direct),
    }
}

/// A block on its way to the file, and what came of it.
type InFlight = JoinHandle<(AlignedBlock, io::Result<bool>)>;

/// An upload in `staging/`.
pub(crate) struct Staged {
    store: LocalContentStore,
    key: String,
    /// The staging file's path; empty once committed (nothing left to remove).
    path: PathBuf,
    /// The staging file, once something needed it.
    file: Option<Arc<std::fs::File>>,
    /// Whether writes still go around the page cache (before the file is made: whether they
    /// may).
    direct: bool,
    /// The block being filled; it goes to the file at `offset`.
    block: Option<AlignedBlock>,
    /// A block back from the file, to fill next.
    spare: Option<AlignedBlock>,
    /// The previous block, being written.
    in_flight: Option<InFlight>,
    /// Bytes written to the file, or on their way.
    offset: u64,
    /// Bytes written through the page cache since the last early sync started.
    unsynced: u64,
    /// The early sync running, if any.
    syncing: Option<JoinHandle<io::Result<()>>>,
    /// A write failed: what is staged is incomplete, so nothing more is taken and nothing is
    /// committed.
    failed: bool,
    /// Checkpointed: the file is in `staging/resumable/` and outlives this value.
    checkpointed: bool,
}

impl Staged {
    /// A new upload, its file not made yet.
    pub(crate) fn new(store: LocalContentStore, key: String, path: PathBuf) -> Self {
        let direct = store.direct_io;
        Staged {
            store,
            key,
            path,
            file: None,
            direct,
            block: None,
            spare: None,
            in_flight: None,
            offset: 0,
            unsynced: 0,
            syncing: None,
            failed: false,
            checkpointed: false,
        }
    }

    /// An upload picked up from its checkpoint: `file` (in `staging/resumable/`) holds `len`
    /// bytes, and what follows is appended (directly, if `direct`).
    pub(crate) fn resumed(
        store: LocalContentStore,
        key: String,
        path: PathBuf,
        file: std::fs::File,
        len: u64,
        direct: bool,
    ) -> Self {
        let mut staged = Staged::new(store, key, path);
        staged.file = Some(Arc::new(file));
        staged.direct = direct;
        staged.offset = len;
        staged.checkpointed = true;
        staged
    }

    /// Refuses to go on after a commit or a failed write.
    fn usable(&self) -> Result<(), ContentError> {
        if self.path.as_os_str().is_empty() {
            Err(ContentError::Other(
                "the upload was already committed".into(),
            ))
        } else if self.failed {
            Err(ContentError::Other(
                "an earlier write of this upload failed".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// The block being filled, taking the spare (or one from the pool) if there is none.
    fn filling(&mut self) -> &mut AlignedBlock {
        let (spare, pool) = (&mut self.spare, &self.store.blocks);
        self.block
            .get_or_insert_with(|| spare.take().unwrap_or_else(|| pool.take()))
    }

    /// The staging file, made now if nothing needed it before.
    async fn file(&mut self) -> Result<Arc<std::fs::File>, ContentError> {
        if let Some(file) = &self.file {
            return Ok(Arc::clone(file));
        }
        let made = create(&self.path, self.direct).await;
        self.failed = made.is_err();
        let (file, direct) = made?;
        let file = Arc::new(file);
        self.file = Some(Arc::clone(&file));
        self.direct = direct;
        Ok(file)
    }

    /// Waits for the block being written, takes it back as the spare, and reports its error.
    async fn settle(&mut self) -> Result<(), ContentError> {
        if let Some(task) = self.in_flight.take() {
            let (mut block, result) = task.await.map_err(|e| {
                self.failed = true;
                ContentError::Other(format!("write task failed: {e}"))
            })?;
            block.len = 0;
            self.spare = Some(block);
            self.direct = result.map_err(|e| {
                self.failed = true;
                io_error(e)
            })?;
        }
        Ok(())
    }

    /// Sends the block being filled to the file, after the previous one has landed.
    async fn send_block(&mut self) -> Result<(), ContentError> {
        self.settle().await?;
        let Some(block) = self.block.take() else {
            return Ok(());
        };
        if block.len == 0 {
            self.block = Some(block);
            return Ok(());
        }
        let file = match self.file().await {
            Ok(file) => file,
            Err(e) => {
                self.block = Some(block);
                return Err(e);
            }
        };
        let len = block.len as u64;
        let (offset, direct) = (self.offset, self.direct);
        self.offset += len;
        let writing = Arc::clone(&file);
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let result = write_block(&writing, block.bytes(), offset, direct);
            (block, result)
        }));
        if !direct {
            self.maybe_sync_early(&file, len);
        }
        Ok(())
    }

    /// Starts an early sync when enough has gone through the page cache and none is running:
    /// the kernel writes back while the rest arrives. Durability is unchanged (the commit
    /// still syncs everything).
    fn maybe_sync_early(&mut self, file: &Arc<std::fs::File>, written: u64) {
        self.unsynced += written;
        if self.unsynced < EARLY_SYNC || self.syncing.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.unsynced = 0;
        let file = Arc::clone(file);
        self.syncing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
    }

    /// Sends the block being filled to the file and leaves direct I/O, before a read or a
    /// write at an offset of the client's choosing (small and unaligned: the page cache suits
    /// them, and direct I/O would refuse them).
    async fn leave_direct(&mut self) -> Result<(), ContentError> {
        self.send_block().await?;
        self.settle().await?;
        if self.direct {
            let stopped = self.on_file(stop_direct).await;
            self.failed = stopped.is_err();
            stopped?;
            self.direct = false;
        }
        Ok(())
    }

    /// Runs `f` on the file (made first if need be) on a blocking thread.
    async fn on_file<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
    ) -> Result<T, ContentError> {
        let file = self.file().await?;
        tokio::task::spawn_blocking(move || f(&file))
            .await
            .map_err(|e| ContentError::Other(format!("file task failed: {e}")))?
            .map_err(io_error)
    }
}

#[async_trait]
impl StagedContent for Staged {
    async fn write(&mut self, mut chunk: &[u8]) -> Result<(), ContentError> {
        self.usable()?;
        while !chunk.is_empty() {
            let block = self.filling();
            let n = block.fill(chunk);
            chunk = &chunk[n..];
            if block.is_full() {
                self.send_block().await?;
            }
        }
        Ok(())
    }

    fn room(&mut self) -> &mut [u8] {
        self.filling().room()
    }

    async fn filled(&mut self, n: usize) -> Result<(), ContentError> {
        self.usable()?;
        let block = self.filling();
        if n > BLOCK - block.len {
            return Err(ContentError::Other("filled beyond the room given".into()));
        }
        block.len += n;
        if block.is_full() {
            self.send_block().await?;
        }
        Ok(())
    }

    async fn write_at(&mut self, offset: u64, chunk: &[u8]) -> Result<(), ContentError> {
        self.usable()?;
        self.leave_direct().await?;
        let end = offset + chunk.len() as u64;
        let bytes = chunk.to_vec();
        let written = self
            .on_file(move |file| file.write_all_at(&bytes, offset))
            .await;
        self.failed = written.is_err();
        written?;
        self.offset = self.offset.max(end);
        Ok(())
    }

    async fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, ContentError> {
        self.usable()?;
        self.leave_direct().await?;
        let len = buf.len();
        let bytes = self
            .on_file(move |file| {
                let mut bytes = vec![0u8; len];
                let mut n = 0;
                while n < len {
                    match file.read_at(&mut bytes[n..], offset + n as u64) {
                        Ok(0) => break,
                        Ok(k) => n += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                bytes.truncate(n);
                Ok(bytes)
            })
            .await?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }

    async fn set_len(&mut self, len: u64) -> Result<(), ContentError> {
        self.usable()?;
        self.leave_direct().await?;
        let cut = self.on_file(move |file| file.set_len(len)).await;
        self.failed = cut.is_err();
        cut?;
        self.offset = len;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<String, ContentError> {
        self.usable()?;
        self.send_block().await?;
        self.settle().await?;
        if let Some(early) = self.syncing.take() {
            // Its outcome does not matter: the sync below covers everything.
            let _ = early.await;
        }
        self.on_file(|file| file.sync_all()).await?;
        let target = self.store.object_path(&self.key)?;
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        // The first object of a fan-out directory creates it; that new entry in `objects/`
        // must be durable too, or a crash could lose the directory with the file in it.
        let created = match tokio::fs::create_dir(&dir).await {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(_) => {
                tokio::fs::create_dir_all(&dir).await.map_err(io_error)?;
                true
            }
        };
        tokio::fs::rename(&self.path, &target)
            .await
            .map_err(io_error)?;
        self.path = PathBuf::new();
        sync_dir(&dir).await?;
        if created && let Some(objects) = dir.parent() {
            sync_dir(objects).await?;
        }
        Ok(std::mem::take(&mut self.key))
    }

    async fn checkpoint(&mut self) -> Result<String, ContentError> {
        self.usable()?;
        self.send_block().await?;
        self.settle().await?;
        self.on_file(|file| file.sync_data()).await?;
        if !self.checkpointed {
            let dir = self.store.resumable_dir();
            tokio::fs::create_dir_all(&dir).await.map_err(io_error)?;
            let target = dir.join(&self.key);
            tokio::fs::rename(&self.path, &target)
                .await
                .map_err(io_error)?;
            sync_dir(&dir).await?;
            self.path = target;
            self.checkpointed = true;
        }
        Ok(format!("{}:{}", self.key, self.offset))
    }

    async fn settle(&mut self) -> Result<(), ContentError> {
        Staged::settle(self).await
    }

    fn take_small(&mut self, max: usize) -> Option<Vec<u8>> {
        // Small: nothing went to the file yet, and the block holds at most `max` bytes.
        let fits = self.offset == 0
            && self.in_flight.is_none()
            && !self.checkpointed
            && !self.failed
            && self.block.as_ref().is_none_or(|b| b.len <= max);
        if !fits {
            return None;
        }
        let Some(block) = self.block.take() else {
            return Some(Vec::new());
        };
        let bytes = block.bytes().to_vec();
        self.store.blocks.give(block);
        Some(bytes)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Not committed: the bytes are discarded at once (crash leftovers go at start-up). A
        // block still being written lands in the unlinked file and goes with it. A checkpointed
        // upload stays for whoever continues it.
        if self.file.is_some() && !self.path.as_os_str().is_empty() && !self.checkpointed {
            let _ = std::fs::remove_file(&self.path);
        }
        for block in [self.block.take(), self.spare.take()].into_iter().flatten() {
            self.store.blocks.give(block);
        }
    }
}
