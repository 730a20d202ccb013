//! The shared seeding module (`entente::store::seed`, also used by `benches/lists/`) writes
//! rows the application reads back as if it had booked them itself: the bench measures the real
//! thing.

use chrono::{NaiveDate, TimeDelta};
use entente::domain::channel::{ChannelStatus, HistoryEvent};
use entente::domain::meeting::{Confidentiality, Format, MeetingStatus};
use entente::domain::stored::{DelegationId, UserId};
use entente::service::channels::{Channel, HistoryEntry};
use entente::service::meetings::{Meeting, Schedule};
use entente::service::Page;
use entente::store::seed::{self, SeedMeeting};
use entente::store::write_transaction;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(seeded_history_reads_back_through_the_api);

async fn seeded_history_reads_back_through_the_api(app: TestApp) {
    let w = app.world().await;
    let (a, b) = (
        DelegationId::from(w.a.as_str()),
        DelegationId::from(w.b.as_str()),
    );
    let store = app.store();
    let (forum, channel) = tokio::task::spawn_blocking(move || {
        let mut conn = store.connection().unwrap();
        write_transaction(&mut conn, |conn| {
            let forum = seed::forum(conn, "Seeded forum", &[a.clone(), b.clone()])?;
            let day = |d: i64| {
                NaiveDate::from_ymd_opt(2027, 5, 1)
                    .unwrap()
                    .and_hms_opt(9, 0, 0)
                    .unwrap()
                    + TimeDelta::days(d)
            };
            let meetings: Vec<SeedMeeting<'_>> = (0..20)
                .map(|d| SeedMeeting {
                    host: if d % 2 == 0 { &a } else { &b },
                    guest: if d % 2 == 0 { &b } else { &a },
                    title: format!("Seeded {d}"),
                    start: day(d),
                    end: day(d) + TimeDelta::hours(1),
                    confidentiality: if d % 4 == 0 {
                        Confidentiality::Forum
                    } else {
                        Confidentiality::Participants
                    },
                    forum: (d % 4 == 0).then_some(&forum),
                    recurrence: None,
                    cancel_second: false,
                })
                .collect();
            seed::meetings(conn, &meetings)?;
            let channel = seed::active_channel(conn, (&a, &b), "Seeded", &UserId::from("seed"))?;
            Ok::<_, diesel::result::Error>((forum, channel))
        })
    })
    .await
    .unwrap()
    .unwrap();

    let page: Page<Meeting> = app
        .expect_as(
            200,
            "GET",
            "/api/v1/meetings?from=2027-05-01T00:00:00Z&to=2027-06-01T00:00:00Z&limit=100",
            Some(w.token("a-viewer")),
            None,
        )
        .await;
    assert_eq!(page.items.len(), 20);
    for (d, meeting) in page.items.iter().enumerate() {
        assert_eq!(meeting.title, format!("Seeded {d}"));
        assert_eq!(meeting.status, MeetingStatus::Confirmed);
        assert_eq!(meeting.format, Format::Bilateral);
        let start = format!("2027-05-{:02}T09:00:00Z", d + 1);
        assert_eq!(
            entente::domain::time::fmt_instant(&meeting.start_utc),
            start
        );
        assert_eq!(meeting.participants.len(), 2);
        assert_eq!(meeting.forum_id.as_ref(), (d % 4 == 0).then_some(&forum));
    }
    let schedule: Schedule = app
        .expect_as(
            200,
            "GET",
            "/api/v1/schedule?from=2027-05-01T00:00:00Z&to=2027-05-08T00:00:00Z&tz=UTC",
            Some(w.token("b-viewer")),
            None,
        )
        .await;
    assert_eq!(schedule.occurrences.len(), 7);

    let path = format!("/api/v1/channels/{channel}");
    let seen: Channel = app
        .expect_as(200, "GET", &path, Some(w.token("b-admin")), None)
        .await;
    assert_eq!((seen.status, seen.version), (ChannelStatus::Active, 2));
    let history: Page<HistoryEntry> = app
        .expect_as(
            200,
            "GET",
            &format!("{path}/history"),
            Some(w.token("a-admin")),
            None,
        )
        .await;
    let events: Vec<HistoryEvent> = history.items.iter().map(|e| e.event).collect();
    assert_eq!(events, [HistoryEvent::Proposed, HistoryEvent::Transition]);
}
