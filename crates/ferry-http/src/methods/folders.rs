//! Folder, group and permission methods of the file system (issue: File system). Which bit
//! each needs is enforced by the Service and listed in ARCHITECTURE.md.

use ferry_core::Error;
use ferry_core::domain::FolderType;
use serde_json::json;

use super::{Method, Param, ParamType, Returns, SESSION_ID, SKIP, TAKE, page, session};
use crate::wire::{FthFolderData, FthPermissionListItemData, FthUserGroupData};

const FOLDER_ID: Param = Param::required("folderID", ParamType::Integer, "A folder's ID.");
const NAME: Param = Param::required(
    "name",
    ParamType::ItemName,
    "A folder name: at most 255 bytes; no / \\ NUL or control characters; not . or ..; no leading or trailing space, no trailing dot.",
);
const GROUP_ID: Param = Param::required("userGroupID", ParamType::Integer, "A user group's ID.");
const USER_ID: Param = Param::required("userID", ParamType::Integer, "A user's ID.");

/// The folder, group and permission methods.
pub static METHODS: &[Method] = &[
    Method {
        name: "GetRootFolder",
        summary: "The top of the folder tree.",
        params: &[SESSION_ID],
        returns: Returns::One("FTHFolderData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                Ok(Some(json!(FthFolderData::from(
                    svc.root_folder(&ctx).await?
                ))))
            })
        },
    },
    Method {
        name: "GetHomeFolder",
        summary: "The caller's home folder (created on first use).",
        params: &[SESSION_ID],
        returns: Returns::One("FTHFolderData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                Ok(Some(json!(FthFolderData::from(
                    svc.home_folder(&ctx).await?
                ))))
            })
        },
    },
    Method {
        name: "GetFolder",
        summary: "One folder. Needs Show.",
        params: &[SESSION_ID, FOLDER_ID],
        returns: Returns::One("FTHFolderData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let view = svc.folder(&ctx, a.int("folderID")?).await?;
                Ok(Some(json!(FthFolderData::from(view))))
            })
        },
    },
    Method {
        name: "GetFolders",
        summary: "The child folders of a folder that the caller may see (Show), by name. Without skip, take and afterName, all of them, refused (400) above 10,000; with any of them, one page.",
        params: &[
            SESSION_ID,
            FOLDER_ID,
            SKIP,
            TAKE,
            Param::optional(
                "afterName",
                ParamType::Text {
                    required: false,
                    max: ferry_core::text::MAX_ITEM_NAME_BYTES,
                },
                "Only the folders whose names follow this one (the last name of the page before): a page deep in a large folder without reading the folders before it, as skip does.",
            ),
        ],
        returns: Returns::Many("FTHFolderData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let after = a.opt_string("afterName");
                let page = page(&a).or(after.is_some().then_some((0, 100)));
                let children = svc
                    .child_folders(&ctx, a.int("folderID")?, after.as_deref(), page)
                    .await?;
                let list: Vec<FthFolderData> = children.into_iter().map(Into::into).collect();
                Ok(Some(json!(list)))
            })
        },
    },
    Method {
        name: "CreateFolder",
        summary: "Creates a folder. Needs Create on the parent. folderType 4 makes a drop box, which does not inherit the parent's grants and gives its creator every bit: it needs every bit on the parent (a member's own home).",
        params: &[
            SESSION_ID,
            Param::required(
                "parentFolderID",
                ParamType::Integer,
                "The parent folder's ID.",
            ),
            NAME,
            Param::optional(
                "folderType",
                ParamType::Choice(&[0, 4]),
                "0 regular (default) or 4 drop box.",
            ),
        ],
        returns: Returns::One("FTHFolderData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let folder_type = match a.opt_int("folderType") {
                    None => FolderType::Regular,
                    Some(code) => FolderType::from_code(code)
                        .ok_or_else(|| Error::invalid("folderType must be 0 or 4"))?,
                };
                let view = svc
                    .create_folder(
                        &ctx,
                        a.int("parentFolderID")?,
                        &a.string("name"),
                        folder_type,
                    )
                    .await?;
                Ok(Some(json!(FthFolderData::from(view))))
            })
        },
    },
    Method {
        name: "RenameFolder",
        summary: "Renames a folder. Needs Modify; system and home folders cannot be renamed.",
        params: &[SESSION_ID, FOLDER_ID, NAME],
        returns: Returns::One("FTHFolderData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let view = svc
                    .rename_folder(&ctx, a.int("folderID")?, &a.string("name"))
                    .await?;
                Ok(Some(json!(FthFolderData::from(view))))
            })
        },
    },
    Method {
        name: "MoveFolder",
        summary: "Moves a folder under another. Needs Read, Download, Modify and Delete on it, Delete on every folder below it that does not inherit, and Create on the new parent; never into itself or below itself.",
        params: &[
            SESSION_ID,
            FOLDER_ID,
            Param::required(
                "newParentFolderID",
                ParamType::Integer,
                "The new parent folder's ID.",
            ),
        ],
        returns: Returns::One("FTHFolderData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let view = svc
                    .move_folder(&ctx, a.int("folderID")?, a.int("newParentFolderID")?)
                    .await?;
                Ok(Some(json!(FthFolderData::from(view))))
            })
        },
    },
    Method {
        name: "DeleteFolder",
        summary: "Deletes a folder and everything below it (soft delete). Needs Delete on it and on every folder below it that does not inherit; system and home folders cannot be deleted.",
        params: &[SESSION_ID, FOLDER_ID],
        returns: Returns::Nothing,
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                svc.delete_folder(&ctx, a.int("folderID")?).await?;
                Ok(None)
            })
        },
    },
    Method {
        name: "GetFolderPermissionList",
        summary: "Every grant on a folder. Needs Manage.",
        params: &[SESSION_ID, FOLDER_ID],
        returns: Returns::Many("FTHPermissionListItemData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let grants = svc.folder_permission_list(&ctx, a.int("folderID")?).await?;
                let list: Vec<FthPermissionListItemData> =
                    grants.into_iter().map(Into::into).collect();
                Ok(Some(json!(list)))
            })
        },
    },
    Method {
        name: "SetFolderPermissionList",
        summary: "Replaces every grant on a folder (and optionally whether it inherits its parent's). Needs Manage; nobody can grant a bit they do not hold.",
        params: &[
            SESSION_ID,
            FOLDER_ID,
            Param::required(
                "permissionList",
                ParamType::PermissionList,
                "The new grants: Permission bits (Show 1, Read 2, Create 4, Download 8, Distribute 16, Manage 32, Modify 64, Delete 128) for a UserID or a UserGroupID, the other -1.",
            ),
            Param::optional(
                "inheritPermissions",
                ParamType::Boolean,
                "Whether the folder also gets its parent's grants; unchanged if absent.",
            ),
        ],
        returns: Returns::Many("FTHPermissionListItemData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let items = a.permission_list("permissionList")?;
                let grants = svc
                    .set_folder_permission_list(
                        &ctx,
                        a.int("folderID")?,
                        &items,
                        a.opt_bool("inheritPermissions"),
                    )
                    .await?;
                let list: Vec<FthPermissionListItemData> =
                    grants.into_iter().map(Into::into).collect();
                Ok(Some(json!(list)))
            })
        },
    },
    Method {
        name: "CreateUserGroup",
        summary: "Creates a user group. Managers and Administrators.",
        params: &[
            SESSION_ID,
            Param::required(
                "name",
                ParamType::Name {
                    max: ferry_core::text::MAX_GROUP_NAME,
                },
                "The group's name, unique case-insensitively.",
            ),
        ],
        returns: Returns::One("FTHUserGroupData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let group = svc.create_user_group(&ctx, &a.string("name")).await?;
                Ok(Some(json!(FthUserGroupData::from(group))))
            })
        },
    },
    Method {
        name: "AddUserToGroup",
        summary: "Adds a user to a group. Managers and Administrators.",
        params: &[SESSION_ID, GROUP_ID, USER_ID],
        returns: Returns::Nothing,
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                svc.change_group_membership(&ctx, a.int("userGroupID")?, a.int("userID")?, true)
                    .await?;
                Ok(None)
            })
        },
    },
    Method {
        name: "RemoveUserFromGroup",
        summary: "Removes a user from a group. Managers and Administrators.",
        params: &[SESSION_ID, GROUP_ID, USER_ID],
        returns: Returns::Nothing,
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                svc.change_group_membership(&ctx, a.int("userGroupID")?, a.int("userID")?, false)
                    .await?;
                Ok(None)
            })
        },
    },
    Method {
        name: "GetUserGroups",
        summary: "Every group (Managers and Administrators) or the caller's own groups.",
        params: &[SESSION_ID],
        returns: Returns::Many("FTHUserGroupData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let groups = svc.user_groups(&ctx).await?;
                let list: Vec<FthUserGroupData> = groups.into_iter().map(Into::into).collect();
                Ok(Some(json!(list)))
            })
        },
    },
];
