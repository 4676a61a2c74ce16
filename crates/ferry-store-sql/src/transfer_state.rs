//! [`TransferState`] over the database: grants and file counts in `tool_grants.rs`.

use async_trait::async_trait;
use ferry_core::Timestamp;
use ferry_core::store::StoreResult;
use ferry_core::transfer_state::{GrantBounds, StoredGrant, TransferState};

use crate::store::SqlStore;
use crate::tool_grants;

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
}
