//! Multipart uploads and their markers: a part sent while the next fills (at most
//! [`PARTS_IN_FLIGHT`] per upload, and a permit from the store's pool for each), the
//! completion, and the marker object `staging/<key>` that names each upload in progress so
//! that any node can abort what a killed node left ([`sweep_abandoned`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::content::ContentError;
use futures::StreamExt;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;

use crate::{Inner, PARTS_IN_FLIGHT, s3_error};

/// How often an upload in progress rewrites its marker: a marker older than the sweep's age
/// (an hour) belongs to an upload nobody is sending any more.
const MARKER_REFRESH: Duration = Duration::from_secs(600);

/// A multipart upload being sent.
pub(crate) struct Multipart {
    pub(crate) path: Path,
    pub(crate) id: MultipartId,
    /// Finished parts by index (`None` while on the wire).
    parts: Vec<Option<PartId>>,
    pub(crate) in_flight: JoinSet<(usize, Result<PartId, ContentError>)>,
    /// The marker object naming this upload (`staging/<key>`, or `resumable/<key>/marker`
    /// once checkpointed).
    pub(crate) marker: Path,
    marker_written: Instant,
}

impl Multipart {
    /// Starts a multipart upload to `path` and leaves its marker at `marker`.
    pub(crate) async fn start(
        inner: &Inner,
        path: Path,
        marker: Path,
    ) -> Result<Self, ContentError> {
        let id = inner.s3.create_multipart(&path).await.map_err(s3_error)?;
        let mut upload = Multipart {
            path,
            id,
            parts: Vec::new(),
            in_flight: JoinSet::new(),
            marker,
            marker_written: Instant::now(),
        };
        if let Err(e) = upload.write_marker(inner).await {
            let _ = inner.s3.abort_multipart(&upload.path, &upload.id).await;
            return Err(e);
        }
        Ok(upload)
    }

    /// A multipart upload picked up from a checkpoint: `parts` sent, each with its ETag.
    pub(crate) fn resumed(path: Path, id: MultipartId, parts: Vec<String>, marker: Path) -> Self {
        Multipart {
            path,
            id,
            parts: parts
                .into_iter()
                .map(|content_id| Some(PartId { content_id }))
                .collect(),
            in_flight: JoinSet::new(),
            marker,
            // Refreshed at the first part sent.
            marker_written: Instant::now() - MARKER_REFRESH,
        }
    }

    /// Writes the marker (again) at `marker`, where the sweep looks for it.
    pub(crate) async fn write_marker(&mut self, inner: &Inner) -> Result<(), ContentError> {
        inner
            .s3
            .put(&self.marker, self.id.clone().into())
            .await
            .map_err(s3_error)?;
        self.marker_written = Instant::now();
        Ok(())
    }

    /// Sends the next part, waiting first while this upload, or the store, has as many parts
    /// on the wire as it may.
    pub(crate) async fn send(
        &mut self,
        inner: &Arc<Inner>,
        bytes: Vec<u8>,
    ) -> Result<(), ContentError> {
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.settle_one().await?;
        }
        if self.marker_written.elapsed() >= MARKER_REFRESH {
            self.write_marker(inner).await?;
        }
        let permit = inner
            .part_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ContentError::Other("the content store is closing".into()))?;
        let idx = self.parts.len();
        self.parts.push(None);
        let (inner, path, id) = (inner.clone(), self.path.clone(), self.id.clone());
        self.in_flight.spawn(async move {
            let result = inner
                .s3
                .put_part(&path, &id, idx, PutPayload::from(bytes))
                .await
                .map_err(s3_error);
            drop(permit);
            (idx, result)
        });
        Ok(())
    }

    async fn settle_one(&mut self) -> Result<(), ContentError> {
        match self.in_flight.join_next().await {
            Some(Ok((idx, Ok(part)))) => {
                self.parts[idx] = Some(part);
                Ok(())
            }
            Some(Ok((_, Err(e)))) => Err(e),
            Some(Err(e)) => Err(ContentError::Other(format!("a part upload failed: {e}"))),
            None => Ok(()),
        }
    }

    /// Waits for every part on the wire; returns the ETags of all parts sent, in order.
    pub(crate) async fn settle_all(&mut self) -> Result<Vec<String>, ContentError> {
        while !self.in_flight.is_empty() {
            self.settle_one().await?;
        }
        Ok(self
            .parts
            .iter()
            .flatten()
            .map(|p| p.content_id.clone())
            .collect())
    }

    /// Waits for every part and completes the upload; the object exists from here on.
    pub(crate) async fn complete(&mut self, inner: &Inner) -> Result<(), ContentError> {
        self.settle_all().await?;
        let parts: Vec<PartId> = self.parts.iter().flatten().cloned().collect();
        inner
            .s3
            .complete_multipart(&self.path, &self.id, parts)
            .await
            .map_err(s3_error)?;
        Ok(())
    }
}

pub(crate) async fn remove_marker(inner: &Inner, marker: &Path) {
    if let Err(e) = inner.s3.delete(marker).await {
        tracing::warn!(error = %e, "could not remove an upload's marker (the sweep will)");
    }
}

/// Aborts the multipart uploads whose markers are older than `cutoff` (Unix ms): what a node
/// killed mid-upload left. Returns how many.
pub(crate) async fn sweep_abandoned(inner: &Inner, cutoff: i64) -> Result<usize, ContentError> {
    let prefix = inner.path("staging");
    let markers: Vec<_> = inner
        .s3
        .list(Some(&prefix))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(s3_error)?;
    let mut swept = 0;
    for meta in markers {
        if meta.last_modified.timestamp_millis() > cutoff {
            continue;
        }
        let Some(key) = meta.location.as_ref().rsplit('/').next().map(str::to_owned) else {
            continue;
        };
        let Ok(path) = inner.object_path(&key) else {
            continue;
        };
        let id = match inner.s3.get(&meta.location).await {
            Ok(r) => String::from_utf8_lossy(&r.bytes().await.map_err(s3_error)?).into_owned(),
            Err(object_store::Error::NotFound { .. }) => continue, // finished meanwhile
            Err(e) => return Err(s3_error(e)),
        };
        match inner.s3.abort_multipart(&path, &id).await {
            // Not found: the upload completed or was aborted already; only the marker is left.
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(s3_error(e)),
        }
        match inner.s3.delete(&meta.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(s3_error(e)),
        }
        tracing::info!(key = %key, "abandoned multipart upload aborted");
        swept += 1;
    }
    Ok(swept)
}
