//! `Idempotency-Key` on creates: the first response is kept for 24 hours and replayed for a
//! repeat of the same request by the same user; the same key with another request is refused.

use chrono::TimeDelta;
use sha2::{Digest, Sha256};

use crate::domain::stored::{string_enum, UserId};
use crate::error::{AppError, FieldError};
use crate::store::idempotency::{self as rows, KeptRow};
use crate::store::{is_unique_violation, now, stored, DbConnection};

pub const RETENTION_HOURS: i64 = 24;

/// A request's identity: who, which key, and a hash of what was asked.
#[derive(Clone, Debug)]
pub struct Key {
    pub user_id: UserId,
    pub key: String,
    pub request_hash: String,
}

string_enum!(
    /// What the first request with a key did.
    Outcome { Created => "created" }
);

/// The first answer to replay: what was done, and the resource exactly as it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    pub outcome: Outcome,
    pub body: String,
}

impl Key {
    /// `key` must be 1–255 visible ASCII characters. `target` is the method, path and query;
    /// `body` the parsed JSON (hashed in canonical form, so key order and spacing don't matter).
    pub fn new(
        user_id: &UserId,
        key: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<Self, AppError> {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )]));
        }
        let mut hasher = Sha256::new();
        hasher.update(target.as_bytes());
        hasher.update([0]);
        hasher.update(canonical(body).as_bytes());
        let request_hash = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            user_id: user_id.clone(),
            key: key.to_owned(),
            request_hash,
        })
    }
}

/// JSON with object keys sorted at every level.
fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// What a create answers: the new resource, or the replay of an earlier identical request.
pub enum Created<T> {
    New(Box<T>),
    Replayed(Replay),
}

/// Runs `make` (a create, inside the caller's transaction) once per key: a repeat of the same
/// request replays the first answer and creates nothing.
pub fn once<T: serde::Serialize>(
    conn: &mut DbConnection,
    key: Option<&Key>,
    make: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<Created<T>, AppError> {
    if let Some(key) = key {
        if let Some(replay) = find(conn, key)? {
            return Ok(Created::Replayed(replay));
        }
    }
    let made = make(conn)?;
    if let Some(key) = key {
        let body = serde_json::to_string(&made).map_err(AppError::internal)?;
        remember(conn, key, Outcome::Created, body)?;
    }
    Ok(Created::New(Box::new(made)))
}

/// The kept answer for this key, if any (and not expired). The same key with a different
/// request → 422.
fn find(conn: &mut DbConnection, key: &Key) -> Result<Option<Replay>, AppError> {
    let since = now() - TimeDelta::hours(RETENTION_HOURS);
    match rows::find(conn, &key.user_id, &key.key, since)? {
        None => Ok(None),
        Some(kept) if kept.request_hash != key.request_hash => Err(AppError::Validation {
            detail: "this Idempotency-Key was used for a different request: use a new key".into(),
            errors: vec![FieldError::new(
                "Idempotency-Key",
                "already used for a different request",
            )],
        }),
        Some(kept) => Ok(Some(Replay {
            outcome: stored(&kept.outcome)?,
            body: kept.body,
        })),
    }
}

/// Keeps the answer, in the transaction that made it. Expired keys are dropped here.
fn remember(
    conn: &mut DbConnection,
    key: &Key,
    outcome: Outcome,
    body: String,
) -> Result<(), AppError> {
    let at = now();
    let kept = KeptRow {
        request_hash: key.request_hash.clone(),
        outcome: outcome.as_str().to_owned(),
        body,
    };
    let expired = at - TimeDelta::hours(RETENTION_HOURS);
    rows::keep(conn, &key.user_id, &key.key, &kept, at, expired).map_err(|e| {
        if is_unique_violation(&e) {
            AppError::Conflict(
                "a request with this Idempotency-Key is in progress: retry it".into(),
            )
        } else {
            e.into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_key_order_and_spacing_but_not_values() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":null,"y":[1,2]},"b":1}"#).unwrap();
        let c: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":null,"y":[2,1]},"b":1}"#).unwrap();
        let u = UserId::from("u");
        let key = |v| Key::new(&u, "k", "POST /x", v).unwrap().request_hash;
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
        assert_ne!(
            Key::new(&u, "k", "POST /x", &a).unwrap().request_hash,
            Key::new(&u, "k", "POST /y", &a).unwrap().request_hash
        );
    }

    #[test]
    fn keys_are_checked() {
        let v = serde_json::json!({});
        for bad in ["", "has space", "ключ", &"k".repeat(256)] {
            assert!(Key::new(&UserId::from("u"), bad, "t", &v).is_err(), "{bad}");
        }
        assert!(Key::new(&UserId::from("u"), "3f2c-aa_01", "t", &v).is_ok());
    }
}
