//! HTTP: handlers per resource, extractors, problem+json. No diesel here: handlers call services.

pub mod audit;
pub mod auth;
pub mod availability;
pub mod body;
pub mod channels;
pub mod delegations;
pub mod export;
pub mod forums;
pub mod http;
pub mod meetings;
pub mod ops;
pub mod problem;
pub mod proposals;
pub mod sessions;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::scope;

use crate::auth::keys::KeyRing;
use crate::config::Config;
use crate::error::AppError;
use crate::service::idempotency;
use crate::store::Store;

pub use http::RouteTable;

/// What every handler can reach.
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub keys: Arc<KeyRing>,
    /// Rendered feeds, under their validators.
    pub feeds: Arc<crate::service::feed_cache::FeedCache>,
    /// Bounded argon2 work (logins, new users).
    pub passwords: Arc<crate::auth::password::PasswordWork>,
    /// Bounded calendar renderings (a feed of thousands of meetings takes megabytes while it
    /// is made): as many at once as there are cores.
    pub renders: Arc<crate::gate::Gate>,
}

/// Largest accepted request body (API.md): 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(problem::json_error)
}

pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_BODY_BYTES)
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(problem::query_error)
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(problem::path_error)
}

/// The OpenAPI document's fixed parts; every route's own entry is collected from the handlers
/// as they are registered (utoipa-actix-web), so a registered route is always documented.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "entente",
        description = "Scheduling of diplomatic contacts: delegations, meetings, contact channels, forums and iCalendar feeds.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0")
    ),
    paths(ops::openapi_json),
    components(schemas(problem::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "identity", description = "Logging in and who the caller is"),
        (name = "delegations", description = "The directory of delegations"),
        (name = "users", description = "A delegation's users"),
        (name = "meetings", description = "Meetings across time zones, responses, conflicts and the schedule"),
        (name = "availability", description = "Busy times and non-working days of delegations, the search for a common time, host alternation"),
        (name = "channels", description = "Bilateral contact channels (hotlines, consultations, working groups): proposal, transitions, history"),
        (name = "forums", description = "Multilateral platforms and their member delegations"),
        (name = "calendar", description = "iCalendar export: one meeting's .ics, and subscribable feeds"),
        (name = "audit", description = "The append-only record of every change"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The `bearer` security scheme every protected operation names.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The answers every operation of a kind can give, declared on each so that a client generated
/// from the document expects them: 401 where a bearer token is required, 413 and 415 where a
/// JSON body is read, 503 wherever the database is used (all of the API and the feeds).
struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str, retry_after: bool| {
            let mut response = ResponseBuilder::new().description(description).content(
                problem::PROBLEM_CONTENT_TYPE,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
            if retry_after {
                response = response.header(
                    "Retry-After",
                    utoipa::openapi::HeaderBuilder::new()
                        .schema(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::Type::Integer),
                        )
                        .description(Some("Seconds to wait"))
                        .build(),
                );
            }
            response.build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.name == "Idempotency-Key" {
                        // What `idempotency::Key::new` accepts.
                        parameter.schema = Some(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::Type::String)
                                .pattern(Some("^[!-~]{1,255}$"))
                                .into(),
                        );
                    }
                }
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, response: utoipa::openapi::Response| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| response.into());
                };
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add("401", problem("No valid access token", false));
                }
                if operation.request_body.is_some() {
                    add("413", problem("The body exceeds 1 MiB", false));
                    add("415", problem("The body is not declared as JSON", false));
                    add("422", problem("The body is invalid", false));
                }
                if path.starts_with("/api/v1") || path.starts_with("/feeds") {
                    add(
                        "503",
                        problem("The database is busy: try again after Retry-After", true),
                    );
                }
            }
        }
    }
}

/// `If-Match: "<version>"` → the version the client last read; absent or `*` → None. A value
/// that can name no version of ours can never match: 412.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, AppError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value.to_str().unwrap_or_default().trim();
    if raw == "*" {
        return Ok(None);
    }
    raw.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            AppError::PreconditionFailed(format!(
                "If-Match {raw} matches no version: send the ETag you read, e.g. \"3\""
            ))
        })
}

/// Adds `ETag: "<version>"`.
pub fn with_etag(
    mut builder: actix_web::HttpResponseBuilder,
    version: i64,
) -> actix_web::HttpResponseBuilder {
    builder.insert_header((header::ETAG, format!("\"{version}\"")));
    builder
}

/// A create's JSON body, read as a value first so that an `Idempotency-Key` is bound to
/// exactly what was asked (canonical JSON), then as `T`.
pub fn create_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    caller: &auth::Caller,
    body: &web::Bytes,
) -> Result<(T, Option<idempotency::Key>), AppError> {
    let value = body::json_value(req, body)?;
    let key = match req.headers().get("idempotency-key") {
        Some(raw) => Some(idempotency::Key::new(
            &caller.0.principal.user_id,
            raw.to_str().unwrap_or_default(),
            &format!("POST {}", req.uri()),
            &value,
        )?),
        None => None,
    };
    let input = serde_json::from_value(value).map_err(|e| problem::deserialize_error(&e))?;
    Ok((input, key))
}

