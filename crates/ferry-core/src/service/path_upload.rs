//! An upload that brings its folders along (`Reports/2026/march.pdf` from a dropped folder):
//! the path's names checked, each folder found or created with the caller's bits (Create), then
//! an ordinary upload into the last. The browser tools and the web client both upload this
//! way, through the one upload path of the Service.

use super::{Service, SessionContext, Upload, UploadRequest};
use crate::domain::{FolderId, FolderType};
use crate::error::{Error, Result};
use crate::text;

/// Deepest folder path an upload may bring along (`a/b/c/file`).
const MAX_RELATIVE_DEPTH: usize = 32;

/// A relative path's folder names and the file's name, each checked as a name; `/` and `\`
/// both separate.
pub(crate) fn split_relative_path(relative_path: &str) -> Result<(Vec<String>, String)> {
    let mut names: Vec<&str> = relative_path
        .trim_start_matches(['/', '\\'])
        .split(['/', '\\'])
        .collect();
    let name = names.pop().unwrap_or_default();
    let (name, _) = text::item_name("name", name)?;
    if names.len() > MAX_RELATIVE_DEPTH {
        return Err(Error::invalid("the folder path is too deep"));
    }
    let folders = names
        .into_iter()
        .map(|f| text::item_name("folder name", f).map(|(n, _)| n))
        .collect::<Result<Vec<_>>>()?;
    Ok((folders, name))
}

impl Service {
    /// Begins `req` in the folder reached from `root` through `folders` (found, or created
    /// where the caller holds Create); `req.folder_id` is replaced by that folder.
    pub(crate) async fn begin_upload_below(
        &self,
        ctx: &SessionContext,
        root: FolderId,
        folders: &[String],
        mut req: UploadRequest,
    ) -> Result<Upload> {
        let mut folder = root;
        for part in folders {
            folder = self.subfolder_for_upload(ctx, folder, part).await?;
        }
        req.folder_id = folder;
        self.begin_upload(ctx, req).await
    }

    /// An upload of `relative_path` (a name, or folders and a name) below `root`, of `size`
    /// bytes, making a new version of an existing file: what the web client's uploads are.
    pub async fn begin_upload_at_path(
        &self,
        ctx: &SessionContext,
        root: FolderId,
        relative_path: &str,
        size: u64,
    ) -> Result<Upload> {
        let (folders, name) = split_relative_path(relative_path)?;
        self.begin_upload_below(
            ctx,
            root,
            &folders,
            UploadRequest {
                folder_id: root,
                name,
                overwrite: true,
                rename_if_taken: false,
                expected_size: Some(size),
                expected_sha256: None,
                external_user: ctx.session.external_user.clone(),
            },
        )
        .await
    }

    /// The child folder `name` of `parent`, created if the user may and it does not exist.
    async fn subfolder_for_upload(
        &self,
        ctx: &SessionContext,
        parent: FolderId,
        name: &str,
    ) -> Result<FolderId> {
        let parent_view = self.folder(ctx, parent).await?;
        if let Some(child) = self.tree_child(ctx, &parent_view, name).await? {
            return Ok(child.folder.id);
        }
        match self
            .create_folder(ctx, parent, name, FolderType::Regular)
            .await
        {
            Ok(v) => Ok(v.folder.id),
            // Two files of one dropped folder raced to create it: use the winner's.
            Err(Error::AlreadyExists(_)) => self
                .tree_child(ctx, &parent_view, name)
                .await?
                .map(|c| c.folder.id)
                .ok_or(Error::FolderNotFound),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_split_into_checked_names() {
        let (folders, name) = split_relative_path("Reports/2026\\march.pdf").unwrap();
        assert_eq!(folders, ["Reports", "2026"]);
        assert_eq!(name, "march.pdf");
        assert!(split_relative_path("a/../b.txt").is_err());
        assert!(split_relative_path("a//b.txt").is_err());
        assert!(split_relative_path(&"d/".repeat(40)).is_err());
        assert!(split_relative_path("").is_err());
    }
}
