//! The session ID of a shared link, sealed for the store. The store keeps every session by the
//! SHA-256 of its ID alone, but a link's maker may have its token issued again, and the token
//! names the session by its ID: so the link's row keeps the ID sealed with AES-256-GCM under a
//! key derived from the tools' shared key ([`LINK_KDF_INFO`]), which the database never holds.
//! A copy of the database therefore yields no session, and the tokens of links still need the
//! key that issues them anyway.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::tool_token::ToolTokenKeys;

/// HKDF `info` of the key link sessions are sealed with.
pub const LINK_KDF_INFO: &[u8] = b"ferry-link-session-v1";

const NONCE_LEN: usize = 12;
/// Bound into every seal, so that nothing sealed for another use opens as a link's session.
const AAD: &[u8] = b"ferry share link session";

impl ToolTokenKeys {
    /// Seals a link's 16-byte session ID for its row (base64url, 52 characters).
    pub fn seal_link_session(&self, id: &[u8; 16]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random number generator is available");
        let sealed = self
            .links
            .encrypt(&Nonce::from(nonce), Payload { msg: id, aad: AAD })
            .expect("AES-GCM encryption of 16 bytes cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens what [`ToolTokenKeys::seal_link_session`] sealed; `None` when it was sealed under
    /// another key or altered.
    pub fn open_link_session(&self, sealed: &str) -> Option<[u8; 16]> {
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if raw.len() <= NONCE_LEN {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = raw[..NONCE_LEN].try_into().ok()?;
        let plain = self
            .links
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &raw[NONCE_LEN..],
                    aad: AAD,
                },
            )
            .ok()?;
        plain.try_into().ok()
    }
}

/// The cipher of link sessions, from the tools' shared key.
pub(crate) fn cipher(shared: &[u8; 32]) -> Aes256Gcm {
    use aes_gcm::KeyInit;
    Aes256Gcm::new_from_slice(&crate::tool_token::derived(shared, LINK_KDF_INFO))
        .expect("HKDF gives 32 bytes")
}

#[cfg(test)]
mod tests {

    use crate::tool_token::keys_of_byte as keys;

    #[test]
    fn a_sealed_session_opens_only_under_its_key_and_unaltered() {
        let id = [7u8; 16];
        let sealed = keys(1).seal_link_session(&id);
        assert_eq!(keys(1).open_link_session(&sealed), Some(id));
        assert_eq!(keys(2).open_link_session(&sealed), None);
        // Two seals of one ID differ (a fresh nonce each), and neither shows the ID.
        let again = keys(1).seal_link_session(&id);
        assert_ne!(sealed, again);
        let mut altered = sealed.into_bytes();
        altered[20] = if altered[20] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(keys(1).open_link_session(&altered), None);
        assert_eq!(keys(1).open_link_session("not sealed"), None);
        assert_eq!(keys(1).open_link_session(""), None);
    }

    #[test]
    fn a_tool_token_is_not_a_sealed_session() {
        let k = keys(1);
        let token = k.seal_v2(&[7u8; 16]).unwrap();
        assert_eq!(k.open_link_session(&token), None);
    }
}
