//! Time windows are read from the window (store::windows): a single meeting that began up to 31
//! days before the window, and a series that began years before, are in it; what ended at its
//! start is not. On both backends, through the list, the schedule and conflict detection.

use entente::domain::stored::MeetingId;
use entente::service::meetings::{Meeting, Occurrence, Schedule};
use entente::service::Page;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    windows_find_long_meetings_and_old_series,
    a_window_holds_only_what_is_in_it_and_visible
);

/// A meeting the viewer may see but outside the window, and one inside the window that the
/// viewer may not see, are both absent from the windowed list and schedule; the one inside and
/// visible is there.
async fn a_window_holds_only_what_is_in_it_and_visible(app: TestApp) {
    let w = app.world().await;
    let platform = w.token("platform");
    let c = app
        .create_delegation(platform, "CCC", "Asia/Shanghai")
        .await;
    let c_scheduler = app
        .create_user(platform, &c, "c-scheduler", "scheduler")
        .await;
    assert!(!c_scheduler.is_empty());
    let c_token = app
        .login("c-scheduler", crate::helpers::USER_PASSWORD)
        .await;
    let book = |participant: &str, title: &str, start: &str, end: &str| {
        json!({"title": title, "participants": [participant], "time_zone": "UTC",
               "start": start, "end": end})
    };
    let inside = app
        .book(
            w.token("a-scheduler"),
            book(&w.b, "Inside", "2028-05-10T09:00", "2028-05-10T10:00"),
        )
        .await;
    // Visible to A (it takes part), a day after the window.
    app.book(
        w.token("a-scheduler"),
        book(&w.b, "After", "2028-05-15T00:00", "2028-05-15T01:00"),
    )
    .await;
    // In the window, between B and C: A may not see it.
    app.book(
        &c_token,
        book(&w.b, "Foreign", "2028-05-10T09:00", "2028-05-10T10:00"),
    )
    .await;
    let window = "from=2028-05-08T00:00:00Z&to=2028-05-15T00:00:00Z";
    let (listed, occurring) = in_window(&app, w.token("a-viewer"), window).await;
    let titles: Vec<&str> = listed.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(titles, ["Inside"]);
    assert_eq!(listed[0].id, inside.id);
    let titles: Vec<&str> = occurring.iter().map(|o| o.title.as_str()).collect();
    assert_eq!(titles, ["Inside"]);
}

/// What `token` sees in the window: the list's meetings and the schedule's occurrences (UTC).
async fn in_window(app: &TestApp, token: &str, window: &str) -> (Vec<Meeting>, Vec<Occurrence>) {
    let list = format!("/api/v1/meetings?{window}");
    let page: Page<Meeting> = app.expect_as(200, "GET", &list, Some(token), None).await;
    let schedule = format!("/api/v1/schedule?{window}&tz=UTC");
    let schedule: Schedule = app
        .expect_as(200, "GET", &schedule, Some(token), None)
        .await;
    (page.items, schedule.occurrences)
}

async fn windows_find_long_meetings_and_old_series(app: TestApp) {
    let w = app.world().await;
    let scheduler = w.token("a-scheduler");
    let book = |title: &str, start: &str, end: &str, rule: Option<&str>| {
        json!({"title": title, "participants": [w.b], "time_zone": "UTC", "start": start,
               "end": end, "recurrence": rule})
    };
    // A conference of 30 days that began 26 days before the window.
    let long = app
        .book(
            scheduler,
            book("Conference", "2029-02-04T09:00", "2029-03-06T09:00", None),
        )
        .await;
    // A weekly series that began three years before.
    let series = app
        .book(
            scheduler,
            book(
                "Weekly",
                "2026-03-02T10:00",
                "2026-03-02T11:00",
                Some("FREQ=WEEKLY;BYDAY=MO"),
            ),
        )
        .await;
    // Ended exactly at the window's start: not in it.
    let before = app
        .book(
            scheduler,
            book("Before", "2029-03-01T08:00", "2029-03-02T00:00", None),
        )
        .await;
    let window = "from=2029-03-02T00:00:00Z&to=2029-03-09T00:00:00Z";

    for viewer in ["a-viewer", "b-viewer"] {
        let (listed, occurring) = in_window(&app, w.token(viewer), window).await;
        let ids: Vec<&MeetingId> = listed.iter().map(|m| &m.id).collect();
        assert_eq!(ids, [&series.id, &long.id], "{viewer}");
        let titles: Vec<&str> = occurring.iter().map(|o| o.title.as_str()).collect();
        assert_eq!(titles, ["Conference", "Weekly"], "{viewer}");
    }
    assert!(!before.id.as_str().is_empty());

    // A booking in the window conflicts with both, found through the same paths.
    let overlapping = app
        .book(
            scheduler,
            book("Overlap", "2029-03-05T10:30", "2029-03-05T11:30", None),
        )
        .await;
    let mut conflicting: Vec<String> = overlapping
        .conflicts
        .unwrap()
        .into_iter()
        .filter(|c| c.delegation_id.as_str() == w.a)
        .filter_map(|c| c.meeting_id.map(|m| m.into_string()))
        .collect();
    conflicting.sort();
    let mut expected = vec![long.id.into_string(), series.id.into_string()];
    expected.sort();
    assert_eq!(conflicting, expected);
}
