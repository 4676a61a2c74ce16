//! Identifiers that must be unguessable, drawn from the operating system's RNG.

/// A new session identifier: a version-4 GUID, 122 bits from the OS RNG (`getrandom`), in the
/// hyphenated lowercase form the spec's `Guid` travels in.
pub fn new_session_guid() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}

/// A new bearer secret for a URL or header: 256 bits from the OS RNG, URL-safe base64
/// without padding (43 characters).
pub fn new_secret_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
