//! `/meetings` and `/schedule`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Json;
use super::problem::Problem;
use super::{create_body, created, if_match, with_etag, AppState, PageQuery};
use crate::domain::meeting::MeetingStatus;
use crate::domain::stored::{ChannelId, ForumId, MeetingId};
use crate::domain::time;
use crate::error::{AppError, FieldError};
use crate::service::meetings::{
    self, Cancelled, HistoryEntry, Meeting, MeetingFilter, MeetingPatch, NewMeeting, NewResponse,
    OnConflict, Schedule,
};
use crate::service::{Page, PageRequest};

#[derive(Deserialize, IntoParams, Debug, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// `reject`: refuse (409 `conflict`) instead of reporting overlapping meetings.
    #[param(value_type = Option<String>)]
    pub on_conflict: Option<OnConflict>,
}

impl ConflictQuery {
    fn on_conflict(&self) -> OnConflict {
        self.on_conflict.unwrap_or(OnConflict::Report)
    }
}

pub(super) fn instant(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    raw.map(|s| {
        time::parse_instant(s)
            .map_err(|m| AppError::invalid_fields(vec![FieldError::new(field, m)]))
    })
    .transpose()
}

/// Book a meeting hosted by the caller's delegation (its admins and schedulers). Times are
/// wall-clock in `time_zone`; the answer lists the participants' overlapping meetings in
/// `conflicts`. Repeat-safe with `Idempotency-Key`.
#[utoipa::path(
    operation_id = "create_meeting",
    tag = "meetings",
    security(("bearer" = [])),
    params(ConflictQuery, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    request_body = NewMeeting,
    responses(
        (status = 201, description = "Booked", body = Meeting, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Not an admin or scheduler of a delegation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflicts, with on_conflict=reject", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation, unknown-time-zone, nonexistent-local-time, ambiguous-local-time or invalid-recurrence", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/meetings")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<ConflictQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let on_conflict = query.on_conflict();
    let (input, key) = create_body::<NewMeeting>(&req, &caller, &body)?;
    let outcome = meetings::create(&state.store, &caller.0, input, on_conflict, key).await?;
    created(
        outcome,
        |m| format!("/api/v1/meetings/{}", m.id),
        |m| Some(m.version),
    )
}

#[derive(Deserialize, IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Meetings overlapping `[from, to)` (RFC 3339 instants); both optional.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only meetings this delegation takes part in.
    pub participant: Option<String>,
    pub status: Option<MeetingStatus>,
    #[param(value_type = Option<String>)]
    pub forum_id: Option<ForumId>,
    #[param(value_type = Option<String>)]
    pub channel_id: Option<ChannelId>,
    /// Words in the title or description (case-insensitive).
    pub q: Option<String>,
    /// `me`: only meetings your delegation hosts.
    pub host: Option<String>,
    /// `me`: only meetings awaiting your delegation's answer (pending or tentative).
    pub awaiting: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A filter that takes `me` only.
fn only_me(field: &str, value: Option<&str>) -> Result<bool, AppError> {
    match value {
        None => Ok(false),
        Some("me") => Ok(true),
        Some(_) => Err(AppError::invalid_fields(vec![FieldError::new(
            field,
            "takes `me` only",
        )])),
    }
}

/// Why a meeting is cancelled.
#[derive(Deserialize, IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// Kept in the meeting's history, shown to every participant (at most 2,000 characters).
    pub reason: Option<String>,
}

/// The meetings the caller may see, by start time.
#[utoipa::path(
    operation_id = "list_meetings",
    tag = "meetings",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page of meetings", body = Page<Meeting>),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/meetings")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let filter = MeetingFilter {
        from: instant("from", query.from.as_deref())?,
        to: instant("to", query.to.as_deref())?,
        participant: query.participant,
        status: query.status,
        forum_id: query.forum_id,
        channel_id: query.channel_id,
        q: query.q.filter(|q| !q.trim().is_empty()),
        host_me: only_me("host", query.host.as_deref())?,
        awaiting_me: only_me("awaiting", query.awaiting.as_deref())?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to <= from {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "to",
                "must be after from",
            )]));
        }
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(HttpResponse::Ok().json(meetings::list(&state.store, &caller.0, filter, page).await?))
}

/// One meeting, with its participants' current conflicts. 404 when the caller may not see it.
#[utoipa::path(
    operation_id = "get_meeting",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The meeting", body = Meeting, headers(("ETag" = String))),
        (status = 404, description = "No such meeting, or not visible to the caller", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/meetings/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MeetingId>,
) -> Result<HttpResponse, AppError> {
    let meeting = meetings::get(&state.store, &caller.0, id.into_inner()).await?;
    Ok(with_etag(HttpResponse::Ok(), meeting.version).json(&meeting))
}

