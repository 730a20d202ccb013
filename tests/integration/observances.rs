//! Observances (issue 18): a delegation's non-working days, dates or yearly rules, whole days
//! in its zone; shown in busy as times only; a series search steps around them.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(observances_are_whole_days_and_a_series_avoids_them);

async fn observances_are_whole_days_and_a_series_avoids_them(app: TestApp) {
    let w = app.world().await;
    let path = format!("/api/v1/delegations/{}/observances", w.a);
    let list = json!({"observances": [
        {"name": "Orthodox Christmas", "rule": "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=7"},
        {"name": "Day of mourning", "date": "2027-01-12"}
    ]});
    // Only A's admins (and platform admins) record them; other delegations do not see them.
    app.expect_problem(
        403,
        "forbidden",
        "PUT",
        &path,
        Some(w.token("a-scheduler")),
        Some(list.clone()),
    )
    .await;
    app.expect_problem(
        404,
        "not-found",
        "PUT",
        &path,
        Some(w.token("b-admin")),
        Some(list.clone()),
    )
    .await;
    app.expect_problem(
        404,
        "not-found",
        "GET",
        &path,
        Some(w.token("b-viewer")),
        None,
    )
    .await;
    let before = app
        .expect(200, "GET", &path, Some(w.token("a-viewer")), None)
        .await;
    assert_eq!(before["observances"], json!([]));
    let saved = app
        .expect(
            200,
            "PUT",
            &path,
            Some(w.token("a-admin")),
            Some(list.clone()),
        )
        .await;
    assert_eq!(saved["observances"], list["observances"]);
    assert_eq!(
        saved["version"].as_i64(),
        before["version"].as_i64().map(|v| v + 1)
    );
    assert_eq!(
        app.expect(200, "GET", &path, Some(w.token("a-viewer")), None)
            .await,
        saved
    );
    // A stale If-Match is refused, and so is a bad entry (named); neither changes anything.
    let stale = app
        .client
        .put(app.url(&path))
        .bearer_auth(w.token("a-admin"))
        .header("If-Match", format!("\"{}\"", before["version"]))
        .json(&json!({"observances": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let problem = app
        .expect_problem(
            422,
            "validation",
            "PUT",
            &path,
            Some(w.token("a-admin")),
            Some(json!({"observances": [{"name": "Ok", "date": "2027-05-09"},
                                     {"name": "Monthly", "rule": "FREQ=MONTHLY;BYMONTHDAY=1"}]})),
        )
        .await;
    assert_eq!(
        problem["errors"][0]["field"], "observances[1].rule",
        "{problem}"
    );
    assert_eq!(
        app.expect(200, "GET", &path, Some(w.token("a-admin")), None)
            .await,
        saved
    );

    // Busy shows them as Moscow's whole days (UTC+3), without their names, to B as well.
    let busy = app
        .call(
            "GET",
            &format!(
                "/api/v1/delegations/{}/busy?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z",
                w.a
            ),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    let text = busy.text().await.unwrap();
    assert!(
        !text.contains("Christmas") && !text.contains("mourning"),
        "{text}"
    );
    let busy: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        busy["unavailable"],
        json!([
            {"start_utc": "2027-01-06T21:00:00Z", "end_utc": "2027-01-07T21:00:00Z", "reason": "observance"},
            {"start_utc": "2027-01-11T21:00:00Z", "end_utc": "2027-01-12T21:00:00Z", "reason": "observance"}
        ])
    );

    // A weekly series for three weeks: Moscow 09:00–18:00 and Washington 09:00–18:00 share
    // 14:00–15:00 UTC. Tuesday the 5th would meet the day of mourning on the 12th, Thursday
    // the 7th is Christmas: only Monday, Wednesday and Friday remain.
    let found = app
        .expect(
            200,
            "POST",
            "/api/v1/availability/search",
            Some(w.token("b-scheduler")),
            Some(
                json!({"delegations": ["AAA", "BBB"], "from": "2027-01-04T00:00:00Z",
                    "to": "2027-01-09T00:00:00Z", "duration_minutes": 60, "limit": 50,
                    "recurrence": "FREQ=WEEKLY;COUNT=3"}),
            ),
        )
        .await;
    let starts: Vec<&str> = found["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start_utc"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        vec![
            "2027-01-04T14:00:00Z",
            "2027-01-06T14:00:00Z",
            "2027-01-08T14:00:00Z"
        ],
        "{found}"
    );
    assert!(found["slots"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["occurrences"] == 3));
    // A single meeting can take Tuesday the 5th, not Thursday the 7th.
    let single = app
        .expect(
            200,
            "POST",
            "/api/v1/availability/search",
            Some(w.token("b-scheduler")),
            Some(
                json!({"delegations": ["AAA", "BBB"], "from": "2027-01-04T00:00:00Z",
                    "to": "2027-01-09T00:00:00Z", "duration_minutes": 60, "limit": 50}),
            ),
        )
        .await;
    let starts: Vec<&str> = single["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start_utc"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        vec![
            "2027-01-04T14:00:00Z",
            "2027-01-05T14:00:00Z",
            "2027-01-06T14:00:00Z",
            "2027-01-08T14:00:00Z"
        ]
    );
}

on_both_backends!(an_observance_on_a_day_the_zone_skipped_takes_no_time);

async fn an_observance_on_a_day_the_zone_skipped_takes_no_time(app: TestApp) {
    let platform = app.admin_token().await;
    let samoa = app.create_delegation(&platform, "WS", "Pacific/Apia").await;
    let path = format!("/api/v1/delegations/{samoa}/observances");
    let busy = format!(
        "/api/v1/delegations/{samoa}/busy?from=2011-12-28T00:00:00Z&to=2012-01-03T00:00:00Z"
    );
    // Samoa went from UTC−10 to UTC+14 at the end of Thursday 29 December 2011: Friday the
    // 30th never happened there.
    app.expect(
        200,
        "PUT",
        &path,
        Some(&platform),
        Some(json!({"observances": [{"name": "Skipped", "date": "2011-12-30"}]})),
    )
    .await;
    let seen = app.expect(200, "GET", &busy, Some(&platform), None).await;
    assert_eq!(seen["unavailable"], json!([]), "{seen}");
    // New Year's Day, at UTC+14.
    app.expect(200, "PUT", &path, Some(&platform),
        Some(json!({"observances": [{"name": "New Year", "rule": "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"}]}))).await;
    let seen = app.expect(200, "GET", &busy, Some(&platform), None).await;
    assert_eq!(
        seen["unavailable"],
        json!([{"start_utc": "2011-12-31T10:00:00Z",
        "end_utc": "2012-01-01T10:00:00Z", "reason": "observance"}])
    );
}
