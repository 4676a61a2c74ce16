//! [`SqlStore`]: the reads of the [`MetadataStore`] port, and the start of a change.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::Timestamp;
use ferry_core::domain::{
    Application, ApplicationId, AuditEntry, AuditHead, AuditRecord, ChainLink, DownloadAllowance,
    File, FileId, FileOrder, FileVersion, Folder, FolderId, Grant, GroupId, MetadataItem,
    MetadataOwner, Permissions, SecondFactor, Session, SessionKey, ShareLink, ShareLinkId, SshKey,
    User, UserGroup, UserId,
};
use ferry_core::store::{
    AuditFilter, FileToDownload, GroupedTx, LockoutState, MetadataStore, NameInFolder, StoreResult,
    StoreTx,
};
use sqlx::AnyPool;
use sqlx::Row;
use tokio::sync::OnceCell;

use crate::audit_appender::{self, AuditAppender};
use crate::connect::Engine;
use crate::group_commit::GroupCommit;
use crate::quiet_tx::{QuietTx, QuietWriter};
use crate::rows::{self, Columns, audit_columns};
use crate::session_cache::SessionCache;
use crate::sqlite_reader::SqliteReader;
use crate::tx::SqlTx;
use crate::upload_as_seen::FileIds;
use crate::{
    audit_alone, errors, folder_reads, group_reads, metadata_items, queries, search_reads,
    upload_alone, user_reads,
};

/// The metadata store over one database (SQLite or PostgreSQL).
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) engine: Engine,
    /// SQLite only: the synchronous read path for the session check and point reads.
    pub(crate) reader: Option<Arc<SqliteReader>>,
    /// Changes, committed in groups (see `group_commit.rs`).
    pub(crate) changes: GroupCommit,
    /// SQLite only: bookkeeping writers take a turn here too (SQLite has one write lock).
    pub(crate) sqlite_writes: bool,
    /// PostgreSQL only: the session check's cache (`session_cache.rs`), once
    /// [`SqlStore::start_session_cache`] has started it.
    pub(crate) session_cache: Option<Arc<SessionCache>>,
    /// The database URL, for the session cache's own connection.
    pub(crate) url: Arc<str>,
    /// SQLite only: the connection grouped changes run on when the process is quiet
    /// (`quiet_tx.rs`).
    pub(crate) quiet_writer: Option<Arc<QuietWriter>>,
    /// SQLite only: the writer of audit records alone (`audit_appender.rs`), started on the
    /// first.
    pub(crate) audit_appender: Option<Arc<OnceCell<AuditAppender>>>,
    /// PostgreSQL: new files' IDs taken ahead, for uploads recorded in one statement
    /// (`upload_as_seen.rs`).
    pub(crate) file_ids: Arc<FileIds>,
}

impl SqlStore {
    pub(crate) fn new(pool: AnyPool, engine: Engine, url: &str) -> Self {
        let reader = (engine == Engine::Sqlite).then(|| Arc::new(SqliteReader::new(url)));
        let quiet_writer = reader
            .as_ref()
            .map(|reader| Arc::new(QuietWriter::new(reader.path())));
        SqlStore {
            quiet_writer,
            changes: GroupCommit::new(pool.clone(), engine),
            sqlite_writes: engine == Engine::Sqlite,
            session_cache: None,
            audit_appender: (engine == Engine::Sqlite).then(Arc::default),
            file_ids: Arc::default(),
            url: url.into(),
            pool,
            engine,
            reader,
        }
    }

