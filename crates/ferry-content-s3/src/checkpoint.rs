//! Checkpoints of an upload to the bucket, so that any node continues it (tus uploads).
//!
//! A checkpoint waits for the parts on the wire and writes the part still in memory, the
//! *tail*, as an object of its own (`resumable/<key>/tail-<uuid>`): an incomplete multipart
//! upload cannot be read back, and S3 takes no part smaller than 5 MiB but the last. What it
//! returns names the multipart upload, its parts' ETags and the tail. Resuming reads the tail
//! back into memory and goes on sending parts where the checkpoint stopped; the part numbers
//! follow from the offset, so a writer that resumes never needs what another wrote after the
//! checkpoint.
//!
//! Every checkpoint's tail has a name of its own, and a tail is removed only two checkpoints
//! later, when the metadata store surely names a newer one: a checkpoint whose record a node
//! failed to write (it lost the upload to another) never removes what the record names. The
//! multipart upload's marker moves to `resumable/<key>/marker`, beyond the hour-old sweep of
//! `staging/`; everything under `resumable/<key>/` goes at the commit, on
//! [`discard`], or after [`ferry_core::content::CHECKPOINTED_ABANDONED`] without a change.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_core::content::ContentError;
use futures::StreamExt;
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use crate::multipart::{Multipart, remove_marker};
use crate::staged::{Mode, S3Staged};
use crate::{Inner, check_key, s3_error};

/// The tail objects of the last two checkpoints (names under `resumable/<key>/`).
#[derive(Default)]
pub(crate) struct Tails {
    last: Option<String>,
    older: Option<String>,
}

/// What a checkpoint says, as the metadata store keeps it.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    key: String,
    part_size: usize,
    /// The multipart upload's ID, once a part was sent.
    upload: Option<String>,
    /// The ETags of the parts sent, in order.
    parts: Vec<String>,
    /// The tail object's name, when the tail is not empty.
    tail: Option<String>,
    tail_len: u64,
}

const MARKER: &str = "marker";

fn bad(what: &str) -> ContentError {
    ContentError::Other(format!("unreadable upload checkpoint: {what}"))
}

fn checked_tail(name: &str) -> Result<(), ContentError> {
    match name.strip_prefix("tail-") {
        Some(id) if check_key(id).is_ok() => Ok(()),
        _ => Err(bad("tail name")),
    }
}

impl S3Staged {
    /// Where this upload's multipart marker goes: `staging/` until its first checkpoint.
    pub(crate) fn marker_path(&self) -> Path {
        if self.checkpointed.is_some() {
            self.inner.resumable_path(&self.key, MARKER)
        } else {
            self.inner.marker_path(&self.key)
        }
    }

    /// [`ferry_core::content::StagedContent::checkpoint`] (see the module's documentation).
    pub(crate) async fn checkpoint_now(&mut self) -> Result<String, ContentError> {
        let Mode::Stream { buf, filled, sent } = &self.mode else {
            return Err(ContentError::Other(
                "an upload written out of order cannot be checkpointed".into(),
            ));
        };
        let (tail_bytes, sent) = (buf[..*filled].to_vec(), *sent);
        let first = self.checkpointed.is_none();
        self.checkpointed.get_or_insert_with(Tails::default);
        let resumable_marker = self.marker_path();
        let (upload_id, parts) = match self.upload.as_mut() {
            Some(upload) => {
                let parts = upload.settle_all().await?;
                if first {
                    let old = std::mem::replace(&mut upload.marker, resumable_marker);
                    upload.write_marker(&self.inner).await?;
                    remove_marker(&self.inner, &old).await;
                }
                (Some(upload.id.clone()), parts)
            }
            None => (None, Vec::new()),
        };
        if parts.len() as u64 * self.part_size as u64 != sent {
            return Err(ContentError::Other(format!(
                "{} parts of {} bytes sent, but {sent} bytes counted",
                parts.len(),
                self.part_size
            )));
        }
        let tail_len = tail_bytes.len() as u64;
        let tail = if tail_bytes.is_empty() {
            None
        } else {
            let name = format!("tail-{}", uuid::Uuid::new_v4().simple());
            let path = self.inner.resumable_path(&self.key, &name);
            self.inner
                .s3
                .put(&path, tail_bytes.into())
                .await
                .map_err(s3_error)?;
            Some(name)
        };
        let tails = self.checkpointed.as_mut().expect("set above");
        if let Some(older) = std::mem::replace(&mut tails.older, tails.last.take()) {
            let path = self.inner.resumable_path(&self.key, &older);
            if let Err(e) = self.inner.s3.delete(&path).await {
                tracing::warn!(error = %e, "could not remove an old checkpoint's tail (swept later)");
            }
        }
        tails.last.clone_from(&tail);
        serde_json::to_string(&Checkpoint {
            key: self.key.clone(),
            part_size: self.part_size,
            upload: upload_id,
            parts,
            tail,
            tail_len,
        })
        .map_err(|e| ContentError::Other(format!("checkpoint: {e}")))
    }
}

