//! Host alternation (issue 18): who hosted two delegations' bilateral meetings, whose turn it
//! is, and a booking that asks for the rotation to be kept.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(reciprocity_counts_hosts_and_keeps_the_turn);

async fn reciprocity_counts_hosts_and_keeps_the_turn(app: TestApp) {
    let w = app.world().await;
    let c = app
        .create_delegation(&w.platform, "CCC", "Europe/Zurich")
        .await;
    app.create_user(&w.platform, &c, "c-viewer", "viewer").await;
    let c_viewer = app.login("c-viewer", crate::helpers::USER_PASSWORD).await;
    let turn = |token: String| {
        let app = &app;
        async move {
            app.expect(
                200,
                "GET",
                "/api/v1/reciprocity?a=AAA&b=BBB",
                Some(&token),
                None,
            )
            .await
        }
    };
    let book = |who: &str, guests: Vec<String>, day: u32, rotation: bool| {
        json!({"title": "Consultations", "participants": guests, "time_zone": "UTC",
               "start": format!("2027-04-{day:02}T10:00"), "end": format!("2027-04-{day:02}T11:00"),
               "host_rotation": rotation, "location": who})
    };
    let never = turn(w.token("a-viewer").to_owned()).await;
    assert_eq!(
        never,
        json!({"hosted": {w.a.clone(): 0, w.b.clone(): 0}, "last_host": null, "next_host": null})
    );
    // A hosts; then B's turn: A is refused with host-out-of-turn, B is not.
    app.book(
        w.token("a-scheduler"),
        book("Moscow", vec![w.b.clone()], 1, true),
    )
    .await;
    let after_one = turn(w.token("b-viewer").to_owned()).await;
    assert_eq!(after_one["hosted"][&w.a], 1);
    assert_eq!(after_one["last_host"], json!(w.a));
    assert_eq!(after_one["next_host"], json!(w.b));
    let problem = app
        .expect_problem(
            422,
            "host-out-of-turn",
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(book("Moscow", vec![w.b.clone()], 8, true)),
        )
        .await;
    assert!(
        problem["detail"].as_str().unwrap().contains(&w.b),
        "{problem}"
    );
    // Without host_rotation nothing is checked (opt-in); the meeting counts.
    let extra: Value = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(book("Moscow", vec![w.b.clone()], 9, false)),
        )
        .await;
    // … until it is cancelled.
    app.expect(
        200,
        "DELETE",
        &format!("/api/v1/meetings/{}", extra["id"].as_str().unwrap()),
        Some(w.token("a-scheduler")),
        None,
    )
    .await;
    // A multilateral meeting hosted by A does not count either.
    app.book(
        w.token("a-scheduler"),
        book("Moscow", vec![w.b.clone(), c.clone()], 10, false),
    )
    .await;
    app.book(
        w.token("b-scheduler"),
        book("Washington", vec![w.a.clone()], 15, true),
    )
    .await;
    let even = turn(w.token("platform").to_owned()).await;
    assert_eq!(even["hosted"], json!({w.a.clone(): 1, w.b.clone(): 1}));
    assert_eq!(even["last_host"], json!(w.b));
    assert_eq!(
        even["next_host"],
        json!(w.a),
        "a tie: the one that did not host last"
    );
    // By ids as well; the rotation needs a bilateral meeting; others and bad pairs are refused.
    let by_id = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/reciprocity?a={}&b={}", w.b, w.a),
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(by_id["next_host"], json!(w.a));
    let problem = app
        .expect_problem(
            422,
            "validation",
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(book("Moscow", vec![w.b.clone(), c.clone()], 20, true)),
        )
        .await;
    assert_eq!(problem["errors"][0]["field"], "host_rotation");
    app.expect_problem(
        404,
        "not-found",
        "GET",
        "/api/v1/reciprocity?a=AAA&b=BBB",
        Some(&c_viewer),
        None,
    )
    .await;
    app.expect_problem(
        422,
        "validation",
        "GET",
        "/api/v1/reciprocity?a=AAA&b=AAA",
        Some(w.token("a-viewer")),
        None,
    )
    .await;
    app.expect_problem(
        422,
        "validation",
        "GET",
        "/api/v1/reciprocity?a=AAA&b=ZZZ",
        Some(w.token("a-viewer")),
        None,
    )
    .await;
}

on_both_backends!(concurrent_bookings_keep_the_turn);

async fn concurrent_bookings_keep_the_turn(app: TestApp) {
    let w = app.world().await;
    // B hosted once: it is A's turn, for one meeting only.
    app.book(
        w.token("b-scheduler"),
        json!({"title": "First", "participants": [w.a],
        "time_zone": "UTC", "start": "2027-04-01T10:00", "end": "2027-04-01T11:00"}),
    )
    .await;
    const AT_ONCE: usize = 8;
    let bookings = (0..AT_ONCE).map(|i| {
        let (app, token, b) = (&app, w.token("a-scheduler"), w.b.clone());
        async move {
            let body = json!({"title": format!("Turn {i}"), "participants": [b],
                "time_zone": "UTC", "start": format!("2027-05-{:02}T10:00", i + 1),
                "end": format!("2027-05-{:02}T11:00", i + 1), "host_rotation": true});
            app.call("POST", "/api/v1/meetings", Some(token), Some(body))
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(bookings).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 422),
        "{statuses:?}"
    );
    let turn = app
        .expect(
            200,
            "GET",
            "/api/v1/reciprocity?a=AAA&b=BBB",
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(turn["hosted"], json!({w.a.clone(): 1, w.b.clone(): 1}));
}