    /// Which engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A version's columns, as `rows::file_version` reads them.
macro_rules! version_columns {
    () => {
        "file_id, version, size, sha256, content_key, created_at, created_by, client_modified_at"
    };
}

#[async_trait]
impl MetadataStore for SqlStore {
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(
            SqlTx::begin(self.changes.change(false).await?, self).await?,
        ))
    }

    async fn begin_grouped(&self) -> StoreResult<Box<dyn GroupedTx>> {
        let turn = match &self.quiet_writer {
            // SQLite: on the caller's thread where the batch is (or opens) there.
            Some(writer) => self.changes.change_here(writer).await?,
            None => self.changes.change(true).await?,
        };
        if turn.is_local() {
            return Ok(Box::new(QuietTx::on(turn)?));
        }
        Ok(Box::new(SqlTx::begin(turn, self).await?))
    }

    async fn record_upload_alone(
        &self,
        file: &File,
        inline: Option<&[u8]>,
        at: Timestamp,
        entry: AuditEntry,
    ) -> StoreResult<Option<FileId>> {
        upload_alone::record(self, file, inline, (at, entry)).await
    }

    async fn append_audit_alone(&self, at: Timestamp, entry: AuditEntry) -> StoreResult<()> {
        let (Some(appender), Some(reader), Some(writer)) =
            (&self.audit_appender, &self.reader, &self.quiet_writer)
        else {
            return audit_alone::append(self, at, entry).await;
        };
        // Quiet: a change of one record on the caller's thread, as a quiet upload's
        // (`quiet_tx.rs`); else the appender's thread, where waiting records share a commit.
        if let Some(tx) = QuietTx::begin(writer, &self.changes) {
            return audit_appender::append_quietly(Box::new(tx), at, entry).await;
        }
        let appender = appender
            .get_or_try_init(|| async { AuditAppender::start(reader.path(), self.changes.clone()) })
            .await?;
        appender.append(at, entry).await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        queries::user_by_id(&self.pool, id).await
    }

    async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        user_reads::user_by_name(&self.pool, name).await
    }

    async fn user_by_domain_username(&self, domain_username: &str) -> StoreResult<Option<User>> {
        user_reads::user_by_domain_username(&self.pool, domain_username).await
    }

    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        user_reads::users_by_email(&self.pool, email).await
    }

    async fn start_folder(&self, user: UserId) -> StoreResult<Option<FolderId>> {
        crate::start_folders::start_folder(&self.pool, user).await
    }

    async fn ssh_keys(&self, user: UserId) -> StoreResult<Vec<SshKey>> {
        user_reads::ssh_keys(&self.pool, user).await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        user_reads::users(&self.pool).await
    }

    async fn stored_bytes(&self, user: UserId) -> StoreResult<u64> {
        user_reads::stored_bytes(&self.pool, user).await
    }

    async fn stored_bytes_by_user(&self) -> StoreResult<Vec<(UserId, u64)>> {
        user_reads::stored_bytes_by_user(&self.pool).await
    }

    async fn count_users(&self) -> StoreResult<i64> {
        user_reads::count_users(&self.pool).await
    }

    async fn application(&self, id: ApplicationId) -> StoreResult<Option<Application>> {
        sqlx::query("SELECT id, name, enabled, created_at FROM applications WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(errors::db)?
            .as_ref()
            .map(rows::application)
            .transpose()
    }

    async fn applications(&self) -> StoreResult<Vec<Application>> {
        sqlx::query("SELECT id, name, enabled, created_at FROM applications ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(errors::db)?
            .iter()
            .map(rows::application)
            .collect()
    }

    async fn lockout(&self, key: &str) -> StoreResult<Option<LockoutState>> {
        queries::lockout(&self.pool, key).await
    }

    async fn signed_in_from(&self, user: UserId, ip: &str, since: Timestamp) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS known FROM signin_addresses \
             WHERE user_id = $1 AND ip = $2 AND last_success_at >= $3",
        )
        .bind(user)
        .bind(ip)
        .bind(since.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(errors::db)?;
        Ok(row.is_some())
    }

    async fn session_with_user(&self, id: &SessionKey) -> StoreResult<Option<(Session, User)>> {
        self.checked_session(id).await
    }

    async fn touch_session(
        &self,
        id: &SessionKey,
        at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        self.touch_session_row(id, at, expires_at).await
    }

    async fn live_sessions(
        &self,
        now: Timestamp,
        user: Option<UserId>,
        application: Option<ApplicationId>,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        crate::console_reads::live_sessions(&self.pool, now, user, application, limit).await
    }

    async fn group_members(&self, group: GroupId) -> StoreResult<Vec<UserId>> {
        crate::console_reads::group_members(&self.pool, group).await
    }

    async fn share_links(&self, user: UserId, limit: i64) -> StoreResult<Vec<ShareLink>> {
        crate::share_links::of_user(&self.pool, user, limit).await
    }

    async fn share_link(&self, id: ShareLinkId) -> StoreResult<Option<ShareLink>> {
        crate::share_links::by_id(&self.pool, id).await
    }

    async fn download_allowance(
        &self,
        session: &SessionKey,
    ) -> StoreResult<Option<DownloadAllowance>> {
        crate::share_links::allowance(&self.pool, session).await
    }

    async fn second_factor(&self, user: UserId) -> StoreResult<Option<SecondFactor>> {
        crate::second_factors::of_user(&self.pool, user).await
    }

    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<i64> {
        crate::second_factors::codes_left(&self.pool, user).await
    }

    async fn count_live_sessions(&self, now: Timestamp) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM sessions WHERE expires_at IS NULL OR expires_at > $1",
        )
        .bind(now.0)
        .fetch_one(&self.pool)
        .await
        .map_err(errors::db)?;
        row.try_get::<i64, _>("n").map_err(errors::db)
    }

    async fn folder(&self, id: FolderId) -> StoreResult<Option<Folder>> {
        if let Some(reader) = &self.reader {
            return reader.folder(id);
        }
        queries::folder(&self.pool, id).await
    }

    async fn permission_chain(&self, id: FolderId, user: UserId) -> StoreResult<Vec<ChainLink>> {
        if let Some(reader) = &self.reader {
            return reader.permission_chain(id, user);
        }
        folder_reads::permission_chain(&self.pool, id, user).await
    }

    async fn child_folders_after(
        &self,
        parent: FolderId,
        user: UserId,
        after: &str,
        take: i64,
    ) -> StoreResult<Vec<(Folder, Permissions)>> {
        folder_reads::child_folders_after(&self.pool, parent, user, after, take).await
    }

    async fn folder_path(
        &self,
        from: FolderId,
        keys: &[String],
        user: UserId,
    ) -> StoreResult<Vec<(Folder, Permissions)>> {
        if let Some(reader) = &self.reader {
            return reader.folder_path(from, keys, user);
        }
        folder_reads::folder_path(&self.pool, self.engine, from, keys, user).await
    }

    async fn folder_path_from(
        &self,
        from: FolderId,
        keys: &[String],
        user: UserId,
    ) -> StoreResult<Vec<(Folder, Permissions)>> {
        if let Some(reader) = &self.reader {
            return reader.folder_path_from(from, keys, user);
        }
        folder_reads::folder_path_from(&self.pool, self.engine, from, keys, user).await
    }

    async fn grants(&self, folder: FolderId) -> StoreResult<Vec<Grant>> {
        sqlx::query(
            "SELECT id, folder_id, permission, user_id, group_id FROM folder_permissions \
             WHERE folder_id = $1 ORDER BY id",
        )
        .bind(folder)
        .fetch_all(&self.pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(rows::grant)
        .collect()
    }

    async fn group_grants(&self, group: GroupId) -> StoreResult<Vec<Grant>> {
        group_reads::group_grants(&self.pool, group).await
    }

    async fn metadata(&self, owner: MetadataOwner) -> StoreResult<Vec<MetadataItem>> {
        metadata_items::list(&self.pool, owner).await
    }

    async fn group(&self, id: GroupId) -> StoreResult<Option<UserGroup>> {
        group_reads::group(&self.pool, id).await
    }

    async fn groups(&self) -> StoreResult<Vec<UserGroup>> {
        group_reads::groups(&self.pool).await
    }

    async fn groups_of_user(&self, user: UserId) -> StoreResult<Vec<UserGroup>> {
        group_reads::groups_of_user(&self.pool, user).await
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<File>> {
        if let Some(reader) = &self.reader {
            return reader.file(id);
        }
        queries::file(&self.pool, id).await
    }

    async fn file_with_chain(
        &self,
        id: FileId,
        user: UserId,
    ) -> StoreResult<Option<(File, Vec<ChainLink>)>> {
        if let Some(reader) = &self.reader {
            // Two point reads in-process cost less than one query would save.
            let Some(file) = reader.file(id)? else {
                return Ok(None);
            };
            let chain = reader.permission_chain(file.folder_id, user)?;
            return Ok(Some((file, chain)));
        }
        folder_reads::file_with_chain(&self.pool, id, user).await
    }

    async fn file_to_download(
        &self,
        id: FileId,
        user: UserId,
    ) -> StoreResult<Option<FileToDownload>> {
        if self.reader.is_some() {
            // The bytes are a point read in-process when the download opens them.
            return Ok(self
                .file_with_chain(id, user)
                .await?
                .map(|(f, c)| (f, c, None)));
        }
        folder_reads::file_to_download(&self.pool, id, user).await
    }

    async fn file_by_name(&self, folder: FolderId, name_key: &str) -> StoreResult<Option<File>> {
        if let Some(reader) = &self.reader {
            return reader.file_by_name(folder, name_key);
        }
        queries::file_by_name(&self.pool, folder, name_key).await
    }

    async fn file_by_name_to_download(
        &self,
        folder: FolderId,
        name_key: &str,
    ) -> StoreResult<Option<(File, Option<Vec<u8>>)>> {
        if self.reader.is_some() {
            return Ok(self
                .file_by_name(folder, name_key)
                .await?
                .map(|f| (f, None)));
        }
        folder_reads::file_by_name_to_download(&self.pool, folder, name_key).await
    }

    async fn chain_and_file_by_name(
        &self,
        folder: FolderId,
        user: UserId,
        name_key: &str,
    ) -> StoreResult<NameInFolder> {
        if let Some(reader) = &self.reader {
            return Ok(NameInFolder {
                chain: reader.permission_chain(folder, user)?,
                file: reader.file_by_name(folder, name_key)?,
                folder_has_it: reader.folder_has_child(folder, name_key)?,
            });
        }
        folder_reads::chain_and_file_by_name(&self.pool, folder, user, name_key).await
    }

    async fn files(&self, folder: FolderId, skip: i64, take: i64) -> StoreResult<Vec<File>> {
        crate::file_pages::files(&self.pool, folder, skip, take).await
    }

    async fn files_ordered(
        &self,
        folder: FolderId,
        order: FileOrder,
        descending: bool,
        after: Option<FileId>,
        take: i64,
    ) -> StoreResult<Vec<File>> {
        crate::file_pages::files_ordered(&self.pool, folder, order, descending, after, take).await
    }

    async fn file_count(&self, folder: FolderId, cap: i64) -> StoreResult<i64> {
        crate::file_pages::file_count(&self.pool, folder, cap).await
    }

    async fn file_versions_page(
        &self,
        file: FileId,
        newest_first: bool,
        skip: i64,
        take: i64,
    ) -> StoreResult<Vec<FileVersion>> {
        let query = if newest_first {
            sqlx::query(concat!(
                "SELECT ",
                version_columns!(),
                " FROM file_versions WHERE file_id = $1 ORDER BY version DESC LIMIT $2 OFFSET $3"
            ))
        } else {
            sqlx::query(concat!(
                "SELECT ",
                version_columns!(),
                " FROM file_versions WHERE file_id = $1 ORDER BY version LIMIT $2 OFFSET $3"
            ))
        };
        query
            .bind(file)
            .bind(take)
            .bind(skip)
            .fetch_all(&self.pool)
            .await
            .map_err(errors::db)?
            .iter()
            .map(rows::file_version)
            .collect()
    }

    async fn file_version(&self, file: FileId, version: i64) -> StoreResult<Option<FileVersion>> {
        sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM file_versions WHERE file_id = $1 AND version = $2"
        ))
        .bind(file)
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(errors::db)?
        .as_ref()
        .map(rows::file_version)
        .transpose()
    }

    async fn file_versions(&self, file: FileId) -> StoreResult<Vec<FileVersion>> {
        sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM file_versions WHERE file_id = $1 ORDER BY version"
        ))
        .bind(file)
        .fetch_all(&self.pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(rows::file_version)
        .collect()
    }

    async fn search_folders(
        &self,
        pattern: &str,
        after: FolderId,
        limit: i64,
    ) -> StoreResult<Vec<Folder>> {
        search_reads::folders(&self.pool, pattern, after, limit).await
    }

    async fn search_files(
        &self,
        pattern: &str,
        after: FileId,
        limit: i64,
    ) -> StoreResult<Vec<File>> {
        search_reads::files(&self.pool, pattern, after, limit).await
    }

    async fn audit_query(
        &self,
        f: &AuditFilter,
        skip: i64,
        take: i64,
    ) -> StoreResult<Vec<AuditRecord>> {
        crate::audit_reads::audit_query(&self.pool, f, skip, take).await
    }

    async fn content_referenced(&self, key: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM file_versions WHERE content_key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(row.int("n")? > 0)
    }

    async fn audit_records(&self, after_seq: i64, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(rows::audit)
        .collect()
    }

    async fn audit_head(&self) -> StoreResult<AuditHead> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(AuditHead {
            seq: row.try_get("seq").map_err(errors::db)?,
            hash: row.try_get("hash").map_err(errors::db)?,
        })
    }
}
