//! Encryption of the browser tools' tokens (spec 004, DESIGN.md §4, docs/upload-tool.md).
//!
//! **Version 1** is the spec's, kept for existing integrations: AES-256-CBC with PKCS#7
//! padding under a shared 32-byte key and a shared, fixed 16-byte IV. It has no integrity
//! and a fixed IV, so whoever calls [`ToolTokenKeys::open`] must answer every failure the
//! same way (no padding oracle) and count failures toward the address lock-out.
//!
//! **Version 2** is Ferry's and recommended: AES-256-GCM with a random 96-bit nonce, under a
//! key derived from the same shared key with HKDF-SHA256 (no salt, info
//! [`V2_KDF_INFO`]) so that no AES key is ever used in two modes. The sealed form is
//! `0x02 || nonce (12) || ciphertext || tag (16)`, the first byte authenticated as associated
//! data.
//!
//! Both travel as base64 in a URL, so [`decode_token_text`] accepts the standard and URL-safe
//! alphabets, with or without padding, percent-encoded or not, and a `+` that a query string
//! turned into a space.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

/// The first byte of a version-2 token.
pub const V2_TAG: u8 = 2;
/// HKDF-SHA256 `info` of the version-2 key.
pub const V2_KDF_INFO: &[u8] = b"ferry-tool-token-v2";
/// Longest token accepted, in characters as received (before any decoding).
pub const MAX_TOKEN_CHARS: usize = 8192;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const BLOCK: usize = 16;

/// Why a token could not be opened (for the log only: callers see one answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ToolTokenError {
    /// Longer than [`MAX_TOKEN_CHARS`].
    #[error("token too long")]
    TooLong,
    /// Not base64 in any accepted form.
    #[error("token is not base64")]
    Encoding,
    /// Neither a version-2 seal that authenticates nor, with version 1 on, a CBC ciphertext
    /// with valid padding.
    #[error("token does not decrypt")]
    Decryption,
    /// Version-1 tokens are turned off (when sealing one).
    #[error("version-1 tokens are turned off on this server")]
    VersionOneOff,
}

/// Why the configured key material was refused (at start-up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolKeyError {
    /// The key is not base64.
    #[error("the token key is not base64")]
    KeyEncoding,
    /// The key does not decode to 32 bytes.
    #[error("the token key must decode to 32 bytes (AES-256), not {0}")]
    KeyLength(usize),
    /// The IV is not base64.
    #[error("the token IV is not base64")]
    IvEncoding,
    /// The IV does not decode to 16 bytes.
    #[error("the token IV must decode to 16 bytes, not {0}")]
    IvLength(usize),
    /// Version 1 is on but no IV is configured.
    #[error("version-1 tokens need an IV; configure one or turn version 1 off")]
    IvMissing,
}

/// The keys tokens are opened (and, for tooling and tests, sealed) with.
#[derive(Clone)]
pub struct ToolTokenKeys {
    v1: Option<([u8; 32], [u8; 16])>,
    v2: Aes256Gcm,
    /// The HMAC key of access IDs ([`crate::access_id`]).
    pub(crate) access: [u8; 32],
    /// The cipher shared links' sessions are sealed with ([`crate::link_session`]).
    pub(crate) links: Aes256Gcm,
    /// The HMAC key of tool pages' grants ([`crate::tool_grant`]).
    pub(crate) grants: [u8; 32],
}

impl std::fmt::Debug for ToolTokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ToolTokenKeys(<redacted>, v1 {})",
            if self.v1.is_some() { "on" } else { "off" }
        )
    }
}

