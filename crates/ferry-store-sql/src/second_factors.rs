//! Second factors and recovery codes (`second_factors`, `recovery_codes`, migration 0014).
//! `Store` and `SqlTx` delegate here. Spending a step or a code is one conditional `UPDATE`,
//! so two sign-ins racing with the same passcode cannot both succeed.

use ferry_core::Timestamp;
use ferry_core::domain::{SecondFactor, UserId};
use ferry_core::store::StoreResult;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::errors;

pub(crate) async fn of_user(pool: &AnyPool, user: UserId) -> StoreResult<Option<SecondFactor>> {
    let row = sqlx::query(
        "SELECT user_id, sealed_secret, confirmed_at, last_step, created_at \
         FROM second_factors WHERE user_id = $1",
    )
    .bind(user)
    .fetch_optional(pool)
    .await
    .map_err(errors::db)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(SecondFactor {
        user_id: row.try_get("user_id").map_err(errors::db)?,
        sealed_secret: row.try_get("sealed_secret").map_err(errors::db)?,
        confirmed_at: row
            .try_get::<Option<i64>, _>("confirmed_at")
            .map_err(errors::db)?
            .map(Timestamp),
        last_step: row.try_get("last_step").map_err(errors::db)?,
        created_at: Timestamp(row.try_get("created_at").map_err(errors::db)?),
    }))
}

pub(crate) async fn codes_left(pool: &AnyPool, user: UserId) -> StoreResult<i64> {
    sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user)
        .fetch_one(pool)
        .await
        .map_err(errors::db)?
        .try_get("n")
        .map_err(errors::db)
}

pub(crate) async fn delete(conn: &mut AnyConnection, user: UserId) -> StoreResult<bool> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    let done = sqlx::query("DELETE FROM second_factors WHERE user_id = $1")
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn put(conn: &mut AnyConnection, f: &SecondFactor) -> StoreResult<()> {
    delete(conn, f.user_id).await?;
    sqlx::query(
        "INSERT INTO second_factors (user_id, sealed_secret, confirmed_at, last_step, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(f.user_id)
    .bind(&f.sealed_secret)
    .bind(f.confirmed_at.map(|t| t.0))
    .bind(f.last_step)
    .bind(f.created_at.0)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(())
}

pub(crate) async fn confirm(
    conn: &mut AnyConnection,
    user: UserId,
    at: Timestamp,
    step: i64,
    digests: &[String],
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE second_factors SET confirmed_at = $1, last_step = $2 \
         WHERE user_id = $3 AND confirmed_at IS NULL",
    )
    .bind(at.0)
    .bind(step)
    .bind(user)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    for digest in digests {
        sqlx::query("INSERT INTO recovery_codes (user_id, digest) VALUES ($1, $2)")
            .bind(user)
            .bind(digest)
            .execute(&mut *conn)
            .await
            .map_err(errors::db)?;
    }
    Ok(true)
}

pub(crate) async fn spend_step(
    conn: &mut AnyConnection,
    user: UserId,
    step: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE second_factors SET last_step = $1 \
         WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1",
    )
    .bind(step)
    .bind(user)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn spend_code(
    conn: &mut AnyConnection,
    user: UserId,
    digest: &str,
    at: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND digest = $3 AND used_at IS NULL",
    )
    .bind(at.0)
    .bind(user)
    .bind(digest)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected() > 0)
}
