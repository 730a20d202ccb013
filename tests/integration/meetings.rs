//! Meetings across time zones: booking, the time model over HTTP, conflicts, changes,
//! cancellation, answers, visibility (BOLA), lists, the schedule, idempotency and concurrency.

use entente::domain::meeting::Response;
use entente::service::meetings::Meeting;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp, TestDatabase, World};
use crate::{on_both_backends, with_both_databases};

on_both_backends!(
    a_bilateral_meeting_in_geneva_seen_from_moscow_and_washington,
    local_times_that_do_not_exist_or_occur_twice,
    unusual_zones_over_http,
    bookings_are_validated,
    conflicts_are_reported_without_leaking_foreign_meetings,
    changes_are_versioned_and_raise_the_sequence,
    cancelling_keeps_the_meeting,
    participants_answer,
    a_third_delegation_sees_nothing,
    public_meetings_are_readable_by_all_but_changed_by_the_host,
    lists_filter_and_paginate,
    the_schedule_window_and_zone,
    idempotency_keys_replay_the_first_response,
    concurrent_edits_with_the_same_version_one_wins,
);
with_both_databases!(concurrent_edits_across_two_instances);

fn booking(participants: &[&str], zone: &str, start: &str, end: &str) -> Value {
    json!({"title": "Consultations", "participants": participants, "time_zone": zone, "start": start, "end": end})
}

async fn book(app: &TestApp, token: &str, body: Value) -> Value {
    app.expect(201, "POST", "/api/v1/meetings", Some(token), Some(body))
        .await
}

/// A third delegation, CCC (Beijing), with an admin, a scheduler and a viewer.
async fn third(app: &TestApp, w: &World) -> (String, Vec<String>) {
    let c = app
        .create_delegation(&w.platform, "CCC", "Asia/Shanghai")
        .await;
    let mut tokens = Vec::new();
    for role in ["admin", "scheduler", "viewer"] {
        let username = format!("c-{role}");
        app.create_user(&w.platform, &c, &username, role).await;
        tokens.push(app.login(&username, crate::helpers::USER_PASSWORD).await);
    }
    (c, tokens)
}

async fn a_bilateral_meeting_in_geneva_seen_from_moscow_and_washington(app: TestApp) {
    let w = app.world().await;
    let response = app
        .call(
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(json!({
                "title": "Strategic stability consultations", "description": "Round 3",
                "participants": [w.b], "time_zone": "Europe/Zurich",
                "start": "2027-03-29T10:00", "end": "2027-03-29T11:30",
                "location": "Palais des Nations, Room XII"
            })),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let m: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/meetings/{}", m["id"].as_str().unwrap())
    );
    assert_eq!(m["format"], "bilateral");
    assert_eq!(m["host_delegation_id"], w.a.as_str());
    assert_eq!(m["start"], "2027-03-29T10:00:00");
    assert_eq!(m["start_utc"], "2027-03-29T08:00:00Z");
    assert_eq!(m["end_utc"], "2027-03-29T09:30:00Z");
    assert_eq!(
        (m["sequence"].as_i64(), m["version"].as_i64()),
        (Some(0), Some(1))
    );
    // Proposed until Washington agrees (asking for `confirmed` now would be 409 not-agreed).
    assert_eq!(m["status"], "proposed");
    assert_eq!(
        m["agreement"],
        json!({"state": "awaiting", "awaiting": [w.b.as_str()]})
    );
    assert_eq!(m["confidentiality"], "participants");
    assert_eq!(m["conflicts"], json!([]));
    let participants = m["participants"].as_array().unwrap();
    assert_eq!(participants[0]["delegation_id"], w.a.as_str());
    assert_eq!(
        (
            participants[0]["role"].as_str(),
            participants[0]["response"].as_str()
        ),
        (Some("host"), Some("accepted"))
    );
    assert_eq!(
        (
            participants[1]["role"].as_str(),
            participants[1]["response"].as_str()
        ),
        (Some("participant"), Some("pending"))
    );

    let window = "/api/v1/schedule?from=2027-03-29T00:00:00Z&to=2027-03-30T00:00:00Z";
    let moscow = app
        .expect(200, "GET", window, Some(w.token("a-viewer")), None)
        .await;
    assert_eq!(moscow["tz"], "Europe/Moscow");
    assert_eq!(
        moscow["occurrences"][0]["start_local"],
        "2027-03-29T11:00:00"
    );
    assert_eq!(moscow["occurrences"][0]["time_zone"], "Europe/Zurich");
    let washington = app
        .expect(200, "GET", window, Some(w.token("b-viewer")), None)
        .await;
    assert_eq!(washington["tz"], "America/New_York");
    assert_eq!(
        washington["occurrences"][0]["start_local"],
        "2027-03-29T04:00:00"
    );
    assert_eq!(
        washington["occurrences"][0]["end_local"],
        "2027-03-29T05:30:00"
    );
    assert!(washington["occurrences"][0]["recurrence_id"].is_null());
    // The zone is read with the caller's account on every request: a delegation that changes
    // its zone sees its schedule in the new one at once (10:00 in Zurich is 13:30 in Kolkata).
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/delegations/{}", w.b),
        Some(w.token("b-admin")),
        Some(json!({"time_zone": "Asia/Kolkata"})),
    )
    .await;
    let kolkata = app
        .expect(200, "GET", window, Some(w.token("b-viewer")), None)
        .await;
    assert_eq!(kolkata["tz"], "Asia/Kolkata");
    assert_eq!(
        kolkata["occurrences"][0]["start_local"],
        "2027-03-29T13:30:00"
    );

    let got = app
        .call("GET", &location, Some(w.token("b-viewer")), None)
        .await;
    assert_eq!(got.headers()["etag"], "\"1\"");
    let got: Value = got.json().await.unwrap();
    assert_eq!(got["title"], "Strategic stability consultations");

    // Three delegations make it multilateral.
    let (c, _) = third(&app, &w).await;
    let multi = book(
        &app,
        w.token("a-admin"),
        booking(&[&w.b, &c], "UTC", "2027-04-01T09:00", "2027-04-01T10:00"),
    )
    .await;
    assert_eq!(multi["format"], "multilateral");
    assert_eq!(multi["participants"].as_array().unwrap().len(), 3);
}

