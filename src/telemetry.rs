//! Logging: one tracing subscriber (text or JSON lines), a root span per request carrying the
//! request id (and, once authenticated, the user and delegation), and one access-log event per
//! request with method, route, status and latency.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Installs the global subscriber. A second call (tests start many apps) changes nothing.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(quiet_dependencies(&config.log))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: a log written to a file or a pipe stays plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}

/// The operator's filter, with actix-web-prom's warnings silenced unless the filter names it:
/// it warns on every request to a route whose pattern holds a regex (Swagger UI's `/docs/…`),
/// which is noise, not news.
fn quiet_dependencies(filter: &str) -> String {
    if filter.contains("actix_web_prom") {
        filter.to_owned()
    } else {
        format!("{filter},actix_web_prom=error")
    }
}

/// The root span of every request: tracing-actix-web's fields (request id, method, route, …)
/// plus `user_id` and `delegation_id`, filled in by authentication.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        tracing_actix_web::root_span!(
            request,
            user_id = tracing::field::Empty,
            delegation_id = tracing::field::Empty
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// One `request` event per request, and the request id echoed in `X-Request-Id`.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let status = res.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        method = %method,
        route = %route,
        status,
        latency_ms = format_args!("{latency_ms:.2}"),
        "request"
    );
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), id);
    }
    Ok(res)
}
