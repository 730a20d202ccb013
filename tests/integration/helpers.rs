//! The harness: the real app on an ephemeral port with a fresh database per test — a temporary
//! SQLite file, or a fresh PostgreSQL database (dropped afterwards) when
//! `ENTENTE_TEST_POSTGRES_URL` is set.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use entente::config::Config;
use entente::domain::stored::MeetingId;
use entente::service::meetings::Meeting;
use entente::Application;
use tempfile::TempDir;

pub const ADMIN_PASSWORD: &str = "first-admin-password-for-tests";
/// The signing key of test apps, so that tests can forge tokens with it.
pub const JWT_SECRET: &str = "test-signing-secret-0123456789abcdef-0123456789";
pub const USER_PASSWORD: &str = "a-user-password-for-tests";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(TestApp)` as two tests, `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use $crate::helpers::{Backend, TestDatabase};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = TestDatabase::create(Backend::Sqlite).expect("sqlite is always there");
                super::$name(db.spawn_app().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = TestDatabase::create(Backend::Postgres) else { return };
                super::$name(db.spawn_app().await).await;
            }
        }
    )+};
}

/// Runs each named `async fn(TestDatabase)` as two tests, on a fresh SQLite and PostgreSQL
/// database, for tests that start and stop the app themselves.
#[macro_export]
macro_rules! with_both_databases {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use $crate::helpers::{Backend, TestDatabase};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(TestDatabase::create(Backend::Sqlite).expect("sqlite is always there")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = TestDatabase::create(Backend::Postgres) else { return };
                super::$name(db).await;
            }
        }
    )+};
}