async fn local_times_that_do_not_exist_or_occur_twice(app: TestApp) {
    let w = app.world().await;
    let token = w.token("a-scheduler");
    // Zurich, 2027-03-28: 02:00 → 03:00.
    let gap = app
        .call(
            "POST",
            "/api/v1/meetings",
            Some(token),
            Some(booking(
                &[&w.b],
                "Europe/Zurich",
                "2027-03-28T02:30",
                "2027-03-28T04:00",
            )),
        )
        .await;
    let problem = assert_problem(gap, 422, "nonexistent-local-time").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("2027-03-28T01:59:00") && detail.contains("2027-03-28T03:00:00"),
        "{detail}"
    );

    // New York, 2027-11-07: 01:00–02:00 happens twice.
    let twice = booking(
        &[&w.b],
        "America/New_York",
        "2027-11-07T01:30",
        "2027-11-07T02:30",
    );
    let problem = app
        .expect_problem(
            422,
            "ambiguous-local-time",
            "POST",
            "/api/v1/meetings",
            Some(token),
            Some(twice.clone()),
        )
        .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("disambiguation"));
    let mut later = twice.clone();
    later["disambiguation"] = json!("later");
    let m = book(&app, token, later).await;
    assert_eq!(m["start_utc"], "2027-11-07T06:30:00Z");
    assert_eq!(m["disambiguation"], "later");
    let mut earlier = twice;
    earlier["disambiguation"] = json!("earlier");
    earlier["title"] = json!("Earlier");
    let m = book(&app, token, earlier).await;
    assert_eq!(m["start_utc"], "2027-11-07T05:30:00Z");
    assert_eq!(
        m["end_utc"], "2027-11-07T07:30:00Z",
        "02:30 exists once (EST)"
    );

    let bad = app
        .call(
            "POST",
            "/api/v1/meetings",
            Some(token),
            Some(booking(
                &[&w.b],
                "Europe/Atlantis",
                "2027-03-28T10:00",
                "2027-03-28T11:00",
            )),
        )
        .await;
    assert_problem(bad, 422, "unknown-time-zone").await;
    // "Europe/Geneva" is no IANA zone: Geneva keeps Europe/Zurich time.
    let geneva = app
        .call(
            "POST",
            "/api/v1/meetings",
            Some(token),
            Some(booking(
                &[&w.b],
                "Europe/Geneva",
                "2027-03-28T10:00",
                "2027-03-28T11:00",
            )),
        )
        .await;
    let problem = assert_problem(geneva, 422, "unknown-time-zone").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .ends_with("did you mean Europe/Zurich?"),
        "{problem}"
    );
}

