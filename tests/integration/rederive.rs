//! Re-derivation after a change of the tz rules, for series: the first occurrence, the keys of
//! moved and cancelled occurrences, moved instants (with their disambiguation), the span columns
//! and `sequence` all follow the wall-clock truth.
//!
//! The change of rules is simulated through the seam the code uses: rows marked as derived by
//! another tz database version, with every stored instant an hour off, as older rules for the
//! zone would have put them. The next start re-derives them with the bundled rules.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use entente::store::schema::{
    meeting_overrides as mo, meeting_participants as mp, meetings, occurrence_answers as oa,
};
use serde_json::{json, Value};

use crate::calendar_rfc::book;
use crate::helpers::{TestApp, TestDatabase, World};
use crate::persistence::store;
use crate::with_both_databases;

with_both_databases!(series_overrides_spans_and_sequence_follow_new_tz_rules);

async fn put(app: &TestApp, w: &World, id: &str, original: &str, change: Value) -> Value {
    app.expect(
        200,
        "PUT",
        &format!("/api/v1/meetings/{id}/occurrences/{original}"),
        Some(w.token("a-scheduler")),
        Some(change),
    )
    .await
}

/// A series booked as `booking`, with each (original start, change) applied in turn: its id.
async fn series_with(
    app: &TestApp,
    w: &World,
    booking: Value,
    changes: &[(&str, Value)],
) -> String {
    let series = book(app, w, booking).await;
    let id = series["id"].as_str().unwrap().to_owned();
    puts(app, w, &id, changes).await;
    id
}

/// `put` of each (original start, change) in turn.
async fn puts(app: &TestApp, w: &World, id: &str, changes: &[(&str, Value)]) {
    for (original, change) in changes {
        put(app, w, id, original, change.clone()).await;
    }
}

/// Every occurrence of `id` in 2027 as (recurrence_id, start_utc, end_utc, status).
async fn occurrences(app: &TestApp, token: &str, id: &str) -> Vec<(Value, Value, Value, Value)> {
    let mut out = Vec::new();
    for (from, to) in [("2027-01-01", "2027-07-01"), ("2027-07-01", "2028-01-01")] {
        let schedule = app
            .expect(
                200,
                "GET",
                &format!("/api/v1/schedule?from={from}T00:00:00Z&to={to}T00:00:00Z&tz=UTC&include_cancelled=true"),
                Some(token),
                None,
            )
            .await;
        for o in schedule["occurrences"].as_array().unwrap() {
            if o["meeting_id"] == id {
                out.push((
                    o["recurrence_id"].clone(),
                    o["start_utc"].clone(),
                    o["end_utc"].clone(),
                    o["status"].clone(),
                ));
            }
        }
    }
    out
}

type Spans = Vec<(NaiveDateTime, NaiveDateTime)>;

/// The meeting's span and its participants' copies.
fn spans(db: &TestDatabase, id: &str) -> Spans {
    let store = store(db);
    let mut conn = store.connection().unwrap();
    let mut out: Spans = meetings::table
        .filter(meetings::id.eq(id))
        .select((meetings::span_start_utc, meetings::span_end_utc))
        .load(&mut conn)
        .unwrap();
    out.extend(
        mp::table
            .filter(mp::meeting_id.eq(id))
            .select((mp::span_start_utc, mp::span_end_utc))
            .load::<(NaiveDateTime, NaiveDateTime)>(&mut conn)
            .unwrap(),
    );
    out
}

