//! What independent calendar readers and HTTP caches rely on (issue 11): instants that RFC 5545
//! readers place where /schedule does (the second instant of a DST overlap), one complete
//! VTIMEZONE per zone, RFC 6868 parameter values, HEAD, weak validators and `Allow`.

use serde_json::{json, Value};

use crate::calendar::{components, get, ics, param};
use crate::helpers::{TestApp, World};
use crate::on_both_backends;

on_both_backends!(
    overlap_instants_booked_later_are_written_so_readers_get_them,
    one_complete_vtimezone_per_zone_in_every_file,
    a_quote_in_a_delegation_name_is_encoded_in_cn,
    head_answers_like_get_without_a_body,
    a_weak_validator_gets_304,
    options_and_405_list_only_methods_that_exist,
    the_feed_list_pages_like_every_list,
);

pub(crate) async fn book(app: &TestApp, w: &World, body: Value) -> Value {
    let mut body = body;
    body["title"] = json!("Consultations");
    body["participants"] = json!([w.b]);
    app.expect(
        201,
        "POST",
        "/api/v1/meetings",
        Some(w.token("a-scheduler")),
        Some(body),
    )
    .await
}

/// An hour in Moscow on 2027-03-01.
async fn a_meeting(app: &TestApp, w: &World) -> Value {
    book(
        app,
        w,
        json!({"time_zone": "Europe/Moscow", "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"}),
    )
    .await
}

/// A new feed of a-viewer's: its URL.
async fn feed_url(app: &TestApp, w: &World) -> String {
    let feed = app
        .expect(
            201,
            "POST",
            "/api/v1/feeds",
            Some(w.token("a-viewer")),
            Some(json!({"name": "All"})),
        )
        .await;
    feed["url"].as_str().unwrap().to_owned()
}

fn vevents(text: &str) -> Vec<crate::calendar::Props> {
    components(text)
        .into_iter()
        .filter(|(name, _)| name == "VEVENT")
        .map(|(_, props)| props)
        .collect()
}

async fn ics_of(app: &TestApp, w: &World, id: &str) -> String {
    ics(
        app,
        &format!("/api/v1/meetings/{id}.ics"),
        Some(w.token("a-viewer")),
    )
    .await
    .1
}

/// 01:15 on 2027-11-07 happens twice in New York, 01:45 on 2027-04-04 twice on Lord Howe
/// Island. RFC 5545 §3.3.5 readers take the first instant of a TZID time, so a meeting booked
/// `later` is written in UTC: DTSTART/DTEND of a single meeting, and a moved occurrence.
async fn overlap_instants_booked_later_are_written_so_readers_get_them(app: TestApp) {
    let w = app.world().await;
    for (zone, start, end, start_utc, ical_start, ical_end) in [
        (
            "America/New_York",
            "2027-11-07T01:15",
            "2027-11-07T02:30",
            "2027-11-07T06:15:00Z",
            "20271107T061500Z",
            "20271107T073000Z",
        ),
        (
            "Australia/Lord_Howe",
            "2027-04-04T01:45",
            "2027-04-04T03:00",
            "2027-04-03T15:15:00Z",
            "20270403T151500Z",
            "20270403T163000Z",
        ),
    ] {
        let m = book(
            &app,
            &w,
            json!({"time_zone": zone, "start": start, "end": end, "disambiguation": "later"}),
        )
        .await;
        assert_eq!(m["start_utc"], start_utc);
        let id = m["id"].as_str().unwrap();
        let events = vevents(&ics_of(&app, &w, id).await);
        assert_eq!(get(&events[0], "DTSTART"), Some(ical_start), "{zone}");
        assert_eq!(param(&events[0], "DTSTART", "TZID"), None, "{zone}");
        assert_eq!(get(&events[0], "DTEND"), Some(ical_end), "{zone}");
        // The same meeting booked `earlier` keeps its zone.
        let m = book(
            &app,
            &w,
            json!({"time_zone": zone, "start": start, "end": end, "disambiguation": "earlier"}),
        )
        .await;
        let events = vevents(&ics_of(&app, &w, m["id"].as_str().unwrap()).await);
        assert_eq!(param(&events[0], "DTSTART", "TZID"), Some(zone));
    }

    // A Sunday series in New York; the session of 2027-11-07 (10:00 EST = 15:00Z) moved to
    // the second 01:15 of that night.
    let series = book(
        &app,
        &w,
        json!({"time_zone": "America/New_York", "start": "2027-10-03T10:00", "end": "2027-10-03T11:00",
               "recurrence": "FREQ=WEEKLY;BYDAY=SU;COUNT=8"}),
    )
    .await;
    let id = series["id"].as_str().unwrap();
    let moved = app
        .expect(
            200,
            "PUT",
            &format!("/api/v1/meetings/{id}/occurrences/2027-11-07T15:00:00Z"),
            Some(w.token("a-scheduler")),
            Some(json!({"start": "2027-11-07T01:15", "end": "2027-11-07T02:15", "disambiguation": "later"})),
        )
        .await;
    assert_eq!(moved["start_utc"], "2027-11-07T06:15:00Z");
    let schedule = app
        .expect(
            200,
            "GET",
            "/api/v1/schedule?from=2027-11-07T00:00:00Z&to=2027-11-08T00:00:00Z&tz=UTC",
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    let ours: Vec<&Value> = schedule["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["meeting_id"] == id)
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["start_utc"], "2027-11-07T06:15:00Z");
    let events = vevents(&ics_of(&app, &w, id).await);
    let over = events
        .iter()
        .find(|e| get(e, "RECURRENCE-ID").is_some())
        .unwrap();
    assert_eq!(get(over, "DTSTART"), Some("20271107T061500Z"));
    assert_eq!(get(over, "DTEND"), Some("20271107T071500Z"));
    assert_eq!(get(over, "RECURRENCE-ID"), Some("20271107T100000"));
    assert_eq!(
        param(over, "RECURRENCE-ID", "TZID"),
        Some("America/New_York")
    );
}

fn vtimezone_block<'a>(text: &'a str, zone: &str) -> &'a str {
    let begin = text
        .find(&format!("BEGIN:VTIMEZONE\r\nTZID:{zone}\r\n"))
        .unwrap_or_else(|| panic!("no VTIMEZONE for {zone}"));
    let end = text[begin..].find("END:VTIMEZONE\r\n").unwrap() + begin;
    &text[begin..end]
}

