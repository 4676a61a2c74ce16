//! What one change may do ([`StoreTx`]): every read it must see consistently and every write,
//! each appending its own audit records in the same transaction.

use async_trait::async_trait;

use super::{GroupedTx, LockoutState, StoreResult};
use crate::clock::Timestamp;
use crate::domain::{
    Application, ApplicationId, ChainLink, File, FileId, Folder, FolderId, Grant, GroupId,
    MetadataOwner, MetadataWrite, NewUser, ParsedKey, Permissions, SecondFactor, Session,
    SessionKey, ShareLink, ShareLinkId, User, UserId,
};

/// One change in progress: everything a [`GroupedTx`] does, and the rest.
#[async_trait]
pub trait StoreTx: GroupedTx {
    /// The user with this ID, as seen inside the change.
    async fn user_by_id(&mut self, id: UserId) -> StoreResult<Option<User>>;
    /// Inserts a user; [`StoreError::Conflict`] if the name is taken.
    async fn insert_user(&mut self, user: &NewUser, at: Timestamp) -> StoreResult<UserId>;
    /// Writes the mutable fields of `user` (login name, names, e-mail, role, flags, password
    /// hash); [`StoreError::Conflict`] if the new login name, `DOMAIN\name` or directory ID is
    /// taken.
    async fn update_user(&mut self, user: &User) -> StoreResult<()>;
    /// Sets where the user's SFTP and FTPS sessions start (none: the home folder).
    async fn set_start_folder(&mut self, user: UserId, folder: Option<FolderId>)
    -> StoreResult<()>;
    /// Adds an SSH public key; [`StoreError::Conflict`] if the user already has it.
    async fn insert_ssh_key(
        &mut self,
        user: UserId,
        key: &ParsedKey,
        at: Timestamp,
    ) -> StoreResult<i64>;
    /// Removes a user's key by fingerprint; whether there was one.
    async fn delete_ssh_key(&mut self, user: UserId, fingerprint: &str) -> StoreResult<bool>;
    /// Inserts an application; [`StoreError::Conflict`] if the ID is taken.
    async fn insert_application(&mut self, app: &Application) -> StoreResult<()>;
    /// Enables or disables an application; whether it exists.
    async fn set_application_enabled(
        &mut self,
        id: ApplicationId,
        enabled: bool,
    ) -> StoreResult<bool>;

