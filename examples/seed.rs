//! Data and a reference rate for the throughput harness (`scripts/bench-throughput.sh`).
//!
//!     seed meetings <database-url> <n>              # n meetings among the delegations there
//!     seed commits <database-url> <threads> <secs>  # the raw single-row commit rate
//!
//! `meetings` writes through the shared seeding module (`entente::store::seed`): n confirmed
//! bilateral meetings of an hour among the existing delegations, spread over four years from
//! 2026-06-01 (a delegation of 50 then holds about 20 meetings a week). `commits` measures
//! what the database itself can commit with the application's own connection settings
//! (SQLite: WAL, `synchronous=FULL`): one row per transaction, from `threads` connections.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta};
use diesel::RunQueryDsl;
use entente::config::DatabaseUrl;
use entente::domain::stored::DelegationId;
use entente::store::seed::{self, SeedMeeting};
use entente::store::{delegations, write_transaction, Store};

fn meetings(store: &Store, n: usize, postgres: bool) {
    let mut conn = store.connection().unwrap();
    let all: Vec<DelegationId> = delegations::directory(&mut conn, None, 10_000)
        .unwrap()
        .into_iter()
        .map(|d| DelegationId::from(d.id))
        .collect();
    assert!(all.len() >= 2, "create the delegations first");
    let first = NaiveDate::from_ymd_opt(2026, 6, 1)
        .unwrap()
        .and_hms_opt(6, 0, 0)
        .unwrap();
    let minutes = 4 * 365 * 24 * 60;
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let seeds: Vec<SeedMeeting<'_>> = chunk
            .iter()
            .map(|&i| {
                let host = i % all.len();
                let guest = (host + 1 + (i / all.len()) % (all.len() - 1)) % all.len();
                let start =
                    first + TimeDelta::minutes(i64::try_from(i * minutes / n).unwrap() / 15 * 15);
                SeedMeeting::single(
                    (&all[host], &all[guest]),
                    format!("Seeded meeting {i}"),
                    (start, start + TimeDelta::hours(1)),
                )
            })
            .collect();
        write_transaction(&mut conn, |conn| seed::meetings(conn, &seeds)).unwrap();
    }
    // Statistics, and on PostgreSQL the visibility map and hint bits as autovacuum leaves them
    // soon after a bulk load: the steady state a deployment runs in, not the first minute.
    let settle = if postgres {
        "VACUUM ANALYZE"
    } else {
        "ANALYZE"
    };
    diesel::sql_query(settle).execute(&mut conn).unwrap();
    eprintln!(
        "seeded {n} meetings among {} delegations in {:.1} s",
        all.len(),
        started.elapsed().as_secs_f64()
    );
}

fn commits(store: &Store, threads: usize, seconds: u64) {
    let mut conn = store.connection().unwrap();
    diesel::sql_query(
        "CREATE TABLE IF NOT EXISTS bench_commits (id TEXT PRIMARY KEY, at TIMESTAMP NOT NULL)",
    )
    .execute(&mut conn)
    .unwrap();
    drop(conn);
    let until = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut conn = store.connection().unwrap();
                let mut done = 0_u64;
                while Instant::now() < until {
                    write_transaction(&mut conn, |conn| {
                        diesel::sql_query("INSERT INTO bench_commits (id, at) VALUES ($1, $2)")
                            .bind::<diesel::sql_types::Text, _>(uuid::Uuid::now_v7().to_string())
                            .bind::<diesel::sql_types::Timestamp, _>(entente::store::now())
                            .execute(conn)
                    })
                    .unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let mut conn = store.connection().unwrap();
    diesel::sql_query("DROP TABLE bench_commits")
        .execute(&mut conn)
        .unwrap();
    println!("{:.0}", total as f64 / seconds as f64);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = DatabaseUrl::parse(&args[2]).unwrap();
    match args[1].as_str() {
        "meetings" => meetings(
            &Store::open(&url, 1).unwrap(),
            args[3].parse().unwrap(),
            args[2].starts_with("postgres"),
        ),
        "commits" => {
            let threads: usize = args[3].parse().unwrap();
            let store = Store::open(&url, u32::try_from(threads).unwrap()).unwrap();
            commits(&store, threads, args[4].parse().unwrap());
        }
        other => panic!("unknown command {other}: meetings | commits"),
    }
}
