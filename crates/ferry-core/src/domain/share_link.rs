//! A link a person shared from the web client (issue 17): an upload link into a folder
//! ("Request files") or a download link for files, with its own session, an end, and perhaps
//! a recipient.

use crate::clock::Timestamp;
use crate::domain::{FileId, FolderId, SessionKey, UserId};

/// A shared link's row ID.
pub type ShareLinkId = i64;

/// What a link opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareTarget {
    /// The upload page, into this folder.
    Upload(FolderId),
    /// The download page, for these files.
    Download(Vec<FileId>),
}

/// A shared link as stored (the token is not: it is issued again from these fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    /// Row ID.
    pub id: ShareLinkId,
    /// Who made it (the user whose bits the link's page acts with).
    pub user_id: UserId,
    /// The key of the link's own session: revoking the link ends it.
    pub session: SessionKey,
    /// The session's ID sealed with the tools' key (`ToolTokenKeys::seal_link_session`): its
    /// token names the ID, so issuing the token again opens this. `None` for links made before
    /// IDs were sealed (2026-12-07) on a node started without the tools' key, which cannot be
    /// issued again.
    pub sealed_session: Option<String>,
    /// What it opens.
    pub target: ShareTarget,
    /// The recipient's e-mail, recorded as the external user of what is done through it.
    pub email: Option<String>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// How many downloads a download link allows, if its maker set a limit.
    pub max_downloads: Option<i64>,
    /// Downloads taken through it so far (counted only for a link with a limit).
    pub downloads: i64,
}

/// What a download link limited to a number of downloads has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadAllowance {
    /// The link.
    pub link: ShareLinkId,
    /// Downloads taken through it.
    pub taken: i64,
    /// Downloads it allows.
    pub allowed: i64,
}

impl DownloadAllowance {
    /// Downloads still allowed.
    pub fn left(&self) -> i64 {
        (self.allowed - self.taken).max(0)
    }
}

impl ShareLink {
    /// The stored name of its kind.
    pub fn kind(&self) -> &'static str {
        match self.target {
            ShareTarget::Upload(_) => "upload",
            ShareTarget::Download(_) => "download",
        }
    }
}
