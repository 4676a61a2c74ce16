//! Sessions: what `Open*` creates and every later call presents.

use crate::clock::Timestamp;
use crate::domain::{ApplicationId, UserId};

/// A session identifier. Its `Debug` form is redacted so that it never reaches a log by
/// accident (DESIGN.md §5, invariant 6); [`SessionId::tag`] gives a safe correlation handle.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub uuid::Uuid);

impl SessionId {
    /// A new random session ID from the OS RNG.
    pub fn generate() -> Self {
        SessionId(ferry_crypto::new_session_guid())
    }

    /// Parses a GUID in any of the usual text forms (hyphenated, simple, braced, URN).
    pub fn parse(text: &str) -> Option<SessionId> {
        uuid::Uuid::parse_str(text.trim()).ok().map(SessionId)
    }

    /// The GUID in the hyphenated form of the wire and the store.
    pub fn to_wire(&self) -> String {
        self.0.hyphenated().to_string()
    }

    /// A short, one-way tag of the ID for audit records and logs (first 12 hex digits of its
    /// SHA-256): lets an administrator correlate records without holding a usable secret.
    pub fn tag(&self) -> String {
        ferry_crypto::sha256_hex(self.to_wire().as_bytes())[..12].to_string()
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId(tag {})", self.tag())
    }
}

/// A live session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The secret ID.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// Which application opened it.
    pub application_id: ApplicationId,
    /// Immutable sessions are never replaced by a later sign-in; they expire instead.
    pub immutable: bool,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it was last presented (updated at most once a minute).
    pub last_used_at: Timestamp,
    /// When it stops working; `None` for sessions that live until replaced or closed.
    pub expires_at: Option<Timestamp>,
    /// The `clientVersion` given at sign-in.
    pub client_version: Option<String>,
    /// The client's IP address (or the `ipAddress` given to an impersonating call).
    pub client_ip: Option<String>,
    /// The service user who opened this session on the user's behalf.
    pub impersonator_id: Option<UserId>,
    /// The `userString` recorded as external user in the audit of this session's transfers.
    pub external_user: Option<String>,
    /// The SSH key (`SHA256:…` fingerprint) that opened this SFTP session; removing the key
    /// ends the session.
    pub ssh_key: Option<String>,
}

/// `FTHSessionData`: what every `Open*` call answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionData {
    /// `SessionID`.
    pub session_id: SessionId,
    /// `UserID`.
    pub user_id: UserId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_form_never_shows_the_id() {
        let id = SessionId::generate();
        let shown = format!("{id:?}");
        assert!(!shown.contains(&id.to_wire()));
        assert!(shown.contains(&id.tag()));
    }
}
