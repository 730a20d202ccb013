//! Busy times (issue 18): a delegation's meetings as merged intervals, never their titles or
//! ids; cancelled and declined ones (the meeting, or one session of it) do not count; a
//! delegation may keep them to itself (`share_busy: false`: 404 to other delegations).

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(busy_times_are_merged_intervals_without_details);

async fn busy_times_are_merged_intervals_without_details(app: TestApp) {
    let w = app.world().await;
    let book = |body: Value| {
        let (app, token) = (&app, w.token("a-scheduler").to_owned());
        async move {
            app.expect(201, "POST", "/api/v1/meetings", Some(&token), Some(body))
                .await
        }
    };
    let at = |start: &str, end: &str, title: &str| {
        json!({"title": title, "participants": [w.b], "time_zone": "UTC",
               "start": start, "end": end})
    };
    // Two overlapping meetings and one touching them: one busy time, 09:00–11:30.
    book(at("2027-03-01T09:00", "2027-03-01T10:00", "Secret talks")).await;
    book(at("2027-03-01T09:30", "2027-03-01T11:00", "Other talks")).await;
    book(at("2027-03-01T11:00", "2027-03-01T11:30", "Debrief")).await;
    // Cancelled: not busy.
    let cancelled = book(at("2027-03-02T09:00", "2027-03-02T10:00", "Off")).await;
    app.expect(
        200,
        "DELETE",
        &format!("/api/v1/meetings/{}", cancelled["id"].as_str().unwrap()),
        Some(w.token("a-scheduler")),
        None,
    )
    .await;
    // A weekly series B takes part in, one session of which B declined; B declines a single.
    let mut weekly = at("2027-03-03T15:00", "2027-03-03T16:00", "Weekly");
    weekly["recurrence"] = json!("FREQ=WEEKLY;COUNT=3");
    let weekly = book(weekly).await;
    let declined = book(at("2027-03-04T09:00", "2027-03-04T10:00", "Declined")).await;
    for (path, body) in [
        (
            format!(
                "/api/v1/meetings/{}/occurrences/2027-03-10T15:00:00Z/response",
                weekly["id"].as_str().unwrap()
            ),
            json!({"response": "declined"}),
        ),
        (
            format!(
                "/api/v1/meetings/{}/response",
                declined["id"].as_str().unwrap()
            ),
            json!({"response": "declined"}),
        ),
    ] {
        app.expect(200, "POST", &path, Some(w.token("b-scheduler")), Some(body))
            .await;
    }

    let busy = |who: &'static str, id: String, window: &'static str| {
        let app = &app;
        let token = if who == "platform" {
            w.token("platform").to_owned()
        } else {
            w.token(who).to_owned()
        };
        async move {
            app.call(
                "GET",
                &format!("/api/v1/delegations/{id}/busy?{window}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let march = "from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z";
    let response = busy("a-viewer", w.b.clone(), march).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("talks") && !text.contains("Weekly") && !text.contains("meeting_id"),
        "{text}"
    );
    let seen: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        seen,
        json!({"busy": [
            {"start_utc": "2027-03-01T09:00:00Z", "end_utc": "2027-03-01T11:30:00Z"},
            {"start_utc": "2027-03-03T15:00:00Z", "end_utc": "2027-03-03T16:00:00Z"},
            {"start_utc": "2027-03-17T15:00:00Z", "end_utc": "2027-03-17T16:00:00Z"}
        ], "unavailable": []})
    );
    // The window cuts: from 09:45 on the 1st to the 3rd.
    let cut = busy(
        "a-viewer",
        w.b.clone(),
        "from=2027-03-01T09:45:00Z&to=2027-03-03T00:00:00Z",
    )
    .await;
    let cut: Value = cut.json().await.unwrap();
    assert_eq!(
        cut["busy"],
        json!([{"start_utc": "2027-03-01T09:45:00Z", "end_utc": "2027-03-01T11:30:00Z"}])
    );
    // Bad windows.
    for window in [
        "from=2027-03-01T00:00:00Z&to=2028-03-02T00:00:00Z",
        "from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z",
        "from=yesterday&to=2027-03-01T00:00:00Z",
    ] {
        assert_eq!(
            busy("a-viewer", w.b.clone(), window).await.status(),
            422,
            "{window}"
        );
    }
    assert_eq!(
        busy("a-viewer", "no-such-delegation".into(), march)
            .await
            .status(),
        404
    );

    // B keeps its busy times to itself: 404 to A, still readable by B and the platform.
    let b_path = format!("/api/v1/delegations/{}", w.b);
    let b = app
        .expect(
            200,
            "PATCH",
            &b_path,
            Some(w.token("b-admin")),
            Some(json!({"share_busy": false})),
        )
        .await;
    assert_eq!(b["share_busy"], false);
    assert_eq!(busy("a-viewer", w.b.clone(), march).await.status(), 404);
    assert_eq!(busy("b-viewer", w.b.clone(), march).await.status(), 200);
    assert_eq!(busy("platform", w.b.clone(), march).await.status(), 200);
    // A shares by default.
    assert_eq!(busy("b-viewer", w.a.clone(), march).await.status(), 200);
}
