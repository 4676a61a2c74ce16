//! Counters kept beside the data, written inside a change: failed sign-ins (the lock-out),
//! the addresses accounts signed in from, and spent single-use tokens, with their expiry.
//! Bookkeeping rather than anyone's data, so they carry no audit record of their own.

use ferry_core::Timestamp;
use ferry_core::domain::UserId;
use ferry_core::store::{LockoutState, StoreResult};
use sqlx::AnyConnection;

use crate::errors;

pub(crate) async fn put_lockout(
    conn: &mut AnyConnection,
    key: &str,
    s: &LockoutState,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO lockouts (key, failures, last_failure_at, locked_until) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET \
             failures = excluded.failures, last_failure_at = excluded.last_failure_at, \
             locked_until = excluded.locked_until",
    )
    .bind(key)
    .bind(s.failures)
    .bind(s.last_failure_at.0)
    .bind(s.locked_until.map(|t| t.0))
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(())
}

pub(crate) async fn clear_lockout(conn: &mut AnyConnection, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM lockouts WHERE key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    Ok(())
}

pub(crate) async fn clear_lockouts(
    conn: &mut AnyConnection,
    key: &str,
    prefix: &str,
) -> StoreResult<u64> {
    // substr/length rather than LIKE: the prefix holds a login name, whose `_` would be a
    // wildcard.
    let done =
        sqlx::query("DELETE FROM lockouts WHERE key = $1 OR substr(key, 1, length($2)) = $2")
            .bind(key)
            .bind(prefix)
            .execute(&mut *conn)
            .await
            .map_err(errors::db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn delete_stale_lockouts(
    conn: &mut AnyConnection,
    before: Timestamp,
    now: Timestamp,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "DELETE FROM lockouts WHERE last_failure_at < $1 \
             AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(before.0)
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn record_signin_address(
    conn: &mut AnyConnection,
    user: UserId,
    ip: &str,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signin_addresses (user_id, ip, last_success_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, ip) DO UPDATE SET last_success_at = excluded.last_success_at",
    )
    .bind(user)
    .bind(ip)
    .bind(at.0)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(())
}

pub(crate) async fn delete_old_signin_addresses(
    conn: &mut AnyConnection,
    before: Timestamp,
) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM signin_addresses WHERE last_success_at < $1")
        .bind(before.0)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn spend_token(
    conn: &mut AnyConnection,
    digest: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> StoreResult<bool> {
    sqlx::query("DELETE FROM spent_tokens WHERE expires_at <= $1")
        .bind(now.0)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    let done = sqlx::query(
        "INSERT INTO spent_tokens (digest, expires_at) VALUES ($1, $2) \
             ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest)
    .bind(expires_at.0)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected() == 1)
}

/// Takes or renews the lease `name` for `holder` until `until`: taken when nobody holds it,
/// when `holder` already does, or when the last holder let it expire (before `now`). One
/// statement, so two nodes asking at once cannot both get it.
pub(crate) async fn take_lease(
    conn: &mut AnyConnection,
    name: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
    )
    .bind(name)
    .bind(holder)
    .bind(until.0)
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected() == 1)
}