/// Base64 of configured keys: .NET's `Convert.ToBase64String` output and its lenient reading
/// (the spec's own sample key has non-zero trailing bits).
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl ToolTokenKeys {
    /// Keys from the configured base64 key and IV. With `v1_enabled` the IV is required.
    pub fn from_base64(
        key: &str,
        iv: Option<&str>,
        v1_enabled: bool,
    ) -> Result<ToolTokenKeys, ToolKeyError> {
        let key = LENIENT_STANDARD
            .decode(key.trim())
            .map_err(|_| ToolKeyError::KeyEncoding)?;
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| ToolKeyError::KeyLength(key.len()))?;
        let v1 = match (v1_enabled, iv) {
            (false, _) => None,
            (true, None) => return Err(ToolKeyError::IvMissing),
            (true, Some(iv)) => {
                let iv = LENIENT_STANDARD
                    .decode(iv.trim())
                    .map_err(|_| ToolKeyError::IvEncoding)?;
                let iv: [u8; 16] = iv
                    .as_slice()
                    .try_into()
                    .map_err(|_| ToolKeyError::IvLength(iv.len()))?;
                Some((key, iv))
            }
        };
        Ok(ToolTokenKeys {
            v1,
            v2: Aes256Gcm::new_from_slice(&derived(&key, V2_KDF_INFO))
                .expect("HKDF gives 32 bytes"),
            access: derived(&key, crate::access_id::ACCESS_KDF_INFO),
            links: crate::link_session::cipher(&key),
            grants: derived(&key, crate::tool_grant::GRANT_KDF_INFO),
        })
    }

    /// Whether version-1 tokens are accepted.
    pub fn v1_enabled(&self) -> bool {
        self.v1.is_some()
    }

    /// Encrypts a version-1 token (standard base64). Refused when version 1 is off, or when
    /// the token would be longer than [`ToolTokenKeys::open`] accepts (what is refused is
    /// never issued).
    pub fn seal_v1(&self, plaintext: &[u8]) -> Result<String, ToolTokenError> {
        let (key, iv) = self.v1.as_ref().ok_or(ToolTokenError::VersionOneOff)?;
        if ((plaintext.len() / BLOCK + 1) * BLOCK).div_ceil(3) * 4 > MAX_TOKEN_CHARS {
            return Err(ToolTokenError::TooLong);
        }
        let ct = cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into())
            .encrypt_padded_vec::<Pkcs7>(plaintext);
        Ok(STANDARD.encode(ct))
    }

    /// Seals a version-2 token (standard base64) under a fresh random nonce; refused when it
    /// would be longer than [`ToolTokenKeys::open`] accepts.
    pub fn seal_v2(&self, plaintext: &[u8]) -> Result<String, ToolTokenError> {
        if (1 + NONCE_LEN + plaintext.len() + TAG_LEN).div_ceil(3) * 4 > MAX_TOKEN_CHARS {
            return Err(ToolTokenError::TooLong);
        }
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random number generator is available");
        Ok(self.seal_v2_with_nonce(plaintext, nonce))
    }

    fn seal_v2_with_nonce(&self, plaintext: &[u8], nonce: [u8; NONCE_LEN]) -> String {
        let sealed = self
            .v2
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &[V2_TAG],
                },
            )
            .expect("AES-GCM encryption of a bounded message cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(V2_TAG);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    /// Opens a token as received in a URL: returns the sealing version (1 or 2) and the
    /// plaintext. The plaintext's own `Version` must then agree with the sealing version.
    pub fn open(&self, text: &str) -> Result<(u8, Vec<u8>), ToolTokenError> {
        let raw = decode_token_text(text)?;
        if raw.first() == Some(&V2_TAG)
            && raw.len() >= 1 + NONCE_LEN + TAG_LEN
            && let Ok(plain) = self.open_v2(&raw)
        {
            return Ok((2, plain));
        }
        // A version-1 ciphertext may begin with 0x02 by chance: fall through to CBC.
        if let Some((key, iv)) = &self.v1
            && !raw.is_empty()
            && raw.len() % BLOCK == 0
        {
            return cbc::Decryptor::<aes::Aes256>::new(key.into(), iv.into())
                .decrypt_padded_vec::<Pkcs7>(&raw)
                .map(|plain| (1, plain))
                .map_err(|_| ToolTokenError::Decryption);
        }
        Err(ToolTokenError::Decryption)
    }

    fn open_v2(&self, raw: &[u8]) -> Result<Vec<u8>, ToolTokenError> {
        let nonce: [u8; NONCE_LEN] = raw[1..1 + NONCE_LEN].try_into().expect("length checked");
        self.v2
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &raw[1 + NONCE_LEN..],
                    aad: &raw[..1],
                },
            )
            .map_err(|_| ToolTokenError::Decryption)
    }
}

