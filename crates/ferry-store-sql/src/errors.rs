//! Translation of sqlx errors into the port's [`StoreError`]: unreachable database,
//! uniqueness conflict, or anything else.

use ferry_core::store::StoreError;

/// Maps an error; `conflict` names what a uniqueness violation means in this query.
pub(crate) fn map(e: sqlx::Error, conflict: &str) -> StoreError {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return StoreError::Conflict(conflict.to_string());
            }
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            // PostgreSQL: connection exceptions (08…) and operator intervention such as a
            // shutdown in progress (57P…). SQLite: SQLITE_BUSY (5) / SQLITE_LOCKED (6) after the
            // busy timeout.
            if code.starts_with("08") || code.starts_with("57P") || code == "5" || code == "6" {
                StoreError::Unavailable(e.to_string())
            } else {
                StoreError::Other(e.to_string())
            }
        }
        _ => StoreError::Other(e.to_string()),
    }
}

/// Maps an error of a query that has no uniqueness rule to break.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    map(e, "a row that already exists")
}
