//! An administrator's change to an account, checked again inside it. The checks before a
//! change read the actor and the target as they were then; another change can commit before
//! this one's turn: the actor demoted, disabled or signed out, the target promoted above the
//! actor. Acting on those reads would let a change through that its own checks, made a moment
//! later, refuse, so every such change repeats them on the rows its transaction reads, after
//! the writers' turn (ARCHITECTURE.md, invariant 13).

use super::Actor;
use crate::domain::{Role, User, UserId};
use crate::error::{Error, Result};
use crate::store::StoreTx;

/// Checks again inside `tx` that a signed-in actor is still an active administrator in a live
/// session and may act on an account of `role` (none: no account, say an unlock by name). The
/// command line is an operator of the machine and is not checked.
pub(super) async fn actor_still_may(
    tx: &mut Box<dyn StoreTx>,
    actor: &Actor,
    role: Option<Role>,
) -> Result<()> {
    let Actor::Session(ctx) = actor else {
        return Ok(());
    };
    let me = tx
        .user_by_id(ctx.user.id)
        .await?
        .filter(|u| u.active && !u.deleted)
        .ok_or(Error::SessionNotFound)?;
    if !tx
        .sessions_of_user(me.id)
        .await?
        .iter()
        .any(|s| s.id == ctx.session.id)
    {
        return Err(Error::SessionNotFound);
    }
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
