//! The fast read path for SQLite: the session check that every API call makes, and the
//! point reads every file operation makes (a folder's permission chain, a path's folders, a
//! folder, a file by name), run synchronously on a small pool of read-only rusqlite
//! connections to the same database file.
//!
//! Why: sqlx runs each SQLite connection on a worker thread of its own and hands every query
//! over through channels; profiling `GetCurrentUser` showed about half of the server's time in
//! those thread hand-offs (futex wake and wait) and about 1% in SQLite itself. A point read by
//! primary key takes microseconds, so running it on the calling task costs less than handing it
//! off. Both drivers link the same SQLite (`libsqlite3-sys`); with WAL, these readers never
//! block the writer and always see the last committed change. Writes stay on sqlx.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use ferry_core::domain::{
    AuditHead, ChainLink, File, FileId, Folder, FolderId, Permissions, Session, SessionKey, User,
    UserId,
};
use ferry_core::store::{StoreError, StoreResult};
use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags};

use crate::rows::{self, session_and_user_columns};
use crate::{folder_reads, inline_contents, queries};

/// A query's result column names, learnt from its statement the first time it runs.
type Names = OnceLock<Vec<String>>;

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;

/// A pool of read-only connections to one SQLite file.
pub(crate) struct SqliteReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReader {
    /// A reader for the database at an `sqlite:` URL (the file must exist: the migrations ran).
    pub(crate) fn new(url: &str) -> SqliteReader {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or(path);
        SqliteReader {
            path: PathBuf::from(path),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The database file.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn connection(&self) -> StoreResult<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            StoreError::Unavailable(format!("cannot open {}: {e}", self.path.display()))
        })?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(map)?;
        // No `mmap_size`: every write changes the file, and SQLite then unmaps and maps the
        // whole database again on the next read (`sqlite3PagerSharedLock`), which costs more
        // than the few preads a point read makes. It was set for the session check, which is
        // now answered from memory (bench/README.md, small_files_ab.sh).
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// The session with this ID and its user.
    pub(crate) fn session_with_user(
        &self,
        id: &SessionKey,
    ) -> StoreResult<Option<(Session, User)>> {
        static NAMES: Names = OnceLock::new();
        const SQL: &str = concat!(
            "SELECT ",
            session_and_user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             JOIN applications a ON a.id = s.application_id AND a.enabled = 1 \
             LEFT JOIN applications ia ON ia.id = s.impersonator_application_id \
             WHERE s.id = $1 AND (s.impersonator_application_id IS NULL OR ia.enabled = 1)"
        );
        let mut found = None;
        self.rows(SQL, &NAMES, &[("$1", &id.to_hex())], |row| {
            found = Some((rows::session(row)?, rows::user_prefixed(row, "u_")?));
            Ok(())
        })?;
        Ok(found)
    }

    /// A folder's chain up to the root with the bits granted on each to `user`.
    pub(crate) fn permission_chain(
        &self,
        id: FolderId,
        user: UserId,
    ) -> StoreResult<Vec<ChainLink>> {
        static NAMES: Names = OnceLock::new();
        let mut chain = Vec::new();
        self.rows(
            folder_reads::PERMISSION_CHAIN,
            &NAMES,
            &[("$1", &id), ("$2", &user)],
            |row| folder_reads::push_link(&mut chain, row),
        )?;
        Ok(chain)
    }

    /// The live folders a path of name keys leads to below `from`, with `user`'s grants.
    pub(crate) fn folder_path(
        &self,
        from: FolderId,
        keys: &[String],
        user: UserId,
    ) -> StoreResult<Vec<(Folder, Permissions)>> {
        static NAMES: Names = OnceLock::new();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.walk(folder_reads::SQLITE_FOLDER_PATH, &NAMES, from, keys, user)
    }

    /// The folder `from` with `user`'s grants, then the live folders a path of name keys leads
    /// to below it.
    pub(crate) fn folder_path_from(
        &self,
        from: FolderId,
        keys: &[String],
        user: UserId,
    ) -> StoreResult<Vec<(Folder, Permissions)>> {
        static NAMES: Names = OnceLock::new();
        self.walk(
            folder_reads::SQLITE_FOLDER_PATH_FROM,
            &NAMES,
            from,
            keys,
            user,
        )
    }

    /// A path's walk from `from` by one of the walk's statements (`sql`, its column `names`).
    fn walk(
        &self,
        sql: &'static str,
        names: &'static Names,
        from: FolderId,
        keys: &[String],
        user: UserId,
    ) -> StoreResult<Vec<(Folder, Permissions)>> {
        let mut folders = Vec::new();
        let keys = folder_reads::keys_json(keys)?;
        self.rows(
            sql,
            names,
            &[("$1", &from), ("$2", &user), ("$3", &keys)],
            |row| folder_reads::push_folder(&mut folders, row),
        )?;
        Ok(folders)
    }

    /// The folder with this ID.
    pub(crate) fn folder(&self, id: FolderId) -> StoreResult<Option<Folder>> {
        let conn = self.connection()?;
        let found = folder(&conn, id);
        self.give_back(conn);
        found
    }

    /// The file with this ID (deleted or not).
    pub(crate) fn file(&self, id: FileId) -> StoreResult<Option<File>> {
        let conn = self.connection()?;
        let found = file(&conn, id);
        self.give_back(conn);
        found
    }

    /// A small file's bytes, kept in the database under `key`.
    pub(crate) fn inline_content(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        static NAMES: Names = OnceLock::new();
        let mut found = None;
        self.rows(
            inline_contents::INLINE_CONTENT,
            &NAMES,
            &[("$1", &key)],
            |row| {
                found = Some(row.get::<Vec<u8>>("bytes")?);
                Ok(())
            },
        )?;
        Ok(found)
    }

