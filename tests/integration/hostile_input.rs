//! Hostile input (issue 12): every text field of every write route gets a NUL, a lone surrogate
//! escape, 100,000 characters and other control characters; URLs get them too. Both backends
//! must answer the same: a 4xx problem, never a 5xx, and nothing is stored.

use serde_json::{json, Value};

use crate::helpers::{TestApp, World};
use crate::on_both_backends;

on_both_backends!(
    hostile_text_gets_4xx_on_every_write_route,
    control_characters_are_refused_naming_the_field,
    hostile_urls_get_4xx,
    bodies_that_are_not_json_get_415,
    meetings_fall_in_the_years_1900_to_2200,
);

/// The raw JSON literals put in place of a field's value.
fn hostile_literals() -> Vec<String> {
    vec![
        r#""\u0000""#.to_owned(),
        r#""Talks\u0000 in Geneva""#.to_owned(),
        r#""\ud800""#.to_owned(),
        r#""bell \u0007, escape \u001b, delete \u007f, next line \u0085""#.to_owned(),
        format!("\"{}\"", "é".repeat(100_000)),
    ]
}

/// Every string in `body`, as (path for display, pointer to replace it).
fn string_fields(value: &Value, pointer: String, out: &mut Vec<String>) {
    match value {
        Value::String(_) => out.push(pointer),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_fields(item, format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                string_fields(item, format!("{pointer}/{key}"), out);
            }
        }
        _ => {}
    }
}

/// `body` serialized with the string at `pointer` replaced by the raw JSON `literal`.
fn with_literal(body: &Value, pointer: &str, literal: &str) -> String {
    const MARK: &str = "__hostile_value__";
    let mut marked = body.clone();
    *marked.pointer_mut(pointer).unwrap() = Value::String(MARK.to_owned());
    serde_json::to_string(&marked)
        .unwrap()
        .replace(&format!("\"{MARK}\""), literal)
}

struct Fixture {
    meeting: String,
    series: String,
    channel: String,
    forum: String,
}

async fn fixture(app: &TestApp, w: &World) -> Fixture {
    let scheduler = Some(w.token("a-scheduler"));
    let meeting = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            scheduler,
            Some(json!({"title": "T", "participants": [w.b],
            "time_zone": "Europe/Zurich", "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"})),
        )
        .await;
    let series = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            scheduler,
            Some(json!({"title": "S", "participants": [w.b],
            "time_zone": "Europe/Zurich", "start": "2027-03-01T10:00", "end": "2027-03-01T11:00",
            "recurrence": "FREQ=WEEKLY;COUNT=5"})),
        )
        .await;
    let channel = app
        .expect(
            201,
            "POST",
            "/api/v1/channels",
            Some(w.token("a-admin")),
            Some(json!({"counterpart_id": w.b, "name": "Hotline", "kind": "hotline"})),
        )
        .await;
    let forum = app
        .expect(
            201,
            "POST",
            "/api/v1/forums",
            Some(&w.platform),
            Some(json!({"name": "Forum", "members": [w.a, w.b]})),
        )
        .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    Fixture {
        meeting: id(&meeting),
        series: id(&series),
        channel: id(&channel),
        forum: id(&forum),
    }
}

