//! The folder tree: the root, home folders, drop boxes, creating, listing, renaming, moving and
//! deleting folders (their metadata: `metadata.rs`). Every change is audited; every read and change checks
//! the caller's permission bits (see `permissions.rs`).

use super::change_races::{Attempt, until_settled};
use super::folder_depth;
use super::{FolderPages, Service, SessionContext};
use crate::domain::folder::{HOME_ROOT_FOLDER, ROOT_FOLDER};
use crate::domain::{
    AuditEntry, ChainLink, Folder, FolderId, FolderType, Grant, Grantee, Operation, Outcome,
    Permissions, User,
};
use crate::error::{Error, Result};
use crate::store::StoreTx;
use crate::text;

/// Most child folders `GetFolders` answers at once without `skip` and `take`.
pub const MAX_WHOLE_FOLDERS: usize = 10_000;

/// A folder with the bits the caller holds on it (`FTHFolderData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderView {
    /// The folder.
    pub folder: Folder,
    /// `EffectivePermission` for the caller.
    pub effective: Permissions,
    /// The bits held by grant, which its inheriting children add to their own: `effective`
    /// without the Show everyone has on a navigation folder in the tree. That Show lets
    /// everyone see `/Shared`, not what is in it: passed down, it showed every folder below
    /// `/Shared` to every user over SFTP, FTPS and the web client.
    held: Permissions,
}

impl FolderView {
    /// A folder with the bits held on it by grant.
    pub(crate) fn new(folder: Folder, held: Permissions) -> FolderView {
        FolderView {
            folder,
            effective: held,
            held,
        }
    }

    /// A navigation folder as the tree shows it: seen by everyone, `held` passed down.
    pub(crate) fn navigation(folder: Folder, held: Permissions) -> FolderView {
        FolderView {
            effective: held.union(Permissions::SHOW),
            ..FolderView::new(folder, held)
        }
    }

    /// What the folder's inheriting children add to their own grants.
    pub fn passed_down(&self) -> Permissions {
        self.held
    }
}

/// Every bit on `folder` for its owner (homes and drop boxes).
fn owner_grant(folder: FolderId, user: i64) -> Grant {
    Grant {
        id: 0,
        folder_id: folder,
        permission: Permissions::ALL,
        grantee: Grantee::User(user),
    }
}

impl Service {
    /// Creates `user`'s home folder inside an open change (full rights for the user, nothing
    /// inherited from above) and records it on the user.
    pub(crate) async fn create_home(
        &self,
        tx: &mut Box<dyn StoreTx>,
        user: &mut User,
        by: Option<i64>,
    ) -> Result<FolderId> {
        let now = self.clock.now();
        let (name, _) = text::item_name("name", &user.name)?;
        let id = tx
            .insert_folder(&Folder {
                id: 0,
                parent_id: Some(HOME_ROOT_FOLDER),
                name: name.clone(),
                folder_type: FolderType::UserHome,
                description: String::new(),
                inherit_permissions: false,
                owner_user_id: Some(user.id),
                created_at: now,
                modified_at: now,
                created_by: by,
                modified_by: by,
                deleted: false,
            })
            .await?;
        tx.replace_grants(id, &[owner_grant(id, user.id)]).await?;
        user.home_folder_id = Some(id);
        tx.update_user(user).await?;
        let mut e = AuditEntry::new(Operation::FolderCreated, Outcome::Success);
        e.user_id = by;
        e.target_user_id = Some(user.id);
        e.folder_id = Some(id);
        e.path = Some(name);
        e.detail = Some("home folder".into());
        tx.append_audit(now, e).await?;
        Ok(id)
    }

    async fn view(
        &self,
        ctx: &SessionContext,
        id: FolderId,
        needed: Permissions,
    ) -> Result<FolderView> {
        let effective = self
            .require(ctx, id, needed, Operation::AccessDenied)
            .await?;
        let folder = self.store.folder(id).await?.ok_or(Error::FolderNotFound)?;
        Ok(FolderView::new(folder, effective))
    }

