//! Resumable uploads (tus) that any node continues: an [`Upload`] checkpointed after each
//! request ([`Upload::checkpoint`]: its bytes durable in the content store, the digest's state
//! kept), and where it stands kept in the metadata store ([`crate::transfer_state`]).
//!
//! A request that continues an upload first takes its *hold* (one writer at a time, across
//! nodes), picks the upload up from its last checkpoint with every upload check made again,
//! and ends by recording a new checkpoint (or the committed file) and letting go. The holder
//! renews its hold while it receives; a node that dies lets it run out after [`HOLD_MS`].
//! A request that finds the upload held asks for it, and the holder lets go at its next
//! renewal: a client that reconnects (to any node) takes its upload over within seconds.
//! What is acknowledged to a client is what a checkpoint recorded, so a node killed at any
//! moment loses nothing acknowledged.

use std::time::Duration;

use super::resumable_audit::StoredRequest;
use super::{FileView, Service, SessionContext, Upload, UploadCheckpoint, UploadRequest};
use crate::error::{Error, Result};
use crate::transfer_state::{Hold, StoredUpload, UploadPosition};

/// How long a hold lasts unless renewed.
pub const HOLD_MS: i64 = 10_000;
/// How often a holder renews its hold (and learns whether another asks for it).
pub const RENEW_EVERY: Duration = Duration::from_secs(2);
/// Most uploads in progress, in all.
const MAX_UPLOADS: i64 = 10_000;
/// Most uploads in progress for one owner (a token, or a web-client user).
const MAX_UPLOADS_PER_OWNER: i64 = 1_000;
/// Uploads idle this long are forgotten, their staged bytes removed.
const IDLE_EXPIRY_MS: i64 = 24 * 3600 * 1000;
/// A committed upload is remembered this long, so that a client whose last answer was lost
/// learns from `HEAD` that its file is stored.
const DONE_EXPIRY_MS: i64 = 3600 * 1000;
/// Uploads forgotten per sweep.
const SWEEP_BATCH: i64 = 500;

impl Service {
    /// Whether `owner_key` may start another resumable upload (the bounds count uploads in
    /// progress, not those committed: a link that takes many files a day is not refused for
    /// the files it took).
    pub async fn resumable_room(&self, owner_key: &str) -> Result<bool> {
        let (total, mine) = self.store.uploads_in_progress(owner_key).await?;
        Ok(total < MAX_UPLOADS && mine < MAX_UPLOADS_PER_OWNER)
    }

