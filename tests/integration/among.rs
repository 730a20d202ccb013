//! `store::among`: "one of these ids" as one fixed statement with the ids bound as a single JSON
//! array. It must find exactly the stored ones, whatever the number of ids (none; more than
//! SQLite binds in one statement) and whatever characters an id holds.

use chrono::{NaiveDate, TimeDelta};
use entente::domain::stored::DelegationId;
use entente::store::seed::{self, SeedMeeting};
use entente::store::{meetings, participants, write_transaction};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(ids_are_found_among_any_number_of_values);

async fn ids_are_found_among_any_number_of_values(app: TestApp) {
    let w = app.world().await;
    let (a, b) = (
        DelegationId::from(w.a.as_str()),
        DelegationId::from(w.b.as_str()),
    );
    let store = app.store();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.connection().unwrap();
        let start = NaiveDate::from_ymd_opt(2027, 3, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let seeds: Vec<SeedMeeting<'_>> = (0..3)
            .map(|d| {
                let at = start + TimeDelta::days(d);
                SeedMeeting::single((&a, &b), format!("M{d}"), (at, at + TimeDelta::hours(1)))
            })
            .collect();
        let stored: Vec<String> = write_transaction(&mut conn, |conn| seed::meetings(conn, &seeds))
            .unwrap()
            .into_iter()
            .map(|id| id.as_str().to_owned())
            .collect();

        let versions = |conn: &mut _, ids: &[String]| -> Vec<String> {
            let mut found: Vec<String> = meetings::by_ids_with_cancelled(conn, ids.to_vec())
                .unwrap()
                .into_iter()
                .map(|row| {
                    assert_eq!(row.version, 1);
                    row.id
                })
                .collect();
            found.sort();
            found
        };
        let mut sorted = stored.clone();
        sorted.sort();
        assert_eq!(versions(&mut conn, &[]), Vec::<String>::new());
        assert_eq!(versions(&mut conn, &stored[1..2]), vec![stored[1].clone()]);
        // Ids that are not stored, some with characters JSON and SQL escape, match nothing and
        // break nothing.
        let mut mixed: Vec<String> = vec![
            "a\"b".into(),
            "back\\slash".into(),
            "quote'); DROP TABLE meetings; --".into(),
            "ünï€ødé".into(),
        ];
        mixed.extend(stored.iter().cloned());
        assert_eq!(versions(&mut conn, &mixed), sorted);
        // More values than SQLite binds in one statement (32,766), the stored ones last.
        let mut many: Vec<String> = (0..40_000).map(|i| format!("not-stored-{i}")).collect();
        many.extend(stored.iter().rev().cloned());
        assert_eq!(versions(&mut conn, &many), sorted);

        // Another table, through its own column: each stored meeting's two participants.
        let ids: Vec<&str> = many.iter().map(String::as_str).collect();
        let rows = participants::of_meetings(&mut conn, &ids).unwrap();
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| stored.contains(&r.meeting_id)));
        assert!(participants::of_meetings(&mut conn, &[])
            .unwrap()
            .is_empty());
    })
    .await
    .unwrap();
}
