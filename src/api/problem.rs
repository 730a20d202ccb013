//! RFC 9457 problem details: the one shape every error response has.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::RouteTable;
use crate::error::{AppError, FieldError};

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem. `code` is the stable machine string clients branch on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:entente:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One of the codes of the API contract, e.g. `validation`, `not-found`.
    pub code: String,
    /// The fields at fault, where the request had fields at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("urn:entente:problem:{code}"),
            title: title_of(code).to_owned(),
            status,
            detail: detail.into(),
            code: code.to_owned(),
            errors: Vec::new(),
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match serde_json::to_vec(&self) {
            Ok(body) => HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE))
                .body(body),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }
}

fn title_of(code: &str) -> &'static str {
    match code {
        "validation" => "The request is invalid",
        "unknown-time-zone" => "Unknown time zone",
        "nonexistent-local-time" => "The local time does not exist in that time zone",
        "ambiguous-local-time" => "The local time occurs twice in that time zone",
        "invalid-recurrence" => "Invalid recurrence rule",
        "unauthorized" => "Authentication required",
        "forbidden" => "Not allowed",
        "not-found" => "Not found",
        "method-not-allowed" => "Method not allowed",
        "conflict" => "Conflict",
        "channel-not-active" => "The channel is not active",
        "not-agreed" => "The parties have not agreed",
        "host-out-of-turn" => "It is the other delegation's turn to host",
        "precondition-failed" => "The resource has changed",
        "payload-too-large" => "The request body is too large",
        "unsupported-media-type" => "The request body is not JSON",
        "rate-limited" => "Too many requests",
        "unavailable" => "Service unavailable",
        _ => "Internal error",
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let detail = match self {
            AppError::Internal(cause) => {
                tracing::error!(error = %cause, cause_chain = %cause_chain(cause.as_ref()), "internal error");
                "An internal error occurred; it has been logged.".to_owned()
            }
            other => other.to_string(),
        };
        let mut problem = Problem::new(self.status(), self.code(), detail);
        if let AppError::Validation { errors, .. } = self {
            problem.errors = errors.clone();
        }
        let mut response = problem.into_response();
        if let AppError::Unauthorized(_) = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"entente\""),
            );
        }
        let retry_after = match self {
            AppError::RateLimited { retry_after, .. }
            | AppError::Unavailable { retry_after, .. } => Some(*retry_after),
            AppError::LostRace(_) => Some(std::time::Duration::from_secs(1)),
            _ => None,
        };
        if let Some(retry_after) = retry_after {
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// Malformed JSON, unknown or missing fields → 422 `validation`; too large → 413.
pub fn json_error(error: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let app_error = match &error {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            AppError::PayloadTooLarge(format!("the request body exceeds {limit} bytes"))
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => {
            AppError::PayloadTooLarge("the request body is too large".into())
        }
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType(
            "the request body must be JSON: send Content-Type: application/json".into(),
        ),
        JsonPayloadError::Deserialize(e) => deserialize_error(e),
        other => AppError::validation(format!("the request body could not be read: {other}")),
    };
    app_error.into()
}

/// serde names the field at fault in its message; lift it into `errors` for clients.
pub fn deserialize_error(error: &serde_json::Error) -> AppError {
    let message = error.to_string();
    let field = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.split_once(prefix))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name.to_owned());
    match field {
        Some(field) => AppError::Validation {
            detail: format!("invalid JSON body: {message}"),
            errors: vec![FieldError::new(field, message)],
        },
        None => AppError::validation(format!("invalid JSON body: {message}")),
    }
}

/// A bad query string → 422 `validation`.
pub fn query_error(error: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::validation(format!("invalid query string: {error}")).into()
}

/// A path segment that cannot be an id names nothing that exists → 404.
pub fn path_error(_error: PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::not_found("resource").into()
}

/// Unknown routes → 404 problem; OPTIONS on a known path → 204 with `Allow`; a known path with
/// another method → 405 with `Allow`.
pub async fn no_route(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    let method = super::http::original_method(&req);
    match routes.allowed(req.path()) {
        Some(methods) => {
            let allow = HeaderValue::from_str(&methods.join(", ")).ok();
            let mut response = if method == actix_web::http::Method::OPTIONS {
                HttpResponse::NoContent().finish()
            } else {
                Problem::new(
                    405,
                    "method-not-allowed",
                    format!(
                        "{method} is not allowed on {}; allowed: {}",
                        req.path(),
                        methods.join(", ")
                    ),
                )
                .into_response()
            };
            if let Some(allow) = allow {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            response
        }
        None => {
            Problem::new(404, "not-found", format!("no resource at {}", req.path())).into_response()
        }
    }
}

/// Turns any error response that is not yet a problem (one made by actix itself: 405, a
/// payload error, a 5xx) into one, so that every error a client sees has the same shape.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_CONTENT_TYPE.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let problem = match status.as_u16() {
        404 => Problem::new(
            404,
            "not-found",
            format!("no resource at {}", res.request().path()),
        ),
        405 => Problem::new(
            405,
            "method-not-allowed",
            format!("{} is not allowed here", res.request().method()),
        ),
        413 => Problem::new(413, "payload-too-large", "the request body is too large"),
        429 => Problem::new(429, "rate-limited", "too many requests"),
        s if s >= 500 => Problem::new(
            500,
            "internal",
            "An internal error occurred; it has been logged.",
        ),
        s => Problem::new(
            s,
            "validation",
            status.canonical_reason().unwrap_or("bad request"),
        ),
    };
    let allow = res.headers().get(header::ALLOW).cloned();
    let (req, _) = res.into_parts();
    let mut response = problem.into_response();
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_named() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            name: String,
        }
        let err = serde_json::from_str::<Body>(r#"{"name":"x","colour":"red"}"#).unwrap_err();
        match deserialize_error(&err) {
            AppError::Validation { errors, .. } => assert_eq!(errors[0].field, "colour"),
            other => panic!("{other:?}"),
        }
        let err = serde_json::from_str::<Body>(r#"{}"#).unwrap_err();
        match deserialize_error(&err) {
            AppError::Validation { errors, .. } => assert_eq!(errors[0].field, "name"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn internal_problem_hides_the_cause() {
        let response = AppError::internal("relation \"users\" does not exist").error_response();
        assert_eq!(response.status(), 500);
    }
}
