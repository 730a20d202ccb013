//! HTTP semantics every route shares (RFC 9110): HEAD, conditional GET, and which methods a
//! resource allows.

use actix_web::body::MessageBody;
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest};

/// Marks a request that arrived as HEAD and is routed as GET.
#[derive(Clone, Copy, Debug)]
pub struct HeadRequest;

/// RFC 9110 §9.3.2: HEAD is GET without the content. The request is routed as GET, so every GET
/// route answers HEAD with the same status and header fields; actix-http, which saw the HEAD on
/// the wire, writes the headers (Content-Length of the body included) and no body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(HeadRequest);
    }
    next.call(req).await
}

/// The method the client sent (HEAD for a HEAD routed as GET).
pub fn original_method(req: &HttpRequest) -> Method {
    if req.extensions().contains::<HeadRequest>() {
        Method::HEAD
    } else {
        req.method().clone()
    }
}

/// RFC 9110 §13.1.2: whether `If-None-Match` is `*` or names `etag` by weak comparison (`W/"x"`
/// and `"x"` match: proxies weaken validators), in any of its header lines.
pub fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    let ours = opaque(etag);
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || opaque(tag) == ours)
}

fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Every route the app serves, with its methods: lets the fallback tell "no such resource"
/// (404) from "no such method on this resource" (405 with `Allow`), and answer OPTIONS.
pub struct RouteTable(Vec<(ResourceDef, Vec<String>)>);

/// The order `Allow` lists methods in.
const METHOD_ORDER: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl RouteTable {
    pub fn from_openapi(document: &utoipa::openapi::OpenApi) -> Self {
        let value = serde_json::to_value(document).unwrap_or_default();
        let routes = value["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, item)| {
                        let documented: Vec<String> = item
                            .as_object()
                            .map(|ops| ops.keys().map(|m| m.to_uppercase()).collect())
                            .unwrap_or_default();
                        (ResourceDef::new(path.as_str()), allow_list(&documented))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(routes)
    }

    /// The methods allowed on `path` (GET implies HEAD; OPTIONS always), or None when no route
    /// has that path. Where several patterns match (`/meetings/{id}` also matches `x.ics`), the
    /// most specific one — the most literal characters — is the resource.
    pub fn allowed(&self, path: &str) -> Option<&[String]> {
        self.0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .max_by_key(|(def, _)| literal_len(def.pattern().unwrap_or_default()))
            .map(|(_, methods)| methods.as_slice())
    }
}

fn allow_list(documented: &[String]) -> Vec<String> {
    METHOD_ORDER
        .iter()
        .filter(|m| {
            documented.iter().any(|d| d == *m)
                || (**m == "HEAD" && documented.iter().any(|d| d == "GET"))
                || **m == "OPTIONS"
        })
        .map(|m| (*m).to_owned())
        .collect()
}

/// Characters of a pattern outside its `{…}` placeholders.
fn literal_len(pattern: &str) -> usize {
    let mut depth = 0_usize;
    pattern
        .chars()
        .filter(|c| {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .count()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn weak_and_strong_validators_match_weakly() {
        let etag = "\"abc\"";
        let req = |v: &str| {
            TestRequest::default()
                .insert_header((header::IF_NONE_MATCH, v))
                .to_http_request()
        };
        assert!(if_none_match(&req("\"abc\""), etag));
        assert!(if_none_match(&req("W/\"abc\""), etag));
        assert!(if_none_match(&req("\"x\", W/\"abc\""), etag));
        assert!(if_none_match(&req("*"), etag));
        assert!(!if_none_match(&req("\"abcd\""), etag));
        assert!(!if_none_match(&req("W/\"x\""), etag));
        assert!(!if_none_match(
            &TestRequest::default().to_http_request(),
            etag
        ));
    }

    #[test]
    fn the_most_specific_route_names_the_methods() {
        let table = RouteTable(vec![
            (
                ResourceDef::new("/api/v1/meetings/{id}"),
                allow_list(&["GET".into(), "PATCH".into(), "DELETE".into()]),
            ),
            (
                ResourceDef::new("/api/v1/meetings/{id}.ics"),
                allow_list(&["GET".into()]),
            ),
            (
                ResourceDef::new("/api/v1/meetings"),
                allow_list(&["POST".into()]),
            ),
        ]);
        assert_eq!(
            table.allowed("/api/v1/meetings/abc.ics").unwrap(),
            ["GET", "HEAD", "OPTIONS"]
        );
        assert_eq!(
            table.allowed("/api/v1/meetings/abc").unwrap(),
            ["GET", "HEAD", "PATCH", "DELETE", "OPTIONS"]
        );
        assert_eq!(
            table.allowed("/api/v1/meetings").unwrap(),
            ["POST", "OPTIONS"]
        );
        assert!(table.allowed("/api/v1/nothing").is_none());
        assert_eq!(literal_len("/a/{id}.ics"), 7);
    }
}
