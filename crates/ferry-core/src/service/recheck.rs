//! Checks made again inside a change. A change's checks read the caller, the account it acts
//! on and the caller's permissions before its turn; another change can commit before this
//! one's: the caller demoted, disabled or signed out, the account promoted above the caller,
//! a grant taken away. Acting on those reads would let through a change that its own checks,
//! made a moment later, refuse (and, for a permission list, undo the revocation the audit
//! trail calls done), so the changes that hand out or take away power repeat their checks on
//! what their transaction reads, after the writers' turn (ARCHITECTURE.md, invariant 13).
//!
//! A sign-in is one of them: it reads the account, spends a password hash's time checking the
//! password, and then opens its session. A new password, a disabling, a new role or a removed
//! SSH key committed meanwhile ended every session the account had; the one this sign-in
//! opens would outlive it, on the old password ([`signin_gone_stale`]).

use super::signin::NewSession;
use super::{Actor, SessionContext};
use crate::domain::{Role, User, UserId};
use crate::error::{Error, Result};
use crate::store::StoreTx;

/// The caller of `ctx` as `tx` finds them: still active, in a live session, with the role
/// their checks used. Otherwise [`Error::SessionNotFound`] (101), as their next call would get:
/// a change of role, a disabling and a new password each end the user's sessions.
pub(super) async fn caller_unchanged(
    tx: &mut Box<dyn StoreTx>,
    ctx: &SessionContext,
) -> Result<User> {
    let me = tx
        .user_by_id(ctx.user.id)
        .await?
        .filter(|u| u.active && !u.deleted && u.role == ctx.user.role)
        .ok_or(Error::SessionNotFound)?;
    if !tx
        .sessions_of_user(me.id)
        .await?
        .iter()
        .any(|s| s.key == ctx.session.key)
    {
        return Err(Error::SessionNotFound);
    }
    Ok(me)
}

/// Checks again inside `tx` that a signed-in actor is still an active administrator in a live
/// session ([`caller_unchanged`]) and may act on an account of `role` (none: no account, say
/// an unlock by name). The command line is an operator of the machine and is not checked.
pub(super) async fn actor_still_may(
    tx: &mut Box<dyn StoreTx>,
    actor: &Actor,
    role: Option<Role>,
) -> Result<()> {
    let Actor::Session(ctx) = actor else {
        return Ok(());
    };
    let me = caller_unchanged(tx, ctx).await?;
    if !me.role.may_impersonate() {
        return Err(Error::NotPermitted("administrators only"));
    }
    if role.is_some_and(|r| r > me.role) {
        return Err(Error::NotPermitted(
            "an account of a higher role than the caller's",
        ));
    }
    Ok(())
}

/// The user `id` as `tx` finds them, once the actor is checked again against their role
/// ([`actor_still_may`]).
pub(super) async fn target_in_change(
    tx: &mut Box<dyn StoreTx>,
    actor: &Actor,
    id: UserId,
) -> Result<User> {
    let user = tx.user_by_id(id).await?.ok_or(Error::UserNotFound)?;
    actor_still_may(tx, actor, Some(user.role)).await?;
    Ok(user)
}

/// Why the session a sign-in is about to open may not open, as `tx` finds the account
/// (`None`: nothing changed since the sign-in's checks read it), with the error to answer.
/// The account must be as the checks read it (its password, role, and active), the SSH key
/// that signed in still the account's, and an impersonating session still live and unchanged.
/// A password sign-in that lost the race answers like a wrong password: its proof was for an
/// account that no longer is.
pub(super) async fn signin_gone_stale(
    tx: &mut Box<dyn StoreTx>,
    new: &NewSession<'_>,
) -> Result<Option<(&'static str, Error)>> {
    if let Some(ctx) = new.impersonator
        && caller_unchanged(tx, ctx).await.is_err()
    {
        return Ok(Some((
            "the impersonating session changed during the sign-in",
            Error::SessionNotFound,
        )));
    }
    let Some(now) = tx.user_by_id(new.user.id).await? else {
        return Ok(Some((
            "account removed during the sign-in",
            Error::BadCredentials,
        )));
    };
    let why = if !now.active || now.deleted {
        "account disabled during the sign-in"
    } else if now.password_hash != new.user.password_hash {
        "password changed during the sign-in"
    } else if now.role != new.user.role {
        "role changed during the sign-in"
    } else if let Some(key) = &new.ssh_key
        && !tx.has_ssh_key(now.id, key).await?
    {
        "SSH key removed during the sign-in"
    } else {
        return Ok(None);
    };
    let error = if new.impersonator.is_some() {
        Error::UserInactive
    } else {
        Error::BadCredentials
    };
    Ok(Some((why, error)))
}
