//! A folder's listing read a keyset page at a time, for what sends a folder as it reads it:
//! SFTP's `READDIR`, FTP's `LIST`, a ZIP's walk. Its child folders come first, then its files,
//! each in name order. A listing holds one page, never the folder: 20 slow listings of a
//! 100,000-item folder once held 400 MB to 1.7 GB.
//!
//! Keyset pages, not offsets: a folder or file added or removed meanwhile moves no other item
//! in or out of the listing, and a page deep in a large folder costs what the first does. The
//! caller's bits are read again for every page, so a listing stops where they are taken away.

use super::folders::child_view;
use super::{FileView, FolderView, MAX_PAGE, Service, SessionContext, TreeNode};
use crate::domain::{FileId, FileOrder, FolderId, Operation, Permissions, is_navigation};
use crate::error::{Error, Result};
use crate::text;

/// A folder's files a page at a time in name order (name key, then ID). Every page needs Read
/// on the folder.
#[derive(Debug)]
pub struct FilePages {
    folder: FolderId,
    /// The last file read, where the next page starts.
    after: Option<FileId>,
    done: bool,
}

impl FilePages {
    /// The files of `folder`, from the first.
    pub fn of(folder: FolderId) -> FilePages {
        FilePages {
            folder,
            after: None,
            done: false,
        }
    }

    /// No files: the listing of a folder the caller may see but not read.
    pub fn none(folder: FolderId) -> FilePages {
        FilePages {
            done: true,
            ..FilePages::of(folder)
        }
    }

    /// The next page (at most [`MAX_PAGE`] files), empty at the end.
    pub async fn next(&mut self, service: &Service, ctx: &SessionContext) -> Result<Vec<FileView>> {
        if self.done {
            return Ok(Vec::new());
        }
        let held = service
            .require(ctx, self.folder, Permissions::READ, Operation::AccessDenied)
            .await?;
        let page = service
            .store
            .files_ordered(self.folder, FileOrder::Name, false, self.after, MAX_PAGE)
            .await?;
        self.done = (page.len() as i64) < MAX_PAGE;
        self.after = page.last().map(|f| f.id);
        Ok(page
            .into_iter()
            .map(|file| FileView::checked(file, held))
            .collect())
    }
}

/// A folder's child folders the caller may see (Show), a page at a time in name order. Every
/// page needs Show on the folder (in the tree, a navigation folder is seen by everyone), and
/// each child's bits are what is granted on it plus, where it inherits, what is held on the
/// folder by grant.
#[derive(Debug)]
pub struct FolderPages {
    parent: FolderId,
    /// The tree's rules (SFTP, FTPS, the web client): navigation folders are seen by everyone.
    tree: bool,
    /// The name key of the last folder read, where the next page starts.
    after: String,
    take: i64,
    done: bool,
}

impl FolderPages {
    /// The child folders of `parent` as the JSON API's `GetFolders` sees them.
    pub fn of(parent: FolderId) -> FolderPages {
        FolderPages {
            parent,
            tree: false,
            after: String::new(),
            take: MAX_PAGE,
            done: false,
        }
    }

    /// The child folders of `parent` as the file-transfer tree lists them.
    pub fn in_tree(parent: FolderId) -> FolderPages {
        FolderPages {
            tree: true,
            ..FolderPages::of(parent)
        }
    }

    /// From the first folder whose name comes after `name` (compared as names are: by key).
    pub fn after_name(self, name: &str) -> FolderPages {
        FolderPages {
            after: text::item_key(name),
            ..self
        }
    }

    /// Pages of at most `take` folders read (at least 1): a walk down a deep tree holds a page
    /// per level.
    pub fn taking(self, take: i64) -> FolderPages {
        FolderPages {
            take: take.clamp(1, MAX_PAGE),
            ..self
        }
    }

    /// The next folders the caller may see, empty at the end. Folders hidden from the caller
    /// are passed over, so a page may hold fewer than were read, but never none before the end.
    pub async fn next(
        &mut self,
        service: &Service,
        ctx: &SessionContext,
    ) -> Result<Vec<FolderView>> {
        let admin = ctx.user.role.may_impersonate();
        while !self.done {
            let held = service.effective(ctx, self.parent).await?;
            let seen = held.contains(Permissions::SHOW) || self.tree && is_navigation(self.parent);
            if !seen {
                return Err(Error::FolderNotFound);
            }
            let page = service
                .store
                .child_folders_after(self.parent, ctx.user.id, &self.after, self.take)
                .await?;
            self.done = (page.len() as i64) < self.take;
            if let Some((last, _)) = page.last() {
                self.after = text::item_key(&last.name);
            }
            let visible: Vec<FolderView> = page
                .into_iter()
                .filter_map(|(folder, granted)| child_view(admin, folder, granted, held, self.tree))
                .collect();
            if !visible.is_empty() {
                return Ok(visible);
            }
        }
        Ok(Vec::new())
    }
}

impl FolderPages {
    /// The `limit` folders the caller may see after passing over `skip` of them, and whether
    /// more follow: a page of a folder's subfolders (`GetFolders`, the web folder page, Move
    /// to…), holding the page and no more than one read beyond it.
    pub async fn window(
        mut self,
        service: &Service,
        ctx: &SessionContext,
        mut skip: usize,
        limit: usize,
    ) -> Result<(Vec<FolderView>, bool)> {
        self.take = (skip.saturating_add(limit) as i64)
            .saturating_add(1)
            .clamp(1, MAX_PAGE);
        let mut found = Vec::new();
        while found.len() <= limit {
            let page = self.next(service, ctx).await?;
            if page.is_empty() {
                break;
            }
            let passed = skip.min(page.len());
            skip -= passed;
            found.extend(page.into_iter().skip(passed));
        }
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found, more))
    }
}

/// A folder's listing in the tree: its visible child folders, then (with Read) its files.
#[derive(Debug)]
pub struct TreeListing {
    folders: FolderPages,
    files: FilePages,
}

impl TreeListing {
    /// The listing of `folder`, as resolved for the caller.
    pub fn of(folder: &FolderView) -> TreeListing {
        let id = folder.folder.id;
        TreeListing {
            folders: FolderPages::in_tree(id),
            // Without Read, a folder's listing shows its folders only.
            files: if folder.effective.contains(Permissions::READ) {
                FilePages::of(id)
            } else {
                FilePages::none(id)
            },
        }
    }

    /// The next items, empty at the end.
    pub async fn next(&mut self, service: &Service, ctx: &SessionContext) -> Result<Vec<TreeNode>> {
        let folders = self.folders.next(service, ctx).await?;
        if !folders.is_empty() {
            return Ok(folders.into_iter().map(TreeNode::Folder).collect());
        }
        let files = self.files.next(service, ctx).await?;
        Ok(files.into_iter().map(TreeNode::File).collect())
    }
}
