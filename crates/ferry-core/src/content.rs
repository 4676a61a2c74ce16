//! The content-store port: where file bytes live, under keys Ferry generates (DESIGN.md §5,
//! invariant 4: no user-supplied name ever becomes a path or a key).
//!
//! An upload is staged, written in bounded chunks, then committed: the store makes the bytes
//! durable (fsync) and only then gives the key, and only then does the Service record the file
//! in the metadata store. A staged upload dropped without commit leaves nothing behind; staging
//! left over by a crash is removed at start-up.

use async_trait::async_trait;
use tokio::io::AsyncRead;

/// Why a content-store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// No space left on the device.
    #[error("no space left for content")]
    Full,
    /// The content for this key does not exist.
    #[error("content not found")]
    NotFound,
    /// The store cannot be reached or refused the request (an object store that is down,
    /// unreachable, or no longer accepts the credentials); worth a retry later.
    #[error("content store unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("content store error: {0}")]
    Other(String),
}

/// How much room a content store has (for SFTP's `statvfs@openssh.com`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Block size the figures count in.
    pub block_size: u64,
    /// Blocks in all.
    pub blocks: u64,
    /// Blocks free.
    pub free_blocks: u64,
    /// Blocks free to an unprivileged writer.
    pub available_blocks: u64,
}

/// A reader of committed content.
pub type ContentReader = std::pin::Pin<Box<dyn AsyncRead + Send>>;

/// A content store (a local directory, or S3-compatible object storage).
#[async_trait]
pub trait ContentStore: Send + Sync + 'static {
    /// Starts a staged upload.
    async fn stage(&self) -> Result<Box<dyn StagedContent>, ContentError>;
    /// Reads committed content from `offset` (the caller limits the length).
    async fn open(&self, key: &str, offset: u64) -> Result<ContentReader, ContentError>;
    /// Removes committed content (idempotent).
    async fn delete(&self, key: &str) -> Result<(), ContentError>;
    /// Removes staged uploads left over by a crash; returns how many.
    async fn clean_staging(&self) -> Result<usize, ContentError>;
    /// The room left, when the store can tell (default: it cannot).
    async fn capacity(&self) -> Result<Option<Capacity>, ContentError> {
        Ok(None)
    }
    /// Keys of committed content last written more than `min_age` ago.
    async fn keys_older_than(
        &self,
        min_age: std::time::Duration,
    ) -> Result<Vec<String>, ContentError>;
    /// Ends uploads that any node started and nobody has continued for `min_age` (a node
    /// killed mid-upload leaves a multipart upload in a bucket); returns how many. A store
    /// whose staging is local to the node cleans it at start-up instead (the default: none).
    async fn sweep_abandoned(&self, _min_age: std::time::Duration) -> Result<usize, ContentError> {
        Ok(0)
    }
    /// Whether the store answers now (`/readyz`); the default, a local directory, always does.
    async fn check(&self) -> Result<(), ContentError> {
        Ok(())
    }
    /// Picks up a staged upload where [`StagedContent::checkpoint`] left it (on any node):
    /// `len` bytes, those of the checkpoint (another length is refused). Bytes written after
    /// it are gone, and so are the upload's later checkpoints: the one resumed is its latest.
    async fn resume(
        &self,
        checkpoint: &str,
        len: u64,
    ) -> Result<Box<dyn StagedContent>, ContentError>;
    /// Removes the staged bytes of a checkpointed upload that nobody will continue (idempotent).
    async fn discard(&self, checkpoint: &str) -> Result<(), ContentError>;
}

/// Checkpointed uploads untouched this long are removed by [`ContentStore::sweep_abandoned`]
/// (a backstop: their owners discard them after a day without activity).
pub const CHECKPOINTED_ABANDONED: std::time::Duration =
    std::time::Duration::from_secs(2 * 24 * 3600);

/// An upload being staged. Dropping it without [`StagedContent::commit`] discards it.
#[async_trait]
pub trait StagedContent: Send {
    /// Appends bytes.
    async fn write(&mut self, chunk: &[u8]) -> Result<(), ContentError>;
    /// Room for the next bytes, to read them into in place (saving [`StagedContent::write`]'s
    /// copy): the caller fills a prefix and then calls [`StagedContent::filled`]. Never empty;
    /// the same region until `filled` is called.
    fn room(&mut self) -> &mut [u8];
    /// Takes the first `n` bytes of [`StagedContent::room`] as appended.
    async fn filled(&mut self, n: usize) -> Result<(), ContentError>;
    /// Writes bytes at `offset`, anywhere (past the end too: the gap reads as zeros). What
    /// [`StagedContent::write`] appends next goes after the furthest byte written.
    async fn write_at(&mut self, offset: u64, chunk: &[u8]) -> Result<(), ContentError>;
    /// Reads staged bytes at `offset` into `buf`; returns how many (0 at the end).
    async fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, ContentError>;
    /// Cuts the staged bytes to `len`, or extends them with zeros.
    async fn set_len(&mut self, len: u64) -> Result<(), ContentError>;
    /// Makes the bytes durable under a new key and returns the key.
    async fn commit(self: Box<Self>) -> Result<String, ContentError>;
    /// Makes every byte so far durable where any node can read it, and returns the description
    /// [`ContentStore::resume`] picks the upload up from. Only for uploads that appended. From
    /// the first checkpoint on, dropping the upload leaves its bytes in place:
    /// [`ContentStore::discard`] removes them.
    async fn checkpoint(&mut self) -> Result<String, ContentError>;
    /// The bytes staged, when they are at most `max` and all still in memory (a small file):
    /// the caller then keeps them elsewhere ([`crate::inline_content`]) and drops this upload,
    /// which leaves nothing behind. `None` otherwise (the default), and then nothing changed.
    fn take_small(&mut self, _max: usize) -> Option<Vec<u8>> {
        None
    }
    /// Waits for every write still on its way (before an upload is dropped in favour of its
    /// last checkpoint, so that no late write lands after another node's).
    async fn settle(&mut self) -> Result<(), ContentError> {
        Ok(())
    }
}
