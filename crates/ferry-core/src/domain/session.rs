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

    /// What the store keeps of this ID: the SHA-256 of its wire form.
    pub fn key(&self) -> SessionKey {
        SessionKey(ferry_crypto::sha256(self.to_wire().as_bytes()))
    }

    /// A short, one-way tag of the ID for audit records and logs (first 12 hex digits of its
    /// SHA-256): lets an administrator correlate records without holding a usable secret.
    pub fn tag(&self) -> String {
        self.key().tag()
    }
}

/// What the store keeps of a session: the SHA-256 of its ID, never the ID (DESIGN.md §5). A
/// copy of the database, or a query that reads it, yields no session anyone can present: the
/// public calls take an ID and look it up by its key. Ferry's own SFTP and FTPS front ends,
/// which sign in through the Service rather than the wire, hold the key instead of an ID (the
/// spec hands them back the session they already have, and only its key is stored).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey(pub [u8; 32]);

impl SessionKey {
    /// The key as the store's text: 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads the store's text: 64 hex digits; or, in a row written before keys were stored
    /// (a 36-character ID, rewritten at start-up), the key of that ID.
    pub fn parse_stored(text: &str) -> Option<SessionKey> {
        if text.len() == 64 {
            let mut key = [0u8; 32];
            hex::decode_to_slice(text, &mut key).ok()?;
            return Some(SessionKey(key));
        }
        SessionId::parse(text).map(|id| id.key())
    }

    /// The session's tag in audit records and logs: the first 12 hex digits of the key (the
    /// same tag the ID gives).
    pub fn tag(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKey(tag {})", self.tag())
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
    /// The key of its ID (the ID itself is not kept).
    pub key: SessionKey,
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
    /// The application of the session that impersonated the user (`OpenImmutableImpersonate`
    /// may name another application for the new session): disabling it refuses this session
    /// too, since its power is the impersonating integration's. `None` when not impersonated,
    /// and in sessions opened before it was kept (2026-12-07).
    pub impersonator_application_id: Option<ApplicationId>,
    /// The `userString` recorded as external user in the audit of this session's transfers.
    pub external_user: Option<String>,
    /// The SSH key (`SHA256:…` fingerprint) that opened this SFTP session; removing the key
    /// ends the session.
    pub ssh_key: Option<String>,
}

/// A session as a sign-in opened it: always its key, and its ID when the sign-in made it. A
/// sign-in that hands back the session the user already has (SFTP and FTPS, spec 2.3.2)
/// knows only the key, which is all Ferry's own front ends need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenedSession {
    /// The ID, for a session made by this sign-in.
    pub id: Option<SessionId>,
    /// The key the store keeps.
    pub key: SessionKey,
    /// Whose session it is.
    pub user_id: UserId,
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

    #[test]
    fn a_key_tags_as_its_id_and_reads_back_from_either_stored_form() {
        let id = SessionId::generate();
        let key = id.key();
        assert_eq!(key.tag(), id.tag());
        assert_eq!(key.tag().len(), 12);
        assert_eq!(
            key.to_hex(),
            ferry_crypto::sha256_hex(id.to_wire().as_bytes())
        );
        assert_eq!(SessionKey::parse_stored(&key.to_hex()), Some(key));
        assert_eq!(SessionKey::parse_stored(&id.to_wire()), Some(key));
        assert_eq!(SessionKey::parse_stored("not a key"), None);
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }
}
