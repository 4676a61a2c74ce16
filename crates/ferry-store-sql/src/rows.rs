//! Decoding rows into domain types, and the column lists the queries select.

use ferry_core::Timestamp;
use ferry_core::domain::{
    Application, AuditEntry, AuditRecord, Folder, FolderType, Grant, Grantee, Permissions, Role,
    Session, SessionId, User, UserGroup,
};
use ferry_core::store::{LockoutState, StoreError, StoreResult};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Columns selected for a user (a macro so that `concat!` keeps whole statements `'static`,
/// which sqlx requires of SQL text).
macro_rules! user_columns {
    () => {
        "id, name, domain_username, first_name, last_name, email, role, active, deleted, user_sync_id, home_folder_id, password_hash, created_at"
    };
}
pub(crate) use user_columns;

/// Columns selected for a session.
macro_rules! session_columns {
    () => {
        "id, user_id, application_id, immutable, created_at, last_used_at, expires_at, client_version, client_ip, impersonator_id, external_user"
    };
}
pub(crate) use session_columns;

/// Columns selected for an audit record.
macro_rules! audit_columns {
    () => {
        "seq, at, operation, status, user_id, impersonator_id, application_id, client_version, client_ip, external_user, session_tag, target_user_id, folder_id, file_id, path, size, digest, detail, prev_hash, hash"
    };
}
pub(crate) use audit_columns;

/// Columns selected for a folder, qualified with the alias `f`.
macro_rules! folder_columns {
    () => {
        "f.id, f.parent_id, f.name, f.folder_type, f.description, f.inherit_permissions, f.owner_user_id, f.created_at, f.modified_at, f.created_by, f.modified_by, f.deleted"
    };
}
pub(crate) use folder_columns;

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Other(format!("column {col}: {e}")))
}

pub(crate) fn user(row: &AnyRow) -> StoreResult<User> {
    let role_code: i64 = get(row, "role")?;
    Ok(User {
        id: get(row, "id")?,
        name: get(row, "name")?,
        domain_username: get(row, "domain_username")?,
        first_name: get(row, "first_name")?,
        last_name: get(row, "last_name")?,
        email: get(row, "email")?,
        role: Role::from_code(role_code)
            .ok_or_else(|| StoreError::Other(format!("unknown role code {role_code}")))?,
        active: get::<i64>(row, "active")? != 0,
        deleted: get::<i64>(row, "deleted")? != 0,
        user_sync_id: get(row, "user_sync_id")?,
        home_folder_id: get(row, "home_folder_id")?,
        password_hash: get(row, "password_hash")?,
        created_at: Timestamp(get(row, "created_at")?),
    })
}

pub(crate) fn application(row: &AnyRow) -> StoreResult<Application> {
    Ok(Application {
        id: get(row, "id")?,
        name: get(row, "name")?,
        enabled: get::<i64>(row, "enabled")? != 0,
        created_at: Timestamp(get(row, "created_at")?),
    })
}

pub(crate) fn session(row: &AnyRow) -> StoreResult<Session> {
    let id: String = get(row, "id")?;
    Ok(Session {
        id: SessionId::parse(&id)
            .ok_or_else(|| StoreError::Other("malformed session id in store".into()))?,
        user_id: get(row, "user_id")?,
        application_id: get(row, "application_id")?,
        immutable: get::<i64>(row, "immutable")? != 0,
        created_at: Timestamp(get(row, "created_at")?),
        last_used_at: Timestamp(get(row, "last_used_at")?),
        expires_at: get::<Option<i64>>(row, "expires_at")?.map(Timestamp),
        client_version: get(row, "client_version")?,
        client_ip: get(row, "client_ip")?,
        impersonator_id: get(row, "impersonator_id")?,
        external_user: get(row, "external_user")?,
    })
}

pub(crate) fn lockout(row: &AnyRow) -> StoreResult<LockoutState> {
    Ok(LockoutState {
        failures: get(row, "failures")?,
        last_failure_at: Timestamp(get(row, "last_failure_at")?),
        locked_until: get::<Option<i64>>(row, "locked_until")?.map(Timestamp),
    })
}

pub(crate) fn audit(row: &AnyRow) -> StoreResult<AuditRecord> {
    Ok(AuditRecord {
        seq: get(row, "seq")?,
        at: Timestamp(get(row, "at")?),
        entry: AuditEntry {
            operation: get(row, "operation")?,
            status: get(row, "status")?,
            user_id: get(row, "user_id")?,
            impersonator_id: get(row, "impersonator_id")?,
            application_id: get(row, "application_id")?,
            client_version: get(row, "client_version")?,
            client_ip: get(row, "client_ip")?,
            external_user: get(row, "external_user")?,
            session_tag: get(row, "session_tag")?,
            target_user_id: get(row, "target_user_id")?,
            folder_id: get(row, "folder_id")?,
            file_id: get(row, "file_id")?,
            path: get(row, "path")?,
            size: get(row, "size")?,
            digest: get(row, "digest")?,
            detail: get(row, "detail")?,
        },
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

pub(crate) fn folder(row: &AnyRow) -> StoreResult<Folder> {
    let type_code: i64 = get(row, "folder_type")?;
    Ok(Folder {
        id: get(row, "id")?,
        parent_id: get(row, "parent_id")?,
        name: get(row, "name")?,
        folder_type: FolderType::from_code(type_code)
            .ok_or_else(|| StoreError::Other(format!("unknown folder type {type_code}")))?,
        description: get(row, "description")?,
        inherit_permissions: get::<i64>(row, "inherit_permissions")? != 0,
        owner_user_id: get(row, "owner_user_id")?,
        created_at: Timestamp(get(row, "created_at")?),
        modified_at: Timestamp(get(row, "modified_at")?),
        created_by: get(row, "created_by")?,
        modified_by: get(row, "modified_by")?,
        deleted: get::<i64>(row, "deleted")? != 0,
    })
}

pub(crate) fn grant(row: &AnyRow) -> StoreResult<Grant> {
    let user: Option<i64> = get(row, "user_id")?;
    let group: Option<i64> = get(row, "group_id")?;
    let grantee = match (user, group) {
        (Some(u), None) => Grantee::User(u),
        (None, Some(g)) => Grantee::Group(g),
        _ => {
            return Err(StoreError::Other(
                "a grant names both or neither grantee".into(),
            ));
        }
    };
    Ok(Grant {
        id: get(row, "id")?,
        folder_id: get(row, "folder_id")?,
        permission: Permissions(get(row, "permission")?),
        grantee,
    })
}

pub(crate) fn group(row: &AnyRow) -> StoreResult<UserGroup> {
    Ok(UserGroup {
        id: get(row, "id")?,
        name: get(row, "name")?,
    })
}

/// The optional permission column of a grant join (NULL when the folder has no matching grant).
pub(crate) fn granted(row: &AnyRow) -> StoreResult<Permissions> {
    Ok(Permissions(
        get::<Option<i64>>(row, "permission")?.unwrap_or(0),
    ))
}

/// Reads an integer column by name (for ad-hoc result columns).
pub(crate) fn int(row: &AnyRow, col: &str) -> StoreResult<i64> {
    get(row, col)
}
