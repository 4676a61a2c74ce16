//! Access IDs: the public download IDs of SARG 2.7.2.2's session-less download token
//! (`FilePublicID`, the `AccessID` that `RetrieveUploadInfo` gives). An access ID names a file
//! and the user who asked for it, and proves that this server made it: `base64url(file ‖ user
//! ‖ HMAC-SHA256(key, "ferry-access-id" ‖ file ‖ user)[..16])`, 43 characters, under a key
//! derived from the tools' shared key ([`ACCESS_KDF_INFO`]). One asked for by an
//! administrator's impersonated session also names the administrator, so that what is done
//! with it is audited as done on their behalf, as the session's own acts are: `base64url(file
//! ‖ user ‖ impersonator ‖ HMAC-SHA256(key, "ferry-access-id-on-behalf" ‖ file ‖ user ‖
//! impersonator)[..16])`, 54 characters. Nothing is stored: the server recomputes the MAC,
//! compares it in constant time, and then checks the users' rights as they are at that
//! moment. Changing the shared key voids every access ID.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};

use crate::ToolTokenKeys;

/// HKDF-SHA256 `info` of the access-ID key.
pub const ACCESS_KDF_INFO: &[u8] = b"ferry-access-id-v1";
/// Length of an access ID, in characters.
pub const ACCESS_ID_CHARS: usize = 43;
/// Length of an access ID asked for by an impersonated session, in characters.
pub const ACCESS_ID_ON_BEHALF_CHARS: usize = 54;
const MAC_LEN: usize = 16;

type HmacSha256 = hmac::Hmac<sha2_011::Sha256>;

/// What an access ID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessIdNames {
    /// The file.
    pub file: i64,
    /// The user who asked for it, whose rights its use has.
    pub user: i64,
    /// The administrator whose impersonated session asked for it, if one did.
    pub on_behalf_of: Option<i64>,
}

/// Whether `text` has an access ID's shape (either length, base64url), before any MAC check.
pub fn looks_like_access_id(text: &str) -> bool {
    (text.len() == ACCESS_ID_CHARS || text.len() == ACCESS_ID_ON_BEHALF_CHARS)
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ToolTokenKeys {
    fn access_mac(&self, names: &AccessIdNames) -> [u8; MAC_LEN] {
        let mut mac = HmacSha256::new_from_slice(&self.access).expect("HMAC takes any key");
        match names.on_behalf_of {
            None => mac.update(b"ferry-access-id"),
            Some(_) => mac.update(b"ferry-access-id-on-behalf"),
        }
        mac.update(&names.file.to_be_bytes());
        mac.update(&names.user.to_be_bytes());
        if let Some(admin) = names.on_behalf_of {
            mac.update(&admin.to_be_bytes());
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The access ID of what `names` names.
    pub fn access_id(&self, names: &AccessIdNames) -> String {
        let mut raw = Vec::with_capacity(24 + MAC_LEN);
        raw.extend_from_slice(&names.file.to_be_bytes());
        raw.extend_from_slice(&names.user.to_be_bytes());
        if let Some(admin) = names.on_behalf_of {
            raw.extend_from_slice(&admin.to_be_bytes());
        }
        raw.extend_from_slice(&self.access_mac(names));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// What an access ID names, if this server made it.
    pub fn open_access_id(&self, text: &str) -> Option<AccessIdNames> {
        if !looks_like_access_id(text) {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
        let word = |at: usize| raw.get(at..at + 8)?.try_into().ok().map(i64::from_be_bytes);
        let (names, mac_at) = match raw.len() {
            n if n == 16 + MAC_LEN => (
                AccessIdNames {
                    file: word(0)?,
                    user: word(8)?,
                    on_behalf_of: None,
                },
                16,
            ),
            n if n == 24 + MAC_LEN => (
                AccessIdNames {
                    file: word(0)?,
                    user: word(8)?,
                    on_behalf_of: Some(word(16)?),
                },
                24,
            ),
            _ => return None,
        };
        crate::constant_time_eq(&raw[mac_at..], &self.access_mac(&names)).then_some(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(key: &str) -> ToolTokenKeys {
        ToolTokenKeys::from_base64(key, None, false).unwrap()
    }

    fn names(file: i64, user: i64, on_behalf_of: Option<i64>) -> AccessIdNames {
        AccessIdNames {
            file,
            user,
            on_behalf_of,
        }
    }

    #[test]
    fn round_trip_and_forgery() {
        let k = keys("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let id = k.access_id(&names(42, 7, None));
        assert_eq!(id.len(), ACCESS_ID_CHARS);
        assert_eq!(k.open_access_id(&id), Some(names(42, 7, None)));
        // Another key, another file or user, a flipped character: refused.
        let other = keys("HwECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        assert_eq!(other.open_access_id(&id), None);
        let mut forged = k.access_id(&names(43, 7, None));
        forged.replace_range(..11, &id[..11]);
        assert_eq!(k.open_access_id(&forged), None);
        let mut flipped = id.clone().into_bytes();
        flipped[30] = if flipped[30] == b'A' { b'B' } else { b'A' };
        assert_eq!(k.open_access_id(&String::from_utf8(flipped).unwrap()), None);
        assert_eq!(k.open_access_id("42"), None);
        assert_eq!(k.open_access_id(&"A".repeat(ACCESS_ID_CHARS)), None);
    }

    /// One asked for on an administrator's behalf names them, and cannot be made into one
    /// that does not (or names another) without the key.
    #[test]
    fn on_behalf_of_an_administrator() {
        let k = keys("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let id = k.access_id(&names(42, 7, Some(1)));
        assert_eq!(id.len(), ACCESS_ID_ON_BEHALF_CHARS);
        assert_eq!(k.open_access_id(&id), Some(names(42, 7, Some(1))));
        // The administrator cut off: the plain ID's bytes with the on-behalf MAC's.
        let raw = URL_SAFE_NO_PAD.decode(&id).unwrap();
        let mut cut = raw[..16].to_vec();
        cut.extend_from_slice(&raw[24..]);
        assert_eq!(k.open_access_id(&URL_SAFE_NO_PAD.encode(cut)), None);
        // Another administrator written in.
        let mut other = raw.clone();
        other[16..24].copy_from_slice(&2i64.to_be_bytes());
        assert_eq!(k.open_access_id(&URL_SAFE_NO_PAD.encode(other)), None);
        // A plain ID with a made-up administrator and its own MAC.
        let plain = URL_SAFE_NO_PAD
            .decode(k.access_id(&names(42, 7, None)))
            .unwrap();
        let mut padded = plain[..16].to_vec();
        padded.extend_from_slice(&1i64.to_be_bytes());
        padded.extend_from_slice(&plain[16..]);
        assert_eq!(k.open_access_id(&URL_SAFE_NO_PAD.encode(padded)), None);
        assert!(looks_like_access_id(&id) && !looks_like_access_id(&id[1..]));
    }
}
