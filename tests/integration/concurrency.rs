//! Unconditional changes at once (no If-Match) all apply, on either backend and across two
//! instances: a write that lost the race is run again on the new state, never answered 409
//! `conflict` (which means a scheduling conflict). With If-Match, the loser gets 412.

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{TestApp, TestDatabase};
use crate::with_both_databases;

with_both_databases!(unconditional_patches_at_once_all_apply);

async fn unconditional_patches_at_once_all_apply(db: TestDatabase) {
    let second_config = db.config(&[]);
    let one = db.spawn_app().await;
    let two_app = entente::Application::build(second_config).expect("a second instance starts");
    let two = TestApp::run(two_app, TestDatabase::create(one.backend).expect("scratch"));
    let w = one.world().await;
    let token = w.token("a-scheduler");
    let m = one
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(token),
            Some(json!({"title": "T", "participants": [w.b],
            "time_zone": "Europe/Zurich", "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"})),
        )
        .await;
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    const EDITS: usize = 16;
    let edits = (0..EDITS).map(|i| {
        let (app, path) = (if i % 2 == 0 { &one } else { &two }, path.clone());
        async move {
            let response = app
                .call(
                    "PATCH",
                    &path,
                    Some(token),
                    Some(json!({"title": format!("Edit {i}"), "location": format!("Room {i}")})),
                )
                .await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    });
    for (status, body) in join_all(edits).await {
        assert_eq!(status, 200, "{body}");
    }
    let now = one.expect(200, "GET", &path, Some(token), None).await;
    assert_eq!(
        now["version"],
        1 + EDITS,
        "every edit applied, one after the other"
    );
    let title = now["title"].as_str().unwrap();
    assert_eq!(
        now["location"],
        format!("Room {}", title.trim_start_matches("Edit ")),
        "one edit whole"
    );

    // With If-Match, two edits of the same version: one applies, the other gets 412.
    let version = format!("\"{}\"", now["version"]);
    let conditional = [&one, &two].map(|app| {
        let (path, version) = (path.clone(), version.clone());
        async move {
            let client = reqwest::Client::new();
            client
                .patch(app.url(&path))
                .bearer_auth(token)
                .header("if-match", version)
                .json(&json!({"title": "Conditional"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let mut statuses = join_all(conditional).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
}

crate::on_both_backends!(who_may_answer_is_decided_before_if_match);

/// A delegation that sees a public meeting but takes no part in it gets 403 for an answer, with
/// or without a stale If-Match (412 would tell it about versions it has no business with).
async fn who_may_answer_is_decided_before_if_match(app: TestApp) {
    let w = app.world().await;
    let c = app
        .create_delegation(&w.platform, "CCC", "Asia/Tokyo")
        .await;
    app.create_user(&w.platform, &c, "c-scheduler", "scheduler")
        .await;
    let outsider = app
        .login("c-scheduler", crate::helpers::USER_PASSWORD)
        .await;
    let m = app
        .expect(201, "POST", "/api/v1/meetings", Some(w.token("a-scheduler")), Some(json!({"title": "Open", "participants": [w.b],
            "time_zone": "Europe/Zurich", "start": "2027-03-01T10:00", "end": "2027-03-01T11:00", "confidentiality": "public"})))
        .await;
    let path = app.url(&format!(
        "/api/v1/meetings/{}/response",
        m["id"].as_str().unwrap()
    ));
    for version in [None, Some("\"999\"")] {
        let mut request = reqwest::Client::new()
            .post(&path)
            .bearer_auth(&outsider)
            .json(&json!({"response": "accepted"}));
        if let Some(v) = version {
            request = request.header("if-match", v);
        }
        crate::helpers::assert_problem(request.send().await.unwrap(), 403, "forbidden").await;
    }
}
