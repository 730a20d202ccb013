//! What every JSON request body and every URL must be before a handler sees it: JSON declared as
//! such (415 otherwise), within 1 MiB (413), and no control characters in any text — they cannot
//! be stored on every backend (PostgreSQL refuses U+0000) and no field has a use for them (422
//! naming the field; tab, CR and LF are allowed in text).

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::problem;
use crate::error::{AppError, FieldError};

/// A JSON body of type `T`, checked as this module says.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let bytes = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let value = json_value(&req, &bytes.await?)?;
            let input =
                serde_json::from_value(value).map_err(|e| problem::deserialize_error(&e))?;
            Ok(Json(input))
        })
    }
}

/// `application/json`, or any `…/…+json` type (parameters such as `charset` allowed).
fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| {
            essence == "application/json"
                || essence
                    .split_once('/')
                    .is_some_and(|(_, subtype)| subtype.ends_with("+json"))
        })
}

/// The body as a JSON value, after the media type and text checks.
pub fn json_value(req: &HttpRequest, body: &[u8]) -> Result<Value, AppError> {
    if !is_json(req) {
        return Err(AppError::UnsupportedMediaType(
            "the request body must be JSON: send Content-Type: application/json".into(),
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| problem::deserialize_error(&e))?;
    let mut errors = Vec::new();
    control_characters(&value, &mut String::new(), &mut errors);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// A control character other than tab, CR and LF (C0, DEL and C1).
pub fn forbidden_in_text(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\r' | '\n')
}

const CONTROL_MESSAGE: &str = "must not contain control characters (other than tab, CR and LF)";

/// Every string (and object key) holding a forbidden character, named by its path
/// (`title`, `participants[1]`, `working_hours.mon[0][1]`).
fn control_characters(value: &Value, path: &mut String, errors: &mut Vec<FieldError>) {
    let at = |path: &str| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(s) if s.chars().any(forbidden_in_text) => {
            errors.push(FieldError::new(at(path), CONTROL_MESSAGE));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                control_characters(item, path, errors);
                path.truncate(len);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if key.chars().any(forbidden_in_text) {
                    errors.push(FieldError::new(at(path), CONTROL_MESSAGE));
                    path.truncate(len);
                    continue;
                }
                path.push_str(key);
                control_characters(item, path, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// URLs: a query parameter whose decoded name or value holds a control character → 422 naming
/// it; a path that does → 404 (it names nothing).
pub async fn url_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let query = req.query_string();
    let mut errors = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name.chars().chain(value.chars()).any(|c| c.is_control()) {
            let name: String = name.chars().filter(|c| !c.is_control()).collect();
            errors.push(FieldError::new(name, CONTROL_MESSAGE));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors).into());
    }
    let path = percent_encoding::percent_decode_str(req.path()).decode_utf8_lossy();
    if path.chars().any(|c| c.is_control()) {
        return Err(AppError::not_found("resource").into());
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use serde_json::json;

    use super::*;

    fn with_type(content_type: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::post();
        if let Some(t) = content_type {
            req = req.insert_header((header::CONTENT_TYPE, t));
        }
        req.to_http_request()
    }

    #[test]
    fn only_json_media_types_are_read() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
            "application/problem+json",
        ] {
            assert!(json_value(&with_type(Some(ok)), b"{}").is_ok(), "{ok}");
        }
        for refused in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("json"),
        ] {
            let error = json_value(&with_type(refused), b"{}").unwrap_err();
            assert_eq!(error.code(), "unsupported-media-type", "{refused:?}");
            assert_eq!(error.status(), 415);
        }
    }

    #[test]
    fn control_characters_are_named_by_their_path() {
        let body = json!({
            "title": "a\u{0}b",
            "description": "tabs\tand\r\nnewlines are fine",
            "participants": ["ok", "bad\u{7}"],
            "working_hours": {"mon": [["09:00", "1\u{1b}3:00"]]},
            "location": "C1 \u{85} too",
            "n": 5
        });
        let mut errors = Vec::new();
        control_characters(&body, &mut String::new(), &mut errors);
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "location",
                "participants[1]",
                "title",
                "working_hours.mon[0][1]"
            ]
        );
        let mut errors = Vec::new();
        control_characters(&json!("\u{0}"), &mut String::new(), &mut errors);
        assert_eq!(errors[0].field, "body");
    }

    #[test]
    fn lone_surrogates_are_not_json() {
        let error = json_value(
            &with_type(Some("application/json")),
            br#"{"title": "\ud800"}"#,
        )
        .unwrap_err();
        assert_eq!(error.code(), "validation");
    }
}