/// `?limit=` (1–500, default 50) and `?cursor=` (from `next_cursor`).
#[derive(serde::Deserialize, utoipa::IntoParams, Debug)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn request(&self) -> Result<crate::service::PageRequest, AppError> {
        crate::service::PageRequest::parse(self.limit, self.cursor.as_deref())
    }
}

/// 201 with `Location`, and `ETag` for a versioned resource.
pub fn created_response(
    location: String,
    version: Option<i64>,
    body: impl serde::Serialize,
) -> actix_web::HttpResponse {
    let mut response = actix_web::HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    match version {
        Some(version) => with_etag(response, version).json(body),
        None => response.json(body),
    }
}

/// 201 with `Location` (and `ETag`, for a versioned resource) for a new resource. A replay
/// answers the same: the first answer's body as it was sent (marked `Idempotent-Replayed:
/// true`), with the `Location` and `ETag` of the resource it describes.
pub fn created<T: serde::Serialize + serde::de::DeserializeOwned>(
    outcome: idempotency::Created<T>,
    location: impl FnOnce(&T) -> String,
    version: impl FnOnce(&T) -> Option<i64>,
) -> Result<actix_web::HttpResponse, AppError> {
    match outcome {
        idempotency::Created::New(made) => {
            Ok(created_response(location(&made), version(&made), &*made))
        }
        idempotency::Created::Replayed(replay) => {
            let idempotency::Outcome::Created = replay.outcome;
            let first: T = serde_json::from_str(&replay.body).map_err(AppError::internal)?;
            let mut response = actix_web::HttpResponse::Created();
            response
                .insert_header((header::LOCATION, location(&first)))
                .insert_header(("Idempotent-Replayed", "true"));
            let mut response = match version(&first) {
                Some(version) => with_etag(response, version),
                None => response,
            };
            Ok(response.content_type("application/json").body(replay.body))
        }
    }
}

/// The complete OpenAPI document: the fixed parts above plus every route `configure` registers.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let mut document = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(configure)
        .split_for_parts()
        .1;
    // After the routes are in: utoipa runs the `modifiers` before they are collected.
    StandardResponses.modify(&mut document);
    document
}

/// Every documented route. Register new resources here, always through `service(...)`.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(
        scope("/api/v1")
            .service(auth::login)
            .service(auth::me)
            .service(delegations::create)
            .service(delegations::list)
            .service(delegations::get)
            .service(delegations::update)
            .service(availability::busy)
            .service(availability::observances)
            .service(availability::replace_observances)
            .service(availability::search)
            .service(availability::reciprocity)
            .service(delegations::create_user)
            .service(delegations::list_users)
            .service(delegations::deactivate_user)
            .service(meetings::create)
            .service(meetings::list)
            // Before `/meetings/{id}`, whose `{id}` would take `x.ics`.
            .service(export::meeting_ics)
            .service(meetings::get)
            .service(meetings::update)
            .service(meetings::cancel)
            .service(meetings::respond)
            .service(sessions::put_occurrence)
            .service(sessions::put_occurrence_local)
            .service(sessions::respond_to_session)
            .service(sessions::respond_to_session_local)
            .service(meetings::history)
            .service(proposals::propose)
            .service(proposals::list)
            .service(proposals::accept)
            .service(proposals::reject)
            .service(proposals::withdraw)
            .service(meetings::schedule)
            .service(channels::create)
            .service(channels::list)
            .service(channels::get)
            .service(channels::transition)
            .service(channels::history)
            .service(forums::create)
            .service(forums::list)
            .service(forums::get)
            .service(forums::update)
            .service(export::create_feed)
            .service(export::list_feeds)
            .service(export::revoke_feed)
            .service(audit::list),
    )
    .service(export::feed_ics)
    .service(ops::healthz)
    .service(ops::readyz)
    .service(ops::metrics)
    .service(ops::docs_redirect);
}

#[cfg(test)]
mod tests {
    //! The production body/JSON/query configuration on a real actix service. (Over-the-wire
    //! tests of the same rules run against the real endpoints in tests/integration.)

