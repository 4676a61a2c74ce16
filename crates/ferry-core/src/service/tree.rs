//! The folder tree as file-transfer protocols see it: paths like `/Home/ann/reports/q3.pdf`
//! resolved to folders and files, and directory listings. SFTP and FTPS use this one mapping,
//! so both show the same tree with the same permission bits as the JSON API.
//!
//! `/` is the root folder. The root, `Home` and `Shared` are *navigation folders*: everyone may
//! list them and pass through them, and a listing shows only the children the caller may see
//! (Show). Below them a folder must be visible to be listed or passed through, and files appear
//! where the caller holds Read. Paths are resolved lexically: `.` is skipped, `..` goes up
//! (never above `/`), empty components (`//`) are ignored. Names are compared as everywhere in
//! Ferry (Unicode NFC, case-insensitively); nothing here ever becomes an OS path.

use super::change_races::{Attempt, until_settled};
use super::folders::child_view;
use super::{FileView, FolderPages, FolderView, Service, SessionContext};
use crate::domain::{AuditEntry, File, Operation, Outcome, Permissions};
use crate::error::{Error, Result};
use crate::text;

/// Longest path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;

/// What a path names.
#[derive(Debug, Clone)]
pub enum TreeNode {
    /// A folder, with the caller's bits on it.
    Folder(FolderView),
    /// A file (current version), with the caller's bits on its folder.
    File(FileView),
}

/// Splits a path into its names, resolving `.`, `..` and empty components.
pub fn path_names(path: &str) -> Result<Vec<String>> {
    if path.len() > MAX_PATH_BYTES {
        return Err(Error::invalid(format!(
            "the path is longer than {MAX_PATH_BYTES} bytes"
        )));
    }
    if path.contains('\0') {
        return Err(Error::invalid("the path contains a NUL character"));
    }
    let mut names: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                names.pop();
            }
            name => names.push(name.to_string()),
        }
    }
    Ok(names)
}

impl Service {
    /// The visible child folder of `parent` with this name, if any.
    pub(super) async fn tree_child(
        &self,
        ctx: &SessionContext,
        parent: &FolderView,
        name: &str,
    ) -> Result<Option<FolderView>> {
        let key = match text::item_name("name", name) {
            Ok((_, key)) => key,
            // A name no item can have names nothing.
            Err(_) => return Ok(None),
        };
        let found = self
            .store
            .folder_path(parent.folder.id, &[key], ctx.user.id)
            .await?;
        let admin = ctx.user.role.may_impersonate();
        Ok(found.into_iter().next().and_then(|(folder, granted)| {
            child_view(admin, folder, granted, parent.passed_down(), true)
        }))
    }

    /// Resolves a path to the folder or file it names. Folders the caller may not see and
    /// files in folders they may not read are reported as not found.
    pub async fn tree_resolve(&self, ctx: &SessionContext, path: &str) -> Result<TreeNode> {
        self.resolve(ctx, path, false).await
    }

    /// [`Service::tree_resolve`] for a front end about to download what the path names
    /// ([`Service::download_view_pipelined`]): a file's view may carry its bytes, read with it
    /// (PostgreSQL, a small file: one round trip fewer).
    pub async fn tree_resolve_to_download(
        &self,
        ctx: &SessionContext,
        path: &str,
    ) -> Result<TreeNode> {
        self.resolve(ctx, path, true).await
    }

    async fn resolve(
        &self,
        ctx: &SessionContext,
        path: &str,
        to_download: bool,
    ) -> Result<TreeNode> {
        let names = path_names(path)?;
        // The root and the folders along the path in one read, as far as they exist (a name
        // no item can have names nothing, so the walk stops there).
        let keys: Vec<String> = names
            .iter()
            .map_while(|name| text::item_name("name", name).ok().map(|(_, key)| key))
            .collect();
        let admin = ctx.user.role.may_impersonate();
        let (mut current, mut found) = self.root_and_path(ctx, &keys).await?;
        for (i, name) in names.iter().enumerate() {
            let child = found.next().and_then(|(folder, granted)| {
                child_view(admin, folder, granted, current.passed_down(), true)
            });
            if let Some(child) = child {
                current = child;
                continue;
            }
            if i + 1 == names.len() && current.effective.contains(Permissions::READ) {
                // The walk found the caller's bits on the folder: no chain to read again.
                let Ok((_, key)) = text::item_name("name", name) else {
                    return Err(Error::FileNotFound);
                };
                let folder = current.folder.id;
                let found = if to_download {
                    self.store.file_by_name_to_download(folder, &key).await?
                } else {
                    let found = self.store.file_by_name(folder, &key).await?;
                    found.map(|f| (f, None))
                };
                let (file, bytes) = found.ok_or(Error::FileNotFound)?;
                let view = FileView::checked_with(file, current.effective, bytes);
                return Ok(TreeNode::File(view));
            }
            return Err(if i + 1 == names.len() {
                Error::FileNotFound
            } else {
                Error::FolderNotFound
            });
        }
        Ok(TreeNode::Folder(current))
    }

