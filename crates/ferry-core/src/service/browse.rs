//! The web client's folder and file pages (issue 17): everything one page shows, read in
//! one Service call with the same checks as `GetFolder`, `GetFolders` and `GetFiles`. The
//! files come a page at a time in the order asked for, from an index, with the folder's file
//! count, so a 100,000-file folder pages as quickly as a small one.

use std::collections::HashMap;

use super::{FileView, FolderView, MAX_PAGE, Service, SessionContext};
use crate::domain::{
    AuditRecord, File, FileId, FileOrder, FileVersion, FolderId, Permissions, UserId, is_navigation,
};
use crate::error::{Error, Result};
use crate::store::AuditFilter;

/// Which page of a folder to read.
#[derive(Debug, Clone, Copy)]
pub struct FolderPageRequest {
    /// The folder.
    pub folder: FolderId,
    /// The files' order.
    pub order: FileOrder,
    /// Reversed order.
    pub descending: bool,
    /// Files to skip.
    pub skip: i64,
    /// Files to return (1 to [`MAX_PAGE`]).
    pub take: i64,
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
    /// Its subfolders the caller may see, by name.
    pub folders: Vec<FolderView>,
    /// The requested page of its files (none without Read).
    pub files: Vec<File>,
    /// How many files it holds (0 without Read).
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
        if req.skip < 0 || !(1..=MAX_PAGE).contains(&req.take) {
            return Err(Error::invalid(format!(
                "skip must be 0 or more and take between 1 and {MAX_PAGE}"
            )));
        }
        let chain = self.store.permission_chain(req.folder, ctx.user.id).await?;
        let mut held = Self::effective_on_chain(ctx, &chain)?;
        if is_navigation(req.folder) {
            held = held.union(Permissions::SHOW);
        }
        if !held.contains(Permissions::SHOW) {
            return Err(Error::FolderNotFound);
        }
        let folder = self
            .store
            .folder(req.folder)
            .await?
            .ok_or(Error::FolderNotFound)?;

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

        let folders = self.visible_children(ctx, req.folder, held, true).await?;
        let (files, file_count) = if held.contains(Permissions::READ) {
            let files = self
                .store
                .files_ordered(req.folder, req.order, req.descending, req.skip, req.take)
                .await?;
            (files, self.store.file_count(req.folder).await?)
        } else {
            (Vec::new(), 0)
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
            folder: FolderView {
                folder,
                effective: held,
            },
            trail,
            folders,
            files,
            file_count,
            people,
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
    /// Every version, newest first.
    pub versions: Vec<FileVersion>,
    /// Its audit records, newest first (the last [`FILE_ACTIVITY`]); `None` for callers who
    /// may not read the audit log (Administrator and System only).
    pub activity: Option<Vec<AuditRecord>>,
    /// The names of the users the versions and records name.
    pub people: HashMap<UserId, String>,
}

/// How many audit records a file page shows.
pub const FILE_ACTIVITY: i64 = 50;

impl Service {
    /// The web client's view of a file: needs Read on its folder, as `GetFileVersions`.
    pub async fn file_page(&self, ctx: &SessionContext, id: FileId) -> Result<FilePage> {
        let file = self.readable_file(ctx, id).await?;
        let folder = self.folder(ctx, file.file.folder_id).await?;
        let mut versions = self.store.file_versions(id).await?;
        versions.reverse();
        let activity = if ctx.user.role.may_impersonate() {
            let filter = AuditFilter {
                file_id: Some(id),
                ..AuditFilter::default()
            };
            Some(self.store.audit_query(&filter, 0, FILE_ACTIVITY).await?)
        } else {
            None
        };
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
            activity,
            people,
        })
    }
}