    /// `GetFolder`. Needs Show.
    pub async fn folder(&self, ctx: &SessionContext, id: FolderId) -> Result<FolderView> {
        self.view(ctx, id, Permissions::SHOW).await
    }

    /// `GetRootFolder`: the top of the tree (its effective bits may be none but Show for users
    /// who only have grants further down).
    pub async fn root_folder(&self, ctx: &SessionContext) -> Result<FolderView> {
        Ok(self.root_and_path(ctx, &[]).await?.0)
    }

    /// The root folder's view and the live folders the name keys `keys` lead to below it, as
    /// far as they exist, each with the bits granted on it to the caller: one store read
    /// (`MetadataStore::folder_path_from`).
    pub(super) async fn root_and_path(
        &self,
        ctx: &SessionContext,
        keys: &[String],
    ) -> Result<(FolderView, std::vec::IntoIter<(Folder, Permissions)>)> {
        let mut found = self
            .store
            .folder_path_from(ROOT_FOLDER, keys, ctx.user.id)
            .await?
            .into_iter();
        let (folder, granted) = found
            .next()
            .ok_or_else(|| Error::Internal("the root folder is missing".into()))?;
        // The root's whole permission chain is the root: it has no parent.
        let link = ChainLink {
            folder_id: folder.id,
            deleted: folder.deleted,
            inherit_permissions: folder.inherit_permissions,
            granted,
        };
        let held = Self::effective_on_chain(ctx, &[link])?;
        Ok((FolderView::navigation(folder, held), found))
    }

    /// `GetHomeFolder`: the caller's home, created on first use for users who have none.
    pub async fn home_folder(&self, ctx: &SessionContext) -> Result<FolderView> {
        if let Some(id) = ctx.user.home_folder_id
            && let Ok(view) = self.folder(ctx, id).await
        {
            return Ok(view);
        }
        let mut tx = self.store.begin().await?;
        let mut user = tx
            .user_by_id(ctx.user.id)
            .await?
            .ok_or(Error::UserNotFound)?;
        let id = match user.home_folder_id {
            Some(id) if tx.folder(id).await?.is_some_and(|f| !f.deleted) => id,
            _ => {
                self.create_home(&mut tx, &mut user, Some(ctx.user.id))
                    .await?
            }
        };
        tx.commit().await?;
        self.folder(ctx, id).await
    }

    /// `GetFolders`: the child folders the caller may see, by name, from the first or from
    /// the first whose name follows `after`. Needs Show on the parent. With `page` (skip,
    /// take), that page of them; without, all of them, refused when there are more than
    /// [`MAX_WHOLE_FOLDERS`]. Read a keyset page at a time either way, so the answer is all
    /// that is held: 20 slow `GetFolders` of a folder of 100,000 subfolders, each answered
    /// whole, held 2.1 GB. `skip` reads the folders it skips (which of them the caller sees
    /// is decided one by one); `after` does not, so a client paging through a large folder
    /// passes the last name it has.
    pub async fn child_folders(
        &self,
        ctx: &SessionContext,
        parent: FolderId,
        after: Option<&str>,
        page: Option<(i64, i64)>,
    ) -> Result<Vec<FolderView>> {
        self.require(ctx, parent, Permissions::SHOW, Operation::AccessDenied)
            .await?;
        let (skip, limit) = match page {
            Some((skip, take)) => (skip.max(0) as usize, take.max(0) as usize),
            None => (0, MAX_WHOLE_FOLDERS),
        };
        let mut pages = FolderPages::of(parent);
        if let Some(name) = after {
            pages = pages.after_name(name);
        }
        let (found, more) = pages.window(self, ctx, skip, limit).await?;
        if page.is_none() && more {
            return Err(Error::invalid(format!(
                "the folder holds more than {MAX_WHOLE_FOLDERS} child folders you may see: \
                 ask for them a page at a time with skip and take"
            )));
        }
        Ok(found)
    }

