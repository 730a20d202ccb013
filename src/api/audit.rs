//! `GET /audit`.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::problem::Problem;
use super::AppState;
use crate::error::{AppError, FieldError};
use crate::service::audit::{self, AuditEntry, AuditFilter};
use crate::service::{Page, PageRequest};

#[derive(Deserialize, IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Entries before this instant (RFC 3339).
    pub to: Option<String>,
    /// `delegation`, `user`, …
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn instant(field: &str, raw: &Option<String>) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    raw.as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc).naive_utc())
                .map_err(|_| {
                    AppError::invalid_fields(vec![FieldError::new(
                        field,
                        "not an RFC 3339 instant, e.g. 2027-03-28T07:00:00Z",
                    )])
                })
        })
        .transpose()
}

/// Every change to objects the caller's delegation is party to, newest first (delegation
/// admins; platform admins see everything). Append-only: nothing changes or deletes it.
#[utoipa::path(
    operation_id = "list_audit",
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of the audit log", body = Page<AuditEntry>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/audit")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = AuditFilter {
        from: instant("from", &query.from)?,
        to: instant("to", &query.to)?,
        entity_type: query.entity_type.clone(),
        entity_id: query.entity_id.clone(),
    };
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(HttpResponse::Ok().json(audit::list(&state.store, &caller.0, filter, page).await?))
}
