//! List and feed endpoints as the data of *other* delegations grows: a delegation's own lists
//! must stay flat (index-backed), whatever the rest of the database holds.
//!
//!     cargo bench --bench lists
//!     ENTENTE_BENCH_SIZES=1000,10000 cargo bench --bench lists
//!     ENTENTE_BENCH_KEEP=1 cargo bench --bench lists     # keep the databases, to EXPLAIN
//!     ENTENTE_BENCH_SIZES=100000 ENTENTE_BENCH_OWN=1000,10000,100000 cargo bench --bench lists
//!                                                        # the viewer's own history grows too
//!
//! For each backend (SQLite; PostgreSQL when `ENTENTE_TEST_POSTGRES_URL` is set) and each size N,
//! a fresh database gets, through the real API, two delegations V and W with a fixed set of their
//! own (44 meetings in January 2027, 22 of them in the week of 11 January — a third on their
//! hotline, a third in their forum, `forum`-confidential —, a weekly series, the hotline's
//! history, a feed), and then, written straight to the database, N meetings among 50 other
//! delegations (over all of 2027, half of them `forum`-confidential in the others' forums), N/10
//! channels among the others with their history, and N/1000 forums. With `ENTENTE_BENCH_OWN`,
//! V's own history grows as well: that many meetings of V's over the ten years before July
//! 2026, every twentieth a weekly series with a cancelled session (none reaching the measured
//! windows of 2027 nor the feed's 90 days back), so that every row of the report holds the same
//! windows and only the history differs.
//! Six more delegations in six zones (`search.rs`) get 10,000 meetings each over 2025–2028 and
//! a few observances, for the slot search.
//! Every endpoint is then called over HTTP by V's viewer (and by X, a forum member not taking
//! part) and timed: median and 95th percentile of 40 calls after 5 warm-up calls; then V's
//! scheduler's writes (`writes.rs`): a booking, a three-year weekly series (conflicts checked
//! over its coming year), a move, a cancellation and an occurrence moved, each call on something
//! new. Every median is given as a ratio to `GET /api/v1/me` timed the same way in the same run,
//! and — with several own sizes — to the same endpoint at the smallest own size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod search;
mod seeding;
mod writes;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use entente::config::{Config, DatabaseUrl};
use entente::domain::stored::DelegationId;
use entente::store::{write_transaction, Store};
use entente::Application;
use serde_json::{json, Value};

const PASSWORD: &str = "bench-passphrase-1";
const OTHERS: usize = 50;
const WARM_UP: usize = 5;
const CALLS: usize = 40;

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn login(&self, username: &str, password: &str) -> String {
        let body = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn delegation(&self, admin: &str, code: &str) -> String {
        let body = self
            .call(
                "POST",
                "/api/v1/delegations",
                Some(admin),
                Some(json!({"code": code, "name": code, "kind": "state", "time_zone": "UTC"})),
            )
            .await;
        body["id"].as_str().unwrap().to_owned()
    }

    async fn user(&self, admin: &str, delegation: &str, username: &str, role: &str) -> String {
        self.call(
            "POST",
            &format!("/api/v1/delegations/{delegation}/users"),
            Some(admin),
            Some(json!({"username": username, "password": PASSWORD, "role": role})),
        )
        .await;
        self.login(username, PASSWORD).await
    }

    /// Median and 95th percentile of `CALLS` timed GETs (after `WARM_UP` untimed ones).
    async fn time(&self, path: &str, token: Option<&str>) -> (Duration, Duration) {
        for _ in 0..WARM_UP {
            self.get(path, token).await;
        }
        let mut times = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let started = Instant::now();
            self.get(path, token).await;
            times.push(started.elapsed());
        }
        times.sort();
        (times[CALLS / 2], times[CALLS * 95 / 100])
    }

    async fn get(&self, path: &str, token: Option<&str>) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.bytes().await.unwrap();
    }
}

