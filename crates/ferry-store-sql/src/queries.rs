//! Queries used both outside and inside a change, written once over any sqlx executor (the
//! pool, or the connection of an open transaction).

use ferry_core::domain::{File, FileId, Folder, FolderId, Session, User, UserId};
use ferry_core::store::{LockoutState, StoreResult};
use sqlx::{Any, Executor};

use crate::errors;
use crate::rows::{self, file_columns, folder_columns, user_columns};

pub(crate) async fn user_by_id<'e, E>(exec: E, id: UserId) -> StoreResult<Option<User>>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await
    .map_err(errors::db)?
    .as_ref()
    .map(rows::user)
    .transpose()
}

pub(crate) async fn lockout<'e, E>(exec: E, key: &str) -> StoreResult<Option<LockoutState>>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("SELECT failures, last_failure_at, locked_until FROM lockouts WHERE key = $1")
        .bind(key)
        .fetch_optional(exec)
        .await
        .map_err(errors::db)?
        .as_ref()
        .map(rows::lockout)
        .transpose()
}

/// Sessions selected by `sql`, a complete static statement with one or two integer parameters.
pub(crate) async fn sessions_where<'e, E>(
    exec: E,
    sql: &'static str,
    a: i64,
    b: Option<i64>,
) -> StoreResult<Vec<Session>>
where
    E: Executor<'e, Database = Any>,
{
    let mut q = sqlx::query(sql).bind(a);
    if let Some(b) = b {
        q = q.bind(b);
    }
    q.fetch_all(exec)
        .await
        .map_err(errors::db)?
        .iter()
        .map(rows::session)
        .collect()
}

/// A folder by ID (`$1`).
pub(crate) const FOLDER_BY_ID: &str = concat!(
    "SELECT ",
    folder_columns!(),
    " FROM folders f WHERE f.id = $1"
);

/// A file by ID (`$1`), deleted or not.
pub(crate) const FILE_BY_ID: &str =
    concat!("SELECT ", file_columns!(), " FROM files WHERE id = $1");

/// A folder's live file by name key (`$1` the folder, `$2` the key).
pub(crate) const LIVE_FILE_BY_NAME: &str = concat!(
    "SELECT ",
    file_columns!(),
    " FROM files WHERE folder_id = $1 AND name_key = $2 AND deleted = 0"
);

pub(crate) async fn folder<'e, E>(exec: E, id: FolderId) -> StoreResult<Option<Folder>>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(FOLDER_BY_ID)
        .bind(id)
        .fetch_optional(exec)
        .await
        .map_err(errors::db)?
        .as_ref()
        .map(rows::folder)
        .transpose()
}

pub(crate) async fn file<'e, E>(exec: E, id: FileId) -> StoreResult<Option<File>>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(FILE_BY_ID)
        .bind(id)
        .fetch_optional(exec)
        .await
        .map_err(errors::db)?
        .as_ref()
        .map(rows::file)
        .transpose()
}

pub(crate) async fn file_by_name<'e, E>(
    exec: E,
    folder: FolderId,
    name_key: &str,
) -> StoreResult<Option<File>>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(LIVE_FILE_BY_NAME)
        .bind(folder)
        .bind(name_key)
        .fetch_optional(exec)
        .await
        .map_err(errors::db)?
        .as_ref()
        .map(rows::file)
        .transpose()
}

/// Inserts a session row.
pub(crate) async fn insert_session(conn: &mut sqlx::AnyConnection, s: &Session) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, application_id, immutable, created_at, \
         last_used_at, expires_at, client_version, client_ip, impersonator_id, external_user, \
         ssh_key, impersonator_application_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(s.key.to_hex())
    .bind(s.user_id)
    .bind(s.application_id)
    .bind(if s.immutable { 1i64 } else { 0 })
    .bind(s.created_at.0)
    .bind(s.last_used_at.0)
    .bind(s.expires_at.map(|t| t.0))
    .bind(&s.client_version)
    .bind(&s.client_ip)
    .bind(s.impersonator_id)
    .bind(&s.external_user)
    .bind(&s.ssh_key)
    .bind(s.impersonator_application_id)
    .execute(&mut *conn)
    .await
    .map_err(|e| errors::map(e, "a session for that user and application"))?;
    Ok(())
}

/// Replaces a folder's grants.
pub(crate) async fn replace_grants(
    conn: &mut sqlx::AnyConnection,
    folder: FolderId,
    grants: &[ferry_core::domain::Grant],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM folder_permissions WHERE folder_id = $1")
        .bind(folder)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    for g in grants {
        let (user, group) = match g.grantee {
            ferry_core::domain::Grantee::User(u) => (Some(u), None),
            ferry_core::domain::Grantee::Group(g) => (None, Some(g)),
        };
        sqlx::query(
            "INSERT INTO folder_permissions (folder_id, permission, user_id, group_id) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(folder)
        .bind(g.permission.0)
        .bind(user)
        .bind(group)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    }
    Ok(())
}
