//! The reads behind the bounds on one user's sessions (`ferry_core`'s
//! `service/session_bounds.rs`): how many immutable sessions a user holds, and which they
//! used least recently. Both walk the user's entries of `sessions_by_user_app`.

use ferry_core::domain::{ApplicationId, Session, UserId};
use ferry_core::store::StoreResult;
use sqlx::{AnyConnection, Row};

use crate::errors;
use crate::rows::{self, session_columns};

/// [`ferry_core::store::StoreTx::count_immutable_sessions`].
pub(crate) async fn count_immutable(
    conn: &mut AnyConnection,
    user: UserId,
    app: ApplicationId,
    of_app: bool,
) -> StoreResult<i64> {
    let sql = if of_app {
        "SELECT COUNT(*) FROM sessions \
         WHERE user_id = $1 AND application_id = $2 AND immutable = 1"
    } else {
        "SELECT COUNT(*) FROM sessions \
         WHERE user_id = $1 AND application_id <> $2 AND immutable = 1"
    };
    let row = sqlx::query(sql)
        .bind(user)
        .bind(app)
        .fetch_one(conn)
        .await
        .map_err(errors::db)?;
    row.try_get::<i64, _>(0).map_err(errors::db)
}

/// [`ferry_core::store::StoreTx::least_used_immutable_sessions`].
pub(crate) async fn least_used_immutable(
    conn: &mut AnyConnection,
    user: UserId,
    except: ApplicationId,
    limit: i64,
) -> StoreResult<Vec<Session>> {
    sqlx::query(concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions WHERE user_id = $1 AND application_id <> $2 AND immutable = 1 \
         ORDER BY last_used_at, created_at LIMIT $3"
    ))
    .bind(user)
    .bind(except)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::session)
    .collect()
}