/// What older rules would have stored: every instant of the meeting an hour later.
fn derive_with_older_rules(db: &TestDatabase, id: &str, shift: TimeDelta) {
    let store = store(db);
    let mut conn = store.connection().unwrap();
    let (start, end, span_start, span_end): (
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
    ) = meetings::table
        .filter(meetings::id.eq(id))
        .select((
            meetings::start_utc,
            meetings::end_utc,
            meetings::span_start_utc,
            meetings::span_end_utc,
        ))
        .first(&mut conn)
        .unwrap();
    diesel::update(meetings::table.filter(meetings::id.eq(id)))
        .set((
            meetings::tzdb_version.eq("2010a"),
            meetings::start_utc.eq(start + shift),
            meetings::end_utc.eq(end + shift),
            meetings::span_start_utc.eq(span_start + shift),
            meetings::span_end_utc.eq(span_end + shift),
        ))
        .execute(&mut conn)
        .unwrap();
    diesel::update(mp::table.filter(mp::meeting_id.eq(id)))
        .set((
            mp::span_start_utc.eq(span_start + shift),
            mp::span_end_utc.eq(span_end + shift),
        ))
        .execute(&mut conn)
        .unwrap();
    // Answers to single sessions are keyed by the same original starts.
    let answered: Vec<NaiveDateTime> = oa::table
        .filter(oa::meeting_id.eq(id))
        .select(oa::original_start_utc)
        .order(oa::original_start_utc.desc())
        .distinct()
        .load(&mut conn)
        .unwrap();
    for original in answered {
        diesel::update(
            oa::table
                .filter(oa::meeting_id.eq(id))
                .filter(oa::original_start_utc.eq(original)),
        )
        .set(oa::original_start_utc.eq(original + shift))
        .execute(&mut conn)
        .unwrap();
    }
    let overrides: Vec<(NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>)> = mo::table
        .filter(mo::meeting_id.eq(id))
        .select((mo::original_start_utc, mo::start_utc, mo::end_utc))
        .order(mo::original_start_utc.desc())
        .load(&mut conn)
        .unwrap();
    for (original, start, end) in overrides {
        diesel::update(
            mo::table
                .filter(mo::meeting_id.eq(id))
                .filter(mo::original_start_utc.eq(original)),
        )
        .set((
            mo::original_start_utc.eq(original + shift),
            mo::start_utc.eq(start.map(|t| t + shift)),
            mo::end_utc.eq(end.map(|t| t + shift)),
        ))
        .execute(&mut conn)
        .unwrap();
    }
}

