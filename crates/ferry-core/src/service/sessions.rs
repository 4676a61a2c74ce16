//! Using and ending sessions: the check every call makes, `Close`, `GetCurrentUser`, and the
//! removal of expired immutable sessions.

use super::{Caller, Service, SessionContext};
use crate::clock::Timestamp;
use crate::domain::{AuditEntry, Operation, Outcome, SessionId, SessionKey, User, application};
use crate::error::{Error, Result};
use crate::store::MetadataStore;

/// A session's `last_used_at` is written at most this often, so that a busy session does not
/// turn every read into a write.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// How often work that outlives its request (a ZIP, a download, an export) asks whether its
/// session still lives ([`Service::context_alive`]): a revoked session stops receiving within
/// this, as an SFTP or FTPS connection does.
pub const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Expired sessions removed per change by the sweeper.
const SWEEP_BATCH: i64 = 500;

impl Service {
    /// Checks a presented session: it exists, has not expired, and its user is active.
    /// Every session-bearing call starts here; any failure is [`Error::SessionNotFound`] (101).
    /// `caller` is where the request came from: every audit record made through the returned
    /// context names that address.
    pub async fn authenticate(&self, id: &SessionId, caller: &Caller) -> Result<SessionContext> {
        self.authenticate_key(&id.key(), caller).await
    }

    /// [`Service::authenticate`] for a holder of the session's key rather than its ID: Ferry's
    /// own SFTP and FTPS connections, and a browser tool's page whose grant names its session.
    pub async fn authenticate_key(
        &self,
        key: &SessionKey,
        caller: &Caller,
    ) -> Result<SessionContext> {
        let now = self.clock.now();
        let (session, user) = self
            .store
            .session_with_user(key)
            .await?
            .ok_or(Error::SessionNotFound)?;
        if session.expires_at.is_some_and(|t| t <= now) || !user.active || user.deleted {
            return Err(Error::SessionNotFound);
        }
        if now.0 - session.last_used_at.0 >= TOUCH_INTERVAL_MS {
            // Bookkeeping only: a failure here must not fail the caller's request.
            // A web session's expiry slides with its use: it ends when idle (a session is
            // touched at most once a minute, so that is the idle timer's grain), and at the
            // latest at its greatest age however busy.
            let slide = (session.application_id == application::WEB_CLIENT)
                .then(|| self.config.web_expiry(session.created_at, now));
            if let Err(e) = self.store.touch_session(key, now, slide).await {
                tracing::warn!(error = %e, "could not record session use");
            }
        }
        Ok(SessionContext {
            session,
            user,
            client_ip: caller.ip_text(),
            tool_page: None,
        })
    }

    /// Whether a session is still alive, without counting as a use of it: what an idle SFTP or
    /// FTPS connection asks every few seconds, to end when its session was revoked.
    pub async fn session_alive(&self, key: &SessionKey) -> Result<bool> {
        session_alive_in(&*self.store, self.clock.now(), key).await
    }

    /// Whether what `ctx` acts as still holds, for work that runs long after its request was
    /// authorised (a ZIP being written, an audit export): see [`context_alive_in`]. Not counted
    /// as a use of the session.
    pub async fn context_alive(&self, ctx: &SessionContext) -> Result<bool> {
        context_alive_in(&*self.store, self.clock.now(), ctx).await
    }

    /// `GetCurrentUser`: the user of a live session.
    pub async fn current_user(&self, id: &SessionId, caller: &Caller) -> Result<User> {
        Ok(self.authenticate(id, caller).await?.user)
    }

    /// `Close`: deletes the session; later use of it fails with 101.
    pub async fn close(&self, id: &SessionId, caller: &Caller) -> Result<()> {
        let ctx = self.authenticate(id, caller).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_session(&ctx.session.key).await? {
            // Closed or replaced by a concurrent call since we looked.
            return Err(Error::SessionNotFound);
        }
        let mut e = AuditEntry::new(Operation::SignOut, Outcome::Success);
        ctx.stamp(&mut e);
        tx.append_audit(self.clock.now(), e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes every session whose expiry has passed, auditing each; returns how many.
    /// Safe to run on several nodes at once: each batch is one change under the store's lock.
    pub async fn sweep_expired_sessions(&self) -> Result<usize> {
        let mut removed = 0;
        loop {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            let expired = tx.expired_sessions(now, SWEEP_BATCH).await?;
            let batch = expired.len();
            for s in expired {
                tx.delete_session(&s.key).await?;
                let mut e = AuditEntry::new(Operation::SessionExpired, Outcome::Success);
                e.user_id = Some(s.user_id);
                e.impersonator_id = s.impersonator_id;
                e.application_id = Some(s.application_id);
                e.session_tag = Some(s.key.tag());
                e.external_user = s.external_user;
                tx.append_audit(now, e).await?;
            }
            tx.commit().await?;
            removed += batch;
            if (batch as i64) < SWEEP_BATCH {
                return Ok(removed);
            }
        }
    }
}

/// [`Service::session_alive`] over a store at `now`.
async fn session_alive_in(
    store: &dyn MetadataStore,
    now: Timestamp,
    key: &SessionKey,
) -> Result<bool> {
    Ok(match store.session_with_user(key).await? {
        Some((s, u)) => s.expires_at.is_none_or(|t| t > now) && u.active && !u.deleted,
        None => false,
    })
}

/// Whether what `ctx` acts as still holds at `now`: its session lives (a shared link's too:
/// revoking the link ends it), or, for the stand-in session of a page of access IDs (which
/// nothing stores), its user and the administrator it acts for are still active. Over a store
/// rather than the Service, for an upload whose bytes are still arriving ([`super::Upload`]).
pub(super) async fn context_alive_in(
    store: &dyn MetadataStore,
    now: Timestamp,
    ctx: &SessionContext,
) -> Result<bool> {
    let stand_in = ctx
        .tool_page
        .as_deref()
        .and_then(super::access_ids::stand_in_session);
    if stand_in.as_ref() != Some(&ctx.session.key) {
        return session_alive_in(store, now, &ctx.session.key).await;
    }
    let active = |u: Option<crate::domain::User>| u.is_some_and(|u| u.active && !u.deleted);
    if !active(store.user_by_id(ctx.user.id).await?) {
        return Ok(false);
    }
    Ok(match ctx.session.impersonator_id {
        Some(admin) => active(store.user_by_id(admin).await?),
        None => true,
    })
}
