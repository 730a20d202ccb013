//! The baseline of the throughput harness (`scripts/bench-throughput.sh`): bare actix-web, the
//! same version and features as entente, with `/json` (a small JSON answer) and `/jwt` (the
//! same, after validating an HS256 bearer token with jsonwebtoken exactly as entente does:
//! algorithm pinned, `kid`, `exp`/`nbf`/`iat`/`iss`/`aud`/`sub` required). No database, no
//! middleware: what a request costs before any work of ours.
//!
//!     baseline serve 127.0.0.1:18080 <secret>    # serve until killed
//!     baseline token <secret>                    # print a valid token for /jwt

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use actix_web::{get, web, App, HttpRequest, HttpResponse, HttpServer};
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

#[get("/json")]
async fn json() -> HttpResponse {
    HttpResponse::Ok().json(Answer {
        user: "baseline",
        ok: true,
    })
}

#[get("/jwt")]
async fn jwt(req: HttpRequest, secret: web::Data<Secret>) -> HttpResponse {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return HttpResponse::Unauthorized().finish();
    };
    let valid = decode_header(token).ok().is_some_and(|header| {
        header.alg == Algorithm::HS256 && header.kid.as_deref() == Some(KID) && {
            let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
            validation.leeway = 30;
            validation.set_issuer(&["entente"]);
            validation.set_audience(&["entente-api"]);
            validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
            decode::<Claims>(token, &DecodingKey::from_secret(&secret.0), &validation).is_ok()
        }
    });
    if !valid {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok().json(Answer {
        user: "baseline",
        ok: true,
    })
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
            actix_web::rt::System::new().block_on(
                HttpServer::new(move || {
                    App::new()
                        .app_data(secret.clone())
                        .service(json)
                        .service(jwt)
                })
                .bind(bind)?
                .run(),
            )
        }
        _ => {
            eprintln!("usage: baseline serve <addr> <secret> | baseline token <secret>");
            std::process::exit(2)
        }
    }
}
