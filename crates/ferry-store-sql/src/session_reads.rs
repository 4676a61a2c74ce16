//! The session check's reads and writes: SQLite's synchronous reader, or on PostgreSQL the
//! node's cache (`session_cache.rs`) in front of one joined query; and the touch that records
//! a session's use, which the cache must forget.

use std::time::Duration;

use ferry_core::Timestamp;
use ferry_core::domain::{Session, SessionKey, User};
use ferry_core::store::StoreResult;

use crate::connect::Engine;
use crate::errors;
use crate::rows::{self, session_and_user_columns};
use crate::session_cache::SessionCache;
use crate::store::SqlStore;

impl SqlStore {
    /// PostgreSQL: starts keeping the session check's cache (`session_cache.rs`), whose
    /// answers live at most `lifetime` and whose listener holds one more connection for as
    /// long as the process runs. For the server; a CLI command checks a session once at most.
    /// Does nothing on SQLite, or for a zero `lifetime`.
    pub fn start_session_cache(&mut self, lifetime: Duration) {
        if self.engine != Engine::Postgres || lifetime.is_zero() || self.session_cache.is_some() {
            return;
        }
        let cache = SessionCache::new(lifetime);
        tokio::spawn(cache.clone().listen(self.url.to_string()));
        self.session_cache = Some(cache);
    }

    /// A session with its user, for the check every call makes.
    pub(crate) async fn checked_session(
        &self,
        id: &SessionKey,
    ) -> StoreResult<Option<(Session, User)>> {
        if let Some(reader) = &self.reader {
            return reader.session_with_user(id);
        }
        if let Some(hit) = self.session_cache.as_ref().and_then(|c| c.get(id)) {
            return Ok(Some(hit));
        }
        let ticket = self.session_cache.as_ref().map(|c| c.ticket());
        let row = sqlx::query(concat!(
            "SELECT ",
            session_and_user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             JOIN applications a ON a.id = s.application_id AND a.enabled = 1 \
             LEFT JOIN applications ia ON ia.id = s.impersonator_application_id \
             WHERE s.id = $1 AND (s.impersonator_application_id IS NULL OR ia.enabled = 1)"
        ))
        .bind(id.to_hex())
        .fetch_optional(&self.pool)
        .await
        .map_err(errors::db)?;
        let Some(r) = row else { return Ok(None) };
        let (session, user) = (rows::session(&r)?, rows::user_prefixed(&r, "u_")?);
        if let (Some(cache), Some(ticket)) = (&self.session_cache, ticket) {
            cache.fill(ticket, &session, &user);
        }
        Ok(Some((session, user)))
    }

    /// Records a session's use (and, for a web session, its slid expiry).
    pub(crate) async fn touch_session_row(
        &self,
        id: &SessionKey,
        at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let _turn = self.write_turn().await?;
        let done = sqlx::query(
            "UPDATE sessions SET last_used_at = $1, expires_at = COALESCE($2, expires_at) \
             WHERE id = $3",
        )
        .bind(at.0)
        .bind(expires_at.map(|t| t.0))
        .bind(id.to_hex())
        .execute(&self.pool)
        .await
        .map_err(errors::db);
        // Whatever the outcome: an update whose answer was lost may still have happened.
        if let Some(cache) = &self.session_cache {
            cache.evict_session(id);
        }
        done?;
        Ok(())
    }
}
