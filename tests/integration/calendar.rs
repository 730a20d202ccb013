//! iCalendar export over HTTP: per-meeting .ics and feeds, parsed back with an independent
//! parser (the `icalendar` crate's), checked for every property clients rely on.

use icalendar::parser::{read_calendar, unfold};
use serde_json::{json, Value};

use crate::helpers::{TestApp, World};
use crate::on_both_backends;

on_both_backends!(
    a_series_exports_with_rrule_exdate_and_overrides,
    a_single_meeting_snapshot,
    feeds_hold_what_the_owner_may_see_and_stop_when_revoked,
    feed_urls_use_the_public_url,
);

/// A VEVENT or other component as (name, [(property, params, value)]).
pub(crate) type Props = Vec<(String, Vec<(String, String)>, String)>;

pub(crate) fn components(text: &str) -> Vec<(String, Props)> {
    for line in text.split_inclusive("\r\n") {
        assert!(line.ends_with("\r\n"), "a line without CRLF: {line:?}");
        assert!(line.len() <= 77, "a line over 75 octets: {line:?}");
    }
    assert!(!text.replace("\r\n", "").contains('\n'), "a bare LF");
    let unfolded = unfold(text);
    let calendar = read_calendar(&unfolded).expect("the independent parser reads it");
    let mut out = vec![("VCALENDAR".to_owned(), props(&calendar.properties))];
    fn walk(components: &[icalendar::parser::Component<'_>], out: &mut Vec<(String, Props)>) {
        for c in components {
            out.push((c.name.as_str().to_owned(), props(&c.properties)));
            walk(&c.components, out);
        }
    }
    walk(&calendar.components, &mut out);
    out
}

fn props(properties: &[icalendar::parser::Property<'_>]) -> Props {
    properties
        .iter()
        .map(|p| {
            let params = p
                .params
                .iter()
                .map(|q| {
                    (
                        q.key.as_str().to_owned(),
                        q.val
                            .as_ref()
                            .map(|v| v.as_str().to_owned())
                            .unwrap_or_default(),
                    )
                })
                .collect();
            (
                p.name.as_str().to_owned(),
                params,
                p.val.as_str().to_owned(),
            )
        })
        .collect()
}

pub(crate) fn get<'a>(props: &'a Props, name: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, _, v)| v.as_str())
}

pub(crate) fn param<'a>(props: &'a Props, name: &str, key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(n, _, _)| n == name)
        .and_then(|(_, params, _)| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        })
}

fn unescape(v: &str) -> String {
    v.replace("\\n", "\n")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
}

pub(crate) async fn ics(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
) -> (reqwest::header::HeaderMap, String) {
    let response = app.call("GET", path, token, None).await;
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/calendar; charset=utf-8");
    (headers, response.text().await.unwrap())
}

async fn series(app: &TestApp, w: &World, title: &str) -> Value {
    app.expect(
        201,
        "POST",
        "/api/v1/meetings",
        Some(w.token("a-scheduler")),
        Some(json!({"title": title, "description": "Line one\nLine two; with, punctuation \\ backslash",
                    "location": "Ministry of Foreign Affairs, Smolenskaya sq.", "participants": [w.b],
                    "time_zone": "Europe/Moscow", "start": "2027-01-05T15:00", "end": "2027-01-05T16:30",
                    "recurrence": "FREQ=MONTHLY;BYDAY=1TU;COUNT=6"})),
    )
    .await
}

