//! The append-only audit log, written in the same transaction as the change it records.

use crate::domain::stored::{DelegationId, UserId};
use crate::error::AppError;
use crate::store::audit::{self as rows, AuditQuery, NewEntry};
use crate::store::{DbConnection, Store};

/// Who made a change: a user (with their delegation), or the system itself (start-up, CLI).
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub delegation_id: Option<DelegationId>,
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
    pub parties: Vec<DelegationId>,
}

/// Appends `entry`. Call it inside the transaction that makes the change.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    entry: Entry<'_>,
) -> diesel::QueryResult<String> {
    record_detailed(conn, actor, entry, None)
}

/// Appends `entry` with what it changed (JSON, for a meeting's history).
pub fn record_detailed(
    conn: &mut DbConnection,
    actor: &Actor,
    entry: Entry<'_>,
    details: Option<&str>,
) -> diesel::QueryResult<String> {
    let mut parties = entry.parties;
    parties.sort();
    parties.dedup();
    rows::insert(
        conn,
        &NewEntry {
            actor_user_id: actor.user_id.as_ref(),
            actor_delegation_id: actor.delegation_id.as_ref(),
            request_id: actor.request_id.as_deref(),
            action: entry.action,
            entity_type: entry.entity_type,
            entity_id: entry.entity_id,
            summary: &entry.summary,
            parties: &parties,
            details,
        },
    )
}

/// One audit entry, as `GET /api/v1/audit` shows it.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// Null for changes made by the system itself (first start, `entente admin` commands).
    #[schema(value_type = Option<String>)]
    pub actor_user_id: Option<UserId>,
    pub actor_username: Option<String>,
    #[schema(value_type = Option<String>)]
    pub actor_delegation_id: Option<DelegationId>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub summary: String,
    pub request_id: Option<String>,
}

impl From<rows::AuditRow> for AuditEntry {
    fn from(row: rows::AuditRow) -> Self {
        Self {
            id: row.id,
            occurred_at: row.occurred_at.and_utc(),
            actor_user_id: row.actor_user_id.map(UserId::from),
            actor_username: row.actor_username,
            actor_delegation_id: row.actor_delegation_id.map(DelegationId::from),
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            summary: row.summary,
            request_id: row.request_id,
        }
    }
}

/// Filters of the audit list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<chrono::NaiveDateTime>,
    pub to: Option<chrono::NaiveDateTime>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
}

/// The audit log, newest first: everything for platform admins, and for a delegation admin the
/// entries their delegation is party to (decided in the query, through `audit_parties`).
pub async fn list(
    store: &Store,
    ctx: &super::Context,
    filter: AuditFilter,
    page: super::PageRequest,
) -> Result<super::Page<AuditEntry>, AppError> {
    if !ctx.principal.may_read_audit() {
        return Err(AppError::Forbidden("only admins read the audit log".into()));
    }
    let scope = if ctx.principal.is_platform_admin() {
        None
    } else {
        Some(
            ctx.principal
                .delegation_id
                .clone()
                .ok_or_else(|| AppError::Forbidden("no delegation".into()))?,
        )
    };
    let query = AuditQuery {
        scope,
        from: filter.from,
        to: filter.to,
        entity_type: filter.entity_type,
        entity_id: filter.entity_id,
        before: page.after.clone(),
        limit: page.fetch(),
    };
    store
        .read(move |conn| {
            let entries = rows::list(conn, &query)?
                .into_iter()
                .map(AuditEntry::from)
                .collect();
            Ok(super::Page::from_rows(entries, &page, |e: &AuditEntry| {
                e.id.clone()
            }))
        })
        .await
}
