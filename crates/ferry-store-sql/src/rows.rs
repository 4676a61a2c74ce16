//! Decoding rows into domain types, and the column lists the queries select.

use ferry_core::Timestamp;
use ferry_core::domain::{
    Application, AuditEntry, AuditRecord, File, FileVersion, Folder, FolderType, Grant, Grantee,
    Permissions, Role, Session, SessionKey, User, UserGroup,
};
use ferry_core::store::{LockoutState, StoreError, StoreResult};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Columns selected for a user (a macro so that `concat!` keeps whole statements `'static`,
/// which sqlx requires of SQL text).
macro_rules! user_columns {
    () => {
        "id, name, domain_username, first_name, last_name, email, role, active, deleted, user_sync_id, home_folder_id, password_hash, created_at, quota_bytes"
    };
}
pub(crate) use user_columns;

/// Columns selected for a session.
macro_rules! session_columns {
    () => {
        "id, user_id, application_id, immutable, created_at, last_used_at, expires_at, client_version, client_ip, impersonator_id, impersonator_application_id, external_user, ssh_key"
    };
}
pub(crate) use session_columns;

/// A session and its user in one row: the session's columns as [`session_columns`], the user's
/// prefixed with `u_`.
macro_rules! session_and_user_columns {
    () => {
        "s.id, s.user_id, s.application_id, s.immutable, s.created_at, s.last_used_at, s.expires_at, s.client_version, s.client_ip, s.impersonator_id, s.impersonator_application_id, s.external_user, s.ssh_key, \
         u.id AS u_id, u.name AS u_name, u.domain_username AS u_domain_username, u.first_name AS u_first_name, u.last_name AS u_last_name, u.email AS u_email, u.role AS u_role, u.active AS u_active, u.deleted AS u_deleted, u.user_sync_id AS u_user_sync_id, u.home_folder_id AS u_home_folder_id, u.password_hash AS u_password_hash, u.created_at AS u_created_at, u.quota_bytes AS u_quota_bytes"
    };
}
pub(crate) use session_and_user_columns;

/// Columns selected for an audit record.
macro_rules! audit_columns {
    () => {
        "seq, at, operation, status, user_id, impersonator_id, application_id, client_version, client_ip, external_user, session_tag, target_user_id, folder_id, file_id, path, size, digest, detail, declared_ip, prev_hash, hash"
    };
}
pub(crate) use audit_columns;

/// Columns selected for a file.
macro_rules! file_columns {
    () => {
        "id, folder_id, name, version, size, sha256, content_key, created_at, modified_at, created_by, modified_by, deleted, client_modified_at"
    };
}
pub(crate) use file_columns;

/// Columns selected for a folder, qualified with the alias `f`.
macro_rules! folder_columns {
    () => {
        "f.id, f.parent_id, f.name, f.folder_type, f.description, f.inherit_permissions, f.owner_user_id, f.created_at, f.modified_at, f.created_by, f.modified_by, f.deleted"
    };
}
pub(crate) use folder_columns;

/// Typed access to a row's columns by name, so that each decoder below serves both sqlx's
/// rows and the SQLite fast read path's (`sqlite_reader.rs`).
pub(crate) trait Columns {
    /// A non-null integer.
    fn int(&self, col: &str) -> StoreResult<i64>;
    /// A nullable integer.
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;
    /// A non-null text.
    fn text(&self, col: &str) -> StoreResult<String>;
    /// A nullable text.
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
}

fn column_error(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("column {col}: {e}"))
}

impl Columns for AnyRow {
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.try_get(col).map_err(|e| column_error(col, e))
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.try_get(col).map_err(|e| column_error(col, e))
    }
    fn text(&self, col: &str) -> StoreResult<String> {
        self.try_get(col).map_err(|e| column_error(col, e))
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.try_get(col).map_err(|e| column_error(col, e))
    }
}

pub(crate) fn user(row: &impl Columns) -> StoreResult<User> {
    user_prefixed(row, "")
}

/// A user whose columns carry `prefix` (as in the session-and-user join, `u_`).
pub(crate) fn user_prefixed(row: &impl Columns, prefix: &str) -> StoreResult<User> {
    let c = |name: &str| format!("{prefix}{name}");
    let role_code = row.int(&c("role"))?;
    Ok(User {
        id: row.int(&c("id"))?,
        name: row.text(&c("name"))?,
        domain_username: row.opt_text(&c("domain_username"))?,
        first_name: row.text(&c("first_name"))?,
        last_name: row.text(&c("last_name"))?,
        email: row.text(&c("email"))?,
        role: Role::from_code(role_code)
            .ok_or_else(|| StoreError::Other(format!("unknown role code {role_code}")))?,
        active: row.int(&c("active"))? != 0,
        deleted: row.int(&c("deleted"))? != 0,
        user_sync_id: row.opt_text(&c("user_sync_id"))?,
        home_folder_id: row.opt_int(&c("home_folder_id"))?,
        password_hash: row.opt_text(&c("password_hash"))?,
        created_at: Timestamp(row.int(&c("created_at"))?),
        quota: ferry_core::domain::QuotaSetting::from_stored(row.opt_int(&c("quota_bytes"))?),
    })
}

pub(crate) fn application(row: &impl Columns) -> StoreResult<Application> {
    Ok(Application {
        id: row.int("id")?,
        name: row.text("name")?,
        enabled: row.int("enabled")? != 0,
        created_at: Timestamp(row.int("created_at")?),
    })
}

