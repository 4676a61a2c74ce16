//! Folder permissions: what a user holds on a folder, the checks every folder operation makes,
//! and `GetFolderPermissionList` / `SetFolderPermissionList`.
//!
//! Which bit each operation needs is listed in ARCHITECTURE.md ("Permission bits"). A folder the
//! caller may not even Show answers "folder not found", so that its existence is not revealed;
//! one they can see but lack the bit for answers "not permitted" and is audited.

use super::change_races::{Attempt, until_settled};
use super::recheck::caller_unchanged;
use super::{Service, SessionContext};
use crate::domain::{
    AuditEntry, ChainLink, FolderId, Grant, Grantee, Operation, Outcome, Permissions,
    folder::effective_permissions,
};
use crate::error::{Error, Result};

/// One item of a `SetFolderPermissionList` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantRequest {
    /// The bits to grant.
    pub permission: i64,
    /// `UserID`, or -1.
    pub user_id: i64,
    /// `UserGroupID`, or -1.
    pub group_id: i64,
}

impl Service {
    /// The bits `ctx`'s user holds on a live folder; [`Error::FolderNotFound`] if the folder (or
    /// an ancestor) does not exist or is deleted.
    pub(crate) async fn effective(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
    ) -> Result<Permissions> {
        let chain = self.store.permission_chain(folder, ctx.user.id).await?;
        Self::effective_on_chain(ctx, &chain)
    }

    pub(crate) fn effective_on_chain(
        ctx: &SessionContext,
        chain: &[ChainLink],
    ) -> Result<Permissions> {
        if chain.is_empty() || chain.iter().any(|l| l.deleted) {
            return Err(Error::FolderNotFound);
        }
        if ctx.user.role.may_impersonate() {
            return Ok(Permissions::ALL);
        }
        Ok(effective_permissions(chain))
    }

    /// Checks that the caller holds `needed` on `folder`; returns everything they hold.
    /// Refusals are audited with `operation` as the attempted operation.
    pub(crate) async fn require(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
        needed: Permissions,
        operation: Operation,
    ) -> Result<Permissions> {
        let held = self.effective(ctx, folder).await?;
        // Everyone knows the navigation folders (SFTP and FTPS pass through them), so a write
        // there is refused as not permitted, not as a folder that does not exist; reading
        // them is refused as before (a member does not list `Home`).
        let known_write = crate::domain::is_navigation(folder)
            && !needed.contains(Permissions::SHOW)
            && !needed.contains(Permissions::READ);
        if !held.contains(Permissions::SHOW) && !known_write {
            return Err(Error::FolderNotFound);
        }
        if !held.contains(needed) {
            let mut e = AuditEntry::new(Operation::AccessDenied, Outcome::Failure);
            ctx.stamp(&mut e);
            e.folder_id = Some(folder);
            e.detail = Some(format!(
                "{} needs permission {} and the user holds {}",
                operation.as_str(),
                needed.0,
                held.0
            ));
            self.audit_refused(ctx, e).await?;
            return Err(Error::NotPermitted("missing folder permission"));
        }
        Ok(held)
    }

    /// `GetFolderPermissionList`: every grant on a folder. Needs Manage.
    pub async fn folder_permission_list(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
    ) -> Result<Vec<Grant>> {
        self.require(
            ctx,
            folder,
            Permissions::MANAGE,
            Operation::PermissionsChanged,
        )
        .await?;
        Ok(self.store.grants(folder).await?)
    }

    /// `SetFolderPermissionList`: replaces every grant on a folder, and optionally whether it
    /// inherits its parent's grants. Needs Manage, and nobody grants a bit they do not hold.
    pub async fn set_folder_permission_list(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
        items: &[GrantRequest],
        inherit: Option<bool>,
    ) -> Result<Vec<Grant>> {
        until_settled(|| self.set_permissions_attempt(ctx, folder, items, inherit)).await?;
        Ok(self.store.grants(folder).await?)
    }