    /// Resolves the folder that holds (or would hold) the last name of `path`, and that name.
    pub async fn tree_parent(
        &self,
        ctx: &SessionContext,
        path: &str,
    ) -> Result<(FolderView, String)> {
        let mut names = path_names(path)?;
        let name = names
            .pop()
            .ok_or_else(|| Error::invalid("the path names the root"))?;
        match self.tree_resolve(ctx, &names.join("/")).await? {
            TreeNode::Folder(folder) => Ok((folder, name)),
            TreeNode::File(_) => Err(Error::FolderNotFound),
        }
    }

    /// The folder a path names and its first `limit` visible child folders by name, without
    /// its files, and whether more follow: what a folder picker shows when a person opens a
    /// folder in it.
    pub async fn tree_subfolders(
        &self,
        ctx: &SessionContext,
        path: &str,
        limit: usize,
    ) -> Result<(FolderView, Vec<FolderView>, bool)> {
        let TreeNode::Folder(folder) = self.tree_resolve(ctx, path).await? else {
            return Err(Error::FolderNotFound);
        };
        let (children, more) = FolderPages::in_tree(folder.folder.id)
            .window(self, ctx, 0, limit)
            .await?;
        Ok((folder, children, more))
    }
}

impl Service {
    /// Renames and/or moves what `from` names to `to` (`RNFR`/`RNTO`, SFTP `RENAME`): in one
    /// change, a move where the parent differs and a rename where the name differs, each with
    /// its permission check and audit record; refused, it changes nothing.
    pub async fn tree_rename(&self, ctx: &SessionContext, from: &str, to: &str) -> Result<()> {
        let node = self.tree_resolve(ctx, from).await?;
        let (target, name) = self.tree_parent(ctx, to).await?;
        let to = target.folder.id;
        match node {
            TreeNode::File(f) => {
                let to = (f.file.folder_id != to).then_some(to);
                let name = (f.file.name != name).then_some(name.as_str());
                if to.is_some() || name.is_some() {
                    self.place_file(ctx, f.file.id, to, name).await?;
                }
            }
            TreeNode::Folder(f) => {
                let to = (f.folder.parent_id != Some(to)).then_some(to);
                let name = (f.folder.name != name).then_some(name.as_str());
                if to.is_some() || name.is_some() {
                    self.place_folder(ctx, f.folder.id, to, name).await?;
                }
            }
        }
        Ok(())
    }

    /// A rename that may land on an existing file: SFTP's `posix-rename@openssh.com` and FTP's
    /// `RNTO`. Like [`Service::tree_rename`], except that a file already at `to` is not
    /// replaced by another file: the renamed file's content becomes its next version
    /// ([`Service::rename_over`]), so that the upload-to-a-temporary-name-then-rename of
    /// WinSCP, FileZilla and rclone keeps the target's ID and history. A folder at `to` is
    /// never replaced.
    pub async fn tree_rename_replacing(
        &self,
        ctx: &SessionContext,
        from: &str,
        to: &str,
    ) -> Result<()> {
        until_settled(|| async move {
            let TreeNode::File(source) = self.tree_resolve(ctx, from).await? else {
                return self.tree_rename(ctx, from, to).await.map(Attempt::Done);
            };
            match self.tree_resolve(ctx, to).await {
                Ok(TreeNode::File(f)) if f.file.id != source.file.id => {
                    self.rename_over(ctx, &source, &f).await
                }
                // The same file, perhaps with its name's case changed: a plain rename.
                Ok(TreeNode::File(_)) | Err(_) => {
                    self.tree_rename(ctx, from, to).await.map(Attempt::Done)
                }
                Ok(TreeNode::Folder(_)) => Err(Error::AlreadyExists(
                    "a folder with that name in the folder".into(),
                )),
            }
        })
        .await
    }

