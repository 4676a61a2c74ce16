//! Where SFTP and FTPS sessions start: the folder an administrator chose for the user
//! (`ferry user start-folder`), else the user's home folder, so that `put x.txt`, `scp x
//! host:` and clients that give no path land somewhere writable, as on OpenSSH and SFTPGo.

use super::recheck::target_in_change;
use super::{Actor, Service, SessionContext, TreeNode};
use crate::domain::folder::ROOT_FOLDER;
use crate::domain::{AuditEntry, FolderId, Operation, Outcome};
use crate::error::{Error, Result};
use crate::service::path_names;
use crate::text;

/// Deepest folder chain followed from a start folder up to the root.
const MAX_DEPTH: usize = 64;

impl Service {
    /// Where an SFTP or FTPS session starts, as a tree path: the folder chosen for the user if
    /// they can still reach it through the tree, else their home folder (`/Home/ann`, made on
    /// first use as `GetHomeFolder` does), else `/`.
    pub async fn tree_start(&self, ctx: &SessionContext) -> String {
        if let Ok(Some(chosen)) = self.store.start_folder(ctx.user.id).await
            && let Some(path) = self.reachable_path(ctx, chosen).await
        {
            return path;
        }
        match self.home_folder(ctx).await {
            Ok(home) => self
                .reachable_path(ctx, home.folder.id)
                .await
                .unwrap_or_else(|| "/".into()),
            Err(_) => "/".into(),
        }
    }

    /// The tree path of folder `id`, if the caller reaches that folder by it (visible all the
    /// way down, live).
    async fn reachable_path(&self, ctx: &SessionContext, id: FolderId) -> Option<String> {
        let mut names = Vec::new();
        let mut next = self.store.folder(id).await.ok()??;
        // The folder's ancestors, up to the root (bounded: a damaged parent chain ends it).
        while let Some(parent) = next.parent_id {
            if names.len() > MAX_DEPTH || next.deleted {
                return None;
            }
            names.push(std::mem::take(&mut next.name));
            next = self.store.folder(parent).await.ok()??;
        }
        names.reverse();
        let path = format!("/{}", names.join("/"));
        match self.tree_resolve(ctx, &path).await {
            Ok(TreeNode::Folder(f)) if f.folder.id == id => Some(path),
            _ => None,
        }
    }

    /// `ferry user start-folder NAME [PATH]`: the folder at `path` (a tree path, followed by
    /// folder names from the root) becomes where the user's SFTP and FTPS sessions start;
    /// `None` goes back to the home folder. The user's permissions are not checked here: a
    /// folder they cannot reach when a session starts is passed over for their home folder.
    /// Administrators only; audited (`UserUpdated`). Returns the folder chosen.
    pub async fn set_start_folder(
        &self,
        actor: &Actor,
        user_name: &str,
        path: Option<&str>,
    ) -> Result<Option<FolderId>> {
        Self::require_admin(actor)?;
        let user = self.user_named(user_name).await?;
        let folder = match path {
            None => None,
            Some(path) => Some(self.folder_at(path).await?),
        };
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        target_in_change(&mut tx, actor, user.id).await?;
        tx.set_start_folder(user.id, folder).await?;
        let mut e = AuditEntry::new(Operation::UserUpdated, Outcome::Success);
        actor.stamp(&mut e);
        e.target_user_id = Some(user.id);
        e.folder_id = folder;
        e.path = Some(user.name.clone());
        e.detail = Some(match (folder, path) {
            (Some(id), Some(path)) => format!("start folder {path} (folder {id})"),
            _ => "start folder: the home folder".into(),
        });
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(folder)
    }

    /// The live folder a tree path names, followed by names from the root without regard to
    /// anyone's permissions (for administrators).
    async fn folder_at(&self, path: &str) -> Result<FolderId> {
        let mut keys = Vec::new();
        for name in path_names(path)? {
            keys.push(text::item_name("path", &name)?.1);
        }
        // One walk down the path (each name an index probe), not every child of every folder
        // on it.
        let found = self.store.folder_path(ROOT_FOLDER, &keys, 0).await?;
        if found.len() < keys.len() {
            return Err(Error::FolderNotFound);
        }
        Ok(found.last().map_or(ROOT_FOLDER, |(f, _)| f.id))
    }
}
