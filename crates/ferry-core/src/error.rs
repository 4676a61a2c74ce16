//! The one error type of the Service, with the documented error code of each variant.
//!
//! Front ends map these to their protocol in one place (HTTP: `ferry-http/src/error.rs`). The
//! table of codes is part of the public API: docs/errors.md lists it and must agree with
//! [`Error::code`]. Internal details travel in [`Error::Internal`] for the log only; fronts
//! never send them to a client.

use crate::store::StoreError;

/// The Service's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a Service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The session was closed, replaced by a newer sign-in, expired, or never existed. Code 101.
    #[error("the session no longer exists")]
    SessionNotFound,
    /// Unknown user, wrong password or disabled account: deliberately one answer. Code 102.
    #[error("sign-in failed: unknown user name, wrong password, or disabled account")]
    BadCredentials,
    /// Too many failed sign-ins for this account or address. Code 103.
    #[error("too many failed sign-ins; try again in {retry_after_secs} seconds")]
    LockedOut {
        /// Seconds until the lock-out ends.
        retry_after_secs: u64,
    },
    /// The applicationID is not registered, or is disabled. Code 104.
    #[error("the application ID is not registered or is disabled")]
    UnknownApplication,
    /// The caller's role or permissions do not allow this operation. Code 105.
    #[error("not permitted: {0}")]
    NotPermitted(&'static str),
    /// The user named by the call does not exist. Code 106.
    #[error("user not found")]
    UserNotFound,
    /// The user named by the call is disabled. Code 107.
    #[error("the user is disabled")]
    UserInactive,
    /// Something with that name or ID already exists. Code 108.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// A single sign-on ticket was refused, for whatever reason: deliberately one answer
    /// (the reason is logged and audited). Code 130.
    #[error("the ticket was refused")]
    TicketRefused,
    /// Ticket sign-in is not configured on this server. Code 131.
    #[error("ticket sign-in is not configured on this server")]
    TicketsNotConfigured,
    /// More than one user has the e-mail address the call names. Code 132.
    #[error("more than one user has that e-mail address")]
    AmbiguousEmail,
    /// A browser-tool link's token was refused, for whatever reason: deliberately one answer
    /// (the reason is logged and audited). Code 140.
    #[error("this link is not valid: it may have expired, or it was made for another computer")]
    ToolTokenRefused,
    /// A browser-tool page's grant is unknown, expired, used from another address, or its
    /// session ended: deliberately one answer. Code 141.
    #[error("this page has expired; open the link you were given again")]
    ToolGrantInvalid,
    /// The browser-tool page does not accept this file (too many files, a filtered type).
    /// Code 142.
    #[error("{0}")]
    ToolLimit(String),
    /// The account has a second factor and the sign-in brought no passcode. Code 150.
    #[error("this account signs in with a passcode from its authenticator app as well")]
    PasscodeRequired,
    /// The passcode (or recovery code) is wrong, malformed, or was already used. Code 151.
    #[error("the passcode is wrong or was already used")]
    PasscodeRefused,
    /// Two-step sign-in is not set up on this server (no `[totp] key`). Code 152.
    #[error("two-step sign-in is not available on this server")]
    SecondFactorUnavailable,
    /// The account's role requires a second factor it has not set up: enrol in the web
    /// client first. Code 153.
    #[error("this account must set up two-step sign-in first (in the web client)")]
    SecondFactorSetupRequired,
    /// The folder does not exist, is deleted, or is not visible to the caller. Code 201.
    #[error("folder not found")]
    FolderNotFound,
    /// The file does not exist, is deleted, or is not visible to the caller. Code 202.
    #[error("file not found")]
    FileNotFound,
    /// A file with that name exists and the caller asked not to overwrite. Code 204.
    #[error("a file with that name already exists in the folder")]
    FileExists,
    /// The uploaded bytes do not match the declared length or digest; nothing was stored.
    /// Code 205.
    #[error("the upload does not match its declared {0}; nothing was stored")]
    ContentMismatch(&'static str),
    /// No space is left for content; nothing was stored. Code 206.
    #[error("no space left on the server; nothing was stored")]
    StorageFull,
    /// The upload would take its user past their storage quota ([`crate::domain::quota`]);
    /// nothing was stored. Code 209.
    #[error(
        "over the storage quota: {stored} of {quota}, and deleted files count until \
         their content is purged; nothing was stored"
    )]
    OverQuota {
        /// The user's bound, as people read it.
        quota: String,
        /// What they had stored when refused, and reserved by resumable uploads in progress if
        /// anything, as people read it ("600 KiB stored").
        stored: String,
    },
    /// The folder is not empty and the operation removes empty folders only (the file
    /// protocols' `RMD`/`RMDIR`). Code 207.
    #[error("the folder is not empty")]
    FolderNotEmpty,
    /// `Save…Metadata` names a metadata item the folder or file does not have. Code 208.
    #[error("the folder or file has no metadata item with that name; create it first")]
    MetadataItemNotFound,
    /// The user group does not exist. Code 203.
    #[error("user group not found")]
    GroupNotFound,
    /// The user (or the tool token or shared link uploads go through) has this many uploads in progress on
    /// this node already (each holds up to 2 MiB of buffers until it ends); one must end
    /// first. Code 121.
    #[error(
        "too many uploads at once for this user or link (at most {0} on this server); let some finish first"
    )]
    TooManyUploads(usize),
    /// An argument is missing, of the wrong type, or out of range. Code 110.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The metadata store or the content store cannot be reached; retry later. Code 120.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// A bug or an unexpected failure; the detail is for the log only. Code 90000.
    #[error("unexpected error")]
    Internal(String),
}

