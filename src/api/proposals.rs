//! Counter-proposals: `…/meetings/{id}/proposals`, and their acceptance, rejection and
//! withdrawal.

use actix_web::{get, post, web, HttpRequest, HttpResponse};

use super::auth::Caller;
use super::body::Json;
use super::problem::Problem;
use super::{create_body, created, AppState, PageQuery};
use crate::domain::stored::MeetingId;
use crate::error::AppError;
use crate::service::meetings::{self, NewProposal, Proposal, ProposalDecision};
use crate::service::Page;

/// Propose another time, zone or venue for the meeting or one session of it (a participant
/// delegation other than the host: its admins and schedulers).
#[utoipa::path(
    operation_id = "propose",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id")),
    request_body = NewProposal,
    responses(
        (status = 201, description = "Proposed: open until the host decides or you withdraw it (an Idempotency-Key makes a retry safe)", body = Proposal, headers(("Location" = String))),
        (status = 403, description = "Not a participant's admin or scheduler, or the host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or session, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nothing proposed, or an invalid time, zone, venue or comment", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/meetings/{id}/proposals")]
pub async fn propose(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<MeetingId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (input, key) = create_body::<NewProposal>(&req, &caller, &body)?;
    let outcome = meetings::propose(&state.store, &caller.0, id.clone(), input, key).await?;
    created(
        outcome,
        |p| format!("/api/v1/meetings/{id}/proposals/{}", p.id),
        |_| None,
    )
}

/// The meeting's proposals, oldest first (its participants' users).
#[utoipa::path(
    operation_id = "list_proposals",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), PageQuery),
    responses(
        (status = 200, description = "One page of proposals", body = Page<Proposal>),
        (status = 404, description = "No such meeting, or the caller's delegation does not take part", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/meetings/{id}/proposals")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MeetingId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.request()?;
    Ok(HttpResponse::Ok()
        .json(meetings::list_proposals(&state.store, &caller.0, id.into_inner(), page).await?))
}

/// Accept a proposal (the host's admins and schedulers): the change is made, the other
/// parties are asked again, and the proposer's answer becomes `accepted`.
#[utoipa::path(
    operation_id = "accept_proposal",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), ("proposal_id" = String, Path, description = "Proposal id")),
    responses(
        (status = 200, description = "Accepted and applied", body = Proposal),
        (status = 403, description = "Not the host's admin or scheduler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already, or the change conflicts (a channel's rules)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The proposed time does not resolve now", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/meetings/{id}/proposals/{proposal_id}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(MeetingId, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, proposal) = path.into_inner();
    Ok(HttpResponse::Ok().json(meetings::accept(&state.store, &caller.0, id, proposal).await?))
}

/// Reject a proposal with a reason (the host's admins and schedulers).
#[utoipa::path(
    operation_id = "reject_proposal",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), ("proposal_id" = String, Path, description = "Proposal id")),
    request_body = ProposalDecision,
    responses(
        (status = 200, description = "Rejected", body = Proposal),
        (status = 403, description = "Not the host's admin or scheduler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason given", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/meetings/{id}/proposals/{proposal_id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(MeetingId, String)>,
    body: Json<ProposalDecision>,
) -> Result<HttpResponse, AppError> {
    let (id, proposal) = path.into_inner();
    let decided = meetings::reject(&state.store, &caller.0, id, proposal, body.into_inner());
    Ok(HttpResponse::Ok().json(decided.await?))
}

/// Withdraw your delegation's proposal (its admins and schedulers), with an optional reason.
#[utoipa::path(
    operation_id = "withdraw_proposal",
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id"), ("proposal_id" = String, Path, description = "Proposal id")),
    request_body = ProposalDecision,
    responses(
        (status = 200, description = "Withdrawn", body = Proposal),
        (status = 403, description = "Not the proposing delegation's admin or scheduler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/meetings/{id}/proposals/{proposal_id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(MeetingId, String)>,
    body: Json<ProposalDecision>,
) -> Result<HttpResponse, AppError> {
    let (id, proposal) = path.into_inner();
    let decided = meetings::withdraw(&state.store, &caller.0, id, proposal, body.into_inner());
    Ok(HttpResponse::Ok().json(decided.await?))
}
