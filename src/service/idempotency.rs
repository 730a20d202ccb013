//! `Idempotency-Key` on creates: the first response is kept for 24 hours and replayed for a
//! repeat of the same request by the same user; the same key with another request is refused.

use chrono::TimeDelta;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::is_unique_violation;
use crate::error::{AppError, FieldError};
use crate::store::schema::idempotency_keys;
use crate::store::{now, DbConnection};

pub const RETENTION_HOURS: i64 = 24;

/// A request's identity: who, which key, and a hash of what was asked.
#[derive(Clone, Debug)]
pub struct Key {
    pub user_id: String,
    pub key: String,
    pub request_hash: String,
}

/// A response to replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Key {
    /// `key` must be 1–255 visible ASCII characters. `target` is the method, path and query;
    /// `body` the parsed JSON (hashed in canonical form, so key order and spacing don't matter).
    pub fn new(
        user_id: &str,
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
            user_id: user_id.to_owned(),
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
/// request replays the first response (201, `Location`, the same body) and creates nothing.
pub fn once<T: serde::Serialize>(
    conn: &mut DbConnection,
    key: Option<&Key>,
    location: impl FnOnce(&T) -> String,
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
        remember(
            conn,
            key,
            &Replay {
                status: 201,
                location: Some(location(&made)),
                body,
            },
        )?;
    }
    Ok(Created::New(Box::new(made)))
}

/// The stored response for this key, if any (and not expired). The same key with a different
/// request → 422.
pub fn find(conn: &mut DbConnection, key: &Key) -> Result<Option<Replay>, AppError> {
    let cutoff = now() - TimeDelta::hours(RETENTION_HOURS);
    let row: Option<(String, i32, Option<String>, String)> = idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(&key.user_id))
        .filter(idempotency_keys::idempotency_key.eq(&key.key))
        .filter(idempotency_keys::created_at.gt(cutoff))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::location,
            idempotency_keys::body,
        ))
        .first(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some((hash, _, _, _)) if hash != key.request_hash => Err(AppError::Validation {
            detail: "this Idempotency-Key was used for a different request: use a new key".into(),
            errors: vec![FieldError::new(
                "Idempotency-Key",
                "already used for a different request",
            )],
        }),
        Some((_, status, location, body)) => Ok(Some(Replay {
            status: u16::try_from(status).unwrap_or(200),
            location,
            body,
        })),
    }
}

/// Keeps the response, in the transaction that made it. Expired keys are dropped here.
pub fn remember(conn: &mut DbConnection, key: &Key, replay: &Replay) -> Result<(), AppError> {
    let at = now();
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(&key.user_id))
            .filter(idempotency_keys::idempotency_key.eq(&key.key))
            .filter(idempotency_keys::created_at.le(at - TimeDelta::hours(RETENTION_HOURS))),
    )
    .execute(conn)?;
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(&key.user_id),
            idempotency_keys::idempotency_key.eq(&key.key),
            idempotency_keys::request_hash.eq(&key.request_hash),
            idempotency_keys::status.eq(i32::from(replay.status)),
            idempotency_keys::location.eq(&replay.location),
            idempotency_keys::body.eq(&replay.body),
            idempotency_keys::created_at.eq(at),
        ))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::Conflict(
                    "a request with this Idempotency-Key is in progress: retry it".into(),
                )
            } else {
                e.into()
            }
        })?;
    Ok(())
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
        let key = |v| Key::new("u", "k", "POST /x", v).unwrap().request_hash;
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
        assert_ne!(
            Key::new("u", "k", "POST /x", &a).unwrap().request_hash,
            Key::new("u", "k", "POST /y", &a).unwrap().request_hash
        );
    }

    #[test]
    fn keys_are_checked() {
        let v = serde_json::json!({});
        for bad in ["", "has space", "ключ", &"k".repeat(256)] {
            assert!(Key::new("u", bad, "t", &v).is_err(), "{bad}");
        }
        assert!(Key::new("u", "3f2c-aa_01", "t", &v).is_ok());
    }
}
