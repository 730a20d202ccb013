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

/// RFC 9110 §13.2.2: whether a GET is answered 304 — `If-None-Match` when the request has one,
/// otherwise `If-Modified-Since` against `last_modified` (as sent: whole seconds).
pub fn not_modified(
    req: &HttpRequest,
    etag: &str,
    last_modified: Option<chrono::DateTime<chrono::Utc>>,
) -> bool {
    use actix_web::http::header::{Header, IfModifiedSince};
    if req.headers().contains_key(header::IF_NONE_MATCH) {
        return if_none_match(req, etag);
    }
    let (Some(modified), Ok(IfModifiedSince(since))) = (last_modified, IfModifiedSince::parse(req))
    else {
        return false;
    };
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::from(since)) >= modified
}

/// The `Last-Modified` to state for a change at `changed` (whole seconds), or None while the
/// second of the change has not ended: HTTP dates have no fractions, and a second change in
/// the same second would otherwise carry the same date as the first (RFC 9110 §8.8.2.2).
pub fn stated_last_modified(
    changed: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DurationRound, TimeDelta};
    let second = TimeDelta::seconds(1);
    let changed = changed.duration_trunc(second).ok()?;
    (changed < now.duration_trunc(second).ok()?).then_some(changed)
}

/// An HTTP date (IMF-fixdate).
pub fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    header::HttpDate::from(std::time::SystemTime::from(at)).to_string()
}

fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// The client's address: the TCP peer, unless the peer is a trusted reverse proxy — then the
/// nearest address in `Forwarded: for=` (or, without it, `X-Forwarded-For`) that is not itself a
/// trusted proxy, read from the right (each proxy appends; only what trusted ones appended can be
/// believed). Without trusted proxies the headers are ignored: anyone can write them.
pub fn client_address(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let chain = forwarded_chain(req);
    let mut client = peer;
    for hop in chain.iter().rev() {
        client = *hop;
        if !is_trusted(hop) {
            break;
        }
    }
    Some(client)
}

/// The addresses the proxies recorded, first (farthest) to last: `Forwarded`'s `for=` values,
/// or `X-Forwarded-For`'s list. Unparseable entries (`unknown`, obfuscated names) end the chain
/// there: nothing before them can be told apart.
fn forwarded_chain(req: &HttpRequest) -> Vec<std::net::IpAddr> {
    let values = |name: header::HeaderName| -> Vec<String> {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    let forwarded: Vec<String> = values(header::FORWARDED)
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.eq_ignore_ascii_case("for")
                    .then(|| value.trim_matches('"').to_owned())
            })
        })
        .collect();
    let raw = if forwarded.is_empty() {
        values(header::HeaderName::from_static("x-forwarded-for"))
    } else {
        forwarded
    };
    let mut chain = Vec::new();
    for entry in raw.iter().rev() {
        match parse_node(entry) {
            Some(ip) => chain.push(ip),
            None => break,
        }
    }
    chain.reverse();
    chain
}

/// `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_node(node: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    node.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
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
    fn a_last_modified_is_stated_once_its_second_has_passed() {
        use chrono::{TimeZone, Utc};
        let at = |s: u32, ms: u32| {
            Utc.with_ymd_and_hms(2027, 3, 1, 10, 0, s).unwrap()
                + chrono::TimeDelta::milliseconds(i64::from(ms))
        };
        // During the second of the change: nothing (a second change could share its date).
        assert_eq!(stated_last_modified(at(5, 100), at(5, 900)), None);
        assert_eq!(stated_last_modified(at(5, 100), at(5, 100)), None);
        // A clock behind the change's (another instance's): nothing either.
        assert_eq!(stated_last_modified(at(6, 0), at(5, 900)), None);
        // Afterwards: the change's second, without its fraction.
        assert_eq!(stated_last_modified(at(5, 999), at(6, 0)), Some(at(5, 0)));
        assert_eq!(http_date(at(5, 0)), "Mon, 01 Mar 2027 10:00:05 GMT");
    }

    #[test]
    fn if_modified_since_counts_only_without_if_none_match() {
        use chrono::{TimeZone, Utc};
        let modified = Utc.with_ymd_and_hms(2027, 3, 1, 10, 0, 5).unwrap();
        let req = |headers: &[(header::HeaderName, &str)]| {
            let mut req = TestRequest::default();
            for (name, value) in headers {
                req = req.insert_header((name.clone(), *value));
            }
            req.to_http_request()
        };
        let since = |v: &'static str| (header::IF_MODIFIED_SINCE, v);
        let same = || since("Mon, 01 Mar 2027 10:00:05 GMT");
        let earlier = || since("Mon, 01 Mar 2027 10:00:04 GMT");
        let later = || since("Mon, 01 Mar 2027 11:00:00 GMT");
        assert!(not_modified(&req(&[same()]), "\"x\"", Some(modified)));
        assert!(not_modified(&req(&[later()]), "\"x\"", Some(modified)));
        assert!(!not_modified(&req(&[earlier()]), "\"x\"", Some(modified)));
        // Not stated (the second of a change), unreadable, or absent: not a match.
        assert!(!not_modified(&req(&[later()]), "\"x\"", None));
        assert!(!not_modified(
            &req(&[since("yesterday")]),
            "\"x\"",
            Some(modified)
        ));
        assert!(!not_modified(&req(&[]), "\"x\"", Some(modified)));
        // With If-None-Match, it alone decides.
        let other = (header::IF_NONE_MATCH, "\"y\"");
        assert!(!not_modified(
            &req(&[same(), other]),
            "\"x\"",
            Some(modified)
        ));
        let ours = (header::IF_NONE_MATCH, "\"x\"");
        assert!(not_modified(
            &req(&[earlier(), ours]),
            "\"x\"",
            Some(modified)
        ));
    }

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

    fn from(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        req.to_http_request()
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> =
            vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        // An untrusted peer's headers are anyone's words.
        assert_eq!(
            client_address(
                &from("198.51.100.9:5000", &[("x-forwarded-for", "1.2.3.4")]),
                &trusted
            ),
            ip("198.51.100.9")
        );
        // Through one trusted proxy.
        assert_eq!(
            client_address(
                &from("10.0.0.2:5000", &[("x-forwarded-for", "203.0.113.7")]),
                &trusted
            ),
            ip("203.0.113.7")
        );
        // A client that forges the header gets its own address appended by the proxy: the
        // rightmost untrusted one is the client.
        assert_eq!(
            client_address(
                &from(
                    "10.0.0.2:5000",
                    &[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 10.0.0.3")]
                ),
                &trusted
            ),
            ip("203.0.113.7")
        );
        // RFC 7239 wins over X-Forwarded-For; ports and brackets are read.
        assert_eq!(
            client_address(
                &from(
                    "[::1]:5000",
                    &[
                        ("forwarded", "for=\"[2001:db8::7]:4711\";proto=https"),
                        ("x-forwarded-for", "1.2.3.4")
                    ]
                ),
                &trusted
            ),
            ip("2001:db8::7")
        );
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(
            client_address(&from("10.0.0.2:5000", &[]), &trusted),
            ip("10.0.0.2")
        );
        // Without trusted proxies nothing is believed.
        assert_eq!(
            client_address(
                &from("10.0.0.2:5000", &[("x-forwarded-for", "203.0.113.7")]),
                &[]
            ),
            ip("10.0.0.2")
        );
        assert_eq!(parse_node("unknown"), None);
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
