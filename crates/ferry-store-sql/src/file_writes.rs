//! Writes to files and their versions inside a change: a new file with its first version, a new
//! version or any other change of a file, a content handed to another file, deletions below a
//! folder, and the purge's bookkeeping. `StoreTx` delegates here.

use ferry_core::Timestamp;
use ferry_core::domain::{File, FileId};
use ferry_core::store::StoreResult;
use ferry_core::text::item_key;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use crate::connect::Engine;
use crate::rows::file_columns;
use crate::{errors, rows};

/// A new file's row: parameters `$1`…`$12` in [`insert_file`]'s order.
macro_rules! insert_file_row {
    () => {
        "INSERT INTO files (folder_id, name, name_key, version, size, sha256, content_key, \
         created_at, modified_at, created_by, modified_by, deleted, client_modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12) RETURNING id"
    };
}

/// An update of every field of a file: parameters `$1`…`$12` in [`update_file`]'s order.
macro_rules! update_file_row {
    () => {
        "UPDATE files SET folder_id = $1, name = $2, name_key = $3, version = $4, size = $5, \
         sha256 = $6, content_key = $7, modified_at = $8, modified_by = $9, deleted = $10, \
         deleted_at = CASE WHEN $10 = 1 THEN $8 ELSE NULL END, client_modified_at = $12 \
         WHERE id = $11"
    };
}

/// The columns of a version's row, as the statements below fill them.
macro_rules! version_columns {
    () => {
        "file_versions (file_id, version, size, sha256, content_key, created_at, created_by, \
         client_modified_at)"
    };
}
pub(crate) use version_columns;

/// SQLite: the first version of the file just inserted (`$4`… as in [`insert_file`]).
macro_rules! first_version_row {
    () => {
        concat!(
            "INSERT INTO ",
            version_columns!(),
            " VALUES (last_insert_rowid(), $4, $5, $6, $7, $9, $11, $12)"
        )
    };
}

/// SQLite: a new version of the file updated (`$4`… as in [`update_file`]).
macro_rules! new_version_row {
    () => {
        concat!(
            "INSERT INTO ",
            version_columns!(),
            " VALUES ($11, $4, $5, $6, $7, $8, $9, $12)"
        )
    };
}

/// The current version's client time follows the file's (`$4`… as in [`update_file`]).
macro_rules! version_client_time {
    () => {
        "UPDATE file_versions SET client_modified_at = $12 WHERE file_id = $11 AND version = $4"
    };
}

/// The statements of [`insert_file`] and [`update_file`] on SQLite one by one, for a change
/// run on rusqlite (`quiet_tx.rs`), which takes one statement per call: the same text.
pub(crate) const SQLITE_INSERT_FILE: &str = insert_file_row!();
pub(crate) const SQLITE_FIRST_VERSION: &str = first_version_row!();
pub(crate) const SQLITE_UPDATE_FILE: &str = update_file_row!();
pub(crate) const SQLITE_NEW_VERSION: &str = new_version_row!();
pub(crate) const SQLITE_VERSION_CLIENT_TIME: &str = version_client_time!();

// Each write below is one call to the database, whatever the engine: PostgreSQL takes a
// data-modifying `WITH`, SQLite two statements in one call (sqlx runs them in turn on its
// SQLite thread, binding `$N` by number in each). An upload so costs one hand-off or round
// trip for the file and its version instead of two (issue 21).

/// Inserts a new file and its first version; returns the file's ID.
pub(crate) async fn insert_file(
    conn: &mut AnyConnection,
    engine: Engine,
    f: &File,
) -> StoreResult<FileId> {
    let sql = match engine {
        Engine::Postgres => concat!(
            "WITH inserted AS (",
            insert_file_row!(),
            ") INSERT INTO ",
            version_columns!(),
            " SELECT id, $4, $5, $6, $7, $9, $11, $12 FROM inserted RETURNING file_id AS id"
        ),
        // `last_insert_rowid()` is the new file's `id` (an alias of its rowid).
        Engine::Sqlite => concat!(insert_file_row!(), "; ", first_version_row!()),
    };
    // All rows are fetched: a call whose results are dropped early may leave the second
    // statement unrun.
    let rows = insert_bound(sql, f)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| errors::map(e, "a file with that name in the folder"))?;
    let row = rows
        .first()
        .ok_or_else(|| errors::db(sqlx::Error::RowNotFound))?;
    row.try_get("id").map_err(errors::db)
}

/// Writes every field of `f`; with `new_version`, its current version is a new row, else the
/// current version's client time follows the file's.
pub(crate) async fn update_file(
    conn: &mut AnyConnection,
    engine: Engine,
    f: &File,
    new_version: bool,
) -> StoreResult<()> {
    let sql = match (engine, new_version) {
        (Engine::Postgres, true) => concat!(
            "WITH updated AS (",
            update_file_row!(),
            " RETURNING id) INSERT INTO ",
            version_columns!(),
            " SELECT id, $4, $5, $6, $7, $8, $9, $12 FROM updated"
        ),
        (Engine::Postgres, false) => concat!(
            "WITH updated AS (",
            update_file_row!(),
            " RETURNING id) UPDATE file_versions SET client_modified_at = $12 \
             WHERE file_id IN (SELECT id FROM updated) AND version = $4"
        ),
        (Engine::Sqlite, true) => concat!(update_file_row!(), "; ", new_version_row!()),
        (Engine::Sqlite, false) => concat!(update_file_row!(), "; ", version_client_time!()),
    };
    update_bound(sql, f)
        .execute(&mut *conn)
        .await
        .map_err(|e| errors::map(e, "a file with that name in the folder"))?;
    Ok(())
}

