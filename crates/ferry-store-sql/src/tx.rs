//! [`SqlTx`]: one change, in a savepoint of its batch's transaction (`group_commit.rs`), that
//! starts by locking the audit chain's head row. On SQLite the batch's first such `UPDATE`
//! takes the database's write lock before anything is read (so a transaction never has to
//! upgrade a read snapshot, which WAL mode would refuse); on PostgreSQL it takes the row lock
//! that orders every writer. Either way, changes — and with them the audit chain — are
//! serialised across connections and nodes. A later change of the same batch finds the lock
//! held and the head known from the change before it, and does not read it again.

use async_trait::async_trait;
use ferry_core::Timestamp;
use ferry_core::domain::{
    Application, ApplicationId, AuditHead, ChainLink, File, FileId, Folder, FolderId, Grant,
    GroupId, MetadataOwner, MetadataWrite, NewUser, ParsedKey, Permissions, SecondFactor, Session,
    SessionKey, ShareLink, ShareLinkId, User, UserId, domain_username_key, email_key,
};
use ferry_core::store::{LockoutState, StoreResult, StoreTx};
use sqlx::Row;

use std::sync::Arc;

use crate::connect::Engine;
use crate::group_commit::Turn;
use crate::rows::session_columns;
use crate::session_cache::SessionCache;
use crate::sqlite_reader::SqliteReader;
use crate::store::SqlStore;
use crate::upload_as_seen::FileIds;
use crate::{
    counters, errors, file_writes, folder_reads, folder_writes, group_reads, metadata_items,
    queries, second_factors, session_bounds,
};

/// A change in progress, in its batch's savepoint (`group_commit.rs`).
pub(crate) struct SqlTx {
    /// The change's turn on its batch's transaction.
    turn: Turn,
    engine: Engine,
    /// SQLite: the synchronous reader, for reads before the change has written anything.
    reader: Option<Arc<SqliteReader>>,
    /// The chain's head as this change's records leave it.
    head: AuditHead,
    /// PostgreSQL: the session cache, and what this change makes it forget when it ends.
    cache: Option<Arc<SessionCache>>,
    evictions: Vec<Eviction>,
    /// PostgreSQL: new files' IDs taken ahead (`upload_as_seen.rs`).
    file_ids: Arc<FileIds>,
}

/// A cached session check this change may make wrong.
enum Eviction {
    Session(SessionKey),
    User(UserId),
    All,
}

impl SqlTx {
    /// Begins a change on its `turn`, for `store`.
    pub(crate) async fn begin(mut turn: Turn, store: &SqlStore) -> StoreResult<SqlTx> {
        let reader = store.reader.clone();
        // A later member of a batch knows the head from the member before it, under the lock
        // the batch's first change took: one statement fewer per grouped change. On SQLite the
        // batch's `BEGIN IMMEDIATE` took the write lock, so the committed head is the head,
        // read without a round trip to sqlx's thread; on PostgreSQL the statement that reads
        // it takes the row lock that orders every writer.
        let head = match (turn.batch_head(), &reader) {
            (Some(head), _) => head,
            (None, Some(reader)) if turn.reads_committed() => reader.audit_head()?,
            (None, _) => {
                let row =
                    sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
                        .fetch_one(turn.guarded_conn().await?)
                        .await
                        .map_err(errors::db)?;
                AuditHead {
                    seq: row.try_get("seq").map_err(errors::db)?,
                    hash: row.try_get("hash").map_err(errors::db)?,
                }
            }
        };
        Ok(SqlTx {
            turn,
            engine: store.engine,
            reader,
            head,
            cache: store.session_cache.clone(),
            evictions: Vec::new(),
            file_ids: Arc::clone(&store.file_ids),
        })
    }

    /// The synchronous reader, when a read of the committed database answers as this change's
    /// transaction would (see `Turn::reads_committed`).
    fn committed_reader(&self) -> Option<&SqliteReader> {
        self.reader
            .as_deref()
            .filter(|_| self.turn.reads_committed())
    }

    /// Notes that the cached session checks of `e` must go when this change ends.
    fn forget(&mut self, e: Eviction) {
        if self.cache.is_some() {
            self.evictions.push(e);
        }
    }
}

/// A flag as both engines store it.
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

#[async_trait]
impl StoreTx for SqlTx {
    async fn user_by_id(&mut self, id: UserId) -> StoreResult<Option<User>> {
        queries::user_by_id(self.turn.conn(), id).await
    }