    /// Lock-out state for a key, as seen inside the change.
    async fn lockout(&mut self, key: &str) -> StoreResult<Option<LockoutState>>;
    /// Stores the lock-out state for a key.
    async fn put_lockout(&mut self, key: &str, state: &LockoutState) -> StoreResult<()>;
    /// Forgets the failures of a key.
    async fn clear_lockout(&mut self, key: &str) -> StoreResult<()>;
    /// Takes or renews the lease `name` for `holder` until `until`, if nobody else holds it at
    /// `now`; whether `holder` has it.
    async fn take_lease(
        &mut self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool>;
    /// Forgets the failures of `key` and of every key starting with `prefix`; how many.
    async fn clear_lockouts(&mut self, key: &str, prefix: &str) -> StoreResult<u64>;
    /// Removes lock-out rows whose last failure is before `before` and whose lock-out (if
    /// any) has ended by `now`; how many.
    async fn delete_stale_lockouts(
        &mut self,
        before: Timestamp,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// Records that `user` signed in successfully from `ip` at `at`.
    async fn record_signin_address(
        &mut self,
        user: UserId,
        ip: &str,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Forgets sign-in addresses not used since `before`; how many.
    async fn delete_old_signin_addresses(&mut self, before: Timestamp) -> StoreResult<u64>;
    /// Records a single-use token's digest as spent until `expires_at`, first forgetting
    /// digests that expired by `now`; false if it was already spent.
    async fn spend_token(
        &mut self,
        digest: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Records a shared link; returns its ID.
    async fn insert_share_link(&mut self, link: &ShareLink) -> StoreResult<ShareLinkId>;
    /// Marks a shared link revoked at `at`.
    async fn revoke_share_link(&mut self, id: ShareLinkId, at: Timestamp) -> StoreResult<()>;
    /// Counts one download through a limited link; false (and nothing counted) when its
    /// downloads are used up.
    async fn take_link_download(&mut self, id: ShareLinkId) -> StoreResult<bool>;
    /// Replaces a user's second factor (and drops their recovery codes) with a pending one.
    async fn put_second_factor(&mut self, factor: &SecondFactor) -> StoreResult<()>;
    /// Turns a pending second factor on at `at`, spending `step`, with new recovery codes
    /// (digests); false if there was no pending one.
    async fn confirm_second_factor(
        &mut self,
        user: UserId,
        at: Timestamp,
        step: i64,
        recovery_digests: &[String],
    ) -> StoreResult<bool>;
    /// Removes a user's second factor and recovery codes; whether there was one.
    async fn delete_second_factor(&mut self, user: UserId) -> StoreResult<bool>;
    /// Records `step` as used if it is later than the last one used; false if not (a
    /// passcode used again).
    async fn spend_totp_step(&mut self, user: UserId, step: i64) -> StoreResult<bool>;
    /// Spends an unused recovery code; false if there is none with that digest.
    async fn spend_recovery_code(
        &mut self,
        user: UserId,
        digest: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Inserts a session.
    async fn insert_session(&mut self, session: &Session) -> StoreResult<()>;
    /// Deletes a session; whether it existed.
    async fn delete_session(&mut self, key: &SessionKey) -> StoreResult<bool>;
    /// The user's sessions for this application that a new sign-in replaces (not immutable).
    async fn replaceable_sessions(
        &mut self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Vec<Session>>;
    /// The user's immutable sessions for this application, oldest first.
    async fn immutable_sessions(
        &mut self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Vec<Session>>;
    /// All sessions of a user.
    async fn sessions_of_user(&mut self, user: UserId) -> StoreResult<Vec<Session>>;
    /// How many immutable sessions `user` has of application `app` (`of_app`), or of every
    /// other application (not `of_app`): their shared links' sessions, or their immutable
    /// sign-ins (the bounds of `service/session_bounds.rs`).
    async fn count_immutable_sessions(
        &mut self,
        user: UserId,
        app: ApplicationId,
        of_app: bool,
    ) -> StoreResult<i64>;
    /// Up to `limit` of `user`'s immutable sessions of applications other than `except`, the
    /// least recently used first.
    async fn least_used_immutable_sessions(
        &mut self,
        user: UserId,
        except: ApplicationId,
        limit: i64,
    ) -> StoreResult<Vec<Session>>;
    /// All sessions `user` opened impersonating other users (`impersonator_id`).
    async fn sessions_impersonated_by(&mut self, user: UserId) -> StoreResult<Vec<Session>>;
    /// Up to `limit` sessions whose expiry is at or before `now`.
    async fn expired_sessions(&mut self, now: Timestamp, limit: i64) -> StoreResult<Vec<Session>>;

    /// IDs of the folder and its ancestors up to the root, as seen inside the change.
    async fn folder_ancestry(&mut self, id: FolderId) -> StoreResult<Vec<FolderId>>;
    /// How many levels of live folders lie below `id` (0 for none), as seen inside the change.
    async fn folder_height(&mut self, id: FolderId) -> StoreResult<i64>;
    /// Whether `user` has the SSH key of `fingerprint`, as seen inside the change.
    async fn has_ssh_key(&mut self, user: UserId, fingerprint: &str) -> StoreResult<bool>;
    /// [`Store::group_grants`] as seen inside the change.
    async fn group_grants(&mut self, group: GroupId) -> StoreResult<Vec<Grant>>;
    /// How many live folders below `folder` do not inherit and give `user` (by a grant to
    /// them or to one of their groups) none of the bits of `any`, as seen inside the change:
    /// what a deletion or a move of `folder` would take from under grants the user lacks.
    async fn unheld_folders_below(
        &mut self,
        folder: FolderId,
        user: UserId,
        any: Permissions,
    ) -> StoreResult<i64>;
    /// [`Store::permission_chain`] as seen inside the change (earlier members of its batch
    /// included): what a change that hands out permissions checks its caller against again.
    async fn permission_chain(&mut self, id: FolderId, user: UserId)
    -> StoreResult<Vec<ChainLink>>;
    /// Inserts a folder (its `id` is ignored); [`StoreError::Conflict`] if a live sibling has
    /// the same name.
    async fn insert_folder(&mut self, folder: &Folder) -> StoreResult<FolderId>;
    /// Writes the mutable fields of a folder (name, parent, description, inheritance,
    /// modification stamp, deletion); [`StoreError::Conflict`] on a sibling name clash.
    async fn update_folder(&mut self, folder: &Folder) -> StoreResult<()>;
    /// Replaces every grant on a folder.
    async fn replace_grants(&mut self, folder: FolderId, grants: &[Grant]) -> StoreResult<()>;
    /// How many metadata items a folder or file holds, as seen inside the change.
    async fn metadata_count(&mut self, owner: MetadataOwner) -> StoreResult<i64>;
    /// Writes a metadata item and returns its ID: [`MetadataWrite::Create`] inserts it
    /// ([`StoreError::Conflict`] if the name key exists), [`MetadataWrite::Save`] changes the
    /// item with that name key (`None` if there is none) and takes the name's new spelling.
    async fn put_metadata(
        &mut self,
        owner: MetadataOwner,
        name: &str,
        value: &str,
        write: MetadataWrite,
    ) -> StoreResult<Option<i64>>;
    /// Inserts a group; [`StoreError::Conflict`] if the name is taken.
    async fn insert_group(&mut self, name: &str, at: Timestamp) -> StoreResult<GroupId>;
    /// Adds a member; whether they were not a member already.
    async fn add_group_member(&mut self, group: GroupId, user: UserId) -> StoreResult<bool>;
    /// Removes a member; whether they were a member.
    async fn remove_group_member(&mut self, group: GroupId, user: UserId) -> StoreResult<bool>;

    /// Ends a file whose current content became another file's version (a rename over an
    /// existing file): its version row holding `content_key` is removed, since the content now
    /// belongs to the other file and must not be purged with this one, and it is marked deleted.
    async fn hand_over_content(
        &mut self,
        file: FileId,
        content_key: &str,
        at: Timestamp,
    ) -> StoreResult<()>;

    /// Marks every live file in `folder` and the folders below it deleted, and those folders
    /// (not `folder` itself); returns how many files and how many folders.
    async fn delete_below(&mut self, folder: FolderId, at: Timestamp) -> StoreResult<(i64, i64)>;
    /// Up to `limit` live files in `folder` and the folders below it whose IDs come after
    /// `after` (0: from the first), by ID, each as (ID, its folder, its name), as seen inside
    /// the change: a page of what a folder's deletion takes with it.
    async fn live_files_below(
        &mut self,
        folder: FolderId,
        after: FileId,
        limit: i64,
    ) -> StoreResult<Vec<(FileId, FolderId, String)>>;
    /// Up to `limit` deleted, not yet purged files deleted at or before `cutoff`.
    async fn files_to_purge(&mut self, cutoff: Timestamp, limit: i64) -> StoreResult<Vec<File>>;
    /// Records that a file's content (every version) is gone.
    async fn mark_purged(&mut self, file: FileId) -> StoreResult<()>;
}