async fn series_overrides_spans_and_sequence_follow_new_tz_rules(db: TestDatabase) {
    let app = db.spawn_app().await;
    let w = app.world().await;
    // Tuesdays 10:00 in New York, twenty sessions across the March DST change: one moved to
    // the next day, one cancelled, the last moved a week later (beyond the series' end).
    let weekly = book(&app, &w, json!({"time_zone": "America/New_York", "start": "2027-01-05T10:00", "end": "2027-01-05T11:00",
                             "recurrence": "FREQ=WEEKLY;BYDAY=TU;COUNT=20"}))
    .await;
    let weekly = weekly["id"].as_str().unwrap().to_owned();
    puts(
        &app,
        &w,
        &weekly,
        &[
            ("2027-03-16T14:00:00Z", json!({"start": "2027-03-17T09:00"})),
            ("2027-04-13T14:00:00Z", json!({"status": "cancelled"})),
        ],
    )
    .await;
    let last = put(
        &app,
        &w,
        &weekly,
        "2027-05-18T14:00:00Z",
        json!({"start": "2027-05-25T10:00"}),
    )
    .await;
    let sequence = last["sequence"].as_i64().unwrap();
    // B declines one session (26 January, 10:00 in New York).
    let declined_session = format!("/api/v1/meetings/{weekly}/occurrences/2027-01-26T15:00:00Z");
    app.expect(
        200,
        "POST",
        &format!("{declined_session}/response"),
        Some(w.token("b-scheduler")),
        Some(json!({"response": "declined"})),
    )
    .await;
    // Sundays; the session of 2027-11-07 moved to the second 01:15 of that night.
    let sundays = book(&app, &w, json!({"time_zone": "America/New_York", "start": "2027-10-03T10:00", "end": "2027-10-03T11:00",
                              "recurrence": "FREQ=WEEKLY;BYDAY=SU;COUNT=8"}))
    .await;
    let sundays = sundays["id"].as_str().unwrap().to_owned();
    puts(
        &app,
        &w,
        &sundays,
        &[
            ("2027-11-07T15:00:00Z", json!({"start": "2027-11-07T01:15", "end": "2027-11-07T02:15", "disambiguation": "later"})),
        ],
    )
    .await;
    // Derived with an older version whose rules for the zone were the same: nothing moves.
    let untouched = book(
        &app,
        &w,
        json!({"time_zone": "Europe/Paris", "start": "2027-02-01T10:00", "end": "2027-02-01T11:00",
                                "recurrence": "FREQ=MONTHLY;COUNT=6"}),
    )
    .await;
    let untouched = untouched["id"].as_str().unwrap().to_owned();

    let viewer = w.token("b-viewer").to_owned();
    let before_weekly = occurrences(&app, &viewer, &weekly).await;
    let before_sundays = occurrences(&app, &viewer, &sundays).await;
    assert_eq!(before_weekly.len(), 20);
    assert!(before_sundays.contains(&(
        json!("2027-11-07T15:00:00Z"),
        json!("2027-11-07T06:15:00Z"),
        json!("2027-11-07T07:15:00Z"),
        json!("proposed")
    )));
    // B's feed, as a calendar client last fetched it.
    let feed = app
        .expect(
            201,
            "POST",
            "/api/v1/feeds",
            Some(&viewer),
            Some(json!({"name": "B's meetings"})),
        )
        .await;
    let feed = feed["url"].as_str().unwrap().to_owned();
    let (fetched, feed_before) = crate::calendar::ics(&app, &feed, None).await;
    let etag_before = fetched["etag"].to_str().unwrap().to_owned();
    let db = app.stop().await;
    let spans_before = (spans(&db, &weekly), spans(&db, &sundays));
    derive_with_older_rules(&db, &weekly, TimeDelta::hours(1));
    derive_with_older_rules(&db, &sundays, TimeDelta::hours(1));
    derive_with_older_rules(&db, &untouched, TimeDelta::zero());

    let app = db.spawn_app().await;
    let token = app.login("b-viewer", crate::helpers::USER_PASSWORD).await;
    assert_eq!(occurrences(&app, &token, &weekly).await, before_weekly);
    assert_eq!(occurrences(&app, &token, &sundays).await, before_sundays);
    let get = |id: String| {
        let (app, token) = (&app, token.clone());
        async move {
            app.expect(
                200,
                "GET",
                &format!("/api/v1/meetings/{id}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let now = get(weekly.clone()).await;
    assert_eq!(now["start_utc"], "2027-01-05T15:00:00Z");
    assert_eq!(
        now["sequence"],
        sequence + 1,
        "clients must pick the change up"
    );
    assert_eq!(get(untouched.clone()).await["sequence"], 0, "nothing moved");
    // The session B declined is still the one declined (its answer followed its key).
    let january = app
        .expect(
            200,
            "GET",
            "/api/v1/schedule?from=2027-01-25T00:00:00Z&to=2027-01-28T00:00:00Z&tz=UTC",
            Some(&token),
            None,
        )
        .await;
    let session = january["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["meeting_id"] == weekly.as_str())
        .unwrap();
    assert_eq!(session["recurrence_id"], "2027-01-26T15:00:00Z");
    assert_eq!(session["agreement"]["state"], "declined", "{session}");
    // The feed moves with the re-derivation: a new validator and the new SEQUENCE, so a client
    // revalidating with what it holds gets the change.
    let (fetched, feed_after) = crate::calendar::ics(&app, &feed, None).await;
    assert_ne!(fetched["etag"].to_str().unwrap(), etag_before);
    let sequence_line = format!("SEQUENCE:{}\r\n", sequence + 1);
    assert!(!feed_before.contains(&sequence_line) && feed_after.contains(&sequence_line));
    let revalidated = app
        .client
        .get(app.url(&feed))
        .header("if-none-match", &etag_before)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 200);
    // The exported series: the moved and cancelled sessions still belong to it.
    let text = app
        .call(
            "GET",
            &format!("/api/v1/meetings/{weekly}.ics"),
            Some(&token),
            None,
        )
        .await
        .text()
        .await
        .unwrap()
        .replace("\r\n ", "");
    for line in [
        "EXDATE;TZID=America/New_York:20270413T100000",
        "RECURRENCE-ID;TZID=America/New_York:20270316T100000",
        "RECURRENCE-ID;TZID=America/New_York:20270518T100000",
    ] {
        assert!(text.contains(line), "{line} missing from {text}");
    }
    let db = app.stop().await;
    assert_eq!(
        (spans(&db, &weekly), spans(&db, &sundays)),
        spans_before,
        "spans, the participants' copies included, follow"
    );
}

with_both_databases!(a_series_moved_to_another_zone_keeps_its_overrides_through_rederivation);

/// A series moved to another zone at the same instants (10:00 New York = 09:00 Chicago, all
/// year) keeps its overrides; their wall-clock times are restated in the new zone, so a later
/// re-derivation starts from the right ones.
async fn a_series_moved_to_another_zone_keeps_its_overrides_through_rederivation(db: TestDatabase) {
    let app = db.spawn_app().await;
    let w = app.world().await;
    let id = series_with(
        &app,
        &w,
        json!({"time_zone": "America/New_York", "start": "2027-01-05T10:00", "end": "2027-01-05T11:00",
                                       "recurrence": "FREQ=WEEKLY;BYDAY=TU;COUNT=20"}),
        &[
            ("2027-03-16T14:00:00Z", json!({"start": "2027-03-17T09:00"})),
            ("2027-04-13T14:00:00Z", json!({"status": "cancelled"})),
        ],
    )
    .await;
    let moved = app
        .expect(
            200,
            "PATCH",
            &format!("/api/v1/meetings/{id}"),
            Some(w.token("a-scheduler")),
            Some(json!({"time_zone": "America/Chicago", "start": "2027-01-05T09:00", "end": "2027-01-05T10:00"})),
        )
        .await;
    assert_eq!(moved["orphaned_occurrences"], Value::Null, "{moved}");
    let viewer = w.token("b-viewer").to_owned();
    let before = occurrences(&app, &viewer, &id).await;
    assert!(before.contains(&(
        json!("2027-03-16T14:00:00Z"),
        json!("2027-03-17T13:00:00Z"),
        json!("2027-03-17T14:00:00Z"),
        json!("proposed")
    )));
    let db = app.stop().await;
    derive_with_older_rules(&db, &id, TimeDelta::hours(1));
    let app = db.spawn_app().await;
    let token = app.login("b-viewer", crate::helpers::USER_PASSWORD).await;
    assert_eq!(occurrences(&app, &token, &id).await, before);
}

with_both_databases!(overrides_from_before_the_wall_clock_column_get_it_at_the_next_start);

/// Overrides written before their wall-clock original start was stored get it at the next
/// start: as the series names the occurrence, so a session shifted out of the DST gap (02:30 on
/// 2027-03-14 in New York is held at 03:30) is remembered as 02:30.
async fn overrides_from_before_the_wall_clock_column_get_it_at_the_next_start(db: TestDatabase) {
    let app = db.spawn_app().await;
    let w = app.world().await;
    let id = series_with(
        &app,
        &w,
        json!({"time_zone": "America/New_York", "start": "2027-03-10T02:30", "end": "2027-03-10T03:00",
                                       "recurrence": "FREQ=DAILY;COUNT=10"}),
        &[
            ("2027-03-14T07:30:00Z", json!({"status": "cancelled"})),
            ("2027-03-15T06:30:00Z", json!({"start": "2027-03-15T09:00"})),
        ],
    )
    .await;
    let db = app.stop().await;
    let column = |db: &TestDatabase| {
        let store = store(db);
        let mut conn = store.connection().unwrap();
        mo::table
            .filter(mo::meeting_id.eq(&id))
            .select(mo::original_start_local)
            .order(mo::original_start_utc.asc())
            .load::<Option<NaiveDateTime>>(&mut conn)
            .unwrap()
    };
    let written = column(&db);
    {
        let store = store(&db);
        let mut conn = store.connection().unwrap();
        diesel::update(mo::table.filter(mo::meeting_id.eq(&id)))
            .set(mo::original_start_local.eq(None::<NaiveDateTime>))
            .execute(&mut conn)
            .unwrap();
    }
    let app = db.spawn_app().await;
    let db = app.stop().await;
    let local = |s: &str| Some(NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap());
    assert_eq!(
        written,
        [local("2027-03-14T02:30"), local("2027-03-15T02:30")]
    );
    assert_eq!(column(&db), written);
}