/// Keys whose shared key is 32 copies of `byte`, for tests.
#[cfg(test)]
pub(crate) fn keys_of_byte(byte: u8) -> ToolTokenKeys {
    let key = STANDARD.encode([byte; 32]);
    ToolTokenKeys::from_base64(&key, None, false).expect("a 32-byte key")
}

/// A key derived from the shared key for one use (`info`), so that no key serves two.
pub(crate) fn derived(shared: &[u8; 32], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<sha2_011::Sha256>::new(None, shared)
        .expand(info, &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

/// The bytes of a token as it arrives in a URL: percent-decoded when it still contains `%`,
/// spaces read as `+` (a query string's reading of an unencoded `+`), URL-safe characters
/// read as standard ones, padding optional.
pub fn decode_token_text(text: &str) -> Result<Vec<u8>, ToolTokenError> {
    if text.len() > MAX_TOKEN_CHARS {
        return Err(ToolTokenError::TooLong);
    }
    let unescaped: String = if text.contains('%') {
        percent_decode(text).ok_or(ToolTokenError::Encoding)?
    } else {
        text.to_string()
    };
    let normal: String = unescaped
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        general_purpose::GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    engine
        .decode(normal.trim_end_matches('='))
        .map_err(|_| ToolTokenError::Encoding)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    const IV: &str = "ABEiM0RVZneImaq7zN3u/w==";

    fn keys() -> ToolTokenKeys {
        ToolTokenKeys::from_base64(KEY, Some(IV), true).unwrap()
    }

    #[test]
    fn what_would_be_refused_is_not_sealed() {
        let k = keys();
        for version in [1u8, 2] {
            let seal = |n: usize| {
                let plain = vec![b'x'; n];
                if version == 1 {
                    k.seal_v1(&plain)
                } else {
                    k.seal_v2(&plain)
                }
            };
            let longest = (0..MAX_TOKEN_CHARS)
                .rev()
                .find(|n| seal(*n).is_ok())
                .unwrap();
            let token = seal(longest).unwrap();
            assert!(token.len() <= MAX_TOKEN_CHARS && token.len() > MAX_TOKEN_CHARS - 32);
            assert_eq!(k.open(&token).unwrap(), (version, vec![b'x'; longest]));
            assert_eq!(seal(longest + 1), Err(ToolTokenError::TooLong));
        }
    }

    #[test]
    fn version_1_matches_openssl_enc() {
        // printf '%s' '{"Version":"1"}' | openssl enc -aes-256-cbc -base64 -A \
        //   -K abcdef1234567890abcdef1234567890abcdef1234567890abcdef1234567890 \
        //   -iv 00112233445566778899aabbccddeeff
        let sealed = keys().seal_v1(br#"{"Version":"1"}"#).unwrap();
        assert_eq!(sealed, KNOWN_V1);
        assert_eq!(
            keys().open(KNOWN_V1).unwrap(),
            (1, br#"{"Version":"1"}"#.to_vec())
        );
    }
    const KNOWN_V1: &str = "x2R1NwP3H+xILFtEYmOQeg==";

    #[test]
    fn version_2_known_answer() {
        // Python `cryptography`: HKDF(SHA256, 32, salt=None, info=b"ferry-tool-token-v2")
        // over the key, then AESGCM(k).encrypt(b"\x07" * 12, b"hello", b"\x02").
        let sealed = keys().seal_v2_with_nonce(b"hello", [7u8; 12]);
        assert_eq!(sealed, KNOWN_V2);
        assert_eq!(keys().open(KNOWN_V2).unwrap(), (2, b"hello".to_vec()));
    }
    const KNOWN_V2: &str = "AgcHBwcHBwcHBwcHB033MtHMrt2GWvkYSbm17PMU7YCqCw==";

    #[test]
    fn every_url_form_of_a_token_opens() {
        let k = keys();
        // A plaintext whose ciphertext has both '+' and '/' in its base64 (CBC with a fixed
        // IV is deterministic, so the search always ends the same way).
        let (plain, sealed) = (0u8..=255)
            .map(|b| vec![b; 40])
            .map(|p| (p.clone(), k.seal_v1(&p).unwrap()))
            .find(|(_, s)| s.contains('+') && s.contains('/'))
            .unwrap();
        let raw = STANDARD.decode(&sealed).unwrap();
        let url_safe = general_purpose::URL_SAFE_NO_PAD.encode(&raw);
        let percent = sealed
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let spaced = sealed.replace('+', " ");
        for form in [&sealed, &url_safe, &percent, &spaced] {
            assert_eq!(k.open(form).unwrap(), (1, plain.clone()), "{form}");
        }
    }

    #[test]
    fn the_specs_sample_key_is_accepted() {
        // Its last character carries non-zero trailing bits, which .NET ignores.
        let k = ToolTokenKeys::from_base64(
            "AFA3wdfEuCrdFw8QaHFzN6LRXaBoCTHxcWnqNImp7g3=",
            Some("JHnmhMkTjkl8fHqYx/l7bA=="),
            true,
        );
        assert!(k.is_ok());
    }

    #[test]
    fn wrong_key_material_is_refused_at_start_up() {
        assert_eq!(
            ToolTokenKeys::from_base64("AAAA", Some(IV), true).unwrap_err(),
            ToolKeyError::KeyLength(3)
        );
        assert_eq!(
            ToolTokenKeys::from_base64(KEY, Some("AAAA"), true).unwrap_err(),
            ToolKeyError::IvLength(3)
        );
        assert_eq!(
            ToolTokenKeys::from_base64(KEY, None, true).unwrap_err(),
            ToolKeyError::IvMissing
        );
        assert_eq!(
            ToolTokenKeys::from_base64("not base64!", Some(IV), true).unwrap_err(),
            ToolKeyError::KeyEncoding
        );
        assert!(ToolTokenKeys::from_base64(KEY, None, false).is_ok());
    }

    #[test]
    fn tampering_and_other_keys_are_refused() {
        let k = keys();
        let v2 = k.seal_v2(b"{}").unwrap();
        let mut raw = STANDARD.decode(&v2).unwrap();
        for i in 0..raw.len() * 8 {
            let mut bad = raw.clone();
            bad[i / 8] ^= 1 << (i % 8);
            // A flipped version-2 token may only ever open as version 1 garbage, never as 2.
            if let Ok((version, _)) = k.open(&STANDARD.encode(&bad)) {
                assert_eq!(version, 1, "bit {i}");
            }
        }
        raw.truncate(raw.len() - 1);
        assert!(k.open(&STANDARD.encode(&raw)).is_err());
        let other = ToolTokenKeys::from_base64(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            Some(IV),
            true,
        )
        .unwrap();
        assert!(other.open(&v2).is_err());
        let v1_off = ToolTokenKeys::from_base64(KEY, None, false).unwrap();
        assert_eq!(
            v1_off.open(&k.seal_v1(b"{}").unwrap()),
            Err(ToolTokenError::Decryption)
        );
        assert_eq!(v1_off.open(&v2).unwrap().0, 2);
        assert_eq!(k.open("%zz"), Err(ToolTokenError::Encoding));
        assert_eq!(k.open("a*b"), Err(ToolTokenError::Encoding));
        assert_eq!(k.open(""), Err(ToolTokenError::Decryption));
        assert_eq!(
            k.open(&"A".repeat(MAX_TOKEN_CHARS + 1)),
            Err(ToolTokenError::TooLong)
        );
    }
}
