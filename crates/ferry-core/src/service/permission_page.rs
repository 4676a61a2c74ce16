//! The web client's permissions dialog (issue 17): a folder's grants with the names of the
//! users and groups they name, and the changes a person makes there (grant bits to a user or
//! group named by name, remove a grant, stop or resume inheriting). Each change is one
//! [`Service::set_folder_permission_list`] with the whole new list, so Manage, "nobody grants
//! a bit they do not hold" and the audit are the API's own.

use std::collections::HashMap;

use super::{FolderView, GrantRequest, Service, SessionContext};
use crate::domain::{Grant, Grantee, Operation, Permissions};
use crate::error::{Error, Result};
use crate::text;

/// A folder's grants as the dialog shows them.
#[derive(Debug, Clone)]
pub struct PermissionsPage {
    /// The folder, with the caller's bits on it.
    pub folder: FolderView,
    /// Its grants, each with its grantee's name.
    pub grants: Vec<(Grant, String)>,
}

/// Who a grant is for, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GranteeName {
    /// A user's login name.
    User(String),
    /// A group's name.
    Group(String),
}

impl Service {
    /// The folder's grants with names: needs Manage.
    pub async fn permissions_page(
        &self,
        ctx: &SessionContext,
        folder: crate::domain::FolderId,
    ) -> Result<PermissionsPage> {
        let grants = self.folder_permission_list(ctx, folder).await?;
        let view = self.folder(ctx, folder).await?;
        let groups: HashMap<i64, String> = self
            .store
            .groups()
            .await?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect();
        let mut named = Vec::with_capacity(grants.len());
        for g in grants {
            let name = match g.grantee {
                Grantee::User(u) => self
                    .store
                    .user_by_id(u)
                    .await?
                    .map_or_else(|| format!("user {u}"), |u| u.name),
                Grantee::Group(id) => groups
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("group {id}")),
            };
            named.push((g, name));
        }
        Ok(PermissionsPage {
            folder: view,
            grants: named,
        })
    }

    /// Gives `bits` to a user or group named by name on `folder` (replacing what that grantee
    /// had there); zero bits removes the grant.
    pub async fn set_grant_by_name(
        &self,
        ctx: &SessionContext,
        folder: crate::domain::FolderId,
        who: &GranteeName,
        bits: Permissions,
    ) -> Result<Vec<Grant>> {
        let grantee = match who {
            GranteeName::User(name) => {
                text::required("userName", name, text::MAX_USER_NAME)?;
                // A name that is no account reads as any other refusal to find one.
                self.require(
                    ctx,
                    folder,
                    Permissions::MANAGE,
                    Operation::PermissionsChanged,
                )
                .await?;
                let user = self
                    .store
                    .user_by_name(name)
                    .await?
                    .filter(|u| !u.deleted)
                    .ok_or(Error::UserNotFound)?;
                Grantee::User(user.id)
            }
            GranteeName::Group(name) => {
                text::required("groupName", name, text::MAX_GROUP_NAME)?;
                self.require(
                    ctx,
                    folder,
                    Permissions::MANAGE,
                    Operation::PermissionsChanged,
                )
                .await?;
                let key = name.to_lowercase();
                let group = self
                    .store
                    .groups()
                    .await?
                    .into_iter()
                    .find(|g| g.name.to_lowercase() == key)
                    .ok_or(Error::GroupNotFound)?;
                Grantee::Group(group.id)
            }
        };
        let current = self.folder_permission_list(ctx, folder).await?;
        let mut items: Vec<GrantRequest> = current
            .iter()
            .filter(|g| g.grantee != grantee)
            .map(request_of)
            .collect();
        if bits.0 != 0 {
            items.push(request_of(&Grant {
                id: 0,
                folder_id: folder,
                permission: bits,
                grantee,
            }));
        }
        self.set_folder_permission_list(ctx, folder, &items, None)
            .await
    }

    /// Whether `folder` inherits its parent's grants, keeping its own.
    pub async fn set_inheritance(
        &self,
        ctx: &SessionContext,
        folder: crate::domain::FolderId,
        inherit: bool,
    ) -> Result<Vec<Grant>> {
        let items: Vec<GrantRequest> = self
            .folder_permission_list(ctx, folder)
            .await?
            .iter()
            .map(request_of)
            .collect();
        self.set_folder_permission_list(ctx, folder, &items, Some(inherit))
            .await
    }
}

fn request_of(g: &Grant) -> GrantRequest {
    let (user_id, group_id) = match g.grantee {
        Grantee::User(u) => (u, -1),
        Grantee::Group(id) => (-1, id),
    };
    GrantRequest {
        permission: g.permission.0,
        user_id,
        group_id,
    }
}
