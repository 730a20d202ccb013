//! Identity and access: login, tokens (an attack suite), the role matrix, throttling,
//! delegations, users and the audit log.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use entente::auth::keys::SigningKey;
use entente::config::Secret;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp, TestDatabase, JWT_SECRET, USER_PASSWORD};
use crate::{on_both_backends, with_both_databases};

on_both_backends!(
    login_and_me,
    every_forged_or_stale_token_is_refused,
    role_matrix,
    unknown_user_and_wrong_password_look_the_same,
    delegations_are_validated_versioned_and_paginated,
    users_are_validated_and_deactivation_ends_their_access,
    the_audit_log_is_scoped_to_the_callers_delegation,
    bodies_over_the_limit_and_malformed_json_over_http,
);
with_both_databases!(token_keys_rotate, failed_logins_are_throttled_and_recover);

fn sign(secret: &[u8], header: Value, claims: Value) -> String {
    let h = B64.encode(header.to_string());
    let c = B64.encode(claims.to_string());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{h}.{c}").as_bytes());
    format!("{h}.{c}.{}", B64.encode(mac.finalize().into_bytes()))
}

fn kid(secret: &str) -> String {
    SigningKey::from_secret(Secret::new(secret.as_bytes().to_vec())).kid
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims_for(sub: &str) -> Value {
    let now = now();
    json!({"sub": sub, "del": null, "role": "platform_admin", "iat": now, "nbf": now, "exp": now + 600,
           "iss": "entente", "aud": "entente-api", "jti": "test"})
}

async fn login_and_me(app: TestApp) {
    let response = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ADMIN", "password": crate::helpers::ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(response.status(), 200, "usernames are case-insensitive");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["user"]["username"], "admin");
    assert_eq!(body["user"]["role"], "platform_admin");
    assert!(body["user"]["delegation_id"].is_null());
    let token = body["access_token"].as_str().unwrap();

    // The token carries the claims of the contract.
    let payload: Value =
        serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    for claim in [
        "sub", "del", "role", "iat", "exp", "nbf", "iss", "aud", "jti",
    ] {
        assert!(
            payload.get(claim).is_some(),
            "claim {claim} missing: {payload}"
        );
    }
    assert_eq!(payload["iss"], "entente");
    assert_eq!(payload["aud"], "entente-api");
    let header: Value =
        serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["kid"], kid(JWT_SECRET));

    let me = app
        .expect(200, "GET", "/api/v1/me", Some(token), None)
        .await;
    assert_eq!(me["user"]["username"], "admin");
    assert!(me["delegation"].is_null());

    let world = app.world().await;
    let me = app
        .expect(
            200,
            "GET",
            "/api/v1/me",
            Some(world.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(me["user"]["role"], "viewer");
    assert_eq!(me["delegation"]["code"], "AAA");
    assert_eq!(me["delegation"]["time_zone"], "Europe/Moscow");
}

async fn every_forged_or_stale_token_is_refused(app: TestApp) {
    let admin = app.admin_token().await;
    let me = app
        .expect(200, "GET", "/api/v1/me", Some(&admin), None)
        .await;
    let sub = me["user"]["id"].as_str().unwrap().to_owned();
    let secret = JWT_SECRET.as_bytes();
    let hs256 = json!({"alg": "HS256", "typ": "JWT", "kid": kid(JWT_SECRET)});
    let with = |field: &str, value: Value| {
        let mut c = claims_for(&sub);
        c[field] = value;
        c
    };
    let without = |field: &str| {
        let mut c = claims_for(&sub);
        c.as_object_mut().unwrap().remove(field);
        c
    };
    // The control: a token we forge correctly works, so every refusal below is for its flaw.
    let control = sign(secret, hs256.clone(), claims_for(&sub));
    app.expect(200, "GET", "/api/v1/me", Some(&control), None)
        .await;

    let mut parts = control.split('.');
    let (h, _, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let tampered = format!(
        "{h}.{}.{s}",
        B64.encode(with("sub", "someone-else".into()).to_string())
    );
    let none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "typ": "JWT", "kid": kid(JWT_SECRET)}).to_string()),
        B64.encode(claims_for(&sub).to_string())
    );

    let user_id = {
        let world_delegation = app.create_delegation(&admin, "DEL", "Europe/Paris").await;
        let id = app
            .create_user(&admin, &world_delegation, "soon-gone", "viewer")
            .await;
        let token = app.login("soon-gone", USER_PASSWORD).await;
        app.expect(200, "GET", "/api/v1/me", Some(&token), None)
            .await;
        app.expect(
            200,
            "DELETE",
            &format!("/api/v1/delegations/{world_delegation}/users/{id}"),
            Some(&admin),
            None,
        )
        .await;
        token
    };

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("malformed", Some("definitely-not-a-jwt".into())),
        ("alg none", Some(none)),
        (
            "HS512 header",
            Some(sign(
                secret,
                json!({"alg": "HS512", "kid": kid(JWT_SECRET)}),
                claims_for(&sub),
            )),
        ),
        (
            "RS256 header",
            Some(sign(
                secret,
                json!({"alg": "RS256", "kid": kid(JWT_SECRET)}),
                claims_for(&sub),
            )),
        ),
        (
            "unknown kid",
            Some(sign(
                secret,
                json!({"alg": "HS256", "kid": "0000000000000000"}),
                claims_for(&sub),
            )),
        ),
        (
            "no kid",
            Some(sign(secret, json!({"alg": "HS256"}), claims_for(&sub))),
        ),
        (
            "exp as a string",
            Some(sign(
                secret,
                hs256.clone(),
                with("exp", (now() + 600).to_string().into()),
            )),
        ),
        (
            "another key",
            Some(sign(
                b"another-secret-0123456789abcdef-0123456789",
                hs256.clone(),
                claims_for(&sub),
            )),
        ),
        ("tampered payload", Some(tampered)),
        (
            "expired",
            Some(sign(
                secret,
                hs256.clone(),
                with("exp", (now() - 120).into()),
            )),
        ),
        (
            "not yet valid",
            Some(sign(
                secret,
                hs256.clone(),
                with("nbf", (now() + 3600).into()),
            )),
        ),
        (
            "wrong iss",
            Some(sign(
                secret,
                hs256.clone(),
                with("iss", "not-entente".into()),
            )),
        ),
        (
            "wrong aud",
            Some(sign(
                secret,
                hs256.clone(),
                with("aud", "another-api".into()),
            )),
        ),
        (
            "missing sub",
            Some(sign(secret, hs256.clone(), without("sub"))),
        ),
        (
            "unknown sub",
            Some(sign(
                secret,
                hs256.clone(),
                with("sub", "01a21600-0000-7000-8000-000000000000".into()),
            )),
        ),
        ("deactivated user", Some(user_id)),
    ];
    for (name, token) in cases {
        let response = app.call("GET", "/api/v1/me", token.as_deref(), None).await;
        assert_eq!(response.status(), 401, "{name} was not refused");
        assert_eq!(
            response.headers()["www-authenticate"].to_str().unwrap(),
            "Bearer realm=\"entente\"",
            "{name}"
        );
        assert_problem(response, 401, "unauthorized").await;
    }
    // A scheme other than Bearer is no token at all.
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Basic {control}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

