//! Health, readiness, metrics, OpenAPI, Swagger UI, and the problem shape of routing errors.

use crate::helpers::{assert_problem, TestApp};
use crate::on_both_backends;

on_both_backends!(
    health_and_readiness,
    unknown_routes_and_methods_are_problems,
    metrics_count_requests_per_route_and_show_the_pool,
    openapi_documents_every_route,
    swagger_ui_is_served_locally,
);

async fn health_and_readiness(app: TestApp) {
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database_status"], "ok");
    let expected = match app.backend {
        crate::helpers::Backend::Sqlite => "sqlite",
        crate::helpers::Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
}

async fn unknown_routes_and_methods_are_problems(app: TestApp) {
    let body = assert_problem(app.get("/api/v1/nowhere").await, 404, "not-found").await;
    assert!(body["detail"].as_str().unwrap().contains("/api/v1/nowhere"));
    assert_problem(app.get("/").await, 404, "not-found").await;

    let response = app.client.post(app.url("/healthz")).send().await.unwrap();
    assert_problem(response, 405, "method-not-allowed").await;

    let response = app.client.delete(app.url("/metrics")).send().await.unwrap();
    assert_problem(response, 405, "method-not-allowed").await;
}

async fn metrics_count_requests_per_route_and_show_the_pool(app: TestApp) {
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
    // Unknown paths are folded into one label, so they cannot grow the label set.
    for n in 0..3 {
        assert_eq!(app.get(&format!("/no/such/{n}")).await.status(), 404);
    }
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();

    let healthz_count = text
        .lines()
        .find(|l| {
            l.starts_with("entente_http_requests_total{")
                && l.contains(r#"endpoint="/healthz""#)
                && l.contains(r#"method="GET""#)
                && l.contains(r#"status="200""#)
        })
        .unwrap_or_else(|| panic!("no request counter for /healthz in:\n{text}"));
    assert!(healthz_count.ends_with(" 3"), "{healthz_count}");
    assert!(
        text.contains("entente_http_requests_duration_seconds_bucket{"),
        "no latency histogram"
    );
    assert!(
        text.contains(r#"endpoint="UNMATCHED""#),
        "unknown paths not masked:\n{text}"
    );
    assert!(
        !text.contains("/no/such/"),
        "raw unknown paths leaked into labels"
    );
    for gauge in [
        "entente_db_pool_connections ",
        "entente_db_pool_idle_connections ",
        "entente_db_pool_max_connections 4",
    ] {
        assert!(text.contains(gauge), "missing {gauge:?} in:\n{text}");
    }
}

async fn openapi_documents_every_route(app: TestApp) {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );
    // It parses as an OpenAPI document, not just as JSON.
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(document.clone()).expect("a valid OpenAPI document");
    assert_eq!(parsed.info.title, "entente");

    let paths = document["paths"].as_object().unwrap();
    for expected in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    // Every documented operation is a registered route: none of them falls through to the
    // unknown-route 404. (Registered routes are documented by construction: they are added
    // through utoipa-actix-web, which collects each handler's path item.)
    for (path, item) in paths {
        for (method, _) in item.as_object().unwrap() {
            let concrete = path.replace("{id}", &uuid::Uuid::now_v7().to_string());
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            if response.status() == 404 {
                let body: serde_json::Value = response.json().await.unwrap();
                assert!(
                    !body["detail"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("no resource at"),
                    "{method} {path} is documented but not routed"
                );
            } else {
                assert_ne!(
                    response.status(),
                    405,
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }
    let mut operation_ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| {
            op["operationId"]
                .as_str()
                .expect("every operation has an id")
        })
        .collect();
    let count = operation_ids.len();
    operation_ids.sort_unstable();
    operation_ids.dedup();
    assert_eq!(
        operation_ids.len(),
        count,
        "operationIds are not unique: {operation_ids:?}"
    );
    let schemas = document["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("Problem"));
}

async fn swagger_ui_is_served_locally(app: TestApp) {
    let response = app.get("/docs").await;
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], "/docs/");

    let response = app.get("/docs/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "not the Swagger UI page");
    for cdn in ["unpkg.com", "cdn.jsdelivr", "cdnjs", "https://"] {
        assert!(!html.contains(cdn), "Swagger UI loads from {cdn}");
    }
    let response = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().await.unwrap().len() > 100_000,
        "the bundle is embedded"
    );

    let config = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        config.contains("/openapi.json"),
        "Swagger UI does not load our document:\n{config}"
    );
}