async fn unusual_zones_over_http(app: TestApp) {
    let w = app.world().await;
    let token = w.token("a-scheduler");
    let cases = [
        // (zone, start, end, expected start_utc) — 30-minute DST, 2-hour DST, negative DST,
        // and a zone that abolished DST.
        (
            "Australia/Lord_Howe",
            "2027-10-03T02:30",
            "2027-10-03T03:30",
            "2027-10-02T15:30:00Z",
        ),
        (
            "Antarctica/Troll",
            "2027-07-01T12:00",
            "2027-07-01T13:00",
            "2027-07-01T10:00:00Z",
        ),
        (
            "Europe/Dublin",
            "2027-07-01T10:00",
            "2027-07-01T11:00",
            "2027-07-01T09:00:00Z",
        ),
        (
            "Europe/Dublin",
            "2027-01-15T10:00",
            "2027-01-15T11:00",
            "2027-01-15T10:00:00Z",
        ),
        (
            "Asia/Tehran",
            "2027-07-01T10:00",
            "2027-07-01T11:00",
            "2027-07-01T06:30:00Z",
        ),
    ];
    for (zone, start, end, utc) in cases {
        let m = book(&app, token, booking(&[&w.b], zone, start, end)).await;
        assert_eq!(m["start_utc"], utc, "{zone} {start}");
    }
    for (zone, start) in [
        ("Australia/Lord_Howe", "2027-10-03T02:15"),
        ("Antarctica/Troll", "2027-03-28T02:00"),
        ("Europe/Dublin", "2027-03-28T01:30"),
    ] {
        let response = app
            .call(
                "POST",
                "/api/v1/meetings",
                Some(token),
                Some(booking(&[&w.b], zone, start, "2027-10-03T05:00")),
            )
            .await;
        assert_problem(response, 422, "nonexistent-local-time").await;
    }
}

async fn bookings_are_validated(app: TestApp) {
    let w = app.world().await;
    let token = w.token("a-scheduler");
    let base = booking(
        &[&w.b],
        "Europe/Zurich",
        "2027-05-03T10:00",
        "2027-05-03T11:00",
    );
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("title", json!("")), "title"),
        (with("title", json!("x".repeat(201))), "title"),
        (
            with("description", json!("d".repeat(10_001))),
            "description",
        ),
        (with("participants", json!([])), "participants"),
        (with("participants", json!([w.a])), "participants"),
        (
            with(
                "participants",
                json!(["01a21600-0000-7000-8000-000000000000"]),
            ),
            "participants[0]",
        ),
        (with("end", json!("2027-05-03T09:00")), "end"),
        (with("start", json!("2027-05-03T10:00:00Z")), "start"),
        (with("start", json!("next tuesday")), "start"),
        (with("end", json!("2027-07-03T11:00")), "end"),
        (with("status", json!("cancelled")), "status"),
        (with("channel_id", json!("c1")), "channel_id"),
        (with("forum_id", json!("f1")), "forum_id"),
        (with("venue", json!("Geneva")), "venue"),
    ];
    for (body, field) in cases {
        let problem = app
            .expect_problem(
                422,
                "validation",
                "POST",
                "/api/v1/meetings",
                Some(token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    // Exactly 200 title characters (Cyrillic: 400 bytes) is fine.
    book(&app, token, with("title", json!("ж".repeat(200)))).await;
    let rule = app
        .call(
            "POST",
            "/api/v1/meetings",
            Some(token),
            Some(with("recurrence", json!("FREQ=HOURLY"))),
        )
        .await;
    assert_problem(rule, 422, "invalid-recurrence").await;
    let list = app
        .expect(200, "GET", "/api/v1/meetings", Some(token), None)
        .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "refused bookings left nothing behind"
    );
}

async fn conflicts_are_reported_without_leaking_foreign_meetings(app: TestApp) {
    let w = app.world().await;
    let (c, c_tokens) = third(&app, &w).await;
    // B and C meet 10:00–12:00 UTC; A cannot see that meeting.
    let hidden = book(
        &app,
        w.token("b-scheduler"),
        booking(&[&c], "UTC", "2027-06-01T10:00", "2027-06-01T12:00"),
    )
    .await;
    // A and B meet 09:00–10:00 UTC (back to back with it: no conflict).
    let visible = book(
        &app,
        w.token("a-scheduler"),
        booking(&[&w.b], "UTC", "2027-06-01T09:00", "2027-06-01T10:00"),
    )
    .await;
    assert_eq!(visible["conflicts"], json!([]));

    // A books with B 09:30–11:00 UTC: both earlier meetings overlap.
    let m = book(
        &app,
        w.token("a-scheduler"),
        booking(
            &[&w.b],
            "Europe/Zurich",
            "2027-06-01T11:30",
            "2027-06-01T13:00",
        ),
    )
    .await;
    let conflicts = m["conflicts"].as_array().unwrap();
    let for_b: Vec<&Value> = conflicts
        .iter()
        .filter(|c| c["delegation_id"] == w.b.as_str())
        .collect();
    assert_eq!(for_b.len(), 2, "{conflicts:?}");
    let foreign = for_b
        .iter()
        .find(|c| c["start_utc"] == "2027-06-01T10:00:00Z")
        .unwrap();
    assert!(
        foreign.get("meeting_id").is_none(),
        "B–C meeting leaked to A: {foreign}"
    );
    let own = for_b
        .iter()
        .find(|c| c["start_utc"] == "2027-06-01T09:00:00Z")
        .unwrap();
    assert_eq!(own["meeting_id"], visible["id"]);
    assert!(!m.to_string().contains(hidden["id"].as_str().unwrap()));
    // C, a participant of the hidden meeting, sees its id in conflicts of a meeting C can see.
    let seen_by_c = book(
        &app,
        &c_tokens[1],
        booking(&[&w.b], "UTC", "2027-06-01T11:00", "2027-06-01T11:30"),
    )
    .await;
    assert!(seen_by_c["conflicts"]
        .to_string()
        .contains(hidden["id"].as_str().unwrap()));

    // on_conflict=reject refuses and books nothing.
    let rejected = app
        .call(
            "POST",
            "/api/v1/meetings?on_conflict=reject",
            Some(w.token("a-scheduler")),
            Some(booking(
                &[&w.b],
                "UTC",
                "2027-06-01T09:15",
                "2027-06-01T09:45",
            )),
        )
        .await;
    assert_problem(rejected, 409, "conflict").await;
    let bad = app
        .call(
            "POST",
            "/api/v1/meetings?on_conflict=maybe",
            Some(w.token("a-scheduler")),
            Some(booking(
                &[&w.b],
                "UTC",
                "2027-07-01T09:15",
                "2027-07-01T09:45",
            )),
        )
        .await;
    assert_problem(bad, 422, "validation").await;

    // Declined and cancelled meetings no longer count.
    let id = visible["id"].as_str().unwrap();
    app.expect(
        200,
        "POST",
        &format!("/api/v1/meetings/{id}/response"),
        Some(w.token("b-scheduler")),
        Some(json!({"response": "declined"})),
    )
    .await;
    app.expect(
        200,
        "DELETE",
        &format!("/api/v1/meetings/{}", hidden["id"].as_str().unwrap()),
        Some(w.token("b-scheduler")),
        None,
    )
    .await;
    let again = app
        .call(
            "POST",
            "/api/v1/meetings?on_conflict=reject",
            Some(&c_tokens[1]),
            Some(booking(
                &[&w.b],
                "UTC",
                "2027-06-01T09:15",
                "2027-06-01T09:45",
            )),
        )
        .await;
    // C–B at 09:15: B declined A's 09:00 meeting and B–C 10:00 is cancelled; the A–B 09:30
    // meeting and C's own 11:00 one do not overlap 09:15–09:45 except A–B 09:30.
    let problem = assert_problem(again, 409, "conflict").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("1 overlapping"),
        "{problem}"
    );
}

