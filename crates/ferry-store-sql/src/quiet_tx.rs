//! SQLite's grouped changes on the caller's thread ([`QuietTx`]): recording an upload, a
//! download's audit record alone (`audit_appender::append_quietly`), a file's change, run on
//! the quiet writer's rusqlite connection, from `BEGIN IMMEDIATE` to `COMMIT` (issue 21).
//! Alone, a change is a batch of one; under load, changes take turns on the batch open there
//! ([`LocalTx`], `group_commit.rs`), each in a savepoint, and share its commit (group commit).
//!
//! Why: through sqlx, each statement of a change is handed to sqlx's thread for the
//! connection and back, two thread switches each; an upload over one connection was five
//! such hand-offs even after they were cut down (`group_commit.rs`, `file_writes.rs`), and
//! `perf` put a third of the server's time in the switches and wake-ups. With 16 clients
//! uploading at once, changes went sqlx's way and a file cost 18 switches. Here the same
//! statements (the same SQL text) run in-process, as the synchronous reader's reads do.
//!
//! What is kept: the change holds the process's write turn, so it is still the only writer
//! of the process, and SQLite's write lock, taken at `BEGIN IMMEDIATE`, orders it against
//! other processes; the batch's first change reads the audit head under that lock and each
//! later one takes it from the one before, so the chain stays whole; the batch commits with
//! `synchronous = FULL` before any of its changes returns, so what is acknowledged is
//! durable.
//!
//! Its cost: the caller's runtime thread is blocked for the change's statements, and the
//! committer's for the commit's sync (about 0.2 ms here; one at a time, one turn); another
//! process's write lock is never waited for here (busy timeout zero: a batch then opens
//! the sqlx way, which waits off the runtime's threads).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, AuditHead, AuditRecord, File, FileId, Folder, FolderId};
use ferry_core::store::{GroupedTx, StoreError, StoreResult};
use ferry_core::text::item_key;
use rusqlite::types::ToSql;
use rusqlite::{Connection, ErrorCode};

use crate::file_writes::{
    SQLITE_FIRST_VERSION, SQLITE_INSERT_FILE, SQLITE_NEW_VERSION, SQLITE_UPDATE_FILE,
    SQLITE_VERSION_CLIENT_TIME,
};
use crate::group_commit::{GroupCommit, Turn};
use crate::inline_contents::INSERT_INLINE_CONTENT;
use crate::{audit_appender, sqlite_reader};

/// The writing connection quiet changes take turns on (one: there is one turn).
pub(crate) struct QuietWriter {
    path: PathBuf,
    idle: Mutex<Option<Connection>>,
}

impl QuietWriter {
    /// A writer for the database at `path`; its connection is opened on first use.
    pub(crate) fn new(path: &Path) -> QuietWriter {
        QuietWriter {
            path: path.to_path_buf(),
            idle: Mutex::new(None),
        }
    }

    fn take(&self) -> StoreResult<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Ok(conn);
        }
        let conn = audit_appender::open(&self.path)?;
        // Never wait for another process's lock on the caller's thread.
        conn.busy_timeout(std::time::Duration::ZERO)
            .map_err(sqlite_reader::map)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        *self.idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
    }
}

/// A batch's transaction on the quiet writer's connection (`group_commit.rs`, `BatchTx`),
/// begun with `BEGIN IMMEDIATE`; undone and given back if dropped.
pub(crate) struct LocalTx {
    writer: Arc<QuietWriter>,
    /// `None` once ended (and the connection given back).
    conn: Option<Connection>,
}

impl LocalTx {
    /// Begins a transaction if SQLite's write lock is free; else `None`, having changed
    /// nothing.
    pub(crate) fn begin(writer: &Arc<QuietWriter>) -> Option<LocalTx> {
        let conn = writer.take().ok()?;
        if conn.execute_batch("BEGIN IMMEDIATE").is_err() {
            writer.give_back(conn);
            return None;
        }
        Some(LocalTx {
            writer: Arc::clone(writer),
            conn: Some(conn),
        })
    }

