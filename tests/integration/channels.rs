//! Contact channels: the hotline story, the meeting rules, history, visibility to the two
//! parties only, and concurrent reactivation requests.

use serde_json::{json, Value};

use crate::helpers::{TestApp, World, USER_PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    a_hotline_from_proposal_to_freeze_to_reopening,
    proposals_are_validated_and_repeat_safe,
    every_illegal_move_is_refused_and_changes_nothing,
    two_parties_asking_at_once_both_count,
);

/// A third delegation, CCC (Tokyo), with an admin: returns (id, admin token).
pub async fn third(app: &TestApp, w: &World, code: &str) -> (String, String) {
    let id = app.create_delegation(&w.platform, code, "Asia/Tokyo").await;
    let username = format!("{}-admin", code.to_lowercase());
    app.create_user(&w.platform, &id, &username, "admin").await;
    (id.clone(), app.login(&username, USER_PASSWORD).await)
}

/// A proposes a hotline to B; returns its id.
async fn propose(app: &TestApp, w: &World, name: &str) -> String {
    let channel = app
        .expect(
            201,
            "POST",
            "/api/v1/channels",
            Some(w.token("a-admin")),
            Some(json!({"counterpart_id": w.b, "name": name, "kind": "hotline"})),
        )
        .await;
    channel["id"].as_str().unwrap().to_owned()
}

async fn move_to(
    app: &TestApp,
    token: &str,
    channel: &str,
    to: &str,
    reason: Option<&str>,
    status: u16,
) -> Value {
    app.expect(
        status,
        "POST",
        &format!("/api/v1/channels/{channel}/transitions"),
        Some(token),
        Some(json!({"to": to, "reason": reason})),
    )
    .await
}

fn booking(w: &World, channel: &str, day: &str) -> Value {
    json!({"title": "Hotline call", "participants": [w.b], "time_zone": "Europe/Zurich",
           "start": format!("{day}T10:00"), "end": format!("{day}T10:30"), "channel_id": channel})
}

