//! Availability: busy times and observances of a delegation, the slot search, host
//! alternation.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Json;
use super::meetings::instant;
use super::problem::Problem;
use super::{if_match, with_etag, AppState};
use crate::domain::stored::DelegationId;
use crate::error::{AppError, FieldError};
use crate::service::availability::{
    self, Busy, Observances, ObservancesPut, Reciprocity, SearchRequest, Slots,
};

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

/// A delegation's non-working days (its own users and platform admins; 404 to others).
#[utoipa::path(
    operation_id = "delegation_observances",
    tag = "availability",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delegation id")),
    responses(
        (status = 200, description = "Its observances, with the delegation's version as ETag", body = Observances),
        (status = 404, description = "No such delegation, or not the caller's", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/delegations/{id}/observances")]
pub async fn observances(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DelegationId>,
) -> Result<HttpResponse, AppError> {
    let list = availability::observances(&state.store, &caller.0, id.into_inner()).await?;
    Ok(with_etag(HttpResponse::Ok(), list.version).json(&list))
}

/// Replace a delegation's non-working days (its admins, platform admins): each a `date` or a
/// yearly `rule`, whole days in the delegation's zone. Honours `If-Match: "<version>"`.
#[utoipa::path(
    operation_id = "replace_observances",
    tag = "availability",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delegation id"), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = ObservancesPut,
    responses(
        (status = 200, description = "Replaced", body = Observances),
        (status = 403, description = "Not the delegation's admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation, or not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version given in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid observance (the field is named)", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/delegations/{id}/observances")]
pub async fn replace_observances(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<DelegationId>,
    body: Json<ObservancesPut>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(&req)?;
    let list = availability::replace_observances(
        &state.store,
        &caller.0,
        id.into_inner(),
        expected,
        body.into_inner(),
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok(), list.version).json(&list))
}

/// Common free times of 1 to 20 delegations: free for all (busy times widened by the buffer,
/// observances), inside each one's working hours in its own zone unless an allowance lets each
/// be up to that long outside them; earliest first, or fairest (`rank: fair`). With
/// `recurrence`, starts of a series whose every occurrence is free.
#[utoipa::path(
    operation_id = "search_availability",
    tag = "availability",
    security(("bearer" = [])),
    request_body = SearchRequest,
    responses(
        (status = 200, description = "The slots found (possibly none)", body = Slots),
        (status = 422, description = "An unknown delegation or one that hides its busy times (named), a window over 92 days, more than 20 delegations, or another invalid field", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/availability/search")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<SearchRequest>,
) -> Result<HttpResponse, AppError> {
    let slots = availability::search(&state.store, &caller.0, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(slots))
}

#[derive(Deserialize, IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReciprocityQuery {
    /// A delegation, by id or code.
    pub a: String,
    /// The other delegation, by id or code.
    pub b: String,
}

/// Who hosted the two delegations' bilateral meetings (not cancelled), and whose turn it is
/// (users of either delegation, platform admins).
#[utoipa::path(
    operation_id = "reciprocity",
    tag = "availability",
    security(("bearer" = [])),
    params(ReciprocityQuery),
    responses(
        (status = 200, description = "Counts by host, the last host and the next", body = Reciprocity),
        (status = 404, description = "The caller belongs to neither delegation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown delegation, or the same one twice", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/reciprocity")]
pub async fn reciprocity(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ReciprocityQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let turn = availability::reciprocity(&state.store, &caller.0, query.a, query.b).await?;
    Ok(HttpResponse::Ok().json(turn))
}
