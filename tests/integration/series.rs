//! Recurring series over HTTP: wall-clock kept across DST, overrides, series edits, conflicts,
//! lists and the schedule per occurrence.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};
use crate::on_both_backends;

on_both_backends!(
    weekly_in_new_york_keeps_ten_oclock_across_dst,
    other_zones_and_monthly_last_friday,
    rules_are_checked_and_name_the_part,
    one_occurrence_moved_and_one_cancelled,
    editing_the_series_reports_orphaned_overrides,
    conflicts_between_series_and_single_meetings,
    lists_and_unbounded_series,
);

fn series(participants: &[&str], zone: &str, start: &str, end: &str, rule: &str) -> Value {
    json!({"title": "Consultations", "participants": participants, "time_zone": zone,
           "start": start, "end": end, "recurrence": rule})
}

async fn book(app: &TestApp, token: &str, body: Value) -> Value {
    app.expect(201, "POST", "/api/v1/meetings", Some(token), Some(body))
        .await
}

async fn occurrences(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let s = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/schedule?{query}"),
            Some(token),
            None,
        )
        .await;
    s["occurrences"].as_array().unwrap().clone()
}

fn field<'a>(items: &'a [Value], name: &str) -> Vec<&'a str> {
    items.iter().map(|o| o[name].as_str().unwrap()).collect()
}

async fn weekly_in_new_york_keeps_ten_oclock_across_dst(app: TestApp) {
    let w = app.world().await;
    let m = book(
        &app,
        w.token("b-scheduler"),
        series(
            &[&w.a],
            "America/New_York",
            "2027-03-02T10:00",
            "2027-03-02T11:00",
            "FREQ=WEEKLY;BYDAY=TU;COUNT=10",
        ),
    )
    .await;
    assert_eq!(m["recurrence"], "FREQ=WEEKLY;BYDAY=TU;COUNT=10");
    let all = occurrences(
        &app,
        w.token("b-viewer"),
        "from=2027-01-01T00:00:00Z&to=2027-12-31T00:00:00Z",
    )
    .await;
    assert_eq!(all.len(), 10);
    assert!(
        field(&all, "start_local")
            .iter()
            .all(|t| t.ends_with("T10:00:00")),
        "10:00 in New York every week"
    );
    assert_eq!(all[1]["start_utc"], "2027-03-09T15:00:00Z");
    assert_eq!(
        all[2]["start_utc"], "2027-03-16T14:00:00Z",
        "…which moves in UTC after the March change"
    );
    assert_eq!(all[2]["recurrence_id"], "2027-03-16T14:00:00Z");
    assert_eq!(all[9]["start_local"], "2027-05-04T10:00:00");
    // Seen from Moscow: 18:00 before the US change, 17:00 between the US and EU changes, 17:00 after.
    let moscow = occurrences(
        &app,
        w.token("a-viewer"),
        "from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z",
    )
    .await;
    assert_eq!(
        field(&moscow, "start_local"),
        [
            "2027-03-02T18:00:00",
            "2027-03-09T18:00:00",
            "2027-03-16T17:00:00",
            "2027-03-23T17:00:00",
            "2027-03-30T17:00:00"
        ]
    );

    // The same around the November change.
    let autumn = book(
        &app,
        w.token("b-scheduler"),
        series(
            &[&w.a],
            "America/New_York",
            "2027-10-19T10:00",
            "2027-10-19T11:00",
            "FREQ=WEEKLY;UNTIL=20271117T000000Z",
        ),
    )
    .await;
    let id = autumn["id"].as_str().unwrap();
    let fall = occurrences(
        &app,
        w.token("b-viewer"),
        "from=2027-10-01T00:00:00Z&to=2027-12-01T00:00:00Z",
    )
    .await;
    let fall: Vec<&Value> = fall.iter().filter(|o| o["meeting_id"] == id).collect();
    let starts: Vec<&str> = fall
        .iter()
        .map(|o| o["start_utc"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2027-10-19T14:00:00Z",
            "2027-10-26T14:00:00Z",
            "2027-11-02T14:00:00Z",
            "2027-11-09T15:00:00Z",
            "2027-11-16T15:00:00Z"
        ]
    );
}

