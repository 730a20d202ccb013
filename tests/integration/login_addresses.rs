//! The per-address login limit behind a reverse proxy (issue 12): an address over its limit is
//! held back only on the usernames it has been failing on, and behind trusted proxies the
//! address is the client's, from `Forwarded` / `X-Forwarded-For`.

use serde_json::json;

use crate::helpers::{TestApp, TestDatabase, ADMIN_PASSWORD};
use crate::with_both_databases;

with_both_databases!(
    an_address_over_its_limit_does_not_lock_out_everyone,
    behind_trusted_proxies_each_client_has_its_own_limit,
);

async fn attempt(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> u16 {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn an_address_over_its_limit_does_not_lock_out_everyone(db: TestDatabase) {
    let app = db
        .spawn_app_with(&[
            ("ENTENTE_LOGIN_MAX_FAILURES_PER_ADDRESS", "3"),
            ("ENTENTE_LOGIN_MAX_FAILURES", "100"),
        ])
        .await;
    // Someone behind the same address sprays three usernames.
    for name in ["alpha", "bravo", "charlie"] {
        assert_eq!(attempt(&app, name, "a-wrong-password", None).await, 401);
    }
    // Those usernames are held back from this address…
    assert_eq!(attempt(&app, "alpha", "a-wrong-password", None).await, 429);
    // …but the platform admin, who has not failed from here, logs in.
    assert_eq!(attempt(&app, "admin", ADMIN_PASSWORD, None).await, 200);
    // A username tried for the first time gets its one attempt, then is held back too.
    assert_eq!(attempt(&app, "delta", "a-wrong-password", None).await, 401);
    assert_eq!(attempt(&app, "delta", "a-wrong-password", None).await, 429);
}

async fn behind_trusted_proxies_each_client_has_its_own_limit(db: TestDatabase) {
    let app = db
        .spawn_app_with(&[
            ("ENTENTE_LOGIN_MAX_FAILURES_PER_ADDRESS", "2"),
            ("ENTENTE_LOGIN_MAX_FAILURES", "100"),
            ("ENTENTE_TRUSTED_PROXIES", "127.0.0.0/8, ::1"),
        ])
        .await;
    let one = Some("203.0.113.1");
    let two = Some("203.0.113.2");
    assert_eq!(attempt(&app, "alpha", "a-wrong-password", one).await, 401);
    assert_eq!(attempt(&app, "bravo", "a-wrong-password", one).await, 401);
    assert_eq!(attempt(&app, "alpha", "a-wrong-password", one).await, 429);
    // Another client behind the same proxy is not held back.
    assert_eq!(attempt(&app, "alpha", "a-wrong-password", two).await, 401);
    // A client cannot escape its limit by writing the header itself: the proxy appends the
    // address it saw, and that one counts.
    assert_eq!(
        attempt(
            &app,
            "alpha",
            "a-wrong-password",
            Some("198.51.100.1, 203.0.113.1")
        )
        .await,
        429
    );
}
