//! Sealing of single sign-on tickets (DESIGN.md §4, docs/sso-tickets.md).
//!
//! The spec gives only the ticket's plaintext; the sealing is Ferry's and is documented for
//! integrators: a 256-bit key derived once from the shared password with PBKDF2-HMAC-SHA256
//! (fixed salt [`TICKET_KDF_SALT`], [`TICKET_KDF_ITERATIONS`] rounds), and AES-256-GCM with a
//! random 96-bit nonce. The sealed form is the standard base64 alphabet, padded, of
//! `version (1 byte) || nonce (12) || ciphertext || tag (16)`, the version byte being
//! authenticated as associated data. Anything else is refused; the reasons differ for the
//! log, never for the caller.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The only sealing version so far.
pub const TICKET_VERSION: u8 = 1;
/// The PBKDF2 salt: fixed and public, so that an integrator derives the same key.
pub const TICKET_KDF_SALT: &[u8] = b"ferry-sso-ticket-v1";
/// PBKDF2-HMAC-SHA256 rounds (OWASP's 2023 figure). The key is derived once per process,
/// so the cost is paid at start-up, not per ticket.
pub const TICKET_KDF_ITERATIONS: u32 = 600_000;
/// Longest sealed ticket accepted, in characters: a ticket carries a user name and a site
/// name, so anything longer is refused before any decoding.
pub const MAX_SEALED_TICKET_CHARS: usize = 4096;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The length in characters of a sealed ticket with `plaintext` bytes: base64 of the version
/// byte, the nonce, the ciphertext and the tag.
fn sealed_chars(plaintext: usize) -> usize {
    (1 + NONCE_LEN + plaintext + TAG_LEN).div_ceil(3) * 4
}

/// Why a sealed ticket could not be opened (for the log only; callers see one error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketSealError {
    /// Longer than [`MAX_SEALED_TICKET_CHARS`].
    #[error("ticket too long")]
    TooLong,
    /// Not canonical, padded standard base64.
    #[error("ticket is not standard base64")]
    Encoding,
    /// Shorter than a version byte, a nonce and a tag.
    #[error("ticket too short")]
    TooShort,
    /// A version byte this server does not know.
    #[error("unknown ticket version")]
    Version,
    /// The tag does not verify: altered, truncated, or sealed under another password.
    #[error("ticket does not authenticate")]
    Authentication,
}

/// The key tickets are sealed under, derived from the shared password.
#[derive(Clone)]
pub struct TicketKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(<redacted>)")
    }
}

impl TicketKey {
    /// Derives the key from the shared password (slow by design: run it once, off the
    /// async runtime).
    pub fn derive(password: &str) -> TicketKey {
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2_011::Sha256>(
            password.as_bytes(),
            TICKET_KDF_SALT,
            TICKET_KDF_ITERATIONS,
            &mut key,
        );
        let cipher = Aes256Gcm::new_from_slice(&key).expect("a 32-byte key fits AES-256");
        key.fill(0);
        TicketKey { cipher }
    }

    /// Seals `plaintext` under a fresh random nonce; [`TicketSealError::TooLong`] when the
    /// sealed ticket would be longer than [`TicketKey::open`] accepts (what is refused is never
    /// issued; found by the `ticket` fuzz target).
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, TicketSealError> {
        if sealed_chars(plaintext.len()) > MAX_SEALED_TICKET_CHARS {
            return Err(TicketSealError::TooLong);
        }
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random number generator is available");
        Ok(self.seal_with_nonce(plaintext, nonce))
    }

