//! [`TransferState`] over the database: grants and file counts in `tool_grants.rs`, tus
//! uploads in `tus_uploads.rs`.

use async_trait::async_trait;
use ferry_core::Timestamp;
use ferry_core::domain::UserId;
use ferry_core::store::StoreResult;
use ferry_core::transfer_state::{
    GrantBounds, Hold, StoredGrant, StoredUpload, TransferState, UploadPosition,
};

use crate::store::SqlStore;
use crate::{tool_grants, tus_uploads};

#[async_trait]
impl TransferState for SqlStore {
    async fn issue_grant(
        &self,
        grant: &StoredGrant,
        now: Timestamp,
        bounds: GrantBounds,
    ) -> StoreResult<Option<String>> {
        tool_grants::issue_grant(self, grant, now, bounds).await
    }

    async fn grant(&self, id: &str) -> StoreResult<Option<StoredGrant>> {
        tool_grants::grant(self, id).await
    }

    async fn files_used(&self, token_digest: &str, now: Timestamp) -> StoreResult<u32> {
        tool_grants::files_used(self, token_digest, now).await
    }

    async fn take_file(
        &self,
        token_digest: &str,
        max: Option<u32>,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        tool_grants::take_file(self, token_digest, max, until, now).await
    }

    async fn release_file(&self, token_digest: &str) -> StoreResult<()> {
        tool_grants::release_file(self, token_digest).await
    }

    async fn insert_upload(
        &self,
        upload: &StoredUpload,
        user: UserId,
        now: Timestamp,
    ) -> StoreResult<()> {
        tus_uploads::insert(self, upload, user, now).await
    }

    async fn reserved_by_uploads(&self, user: UserId) -> StoreResult<u64> {
        tus_uploads::reserved(self, user).await
    }

    async fn upload(&self, id: &str, owner_key: &str) -> StoreResult<Option<StoredUpload>> {
        tus_uploads::get(self, id, owner_key).await
    }

    async fn uploads_in_progress(&self, owner_key: &str) -> StoreResult<(i64, i64)> {
        tus_uploads::in_progress(self, owner_key).await
    }

    async fn hold_upload(
        &self,
        id: &str,
        owner_key: &str,
        holder: &str,
        hold_ms: i64,
        now: Timestamp,
    ) -> StoreResult<Hold> {
        tus_uploads::hold(self, id, owner_key, holder, hold_ms, now).await
    }

    async fn renew_hold(&self, id: &str, holder: &str, hold_ms: i64) -> StoreResult<bool> {
        tus_uploads::renew(self, id, holder, hold_ms).await
    }

    async fn checkpoint_upload(
        &self,
        id: &str,
        holder: &str,
        at: &UploadPosition,
        now: Timestamp,
    ) -> StoreResult<bool> {
        tus_uploads::checkpoint(self, id, holder, at, now).await
    }

    async fn complete_upload(
        &self,
        id: &str,
        holder: &str,
        file_id: i64,
        sha256: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        tus_uploads::complete(self, id, holder, file_id, sha256, now).await
    }

    async fn release_upload(&self, id: &str, holder: &str) -> StoreResult<()> {
        tus_uploads::release(self, id, holder).await
    }

    async fn delete_upload(&self, id: &str) -> StoreResult<bool> {
        tus_uploads::delete(self, id).await
    }

    async fn stale_uploads(
        &self,
        idle_before: Timestamp,
        done_before: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<StoredUpload>> {
        tus_uploads::stale(self, idle_before, done_before, limit).await
    }
}
