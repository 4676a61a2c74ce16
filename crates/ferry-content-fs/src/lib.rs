//! Ferry's content store in a local directory (the embedded default).
//!
//! Layout under the root: `staging/<uuid>` for uploads in progress, `objects/<2 hex>/<32 hex>`
//! for committed content. Keys are UUIDs Ferry generates; a key is checked to be 32 hex digits
//! before it is ever joined to a path, so no caller-supplied text becomes a path (DESIGN.md §5,
//! invariant 4). A commit is `fsync(file)`, `rename` into `objects/`, `fsync(directory)`: after
//! it returns, the content survives a crash. Writes go through a fixed-size buffer, whatever
//! the file size (invariant 5).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::content::{Capacity, ContentError, ContentReader, ContentStore, StagedContent};
use tokio::fs;
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};

/// Write buffer of a staged upload.
const BUFFER: usize = 256 * 1024;
/// Bytes of an upload after which a background sync starts (see `Staged::maybe_sync_early`).
const EARLY_SYNC: u64 = 64 * 1024 * 1024;

/// Content kept in a local directory.
#[derive(Debug, Clone)]
pub struct LocalContentStore {
    root: PathBuf,
}

impl LocalContentStore {
    /// A store rooted at `root`, creating its directories.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, ContentError> {
        let root = root.into();
        for dir in ["staging", "objects"] {
            fs::create_dir_all(root.join(dir)).await.map_err(io)?;
        }
        Ok(LocalContentStore { root })
    }

    fn object_path(&self, key: &str) -> Result<PathBuf, ContentError> {
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ContentError::Other("malformed content key".into()));
        }
        Ok(self.root.join("objects").join(&key[..2]).join(key))
    }
}

fn io(e: std::io::Error) -> ContentError {
    if e.raw_os_error() == Some(libc::ENOSPC) || e.raw_os_error() == Some(libc::EDQUOT) {
        ContentError::Full
    } else if e.kind() == ErrorKind::NotFound {
        ContentError::NotFound
    } else {
        ContentError::Other(e.to_string())
    }
}

async fn sync_dir(dir: &Path) -> Result<(), ContentError> {
    fs::File::open(dir)
        .await
        .map_err(io)?
        .sync_all()
        .await
        .map_err(io)
}

#[async_trait]
impl ContentStore for LocalContentStore {
    async fn stage(&self) -> Result<Box<dyn StagedContent>, ContentError> {
        let key = uuid::Uuid::new_v4().simple().to_string();
        let path = self.root.join("staging").join(&key);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(io)?;
        let syncer = Arc::new(file.try_clone().await.map_err(io)?.into_std().await);
        Ok(Box::new(Staged {
            store: self.clone(),
            key,
            path,
            file: Some(BufWriter::with_capacity(BUFFER, file)),
            syncer,
            unsynced: 0,
            syncing: None,
        }))
    }

    async fn open(&self, key: &str, offset: u64) -> Result<ContentReader, ContentError> {
        let mut file = fs::File::open(self.object_path(key)?).await.map_err(io)?;
        if offset > 0 {
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(io)?;
        }
        Ok(Box::pin(file))
    }

