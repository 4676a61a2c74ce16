//! The web client's folder and file pages (issue 17): everything one page shows, read in
//! one Service call with the same checks as `GetFolder`, `GetFolders` and `GetFiles`. The
//! files come a page at a time in the order asked for, from an index, with the folder's file
//! count, so a 100,000-file folder pages as quickly as a small one.

use std::collections::HashMap;

use super::{FileView, FolderPages, FolderView, MAX_PAGE, Service, SessionContext};
use crate::domain::{
    AuditRecord, File, FileId, FileOrder, FileVersion, FolderId, Permissions, UserId, is_navigation,
};
use crate::error::{Error, Result};

/// Counts of a folder's files stop here (the page says "more than 10,000").
pub const FILE_COUNT_CAP: i64 = 10_000;

/// Where a page of files starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// At the first file in the order.
    First,
    /// Just after this file of the folder (the next page).
    After(FileId),
    /// Just before this file of the folder (the previous page).
    Before(FileId),
}

/// Subfolders one page shows at most.
pub const FOLDERS_SHOWN: usize = 500;

/// Which page of a folder to read.
#[derive(Debug, Clone)]
pub struct FolderPageRequest {
    /// The folder.
    pub folder: FolderId,
    /// The files' order.
    pub order: FileOrder,
    /// Reversed order.
    pub descending: bool,
    /// Where the page starts.
    pub start: PageStart,
    /// Files to return (1 to [`MAX_PAGE`]).
    pub take: i64,
    /// A later page of subfolders: those whose names follow this one, without files.
    pub folders_after: Option<String>,
}

/// One folder above the page's folder, for the breadcrumbs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crumb {
    /// The folder.
    pub id: FolderId,
    /// Its name, when the caller may see the folder; `None` hides both name and link.
    pub name: Option<String>,
}

/// A page of a folder, as the web client shows it.
#[derive(Debug, Clone)]
pub struct FolderPage {
    /// The folder with the caller's bits on it.
    pub folder: FolderView,
    /// The folders above it, the root first.
    pub trail: Vec<Crumb>,
    /// Its subfolders the caller may see, by name: at most [`FOLDERS_SHOWN`], from the first
    /// or after the name asked for.
    pub folders: Vec<FolderView>,
    /// Whether more subfolders follow those shown.
    pub more_folders: bool,
    /// The requested page of its files (none without Read).
    pub files: Vec<File>,
    /// Whether files come before this page in the order.
    pub has_before: bool,
    /// Whether files come after it.
    pub has_after: bool,
    /// How many files it holds, up to [`FILE_COUNT_CAP`] (0 without Read).
    pub file_count: i64,
    /// The names of the users who made the listed files' current versions.
    pub people: HashMap<UserId, String>,
}

impl Service {
    /// The web client's view of a folder. Needs Show (navigation folders are shown to
    /// everyone, as SFTP lists them); files need Read. A folder the caller may not see is
    /// [`Error::FolderNotFound`], as everywhere.
    pub async fn folder_page(
        &self,
        ctx: &SessionContext,
        req: FolderPageRequest,
    ) -> Result<FolderPage> {
        if !(1..=MAX_PAGE).contains(&req.take) {
            return Err(Error::invalid(format!(
                "take must be between 1 and {MAX_PAGE}"
            )));
        }
        let chain = self.store.permission_chain(req.folder, ctx.user.id).await?;
        let held = Self::effective_on_chain(ctx, &chain)?;
        if !held.contains(Permissions::SHOW) && !is_navigation(req.folder) {
            return Err(Error::FolderNotFound);
        }
        let folder = self
            .store
            .folder(req.folder)
            .await?
            .ok_or(Error::FolderNotFound)?;
        // Everyone sees a navigation folder; only what is held passes to its children.
        let view = if is_navigation(req.folder) {
            FolderView::navigation(folder, held)
        } else {
            FolderView::new(folder, held)
        };

        let mut trail = Vec::with_capacity(chain.len());
        for (i, link) in chain.iter().enumerate().skip(1) {
            let bits = Self::effective_on_chain(ctx, &chain[i..])?;
            let name = if bits.contains(Permissions::SHOW) || is_navigation(link.folder_id) {
                self.store.folder(link.folder_id).await?.map(|f| f.name)
            } else {
                None
            };
            trail.push(Crumb {
                id: link.folder_id,
                name,
            });
        }
        trail.reverse();

        // A page of subfolders, not all of them: a folder of 100,000 subfolders would
        // otherwise be read whole and sent as one page.
        let mut pages = FolderPages::in_tree(req.folder);
        if let Some(name) = &req.folders_after {
            pages = pages.after_name(name);
        }
        let (folders, more_folders) = pages.window(self, ctx, 0, FOLDERS_SHOWN).await?;
        let files_shown = held.contains(Permissions::READ) && req.folders_after.is_none();
        let (files, has_before, has_after, file_count) = if files_shown {
            let (files, before, after) = self.files_page(&req).await?;
            let count = self.store.file_count(req.folder, FILE_COUNT_CAP).await?;
            (files, before, after, count)
        } else {
            (Vec::new(), false, false, 0)
        };
        let mut people = HashMap::new();
        for id in files.iter().filter_map(|f| f.modified_by.or(f.created_by)) {
            if let std::collections::hash_map::Entry::Vacant(slot) = people.entry(id)
                && let Some(user) = self.store.user_by_id(id).await?
            {
                slot.insert(user.name);
            }
        }
        Ok(FolderPage {
            folder: view,
            trail,
            folders,
            more_folders,
            files,
            has_before,
            has_after,
            file_count,
            people,
        })
    }

