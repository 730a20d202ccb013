//! Access tokens: HS256 JWTs with a `kid`, verified strictly.
//!
//! Verification pins the algorithm, looks the `kid` up among the current and previous keys,
//! and requires `exp`, `nbf`, `iat`, `iss`, `aud` and `sub`. (jsonwebtoken ≥ 10.3 rejects a
//! string `exp`/`nbf` instead of treating it as absent: CVE-2026-25537.)

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

use super::keys::KeyRing;
use crate::domain::access::Principal;

pub const ISSUER: &str = "entente";
pub const AUDIENCE: &str = "entente-api";
/// Clock skew tolerated between instances, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;

/// The claims of API.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub del: Option<String>,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub nbf: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
    /// The generation of the user's credentials the token was issued under (0 when absent): a
    /// password reset raises it and so ends every earlier token.
    #[serde(default)]
    pub gen: i64,
}

/// Why a token was refused. Never shown to the client beyond "invalid token": the reason is
/// for the log.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token header is malformed: {0}")]
    Header(jsonwebtoken::errors::Error),
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(Algorithm),
    #[error("the token has no key id")]
    NoKeyId,
    #[error("unknown key id")]
    UnknownKeyId,
    #[error("the token is invalid: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("signing failed: {0}")]
    Signing(jsonwebtoken::errors::Error),
}

