//! Ferry's content store in a local directory (the embedded default).
//!
//! Layout under the root: `staging/<uuid>` for uploads in progress, `staging/resumable/<uuid>`
//! for checkpointed ones (tus uploads, which outlive a restart), `objects/<2 hex>/<32 hex>`
//! for committed content. Keys are UUIDs Ferry generates; a key is checked to be 32 hex digits
//! before it is ever joined to a path, so no caller-supplied text becomes a path (DESIGN.md §5,
//! invariant 4). A commit is `fsync(file)`, `rename` into `objects/`, `fsync(directory)`: after
//! it returns, the content survives a crash. Writes go through two fixed 1 MiB blocks with direct
//! I/O where the filesystem allows it ([`staged`] says why), whatever the file size
//! (invariant 5).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use ferry_core::content::{Capacity, ContentError, ContentReader, ContentStore, StagedContent};
use tokio::fs;

use aligned_block::BlockPool;
use object_reader::ObjectReader;
use staged::Staged;

mod aligned_block;
mod object_reader;
mod staged;

/// Content kept in a local directory.
#[derive(Debug, Clone)]
pub struct LocalContentStore {
    root: PathBuf,
    /// Whether staged uploads may use direct I/O (off only in tests of the page-cache path).
    direct_io: bool,
    /// Staging blocks, used again from one upload to the next.
    blocks: BlockPool,
}

impl LocalContentStore {
    /// A store rooted at `root`, creating its directories.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, ContentError> {
        let root = root.into();
        let mut created = false;
        for dir in ["staging", "objects"] {
            let path = root.join(dir);
            if !fs::try_exists(&path).await.unwrap_or(false) {
                fs::create_dir_all(&path).await.map_err(io_error)?;
                created = true;
            }
        }
        if created {
            // New directories' entries are made durable before anything is stored in them.
            sync_dir(&root).await?;
        }
        Ok(LocalContentStore {
            root,
            direct_io: true,
            blocks: BlockPool::default(),
        })
    }

    fn object_path(&self, key: &str) -> Result<PathBuf, ContentError> {
        checked_key(key)?;
        Ok(self.root.join("objects").join(&key[..2]).join(key))
    }

    /// Where checkpointed uploads are staged.
    pub(crate) fn resumable_dir(&self) -> PathBuf {
        self.root.join("staging").join("resumable")
    }

    /// A checkpointed upload's key, file and length; a checkpoint is `<key>:<length>`.
    fn checkpointed(&self, checkpoint: &str) -> Result<(String, PathBuf, u64), ContentError> {
        let unreadable = || ContentError::Other("unreadable upload checkpoint".into());
        let (key, len) = checkpoint.split_once(':').ok_or_else(unreadable)?;
        checked_key(key)?;
        let len = len.parse().map_err(|_| unreadable())?;
        Ok((key.to_string(), self.resumable_dir().join(key), len))
    }
}

/// Whether `entry` was last written `min_age` or more before `now` (unreadable: no).
async fn older_than(
    entry: &fs::DirEntry,
    now: std::time::SystemTime,
    min_age: std::time::Duration,
) -> bool {
    entry
        .metadata()
        .await
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| now.duration_since(t).ok())
        .is_some_and(|age| age >= min_age)
}

/// Refuses anything but the 32 hex digits Ferry makes keys of, before a key meets a path.
fn checked_key(key: &str) -> Result<(), ContentError> {
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ContentError::Other("malformed content key".into()));
    }
    Ok(())
}

pub(crate) fn io_error(e: std::io::Error) -> ContentError {
    if e.raw_os_error() == Some(libc::ENOSPC) || e.raw_os_error() == Some(libc::EDQUOT) {
        ContentError::Full
    } else if e.kind() == ErrorKind::NotFound {
        ContentError::NotFound
    } else {
        ContentError::Other(e.to_string())
    }
}

pub(crate) async fn sync_dir(dir: &Path) -> Result<(), ContentError> {
    fs::File::open(dir)
        .await
        .map_err(io_error)?
        .sync_all()
        .await
        .map_err(io_error)
}

#[async_trait]
impl ContentStore for LocalContentStore {
    async fn stage(&self) -> Result<Box<dyn StagedContent>, ContentError> {
        let key = uuid::Uuid::new_v4().simple().to_string();
        let path = self.root.join("staging").join(&key);
        Ok(Box::new(Staged::new(self.clone(), key, path)))
    }

    async fn open(&self, key: &str, offset: u64) -> Result<ContentReader, ContentError> {
        let file = fs::File::open(self.object_path(key)?)
            .await
            .map_err(io_error)?
            .into_std()
            .await;
        Ok(Box::pin(ObjectReader::new(file, offset)))
    }