async fn changes_are_versioned_and_raise_the_sequence(app: TestApp) {
    let w = app.world().await;
    let (c, c_tokens) = third(&app, &w).await;
    let m = book(
        &app,
        w.token("a-scheduler"),
        booking(
            &[&w.b],
            "Europe/Zurich",
            "2027-05-03T10:00",
            "2027-05-03T11:00",
        ),
    )
    .await;
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    let agreed = app
        .expect(
            200,
            "POST",
            &format!("{path}/response"),
            Some(w.token("b-admin")),
            Some(json!({"response": "accepted"})),
        )
        .await;
    // Both parties agree: confirmed, and a new status raises the sequence.
    assert_eq!(
        (agreed["status"].as_str(), agreed["sequence"].as_i64()),
        (Some("confirmed"), Some(1))
    );

    // A title change: new version, same sequence, answers kept.
    let renamed = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-admin")),
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert_eq!(
        (renamed["version"].as_i64(), renamed["sequence"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(renamed["participants"][1]["response"], "accepted");

    // A stale If-Match loses; the right one wins.
    let stale = app
        .client
        .patch(app.url(&path))
        .bearer_auth(w.token("a-scheduler"))
        .header("if-match", "\"1\"")
        .json(&json!({"start": "2027-05-03T14:00", "end": "2027-05-03T15:00"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "precondition-failed").await;
    let moved = app
        .client
        .patch(app.url(&path))
        .bearer_auth(w.token("a-scheduler"))
        .header("if-match", "\"3\"")
        .json(&json!({"start": "2027-05-03T14:00", "end": "2027-05-03T15:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    assert_eq!(moved.headers()["etag"], "\"4\"");
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["start_utc"], "2027-05-03T12:00:00Z");
    assert_eq!(moved["sequence"], 2, "a move raises the sequence");
    assert_eq!(moved["status"], "proposed", "not agreed any more");
    assert_eq!(
        moved["participants"][1]["response"], "pending",
        "a move asks for a new answer"
    );
    assert_eq!(
        moved["participants"][0]["response"], "accepted",
        "the host's stays"
    );

    // Place, participants and status each raise it; the list replaces.
    let placed = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"location": "Villa Moynier"})),
        )
        .await;
    assert_eq!(placed["sequence"], 3);
    let widened = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"participants": [w.b, c]})),
        )
        .await;
    assert_eq!(
        (widened["sequence"].as_i64(), widened["format"].as_str()),
        (Some(4), Some("multilateral"))
    );
    let narrowed = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"participants": [c]})),
        )
        .await;
    let ids: Vec<&str> = narrowed["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["delegation_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [w.a.as_str(), c.as_str()], "the host always stays");
    // C has not answered: confirming is the host admin's call (force), not a scheduler's.
    app.expect_problem(
        409,
        "not-agreed",
        "PATCH",
        &path,
        Some(w.token("a-scheduler")),
        Some(json!({"status": "confirmed", "location": null})),
    )
    .await;
    let confirmed = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-admin")),
            Some(json!({"status": "confirmed", "force": true, "location": null})),
        )
        .await;
    assert_eq!(confirmed["sequence"], 6);
    assert_eq!(confirmed["status"], "confirmed");
    assert!(confirmed["location"].is_null());

    // A change into a DST gap is refused and changes nothing.
    let gap = app
        .call(
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"start": "2027-03-28T02:30", "end": "2027-03-28T04:00"})),
        )
        .await;
    assert_problem(gap, 422, "nonexistent-local-time").await;
    let cancel_by_patch = app
        .call(
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"status": "cancelled"})),
        )
        .await;
    assert_problem(cancel_by_patch, 422, "validation").await;
    let after = app
        .expect(200, "GET", &path, Some(w.token("a-viewer")), None)
        .await;
    assert_eq!(after["version"], confirmed["version"]);

    // Only the host's admins and schedulers change it: a participant's admin gets 403, and B,
    // no longer a participant, cannot even see it any more.
    for token in [w.token("a-viewer"), c_tokens[0].as_str()] {
        app.expect_problem(
            403,
            "forbidden",
            "PATCH",
            &path,
            Some(token),
            Some(json!({"title": "X"})),
        )
        .await;
    }
    app.expect_problem(
        404,
        "not-found",
        "GET",
        &path,
        Some(w.token("b-admin")),
        None,
    )
    .await;

    // The audit log has every step, for every party.
    let audit = app
        .expect(
            200,
            "GET",
            &format!(
                "/api/v1/audit?entity_type=meeting&entity_id={}",
                m["id"].as_str().unwrap()
            ),
            Some(&w.platform),
            None,
        )
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "meeting.update").count(),
        6,
        "{actions:?}"
    );
    assert_eq!(actions.last(), Some(&"meeting.create"));
}