    /// Makes a new upload resumable under `id`, nobody holding it: its first checkpoint.
    pub async fn store_resumable(
        &self,
        id: &str,
        owner_key: &str,
        length: u64,
        upload: &mut Upload,
    ) -> Result<()> {
        let at = upload.checkpoint().await?;
        let request = StoredRequest::to_column(upload.context(), upload.request())?;
        let now = self.clock.now();
        let stored = StoredUpload {
            id: id.to_string(),
            owner_key: owner_key.to_string(),
            length,
            offset: at.size,
            request,
            staged: at.staged.clone(),
            hash_state: at.hash_state,
            done: None,
            last_used_at: now,
        };
        let user = upload.context().user.id;
        if let Err(e) = self.store.insert_upload(&stored, user, now).await {
            self.discard_staged(&at.staged).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// The upload `id` of `owner_key`, as it stands.
    pub async fn resumable(&self, id: &str, owner_key: &str) -> Result<Option<StoredUpload>> {
        Ok(self.store.upload(id, owner_key).await?)
    }

    /// Asks for the hold of upload `id` for `holder` (see the module's documentation).
    pub async fn hold_resumable(&self, id: &str, owner_key: &str, holder: &str) -> Result<Hold> {
        Ok(self
            .store
            .hold_upload(id, owner_key, holder, HOLD_MS, self.clock.now())
            .await?)
    }

    /// Renews `holder`'s hold; false when it should stop (lost, or asked for).
    pub async fn renew_resumable(&self, id: &str, holder: &str) -> Result<bool> {
        Ok(self.store.renew_hold(id, holder, HOLD_MS).await?)
    }

    /// Lets go of a hold without a change (a chunk taken back: the last checkpoint stands).
    pub async fn release_resumable(&self, id: &str, holder: &str) {
        if let Err(e) = self.store.release_upload(id, holder).await {
            tracing::warn!(error = %e, "could not let go of an upload (its hold runs out)");
        }
    }

    /// Picks a held upload up from its last checkpoint, in `ctx` (the continuing request's
    /// session), every upload check made again.
    pub async fn reopen_resumable(
        &self,
        ctx: &SessionContext,
        stored: &StoredUpload,
    ) -> Result<Upload> {
        // The column's other field (who began it) is ignored here.
        let req: UploadRequest = serde_json::from_str(&stored.request)
            .map_err(|e| Error::Internal(format!("a stored upload's request: {e}")))?;
        let at = UploadCheckpoint {
            size: stored.offset,
            staged: stored.staged.clone(),
            hash_state: stored.hash_state.clone(),
        };
        self.resume_upload(ctx, req, &at).await
    }

    /// Checkpoints `holder`'s upload and records where it stands, letting go. False when the
    /// hold was lost meanwhile (another node has the upload; this checkpoint is not used).
    pub async fn checkpoint_resumable(
        &self,
        id: &str,
        holder: &str,
        upload: &mut Upload,
    ) -> Result<bool> {
        let at = upload.checkpoint().await?;
        let position = UploadPosition {
            offset: at.size,
            staged: at.staged,
            hash_state: at.hash_state,
        };
        Ok(self
            .store
            .checkpoint_upload(id, holder, &position, self.clock.now())
            .await?)
    }

    /// Commits `holder`'s complete upload (as [`Service::finish_upload`]) and records it as
    /// done, letting go.
    pub async fn finish_resumable(
        &self,
        id: &str,
        holder: &str,
        upload: Upload,
    ) -> Result<FileView> {
        let view = self.finish_upload(upload).await?;
        let recorded = self
            .store
            .complete_upload(
                id,
                holder,
                view.file.id,
                &view.file.sha256,
                self.clock.now(),
            )
            .await;
        match recorded {
            Ok(true) => {}
            // The file is stored and audited either way; a HEAD then finds the upload gone
            // or still in progress, and the client's next request says so.
            Ok(false) => tracing::warn!(upload = %id, "a committed upload's hold was lost"),
            Err(e) => {
                tracing::warn!(error = %e, upload = %id, "could not record an upload as committed")
            }
        }
        Ok(view)
    }

    /// Forgets an upload and removes its staged bytes; whether this call forgot it (false:
    /// another request or node did, and audited it).
    pub async fn discard_resumable(&self, stored: &StoredUpload) -> Result<bool> {
        if stored.done.is_none() {
            self.content.discard(&stored.staged).await?;
        }
        Ok(self.store.delete_upload(&stored.id).await?)
    }

    async fn discard_staged(&self, staged: &str) {
        if let Err(e) = self.content.discard(staged).await {
            tracing::warn!(error = %e, "could not remove an upload's staged bytes (swept later)");
        }
    }

    /// Forgets uploads idle for a day (each audited as `UploadFailed`) and committed ones
    /// after an hour, removing what they staged. Returns how many.
    pub async fn sweep_resumables(&self) -> Result<usize> {
        let now = self.clock.now();
        let stale = self
            .store
            .stale_uploads(
                now.plus_millis(-IDLE_EXPIRY_MS),
                now.plus_millis(-DONE_EXPIRY_MS),
                SWEEP_BATCH,
            )
            .await?;
        let mut swept = 0;
        for upload in &stale {
            match self.discard_resumable(upload).await {
                Ok(forgotten) => {
                    swept += 1;
                    // Every node sweeps: the one whose delete took the row audits it.
                    if forgotten && upload.done.is_none() {
                        self.audit_abandoned_resumable(upload).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, upload = %upload.id, "could not forget an idle upload")
                }
            }
        }
        if swept > 0 {
            tracing::info!(swept, "idle resumable uploads forgotten");
        }
        Ok(swept)
    }
}
