//! Reads of user accounts and their SSH keys outside a change (`SqlStore`'s part of the
//! `MetadataStore` port): by name, by `DOMAIN\name`, by email, all of them, how many.

use ferry_core::Timestamp;
use ferry_core::domain::{SshKey, User, UserId, domain_username_key, email_key};
use ferry_core::store::StoreResult;
use sqlx::{AnyPool, Row};

use crate::errors;
use crate::rows::{self, Columns, user_columns};

/// The user with this name (case-insensitively), deleted or not.
pub(crate) async fn user_by_name(pool: &AnyPool, name: &str) -> StoreResult<Option<User>> {
    sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE name_key = $1"
    ))
    .bind(name.to_lowercase())
    .fetch_optional(pool)
    .await
    .map_err(errors::db)?
    .as_ref()
    .map(rows::user)
    .transpose()
}

/// The user with this `DOMAIN\name` (case-insensitively).
pub(crate) async fn user_by_domain_username(
    pool: &AnyPool,
    domain_username: &str,
) -> StoreResult<Option<User>> {
    sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE domain_username_key = $1"
    ))
    .bind(domain_username_key(domain_username))
    .fetch_optional(pool)
    .await
    .map_err(errors::db)?
    .as_ref()
    .map(rows::user)
    .transpose()
}

/// The live users with this email address (case-insensitively), oldest first.
pub(crate) async fn users_by_email(pool: &AnyPool, email: &str) -> StoreResult<Vec<User>> {
    sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE email_key = $1 AND email_key <> '' AND deleted = 0 ORDER BY id"
    ))
    .bind(email_key(email))
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::user)
    .collect()
}

/// A user's SSH public keys, oldest first.
pub(crate) async fn ssh_keys(pool: &AnyPool, user: UserId) -> StoreResult<Vec<SshKey>> {
    sqlx::query(
        "SELECT id, user_id, algorithm, public_key, fingerprint, comment, created_at \
         FROM ssh_keys WHERE user_id = $1 ORDER BY id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(|r| {
        Ok(SshKey {
            id: r.try_get("id").map_err(errors::db)?,
            user_id: r.try_get("user_id").map_err(errors::db)?,
            algorithm: r.try_get("algorithm").map_err(errors::db)?,
            public_key: r.try_get("public_key").map_err(errors::db)?,
            fingerprint: r.try_get("fingerprint").map_err(errors::db)?,
            comment: r.try_get("comment").map_err(errors::db)?,
            created_at: Timestamp(r.try_get("created_at").map_err(errors::db)?),
        })
    })
    .collect()
}

/// Every user, in ID order.
pub(crate) async fn users(pool: &AnyPool) -> StoreResult<Vec<User>> {
    sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users ORDER BY id"
    ))
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::user)
    .collect()
}

/// The bytes `user` has stored (migration 0025 keeps the count); 0 before their first upload.
pub(crate) async fn stored_bytes(pool: &AnyPool, user: UserId) -> StoreResult<u64> {
    let row = sqlx::query("SELECT stored_bytes FROM user_storage WHERE user_id = $1")
        .bind(user)
        .fetch_optional(pool)
        .await
        .map_err(errors::db)?;
    // Never below 0 but for an operator's own SQL: read as nothing stored.
    Ok(match row {
        Some(r) => u64::try_from(r.int("stored_bytes")?).unwrap_or(0),
        None => 0,
    })
}

/// Every user's stored bytes who has a count.
pub(crate) async fn stored_bytes_by_user(pool: &AnyPool) -> StoreResult<Vec<(UserId, u64)>> {
    sqlx::query("SELECT user_id, stored_bytes FROM user_storage")
        .fetch_all(pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(|r| {
            Ok((
                r.int("user_id")?,
                u64::try_from(r.int("stored_bytes")?).unwrap_or(0),
            ))
        })
        .collect()
}

/// How many users there are.
pub(crate) async fn count_users(pool: &AnyPool) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(pool)
        .await
        .map_err(errors::db)?;
    row.int("n")
}
