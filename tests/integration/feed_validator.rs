//! A feed's validator follows what the feed shows (issue 16): every change to its meetings, their
//! answers, occurrences or parties' names gives a new ETag and the new content; nothing else
//! does — not a second request, not a second instance on the same database, not a restart. A
//! cached rendering is the one a fresh rendering gives.

use std::cmp::Ordering;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::calendar::ics;
use crate::helpers::{TestApp, TestDatabase, World, USER_PASSWORD};
use crate::{on_both_backends, with_both_databases};

with_both_databases!(a_feed_validator_follows_what_the_feed_shows);
on_both_backends!(
    feeds_are_compressed_on_request_and_kept_for_the_refresh_interval,
    a_visible_feed_follows_confidentiality_and_forums,
    last_modified_follows_what_the_feed_shows
);

fn etag(headers: &HeaderMap) -> String {
    headers["etag"].to_str().unwrap().to_owned()
}

/// A change, by whom, and what the feed then shows more of (`more`) or less of.
struct Change {
    what: &'static str,
    method: &'static str,
    path: String,
    who: &'static str,
    body: Option<Value>,
    shows: &'static str,
    more: bool,
}

/// RFC 5545 §3.1: long lines are folded (CRLF and a space).
fn unfolded(text: &str) -> String {
    text.replace("\r\n ", "")
}

/// A feed of B's viewer (the meetings B takes part in); its URL.
async fn feed_of_b(app: &TestApp, w: &World) -> String {
    feed_of_b_scoped(app, w, "participating").await
}

/// A feed of B's viewer with this scope; its URL.
async fn feed_of_b_scoped(app: &TestApp, w: &World, scope: &str) -> String {
    let feed = app
        .expect(
            201,
            "POST",
            "/api/v1/feeds",
            Some(w.token("b-viewer")),
            Some(json!({"name": format!("Ours, {scope}"), "scope": scope})),
        )
        .await;
    feed["url"].as_str().unwrap().to_owned()
}

/// GETs the feed with `If-None-Match: etag` and expects `status`.
async fn revalidate(app: &TestApp, url: &str, etag: &str, status: u16) {
    let response = app
        .client
        .get(app.url(url))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), status, "If-None-Match {etag}");
}

