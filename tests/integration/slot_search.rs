//! The slot search (issue 18): common free times inside every delegation's working hours in
//! its own zone, across DST changes (New York, Europe, Lord Howe), in quarter-hour zones, with
//! buffers, notice, hidden calendars and series.

use serde_json::{json, Value};

use crate::helpers::{TestApp, World};
use crate::on_both_backends;

async fn search(app: &TestApp, token: &str, body: Value) -> Value {
    app.expect(
        200,
        "POST",
        "/api/v1/availability/search",
        Some(token),
        Some(body),
    )
    .await
}

/// (start_utc, each delegation's local start) of every slot.
fn starts(found: &Value) -> Vec<(String, Vec<String>)> {
    found["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let local = s["local"].as_array().unwrap().iter();
            (
                s["start_utc"].as_str().unwrap().to_owned(),
                local
                    .map(|l| l["start"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

async fn geneva(app: &TestApp, w: &World) -> String {
    app.create_delegation(&w.platform, "GVA", "Europe/Zurich")
        .await
}

on_both_backends!(search_follows_dst_changes_in_new_york_and_europe);

async fn search_follows_dst_changes_in_new_york_and_europe(app: TestApp) {
    let w = app.world().await;
    let gva = geneva(&app, &w).await;
    let token = w.token("b-scheduler");
    // New York moves to EDT on Sunday 14 March 2027: the common office hours (09:00–18:00 in
    // each zone) are 14:00–17:00 UTC on Friday the 12th, 13:00–17:00 UTC on Monday the 15th.
    let found = search(
        &app,
        token,
        json!({"delegations": [w.b, "GVA"],
        "from": "2027-03-12T00:00:00Z", "to": "2027-03-16T00:00:00Z",
        "duration_minutes": 60, "limit": 100}),
    )
    .await;
    let slots = starts(&found);
    assert_eq!(slots.len(), 9 + 13, "{found}");
    assert_eq!(
        slots[0],
        (
            "2027-03-12T14:00:00Z".into(),
            vec!["2027-03-12T09:00:00".into(), "2027-03-12T15:00:00".into()]
        )
    );
    assert_eq!(slots[8].0, "2027-03-12T16:00:00Z");
    assert_eq!(
        slots[9],
        (
            "2027-03-15T13:00:00Z".into(),
            vec!["2027-03-15T09:00:00".into(), "2027-03-15T14:00:00".into()]
        )
    );
    let first = &found["slots"][0];
    assert_eq!(first["local"][1]["delegation_id"], json!(gva));
    assert_eq!(first["local"][1]["time_zone"], "Europe/Zurich");
    assert_eq!(first["local"][1]["end"], "2027-03-12T16:00:00");
    assert_eq!(first["max_outside_hours_minutes"], 0);
    // Geneva moves to CEST on Sunday 28 March: 13:00–17:00 UTC on Friday the 26th,
    // 13:00–16:00 UTC on Monday the 29th.
    let found = search(
        &app,
        token,
        json!({"delegations": ["BBB", "GVA"],
        "from": "2027-03-26T00:00:00Z", "to": "2027-03-30T00:00:00Z",
        "duration_minutes": 60, "limit": 100}),
    )
    .await;
    let slots = starts(&found);
    assert_eq!(slots.len(), 13 + 9, "{found}");
    let last = &found["slots"][21];
    assert_eq!(last["start_utc"], "2027-03-29T15:00:00Z");
    assert_eq!(last["local"][1]["end"], "2027-03-29T18:00:00");
    assert_eq!(last["local"][0]["start"], "2027-03-29T11:00:00");
}

on_both_backends!(search_in_half_and_quarter_hour_zones);

async fn search_in_half_and_quarter_hour_zones(app: TestApp) {
    let w = app.world().await;
    let howe = app
        .create_delegation(&w.platform, "LHI", "Australia/Lord_Howe")
        .await;
    app.create_delegation(&w.platform, "KTM", "Asia/Kathmandu")
        .await;
    let token = w.token("a-scheduler");
    // Lord Howe moves from +10:30 to +11:00 on Sunday 3 October 2027: its 09:00 is 22:30 UTC
    // the day before on Friday the 1st, 22:00 UTC on Monday the 4th.
    let found = search(
        &app,
        token,
        json!({"delegations": [howe],
        "from": "2027-09-30T12:00:00Z", "to": "2027-10-04T12:00:00Z",
        "duration_minutes": 60, "limit": 200}),
    )
    .await;
    let slots = starts(&found);
    assert_eq!(
        slots[0],
        (
            "2027-09-30T22:30:00Z".into(),
            vec!["2027-10-01T09:00:00".into()]
        )
    );
    assert!(
        slots.contains(&(
            "2027-10-03T22:00:00Z".into(),
            vec!["2027-10-04T09:00:00".into()]
        )),
        "{found}"
    );
    assert!(
        slots
            .iter()
            .all(|(_, l)| !l[0].starts_with("2027-10-02") && !l[0].starts_with("2027-10-03")),
        "no weekend"
    );
    // Kathmandu (+05:45) and Lord Howe (+11:00) share 03:15–07:00 UTC on Monday the 4th.
    let found = search(
        &app,
        token,
        json!({"delegations": ["KTM", "LHI"],
        "from": "2027-10-04T00:00:00Z", "to": "2027-10-05T00:00:00Z",
        "duration_minutes": 45, "limit": 100}),
    )
    .await;
    let slots = starts(&found);
    assert_eq!(
        slots[0],
        (
            "2027-10-04T03:15:00Z".into(),
            vec!["2027-10-04T09:00:00".into(), "2027-10-04T14:15:00".into()]
        )
    );
    assert_eq!(slots.last().unwrap().0, "2027-10-04T06:15:00Z", "{found}");
}

on_both_backends!(search_keeps_buffers_and_notice_and_hidden_calendars);

async fn search_keeps_buffers_and_notice_and_hidden_calendars(app: TestApp) {
    let w = app.world().await;
    let gva = geneva(&app, &w).await;
    let token = w.token("a-scheduler");
    // Moscow 06:00–15:00 UTC and Geneva 08:00–17:00 UTC: 08:00–15:00 UTC in common.
    app.book(
        token,
        json!({"title": "Talks", "participants": [gva], "time_zone": "UTC",
        "start": "2027-02-01T10:00", "end": "2027-02-01T11:00"}),
    )
    .await;
    let monday = |buffer: i64| {
        json!({"delegations": ["AAA", "GVA"],
        "from": "2027-02-01T00:00:00Z", "to": "2027-02-02T00:00:00Z",
        "duration_minutes": 60, "limit": 100, "buffer_minutes": buffer})
    };
    let plain: Vec<String> = starts(&search(&app, token, monday(0)).await)
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert!(
        plain.contains(&"2027-02-01T09:00:00Z".into())
            && plain.contains(&"2027-02-01T11:00:00Z".into())
    );
    assert!(
        !plain.contains(&"2027-02-01T09:15:00Z".into())
            && !plain.contains(&"2027-02-01T10:45:00Z".into())
    );
    let buffered: Vec<String> = starts(&search(&app, token, monday(30)).await)
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert!(
        buffered.contains(&"2027-02-01T08:30:00Z".into())
            && buffered.contains(&"2027-02-01T11:30:00Z".into())
    );
    assert!(
        !buffered.contains(&"2027-02-01T08:45:00Z".into())
            && !buffered.contains(&"2027-02-01T11:15:00Z".into())
    );

    // Notice: nothing sooner than three days from now.
    let today = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let noticed = search(&app, token, json!({"delegations": ["AAA", "GVA"],
        "from": today.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "to": (today + chrono::TimeDelta::days(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "duration_minutes": 60, "min_notice_minutes": 3 * 1440})).await;
    let first: chrono::DateTime<chrono::Utc> = noticed["slots"][0]["start_utc"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        first >= chrono::Utc::now() + chrono::TimeDelta::days(3) - chrono::TimeDelta::minutes(1),
        "{noticed}"
    );

    // Geneva hides its busy times: A cannot read them, but A's search still avoids them;
    // searched without one's own delegation it is 422, naming it.
    let gva_admin = app.create_user(&w.platform, &gva, "g-admin", "admin").await;
    assert!(!gva_admin.is_empty());
    let g = app.login("g-admin", crate::helpers::USER_PASSWORD).await;
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/delegations/{gva}"),
        Some(&g),
        Some(json!({"share_busy": false})),
    )
    .await;
    let busy =
        format!("/api/v1/delegations/{gva}/busy?from=2027-02-01T00:00:00Z&to=2027-02-02T00:00:00Z");
    app.expect_problem(404, "not-found", "GET", &busy, Some(token), None)
        .await;
    app.book(
        &g,
        json!({"title": "Hidden", "participants": [w.b], "time_zone": "UTC",
        "start": "2027-02-01T12:00", "end": "2027-02-01T15:00"}),
    )
    .await;
    let hidden: Vec<String> = starts(&search(&app, token, monday(0)).await)
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(
        hidden.last().map(String::as_str),
        Some("2027-02-01T11:00:00Z"),
        "{hidden:?}"
    );
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/availability/search",
            Some(w.token("b-viewer")),
            Some(monday(0)),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "delegations[1]", "{problem}");
    assert!(!problem.to_string().contains("Hidden"));
    let platform = search(&app, &w.platform, monday(0)).await;
    assert_eq!(
        starts(&platform).last().map(|s| s.0.as_str()),
        Some("2027-02-01T11:00:00Z")
    );

    // Refused: unknown delegation (named), window over 92 days, over 20 delegations.
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/availability/search",
            Some(token),
            Some(
                json!({"delegations": ["AAA", "NOPE"], "from": "2027-02-01T00:00:00Z",
                    "to": "2027-02-02T00:00:00Z", "duration_minutes": 60}),
            ),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "delegations[1]");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("NOPE"));
    app.expect_problem(
        422,
        "validation",
        "POST",
        "/api/v1/availability/search",
        Some(token),
        Some(
            json!({"delegations": ["AAA"], "from": "2027-02-01T00:00:00Z",
                    "to": "2027-05-05T00:00:00Z", "duration_minutes": 60}),
        ),
    )
    .await;
    let many: Vec<String> = (0..21).map(|i| format!("D{i}")).collect();
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/availability/search",
            Some(token),
            Some(json!({"delegations": many, "from": "2027-02-01T00:00:00Z",
                    "to": "2027-02-02T00:00:00Z", "duration_minutes": 60})),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "delegations");
}

on_both_backends!(fair_ranking_spreads_the_night);

async fn fair_ranking_spreads_the_night(app: TestApp) {
    let w = app.world().await;
    app.create_delegation(&w.platform, "TYO", "Asia/Tokyo")
        .await;
    let token = w.token("b-scheduler");
    // Washington and Tokyo share no office hour: with two hours allowed outside, the fairest
    // slots leave each at most one hour outside (60 of a 60-minute meeting for one of them).
    let body = |rank: &str| {
        json!({"delegations": ["BBB", "TYO"],
        "from": "2027-02-01T00:00:00Z", "to": "2027-02-03T00:00:00Z",
        "duration_minutes": 60, "outside_hours_minutes": 120, "rank": rank, "limit": 5})
    };
    let fair = search(&app, token, body("fair")).await;
    let worst: Vec<i64> = fair["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["max_outside_hours_minutes"].as_i64().unwrap())
        .collect();
    assert_eq!(worst.len(), 5);
    assert!(worst.iter().all(|m| *m == 60), "{fair}");
    for slot in fair["slots"].as_array().unwrap() {
        let outside: Vec<i64> = slot["local"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["outside_hours_minutes"].as_i64().unwrap())
            .collect();
        assert_eq!(outside.iter().max(), Some(&60));
    }
    let earliest = search(&app, token, body("earliest")).await;
    assert_eq!(
        earliest["slots"][0]["start_utc"], "2027-02-01T00:00:00Z",
        "Tokyo's 09:00, Washington's 19:00"
    );
    assert_eq!(earliest["slots"][0]["max_outside_hours_minutes"], 60);
    app.expect_problem(
        422,
        "validation",
        "POST",
        "/api/v1/availability/search",
        Some(token),
        Some(body("kind")),
    )
    .await;
}