/// A reader that keeps the first definition of a TZID (vobject) must not go wrong: every file
/// carries the same complete definition, with the current rule as an open RRULE.
async fn one_complete_vtimezone_per_zone_in_every_file(app: TestApp) {
    let w = app.world().await;
    let soon = book(
        &app,
        &w,
        json!({"time_zone": "America/New_York", "start": "2027-01-05T10:00", "end": "2027-01-05T11:00"}),
    )
    .await;
    let far = book(
        &app,
        &w,
        json!({"time_zone": "America/New_York", "start": "2040-07-03T10:00", "end": "2040-07-03T11:00",
               "recurrence": "FREQ=MONTHLY"}),
    )
    .await;
    let a = ics_of(&app, &w, soon["id"].as_str().unwrap()).await;
    let b = ics_of(&app, &w, far["id"].as_str().unwrap()).await;
    let feed = feed_url(&app, &w).await;
    let (_, c) = ics(&app, &feed, None).await;
    let zone = vtimezone_block(&a, "America/New_York");
    assert_eq!(zone, vtimezone_block(&b, "America/New_York"));
    assert_eq!(zone, vtimezone_block(&c, "America/New_York"));
    assert!(
        zone.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"),
        "{zone}"
    );
    assert!(
        zone.contains("RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"),
        "{zone}"
    );
    // Only zones named by a TZID are defined.
    assert_eq!(c.matches("BEGIN:VTIMEZONE").count(), 1);
}

async fn a_quote_in_a_delegation_name_is_encoded_in_cn(app: TestApp) {
    let w = app.world().await;
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/delegations/{}", w.a),
        Some(w.token("platform")),
        Some(json!({"name": "Delegation \"AAA\"; the ^ mission"})),
    )
    .await;
    let m = a_meeting(&app, &w).await;
    let text = ics_of(&app, &w, m["id"].as_str().unwrap()).await;
    let unfolded = text.replace("\r\n ", "");
    assert!(
        unfolded.contains("ORGANIZER;CN=\"Delegation ^'AAA^'; the ^^ mission\":"),
        "{unfolded}"
    );
    components(&text);
}

