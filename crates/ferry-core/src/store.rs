//! The metadata-store port: what the Service needs from a database, and nothing more.
//!
//! Reads that need no consistency with a change go straight to [`MetadataStore`]. Every change
//! happens inside a [`StoreTx`], and every `StoreTx` appends its audit records itself, so a
//! change and its audit record commit together or not at all (DESIGN.md §5, invariant 2).
//! `begin` takes the audit chain's head under a write lock; that both serialises the chain and
//! makes read-then-write sequences (such as "replace this user's session") atomic across nodes.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::domain::{
    Application, ApplicationId, AuditEntry, AuditHead, AuditRecord, ChainLink, DownloadAllowance,
    File, FileId, FileOrder, FileVersion, Folder, FolderId, Grant, GroupId, MetadataItem,
    MetadataOwner, Permissions, SecondFactor, Session, SessionKey, ShareLink, ShareLinkId, SshKey,
    User, UserGroup, UserId,
};

mod change;
mod grouped;

pub use change::StoreTx;
pub use grouped::{GroupedTx, append_alone_in};

/// The store's result type.
pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// How a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (connection refused, pool timed out, ...).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was violated; the text names what collided.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database has no space left to write (SQLite's `SQLITE_FULL`, PostgreSQL's
    /// `disk_full`): nothing of the change was kept. Not retried like [`Self::Unavailable`]:
    /// it lasts until an operator frees space.
    #[error("store full: {0}")]
    Full(String),
    /// Anything else; a bug or a corrupted store.
    #[error("store error: {0}")]
    Other(String),
}

/// Failed sign-in bookkeeping for one key (`user:<name>` or `ip:<address>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutState {
    /// Failures counted since the last success or since they were forgotten.
    pub failures: i64,
    /// When the last failure happened.
    pub last_failure_at: Timestamp,
    /// Until when sign-ins for this key are refused.
    pub locked_until: Option<Timestamp>,
}

/// Filters of `GetAuditLog`; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Operation name.
    pub operation: Option<String>,
    /// The user the operation was done as.
    pub user_id: Option<UserId>,
    /// The application.
    pub application_id: Option<ApplicationId>,
    /// The folder concerned.
    pub folder_id: Option<FolderId>,
    /// The file concerned (a file page's activity).
    pub file_id: Option<FileId>,
    /// At or after this instant.
    pub from: Option<Timestamp>,
    /// Before this instant.
    pub to: Option<Timestamp>,
    /// Only records older than this sequence number: a cursor for reading the log newest
    /// first in pages that records appended meanwhile do not shift (an offset counted from
    /// the newest would repeat records at every page's edge).
    pub before_seq: Option<i64>,
}

