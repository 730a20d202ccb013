//! The first ten minutes of a new user (issue 12): what a newcomer types should work, and what
//! cannot work should say what would.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(delegations_are_named_by_code_or_id);

/// `"participants": ["US"]` and forum `members` by code, in any case, as well as by id.
async fn delegations_are_named_by_code_or_id(app: TestApp) {
    let w = app.world().await;
    let c = app
        .create_delegation(&w.platform, "UN-GENEVA", "Europe/Zurich")
        .await;
    let m = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(json!({"title": "T",
            "participants": ["BBB", "un-geneva", w.b, "AAA"], "time_zone": "Europe/Zurich",
            "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"})),
        )
        .await;
    let ids: Vec<&str> = m["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["delegation_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{m}");
    for id in [w.a.as_str(), w.b.as_str(), c.as_str()] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(
                json!({"title": "T", "participants": ["BBB", "ZZZ"], "time_zone": "Europe/Zurich",
                        "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"}),
            ),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "participants[1]");
    let forum = app
        .expect(
            201,
            "POST",
            "/api/v1/forums",
            Some(&w.platform),
            Some(json!({"name": "Group", "members": ["aaa", "BBB", w.a]})),
        )
        .await;
    assert_eq!(forum["members"].as_array().unwrap().len(), 2, "{forum}");
}

crate::with_both_databases!(a_start_that_cannot_listen_creates_no_admin);

/// A first start whose port is taken fails before it creates anything, so the next start creates
/// the first admin and shows its generated password.
async fn a_start_that_cannot_listen_creates_no_admin(db: crate::helpers::TestDatabase) {
    use entente::service::bootstrap::AdminBootstrap;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let failed = entente::Application::build(
        db.config(&[("ENTENTE_BIND", &address), ("ENTENTE_ADMIN_PASSWORD", "")]),
    );
    assert!(matches!(failed, Err(entente::StartError::Bind { .. })));
    let app = entente::Application::build(db.config(&[("ENTENTE_ADMIN_PASSWORD", "")])).unwrap();
    assert!(
        matches!(
            app.admin_bootstrap(),
            AdminBootstrap::CreatedWithGeneratedPassword(_)
        ),
        "the first admin is made by the start that serves"
    );
}
