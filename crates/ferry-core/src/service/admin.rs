//! Administration of users and applications: what `ferry user …` and `ferry app …` do, and what
//! the administration API will call. Every change is audited with the acting [`Actor`].

use super::recheck::{actor_still_may, target_in_change};
use super::{Actor, Service, optional_text};
use crate::domain::{
    Application, AuditEntry, NewUser, Operation, Outcome, Role, Session, User, UserId, application,
};
use crate::error::{Error, Result};
use crate::store::StoreTx;
use crate::text;

/// A user to create.
#[derive(Clone)]
pub struct NewUserRequest {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// E-mail address (may be empty).
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Initial password; without one the account cannot sign in by password.
    pub password: Option<String>,
}

impl std::fmt::Debug for NewUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserRequest")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Ends every session of `user` inside `tx`, and every session `user` opened impersonating
/// someone else ([`revoke_impersonations`]), auditing each with `why`.
pub(crate) async fn revoke_sessions(
    tx: &mut Box<dyn StoreTx>,
    user: UserId,
    why: &str,
    now: crate::clock::Timestamp,
) -> Result<()> {
    revoke_sessions_where(tx, user, why, now, |_| true).await?;
    revoke_impersonations(tx, user, why, now).await
}

/// Ends the sessions `user` opened impersonating others (`OpenImmutableImpersonate`), inside
/// `tx`: they are the target's sessions, but their power came from `user`'s, so whatever ends
/// `user`'s sessions (disabled, a new role, a new password) ends them too. Before, an
/// integration's service account disabled for a leak kept every session it had opened as others.
pub(crate) async fn revoke_impersonations(
    tx: &mut Box<dyn StoreTx>,
    user: UserId,
    why: &str,
    now: crate::clock::Timestamp,
) -> Result<()> {
    let detail = format!("{why} (the impersonating user)");
    for s in tx.sessions_impersonated_by(user).await? {
        end_session(tx, &s, Some(user), &detail, now).await?;
    }
    Ok(())
}

/// Deletes `s` inside `tx` and audits it as revoked for `why` (naming `impersonator`, if any).
pub(crate) async fn end_session(
    tx: &mut Box<dyn StoreTx>,
    s: &Session,
    impersonator: Option<UserId>,
    why: &str,
    now: crate::clock::Timestamp,
) -> Result<()> {
    tx.delete_session(&s.key).await?;
    let mut e = AuditEntry::new(Operation::SessionRevoked, Outcome::Success);
    e.user_id = Some(s.user_id);
    e.impersonator_id = impersonator;
    e.application_id = Some(s.application_id);
    e.session_tag = Some(s.key.tag());
    e.detail = Some(why.to_string());
    tx.append_audit(now, e).await?;
    Ok(())
}

/// Ends the sessions of `user` that `which` picks, inside `tx`, auditing each with `why`.
/// Open SFTP and FTPS connections on them end too: they check their session on every request
/// and every few seconds while idle.
pub(crate) async fn revoke_sessions_where(
    tx: &mut Box<dyn StoreTx>,
    user: UserId,
    why: &str,
    now: crate::clock::Timestamp,
    which: impl Fn(&Session) -> bool,
) -> Result<()> {
    for s in tx.sessions_of_user(user).await? {
        if which(&s) {
            end_session(tx, &s, None, why, now).await?;
        }
    }
    Ok(())
}

/// The user ID behind an actor, if it is a signed-in user.
pub(crate) fn actor_user(actor: &Actor) -> Option<UserId> {
    match actor {
        Actor::Session(ctx) => Some(ctx.user.id),
        Actor::Cli { .. } => None,
    }
}

/// Refuses a signed-in administrator changing their own role or disabling their own account.
/// Another administrator (or the command line) does that: so an administrator's session never
/// leaves the server without one, which with the checks made again inside each change
/// (`recheck.rs`) holds even for two administrators demoting each other at once.
fn not_on_oneself(actor: &Actor, target: UserId) -> Result<()> {
    match actor_user(actor) {
        Some(me) if me == target => Err(Error::NotPermitted(
            "your own account: another administrator changes its role or disables it",
        )),
        _ => Ok(()),
    }
}

