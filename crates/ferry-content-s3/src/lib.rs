//! Ferry's content store on S3-compatible object storage (AWS S3, MinIO, Ceph, moto, s3s-fs…).
//!
//! Layout under the URL's prefix: `objects/<2 hex>/<32 hex>` for committed content, and
//! `staging/<32 hex>` for a small marker per multipart upload in progress, holding the upload's
//! ID, so that any node can abort what a killed node left behind ([`S3ContentStore`]'s
//! `sweep_abandoned`). Keys are UUIDs Ferry generates and are checked to be 32 hex digits
//! before they become part of an object name (DESIGN.md §5, invariant 4).
//!
//! An upload streams: appended bytes fill an in-memory part, and each full part is sent while
//! the next fills ([`staged`]). The object exists only once the upload completes, which is
//! before the Service records it, so invariant 3 (nothing visible before its content is
//! durable) holds as on the local directory. Memory is bounded twice: each upload has at most
//! [`PARTS_IN_FLIGHT`] parts on the wire, and the whole store at most
//! [`STORE_PARTS_IN_FLIGHT`].
//!
//! The client is `object_store` (ARCHITECTURE.md says why): its `MultipartStore` interface
//! exposes the upload ID and part IDs, which the marker and a later shared upload state need.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_core::content::{ContentError, ContentReader, ContentStore, StagedContent};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, RetryConfig,
};
use tokio::sync::Semaphore;

pub use location::{Addressing, S3Location};

mod checkpoint;
mod location;
mod multipart;
mod staged;

/// Parts one upload may have on the wire at once: one sending while the next fills is enough
/// to keep a link busy; more would only add memory.
pub const PARTS_IN_FLIGHT: usize = 2;
/// Parts the whole store may have on the wire at once, whatever the number of uploads: with
/// the default 8 MiB part this bounds the memory of parts in flight to 128 MiB.
pub const STORE_PARTS_IN_FLIGHT: usize = 16;

/// Credentials given in Ferry's configuration file (otherwise the usual `AWS_*` variables,
/// then the instance's metadata service, as AWS's own tools look for them).
#[derive(Clone, Default)]
pub struct S3Credentials {
    /// `AWS_ACCESS_KEY_ID`'s equivalent.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`'s equivalent.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"(hidden)")
            .finish()
    }
}

/// Content kept in an S3-compatible bucket.
#[derive(Clone)]
pub struct S3ContentStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) s3: AmazonS3,
    pub(crate) prefix: String,
    pub(crate) part_size: usize,
    /// Where uploads written out of order are kept until they are sent (this node's disk).
    pub(crate) spill_dir: PathBuf,
    /// Permits for parts on the wire, shared by every upload of the store.
    pub(crate) part_permits: Arc<Semaphore>,
    /// What the store is, for errors and logs (`s3://bucket/prefix at endpoint`).
    pub(crate) describe: String,
}

impl std::fmt::Debug for S3ContentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.inner.describe)
    }
}

impl S3ContentStore {
    /// A store for `location`, keeping uploads written out of order under `spill_dir`. Does
    /// not touch the network: [`S3ContentStore::probe`] checks that the bucket answers.
    pub fn new(
        location: &S3Location,
        credentials: Option<S3Credentials>,
        spill_dir: impl Into<PathBuf>,
    ) -> Result<Self, ContentError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_virtual_hosted_style_request(location.addressing == Addressing::VirtualHosted)
            .with_client_options(
                ClientOptions::new()
                    // No limit on a whole request (a download of 1 GiB takes what it takes),
                    // but a connection that says nothing for 30 s has failed.
                    .with_timeout_disabled()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_read_timeout(Duration::from_secs(30))
                    .with_allow_http(
                        location
                            .endpoint
                            .as_deref()
                            .is_some_and(|e| e.starts_with("http://")),
                    ),
            )
            // A few quick retries: an object store that stays away fails the upload in
            // seconds, so the client can retry, rather than holding it for minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
            });
        if let Some(endpoint) = &location.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &location.region {
            builder = builder.with_region(region);
        }
        if let Some(c) = credentials {
            builder = builder
                .with_access_key_id(c.access_key_id)
                .with_secret_access_key(c.secret_access_key);
        }
        let s3 = builder
            .build()
            .map_err(|e| ContentError::Other(format!("object store settings: {e}")))?;
        let describe = location.to_string();
        Ok(S3ContentStore {
            inner: Arc::new(Inner {
                s3,
                prefix: location.prefix.clone(),
                part_size: location.part_size,
                spill_dir: spill_dir.into(),
                part_permits: Arc::new(Semaphore::new(STORE_PARTS_IN_FLIGHT)),
                describe,
            }),
        })
    }

    /// Checks that the bucket answers and takes writes: writes, reads back and removes a
    /// small object. Run at start-up, so that wrong credentials, a missing bucket or an
    /// endpoint that is down stop the server with a clear error instead of failing uploads.
    pub async fn probe(&self) -> Result<(), ContentError> {
        // A name of its own: nodes starting together must not read each other's probe.
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let path = self.inner.path(&format!("probe-{nonce}"));
        let body = format!("ferry {nonce}");
        let who = &self.inner.describe;
        self.inner
            .s3
            .put(&path, body.clone().into())
            .await
            .map_err(|e| ContentError::Other(format!("{who}: cannot write: {e}")))?;
        let read = self
            .inner
            .s3
            .get(&path)
            .await
            .map_err(|e| ContentError::Other(format!("{who}: cannot read: {e}")))?
            .bytes()
            .await
            .map_err(|e| ContentError::Other(format!("{who}: cannot read: {e}")))?;
        if read != body.as_bytes() {
            return Err(ContentError::Other(format!(
                "{who}: an object read back differs from what was written"
            )));
        }
        self.inner
            .s3
            .delete(&path)
            .await
            .map_err(|e| ContentError::Other(format!("{who}: cannot delete: {e}")))
    }
}