    /// `CreateFolder`. Needs Create on the parent. A drop box (`FolderType` 4) does not inherit
    /// its parent's grants: its creator holds every bit and others only what is granted later.
    /// So making one grants every bit and cuts off what the parent passes down, and needs
    /// every bit on the parent (their own home, for a member).
    pub async fn create_folder(
        &self,
        ctx: &SessionContext,
        parent: FolderId,
        name: &str,
        folder_type: FolderType,
    ) -> Result<FolderView> {
        self.create_described_folder(ctx, parent, name, folder_type, "")
            .await
    }

    /// [`Service::create_folder`] with its `Description` in the same change (REST's creation
    /// of a folder): a description also needs Modify on the parent, which the new folder
    /// inherits (what setting it afterwards would need), and is recorded as the folder's
    /// metadata change. Refused, nothing is made.
    pub async fn create_described_folder(
        &self,
        ctx: &SessionContext,
        parent: FolderId,
        name: &str,
        folder_type: FolderType,
        description: &str,
    ) -> Result<FolderView> {
        let (name, _) = text::item_name("name", name)?;
        text::plain("Description", description, super::MAX_METADATA_VALUE)?;
        if !matches!(folder_type, FolderType::Regular | FolderType::UserDropBox) {
            return Err(Error::invalid(
                "folderType must be 0 (regular) or 4 (drop box)",
            ));
        }
        let drop_box = folder_type == FolderType::UserDropBox;
        let needed = match (drop_box, description.is_empty()) {
            (true, _) => Permissions::ALL,
            (false, true) => Permissions::CREATE,
            (false, false) => Permissions::CREATE.union(Permissions::MODIFY),
        };
        self.require(ctx, parent, needed, Operation::FolderCreated)
            .await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        folder_depth::fits_under(tx.as_mut(), parent, 0).await?;
        let id = tx
            .insert_folder(&Folder {
                id: 0,
                parent_id: Some(parent),
                name: name.clone(),
                folder_type,
                description: description.to_string(),
                inherit_permissions: !drop_box,
                owner_user_id: drop_box.then_some(ctx.user.id),
                created_at: now,
                modified_at: now,
                created_by: Some(ctx.user.id),
                modified_by: Some(ctx.user.id),
                deleted: false,
            })
            .await?;
        if drop_box {
            tx.replace_grants(id, &[owner_grant(id, ctx.user.id)])
                .await?;
        }
        let mut e = AuditEntry::new(Operation::FolderCreated, Outcome::Success);
        ctx.stamp(&mut e);
        e.folder_id = Some(id);
        e.path = Some(name);
        tx.append_audit(now, e).await?;
        if !description.is_empty() {
            let mut e = AuditEntry::new(Operation::FolderMetadataChanged, Outcome::Success);
            ctx.stamp(&mut e);
            e.folder_id = Some(id);
            e.path = Some("Description".into());
            tx.append_audit(now, e).await?;
        }
        tx.commit().await?;
        self.folder(ctx, id).await
    }

    /// Loads a folder that may be changed: live, and not one of the system's own.
    pub(super) async fn changeable(&self, id: FolderId, what: &'static str) -> Result<Folder> {
        let folder = self.store.folder(id).await?;
        changeable(folder, what)
    }

    /// `RenameFolder`. Needs Modify; the root, the home root, the shared root and home folders
    /// cannot be renamed.
    pub async fn rename_folder(
        &self,
        ctx: &SessionContext,
        id: FolderId,
        name: &str,
    ) -> Result<FolderView> {
        self.place_folder(ctx, id, None, Some(name)).await?;
        self.folder(ctx, id).await
    }

    /// `MoveFolder`. Needs Read, Download, Modify and Delete on the folder
    /// ([`Permissions::MOVE_AWAY`]) and Create on the new parent; a folder cannot move into
    /// itself or below itself, nor into a folder deleted meanwhile.
    pub async fn move_folder(
        &self,
        ctx: &SessionContext,
        id: FolderId,
        new_parent: FolderId,
    ) -> Result<FolderView> {
        self.place_folder(ctx, id, Some(new_parent), None).await?;
        self.folder(ctx, id).await
    }

