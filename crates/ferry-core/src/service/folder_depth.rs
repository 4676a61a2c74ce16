//! How deep folders nest: at most [`MAX_FOLDER_DEPTH`] names in a folder's tree path, checked
//! inside the change that creates a folder or moves one (with everything below it), so that
//! no way of making folders (the API, REST, the web client, an upload that brings its folders,
//! SFTP's `MKDIR`, FTP's `MKD`, a rename that moves) builds a deeper chain.

use crate::domain::{FolderId, MAX_FOLDER_DEPTH};
use crate::error::{Error, Result};
use crate::store::StoreTx;

/// Refuses a folder with `height` levels of folders below it placed under `parent` if its
/// deepest folder's tree path would have more than [`MAX_FOLDER_DEPTH`] names.
pub(super) async fn fits_under(tx: &mut dyn StoreTx, parent: FolderId, height: i64) -> Result<()> {
    // `parent` and the folders above it, up to the tree's root, which has no name of its own:
    // as many names as the placed folder's path will have.
    let names = tx.folder_ancestry(parent).await?.len() as i64;
    if names + height > MAX_FOLDER_DEPTH as i64 {
        return Err(Error::invalid(format!(
            "folders nest at most {MAX_FOLDER_DEPTH} deep (counting /Home or /Shared)"
        )));
    }
    Ok(())
}