/// The delegations' own, fixed data, made through the API.
struct Fixture {
    v: String,
    w: String,
    viewer: String,
    scheduler: String,
    /// V's weekly series of 52 sessions (Tuesdays 15:00 in Zurich from 2027-01-05).
    weekly: String,
    member: String,
    channel: String,
    forum: String,
    feed: String,
    others: Vec<String>,
}

async fn fixture(client: &Client, admin_password: &str) -> Fixture {
    let platform = client.login("admin", admin_password).await;
    let v = client.delegation(&platform, "VV").await;
    let w = client.delegation(&platform, "WW").await;
    let x = client.delegation(&platform, "XX").await;
    let v_admin = client.user(&platform, &v, "v-admin", "admin").await;
    let v_scheduler = client.user(&platform, &v, "v-scheduler", "scheduler").await;
    let viewer = client.user(&platform, &v, "v-viewer", "viewer").await;
    let w_admin = client.user(&platform, &w, "w-admin", "admin").await;
    let member = client.user(&platform, &x, "x-viewer", "viewer").await;
    let channel = client
        .call(
            "POST",
            "/api/v1/channels",
            Some(&v_admin),
            Some(json!({"counterpart_id": w, "name": "Hotline", "kind": "hotline"})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let transitions = format!("/api/v1/channels/{channel}/transitions");
    client
        .call(
            "POST",
            &transitions,
            Some(&w_admin),
            Some(json!({"to": "active"})),
        )
        .await;
    let forum = client
        .call(
            "POST",
            "/api/v1/forums",
            Some(&platform),
            Some(json!({"name": "Forum", "members": [v, w, x]})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // One a day in January at 10:00, and in the measured week (11–17 January) two more a day
    // (13:00, 16:00): with the weekly series' session, that week holds 22 meetings.
    let bookings = (1..=30u32).flat_map(|day| {
        let hours: &[u32] = if (11..=17).contains(&day) {
            &[10, 13, 16]
        } else {
            &[10]
        };
        hours.iter().map(move |&hour| (day, hour))
    });
    for (n, (day, hour)) in bookings.enumerate() {
        let mut booking = json!({"title": format!("Meeting {day} {hour}h"), "participants": [w],
            "time_zone": "Europe/Zurich", "start": format!("2027-01-{day:02}T{hour:02}:00"),
            "end": format!("2027-01-{day:02}T{:02}:00", hour + 1)});
        match n % 3 {
            0 => booking["channel_id"] = json!(channel),
            1 => {
                booking["forum_id"] = json!(forum);
                booking["confidentiality"] = json!("forum");
            }
            _ => {}
        }
        client
            .call(
                "POST",
                "/api/v1/meetings",
                Some(&v_scheduler),
                Some(booking),
            )
            .await;
    }
    let weekly = client
        .call(
            "POST",
            "/api/v1/meetings",
            Some(&v_scheduler),
            Some(
                json!({"title": "Weekly", "participants": [w], "time_zone": "Europe/Zurich",
                        "start": "2027-01-05T15:00", "end": "2027-01-05T16:00",
                        "recurrence": "FREQ=WEEKLY;BYDAY=TU;COUNT=52", "forum_id": forum,
                        "confidentiality": "forum"}),
            ),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (token, to, reason) in [
        (&w_admin, "frozen", Some("pause")),
        (&v_admin, "active", None),
        (&w_admin, "active", None),
    ] {
        client
            .call(
                "POST",
                &transitions,
                Some(token),
                Some(json!({"to": to, "reason": reason})),
            )
            .await;
    }
    let feed = client
        .call(
            "POST",
            "/api/v1/feeds",
            Some(&viewer),
            Some(json!({"name": "V"})),
        )
        .await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut others = Vec::with_capacity(OTHERS);
    for i in 0..OTHERS {
        others.push(client.delegation(&platform, &format!("O{i}")).await);
    }
    Fixture {
        v,
        w,
        viewer,
        scheduler: v_scheduler,
        weekly,
        member,
        channel,
        forum,
        feed,
        others,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One endpoint's times in one run.
struct Measured {
    backend: &'static str,
    others: usize,
    own: usize,
    endpoint: String,
    median: Duration,
    p95: Duration,
}

/// The table: each median also as a ratio to `GET /api/v1/me` in the same run, and to the same
/// endpoint with the smallest own history (same backend, same others' data).
fn table(rows: &[Measured]) -> String {
    let mut out = String::from(
        "| backend | others' meetings | own meetings | endpoint | median ms | p95 ms | × /me | × smallest own |\n\
         | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n",
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for row in rows {
        let same_run = |endpoint: &str| {
            rows.iter().find(|r| {
                (r.backend, r.others, r.own) == (row.backend, row.others, row.own)
                    && r.endpoint == endpoint
            })
        };
        let me = same_run("GET /api/v1/me").map_or(f64::NAN, |r| ms(r.median));
        let smallest = rows
            .iter()
            .filter(|r| {
                (r.backend, r.others) == (row.backend, row.others) && r.endpoint == row.endpoint
            })
            .min_by_key(|r| r.own)
            .map_or(f64::NAN, |r| ms(r.median));
        writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.2} |",
            row.backend,
            row.others,
            row.own,
            row.endpoint,
            ms(row.median),
            ms(row.p95),
            ms(row.median) / me,
            ms(row.median) / smallest,
        )
        .unwrap();
    }
    out
}

async fn run(backend: Backend, (n, own): (usize, usize), report: &mut Vec<Measured>) {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
        Backend::Postgres => {
            let server = std::env::var("ENTENTE_TEST_POSTGRES_URL").unwrap();
            let name = format!("entente_bench_{}", uuid::Uuid::now_v7().simple());
            PgConnection::establish(&server)
                .unwrap()
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            let mut url = url::Url::parse(&server).unwrap();
            url.set_path(&name);
            (url.to_string(), Some((server, name)))
        }
    };
    let admin_password = "bench-admin-passphrase";
    let config = Config::from_vars(vec![
        ("ENTENTE_DATABASE_URL".to_owned(), url.clone()),
        ("ENTENTE_BIND".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "ENTENTE_ADMIN_PASSWORD".to_owned(),
            admin_password.to_owned(),
        ),
        ("ENTENTE_LOG".to_owned(), "error".to_owned()),
    ])
    .unwrap();
    let app = Application::build(config).unwrap();
    let client = Client {
        http: reqwest::Client::new(),
        base: format!("http://{}", app.local_addr()),
    };
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());

    let f = fixture(&client, admin_password).await;
    let platform = client.login("admin", admin_password).await;
    let searched: Vec<DelegationId> = search::delegations(&client, &platform)
        .await
        .iter()
        .map(|s| DelegationId::from(s.as_str()))
        .collect();
    let seeding = Instant::now();
    let store = Store::open(&DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
    let others: Vec<DelegationId> = f
        .others
        .iter()
        .map(|o| DelegationId::from(o.as_str()))
        .collect();
    let (v, w) = (
        DelegationId::from(f.v.as_str()),
        DelegationId::from(f.w.as_str()),
    );
    tokio::task::spawn_blocking(move || {
        let mut conn = store.connection().unwrap();
        write_transaction(&mut conn, |conn| {
            seeding::seed_others(conn, n, &others);
            seeding::seed_own(conn, own, (&v, &w), &others);
            search::seed_searched(conn, &searched);
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
        conn.batch_execute("ANALYZE").unwrap();
    })
    .await
    .unwrap();
    let seeded = seeding.elapsed();

    let january = "from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z";
    let week = "from=2027-01-11T00:00:00Z&to=2027-01-18T00:00:00Z";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "meetings, January",
            format!("/api/v1/meetings?{january}&limit=100"),
            f.viewer.as_str(),
        ),
        (
            "meetings, January (forum member)",
            format!("/api/v1/meetings?{january}&limit=100"),
            f.member.as_str(),
        ),
        (
            "meetings?forum_id=",
            format!("/api/v1/meetings?forum_id={}&limit=100", f.forum),
            f.viewer.as_str(),
        ),
        (
            "meetings?channel_id=",
            format!("/api/v1/meetings?channel_id={}&limit=100", f.channel),
            f.viewer.as_str(),
        ),
        (
            "meetings, one week (22)",
            format!("/api/v1/meetings?{week}&limit=100"),
            f.viewer.as_str(),
        ),
        (
            "schedule, one week (22)",
            format!("/api/v1/schedule?{week}"),
            f.viewer.as_str(),
        ),
        (
            "schedule, January",
            format!("/api/v1/schedule?{january}"),
            f.viewer.as_str(),
        ),
        ("channels", "/api/v1/channels".to_owned(), f.viewer.as_str()),
        (
            "channel history",
            format!("/api/v1/channels/{}/history", f.channel),
            f.viewer.as_str(),
        ),
        ("forums", "/api/v1/forums".to_owned(), f.viewer.as_str()),
        ("feed .ics", f.feed.clone(), ""),
        (
            "busy, 92 days",
            format!(
                "/api/v1/delegations/{}/busy?from=2027-01-01T00:00:00Z&to=2027-04-03T00:00:00Z",
                f.v
            ),
            f.viewer.as_str(),
        ),
    ];
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let mut timed = vec![(
        "GET /api/v1/me".to_owned(),
        client.time("/api/v1/me", Some(&f.viewer)).await,
    )];
    timed.push((
        "GET /meetings/{id}".to_owned(),
        client
            .time(&format!("/api/v1/meetings/{}", f.weekly), Some(&f.viewer))
            .await,
    ));
    for (name, path, token) in cases {
        let token = (!token.is_empty()).then_some(token);
        timed.push((name.to_owned(), client.time(&path, token).await));
    }
    for (name, median, p95) in search::measure(&client, &f.viewer).await {
        timed.push((name, (median, p95)));
    }
    for (name, median, p95) in writes::measure(&client, &f).await {
        timed.push((name, (median, p95)));
    }
    for (endpoint, (median, p95)) in timed {
        report.push(Measured {
            backend: backend_name,
            others: n,
            own,
            endpoint,
            median,
            p95,
        });
    }
    eprintln!("{backend_name} N={n} own={own}: data written in {seeded:.1?}");
    handle.stop(true).await;
    if std::env::var("ENTENTE_BENCH_KEEP").is_ok() {
        // To look at query plans afterwards (EXPLAIN): the database stays.
        eprintln!("{backend_name} N={n}: kept {url}");
        std::mem::forget(dir);
        return;
    }
    if let Some((server, name)) = pg {
        if let Ok(mut admin) = PgConnection::establish(&server) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = std::env::var("ENTENTE_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000,100000".to_owned())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("ENTENTE_BENCH_SIZES: numbers, e.g. 1000,10000")
        })
        .collect();
    let mut backends = vec![Backend::Sqlite];
    if std::env::var("ENTENTE_TEST_POSTGRES_URL").is_ok() {
        backends.push(Backend::Postgres);
    } else {
        eprintln!("ENTENTE_TEST_POSTGRES_URL is not set: SQLite only");
    }
    // The viewer's own history (ENTENTE_BENCH_OWN): its everyday reads must not grow with it.
    let own: Vec<usize> = std::env::var("ENTENTE_BENCH_OWN")
        .unwrap_or_else(|_| "0".to_owned())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("ENTENTE_BENCH_OWN: numbers, e.g. 1000,10000")
        })
        .collect();
    let mut report = Vec::new();
    for backend in backends {
        for &n in &sizes {
            for &o in &own {
                run(backend, (n, o), &mut report).await;
                // What is measured so far, in case a later run fails.
                eprintln!("{}", table(&report));
            }
        }
    }
    println!("{}", table(&report));
}