/// Keeps a small file's bytes (`$13`) under its content key (`$7`), in the statements below.
macro_rules! keep_inline {
    () => {
        "INSERT INTO inline_contents (key, bytes) VALUES ($7, $13)"
    };
}

/// Records an upload's file with its small `inline` bytes, if any, in one call to the
/// database: a new file (`f.id` 0; its ID is returned) or `f`'s next version ([`insert_file`]
/// or [`update_file`], and [`crate::inline_contents::insert`], each one call of its own before).
pub(crate) async fn record_version(
    conn: &mut AnyConnection,
    engine: Engine,
    f: &File,
    inline: Option<&[u8]>,
) -> StoreResult<FileId> {
    let Some(inline) = inline else {
        if f.id == 0 {
            return insert_file(conn, engine, f).await;
        }
        return update_file(conn, engine, f, true).await.map(|()| f.id);
    };
    // `$1`…`$12` as in `insert_file` or `update_file`, then the bytes.
    let sql = match (engine, f.id == 0) {
        (Engine::Postgres, true) => concat!(
            "WITH inserted AS (",
            insert_file_row!(),
            "), kept AS (",
            keep_inline!(),
            ") INSERT INTO ",
            version_columns!(),
            " SELECT id, $4, $5, $6, $7, $9, $11, $12 FROM inserted RETURNING file_id AS id"
        ),
        (Engine::Postgres, false) => concat!(
            "WITH updated AS (",
            update_file_row!(),
            " RETURNING id), kept AS (",
            keep_inline!(),
            ") INSERT INTO ",
            version_columns!(),
            " SELECT id, $4, $5, $6, $7, $8, $9, $12 FROM updated"
        ),
        (Engine::Sqlite, true) => concat!(
            insert_file_row!(),
            "; ",
            first_version_row!(),
            "; ",
            keep_inline!()
        ),
        (Engine::Sqlite, false) => concat!(
            update_file_row!(),
            "; ",
            new_version_row!(),
            "; ",
            keep_inline!()
        ),
    };
    let q = match f.id {
        0 => insert_bound(sql, f),
        _ => update_bound(sql, f),
    };
    // All rows are fetched: a call whose results are dropped early may leave a later
    // statement unrun.
    let rows = q
        .bind(inline.to_vec())
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| errors::map(e, "a file with that name in the folder"))?;
    if f.id != 0 {
        return Ok(f.id);
    }
    // The new file's ID: the only row on PostgreSQL, the first statement's on SQLite.
    let row = rows
        .first()
        .ok_or_else(|| errors::db(sqlx::Error::RowNotFound))?;
    row.try_get("id").map_err(errors::db)
}

/// `sql` with a new file's parameters `$1`…`$12` bound ([`insert_file_row`]'s order).
pub(crate) fn insert_bound<'q>(sql: &'static str, f: &'q File) -> Query<'q, Any, AnyArguments> {
    sqlx::query(sql)
        .bind(f.folder_id)
        .bind(&f.name)
        .bind(item_key(&f.name))
        .bind(f.version)
        .bind(f.size)
        .bind(&f.sha256)
        .bind(&f.content_key)
        .bind(f.created_at.0)
        .bind(f.modified_at.0)
        .bind(f.created_by)
        .bind(f.modified_by)
        .bind(f.client_modified_at.map(|t| t.0))
}

/// `sql` with an existing file's parameters `$1`…`$12` bound ([`update_file_row`]'s order).
fn update_bound<'q>(sql: &'static str, f: &'q File) -> Query<'q, Any, AnyArguments> {
    sqlx::query(sql)
        .bind(f.folder_id)
        .bind(&f.name)
        .bind(item_key(&f.name))
        .bind(f.version)
        .bind(f.size)
        .bind(&f.sha256)
        .bind(&f.content_key)
        .bind(f.modified_at.0)
        .bind(f.modified_by)
        .bind(i64::from(f.deleted))
        .bind(f.id)
        .bind(f.client_modified_at.map(|t| t.0))
}

pub(crate) async fn hand_over_content(
    conn: &mut AnyConnection,
    file: FileId,
    content_key: &str,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM file_versions WHERE file_id = $1 AND content_key = $2")
        .bind(file)
        .bind(content_key)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    sqlx::query("UPDATE files SET deleted = 1, deleted_at = $2 WHERE id = $1")
        .bind(file)
        .bind(at.0)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    Ok(())
}

pub(crate) async fn files_to_purge(
    conn: &mut AnyConnection,
    cutoff: Timestamp,
    limit: i64,
) -> StoreResult<Vec<File>> {
    sqlx::query(concat!(
        "SELECT ",
        file_columns!(),
        " FROM files WHERE deleted = 1 AND purged = 0 AND deleted_at <= $1 \
         ORDER BY deleted_at LIMIT $2"
    ))
    .bind(cutoff.0)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::file)
    .collect()
}

pub(crate) async fn mark_purged(conn: &mut AnyConnection, file: FileId) -> StoreResult<()> {
    sqlx::query("UPDATE files SET purged = 1 WHERE id = $1")
        .bind(file)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    Ok(())
}
