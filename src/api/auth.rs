//! Authentication: the caller extractor, `POST /auth/login`, `GET /me`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{get, post, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use tracing_actix_web::{RequestId, RootSpan};

use super::body::Json;
use super::problem::Problem;
use super::AppState;
use crate::error::AppError;
use crate::service::identity::{self, Credentials, LoginResponse, Me};
use crate::service::Context;

/// An authenticated caller: `Authorization: Bearer <JWT>`, verified and looked up. Any failure
/// is 401 with the same body.
pub struct Caller(pub Context);

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let request_id = req.extensions().get::<RequestId>().map(ToString::to_string);
        let span = req.extensions().get::<RootSpan>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = token.ok_or_else(|| {
                AppError::Unauthorized(
                    "an access token is required (Authorization: Bearer …)".into(),
                )
            })?;
            let principal = identity::authenticate(&state.store, &state.keys, &token).await?;
            if let Some(span) = span {
                span.record("user_id", principal.user_id.as_str());
                if let Some(delegation_id) = &principal.delegation_id {
                    span.record("delegation_id", delegation_id.as_str());
                }
            }
            Ok(Caller(Context::user(principal, request_id)))
        })
    }
}

/// Log in with a username and password; the answer carries a bearer token.
///
/// A wrong username and a wrong password give the same 401. Failed logins are counted per
/// username and per client address; past the limit every attempt gets 429 with `Retry-After`.
#[utoipa::path(
    operation_id = "login",
    tag = "identity",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Wrong username or password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<Credentials>,
) -> Result<HttpResponse, AppError> {
    let client = super::http::client_address(&req, &state.config.trusted_proxies);
    let response = identity::login(
        &state.store,
        (&state.config, &state.keys, &state.passwords),
        body.into_inner(),
        client,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(response))
}

/// The caller and their delegation.
#[utoipa::path(
    operation_id = "me",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(identity::me(&state.store, &caller.0.principal).await?))
}
