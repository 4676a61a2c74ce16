//! Passwords: set by an administrator (`ferry user passwd`) or changed by their user
//! (`ChangePassword`). Either way every session of the user ends, but for the one a user
//! changed their own password in: whoever held the old password is out, on every protocol.

use super::admin::{revoke_impersonations, revoke_sessions_where};
use super::hash_slots::HashTicket;
use super::recheck::{caller_unchanged, target_in_change};
use super::{Actor, Caller, Service, SessionContext};
use crate::domain::{AuditEntry, Operation, Outcome, UserId};
use crate::error::{Error, Result};
use crate::text;

impl Service {
    /// Sets a user's password (and re-enables nothing: a disabled user stays disabled) and
    /// ends every session the user has: whoever held the old password is out.
    pub async fn set_password(&self, actor: &Actor, name: &str, password: String) -> Result<()> {
        Self::require_admin(actor)?;
        text::new_password_for("password", &password, name)?;
        let user = self.user_named(name).await?;
        Self::require_role_at_most(actor, user.role)?;
        let hash = self.hash_password(password).await?;
        self.store_password(actor, user.id, hash, None).await
    }

    /// Writes a new password hash for `user` and ends their sessions, in one change with the
    /// audit; but `own`'s, the session of a user changing their own password: that user is not
    /// checked as an administrator, but must still be in that session with the password they
    /// proved (`own.user`'s hash), or a password an administrator set a moment before (to shut
    /// out whoever held the old one) would be replaced by theirs.
    pub(super) async fn store_password(
        &self,
        actor: &Actor,
        user: UserId,
        hash: String,
        own: Option<&SessionContext>,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        // Read inside the change: a concurrent change of another field must not be undone,
        // and the checks hold for the account as it is now.
        let mut current = match own {
            None => target_in_change(&mut tx, actor, user).await?,
            Some(ctx) => {
                let me = caller_unchanged(&mut tx, ctx).await?;
                if me.password_hash != ctx.user.password_hash {
                    return Err(Error::BadCredentials);
                }
                me
            }
        };
        current.password_hash = Some(hash);
        tx.update_user(&current).await?;
        let mut e = AuditEntry::new(Operation::PasswordChanged, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = Some(user);
        tx.append_audit(now, e).await?;
        revoke_sessions_where(&mut tx, user, "password changed", now, |s| {
            own.is_none_or(|ctx| s.key != ctx.session.key)
        })
        .await?;
        revoke_impersonations(&mut tx, user, "password changed", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `ChangePassword`: the user of `ctx` replaces their own password, proving the current
    /// one. A wrong current password counts toward the lock-out like a failed sign-in (so a
    /// stolen session cannot be used to guess it); an impersonated session may not change the
    /// user's password. Every other session of the user ends.
    pub async fn change_own_password(
        &self,
        ctx: &SessionContext,
        current: String,
        new: String,
        caller: &Caller,
    ) -> Result<()> {
        text::presented_password("oldPassword", &current)?;
        text::new_password("newPassword", &new)?;
        if ctx.session.impersonator_id.is_some() {
            return Err(Error::NotPermitted(
                "an impersonated session cannot change the user's password",
            ));
        }
        self.prove_own_password(ctx, current, caller, Operation::PasswordChanged)
            .await?;
        // Judged once the caller has proved the current password: a wrong one is told as
        // such (401), whatever the new one (and the API's schema cannot say "guessable").
        text::new_password_for("newPassword", &new, &ctx.user.name)?;
        let hash = self.hash_password(new).await?;
        let actor = Actor::Session(Box::new(ctx.clone()));
        self.store_password(&actor, ctx.user.id, hash, Some(ctx))
            .await
    }

    /// The user of `ctx` proves they know their password, as a change that outlives the
    /// session needs (a new password, a second factor turned on), so that a stolen session
    /// cannot make one. A wrong password counts toward the lock-out like a failed sign-in and
    /// is audited as `operation` failed; a user with no password (made by a ticket sign-in)
    /// cannot prove one.
    pub(super) async fn prove_own_password(
        &self,
        ctx: &SessionContext,
        presented: String,
        caller: &Caller,
        operation: Operation,
    ) -> Result<()> {
        let failure = |detail: &str| {
            let mut e = AuditEntry::new(operation, Outcome::Failure);
            ctx.stamp(&mut e);
            e.target_user_id = Some(ctx.user.id);
            e.detail = Some(detail.to_string());
            e
        };
        let keys = self.config.lockout.keys(&ctx.user.name, caller.ip);
        let known = self.known_address(Some(&ctx.user), caller.ip).await?;
        self.refuse_if_locked(&keys, known, caller.ip, || failure("locked out"))
            .await?;
        let stored = ctx.user.password_hash.clone();
        let ticket = HashTicket::signin(Some(ctx.user.id), caller.ip, known);
        // Held until a failure is recorded (see `signin_slot`).
        let slot = self
            .signin_slot(ticket, &keys, known, caller.ip, || failure("locked out"))
            .await?;
        let ok = self
            .hash_in(&slot, move |h| match stored {
                Some(hash) => h.verify(&presented, &hash),
                None => h.verify_decoy(&presented),
            })
            .await?;
        if !ok || ctx.user.password_hash.is_none() {
            self.record_failed_signin(&keys, failure("wrong current password"))
                .await?;
            return Err(Error::BadCredentials);
        }
        Ok(())
    }
}