/// Signs a token for `principal` under credentials generation `generation`, valid from `now`
/// for `ttl`.
pub fn issue(
    keys: &KeyRing,
    principal: &Principal,
    generation: i64,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<(String, Claims), TokenError> {
    let iat = now.timestamp();
    let claims = Claims {
        sub: principal.user_id.to_string(),
        del: principal.delegation_id.as_ref().map(ToString::to_string),
        role: principal.role.as_str().to_owned(),
        iat,
        nbf: iat,
        exp: iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        jti: uuid::Uuid::now_v7().to_string(),
        gen: generation,
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(keys.current.kid.clone());
    let token = encode(
        &header,
        &claims,
        &EncodingKey::from_secret(keys.current.secret.expose()),
    )
    .map_err(TokenError::Signing)?;
    Ok((token, claims))
}

/// Verifies a token against the ring and returns its claims.
pub fn verify(keys: &KeyRing, token: &str) -> Result<Claims, TokenError> {
    let header = decode_header(token).map_err(TokenError::Header)?;
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::Algorithm(header.alg));
    }
    let kid = header.kid.ok_or(TokenError::NoKeyId)?;
    let key = keys.find(&kid).ok_or(TokenError::UnknownKeyId)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    decode::<Claims>(
        token,
        &DecodingKey::from_secret(key.secret.expose()),
        &validation,
    )
    .map(|data| data.claims)
    .map_err(TokenError::Invalid)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use chrono::TimeDelta;

    use super::*;
    use crate::auth::keys::SigningKey;
    use crate::config::Secret;
    use crate::domain::identity::Role;

    fn ring() -> KeyRing {
        KeyRing {
            current: SigningKey::from_secret(Secret::new(
                b"current-secret-0123456789abcdef0123".to_vec(),
            )),
            previous: vec![SigningKey::from_secret(Secret::new(
                b"previous-secret-0123456789abcdef012".to_vec(),
            ))],
        }
    }

    fn principal() -> Principal {
        Principal {
            user_id: "0190a0a0-0000-7000-8000-000000000001".into(),
            username: "alice".into(),
            role: Role::Scheduler,
            delegation_id: Some("0190a0a0-0000-7000-8000-0000000000d1".into()),
            delegation_time_zone: Some("Europe/Zurich".into()),
        }
    }

    fn sign(key: &SigningKey, header: serde_json::Value, claims: serde_json::Value) -> String {
        use hmac::{Hmac, Mac};
        let h = B64.encode(header.to_string());
        let c = B64.encode(claims.to_string());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.secret.expose()).unwrap();
        mac.update(format!("{h}.{c}").as_bytes());
        format!("{h}.{c}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    fn good_claims(now: i64) -> serde_json::Value {
        serde_json::json!({"sub": "u1", "del": null, "role": "viewer", "iat": now, "nbf": now,
            "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE, "jti": "j"})
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let keys = ring();
        let now = Utc::now();
        let (token, claims) =
            issue(&keys, &principal(), 3, Duration::from_secs(3600), now).unwrap();
        assert_eq!(verify(&keys, &token).unwrap(), claims);
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(claims.role, "scheduler");
        assert_eq!(claims.gen, 3);
        let header = decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(keys.current.kid.as_str()));
    }

    #[test]
    fn a_previous_key_is_accepted_until_removed() {
        let keys = ring();
        let now = Utc::now().timestamp();
        let old = &keys.previous[0];
        let token = sign(
            old,
            serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": old.kid}),
            good_claims(now),
        );
        assert!(verify(&keys, &token).is_ok());
        let rotated = KeyRing {
            current: keys.current.clone(),
            previous: vec![],
        };
        assert!(matches!(
            verify(&rotated, &token),
            Err(TokenError::UnknownKeyId)
        ));
    }

    #[test]
    fn every_forgery_is_refused() {
        let keys = ring();
        let key = &keys.current;
        let now = Utc::now().timestamp();
        let hs256 = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": key.kid});
        let with = |field: &str, value: serde_json::Value| {
            let mut c = good_claims(now);
            c[field] = value;
            c
        };
        let without = |field: &str| {
            let mut c = good_claims(now);
            c.as_object_mut().unwrap().remove(field);
            c
        };
        let stranger = SigningKey::from_secret(Secret::new(
            b"a-stranger-secret-0123456789abcdefgh".to_vec(),
        ));
        let good = sign(key, hs256.clone(), good_claims(now));
        let (h, _, s) = {
            let mut parts = good.split('.');
            (
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().to_owned(),
            )
        };
        let tampered_claims = B64.encode(with("role", "platform_admin".into()).to_string());
        let none_header =
            B64.encode(serde_json::json!({"alg": "none", "kid": key.kid}).to_string());
        let cases: Vec<(&str, String)> = vec![
            ("empty", String::new()),
            ("garbage", "not.a.jwt".into()),
            (
                "alg none",
                format!(
                    "{none_header}.{}.",
                    B64.encode(good_claims(now).to_string())
                ),
            ),
            (
                "HS512 header",
                sign(
                    key,
                    serde_json::json!({"alg": "HS512", "kid": key.kid}),
                    good_claims(now),
                ),
            ),
            (
                "no kid",
                sign(key, serde_json::json!({"alg": "HS256"}), good_claims(now)),
            ),
            (
                "unknown kid",
                sign(
                    key,
                    serde_json::json!({"alg": "HS256", "kid": "ffffffffffffffff"}),
                    good_claims(now),
                ),
            ),
            (
                "other key, our kid",
                sign(&stranger, hs256.clone(), good_claims(now)),
            ),
            ("tampered payload", format!("{h}.{tampered_claims}.{s}")),
            (
                "expired",
                sign(key, hs256.clone(), with("exp", (now - 3600).into())),
            ),
            (
                "not yet valid",
                sign(key, hs256.clone(), with("nbf", (now + 3600).into())),
            ),
            (
                "exp as string",
                sign(
                    key,
                    hs256.clone(),
                    with("exp", (now + 600).to_string().into()),
                ),
            ),
            (
                "nbf as string",
                sign(key, hs256.clone(), with("nbf", now.to_string().into())),
            ),
            (
                "wrong iss",
                sign(key, hs256.clone(), with("iss", "someone-else".into())),
            ),
            (
                "wrong aud",
                sign(key, hs256.clone(), with("aud", "another-api".into())),
            ),
            ("no sub", sign(key, hs256.clone(), without("sub"))),
            ("no exp", sign(key, hs256.clone(), without("exp"))),
            ("no nbf", sign(key, hs256.clone(), without("nbf"))),
            ("no iss", sign(key, hs256.clone(), without("iss"))),
            ("no aud", sign(key, hs256.clone(), without("aud"))),
        ];
        assert!(
            verify(&keys, &good).is_ok(),
            "the control token must verify"
        );
        for (name, token) in cases {
            assert!(verify(&keys, &token).is_err(), "{name} was accepted");
        }
    }

    #[test]
    fn leeway_is_small() {
        let keys = ring();
        let now = Utc::now();
        let (token, _) = issue(
            &keys,
            &principal(),
            0,
            Duration::from_secs(60),
            now - TimeDelta::seconds(60 + 31),
        )
        .unwrap();
        assert!(
            verify(&keys, &token).is_err(),
            "expired 31 s ago must be refused"
        );
    }
}