    async fn delete(&self, key: &str) -> Result<(), ContentError> {
        match fs::remove_file(self.object_path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn keys_older_than(
        &self,
        min_age: std::time::Duration,
    ) -> Result<Vec<String>, ContentError> {
        let now = std::time::SystemTime::now();
        let mut keys = Vec::new();
        let mut shards = fs::read_dir(self.root.join("objects")).await.map_err(io)?;
        while let Some(shard) = shards.next_entry().await.map_err(io)? {
            if !shard.file_type().await.map_err(io)?.is_dir() {
                continue;
            }
            let mut objects = fs::read_dir(shard.path()).await.map_err(io)?;
            while let Some(object) = objects.next_entry().await.map_err(io)? {
                let key = object.file_name().to_string_lossy().into_owned();
                let old = object
                    .metadata()
                    .await
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age >= min_age);
                if old && self.object_path(&key).is_ok() {
                    keys.push(key);
                }
            }
        }
        Ok(keys)
    }

    async fn capacity(&self) -> Result<Option<Capacity>, ContentError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let st = rustix::fs::statvfs(&root).map_err(|e| io(e.into()))?;
            Ok(Some(Capacity {
                block_size: st.f_frsize,
                blocks: st.f_blocks,
                free_blocks: st.f_bfree,
                available_blocks: st.f_bavail,
            }))
        })
        .await
        .map_err(|e| ContentError::Other(format!("statvfs task failed: {e}")))?
    }

    async fn clean_staging(&self) -> Result<usize, ContentError> {
        let mut removed = 0;
        let mut entries = fs::read_dir(self.root.join("staging")).await.map_err(io)?;
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            fs::remove_file(entry.path()).await.map_err(io)?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// An upload in `staging/`.
struct Staged {
    store: LocalContentStore,
    key: String,
    path: PathBuf,
    file: Option<BufWriter<fs::File>>,
    /// A second handle on the staged file, for the early syncs.
    syncer: Arc<std::fs::File>,
    /// Bytes written since the last early sync started.
    unsynced: u64,
    /// The early sync running, if any.
    syncing: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Staged {
    /// Starts an early sync when enough has been written and none is running: the kernel
    /// writes back while the rest arrives, and the commit's fsync has little left to wait
    /// for. Durability is unchanged (the commit still syncs everything).
    fn maybe_sync_early(&mut self, written: usize) {
        self.unsynced += written as u64;
        if self.unsynced < EARLY_SYNC || self.syncing.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.unsynced = 0;
        let file = Arc::clone(&self.syncer);
        self.syncing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
    }
}

#[async_trait]
impl StagedContent for Staged {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), ContentError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| ContentError::Other("write after commit".into()))?;
        file.write_all(chunk).await.map_err(io)?;
        self.maybe_sync_early(chunk.len());
        Ok(())
    }

    async fn truncate(&mut self, len: u64) -> Result<(), ContentError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| ContentError::Other("truncate after commit".into()))?;
        file.flush().await.map_err(io)?;
        let inner = file.get_mut();
        inner.set_len(len).await.map_err(io)?;
        inner
            .seek(std::io::SeekFrom::Start(len))
            .await
            .map_err(io)?;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<String, ContentError> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| ContentError::Other("committed twice".into()))?;
        file.flush().await.map_err(io)?;
        if let Some(early) = self.syncing.take() {
            // Its outcome does not matter: the sync below covers everything.
            let _ = early.await;
        }
        let file = file.into_inner();
        file.sync_all().await.map_err(io)?;
        drop(file);
        let target = self.store.object_path(&self.key)?;
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        fs::create_dir_all(&dir).await.map_err(io)?;
        fs::rename(&self.path, &target).await.map_err(io)?;
        sync_dir(&dir).await?;
        self.path = PathBuf::new();
        Ok(std::mem::take(&mut self.key))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Not committed: the bytes are discarded at once (crash leftovers go at start-up).
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn staged_content_is_invisible_until_committed_and_gone_if_dropped() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalContentStore::open(dir.path()).await.unwrap();
            let mut staged = store.stage().await.unwrap();
            staged.write(b"hello ").await.unwrap();
            staged.write(b"world").await.unwrap();
            let key = staged.commit().await.unwrap();
            let mut reader = store.open(&key, 6).await.unwrap();
            let mut s = String::new();
            reader.read_to_string(&mut s).await.unwrap();
            assert_eq!(s, "world");

            let mut abandoned = store.stage().await.unwrap();
            abandoned.write(b"partial").await.unwrap();
            drop(abandoned);
            assert_eq!(
                std::fs::read_dir(dir.path().join("staging"))
                    .unwrap()
                    .count(),
                0
            );

            store.delete(&key).await.unwrap();
            store.delete(&key).await.unwrap();
            assert!(matches!(
                store.open(&key, 0).await,
                Err(ContentError::NotFound)
            ));
        });
    }

    #[test]
    fn keys_never_become_arbitrary_paths() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalContentStore::open(dir.path()).await.unwrap();
            for bad in ["../../etc/passwd", "", "zz", &"g".repeat(32), "/abs"] {
                assert!(store.open(bad, 0).await.is_err(), "{bad}");
                assert!(store.delete(bad).await.is_err(), "{bad}");
            }
        });
    }

    #[test]
    fn staging_left_by_a_crash_is_cleaned() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalContentStore::open(dir.path()).await.unwrap();
            std::fs::write(dir.path().join("staging/leftover"), b"x").unwrap();
            assert_eq!(store.clean_staging().await.unwrap(), 1);
        });
    }
}
