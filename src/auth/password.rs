//! Passwords are stored as argon2id PHC strings with OWASP's recommended parameters
//! (19 MiB of memory, 2 iterations, 1 lane).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::distr::{Alphanumeric, SampleString};

fn hasher() -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(19 * 1024, 2, 1, None)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher()
        .map_err(|e| PasswordError(e.to_string()))?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    match hasher() {
        Ok(argon2) => argon2.verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing anyone knows, with the same parameters: verifying against it costs what a
/// real check costs (made once, on first use; `Application::build` makes it at start).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&generate()).unwrap_or_default())
}

/// A random password for the first platform admin: 24 alphanumerics (≈ 142 bits).
pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 24)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// Argon2 work (19 MiB and tens of milliseconds of a core each), off the async workers and
/// through a `Gate`: at most `concurrency` hashes at a time, so that a flood of logins cannot
/// take every core from everyone else's requests.
#[derive(Debug)]
pub struct PasswordWork {
    gate: crate::gate::Gate,
}

impl PasswordWork {
    /// How long an attempt waits for its turn before it is refused (503).
    pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

    pub fn new(concurrency: usize) -> Self {
        Self {
            gate: crate::gate::Gate::new(concurrency, Self::MAX_WAIT, "password checks"),
        }
    }

    /// Runs `work` (a hash or a verification) on the blocking pool when a turn is free.
    pub async fn run<T, F>(&self, work: F) -> Result<T, crate::error::AppError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _turn = self.gate.enter().await?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(crate::error::AppError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let stored = hash("correct horse battery staple").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery staple", &stored));
        assert!(!verify("correct horse battery stapl", &stored));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(
            hash("same password!").unwrap(),
            hash("same password!").unwrap()
        );
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let a = generate();
        assert_eq!(a.chars().count(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate());
    }
}
