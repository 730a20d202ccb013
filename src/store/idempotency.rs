//! `idempotency_keys`: the first answer to a keyed create, kept for a while.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys as keys;
use super::DbConnection;
use crate::domain::stored::UserId;

/// A kept answer: the hash of the request it answered, what it did, and the resource as sent.
#[derive(Queryable, Debug, Clone)]
pub struct KeptRow {
    pub request_hash: String,
    pub outcome: String,
    pub body: String,
}

/// The answer kept for `key` of `user`, if it was kept after `since`.
pub fn find(
    conn: &mut DbConnection,
    user: &UserId,
    key: &str,
    since: NaiveDateTime,
) -> QueryResult<Option<KeptRow>> {
    keys::table
        .filter(keys::user_id.eq(user.as_str()))
        .filter(keys::idempotency_key.eq(key))
        .filter(keys::created_at.gt(since))
        .select((keys::request_hash, keys::outcome, keys::body))
        .first(conn)
        .optional()
}

/// Drops `key`'s record if it was kept at or before `expired`, then keeps the new one (a
/// unique violation means another request with the same key is being answered right now).
pub fn keep(
    conn: &mut DbConnection,
    user: &UserId,
    key: &str,
    kept: &KeptRow,
    at: NaiveDateTime,
    expired: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        keys::table
            .filter(keys::user_id.eq(user.as_str()))
            .filter(keys::idempotency_key.eq(key))
            .filter(keys::created_at.le(expired)),
    )
    .execute(conn)?;
    diesel::insert_into(keys::table)
        .values((
            keys::user_id.eq(user.as_str()),
            keys::idempotency_key.eq(key),
            keys::request_hash.eq(&kept.request_hash),
            keys::outcome.eq(&kept.outcome),
            keys::body.eq(&kept.body),
            keys::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
