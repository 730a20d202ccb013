//! Agreement between sovereign parties (issue 17): a meeting's status follows the parties'
//! answers; `confirmed` before agreement is 409 `not-agreed` unless the host's admin forces it;
//! a change of time, place or participants asks the others again; a multilateral meeting may
//! be agreed by a quorum.

use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use entente::store::migrate::MIGRATIONS;
use entente::store::schema::meetings;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestDatabase, World, USER_PASSWORD};
use crate::persistence::store;
use crate::{on_both_backends, with_both_databases};

on_both_backends!(
    the_status_follows_the_answers_and_a_change_asks_again,
    only_the_host_admin_confirms_without_agreement,
    a_quorum_agrees_a_multilateral_meeting
);

fn booking(participants: Value, extra: Value) -> Value {
    let mut body = json!({"title": "Consultations", "participants": participants,
        "time_zone": "Europe/Zurich", "start": "2027-03-29T10:00", "end": "2027-03-29T11:30",
        "location": "Palais des Nations"});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

async fn booked(app: &TestApp, token: &str, body: Value) -> Value {
    app.expect(201, "POST", "/api/v1/meetings", Some(token), Some(body))
        .await
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    app.expect(200, "PATCH", path, Some(token), Some(body))
        .await
}

async fn answer(app: &TestApp, w: &World, who: &str, path: &str, response: &str) -> Value {
    app.expect(
        200,
        "POST",
        &format!("{path}/response"),
        Some(w.token(who)),
        Some(json!({"response": response})),
    )
    .await
}

fn state(m: &Value) -> (&str, &str, Vec<&str>) {
    (
        m["status"].as_str().unwrap(),
        m["agreement"]["state"].as_str().unwrap(),
        m["agreement"]["awaiting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect(),
    )
}

async fn the_status_follows_the_answers_and_a_change_asks_again(app: TestApp) {
    let w = app.world().await;
    let scheduler = w.token("a-scheduler");
    // Confirmed before the guest said anything: refused, and nothing booked.
    let refused = app
        .expect_problem(
            409,
            "not-agreed",
            "POST",
            "/api/v1/meetings",
            Some(scheduler),
            Some(booking(json!([w.b]), json!({"status": "confirmed"}))),
        )
        .await;
    assert!(
        refused["detail"].as_str().unwrap().contains(&w.b),
        "{refused}"
    );
    let listed = app
        .expect(200, "GET", "/api/v1/meetings", Some(scheduler), None)
        .await;
    assert_eq!(listed["items"], json!([]));

    let m = booked(&app, scheduler, booking(json!([w.b]), json!({}))).await;
    assert_eq!(state(&m), ("proposed", "awaiting", vec![w.b.as_str()]));
    assert_eq!(m["agreement_rule"], "all");
    assert_eq!(m["confirmation_forced"], false);
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    let sequence = m["sequence"].as_i64().unwrap();
    // What awaits whom, and who hosts.
    let listed = |who: &'static str, filter: &'static str| {
        let app = &app;
        let token = w.token(who).to_owned();
        async move {
            let page = app
                .expect(
                    200,
                    "GET",
                    &format!("/api/v1/meetings?{filter}"),
                    Some(&token),
                    None,
                )
                .await;
            page["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(listed("b-viewer", "awaiting=me").await, 1);
    assert_eq!(
        listed("a-scheduler", "awaiting=me").await,
        0,
        "the host awaits no one's answer of its own"
    );
    assert_eq!(listed("a-viewer", "host=me").await, 1);
    assert_eq!(listed("b-viewer", "host=me").await, 0);
    for bad in ["awaiting=you", "host=a"] {
        app.expect_problem(
            422,
            "validation",
            "GET",
            &format!("/api/v1/meetings?{bad}"),
            Some(scheduler),
            None,
        )
        .await;
    }
    app.expect_problem(
        422,
        "validation",
        "GET",
        "/api/v1/meetings?awaiting=me",
        Some(w.token("platform")),
        None,
    )
    .await;

    // Tentative is not consent; acceptance is: the meeting confirms itself, for every reader.
    let m = answer(&app, &w, "b-scheduler", &path, "tentative").await;
    assert_eq!(state(&m), ("proposed", "awaiting", vec![w.b.as_str()]));
    assert_eq!(
        listed("b-viewer", "awaiting=me").await,
        1,
        "tentative: still awaited"
    );
    let m = answer(&app, &w, "b-scheduler", &path, "accepted").await;
    assert_eq!(state(&m), ("confirmed", "agreed", vec![]));
    assert_eq!(m["sequence"], sequence + 1, "calendar clients must see it");
    assert_eq!(listed("b-viewer", "awaiting=me").await, 0);
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
        .unwrap();
    assert!(ics.contains("STATUS:CONFIRMED"), "{ics}");

    // A new title asks nothing; a new venue asks the guest again and un-confirms.
    let m = patch(
        &app,
        scheduler,
        &path,
        json!({"title": "Consultations, round 2"}),
    )
    .await;
    assert_eq!(state(&m), ("confirmed", "agreed", vec![]));
    let m = patch(
        &app,
        scheduler,
        &path,
        json!({"location": "Villa La Grange"}),
    )
    .await;
    assert_eq!(state(&m), ("proposed", "awaiting", vec![w.b.as_str()]));
    let b_answer = |m: &Value| m["participants"][1]["response"].clone();
    assert_eq!(b_answer(&m), "pending");
    // Confirming it over the guest's head: refused, nothing changed.
    app.expect_problem(
        409,
        "not-agreed",
        "PATCH",
        &path,
        Some(scheduler),
        Some(json!({"status": "confirmed"})),
    )
    .await;
    let unchanged = app.expect(200, "GET", &path, Some(scheduler), None).await;
    assert_eq!(unchanged["version"], m["version"]);
    // Accepted again, then moved: asked again; declined: declined, still proposed.
    answer(&app, &w, "b-scheduler", &path, "accepted").await;
    let m = patch(
        &app,
        scheduler,
        &path,
        json!({"start": "2027-03-30T10:00", "end": "2027-03-30T11:30"}),
    )
    .await;
    assert_eq!(state(&m), ("proposed", "awaiting", vec![w.b.as_str()]));
    let m = answer(&app, &w, "b-scheduler", &path, "declined").await;
    assert_eq!(state(&m), ("proposed", "declined", vec![]));
    // Agreed, then withdrawn by the guest: back to proposed.
    let m = answer(&app, &w, "b-scheduler", &path, "accepted").await;
    assert_eq!(state(&m), ("confirmed", "agreed", vec![]));
    let m = answer(&app, &w, "b-scheduler", &path, "declined").await;
    assert_eq!(state(&m), ("proposed", "declined", vec![]));
}

async fn only_the_host_admin_confirms_without_agreement(app: TestApp) {
    let w = app.world().await;
    let m = booked(
        &app,
        w.token("a-scheduler"),
        booking(json!([w.b]), json!({})),
    )
    .await;
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    let force = json!({"status": "confirmed", "force": true});
    app.expect_problem(
        403,
        "forbidden",
        "PATCH",
        &path,
        Some(w.token("a-scheduler")),
        Some(force.clone()),
    )
    .await;
    app.expect_problem(
        422,
        "validation",
        "PATCH",
        &path,
        Some(w.token("a-admin")),
        Some(json!({"force": true})),
    )
    .await;
    let m = app
        .expect(200, "PATCH", &path, Some(w.token("a-admin")), Some(force))
        .await;
    assert_eq!(state(&m), ("confirmed", "awaiting", vec![w.b.as_str()]));
    assert_eq!(m["confirmation_forced"], true);
    // Forced stays confirmed whatever the guest answers …
    let m = answer(&app, &w, "b-scheduler", &path, "declined").await;
    assert_eq!(state(&m), ("confirmed", "declined", vec![]));
    // … until a change the parties have not seen: then consent decides again.
    let m = patch(
        &app,
        w.token("a-scheduler"),
        &path,
        json!({"start": "2027-03-30T10:00", "end": "2027-03-30T11:30"}),
    )
    .await;
    assert_eq!(state(&m), ("proposed", "awaiting", vec![w.b.as_str()]));
    assert_eq!(m["confirmation_forced"], false);
    // The force is on the record.
    let audit = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/audit?entity_id={}", m["id"].as_str().unwrap()),
            Some(w.token("a-admin")),
            None,
        )
        .await;
    assert!(
        audit.to_string().contains("without agreement (force)"),
        "{audit}"
    );
    // Booking forced at once works the same way, for the host's admin only.
    app.expect_problem(
        403,
        "forbidden",
        "POST",
        "/api/v1/meetings",
        Some(w.token("a-scheduler")),
        Some(booking(
            json!([w.b]),
            json!({"status": "confirmed", "force": true}),
        )),
    )
    .await;
}

async fn a_quorum_agrees_a_multilateral_meeting(app: TestApp) {
    let w = app.world().await;
    let scheduler = w.token("a-scheduler");
    let c = app
        .create_delegation(w.token("platform"), "CCC", "Asia/Shanghai")
        .await;
    app.create_user(w.token("platform"), &c, "c-scheduler", "scheduler")
        .await;
    let c_token = app
        .login("c-scheduler", crate::helpers::USER_PASSWORD)
        .await;
    // A bilateral meeting needs both parties; a quorum is between 1 and all of them.
    for (participants, rule) in [
        (json!([w.b]), 2),
        (json!([w.b, c]), 4),
        (json!([w.b, c]), 0),
    ] {
        app.expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/meetings",
            Some(scheduler),
            Some(booking(
                participants,
                json!({"agreement_rule": {"quorum": rule}}),
            )),
        )
        .await;
    }
    let m = booked(
        &app,
        scheduler,
        booking(json!([w.b, c]), json!({"agreement_rule": {"quorum": 2}})),
    )
    .await;
    assert_eq!(m["agreement_rule"], json!({"quorum": 2}));
    let mut awaiting = vec![w.b.as_str(), c.as_str()];
    awaiting.sort_unstable();
    let (status, agreed, mut waiting) = state(&m);
    waiting.sort_unstable();
    assert_eq!(
        (status, agreed, waiting),
        ("proposed", "awaiting", awaiting)
    );
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    // C declines: two can still make it.
    let declined = app
        .expect(
            200,
            "POST",
            &format!("{path}/response"),
            Some(&c_token),
            Some(json!({"response": "declined"})),
        )
        .await;
    assert_eq!(
        state(&declined),
        ("proposed", "awaiting", vec![w.b.as_str()])
    );
    let m = answer(&app, &w, "b-scheduler", &path, "accepted").await;
    assert_eq!(state(&m), ("confirmed", "agreed", vec![]));
    // The rule changed to all: C's decline now decides.
    let m = patch(&app, scheduler, &path, json!({"agreement_rule": "all"})).await;
    assert_eq!(state(&m), ("proposed", "declined", vec![]));
    app.expect_problem(
        422,
        "validation",
        "PATCH",
        &path,
        Some(scheduler),
        Some(json!({"agreement_rule": "most"})),
    )
    .await;
}

with_both_databases!(meetings_confirmed_before_agreement_stay_confirmed_as_forced);

/// The migration that brought agreement keeps what was confirmed: a meeting its host confirmed
/// alone (allowed before) stays confirmed, marked forced; one both parties agreed is not forced.
async fn meetings_confirmed_before_agreement_stay_confirmed_as_forced(db: TestDatabase) {
    let app = db.spawn_app().await;
    let w = app.world().await;
    let scheduler = w.token("a-scheduler");
    let alone = booked(&app, scheduler, booking(json!([w.b]), json!({}))).await;
    let alone = alone["id"].as_str().unwrap().to_owned();
    let agreed = booked(&app, scheduler, booking(json!([w.b]), json!({}))).await;
    let agreed = agreed["id"].as_str().unwrap().to_owned();
    answer(
        &app,
        &w,
        "b-scheduler",
        &format!("/api/v1/meetings/{agreed}"),
        "accepted",
    )
    .await;
    let db = app.stop().await;
    {
        let store = store(&db);
        let mut conn = store.connection().unwrap();
        // Back to the schema before agreement (and whatever came after it).
        let agreement = |conn: &mut entente::store::DbConnection| {
            conn.applied_migrations()
                .unwrap()
                .iter()
                .any(|v| v.to_string() == "20261203000012")
        };
        while agreement(&mut conn) {
            conn.revert_last_migration(MIGRATIONS).unwrap();
        }
        // As the host could before: confirmed without the guest's answer.
        diesel::update(meetings::table.filter(meetings::id.eq(&alone)))
            .set(meetings::status.eq("confirmed"))
            .execute(&mut conn)
            .unwrap();
    }
    let app = db.spawn_app().await;
    let token = app.login("a-viewer", USER_PASSWORD).await;
    let read = |id: String| {
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
    let m = read(alone).await;
    assert_eq!(state(&m), ("confirmed", "awaiting", vec![w.b.as_str()]));
    assert_eq!(m["confirmation_forced"], true);
    let m = read(agreed).await;
    assert_eq!(state(&m), ("confirmed", "agreed", vec![]));
    assert_eq!(m["confirmation_forced"], false);
}
