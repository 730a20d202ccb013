//! A meeting's history (issue 17): every change with who, when, what changed (before and
//! after), the reason and the comment given — readable by every participant's users, 404 to
//! anyone else, and an internal comment only to its own delegation.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(the_history_tells_participants_who_changed_what_and_why);

async fn history(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let page = app
        .expect(200, "GET", &format!("{path}/history"), Some(token), None)
        .await;
    page["items"].as_array().unwrap().clone()
}

async fn the_history_tells_participants_who_changed_what_and_why(app: TestApp) {
    let w = app.world().await;
    let c = app
        .create_delegation(w.token("platform"), "CCC", "Asia/Shanghai")
        .await;
    app.create_user(w.token("platform"), &c, "c-viewer", "viewer")
        .await;
    let outsider = app.login("c-viewer", crate::helpers::USER_PASSWORD).await;
    let m = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(json!({"title": "Consultations", "participants": [w.b], "confidentiality": "public",
                "time_zone": "Europe/Zurich", "start": "2027-03-29T10:00", "end": "2027-03-29T11:30",
                "location": "Palais des Nations"})),
        )
        .await;
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    let respond = |body: Value| {
        let (app, path, token) = (&app, path.clone(), w.token("b-scheduler").to_owned());
        async move {
            app.expect(
                200,
                "POST",
                &format!("{path}/response"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    respond(json!({"response": "accepted", "comment": "Agreed in principle"})).await;
    let answered = respond(json!({"response": "tentative",
        "comment": "Awaiting instructions from the capital", "internal": true}))
    .await;
    // The internal comment is not shown with the answer.
    assert!(
        answered["participants"][1]["comment"].is_null(),
        "{answered}"
    );
    app.expect(
        200,
        "PATCH",
        &path,
        Some(w.token("a-scheduler")),
        Some(json!({"location": "Villa La Grange"})),
    )
    .await;
    app.expect_problem(
        422,
        "validation",
        "DELETE",
        &format!("{path}?reason={}", "x".repeat(2001)),
        Some(w.token("a-scheduler")),
        None,
    )
    .await;
    app.expect(
        200,
        "DELETE",
        &format!("{path}?reason=Postponed%20at%20the%20request%20of%20both%20parties"),
        Some(w.token("a-scheduler")),
        None,
    )
    .await;

    let seen_by_b = history(&app, w.token("b-viewer"), &path).await;
    let actions: Vec<&str> = seen_by_b
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "meeting.create",
            "meeting.respond",
            "meeting.respond",
            "meeting.update",
            "meeting.cancel"
        ]
    );
    let [created, accepted, tentative, moved, cancelled] = &seen_by_b[..] else {
        unreachable!()
    };
    assert_eq!(created["delegation_id"], w.a.as_str());
    assert_eq!(created["username"], "a-scheduler");
    assert_eq!(
        created["changes"]["location"]["after"],
        "Palais des Nations"
    );
    assert_eq!(created["changes"]["start"]["after"], "2027-03-29T10:00:00");
    assert_eq!(
        (
            accepted["delegation_id"].as_str(),
            accepted["comment"].as_str()
        ),
        (Some(w.b.as_str()), Some("Agreed in principle"))
    );
    assert_eq!(
        accepted["changes"]["response"],
        json!({"before": "pending", "after": "accepted"})
    );
    assert_eq!(
        accepted["changes"]["status"],
        json!({"before": "proposed", "after": "confirmed"})
    );
    assert_eq!(
        (
            tentative["comment"].as_str(),
            tentative["internal"].as_bool()
        ),
        (Some("Awaiting instructions from the capital"), Some(true))
    );
    assert_eq!(
        moved["changes"]["location"],
        json!({"before": "Palais des Nations", "after": "Villa La Grange"})
    );
    assert!(moved["changes"].get("title").is_none(), "only what changed");
    assert_eq!(
        cancelled["reason"],
        "Postponed at the request of both parties"
    );
    assert_eq!(cancelled["changes"]["status"]["after"], "cancelled");

    // The host's users read the same history, without B's internal comment.
    let seen_by_a = history(&app, w.token("a-viewer"), &path).await;
    assert_eq!(seen_by_a.len(), 5);
    assert!(seen_by_a[2]["comment"].is_null() && seen_by_a[2]["internal"] == false);
    assert_eq!(seen_by_a[1]["comment"], "Agreed in principle");
    assert_eq!(seen_by_a[4]["reason"], seen_by_b[4]["reason"]);

    // Anyone else: 404, even where the meeting itself is visible (it is public).
    app.expect(200, "GET", &path, Some(&outsider), None).await;
    for token in [outsider.as_str(), w.token("platform")] {
        app.expect_problem(
            404,
            "not-found",
            "GET",
            &format!("{path}/history"),
            Some(token),
            None,
        )
        .await;
    }
    // Paged like every list.
    let first = app
        .expect(
            200,
            "GET",
            &format!("{path}/history?limit=2"),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .expect(
            200,
            "GET",
            &format!("{path}/history?limit=10&cursor={cursor}"),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    assert_eq!(rest["items"][0]["id"], seen_by_b[2]["id"]);
}
