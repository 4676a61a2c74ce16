//! The tool pages' grants and the files each token has used ([`TransferState`]'s first half),
//! each operation a short transaction of its own that takes no audit lock (they are not
//! audited). On SQLite each still takes a writer's turn (`group_commit.rs`), after the open
//! batch of changes is committed.

use ferry_core::Timestamp;
use ferry_core::store::StoreResult;
use ferry_core::transfer_state::{GrantBounds, StoredGrant};
use sqlx::{Any, Row, Transaction};

use crate::errors;
use crate::group_commit::Turn;
use crate::store::SqlStore;

/// A transaction for bookkeeping, after the writer's turn (SQLite).
pub(crate) struct Bookkeeping {
    pub(crate) tx: Transaction<'static, Any>,
    _turn: Option<Turn>,
}

impl Bookkeeping {
    /// Commits it (the writer's turn ends with it).
    pub(crate) async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await.map_err(errors::db)
    }
}

impl SqlStore {
    /// Begins a bookkeeping transaction. Its first statement should write, so that SQLite
    /// takes the write lock at once rather than upgrading a read.
    pub(crate) async fn bookkeeping(&self) -> StoreResult<Bookkeeping> {
        let turn = self.write_turn().await?;
        let tx = self.pool.begin().await.map_err(errors::db)?;
        Ok(Bookkeeping { tx, _turn: turn })
    }

    /// SQLite: a writer's turn before a single writing statement (the open batch of
    /// changes is committed first; see `group_commit.rs`).
    pub(crate) async fn write_turn(&self) -> StoreResult<Option<Turn>> {
        if self.sqlite_writes {
            Ok(Some(self.changes.turn().await?))
        } else {
            Ok(None)
        }
    }
}

pub(crate) async fn issue_grant(
    store: &SqlStore,
    g: &StoredGrant,
    now: Timestamp,
    bounds: GrantBounds,
) -> StoreResult<Option<String>> {
    let mut b = store.bookkeeping().await?;
    let tx = &mut b.tx;
    sqlx::query("DELETE FROM tool_grants WHERE expires_at <= $1")
        .bind(now.0)
        .execute(&mut **tx)
        .await
        .map_err(errors::db)?;
    sqlx::query("DELETE FROM tool_file_counts WHERE keep_until <= $1")
        .bind(now.0)
        .execute(&mut **tx)
        .await
        .map_err(errors::db)?;
    // A reloaded page: its grant lives on.
    let renewed =
        sqlx::query("UPDATE tool_grants SET expires_at = $1 WHERE page_key = $2 RETURNING id")
            .bind(g.expires_at.0)
            .bind(&g.page_key)
            .fetch_optional(&mut **tx)
            .await
            .map_err(errors::db)?;
    if let Some(row) = renewed {
        let id: String = row.try_get("id").map_err(errors::db)?;
        b.commit().await?;
        return Ok(Some(id));
    }
    let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tool_grants WHERE network = $1")
        .bind(&g.network)
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(errors::db)?;
    if held >= bounds.per_address {
        let gone = sqlx::query(
            "DELETE FROM tool_grants WHERE id IN (SELECT id FROM tool_grants \
             WHERE network = $1 ORDER BY created_at, id LIMIT $2)",
        )
        .bind(&g.network)
        .bind(held - bounds.per_address + 1)
        .execute(&mut **tx)
        .await
        .map_err(errors::db)?;
        tracing::info!(network = %g.network, given_up = gone.rows_affected(), "tool grants given up for a newer page of the same network");
    }
    let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tool_grants WHERE token_digest = $1")
        .bind(&g.token_digest)
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(errors::db)?;
    if held >= bounds.per_token {
        let gone = sqlx::query(
            "DELETE FROM tool_grants WHERE id IN (SELECT id FROM tool_grants \
             WHERE token_digest = $1 ORDER BY created_at, id LIMIT $2)",
        )
        .bind(&g.token_digest)
        .bind(held - bounds.per_token + 1)
        .execute(&mut **tx)
        .await
        .map_err(errors::db)?;
        tracing::info!(
            given_up = gone.rows_affected(),
            "tool grants given up for a newer page of the same token"
        );
    }
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tool_grants")
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(errors::db)?;
    if total >= bounds.total {
        b.commit().await?;
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO tool_grants (id, page_key, ip, network, token_digest, body, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&g.id)
    .bind(&g.page_key)
    .bind(&g.ip)
    .bind(&g.network)
    .bind(&g.token_digest)
    .bind(&g.body)
    .bind(now.0)
    .bind(g.expires_at.0)
    .execute(&mut **tx)
    .await
    .map_err(|e| errors::map(e, "a grant for this page"))?;
    b.commit().await?;
    Ok(Some(g.id.clone()))
}

pub(crate) async fn grant(store: &SqlStore, id: &str) -> StoreResult<Option<StoredGrant>> {
    let row = sqlx::query(
        "SELECT id, page_key, ip, network, token_digest, body, expires_at FROM tool_grants \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&store.pool)
    .await
    .map_err(errors::db)?;
    row.map(|r| {
        Ok(StoredGrant {
            id: r.try_get("id")?,
            page_key: r.try_get("page_key")?,
            ip: r.try_get("ip")?,
            network: r.try_get("network")?,
            token_digest: r.try_get("token_digest")?,
            body: r.try_get("body")?,
            expires_at: Timestamp(r.try_get("expires_at")?),
        })
    })
    .transpose()
    .map_err(errors::db)
}

pub(crate) async fn files_used(
    store: &SqlStore,
    token_digest: &str,
    now: Timestamp,
) -> StoreResult<u32> {
    let used: Option<i64> = sqlx::query(
        "SELECT used FROM tool_file_counts WHERE token_digest = $1 AND keep_until > $2",
    )
    .bind(token_digest)
    .bind(now.0)
    .fetch_optional(&store.pool)
    .await
    .map_err(errors::db)?
    .map(|r| r.try_get("used"))
    .transpose()
    .map_err(errors::db)?;
    Ok(used.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32)
}

pub(crate) async fn take_file(
    store: &SqlStore,
    token_digest: &str,
    max: Option<u32>,
    until: Timestamp,
    now: Timestamp,
) -> StoreResult<bool> {
    let mut b = store.bookkeeping().await?;
    let tx = &mut b.tx;
    // A count past its keeping starts again from nothing.
    sqlx::query(
        "INSERT INTO tool_file_counts (token_digest, used, keep_until) VALUES ($1, 0, $2) \
         ON CONFLICT (token_digest) DO UPDATE SET \
         used = CASE WHEN tool_file_counts.keep_until <= $3 THEN 0 ELSE tool_file_counts.used END",
    )
    .bind(token_digest)
    .bind(until.0)
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map_err(errors::db)?;
    let taken = sqlx::query(
        "UPDATE tool_file_counts SET used = used + 1, keep_until = $2 \
         WHERE token_digest = $1 AND ($3 < 0 OR used < $3)",
    )
    .bind(token_digest)
    .bind(until.0)
    .bind(max.map_or(-1, i64::from))
    .execute(&mut **tx)
    .await
    .map_err(errors::db)?;
    b.commit().await?;
    Ok(taken.rows_affected() == 1)
}

pub(crate) async fn release_file(store: &SqlStore, token_digest: &str) -> StoreResult<()> {
    let _turn = store.write_turn().await?;
    sqlx::query("UPDATE tool_file_counts SET used = used - 1 WHERE token_digest = $1 AND used > 0")
        .bind(token_digest)
        .execute(&store.pool)
        .await
        .map_err(errors::db)?;
    Ok(())
}