/// [`ferry_core::content::ContentStore::resume`].
pub(crate) async fn resume(
    inner: &Arc<Inner>,
    checkpoint: &str,
    len: u64,
) -> Result<S3Staged, ContentError> {
    let c: Checkpoint = serde_json::from_str(checkpoint).map_err(|_| bad("not JSON"))?;
    check_key(&c.key)?;
    if c.part_size == 0 || c.tail_len >= c.part_size as u64 {
        return Err(bad("part size"));
    }
    let sent = c.parts.len() as u64 * c.part_size as u64;
    if sent + c.tail_len != len {
        return Err(ContentError::Other(format!(
            "the checkpoint holds {} bytes, not {len}",
            sent + c.tail_len
        )));
    }
    let buf = match &c.tail {
        Some(name) => {
            checked_tail(name)?;
            let path = inner.resumable_path(&c.key, name);
            let bytes = inner
                .s3
                .get(&path)
                .await
                .map_err(s3_error)?
                .bytes()
                .await
                .map_err(s3_error)?;
            if bytes.len() as u64 != c.tail_len {
                return Err(bad("tail length"));
            }
            bytes.to_vec()
        }
        None if c.tail_len == 0 => Vec::new(),
        None => return Err(bad("tail missing")),
    };
    let upload = match c.upload {
        Some(id) => Some(Multipart::resumed(
            inner.object_path(&c.key)?,
            id,
            c.parts,
            inner.resumable_path(&c.key, MARKER),
        )),
        None if c.parts.is_empty() => None,
        None => return Err(bad("parts without an upload")),
    };
    Ok(S3Staged {
        inner: Arc::clone(inner),
        key: c.key,
        part_size: c.part_size,
        mode: Mode::Stream {
            filled: buf.len(),
            buf,
            sent,
        },
        upload,
        materialized: false,
        checkpointed: Some(Tails {
            last: c.tail,
            older: None,
        }),
    })
}

/// [`ferry_core::content::ContentStore::discard`]: aborts the multipart upload and removes
/// the tails and the marker.
pub(crate) async fn discard(inner: &Inner, checkpoint: &str) -> Result<(), ContentError> {
    let c: Checkpoint = serde_json::from_str(checkpoint).map_err(|_| bad("not JSON"))?;
    check_key(&c.key)?;
    if let Some(tail) = &c.tail {
        checked_tail(tail)?;
    }
    abort_marked(inner, &c.key).await?;
    remove_all(inner, &c.key).await
}

/// Aborts the multipart upload that `resumable/<key>/marker` names, if the marker is still
/// there (a second discard finds none: some servers refuse to abort an upload twice).
async fn abort_marked(inner: &Inner, key: &str) -> Result<(), ContentError> {
    let marker = inner.resumable_path(key, MARKER);
    let id = match inner.s3.get(&marker).await {
        Ok(r) => String::from_utf8_lossy(&r.bytes().await.map_err(s3_error)?).into_owned(),
        Err(object_store::Error::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(s3_error(e)),
    };
    match inner
        .s3
        .abort_multipart(&inner.object_path(key)?, &id)
        .await
    {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(s3_error(e)),
    }
}

/// Removes a committed upload's tails and marker (what fails is swept later).
pub(crate) async fn clear(inner: &Inner, key: &str) {
    if let Err(e) = remove_all(inner, key).await {
        tracing::warn!(error = %e, "could not remove a committed upload's checkpoints (swept later)");
    }
}

async fn remove_all(inner: &Inner, key: &str) -> Result<(), ContentError> {
    let prefix = inner.path(&format!("resumable/{key}"));
    let objects: Vec<_> = inner.s3.list(Some(&prefix)).collect().await;
    for meta in objects {
        let meta = meta.map_err(s3_error)?;
        match inner.s3.delete(&meta.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(s3_error(e)),
        }
    }
    Ok(())
}

/// Removes checkpointed uploads whose newest object is older than `cutoff` (Unix ms): what
/// nobody discarded (a node killed between a checkpoint and its record). Returns how many.
pub(crate) async fn sweep(inner: &Inner, cutoff: i64) -> Result<usize, ContentError> {
    let prefix = inner.path("resumable");
    let mut newest: HashMap<String, i64> = HashMap::new();
    let mut listing = inner.s3.list(Some(&prefix));
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(s3_error)?;
        let mut segments = meta.location.as_ref().rsplit('/');
        let (Some(_name), Some(key)) = (segments.next(), segments.next()) else {
            continue;
        };
        if check_key(key).is_err() {
            continue;
        }
        let at = meta.last_modified.timestamp_millis();
        let entry = newest.entry(key.to_string()).or_insert(at);
        *entry = (*entry).max(at);
    }
    let mut swept = 0;
    for (key, at) in newest {
        if at > cutoff {
            continue;
        }
        abort_marked(inner, &key).await?;
        remove_all(inner, &key).await?;
        tracing::info!(key = %key, "abandoned checkpointed upload removed");
        swept += 1;
    }
    Ok(swept)
}
