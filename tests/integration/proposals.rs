//! Counter-proposals (issue 17): a guest proposes another time or venue for the meeting or one
//! session of it; the host accepts (the change is made and the proposer has agreed to it) or
//! rejects with a reason; the proposer may withdraw. For the participants only.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_counter_proposal_accepted_rejected_and_withdrawn,
    a_counter_proposal_for_one_session
);

async fn a_counter_proposal_accepted_rejected_and_withdrawn(app: TestApp) {
    let w = app.world().await;
    let c = app
        .create_delegation(w.token("platform"), "CCC", "Asia/Shanghai")
        .await;
    app.create_user(w.token("platform"), &c, "c-scheduler", "scheduler")
        .await;
    let outsider = app
        .login("c-scheduler", crate::helpers::USER_PASSWORD)
        .await;
    let m = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(json!({"title": "Consultations", "participants": [w.b],
                "time_zone": "Europe/Zurich", "start": "2027-03-29T10:00", "end": "2027-03-29T11:30",
                "location": "Geneva"})),
        )
        .await;
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    let proposals = format!("{path}/proposals");
    let proposal = json!({"start": "2027-03-30T10:00", "end": "2027-03-30T11:30", "location": "Vienna",
                          "comment": "Our minister travels on the 29th"});
    // Who may not propose, and what is no proposal.
    for (token, body, status) in [
        (w.token("a-scheduler"), proposal.clone(), 403),
        (w.token("b-viewer"), proposal.clone(), 403),
        (outsider.as_str(), proposal.clone(), 404),
        (
            w.token("b-scheduler"),
            json!({"comment": "Another day?"}),
            422,
        ),
        (
            w.token("b-scheduler"),
            json!({"location": "Vienna", "comment": ""}),
            422,
        ),
        (
            w.token("b-scheduler"),
            json!({"start": "2027-03-30T25:00", "comment": "x"}),
            422,
        ),
    ] {
        let response = app
            .call("POST", &proposals, Some(token), Some(body.clone()))
            .await;
        assert_eq!(response.status(), status, "{body}");
    }
    let response = app
        .call(
            "POST",
            &proposals,
            Some(w.token("b-scheduler")),
            Some(proposal),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let open: Value = response.json().await.unwrap();
    assert_eq!(open["status"], "open");
    assert_eq!(open["proposer_delegation_id"], w.b.as_str());
    assert_eq!(
        location,
        format!("{proposals}/{}", open["id"].as_str().unwrap())
    );
    let listed = app
        .expect(200, "GET", &proposals, Some(w.token("a-viewer")), None)
        .await;
    assert_eq!(listed["items"][0]["id"], open["id"]);
    app.expect_problem(404, "not-found", "GET", &proposals, Some(&outsider), None)
        .await;

    // The host accepts: the meeting moves to Vienna on the 30th, and both parties agree.
    let decide = |id: &Value, verb: &str| format!("{proposals}/{}/{verb}", id.as_str().unwrap());
    app.expect_problem(
        403,
        "forbidden",
        "POST",
        &decide(&open["id"], "accept"),
        Some(w.token("b-scheduler")),
        None,
    )
    .await;
    let accepted = app
        .expect(
            200,
            "POST",
            &decide(&open["id"], "accept"),
            Some(w.token("a-scheduler")),
            None,
        )
        .await;
    assert_eq!(accepted["status"], "accepted");
    let now = app
        .expect(200, "GET", &path, Some(w.token("b-viewer")), None)
        .await;
    assert_eq!(
        (
            now["start"].as_str(),
            now["location"].as_str(),
            now["status"].as_str()
        ),
        (
            Some("2027-03-30T10:00:00"),
            Some("Vienna"),
            Some("confirmed")
        )
    );
    assert_eq!(now["agreement"]["state"], "agreed");
    app.expect_problem(
        409,
        "conflict",
        "POST",
        &decide(&open["id"], "accept"),
        Some(w.token("a-scheduler")),
        None,
    )
    .await;

    // Rejected, with a reason (none: 422); then it cannot be withdrawn.
    let again = app
        .expect(
            201,
            "POST",
            &proposals,
            Some(w.token("b-scheduler")),
            Some(json!({"location": "Bern", "comment": "Closer to our embassy"})),
        )
        .await;
    app.expect_problem(
        422,
        "validation",
        "POST",
        &decide(&again["id"], "reject"),
        Some(w.token("a-scheduler")),
        Some(json!({})),
    )
    .await;
    let rejected = app
        .expect(
            200,
            "POST",
            &decide(&again["id"], "reject"),
            Some(w.token("a-admin")),
            Some(json!({"reason": "The venue is booked"})),
        )
        .await;
    assert_eq!(
        (rejected["status"].as_str(), rejected["reason"].as_str()),
        (Some("rejected"), Some("The venue is booked"))
    );
    app.expect_problem(
        409,
        "conflict",
        "POST",
        &decide(&again["id"], "withdraw"),
        Some(w.token("b-scheduler")),
        Some(json!({})),
    )
    .await;

    // Withdrawn by its proposer only. (Proposed with an Idempotency-Key: a retry proposes
    // nothing more and answers the first proposal again.)
    let once = || {
        app.client
            .post(app.url(&proposals))
            .bearer_auth(w.token("b-admin"))
            .header("idempotency-key", "b-31st")
            .json(&json!({"start": "2027-03-31T10:00", "end": "2027-03-31T11:00", "comment": "Or the 31st"}))
            .send()
    };
    let first = once().await.unwrap();
    assert_eq!(first.status(), 201);
    let third: Value = first.json().await.unwrap();
    let retry = once().await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let replayed: Value = retry.json().await.unwrap();
    assert_eq!(replayed["id"], third["id"]);
    let listed = app
        .expect(200, "GET", &proposals, Some(w.token("b-viewer")), None)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
    app.expect_problem(
        403,
        "forbidden",
        "POST",
        &decide(&third["id"], "withdraw"),
        Some(w.token("a-scheduler")),
        Some(json!({})),
    )
    .await;
    let withdrawn = app
        .expect(
            200,
            "POST",
            &decide(&third["id"], "withdraw"),
            Some(w.token("b-scheduler")),
            Some(json!({"reason": "The 30th suits us now"})),
        )
        .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    // The meeting is where the accepted proposal put it; the history tells the story.
    let history = app
        .expect(
            200,
            "GET",
            &format!("{path}/history"),
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "meeting.propose",
        "meeting.proposal_accept",
        "meeting.proposal_reject",
        "meeting.proposal_withdraw",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

async fn a_counter_proposal_for_one_session(app: TestApp) {
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
    let path = format!("/api/v1/meetings/{}", series["id"].as_str().unwrap());
    app.expect(
        200,
        "POST",
        &format!("{path}/response"),
        Some(w.token("b-scheduler")),
        Some(json!({"response": "accepted"})),
    )
    .await;
    // No such session: 404.
    app.expect_problem(
        404,
        "not-found",
        "POST",
        &format!("{path}/proposals"),
        Some(w.token("b-scheduler")),
        Some(json!({"recurrence_id": "2027-01-20T09:00:00Z", "location": "Bern", "comment": "x"})),
    )
    .await;
    let proposal = app
        .expect(
            201,
            "POST",
            &format!("{path}/proposals"),
            Some(w.token("b-scheduler")),
            Some(
                json!({"recurrence_id": "2027-01-19T09:00:00Z", "start": "2027-01-19T14:00",
                        "end": "2027-01-19T15:00", "comment": "A morning debate in parliament"}),
            ),
        )
        .await;
    assert_eq!(proposal["recurrence_id"], "2027-01-19T09:00:00Z");
    app.expect(
        200,
        "POST",
        &format!(
            "{path}/proposals/{}/accept",
            proposal["id"].as_str().unwrap()
        ),
        Some(w.token("a-scheduler")),
        None,
    )
    .await;
    let schedule = app
        .expect(
            200,
            "GET",
            "/api/v1/schedule?from=2027-01-18T00:00:00Z&to=2027-01-27T00:00:00Z&tz=UTC",
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    let sessions: Vec<(&str, &str, &str)> = schedule["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["start_utc"].as_str().unwrap(),
                o["status"].as_str().unwrap(),
                o["agreement"]["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sessions,
        [
            ("2027-01-19T13:00:00Z", "confirmed", "agreed"),
            ("2027-01-26T09:00:00Z", "confirmed", "agreed")
        ],
        "moved as proposed, and the proposer agreed to it"
    );
}
