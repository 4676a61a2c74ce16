//! What a ZIP download holds, read while the archive is written: single files, and folders
//! walked a page of files at a time. Before, a folder's whole tree was listed before the first
//! byte, every file of it held in memory for the length of the download: 20 slow downloads of
//! a 100,000-file folder held 918 MB. A walk holds one page of files and the folders still to
//! visit.
//!
//! A folder's files come in name order, then its subfolders in name order, each the same way.
//! The caller's bits are read as the walk reaches each folder (subfolders without Read and
//! Download are left out), and each file's download is checked and audited on its own when
//! the archive reaches it ([`Service::download`]).

use std::collections::VecDeque;

use super::{FilePages, Service, SessionContext};
use crate::domain::{File, FolderId, Operation, Permissions};
use crate::error::{Error, Result};

/// What a folder's entries need: Read to list it, Download to take its files.
const NEEDED: Permissions = Permissions::READ.union(Permissions::DOWNLOAD);

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
}

#[derive(Debug)]
enum Part {
    File(String, Box<File>),
    Folder(FolderWalk),
}

/// A folder's tree in walking order.
#[derive(Debug)]
struct FolderWalk {
    /// Folders still to visit, the next last, each with its path prefix (`sub/`).
    pending: Vec<(FolderId, String)>,
    /// The folder whose files are being read.
    current: Option<Reading>,
}

#[derive(Debug)]
struct Reading {
    files: FilePages,
    prefix: String,
    page: VecDeque<File>,
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
            pending: vec![(root.id, prefix)],
            current: None,
        }));
    }

    /// The next entry, or `None` at the end. An error ends the archive (the client sees it
    /// cut short); a subfolder deleted or hidden since the walk began is left out.
    pub async fn next(
        &mut self,
        service: &Service,
        ctx: &SessionContext,
    ) -> Result<Option<(String, File)>> {
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
            if let Some(reading) = &mut self.current {
                if reading.page.is_empty() {
                    match reading.files.next(service, ctx).await {
                        Ok(page) => reading.page.extend(page.into_iter().map(|f| f.file)),
                        // Deleted or hidden since the walk reached it: left out, with what
                        // it holds.
                        Err(Error::FolderNotFound) => {
                            self.current = None;
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
                if let Some(file) = reading.page.pop_front() {
                    return Ok(Some((format!("{}{}", reading.prefix, file.name), file)));
                }
                // The folder's files are done: its subfolders next, in name order.
                let (folder, prefix) =
                    (reading.files.folder(), std::mem::take(&mut reading.prefix));
                self.current = None;
                match service.child_folders(ctx, folder).await {
                    Ok(children) => self.pending.extend(
                        children
                            .into_iter()
                            .rev()
                            .filter(|c| c.effective.contains(NEEDED))
                            .map(|c| (c.folder.id, format!("{prefix}{}/", c.folder.name))),
                    ),
                    Err(Error::FolderNotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            let Some((folder, prefix)) = self.pending.pop() else {
                return Ok(None);
            };
            self.current = Some(Reading {
                files: FilePages::of(folder),
                prefix,
                page: VecDeque::new(),
            });
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
