//! The `entente` binary as an operator runs it: defaults, configuration errors, first start,
//! crash and restart, JSON logs, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_entente");

/// A command with a clean environment: only what the test sets reaches the binary.
fn entente(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command.env_clear().current_dir(dir);
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.envs(vars.iter().copied());
    command
}

/// A running binary whose stderr is read line by line.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle` and returns it.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with {needle:?} within {timeout:?}; saw:\n{}",
            self.seen.join("\n")
        );
    }

    /// Waits until it serves and returns its base URL.
    fn address(&mut self) -> String {
        let line = self.wait_for("entente is serving on http://", Duration::from_secs(60));
        let start = line.find("http://").unwrap();
        line[start..]
            .split(|c: char| c.is_whitespace() || c == '"')
            .next()
            .unwrap()
            .to_owned()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Collect what is left to read.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status;
            }
            assert!(Instant::now() < deadline, "did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn output(&self) -> String {
        self.seen.join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("request sent")
}

#[tokio::test]
async fn defaults_serve_from_sqlite_in_the_working_directory_and_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [("ENTENTE_BIND", "127.0.0.1:0")];

    let mut first = Running::start(entente(dir.path(), &vars));
    let banner = first.wait_for("password: ", Duration::from_secs(60));
    let password = banner.split("password: ").nth(1).unwrap().trim().to_owned();
    assert!(
        password.len() >= 20,
        "generated password too short: {password:?}"
    );
    let address = first.address();
    assert_eq!(get(&format!("{address}/readyz")).await.status(), 200);
    assert!(
        dir.path().join("entente.db").exists(),
        "default database is ./entente.db"
    );

    // A crash: no shutdown at all. Everything acknowledged must still be there.
    first.signal("-KILL");
    first.wait_exit(Duration::from_secs(10));

    let mut second = Running::start(entente(dir.path(), &vars));
    let address = second.address();
    assert_eq!(get(&format!("{address}/readyz")).await.status(), 200);
    assert!(
        !second.output().contains("First start"),
        "the admin was created again after a restart:\n{}",
        second.output()
    );
    assert!(
        !second.output().contains(&password),
        "the password was shown again"
    );

    // Graceful shutdown on SIGTERM: exit 0 after the server stopped.
    second.signal("-TERM");
    let status = second.wait_exit(Duration::from_secs(40));
    assert!(
        status.success(),
        "exit status {status:?}:\n{}",
        second.output()
    );
    assert!(
        second.output().contains("entente stopped"),
        "{}",
        second.output()
    );
}

#[test]
fn bad_configuration_stops_the_start_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("ENTENTE_DATABASE_URL", "mysql://root@localhost/entente"),
        ("ENTENTE_BIND", "everywhere"),
        ("ENTENTE_JWT_SECRET", "short"),
        ("ENTENTE_ADMIN_PASSWORD", "short"),
        ("ENTENTE_PUBLIC_URL", "not a url"),
        ("ENTENTE_LOG", "info,[[["),
        ("ENTENTE_LOG_FORMAT", "yaml"),
        ("ENTENTE_TOKEN_TTL", "forever"),
    ];
    for (variable, value) in cases {
        let output = entente(dir.path(), &[(variable, value)]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{variable}: {stderr}");
        assert!(
            stderr.starts_with(&format!("entente: {variable}: ")),
            "{stderr}"
        );
    }
    assert!(
        !dir.path().join("entente.db").exists(),
        "a failed start created a database"
    );
}

#[test]
fn unreachable_postgres_stops_the_start_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = entente(
        dir.path(),
        &[
            (
                "ENTENTE_DATABASE_URL",
                "postgres://entente:hunter2hunter2@127.0.0.1:1/entente",
            ),
            ("ENTENTE_BIND", "127.0.0.1:0"),
        ],
    )
    .output()
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("entente: ENTENTE_DATABASE_URL: cannot open the database"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}

#[test]
fn migrate_applies_once_then_reports_the_schema_current() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [("ENTENTE_DATABASE_URL", "sqlite://data/entente.db")];
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let first = entente(dir.path(), &vars).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("migrations applied"));
    let second = entente(dir.path(), &vars).arg("migrate").output().unwrap();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("the schema is current"));
    assert!(dir.path().join("data/entente.db").exists());
}

#[tokio::test]
async fn json_logs_carry_request_id_route_status_and_latency_and_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let password = "configured-admin-password-123";
    let mut running = Running::start(entente(
        dir.path(),
        &[
            ("ENTENTE_BIND", "127.0.0.1:0"),
            ("ENTENTE_LOG_FORMAT", "json"),
            ("ENTENTE_ADMIN_PASSWORD", password),
        ],
    ));
    let address = running.address();
    let response = get(&format!("{address}/healthz")).await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let line = running.wait_for(r#""route":"/healthz""#, Duration::from_secs(10));
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(event["message"], "request");
    assert_eq!(event["method"], "GET");
    assert_eq!(event["status"], 200);
    assert!(
        event["latency_ms"].is_string() || event["latency_ms"].is_number(),
        "{event}"
    );
    assert_eq!(event["span"]["request_id"], request_id.as_str(), "{event}");
    running.signal("-TERM");
    running.wait_exit(Duration::from_secs(40));
    for line in &running.seen {
        assert!(
            !line.contains(password),
            "the admin password was logged: {line}"
        );
        if !line.trim().is_empty() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|_| panic!("not JSON: {line}"));
        }
    }
}