async fn cancelling_keeps_the_meeting(app: TestApp) {
    let w = app.world().await;
    let m = book(
        &app,
        w.token("a-scheduler"),
        booking(
            &[&w.b],
            "Europe/Zurich",
            "2027-05-03T10:00",
            "2027-05-03T11:00",
        ),
    )
    .await;
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    app.expect_problem(
        403,
        "forbidden",
        "DELETE",
        &path,
        Some(w.token("b-admin")),
        None,
    )
    .await;
    let cancelled = app
        .expect(200, "DELETE", &path, Some(w.token("a-admin")), None)
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        (
            cancelled["sequence"].as_i64(),
            cancelled["version"].as_i64()
        ),
        (Some(1), Some(2))
    );
    // Again: nothing changes.
    let again = app
        .expect(200, "DELETE", &path, Some(w.token("a-admin")), None)
        .await;
    assert_eq!(again["version"], 2);
    // Kept, visible, listed, and in the schedule only when asked for.
    let got = app
        .expect(200, "GET", &path, Some(w.token("b-viewer")), None)
        .await;
    assert_eq!(got["status"], "cancelled");
    let listed = app
        .expect(
            200,
            "GET",
            "/api/v1/meetings?status=cancelled",
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let window = "/api/v1/schedule?from=2027-05-01T00:00:00Z&to=2027-06-01T00:00:00Z";
    let schedule = app
        .expect(200, "GET", window, Some(w.token("b-viewer")), None)
        .await;
    assert!(schedule["occurrences"].as_array().unwrap().is_empty());
    let schedule = app
        .expect(
            200,
            "GET",
            &format!("{window}&include_cancelled=true"),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    assert_eq!(schedule["occurrences"][0]["status"], "cancelled");
    // A cancelled meeting is not changed or answered any more.
    app.expect_problem(
        409,
        "conflict",
        "PATCH",
        &path,
        Some(w.token("a-admin")),
        Some(json!({"title": "Revived"})),
    )
    .await;
    app.expect_problem(
        409,
        "conflict",
        "POST",
        &format!("{path}/response"),
        Some(w.token("b-admin")),
        Some(json!({"response": "accepted"})),
    )
    .await;
    let audit = app
        .expect(
            200,
            "GET",
            "/api/v1/audit?entity_type=meeting",
            Some(w.token("b-admin")),
            None,
        )
        .await;
    assert_eq!(audit["items"][0]["action"], "meeting.cancel");
}

async fn participants_answer(app: TestApp) {
    let w = app.world().await;
    let m = app
        .book(
            w.token("a-scheduler"),
            booking(&[&w.b], "UTC", "2027-05-03T10:00", "2027-05-03T11:00"),
        )
        .await;
    let path = format!("/api/v1/meetings/{}/response", m.id);
    let answered: Meeting = app
        .expect_as(
            200,
            "POST",
            &path,
            Some(w.token("b-scheduler")),
            Some(json!({"response": "tentative", "comment": "Pending instructions"})),
        )
        .await;
    let b = &answered.participants[1];
    assert_eq!(
        (b.response, b.comment.as_deref()),
        (Response::Tentative, Some("Pending instructions"))
    );
    assert!(b.responded_at.is_some());
    assert_eq!((answered.version, answered.sequence), (2, 0));
    let seen = app.meeting(w.token("a-viewer"), &m.id).await;
    assert_eq!(seen.participants, answered.participants);
    app.expect_problem(
        403,
        "forbidden",
        "POST",
        &path,
        Some(w.token("b-viewer")),
        Some(json!({"response": "accepted"})),
    )
    .await;
    app.expect_problem(
        422,
        "validation",
        "POST",
        &path,
        Some(w.token("b-admin")),
        Some(json!({"response": "pending"})),
    )
    .await;
    app.expect_problem(
        422,
        "validation",
        "POST",
        &path,
        Some(w.token("b-admin")),
        Some(json!({"response": "maybe"})),
    )
    .await;
}

async fn a_third_delegation_sees_nothing(app: TestApp) {
    let w = app.world().await;
    let (_, c_tokens) = third(&app, &w).await;
    let m = book(
        &app,
        w.token("a-scheduler"),
        booking(&[&w.b], "UTC", "2027-05-03T10:00", "2027-05-03T11:00"),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let path = format!("/api/v1/meetings/{id}");
    for token in &c_tokens {
        app.expect_problem(404, "not-found", "GET", &path, Some(token), None)
            .await;
        app.expect_problem(
            404,
            "not-found",
            "PATCH",
            &path,
            Some(token),
            Some(json!({"title": "Mine"})),
        )
        .await;
        app.expect_problem(404, "not-found", "DELETE", &path, Some(token), None)
            .await;
        app.expect_problem(
            404,
            "not-found",
            "POST",
            &format!("{path}/response"),
            Some(token),
            Some(json!({"response": "accepted"})),
        )
        .await;
        let list = app
            .expect(200, "GET", "/api/v1/meetings", Some(token), None)
            .await;
        assert!(!list.to_string().contains(id));
        let list = app
            .expect(
                200,
                "GET",
                &format!("/api/v1/meetings?participant={}", w.a),
                Some(token),
                None,
            )
            .await;
        assert!(!list.to_string().contains(id));
        let schedule = app
            .expect(200, "GET", "/api/v1/schedule?from=2027-05-01T00:00:00Z&to=2027-06-01T00:00:00Z&include_cancelled=true", Some(token), None)
            .await;
        assert!(!schedule.to_string().contains(id));
    }
    // A missing meeting and an invisible one answer alike.
    let missing = app
        .call(
            "GET",
            "/api/v1/meetings/01a21600-0000-7000-8000-000000000000",
            Some(&c_tokens[0]),
            None,
        )
        .await;
    let invisible = app.call("GET", &path, Some(&c_tokens[0]), None).await;
    let (a, b): (Value, Value) = (
        missing.json().await.unwrap(),
        invisible.json().await.unwrap(),
    );
    assert_eq!(a, b);
    // Platform admins belong to no delegation: they see only public meetings.
    app.expect_problem(404, "not-found", "GET", &path, Some(&w.platform), None)
        .await;
    // The unchanged meeting.
    let after = app
        .expect(200, "GET", &path, Some(w.token("a-viewer")), None)
        .await;
    assert_eq!(
        (after["title"].as_str(), after["version"].as_i64()),
        (Some("Consultations"), Some(1))
    );
}

async fn public_meetings_are_readable_by_all_but_changed_by_the_host(app: TestApp) {
    let w = app.world().await;
    let (_, c_tokens) = third(&app, &w).await;
    let mut body = booking(&[&w.b], "UTC", "2027-05-03T10:00", "2027-05-03T11:00");
    body["confidentiality"] = json!("public");
    let m = book(&app, w.token("a-scheduler"), body).await;
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    app.expect(200, "GET", &path, Some(&c_tokens[2]), None)
        .await;
    app.expect(200, "GET", &path, Some(&w.platform), None).await;
    app.expect_problem(
        403,
        "forbidden",
        "PATCH",
        &path,
        Some(&c_tokens[0]),
        Some(json!({"title": "X"})),
    )
    .await;
    app.expect_problem(
        403,
        "forbidden",
        "POST",
        &format!("{path}/response"),
        Some(&c_tokens[0]),
        Some(json!({"response": "accepted"})),
    )
    .await;
    // Made confidential again, it disappears for them.
    app.expect(
        200,
        "PATCH",
        &path,
        Some(w.token("a-scheduler")),
        Some(json!({"confidentiality": "participants"})),
    )
    .await;
    app.expect_problem(404, "not-found", "GET", &path, Some(&c_tokens[2]), None)
        .await;
}

async fn lists_filter_and_paginate(app: TestApp) {
    let w = app.world().await;
    let (c, _) = third(&app, &w).await;
    let titles = [
        "Cyber consultations",
        "Arms control talks",
        "Trade working group",
        "Climate dialogue",
        "Cyber follow-up",
    ];
    for (i, title) in titles.iter().enumerate() {
        let mut body = booking(
            &[&w.b],
            "UTC",
            &format!("2027-05-0{}T10:00", i + 1),
            &format!("2027-05-0{}T11:00", i + 1),
        );
        body["title"] = json!(title);
        if i == 4 {
            body["participants"] = json!([w.b, c]);
        }
        book(&app, w.token("a-scheduler"), body).await;
    }
    let token = w.token("b-viewer");
    let titles_of = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["title"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = app
        .expect(200, "GET", "/api/v1/meetings", Some(token), None)
        .await;
    assert_eq!(titles_of(&all), titles, "by start");
    let cyber = app
        .expect(200, "GET", "/api/v1/meetings?q=CYBER", Some(token), None)
        .await;
    assert_eq!(
        titles_of(&cyber),
        ["Cyber consultations", "Cyber follow-up"]
    );
    let percent = app
        .expect(200, "GET", "/api/v1/meetings?q=%25", Some(token), None)
        .await;
    assert!(
        titles_of(&percent).is_empty(),
        "% is a character, not a wildcard"
    );
    let window = app
        .expect(
            200,
            "GET",
            "/api/v1/meetings?from=2027-05-02T10:30:00Z&to=2027-05-04T10:00:00Z",
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        titles_of(&window),
        ["Arms control talks", "Trade working group"]
    );
    let with_c = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings?participant={c}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(titles_of(&with_c), ["Cyber follow-up"]);
    let proposed = app
        .expect(
            200,
            "GET",
            "/api/v1/meetings?status=confirmed",
            Some(token),
            None,
        )
        .await;
    assert!(titles_of(&proposed).is_empty());

    let mut seen = Vec::new();
    let mut path = "/api/v1/meetings?limit=2".to_owned();
    loop {
        let page = app.expect(200, "GET", &path, Some(token), None).await;
        seen.extend(titles_of(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/meetings?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, titles);
    for bad in [
        "?limit=501",
        "?from=yesterday",
        "?status=postponed",
        "?cursor=bm90LWEtY3Vyc29y",
        "?from=2027-05-02T00:00:00Z&to=2027-05-01T00:00:00Z",
        "?room=1",
    ] {
        app.expect_problem(
            422,
            "validation",
            "GET",
            &format!("/api/v1/meetings{bad}"),
            Some(token),
            None,
        )
        .await;
    }
}

async fn the_schedule_window_and_zone(app: TestApp) {
    let w = app.world().await;
    book(
        &app,
        w.token("a-scheduler"),
        booking(
            &[&w.b],
            "Asia/Tokyo",
            "2027-05-03T18:00",
            "2027-05-03T19:00",
        ),
    )
    .await;
    book(
        &app,
        w.token("a-scheduler"),
        booking(
            &[&w.b],
            "Europe/London",
            "2027-05-03T08:00",
            "2027-05-03T09:00",
        ),
    )
    .await;
    let s = app
        .expect(
            200,
            "GET",
            "/api/v1/schedule?from=2027-05-03T00:00:00Z&to=2027-05-04T00:00:00Z&tz=Asia/Kolkata",
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(s["tz"], "Asia/Kolkata");
    let starts: Vec<&str> = s["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["start_utc"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        ["2027-05-03T07:00:00Z", "2027-05-03T09:00:00Z"],
        "sorted by start"
    );
    assert_eq!(s["occurrences"][0]["start_local"], "2027-05-03T12:30:00");
    // Platform admins see their schedule in UTC.
    let s = app
        .expect(
            200,
            "GET",
            "/api/v1/schedule?from=2027-05-03T00:00:00Z&to=2027-05-04T00:00:00Z",
            Some(&w.platform),
            None,
        )
        .await;
    assert_eq!(s["tz"], "UTC");
    for (query, code) in [
        (
            "from=2027-01-01T00:00:00Z&to=2028-01-03T00:00:00Z",
            "validation",
        ),
        ("from=2027-01-01T00:00:00Z", "validation"),
        (
            "from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z",
            "validation",
        ),
        (
            "from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&tz=Mars/Base",
            "unknown-time-zone",
        ),
    ] {
        app.expect_problem(
            422,
            code,
            "GET",
            &format!("/api/v1/schedule?{query}"),
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    }
    app.expect(
        200,
        "GET",
        "/api/v1/schedule?from=2027-01-01T00:00:00Z&to=2028-01-02T00:00:00Z",
        Some(w.token("a-viewer")),
        None,
    )
    .await;
}

async fn idempotency_keys_replay_the_first_response(app: TestApp) {
    let w = app.world().await;
    let body = booking(&[&w.b], "UTC", "2027-05-03T10:00", "2027-05-03T11:00");
    let send = |key: &'static str, body: Value, token: &str| {
        app.client
            .post(app.url("/api/v1/meetings"))
            .bearer_auth(token.to_owned())
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = send("booking-1", body.clone(), w.token("a-scheduler"))
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let first_body = first.text().await.unwrap();
    let again = send("booking-1", body.clone(), w.token("a-scheduler"))
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["location"], location);
    assert_eq!(
        again.text().await.unwrap(),
        first_body,
        "the same body, byte for byte"
    );
    let list = app
        .expect(
            200,
            "GET",
            "/api/v1/meetings",
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "created once");

    let mut other = body.clone();
    other["title"] = json!("Something else");
    assert_problem(
        send("booking-1", other, w.token("a-scheduler"))
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    // Keys are per user: another user's same key is a new request.
    assert_eq!(
        send("booking-1", body.clone(), w.token("a-admin"))
            .await
            .unwrap()
            .status(),
        201
    );
    assert_problem(
        send("", body, w.token("a-admin")).await.unwrap(),
        422,
        "validation",
    )
    .await;
}

/// Two clients send the same `If-Match` at once: exactly one wins.
async fn race(app_one: &TestApp, app_two: &TestApp, token: &str, path: &str) {
    let patch = |app: &TestApp, title: &'static str| {
        app.client
            .patch(app.url(path))
            .bearer_auth(token.to_owned())
            .header("if-match", "\"1\"")
            .json(&json!({"title": title}))
            .send()
    };
    let (one, two) = tokio::join!(patch(app_one, "One"), patch(app_two, "Two"));
    let mut statuses = [
        one.unwrap().status().as_u16(),
        two.unwrap().status().as_u16(),
    ];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 412],
        "exactly one of two concurrent edits wins"
    );
    let after = app_one.expect(200, "GET", path, Some(token), None).await;
    assert_eq!(after["version"], 2);
    assert!(["One", "Two"].contains(&after["title"].as_str().unwrap()));
}

/// Five meetings, each edited at once through `one` and `two` with the same `If-Match`.
async fn five_races(one: &TestApp, two: &TestApp) {
    let w = one.world().await;
    for n in 1..=5 {
        let m = book(
            one,
            w.token("a-scheduler"),
            booking(
                &[&w.b],
                "UTC",
                &format!("2027-05-0{n}T10:00"),
                &format!("2027-05-0{n}T11:00"),
            ),
        )
        .await;
        let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
        race(one, two, w.token("a-scheduler"), &path).await;
    }
}

async fn concurrent_edits_with_the_same_version_one_wins(app: TestApp) {
    five_races(&app, &app).await;
}

/// The scale-out deployment: two app instances on one database; the version check holds
/// across them because it happens in the database.
async fn concurrent_edits_across_two_instances(db: TestDatabase) {
    let second_config = db.config(&[]);
    let one = db.spawn_app().await;
    let two_app = entente::Application::build(second_config).expect("a second instance starts");
    let two = TestApp::run(two_app, TestDatabase::create(one.backend).expect("scratch"));
    five_races(&one, &two).await;
}