async fn other_zones_and_monthly_last_friday(app: TestApp) {
    let w = app.world().await;
    let token = w.token("a-scheduler");
    for (zone, start, end) in [
        ("Europe/London", "2027-03-15T09:30", "2027-03-15T10:15"),
        (
            "Australia/Lord_Howe",
            "2027-03-22T09:30",
            "2027-03-22T10:15",
        ),
        ("Asia/Tehran", "2022-03-07T09:30", "2022-03-07T10:15"),
    ] {
        let m = book(
            &app,
            token,
            series(&[&w.b], zone, start, end, "FREQ=WEEKLY;COUNT=8"),
        )
        .await;
        let s = app
            .expect(
                200,
                "GET",
                &format!(
                    "/api/v1/schedule?from={}&to={}&tz={zone}",
                    m["start_utc"].as_str().unwrap(),
                    "2027-12-31T00:00:00Z".replace("2027", &start[..4])
                ),
                Some(token),
                None,
            )
            .await;
        let mine: Vec<&Value> = s["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["meeting_id"] == m["id"])
            .collect();
        assert_eq!(mine.len(), 8, "{zone}");
        assert!(
            mine.iter()
                .all(|o| o["start_local"].as_str().unwrap().ends_with("T09:30:00")),
            "{zone}: {mine:?}"
        );
        let utc_times: std::collections::BTreeSet<&str> = mine
            .iter()
            .map(|o| &o["start_utc"].as_str().unwrap()[11..])
            .collect();
        assert_eq!(utc_times.len(), 2, "{zone}: the UTC time moves with DST");
    }
    let m = book(
        &app,
        token,
        series(
            &[&w.b],
            "Europe/Paris",
            "2027-01-29T15:00",
            "2027-01-29T16:30",
            "FREQ=MONTHLY;BYDAY=-1FR",
        ),
    )
    .await;
    let s = occurrences(
        &app,
        token,
        "from=2027-01-01T00:00:00Z&to=2027-07-01T00:00:00Z&tz=Europe/Paris",
    )
    .await;
    let fridays: Vec<&str> = s
        .iter()
        .filter(|o| o["meeting_id"] == m["id"])
        .map(|o| o["start_local"].as_str().unwrap())
        .collect();
    assert_eq!(
        fridays,
        [
            "2027-01-29T15:00:00",
            "2027-02-26T15:00:00",
            "2027-03-26T15:00:00",
            "2027-04-30T15:00:00",
            "2027-05-28T15:00:00",
            "2027-06-25T15:00:00"
        ]
    );
}

async fn rules_are_checked_and_name_the_part(app: TestApp) {
    let w = app.world().await;
    let token = w.token("a-scheduler");
    for (rule, part) in [
        ("FREQ=HOURLY", "FREQ"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20271231T000000Z", "COUNT"),
        ("FREQ=DAILY;UNTIL=20271231T000000", "UNTIL"),
        ("FREQ=WEEKLY;BYDAY=TU", "not an occurrence"),
        ("FREQ=DAILY;UNTIL=21270101T000000Z", "UNTIL"),
    ] {
        // 2027-05-03 is a Monday.
        let response = app
            .call(
                "POST",
                "/api/v1/meetings",
                Some(token),
                Some(series(
                    &[&w.b],
                    "UTC",
                    "2027-05-03T10:00",
                    "2027-05-03T11:00",
                    rule,
                )),
            )
            .await;
        let problem = assert_problem(response, 422, "invalid-recurrence").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(part),
            "{rule}: {problem}"
        );
    }
    let list = app
        .expect(200, "GET", "/api/v1/meetings", Some(token), None)
        .await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

async fn one_occurrence_moved_and_one_cancelled(app: TestApp) {
    let w = app.world().await;
    // Weekly on Wednesdays, 10:00 Moscow (07:00Z), ten times from 2027-03-03.
    let m = book(
        &app,
        w.token("a-scheduler"),
        series(
            &[&w.b],
            "Europe/Moscow",
            "2027-03-03T10:00",
            "2027-03-03T11:00",
            "FREQ=WEEKLY;COUNT=10",
        ),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let occurrence = |original: &str| format!("/api/v1/meetings/{id}/occurrences/{original}");

    let moved = app
        .expect(
            200,
            "PUT",
            &occurrence("2027-03-17T07:00:00Z"),
            Some(w.token("a-scheduler")),
            Some(json!({"start": "2027-03-18T15:00"})),
        )
        .await;
    assert_eq!(
        (moved["start"].as_str(), moved["end"].as_str()),
        (Some("2027-03-18T15:00:00"), Some("2027-03-18T16:00:00"))
    );
    assert_eq!(
        (moved["moved"].as_bool(), moved["sequence"].as_i64()),
        (Some(true), Some(1))
    );
    assert_eq!(moved["recurrence_id"], "2027-03-17T07:00:00Z");
    let cancelled = app
        .expect(
            200,
            "PUT",
            &occurrence("2027-03-24T07:00:00Z"),
            Some(w.token("a-admin")),
            Some(json!({"status": "cancelled"})),
        )
        .await;
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["moved"].as_bool()),
        (Some("cancelled"), Some(false))
    );

    let window = "from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z";
    let seen = occurrences(&app, w.token("b-viewer"), window).await;
    assert_eq!(
        field(&seen, "start_utc"),
        [
            "2027-03-03T07:00:00Z",
            "2027-03-10T07:00:00Z",
            "2027-03-18T12:00:00Z",
            "2027-03-31T07:00:00Z"
        ]
    );
    assert_eq!(seen[2]["recurrence_id"], "2027-03-17T07:00:00Z");
    let with_cancelled = occurrences(
        &app,
        w.token("b-viewer"),
        &format!("{window}&include_cancelled=true"),
    )
    .await;
    assert_eq!(with_cancelled.len(), 5);
    assert_eq!(with_cancelled[3]["status"], "cancelled");
    // The series itself shows the raised sequence.
    let got = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings/{id}"),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    assert_eq!(
        (got["sequence"].as_i64(), got["version"].as_i64()),
        (Some(2), Some(3))
    );

    // Errors: not an occurrence, a single meeting, a stale version, a gap, the wrong people.
    app.expect_problem(
        404,
        "not-found",
        "PUT",
        &occurrence("2027-03-17T08:00:00Z"),
        Some(w.token("a-scheduler")),
        Some(json!({"status": "cancelled"})),
    )
    .await;
    app.expect_problem(
        404,
        "not-found",
        "PUT",
        &occurrence("not-a-time"),
        Some(w.token("a-scheduler")),
        Some(json!({})),
    )
    .await;
    let single = app
        .expect(201, "POST", "/api/v1/meetings", Some(w.token("a-scheduler")), Some(json!({"title": "One", "participants": [w.b], "time_zone": "UTC", "start": "2027-06-01T10:00", "end": "2027-06-01T11:00"})))
        .await;
    app.expect_problem(
        404,
        "not-found",
        "PUT",
        &format!(
            "/api/v1/meetings/{}/occurrences/2027-06-01T10:00:00Z",
            single["id"].as_str().unwrap()
        ),
        Some(w.token("a-scheduler")),
        Some(json!({"status": "cancelled"})),
    )
    .await;
    let stale = app
        .client
        .put(app.url(&occurrence("2027-03-10T07:00:00Z")))
        .bearer_auth(w.token("a-scheduler"))
        .header("if-match", "\"1\"")
        .json(&json!({"status": "cancelled"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "precondition-failed").await;
    let gap = app
        .call(
            "PUT",
            &occurrence("2027-03-10T07:00:00Z"),
            Some(w.token("a-scheduler")),
            Some(json!({"start": "2027-03-28T02:30", "end": "2027-03-28T03:30"})),
        )
        .await;
    assert_eq!(gap.status(), 200, "Moscow has no DST: 02:30 exists there");
    app.expect_problem(
        403,
        "forbidden",
        "PUT",
        &occurrence("2027-03-31T07:00:00Z"),
        Some(w.token("b-admin")),
        Some(json!({"status": "cancelled"})),
    )
    .await;
    let c = app
        .create_delegation(&w.platform, "CCC", "Asia/Shanghai")
        .await;
    app.create_user(&w.platform, &c, "c-admin", "admin").await;
    let c_token = app.login("c-admin", crate::helpers::USER_PASSWORD).await;
    app.expect_problem(
        404,
        "not-found",
        "PUT",
        &occurrence("2027-03-31T07:00:00Z"),
        Some(&c_token),
        Some(json!({"status": "cancelled"})),
    )
    .await;
    let audit = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/audit?entity_id={id}"),
            Some(w.token("a-admin")),
            None,
        )
        .await;
    assert_eq!(audit["items"][0]["action"], "meeting.occurrence");

    // Putting an occurrence back (its own time, the series' status) removes the override.
    app.expect(
        200,
        "PUT",
        &occurrence("2027-03-24T07:00:00Z"),
        Some(w.token("a-scheduler")),
        Some(json!({"status": "proposed"})),
    )
    .await;
    let seen = occurrences(&app, w.token("b-viewer"), window).await;
    assert!(field(&seen, "start_utc").contains(&"2027-03-24T07:00:00Z"));
}

async fn editing_the_series_reports_orphaned_overrides(app: TestApp) {
    let w = app.world().await;
    let m = book(
        &app,
        w.token("a-scheduler"),
        series(
            &[&w.b],
            "UTC",
            "2027-05-03T10:00",
            "2027-05-03T11:00",
            "FREQ=WEEKLY;COUNT=6",
        ),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let path = format!("/api/v1/meetings/{id}");
    app.expect(
        200,
        "PUT",
        &format!("{path}/occurrences/2027-05-10T10:00:00Z"),
        Some(w.token("a-scheduler")),
        Some(json!({"status": "cancelled"})),
    )
    .await;
    app.expect(
        200,
        "PUT",
        &format!("{path}/occurrences/2027-05-31T10:00:00Z"),
        Some(w.token("a-scheduler")),
        Some(json!({"start": "2027-06-01T10:00"})),
    )
    .await;
    // A change that keeps every occurrence keeps the overrides.
    let renamed = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert!(renamed.get("orphaned_occurrences").is_none());
    // Fewer occurrences: the 31 May override no longer matches one.
    let shorter = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"recurrence": "FREQ=WEEKLY;COUNT=3"})),
        )
        .await;
    assert_eq!(
        shorter["orphaned_occurrences"],
        json!(["2027-05-31T10:00:00Z"])
    );
    let window = "from=2027-05-01T00:00:00Z&to=2027-07-01T00:00:00Z&include_cancelled=true";
    let seen = occurrences(&app, w.token("b-viewer"), window).await;
    assert_eq!(
        field(&seen, "start_utc"),
        [
            "2027-05-03T10:00:00Z",
            "2027-05-10T10:00:00Z",
            "2027-05-17T10:00:00Z"
        ]
    );
    assert_eq!(
        seen[1]["status"], "cancelled",
        "the matching override stays"
    );
    // A new time of day: every original start changes, so every override is orphaned.
    let moved = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"start": "2027-05-03T11:00", "end": "2027-05-03T12:00"})),
        )
        .await;
    assert_eq!(
        moved["orphaned_occurrences"],
        json!(["2027-05-10T10:00:00Z"])
    );
    let seen = occurrences(&app, w.token("b-viewer"), window).await;
    assert!(seen.iter().all(|o| o["status"] != "cancelled"));
    // Made single again: no occurrences but the first.
    let single = app
        .expect(
            200,
            "PATCH",
            &path,
            Some(w.token("a-scheduler")),
            Some(json!({"recurrence": null})),
        )
        .await;
    assert!(single["recurrence"].is_null());
    assert_eq!(
        occurrences(&app, w.token("b-viewer"), window).await.len(),
        1
    );
    let audit = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/audit?entity_id={id}"),
            Some(w.token("a-admin")),
            None,
        )
        .await;
    assert!(audit["items"].to_string().contains("overrides removed"));
}

