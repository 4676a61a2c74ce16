//! A directory listing read in turns. `READDIR` answers at most [`MAX_ENTRIES`] names and
//! about [`MAX_REPLY_BYTES`] a time, as OpenSSH's sftp-server does: OpenSSH's client drops the
//! connection on any reply over 256 KiB, so a folder of a few thousand files sent whole could
//! not be listed at all. The files are read from the Service a page at a time as the client
//! asks, so an open listing holds one page, not the folder: a user holding many handles on a
//! 100,000-file folder costs the server pages, not copies of the folder.

use std::collections::VecDeque;

use ferry_core::Service;
use ferry_core::domain::Permissions;
use ferry_core::service::{FilePages, FolderView, SessionContext};
use russh_sftp::protocol::File;

use crate::attrs::{file_attrs, folder_attrs};
use crate::refusal::{Refusal, refusal};

/// Most names one `READDIR` answers (OpenSSH's sftp-server: 100).
pub(crate) const MAX_ENTRIES: usize = 100;
/// About the most bytes of names one `READDIR` answers, far below the 256 KiB OpenSSH's
/// client accepts: each name is sent twice (the name and `ls -l`'s line) beside its attributes.
pub(crate) const MAX_REPLY_BYTES: usize = 64 * 1024;
/// What a name costs in a reply beyond its name and `ls -l` line: lengths and attributes.
const ENTRY_OVERHEAD: usize = 128;

/// An open directory handle's place in its listing.
pub(crate) struct Listing {
    /// Names read and not yet sent: the child folders first, then files a page at a time.
    pending: VecDeque<File>,
    /// The files still to read: none when the caller holds no Read on the folder (its listing
    /// shows folders only).
    files: FilePages,
}

impl Listing {
    /// The listing of `folder`, whose visible child folders are `folders`.
    pub(crate) fn new(folder: &FolderView, folders: &[FolderView]) -> Listing {
        let id = folder.folder.id;
        Listing {
            pending: folders
                .iter()
                .map(|f| File::new(f.folder.name.clone(), folder_attrs(f)))
                .collect(),
            files: if folder.effective.contains(Permissions::READ) {
                FilePages::of(id)
            } else {
                FilePages::none(id)
            },
        }
    }

    /// The next names to send, or none at the end of the listing. Every page of files needs
    /// Read again, in the caller's current session.
    pub(crate) async fn next_batch(
        &mut self,
        service: &Service,
        ctx: &SessionContext,
    ) -> Result<Vec<File>, Refusal> {
        if self.pending.len() < MAX_ENTRIES {
            let page = self.files.next(service, ctx).await.map_err(refusal)?;
            self.pending.extend(
                page.iter()
                    .map(|f| File::new(f.file.name.clone(), file_attrs(f))),
            );
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        while let Some(next) = self.pending.front() {
            let cost = next.filename.len() + next.longname.len() + ENTRY_OVERHEAD;
            if batch.len() == MAX_ENTRIES || (!batch.is_empty() && bytes + cost > MAX_REPLY_BYTES) {
                break;
            }
            bytes += cost;
            batch.extend(self.pending.pop_front());
        }
        Ok(batch)
    }
}
