//! `audit_log` and `audit_parties`: appended in the transaction of the change they record.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_log, audit_parties, users};
use super::{new_id, now, DbConnection};
use crate::domain::stored::{DelegationId, UserId};

/// One change to append.
pub struct NewEntry<'a> {
    pub actor_user_id: Option<&'a UserId>,
    pub actor_delegation_id: Option<&'a DelegationId>,
    pub request_id: Option<&'a str>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub summary: &'a str,
    /// The delegations party to the change (each once): their admins may read the entry.
    pub parties: &'a [DelegationId],
    /// What changed, as JSON (a meeting's history reads it).
    pub details: Option<&'a str>,
}

/// Appends an entry and its parties; answers the entry's id.
pub fn insert(conn: &mut DbConnection, entry: &NewEntry<'_>) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(&id),
            audit_log::occurred_at.eq(now()),
            audit_log::actor_user_id.eq(entry.actor_user_id.map(UserId::as_str)),
            audit_log::actor_delegation_id.eq(entry.actor_delegation_id.map(DelegationId::as_str)),
            audit_log::action.eq(entry.action),
            audit_log::entity_type.eq(entry.entity_type),
            audit_log::entity_id.eq(entry.entity_id),
            audit_log::summary.eq(entry.summary),
            audit_log::request_id.eq(entry.request_id),
            audit_log::details.eq(entry.details),
        ))
        .execute(conn)?;
    for delegation_id in entry.parties {
        diesel::insert_into(audit_parties::table)
            .values((
                audit_parties::audit_id.eq(&id),
                audit_parties::delegation_id.eq(delegation_id.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

/// An entry as listed, with the actor's username.
#[derive(Queryable, Debug, Clone)]
pub struct AuditRow {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<String>,
    pub actor_username: Option<String>,
    pub actor_delegation_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub summary: String,
    pub request_id: Option<String>,
    pub details: Option<String>,
}

/// Which entries to list: `scope` limits them to one delegation's (through `audit_parties`).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub scope: Option<DelegationId>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Entries older than this id (ids are UUIDv7: newest first is id descending).
    pub before: Option<String>,
    pub limit: i64,
}

/// The entries with their actors' usernames, as `AuditRow` reads them.
macro_rules! entries {
    () => {
        audit_log::table
            .left_join(users::table.on(users::id.nullable().eq(audit_log::actor_user_id)))
            .select((
                audit_log::id,
                audit_log::occurred_at,
                audit_log::actor_user_id,
                users::username.nullable(),
                audit_log::actor_delegation_id,
                audit_log::action,
                audit_log::entity_type,
                audit_log::entity_id,
                audit_log::summary,
                audit_log::request_id,
                audit_log::details,
            ))
    };
}

/// Newest first.
pub fn list(conn: &mut DbConnection, q: &AuditQuery) -> QueryResult<Vec<AuditRow>> {
    let mut query = entries!()
        .order(audit_log::id.desc())
        .limit(q.limit)
        .into_boxed();
    if let Some(delegation_id) = &q.scope {
        query = query.filter(
            audit_log::id.eq_any(
                audit_parties::table
                    .filter(audit_parties::delegation_id.eq(delegation_id.as_str().to_owned()))
                    .select(audit_parties::audit_id),
            ),
        );
    }
    if let Some(from) = q.from {
        query = query.filter(audit_log::occurred_at.ge(from));
    }
    if let Some(to) = q.to {
        query = query.filter(audit_log::occurred_at.lt(to));
    }
    if let Some(entity_type) = &q.entity_type {
        query = query.filter(audit_log::entity_type.eq(entity_type.clone()));
    }
    if let Some(entity_id) = &q.entity_id {
        query = query.filter(audit_log::entity_id.eq(entity_id.clone()));
    }
    if let Some(before) = &q.before {
        query = query.filter(audit_log::id.lt(before.clone()));
    }
    query.load(conn)
}

/// A meeting's entries, oldest first, after `after` (a history page).
pub fn history_of(
    conn: &mut DbConnection,
    meeting_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut query = entries!()
        .filter(audit_log::entity_type.eq("meeting"))
        .filter(audit_log::entity_id.eq(meeting_id.to_owned()))
        .order(audit_log::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(audit_log::id.gt(after.to_owned()));
    }
    query.load(conn)
}