impl Service {
    /// Refuses actors who are not administrators.
    pub(crate) fn require_admin(actor: &Actor) -> Result<()> {
        match actor {
            Actor::Cli { .. } => Ok(()),
            Actor::Session(ctx) if ctx.user.role.may_impersonate() => Ok(()),
            Actor::Session(_) => Err(Error::NotPermitted("administrators only")),
        }
    }

    /// Refuses a signed-in actor acting on (or creating) an account whose role is above their
    /// own: System is above Administrator, and nobody makes or changes what they are not. The
    /// command line (an operator of the machine) may do anything.
    pub(crate) fn require_role_at_most(actor: &Actor, role: Role) -> Result<()> {
        match actor {
            Actor::Session(ctx) if role > ctx.user.role => Err(Error::NotPermitted(
                "an account of a higher role than the caller's",
            )),
            _ => Ok(()),
        }
    }

    /// Creates a user.
    pub async fn add_user(&self, actor: &Actor, req: NewUserRequest) -> Result<User> {
        Self::require_admin(actor)?;
        Self::require_role_at_most(actor, req.role)?;
        text::user_name("name", &req.name)?;
        text::email("email", &req.email)?;
        text::plain("firstName", &req.first_name, text::MAX_PERSON_NAME)?;
        text::plain("lastName", &req.last_name, text::MAX_PERSON_NAME)?;
        let password_hash = match req.password {
            Some(pw) => {
                text::new_password_for("password", &pw, &req.name)?;
                Some(self.hash_password(pw).await?)
            }
            None => None,
        };
        let new = NewUser {
            name: req.name,
            domain_username: None,
            first_name: req.first_name,
            last_name: req.last_name,
            email: req.email,
            role: req.role,
            active: true,
            user_sync_id: None,
            password_hash,
        };
        let mut tx = self.store.begin().await?;
        // The password's hashing took a while: the actor is checked again as the change finds them.
        actor_still_may(&mut tx, actor, Some(new.role)).await?;
        let user = self
            .insert_user_with_home(&mut tx, &|e| actor.stamp(e), &new, true, actor_user(actor))
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Inserts a validated user inside `tx`, audited (the "who" fields from `stamp`), with a
    /// home folder if asked; returns it as stored.
    pub(crate) async fn insert_user_with_home(
        &self,
        tx: &mut Box<dyn StoreTx>,
        stamp: &(dyn Fn(&mut AuditEntry) + Sync),
        new: &NewUser,
        with_home: bool,
        by: Option<UserId>,
    ) -> Result<User> {
        let now = self.clock.now();
        let id = tx.insert_user(new, now).await?;
        let mut e = AuditEntry::new(Operation::UserCreated, Outcome::Success);
        stamp(&mut e);
        e.target_user_id = Some(id);
        e.path = Some(new.name.clone());
        tx.append_audit(now, e).await?;
        let mut user = tx
            .user_by_id(id)
            .await?
            .ok_or_else(|| Error::Internal("user vanished after insert".into()))?;
        if with_home {
            self.create_home(tx, &mut user, by).await?;
        }
        Ok(user)
    }

    /// Creates the first administrator if the store has no users at all; returns it.
    /// Used at start-up so that a fresh server can be administered; audited as done at the
    /// command line by `os_user` (the account that started the server).
    pub async fn bootstrap_administrator(
        &self,
        name: &str,
        password: String,
        os_user: Option<String>,
    ) -> Result<Option<User>> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let req = NewUserRequest {
            name: name.to_string(),
            role: Role::Administrator,
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            password: Some(password),
        };
        match self.add_user(&Actor::Cli { os_user }, req).await {
            Ok(u) => Ok(Some(u)),
            // Another node made it first.
            Err(Error::AlreadyExists(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Finds a user by login name.
    pub async fn user_named(&self, name: &str) -> Result<User> {
        text::plain("name", name, text::MAX_USER_NAME)?;
        self.store
            .user_by_name(name)
            .await?
            .ok_or(Error::UserNotFound)
    }

    /// Changes a user's role and ends all their sessions, so that nothing keeps the rights of
    /// the old role (or runs with the new one under a session opened before it). Not one's own
    /// role ([`not_on_oneself`]).
    pub async fn set_role(&self, actor: &Actor, name: &str, role: Role) -> Result<()> {
        Self::require_admin(actor)?;
        let user = self.user_named(name).await?;
        not_on_oneself(actor, user.id)?;
        Self::require_role_at_most(actor, user.role)?;
        Self::require_role_at_most(actor, role)?;
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        let mut current = target_in_change(&mut tx, actor, user.id).await?;
        if current.role == role {
            return Ok(());
        }
        let before = current.role;
        current.role = role;
        tx.update_user(&current).await?;
        let mut e = AuditEntry::new(Operation::UserUpdated, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = Some(user.id);
        e.path = Some(user.name.clone());
        e.detail = Some(format!("role {} -> {}", before.name(), role.name()));
        tx.append_audit(now, e).await?;
        revoke_sessions(&mut tx, user.id, "role changed", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables a user and ends all their sessions (not one's own: [`not_on_oneself`]).
    pub async fn disable_user(&self, actor: &Actor, name: &str) -> Result<()> {
        Self::require_admin(actor)?;
        let user = self.user_named(name).await?;
        not_on_oneself(actor, user.id)?;
        Self::require_role_at_most(actor, user.role)?;
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        let mut current = target_in_change(&mut tx, actor, user.id).await?;
        current.active = false;
        tx.update_user(&current).await?;
        revoke_sessions(&mut tx, user.id, "user disabled", now).await?;
        let mut e = AuditEntry::new(Operation::UserDisabled, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = Some(user.id);
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// All users.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        Ok(self.store.users().await?)
    }

    /// Registers an application ID for a client developer (1000 and above).
    pub async fn add_application(&self, actor: &Actor, id: i64, name: &str) -> Result<Application> {
        Self::require_admin(actor)?;
        if id < application::FIRST_CLIENT_ID {
            return Err(Error::invalid(format!(
                "application IDs below {} are reserved for Ferry",
                application::FIRST_CLIENT_ID
            )));
        }
        text::required("name", name, text::MAX_APPLICATION_NAME)?;
        let name = optional_text(
            "name",
            Some(name.trim().to_string()),
            text::MAX_APPLICATION_NAME,
        )?
        .unwrap_or_default();
        let now = self.clock.now();
        let app = Application {
            id,
            name,
            enabled: true,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_application(&app).await?;
        let mut e = AuditEntry::new(Operation::ApplicationRegistered, Outcome::Success);
        actor.stamp(&mut e);
        e.path = Some(format!("{} {}", app.id, app.name));
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(app)
    }

    /// Enables or disables an application. A disabled application opens no sessions, and the
    /// sessions it has are refused (101, as an ended one) until it is enabled again: the
    /// session check reads the application with the session, every node's cache forgets its
    /// answers when an application changes, and SFTP and FTPS connections on its sessions close
    /// at their next check. Until 2026-12-07 its sessions lived on (an immutable one up to 48
    /// hours), so disabling the application of an integration whose credentials leaked did not
    /// stop the sessions already taken with them. Nobody disables the application of the
    /// session they act through (the console's own): it would end that session mid-answer.
    pub async fn set_application_enabled(
        &self,
        actor: &Actor,
        id: i64,
        enabled: bool,
    ) -> Result<()> {
        Self::require_admin(actor)?;
        if let Actor::Session(ctx) = actor
            && !enabled
            && ctx.session.application_id == id
        {
            return Err(Error::NotPermitted(
                "the application of your own session: disable it from the command line",
            ));
        }
        let mut tx = self.store.begin().await?;
        if !tx.set_application_enabled(id, enabled).await? {
            return Err(Error::UnknownApplication);
        }
        let mut e = AuditEntry::new(Operation::ApplicationChanged, Outcome::Success);
        actor.stamp(&mut e);
        e.path = Some(id.to_string());
        e.detail = Some(
            if enabled {
                "enabled"
            } else {
                "disabled: its sessions are refused until it is enabled again"
            }
            .into(),
        );
        tx.append_audit(self.clock.now(), e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// All applications.
    pub async fn list_applications(&self) -> Result<Vec<Application>> {
        Ok(self.store.applications().await?)
    }
}