/// (method, path, who, a valid body) for every write route with a JSON body.
fn write_routes(w: &World, f: &Fixture) -> Vec<(&'static str, String, &'static str, Value)> {
    vec![
        (
            "POST",
            "/api/v1/auth/login".into(),
            "nobody",
            json!({"username": "a-admin", "password": "a-user-password-for-tests"}),
        ),
        (
            "POST",
            "/api/v1/delegations".into(),
            "platform",
            json!({"code": "NEW", "name": "New", "kind": "state", "time_zone": "Europe/Zurich",
                   "contact_email": "x@example.org", "working_hours": {"mon": [["09:00", "12:00"]]}}),
        ),
        (
            "PATCH",
            format!("/api/v1/delegations/{}", w.a),
            "platform",
            json!({"name": "Renamed", "time_zone": "Europe/Moscow", "contact_email": "y@example.org"}),
        ),
        (
            "POST",
            format!("/api/v1/delegations/{}/users", w.a),
            "a-admin",
            json!({"username": "newcomer", "password": "a-long-enough-password", "role": "viewer"}),
        ),
        (
            "POST",
            "/api/v1/meetings".into(),
            "a-scheduler",
            json!({"title": "T", "description": "D", "location": "L", "participants": [w.b],
                   "time_zone": "Europe/Zurich", "start": "2027-03-02T10:00", "end": "2027-03-02T11:00",
                   "status": "proposed", "confidentiality": "participants", "recurrence": "FREQ=DAILY;COUNT=2",
                   "disambiguation": "earlier"}),
        ),
        (
            "PATCH",
            format!("/api/v1/meetings/{}", f.meeting),
            "a-scheduler",
            json!({"title": "T2", "description": "D", "location": "L", "time_zone": "Europe/Zurich",
                   "start": "2027-03-01T10:30", "end": "2027-03-01T11:30"}),
        ),
        (
            "POST",
            format!("/api/v1/meetings/{}/response", f.meeting),
            "b-scheduler",
            json!({"response": "accepted", "comment": "Fine"}),
        ),
        (
            "PUT",
            format!(
                "/api/v1/meetings/{}/occurrences/2027-03-08T09:00:00Z",
                f.series
            ),
            "a-scheduler",
            json!({"start": "2027-03-09T10:00", "end": "2027-03-09T11:00", "status": "proposed"}),
        ),
        (
            "POST",
            "/api/v1/channels".into(),
            "a-admin",
            json!({"counterpart_id": w.b, "name": "Line", "kind": "consultations", "purpose": "P"}),
        ),
        (
            "POST",
            format!("/api/v1/channels/{}/transitions", f.channel),
            "b-admin",
            json!({"to": "closed", "reason": "R"}),
        ),
        (
            "POST",
            "/api/v1/forums".into(),
            "platform",
            json!({"name": "F", "description": "D", "members": [w.a, w.b]}),
        ),
        (
            "PATCH",
            format!("/api/v1/forums/{}", f.forum),
            "platform",
            json!({"name": "F2", "description": "D2"}),
        ),
        (
            "POST",
            "/api/v1/feeds".into(),
            "a-viewer",
            json!({"name": "Mine", "scope": "visible"}),
        ),
    ]
}

async fn send_raw(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: String,
) -> reqwest::Response {
    let client = reqwest::Client::new();
    let mut request = client
        .request(method.parse().unwrap(), app.url(path))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn hostile_text_gets_4xx_on_every_write_route(app: TestApp) {
    let w = app.world().await;
    let f = fixture(&app, &w).await;
    let mut sent = 0;
    for (method, path, who, body) in write_routes(&w, &f) {
        let token = (who != "nobody").then(|| w.token(who).to_owned());
        let mut fields = Vec::new();
        string_fields(&body, String::new(), &mut fields);
        for pointer in fields {
            for literal in hostile_literals() {
                let response = send_raw(
                    &app,
                    method,
                    &path,
                    token.as_deref(),
                    with_literal(&body, &pointer, &literal),
                )
                .await;
                let status = response.status().as_u16();
                let text = response.text().await.unwrap();
                assert!(
                    (400..500).contains(&status),
                    "{method} {path} with {pointer} = {}: {status} {text}",
                    &literal[..literal.len().min(40)]
                );
                sent += 1;
            }
        }
    }
    assert!(sent > 200, "only {sent} requests");
    // Nothing hostile was stored: the meeting and the delegation are as they were.
    let meeting = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings/{}", f.meeting),
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(meeting["title"], "T");
    let delegation = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/delegations/{}", w.a),
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(delegation["name"], "Delegation AAA");
}

async fn control_characters_are_refused_naming_the_field(app: TestApp) {
    let w = app.world().await;
    let body = app
        .expect_problem(422, "validation", "POST", "/api/v1/meetings", Some(w.token("a-scheduler")),
            Some(json!({"title": "Talks\u{0}", "participants": [w.b], "location": "Room\u{7}",
                        "time_zone": "Europe/Zurich", "start": "2027-03-02T10:00", "end": "2027-03-02T11:00"})))
        .await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["location", "title"]);
    // The unauthenticated login too, and text with tabs and newlines is fine.
    let body = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "a-admin\u{0}", "password": "x"})),
        )
        .await;
    assert_eq!(body["errors"][0]["field"], "username");
    app.expect(201, "POST", "/api/v1/meetings", Some(w.token("a-scheduler")),
        Some(json!({"title": "Talks", "description": "Agenda:\n\t1. Review\r\n\t2. Next", "participants": [w.b],
                    "time_zone": "Europe/Zurich", "start": "2027-03-02T10:00", "end": "2027-03-02T11:00"})))
        .await;
}