async fn a_hotline_from_proposal_to_freeze_to_reopening(app: TestApp) {
    let w = app.world().await;
    let (c, c_admin) = third(&app, &w, "CCC").await;
    let (a_admin, b_admin) = (w.token("a-admin"), w.token("b-admin"));

    // Proposed by AAA.
    let response = app
        .call(
            "POST",
            "/api/v1/channels",
            Some(a_admin),
            Some(
                json!({"counterpart_id": w.b, "name": "Cyber-incident hotline", "kind": "hotline",
                        "purpose": "Notification of ICT incidents within the hour"}),
            ),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let channel: Value = response.json().await.unwrap();
    let id = channel["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/channels/{id}"));
    assert_eq!(channel["status"], "proposed");
    assert_eq!(channel["kind"], "hotline");
    assert_eq!(channel["proposer_id"], w.a.as_str());
    assert_eq!(channel["counterpart_id"], w.b.as_str());
    assert!(channel["reactivation_requested_by"].is_null());
    assert_eq!(channel["version"], 1);

    // Only the counterpart accepts; only its admins.
    let refused = app
        .expect_problem(
            409,
            "conflict",
            "POST",
            &format!("/api/v1/channels/{id}/transitions"),
            Some(a_admin),
            Some(json!({"to": "active"})),
        )
        .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("only the counterpart accepts a proposed channel"),
        "{refused}"
    );
    app.expect_problem(
        403,
        "forbidden",
        "POST",
        &format!("/api/v1/channels/{id}/transitions"),
        Some(w.token("b-scheduler")),
        Some(json!({"to": "active"})),
    )
    .await;
    let active = move_to(&app, b_admin, &id, "active", None, 200).await;
    assert_eq!(active["status"], "active");

    // Used for a meeting: bilateral between the parties, on an active channel.
    let meeting = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(booking(&w, &id, "2027-06-01")),
        )
        .await;
    let meeting_id = meeting["id"].as_str().unwrap().to_owned();
    assert_eq!(meeting["channel_id"], id.as_str());
    assert_eq!(meeting["channel_status"], "active");
    let mut series = booking(&w, &id, "2027-06-02");
    series["recurrence"] = json!("FREQ=WEEKLY;COUNT=4");
    let series = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(series),
        )
        .await;
    let series_id = series["id"].as_str().unwrap().to_owned();
    for participants in [json!([w.b, c]), json!([c])] {
        let mut body = booking(&w, &id, "2027-06-03");
        body["participants"] = participants;
        let problem = app
            .expect_problem(
                422,
                "validation",
                "POST",
                "/api/v1/meetings",
                Some(w.token("a-scheduler")),
                Some(body),
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], "participants", "{problem}");
    }
    // A third delegation cannot book on it: the channel does not exist for it.
    let mut body = booking(&w, &id, "2027-06-03");
    body["participants"] = json!([w.a]);
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/meetings",
            Some(&c_admin),
            Some(body),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "channel_id");

    // Frozen by BBB: a reason is required.
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            &format!("/api/v1/channels/{id}/transitions"),
            Some(b_admin),
            Some(json!({"to": "frozen", "reason": "  "})),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "reason");
    let frozen = move_to(
        &app,
        b_admin,
        &id,
        "frozen",
        Some("Consultations suspended pending review"),
        200,
    )
    .await;
    assert_eq!(frozen["status"], "frozen");

    // What is booked stays, and shows the freeze; nothing new, nothing moved, no series extended.
    for who in ["a-viewer", "b-viewer"] {
        let seen = app
            .expect(
                200,
                "GET",
                &format!("/api/v1/meetings/{meeting_id}"),
                Some(w.token(who)),
                None,
            )
            .await;
        assert_eq!(seen["status"], "proposed");
        assert_eq!(seen["channel_status"], "frozen", "{who}");
    }
    let listed = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings?channel_id={id}"),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [meeting_id.as_str(), series_id.as_str()]);
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["channel_status"] == "frozen"));
    app.expect_problem(
        409,
        "channel-not-active",
        "POST",
        "/api/v1/meetings",
        Some(w.token("a-scheduler")),
        Some(booking(&w, &id, "2027-06-10")),
    )
    .await;
    app.expect_problem(
        409,
        "channel-not-active",
        "PATCH",
        &format!("/api/v1/meetings/{meeting_id}"),
        Some(w.token("a-scheduler")),
        Some(json!({"start": "2027-06-01T11:00", "end": "2027-06-01T11:30"})),
    )
    .await;
    app.expect_problem(
        409,
        "channel-not-active",
        "PATCH",
        &format!("/api/v1/meetings/{series_id}"),
        Some(w.token("a-scheduler")),
        Some(json!({"recurrence": "FREQ=WEEKLY;COUNT=10"})),
    )
    .await;
    app.expect_problem(
        409,
        "channel-not-active",
        "PUT",
        &format!("/api/v1/meetings/{series_id}/occurrences/2027-06-09T08:00:00Z"),
        Some(w.token("a-scheduler")),
        Some(json!({"start": "2027-06-09T15:00", "end": "2027-06-09T15:30"})),
    )
    .await;
    // A channel meeting stays bilateral between the parties.
    let problem = app
        .expect_problem(
            422,
            "validation",
            "PATCH",
            &format!("/api/v1/meetings/{meeting_id}"),
            Some(w.token("a-scheduler")),
            Some(json!({"participants": [w.b, c]})),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "participants");
    // Not moves: renaming, answering and cancelling one occurrence still work.
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/meetings/{meeting_id}"),
        Some(w.token("a-scheduler")),
        Some(json!({"title": "Hotline call (on hold)"})),
    )
    .await;
    app.expect(
        200,
        "POST",
        &format!("/api/v1/meetings/{meeting_id}/response"),
        Some(w.token("b-scheduler")),
        Some(json!({"response": "tentative"})),
    )
    .await;
    app.expect(
        200,
        "PUT",
        &format!("/api/v1/meetings/{series_id}/occurrences/2027-06-09T08:00:00Z"),
        Some(w.token("a-scheduler")),
        Some(json!({"status": "cancelled"})),
    )
    .await;

    // Reopening needs both: AAA asks (202, still frozen), asking twice is refused, BBB completes.
    let asked = move_to(&app, a_admin, &id, "active", Some("Review complete"), 202).await;
    assert_eq!(asked["status"], "frozen");
    assert_eq!(asked["reactivation_requested_by"], w.a.as_str());
    app.expect_problem(
        409,
        "conflict",
        "POST",
        &format!("/api/v1/channels/{id}/transitions"),
        Some(a_admin),
        Some(json!({"to": "active"})),
    )
    .await;
    app.expect_problem(
        409,
        "channel-not-active",
        "POST",
        "/api/v1/meetings",
        Some(w.token("a-scheduler")),
        Some(booking(&w, &id, "2027-06-10")),
    )
    .await;
    let reopened = move_to(&app, b_admin, &id, "active", None, 200).await;
    assert_eq!(reopened["status"], "active");
    assert!(reopened["reactivation_requested_by"].is_null());
    let after = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(booking(&w, &id, "2027-06-10")),
        )
        .await;
    assert_eq!(after["channel_status"], "active");

    // The history: exact and ordered, in pages.
    let mut entries = Vec::new();
    let mut path = format!("/api/v1/channels/{id}/history?limit=2");
    loop {
        let page = app
            .expect(200, "GET", &path, Some(w.token("b-viewer")), None)
            .await;
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/channels/{id}/history?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let got: Vec<(i64, &str, Value, &str, &str, &str, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["position"].as_i64().unwrap(),
                e["event"].as_str().unwrap(),
                e["from"].clone(),
                e["to"].as_str().unwrap(),
                e["username"].as_str().unwrap(),
                e["delegation_id"].as_str().unwrap(),
                e["reason"].clone(),
            )
        })
        .collect();
    let expected: Vec<(i64, &str, Value, &str, &str, &str, Value)> = vec![
        (
            1,
            "proposed",
            Value::Null,
            "proposed",
            "a-admin",
            &w.a,
            Value::Null,
        ),
        (
            2,
            "transition",
            json!("proposed"),
            "active",
            "b-admin",
            &w.b,
            Value::Null,
        ),
        (
            3,
            "transition",
            json!("active"),
            "frozen",
            "b-admin",
            &w.b,
            json!("Consultations suspended pending review"),
        ),
        (
            4,
            "reactivation_requested",
            json!("frozen"),
            "active",
            "a-admin",
            &w.a,
            json!("Review complete"),
        ),
        (
            5,
            "transition",
            json!("frozen"),
            "active",
            "b-admin",
            &w.b,
            Value::Null,
        ),
    ];
    assert_eq!(got, expected);
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|t| t[0] <= t[1]), "{times:?}");
    assert_eq!(entries[0]["user_id"], w.ids["a-admin"].as_str());

    // Audited for both parties.
    let audit = app
        .expect(200, "GET", "/api/v1/audit?limit=500", Some(b_admin), None)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entity_id"] == id.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "channel.transition",
            "channel.reactivation_request",
            "channel.transition",
            "channel.transition",
            "channel.propose"
        ],
        "newest first"
    );

    // Lists and filters, from each side.
    let listed = |who: &'static str, query: String| {
        let app = &app;
        let token = w.token(who).to_owned();
        async move {
            let page = app
                .expect(
                    200,
                    "GET",
                    &format!("/api/v1/channels{query}"),
                    Some(&token),
                    None,
                )
                .await;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("a-viewer", String::new()).await, [id.as_str()]);
    assert_eq!(
        listed("b-viewer", "?status=active".into()).await,
        [id.as_str()]
    );
    assert!(listed("b-viewer", "?status=frozen".into()).await.is_empty());
    assert_eq!(
        listed("a-viewer", format!("?counterpart={}", w.b)).await,
        [id.as_str()]
    );
    assert_eq!(
        listed("b-viewer", format!("?counterpart={}", w.a)).await,
        [id.as_str()]
    );
    assert!(listed("a-viewer", format!("?counterpart={c}"))
        .await
        .is_empty());
    assert!(
        listed("a-viewer", format!("?counterpart={}", w.a))
            .await
            .is_empty(),
        "a delegation is not its own counterpart"
    );
    assert!(listed("platform", String::new()).await.is_empty());

    // A third delegation (and the platform admin) sees nothing of it.
    for token in [c_admin.as_str(), w.platform.as_str()] {
        for path in [
            format!("/api/v1/channels/{id}"),
            format!("/api/v1/channels/{id}/history"),
        ] {
            app.expect_problem(404, "not-found", "GET", &path, Some(token), None)
                .await;
        }
        app.expect_problem(
            404,
            "not-found",
            "POST",
            &format!("/api/v1/channels/{id}/transitions"),
            Some(token),
            Some(json!({"to": "closed", "reason": "mischief"})),
        )
        .await;
        let page = app
            .expect(200, "GET", "/api/v1/channels", Some(token), None)
            .await;
        assert_eq!(page["items"], json!([]));
        let page = app
            .expect(
                200,
                "GET",
                &format!("/api/v1/meetings?channel_id={id}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(page["items"], json!([]));
    }
    // A public meeting on the channel shows outsiders neither the channel nor its status.
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/meetings/{meeting_id}"),
        Some(w.token("a-scheduler")),
        Some(json!({"confidentiality": "public"})),
    )
    .await;
    let outside = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings/{meeting_id}"),
            Some(&c_admin),
            None,
        )
        .await;
    assert!(outside["channel_id"].is_null() && outside["channel_status"].is_null());
    // The schedule likewise: the status for the parties, nothing for an outsider.
    let in_schedule = |token: String| {
        let (app, meeting_id) = (&app, meeting_id.clone());
        async move {
            let schedule = app
                .expect(
                    200,
                    "GET",
                    "/api/v1/schedule?from=2027-01-01T00:00:00Z&to=2028-01-01T00:00:00Z",
                    Some(&token),
                    None,
                )
                .await;
            schedule["occurrences"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["meeting_id"] == meeting_id.as_str())
                .unwrap()["channel_status"]
                .clone()
        }
    };
    assert_eq!(in_schedule(w.token("b-viewer").to_owned()).await, "active");
    assert!(in_schedule(c_admin.clone()).await.is_null());

    // Closed by either side, for good; the meetings stay and say so.
    move_to(
        &app,
        a_admin,
        &id,
        "closed",
        Some("Superseded by a treaty"),
        200,
    )
    .await;
    for to in ["active", "suspended", "frozen", "closed"] {
        let problem = app
            .expect_problem(
                409,
                "conflict",
                "POST",
                &format!("/api/v1/channels/{id}/transitions"),
                Some(b_admin),
                Some(json!({"to": to, "reason": "again"})),
            )
            .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("closed for good"),
            "{problem}"
        );
    }
    let seen = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings/{meeting_id}"),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    assert_eq!(seen["channel_status"], "closed");
}

