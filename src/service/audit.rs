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

/// One audit entry, as `GET /api/v1/audit` shows it.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// Null for changes made by the system itself (first start, `entente admin` commands).
    pub actor_user_id: Option<String>,
    pub actor_username: Option<String>,
    pub actor_delegation_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub summary: String,
    pub request_id: Option<String>,
}

/// Filters of the audit list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<chrono::NaiveDateTime>,
    pub to: Option<chrono::NaiveDateTime>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
}

type AuditRow = (
    String,
    chrono::NaiveDateTime,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
);

/// The audit log, newest first: everything for platform admins, and for a delegation admin the
/// entries their delegation is party to (decided in the query, through `audit_parties`).
pub async fn list(
    store: &crate::store::Store,
    ctx: &super::Context,
    filter: AuditFilter,
    page: super::PageRequest,
) -> Result<super::Page<AuditEntry>, crate::error::AppError> {
    use crate::error::AppError;
    use crate::store::schema::users;

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
    store
        .read(move |conn| {
            let mut query = audit_log::table
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
                ))
                .order(audit_log::id.desc())
                .limit(page.fetch())
                .into_boxed();
            if let Some(delegation_id) = &scope {
                query = query.filter(
                    audit_log::id.eq_any(
                        audit_parties::table
                            .filter(audit_parties::delegation_id.eq(delegation_id.clone()))
                            .select(audit_parties::audit_id),
                    ),
                );
            }
            if let Some(from) = filter.from {
                query = query.filter(audit_log::occurred_at.ge(from));
            }
            if let Some(to) = filter.to {
                query = query.filter(audit_log::occurred_at.lt(to));
            }
            if let Some(entity_type) = &filter.entity_type {
                query = query.filter(audit_log::entity_type.eq(entity_type.clone()));
            }
            if let Some(entity_id) = &filter.entity_id {
                query = query.filter(audit_log::entity_id.eq(entity_id.clone()));
            }
            if let Some(after) = &page.after {
                query = query.filter(audit_log::id.lt(after.clone()));
            }
            let rows: Vec<AuditRow> = query.load(conn)?;
            let entries = rows
                .into_iter()
                .map(
                    |(
                        id,
                        occurred_at,
                        actor_user_id,
                        actor_username,
                        actor_delegation_id,
                        action,
                        entity_type,
                        entity_id,
                        summary,
                        request_id,
                    )| {
                        AuditEntry {
                            id,
                            occurred_at: occurred_at.and_utc(),
                            actor_user_id,
                            actor_username,
                            actor_delegation_id,
                            action,
                            entity_type,
                            entity_id,
                            summary,
                            request_id,
                        }
                    },
                )
                .collect();
            Ok(super::Page::from_rows(entries, &page, |e: &AuditEntry| {
                e.id.clone()
            }))
        })
        .await
}
