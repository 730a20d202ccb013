//! Forums: created and edited by platform admins, seen by their members; their meetings'
//! participants are members, and `forum` confidentiality follows membership.

use serde_json::{json, Value};

use crate::channels::third;
use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    forum_membership_decides_who_sees_what,
    forums_are_validated_and_versioned
);

async fn forum_membership_decides_who_sees_what(app: TestApp) {
    let w = app.world().await;
    let (c, c_admin) = third(&app, &w, "CCC").await;
    let (d, d_admin) = third(&app, &w, "DDD").await;

    let response = app
        .call(
            "POST",
            "/api/v1/forums",
            Some(&w.platform),
            Some(json!({"name": "Open-ended working group on ICT security",
                        "description": "UN First Committee", "members": [w.a, w.b, c, w.a]})),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let forum: Value = response.json().await.unwrap();
    let id = forum["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/forums/{id}"));
    let mut members = vec![w.a.clone(), w.b.clone(), c.clone()];
    members.sort();
    assert_eq!(forum["members"], json!(members), "deduplicated, sorted");
    assert_eq!(forum["version"], 1);

    // Members (and platform admins) see the forum; others get 404.
    for token in [w.token("a-viewer"), c_admin.as_str(), w.platform.as_str()] {
        app.expect(
            200,
            "GET",
            &format!("/api/v1/forums/{id}"),
            Some(token),
            None,
        )
        .await;
        let page = app
            .expect(200, "GET", "/api/v1/forums", Some(token), None)
            .await;
        assert_eq!(page["items"][0]["id"], id.as_str());
    }
    app.expect_problem(
        404,
        "not-found",
        "GET",
        &format!("/api/v1/forums/{id}"),
        Some(&d_admin),
        None,
    )
    .await;
    let page = app
        .expect(200, "GET", "/api/v1/forums", Some(&d_admin), None)
        .await;
    assert_eq!(page["items"], json!([]));

    // A forum meeting: host and participants are members.
    let booking = |participants: Value, confidentiality: &str| {
        json!({"title": "Informal consultations", "participants": participants,
               "time_zone": "America/New_York", "start": "2027-07-12T10:00", "end": "2027-07-12T13:00",
               "forum_id": id, "confidentiality": confidentiality})
    };
    let meeting = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(booking(json!([w.b]), "forum")),
        )
        .await;
    let meeting_id = meeting["id"].as_str().unwrap().to_owned();
    assert_eq!(meeting["forum_id"], id.as_str());
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(booking(json!([w.b, d]), "forum")),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "participants");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&d));
    // A host outside the forum is told only that there is no such forum.
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/meetings",
            Some(&d_admin),
            Some(booking(json!([w.a]), "participants")),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "forum_id");
    // `forum` confidentiality needs a forum.
    let mut no_forum = booking(json!([w.b]), "forum");
    no_forum["forum_id"] = Value::Null;
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(no_forum),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "confidentiality");

    // Every member sees a `forum` meeting, also one not taking part (CCC); DDD does not.
    let sees = |token: String| {
        let app = &app;
        let meeting_id = meeting_id.clone();
        let forum = id.clone();
        async move {
            let status = app
                .call(
                    "GET",
                    &format!("/api/v1/meetings/{meeting_id}"),
                    Some(&token),
                    None,
                )
                .await
                .status()
                .as_u16();
            let ics = app
                .call(
                    "GET",
                    &format!("/api/v1/meetings/{meeting_id}.ics"),
                    Some(&token),
                    None,
                )
                .await
                .status()
                .as_u16();
            assert_eq!(ics, status, "GET and .ics agree");
            let listed = app
                .expect(
                    200,
                    "GET",
                    &format!("/api/v1/meetings?forum_id={forum}"),
                    Some(&token),
                    None,
                )
                .await;
            let in_list = listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == meeting_id.as_str());
            let schedule = app
                .expect(
                    200,
                    "GET",
                    "/api/v1/schedule?from=2027-07-01T00:00:00Z&to=2027-08-01T00:00:00Z",
                    Some(&token),
                    None,
                )
                .await;
            let in_schedule = schedule["occurrences"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["meeting_id"] == meeting_id.as_str());
            assert_eq!(status == 200, in_list, "GET and list agree");
            assert_eq!(in_list, in_schedule, "list and schedule agree");
            assert!(status == 200 || status == 404, "{status}");
            status == 200
        }
    };
    assert!(sees(w.token("a-viewer").to_owned()).await);
    assert!(sees(w.token("b-viewer").to_owned()).await);
    assert!(sees(c_admin.clone()).await);
    assert!(!sees(d_admin.clone()).await);
    assert!(!sees(w.platform.clone()).await);

    // A `participants` meeting in the forum stays with its participants.
    let private = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(booking(json!([w.b]), "participants")),
        )
        .await;
    app.expect_problem(
        404,
        "not-found",
        "GET",
        &format!("/api/v1/meetings/{}", private["id"].as_str().unwrap()),
        Some(&c_admin),
        None,
    )
    .await;

    // Removing members removes their view, not the meeting: CCC (not taking part) loses it,
    // BBB (a participant) keeps it.
    let forum = app
        .expect(
            200,
            "PATCH",
            &format!("/api/v1/forums/{id}"),
            Some(&w.platform),
            Some(json!({"members": [w.a, d]})),
        )
        .await;
    assert_eq!(forum["version"], 2);
    assert!(!sees(c_admin.clone()).await);
    assert!(sees(w.token("b-viewer").to_owned()).await);
    assert!(
        sees(d_admin.clone()).await,
        "a new member sees the forum's meetings"
    );
    app.expect_problem(
        404,
        "not-found",
        "GET",
        &format!("/api/v1/forums/{id}"),
        Some(&c_admin),
        None,
    )
    .await;
    let kept = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings/{meeting_id}"),
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(kept["status"], "proposed");
    assert_eq!(kept["participants"].as_array().unwrap().len(), 2);
    // Editing it without changing participants still works (BBB stays, though no longer a
    // member); changing them must follow the forum's members now.
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/meetings/{meeting_id}"),
        Some(w.token("a-scheduler")),
        Some(json!({"title": "Informal consultations (2)"})),
    )
    .await;
    app.expect_problem(
        422,
        "validation",
        "PATCH",
        &format!("/api/v1/meetings/{meeting_id}"),
        Some(w.token("a-scheduler")),
        Some(json!({"participants": [w.b, d]})),
    )
    .await;
    app.expect(
        200,
        "PATCH",
        &format!("/api/v1/meetings/{meeting_id}"),
        Some(w.token("a-scheduler")),
        Some(json!({"participants": [d]})),
    )
    .await;

    // The forum's changes are audited for its members, old and new.
    let audit = app
        .expect(200, "GET", "/api/v1/audit?limit=500", Some(&c_admin), None)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entity_id"] == id.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["forum.update", "forum.create"]);
}