async fn a_feed_validator_follows_what_the_feed_shows(db: TestDatabase) {
    let second_config = db.config(&[]);
    let app = db.spawn_app().await;
    let w = app.world().await;
    let book = |body: Value| {
        let app = &app;
        let token = w.token("a-scheduler").to_owned();
        async move {
            app.expect(201, "POST", "/api/v1/meetings", Some(&token), Some(body))
                .await
        }
    };
    let single = book(json!({"title": "Consultations", "participants": [w.b],
        "time_zone": "Europe/Moscow", "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"}))
    .await;
    let series = book(json!({"title": "Monthly", "participants": [w.b],
        "time_zone": "Europe/Moscow", "start": "2027-01-05T15:00", "end": "2027-01-05T16:00",
        "recurrence": "FREQ=MONTHLY;BYDAY=1TU;COUNT=6"}))
    .await;
    let c = app
        .create_delegation(w.token("platform"), "CCC", "Asia/Shanghai")
        .await;
    let leaving = book(json!({"title": "Leaving", "participants": [w.b],
        "time_zone": "UTC", "start": "2027-05-03T10:00", "end": "2027-05-03T11:00"}))
    .await;
    let url = feed_of_b(&app, &w).await;

    // Unchanged: the same validator and body, and 304 for it.
    let (headers, mut text) = ics(&app, &url, None).await;
    let mut current = etag(&headers);
    let (again, same) = ics(&app, &url, None).await;
    assert_eq!((etag(&again), &same), (current.clone(), &text));
    revalidate(&app, &url, &current, 304).await;

    let single_path = format!("/api/v1/meetings/{}", single["id"].as_str().unwrap());
    let series_id = series["id"].as_str().unwrap();
    let change = |what, method, path: String, who, body: Option<Value>, shows| Change {
        what,
        method,
        path,
        who,
        body,
        shows,
        more: true,
    };
    let changes = vec![
        change(
            "an answer",
            "POST",
            format!("{single_path}/response"),
            "b-scheduler",
            Some(json!({"response": "accepted"})),
            "PARTSTAT=ACCEPTED",
        ),
        change(
            "an edit",
            "PATCH",
            single_path.clone(),
            "a-scheduler",
            Some(json!({"title": "Consultations, round two"})),
            "SUMMARY:Consultations\\, round two",
        ),
        change(
            "an occurrence moved",
            "PUT",
            // The second session: the first Tuesday of February, 15:00 in Moscow.
            format!("/api/v1/meetings/{series_id}/occurrences/2027-02-02T12:00:00Z"),
            "a-scheduler",
            Some(json!({"start": "2027-02-02T17:00", "end": "2027-02-02T18:00"})),
            "RECURRENCE-ID",
        ),
        change(
            "a party renamed",
            "PATCH",
            format!("/api/v1/delegations/{}", w.a),
            "platform",
            Some(json!({"name": "Renamed delegation"})),
            "CN=Renamed delegation",
        ),
        change(
            "a new meeting",
            "POST",
            "/api/v1/meetings".to_owned(),
            "a-scheduler",
            Some(
                json!({"title": "Added", "participants": [w.b], "time_zone": "UTC",
                   "start": "2027-04-01T10:00", "end": "2027-04-01T11:00"}),
            ),
            "SUMMARY:Added",
        ),
        change(
            "a cancellation",
            "DELETE",
            single_path.clone(),
            "a-scheduler",
            None,
            "STATUS:CANCELLED",
        ),
        Change {
            more: false,
            ..change(
                "the feed's delegation taken off a meeting",
                "PATCH",
                format!("/api/v1/meetings/{}", leaving["id"].as_str().unwrap()),
                "a-scheduler",
                Some(json!({"participants": [c]})),
                "SUMMARY:Leaving",
            )
        },
    ];
    for Change {
        what,
        method,
        path,
        who,
        body,
        shows,
        more,
    } in changes
    {
        let response = app.call(method, &path, Some(w.token(who)), body).await;
        assert!(
            response.status().is_success(),
            "{what}: {}",
            response.status()
        );
        let (headers, changed) = ics(&app, &url, None).await;
        assert_ne!(etag(&headers), current, "{what} kept the validator");
        let shown = |text: &str| unfolded(text).matches(shows).count();
        assert_eq!(
            shown(&changed).cmp(&shown(&text)),
            if more {
                Ordering::Greater
            } else {
                Ordering::Less
            },
            "{what}: the feed does not show it"
        );
        revalidate(&app, &url, &current, 200).await;
        revalidate(&app, &url, &etag(&headers), 304).await;
        (current, text) = (etag(&headers), changed);
    }

    // A second instance on the same database: the same validator, the same body.
    let two = TestApp::run(
        entente::Application::build(second_config).expect("a second instance starts"),
        TestDatabase::create(app.backend).expect("scratch"),
    );
    let (headers, body) = ics(&two, &url, None).await;
    assert_eq!((etag(&headers), &body), (current.clone(), &text));
    revalidate(&two, &url, &current, 304).await;
    drop(two);

    // A restart (an empty cache renders afresh): the same validator, the same body.
    let db = app.stop().await;
    let app = db.spawn_app().await;
    let (headers, body) = ics(&app, &url, None).await;
    assert_eq!((etag(&headers), &body), (current.clone(), &text));
    // Still a working instance: a login works.
    app.login("b-viewer", USER_PASSWORD).await;
}