async fn token_keys_rotate(db: TestDatabase) {
    let old = "the-old-signing-secret-0123456789abcdef";
    let new = "the-new-signing-secret-0123456789abcdef";
    let app = db.spawn_app_with(&[("ENTENTE_JWT_SECRET", old)]).await;
    let token = app.admin_token().await;
    let db = app.stop().await;

    let app = db
        .spawn_app_with(&[
            ("ENTENTE_JWT_SECRET", new),
            ("ENTENTE_JWT_PREVIOUS_SECRETS", old),
        ])
        .await;
    app.expect(200, "GET", "/api/v1/me", Some(&token), None)
        .await;
    let fresh = app.admin_token().await;
    let header: Value =
        serde_json::from_slice(&B64.decode(fresh.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(
        header["kid"],
        kid(new),
        "new tokens are signed with the current key"
    );
    let db = app.stop().await;

    let app = db.spawn_app_with(&[("ENTENTE_JWT_SECRET", new)]).await;
    app.expect_problem(401, "unauthorized", "GET", "/api/v1/me", Some(&token), None)
        .await;
    app.expect(200, "GET", "/api/v1/me", Some(&fresh), None)
        .await;
}

/// Every endpoint × every role × own/foreign delegation, against a table: a new endpoint must
/// be added here.
async fn role_matrix(app: TestApp) {
    let w = app.world().await;
    let roles = [
        "platform",
        "a-admin",
        "a-scheduler",
        "a-viewer",
        "b-admin",
        "b-scheduler",
        "b-viewer",
    ];
    // Expected status for each caller in `roles` order. `{A}` is delegation AAA; `{U}` a viewer
    // of AAA and `{M}` a meeting hosted by AAA with BBB, both made afresh for each call, so that
    // one caller's change cannot decide another's.
    let meeting = json!({"title": "T", "participants": ["{A}", "{B}"], "time_zone": "Europe/Zurich",
                         "start": "2027-05-03T10:00", "end": "2027-05-03T11:00"});
    let table: Vec<(&str, &str, Option<Value>, [u16; 7])> = vec![
        (
            "GET",
            "/api/v1/me",
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/delegations",
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/delegations/{A}",
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/delegations",
            Some(json!({"code": "X", "name": "New", "kind": "other", "time_zone": "UTC"})),
            [201, 403, 403, 403, 403, 403, 403],
        ),
        (
            "PATCH",
            "/api/v1/delegations/{A}",
            Some(json!({"name": "Renamed"})),
            [200, 200, 403, 403, 403, 403, 403],
        ),
        (
            "POST",
            "/api/v1/delegations/{A}/users",
            Some(json!({"username": "x", "password": USER_PASSWORD, "role": "viewer"})),
            [201, 201, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/delegations/{A}/users",
            None,
            [200, 200, 403, 403, 403, 403, 403],
        ),
        (
            "DELETE",
            "/api/v1/delegations/{A}/users/{U}",
            None,
            [200, 200, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/audit",
            None,
            [200, 200, 403, 403, 200, 403, 403],
        ),
        (
            "POST",
            "/api/v1/meetings",
            Some(meeting),
            [403, 201, 201, 403, 201, 201, 403],
        ),
        (
            "GET",
            "/api/v1/meetings",
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/meetings/{M}",
            None,
            [404, 200, 200, 200, 200, 200, 200],
        ),
        (
            "PATCH",
            "/api/v1/meetings/{M}",
            Some(json!({"title": "Renamed"})),
            [404, 200, 200, 403, 403, 403, 403],
        ),
        (
            "DELETE",
            "/api/v1/meetings/{M}",
            None,
            [404, 200, 200, 403, 403, 403, 403],
        ),
        (
            "POST",
            "/api/v1/meetings/{M}/response",
            Some(json!({"response": "accepted"})),
            [404, 200, 200, 403, 200, 200, 403],
        ),
        (
            "PUT",
            "/api/v1/meetings/{S}/occurrences/2027-05-05T08:00:00Z",
            Some(json!({"status": "cancelled"})),
            [404, 200, 200, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/meetings/{M}.ics",
            None,
            [404, 200, 200, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/feeds",
            Some(json!({"name": "Mine"})),
            [201, 201, 201, 201, 201, 201, 201],
        ),
        (
            "GET",
            "/api/v1/feeds",
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        // {F} is a feed of a-viewer's: only its owner revokes it; to anyone else it does not exist.
        (
            "DELETE",
            "/api/v1/feeds/{F}",
            None,
            [404, 404, 404, 200, 404, 404, 404],
        ),
        (
            "GET",
            "/api/v1/schedule?from=2027-05-01T00:00:00Z&to=2027-06-01T00:00:00Z",
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        // Channels: proposed by a delegation's admin (to a third delegation, CCC, here).
        (
            "POST",
            "/api/v1/channels",
            Some(json!({"counterpart_id": "{X}", "name": "Hotline", "kind": "hotline"})),
            [403, 201, 403, 403, 201, 403, 403],
        ),
        (
            "GET",
            "/api/v1/channels",
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        // {C} is a channel AAA proposed to CCC: BBB and the platform are no party to it.
        (
            "GET",
            "/api/v1/channels/{C}",
            None,
            [404, 200, 200, 200, 404, 404, 404],
        ),
        (
            "GET",
            "/api/v1/channels/{C}/history",
            None,
            [404, 200, 200, 200, 404, 404, 404],
        ),
        (
            "POST",
            "/api/v1/channels/{C}/transitions",
            Some(json!({"to": "closed", "reason": "Withdrawn"})),
            [404, 200, 403, 403, 404, 404, 404],
        ),
        // {D} is a channel AAA proposed to BBB: only BBB's admin accepts it.
        (
            "POST",
            "/api/v1/channels/{D}/transitions",
            Some(json!({"to": "active"})),
            [404, 409, 403, 403, 200, 403, 403],
        ),
        // Forums: the platform creates and edits; {G} is a forum AAA alone is a member of.
        (
            "POST",
            "/api/v1/forums",
            Some(json!({"name": "Forum", "members": []})),
            [201, 403, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/forums",
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/forums/{G}",
            None,
            [200, 200, 200, 200, 404, 404, 404],
        ),
        (
            "PATCH",
            "/api/v1/forums/{G}",
            Some(json!({"name": "Renamed"})),
            [200, 403, 403, 403, 404, 404, 404],
        ),
    ];
    let c = app
        .create_delegation(&w.platform, "CCC", "Asia/Tokyo")
        .await;
    let mut n = 0;
    for (method, template, body, expected) in &table {
        for (who, status) in roles.iter().zip(expected) {
            n += 1;
            let fresh = format!("N{n}");
            let mut path = template.replace("{A}", &w.a);
            if path.contains("{U}") {
                let target = app
                    .create_user(
                        &w.platform,
                        &w.a,
                        &format!("target-{}", fresh.to_lowercase()),
                        "viewer",
                    )
                    .await;
                path = path.replace("{U}", &target);
            }
            if path.contains("{M}") {
                let created = app
                    .expect(
                        201,
                        "POST",
                        "/api/v1/meetings",
                        Some(w.token("a-scheduler")),
                        Some(json!({"title": "Target", "participants": [w.b], "time_zone": "Europe/Zurich",
                                    "start": "2027-05-04T10:00", "end": "2027-05-04T11:00"})),
                    )
                    .await;
                path = path.replace("{M}", created["id"].as_str().unwrap());
            }
            if path.contains("{F}") {
                let created = app
                    .expect(
                        201,
                        "POST",
                        "/api/v1/feeds",
                        Some(w.token("a-viewer")),
                        Some(json!({"name": "Target"})),
                    )
                    .await;
                path = path.replace("{F}", created["id"].as_str().unwrap());
            }
            if path.contains("{S}") {
                let created = app
                    .expect(
                        201,
                        "POST",
                        "/api/v1/meetings",
                        Some(w.token("a-scheduler")),
                        Some(json!({"title": "Weekly", "participants": [w.b], "time_zone": "Europe/Zurich",
                                    "start": "2027-05-05T10:00", "end": "2027-05-05T11:00", "recurrence": "FREQ=WEEKLY;COUNT=3"})),
                    )
                    .await;
                path = path.replace("{S}", created["id"].as_str().unwrap());
            }
            for (placeholder, counterpart) in [("{C}", &c), ("{D}", &w.b)] {
                if path.contains(placeholder) {
                    let created = app
                        .expect(
                            201,
                            "POST",
                            "/api/v1/channels",
                            Some(w.token("a-admin")),
                            Some(json!({"counterpart_id": counterpart, "name": "Target", "kind": "consultations"})),
                        )
                        .await;
                    path = path.replace(placeholder, created["id"].as_str().unwrap());
                }
            }
            if path.contains("{G}") {
                let created = app
                    .expect(
                        201,
                        "POST",
                        "/api/v1/forums",
                        Some(&w.platform),
                        Some(json!({"name": "Target", "members": [w.a]})),
                    )
                    .await;
                path = path.replace("{G}", created["id"].as_str().unwrap());
            }
            // Fresh values where uniqueness matters: codes are upper case, usernames lower.
            let body = body.clone().map(|mut b: Value| {
                if b.get("code").is_some() {
                    b["code"] = Value::String(fresh.clone());
                }
                if b.get("username").is_some() {
                    b["username"] = Value::String(format!("user-{}", fresh.to_lowercase()));
                }
                if b.get("participants").is_some() {
                    b["participants"] = json!([w.a, w.b]);
                }
                if b.get("counterpart_id").is_some() {
                    b["counterpart_id"] = json!(c);
                }
                b
            });
            let response = app.call(method, &path, Some(w.token(who)), body).await;
            let actual = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert_eq!(actual, *status, "{who}: {method} {path} → {text}");
        }
    }
    // And without any token, everything under /api/v1 but login is 401.
    for (method, template, body, _) in &table {
        let path = template
            .replace("{A}", &w.a)
            .replace("{U}", &w.ids["a-viewer"])
            .replace("{M}", &w.a)
            .replace("{S}", &w.a)
            .replace("{F}", &w.a)
            .replace("{C}", &w.a)
            .replace("{D}", &w.a)
            .replace("{G}", &w.a);
        assert_eq!(
            app.call(method, &path, None, body.clone()).await.status(),
            401,
            "{method} {path}"
        );
    }
}

async fn unknown_user_and_wrong_password_look_the_same(app: TestApp) {
    let attempt = |username: String, password: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let response = app
                .call(
                    "POST",
                    "/api/v1/auth/login",
                    None,
                    Some(json!({"username": username, "password": password})),
                )
                .await;
            let elapsed = started.elapsed();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            (status, body, elapsed)
        }
    };
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    // Alternate, and stay under the per-username limit (10) for the real user.
    for i in 0..8 {
        let (s1, b1, t1) = attempt(format!("nobody-{i}"), "a-wrong-password-000").await;
        let (s2, b2, t2) = attempt("admin".into(), "a-wrong-password-000").await;
        assert_eq!((s1, s2), (401, 401));
        assert_eq!(b1, b2, "the two failures must be indistinguishable");
        unknown.push(t1);
        wrong.push(t2);
    }
    unknown.sort();
    wrong.sort();
    let (u, w) = (unknown[4].as_secs_f64(), wrong[4].as_secs_f64());
    // Without the dummy verification an unknown user answers in about a millisecond, against
    // tens of milliseconds for an argon2 check.
    assert!(
        u > w * 0.5 && w > u * 0.5,
        "median unknown user {u:.4}s vs wrong password {w:.4}s"
    );
}

async fn failed_logins_are_throttled_and_recover(db: TestDatabase) {
    let app = db
        .spawn_app_with(&[("ENTENTE_LOGIN_FAILURE_WINDOW", "4s")])
        .await;
    let wrong = json!({"username": "admin", "password": "not-the-password"});
    for attempt in 1..=10 {
        let response = app
            .call("POST", "/api/v1/auth/login", None, Some(wrong.clone()))
            .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    // The 11th attempt is refused, even with the right password.
    let right = json!({"username": "admin", "password": crate::helpers::ADMIN_PASSWORD});
    let response = app
        .call("POST", "/api/v1/auth/login", None, Some(right.clone()))
        .await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=4).contains(&retry_after), "Retry-After {retry_after}");
    assert_problem(response, 429, "rate-limited").await;
    // Another username from the same address is not affected (its own limit is 50).
    assert_eq!(
        app.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "someone", "password": "x-wrong-password"}))
        )
        .await
        .status(),
        401
    );
    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(200)).await;
    app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
}

async fn delegations_are_validated_versioned_and_paginated(app: TestApp) {
    let w = app.world().await;
    let platform = w.token("platform");

    // Validation names the fields at fault, and changes nothing.
    let bad = app
        .call(
            "POST",
            "/api/v1/delegations",
            Some(platform),
            Some(
                json!({"code": "bad code", "name": "", "kind": "state", "time_zone": "UTC",
                        "working_hours": {"mon": [["18:00", "09:00"]]}, "contact_email": "nope"}),
            ),
        )
        .await;
    let body = assert_problem(bad, 422, "validation").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["code", "name", "contact_email", "working_hours.mon"]
    );
    let zone = app
        .call(
            "POST",
            "/api/v1/delegations",
            Some(platform),
            Some(json!({"code": "ZZ", "name": "Z", "kind": "state", "time_zone": "Mars/Olympus_Mons"})),
        )
        .await;
    assert_problem(zone, 422, "unknown-time-zone").await;
    let kind = app
        .call(
            "POST",
            "/api/v1/delegations",
            Some(platform),
            Some(json!({"code": "ZZ", "name": "Z", "kind": "empire", "time_zone": "UTC"})),
        )
        .await;
    assert_problem(kind, 422, "validation").await;
    let dup = app
        .call(
            "POST",
            "/api/v1/delegations",
            Some(platform),
            Some(json!({"code": "AAA", "name": "Again", "kind": "state", "time_zone": "UTC"})),
        )
        .await;
    assert_problem(dup, 409, "conflict").await;

    // GET gives the ETag; PATCH honours If-Match.
    let response = app
        .call(
            "GET",
            &format!("/api/v1/delegations/{}", w.a),
            Some(platform),
            None,
        )
        .await;
    assert_eq!(response.headers()["etag"], "\"1\"");
    let a: Value = response.json().await.unwrap();
    assert_eq!(a["working_hours"]["mon"], json!([["09:00", "18:00"]]));
    assert!(a["working_hours"].get("sat").is_none());

    let path = format!("/api/v1/delegations/{}", w.a);
    let stale = app
        .client
        .patch(app.url(&path))
        .bearer_auth(w.token("a-admin"))
        .header("if-match", "\"7\"")
        .json(&json!({"name": "Stale"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "precondition-failed").await;
    let fresh = app
        .client
        .patch(app.url(&path))
        .bearer_auth(w.token("a-admin"))
        .header("if-match", "\"1\"")
        .json(&json!({"name": "Delegation A", "contact_email": "protocol@a.example", "working_hours": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "sat": [["10:00", "12:00"]]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    assert_eq!(fresh.headers()["etag"], "\"2\"");
    let a: Value = fresh.json().await.unwrap();
    assert_eq!(
        (a["name"].as_str(), a["version"].as_i64()),
        (Some("Delegation A"), Some(2))
    );
    assert_eq!(a["working_hours"]["sat"], json!([["10:00", "12:00"]]));
    assert!(
        a["working_hours"].get("tue").is_none(),
        "a list present replaces the whole value"
    );
    // null clears an optional field; an absent field stays.
    let cleared = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-admin")),
            Some(json!({"contact_email": null})),
        )
        .await;
    assert!(cleared["contact_email"].is_null());
    assert_eq!(cleared["name"], "Delegation A");
    // Only platform admins change a code.
    let code = app
        .call(
            "PATCH",
            &path,
            Some(w.token("a-admin")),
            Some(json!({"code": "AAB"})),
        )
        .await;
    assert_problem(code, 403, "forbidden").await;
    app.expect(
        200,
        "PATCH",
        &path,
        Some(platform),
        Some(json!({"code": "AAB"})),
    )
    .await;
    let unknown = app
        .call(
            "PATCH",
            &path,
            Some(platform),
            Some(json!({"colour": "blue"})),
        )
        .await;
    let body = assert_problem(unknown, 422, "validation").await;
    assert_eq!(body["errors"][0]["field"], "colour");
    let missing = app
        .call(
            "GET",
            "/api/v1/delegations/01a21600-0000-7000-8000-000000000000",
            Some(platform),
            None,
        )
        .await;
    assert_problem(missing, 404, "not-found").await;

    // Pagination: 2 + 3 more, one at a time, in code order, no repeats.
    for code in ["CCC", "DDD", "EEE"] {
        app.create_delegation(platform, code, "UTC").await;
    }
    let mut codes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/delegations?limit=2&cursor={c}"),
            None => "/api/v1/delegations?limit=2".to_owned(),
        };
        let page = app
            .expect(200, "GET", &path, Some(w.token("b-viewer")), None)
            .await;
        for item in page["items"].as_array().unwrap() {
            codes.push(item["code"].as_str().unwrap().to_owned());
            assert!(
                item.get("working_hours").is_none(),
                "the directory lists summaries"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(codes, ["AAB", "BBB", "CCC", "DDD", "EEE"]);
    for bad in [
        "?limit=501",
        "?limit=0",
        "?limit=x",
        "?cursor=%25%25",
        "?colour=blue",
    ] {
        let response = app
            .call(
                "GET",
                &format!("/api/v1/delegations{bad}"),
                Some(platform),
                None,
            )
            .await;
        assert_problem(response, 422, "validation").await;
    }
}

async fn users_are_validated_and_deactivation_ends_their_access(app: TestApp) {
    let w = app.world().await;
    let users = format!("/api/v1/delegations/{}/users", w.a);
    let admin = w.token("a-admin");
    let cases = [
        (
            json!({"username": "ok-name", "password": "short", "role": "viewer"}),
            "password",
        ),
        (
            json!({"username": "x", "password": USER_PASSWORD, "role": "viewer"}),
            "username",
        ),
        (
            json!({"username": "bad name", "password": USER_PASSWORD, "role": "viewer"}),
            "username",
        ),
        (
            json!({"username": "ok-name", "password": USER_PASSWORD, "role": "platform_admin"}),
            "role",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .call("POST", &users, Some(admin), Some(body.clone()))
            .await;
        let problem = assert_problem(response, 422, "validation").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let taken = app
        .call(
            "POST",
            &users,
            Some(admin),
            Some(json!({"username": "A-Viewer", "password": USER_PASSWORD, "role": "viewer"})),
        )
        .await;
    assert_problem(taken, 409, "conflict").await;
    let nowhere = app
        .call(
            "POST",
            "/api/v1/delegations/01a21600-0000-7000-8000-000000000000/users",
            Some(w.token("platform")),
            Some(json!({"username": "ghost", "password": USER_PASSWORD, "role": "viewer"})),
        )
        .await;
    assert_problem(nowhere, 404, "not-found").await;

    let created = app
        .expect(
            201,
            "POST",
            &users,
            Some(admin),
            Some(json!({"username": "New.Clerk", "password": USER_PASSWORD, "role": "scheduler"})),
        )
        .await;
    assert_eq!(created["username"], "new.clerk");
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());
    let listed = app.expect(200, "GET", &users, Some(admin), None).await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a-admin", "a-scheduler", "a-viewer", "new.clerk"]);
    assert!(
        !listed.to_string().contains("argon2"),
        "hashes never leave the server"
    );

    // A user of another delegation cannot be deactivated through this one.
    let foreign = format!("{users}/{}", w.ids["b-viewer"]);
    app.expect_problem(
        404,
        "not-found",
        "DELETE",
        &foreign,
        Some(w.token("platform")),
        None,
    )
    .await;
    // Nobody deactivates themselves.
    let me = format!("{users}/{}", w.ids["a-admin"]);
    app.expect_problem(409, "conflict", "DELETE", &me, Some(admin), None)
        .await;

    let clerk = format!("{users}/{}", created["id"].as_str().unwrap());
    let clerk_token = app.login("new.clerk", USER_PASSWORD).await;
    let gone = app.expect(200, "DELETE", &clerk, Some(admin), None).await;
    assert_eq!(
        (gone["active"].as_bool(), gone["version"].as_i64()),
        (Some(false), Some(2))
    );
    app.expect_problem(
        401,
        "unauthorized",
        "GET",
        "/api/v1/me",
        Some(&clerk_token),
        None,
    )
    .await;
    let login = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "new.clerk", "password": USER_PASSWORD})),
        )
        .await;
    assert_problem(login, 401, "unauthorized").await;
}

async fn the_audit_log_is_scoped_to_the_callers_delegation(app: TestApp) {
    let w = app.world().await;
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/delegations/{}", w.a),
        Some(w.token("a-admin")),
        Some(json!({"name": "A renamed"})),
    )
    .await;

    let all = app
        .expect(
            200,
            "GET",
            "/api/v1/audit?limit=500",
            Some(w.token("platform")),
            None,
        )
        .await;
    let items = all["items"].as_array().unwrap();
    // 2 delegations + 6 users + 1 rename, plus the first admin.
    assert_eq!(items.len(), 10, "{all}");
    assert_eq!(items[0]["action"], "delegation.update", "newest first");
    assert_eq!(items[0]["actor_username"], "a-admin");
    assert_eq!(items[0]["actor_delegation_id"], w.a.as_str());
    assert!(items[0]["request_id"].is_string());
    assert!(items[0]["summary"].as_str().unwrap().contains("name"));

    let mine = app
        .expect(200, "GET", "/api/v1/audit", Some(w.token("a-admin")), None)
        .await;
    let mine = mine["items"].as_array().unwrap();
    assert_eq!(mine.len(), 5, "A's creation, its 3 users, its rename");
    assert!(
        mine.iter().all(|e| !e.to_string().contains(&w.b)),
        "nothing of B"
    );
    let theirs = app
        .expect(200, "GET", "/api/v1/audit", Some(w.token("b-admin")), None)
        .await;
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["entity_id"] != w.a.as_str()));

    let filtered = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/audit?entity_type=delegation&entity_id={}", w.a),
            Some(w.token("a-admin")),
            None,
        )
        .await;
    let actions: Vec<&str> = filtered["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delegation.update", "delegation.create"]);
    let future = app
        .expect(
            200,
            "GET",
            "/api/v1/audit?from=2999-01-01T00:00:00Z",
            Some(w.token("platform")),
            None,
        )
        .await;
    assert!(future["items"].as_array().unwrap().is_empty());
    let bad = app
        .call(
            "GET",
            "/api/v1/audit?from=yesterday",
            Some(w.token("platform")),
            None,
        )
        .await;
    assert_problem(bad, 422, "validation").await;

    // Paginated in pages that chain without overlap.
    let first = app
        .expect(
            200,
            "GET",
            "/api/v1/audit?limit=4",
            Some(w.token("platform")),
            None,
        )
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/audit?limit=4&cursor={cursor}"),
            Some(w.token("platform")),
            None,
        )
        .await;
    assert_eq!(second["items"][0]["id"], items[4]["id"]);

    // Append-only: there is no way to change it.
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        assert_eq!(
            app.call(method, "/api/v1/audit", Some(w.token("platform")), None)
                .await
                .status(),
            405,
            "{method}"
        );
    }
}

async fn bodies_over_the_limit_and_malformed_json_over_http(app: TestApp) {
    let big = format!(
        r#"{{"username": "admin", "password": "{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload-too-large").await;
    for (body, field) in [
        (r#"{"username": "admin""#, None),
        (
            r#"{"username": "admin", "password": "x", "remember": true}"#,
            Some("remember"),
        ),
        (r#"{"username": "admin"}"#, Some("password")),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation").await;
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field);
        }
    }
}
