//! Password hashing with Argon2id, stored as PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
//!
//! The parameters travel inside every stored hash, so changing [`PasswordParams`] affects new
//! hashes only and old ones keep verifying. The default is OWASP's recommendation for Argon2id
//! (19 MiB, 2 passes, 1 lane).

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Number of passes over the memory.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The configured parameters are outside what Argon2 accepts.
    #[error("invalid Argon2 parameters: {0}")]
    Params(String),
    /// The hash function itself failed (for example, the OS RNG was unavailable for the salt).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Hashes and verifies passwords. Cheap to clone; holds only the parameters.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: PasswordParams,
    /// A hash of a random password, verified against when the account does not exist, so that
    /// "unknown user" costs the same time as "wrong password".
    decoy_hash: String,
}

impl PasswordHasher {
    /// A hasher with the given parameters; fails if Argon2 rejects them.
    pub fn new(params: PasswordParams) -> Result<Self, PasswordError> {
        let mut hasher = PasswordHasher {
            params,
            decoy_hash: String::new(),
        };
        let decoy_password = crate::random::new_session_guid().to_string();
        hasher.decoy_hash = hasher.hash(&decoy_password)?;
        Ok(hasher)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> PasswordParams {
        self.params
    }

    fn argon2(&self) -> Result<Argon2<'static>, PasswordError> {
        let params = Params::new(
            self.params.memory_kib,
            self.params.iterations,
            self.params.parallelism,
            None,
        )
        .map_err(|e| PasswordError::Params(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes `password` with a fresh random salt; returns the PHC string to store.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let hash = self
            .argon2()?
            .hash_password(password.as_bytes())
            .map_err(|e| PasswordError::Hashing(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches `stored` (a PHC string). A malformed stored hash never matches.
    /// The comparison inside Argon2 is constant-time.
    pub fn verify(&self, password: &str, stored: &str) -> bool {
        match self.argon2() {
            Ok(argon2) => argon2.verify_password(password.as_bytes(), stored).is_ok(),
            Err(_) => false,
        }
    }

    /// Spends the time of one verification against a hash nobody knows the password of.
    /// Called when the account does not exist; always answers `false`.
    pub fn verify_decoy(&self, password: &str) -> bool {
        let _ = self.verify(password, &self.decoy_hash);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = cheap();
        let stored = h.hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(h.verify("correct horse", &stored));
        assert!(!h.verify("correct horse ", &stored));
        assert!(!h.verify("", &stored));
    }

    #[test]
    fn hashes_are_salted() {
        let h = cheap();
        assert_ne!(h.hash("same").unwrap(), h.hash("same").unwrap());
    }

    #[test]
    fn hashes_made_with_other_parameters_still_verify() {
        let old = cheap().hash("pw").unwrap();
        let newer = PasswordHasher::new(PasswordParams {
            memory_kib: 128,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap();
        assert!(newer.verify("pw", &old));
    }

    #[test]
    fn malformed_stored_hashes_never_match() {
        let h = cheap();
        assert!(!h.verify("pw", ""));
        assert!(!h.verify("pw", "$argon2id$garbage"));
        assert!(!h.verify_decoy("pw"));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(
            PasswordHasher::new(PasswordParams {
                memory_kib: 1,
                iterations: 0,
                parallelism: 1
            })
            .is_err()
        );
    }
}
