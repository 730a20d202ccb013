//! The append-only audit log, written in the same transaction as the change it records.

use diesel::prelude::*;

use crate::store::schema::{audit_log, audit_parties};
use crate::store::{new_id, now, DbConnection};

/// Who made a change: a user (with their delegation), or the system itself (start-up, CLI).
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<String>,
    pub delegation_id: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Self::default()
    }
}

/// One audited change.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub summary: String,
    /// The delegations party to the change: their admins may read this entry.
    pub parties: Vec<String>,
}

/// Appends `entry`. Call it inside the transaction that makes the change.
pub fn record(conn: &mut DbConnection, actor: &Actor, entry: Entry<'_>) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(&id),
            audit_log::occurred_at.eq(now()),
            audit_log::actor_user_id.eq(&actor.user_id),
            audit_log::actor_delegation_id.eq(&actor.delegation_id),
            audit_log::action.eq(entry.action),
            audit_log::entity_type.eq(entry.entity_type),
            audit_log::entity_id.eq(entry.entity_id),
            audit_log::summary.eq(&entry.summary),
            audit_log::request_id.eq(&actor.request_id),
        ))
        .execute(conn)?;
    let mut parties = entry.parties;
    parties.sort();
    parties.dedup();
    for delegation_id in parties {
        diesel::insert_into(audit_parties::table)
            .values((
                audit_parties::audit_id.eq(&id),
                audit_parties::delegation_id.eq(delegation_id),
            ))
            .execute(conn)?;
    }
    Ok(id)
}
