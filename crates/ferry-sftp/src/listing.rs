//! A directory listing read in turns. `READDIR` answers at most [`MAX_ENTRIES`] names and
//! about [`MAX_REPLY_BYTES`] a time, as OpenSSH's sftp-server does: OpenSSH's client drops the
//! connection on any reply over 256 KiB, so a folder of a few thousand files sent whole could
//! not be listed at all. Folders and files are read from the Service a page at a time as the
//! client asks ([`TreeListing`]), so an open listing holds one page, not the folder: a user
//! holding many handles on a folder of 100,000 files or subfolders costs the server pages, not
//! copies of the folder.

use std::collections::VecDeque;

use ferry_core::Service;
use ferry_core::service::{FolderView, SessionContext, TreeListing, TreeNode};
use russh_sftp::protocol::File;

use crate::attrs::node_attrs;
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
    /// Names read and not yet sent.
    pending: VecDeque<File>,
    /// What is still to read: the child folders, then the files (none without Read).
    items: TreeListing,
}

impl Listing {
    /// The listing of `folder`.
    pub(crate) fn new(folder: &FolderView) -> Listing {
        Listing {
            pending: VecDeque::new(),
            items: TreeListing::of(folder),
        }
    }

    /// The next names to send, or none at the end of the listing. Every page needs the
    /// caller's bits again, in their current session.
    pub(crate) async fn next_batch(
        &mut self,
        service: &Service,
        ctx: &SessionContext,
    ) -> Result<Vec<File>, Refusal> {
        if self.pending.len() < MAX_ENTRIES {
            let page = self.items.next(service, ctx).await.map_err(refusal)?;
            self.pending
                .extend(page.iter().map(|n| File::new(name(n), node_attrs(n))));
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

/// The name a tree node is listed by.
fn name(node: &TreeNode) -> String {
    match node {
        TreeNode::Folder(f) => f.folder.name.clone(),
        TreeNode::File(f) => f.file.name.clone(),
    }
}