/// Change a meeting (the host's admins and schedulers). Honours `If-Match`.
#[utoipa::path(
    operation_id = "update_meeting",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), ConflictQuery, ("If-Match" = Option<String>, Header)),
    request_body = MeetingPatch,
    responses(
        (status = 200, description = "Changed", body = Meeting),
        (status = 403, description = "Visible, but not the caller's to change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cancelled, or conflicts with on_conflict=reject", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field or time", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/meetings/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<MeetingId>,
    query: web::Query<ConflictQuery>,
    body: Json<MeetingPatch>,
) -> Result<HttpResponse, AppError> {
    let on_conflict = query.on_conflict();
    let expected = if_match(&req)?;
    let meeting = meetings::update(
        &state.store,
        &caller.0,
        id.into_inner(),
        expected,
        body.into_inner(),
        on_conflict,
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok(), meeting.version).json(&meeting))
}

/// Cancel a meeting (the host's admins and schedulers): it stays, as `cancelled`.
#[utoipa::path(
    operation_id = "cancel_meeting",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), ("If-Match" = Option<String>, Header), CancelQuery),
    responses(
        (status = 200, description = "Cancelled", body = Meeting),
        (status = 403, description = "Visible, but not the caller's to cancel", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version in If-Match", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/meetings/{id}")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<MeetingId>,
    query: web::Query<CancelQuery>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(&req)?;
    let reason = query.into_inner().reason;
    let meeting =
        meetings::cancel(&state.store, &caller.0, id.into_inner(), expected, reason).await?;
    Ok(with_etag(HttpResponse::Ok(), meeting.version).json(&meeting))
}

/// Answer for the caller's delegation (its admins and schedulers).
#[utoipa::path(
    operation_id = "respond_to_meeting",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), ("If-Match" = Option<String>, Header)),
    request_body = NewResponse,
    responses(
        (status = 200, description = "Answered", body = Meeting),
        (status = 403, description = "Not a participant delegation's admin or scheduler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/meetings/{id}/response")]
pub async fn respond(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<MeetingId>,
    body: Json<NewResponse>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(&req)?;
    let meeting = meetings::respond(
        &state.store,
        &caller.0,
        id.into_inner(),
        expected,
        body.into_inner(),
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok(), meeting.version).json(&meeting))
}

#[derive(Deserialize, IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScheduleQuery {
    /// Window start (RFC 3339), required.
    pub from: String,
    /// Window end (RFC 3339), required; at most 366 days after `from`.
    pub to: String,
    /// Zone for `start_local`/`end_local`; default the caller's delegation zone (UTC for
    /// platform admins).
    pub tz: Option<String>,
    #[serde(default)]
    pub include_cancelled: bool,
}

/// Every occurrence the caller may see in `[from, to)`, sorted, in UTC and wall-clock.
#[utoipa::path(
    operation_id = "get_schedule",
    tag = "meetings",
    security(("bearer" = [])),
    params(ScheduleQuery),
    responses(
        (status = 200, description = "The occurrences", body = Schedule),
        (status = 422, description = "Invalid window or unknown zone", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/schedule")]
pub async fn schedule(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ScheduleQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let from = instant("from", Some(&query.from))?
        .ok_or_else(|| AppError::validation("from is required"))?;
    let to =
        instant("to", Some(&query.to))?.ok_or_else(|| AppError::validation("to is required"))?;
    let cancelled = if query.include_cancelled {
        Cancelled::Included
    } else {
        Cancelled::Excluded
    };
    let schedule =
        meetings::schedule(&state.store, &caller.0, (from, to), query.tz, cancelled).await?;
    Ok(HttpResponse::Ok().json(schedule))
}

/// A meeting's history, oldest first: every change, who made it (delegation, user), when, what
/// changed (before and after), the reason and comment given. For the users of its participant
/// delegations; a comment a delegation marked internal is shown to its own users only.
#[utoipa::path(
    operation_id = "meeting_history",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), PageQuery),
    responses(
        (status = 200, description = "One page of the history", body = Page<HistoryEntry>),
        (status = 404, description = "No such meeting, or the caller's delegation does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/meetings/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MeetingId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.request()?;
    Ok(HttpResponse::Ok()
        .json(meetings::history(&state.store, &caller.0, id.into_inner(), page).await?))
}
