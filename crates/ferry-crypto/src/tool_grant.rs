//! A tool page's grant: the 256-bit bearer secret a page presents on every request once its
//! token was accepted. It is derived, not drawn: `base64url(HMAC-SHA256(key, "ferry-tool-grant"
//! ‖ page key))`, 43 characters, under a key derived from the tools' shared key
//! ([`GRANT_KDF_INFO`]), where the page key names the token, the tool, its options and the
//! browser's address. So the store keeps only the grant's SHA-256 (what a copy of the
//! database holds opens no page), and a reloaded page, whose grant the store renews, is handed
//! the same grant again without the store holding it. Changing the shared key voids every
//! grant.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};

use crate::ToolTokenKeys;

/// HKDF-SHA256 `info` of the grant key.
pub const GRANT_KDF_INFO: &[u8] = b"ferry-tool-grant-v1";

type HmacSha256 = hmac::Hmac<sha2_011::Sha256>;

impl ToolTokenKeys {
    /// The grant of the page `page_key` names.
    pub fn grant_for_page(&self, page_key: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.grants).expect("HMAC takes any key");
        mac.update(b"ferry-tool-grant");
        mac.update(page_key.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {

    use crate::tool_token::keys_of_byte as keys;

    #[test]
    fn a_page_has_one_grant_per_key_and_pages_differ() {
        let a = keys(1).grant_for_page("page one");
        assert_eq!(a.len(), 43);
        assert_eq!(a, keys(1).grant_for_page("page one"));
        assert_ne!(a, keys(1).grant_for_page("page two"));
        assert_ne!(a, keys(2).grant_for_page("page one"));
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
