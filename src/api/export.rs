//! iCalendar: `GET /api/v1/meetings/{id}.ics`, the feeds API, and `GET /feeds/{token}.ics`.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};

use super::auth::Caller;
use super::body::Json;
use super::problem::Problem;
use super::{AppState, PageQuery};
use crate::domain::ical;
use crate::domain::stored::{FeedId, MeetingId};
use crate::error::AppError;
use crate::service::export::{self, Feed, FeedScope, NewFeed};
use crate::service::feed_cache::Coding;
use crate::service::Page;

/// A new feed: the token and its URLs are shown only this once.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct CreatedFeed {
    #[schema(value_type = String)]
    pub id: FeedId,
    pub name: String,
    pub scope: FeedScope,
    /// `<ENTENTE_PUBLIC_URL>/feeds/<token>.ics`, or a path when no public URL is configured.
    pub url: String,
    /// The same with `webcal://`, for one-click subscription; null without ENTENTE_PUBLIC_URL.
    pub webcal_url: Option<String>,
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl CreatedFeed {
    /// The feed's URLs: under the public URL when one is configured, else a path.
    fn new(made: export::NewFeedToken, public_url: Option<&str>) -> Self {
        let path = format!("/feeds/{}.ics", made.token);
        let (url, webcal_url) = match public_url {
            Some(base) => {
                let url = format!("{}{path}", base.trim_end_matches('/'));
                let webcal = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"))
                    .map(|rest| format!("webcal://{rest}"));
                (url, webcal)
            }
            None => (path, None),
        };
        Self {
            id: made.feed.id,
            name: made.feed.name,
            scope: made.feed.scope,
            url,
            webcal_url,
            token: made.token,
            created_at: made.feed.created_at,
        }
    }
}

/// `text/calendar` with an ETag of the body; a matching `If-None-Match` (weak comparison) gets 304.
fn calendar(req: &HttpRequest, body: String) -> HttpResponse {
    let etag = ical::etag(&body);
    let (mut response, matches) = revalidated(req, etag, None);
    response.insert_header((header::CACHE_CONTROL, "private, max-age=0, must-revalidate"));
    if matches {
        return response.finish();
    }
    response
        .content_type("text/calendar; charset=utf-8")
        .body(body)
}

/// 304 when `If-None-Match` names `etag` (weak comparison) — or, without it, when
/// `If-Modified-Since` is not before `last_modified` — else 200; with the validators.
fn revalidated(
    req: &HttpRequest,
    etag: String,
    last_modified: Option<chrono::DateTime<chrono::Utc>>,
) -> (actix_web::HttpResponseBuilder, bool) {
    let last_modified =
        last_modified.and_then(|at| super::http::stated_last_modified(at, chrono::Utc::now()));
    let matches = super::http::not_modified(req, &etag, last_modified);
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header((header::ETAG, etag));
    if let Some(at) = last_modified {
        response.insert_header((header::LAST_MODIFIED, super::http::http_date(at)));
    }
    (response, matches)
}

/// The coding the client takes (RFC 9110 §12.5.3, q-values honoured; at equal q, brotli, then
/// gzip), or None for the plain body.
fn coding_taken(req: &HttpRequest) -> Option<Coding> {
    use actix_web::http::header::{AcceptEncoding, Encoding, Header};
    let accepted = AcceptEncoding::parse(req).ok()?;
    let offered = [Encoding::brotli(), Encoding::gzip(), Encoding::identity()];
    match accepted.negotiate(offered.iter()) {
        Some(e) if e == Encoding::brotli() => Some(Coding::Brotli),
        Some(e) if e == Encoding::gzip() => Some(Coding::Gzip),
        _ => None,
    }
}

/// A feed: brotli or gzip when the client takes it (each its own ETag: another
/// representation), cached for as long as clients are told to wait between polls
/// (`REFRESH-INTERVAL`).
async fn feed_response(
    req: &HttpRequest,
    cache: std::sync::Arc<crate::service::feed_cache::FeedCache>,
    feed: crate::service::feed::RenderedFeed,
) -> Result<HttpResponse, AppError> {
    let coding = coding_taken(req);
    let etag = match coding {
        Some(coding) => format!(
            "{}{}\"",
            feed.etag().trim_end_matches('"'),
            coding.etag_suffix()
        ),
        None => feed.etag().to_owned(),
    };
    let (mut response, matches) = revalidated(req, etag, Some(feed.last_modified));
    response
        .insert_header((
            header::CACHE_CONTROL,
            format!("private, max-age={}", ical::REFRESH_SECONDS),
        ))
        .insert_header((header::VARY, "Accept-Encoding"));
    if matches {
        return Ok(response.finish());
    }
    response.content_type("text/calendar; charset=utf-8");
    let Some(coding) = coding else {
        return Ok(response.body(feed.entry.plain));
    };
    let body = web::block(move || feed.compressed(coding, &cache))
        .await
        .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(response
        .insert_header((header::CONTENT_ENCODING, coding.token()))
        .body(body))
}

