//! The fast read path for SQLite: the session check that every API call makes, run
//! synchronously on a small pool of read-only rusqlite connections to the same database file.
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

use ferry_core::domain::{Session, SessionId, User};
use ferry_core::store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::rows::{self, session_and_user_columns};

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
        // Read pages through a memory map instead of one pread per page: the check touches a
        // handful of B-tree pages and those syscalls were a visible share of its cost.
        conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)
            .map_err(map)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// The session with this ID and its user.
    pub(crate) fn session_with_user(&self, id: &SessionId) -> StoreResult<Option<(Session, User)>> {
        let conn = self.connection()?;
        let found = {
            let mut statement = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    session_and_user_columns!(),
                    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
                ))
                .map_err(map)?;
            statement
                .query_row([id.to_wire()], |row| {
                    let row = ByPosition(row);
                    Ok((rows::session(&row), rows::user_prefixed(&row, "u_")))
                })
                .optional()
                .map_err(map)?
        };
        self.give_back(conn);
        match found {
            Some((session, user)) => Ok(Some((session?, user?))),
            None => Ok(None),
        }
    }
}

/// The result column names of the session-and-user query, in order, taken once from the same
/// column list the query is built from.
fn column_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        session_and_user_columns!()
            .split(',')
            .map(|c| {
                let c = c.trim();
                let name = c.rsplit(" AS ").next().unwrap_or(c);
                name.trim_start_matches("s.")
            })
            .collect()
    })
}

/// A row of the session-and-user query read by position: rusqlite resolves a column name by
/// asking SQLite for every column's name each time, which profiling showed costs more than the
/// query itself.
struct ByPosition<'a>(&'a rusqlite::Row<'a>);

impl ByPosition<'_> {
    fn index(&self, col: &str) -> StoreResult<usize> {
        column_names()
            .iter()
            .position(|n| *n == col)
            .ok_or_else(|| StoreError::Other(format!("no column {col} in the session query")))
    }

    fn get<T: rusqlite::types::FromSql>(&self, col: &str) -> StoreResult<T> {
        self.0
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

fn map(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}
