//! Answers to single sessions of a series (issue 17): a delegation declines one session of six;
//! the schedule, the feed and the session's own agreement show it for that session only. A
//! session moved is asked again; a change of the whole series asks everything again.

use serde_json::{json, Value};

use crate::helpers::{TestApp, World};
use crate::on_both_backends;

on_both_backends!(a_session_declined_is_declined_for_that_session_only);

const SESSIONS: &str = "/api/v1/schedule?from=2027-01-01T00:00:00Z&to=2027-03-01T00:00:00Z&tz=UTC";

/// Each session of `id` in the schedule as (recurrence_id, status, agreement state).
async fn sessions(app: &TestApp, token: &str, id: &str) -> Vec<(String, String, String)> {
    let schedule = app.expect(200, "GET", SESSIONS, Some(token), None).await;
    schedule["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["meeting_id"] == id)
        .map(|o| {
            (
                o["recurrence_id"].as_str().unwrap().to_owned(),
                o["status"].as_str().unwrap().to_owned(),
                o["agreement"]["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn session(recurrence_id: &str, status: &str, state: &str) -> (String, String, String) {
    (recurrence_id.into(), status.into(), state.into())
}

/// The VEVENT of the calendar whose RECURRENCE-ID is `local` (unfolded).
fn vevent_for(ics: &str, local: &str) -> String {
    let text = ics.replace("\r\n ", "");
    text.split("BEGIN:VEVENT")
        .find(|e| e.contains(&format!("RECURRENCE-ID;TZID=Europe/Zurich:{local}")))
        .unwrap_or_else(|| panic!("no VEVENT for {local} in {text}"))
        .to_owned()
}

async fn answer_session(app: &TestApp, w: &World, id: &str, original: &str, body: Value) -> Value {
    app.expect(
        200,
        "POST",
        &format!("/api/v1/meetings/{id}/occurrences/{original}/response"),
        Some(w.token("b-scheduler")),
        Some(body),
    )
    .await
}

async fn a_session_declined_is_declined_for_that_session_only(app: TestApp) {
    let w = app.world().await;
    // Six Tuesdays, 10:00 in Geneva (09:00Z in winter).
    let series = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(json!({"title": "Weekly consultations", "participants": [w.b],
                "time_zone": "Europe/Zurich", "start": "2027-01-05T10:00", "end": "2027-01-05T11:00",
                "recurrence": "FREQ=WEEKLY;BYDAY=TU;COUNT=6"})),
        )
        .await;
    let id = series["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/meetings/{id}");
    app.expect(
        200,
        "POST",
        &format!("{path}/response"),
        Some(w.token("b-scheduler")),
        Some(json!({"response": "accepted"})),
    )
    .await;

    // B declines the third session.
    let declined = answer_session(
        &app,
        &w,
        &id,
        "2027-01-19T09:00:00Z",
        json!({"response": "declined", "comment": "National holiday"}),
    )
    .await;
    assert_eq!(declined["status"], "proposed");
    assert_eq!(declined["agreement"]["state"], "declined");
    let b = &declined["answers"][1];
    assert_eq!(
        (
            b["delegation_id"].as_str(),
            b["response"].as_str(),
            b["for_this_session"].as_bool()
        ),
        (Some(w.b.as_str()), Some("declined"), Some(true))
    );
    assert_eq!(b["comment"], "National holiday");
    let a = &declined["answers"][0];
    assert_eq!(
        (a["response"].as_str(), a["for_this_session"].as_bool()),
        (Some("accepted"), Some(false))
    );

    // Refused: no such session, a viewer, a non-answer; nothing changed by them.
    for (who, original, body, status) in [
        (
            "b-scheduler",
            "2027-01-20T09:00:00Z",
            json!({"response": "declined"}),
            404,
        ),
        (
            "b-scheduler",
            "not-an-instant",
            json!({"response": "declined"}),
            404,
        ),
        (
            "b-viewer",
            "2027-01-26T09:00:00Z",
            json!({"response": "declined"}),
            403,
        ),
        (
            "b-scheduler",
            "2027-01-26T09:00:00Z",
            json!({"response": "pending"}),
            422,
        ),
    ] {
        let response = app
            .call(
                "POST",
                &format!("{path}/occurrences/{original}/response"),
                Some(w.token(who)),
                Some(body),
            )
            .await;
        assert_eq!(response.status(), status, "{who} {original}");
    }

    // The schedule: that session alone is declined (and not confirmed).
    let viewer = w.token("b-viewer");
    let agreed = |at: &str| session(at, "confirmed", "agreed");
    assert_eq!(
        sessions(&app, viewer, &id).await,
        [
            agreed("2027-01-05T09:00:00Z"),
            agreed("2027-01-12T09:00:00Z"),
            session("2027-01-19T09:00:00Z", "proposed", "declined"),
            agreed("2027-01-26T09:00:00Z"),
            agreed("2027-02-02T09:00:00Z"),
            agreed("2027-02-09T09:00:00Z"),
        ]
    );
    // Schedule items name the parties with their answers to that occurrence.
    let schedule = app.expect(200, "GET", SESSIONS, Some(viewer), None).await;
    let parties = |at: &str| -> Vec<(String, String)> {
        schedule["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["meeting_id"] == id.as_str() && o["recurrence_id"] == at)
            .unwrap()["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["code"].as_str().unwrap().to_owned(),
                    p["response"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let both = |b: &str| {
        vec![
            ("AAA".to_owned(), "accepted".to_owned()),
            ("BBB".to_owned(), b.to_owned()),
        ]
    };
    assert_eq!(parties("2027-01-19T09:00:00Z"), both("declined"));
    assert_eq!(parties("2027-01-26T09:00:00Z"), both("accepted"));
    // The feed: the series accepted, that session declined and tentative.
    let ics = app
        .call("GET", &format!("{path}.ics"), Some(viewer), None)
        .await
        .text()
        .await
        .unwrap();
    let third = vevent_for(&ics, "20270119T100000");
    assert!(
        third.contains("PARTSTAT=DECLINED") && third.contains("STATUS:TENTATIVE"),
        "{third}"
    );
    let master = ics
        .replace("\r\n ", "")
        .split("BEGIN:VEVENT")
        .find(|e| e.contains("RRULE:FREQ=WEEKLY"))
        .unwrap()
        .to_owned();
    assert!(!master.contains("PARTSTAT=DECLINED") && master.contains("STATUS:CONFIRMED"));

    // A session moved: B is asked again for it, and for it only.
    app.expect(
        200,
        "PUT",
        &format!("{path}/occurrences/2027-02-02T09:00:00Z"),
        Some(w.token("a-scheduler")),
        Some(json!({"start": "2027-02-02T14:00", "end": "2027-02-02T15:00"})),
    )
    .await;
    let now = sessions(&app, viewer, &id).await;
    assert_eq!(
        now[4],
        session("2027-02-02T09:00:00Z", "proposed", "awaiting")
    );
    assert_eq!(now[3], agreed("2027-01-26T09:00:00Z"));
    assert_eq!(
        now[2],
        session("2027-01-19T09:00:00Z", "proposed", "declined")
    );
    let moved = vevent_for(
        &app.call("GET", &format!("{path}.ics"), Some(viewer), None)
            .await
            .text()
            .await
            .unwrap(),
        "20270202T100000",
    );
    assert!(moved.contains("PARTSTAT=NEEDS-ACTION"), "{moved}");
    // B accepts the moved session: agreed again.
    answer_session(
        &app,
        &w,
        &id,
        "2027-02-02T09:00:00Z",
        json!({"response": "accepted"}),
    )
    .await;
    assert_eq!(
        sessions(&app, viewer, &id).await[4],
        session("2027-02-02T09:00:00Z", "confirmed", "agreed")
    );

    // An answer to the whole series answers every session as it now stands (as calendar
    // clients' "all events" does): the declined session is accepted too.
    app.expect(
        200,
        "POST",
        &format!("{path}/response"),
        Some(w.token("b-scheduler")),
        Some(json!({"response": "accepted"})),
    )
    .await;
    let all = sessions(&app, viewer, &id).await;
    assert!(
        all.iter()
            .all(|(_, status, state)| status == "confirmed" && state == "agreed"),
        "{all:?}"
    );

    // The whole series moves to another venue: every answer is asked again, the sessions'
    // own ones too.
    app.expect(
        200,
        "PATCH",
        &path,
        Some(w.token("a-scheduler")),
        Some(json!({"location": "Villa La Grange"})),
    )
    .await;
    let all = sessions(&app, viewer, &id).await;
    assert!(
        all.iter()
            .all(|(_, status, state)| status == "proposed" && state == "awaiting"),
        "{all:?}"
    );
}

on_both_backends!(an_alternating_venue_series_stays_one_series);

/// Quarterly consultations alternating between Moscow and Washington: one series whose
/// Washington sessions are held there, in its zone — addressed by their wall-clock start.
async fn an_alternating_venue_series_stays_one_series(app: TestApp) {
    let w = app.world().await;
    let series = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(json!({"title": "Strategic dialogue", "participants": [w.b],
                "time_zone": "Europe/Moscow", "start": "2027-01-12T10:00", "end": "2027-01-12T11:30",
                "location": "Moscow", "recurrence": "FREQ=MONTHLY;INTERVAL=3;COUNT=4"})),
        )
        .await;
    let id = series["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/meetings/{id}");
    let scheduler = w.token("a-scheduler");
    // April: in Washington at 10:00 there, named by its Moscow wall-clock start.
    let april = app
        .expect(
            200,
            "PUT",
            &format!("{path}/occurrences?local=2027-04-12T10:00"),
            Some(scheduler),
            Some(
                json!({"time_zone": "America/New_York", "location": "Washington",
                        "start": "2027-04-12T10:00", "end": "2027-04-12T11:30"}),
            ),
        )
        .await;
    assert_eq!(april["recurrence_id"], "2027-04-12T07:00:00Z");
    assert_eq!(
        (april["time_zone"].as_str(), april["location"].as_str()),
        (Some("America/New_York"), Some("Washington"))
    );
    assert_eq!(april["start_utc"], "2027-04-12T14:00:00Z");
    assert_eq!(april["start"], "2027-04-12T10:00:00");
    // October: in Washington too, keeping 10:00, now read in New York.
    let october = app
        .expect(
            200,
            "PUT",
            &format!("{path}/occurrences/2027-10-12T07:00:00Z"),
            Some(scheduler),
            Some(json!({"time_zone": "America/New_York", "location": "Washington"})),
        )
        .await;
    assert_eq!(october["start_utc"], "2027-10-12T14:00:00Z");
    // No session starts then; no local time at all.
    for (query, status) in [("2027-04-13T10:00", 404), ("April", 422)] {
        let response = app
            .call(
                "PUT",
                &format!("{path}/occurrences?local={query}"),
                Some(scheduler),
                Some(json!({"location": "Geneva"})),
            )
            .await;
        assert_eq!(response.status(), status, "{query}");
    }
    // B answers July by its wall-clock start too.
    let july = app
        .expect(
            200,
            "POST",
            &format!("{path}/occurrences/response?local=2027-07-12T10:00"),
            Some(w.token("b-scheduler")),
            Some(json!({"response": "accepted"})),
        )
        .await;
    assert_eq!(july["recurrence_id"], "2027-07-12T07:00:00Z");

    // The schedule: each session where and when it is held.
    let schedule = app
        .expect(
            200,
            "GET",
            "/api/v1/schedule?from=2027-01-01T00:00:00Z&to=2028-01-01T00:00:00Z&tz=UTC",
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    let held: Vec<(String, String, String)> = schedule["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["meeting_id"] == id.as_str())
        .map(|o| {
            (
                o["start_utc"].as_str().unwrap().to_owned(),
                o["time_zone"].as_str().unwrap().to_owned(),
                o["location"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let at = |s: &str, z: &str, l: &str| (s.to_owned(), z.to_owned(), l.to_owned());
    assert_eq!(
        held,
        [
            at("2027-01-12T07:00:00Z", "Europe/Moscow", "Moscow"),
            at("2027-04-12T14:00:00Z", "America/New_York", "Washington"),
            at("2027-07-12T07:00:00Z", "Europe/Moscow", "Moscow"),
            at("2027-10-12T14:00:00Z", "America/New_York", "Washington"),
        ]
    );
    // The feed: April's VEVENT in New York time, named by its Moscow original start.
    let ics = app
        .call(
            "GET",
            &format!("{path}.ics"),
            Some(w.token("b-viewer")),
            None,
        )
        .await
        .text()
        .await
        .unwrap()
        .replace("\r\n ", "");
    let april = ics
        .split("BEGIN:VEVENT")
        .find(|e| e.contains("RECURRENCE-ID;TZID=Europe/Moscow:20270412T100000"))
        .unwrap_or_else(|| panic!("{ics}"));
    assert!(
        april.contains("DTSTART;TZID=America/New_York:20270412T100000"),
        "{april}"
    );
    assert!(april.contains("LOCATION:Washington"), "{april}");
    assert!(ics.contains("TZID:America/New_York") && ics.contains("TZID:Europe/Moscow"));

    // The history tells where April's session went.
    let history = app
        .expect(
            200,
            "GET",
            &format!("{path}/history"),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    let moved = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "meeting.occurrence")
        .unwrap();
    assert_eq!(moved["recurrence_id"], "2027-04-12T07:00:00Z");
    assert_eq!(
        moved["changes"]["time_zone"],
        json!({"before": "Europe/Moscow", "after": "America/New_York"})
    );
    assert_eq!(
        moved["changes"]["location"],
        json!({"before": "Moscow", "after": "Washington"})
    );

    // October back to the series' venue and zone: 10:00 in Moscow again, no override left.
    let back = app
        .expect(
            200,
            "PUT",
            &format!("{path}/occurrences?local=2027-10-12T10:00"),
            Some(scheduler),
            Some(json!({"time_zone": null, "location": null})),
        )
        .await;
    assert_eq!(
        (
            back["start_utc"].as_str(),
            back["location"].as_str(),
            back["moved"].as_bool()
        ),
        (Some("2027-10-12T07:00:00Z"), Some("Moscow"), Some(false))
    );
}

on_both_backends!(a_declined_session_does_not_keep_its_delegation_busy);

/// B declined one session of a weekly series: a meeting booked with B at that time shows no
/// conflict for B; at the time of another session it does.
async fn a_declined_session_does_not_keep_its_delegation_busy(app: TestApp) {
    let w = app.world().await;
    let series = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(json!({"title": "Weekly consultations", "participants": [w.b],
                "time_zone": "Europe/Zurich", "start": "2027-01-05T10:00", "end": "2027-01-05T11:00",
                "recurrence": "FREQ=WEEKLY;BYDAY=TU;COUNT=6"})),
        )
        .await;
    let id = series["id"].as_str().unwrap().to_owned();
    answer_session(
        &app,
        &w,
        &id,
        "2027-01-19T09:00:00Z",
        json!({"response": "declined"}),
    )
    .await;
    let c = app
        .create_delegation(w.token("platform"), "CCC", "Asia/Shanghai")
        .await;
    app.create_user(w.token("platform"), &c, "c-scheduler", "scheduler")
        .await;
    let c_token = app
        .login("c-scheduler", crate::helpers::USER_PASSWORD)
        .await;
    let conflicts_of_b = |day: &'static str| {
        let (app, token, b) = (&app, c_token.clone(), w.b.clone());
        async move {
            let m = app
                .expect(
                    201,
                    "POST",
                    "/api/v1/meetings",
                    Some(&token),
                    Some(json!({"title": "Side meeting", "participants": [b],
                        "time_zone": "Europe/Zurich", "start": format!("{day}T10:15"),
                        "end": format!("{day}T10:45")})),
                )
                .await;
            m["conflicts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["delegation_id"] == b.as_str())
                .count()
        }
    };
    assert_eq!(
        conflicts_of_b("2027-01-19").await,
        0,
        "the declined session"
    );
    assert_eq!(conflicts_of_b("2027-01-26").await, 1, "another session");
}
