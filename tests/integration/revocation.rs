//! A password reset ends every token issued before it, at once and on every instance (each
//! request checks the token's credentials generation against the database).

use entente::auth::password::PasswordWork;
use entente::service::{users, Context};
use serde_json::json;

use crate::helpers::{TestApp, USER_PASSWORD};
use crate::on_both_backends;

on_both_backends!(a_password_reset_ends_earlier_tokens);

async fn a_password_reset_ends_earlier_tokens(app: TestApp) {
    let w = app.world().await;
    let old = w.token("a-admin").to_owned();
    let other = w.token("a-viewer").to_owned();
    app.expect(200, "GET", "/api/v1/me", Some(&old), None).await;

    // What `entente admin reset-password --username a-admin` does.
    users::reset_password(
        (&app.store(), &PasswordWork::new(1)),
        &Context::system(),
        "a-admin",
        "a-brand-new-password",
    )
    .await
    .unwrap();

    app.expect_problem(401, "unauthorized", "GET", "/api/v1/me", Some(&old), None)
        .await;
    app.expect_problem(
        401,
        "unauthorized",
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "a-admin", "password": USER_PASSWORD})),
    )
    .await;
    let fresh = app.login("a-admin", "a-brand-new-password").await;
    let me = app
        .expect(200, "GET", "/api/v1/me", Some(&fresh), None)
        .await;
    assert_eq!(me["user"]["username"], "a-admin");
    // Other users' tokens are untouched.
    app.expect(200, "GET", "/api/v1/me", Some(&other), None)
        .await;
}
