//! What a ZIP download holds, read while the archive is written: single files, and folders
//! walked a page at a time. Before, a folder's whole tree was listed before the first byte,
//! every file of it held in memory for the length of the download: 20 slow downloads of a
//! 100,000-file folder held 918 MB. A walk holds one page of files, and a short page of
//! subfolders for each folder it is inside.
//!
//! A folder's files come in name order, then its subfolders in name order, each the same way.
//! The caller's bits are read as the walk reaches each folder (subfolders without Read and
//! Download are left out), and each file's download is checked and audited on its own when
//! the archive reaches it ([`Service::download`]). The caller's session is asked again as the
//! archive runs (`Service::context_alive`), so a user disabled mid-archive stops receiving it.

use std::collections::VecDeque;
use std::time::Instant;

use super::{FilePages, FolderPages, FolderView, SESSION_RECHECK, Service, SessionContext};
use crate::domain::{File, FolderId, Operation, Permissions};
use crate::error::{Error, Result};

/// What a folder's entries need: Read to list it, Download to take its files.
const NEEDED: Permissions = Permissions::READ.union(Permissions::DOWNLOAD);

/// Subfolders read at a time by each folder the walk is inside: a deep tree holds this many
/// per level.
const SUBFOLDER_PAGE: i64 = 100;

/// A folder the caller may take as a ZIP, found by [`Service::archive_root`].
#[derive(Debug, Clone)]
pub struct ArchiveRoot {
    id: FolderId,
    name: String,
}

impl ArchiveRoot {
    /// The folder's name (empty for the root folder).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The entries of one archive, each with its path in the archive.
#[derive(Debug, Default)]
pub struct ArchiveContents {
    parts: VecDeque<Part>,
    /// When the caller's session was last known alive (at the first entry, the request that
    /// began the archive had just checked it).
    checked_at: Option<Instant>,
}

#[derive(Debug)]
enum Part {
    File(String, Box<File>),
    Folder(FolderWalk),
}

/// A folder's tree in walking order: the folders it is inside, the deepest last.
#[derive(Debug)]
struct FolderWalk {
    levels: Vec<Level>,
}

/// A folder being walked: its files first, then its subfolders, each walked in turn.
#[derive(Debug)]
struct Level {
    prefix: String,
    files: FilePages,
    page: VecDeque<File>,
    subfolders: FolderPages,
    next_subfolders: VecDeque<FolderView>,
}

impl Level {
    fn new(folder: FolderId, prefix: String) -> Level {
        Level {
            prefix,
            files: FilePages::of(folder),
            page: VecDeque::new(),
            subfolders: FolderPages::of(folder).taking(SUBFOLDER_PAGE),
            next_subfolders: VecDeque::new(),
        }
    }
}

impl ArchiveContents {
    /// No entries yet.
    pub fn new() -> ArchiveContents {
        ArchiveContents::default()
    }

    /// A file, as `path`; its download is checked when the archive reaches it.
    pub fn add_file(&mut self, path: String, file: File) {
        self.parts.push_back(Part::File(path, Box::new(file)));
    }

    /// A folder's files and readable subfolders, their paths starting with `prefix` (empty,
    /// or ending in `/`).
    pub fn add_folder(&mut self, root: ArchiveRoot, prefix: String) {
        self.parts.push_back(Part::Folder(FolderWalk {
            levels: vec![Level::new(root.id, prefix)],
        }));
    }

    /// The next entry, or `None` at the end. An error ends the archive (the client sees it
    /// cut short), as does a session ended meanwhile ([`Error::SessionNotFound`], asked at
    /// most once a second); a subfolder deleted or hidden since the walk began is left out.
    pub async fn next(
        &mut self,
        service: &Service,
        ctx: &SessionContext,
    ) -> Result<Option<(String, File)>> {
        if self
            .checked_at
            .is_none_or(|at| at.elapsed() >= SESSION_RECHECK)
        {
            // A store out of reach ends nothing here: the next file's download says so.
            let first = self.checked_at.is_none();
            self.checked_at = Some(Instant::now());
            if !first && matches!(service.context_alive(ctx).await, Ok(false)) {
                return Err(Error::SessionNotFound);
            }
        }
        loop {
            let Some(part) = self.parts.front_mut() else {
                return Ok(None);
            };
            let found = match part {
                Part::File(..) => match self.parts.pop_front() {
                    Some(Part::File(path, file)) => Some((path, *file)),
                    _ => None,
                },
                Part::Folder(walk) => walk.next(service, ctx).await?,
            };
            match found {
                Some(entry) => return Ok(Some(entry)),
                None => {
                    self.parts.pop_front();
                }
            }
        }
    }
}

impl FolderWalk {
    async fn next(
        &mut self,
        service: &Service,
        ctx: &SessionContext,
    ) -> Result<Option<(String, File)>> {
        loop {
            let Some(level) = self.levels.last_mut() else {
                return Ok(None);
            };
            if level.page.is_empty() {
                match level.files.next(service, ctx).await {
                    Ok(page) => level.page.extend(page.into_iter().map(|f| f.file)),
                    // Deleted or hidden since the walk reached it: left out, with what it
                    // holds.
                    Err(Error::FolderNotFound) => {
                        self.levels.pop();
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            if let Some(file) = level.page.pop_front() {
                return Ok(Some((format!("{}{}", level.prefix, file.name), file)));
            }
            // The folder's files are done: its subfolders next, in name order.
            if level.next_subfolders.is_empty() {
                match level.subfolders.next(service, ctx).await {
                    Ok(page) if page.is_empty() => {
                        self.levels.pop();
                        continue;
                    }
                    Ok(page) => level
                        .next_subfolders
                        .extend(page.into_iter().filter(|c| c.effective.contains(NEEDED))),
                    Err(Error::FolderNotFound) => {
                        self.levels.pop();
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            if let Some(child) = level.next_subfolders.pop_front() {
                let prefix = format!("{}{}/", level.prefix, child.folder.name);
                self.levels.push(Level::new(child.folder.id, prefix));
            }
        }
    }
}

impl Service {
    /// A folder the caller may take whole as a ZIP: needs Read and Download on it.
    pub async fn archive_root(
        &self,
        ctx: &SessionContext,
        folder: FolderId,
    ) -> Result<ArchiveRoot> {
        self.require(ctx, folder, NEEDED, Operation::FileDownloaded)
            .await?;
        let root = self
            .store
            .folder(folder)
            .await?
            .ok_or(Error::FolderNotFound)?;
        Ok(ArchiveRoot {
            id: root.id,
            name: root.name,
        })
    }
}