/// The PostgreSQL server URL for tests, or None (with a note) when none is configured. With
/// `CI=true` a missing or unreachable server fails the test instead of skipping it.
pub fn postgres_server_url() -> Option<String> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match std::env::var("ENTENTE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            if let Err(error) = PgConnection::establish(&url) {
                if in_ci {
                    panic!("CI=true and PostgreSQL at ENTENTE_TEST_POSTGRES_URL is unreachable: {error}");
                }
                eprintln!(
                    "PostgreSQL half skipped: ENTENTE_TEST_POSTGRES_URL is unreachable ({error})"
                );
                return None;
            }
            Some(url)
        }
        _ => {
            assert!(!in_ci, "CI=true but ENTENTE_TEST_POSTGRES_URL is not set");
            eprintln!("PostgreSQL half skipped: ENTENTE_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// A fresh database for one test; removed when dropped.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    _dir: Option<TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("entente.db").display());
                Some(Self {
                    backend,
                    url,
                    _dir: Some(dir),
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let server = postgres_server_url()?;
                let name = format!("entente_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::establish(&server).expect("connect to PostgreSQL");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let mut url = url::Url::parse(&server).expect("ENTENTE_TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                Some(Self {
                    backend,
                    url: url.to_string(),
                    _dir: None,
                    postgres: Some((server, name)),
                })
            }
        }
    }

    /// The configuration a test app runs with; `extra` overrides or adds variables.
    pub fn config(&self, extra: &[(&str, &str)]) -> Config {
        let mut vars = vec![
            ("ENTENTE_DATABASE_URL".to_owned(), self.url.clone()),
            ("ENTENTE_BIND".to_owned(), "127.0.0.1:0".to_owned()),
            ("ENTENTE_DATABASE_POOL_SIZE".to_owned(), "4".to_owned()),
            (
                "ENTENTE_ADMIN_PASSWORD".to_owned(),
                ADMIN_PASSWORD.to_owned(),
            ),
            ("ENTENTE_JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
        ];
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::from_vars(vars).expect("test configuration is valid")
    }

    /// Starts the real server on this database.
    pub async fn spawn_app(self) -> TestApp {
        self.spawn_app_with(&[]).await
    }

    /// Starts the real server with extra configuration.
    pub async fn spawn_app_with(self, extra: &[(&str, &str)]) -> TestApp {
        let config = self.config(extra);
        let app = Application::build(config).expect("the app starts");
        TestApp::run(app, self)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(server) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// A running app and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    handle: ServerHandle,
    // Dropped after the server is told to stop (fields drop in order).
    db: Option<TestDatabase>,
}

impl TestApp {
    pub fn run(app: Application, db: TestDatabase) -> Self {
        let address = format!("http://{}", app.local_addr());
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            backend: db.backend,
            handle,
            db: Some(db),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A second connection pool to the app's database, for what tests do besides HTTP (the
    /// admin commands' use cases, simulated older data).
    pub fn store(&self) -> entente::store::Store {
        let db = self.db.as_ref().expect("the database is there until drop");
        entente::store::Store::open(&db.config(&[]).database_url, 2).expect("store opens")
    }

    /// Stops the server and waits until it has stopped; the database stays.
    pub async fn stop(mut self) -> TestDatabase {
        self.handle.stop(true).await;
        self.db.take().expect("the database is there until drop")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the future only waits for completion.
        drop(self.handle.stop(false));
    }
}

/// Asserts a response is an RFC 9457 problem with this status and code, and returns its body.
pub async fn assert_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("urn:entente:problem:{code}"));
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

impl TestApp {
    /// Any request, with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }

    /// `call`, expecting `status`; returns the JSON body (Null when there is none).
    pub async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let response = self.call(method, path, token, body).await;
        let actual = response.status().as_u16();
        let text = response.text().await.expect("a body");
        assert_eq!(actual, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// `expect`, read as the service's own type (`Meeting`, `Page<Channel>`, …): the answer
    /// must have exactly the shape the API documents.
    pub async fn expect_as<T: serde::de::DeserializeOwned>(
        &self,
        status: u16,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> T {
        let value = self.expect(status, method, path, token, body).await;
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("{method} {path}: not the documented shape ({e}): {value}"))
    }

    /// Books a meeting as `token`: the meeting as the API answered it.
    pub async fn book(&self, token: &str, booking: serde_json::Value) -> Meeting {
        self.expect_as(201, "POST", "/api/v1/meetings", Some(token), Some(booking))
            .await
    }

    /// A meeting as `token` sees it.
    pub async fn meeting(&self, token: &str, id: &MeetingId) -> Meeting {
        let path = format!("/api/v1/meetings/{id}");
        self.expect_as(200, "GET", &path, Some(token), None).await
    }

    /// `call`, expecting a problem with this status and code; returns its body.
    pub async fn expect_problem(
        &self,
        status: u16,
        code: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        assert_problem(self.call(method, path, token, body).await, status, code).await
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let body = self
            .expect(
                200,
                "POST",
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": username, "password": password})),
            )
            .await;
        body["access_token"].as_str().expect("a token").to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a delegation (as `token`) and returns its id.
    pub async fn create_delegation(&self, token: &str, code: &str, time_zone: &str) -> String {
        let body = self
            .expect(
                201,
                "POST",
                "/api/v1/delegations",
                Some(token),
                Some(serde_json::json!({
                    "code": code, "name": format!("Delegation {code}"), "kind": "state", "time_zone": time_zone
                })),
            )
            .await;
        body["id"].as_str().expect("an id").to_owned()
    }

    /// Creates a user (as `token`) with `USER_PASSWORD` and returns their id.
    pub async fn create_user(
        &self,
        token: &str,
        delegation_id: &str,
        username: &str,
        role: &str,
    ) -> String {
        let body = self
            .expect(
                201,
                "POST",
                &format!("/api/v1/delegations/{delegation_id}/users"),
                Some(token),
                Some(serde_json::json!({"username": username, "password": USER_PASSWORD, "role": role})),
            )
            .await;
        body["id"].as_str().expect("an id").to_owned()
    }

    /// Two delegations, AAA (Moscow) and BBB (Washington), each with an admin, a scheduler and
    /// a viewer (`a-admin`, `b-viewer`, …), all logged in.
    pub async fn world(&self) -> World {
        let platform = self.admin_token().await;
        let a = self
            .create_delegation(&platform, "AAA", "Europe/Moscow")
            .await;
        let b = self
            .create_delegation(&platform, "BBB", "America/New_York")
            .await;
        let mut tokens = HashMap::new();
        let mut ids = HashMap::new();
        for (delegation, prefix) in [(&a, "a"), (&b, "b")] {
            for role in ["admin", "scheduler", "viewer"] {
                let username = format!("{prefix}-{role}");
                let id = self
                    .create_user(&platform, delegation, &username, role)
                    .await;
                tokens.insert(username.clone(), self.login(&username, USER_PASSWORD).await);
                ids.insert(username, id);
            }
        }
        World {
            platform,
            a,
            b,
            tokens,
            ids,
        }
    }
}

/// The fixture of `TestApp::world`.
pub struct World {
    pub platform: String,
    pub a: String,
    pub b: String,
    pub tokens: HashMap<String, String>,
    pub ids: HashMap<String, String>,
}

impl World {
    /// `platform`, or a username such as `a-admin`.
    pub fn token(&self, who: &str) -> &str {
        if who == "platform" {
            return &self.platform;
        }
        self.tokens
            .get(who)
            .map(String::as_str)
            .expect("a known user")
    }
}
