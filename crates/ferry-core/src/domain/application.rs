//! Applications registered by integer ID: the spec's `TBL_APPLICATION`.
//!
//! IDs of 1000 and above are registered by an administrator for client developers. IDs below
//! 1000 are reserved for Ferry's own front ends; the migrations create the five below.

use crate::clock::Timestamp;

/// An `ApplicationID`.
pub type ApplicationId = i64;

/// Browser tools (upload and download pages).
pub const WEB_TOOLS: ApplicationId = 1;
/// The SFTP front end.
pub const SFTP: ApplicationId = 2;
/// The FTPS front end.
pub const FTPS: ApplicationId = 3;
/// The administration command line.
pub const ADMIN_CLI: ApplicationId = 4;
/// The web client and the administration console at `/` and `/admin` (issue 17). Its sessions
/// are immutable (a sign-in in a second browser leaves the first signed in) and end when idle
/// for `ServiceConfig::web_idle_ms`.
pub const WEB_CLIENT: ApplicationId = 5;
/// The lowest ID an administrator may register for a client developer.
pub const FIRST_CLIENT_ID: ApplicationId = 1000;

/// Whether `id` is reserved for Ferry's own front ends (below [`FIRST_CLIENT_ID`]). A sign-in
/// through the public API (JSON, tickets, impersonation) with a reserved ID is refused as an
/// unknown application: only Ferry's front ends open sessions for them, in process, so that
/// no client's actions are ever attributed to Ferry's own tools.
pub fn is_reserved(id: ApplicationId) -> bool {
    id < FIRST_CLIENT_ID
}

/// Whether `OpenImmutable` for this application hands back the immutable session the user
/// already has instead of making another (the spec's rule for the SFTP and FTPS IDs).
pub fn reuses_immutable_sessions(id: ApplicationId) -> bool {
    id == SFTP || id == FTPS
}

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// `ApplicationID`.
    pub id: ApplicationId,
    /// A name for administrators.
    pub name: String,
    /// Disabled applications cannot open sessions.
    pub enabled: bool,
    /// When it was registered.
    pub created_at: Timestamp,
}
