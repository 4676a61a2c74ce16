//! What an administrator sees and does to live sessions and accounts from the console (issue
//! 17): the sessions in force, by user and application, named by their one-way tags (never
//! by their IDs); ending one; enabling a disabled user; the users and applications lists and
//! the audit chain's verification, each for administrators only.

use super::admin::{actor_user, revoke_sessions_where};
use super::recheck::target_in_change;
use super::{Actor, Service};
use crate::clock::Timestamp;
use crate::domain::{
    Application, ApplicationId, AuditEntry, Operation, Outcome, Session, User, UserGroup, UserId,
};
use crate::error::{Error, Result};

/// Most sessions one listing shows.
pub const MAX_LISTED_SESSIONS: i64 = 1000;

/// A live session as the console shows it: everything but its secret ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session's tag (what the audit names it by).
    pub tag: String,
    /// Whose it is.
    pub user_id: UserId,
    /// The application it was opened for.
    pub application_id: ApplicationId,
    /// Never replaced by a later sign-in.
    pub immutable: bool,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it was last used (to the minute).
    pub last_used_at: Timestamp,
    /// When it ends, if it does on its own.
    pub expires_at: Option<Timestamp>,
    /// Where it was opened from.
    pub client_ip: Option<String>,
    /// The client's software, as it said.
    pub client_version: Option<String>,
    /// The administrator who opened it on the user's behalf.
    pub impersonator_id: Option<UserId>,
}

impl From<&Session> for SessionSummary {
    fn from(s: &Session) -> Self {
        SessionSummary {
            tag: s.key.tag(),
            user_id: s.user_id,
            application_id: s.application_id,
            immutable: s.immutable,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            client_ip: s.client_ip.clone(),
            client_version: s.client_version.clone(),
            impersonator_id: s.impersonator_id,
        }
    }
}

impl Service {
    /// The live sessions, the most recently used first, of one user and application or of
    /// all (at most [`MAX_LISTED_SESSIONS`]). Administrators only.
    pub async fn live_sessions(
        &self,
        actor: &Actor,
        user: Option<UserId>,
        application: Option<ApplicationId>,
    ) -> Result<Vec<SessionSummary>> {
        Self::require_admin(actor)?;
        let now = self.clock.now();
        Ok(self
            .store
            .live_sessions(now, user, application, MAX_LISTED_SESSIONS)
            .await?
            .iter()
            .map(SessionSummary::from)
            .collect())
    }

    /// Ends the live session of `user` whose tag is `tag`, audited as revoked by the actor.
    /// An administrator may not end the session of a user whose role is above theirs.
    pub async fn end_session(&self, actor: &Actor, user: UserId, tag: &str) -> Result<()> {
        Self::require_admin(actor)?;
        let target = self
            .store
            .user_by_id(user)
            .await?
            .ok_or(Error::SessionNotFound)?;
        Self::require_role_at_most(actor, target.role)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        target_in_change(&mut tx, actor, user).await?;
        if !tx
            .sessions_of_user(user)
            .await?
            .iter()
            .any(|s| s.key.tag() == tag)
        {
            return Err(Error::SessionNotFound);
        }
        let by = match actor_user(actor) {
            Some(id) => format!("ended by an administrator (user {id})"),
            None => "ended at the command line".to_string(),
        };
        revoke_sessions_where(&mut tx, user, &by, now, |s| s.key.tag() == tag).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Enables a disabled user again. Administrators only, for users of their role or below.
    pub async fn enable_user(&self, actor: &Actor, name: &str) -> Result<()> {
        Self::require_admin(actor)?;
        let user = self.user_named(name).await?;
        Self::require_role_at_most(actor, user.role)?;
        if user.active {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        let mut current = target_in_change(&mut tx, actor, user.id).await?;
        current.active = true;
        tx.update_user(&current).await?;
        let mut e = AuditEntry::new(Operation::UserEnabled, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = Some(user.id);
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every user, for an administrator.
    pub async fn users_for(&self, actor: &Actor) -> Result<Vec<User>> {
        Self::require_admin(actor)?;
        self.list_users().await
    }

    /// Walks the audit chain ([`Service::verify_audit_chain`]) for an administrator.
    pub async fn verify_audit_chain_for(&self, actor: &Actor) -> Result<super::AuditVerification> {
        Self::require_admin(actor)?;
        self.verify_audit_chain().await
    }

    /// Every group with its members' IDs, for an administrator.
    pub async fn groups_with_members(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(UserGroup, Vec<UserId>)>> {
        Self::require_admin(actor)?;
        let mut out = Vec::new();
        for g in self.store.groups().await? {
            let members = self.store.group_members(g.id).await?;
            out.push((g, members));
        }
        Ok(out)
    }

    /// Every application, for an administrator.
    pub async fn applications_for(&self, actor: &Actor) -> Result<Vec<Application>> {
        Self::require_admin(actor)?;
        self.list_applications().await
    }
}
