//! User groups: `CreateUserGroup`, `AddUserToGroup`, `RemoveUserFromGroup`, `GetUserGroups`.
//! Administrators and Managers manage groups; everyone may list the groups they belong to.

use super::{Service, SessionContext};
use crate::domain::{AuditEntry, GroupId, Operation, Outcome, Role, UserGroup, UserId};
use crate::error::{Error, Result};
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
        Self::require_group_manager(ctx)?;
        self.store.group(group).await?.ok_or(Error::GroupNotFound)?;
        self.store
            .user_by_id(user)
            .await?
            .ok_or(Error::UserNotFound)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
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
        Ok(())
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