pub(crate) fn session(row: &impl Columns) -> StoreResult<Session> {
    let id = row.text("id")?;
    Ok(Session {
        key: SessionKey::parse_stored(&id)
            .ok_or_else(|| StoreError::Other("malformed session id in store".into()))?,
        user_id: row.int("user_id")?,
        application_id: row.int("application_id")?,
        immutable: row.int("immutable")? != 0,
        created_at: Timestamp(row.int("created_at")?),
        last_used_at: Timestamp(row.int("last_used_at")?),
        expires_at: row.opt_int("expires_at")?.map(Timestamp),
        client_version: row.opt_text("client_version")?,
        client_ip: row.opt_text("client_ip")?,
        impersonator_id: row.opt_int("impersonator_id")?,
        impersonator_application_id: row.opt_int("impersonator_application_id")?,
        external_user: row.opt_text("external_user")?,
        ssh_key: row.opt_text("ssh_key")?,
    })
}

pub(crate) fn lockout(row: &impl Columns) -> StoreResult<LockoutState> {
    Ok(LockoutState {
        failures: row.int("failures")?,
        last_failure_at: Timestamp(row.int("last_failure_at")?),
        locked_until: row.opt_int("locked_until")?.map(Timestamp),
    })
}

pub(crate) fn audit(row: &impl Columns) -> StoreResult<AuditRecord> {
    Ok(AuditRecord {
        seq: row.int("seq")?,
        at: Timestamp(row.int("at")?),
        entry: AuditEntry {
            operation: row.text("operation")?,
            status: row.text("status")?,
            user_id: row.opt_int("user_id")?,
            impersonator_id: row.opt_int("impersonator_id")?,
            application_id: row.opt_int("application_id")?,
            client_version: row.opt_text("client_version")?,
            client_ip: row.opt_text("client_ip")?,
            external_user: row.opt_text("external_user")?,
            session_tag: row.opt_text("session_tag")?,
            target_user_id: row.opt_int("target_user_id")?,
            folder_id: row.opt_int("folder_id")?,
            file_id: row.opt_int("file_id")?,
            path: row.opt_text("path")?,
            size: row.opt_int("size")?,
            digest: row.opt_text("digest")?,
            detail: row.opt_text("detail")?,
            declared_ip: row.opt_text("declared_ip")?,
        },
        prev_hash: row.text("prev_hash")?,
        hash: row.text("hash")?,
    })
}

pub(crate) fn folder(row: &impl Columns) -> StoreResult<Folder> {
    let type_code = row.int("folder_type")?;
    Ok(Folder {
        id: row.int("id")?,
        parent_id: row.opt_int("parent_id")?,
        name: row.text("name")?,
        folder_type: FolderType::from_code(type_code)
            .ok_or_else(|| StoreError::Other(format!("unknown folder type {type_code}")))?,
        description: row.text("description")?,
        inherit_permissions: row.int("inherit_permissions")? != 0,
        owner_user_id: row.opt_int("owner_user_id")?,
        created_at: Timestamp(row.int("created_at")?),
        modified_at: Timestamp(row.int("modified_at")?),
        created_by: row.opt_int("created_by")?,
        modified_by: row.opt_int("modified_by")?,
        deleted: row.int("deleted")? != 0,
    })
}

pub(crate) fn grant(row: &impl Columns) -> StoreResult<Grant> {
    let grantee = match (row.opt_int("user_id")?, row.opt_int("group_id")?) {
        (Some(u), None) => Grantee::User(u),
        (None, Some(g)) => Grantee::Group(g),
        _ => {
            return Err(StoreError::Other(
                "a grant names both or neither grantee".into(),
            ));
        }
    };
    Ok(Grant {
        id: row.int("id")?,
        folder_id: row.int("folder_id")?,
        permission: Permissions(row.int("permission")?),
        grantee,
    })
}

pub(crate) fn group(row: &impl Columns) -> StoreResult<UserGroup> {
    Ok(UserGroup {
        id: row.int("id")?,
        name: row.text("name")?,
    })
}

/// The optional permission column of a grant join (NULL when the folder has no matching grant).
pub(crate) fn granted(row: &impl Columns) -> StoreResult<Permissions> {
    Ok(Permissions(row.opt_int("permission")?.unwrap_or(0)))
}

pub(crate) fn file(row: &impl Columns) -> StoreResult<File> {
    Ok(File {
        id: row.int("id")?,
        folder_id: row.int("folder_id")?,
        name: row.text("name")?,
        version: row.int("version")?,
        size: row.int("size")?,
        sha256: row.text("sha256")?,
        content_key: row.text("content_key")?,
        created_at: Timestamp(row.int("created_at")?),
        modified_at: Timestamp(row.int("modified_at")?),
        created_by: row.opt_int("created_by")?,
        modified_by: row.opt_int("modified_by")?,
        deleted: row.int("deleted")? != 0,
        client_modified_at: row.opt_int("client_modified_at")?.map(Timestamp),
    })
}

pub(crate) fn file_version(row: &impl Columns) -> StoreResult<FileVersion> {
    Ok(FileVersion {
        file_id: row.int("file_id")?,
        version: row.int("version")?,
        size: row.int("size")?,
        sha256: row.text("sha256")?,
        content_key: row.text("content_key")?,
        created_at: Timestamp(row.int("created_at")?),
        created_by: row.opt_int("created_by")?,
        client_modified_at: row.opt_int("client_modified_at")?.map(Timestamp),
    })
}
