//! Operations: liveness, readiness, Prometheus metrics, the OpenAPI document and Swagger UI.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use prometheus::{Encoder, IntGauge, Registry, TextEncoder};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// `ok`, or `unreachable` when no connection answered within two seconds.
    pub database_status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, description = "The process is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The process can serve: the database answers.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Readiness),
        (status = 503, description = "The database does not answer", body = Readiness)
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.backend();
    match state.store.ping(Duration::from_secs(2)).await {
        Ok(()) => HttpResponse::Ok().json(Readiness {
            status: "ready",
            database,
            database_status: "ok",
        }),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(Readiness {
                status: "unavailable",
                database,
                database_status: "unreachable",
            })
        }
    }
}

/// The gauges of the connection pool, read at every scrape.
#[derive(Clone)]
pub struct PoolGauges {
    connections: IntGauge,
    idle: IntGauge,
    max: IntGauge,
}

impl PoolGauges {
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        Ok(Self {
            connections: gauge(
                "entente_db_pool_connections",
                "Open database connections in the pool",
            )?,
            idle: gauge(
                "entente_db_pool_idle_connections",
                "Idle database connections in the pool",
            )?,
            max: gauge(
                "entente_db_pool_max_connections",
                "Largest size of the database pool",
            )?,
        })
    }
}

/// What `/metrics` renders: the registry the request metrics live in, and the pool gauges.
#[derive(Clone)]
pub struct MetricsRegistry {
    pub registry: Registry,
    pub pool: PoolGauges,
}

/// Prometheus text: request counts and latency histograms per route pattern, pool gauges.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String))
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    metrics: web::Data<MetricsRegistry>,
) -> HttpResponse {
    let (connections, idle, max) = state.store.pool_state();
    metrics.pool.connections.set(i64::from(connections));
    metrics.pool.idle.set(i64::from(idle));
    metrics.pool.max.set(i64::from(max));
    let mut buffer = Vec::new();
    match TextEncoder::new().encode(&metrics.registry.gather(), &mut buffer) {
        Ok(()) => HttpResponse::Ok()
            .insert_header((
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ))
            .body(buffer),
        Err(error) => {
            actix_web::ResponseError::error_response(&crate::error::AppError::internal(error))
        }
    }
}

/// The serialised OpenAPI document, made once per worker.
pub struct OpenApiDocument(pub String);

/// This document: OpenAPI 3.1 of every route.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(document: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0.clone())
}

/// Swagger UI lives under `/docs/`.
#[utoipa::path(tag = "operations", responses((status = 308, description = "Redirect to /docs/")))]
#[get("/docs")]
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// `/openapi.json` and the Swagger UI (embedded in the binary, no CDN).
pub fn docs_service(
    document: web::Data<OpenApiDocument>,
) -> impl actix_web::dev::HttpServiceFactory {
    (
        web::resource("/openapi.json")
            .app_data(document)
            .route(web::get().to(openapi_json)),
        utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
            .config(utoipa_swagger_ui::Config::from("/openapi.json")),
    )
}