    async fn insert_user(&mut self, u: &NewUser, at: Timestamp) -> StoreResult<UserId> {
        let row = sqlx::query(
            "INSERT INTO users (name, name_key, domain_username, first_name, last_name, email, \
             role, active, deleted, user_sync_id, home_folder_id, password_hash, created_at, \
             email_key, domain_username_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, NULL, $10, $11, $12, $13) RETURNING id",
        )
        .bind(&u.name)
        .bind(u.name.to_lowercase())
        .bind(&u.domain_username)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.email)
        .bind(u.role.code())
        .bind(flag(u.active))
        .bind(&u.user_sync_id)
        .bind(&u.password_hash)
        .bind(at.0)
        .bind(email_key(&u.email))
        .bind(u.domain_username.as_deref().map(domain_username_key))
        .fetch_one(self.turn.conn())
        .await
        .map_err(|e| errors::map(e, "a user with that name, DOMAIN\\name or directory ID"))?;
        row.try_get("id").map_err(errors::db)
    }

    async fn update_user(&mut self, u: &User) -> StoreResult<()> {
        self.forget(Eviction::User(u.id));
        sqlx::query(
            "UPDATE users SET domain_username = $1, first_name = $2, last_name = $3, email = $4, \
             role = $5, active = $6, deleted = $7, user_sync_id = $8, home_folder_id = $9, \
             password_hash = $10, name = $12, name_key = $13, email_key = $14, \
             domain_username_key = $15, quota_bytes = $16 WHERE id = $11",
        )
        .bind(&u.domain_username)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.email)
        .bind(u.role.code())
        .bind(flag(u.active))
        .bind(flag(u.deleted))
        .bind(&u.user_sync_id)
        .bind(u.home_folder_id)
        .bind(&u.password_hash)
        .bind(u.id)
        .bind(&u.name)
        .bind(u.name.to_lowercase())
        .bind(email_key(&u.email))
        .bind(u.domain_username.as_deref().map(domain_username_key))
        .bind(u.quota.to_stored())
        .execute(self.turn.conn())
        .await
        .map_err(|e| errors::map(e, "a user with that name, DOMAIN\\name or directory ID"))?;
        Ok(())
    }

    async fn set_start_folder(
        &mut self,
        user: UserId,
        folder: Option<FolderId>,
    ) -> StoreResult<()> {
        crate::start_folders::set_start_folder(self.turn.conn(), user, folder).await
    }

    async fn insert_ssh_key(
        &mut self,
        user: UserId,
        key: &ParsedKey,
        at: Timestamp,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO ssh_keys (user_id, algorithm, public_key, fingerprint, comment, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(&key.fingerprint)
        .bind(&key.comment)
        .bind(at.0)
        .fetch_one(self.turn.conn())
        .await
        .map_err(|e| errors::map(e, "that key for this user"))?;
        row.try_get("id").map_err(errors::db)
    }

    async fn delete_ssh_key(&mut self, user: UserId, fingerprint: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM ssh_keys WHERE user_id = $1 AND fingerprint = $2")
            .bind(user)
            .bind(fingerprint)
            .execute(self.turn.conn())
            .await
            .map_err(errors::db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn has_ssh_key(&mut self, user: UserId, fingerprint: &str) -> StoreResult<bool> {
        let found =
            sqlx::query("SELECT 1 AS one FROM ssh_keys WHERE user_id = $1 AND fingerprint = $2")
                .bind(user)
                .bind(fingerprint)
                .fetch_optional(self.turn.conn())
                .await
                .map_err(errors::db)?;
        Ok(found.is_some())
    }

    async fn insert_application(&mut self, app: &Application) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO applications (id, name, enabled, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(app.id)
        .bind(&app.name)
        .bind(flag(app.enabled))
        .bind(app.created_at.0)
        .execute(self.turn.conn())
        .await
        .map_err(|e| errors::map(e, "an application with that ID"))?;
        Ok(())
    }

    async fn set_application_enabled(
        &mut self,
        id: ApplicationId,
        enabled: bool,
    ) -> StoreResult<bool> {
        self.forget(Eviction::All);
        let done = sqlx::query("UPDATE applications SET enabled = $1 WHERE id = $2")
            .bind(flag(enabled))
            .bind(id)
            .execute(self.turn.conn())
            .await
            .map_err(errors::db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn lockout(&mut self, key: &str) -> StoreResult<Option<LockoutState>> {
        queries::lockout(self.turn.conn(), key).await
    }

    async fn put_lockout(&mut self, key: &str, s: &LockoutState) -> StoreResult<()> {
        counters::put_lockout(self.turn.conn(), key, s).await
    }

    async fn clear_lockout(&mut self, key: &str) -> StoreResult<()> {
        counters::clear_lockout(self.turn.conn(), key).await
    }

    async fn take_lease(
        &mut self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool> {
        counters::take_lease(self.turn.conn(), name, holder, now, until).await
    }

    async fn clear_lockouts(&mut self, key: &str, prefix: &str) -> StoreResult<u64> {
        counters::clear_lockouts(self.turn.conn(), key, prefix).await
    }

    async fn delete_stale_lockouts(
        &mut self,
        before: Timestamp,
        now: Timestamp,
    ) -> StoreResult<u64> {
        counters::delete_stale_lockouts(self.turn.conn(), before, now).await
    }

    async fn record_signin_address(
        &mut self,
        user: UserId,
        ip: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        counters::record_signin_address(self.turn.conn(), user, ip, at).await
    }

    async fn delete_old_signin_addresses(&mut self, before: Timestamp) -> StoreResult<u64> {
        counters::delete_old_signin_addresses(self.turn.conn(), before).await
    }

    async fn spend_token(
        &mut self,
        digest: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        counters::spend_token(self.turn.conn(), digest, expires_at, now).await
    }

    async fn insert_share_link(&mut self, link: &ShareLink) -> StoreResult<ShareLinkId> {
        crate::share_links::insert(self.turn.conn(), link).await
    }

    async fn revoke_share_link(&mut self, id: ShareLinkId, at: Timestamp) -> StoreResult<()> {
        crate::share_links::revoke(self.turn.conn(), id, at).await
    }

    async fn take_link_download(&mut self, id: ShareLinkId) -> StoreResult<bool> {
        crate::share_links::take_download(self.turn.conn(), id).await
    }

    async fn put_second_factor(&mut self, f: &SecondFactor) -> StoreResult<()> {
        second_factors::put(self.turn.conn(), f).await
    }

    async fn confirm_second_factor(
        &mut self,
        user: UserId,
        at: Timestamp,
        step: i64,
        codes: &[String],
    ) -> StoreResult<bool> {
        second_factors::confirm(self.turn.conn(), user, at, step, codes).await
    }

    async fn delete_second_factor(&mut self, user: UserId) -> StoreResult<bool> {
        second_factors::delete(self.turn.conn(), user).await
    }

    async fn spend_totp_step(&mut self, user: UserId, step: i64) -> StoreResult<bool> {
        second_factors::spend_step(self.turn.conn(), user, step).await
    }

    async fn spend_recovery_code(
        &mut self,
        u: UserId,
        d: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        second_factors::spend_code(self.turn.conn(), u, d, at).await
    }

    async fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        queries::insert_session(self.turn.conn(), s).await
    }

    async fn delete_session(&mut self, id: &SessionKey) -> StoreResult<bool> {
        self.forget(Eviction::Session(*id));
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_hex())
            .execute(self.turn.conn())
            .await
            .map_err(errors::db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replaceable_sessions(
        &mut self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Vec<Session>> {
        queries::sessions_where(
            self.turn.conn(),
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE user_id = $1 AND application_id = $2 AND immutable = 0"
            ),
            user,
            Some(app),
        )
        .await
    }

    async fn immutable_sessions(
        &mut self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Vec<Session>> {
        queries::sessions_where(
            self.turn.conn(),
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE user_id = $1 AND application_id = $2 AND immutable = 1 ORDER BY created_at"
            ),
            user,
            Some(app),
        )
        .await
    }

    async fn sessions_of_user(&mut self, user: UserId) -> StoreResult<Vec<Session>> {
        queries::sessions_where(
            self.turn.conn(),
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE user_id = $1"
            ),
            user,
            None,
        )
        .await
    }

    async fn count_immutable_sessions(
        &mut self,
        user: UserId,
        app: ApplicationId,
        of_app: bool,
    ) -> StoreResult<i64> {
        session_bounds::count_immutable(self.turn.conn(), user, app, of_app).await
    }

    async fn least_used_immutable_sessions(
        &mut self,
        user: UserId,
        except: ApplicationId,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        session_bounds::least_used_immutable(self.turn.conn(), user, except, limit).await
    }

    async fn sessions_impersonated_by(&mut self, user: UserId) -> StoreResult<Vec<Session>> {
        queries::sessions_where(
            self.turn.conn(),
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE impersonator_id = $1"
            ),
            user,
            None,
        )
        .await
    }

    async fn expired_sessions(&mut self, now: Timestamp, limit: i64) -> StoreResult<Vec<Session>> {
        queries::sessions_where(
            self.turn.conn(),
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2"
            ),
            now.0,
            Some(limit),
        )
        .await
    }

    async fn folder_ancestry(&mut self, id: FolderId) -> StoreResult<Vec<FolderId>> {
        let rows = sqlx::query(
            "WITH RECURSIVE chain (id, parent_id, depth) AS ( \
                 SELECT id, parent_id, CAST(0 AS BIGINT) FROM folders WHERE id = $1 \
                 UNION ALL \
                 SELECT f.id, f.parent_id, c.depth + 1 FROM folders f \
                 JOIN chain c ON f.id = c.parent_id) \
             SELECT id FROM chain ORDER BY depth",
        )
        .bind(id)
        .fetch_all(self.turn.conn())
        .await
        .map_err(errors::db)?;
        rows.iter()
            .map(|r| r.try_get("id").map_err(errors::db))
            .collect()
    }

    async fn folder_height(&mut self, id: FolderId) -> StoreResult<i64> {
        folder_writes::folder_height(self.turn.conn(), id).await
    }

    async fn group_grants(&mut self, group: GroupId) -> StoreResult<Vec<Grant>> {
        group_reads::group_grants(self.turn.conn(), group).await
    }

    async fn unheld_folders_below(
        &mut self,
        folder: FolderId,
        user: UserId,
        any: Permissions,
    ) -> StoreResult<i64> {
        folder_writes::unheld_folders_below(self.turn.conn(), folder, user, any).await
    }

    async fn permission_chain(
        &mut self,
        id: FolderId,
        user: UserId,
    ) -> StoreResult<Vec<ChainLink>> {
        folder_reads::permission_chain(self.turn.conn(), id, user).await
    }

    async fn insert_folder(&mut self, f: &Folder) -> StoreResult<FolderId> {
        folder_writes::insert_folder(self.turn.conn(), f).await
    }

    async fn update_folder(&mut self, f: &Folder) -> StoreResult<()> {
        folder_writes::update_folder(self.turn.conn(), f).await
    }

    async fn replace_grants(&mut self, folder: FolderId, grants: &[Grant]) -> StoreResult<()> {
        queries::replace_grants(self.turn.conn(), folder, grants).await
    }

    async fn metadata_count(&mut self, owner: MetadataOwner) -> StoreResult<i64> {
        metadata_items::count(self.turn.conn(), owner).await
    }

    async fn put_metadata(
        &mut self,
        owner: MetadataOwner,
        name: &str,
        value: &str,
        write: MetadataWrite,
    ) -> StoreResult<Option<i64>> {
        metadata_items::put(self.turn.conn(), owner, name, value, write).await
    }

    async fn insert_group(&mut self, name: &str, at: Timestamp) -> StoreResult<GroupId> {
        let row = sqlx::query(
            "INSERT INTO user_groups (name, name_key, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(name.to_lowercase())
        .bind(at.0)
        .fetch_one(self.turn.conn())
        .await
        .map_err(|e| errors::map(e, "a user group with that name"))?;
        row.try_get("id").map_err(errors::db)
    }

    async fn add_group_member(&mut self, group: GroupId, user: UserId) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) \
             ON CONFLICT (group_id, user_id) DO NOTHING",
        )
        .bind(group)
        .bind(user)
        .execute(self.turn.conn())
        .await
        .map_err(errors::db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_group_member(&mut self, group: GroupId, user: UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group)
            .bind(user)
            .execute(self.turn.conn())
            .await
            .map_err(errors::db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn hand_over_content(
        &mut self,
        file: FileId,
        content_key: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        file_writes::hand_over_content(self.turn.conn(), file, content_key, at).await
    }

    async fn delete_below(&mut self, folder: FolderId, at: Timestamp) -> StoreResult<(i64, i64)> {
        folder_writes::delete_below(self.turn.conn(), folder, at).await
    }

    async fn live_files_below(
        &mut self,
        folder: FolderId,
        after: FileId,
        limit: i64,
    ) -> StoreResult<Vec<(FileId, FolderId, String)>> {
        folder_writes::live_files_below(self.turn.conn(), folder, after, limit).await
    }

    async fn files_to_purge(&mut self, cutoff: Timestamp, limit: i64) -> StoreResult<Vec<File>> {
        file_writes::files_to_purge(self.turn.conn(), cutoff, limit).await
    }

    async fn mark_purged(&mut self, file: FileId) -> StoreResult<()> {
        file_writes::mark_purged(self.turn.conn(), file).await
    }
}

mod grouped;
