//! The HMAC keys that sign access tokens, each named by a key id (`kid`) so keys can rotate.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Secret;

/// One signing key.
#[derive(Clone, Debug)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Secret,
}

impl SigningKey {
    /// A configured key: its id is derived from the secret, so every instance given the same
    /// secret names it the same way, and the id reveals nothing usable about the secret.
    pub fn from_secret(secret: Secret) -> Self {
        let digest = Sha256::new()
            .chain_update(b"entente-kid:")
            .chain_update(secret.expose())
            .finalize();
        let kid = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Self { kid, secret }
    }

    /// A new random 512-bit key, for a deployment that configured none.
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_secret(Secret::new(bytes))
    }

    /// The stored form of a generated key's secret.
    pub fn encoded_secret(&self) -> String {
        BASE64.encode(self.secret.expose())
    }

    pub fn decode(kid: String, encoded: &str) -> Option<Self> {
        let bytes = BASE64.decode(encoded).ok()?;
        Some(Self {
            kid,
            secret: Secret::new(bytes),
        })
    }
}

/// The key that signs new tokens, and the previous keys whose tokens are still accepted.
#[derive(Clone, Debug)]
pub struct KeyRing {
    pub current: SigningKey,
    pub previous: Vec<SigningKey>,
}

impl KeyRing {
    /// The key with this id, if it is current or still accepted.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.kid == kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_is_stable_per_secret_and_differs_between_secrets() {
        let a = SigningKey::from_secret(Secret::new(b"0123456789abcdef0123456789abcdef".to_vec()));
        let b = SigningKey::from_secret(Secret::new(b"0123456789abcdef0123456789abcdef".to_vec()));
        let c = SigningKey::from_secret(Secret::new(b"fedcba9876543210fedcba9876543210".to_vec()));
        assert_eq!(a.kid, b.kid);
        assert_ne!(a.kid, c.kid);
        assert_eq!(a.kid.len(), 16);
    }

    #[test]
    fn generated_keys_round_trip_through_storage() {
        let key = SigningKey::generate();
        assert_eq!(key.secret.expose().len(), 64);
        let back = SigningKey::decode(key.kid.clone(), &key.encoded_secret()).unwrap();
        assert_eq!(back.secret, key.secret);
        assert!(SigningKey::decode("k".into(), "***not base64***").is_none());
    }

    #[test]
    fn ring_finds_current_and_previous_only() {
        let ring = KeyRing {
            current: SigningKey::generate(),
            previous: vec![SigningKey::generate()],
        };
        assert!(ring.find(&ring.current.kid).is_some());
        assert!(ring.find(&ring.previous[0].kid).is_some());
        assert!(ring.find("0000000000000000").is_none());
    }
}