    /// A keyset page of the folder's files, and whether files come before and after it. A
    /// cursor must be a file of this folder: another folder's file would let a caller probe
    /// where a name they may not read sorts among names they may.
    async fn files_page(&self, req: &FolderPageRequest) -> Result<(Vec<File>, bool, bool)> {
        let store = &self.store;
        let mine = |id: FileId| async move {
            Ok::<bool, Error>(
                store
                    .file(id)
                    .await?
                    .is_some_and(|f| f.folder_id == req.folder && !f.deleted),
            )
        };
        let start = match req.start {
            PageStart::After(id) | PageStart::Before(id) if !mine(id).await? => PageStart::First,
            s => s,
        };
        let wanted = req.take + 1;
        let read = |descending: bool, after: Option<FileId>| {
            store.files_ordered(req.folder, req.order, descending, after, wanted)
        };
        Ok(match start {
            PageStart::First => {
                let mut files = read(req.descending, None).await?;
                let more = files.len() as i64 > req.take;
                files.truncate(req.take as usize);
                (files, false, more)
            }
            PageStart::After(id) => {
                let mut files = read(req.descending, Some(id)).await?;
                let more = files.len() as i64 > req.take;
                files.truncate(req.take as usize);
                (files, true, more)
            }
            PageStart::Before(id) => {
                let mut files = read(!req.descending, Some(id)).await?;
                if files.len() as i64 <= req.take {
                    // Back at the start: the first page, whole.
                    let mut first = read(req.descending, None).await?;
                    let more = first.len() as i64 > req.take;
                    first.truncate(req.take as usize);
                    return Ok((first, false, more));
                }
                files.truncate(req.take as usize);
                files.reverse();
                (files, true, true)
            }
        })
    }
}

/// A file as the web client's file page shows it.
#[derive(Debug, Clone)]
pub struct FilePage {
    /// The file, with the caller's bits on its folder.
    pub file: FileView,
    /// Its folder.
    pub folder: FolderView,
    /// Its newest versions, newest first: at most [`FILE_VERSIONS_SHOWN`].
    pub versions: Vec<FileVersion>,
    /// Whether older versions follow those shown.
    pub older_versions: bool,
    /// Its audit records, newest first (the last [`FILE_ACTIVITY`]); `None` for callers who
    /// may not read the audit log (Administrator and System only).
    pub activity: Option<Vec<AuditRecord>>,
    /// The names of the users the versions and records name.
    pub people: HashMap<UserId, String>,
}

/// How many versions a file page shows, the newest.
pub const FILE_VERSIONS_SHOWN: usize = 100;

/// How many audit records a file page shows.
pub const FILE_ACTIVITY: i64 = 50;

impl Service {
    /// The web client's view of a file: needs Read on its folder, as `GetFileVersions`.
    pub async fn file_page(&self, ctx: &SessionContext, id: FileId) -> Result<FilePage> {
        let file = self.readable_file(ctx, id).await?;
        let folder = self.folder(ctx, file.file.folder_id).await?;
        let mut versions = self
            .store
            .file_versions_page(id, true, 0, FILE_VERSIONS_SHOWN as i64 + 1)
            .await?;
        let older_versions = versions.len() > FILE_VERSIONS_SHOWN;
        versions.truncate(FILE_VERSIONS_SHOWN);
        let activity = self.file_activity(ctx, id, FILE_ACTIVITY).await?;
        let mut people = HashMap::new();
        let named = versions
            .iter()
            .filter_map(|v| v.created_by)
            .chain(activity.iter().flatten().filter_map(|r| r.entry.user_id));
        for uid in named.collect::<Vec<_>>() {
            if let std::collections::hash_map::Entry::Vacant(slot) = people.entry(uid)
                && let Some(user) = self.store.user_by_id(uid).await?
            {
                slot.insert(user.name);
            }
        }
        Ok(FilePage {
            file,
            folder,
            versions,
            older_versions,
            activity,
            people,
        })
    }
}
