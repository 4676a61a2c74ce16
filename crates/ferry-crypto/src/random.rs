//! Identifiers that must be unguessable, drawn from the operating system's RNG.

/// A new session identifier: a version-4 GUID, 122 bits from the OS RNG (`getrandom`), in the
/// hyphenated lowercase form the spec's `Guid` travels in.
pub fn new_session_guid() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}
