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
/// bounded: at most `concurrency` hashes run at a time, so that a flood of logins cannot take
/// every core from everyone else's requests. An attempt that cannot start within `max_wait` is
/// refused at once (503 with `Retry-After`) instead of queueing without bound.
#[derive(Debug)]
pub struct PasswordWork {
    permits: tokio::sync::Semaphore,
    max_wait: std::time::Duration,
}

impl PasswordWork {
    /// How long an attempt waits for its turn before it is refused.
    pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(concurrency.max(1)),
            max_wait: Self::MAX_WAIT,
        }
    }

    /// Runs `work` (a hash or a verification) on the blocking pool when a turn is free.
    pub async fn run<T, F>(&self, work: F) -> Result<T, crate::error::AppError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        use crate::error::AppError;
        let busy = || AppError::Unavailable {
            detail: "too many password checks at once: try again in a moment".into(),
            retry_after: std::time::Duration::from_secs(1),
        };
        let _permit = tokio::time::timeout(self.max_wait, self.permits.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(AppError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past its concurrency, password work waits its turn and, after `max_wait`, is refused as
    /// unavailable (503) without running.
    #[tokio::test]
    async fn password_work_is_bounded() {
        let work = std::sync::Arc::new(PasswordWork {
            permits: tokio::sync::Semaphore::new(1),
            max_wait: std::time::Duration::from_millis(100),
        });
        let (started, release) = (
            std::sync::Arc::new(std::sync::Barrier::new(2)),
            std::sync::Arc::new(std::sync::Barrier::new(2)),
        );
        let holder = {
            let (work, started, release) = (work.clone(), started.clone(), release.clone());
            tokio::spawn(async move {
                work.run(move || {
                    started.wait();
                    release.wait();
                    1
                })
                .await
            })
        };
        tokio::task::spawn_blocking({
            let started = started.clone();
            move || started.wait()
        })
        .await
        .unwrap();
        let refused = work.run(|| 2).await.unwrap_err();
        assert_eq!((refused.status(), refused.code()), (503, "unavailable"));
        tokio::task::spawn_blocking(move || release.wait())
            .await
            .unwrap();
        assert_eq!(holder.await.unwrap().unwrap(), 1);
        assert_eq!(work.run(|| 3).await.unwrap(), 3);
    }

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
