//! `/forums`: multilateral platforms and their member delegations.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};

use super::auth::Caller;
use super::body::Json;
use super::problem::Problem;
use super::{create_body, created, if_match, with_etag, AppState, PageQuery};
use crate::domain::stored::ForumId;
use crate::error::AppError;
use crate::service::forums::{self, Forum, ForumPatch, NewForum};
use crate::service::Page;

/// Create a forum with its member delegations (platform admins). Repeat-safe with
/// `Idempotency-Key`.
#[utoipa::path(
    operation_id = "create_forum",
    tag = "forums",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    request_body = NewForum,
    responses(
        (status = 201, description = "Created", body = Forum, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Not a platform admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field or unknown member delegation", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/forums")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (input, key) = create_body::<NewForum>(&req, &caller, &body)?;
    let outcome = forums::create(&state.store, &caller.0, input, key).await?;
    created(
        outcome,
        |f| format!("/api/v1/forums/{}", f.id),
        |f| Some(f.version),
    )
}

/// The forums the caller's delegation is a member of (every forum, for platform admins).
#[utoipa::path(
    operation_id = "list_forums",
    tag = "forums",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of forums", body = Page<Forum>),
        (status = 422, description = "Invalid page", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/forums")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.request()?;
    Ok(HttpResponse::Ok().json(forums::list(&state.store, &caller.0, page).await?))
}

/// One forum. 404 unless the caller's delegation is a member (or the caller a platform admin).
#[utoipa::path(
    operation_id = "get_forum",
    tag = "forums",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Forum id")),
    responses(
        (status = 200, description = "The forum", body = Forum, headers(("ETag" = String))),
        (status = 404, description = "No such forum, or not a member", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/forums/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ForumId>,
) -> Result<HttpResponse, AppError> {
    let forum = forums::get(&state.store, &caller.0, id.into_inner()).await?;
    Ok(with_etag(HttpResponse::Ok(), forum.version).json(&forum))
}

/// Edit a forum (platform admins); `members` replaces the list. A removed member no longer
/// sees the forum's `forum`-confidential meetings; the meetings stay. Honours `If-Match`.
#[utoipa::path(
    operation_id = "update_forum",
    tag = "forums",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Forum id"), ("If-Match" = Option<String>, Header)),
    request_body = ForumPatch,
    responses(
        (status = 200, description = "Changed", body = Forum, headers(("ETag" = String))),
        (status = 403, description = "A member, but not a platform admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such forum, or not a member", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field or unknown member delegation", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/forums/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<ForumId>,
    body: Json<ForumPatch>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(&req)?;
    let forum = forums::update(
        &state.store,
        &caller.0,
        id.into_inner(),
        expected,
        body.into_inner(),
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok(), forum.version).json(&forum))
}
