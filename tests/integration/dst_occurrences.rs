//! Changing one occurrence of a series whose time falls in a DST gap (the series holds it later
//! by the gap) or overlap (the series holds it at the first instant): a change of status alone
//! keeps the time as the series placed it, and a partial move measures from that time.

use serde_json::json;

use crate::calendar_rfc::book;
use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(occurrences_in_dst_gaps_and_overlaps_can_be_cancelled_and_moved);

async fn occurrences_in_dst_gaps_and_overlaps_can_be_cancelled_and_moved(app: TestApp) {
    let w = app.world().await;
    let token = w.token("a-scheduler");
    // 02:30 daily in New York: on 2027-03-14 it does not exist and is held at 03:30 EDT (07:30Z).
    let gap = book(&app, &w, json!({"time_zone": "America/New_York", "start": "2027-03-10T02:30", "end": "2027-03-10T03:00",
                                    "recurrence": "FREQ=DAILY;COUNT=10"}))
    .await;
    // 01:30 daily: on 2027-11-07 it happens twice; the series takes the first (05:30Z).
    let overlap = book(&app, &w, json!({"time_zone": "America/New_York", "start": "2027-11-03T01:30", "end": "2027-11-03T02:00",
                                        "recurrence": "FREQ=DAILY;COUNT=10"}))
    .await;
    for (series, original, start_utc) in [
        (&gap, "2027-03-14T07:30:00Z", "2027-03-14T07:30:00Z"),
        (&overlap, "2027-11-07T05:30:00Z", "2027-11-07T05:30:00Z"),
    ] {
        let path = format!(
            "/api/v1/meetings/{}/occurrences/{original}",
            series["id"].as_str().unwrap()
        );
        let cancelled = app
            .expect(
                200,
                "PUT",
                &path,
                Some(token),
                Some(json!({"status": "cancelled"})),
            )
            .await;
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["moved"], false);
        assert_eq!(cancelled["start_utc"], start_utc);
        // Back to the series' status: still in place.
        let back = app
            .expect(
                200,
                "PUT",
                &path,
                Some(token),
                Some(json!({"status": "proposed"})),
            )
            .await;
        assert_eq!(back["moved"], false);
        assert_eq!(back["start_utc"], start_utc);
    }
    // A new end alone keeps the start where the series holds it (03:30 EDT), not at 02:30.
    let path = format!(
        "/api/v1/meetings/{}/occurrences/2027-03-14T07:30:00Z",
        gap["id"].as_str().unwrap()
    );
    let longer = app
        .expect(
            200,
            "PUT",
            &path,
            Some(token),
            Some(json!({"end": "2027-03-14T04:30"})),
        )
        .await;
    assert_eq!(longer["start_utc"], "2027-03-14T07:30:00Z");
    assert_eq!(longer["end_utc"], "2027-03-14T08:30:00Z");
}
