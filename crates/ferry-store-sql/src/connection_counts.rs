//! [`ConnectionCounts`] over the database: a row per signed-in connection, timed by the
//! database's clock. Counting a connection is a bookkeeping transaction that first forgets the
//! user's connections that ran out; on PostgreSQL an advisory lock per user makes the count and
//! the insert one step across nodes (SQLite's write lock does that already).

use async_trait::async_trait;
use ferry_core::connection_counts::{CONNECTION_ALIVE_MS, ConnectionCounts};
use ferry_core::domain::UserId;
use ferry_core::store::StoreResult;
use sqlx::Row;

use crate::connect::Engine;
use crate::db_clock::{postgres_now, sqlite_now};
use crate::errors;
use crate::store::SqlStore;

#[async_trait]
impl ConnectionCounts for SqlStore {
    async fn count_connection(
        &self,
        id: &str,
        user: UserId,
        protocol: &str,
        holder: &str,
        max: i64,
    ) -> StoreResult<bool> {
        macro_rules! forget {
            ($now:expr) => {
                concat!(
                    "DELETE FROM user_connections WHERE user_id = $1 AND protocol = $2 \
                     AND alive_until < ",
                    $now
                )
            };
        }
        macro_rules! insert {
            ($now:expr) => {
                concat!(
                    "INSERT INTO user_connections (id, user_id, protocol, holder, alive_until) \
                     VALUES ($1, $2, $3, $4, ",
                    $now,
                    " + $5)"
                )
            };
        }
        let (forget, insert) = match self.engine() {
            Engine::Sqlite => (forget!(sqlite_now!()), insert!(sqlite_now!())),
            Engine::Postgres => (forget!(postgres_now!()), insert!(postgres_now!())),
        };
        let mut b = self.bookkeeping().await?;
        let tx = &mut b.tx;
        if self.engine() == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(user)
                .execute(&mut **tx)
                .await
                .map_err(errors::db)?;
        }
        sqlx::query(forget)
            .bind(user)
            .bind(protocol)
            .execute(&mut **tx)
            .await
            .map_err(errors::db)?;
        let held: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM user_connections WHERE user_id = $1 AND protocol = $2",
        )
        .bind(user)
        .bind(protocol)
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(errors::db)?;
        if held >= max {
            b.commit().await?;
            return Ok(false);
        }
        sqlx::query(insert)
            .bind(id)
            .bind(user)
            .bind(protocol)
            .bind(holder)
            .bind(CONNECTION_ALIVE_MS)
            .execute(&mut **tx)
            .await
            .map_err(|e| errors::map(e, "a connection with this ID"))?;
        b.commit().await?;
        Ok(true)
    }

    async fn uncount_connection(&self, id: &str) -> StoreResult<()> {
        let _turn = self.write_turn().await?;
        sqlx::query("DELETE FROM user_connections WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(())
    }

    async fn renew_connections(&self, holder: &str) -> StoreResult<u64> {
        macro_rules! renew {
            ($now:expr) => {
                concat!(
                    "UPDATE user_connections SET alive_until = ",
                    $now,
                    " + $2 WHERE holder = $1"
                )
            };
        }
        let sql = match self.engine() {
            Engine::Sqlite => renew!(sqlite_now!()),
            Engine::Postgres => renew!(postgres_now!()),
        };
        let _turn = self.write_turn().await?;
        let done = sqlx::query(sql)
            .bind(holder)
            .bind(CONNECTION_ALIVE_MS)
            .execute(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(done.rows_affected())
    }
}