/// A metadata store (SQLite or PostgreSQL), which also keeps what browser transfers need
/// between requests ([`crate::transfer_state`]) and the connections users hold
/// ([`crate::connection_counts`]).
#[async_trait]
pub trait MetadataStore:
    crate::transfer_state::TransferState
    + crate::connection_counts::ConnectionCounts
    + crate::inline_content::InlineContents
    + Send
    + Sync
    + 'static
{
    /// Starts a change committed on its own, after whatever changes are pending commit: all
    /// it reads is durable, so neither its outcome nor its errors reveal what is not. See the
    /// module documentation for the locking it implies.
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>>;
    /// Starts a change that may share its commit with concurrent grouped changes (issue 21's
    /// group commit). It may read what those wrote before it is durable, so it must end with
    /// [`GroupedTx::commit`] or [`GroupedTx::rollback`], which both return only once the changes
    /// it may have seen are durable (or have failed). For the hot, simple changes: recording
    /// an upload, an audit record alone, a file's rename, move, deletion or time
    /// ([`GroupedTx`] is all they may do).
    async fn begin_grouped(&self) -> StoreResult<Box<dyn GroupedTx>>;
    /// Appends an audit record alone (a download's, a refused sign-in's) and returns once it
    /// is committed. Records appended alone at once may share a commit. By default a grouped
    /// change of its own; a store may have a cheaper path.
    async fn append_audit_alone(&self, at: Timestamp, entry: AuditEntry) -> StoreResult<()> {
        append_alone_in(self.begin_grouped().await?, at, entry).await
    }
    /// Records an upload as its checks saw it (as [`GroupedTx::record_upload_as_seen`]) as a
    /// change of its own, if the store has a cheaper path for it now (PostgreSQL with no
    /// other change under way in this process: one statement, its own commit). `None`: not
    /// recorded, nothing written; record it in a grouped change. By default always `None`.
    async fn record_upload_alone(
        &self,
        _file: &File,
        _inline: Option<&[u8]>,
        _at: Timestamp,
        _entry: AuditEntry,
    ) -> StoreResult<Option<FileId>> {
        Ok(None)
    }
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// The user with this ID.
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// The user with this login name, compared case-insensitively.
    async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>>;
    /// The user with this `DOMAIN\name`, compared case-insensitively.
    async fn user_by_domain_username(&self, domain_username: &str) -> StoreResult<Option<User>>;
    /// The users (deleted ones excluded) whose e-mail address has this [`email_key`], by ID.
    ///
    /// [`email_key`]: crate::domain::email_key
    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>>;
    /// All users, by ID.
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// The bytes a user has stored, as their quota counts them ([`crate::domain::quota`]):
    /// committed changes only.
    async fn stored_bytes(&self, user: UserId) -> StoreResult<u64>;
    /// Every user's stored bytes who has any (the console's list of users).
    async fn stored_bytes_by_user(&self) -> StoreResult<Vec<(UserId, u64)>>;
    /// A user's SSH public keys, oldest first.
    async fn ssh_keys(&self, user: UserId) -> StoreResult<Vec<SshKey>>;
    /// The folder an administrator chose for the user's SFTP and FTPS sessions to start in.
    async fn start_folder(&self, user: UserId) -> StoreResult<Option<FolderId>>;
    /// Number of users.
    async fn count_users(&self) -> StoreResult<i64>;
    /// The application with this ID.
    async fn application(&self, id: ApplicationId) -> StoreResult<Option<Application>>;
    /// All applications, by ID.
    async fn applications(&self) -> StoreResult<Vec<Application>>;
    /// Lock-out state for a key.
    async fn lockout(&self, key: &str) -> StoreResult<Option<LockoutState>>;
    /// Whether `user` signed in successfully from `ip` since `since`.
    async fn signed_in_from(&self, user: UserId, ip: &str, since: Timestamp) -> StoreResult<bool>;

    /// The session with this key, live or not (the Service judges expiry), with its user, in
    /// one round trip: this is the check every session-bearing call makes.
    async fn session_with_user(&self, key: &SessionKey) -> StoreResult<Option<(Session, User)>>;
    /// Records that the session was used at `at`; with `expires_at`, moves its expiry there
    /// (a web session's sliding idle timeout).
    async fn touch_session(
        &self,
        key: &SessionKey,
        at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()>;
    /// Sessions not expired at `now`, of one user and application or of all, the most
    /// recently used first, at most `limit`.
    async fn live_sessions(
        &self,
        now: Timestamp,
        user: Option<UserId>,
        application: Option<ApplicationId>,
        limit: i64,
    ) -> StoreResult<Vec<Session>>;
    /// The members of a group, by user ID.
    async fn group_members(&self, group: GroupId) -> StoreResult<Vec<UserId>>;
    /// The links a user shared, the newest first, at most `limit`.
    async fn share_links(&self, user: UserId, limit: i64) -> StoreResult<Vec<ShareLink>>;
    /// One shared link.
    async fn share_link(&self, id: ShareLinkId) -> StoreResult<Option<ShareLink>>;
    /// The allowance of the link whose session is `session`, if it is a download link limited
    /// to a number of downloads (`None` for any other session or link).
    async fn download_allowance(
        &self,
        session: &SessionKey,
    ) -> StoreResult<Option<DownloadAllowance>>;
    /// A user's second factor, pending or on.
    async fn second_factor(&self, user: UserId) -> StoreResult<Option<SecondFactor>>;
    /// How many of a user's recovery codes are unused.
    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<i64>;
    /// Number of sessions not expired at `now`.
    async fn count_live_sessions(&self, now: Timestamp) -> StoreResult<i64>;

    /// The folder with this ID (deleted or not).
    async fn folder(&self, id: FolderId) -> StoreResult<Option<Folder>>;
    /// The folder and its ancestors up to the root, first the folder itself, each with the bits
    /// granted on it to `user` or to one of `user`'s groups. Empty if the folder does not exist.
    async fn permission_chain(&self, id: FolderId, user: UserId) -> StoreResult<Vec<ChainLink>>;
    /// Up to `take` live child folders of `parent` whose name keys (`text::item_key`) come
    /// after `after` (`""`: from the first), in name key order, each with the bits granted on
    /// it to `user` or to one of `user`'s groups: a keyset page, so a folder of 100,000
    /// subfolders is read a page at a time.
    async fn child_folders_after(
        &self,
        parent: FolderId,
        user: UserId,
        after: &str,
        take: i64,
    ) -> StoreResult<Vec<(Folder, Permissions)>>;
    /// The live folders a path of name keys (`text::item_key`) leads to below `from`, as far
    /// as they exist: the child of `from` keyed `keys[0]`, its child keyed `keys[1]`, and so on,
    /// each with the bits granted on it to `user` or to one of `user`'s groups.
    async fn folder_path(
        &self,
        from: FolderId,
        keys: &[String],
        user: UserId,
    ) -> StoreResult<Vec<(Folder, Permissions)>>;
    /// The folder `from` with the bits granted on it to `user` or to one of `user`'s groups,
    /// then [`folder_path`]'s folders below it: a path's start and its walk, which a store may
    /// read in one query. Empty if `from` does not exist.
    ///
    /// [`folder_path`]: MetadataStore::folder_path
    async fn folder_path_from(
        &self,
        from: FolderId,
        keys: &[String],
        user: UserId,
    ) -> StoreResult<Vec<(Folder, Permissions)>> {
        let Some(start) = self.folder(from).await? else {
            return Ok(Vec::new());
        };
        let granted = self
            .permission_chain(from, user)
            .await?
            .first()
            .map(|l| l.granted);
        let mut walked = vec![(start, granted.unwrap_or(Permissions(0)))];
        walked.extend(self.folder_path(from, keys, user).await?);
        Ok(walked)
    }
    /// Every grant on a folder.
    async fn grants(&self, folder: FolderId) -> StoreResult<Vec<Grant>>;
    /// Every grant to a group, on live folders, by folder.
    async fn group_grants(&self, group: GroupId) -> StoreResult<Vec<Grant>>;
    /// A folder's or a file's stored metadata items (a folder's `Description` is not one), by
    /// name key.
    async fn metadata(&self, owner: MetadataOwner) -> StoreResult<Vec<MetadataItem>>;
    /// The group with this ID.
    async fn group(&self, id: GroupId) -> StoreResult<Option<UserGroup>>;
    /// All groups, by name.
    async fn groups(&self) -> StoreResult<Vec<UserGroup>>;
    /// The groups a user belongs to, by name.
    async fn groups_of_user(&self, user: UserId) -> StoreResult<Vec<UserGroup>>;

    /// The file with this ID (deleted or not).
    async fn file(&self, id: FileId) -> StoreResult<Option<File>>;
    /// The file with this ID (deleted or not) and its folder's [`permission_chain`] for
    /// `user`: what a download checks first, which a store may read in one query.
    ///
    /// [`permission_chain`]: MetadataStore::permission_chain
    async fn file_with_chain(
        &self,
        id: FileId,
        user: UserId,
    ) -> StoreResult<Option<(File, Vec<ChainLink>)>> {
        let Some(file) = self.file(id).await? else {
            return Ok(None);
        };
        let chain = self.permission_chain(file.folder_id, user).await?;
        Ok(Some((file, chain)))
    }
    /// [`file_with_chain`] and, where the store keeps the file's bytes itself
    /// ([`crate::inline_content`]) and reading them with the rest saves a round trip, those
    /// bytes: what a download reads first.
    ///
    /// [`file_with_chain`]: MetadataStore::file_with_chain
    async fn file_to_download(
        &self,
        id: FileId,
        user: UserId,
    ) -> StoreResult<Option<FileToDownload>> {
        Ok(self
            .file_with_chain(id, user)
            .await?
            .map(|(f, c)| (f, c, None)))
    }
    /// The live file with this name (compared by collision key) in a folder.
    async fn file_by_name(&self, folder: FolderId, name_key: &str) -> StoreResult<Option<File>>;
    /// [`file_by_name`] and, as [`file_to_download`] does, the file's bytes where the store
    /// keeps them and reading them with it saves a round trip: what a download by path reads.
    ///
    /// [`file_by_name`]: MetadataStore::file_by_name
    /// [`file_to_download`]: MetadataStore::file_to_download
    async fn file_by_name_to_download(
        &self,
        folder: FolderId,
        name_key: &str,
    ) -> StoreResult<Option<(File, Option<Vec<u8>>)>> {
        Ok(self
            .file_by_name(folder, name_key)
            .await?
            .map(|f| (f, None)))
    }
    /// A folder's [`permission_chain`] for `user` and who holds this name key in it: what an
    /// upload checks before taking its bytes, which a store may read in one query.
    ///
    /// [`permission_chain`]: MetadataStore::permission_chain
    async fn chain_and_file_by_name(
        &self,
        folder: FolderId,
        user: UserId,
        name_key: &str,
    ) -> StoreResult<NameInFolder> {
        let chain = self.permission_chain(folder, user).await?;
        let file = self.file_by_name(folder, name_key).await?;
        let keys = [name_key.to_string()];
        let folder_has_it = !self.folder_path(folder, &keys, user).await?.is_empty();
        Ok(NameInFolder {
            chain,
            file,
            folder_has_it,
        })
    }
    /// A page of a folder's live files, in a stable order (name key, then ID).
    async fn files(&self, folder: FolderId, skip: i64, take: i64) -> StoreResult<Vec<File>>;
    /// `take` of a folder's live files in `order` (reversed when `descending`), ties broken
    /// by ID in the same direction, starting after the file `after` in that order when given
    /// (a keyset page: as cheap deep in a large folder as at its start).
    async fn files_ordered(
        &self,
        folder: FolderId,
        order: FileOrder,
        descending: bool,
        after: Option<FileId>,
        take: i64,
    ) -> StoreResult<Vec<File>>;
    /// How many live files a folder holds, counting no further than `cap`.
    async fn file_count(&self, folder: FolderId, cap: i64) -> StoreResult<i64>;
    /// Every version of a file, oldest first.
    async fn file_versions(&self, file: FileId) -> StoreResult<Vec<FileVersion>>;
    /// `take` versions of a file after skipping `skip`, oldest first or newest first: a page,
    /// so a file of 100,000 versions is never read whole to show some of them.
    async fn file_versions_page(
        &self,
        file: FileId,
        newest_first: bool,
        skip: i64,
        take: i64,
    ) -> StoreResult<Vec<FileVersion>>;
    /// One version of a file.
    async fn file_version(&self, file: FileId, version: i64) -> StoreResult<Option<FileVersion>>;
    /// Whether any file version references this content key.
    async fn content_referenced(&self, key: &str) -> StoreResult<bool>;

    /// Live folders whose name key matches a SQL `LIKE` pattern (escape character `\\`), with
    /// IDs above `after`, by ID.
    async fn search_folders(
        &self,
        pattern: &str,
        after: FolderId,
        limit: i64,
    ) -> StoreResult<Vec<Folder>>;
    /// Live files whose name key matches a SQL `LIKE` pattern, with IDs above `after`, by ID.
    async fn search_files(
        &self,
        pattern: &str,
        after: FileId,
        limit: i64,
    ) -> StoreResult<Vec<File>>;
    /// Audit records matching every given filter, newest first.
    async fn audit_query(
        &self,
        filter: &AuditFilter,
        skip: i64,
        take: i64,
    ) -> StoreResult<Vec<AuditRecord>>;

    /// Up to `limit` audit records with `seq > after_seq`, in order.
    async fn audit_records(&self, after_seq: i64, limit: i64) -> StoreResult<Vec<AuditRecord>>;
    /// The end of the audit chain.
    async fn audit_head(&self) -> StoreResult<AuditHead>;
}

/// A file, its folder's permission chain and, if the store read them with it, the file's
/// inline bytes ([`MetadataStore::file_to_download`]).
pub type FileToDownload = (File, Vec<ChainLink>, Option<Vec<u8>>);

/// A folder's permission chain and who holds a name in it
/// ([`MetadataStore::chain_and_file_by_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameInFolder {
    /// The folder's chain up to the root for the user (empty if the folder does not exist).
    pub chain: Vec<ChainLink>,
    /// The live file with the name.
    pub file: Option<File>,
    /// Whether a live child folder has the name (no file may take it: migration 0022).
    pub folder_has_it: bool,
}
