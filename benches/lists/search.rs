//! The slot search over six delegations with 10,000 meetings each (over ten years, about 250
//! of them in the 92 days searched: together they leave free a third of the time), in six
//! zones, with observances: every candidate of a 15-minute grid evaluated (`rank: fair`), and
//! the first twenty (`earliest`).

use std::time::Duration;

use entente::domain::stored::DelegationId;
use entente::store::seed::{self, SeedMeeting};
use entente::store::DbConnection;
use serde_json::json;

use super::Client;

/// The six delegations searched, by code and zone.
pub const SEARCHED: [(&str, &str); 6] = [
    ("S-MOW", "Europe/Moscow"),
    ("S-WAS", "America/New_York"),
    ("S-GVA", "Europe/Zurich"),
    ("S-TYO", "Asia/Tokyo"),
    ("S-DEL", "Asia/Kolkata"),
    ("S-LHI", "Australia/Lord_Howe"),
];
const MEETINGS_EACH: usize = 10_000;

/// Creates the six, with a few observances each (through the API).
pub async fn delegations(client: &Client, platform: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for (code, zone) in SEARCHED {
        let body = client
            .call(
                "POST",
                "/api/v1/delegations",
                Some(platform),
                Some(json!({"code": code, "name": code, "kind": "state", "time_zone": zone})),
            )
            .await;
        let id = body["id"].as_str().unwrap().to_owned();
        client
            .call(
                "PUT",
                &format!("/api/v1/delegations/{id}/observances"),
                Some(platform),
                Some(json!({"observances": [
                    {"name": "New Year", "rule": "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"},
                    {"name": "National Day", "rule": "FREQ=YEARLY;BYMONTH=2;BYDAY=2WE"},
                    {"name": "Day of mourning", "date": "2027-03-03"}
                ]})),
            )
            .await;
        ids.push(id);
    }
    ids
}

/// 30,000 bilateral meetings among the six (10,000 each), one hour, from 2020 to 2029, on
/// quarter hours.
pub fn seed_searched(conn: &mut DbConnection, six: &[DelegationId]) {
    let first = chrono::NaiveDate::from_ymd_opt(2020, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let total = MEETINGS_EACH * six.len() / 2;
    let minutes = 10 * 365 * 24 * 60;
    let meetings: Vec<SeedMeeting<'_>> = (0..total)
        .map(|i| {
            let start = first
                + chrono::TimeDelta::minutes(i64::try_from(i * minutes / total).unwrap() / 15 * 15);
            let host = &six[i % six.len()];
            let guest = &six[(i + 1 + (i / six.len()) % (six.len() - 1)) % six.len()];
            SeedMeeting::single(
                (host, guest),
                format!("Searched {i}"),
                (start, start + chrono::TimeDelta::hours(1)),
            )
        })
        .collect();
    seed::meetings(conn, &meetings).unwrap();
}

/// (endpoint, median, p95) of the searches, by `token`.
pub async fn measure(client: &Client, token: &str) -> Vec<(String, Duration, Duration)> {
    let codes: Vec<&str> = SEARCHED.iter().map(|(code, _)| *code).collect();
    let mut out = Vec::new();
    for (name, rank) in [
        ("search, 6 × 92 days (fair, every candidate)", "fair"),
        ("search, 6 × 92 days (earliest 20)", "earliest"),
    ] {
        let body = json!({"delegations": codes, "from": "2027-01-01T00:00:00Z",
            "to": "2027-04-03T00:00:00Z", "duration_minutes": 60, "step_minutes": 15,
            "outside_hours_minutes": 240, "rank": rank});
        let found = client
            .call(
                "POST",
                "/api/v1/availability/search",
                Some(token),
                Some(body.clone()),
            )
            .await;
        let request: super::writes::Request = Box::new(move |_| {
            (
                "POST",
                "/api/v1/availability/search".to_owned(),
                Some(body.clone()),
            )
        });
        let slots = found["slots"].as_array().map_or(0, Vec::len);
        assert!(slots > 0, "{name}: the search finds nothing: {found}");
        let (median, p95) = client.time_each(token, &request).await;
        out.push((name.to_owned(), median, p95));
    }
    out
}
