//! Reads the administration console needs beyond the API's: the live sessions of all users
//! (or of one user and application), and a group's members. `Store` delegates here.

use ferry_core::Timestamp;
use ferry_core::domain::{ApplicationId, GroupId, Session, UserId};
use ferry_core::store::StoreResult;
use sqlx::{AnyPool, Row};

use crate::errors;
use crate::rows::{self, session_columns};

pub(crate) async fn live_sessions(
    pool: &AnyPool,
    now: Timestamp,
    user: Option<UserId>,
    application: Option<ApplicationId>,
    limit: i64,
) -> StoreResult<Vec<Session>> {
    sqlx::query(concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions WHERE (expires_at IS NULL OR expires_at > $1) \
         AND (CAST($2 AS BIGINT) IS NULL OR user_id = $2) \
         AND (CAST($3 AS BIGINT) IS NULL OR application_id = $3) \
         ORDER BY last_used_at DESC LIMIT $4"
    ))
    .bind(now.0)
    .bind(user)
    .bind(application)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::session)
    .collect()
}

pub(crate) async fn group_members(pool: &AnyPool, group: GroupId) -> StoreResult<Vec<UserId>> {
    sqlx::query("SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id")
        .bind(group)
        .fetch_all(pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(|r| r.try_get("user_id").map_err(errors::db))
        .collect()
}
