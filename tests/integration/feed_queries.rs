//! A feed is rendered with a fixed number of statements, whatever the number of its meetings:
//! participants, overrides and names are read for all of them at once (issue 16). Counted with
//! diesel's instrumentation, on the connections of this test's database only.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{NaiveDate, TimeDelta};
use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};
use entente::config::DatabaseUrl;
use entente::domain::stored::DelegationId;
use entente::store::seed::{self, SeedMeeting};
use serde_json::json;

use crate::helpers::TestDatabase;
use crate::with_both_databases;

with_both_databases!(a_feed_costs_the_same_statements_for_10_and_500_meetings);

/// Statements run so far on the connections to each registered database (other tests'
/// databases are not registered, so they are not counted).
fn counts() -> &'static Mutex<HashMap<String, usize>> {
    static COUNTS: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

/// Counts the statements of one connection, once it knows which database it is connected to.
struct Counter {
    database: Option<String>,
}

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.database = Some(url.to_owned());
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                let sql = query.to_string();
                // The idle check of a worker's connection is not the rendering's.
                if sql.trim() == "SELECT 1" {
                    return;
                }
                if let Some(database) = &self.database {
                    let mut counts = counts().lock().unwrap();
                    if let Some(n) = counts.get_mut(database) {
                        *n += 1;
                    }
                }
            }
            _ => {}
        }
    }
}

fn counter() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(Counter { database: None }))
}

fn key(db: &TestDatabase) -> String {
    match db.config(&[]).database_url {
        DatabaseUrl::Sqlite(path) => path.to_string_lossy().into_owned(),
        DatabaseUrl::Postgres(url) => url,
    }
}

fn reset(key: &str) {
    counts().lock().unwrap().insert(key.to_owned(), 0);
}

fn counted(key: &str) -> usize {
    counts().lock().unwrap()[key]
}

async fn a_feed_costs_the_same_statements_for_10_and_500_meetings(db: TestDatabase) {
    set_default_instrumentation(counter).unwrap();
    let key = key(&db);
    reset(&key);
    let app = db.spawn_app().await;
    let w = app.world().await;
    let (a, b) = (
        DelegationId::from(w.a.as_str()),
        DelegationId::from(w.b.as_str()),
    );
    let seed_meetings = |from: usize, to: usize| {
        let store = app.store();
        let (a, b) = (a.clone(), b.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let first = NaiveDate::from_ymd_opt(2027, 3, 1)
                    .unwrap()
                    .and_hms_opt(9, 0, 0)
                    .unwrap();
                let seeds: Vec<SeedMeeting<'_>> = (from..to)
                    .map(|i| {
                        let start = first + TimeDelta::hours(i64::try_from(i).unwrap() * 5);
                        let mut meeting = SeedMeeting::single(
                            (&a, &b),
                            format!("Meeting {i}"),
                            (start, start + TimeDelta::hours(1)),
                        );
                        // Some series with a cancelled session: overrides are read too.
                        if i % 10 == 0 {
                            meeting.recurrence = Some("FREQ=WEEKLY;COUNT=4");
                            meeting.cancel_second = true;
                        }
                        meeting
                    })
                    .collect();
                let mut conn = store.connection().unwrap();
                seed::meetings(&mut conn, &seeds).unwrap();
            })
            .await
            .unwrap();
        }
    };
    seed_meetings(0, 10).await;
    // Each count is of a feed's first GET, rendered (not taken from the cache).
    let render = |expected: usize| {
        let app = &app;
        let token = w.token("a-viewer").to_owned();
        let key = key.clone();
        async move {
            let feed = app
                .expect(
                    201,
                    "POST",
                    "/api/v1/feeds",
                    Some(&token),
                    Some(json!({"name": format!("All of {expected}"), "scope": "visible"})),
                )
                .await;
            let url = feed["url"].as_str().unwrap().to_owned();
            reset(&key);
            let response = app.client.get(app.url(&url)).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let text = response.text().await.unwrap();
            assert!(
                text.matches("BEGIN:VEVENT").count() >= expected,
                "{expected} meetings"
            );
            counted(&key)
        }
    };
    let ten = render(10).await;
    seed_meetings(10, 500).await;
    let five_hundred = render(500).await;
    assert!(ten > 0, "the instrumentation counted nothing");
    assert_eq!(
        ten, five_hundred,
        "a rendering of 10 meetings ran {ten} statements, of 500 meetings {five_hundred}"
    );
    counts().lock().unwrap().remove(&key);
}
