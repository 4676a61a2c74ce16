//! Access IDs: the public download IDs of SARG 2.7.2.2's session-less download token
//! (`FilePublicID`, the `AccessID` that `RetrieveUploadInfo` gives). An access ID names a file
//! and the user who asked for it, and proves that this server made it: `base64url(file ‖ user
//! ‖ HMAC-SHA256(key, "ferry-access-id" ‖ file ‖ user)[..16])`, 43 characters, under a key
//! derived from the tools' shared key ([`ACCESS_KDF_INFO`]). Nothing is stored: the server
//! recomputes the MAC, compares it in constant time, and then checks the user's rights as
//! they are at that moment. Changing the shared key voids every access ID.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};

use crate::ToolTokenKeys;

/// HKDF-SHA256 `info` of the access-ID key.
pub const ACCESS_KDF_INFO: &[u8] = b"ferry-access-id-v1";
/// Length of an access ID, in characters.
pub const ACCESS_ID_CHARS: usize = 43;
const MAC_LEN: usize = 16;

type HmacSha256 = hmac::Hmac<sha2_011::Sha256>;

impl ToolTokenKeys {
    fn access_mac(&self, file: i64, user: i64) -> [u8; MAC_LEN] {
        let mut mac = HmacSha256::new_from_slice(&self.access).expect("HMAC takes any key");
        mac.update(b"ferry-access-id");
        mac.update(&file.to_be_bytes());
        mac.update(&user.to_be_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The access ID of `file` for `user`.
    pub fn access_id(&self, file: i64, user: i64) -> String {
        let mut raw = Vec::with_capacity(16 + MAC_LEN);
        raw.extend_from_slice(&file.to_be_bytes());
        raw.extend_from_slice(&user.to_be_bytes());
        raw.extend_from_slice(&self.access_mac(file, user));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The file and user an access ID names, if this server made it.
    pub fn open_access_id(&self, text: &str) -> Option<(i64, i64)> {
        if text.len() != ACCESS_ID_CHARS {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
        if raw.len() != 16 + MAC_LEN {
            return None;
        }
        let file = i64::from_be_bytes(raw[..8].try_into().ok()?);
        let user = i64::from_be_bytes(raw[8..16].try_into().ok()?);
        crate::constant_time_eq(&raw[16..], &self.access_mac(file, user)).then_some((file, user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(key: &str) -> ToolTokenKeys {
        ToolTokenKeys::from_base64(key, None, false).unwrap()
    }

    #[test]
    fn round_trip_and_forgery() {
        let k = keys("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let id = k.access_id(42, 7);
        assert_eq!(id.len(), ACCESS_ID_CHARS);
        assert_eq!(k.open_access_id(&id), Some((42, 7)));
        // Another key, another file or user, a flipped character: refused.
        let other = keys("HwECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        assert_eq!(other.open_access_id(&id), None);
        let mut forged = k.access_id(43, 7);
        forged.replace_range(..11, &id[..11]);
        assert_eq!(k.open_access_id(&forged), None);
        let mut flipped = id.clone().into_bytes();
        flipped[30] = if flipped[30] == b'A' { b'B' } else { b'A' };
        assert_eq!(k.open_access_id(&String::from_utf8(flipped).unwrap()), None);
        assert_eq!(k.open_access_id("42"), None);
        assert_eq!(k.open_access_id(&"A".repeat(ACCESS_ID_CHARS)), None);
    }
}