async fn forums_are_validated_and_versioned(app: TestApp) {
    let w = app.world().await;
    let base = json!({"name": "Forum", "members": [w.a, w.b]});
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    for (body, field) in [
        (with("name", json!("")), "name"),
        (
            with("description", json!("d".repeat(10_001))),
            "description",
        ),
        (
            with(
                "members",
                json!([w.a, "01a21600-0000-7000-8000-000000000000"]),
            ),
            "members[1]",
        ),
        (with("chair", json!("AAA")), "chair"),
    ] {
        let problem = app
            .expect_problem(
                422,
                "validation",
                "POST",
                "/api/v1/forums",
                Some(&w.platform),
                Some(body.clone()),
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    app.expect_problem(
        422,
        "validation",
        "POST",
        "/api/v1/forums",
        Some(&w.platform),
        Some(with("members", json!("everyone"))),
    )
    .await;
    for who in ["a-admin", "b-scheduler"] {
        app.expect_problem(
            403,
            "forbidden",
            "POST",
            "/api/v1/forums",
            Some(w.token(who)),
            Some(base.clone()),
        )
        .await;
    }
    let page = app
        .expect(200, "GET", "/api/v1/forums", Some(&w.platform), None)
        .await;
    assert_eq!(page["items"], json!([]), "nothing was created");

    // An empty forum is fine: members come later.
    let forum = app
        .expect(
            201,
            "POST",
            "/api/v1/forums",
            Some(&w.platform),
            Some(json!({"name": "Empty", "members": []})),
        )
        .await;
    let id = forum["id"].as_str().unwrap();
    // If-Match: a stale version is refused and changes nothing.
    let stale = app
        .client
        .patch(app.url(&format!("/api/v1/forums/{id}")))
        .bearer_auth(&w.platform)
        .header("If-Match", "\"2\"")
        .json(&json!({"name": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/forums/{id}")))
        .bearer_auth(&w.platform)
        .header("If-Match", "\"1\"")
        .json(&json!({"name": "Renamed", "description": null, "members": [w.b]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let forum: Value = response.json().await.unwrap();
    assert_eq!(
        (forum["name"].as_str(), forum["members"].clone()),
        (Some("Renamed"), json!([w.b]))
    );
    // A member is no platform admin: 403; a non-member does not see it: 404.
    app.expect_problem(
        403,
        "forbidden",
        "PATCH",
        &format!("/api/v1/forums/{id}"),
        Some(w.token("b-admin")),
        Some(json!({"name": "Mine"})),
    )
    .await;
    app.expect_problem(
        404,
        "not-found",
        "PATCH",
        &format!("/api/v1/forums/{id}"),
        Some(w.token("a-admin")),
        Some(json!({"name": "Mine"})),
    )
    .await;
    app.expect_problem(
        404,
        "not-found",
        "GET",
        "/api/v1/forums/01a21600-0000-7000-8000-000000000000",
        Some(&w.platform),
        None,
    )
    .await;
}
