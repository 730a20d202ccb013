//! The data written straight to the database for the list bench, through the shared seeding
//! module (`entente::store::seed`): V's own history, and the others' meetings, channels and forums.

use entente::domain::meeting::Confidentiality;
use entente::domain::stored::{DelegationId, ForumId, UserId};
use entente::store::seed::{self, SeedMeeting};
use entente::store::DbConnection;

/// V's own history, through the shared seeding module: `n` meetings over the ten years before
/// July 2026 (so that none, series included, reaches the measured windows of 2027 nor the
/// feed's, which starts 90 days before the run), with W or one of the others; every
/// twentieth a weekly series of eight sessions whose second is cancelled (an override).
pub fn seed_own(
    conn: &mut DbConnection,
    n: usize,
    (v, w): (&DelegationId, &DelegationId),
    others: &[DelegationId],
) {
    let first = chrono::NaiveDate::from_ymd_opt(2016, 7, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let minutes = 10 * 365 * 24 * 60;
    let meetings: Vec<SeedMeeting<'_>> = (0..n)
        .map(|i| {
            let start = first
                + chrono::TimeDelta::minutes(
                    i64::try_from(i * minutes / n.max(1)).unwrap() / 15 * 15,
                );
            let guest = if i % 2 == 0 {
                w
            } else {
                &others[i % others.len()]
            };
            let series = i % 20 == 0;
            SeedMeeting {
                recurrence: series.then_some("FREQ=WEEKLY;COUNT=8"),
                cancel_second: series,
                ..SeedMeeting::single(
                    (v, guest),
                    format!("Own {i}"),
                    (start, start + chrono::TimeDelta::hours(1)),
                )
            }
        })
        .collect();
    seed::meetings(conn, &meetings).unwrap();
}

/// The others' data, through the shared seeding module (`entente::store::seed`): `n`
/// meetings over all of 2027 (half `forum`-confidential in the others' forums), `n / 10`
/// active channels with their history, `n / 1000` forums of ten members.
pub fn seed_others(conn: &mut DbConnection, n: usize, others: &[DelegationId]) {
    let at = |minutes: usize| {
        chrono::NaiveDate::from_ymd_opt(2027, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::TimeDelta::minutes(i64::try_from(minutes).unwrap())
    };
    let forums: Vec<ForumId> = (0..(n / 1000).max(1))
        .map(|f| {
            let mut members: Vec<DelegationId> = (0..10)
                .map(|m| others[(f + m) % others.len()].clone())
                .collect();
            members.dedup();
            seed::forum(conn, &format!("Forum {f}"), &members).unwrap()
        })
        .collect();
    let year = 365 * 24 * 60;
    let meetings: Vec<SeedMeeting<'_>> = (0..n)
        .map(|i| {
            let in_forum = i % 2 == 0;
            SeedMeeting {
                host: &others[i % others.len()],
                guest: &others[(i + 1) % others.len()],
                title: format!("Meeting {i}"),
                start: at(i * year / n),
                end: at(i * year / n + 60),
                confidentiality: if in_forum {
                    Confidentiality::Forum
                } else {
                    Confidentiality::Participants
                },
                forum: in_forum.then(|| &forums[i % forums.len()]),
                recurrence: None,
                cancel_second: false,
            }
        })
        .collect();
    seed::meetings(conn, &meetings).unwrap();
    let user = UserId::from("seed");
    for i in 0..n / 10 {
        let parties = (&others[i % others.len()], &others[(i + 7) % others.len()]);
        seed::active_channel(conn, parties, &format!("Channel {i}"), &user).unwrap();
    }
}
