//! entente: scheduling of diplomatic contacts across time zones.
//!
//! `Application::build` makes the real server (used by `main` and by the integration tests);
//! see docs/ARCHITECTURE.md for the layers.

pub mod api;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod gate;
pub mod service;
pub mod store;
pub mod telemetry;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;

use crate::api::ops::{docs_service, MetricsRegistry, OpenApiDocument, PoolGauges};
use crate::api::{problem, AppState};
use crate::config::Config;
use crate::service::bootstrap::{self, AdminBootstrap, Startup};
use crate::store::migrate::StartupError;
use crate::store::{Store, StoreError};

/// Why the service could not start. `Display` is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("ENTENTE_DATABASE_URL: cannot open the database: {0}")]
    Database(#[from] StoreError),
    #[error("ENTENTE_DATABASE_URL: {0}")]
    Startup(#[from] StartupError),
    #[error("ENTENTE_BIND: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("start-up: {0}")]
    Setup(String),
}

/// A built, not yet running, server.
pub struct Application {
    server: Server,
    local_addr: SocketAddr,
    startup: Startup,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free one), then opens the database, migrates and
    /// bootstraps.
    pub fn build(config: Config) -> Result<Self, StartError> {
        // Bound first: a start that cannot listen creates nothing (no first admin whose
        // generated password would never be shown).
        let listener = TcpListener::bind(config.bind).map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
        let store = Store::open(&config.database_url, config.database_pool_size)?;
        // Made now, so that the first login of an unknown user costs no more than any other.
        let _ = auth::password::dummy_hash();
        let startup = bootstrap::prepare(&store, &config)?;

        let registry = prometheus::Registry::new();
        let pool_gauges =
            PoolGauges::register(&registry).map_err(|e| StartError::Setup(e.to_string()))?;
        let request_metrics = PrometheusMetricsBuilder::new("entente")
            .registry(registry.clone())
            .mask_unmatched_patterns("UNMATCHED")
            .build()
            .map_err(|e| StartError::Setup(e.to_string()))?;
        let metrics = web::Data::new(MetricsRegistry {
            registry,
            pool: pool_gauges,
        });
        let feed_cache_bytes = config.feed_cache_bytes;
        let state = web::Data::new(AppState {
            store,
            passwords: Arc::new(auth::password::PasswordWork::new(
                config.password_concurrency,
            )),
            renders: Arc::new(gate::Gate::new(
                std::thread::available_parallelism().map_or(1, usize::from),
                std::time::Duration::from_secs(10),
                "calendar renderings",
            )),
            config: Arc::new(config),
            keys: Arc::new(startup.keys.clone()),
            feeds: Arc::new(service::feed_cache::FeedCache::new(feed_cache_bytes)),
        });

        let openapi = api::openapi_document();
        let routes = web::Data::new(api::RouteTable::from_openapi(&openapi));
        let document = web::Data::new(OpenApiDocument(
            serde_json::to_string(&openapi).map_err(|e| StartError::Setup(e.to_string()))?,
        ));

        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(routes.clone())
                .app_data(api::json_config())
                .app_data(api::payload_config())
                .app_data(api::query_config())
                .app_data(api::path_config())
                .wrap(from_fn(api::http::head_as_get))
                .wrap(from_fn(api::body::url_guard))
                .wrap(ErrorHandlers::new().default_handler(problem::ensure_problem))
                .wrap(request_metrics.clone())
                .wrap(from_fn(telemetry::access_log))
                .wrap(TracingLogger::<telemetry::RequestSpan>::new())
                .into_utoipa_app()
                .configure(api::configure)
                .into_app()
                .service(docs_service(document.clone()))
                .default_service(web::to(problem::no_route))
        })
        .listen(listener)
        .map_err(|source| StartError::Bind {
            addr: local_addr,
            source,
        })?
        .shutdown_timeout(30)
        .run();

        Ok(Self {
            server,
            local_addr,
            startup,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the start did (migrations applied, first admin created).
    pub fn admin_bootstrap(&self) -> &AdminBootstrap {
        &self.startup.admin
    }

    /// The id of the key that signs new access tokens.
    pub fn signing_key_id(&self) -> &str {
        &self.startup.keys.current.kid
    }

    pub fn applied_migrations(&self) -> &[String] {
        &self.startup.applied_migrations
    }

    /// Stops the server from elsewhere (tests); SIGTERM/SIGINT do the same for the binary.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; in-flight requests get up to 30 s to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