    async fn delete(&self, key: &str) -> Result<(), ContentError> {
        match fs::remove_file(self.object_path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn keys_older_than(
        &self,
        min_age: std::time::Duration,
    ) -> Result<Vec<String>, ContentError> {
        let now = std::time::SystemTime::now();
        let mut keys = Vec::new();
        let mut shards = fs::read_dir(self.root.join("objects"))
            .await
            .map_err(io_error)?;
        while let Some(shard) = shards.next_entry().await.map_err(io_error)? {
            if !shard.file_type().await.map_err(io_error)?.is_dir() {
                continue;
            }
            let mut objects = fs::read_dir(shard.path()).await.map_err(io_error)?;
            while let Some(object) = objects.next_entry().await.map_err(io_error)? {
                let key = object.file_name().to_string_lossy().into_owned();
                if older_than(&object, now, min_age).await && self.object_path(&key).is_ok() {
                    keys.push(key);
                }
            }
        }
        Ok(keys)
    }

    async fn capacity(&self) -> Result<Option<Capacity>, ContentError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let st = rustix::fs::statvfs(&root).map_err(|e| io_error(e.into()))?;
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
        let mut entries = fs::read_dir(self.root.join("staging"))
            .await
            .map_err(io_error)?;
        while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
            // `resumable/` holds checkpointed uploads, which outlive a restart.
            if entry.file_type().await.map_err(io_error)?.is_dir() {
                continue;
            }
            fs::remove_file(entry.path()).await.map_err(io_error)?;
            removed += 1;
        }
        Ok(removed)
    }

    async fn resume(
        &self,
        checkpoint: &str,
        len: u64,
    ) -> Result<Box<dyn StagedContent>, ContentError> {
        let (key, path, at) = self.checkpointed(checkpoint)?;
        if at != len {
            return Err(ContentError::Other(format!(
                "the checkpoint holds {at} bytes, not {len}"
            )));
        }
        let (file, direct) =
            staged::reopen(&path, len, self.direct_io)
                .await
                .map_err(|e| match e.kind() {
                    ErrorKind::NotFound => ContentError::NotFound,
                    _ => io_error(e),
                })?;
        Ok(Box::new(Staged::resumed(
            self.clone(),
            key,
            path,
            file,
            len,
            direct,
        )))
    }

