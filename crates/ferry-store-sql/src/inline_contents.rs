//! Small files' content in the database ([`InlineContents`]; the insert is part of the change
//! that records the version, in `tx.rs`).

use async_trait::async_trait;
use ferry_core::inline_content::InlineContents;
use ferry_core::store::StoreResult;
use sqlx::{AnyConnection, Row};

use crate::errors;
use crate::store::SqlStore;

/// The bytes kept under a key (`$1`).
pub(crate) const INLINE_CONTENT: &str = "SELECT bytes FROM inline_contents WHERE key = $1";

/// Keeps bytes (`$2`) under a key (`$1`).
pub(crate) const INSERT_INLINE_CONTENT: &str =
    "INSERT INTO inline_contents (key, bytes) VALUES ($1, $2)";

/// Keeps `bytes` under `key`, inside the caller's change.
pub(crate) async fn insert(conn: &mut AnyConnection, key: &str, bytes: &[u8]) -> StoreResult<()> {
    sqlx::query(INSERT_INLINE_CONTENT)
        .bind(key)
        .bind(bytes.to_vec())
        .execute(&mut *conn)
        .await
        .map_err(|e| errors::map(e, "content with this key"))?;
    Ok(())
}

#[async_trait]
impl InlineContents for SqlStore {
    async fn inline_content(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        if let Some(reader) = &self.reader {
            return reader.inline_content(key);
        }
        sqlx::query(INLINE_CONTENT)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(errors::db)?
            .map(|r| r.try_get::<Vec<u8>, _>("bytes"))
            .transpose()
            .map_err(errors::db)
    }

    async fn delete_inline_content(&self, key: &str) -> StoreResult<()> {
        let _turn = self.write_turn().await?;
        sqlx::query("DELETE FROM inline_contents WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(errors::db)?;
        Ok(())
    }
}