async fn conflicts_between_series_and_single_meetings(app: TestApp) {
    let w = app.world().await;
    let weekly = book(
        &app,
        w.token("a-scheduler"),
        series(
            &[&w.b],
            "UTC",
            "2027-05-03T10:00",
            "2027-05-03T11:00",
            "FREQ=WEEKLY",
        ),
    )
    .await;
    // A single meeting of B on a Monday months later collides with an occurrence.
    let single = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("b-scheduler")),
            Some(json!({"title": "Briefing", "participants": [w.a], "time_zone": "UTC", "start": "2027-09-06T10:30", "end": "2027-09-06T11:30"})),
        )
        .await;
    let conflicts = single["conflicts"].as_array().unwrap();
    assert!(!conflicts.is_empty());
    assert!(
        conflicts
            .iter()
            .all(|c| c["meeting_id"] == weekly["id"] && c["start_utc"] == "2027-09-06T10:00:00Z"),
        "{conflicts:?}"
    );
    // A new series against existing meetings: its Thursday occurrence hits nothing, its
    // Monday one hits the briefing and the weekly series.
    let other = book(
        &app,
        w.token("b-scheduler"),
        series(
            &[&w.a],
            "UTC",
            "2027-09-02T10:45",
            "2027-09-02T11:15",
            "FREQ=WEEKLY;BYDAY=TH,MO;COUNT=2",
        ),
    )
    .await;
    let ids: std::collections::BTreeSet<&str> = other["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["meeting_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            weekly["id"].as_str().unwrap(),
            single["id"].as_str().unwrap()
        ]
        .into_iter()
        .collect()
    );
    let rejected = app
        .call(
            "POST",
            "/api/v1/meetings?on_conflict=reject",
            Some(w.token("b-scheduler")),
            Some(series(
                &[&w.a],
                "UTC",
                "2027-05-10T10:30",
                "2027-05-10T10:45",
                "FREQ=MONTHLY;COUNT=2",
            )),
        )
        .await;
    assert_problem(rejected, 409, "conflict").await;
    // A cancelled occurrence no longer conflicts.
    app.expect(
        200,
        "PUT",
        &format!(
            "/api/v1/meetings/{}/occurrences/2027-09-13T10:00:00Z",
            weekly["id"].as_str().unwrap()
        ),
        Some(w.token("a-scheduler")),
        Some(json!({"status": "cancelled"})),
    )
    .await;
    let free = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings?on_conflict=reject",
            Some(w.token("b-scheduler")),
            Some(json!({"title": "In the gap", "participants": [w.a], "time_zone": "UTC", "start": "2027-09-13T10:15", "end": "2027-09-13T10:45"})),
        )
        .await;
    assert_eq!(free["conflicts"], json!([]));
}