    use actix_web::middleware::ErrorHandlers;
    use actix_web::{test, web, App, HttpResponse};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)]
        name: String,
    }

    #[derive(Deserialize)]
    struct Query {
        #[allow(dead_code)]
        limit: u32,
    }

    async fn echo(_: super::body::Json<Body>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn query(_: web::Query<Query>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn call(req: test::TestRequest) -> (u16, serde_json::Value) {
        let app = test::init_service(
            App::new()
                .app_data(super::json_config())
                .app_data(super::payload_config())
                .app_data(super::query_config())
                .wrap(ErrorHandlers::new().default_handler(super::problem::ensure_problem))
                .route("/echo", web::post().to(echo))
                .route("/query", web::get().to(query)),
        )
        .await;
        let response = test::call_service(&app, req.to_request()).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = test::read_body(response).await;
        if status >= 400 {
            assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        }
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    #[actix_web::test]
    async fn good_json_passes() {
        let (status, _) = call(
            test::TestRequest::post()
                .uri("/echo")
                .set_json(serde_json::json!({"name": "x"})),
        )
        .await;
        assert_eq!(status, 200);
    }

    #[actix_web::test]
    async fn a_body_over_one_mebibyte_is_413() {
        let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(super::MAX_BODY_BYTES));
        let (status, body) = call(
            test::TestRequest::post()
                .uri("/echo")
                .insert_header(("content-type", "application/json"))
                .set_payload(big),
        )
        .await;
        assert_eq!(status, 413);
        assert_eq!(body["code"], "payload-too-large");
    }

    #[actix_web::test]
    async fn malformed_unknown_and_missing_are_422() {
        let cases = [
            (r#"{"name": "x""#, None),
            (r#"{"name": "x", "colour": "red"}"#, Some("colour")),
            (r#"{}"#, Some("name")),
            (r#"{"name": 5}"#, None),
            (r#"[]"#, None),
        ];
        for (payload, field) in cases {
            let (status, body) = call(
                test::TestRequest::post()
                    .uri("/echo")
                    .insert_header(("content-type", "application/json"))
                    .set_payload(payload),
            )
            .await;
            assert_eq!(status, 422, "{payload}");
            assert_eq!(body["code"], "validation", "{payload}");
            if let Some(field) = field {
                assert_eq!(body["errors"][0]["field"], field, "{payload}");
            }
        }
    }

    #[actix_web::test]
    async fn wrong_content_type_is_415_and_bad_query_422() {
        let (status, body) = call(
            test::TestRequest::post()
                .uri("/echo")
                .insert_header(("content-type", "text/plain"))
                .set_payload(r#"{"name":"x"}"#),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (415, Some("unsupported-media-type"))
        );
        let (status, body) = call(
            test::TestRequest::post()
                .uri("/echo")
                .set_payload(r#"{"name":"x"}"#),
        )
        .await;
        assert_eq!(status, 415, "no Content-Type: {body}");
        let (status, body) = call(test::TestRequest::get().uri("/query?limit=many")).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation")));
    }
}

#[cfg(test)]
mod document_tests {
    /// The document is a contract: it changes only on purpose. `docs/openapi.json` is the
    /// committed copy; after a deliberate change, regenerate it with
    /// `ENTENTE_WRITE_OPENAPI=1 cargo test --lib document_tests` and review the diff.
    #[test]
    fn the_document_is_the_committed_copy() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
        let current = serde_json::to_string_pretty(&super::openapi_document()).unwrap() + "\n";
        if std::env::var_os("ENTENTE_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap();
        assert!(
            current == committed,
            "the OpenAPI document differs from docs/openapi.json (regenerate it on purpose only)"
        );
    }

    /// A client generated from the document expects what the server answers.
    #[test]
    fn every_operation_declares_the_answers_of_its_kind() {
        let document = serde_json::to_value(super::openapi_document()).unwrap();
        let mut checked = 0;
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let responses = &operation["responses"];
                let name = format!("{method} {path}");
                if operation["security"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty())
                {
                    assert!(responses.get("401").is_some(), "{name}: no 401");
                }
                if operation.get("requestBody").is_some() {
                    for status in ["413", "415", "422"] {
                        assert!(responses.get(status).is_some(), "{name}: no {status}");
                    }
                }
                if path.starts_with("/api/v1") || path.starts_with("/feeds") {
                    assert!(responses.get("503").is_some(), "{name}: no 503");
                    assert!(
                        responses["503"]["headers"].get("Retry-After").is_some(),
                        "{name}: 503 without Retry-After"
                    );
                }
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["name"] == "Idempotency-Key" {
                        assert_eq!(parameter["schema"]["pattern"], "^[!-~]{1,255}$", "{name}");
                    }
                    if parameter["name"] == "limit" {
                        assert_eq!(parameter["schema"]["minimum"], 1, "{name}");
                        assert_eq!(parameter["schema"]["maximum"], 500, "{name}");
                    }
                }
                checked += 1;
            }
        }
        assert!(checked > 30, "{checked} operations");
        let new_user = &document["components"]["schemas"]["NewUser"]["properties"];
        assert_eq!(new_user["password"]["minLength"], 12);
    }
}