    /// `source` renamed over `target`: the source's current content becomes the target's next
    /// version (same file ID, its history kept) and the source ends, as a deleted file whose
    /// older versions, if any, are purged with it. Needs Modify where the target is (a new
    /// version of it) and where the source is: there only Modify in the same folder (a client's
    /// upload to a temporary name, then renamed over the file it replaces), and from another
    /// folder [`Permissions::MOVE_AWAY`], as any move (the content goes where the caller may
    /// hold more: their home). A source with older versions needs Delete too, in the same
    /// folder as well: they end with it, and Modify alone never deletes a version. Two audit
    /// records (`FileRenamed`), one under each file's ID, each naming both files. [`Attempt::Raced`] if either file has moved or
    /// been renamed, or the source has had a version added, since the paths were resolved.
    async fn rename_over(
        &self,
        ctx: &SessionContext,
        source: &FileView,
        target: &FileView,
    ) -> Result<Attempt<()>> {
        let from_here = match source.file.folder_id == target.file.folder_id {
            true if source.file.version > 1 => Permissions::MODIFY.union(Permissions::DELETE),
            true => Permissions::MODIFY,
            false => Permissions::MOVE_AWAY,
        };
        self.require(
            ctx,
            source.file.folder_id,
            from_here,
            Operation::FileRenamed,
        )
        .await?;
        self.require(
            ctx,
            target.file.folder_id,
            Permissions::MODIFY,
            Operation::FileUploaded,
        )
        .await?;
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        // Read again inside the transaction: an upload may have made a newer version since.
        let (Some(from), Some(mut into)) = (
            tx.file(source.file.id).await?,
            tx.file(target.file.id).await?,
        ) else {
            return Err(Error::FileNotFound);
        };
        if from.deleted || into.deleted {
            return Err(Error::FileNotFound);
        }
        // Where the paths named them, or the paths now name something else.
        let placed = |f: &File, seen: &File| f.folder_id == seen.folder_id && f.name == seen.name;
        // A version added to the source since would end with it unchecked.
        let same_history = from.version == source.file.version;
        if !placed(&from, &source.file) || !placed(&into, &target.file) || !same_history {
            tx.rollback().await;
            return Ok(Attempt::Raced);
        }
        into.version += 1;
        into.size = from.size;
        into.sha256 = from.sha256.clone();
        into.content_key = from.content_key.clone();
        // The time goes with the content, as a POSIX rename keeps the file's mtime.
        into.client_modified_at = from.client_modified_at;
        into.modified_at = now;
        into.modified_by = Some(ctx.user.id);
        tx.update_file(&into, true).await?;
        tx.hand_over_content(from.id, &from.content_key, now)
            .await?;
        let mut e = AuditEntry::new(Operation::FileRenamed, Outcome::Success);
        ctx.stamp(&mut e);
        e.folder_id = Some(into.folder_id);
        e.file_id = Some(into.id);
        e.path = Some(into.name.clone());
        e.size = Some(into.size);
        e.digest = Some(into.sha256.clone());
        e.detail = Some(format!(
            "{} (file {}) -> {}: version {} of file {}",
            from.name, from.id, into.name, into.version, into.id
        ));
        // The source's own trail ends with a record of its file ID (its end was written only
        // under the target's until 2026-12-06), and another folder keeps a record of the
        // file leaving it, as a move does.
        let mut ended = e.clone();
        ended.folder_id = Some(from.folder_id);
        ended.file_id = Some(from.id);
        ended.path = Some(from.name.clone());
        let how = match from.folder_id == into.folder_id {
            true => "ended as the next version of another file",
            false => "left this folder",
        };
        ended.detail = e.detail.as_ref().map(|d| format!("{how}: {d}"));
        tx.append_audit(now, ended).await?;
        tx.append_audit(now, e).await?;
        tx.commit().await?;
        Ok(Attempt::Done(()))
    }

    /// Removes the folder `path` names if it is empty (`RMD`, SFTP `RMDIR`: file protocols
    /// remove empty directories only, where Ferry's folder delete takes the contents along).
    /// Empty as the removal's own change finds it: nothing below, seen by the caller or not.
    pub async fn tree_remove_empty_folder(&self, ctx: &SessionContext, path: &str) -> Result<()> {
        let folder = match self.tree_resolve(ctx, path).await? {
            TreeNode::Folder(f) => f,
            TreeNode::File(_) => return Err(Error::FolderNotFound),
        };
        self.delete_folder_if(ctx, folder.folder.id, true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_lexically_and_never_above_the_root() {
        assert_eq!(path_names("/").unwrap(), Vec::<String>::new());
        assert_eq!(path_names("//Home/./ann//x").unwrap(), ["Home", "ann", "x"]);
        assert_eq!(
            path_names("/../../Home/ann/../bob").unwrap(),
            ["Home", "bob"]
        );
        assert_eq!(path_names("Home\\..\\x").unwrap(), ["Home\\..\\x"]);
        assert!(path_names("/a\0b").is_err());
        assert!(path_names(&"a/".repeat(3000)).is_err());
    }
}