/// One meeting (a series with its overrides) as an iCalendar file.
#[utoipa::path(
    operation_id = "get_meeting_ics",
    tag = "calendar",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "RFC 5545 calendar", content_type = "text/calendar", body = String),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 404, description = "No such meeting, or not visible", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/meetings/{id}.ics")]
pub async fn meeting_ics(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<MeetingId>,
) -> Result<HttpResponse, AppError> {
    let _turn = state.renders.enter().await?;
    let body = export::meeting_ics(&state.store, &caller.0, id.into_inner()).await?;
    Ok(calendar(&req, body))
}

/// Create a calendar feed for yourself. The token (in `url`) is shown only in this answer.
#[utoipa::path(
    operation_id = "create_feed",
    tag = "calendar",
    security(("bearer" = [])),
    request_body = NewFeed,
    responses(
        (status = 201, description = "Created: keep the URL, it is not shown again", body = CreatedFeed),
        (status = 422, description = "Invalid name or scope", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/feeds")]
pub async fn create_feed(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewFeed>,
) -> Result<HttpResponse, AppError> {
    let made = export::create_feed(&state.store, &caller.0, body.into_inner()).await?;
    let feed = CreatedFeed::new(made, state.config.public_url.as_ref().map(|u| u.as_str()));
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/feeds/{}", feed.id)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(feed))
}

/// Your feeds (without their tokens), oldest first.
#[utoipa::path(
    operation_id = "list_feeds",
    tag = "calendar",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of your active feeds", body = Page<Feed>),
        (status = 422, description = "Invalid page", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/feeds")]
pub async fn list_feeds(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.request()?;
    Ok(HttpResponse::Ok().json(export::list_feeds(&state.store, &caller.0, page).await?))
}

/// Revoke one of your feeds: its URL answers 404 from now on.
#[utoipa::path(
    operation_id = "revoke_feed",
    tag = "calendar",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Feed id")),
    responses(
        (status = 200, description = "Revoked", body = Feed),
        (status = 404, description = "No such feed of yours", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/feeds/{id}")]
pub async fn revoke_feed(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<FeedId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(export::revoke_feed(&state.store, &caller.0, id.into_inner()).await?))
}

/// The feed itself, for calendar clients: no other authentication than the token in the URL.
#[utoipa::path(
    operation_id = "get_feed",
    tag = "calendar",
    params(("token" = String, Path, description = "The feed's secret token")),
    responses(
        (status = 200, description = "RFC 5545 calendar (METHOD:PUBLISH); brotli- or gzip-compressed when Accept-Encoding takes it", content_type = "text/calendar", body = String,
            headers(
                ("ETag" = String, description = "A digest of what the feed shows (a compressed form has its own, ending in -br or -gz)"),
                ("Last-Modified" = String, description = "When what the feed shows last changed (at the latest the start of the day, UTC: the window moves daily); absent during the second of a change"),
                ("Cache-Control" = String, description = "private, max-age=900 (the feed's REFRESH-INTERVAL)"),
                ("Vary" = String, description = "Accept-Encoding"),
                ("Content-Encoding" = String, description = "br or gzip, when negotiated")
            )),
        (status = 304, description = "Unchanged since the ETag in If-None-Match (or, without one, since If-Modified-Since)",
            headers(("ETag" = String, description = "The current validator"))),
        (status = 404, description = "Unknown or revoked token", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/feeds/{token}.ics")]
pub async fn feed_ics(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let renders = (&state.feeds, state.renders.as_ref());
    match crate::service::feed::feed_calendar(&state.store, renders, token.into_inner()).await? {
        Some(feed) => feed_response(&req, state.feeds.clone(), feed).await,
        None => Err(AppError::not_found("feed")),
    }
}