    fn seal_with_nonce(&self, plaintext: &[u8], nonce: [u8; NONCE_LEN]) -> String {
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &[TICKET_VERSION],
                },
            )
            .expect("AES-GCM encryption of a bounded message cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(TICKET_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    /// Opens a sealed ticket, returning its plaintext bytes (not yet known to be UTF-8).
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, TicketSealError> {
        if sealed.len() > MAX_SEALED_TICKET_CHARS {
            return Err(TicketSealError::TooLong);
        }
        let raw = STANDARD
            .decode(sealed.as_bytes())
            .map_err(|_| TicketSealError::Encoding)?;
        if raw.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(TicketSealError::TooShort);
        }
        if raw[0] != TICKET_VERSION {
            return Err(TicketSealError::Version);
        }
        let nonce: [u8; NONCE_LEN] = raw[1..1 + NONCE_LEN].try_into().expect("length checked");
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &raw[1 + NONCE_LEN..],
                    aad: &raw[..1],
                },
            )
            .map_err(|_| TicketSealError::Authentication)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TicketKey {
        TicketKey::derive("correct horse battery staple")
    }

    #[test]
    fn round_trip() {
        let k = key();
        let sealed = k.seal(b"<token/>").unwrap();
        assert_eq!(k.open(&sealed).unwrap(), b"<token/>");
        // A fresh nonce each time.
        assert_ne!(sealed, k.seal(b"<token/>").unwrap());
    }

    #[test]
    fn what_would_be_refused_is_not_sealed() {
        let k = key();
        let longest = (0..4096)
            .rev()
            .find(|n| sealed_chars(*n) <= MAX_SEALED_TICKET_CHARS)
            .unwrap();
        let fits = vec![b'x'; longest];
        assert_eq!(k.open(&k.seal(&fits).unwrap()).unwrap(), fits);
        assert_eq!(
            k.seal(&vec![b'x'; longest + 1]),
            Err(TicketSealError::TooLong)
        );
    }

    #[test]
    fn known_answer_matches_the_documented_construction() {
        // Computed independently with Python `cryptography` (docs/sso-tickets.md's recipe):
        // PBKDF2HMAC(SHA256, 32, b"ferry-sso-ticket-v1", 600000) and AESGCM with aad b"\x01".
        let k = TicketKey::derive("s3cret-shared-password");
        let sealed = k.seal_with_nonce(b"hello", [7u8; 12]);
        assert_eq!(sealed, KNOWN_SEALED);
    }
    const KNOWN_SEALED: &str = "AQcHBwcHBwcHBwcHB5qoQTISs7IUBxsFDEayc7mWSEd/MA==";

    #[test]
    fn every_single_bit_flip_is_refused() {
        let k = key();
        let sealed = k.seal(b"<token timestamp=\"x\"/>").unwrap();
        let raw = STANDARD.decode(&sealed).unwrap();
        for i in 0..raw.len() * 8 {
            let mut bad = raw.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(k.open(&STANDARD.encode(&bad)).is_err(), "bit {i}");
        }
    }

    #[test]
    fn malformed_forms_are_refused() {
        let k = key();
        let sealed = k.seal(b"<token/>").unwrap();
        let raw = STANDARD.decode(&sealed).unwrap();
        let url_safe = base64::engine::general_purpose::URL_SAFE.encode(&raw);
        if url_safe != sealed {
            assert_eq!(k.open(&url_safe), Err(TicketSealError::Encoding));
        }
        assert!(k.open(&sealed[..sealed.len() - 4]).is_err());
        assert_eq!(
            k.open(&format!("{sealed}==")),
            Err(TicketSealError::Encoding)
        );
        assert_eq!(
            k.open(&STANDARD.encode(&raw[..raw.len() - 1])),
            Err(TicketSealError::Authentication)
        );
        assert_eq!(k.open(""), Err(TicketSealError::TooShort));
        assert_eq!(
            k.open(&"A".repeat(MAX_SEALED_TICKET_CHARS + 4)),
            Err(TicketSealError::TooLong)
        );
        let other = TicketKey::derive("another password");
        assert_eq!(other.open(&sealed), Err(TicketSealError::Authentication));
        let mut v2 = raw.clone();
        v2[0] = 2;
        assert_eq!(k.open(&STANDARD.encode(&v2)), Err(TicketSealError::Version));
    }
}