    /// The connection, inside the transaction.
    pub(crate) fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("an open transaction has its connection")
    }

    /// Runs a statement of the batch's own (a savepoint's).
    pub(crate) fn run(&self, sql: &str) -> StoreResult<()> {
        self.conn().execute_batch(sql).map_err(sqlite_reader::map)
    }

    /// Commits, and gives the connection back.
    pub(crate) fn commit(mut self) -> StoreResult<()> {
        self.end("COMMIT")
    }

    /// Ends the transaction with `sql` (`COMMIT` or `ROLLBACK`) and gives the connection back.
    fn end(&mut self, sql: &str) -> StoreResult<()> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        let ended = conn.execute_batch(sql).map_err(sqlite_reader::map);
        // A failed end may leave the transaction open: undone, so the connection is fit to
        // be used again.
        if ended.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.writer.give_back(conn);
        ended
    }
}

impl Drop for LocalTx {
    fn drop(&mut self) {
        // Dropped without a commit (the batch abandoned): undone.
        let _ = self.end("ROLLBACK");
    }
}

/// A grouped change on the quiet writer's connection, in its batch (see the module's
/// documentation): its turn, whose batch is there ([`Turn::here`]).
pub(crate) struct QuietTx {
    turn: Turn,
    /// The chain's head as this change's records leave it.
    head: AuditHead,
}

impl QuietTx {
    /// Begins a change if the process is quiet and SQLite's write lock is free; else `None`,
    /// having changed nothing.
    pub(crate) fn begin(writer: &Arc<QuietWriter>, changes: &GroupCommit) -> Option<QuietTx> {
        let turn = changes.begin_here(changes.quiet_turn()?, writer)?;
        QuietTx::on(turn).ok()
    }

    /// The change on `turn`, whose batch is on the quiet writer's connection.
    pub(crate) fn on(turn: Turn) -> StoreResult<QuietTx> {
        // A later member knows the head from the member before it; the batch's first reads it
        // under the write lock its `BEGIN IMMEDIATE` took.
        let head = match turn.batch_head() {
            Some(head) => head,
            None => sqlite_reader::audit_head(
                turn.here()
                    .ok_or_else(|| StoreError::Other("the batch is not here".into()))?,
            )?,
        };
        Ok(QuietTx { turn, head })
    }

    fn conn(&self) -> StoreResult<&Connection> {
        self.turn
            .here()
            .ok_or_else(|| StoreError::Other("the change's batch is not here".into()))
    }
}

/// Maps a failed write; `conflict` names what a uniqueness violation means in it.
fn write_error(e: rusqlite::Error, conflict: &str) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::ConstraintViolation
                && matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            StoreError::Conflict(conflict.to_string())
        }
        _ => sqlite_reader::map(e),
    }
}

/// Runs one statement with named parameters.
fn execute(
    conn: &Connection,
    sql: &'static str,
    params: &[(&str, &dyn ToSql)],
    conflict: &str,
) -> StoreResult<usize> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute(params))
        .map_err(|e| write_error(e, conflict))
}

const FILE_EXISTS: &str = "a file with that name in the folder";

#[async_trait]
impl GroupedTx for QuietTx {
    async fn folder(&mut self, id: FolderId) -> StoreResult<Option<Folder>> {
        sqlite_reader::folder(self.conn()?, id)
    }

    async fn file(&mut self, id: FileId) -> StoreResult<Option<File>> {
        sqlite_reader::file(self.conn()?, id)
    }

    async fn file_by_name(
        &mut self,
        folder: FolderId,
        name_key: &str,
    ) -> StoreResult<Option<File>> {
        sqlite_reader::file_by_name(self.conn()?, folder, name_key)
    }

