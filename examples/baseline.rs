//! The baseline of the throughput harness (`scripts/bench-throughput.sh`): bare actix-web, the
//! same version and features as entente, with `/json` (a small JSON answer) and `/jwt` (the
//! same, after validating an HS256 bearer token with jsonwebtoken exactly as entente does:
//! algorithm pinned, `kid`, `exp`/`nbf`/`iat`/`iss`/`aud`/`sub` required). No database, no
//! middleware: what a request costs before any work of ours.
//!
//! Given a database, also `/jwt-db`: `/jwt`, then the token's subject looked up by primary key
//! in one fixed (prepared once) statement on a blocking thread that keeps its connection — the
//! least any server pays that checks each token against the database (so that a deactivated
//! user is refused at once) and reads nothing else.
//!
//! And `/static/{bytes}`: a calendar-typed body of that many bytes, made once and then served
//! from memory — what serving a feed from a cache can at best cost (`scripts/bench-feeds.sh`).
//!
//!     baseline serve 127.0.0.1:18080 <secret> [DATABASE_URL]   # serve until killed
//!     baseline token <secret>                                  # print a valid token for /jwt

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;

use actix_web::{get, web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::prelude::*;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

const KID: &str = "baseline";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    nbf: i64,
    iss: String,
    aud: String,
}

#[derive(Serialize)]
struct Answer {
    user: &'static str,
    ok: bool,
}

struct Secret(Vec<u8>);

diesel::table! {
    accounts (id) {
        id -> Text,
        active -> Bool,
        generation -> BigInt,
    }
}

/// `sqlite://PATH` or `postgres://…`, with one account: the token's subject.
#[derive(Clone)]
struct Database(String);

enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Database {
    fn connect(&self) -> Conn {
        match self.0.strip_prefix("sqlite://") {
            Some(path) => {
                let mut c = SqliteConnection::establish(path).unwrap();
                diesel::connection::SimpleConnection::batch_execute(
                    &mut c,
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;",
                )
                .unwrap();
                Conn::Sqlite(c)
            }
            None => Conn::Postgres(PgConnection::establish(&self.0).unwrap()),
        }
    }

    fn prepare(&self) {
        let setup =
            "CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, active BOOLEAN NOT NULL, \
                     generation BIGINT NOT NULL); DELETE FROM accounts; \
                     INSERT INTO accounts VALUES ('baseline-user', TRUE, 0);";
        match self.connect() {
            Conn::Sqlite(mut c) => {
                diesel::connection::SimpleConnection::batch_execute(&mut c, setup)
            }
            Conn::Postgres(mut c) => {
                diesel::connection::SimpleConnection::batch_execute(&mut c, setup)
            }
        }
        .unwrap();
    }
}

thread_local! {
    static CONNECTION: RefCell<Option<Conn>> = const { RefCell::new(None) };
}

/// Whether the subject is an active account, on this blocking thread's own connection.
fn active(database: &Database, subject: &str) -> bool {
    CONNECTION.with(|cell| {
        let mut cell = cell.borrow_mut();
        let conn = cell.get_or_insert_with(|| database.connect());
        let query = accounts::table
            .filter(accounts::id.eq(subject))
            .filter(accounts::active.eq(true))
            .select(accounts::generation);
        let found = match conn {
            Conn::Sqlite(c) => query.first::<i64>(c).optional(),
            Conn::Postgres(c) => query.first::<i64>(c).optional(),
        };
        matches!(found, Ok(Some(0)))
    })
}

#[get("/json")]
async fn json() -> HttpResponse {
    HttpResponse::Ok().json(Answer {
        user: "baseline",
        ok: true,
    })
}

/// The bearer token's subject, if the token is valid.
fn verified(req: &HttpRequest, secret: &Secret) -> Option<String> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    let header = decode_header(token).ok()?;
    if header.alg != Algorithm::HS256 || header.kid.as_deref() != Some(KID) {
        return None;
    }
    let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
    validation.leeway = 30;
    validation.set_issuer(&["entente"]);
    validation.set_audience(&["entente-api"]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    decode::<Claims>(token, &DecodingKey::from_secret(&secret.0), &validation)
        .ok()
        .map(|data| data.claims.sub)
}

/// Bodies of `/static/{bytes}`, made on first request.
fn static_body(bytes: usize) -> actix_web::web::Bytes {
    static BODIES: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<usize, actix_web::web::Bytes>>,
    > = std::sync::OnceLock::new();
    let mut bodies = BODIES.get_or_init(Default::default).lock().unwrap();
    bodies
        .entry(bytes)
        .or_insert_with(|| {
            let line = b"DESCRIPTION:a line of a calendar of the same size as the feed\r\n";
            line.iter()
                .copied()
                .cycle()
                .take(bytes)
                .collect::<Vec<u8>>()
                .into()
        })
        .clone()
}

#[get("/static/{bytes}")]
async fn static_calendar(bytes: web::Path<usize>) -> HttpResponse {
    let bytes = bytes.into_inner().min(256 * 1024 * 1024);
    HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .body(static_body(bytes))
}

#[get("/jwt")]
async fn jwt(req: HttpRequest, secret: web::Data<Secret>) -> HttpResponse {
    if verified(&req, &secret).is_none() {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok().json(Answer {
        user: "baseline",
        ok: true,
    })
}

#[get("/jwt-db")]
async fn jwt_db(
    req: HttpRequest,
    secret: web::Data<Secret>,
    database: web::Data<Database>,
) -> HttpResponse {
    let Some(subject) = verified(&req, &secret) else {
        return HttpResponse::Unauthorized().finish();
    };
    let database = database.get_ref().clone();
    match web::block(move || active(&database, &subject)).await {
        Ok(true) => HttpResponse::Ok().json(Answer {
            user: "baseline",
            ok: true,
        }),
        _ => HttpResponse::Unauthorized().finish(),
    }
}

fn token(secret: &[u8]) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: "baseline-user".into(),
        iat: now,
        nbf: now,
        exp: now + 3600,
        iss: "entente".into(),
        aud: "entente-api".into(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.into());
    encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("token") => {
            println!("{}", token(args[2].as_bytes()));
            Ok(())
        }
        Some("serve") => {
            let bind = args[2].clone();
            let secret = web::Data::new(Secret(args[3].as_bytes().to_vec()));
            let database = args.get(4).map(|url| Database(url.clone()));
            if let Some(database) = &database {
                database.prepare();
            }
            let database = database.map(web::Data::new);
            actix_web::rt::System::new().block_on(
                HttpServer::new(move || {
                    let app = App::new()
                        .app_data(secret.clone())
                        .service(json)
                        .service(jwt)
                        .service(static_calendar);
                    match &database {
                        Some(database) => app.app_data(database.clone()).service(jwt_db),
                        None => app,
                    }
                })
                .bind(bind)?
                .run(),
            )
        }
        _ => {
            eprintln!(
                "usage: baseline serve <addr> <secret> [DATABASE_URL] | baseline token <secret>"
            );
            std::process::exit(2)
        }
    }
}