async fn a_series_exports_with_rrule_exdate_and_overrides(app: TestApp) {
    let w = app.world().await;
    for title in [
        "Консультации по стратегической стабильности, раунд третий; Женева",
        "مشاورات بشأن الأمن السيبراني والاستقرار الاستراتيجي",
        "信息安全与战略稳定磋商会议第三轮",
    ] {
        let m = series(&app, &w, title).await;
        let id = m["id"].as_str().unwrap();
        let base = format!("/api/v1/meetings/{id}");
        app.expect(
            200,
            "PUT",
            &format!("{base}/occurrences/2027-05-04T12:00:00Z"),
            Some(w.token("a-scheduler")),
            Some(json!({"start": "2027-05-06T14:00"})),
        )
        .await;
        app.expect(
            200,
            "PUT",
            &format!("{base}/occurrences/2027-06-01T12:00:00Z"),
            Some(w.token("a-scheduler")),
            Some(json!({"status": "cancelled"})),
        )
        .await;
        app.expect(
            200,
            "POST",
            &format!("{base}/response"),
            Some(w.token("b-admin")),
            Some(json!({"response": "tentative"})),
        )
        .await;

        let (headers, text) = ics(&app, &format!("{base}.ics"), Some(w.token("b-viewer"))).await;
        let parts = components(&text);
        let calendar = &parts[0].1;
        assert_eq!(
            (get(calendar, "VERSION"), get(calendar, "CALSCALE")),
            (Some("2.0"), Some("GREGORIAN"))
        );
        assert!(get(calendar, "PRODID").is_some() && get(calendar, "METHOD").is_none());
        let zones: Vec<&Props> = parts
            .iter()
            .filter(|(n, _)| n == "VTIMEZONE")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(zones.len(), 1);
        assert_eq!(get(zones[0], "TZID"), Some("Europe/Moscow"));
        let events: Vec<&Props> = parts
            .iter()
            .filter(|(n, _)| n == "VEVENT")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(events.len(), 2, "the series and its moved occurrence");
        let (master, moved) = (events[0], events[1]);
        assert_eq!(get(master, "UID"), Some(format!("{id}@entente").as_str()));
        assert_eq!(
            get(moved, "UID"),
            get(master, "UID"),
            "an override shares the series' UID"
        );
        assert_eq!(unescape(get(master, "SUMMARY").unwrap()), title);
        assert_eq!(
            unescape(get(master, "DESCRIPTION").unwrap()),
            "Line one\nLine two; with, punctuation \\ backslash"
        );
        assert_eq!(
            unescape(get(master, "LOCATION").unwrap()),
            "Ministry of Foreign Affairs, Smolenskaya sq."
        );
        assert_eq!(
            (get(master, "DTSTART"), param(master, "DTSTART", "TZID")),
            (Some("20270105T150000"), Some("Europe/Moscow"))
        );
        assert_eq!(get(master, "DTEND"), Some("20270105T163000"));
        assert_eq!(get(master, "RRULE"), Some("FREQ=MONTHLY;BYDAY=1TU;COUNT=6"));
        assert_eq!(
            (get(master, "EXDATE"), param(master, "EXDATE", "TZID")),
            (Some("20270601T150000"), Some("Europe/Moscow"))
        );
        assert_eq!(
            (get(moved, "RECURRENCE-ID"), get(moved, "DTSTART")),
            (Some("20270504T150000"), Some("20270506T140000"))
        );
        assert_eq!(get(master, "SEQUENCE"), Some("2"));
        assert_eq!(
            (get(master, "STATUS"), get(master, "CLASS")),
            (Some("TENTATIVE"), Some("CONFIDENTIAL"))
        );
        for property in ["DTSTAMP", "CREATED", "LAST-MODIFIED"] {
            assert!(
                get(master, property).is_some_and(|v| v.ends_with('Z')),
                "{property}"
            );
        }
        assert_eq!(param(master, "ORGANIZER", "CN"), Some("Delegation AAA"));
        let attendees: Vec<(&str, &str)> = master
            .iter()
            .filter(|(n, _, _)| n == "ATTENDEE")
            .map(|(_, params, _)| {
                let find = |k: &str| {
                    params
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.as_str())
                        .unwrap()
                };
                (find("CN"), find("PARTSTAT"))
            })
            .collect();
        assert_eq!(
            attendees,
            [
                ("Delegation AAA", "ACCEPTED"),
                ("Delegation BBB", "TENTATIVE")
            ]
        );

        // ETag and 304.
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let again = app
            .client
            .get(app.url(&format!("{base}.ics")))
            .bearer_auth(w.token("b-viewer"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
        assert!(headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("private"));
    }
    // Invisible → 404, as everywhere.
    let c = app
        .create_delegation(&w.platform, "CCC", "Asia/Shanghai")
        .await;
    app.create_user(&w.platform, &c, "c-admin", "admin").await;
    let c_token = app.login("c-admin", crate::helpers::USER_PASSWORD).await;
    let list = app
        .expect(
            200,
            "GET",
            "/api/v1/meetings",
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    let id = list["items"][0]["id"].as_str().unwrap();
    app.expect_problem(
        404,
        "not-found",
        "GET",
        &format!("/api/v1/meetings/{id}.ics"),
        Some(&c_token),
        None,
    )
    .await;
}

/// A single meeting, rendered exactly (ids and stamps redacted).
async fn a_single_meeting_snapshot(app: TestApp) {
    let w = app.world().await;
    let m = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            // Confirmed before B answered: the host's admin forces it.
            Some(w.token("a-admin")),
            Some(json!({"title": "Talks", "participants": [w.b], "time_zone": "Asia/Kolkata",
                        "start": "2027-02-01T10:00", "end": "2027-02-01T11:00", "confidentiality": "public",
                        "status": "confirmed", "force": true})),
        )
        .await;
    let (_, text) = ics(
        &app,
        &format!("/api/v1/meetings/{}.ics", m["id"].as_str().unwrap()),
        Some(w.token("a-viewer")),
    )
    .await;
    let redacted: Vec<String> = text
        .split("\r\n")
        .map(|l| {
            let stamp = ["UID:", "DTSTAMP:", "CREATED:", "LAST-MODIFIED:"]
                .iter()
                .find(|p| l.starts_with(**p));
            match stamp {
                Some(p) => format!("{p}[redacted]"),
                None => l.to_owned(),
            }
        })
        .collect();
    let expected = "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//entente//entente//EN
CALSCALE:GREGORIAN
X-WR-CALNAME:Talks
NAME:Talks
BEGIN:VTIMEZONE
TZID:Asia/Kolkata
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
TZNAME:IST
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:[redacted]
DTSTAMP:[redacted]
DTSTART;TZID=Asia/Kolkata:20270201T100000
DTEND;TZID=Asia/Kolkata:20270201T110000
SEQUENCE:0
CREATED:[redacted]
LAST-MODIFIED:[redacted]
SUMMARY:Talks
STATUS:CONFIRMED
CLASS:PUBLIC
ORGANIZER;CN=Delegation AAA:urn:entente:delegation:AAA
ATTENDEE;CN=Delegation AAA;CUTYPE=GROUP;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEP
 TED:urn:entente:delegation:AAA
ATTENDEE;CN=Delegation BBB;CUTYPE=GROUP;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS
 -ACTION:urn:entente:delegation:BBB
END:VEVENT
END:VCALENDAR
";
    assert_eq!(redacted.join("\n"), expected);
}

async fn feeds_hold_what_the_owner_may_see_and_stop_when_revoked(app: TestApp) {
    let w = app.world().await;
    let c = app
        .create_delegation(&w.platform, "CCC", "Asia/Shanghai")
        .await;
    app.create_user(&w.platform, &c, "c-scheduler", "scheduler")
        .await;
    let c_token = app
        .login("c-scheduler", crate::helpers::USER_PASSWORD)
        .await;
    let book = |token: String, body: Value| {
        let app = &app;
        async move {
            app.expect(201, "POST", "/api/v1/meetings", Some(&token), Some(body))
                .await
        }
    };
    let ours = book(w.token("a-scheduler").into(), json!({"title": "Ours", "participants": [w.b], "time_zone": "Europe/Moscow", "start": "2027-02-01T10:00", "end": "2027-02-01T11:00"})).await;
    let secret = book(c_token.clone(), json!({"title": "Secret B-C", "participants": [w.b], "time_zone": "UTC", "start": "2027-02-02T10:00", "end": "2027-02-02T11:00"})).await;
    let public = book(c_token.clone(), json!({"title": "Open C-B", "participants": [w.b], "time_zone": "UTC", "start": "2027-02-03T10:00", "end": "2027-02-03T11:00", "confidentiality": "public"})).await;
    let _old = book(w.token("a-scheduler").into(), json!({"title": "Long ago", "participants": [w.b], "time_zone": "UTC", "start": "2025-01-01T10:00", "end": "2025-01-01T11:00"})).await;

    let created = app
        .expect(
            201,
            "POST",
            "/api/v1/feeds",
            Some(w.token("a-viewer")),
            Some(json!({"name": "AAA meetings"})),
        )
        .await;
    assert_eq!(created["scope"], "participating");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 43, "at least 256 bits");
    let url = created["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/feeds/{token}.ics"));
    assert!(
        created["webcal_url"].is_null(),
        "no ENTENTE_PUBLIC_URL in tests"
    );
    let listed = app
        .expect(200, "GET", "/api/v1/feeds", Some(w.token("a-viewer")), None)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["next_cursor"], Value::Null);
    assert!(
        !listed.to_string().contains(&token),
        "the token is shown once"
    );
    // Nobody else lists or revokes it.
    let theirs = app
        .expect(200, "GET", "/api/v1/feeds", Some(w.token("a-admin")), None)
        .await;
    assert!(theirs["items"].as_array().unwrap().is_empty());
    let feed_id = created["id"].as_str().unwrap();
    app.expect_problem(
        404,
        "not-found",
        "DELETE",
        &format!("/api/v1/feeds/{feed_id}"),
        Some(w.token("a-admin")),
        None,
    )
    .await;

    let (headers, text) = ics(&app, &url, None).await;
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("private"));
    let parts = components(&text);
    let calendar = &parts[0].1;
    assert_eq!(get(calendar, "METHOD"), Some("PUBLISH"));
    assert_eq!(get(calendar, "X-WR-CALNAME"), Some("AAA meetings"));
    assert_eq!(get(calendar, "REFRESH-INTERVAL"), Some("PT15M"));
    assert_eq!(get(calendar, "X-PUBLISHED-TTL"), Some("PT15M"));
    let summaries = |parts: &[(String, Props)]| -> Vec<String> {
        parts
            .iter()
            .filter(|(n, _)| n == "VEVENT")
            .map(|(_, p)| get(p, "SUMMARY").unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        summaries(&parts),
        ["Ours"],
        "not B–C's meetings, not older than 90 days"
    );
    assert!(!text.contains(secret["id"].as_str().unwrap()));

    // `visible` adds what the owner may see: public meetings of others, never confidential ones.
    let visible = app
        .expect(
            201,
            "POST",
            "/api/v1/feeds",
            Some(w.token("a-viewer")),
            Some(json!({"name": "All I see", "scope": "visible"})),
        )
        .await;
    let (_, text) = ics(&app, visible["url"].as_str().unwrap(), None).await;
    assert_eq!(summaries(&components(&text)), ["Ours", "Open C-B"]);
    assert!(text.contains(public["id"].as_str().unwrap()) && !text.contains("Secret"));

    // A move keeps the UID and raises SEQUENCE; a cancellation shows as CANCELLED; the ETag moves.
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let path = format!("/api/v1/meetings/{}", ours["id"].as_str().unwrap());
    app.expect(
        200,
        "PATCH",
        &path,
        Some(w.token("a-scheduler")),
        Some(json!({"start": "2027-02-01T12:00", "end": "2027-02-01T13:00"})),
    )
    .await;
    let response = app
        .client
        .get(app.url(&url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "changed: no 304");
    let text = response.text().await.unwrap();
    let event = components(&text)
        .into_iter()
        .find(|(n, _)| n == "VEVENT")
        .unwrap()
        .1;
    assert_eq!(
        get(&event, "UID"),
        Some(format!("{}@entente", ours["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(
        (get(&event, "SEQUENCE"), get(&event, "DTSTART")),
        (Some("1"), Some("20270201T120000"))
    );
    app.expect(200, "DELETE", &path, Some(w.token("a-scheduler")), None)
        .await;
    let (headers, text) = ics(&app, &url, None).await;
    let event = components(&text)
        .into_iter()
        .find(|(n, _)| n == "VEVENT")
        .unwrap()
        .1;
    assert_eq!(
        (get(&event, "STATUS"), get(&event, "SEQUENCE")),
        (Some("CANCELLED"), Some("2"))
    );
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let unchanged = app
        .client
        .get(app.url(&url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);

    // Unknown, revoked, or of a deactivated owner → 404.
    app.expect_problem(
        404,
        "not-found",
        "GET",
        "/feeds/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics",
        None,
        None,
    )
    .await;
    let revoked = app
        .expect(
            200,
            "DELETE",
            &format!("/api/v1/feeds/{feed_id}"),
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert!(revoked["revoked_at"].is_string());
    app.expect_problem(404, "not-found", "GET", &url, None, None)
        .await;
    app.expect(
        200,
        "DELETE",
        &format!("/api/v1/delegations/{}/users/{}", w.a, w.ids["a-viewer"]),
        Some(w.token("a-admin")),
        None,
    )
    .await;
    app.expect_problem(
        404,
        "not-found",
        "GET",
        visible["url"].as_str().unwrap(),
        None,
        None,
    )
    .await;
    app.expect_problem(
        422,
        "validation",
        "POST",
        "/api/v1/feeds",
        Some(w.token("a-admin")),
        Some(json!({"name": "", "scope": "participating"})),
    )
    .await;
}

async fn feed_urls_use_the_public_url(app: TestApp) {
    let db = app.stop().await;
    let app = db
        .spawn_app_with(&[("ENTENTE_PUBLIC_URL", "https://entente.example.org/")])
        .await;
    let token = app.admin_token().await;
    let created = app
        .expect(
            201,
            "POST",
            "/api/v1/feeds",
            Some(&token),
            Some(json!({"name": "Public meetings", "scope": "visible"})),
        )
        .await;
    let secret = created["token"].as_str().unwrap();
    assert_eq!(
        created["url"],
        format!("https://entente.example.org/feeds/{secret}.ics")
    );
    assert_eq!(
        created["webcal_url"],
        format!("webcal://entente.example.org/feeds/{secret}.ics")
    );
    let (_, text) = ics(&app, &format!("/feeds/{secret}.ics"), None).await;
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
}
