//! Metadata items: name = value pairs on a folder (SARG 2.4.2's `FolderMetadataResult`) or a
//! file (SARG 2.4.4's `FTHFileMetadataItemData`).

use super::{FileId, FolderId};

/// The ID a folder's `Description` item carries. The description is kept with the folder
/// itself (it is `FTHFolderData.Description`), not as a row of its own, so it has no ID of
/// its own; every stored item's ID is 1 or more.
pub const DESCRIPTION_ITEM_ID: i64 = 0;

/// Most metadata items one folder or file may hold (`Description` not counted), so that one
/// caller with Modify cannot make every later read of the list unbounded.
pub const MAX_METADATA_ITEMS: i64 = 256;

/// What a metadata item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataOwner {
    /// A folder's items.
    Folder(FolderId),
    /// A file's items: they belong to the file, so every version shares them.
    File(FileId),
}

/// How a metadata item is written, after SARG's two calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataWrite {
    /// `Create…Metadata`: the name must be new to its folder or file.
    Create,
    /// `Save…Metadata`: the name must exist already ("if metadata with the input name does
    /// not exist … exception will be thrown", SARG 2.4.2.2.3).
    Save,
}

/// One metadata item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataItem {
    /// Its ID ([`DESCRIPTION_ITEM_ID`] for a folder's description).
    pub id: i64,
    /// Its name, as last written; names compare case-insensitively.
    pub name: String,
    /// Its value: text, at most 4,000 characters.
    pub value: String,
}