async fn feeds_are_compressed_on_request_and_kept_for_the_refresh_interval(app: TestApp) {
    let w = app.world().await;
    app.expect(
        201,
        "POST",
        "/api/v1/meetings",
        Some(w.token("a-scheduler")),
        Some(
            json!({"title": "Consultations", "participants": [w.b], "time_zone": "UTC",
                    "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"}),
        ),
    )
    .await;
    let url = feed_of_b(&app, &w).await;
    let get = |accept: Option<&'static str>, if_none_match: Option<String>| {
        let app = &app;
        let url = url.clone();
        async move {
            let mut request = app.client.get(app.url(&url));
            if let Some(accept) = accept {
                request = request.header("accept-encoding", accept);
            }
            if let Some(etag) = if_none_match {
                request = request.header("if-none-match", etag);
            }
            request.send().await.unwrap()
        }
    };
    let plain = get(None, None).await;
    assert_eq!(plain.status(), 200);
    let headers = plain.headers().clone();
    assert_eq!(headers["cache-control"], "private, max-age=900");
    assert_eq!(headers["vary"], "Accept-Encoding");
    assert!(headers.get("content-encoding").is_none());
    let plain_etag = etag(&headers);
    let text = plain.text().await.unwrap();

    let cases = [
        ("gzip", "gzip"),
        ("br", "br"),
        ("br;q=1, gzip;q=0.8", "br"),
        ("gzip;q=0.9, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("gzip, identity;q=0.5", "gzip"),
        // At equal q the smaller form: what browsers and calendar clients send.
        ("gzip, deflate, br, zstd", "br"),
    ];
    for (accept, coding) in cases {
        let response = get(Some(accept), None).await;
        assert_eq!(response.status(), 200, "{accept}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-encoding"], coding, "{accept}");
        assert_eq!(headers["vary"], "Accept-Encoding");
        let coded_etag = etag(&headers);
        assert_ne!(
            coded_etag, plain_etag,
            "another representation, another ETag"
        );
        let suffix = if coding == "br" { "-br\"" } else { "-gz\"" };
        assert!(coded_etag.ends_with(suffix), "{accept}: {coded_etag}");
        let body = response.bytes().await.unwrap();
        let mut decoded = String::new();
        if coding == "br" {
            let mut reader = brotli::Decompressor::new(&body[..], 4096);
            std::io::Read::read_to_string(&mut reader, &mut decoded).unwrap();
        } else {
            let mut reader = flate2::read::GzDecoder::new(&body[..]);
            std::io::Read::read_to_string(&mut reader, &mut decoded).unwrap();
        }
        assert_eq!(decoded, text, "{accept}: the same calendar");
        // Revalidation per representation.
        assert_eq!(
            get(Some(accept), Some(coded_etag.clone())).await.status(),
            304
        );
        assert_eq!(
            get(Some(accept), Some(plain_etag.clone())).await.status(),
            200
        );
    }
    // Not taken (or refused): the plain body.
    for accept in ["identity", "gzip;q=0", "br;q=0, gzip;q=0", "compress"] {
        let response = get(Some(accept), None).await;
        assert!(
            response.headers().get("content-encoding").is_none(),
            "{accept}"
        );
        assert_eq!(etag(response.headers()), plain_etag, "{accept}");
        assert_eq!(response.text().await.unwrap(), text);
    }
}