async fn proposals_are_validated_and_repeat_safe(app: TestApp) {
    let w = app.world().await;
    let token = w.token("a-admin");
    let base = json!({"counterpart_id": w.b, "name": "Hotline", "kind": "hotline"});
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    let cases = [
        (with("counterpart_id", json!(w.a)), "counterpart_id"),
        (
            with(
                "counterpart_id",
                json!("01a21600-0000-7000-8000-000000000000"),
            ),
            "counterpart_id",
        ),
        (with("name", json!(" ")), "name"),
        (with("name", json!("n".repeat(201))), "name"),
        (with("purpose", json!("p".repeat(10_001))), "purpose"),
        (with("status", json!("active")), "status"),
    ];
    for (body, field) in cases {
        let problem = app
            .expect_problem(
                422,
                "validation",
                "POST",
                "/api/v1/channels",
                Some(token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/channels",
            Some(token),
            Some(with("kind", json!("back_channel"))),
        )
        .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("back_channel"),
        "{problem}"
    );
    // Schedulers and viewers do not speak for their delegation; neither does the platform.
    for who in ["a-scheduler", "a-viewer", "platform"] {
        app.expect_problem(
            403,
            "forbidden",
            "POST",
            "/api/v1/channels",
            Some(w.token(who)),
            Some(base.clone()),
        )
        .await;
    }
    let page = app
        .expect(200, "GET", "/api/v1/channels", Some(token), None)
        .await;
    assert_eq!(page["items"], json!([]), "nothing was created");

    // Idempotency-Key: the repeat replays the first answer and creates nothing.
    let post = || {
        app.client
            .post(app.url("/api/v1/channels"))
            .bearer_auth(token)
            .header("Idempotency-Key", "channel-1")
            .json(&base)
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let page = app
        .expect(200, "GET", "/api/v1/channels", Some(token), None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // A bad transition body.
    let id = first["id"].as_str().unwrap();
    for body in [
        json!({"to": "dormant"}),
        json!({"to": "closed", "reason": "r".repeat(2_001)}),
        json!({"to": "closed", "reason": "x", "by": "me"}),
    ] {
        app.expect_problem(
            422,
            "validation",
            "POST",
            &format!("/api/v1/channels/{id}/transitions"),
            Some(w.token("b-admin")),
            Some(body),
        )
        .await;
    }
    // A cursor this API did not give out ("abc", base64url).
    let problem = app
        .expect_problem(
            422,
            "validation",
            "GET",
            &format!("/api/v1/channels/{id}/history?cursor=YWJj"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "cursor");
    // If-Match on a transition.
    let response = app
        .client
        .post(app.url(&format!("/api/v1/channels/{id}/transitions")))
        .bearer_auth(w.token("b-admin"))
        .header("If-Match", "\"7\"")
        .json(&json!({"to": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 412);
    let channel = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/channels/{id}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        (channel["status"].as_str(), channel["version"].as_i64()),
        (Some("proposed"), Some(1))
    );
}

/// Every move the rules forbid, from every state, by both sides: 409 naming a rule, and the
/// channel (status, version, history) unchanged.
async fn every_illegal_move_is_refused_and_changes_nothing(app: TestApp) {
    let w = app.world().await;
    let (a, b) = (w.token("a-admin"), w.token("b-admin"));
    let id = propose(&app, &w, "Working group on water").await;
    // (state reached by the steps so far, moves refused there)
    // (who, to)
    type Move<'a> = (&'a str, &'a str);
    let steps: Vec<(Option<Move>, Vec<Move>)> = vec![
        (
            None,
            vec![
                (a, "active"),
                (a, "suspended"),
                (b, "frozen"),
                (a, "proposed"),
            ],
        ),
        (Some((b, "active")), vec![(a, "active"), (b, "proposed")]),
        (
            Some((a, "suspended")),
            vec![(b, "frozen"), (a, "suspended"), (b, "proposed")],
        ),
    ];
    for (step, refused) in steps {
        if let Some((token, to)) = step {
            move_to(&app, token, &id, to, Some("step"), 200).await;
        }
        let before = app
            .expect(200, "GET", &format!("/api/v1/channels/{id}"), Some(a), None)
            .await;
        let history = app
            .expect(
                200,
                "GET",
                &format!("/api/v1/channels/{id}/history"),
                Some(a),
                None,
            )
            .await;
        for (token, to) in refused {
            let problem = app
                .expect_problem(
                    409,
                    "conflict",
                    "POST",
                    &format!("/api/v1/channels/{id}/transitions"),
                    Some(token),
                    Some(json!({"to": to, "reason": "why not"})),
                )
                .await;
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("is not allowed: "),
                "{problem}"
            );
        }
        let after = app
            .expect(200, "GET", &format!("/api/v1/channels/{id}"), Some(a), None)
            .await;
        assert_eq!(after, before);
        let history_after = app
            .expect(
                200,
                "GET",
                &format!("/api/v1/channels/{id}/history"),
                Some(a),
                None,
            )
            .await;
        assert_eq!(history_after, history);
    }
}

/// Both parties ask to reactivate a frozen channel at the same moment: neither request is
/// lost — one is recorded (202), the other completes it (200), the channel is active.
async fn two_parties_asking_at_once_both_count(app: TestApp) {
    let w = app.world().await;
    for round in 0..5 {
        let id = propose(&app, &w, &format!("Line {round}")).await;
        move_to(&app, w.token("b-admin"), &id, "active", None, 200).await;
        move_to(&app, w.token("a-admin"), &id, "frozen", Some("pause"), 200).await;
        let path = format!("/api/v1/channels/{id}/transitions");
        let body = json!({"to": "active"});
        let (one, two) = tokio::join!(
            app.call("POST", &path, Some(w.token("a-admin")), Some(body.clone())),
            app.call("POST", &path, Some(w.token("b-admin")), Some(body.clone())),
        );
        let mut statuses = [one.status().as_u16(), two.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 202], "round {round}");
        let channel = app
            .expect(
                200,
                "GET",
                &format!("/api/v1/channels/{id}"),
                Some(w.token("a-viewer")),
                None,
            )
            .await;
        assert_eq!(channel["status"], "active");
        let history = app
            .expect(
                200,
                "GET",
                &format!("/api/v1/channels/{id}/history"),
                Some(w.token("a-viewer")),
                None,
            )
            .await;
        let events: Vec<&str> = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(
            events,
            [
                "proposed",
                "transition",
                "transition",
                "reactivation_requested",
                "transition"
            ]
        );
    }
}
