//! One session of a series: moved, held elsewhere, cancelled, or answered on its own — named by
//! its original start in UTC (`…/occurrences/{original_start_utc}`) or by its original
//! wall-clock start in the series' zone (`…/occurrences?local=2027-07-14T10:00`).

use actix_web::{post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Json;
use super::problem::Problem;
use super::{if_match, with_etag, AppState};
use crate::domain::stored::MeetingId;
use crate::domain::time;
use crate::error::AppError;
use crate::service::meetings::{
    self, NewResponse, OccurrenceChange, SeriesOccurrence, Session, SessionKey,
};

/// A session named by its wall-clock original start.
#[derive(Deserialize, IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocalQuery {
    /// The session's original start as wall-clock time in the series' zone, e.g.
    /// `2027-07-14T10:00`.
    pub local: String,
}

/// The session a path names by its original start (a value that is no instant names none).
fn by_original(original: &str) -> Result<SessionKey, AppError> {
    time::parse_instant(original)
        .map(SessionKey::Original)
        .map_err(|_| AppError::not_found("occurrence"))
}

/// The session a query names by its wall-clock original start (422 when it is no local time).
fn by_local(query: LocalQuery) -> Result<SessionKey, AppError> {
    let mut errors = Vec::new();
    let local = meetings::parse_local("local", &query.local, &mut errors);
    match local {
        Some(local) if errors.is_empty() => Ok(SessionKey::Local(local)),
        _ => Err(AppError::invalid_fields(errors)),
    }
}

async fn put_session(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    (id, key): (MeetingId, SessionKey),
    body: OccurrenceChange,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(req)?;
    let occurrence =
        meetings::put_occurrence(&state.store, &caller.0, id, key, expected, body).await?;
    Ok(with_etag(HttpResponse::Ok(), occurrence.version).json(&occurrence))
}

async fn answer_session(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    (id, key): (MeetingId, SessionKey),
    body: NewResponse,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(req)?;
    let session =
        meetings::respond_to_session(&state.store, &caller.0, id, key, expected, body).await?;
    Ok(with_etag(HttpResponse::Ok(), session.version).json(&session))
}

/// Move or cancel one occurrence of a series (the host's admins and schedulers).
/// `original_start_utc` is the occurrence's original start, RFC 3339 UTC (its `recurrence_id`).
#[utoipa::path(
    operation_id = "put_occurrence",
    tag = "meetings",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Meeting id"),
        ("original_start_utc" = String, Path, description = "The occurrence's original start, e.g. 2027-03-17T14:00:00Z"),
        ("If-Match" = Option<String>, Header)
    ),
    request_body = OccurrenceChange,
    responses(
        (status = 200, description = "The occurrence as it now is", body = SeriesOccurrence),
        (status = 403, description = "Visible, but not the caller's to change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, not visible, or not an occurrence of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The series is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid time", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/meetings/{id}/occurrences/{original_start_utc}")]
pub async fn put_occurrence(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(MeetingId, String)>,
    body: Json<OccurrenceChange>,
) -> Result<HttpResponse, AppError> {
    let (id, original) = path.into_inner();
    let key = by_original(&original)?;
    put_session(&state, &caller, &req, (id, key), body.into_inner()).await
}

/// Answer one session of a series for the caller's delegation (its admins and schedulers): it
/// overrides the delegation's answer to the series for that session only.
#[utoipa::path(
    operation_id = "respond_to_session",
    tag = "meetings",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Meeting id"),
        ("original_start_utc" = String, Path, description = "The session's original start, e.g. 2027-03-17T14:00:00Z"),
        ("If-Match" = Option<String>, Header)
    ),
    request_body = NewResponse,
    responses(
        (status = 200, description = "The session with the answers that apply to it", body = Session),
        (status = 403, description = "Not a participant delegation's admin or scheduler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, not visible, or not an occurrence of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session or its series is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid answer", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/meetings/{id}/occurrences/{original_start_utc}/response")]
pub async fn respond_to_session(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(MeetingId, String)>,
    body: Json<NewResponse>,
) -> Result<HttpResponse, AppError> {
    let (id, original) = path.into_inner();
    let key = by_original(&original)?;
    answer_session(&state, &caller, &req, (id, key), body.into_inner()).await
}

/// `PUT …/occurrences/{original_start_utc}`, the session named by its wall-clock original start.
#[utoipa::path(
    operation_id = "put_occurrence_local",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), LocalQuery, ("If-Match" = Option<String>, Header)),
    request_body = OccurrenceChange,
    responses(
        (status = 200, description = "The occurrence as it now is", body = SeriesOccurrence),
        (status = 403, description = "Visible, but not the caller's to change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, not visible, or no session starts then", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The series is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid time", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/meetings/{id}/occurrences")]
pub async fn put_occurrence_local(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<MeetingId>,
    query: web::Query<LocalQuery>,
    body: Json<OccurrenceChange>,
) -> Result<HttpResponse, AppError> {
    let key = by_local(query.into_inner())?;
    put_session(
        &state,
        &caller,
        &req,
        (id.into_inner(), key),
        body.into_inner(),
    )
    .await
}

/// `POST …/occurrences/{original_start_utc}/response`, the session named by its wall-clock
/// original start.
#[utoipa::path(
    operation_id = "respond_to_session_local",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), LocalQuery, ("If-Match" = Option<String>, Header)),
    request_body = NewResponse,
    responses(
        (status = 200, description = "The session with the answers that apply to it", body = Session),
        (status = 403, description = "Not a participant delegation's admin or scheduler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, not visible, or no session starts then", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session or its series is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid answer or time", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/meetings/{id}/occurrences/response")]
pub async fn respond_to_session_local(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<MeetingId>,
    query: web::Query<LocalQuery>,
    body: Json<NewResponse>,
) -> Result<HttpResponse, AppError> {
    let key = by_local(query.into_inner())?;
    answer_session(
        &state,
        &caller,
        &req,
        (id.into_inner(), key),
        body.into_inner(),
    )
    .await
}
