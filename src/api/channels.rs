//! `/channels`: bilateral contact channels, their transitions and history.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Json;
use super::problem::Problem;
use super::{create_body, created, if_match, with_etag, AppState, PageQuery};
use crate::domain::channel::{ChannelStatus, Outcome};
use crate::domain::stored::ChannelId;
use crate::error::AppError;
use crate::service::channels::{
    self, Channel, ChannelFilter, HistoryEntry, NewChannel, NewTransition,
};
use crate::service::{Page, PageRequest};

#[derive(Deserialize, IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<ChannelStatus>,
    /// Only channels whose other party is this delegation.
    pub counterpart: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Propose a contact channel to another delegation (the caller's delegation's admins). It
/// starts `proposed`; the counterpart's admins activate it. Repeat-safe with `Idempotency-Key`.
#[utoipa::path(
    operation_id = "propose_channel",
    tag = "channels",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    request_body = NewChannel,
    responses(
        (status = 201, description = "Proposed", body = Channel, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Not an admin of a delegation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, unknown counterpart, or the caller's own delegation", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/channels")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (input, key) = create_body::<NewChannel>(&req, &caller, &body)?;
    let outcome = channels::create(&state.store, &caller.0, input, key).await?;
    created(
        outcome,
        |c| format!("/api/v1/channels/{}", c.id),
        |c| Some(c.version),
    )
}

/// The channels the caller's delegation is a party to, oldest first.
#[utoipa::path(
    operation_id = "list_channels",
    tag = "channels",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page of channels", body = Page<Channel>),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/channels")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = ChannelFilter {
        status: query.status,
        counterpart: query.counterpart,
    };
    Ok(HttpResponse::Ok().json(channels::list(&state.store, &caller.0, filter, page).await?))
}

/// One channel. 404 unless the caller's delegation is one of its two parties.
#[utoipa::path(
    operation_id = "get_channel",
    tag = "channels",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Channel id")),
    responses(
        (status = 200, description = "The channel", body = Channel, headers(("ETag" = String))),
        (status = 404, description = "No such channel, or not a party to it", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/channels/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ChannelId>,
) -> Result<HttpResponse, AppError> {
    let channel = channels::get(&state.store, &caller.0, id.into_inner()).await?;
    Ok(with_etag(HttpResponse::Ok(), channel.version).json(&channel))
}

/// Move the channel (a party's admins): `proposed → active` by the counterpart only;
/// `active → suspended | frozen` by either side, with a reason; `suspended | frozen → active`
/// when both sides have asked — the first request answers 202 and changes nothing but the
/// history, the other side's completes it (200); `→ closed` by either side, with a reason, for
/// good. Illegal moves → 409 `conflict` naming the rule. Honours `If-Match`.
#[utoipa::path(
    operation_id = "transition_channel",
    tag = "channels",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Channel id"), ("If-Match" = Option<String>, Header)),
    request_body = NewTransition,
    responses(
        (status = 200, description = "Moved", body = Channel, headers(("ETag" = String))),
        (status = 202, description = "Reactivation asked by one side: recorded; the other side's request completes it", body = Channel, headers(("ETag" = String))),
        (status = 403, description = "A party's scheduler or viewer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel, or not a party to it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a move the channel's rules allow (the rule is named), or already asked by this side", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing reason or invalid field", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/channels/{id}/transitions")]
pub async fn transition(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<ChannelId>,
    body: Json<NewTransition>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(&req)?;
    let done = channels::transition(
        &state.store,
        &caller.0,
        id.into_inner(),
        expected,
        body.into_inner(),
    )
    .await?;
    let builder = match done.outcome {
        Outcome::Moved => HttpResponse::Ok(),
        Outcome::Requested => HttpResponse::Accepted(),
    };
    Ok(with_etag(builder, done.channel.version).json(&done.channel))
}

/// The channel's history, oldest first: its proposal, every transition and every
/// reactivation request — who (user and delegation), when, from, to, and why.
#[utoipa::path(
    operation_id = "channel_history",
    tag = "channels",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Channel id"), PageQuery),
    responses(
        (status = 200, description = "One page of the history", body = Page<HistoryEntry>),
        (status = 404, description = "No such channel, or not a party to it", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/channels/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ChannelId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.request()?;
    Ok(HttpResponse::Ok()
        .json(channels::history(&state.store, &caller.0, id.into_inner(), page).await?))
}