#[tokio::test]
async fn admin_commands_create_what_the_api_then_serves_and_passwords_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let admin_password = "cli-admin-password-0001";
    let clerk_password = "cli-clerk-password-0002";
    let reset_password = "cli-clerk-password-0003";
    let base = [
        ("ENTENTE_ADMIN_PASSWORD", admin_password),
        ("ENTENTE_LOG", "debug"),
    ];

    // An admin command finds no database here: refused, naming where it looked; nothing made.
    let refused = entente(dir.path(), &base)
        .args([
            "admin",
            "create-delegation",
            "--code",
            "RU",
            "--name",
            "R",
            "--time-zone",
            "UTC",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("no entente database at") && message.contains("entente.db"),
        "{message}"
    );
    assert!(message.contains("--create"), "{message}");
    assert!(!dir.path().join("entente.db").exists());

    let output = entente(dir.path(), &base)
        .args([
            "admin",
            "--create",
            "create-delegation",
            "--code",
            "RU",
            "--name",
            "Russian Federation",
            "--time-zone",
            "Europe/Moscow",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(" RU Russian Federation"));

    let bad_zone = entente(dir.path(), &base)
        .args([
            "admin",
            "create-delegation",
            "--code",
            "XX",
            "--name",
            "X",
            "--time-zone",
            "Moon/Tranquility",
        ])
        .output()
        .unwrap();
    assert_eq!(bad_zone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_zone.stderr).contains("Moon/Tranquility"));

    // The password comes from standard input, never from an argument.
    let mut child = entente(dir.path(), &base)
        .args([
            "admin",
            "create-user",
            "--username",
            "clerk",
            "--role",
            "scheduler",
            "--delegation",
            "RU",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{clerk_password}").unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut logs = String::from_utf8_lossy(&output.stderr).into_owned();

    let mut vars = base.to_vec();
    vars.push(("ENTENTE_NEW_PASSWORD", reset_password));
    let output = entente(dir.path(), &vars)
        .args(["admin", "reset-password", "--username", "clerk"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    logs.push_str(&String::from_utf8_lossy(&output.stderr));

    let mut vars = base.to_vec();
    vars.push(("ENTENTE_BIND", "127.0.0.1:0"));
    let mut running = Running::start(entente(dir.path(), &vars));
    let address = running.address();
    let client = reqwest::Client::new();
    let login = |username: &'static str, password: &'static str| {
        let client = client.clone();
        let url = format!("{address}/api/v1/auth/login");
        async move {
            client
                .post(url)
                .json(&serde_json::json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        login("clerk", clerk_password).await.status(),
        401,
        "the old password no longer works"
    );
    let response = login("clerk", reset_password).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user"]["role"], "scheduler");
    assert_eq!(login("admin", admin_password).await.status(), 200);
    assert_eq!(login("admin", "wrong-admin-password").await.status(), 401);

    running.signal("-TERM");
    running.wait_exit(Duration::from_secs(40));
    logs.push_str(&running.output());
    assert!(
        logs.contains("login failed"),
        "the log at debug level was captured:\n{logs}"
    );
    for secret in [
        admin_password,
        clerk_password,
        reset_password,
        "wrong-admin-password",
    ] {
        assert!(!logs.contains(secret), "{secret} reached the log:\n{logs}");
    }
}

/// Following a walkthrough, a newcomer may set ENTENTE_ADMIN_PASSWORD after the first start
/// made the admin: the start says it is ignored and what to do instead.
#[tokio::test]
async fn an_admin_password_given_after_the_first_start_is_said_to_be_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Running::start(entente(dir.path(), &[("ENTENTE_BIND", "127.0.0.1:0")]));
    first.address();
    first.signal("-TERM");
    first.wait_exit(Duration::from_secs(40));
    let mut second = Running::start(entente(
        dir.path(),
        &[
            ("ENTENTE_BIND", "127.0.0.1:0"),
            ("ENTENTE_ADMIN_PASSWORD", "a-password-set-too-late"),
        ],
    ));
    let warning = second.wait_for("ENTENTE_ADMIN_PASSWORD is set", Duration::from_secs(60));
    assert!(
        warning.contains("entente admin reset-password"),
        "{warning}"
    );
    second.address();
}

#[test]
fn help_lists_the_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
    ] {
        let output = entente(dir.path(), &[]).args(args).output().unwrap();
        assert!(output.status.success());
        let text = String::from_utf8_lossy(&output.stdout);
        for name in [
            "ENTENTE_DATABASE_URL",
            "ENTENTE_BIND",
            "ENTENTE_ADMIN_PASSWORD",
            "ENTENTE_LOG_FORMAT",
        ] {
            assert!(
                text.contains(name),
                "{args:?} does not name {name}:\n{text}"
            );
        }
    }
}

/// A log that goes to a file or a pipe is plain text, and Swagger UI's pages log no warning
/// per request.
#[tokio::test]
async fn logs_to_a_pipe_are_plain_and_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = Running::start(entente(
        dir.path(),
        &[
            ("ENTENTE_BIND", "127.0.0.1:0"),
            ("ENTENTE_ADMIN_PASSWORD", "a-quiet-admin-password"),
        ],
    ));
    let address = running.address();
    for path in [
        "/docs/",
        "/docs/index.html",
        "/docs/swagger-ui.css",
        "/healthz",
    ] {
        assert_eq!(
            get(&format!("{address}{path}")).await.status(),
            200,
            "{path}"
        );
    }
    running.signal("-TERM");
    running.wait_exit(Duration::from_secs(40));
    let log = running.output();
    assert!(
        log.contains("\"request\"") || log.contains(" request"),
        "{log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a piped log:\n{log}"
    );
    assert!(!log.contains("mixed cardinality"), "{log}");
    assert!(!log.contains("WARN"), "{log}");
}
