//! The store port for what a browser transfer keeps between its requests: the tool pages'
//! grants, the files each token has used, and the tus uploads in progress. It lives in the
//! metadata store, beside the data, so that any node answers any request of a page or an
//! upload (invariant 9: nothing a node keeps in memory is needed by another node).
//!
//! Bookkeeping rather than anyone's data, so none of it is audited and none of it takes the
//! audit chain's lock: each operation is one short statement or transaction of its own.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::domain::UserId;
use crate::store::StoreResult;

/// A tool page's grant as stored. What the grant allows is `body`, which only the Service
/// reads; the store indexes the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGrant {
    /// The SHA-256 (hex) of the grant the page's requests carry; the grant itself is not
    /// stored (`ferry_crypto::tool_grant`).
    pub id: String,
    /// Identifies the page (token, tool, options and address): a page reloaded gets the grant
    /// it already has.
    pub page_key: String,
    /// The browser's address, canonical: the grant answers only to it.
    pub ip: String,
    /// The browser's network, which the per-address bound counts: an IPv4 address, or an IPv6
    /// address's /64 (`2001:db8:1:2::/64`), since one host is routinely given a whole /64.
    pub network: String,
    /// Identifies the token.
    pub token_digest: String,
    /// What the grant allows, serialised by the Service.
    pub body: String,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// How many grants may be held.
#[derive(Debug, Clone, Copy)]
pub struct GrantBounds {
    /// By one address, an IPv6 client by its /64 ([`StoredGrant::network`]; its oldest gives
    /// way to a new one).
    pub per_address: i64,
    /// By one token, from every address together (its oldest gives way to a new one): what
    /// keeps one link, opened from as many addresses as its holder has (an IPv6 host has
    /// 2^64), from filling the store.
    pub per_token: i64,
    /// In all (then a new page is refused).
    pub total: i64,
}

/// A tus upload as stored: where it stands and how to pick it up again on any node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpload {
    /// The random ID in the upload's URL.
    pub id: String,
    /// Whose upload it is (a token's digest, or a web-client user).
    pub owner_key: String,
    /// `Upload-Length`.
    pub length: u64,
    /// Bytes stored and acknowledged.
    pub offset: u64,
    /// What the upload declared, serialised by the Service.
    pub request: String,
    /// The content store's description of the staged bytes up to `offset`.
    pub staged: String,
    /// The running SHA-256's state after `offset` bytes.
    pub hash_state: Vec<u8>,
    /// Once committed: the file and its SHA-256 (lowercase hex).
    pub done: Option<(i64, String)>,
    /// Last created, continued or asked about.
    pub last_used_at: Timestamp,
}

/// The outcome of asking for an upload's hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Held by the asker; the upload as it stands.
    Taken(Box<StoredUpload>),
    /// Another holder has it (the asker's wish to take it over is recorded).
    Busy,
    /// The upload is committed.
    Complete(Box<StoredUpload>),
    /// No such upload (or another owner's).
    Missing,
}

/// What browser transfers keep between requests (see the module's documentation).
#[async_trait]
pub trait TransferState: Send + Sync {
    /// Issues `grant`, or renews the live grant of the same page (to `grant.expires_at`) and
    /// returns that one's ID. Forgets expired grants and file counts first. `None` when
    /// `bounds.total` grants are held.
    async fn issue_grant(
        &self,
        grant: &StoredGrant,
        now: Timestamp,
        bounds: GrantBounds,
    ) -> StoreResult<Option<String>>;
    /// The grant with this ID, expired or not (the caller judges).
    async fn grant(&self, id: &str) -> StoreResult<Option<StoredGrant>>;
    /// Files a token has started or uploaded (while the count is kept).
    async fn files_used(&self, token_digest: &str, now: Timestamp) -> StoreResult<u32>;
    /// Takes one file of a token's allowance (`max`, if any), keeping the count until
    /// `until`; false when the allowance is spent.
    async fn take_file(
        &self,
        token_digest: &str,
        max: Option<u32>,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Gives back one file of a token's allowance.
    async fn release_file(&self, token_digest: &str) -> StoreResult<()>;

    /// Records a new upload of `user`'s (nobody holds it).
    async fn insert_upload(
        &self,
        upload: &StoredUpload,
        user: UserId,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// What `user`'s uploads in progress reserve of their quota: their declared lengths.
    async fn reserved_by_uploads(&self, user: UserId) -> StoreResult<u64>;
    /// The upload with this ID, if it is `owner_key`'s.
    async fn upload(&self, id: &str, owner_key: &str) -> StoreResult<Option<StoredUpload>>;
    /// Uploads in progress (not committed): in all, and of `owner_key`.
    async fn uploads_in_progress(&self, owner_key: &str) -> StoreResult<(i64, i64)>;
    /// Takes the hold of `owner_key`'s upload in progress for `holder`, for `hold_ms`, unless
    /// another holds it and their hold has not run out (then their wish to take over is
    /// recorded, and [`TransferState::renew_hold`] tells them). Holds are timed by the
    /// database's clock, the one clock every node shares (nodes' clocks may disagree by more
    /// than a hold lasts).
    async fn hold_upload(
        &self,
        id: &str,
        owner_key: &str,
        holder: &str,
        hold_ms: i64,
        now: Timestamp,
    ) -> StoreResult<Hold>;
    /// Extends `holder`'s hold by `hold_ms` from now; false when it was lost or another asks
    /// for it.
    async fn renew_hold(&self, id: &str, holder: &str, hold_ms: i64) -> StoreResult<bool>;
    /// Records where `holder`'s upload stands and lets go of it; false when `holder` no longer
    /// held it (nothing is changed then).
    async fn checkpoint_upload(
        &self,
        id: &str,
        holder: &str,
        at: &UploadPosition,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Records `holder`'s upload as committed, as file `file_id` with `sha256`, and lets go.
    async fn complete_upload(
        &self,
        id: &str,
        holder: &str,
        file_id: i64,
        sha256: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Lets go of `holder`'s hold, changing nothing else.
    async fn release_upload(&self, id: &str, holder: &str) -> StoreResult<()>;
    /// Forgets an upload; false if it was not there.
    async fn delete_upload(&self, id: &str) -> StoreResult<bool>;
    /// At most `limit` uploads to forget: in progress and unused since `idle_before`, or
    /// committed and unused since `done_before`.
    async fn stale_uploads(
        &self,
        idle_before: Timestamp,
        done_before: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<StoredUpload>>;
}

/// Where an upload stands at a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPosition {
    /// Bytes stored.
    pub offset: u64,
    /// The content store's description of them.
    pub staged: String,
    /// The SHA-256 state after them.
    pub hash_state: Vec<u8>,
}