    async fn insert_file(&mut self, f: &File) -> StoreResult<FileId> {
        let conn = self.conn()?;
        let (key, client) = (item_key(&f.name), f.client_modified_at.map(|t| t.0));
        let id: FileId = conn
            .prepare_cached(SQLITE_INSERT_FILE)
            .and_then(|mut statement| {
                statement.query_row(
                    &[
                        ("$1", &f.folder_id as &dyn ToSql),
                        ("$2", &f.name),
                        ("$3", &key),
                        ("$4", &f.version),
                        ("$5", &f.size),
                        ("$6", &f.sha256),
                        ("$7", &f.content_key),
                        ("$8", &f.created_at.0),
                        ("$9", &f.modified_at.0),
                        ("$10", &f.created_by),
                        ("$11", &f.modified_by),
                        ("$12", &client),
                    ][..],
                    |row| row.get(0),
                )
            })
            .map_err(|e| write_error(e, FILE_EXISTS))?;
        execute(
            conn,
            SQLITE_FIRST_VERSION,
            &[
                ("$4", &f.version),
                ("$5", &f.size),
                ("$6", &f.sha256),
                ("$7", &f.content_key),
                ("$9", &f.modified_at.0),
                ("$11", &f.modified_by),
                ("$12", &client),
            ],
            FILE_EXISTS,
        )?;
        Ok(id)
    }

    async fn update_file(&mut self, f: &File, new_version: bool) -> StoreResult<()> {
        let conn = self.conn()?;
        let (key, client) = (item_key(&f.name), f.client_modified_at.map(|t| t.0));
        let deleted = i64::from(f.deleted);
        execute(
            conn,
            SQLITE_UPDATE_FILE,
            &[
                ("$1", &f.folder_id),
                ("$2", &f.name),
                ("$3", &key),
                ("$4", &f.version),
                ("$5", &f.size),
                ("$6", &f.sha256),
                ("$7", &f.content_key),
                ("$8", &f.modified_at.0),
                ("$9", &f.modified_by),
                ("$10", &deleted),
                ("$11", &f.id),
                ("$12", &client),
            ],
            FILE_EXISTS,
        )?;
        if new_version {
            execute(
                conn,
                SQLITE_NEW_VERSION,
                &[
                    ("$11", &f.id),
                    ("$4", &f.version),
                    ("$5", &f.size),
                    ("$6", &f.sha256),
                    ("$7", &f.content_key),
                    ("$8", &f.modified_at.0),
                    ("$9", &f.modified_by),
                    ("$12", &client),
                ],
                FILE_EXISTS,
            )?;
        } else {
            execute(
                conn,
                SQLITE_VERSION_CLIENT_TIME,
                &[("$12", &client), ("$11", &f.id), ("$4", &f.version)],
                FILE_EXISTS,
            )?;
        }
        Ok(())
    }

    async fn insert_inline_content(&mut self, key: &str, bytes: &[u8]) -> StoreResult<()> {
        execute(
            self.conn()?,
            INSERT_INLINE_CONTENT,
            &[("$1", &key), ("$2", &bytes)],
            "content with this key",
        )?;
        Ok(())
    }

    async fn append_audit(&mut self, at: Timestamp, entry: AuditEntry) -> StoreResult<i64> {
        let r = AuditRecord::next(&self.head, at, entry);
        let conn = self.conn()?;
        audit_appender::insert_record(conn, &r)
            .and_then(|()| {
                audit_appender::move_head(
                    conn,
                    &AuditHead {
                        seq: r.seq,
                        hash: r.hash.clone(),
                    },
                )
            })
            .map_err(sqlite_reader::map)?;
        self.head = AuditHead {
            seq: r.seq,
            hash: r.hash,
        };
        Ok(r.seq)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let QuietTx { mut turn, head } = *self;
        turn.leaves_head(head);
        turn.commit().await
    }

    async fn rollback(self: Box<Self>) {
        self.turn.rollback().await
    }
}

#[cfg(test)]
mod tests;
