//! User groups: `CreateUserGroup`, `AddUserToGroup`, `RemoveUserFromGroup`, `GetUserGroups`.
//! Administrators and Managers manage groups; everyone may list the groups they belong to. A
//! Manager changes the members of a group only while holding every bit the group holds, on
//! every folder it is granted on (see `bits_short_of_group`).

use super::change_races::{Attempt, until_settled};
use super::recheck::caller_unchanged;
use super::{Service, SessionContext};
use crate::domain::{
    AuditEntry, FolderId, GroupId, Operation, Outcome, Permissions, Role, UserGroup, UserId,
};
use crate::error::{Error, Result};
use crate::store::StoreTx;
use crate::text;

impl Service {
    fn require_group_manager(ctx: &SessionContext) -> Result<()> {
        if ctx.user.role >= Role::Manager {
            Ok(())
        } else {
            Err(Error::NotPermitted(
                "groups are managed by Managers and Administrators",
            ))
        }
    }

    /// `CreateUserGroup`.
    pub async fn create_user_group(&self, ctx: &SessionContext, name: &str) -> Result<UserGroup> {
        Self::require_group_manager(ctx)?;
        text::required("name", name, text::MAX_GROUP_NAME)?;
        text::visible_name("name", name)?;
        let name = name.trim().to_string();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_group(&name, now).await?;
        let mut e = AuditEntry::new(Operation::GroupCreated, Outcome::Success);
        ctx.stamp(&mut e);
        e.path = Some(name.clone());
        e.detail = Some(format!("group {id}"));
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(UserGroup { id, name })
    }

    /// `AddUserToGroup` (`add`) and `RemoveUserFromGroup`.
    pub async fn change_group_membership(
        &self,
        ctx: &SessionContext,
        group: GroupId,
        user: UserId,
        add: bool,
    ) -> Result<()> {
        until_settled(|| self.membership_attempt(ctx, group, user, add)).await
    }

    /// One try of [`Service::change_group_membership`]: [`Attempt::Raced`] when, as the change
    /// finds them, the caller no longer holds every bit the group holds (a grant of theirs taken
    /// away, or one given to the group, in between), so that the checks run again and refuse.
    async fn membership_attempt(
        &self,
        ctx: &SessionContext,
        group: GroupId,
        user: UserId,
        add: bool,
    ) -> Result<Attempt<()>> {
        Self::require_group_manager(ctx)?;
        self.store.group(group).await?.ok_or(Error::GroupNotFound)?;
        self.store
            .user_by_id(user)
            .await?
            .ok_or(Error::UserNotFound)?;
        if let Some(short) = self.bits_short_of_group(ctx, group).await? {
            let mut e = AuditEntry::new(Operation::AccessDenied, Outcome::Failure);
            ctx.stamp(&mut e);
            e.target_user_id = Some(user);
            e.folder_id = Some(short.0);
            e.detail = Some(format!(
                "{} group {group}: the group holds {} on folder {} and the caller does not",
                if add {
                    "AddUserToGroup"
                } else {
                    "RemoveUserFromGroup"
                },
                short.1.0,
                short.0
            ));
            self.audit_refused(ctx, e).await?;
            return Err(Error::NotPermitted(
                "only a user holding every permission the group holds may change its members",
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // On the checks' reads, a Manager whose grant was just taken away could add themselves
        // to a group that holds it and have it back.
        caller_unchanged(&mut tx, ctx).await?;
        if short_of_group_in_change(&mut tx, ctx, group).await? {
            return Ok(Attempt::Raced);
        }
        let changed = if add {
            tx.add_group_member(group, user).await?
        } else {
            tx.remove_group_member(group, user).await?
        };
        if changed {
            let op = if add {
                Operation::GroupMemberAdded
            } else {
                Operation::GroupMemberRemoved
            };
            let mut e = AuditEntry::new(op, Outcome::Success);
            ctx.stamp(&mut e);
            e.target_user_id = Some(user);
            e.detail = Some(format!("group {group}"));
            tx.append_audit(now, e).await?;
        }
        tx.commit().await?;
        Ok(Attempt::Done(()))
    }

    /// The first folder on which `group` is granted bits that the caller does not hold, with
    /// the bits missing; `None` when the caller holds everything the group holds. Changing a
    /// group's members hands out (or takes away) what the group holds, so it follows the rule
    /// of `SetFolderPermissionList`: nobody grants what they do not hold. Administrators and
    /// System users hold every bit everywhere.
    async fn bits_short_of_group(
        &self,
        ctx: &SessionContext,
        group: GroupId,
    ) -> Result<Option<(FolderId, Permissions)>> {
        if ctx.user.role.may_impersonate() {
            return Ok(None);
        }
        for grant in self.store.group_grants(group).await? {
            let held = match self.effective(ctx, grant.folder_id).await {
                Ok(bits) => bits,
                // Under a deleted folder: the grant gives nothing.
                Err(Error::FolderNotFound) => continue,
                Err(e) => return Err(e),
            };
            let missing = grant.permission.difference(held);
            if !missing.is_empty() {
                return Ok(Some((grant.folder_id, missing)));
            }
        }
        Ok(None)
    }

    /// `GetUserGroups`: every group for Managers and Administrators, otherwise the caller's own.
    pub async fn user_groups(&self, ctx: &SessionContext) -> Result<Vec<UserGroup>> {
        if ctx.user.role >= Role::Manager {
            Ok(self.store.groups().await?)
        } else {
            Ok(self.store.groups_of_user(ctx.user.id).await?)
        }
    }
}

/// Whether, as `tx` finds them, the caller lacks a bit `group` holds on a live folder: what
/// [`Service::bits_short_of_group`] checked before the change, read again inside it.
async fn short_of_group_in_change(
    tx: &mut Box<dyn StoreTx>,
    ctx: &SessionContext,
    group: GroupId,
) -> Result<bool> {
    if ctx.user.role.may_impersonate() {
        return Ok(false);
    }
    for grant in tx.group_grants(group).await? {
        let chain = tx.permission_chain(grant.folder_id, ctx.user.id).await?;
        match Service::effective_on_chain(ctx, &chain) {
            Ok(held) if !held.contains(grant.permission) => return Ok(true),
            Ok(_) | Err(Error::FolderNotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}