    /// Moves a folder under `new_parent` and/or renames it to `name` in one change (REST's
    /// update of a folder): each needs what `MoveFolder` and `RenameFolder` need, and a
    /// refusal of either leaves the folder as it was.
    pub async fn relocate_folder(
        &self,
        ctx: &SessionContext,
        id: FolderId,
        new_parent: Option<FolderId>,
        name: Option<&str>,
    ) -> Result<FolderView> {
        if new_parent.is_some() || name.is_some() {
            self.place_folder(ctx, id, new_parent, name).await?;
        }
        self.folder(ctx, id).await
    }

    /// Moves a folder under `new_parent` and/or renames it to `name`, in one change with a
    /// record for each (`FolderMoved`, then `FolderRenamed`): a rename refused where the folder
    /// goes leaves it where it was (SFTP's and FTP's renames do both at once).
    pub(super) async fn place_folder(
        &self,
        ctx: &SessionContext,
        id: FolderId,
        new_parent: Option<FolderId>,
        name: Option<&str>,
    ) -> Result<()> {
        let name = text::new_item_name("name", name)?;
        let name = name.as_ref();
        let (operation, refusal) = match new_parent {
            Some(_) => (
                Operation::FolderMoved,
                "system and home folders cannot be moved",
            ),
            None => (
                Operation::FolderRenamed,
                "system and home folders cannot be renamed",
            ),
        };
        until_settled(|| async move {
            // Read before the checks, which depend on whether it leaves its parent; refused as
            // a system folder only after them, so that a folder the caller cannot see stays
            // "not found".
            let seen = self.store.folder(id).await?;
            let away =
                new_parent.is_some_and(|to| seen.as_ref().is_some_and(|f| f.parent_id != Some(to)));
            let needed = match away {
                true => Permissions::MOVE_AWAY,
                false => Permissions::MODIFY,
            };
            self.require(ctx, id, needed, operation).await?;
            if let Some(to) = new_parent {
                self.require(ctx, to, Permissions::CREATE, Operation::FolderMoved)
                    .await?;
            }
            let seen = changeable(seen, refusal)?;
            let mut tx = self.store.begin().await?;
            let Attempt::Done(mut folder) = folder_as_checked(&mut tx, &seen).await? else {
                tx.rollback().await;
                return Ok(Attempt::Raced);
            };
            let unheld = match away {
                true => unheld_below(ctx, &mut tx, id).await?,
                false => 0,
            };
            if unheld > 0 {
                tx.rollback().await;
                return Err(self.refuse_unheld_below(ctx, id, unheld, operation).await?);
            }
            let mut records = Vec::new();
            if let Some(to) = new_parent {
                if tx.folder_ancestry(to).await?.contains(&id) {
                    return Err(Error::invalid(
                        "a folder cannot be moved into itself or one of its subfolders",
                    ));
                }
                if tx.folder(to).await?.is_none_or(|p| p.deleted) {
                    return Err(Error::FolderNotFound);
                }
                if away {
                    let height = tx.folder_height(id).await?;
                    folder_depth::fits_under(tx.as_mut(), to, height).await?;
                }
                let from = folder.parent_id.replace(to).unwrap_or_default();
                let detail = format!("from folder {from} to folder {to}");
                records.push((Operation::FolderMoved, detail));
            }
            if let Some(name) = name {
                let old = std::mem::replace(&mut folder.name, name.clone());
                records.push((Operation::FolderRenamed, format!("{old} -> {name}")));
            }
            self.save_folder_change(ctx, tx, folder, records)
                .await
                .map(Attempt::Done)
        })
        .await
    }