    async fn discard(&self, checkpoint: &str) -> Result<(), ContentError> {
        match fs::remove_file(self.checkpointed(checkpoint)?.1).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn sweep_abandoned(&self, min_age: std::time::Duration) -> Result<usize, ContentError> {
        let min_age = min_age.max(ferry_core::content::CHECKPOINTED_ABANDONED);
        let now = std::time::SystemTime::now();
        let mut entries = match fs::read_dir(self.resumable_dir()).await {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_error(e)),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
            if older_than(&entry, now, min_age).await
                && checked_key(&entry.file_name().to_string_lossy()).is_ok()
            {
                fs::remove_file(entry.path()).await.map_err(io_error)?;
                removed += 1;
            }
        }
        Ok(removed)
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
    fn a_small_upload_taken_whole_never_touches_the_disk_and_a_large_one_does() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalContentStore::open(dir.path()).await.unwrap();
            let staging = || {
                std::fs::read_dir(dir.path().join("staging"))
                    .unwrap()
                    .count()
            };
            let mut small = store.stage().await.unwrap();
            small.write(&[5u8; 4096]).await.unwrap();
            assert_eq!(staging(), 0, "no file is made for bytes still in the block");
            assert_eq!(small.take_small(16 * 1024), Some(vec![5u8; 4096]));
            drop(small);
            assert_eq!(staging(), 0);

            let mut large = store.stage().await.unwrap();
            large.write(&pattern(3 << 20, 9)).await.unwrap();
            assert_eq!(staging(), 1, "a full block goes to a file");
            assert_eq!(large.take_small(16 * 1024), None);
            let key = large.commit().await.unwrap();
            let mut back = Vec::new();
            store
                .open(&key, 0)
                .await
                .unwrap()
                .read_to_end(&mut back)
                .await
                .unwrap();
            assert_eq!(back, pattern(3 << 20, 9));

            let empty = store.stage().await.unwrap();
            let key = empty.commit().await.unwrap();
            assert_eq!(
                std::fs::metadata(store.object_path(&key).unwrap())
                    .unwrap()
                    .len(),
                0
            );
        });
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

    /// The page-cache path, as on a filesystem that refuses `O_DIRECT`: past an early sync
    /// (64 MiB), with a cut back, and a tail that is not a whole block.
    #[test]
    fn uploads_without_direct_io_read_back_exactly() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let mut store = LocalContentStore::open(dir.path()).await.unwrap();
            store.direct_io = false;
            let content = pattern(70 * (1 << 20) + 4321, 5);
            let mut staged = store.stage().await.unwrap();
            for chunk in content.chunks(300_007) {
                staged.write(chunk).await.unwrap();
            }
            staged.set_len(66 * (1 << 20) + 1).await.unwrap();
            staged.write(&content[66 * (1 << 20) + 1..]).await.unwrap();
            let key = staged.commit().await.unwrap();
            assert!(read_back(&store, &key).await == content);
        });
    }

    /// Writes at offsets of the client's choosing after in-order ones (direct I/O on, then
    /// left): overwrites, a gap that reads as zeros, reads of staged bytes, a cut and an
    /// extension, then appends after the furthest byte.
    #[test]
    fn writes_at_any_offset_read_back_exactly() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalContentStore::open(dir.path()).await.unwrap();
            let mut expected = pattern(3 * (1 << 20) + 17, 9);
            let mut staged = store.stage().await.unwrap();
            staged.write(&expected).await.unwrap();
            staged.write_at(1000, b"overwritten").await.unwrap();
            expected[1000..1011].copy_from_slice(b"overwritten");
            let far = expected.len() as u64 + 5000;
            staged.write_at(far, b"after a gap").await.unwrap();
            expected.resize(far as usize, 0);
            expected.extend_from_slice(b"after a gap");
            let mut buf = [0u8; 11];
            assert_eq!(staged.read_at(1000, &mut buf).await.unwrap(), 11);
            assert_eq!(&buf, b"overwritten");
            assert_eq!(staged.read_at(far + 6, &mut buf).await.unwrap(), 5);
            staged.set_len(far + 5).await.unwrap();
            expected.truncate(far as usize + 5);
            staged.set_len(far + 100).await.unwrap();
            expected.resize(far as usize + 100, 0);
            staged.write(b"appended").await.unwrap();
            expected.extend_from_slice(b"appended");
            let key = staged.commit().await.unwrap();
            assert!(read_back(&store, &key).await == expected);
        });
    }

    /// Bytes that differ at every offset, so that a block written at the wrong place shows.
    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
            .collect()
    }

    async fn read_back(store: &LocalContentStore, key: &str) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut reader = store.open(key, 0).await.unwrap();
        reader.read_to_end(&mut bytes).await.unwrap();
        bytes
    }

    #[test]
    fn uploads_of_any_length_read_back_exactly() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalContentStore::open(dir.path()).await.unwrap();
            // Around the 4 KiB alignment and the 1 MiB block, in odd-sized chunks.
            for len in [
                0,
                1,
                4095,
                4096,
                4097,
                (1 << 20) - 1,
                1 << 20,
                3 * (1 << 20) + 12345,
            ] {
                let content = pattern(len, len as u8);
                let mut staged = store.stage().await.unwrap();
                for chunk in content.chunks(70_001) {
                    staged.write(chunk).await.unwrap();
                }
                let key = staged.commit().await.unwrap();
                assert!(read_back(&store, &key).await == content, "length {len}");
            }
        });
    }

    #[test]
    fn bytes_filled_in_place_read_back_exactly() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalContentStore::open(dir.path()).await.unwrap();
            let content = pattern(3 * (1 << 20) + 5_000, 3);
            let mut staged = store.stage().await.unwrap();
            // Pieces the size of TLS records, and `write` mixed in.
            for (at, piece) in content.chunks(16_384 + 7).enumerate() {
                if at % 5 == 0 {
                    staged.write(piece).await.unwrap();
                } else {
                    let mut rest = piece;
                    while !rest.is_empty() {
                        let room = staged.room();
                        let n = room.len().min(rest.len());
                        room[..n].copy_from_slice(&rest[..n]);
                        staged.filled(n).await.unwrap();
                        rest = &rest[n..];
                    }
                }
            }
            assert!(staged.filled(usize::MAX).await.is_err());
            let key = staged.commit().await.unwrap();
            assert!(read_back(&store, &key).await == content);
        });
    }

    #[test]
    fn a_cut_takes_back_exactly_what_followed_it() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalContentStore::open(dir.path()).await.unwrap();
            let content = pattern(5 * (1 << 20), 9);
            // Marks inside the block being filled, on an aligned offset already written, and
            // on an unaligned one (which leaves direct I/O for the rest of the upload).
            for mark in [(1 << 20) + 10, 1 << 20, 4096 * 3, 1_000_003] {
                let mut staged = store.stage().await.unwrap();
                staged.write(&content[..mark]).await.unwrap();
                staged.write(&pattern(2 * (1 << 20) + 7, 77)).await.unwrap();
                staged.set_len(mark as u64).await.unwrap();
                staged.write(&content[mark..]).await.unwrap();
                let key = staged.commit().await.unwrap();
                assert!(read_back(&store, &key).await == content, "mark {mark}");
            }
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
