//! Small files' content in the metadata store (issue 21). A file of at most
//! `ServiceConfig::inline_max_bytes` is recorded with its bytes in the same transaction as its
//! version, under a key starting with [`INLINE_PREFIX`]: one database commit makes it durable
//! and visible together, where a file in the content store costs its own fsync, its
//! directory's fsync and then the commit (invariant 3 holds either way: nothing is visible
//! before its bytes are durable).
//!
//! [`WithInline`] puts the two behind the one content-store port, so that every reader
//! (downloads, ranges, SFTP reads, appends, versions, archives) and the purge go through the
//! same calls whatever holds the bytes.

use std::sync::Arc;

use async_trait::async_trait;

use crate::content::{Capacity, ContentError, ContentReader, ContentStore, StagedContent};
use crate::store::{MetadataStore, StoreResult};

/// What an inline content key starts with (content stores make 32 hex digits, never this).
pub const INLINE_PREFIX: &str = "inline-";

/// Whether `key` names content kept in the metadata store.
pub fn is_inline(key: &str) -> bool {
    key.starts_with(INLINE_PREFIX)
}

/// A new inline content key.
pub fn new_inline_key() -> String {
    format!("{INLINE_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// The metadata store's side: reading and removing inline content (writing it is part of the
/// change that records the version, `StoreTx::insert_inline_content`).
#[async_trait]
pub trait InlineContents: Send + Sync {
    /// The bytes kept under `key`, if any.
    async fn inline_content(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Removes the bytes kept under `key` (idempotent).
    async fn delete_inline_content(&self, key: &str) -> StoreResult<()>;
}

/// The content store with inline content in front of it (see the module's documentation).
pub(crate) struct WithInline {
    pub(crate) inner: Arc<dyn ContentStore>,
    pub(crate) store: Arc<dyn MetadataStore>,
}

fn unavailable(e: crate::store::StoreError) -> ContentError {
    ContentError::Unavailable(e.to_string())
}

#[async_trait]
impl ContentStore for WithInline {
    async fn stage(&self) -> Result<Box<dyn StagedContent>, ContentError> {
        self.inner.stage().await
    }

    async fn open(&self, key: &str, offset: u64) -> Result<ContentReader, ContentError> {
        if !is_inline(key) {
            return self.inner.open(key, offset).await;
        }
        let mut bytes = self
            .store
            .inline_content(key)
            .await
            .map_err(unavailable)?
            .ok_or(ContentError::NotFound)?;
        let from = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        bytes.drain(..from);
        Ok(Box::pin(std::io::Cursor::new(bytes)))
    }

    async fn delete(&self, key: &str) -> Result<(), ContentError> {
        if is_inline(key) {
            return self
                .store
                .delete_inline_content(key)
                .await
                .map_err(unavailable);
        }
        self.inner.delete(key).await
    }

    async fn clean_staging(&self) -> Result<usize, ContentError> {
        self.inner.clean_staging().await
    }

    async fn capacity(&self) -> Result<Option<Capacity>, ContentError> {
        self.inner.capacity().await
    }

    async fn keys_older_than(
        &self,
        min_age: std::time::Duration,
    ) -> Result<Vec<String>, ContentError> {
        self.inner.keys_older_than(min_age).await
    }

    async fn sweep_abandoned(&self, min_age: std::time::Duration) -> Result<usize, ContentError> {
        self.inner.sweep_abandoned(min_age).await
    }

    async fn check(&self) -> Result<(), ContentError> {
        self.inner.check().await
    }

    async fn resume(
        &self,
        checkpoint: &str,
        len: u64,
    ) -> Result<Box<dyn StagedContent>, ContentError> {
        self.inner.resume(checkpoint, len).await
    }

    async fn discard(&self, checkpoint: &str) -> Result<(), ContentError> {
        self.inner.discard(checkpoint).await
    }
}