    /// The refusal, audited, of a deletion or a move of folder `id` that would take with it
    /// `unheld` folders the caller may not delete ([`unheld_below`]), once its change is over.
    pub(super) async fn refuse_unheld_below(
        &self,
        ctx: &SessionContext,
        id: FolderId,
        unheld: i64,
        operation: Operation,
    ) -> Result<Error> {
        let mut e = AuditEntry::new(Operation::AccessDenied, Outcome::Failure);
        ctx.stamp(&mut e);
        e.folder_id = Some(id);
        e.detail = Some(format!(
            "{} would take {unheld} folder(s) below that do not inherit and give the user no Delete",
            operation.as_str()
        ));
        self.audit_refused(ctx, e).await?;
        Ok(Error::NotPermitted(
            "a folder below it does not inherit and is not yours to delete",
        ))
    }

    /// Writes `folder` (as read inside `tx`, with the change made) and its audit `records`
    /// (what was done, and its detail), and commits.
    pub(super) async fn save_folder_change(
        &self,
        ctx: &SessionContext,
        mut tx: Box<dyn StoreTx>,
        mut folder: Folder,
        records: Vec<(Operation, String)>,
    ) -> Result<()> {
        let now = self.clock.now();
        folder.modified_at = now;
        folder.modified_by = Some(ctx.user.id);
        tx.update_folder(&folder).await?;
        for (operation, detail) in records {
            let mut e = AuditEntry::new(operation, Outcome::Success);
            ctx.stamp(&mut e);
            e.folder_id = Some(folder.id);
            e.path = Some(folder.name.clone());
            e.detail = Some(detail);
            tx.append_audit(now, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The folder as `tx` finds it, if it is still live and under the parent its checks saw
/// (`seen`); [`Attempt::Raced`] if another change moved it meanwhile (`change_races.rs`).
pub(super) async fn folder_as_checked(
    tx: &mut Box<dyn StoreTx>,
    seen: &Folder,
) -> Result<Attempt<Folder>> {
    match tx.folder(seen.id).await? {
        Some(folder) if folder.deleted => Err(Error::FolderNotFound),
        Some(folder) if folder.parent_id == seen.parent_id => Ok(Attempt::Done(folder)),
        Some(_) => Ok(Attempt::Raced),
        None => Err(Error::FolderNotFound),
    }
}

/// A child folder as its viewer sees it, given the bits granted on it and those held on its
/// parent (which an inheriting child adds: [`FolderView::passed_down`], never the Show of a
/// navigation folder), if they may see it (Show). With `navigation`, the tree's navigation
/// folders (`Home`, `Shared`) count as visible to everyone, holding Show. Administrators hold
/// every bit.
pub(crate) fn child_view(
    admin: bool,
    folder: Folder,
    granted: Permissions,
    inherited: Permissions,
    navigation: bool,
) -> Option<FolderView> {
    let held = if admin {
        Permissions::ALL
    } else if folder.inherit_permissions {
        granted.union(inherited)
    } else {
        granted
    };
    let view = if navigation
        && matches!(
            folder.folder_type,
            FolderType::Root | FolderType::HomeRoot | FolderType::FolderRoot
        ) {
        FolderView::navigation(folder, held)
    } else {
        FolderView::new(folder, held)
    };
    view.effective.contains(Permissions::SHOW).then_some(view)
}

/// `folder` if it may be changed: live, and not one of the system's own (refused with `what`).
fn changeable(folder: Option<Folder>, what: &'static str) -> Result<Folder> {
    let folder = folder.ok_or(Error::FolderNotFound)?;
    if folder.folder_type.is_structural() {
        return Err(Error::NotPermitted(what));
    }
    Ok(folder)
}

/// How many folders a deletion or a move of folder `id` would take with it, as `tx` finds
/// them, that do not inherit and give the caller no Delete: their own grants put them out of
/// the caller's reach, whatever the caller holds on `id` (they may not even see them). Those
/// that inherit hold at least the caller's bits on `id`. None for an administrator.
pub(super) async fn unheld_below(
    ctx: &SessionContext,
    tx: &mut Box<dyn StoreTx>,
    id: FolderId,
) -> Result<i64> {
    if ctx.user.role.may_impersonate() {
        return Ok(0);
    }
    Ok(tx
        .unheld_folders_below(id, ctx.user.id, Permissions::DELETE)
        .await?)
}
