//! The second factor's cryptography: RFC 6238 passcodes as every authenticator app makes them
//! (SHA-1, 6 digits, 30 s steps, one step of clock skew either way) through `totp-rs`; the
//! secret sealed for the database under the configured key (AES-256-GCM, bound to the user's
//! ID so a sealed secret copied to another row does not open); and single-use recovery codes,
//! stored only as SHA-256 digests (each has 50 random bits, so a slow hash adds nothing).

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use totp_rs::{Algorithm, Builder, Totp};

/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;
/// Seconds per step.
pub const STEP_SECS: u64 = 30;
const NONCE_LEN: usize = 12;
const SEAL_VERSION: u8 = 1;

/// The key second-factor secrets are sealed under (`[totp] key`).
#[derive(Clone)]
pub struct TotpKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpKey(<redacted>)")
    }
}

impl TotpKey {
    /// A key from 32 bytes.
    pub fn new(key: &[u8; 32]) -> TotpKey {
        TotpKey {
            cipher: Aes256Gcm::new_from_slice(key).expect("a 32-byte key fits AES-256"),
        }
    }

    fn aad(user_id: i64) -> Vec<u8> {
        let mut aad = b"ferry totp secret\0".to_vec();
        aad.push(SEAL_VERSION);
        aad.extend_from_slice(&user_id.to_be_bytes());
        aad
    }

    /// Seals `secret` for `user_id`'s row: base64 of version, nonce and ciphertext.
    pub fn seal(&self, user_id: i64, secret: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random number generator is available");
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &Self::aad(user_id),
                },
            )
            .expect("AES-GCM encryption of a short secret cannot fail");
        let mut out = vec![SEAL_VERSION];
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    /// Opens what [`TotpKey::seal`] made for `user_id`; `None` for anything else (another
    /// key, another user's row, a damaged value).
    pub fn open(&self, user_id: i64, sealed: &str) -> Option<Vec<u8>> {
        let raw = STANDARD.decode(sealed.as_bytes()).ok()?;
        if raw.len() < 1 + NONCE_LEN + 16 || raw[0] != SEAL_VERSION {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = raw[1..1 + NONCE_LEN].try_into().ok()?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &raw[1 + NONCE_LEN..],
                    aad: &Self::aad(user_id),
                },
            )
            .ok()
    }
}

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    getrandom::fill(&mut secret).expect("the OS random number generator is available");
    secret
}

fn totp(secret: &[u8], issuer: Option<&str>, account: Option<&str>) -> Totp {
    let mut b = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(STEP_SECS)
        .with_skew(1)
        .with_secret(secret);
    if let Some(account) = account {
        // otpauth labels use ':' between issuer and account.
        b = b.with_account_name(account.replace(':', "_"));
    }
    if let Some(issuer) = issuer {
        b = b.with_issuer(Some(issuer.replace(':', "_")));
    }
    b.build()
        .expect("SHA-1, 6 digits, 30 s and a 160-bit secret are valid")
}

/// The secret as authenticator apps take it typed in: RFC 4648 base32 without padding.
pub fn secret_base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret).to_base32()
}

/// The `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…` URL that QR codes carry.
pub fn otpauth_url(secret: &[u8], issuer: &str, account: &str) -> String {
    totp(secret, Some(issuer), Some(account))
        .to_url()
        .expect("an account name is set")
}

/// The step a `passcode` matches at `unix_secs` (one step either way), if any. Only exactly
/// six ASCII digits can match.
pub fn matching_step(secret: &[u8], passcode: &str, unix_secs: u64) -> Option<u64> {
    totp(secret, None, None).check(passcode, unix_secs)
}

/// The passcode of `unix_secs`'s step (what an authenticator shows; tests and tools).
pub fn passcode_at(secret: &[u8], unix_secs: u64) -> String {
    totp(secret, None, None).generate(unix_secs).to_string()
}

/// A new recovery code: ten base32 letters and digits in two groups (`k7q2m-x9d4p`), 50 bits.
pub fn new_recovery_code() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut raw = [0u8; 10];
    getrandom::fill(&mut raw).expect("the OS random number generator is available");
    let letters: String = raw
        .iter()
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect();
    format!("{}-{}", &letters[..5], &letters[5..])
}

/// Whether `text` has a recovery code's shape (before looking it up).
pub fn looks_like_recovery_code(text: &str) -> bool {
    let t = text.trim();
    t.len() == 11
        && t.as_bytes()[5] == b'-'
        && t.bytes()
            .enumerate()
            .all(|(i, b)| i == 5 || b.is_ascii_alphanumeric())
}

/// The digest a recovery code is stored and looked up by (case-insensitive).
pub fn recovery_digest(code: &str) -> String {
    crate::sha256_hex(
        format!("ferry recovery code\0{}", code.trim().to_ascii_lowercase()).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors_and_the_window() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", last 6 digits.
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(passcode_at(secret, t), code);
            assert_eq!(matching_step(secret, code, t), Some(t / 30));
        }
        // One step either way, not two.
        let code = passcode_at(secret, 1234567890);
        assert!(matching_step(secret, &code, 1234567890 + 30).is_some());
        assert!(matching_step(secret, &code, 1234567890 + 61).is_none());
        for bad in [
            "05924", "0059240", "005 924", " 005924", "+05924", "abcdef", "",
        ] {
            assert_eq!(matching_step(secret, bad, 1234567890), None, "{bad:?}");
        }
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user_and_key() {
        let key = TotpKey::new(&[7; 32]);
        let secret = new_secret();
        let sealed = key.seal(42, &secret);
        assert_eq!(key.open(42, &sealed).unwrap(), secret);
        assert!(key.open(43, &sealed).is_none());
        assert!(TotpKey::new(&[8; 32]).open(42, &sealed).is_none());
        assert!(key.open(42, "garbage").is_none());
        assert_eq!(format!("{key:?}"), "TotpKey(<redacted>)");
    }

    #[test]
    fn recovery_codes_and_urls() {
        let code = new_recovery_code();
        assert!(looks_like_recovery_code(&code), "{code}");
        assert_eq!(
            recovery_digest(&code),
            recovery_digest(&code.to_uppercase())
        );
        assert!(!looks_like_recovery_code("123456"));
        let url = otpauth_url(&[1; 20], "Ferry", "ann:x");
        assert!(url.starts_with("otpauth://totp/Ferry:ann_x?"), "{url}");
        assert!(
            url.contains(&format!("secret={}", secret_base32(&[1; 20]))),
            "{url}"
        );
    }
}