struct Seen {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

async fn seen(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> Seen {
    let response = app.call(method, path, token, None).await;
    Seen {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

/// RFC 9110 §9.3.2: HEAD is GET without content — same status and header fields.
async fn head_answers_like_get_without_a_body(app: TestApp) {
    let w = app.world().await;
    let m = a_meeting(&app, &w).await;
    let id = m["id"].as_str().unwrap();
    let feed = feed_url(&app, &w).await;
    let viewer = Some(w.token("a-viewer"));
    for (path, token) in [
        ("/healthz".to_owned(), None),
        ("/readyz".to_owned(), None),
        ("/openapi.json".to_owned(), None),
        (feed.clone(), None),
        (format!("/api/v1/meetings/{id}.ics"), viewer),
        (format!("/api/v1/meetings/{id}"), viewer),
        ("/api/v1/me".to_owned(), viewer),
        ("/api/v1/me".to_owned(), None),
        ("/api/v1/meetings/nothing-here".to_owned(), viewer),
    ] {
        let get = seen(&app, "GET", &path, token).await;
        let head = seen(&app, "HEAD", &path, token).await;
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} sent a body");
        for name in ["content-type", "etag", "cache-control", "allow"] {
            assert_eq!(
                head.headers.get(name),
                get.headers.get(name),
                "HEAD {path}: {name}"
            );
        }
        assert_eq!(
            head.headers["content-length"].to_str().unwrap(),
            get.body.len().to_string(),
            "HEAD {path}: Content-Length is the GET body's"
        );
    }
    // A route without GET has no HEAD either.
    let head = seen(&app, "HEAD", "/api/v1/auth/login", None).await;
    assert_eq!(head.status, 405);
    assert_eq!(head.headers["allow"], "POST, OPTIONS");
}

/// RFC 9110 §13.1.2: If-None-Match uses the weak comparison, so a validator a proxy weakened
/// (`W/"…"`) still gets 304.
async fn a_weak_validator_gets_304(app: TestApp) {
    let w = app.world().await;
    let m = a_meeting(&app, &w).await;
    let feed = feed_url(&app, &w).await;
    let client = reqwest::Client::new();
    for (path, token) in [
        (feed.clone(), None),
        (
            format!("/api/v1/meetings/{}.ics", m["id"].as_str().unwrap()),
            Some(w.token("a-viewer")),
        ),
    ] {
        let (headers, _) = ics(&app, &path, token).await;
        let etag = headers["etag"].to_str().unwrap().to_owned();
        for (method, validator, status) in [
            ("GET", format!("W/{etag}"), 304),
            ("GET", format!("\"other\", W/{etag}"), 304),
            ("HEAD", format!("W/{etag}"), 304),
            ("GET", "W/\"other\"".to_owned(), 200),
        ] {
            let mut request = client
                .request(method.parse().unwrap(), app.url(&path))
                .header("if-none-match", &validator);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                status,
                "{method} {path} If-None-Match: {validator}"
            );
            if status == 304 {
                assert_eq!(response.headers()["etag"], etag.as_str());
                assert!(response.bytes().await.unwrap().is_empty());
            }
        }
    }
}

/// OPTIONS answers 204 with the methods the resource has; `/meetings/{id}.ics` is its own
/// resource (GET, HEAD), not `/meetings/{id}` (GET, PATCH, DELETE).
async fn options_and_405_list_only_methods_that_exist(app: TestApp) {
    let w = app.world().await;
    for (path, allow) in [
        ("/api/v1/meetings/x.ics", "GET, HEAD, OPTIONS"),
        ("/api/v1/meetings/x", "GET, HEAD, PATCH, DELETE, OPTIONS"),
        ("/api/v1/meetings", "GET, HEAD, POST, OPTIONS"),
        ("/healthz", "GET, HEAD, OPTIONS"),
        ("/feeds/x.ics", "GET, HEAD, OPTIONS"),
    ] {
        let options = seen(&app, "OPTIONS", path, Some(w.token("a-viewer"))).await;
        assert_eq!(options.status, 204, "OPTIONS {path}");
        assert_eq!(options.headers["allow"], allow, "OPTIONS {path}");
    }
    let put = app
        .call(
            "PUT",
            "/api/v1/meetings/x.ics",
            Some(w.token("a-admin")),
            None,
        )
        .await;
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["allow"], "GET, HEAD, OPTIONS");
}

/// `GET /api/v1/feeds` answers `{items, next_cursor}` and follows the common paging rules.
async fn the_feed_list_pages_like_every_list(app: TestApp) {
    let w = app.world().await;
    let token = Some(w.token("a-viewer"));
    for _ in 0..3 {
        feed_url(&app, &w).await;
    }
    let first = app
        .expect(200, "GET", "/api/v1/feeds?limit=2", token, None)
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/feeds?limit=2&cursor={cursor}"),
            token,
            None,
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);
    assert_ne!(second["items"][0]["id"], first["items"][1]["id"]);
    for query in ["limit=0", "limit=-1", "limit=501", "cursor=not-a-cursor!"] {
        app.expect_problem(
            422,
            "validation",
            "GET",
            &format!("/api/v1/feeds?{query}"),
            token,
            None,
        )
        .await;
    }
}
