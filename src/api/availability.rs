//! Availability: `GET /api/v1/delegations/{id}/busy`.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::meetings::instant;
use super::problem::Problem;
use super::AppState;
use crate::domain::stored::DelegationId;
use crate::error::{AppError, FieldError};
use crate::service::availability::{self, Busy};

#[derive(Deserialize, IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BusyQuery {
    /// Window start (RFC 3339), required.
    pub from: String,
    /// Window end (RFC 3339), required; at most 366 days after `from`.
    pub to: String,
}

/// A delegation's busy times in `[from, to)`: merged intervals of its meetings (not cancelled,
/// not declined by it), never their titles or ids. A delegation with `share_busy: false` is 404
/// to other delegations' users.
#[utoipa::path(
    operation_id = "delegation_busy",
    tag = "availability",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delegation id"), BusyQuery),
    responses(
        (status = 200, description = "Busy and unavailable times", body = Busy),
        (status = 404, description = "No such delegation, or it does not share its busy times", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid window (at most 366 days)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/delegations/{id}/busy")]
pub async fn busy(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DelegationId>,
    query: web::Query<BusyQuery>,
) -> Result<HttpResponse, AppError> {
    let required = |field: &str, raw: &str| {
        instant(field, Some(raw))?
            .ok_or_else(|| AppError::invalid_fields(vec![FieldError::new(field, "required")]))
    };
    let window = (required("from", &query.from)?, required("to", &query.to)?);
    let busy = availability::busy(&state.store, &caller.0, id.into_inner(), window).await?;
    Ok(HttpResponse::Ok().json(busy))
}
