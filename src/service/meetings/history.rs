//! A meeting's history (issue 17): every change with who made it (delegation, user), when, what
//! changed (before and after), the reason given and a comment — readable by the users of every
//! participant delegation, and 404 to everyone else. Read from the audit log, where each change
//! is written in its own transaction; a comment a delegation marked internal is shown to that
//! delegation's users only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::load::load_visible;
use crate::domain::stored::{DelegationId, MeetingId, UserId};
use crate::error::AppError;
use crate::service::{Context, Page, PageRequest};
use crate::store::{audit, participants, Store};

/// One field before and after a change (`null`: none).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct FieldChange {
    #[schema(value_type = Object)]
    pub before: Value,
    #[schema(value_type = Object)]
    pub after: Value,
}

/// What a change of a meeting changed, as kept with its audit entry.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Details {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The comment is for the acting delegation's own users.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// The session concerned (its original start, RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_id: Option<String>,
}

impl Details {
    /// Adds `field` when it changed.
    pub fn change(&mut self, field: &str, before: impl Serialize, after: impl Serialize) {
        let (before, after) = (json(before), json(after));
        if before != after {
            self.changes
                .insert(field.to_owned(), FieldChange { before, after });
        }
    }

    /// As stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

fn json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One entry of a meeting's history.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct HistoryEntry {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    /// Null for the system itself (a re-derivation after new tz data).
    #[schema(value_type = Option<String>)]
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    #[schema(value_type = Option<String>)]
    pub delegation_id: Option<DelegationId>,
    /// `meeting.create`, `meeting.update`, `meeting.respond`, `meeting.respond_session`,
    /// `meeting.occurrence`, `meeting.cancel`, `meeting.rederive`, …
    pub action: String,
    pub summary: String,
    /// Each changed field, before and after.
    pub changes: BTreeMap<String, FieldChange>,
    pub reason: Option<String>,
    /// The comment given with the change; an internal one only to its delegation's users.
    pub comment: Option<String>,
    pub internal: bool,
    pub recurrence_id: Option<String>,
}

/// The history of a meeting, oldest first, for the users of its participant delegations.
pub async fn history(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    page: PageRequest,
) -> Result<Page<HistoryEntry>, AppError> {
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            load_visible(conn, &ctx, &id)?;
            // A participant's business: anyone else (a public meeting's readers) gets 404.
            let reader = match &ctx.principal.delegation_id {
                Some(d) if participants::takes_part(conn, &id, d)? => d.clone(),
                _ => return Err(AppError::not_found("meeting")),
            };
            let rows = audit::history_of(conn, id.as_str(), page.after.as_deref(), page.fetch())?;
            let entries = rows
                .into_iter()
                .map(|row| {
                    let details: Details = match row.details.as_deref() {
                        Some(text) => serde_json::from_str(text).map_err(|e| {
                            AppError::internal(format!("history of {}: {e}", row.id))
                        })?,
                        None => Details::default(),
                    };
                    let own = row.actor_delegation_id.as_deref() == Some(reader.as_str());
                    let shown = !details.internal || own;
                    Ok(HistoryEntry {
                        id: row.id,
                        at: row.occurred_at.and_utc(),
                        user_id: row.actor_user_id.map(UserId::from),
                        username: row.actor_username,
                        delegation_id: row.actor_delegation_id.map(DelegationId::from),
                        action: row.action,
                        summary: row.summary,
                        changes: details.changes,
                        reason: details.reason,
                        comment: details.comment.filter(|_| shown),
                        internal: details.internal && shown,
                        recurrence_id: details.recurrence_id,
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()?;
            Ok(Page::from_rows(entries, &page, |e: &HistoryEntry| {
                e.id.clone()
            }))
        })
        .await
}
