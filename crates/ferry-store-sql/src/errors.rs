//! Translation of sqlx errors into the port's [`StoreError`]: unreachable database,
//! uniqueness conflict, or anything else.

use ferry_core::store::StoreError;

/// What the triggers of migration 0022 say when a file would take a live folder's name in
/// the same folder: the message is the only part both engines report alike.
const FOLDER_HAS_THE_NAME: &str = "ferry: a folder has that name";
/// ... and when a folder would take a live file's name.
const FILE_HAS_THE_NAME: &str = "ferry: a file has that name";

/// The conflict a database error's `message` reports, if it is one of migration 0022's
/// triggers refusing a name that an item of the other kind holds.
pub(crate) fn name_held_by_other_kind(message: &str) -> Option<StoreError> {
    let what = if message.contains(FOLDER_HAS_THE_NAME) {
        "a folder with that name in the folder"
    } else if message.contains(FILE_HAS_THE_NAME) {
        "a file with that name in the folder"
    } else {
        return None;
    };
    Some(StoreError::Conflict(what.to_string()))
}

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
            if let Some(conflict) = name_held_by_other_kind(db.message()) {
                return conflict;
            }
            if db.is_unique_violation() {
                return StoreError::Conflict(conflict.to_string());
            }
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            // SQLite's SQLITE_FULL (13), PostgreSQL's disk_full (53100).
            if code == "13" || code == "53100" {
                return StoreError::Full(e.to_string());
            }
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

/// A failed step of a change that may already have written (its commit, a savepoint's
/// statement), described by `what`: the database out of space says so; anything else leaves
/// the change's outcome unknown, answered as the store unavailable (retry).
pub(crate) fn failed_change(e: StoreError, what: &str) -> StoreError {
    match e {
        StoreError::Full(detail) => StoreError::Full(format!("{what}: {detail}")),
        StoreError::Unavailable(detail)
        | StoreError::Conflict(detail)
        | StoreError::Other(detail) => StoreError::Unavailable(format!("{what}: {detail}")),
    }
}

/// Maps an error of a query that has no uniqueness rule to break.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    map(e, "a row that already exists")
}