/// A `visible` feed also shows public meetings and its delegation's forums' meetings: a change
/// of confidentiality and a change of forum membership each give a new validator and the new
/// content, though the feed's delegation takes part in none of those meetings.
async fn a_visible_feed_follows_confidentiality_and_forums(app: TestApp) {
    let w = app.world().await;
    let platform = w.token("platform");
    let c = app
        .create_delegation(platform, "CCC", "Asia/Shanghai")
        .await;
    let url = feed_of_b_scoped(&app, &w, "visible").await;
    let forum = app
        .expect(
            201,
            "POST",
            "/api/v1/forums",
            Some(platform),
            Some(json!({"name": "Contact group", "members": [w.a, c]})),
        )
        .await;
    let forum_path = format!("/api/v1/forums/{}", forum["id"].as_str().unwrap());
    let book = |title: &str, day: u32, extra: Value| {
        let mut body = json!({"title": title, "participants": [c], "time_zone": "UTC",
            "start": format!("2027-06-{day:02}T10:00"), "end": format!("2027-06-{day:02}T11:00")});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let open = app
        .book(
            w.token("a-scheduler"),
            book("Open session", 1, json!({"confidentiality": "public"})),
        )
        .await;
    let group = app
        .book(
            w.token("a-scheduler"),
            book(
                "Group session",
                2,
                json!({"confidentiality": "forum", "forum_id": forum["id"]}),
            ),
        )
        .await;
    let (headers, text) = ics(&app, &url, None).await;
    let mut current = etag(&headers);
    assert!(unfolded(&text).contains("SUMMARY:Open session"));
    assert!(!unfolded(&text).contains("SUMMARY:Group session"));

    let steps = [
        (
            "the feed's delegation joins the forum",
            forum_path.clone(),
            "platform",
            json!({"members": [w.a, c, w.b]}),
            "SUMMARY:Group session",
            true,
        ),
        (
            // Only the forum's stamp moves: the feed's delegation does not take part.
            "a forum meeting edited",
            format!("/api/v1/meetings/{}", group.id),
            "a-scheduler",
            json!({"title": "Group session, revised"}),
            "SUMMARY:Group session\\, revised",
            true,
        ),
        (
            "the public meeting made confidential",
            format!("/api/v1/meetings/{}", open.id),
            "a-scheduler",
            json!({"confidentiality": "participants"}),
            "SUMMARY:Open session",
            false,
        ),
        (
            "the feed's delegation leaves the forum",
            forum_path.clone(),
            "platform",
            json!({"members": [w.a, c]}),
            "SUMMARY:Group session",
            false,
        ),
    ];
    for (what, path, who, body, needle, shown) in steps {
        app.expect(200, "PATCH", &path, Some(w.token(who)), Some(body))
            .await;
        let (headers, changed) = ics(&app, &url, None).await;
        assert_ne!(etag(&headers), current, "{what} kept the validator");
        assert_eq!(unfolded(&changed).contains(needle), shown, "{what}");
        revalidate(&app, &url, &current, 200).await;
        revalidate(&app, &url, &etag(&headers), 304).await;
        current = etag(&headers);
    }
}

/// `Last-Modified` is when what the feed shows last changed (whole seconds; not stated during
/// the second of a change); `If-Modified-Since` is honoured only without `If-None-Match`.
async fn last_modified_follows_what_the_feed_shows(app: TestApp) {
    use chrono::{DateTime, TimeDelta, Utc};
    let w = app.world().await;
    let booked = Utc::now();
    let ours = app
        .book(
            w.token("a-scheduler"),
            json!({"title": "Consultations", "participants": [w.b], "time_zone": "UTC",
                   "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"}),
        )
        .await;
    let url = feed_of_b(&app, &w).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let last_modified = |headers: &HeaderMap| {
        headers.get("last-modified").map(|v| {
            DateTime::parse_from_rfc2822(v.to_str().unwrap())
                .unwrap()
                .with_timezone(&Utc)
        })
    };
    let (headers, _) = ics(&app, &url, None).await;
    let stated = last_modified(&headers).expect("a Last-Modified once the second has passed");
    assert!(
        stated <= Utc::now() && stated > booked - TimeDelta::seconds(2),
        "{stated}: the booking's time"
    );
    let get = |since: DateTime<Utc>, if_none_match: Option<&str>| {
        let app = &app;
        let mut request = app.client.get(app.url(&url)).header(
            "if-modified-since",
            since.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        );
        if let Some(tag) = if_none_match {
            request = request.header("if-none-match", tag.to_owned());
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(stated, None).await, 304);
    assert_eq!(get(stated + TimeDelta::hours(1), None).await, 304);
    assert_eq!(get(stated - TimeDelta::seconds(1), None).await, 200);
    // If-None-Match decides when present (RFC 9110 §13.2.2).
    assert_eq!(get(stated, Some("\"another\"")).await, 200);
    assert_eq!(
        get(stated - TimeDelta::seconds(1), Some(&etag(&headers))).await,
        304
    );

    // A public meeting B does not take part in: not in B's participating feed, no move.
    let c = app
        .create_delegation(w.token("platform"), "CCC", "Asia/Shanghai")
        .await;
    app.book(
        w.token("a-scheduler"),
        json!({"title": "Open", "participants": [c], "time_zone": "UTC", "confidentiality": "public",
               "start": "2027-03-02T10:00", "end": "2027-03-02T11:00"}),
    )
    .await;
    let (headers, _) = ics(&app, &url, None).await;
    assert_eq!(last_modified(&headers), Some(stated));
    assert_eq!(get(stated, None).await, 304);

    // A change of B's meeting: at once, the date a client holds no longer validates.
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/meetings/{}", ours.id),
        Some(w.token("a-scheduler")),
        Some(json!({"title": "Consultations, revised"})),
    )
    .await;
    assert_eq!(get(stated, None).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (headers, _) = ics(&app, &url, None).await;
    let moved = last_modified(&headers).expect("stated again once the second has passed");
    assert!(moved > stated, "{moved} after {stated}");
    assert_eq!(get(moved, None).await, 304);
}