async fn lists_and_unbounded_series(app: TestApp) {
    let w = app.world().await;
    let monthly = book(
        &app,
        w.token("a-scheduler"),
        series(
            &[&w.b],
            "UTC",
            "2027-01-01T10:00",
            "2027-01-01T11:00",
            "FREQ=MONTHLY;BYMONTHDAY=1",
        ),
    )
    .await;
    let token = w.token("b-viewer");
    let hit = app
        .expect(
            200,
            "GET",
            "/api/v1/meetings?from=2031-05-01T00:00:00Z&to=2031-05-02T00:00:00Z",
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        hit["items"][0]["id"], monthly["id"],
        "an occurrence in 2031 lists the series"
    );
    let miss = app
        .expect(
            200,
            "GET",
            "/api/v1/meetings?from=2031-05-10T00:00:00Z&to=2031-05-20T00:00:00Z",
            Some(token),
            None,
        )
        .await;
    assert!(
        miss["items"].as_array().unwrap().is_empty(),
        "no occurrence between the 10th and the 20th"
    );
    let far = occurrences(
        &app,
        token,
        "from=2099-01-01T00:00:00Z&to=2099-12-31T00:00:00Z",
    )
    .await;
    assert_eq!(far.len(), 12);
    assert_eq!(far[11]["recurrence_id"], "2099-12-01T10:00:00Z");
    // A cancelled series cancels every occurrence.
    app.expect(
        200,
        "DELETE",
        &format!("/api/v1/meetings/{}", monthly["id"].as_str().unwrap()),
        Some(w.token("a-admin")),
        None,
    )
    .await;
    assert!(occurrences(
        &app,
        token,
        "from=2099-01-01T00:00:00Z&to=2099-12-31T00:00:00Z"
    )
    .await
    .is_empty());
    let cancelled = occurrences(
        &app,
        token,
        "from=2099-01-01T00:00:00Z&to=2099-12-31T00:00:00Z&include_cancelled=true",
    )
    .await;
    assert!(cancelled.iter().all(|o| o["status"] == "cancelled") && cancelled.len() == 12);
}