async fn hostile_urls_get_4xx(app: TestApp) {
    let w = app.world().await;
    let token = Some(w.token("a-viewer"));
    for (path, status) in [
        ("/api/v1/meetings?q=%00", 422),
        ("/api/v1/meetings?q=a%07b", 422),
        ("/api/v1/meetings?participant=%00", 422),
        ("/api/v1/schedule?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z&tz=Europe%2FZurich%00", 422),
        ("/api/v1/audit?entity_id=%00", 422),
        ("/api/v1/meetings/%00", 404),
        ("/api/v1/delegations/a%00b", 404),
        ("/feeds/%00.ics", 404),
    ] {
        let response = app.call("GET", path, token, None).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
}

async fn bodies_that_are_not_json_get_415(app: TestApp) {
    let w = app.world().await;
    let body = json!({"title": "T", "participants": [w.b], "time_zone": "Europe/Zurich",
                      "start": "2027-03-02T10:00", "end": "2027-03-02T11:00"})
    .to_string();
    let client = reqwest::Client::new();
    for (path, content_type) in [
        ("/api/v1/meetings", Some("text/plain")),
        ("/api/v1/meetings", None),
        ("/api/v1/feeds", Some("application/x-www-form-urlencoded")),
    ] {
        let mut request = client
            .post(app.url(path))
            .bearer_auth(w.token("a-scheduler"))
            .body(body.clone());
        if let Some(t) = content_type {
            request = request.header("content-type", t);
        }
        crate::helpers::assert_problem(
            request.send().await.unwrap(),
            415,
            "unsupported-media-type",
        )
        .await;
    }
    // `+json` types are JSON.
    let response = client
        .post(app.url("/api/v1/meetings"))
        .bearer_auth(w.token("a-scheduler"))
        .header(
            "content-type",
            "application/vnd.entente+json; charset=utf-8",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let meetings = app
        .expect(
            200,
            "GET",
            "/api/v1/meetings",
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(
        meetings["items"].as_array().unwrap().len(),
        1,
        "nothing booked by the refused ones"
    );
}

/// A series far in the future made every read of it cost seconds: times outside 1900–2200 are
/// refused, and the widest series left (daily from 1900) reads fast anywhere in that range.
async fn meetings_fall_in_the_years_1900_to_2200(app: TestApp) {
    let w = app.world().await;
    let token = Some(w.token("a-scheduler"));
    let booking = |start: &str, end: &str, rule: Option<&str>| {
        json!({"title": "T", "participants": [w.b], "time_zone": "Europe/Zurich", "start": start, "end": end,
               "recurrence": rule, "confidentiality": "public"})
    };
    for (start, end, rule, field) in [
        (
            "9999-12-20T10:00",
            "9999-12-20T11:00",
            Some("FREQ=DAILY"),
            "start",
        ),
        ("1899-12-31T10:00", "1899-12-31T11:00", None, "start"),
        ("2200-12-31T23:00", "2201-01-01T01:00", None, "end"),
    ] {
        let body = app
            .expect_problem(
                422,
                "validation",
                "POST",
                "/api/v1/meetings",
                token,
                Some(booking(start, end, rule)),
            )
            .await;
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    app.expect_problem(
        422,
        "invalid-recurrence",
        "POST",
        "/api/v1/meetings",
        token,
        Some(booking(
            "2027-01-04T10:00",
            "2027-01-04T11:00",
            Some("FREQ=DAILY;UNTIL=99991231"),
        )),
    )
    .await;
    let series = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            token,
            Some(booking(
                "1900-01-01T10:00",
                "1900-01-01T11:00",
                Some("FREQ=DAILY"),
            )),
        )
        .await;
    let late = app
        .expect(
            200,
            "GET",
            "/api/v1/schedule?from=2200-01-01T00:00:00Z&to=2201-01-01T00:00:00Z&tz=UTC",
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    assert_eq!(late["occurrences"].as_array().unwrap().len(), 365);
    app.expect(
        200,
        "GET",
        &format!("/api/v1/meetings/{}", series["id"].as_str().unwrap()),
        Some(w.token("b-viewer")),
        None,
    )
    .await;
}
