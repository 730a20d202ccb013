//! The caller's writes, timed like the reads: each call books, moves or cancels something new
//! (in 2027, clear of the seeded history), so that only the history differs between rows.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta, TimeZone};
use serde_json::{json, Value};

use super::{Client, Fixture, CALLS, WARM_UP};

/// One timed kind of call: (method, path, body) for the i-th call.
pub type Request = Box<dyn Fn(usize) -> (&'static str, String, Option<Value>)>;

impl Client {
    /// Median and 95th percentile of `CALLS` timed calls (after `WARM_UP` untimed ones), each
    /// with its own request.
    pub(super) async fn time_each(&self, token: &str, request: &Request) -> (Duration, Duration) {
        let mut times = Vec::with_capacity(CALLS);
        for i in 0..WARM_UP + CALLS {
            let (method, path, body) = request(i);
            let started = Instant::now();
            self.call(method, &path, Some(token), body).await;
            if i >= WARM_UP {
                times.push(started.elapsed());
            }
        }
        times.sort();
        (times[CALLS / 2], times[CALLS * 95 / 100])
    }
}

fn day(month: u32, offset: usize) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2027, month, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        + TimeDelta::days(i64::try_from(offset).unwrap())
}

fn local(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

fn booking(w: &str, title: String, start: NaiveDateTime, recurrence: Option<&str>) -> Value {
    json!({"title": title, "participants": [w], "time_zone": "UTC", "start": local(start),
           "end": local(start + TimeDelta::minutes(30)), "recurrence": recurrence})
}

/// (endpoint, median, p95) of each write, by V's scheduler.
pub async fn measure(client: &Client, f: &Fixture) -> Vec<(String, Duration, Duration)> {
    let token = f.scheduler.as_str();
    let w = f.w.clone();
    let book = |title: &str, start: NaiveDateTime| {
        let body = booking(&w, title.to_owned(), start, None);
        async move {
            client
                .call("POST", "/api/v1/meetings", Some(token), Some(body))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let moving = book("Moving", day(5, 0)).await;
    let mut cancelling = Vec::new();
    for i in 0..WARM_UP + CALLS {
        cancelling.push(book("Cancelled", day(6, i)).await);
    }
    let zurich = chrono_tz::Europe::Zurich;
    let weekly = f.weekly.clone();
    let first_session = NaiveDate::from_ymd_opt(2027, 1, 5)
        .unwrap()
        .and_hms_opt(15, 0, 0)
        .unwrap();
    let w = f.w.clone();
    let cases: Vec<(&str, Request)> = vec![
        (
            "POST /meetings (conflicts checked)",
            Box::new({
                let w = w.clone();
                move |i| {
                    let body = booking(&w, format!("Booked {i}"), day(2, i), None);
                    ("POST", "/api/v1/meetings".to_owned(), Some(body))
                }
            }),
        ),
        (
            "POST /meetings, weekly for 3 years",
            Box::new(move |i| {
                let rule = Some("FREQ=WEEKLY;COUNT=156");
                let body = booking(&w, format!("Weekly {i}"), day(7, i), rule);
                ("POST", "/api/v1/meetings".to_owned(), Some(body))
            }),
        ),
        (
            "PATCH /meetings/{id} (move)",
            Box::new(move |i| {
                let start = day(5, i % 28) + TimeDelta::hours(1);
                let body = json!({"start": local(start),
                                  "end": local(start + TimeDelta::minutes(30))});
                ("PATCH", format!("/api/v1/meetings/{moving}"), Some(body))
            }),
        ),
        (
            "DELETE /meetings/{id} (cancel)",
            Box::new(move |i| {
                (
                    "DELETE",
                    format!("/api/v1/meetings/{}", cancelling[i]),
                    None,
                )
            }),
        ),
        (
            "PUT /meetings/{id}/occurrences/{start}",
            Box::new(move |i| {
                // Session i + 1 of the fixture's weekly series (15:00 in Zurich), an hour later.
                let session = first_session + TimeDelta::weeks(i64::try_from(i + 1).unwrap());
                let original = zurich
                    .from_local_datetime(&session)
                    .single()
                    .unwrap()
                    .with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ");
                let later = session + TimeDelta::hours(1);
                let body = json!({"start": local(later),
                                  "end": local(later + TimeDelta::hours(1))});
                (
                    "PUT",
                    format!("/api/v1/meetings/{weekly}/occurrences/{original}"),
                    Some(body),
                )
            }),
        ),
    ];
    let mut out = Vec::new();
    for (name, request) in cases {
        let (median, p95) = client.time_each(token, &request).await;
        out.push((name.to_owned(), median, p95));
    }
    out
}
