//! [`SqlStore`]: the reads of the [`MetadataStore`] port, and the start of a change.

use async_trait::async_trait;
use ferry_core::Timestamp;
use ferry_core::domain::{
    Application, ApplicationId, AuditHead, AuditRecord, Session, SessionId, User, UserId,
};
use ferry_core::store::{LockoutState, MetadataStore, StoreResult, StoreTx};
use sqlx::AnyPool;
use sqlx::Row;

use crate::connect::Engine;
use crate::rows::{self, audit_columns, user_columns};
use crate::tx::SqlTx;
use crate::{errors, queries};

/// The metadata store over one database (SQLite or PostgreSQL).
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    engine: Engine,
}

impl SqlStore {
    pub(crate) fn new(pool: AnyPool, engine: Engine) -> Self {
        SqlStore { pool, engine }
    }

    /// Which engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl MetadataStore for SqlStore {
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(SqlTx::begin(&self.pool).await?))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        queries::user_by_id(&self.pool, id).await
    }

    async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE name_key = $1"
        ))
        .bind(name.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(errors::db)?
        .as_ref()
        .map(rows::user)
        .transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(rows::user)
        .collect()
    }

    async fn application(&self, id: ApplicationId) -> StoreResult<Option<Application>> {
        sqlx::query("SELECT id, name, enabled, created_at FROM applications WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(errors::db)?
            .as_ref()
            .map(rows::application)
            .transpose()
    }

    async fn applications(&self) -> StoreResult<Vec<Application>> {
        sqlx::query("SELECT id, name, enabled, created_at FROM applications ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(errors::db)?
            .iter()
            .map(rows::application)
            .collect()
    }

    async fn lockout(&self, key: &str) -> StoreResult<Option<LockoutState>> {
        queries::lockout(&self.pool, key).await
    }

    async fn session(&self, id: &SessionId) -> StoreResult<Option<Session>> {
        queries::session(&self.pool, id).await
    }

    async fn touch_session(&self, id: &SessionId, at: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
            .bind(at.0)
            .bind(id.to_wire())
            .execute(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(())
    }

    async fn count_live_sessions(&self, now: Timestamp) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM sessions WHERE expires_at IS NULL OR expires_at > $1",
        )
        .bind(now.0)
        .fetch_one(&self.pool)
        .await
        .map_err(errors::db)?;
        row.try_get::<i64, _>("n").map_err(errors::db)
    }

    async fn audit_records(&self, after_seq: i64, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(rows::audit)
        .collect()
    }

    async fn audit_head(&self) -> StoreResult<AuditHead> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(AuditHead {
            seq: row.try_get("seq").map_err(errors::db)?,
            hash: row.try_get("hash").map_err(errors::db)?,
        })
    }
}