    /// One try of [`Service::set_folder_permission_list`]: [`Attempt::Raced`] when the caller
    /// no longer holds, as the change finds them, what its checks found (a grant taken away in
    /// between), so that the checks run again and refuse, audited.
    async fn set_permissions_attempt(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
        items: &[GrantRequest],
        inherit: Option<bool>,
    ) -> Result<Attempt<()>> {
        let held = self
            .require(
                ctx,
                folder,
                Permissions::MANAGE,
                Operation::PermissionsChanged,
            )
            .await?;
        let mut grants = Vec::with_capacity(items.len());
        for item in items {
            let permission = Permissions(item.permission);
            if !permission.is_valid() {
                return Err(Error::invalid(
                    "Permission must combine the bits 1 to 128 (0 to 255)",
                ));
            }
            let grantee = match (item.user_id, item.group_id) {
                (u, -1) if u > 0 => {
                    self.store.user_by_id(u).await?.ok_or(Error::UserNotFound)?;
                    Grantee::User(u)
                }
                (-1, g) if g > 0 => {
                    self.store.group(g).await?.ok_or(Error::GroupNotFound)?;
                    Grantee::Group(g)
                }
                _ => {
                    return Err(Error::invalid(
                        "each permission item names a UserID or a UserGroupID, the other being -1",
                    ));
                }
            };
            if !held.contains(permission) {
                let detail = format!("tried to grant permission {}", permission.0);
                return Err(self.refuse_grant(ctx, folder, held, detail, false).await?);
            }
            grants.push(Grant {
                id: 0,
                folder_id: folder,
                permission,
                grantee,
            });
        }
        // Turning inheritance on hands every grantee above the folder their bits on it, so it
        // is a grant of those bits too, and nobody grants what they do not hold.
        let inherited = self
            .store
            .folder(folder)
            .await?
            .map(|f| f.inherit_permissions);
        let passed = match (inherit, inherited) {
            (Some(true), Some(false)) => self.granted_above(folder).await?,
            _ => Permissions::NONE,
        };
        if !held.contains(passed) {
            let detail = format!("tried to inherit permission {} from above", passed.0);
            return Err(self.refuse_grant(ctx, folder, held, detail, true).await?);
        }
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        // Written on the checks' reads, this list would undo a revocation of the caller's own
        // Manage (the list names them again) committed a moment before.
        caller_unchanged(&mut tx, ctx).await?;
        let needed = grants
            .iter()
            .fold(Permissions::MANAGE.union(passed), |all, g| {
                all.union(g.permission)
            });
        let chain = tx.permission_chain(folder, ctx.user.id).await?;
        if !Self::effective_on_chain(ctx, &chain).is_ok_and(|now| now.contains(needed)) {
            return Ok(Attempt::Raced);
        }
        let mut current = tx
            .folder(folder)
            .await?
            .filter(|f| !f.deleted)
            .ok_or(Error::FolderNotFound)?;
        if Some(current.inherit_permissions) != inherited {
            return Ok(Attempt::Raced);
        }
        tx.replace_grants(folder, &grants).await?;
        if let Some(inherit) = inherit {
            current.inherit_permissions = inherit;
            current.modified_at = now;
            current.modified_by = Some(ctx.user.id);
            tx.update_folder(&current).await?;
        }
        let mut e = AuditEntry::new(Operation::PermissionsChanged, Outcome::Success);
        ctx.stamp(&mut e);
        e.folder_id = Some(folder);
        e.detail = Some(describe(&grants, inherit));
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(Attempt::Done(()))
    }

    /// The refusal, audited, of a grant of bits the caller does not hold (`detail` says what
    /// was tried), directly or `by_inheritance`.
    async fn refuse_grant(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
        held: Permissions,
        detail: String,
        by_inheritance: bool,
    ) -> Result<Error> {
        let mut e = AuditEntry::new(Operation::AccessDenied, Outcome::Failure);
        ctx.stamp(&mut e);
        e.folder_id = Some(folder);
        e.detail = Some(format!("{detail} while holding {}", held.0));
        self.audit_refused(ctx, e).await?;
        Ok(Error::NotPermitted(match by_inheritance {
            false => "nobody can grant a permission they do not hold",
            true => "nobody can grant a permission they do not hold, by inheritance either",
        }))
    }

    /// Every bit granted, to anyone, on the folders whose grants `folder` would take if it
    /// inherited: its parent and up, to the first that does not inherit.
    async fn granted_above(&self, folder: FolderId) -> Result<Permissions> {
        let mut bits = Permissions::NONE;
        let mut next = self.store.folder(folder).await?.and_then(|f| f.parent_id);
        while let Some(id) = next {
            let Some(above) = self.store.folder(id).await? else {
                break;
            };
            for grant in self.store.grants(id).await? {
                bits = bits.union(grant.permission);
            }
            next = above.parent_id.filter(|_| above.inherit_permissions);
        }
        Ok(bits)
    }
}

fn describe(grants: &[Grant], inherit: Option<bool>) -> String {
    let mut parts: Vec<String> = grants
        .iter()
        .map(|g| match g.grantee {
            Grantee::User(u) => format!("user {u}: {}", g.permission.0),
            Grantee::Group(gr) => format!("group {gr}: {}", g.permission.0),
        })
        .collect();
    if let Some(i) = inherit {
        parts.push(format!("inherit: {i}"));
    }
    parts.join("; ")
}
