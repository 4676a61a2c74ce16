//! SFTP file attributes of Ferry's folders and files: sizes, times, and permission bits that
//! say what the caller may do (a folder writable when they may create in it, a file when they
//! may modify it), since SFTP clients read them to decide what to offer.

use ferry_core::domain::Permissions;
use ferry_core::service::{FileView, FolderView, TreeNode};
use russh_sftp::protocol::FileAttributes;

/// A folder's attributes: a directory, writable when the caller may create in it.
pub(crate) fn folder_attrs(f: &FolderView) -> FileAttributes {
    let mut a = FileAttributes::empty();
    a.size = Some(0);
    a.permissions = Some(
        0o040000
            | if f.effective.contains(Permissions::CREATE) {
                0o755
            } else {
                0o555
            },
    );
    let t = (f.folder.modified_at.0 / 1000).max(0) as u32;
    a.atime = Some(t);
    a.mtime = Some(t);
    a
}

/// A file's attributes: its size, writable when the caller may modify it, its time (the one
/// a client set, else the upload's).
pub(crate) fn file_attrs(f: &FileView) -> FileAttributes {
    let mut a = FileAttributes::empty();
    a.size = Some(f.file.size.max(0) as u64);
    a.permissions = Some(
        0o100000
            | if f.effective.contains(Permissions::MODIFY) {
                0o644
            } else {
                0o444
            },
    );
    let t = (f.file.shown_modified_at().0 / 1000).max(0) as u32;
    a.atime = Some(t);
    a.mtime = Some(t);
    a
}

/// A file being written on this channel: its size so far, writable, its time now.
pub(crate) fn writing_attrs(size: u64) -> FileAttributes {
    let mut a = FileAttributes::empty();
    a.size = Some(size);
    a.permissions = Some(0o100644);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    a.atime = Some(t);
    a.mtime = Some(t);
    a
}

/// A tree node's attributes.
pub(crate) fn node_attrs(n: &TreeNode) -> FileAttributes {
    match n {
        TreeNode::Folder(f) => folder_attrs(f),
        TreeNode::File(f) => file_attrs(f),
    }
}
