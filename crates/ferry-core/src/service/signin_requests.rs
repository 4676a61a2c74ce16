//! What a sign-in asks for: a password sign-in (`Open`, `OpenImmutable`, and the file
//! protocols' sign-ins through them) and a sign-in on behalf of another user. The Service's
//! handling is in `signin.rs`.

use crate::domain::{SessionId, UserId};

/// Whether a sign-in replaces the previous session or adds an immutable one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// `Open`: replaces the user's previous session for the application.
    Replace,
    /// `OpenImmutable`: never replaced; expires.
    Immutable,
}

/// A password sign-in (`Open`, `OpenImmutable`).
#[derive(Clone)]
pub struct OpenRequest {
    /// `userName`.
    pub user_name: String,
    /// `password`.
    pub password: String,
    /// `applicationID`.
    pub application_id: i64,
    /// `clientVersion`, recorded in the audit.
    pub client_version: Option<String>,
    /// Replace or immutable.
    pub mode: OpenMode,
    /// `passcode`: the second factor (six digits or a recovery code), for users who have one.
    pub passcode: Option<String>,
    /// `userString`: who is behind the client, recorded as the external user on every
    /// transfer of the session (RAPR's `Session` and `ImmutableSession`); at most 255
    /// characters.
    pub user_string: Option<String>,
    /// The password may carry the passcode after its last `+` (FTPS's `PASS password+passcode`,
    /// `[ftps] passcode_in_password`): when that tail has a passcode's shape, the text before
    /// it is tried with it as the passcode, then the whole text as the password (a password
    /// may end in `+123456`). Both in one attempt: one failure counted, not two.
    pub passcode_appended: bool,
}

impl std::fmt::Debug for OpenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenRequest")
            .field("user_name", &self.user_name)
            .field("password", &"<redacted>")
            .field("application_id", &self.application_id)
            .field("client_version", &self.client_version)
            .field("mode", &self.mode)
            .field("passcode", &self.passcode.as_ref().map(|_| "<redacted>"))
            .field("user_string", &self.user_string)
            .field("passcode_appended", &self.passcode_appended)
            .finish()
    }
}

/// A sign-in on behalf of another user (`OpenImmutableImpersonate`, `OpenImmutableUserString`).
#[derive(Debug, Clone)]
pub struct ImpersonateRequest {
    /// `serviceSessionId`: a live session of an Administrator or System user.
    pub service_session_id: SessionId,
    /// `userID` of the user to sign in as.
    pub user_id: UserId,
    /// `applicationID`.
    pub application_id: i64,
    /// `ipAddress` of the impersonated user's workstation.
    pub ip_address: String,
    /// `userString`, recorded as external user on every transfer of the session.
    pub user_string: Option<String>,
}
