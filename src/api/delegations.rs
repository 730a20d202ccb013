//! `/delegations` and their users.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};

use super::auth::Caller;
use super::body::Json;
use super::problem::Problem;
use super::{created_response, if_match, with_etag, AppState, PageQuery};
use crate::domain::stored::{DelegationId, UserId};
use crate::error::AppError;
use crate::service::delegations::{
    self, Delegation, DelegationPatch, DirectoryEntry, NewDelegation,
};
use crate::service::users::{self, NewUser, User};
use crate::service::Page;

/// Create a delegation (platform admins).
#[utoipa::path(
    operation_id = "create_delegation",
    tag = "delegations",
    security(("bearer" = [])),
    request_body = NewDelegation,
    responses(
        (status = 201, description = "Created", body = Delegation),
        (status = 403, description = "Not a platform admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field or unknown time zone", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/delegations")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewDelegation>,
) -> Result<HttpResponse, AppError> {
    let delegation = delegations::create(&state.store, &caller.0, body.into_inner()).await?;
    Ok(created_response(
        format!("/api/v1/delegations/{}", delegation.id),
        Some(delegation.version),
        &delegation,
    ))
}

/// The directory of delegations (any authenticated user), ordered by code.
#[utoipa::path(
    operation_id = "list_delegations",
    tag = "delegations",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "One page of the directory", body = Page<DirectoryEntry>))
)]
#[get("/delegations")]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = delegations::list(&state.store, query.request()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One delegation, in full (any authenticated user).
#[utoipa::path(
    operation_id = "get_delegation",
    tag = "delegations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delegation id")),
    responses(
        (status = 200, description = "The delegation", body = Delegation, headers(("ETag" = String, description = "\"<version>\""))),
        (status = 404, description = "No such delegation", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/delegations/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<DelegationId>,
) -> Result<HttpResponse, AppError> {
    let delegation = delegations::get(&state.store, id.into_inner()).await?;
    Ok(with_etag(HttpResponse::Ok(), delegation.version).json(&delegation))
}

/// Change a delegation (platform admins, or the delegation's admins; only platform admins
/// change the code). Honours `If-Match: "<version>"`.
#[utoipa::path(
    operation_id = "update_delegation",
    tag = "delegations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delegation id"), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = DelegationPatch,
    responses(
        (status = 200, description = "Changed", body = Delegation),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version given in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/delegations/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<DelegationId>,
    body: Json<DelegationPatch>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(&req)?;
    let delegation = delegations::update(
        &state.store,
        &caller.0,
        id.into_inner(),
        expected,
        body.into_inner(),
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok(), delegation.version).json(&delegation))
}

/// Create a user of the delegation (platform admins, or the delegation's admins).
#[utoipa::path(
    operation_id = "create_user",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delegation id")),
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The username is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/delegations/{id}/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DelegationId>,
    body: Json<NewUser>,
) -> Result<HttpResponse, AppError> {
    let delegation_id = id.into_inner();
    let user = users::create(
        (&state.store, &state.passwords),
        &caller.0,
        Some(delegation_id.clone()),
        body.into_inner(),
    )
    .await?;
    Ok(created_response(
        format!("/api/v1/delegations/{delegation_id}/users/{}", user.id),
        Some(user.version),
        &user,
    ))
}

/// The delegation's users (platform admins, or the delegation's admins), by username.
#[utoipa::path(
    operation_id = "list_users",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delegation id"), PageQuery),
    responses(
        (status = 200, description = "One page of users", body = Page<User>),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/delegations/{id}/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DelegationId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = users::list(&state.store, &caller.0, id.into_inner(), query.request()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Deactivate a user of the delegation: they can no longer log in and their tokens stop
/// working. The user is kept (and shown with `active: false`).
#[utoipa::path(
    operation_id = "deactivate_user",
    tag = "users",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Delegation id"),
        ("user_id" = String, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")
    ),
    responses(
        (status = 200, description = "Deactivated", body = User),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in this delegation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Deactivating oneself", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the version given in If-Match", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/delegations/{id}/users/{user_id}")]
pub async fn deactivate_user(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(DelegationId, UserId)>,
) -> Result<HttpResponse, AppError> {
    let (delegation_id, user_id) = path.into_inner();
    let expected = if_match(&req)?;
    let user = users::deactivate(&state.store, &caller.0, delegation_id, user_id, expected).await?;
    Ok(with_etag(HttpResponse::Ok(), user.version).json(&user))
}