impl Error {
    /// What a file protocol tells a person whose sign-in was refused with this error, where
    /// they can act on it (wait out a lock-out, free space, set up the second factor), with
    /// the code the API answers; `None` for wrong credentials, which get a bare refusal.
    pub fn sign_in_explanation(&self) -> Option<String> {
        match self {
            Error::LockedOut { retry_after_secs } => Some(format!(
                "Too many failed sign-ins for this account from this address: try again in {} \
                 (error 103).",
                match retry_after_secs {
                    0..=90 => format!("{retry_after_secs} seconds"),
                    s => format!("{} minutes", s.div_ceil(60)),
                }
            )),
            Error::StorageFull | Error::Unavailable | Error::SecondFactorSetupRequired => {
                Some(format!("Not signed in: {self} (error {}).", self.code()))
            }
            _ => None,
        }
    }

    /// The documented numeric error code (docs/errors.md).
    pub fn code(&self) -> u32 {
        match self {
            Error::SessionNotFound => 101,
            Error::BadCredentials => 102,
            Error::LockedOut { .. } => 103,
            Error::UnknownApplication => 104,
            Error::NotPermitted(_) => 105,
            Error::UserNotFound => 106,
            Error::UserInactive => 107,
            Error::AlreadyExists(_) => 108,
            Error::InvalidArgument(_) => 110,
            Error::FolderNotFound => 201,
            Error::GroupNotFound => 203,
            Error::FileNotFound => 202,
            Error::FileExists => 204,
            Error::ContentMismatch(_) => 205,
            Error::StorageFull => 206,
            Error::FolderNotEmpty => 207,
            Error::MetadataItemNotFound => 208,
            Error::OverQuota { .. } => 209,
            Error::Unavailable => 120,
            Error::TooManyUploads(_) => 121,
            Error::TicketRefused => 130,
            Error::TicketsNotConfigured => 131,
            Error::AmbiguousEmail => 132,
            Error::ToolTokenRefused => 140,
            Error::ToolGrantInvalid => 141,
            Error::ToolLimit(_) => 142,
            Error::PasscodeRequired => 150,
            Error::PasscodeRefused => 151,
            Error::SecondFactorUnavailable => 152,
            Error::SecondFactorSetupRequired => 153,
            Error::Internal(_) => 90000,
        }
    }

    /// Shorthand for an [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
}

impl From<crate::content::ContentError> for Error {
    fn from(e: crate::content::ContentError) -> Self {
        match e {
            crate::content::ContentError::Full => Error::StorageFull,
            crate::content::ContentError::NotFound => {
                Error::Internal("content missing for a recorded file".into())
            }
            crate::content::ContentError::Unavailable(detail) => {
                tracing::warn!(%detail, "content store unavailable");
                Error::Unavailable
            }
            crate::content::ContentError::Other(detail) => Error::Internal(detail),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "metadata store unavailable");
                Error::Unavailable
            }
            StoreError::Conflict(what) => Error::AlreadyExists(what),
            StoreError::Full(detail) => {
                tracing::warn!(%detail, "metadata database out of space");
                Error::StorageFull
            }
            StoreError::Other(detail) => Error::Internal(detail),
        }
    }
}