impl Inner {
    /// `<prefix>/<rest>`.
    pub(crate) fn path(&self, rest: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.prefix))
        }
    }

    /// Where committed content lives.
    pub(crate) fn object_path(&self, key: &str) -> Result<Path, ContentError> {
        check_key(key)?;
        Ok(self.path(&format!("objects/{}/{key}", &key[..2])))
    }

    /// The marker of a multipart upload in progress.
    pub(crate) fn marker_path(&self, key: &str) -> Path {
        self.path(&format!("staging/{key}"))
    }

    /// Where a checkpointed upload's own objects are: `resumable/<key>/<name>`.
    pub(crate) fn resumable_path(&self, key: &str, name: &str) -> Path {
        self.path(&format!("resumable/{key}/{name}"))
    }
}

pub(crate) fn check_key(key: &str) -> Result<(), ContentError> {
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ContentError::Other("malformed content key".into()));
    }
    Ok(())
}

/// An object store error as the content port says it. Every failed request but a missing
/// object is "unavailable": the endpoint is down or unreachable, the bucket is gone, or the
/// credentials stopped working. None of them is the client's doing, and all of them are
/// worth a retry once an operator or the network has fixed it (error 120, HTTP 503).
pub(crate) fn s3_error(e: object_store::Error) -> ContentError {
    match e {
        object_store::Error::NotFound { .. } => ContentError::NotFound,
        other => ContentError::Unavailable(other.to_string()),
    }
}

/// The name after the last `/`.
fn last_segment(path: &Path) -> Option<&str> {
    path.as_ref().rsplit('/').next()
}

#[async_trait]
impl ContentStore for S3ContentStore {
    async fn stage(&self) -> Result<Box<dyn StagedContent>, ContentError> {
        Ok(Box::new(staged::S3Staged::new(self.inner.clone())))
    }

    async fn open(&self, key: &str, offset: u64) -> Result<ContentReader, ContentError> {
        let path = self.inner.object_path(key)?;
        let options = GetOptions {
            range: (offset > 0).then_some(GetRange::Offset(offset)),
            ..Default::default()
        };
        let result = match self.inner.s3.get_opts(&path, options).await {
            Ok(r) => r,
            // A range starting at or past the end is refused (S3's 416): that reads as nothing,
            // as reading a file at its end does. Whether that was the refusal, the object's
            // size says, asked only on this error path.
            Err(e) if offset > 0 => {
                let meta = self.inner.s3.head(&path).await.map_err(s3_error)?;
                if meta.size <= offset {
                    return Ok(Box::pin(tokio::io::empty()));
                }
                return Err(s3_error(e));
            }
            Err(e) => return Err(s3_error(e)),
        };
        let stream = result
            .into_stream()
            .map_err(|e| std::io::Error::other(e.to_string()));
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
    }

    async fn delete(&self, key: &str) -> Result<(), ContentError> {
        match self.inner.s3.delete(&self.inner.object_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }

    async fn clean_staging(&self) -> Result<usize, ContentError> {
        // Only this node's spill files: another node's uploads in progress are not ours to
        // end; their multipart uploads are swept by age (`sweep_abandoned`).
        staged::clean_spill_dir(&self.inner.spill_dir).await
    }

    async fn keys_older_than(&self, min_age: Duration) -> Result<Vec<String>, ContentError> {
        let cutoff = cutoff_ms(min_age);
        let prefix = self.inner.path("objects");
        let mut listing = self.inner.s3.list(Some(&prefix));
        let mut keys = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(s3_error)?;
            if meta.last_modified.timestamp_millis() > cutoff {
                continue;
            }
            if let Some(key) = last_segment(&meta.location).filter(|k| check_key(k).is_ok()) {
                keys.push(key.to_string());
            }
        }
        Ok(keys)
    }

    async fn sweep_abandoned(&self, min_age: Duration) -> Result<usize, ContentError> {
        let swept = multipart::sweep_abandoned(&self.inner, cutoff_ms(min_age)).await?;
        let long = min_age.max(ferry_core::content::CHECKPOINTED_ABANDONED);
        Ok(swept + checkpoint::sweep(&self.inner, cutoff_ms(long)).await?)
    }

    async fn resume(
        &self,
        checkpoint: &str,
        len: u64,
    ) -> Result<Box<dyn StagedContent>, ContentError> {
        Ok(Box::new(
            checkpoint::resume(&self.inner, checkpoint, len).await?,
        ))
    }

    async fn discard(&self, checkpoint: &str) -> Result<(), ContentError> {
        checkpoint::discard(&self.inner, checkpoint).await
    }

    async fn check(&self) -> Result<(), ContentError> {
        // One listing request: it needs the endpoint, the bucket and the credentials.
        let prefix = self.inner.path("staging");
        self.inner
            .s3
            .list_with_delimiter(Some(&prefix))
            .await
            .map(|_| ())
            .map_err(s3_error)
    }
}

/// The Unix time in milliseconds `min_age` ago. Object times come from the object store's
/// clock, so nodes whose clocks disagree by seconds still agree on what is an hour old.
fn cutoff_ms(min_age: Duration) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.saturating_sub(min_age).as_millis() as i64
}
