//! Files and their versions.

use crate::clock::Timestamp;
use crate::domain::{FolderId, UserId};

/// A file's integer ID (`FileID`).
pub type FileId = i64;

/// A file: its current version's name, size, digest and content (`FTHFileData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// `FileID`.
    pub id: FileId,
    /// `ParentFolderID`.
    pub folder_id: FolderId,
    /// `Name`, NFC-normalised.
    pub name: String,
    /// `Version`: 1 for the first upload, n+1 for each upload to the same name.
    pub version: i64,
    /// `Size` in bytes.
    pub size: i64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Where the content store keeps the current version (a key Ferry generated).
    pub content_key: String,
    /// `DateCreated`.
    pub created_at: Timestamp,
    /// `DateModified`.
    pub modified_at: Timestamp,
    /// `CreatedByUserID`.
    pub created_by: Option<UserId>,
    /// `ModifiedByUserID`.
    pub modified_by: Option<UserId>,
    /// `IsDeleted`.
    pub deleted: bool,
    /// The modification time a client gave the current version (SFTP `SETSTAT`, FTP `MFMT`),
    /// shown to SFTP and FTP clients as the file's time; none: the upload time is shown.
    pub client_modified_at: Option<Timestamp>,
}

impl File {
    /// The time SFTP and FTP clients are shown: the one a client set, else the upload's.
    pub fn shown_modified_at(&self) -> Timestamp {
        self.client_modified_at.unwrap_or(self.modified_at)
    }
}

/// The orders a folder's files can be listed in (the web client's columns); each has an index,
/// so a page of a large folder is read in order, not sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrder {
    /// By name (case-insensitive collision key), then ID.
    Name,
    /// By size, then ID.
    Size,
    /// By `DateModified` (the server's record of the last version), then ID.
    Modified,
}

/// One stored version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    /// The file.
    pub file_id: FileId,
    /// Its number, from 1.
    pub version: i64,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Content key.
    pub content_key: String,
    /// When it was uploaded.
    pub created_at: Timestamp,
    /// Who uploaded it.
    pub created_by: Option<UserId>,
    /// The modification time a client gave it, if any.
    pub client_modified_at: Option<Timestamp>,
}
