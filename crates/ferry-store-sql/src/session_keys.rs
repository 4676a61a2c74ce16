//! The start-up step that rewrites rows written before sessions were kept by key (migration
//! 0024): each session stored under its ID is moved to its key, and each shared link's raw
//! session ID is replaced by its key and the ID sealed with the tools' keys (without them
//! configured, by nothing: the link works on, but its token cannot be shown again). Runs at
//! every start and finds nothing once done; safe on several nodes at once (a row another node
//! moved first is not found again). Nodes of an older version look sessions up by ID: upgrade
//! them together.

use ferry_core::domain::{SessionId, SessionKey};
use ferry_core::store::StoreError;
use ferry_crypto::tool_token::ToolTokenKeys;
use sqlx::{AnyPool, Row};

use crate::errors;

/// A session ID's stored length (hyphenated GUID); a key is 64 hex digits.
const ID_CHARS: i64 = 36;

/// Moves every session and link still stored by ID to its key; how many rows it moved.
pub(crate) async fn key_sessions_stored_by_id(
    pool: &AnyPool,
    tool_keys: Option<&ToolTokenKeys>,
) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await.map_err(errors::db)?;
    let mut moved = 0;
    let ids = sqlx::query("SELECT id FROM sessions WHERE length(id) = $1")
        .bind(ID_CHARS)
        .fetch_all(&mut *tx)
        .await
        .map_err(errors::db)?;
    for row in ids {
        let id: String = row.try_get("id").map_err(errors::db)?;
        let Some(key) = SessionKey::parse_stored(&id) else {
            continue;
        };
        moved += sqlx::query("UPDATE sessions SET id = $1 WHERE id = $2")
            .bind(key.to_hex())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(errors::db)?
            .rows_affected();
    }
    let links = sqlx::query("SELECT id, sealed_session FROM share_links WHERE session_key IS NULL")
        .fetch_all(&mut *tx)
        .await
        .map_err(errors::db)?;
    for row in links {
        let link: i64 = row.try_get("id").map_err(errors::db)?;
        let raw: String = row.try_get("sealed_session").map_err(errors::db)?;
        let id = SessionId::parse(&raw).ok_or_else(|| {
            StoreError::Other(format!("shared link {link}: its session is not a GUID"))
        })?;
        let sealed = tool_keys.map_or_else(String::new, |k| k.seal_link_session(id.0.as_bytes()));
        moved += sqlx::query(
            "UPDATE share_links SET session_key = $1, sealed_session = $2 \
             WHERE id = $3 AND session_key IS NULL",
        )
        .bind(id.key().to_hex())
        .bind(sealed)
        .bind(link)
        .execute(&mut *tx)
        .await
        .map_err(errors::db)?
        .rows_affected();
    }
    tx.commit().await.map_err(errors::db)?;
    Ok(moved)
}