    /// The audit chain's head as last committed.
    pub(crate) fn audit_head(&self) -> StoreResult<AuditHead> {
        let conn = self.connection()?;
        let head = audit_head(&conn);
        self.give_back(conn);
        head
    }

    /// A folder's live file with this name key.
    pub(crate) fn file_by_name(
        &self,
        folder: FolderId,
        name_key: &str,
    ) -> StoreResult<Option<File>> {
        let conn = self.connection()?;
        let found = file_by_name(&conn, folder, name_key);
        self.give_back(conn);
        found
    }

    /// Whether a live child folder of `parent` has this name key.
    pub(crate) fn folder_has_child(&self, parent: FolderId, name_key: &str) -> StoreResult<bool> {
        static NAMES: Names = OnceLock::new();
        const SQL: &str = "SELECT 1 AS found FROM folders \
                           WHERE parent_id = $1 AND name_key = $2 AND deleted = 0";
        let mut found = false;
        self.rows(SQL, &NAMES, &[("$1", &parent), ("$2", &name_key)], |_| {
            found = true;
            Ok(())
        })?;
        Ok(found)
    }

    /// Runs `sql` on one of the pool's connections: see [`rows`].
    fn rows(
        &self,
        sql: &'static str,
        names: &'static Names,
        params: &[(&str, &dyn ToSql)],
        each: impl FnMut(&ByPosition<'_>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let conn = self.connection()?;
        let result = rows(&conn, sql, names, params, each);
        self.give_back(conn);
        result
    }
}

/// Runs `sql` on `conn` with named parameters (`$1`, `$2`, ...: SQLite binds them by name,
/// whatever order they appear in) and hands each row to `each`.
pub(crate) fn rows(
    conn: &Connection,
    sql: &'static str,
    names: &'static Names,
    params: &[(&str, &dyn ToSql)],
    mut each: impl FnMut(&ByPosition<'_>) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut statement = conn.prepare_cached(sql).map_err(map)?;
    let names = names.get_or_init(|| {
        statement
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    });
    let mut rows = statement.query(params).map_err(map)?;
    while let Some(row) = rows.next().map_err(map)? {
        each(&ByPosition { row, names })?;
    }
    Ok(())
}

/// The folder with this ID, read on `conn`.
pub(crate) fn folder(conn: &Connection, id: FolderId) -> StoreResult<Option<Folder>> {
    static NAMES: Names = OnceLock::new();
    let mut found = None;
    rows(conn, queries::FOLDER_BY_ID, &NAMES, &[("$1", &id)], |row| {
        found = Some(rows::folder(row)?);
        Ok(())
    })?;
    Ok(found)
}

/// The file with this ID (deleted or not), read on `conn`.
pub(crate) fn file(conn: &Connection, id: FileId) -> StoreResult<Option<File>> {
    static NAMES: Names = OnceLock::new();
    let mut found = None;
    rows(conn, queries::FILE_BY_ID, &NAMES, &[("$1", &id)], |row| {
        found = Some(rows::file(row)?);
        Ok(())
    })?;
    Ok(found)
}

/// A folder's live file with this name key, read on `conn`.
pub(crate) fn file_by_name(
    conn: &Connection,
    folder: FolderId,
    name_key: &str,
) -> StoreResult<Option<File>> {
    static NAMES: Names = OnceLock::new();
    let mut found = None;
    rows(
        conn,
        queries::LIVE_FILE_BY_NAME,
        &NAMES,
        &[("$1", &folder), ("$2", &name_key)],
        |row| {
            found = Some(rows::file(row)?);
            Ok(())
        },
    )?;
    Ok(found)
}

/// The audit chain's head as `conn` sees it.
pub(crate) fn audit_head(conn: &Connection) -> StoreResult<AuditHead> {
    static NAMES: Names = OnceLock::new();
    let mut found = None;
    rows(
        conn,
        "SELECT seq, hash FROM audit_head WHERE id = 1",
        &NAMES,
        &[],
        |row| {
            found = Some(AuditHead {
                seq: row.get("seq")?,
                hash: row.get("hash")?,
            });
            Ok(())
        },
    )?;
    // The head row is made by the first migration and never deleted.
    found.ok_or_else(|| StoreError::Other("the audit chain has no head row".into()))
}

/// A row read by position, its columns' names known beforehand: rusqlite resolves a column
/// name by asking SQLite for every column's name each time, which profiling showed costs more
/// than the query itself.
pub(crate) struct ByPosition<'a> {
    row: &'a rusqlite::Row<'a>,
    names: &'a [String],
}

impl ByPosition<'_> {
    fn index(&self, col: &str) -> StoreResult<usize> {
        self.names
            .iter()
            .position(|n| n == col)
            .ok_or_else(|| StoreError::Other(format!("no column {col} in the query")))
    }

    fn get<T: rusqlite::types::FromSql>(&self, col: &str) -> StoreResult<T> {
        self.row
            .get(self.index(col)?)
            .map_err(|e| StoreError::Other(format!("column {col}: {e}")))
    }
}

impl rows::Columns for ByPosition<'_> {
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.get(col)
    }
    fn text(&self, col: &str) -> StoreResult<String> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.get(col)
    }
}

/// Maps a rusqlite error: a name another kind of item holds (migration 0022), the database
/// busy or locked (unavailable), out of space (full), or anything else.
pub(crate) fn map(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(_, Some(message)) = &e
        && let Some(conflict) = crate::errors::name_held_by_other_kind(message)
    {
        return conflict;
    }
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}
