//! Bulk data written straight to the database through the store's own statements (every column
//! named, as the application writes it): for benchmarks and tests that need more history than an
//! API client would book in reasonable time. Not used by the server.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::channels::{self, NewChannelRow, NewHistoryRow};
use super::feed_stamps;
use super::meetings::{self, MeetingValues};
use super::overrides::{self, OverrideRow};
use super::participants::{self, NewParticipant};
use super::{forums, DbConnection};
use crate::domain::channel::{ChannelKind, ChannelStatus, HistoryEvent};
use crate::domain::meeting::{Confidentiality, MeetingStatus, ParticipantRole, Response};
use crate::domain::recurrence::{Rule, Series, Timeline};
use crate::domain::stored::{ChannelId, DelegationId, ForumId, MeetingId, UserId};
use crate::domain::zone::TZDB_VERSION;

/// A confirmed meeting between a host and one guest, in UTC: a single meeting, or (with
/// `recurrence`, a bounded RRULE whose first occurrence is `start`) a series, whose second
/// occurrence is cancelled when `cancel_second` says so.
pub struct SeedMeeting<'a> {
    pub host: &'a DelegationId,
    pub guest: &'a DelegationId,
    pub title: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub confidentiality: Confidentiality,
    pub forum: Option<&'a ForumId>,
    pub recurrence: Option<&'a str>,
    pub cancel_second: bool,
}

impl SeedMeeting<'_> {
    /// A single meeting.
    pub fn single<'a>(
        (host, guest): (&'a DelegationId, &'a DelegationId),
        title: String,
        (start, end): (NaiveDateTime, NaiveDateTime),
    ) -> SeedMeeting<'a> {
        SeedMeeting {
            host,
            guest,
            title,
            start,
            end,
            confidentiality: Confidentiality::Participants,
            forum: None,
            recurrence: None,
            cancel_second: false,
        }
    }
}

fn invalid(error: impl std::error::Error + Send + Sync + 'static) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(Box::new(error))
}

/// The series' timeline (None for a single meeting) and its span.
fn timeline_of(seed: &SeedMeeting<'_>) -> QueryResult<Timeline> {
    let series = seed
        .recurrence
        .map(|rule| {
            let rule = Rule::parse(rule).map_err(invalid)?;
            Series::new(rule, chrono_tz::UTC, seed.start, seed.end - seed.start).map_err(invalid)
        })
        .transpose()?;
    Ok(Timeline {
        status: MeetingStatus::Confirmed,
        start_utc: seed.start.and_utc(),
        end_utc: seed.end.and_utc(),
        series,
        overrides: Vec::new(),
    })
}

/// Writes the meetings (confirmed: host and guest accepted); answers their ids.
pub fn meetings(conn: &mut DbConnection, seeds: &[SeedMeeting<'_>]) -> QueryResult<Vec<MeetingId>> {
    let mut ids = Vec::with_capacity(seeds.len());
    // What the seeded meetings change in feeds, moved once at the end (as a booking moves it).
    let mut scopes = std::collections::BTreeSet::new();
    for seed in seeds {
        scopes.insert(feed_stamps::delegation(seed.host.as_str()));
        scopes.insert(feed_stamps::delegation(seed.guest.as_str()));
        match (&seed.confidentiality, seed.forum) {
            (Confidentiality::Public, _) => scopes.insert(feed_stamps::PUBLIC.to_owned()),
            (Confidentiality::Forum, Some(forum)) => {
                scopes.insert(feed_stamps::forum(forum.as_str()))
            }
            _ => false,
        };
        let id = MeetingId::generate();
        let timeline = timeline_of(seed)?;
        let span = timeline.span().map_err(invalid)?;
        let span = (span.0.naive_utc(), span.1.naive_utc());
        let values = MeetingValues {
            title: seed.title.clone(),
            description: None,
            location: None,
            time_zone: "UTC".into(),
            start_local: seed.start,
            end_local: seed.end,
            disambiguation: None,
            start_utc: seed.start,
            end_utc: seed.end,
            recurrence: seed.recurrence.map(str::to_owned),
            span,
            status: MeetingStatus::Confirmed.as_str(),
            confidentiality: seed.confidentiality.as_str(),
            channel_id: None,
            forum_id: seed.forum.map(|f| f.as_str().to_owned()),
            tzdb_version: TZDB_VERSION,
            agreement_rule: "all".to_owned(),
            confirmation_forced: false,
        };
        meetings::insert(conn, &id, seed.host, &values)?;
        let people = [
            (seed.host, ParticipantRole::Host, Response::Accepted),
            // Confirmed: both parties agreed.
            (seed.guest, ParticipantRole::Participant, Response::Accepted),
        ]
        .map(|(delegation_id, role, response)| NewParticipant {
            delegation_id,
            role: role.as_str(),
            response: response.as_str(),
            comment: None,
            responded_at: None,
        });
        participants::replace(conn, &id, &people, (span, seed.recurrence.is_some()))?;
        let second = timeline
            .series
            .as_ref()
            .filter(|_| seed.cancel_second)
            .map(|series| series.between(timeline.start_utc, span.1.and_utc()))
            .transpose()
            .map_err(invalid)?
            .and_then(|occurrences| occurrences.get(1).copied());
        if let Some(second) = second {
            overrides::insert(
                conn,
                &OverrideRow {
                    meeting_id: id.as_str().to_owned(),
                    original_start_utc: second.start_utc.naive_utc(),
                    original_start_local: Some(second.start_local),
                    start_local: None,
                    end_local: None,
                    start_utc: None,
                    end_utc: None,
                    status: Some(MeetingStatus::Cancelled.as_str().to_owned()),
                    disambiguation: None,
                    location: None,
                    time_zone: None,
                    created_at: super::now(),
                    updated_at: super::now(),
                },
            )?;
        }
        ids.push(id);
    }
    feed_stamps::bump(conn, &scopes.into_iter().collect::<Vec<_>>())?;
    Ok(ids)
}

/// A forum with these members.
pub fn forum(
    conn: &mut DbConnection,
    name: &str,
    members: &[DelegationId],
) -> QueryResult<ForumId> {
    let id = ForumId::generate();
    forums::insert(conn, &id, name, None)?;
    forums::replace_members(conn, &id, &[], members)?;
    let scopes: Vec<String> = members
        .iter()
        .map(|d| feed_stamps::delegation(d.as_str()))
        .collect();
    feed_stamps::bump(conn, &scopes)?;
    Ok(id)
}

/// An active consultations channel with its history (proposed, then accepted), both entries
/// made by `user`.
pub fn active_channel(
    conn: &mut DbConnection,
    (proposer, counterpart): (&DelegationId, &DelegationId),
    name: &str,
    user: &UserId,
) -> QueryResult<ChannelId> {
    let id = ChannelId::generate();
    let row = NewChannelRow {
        id: &id,
        proposer_id: proposer,
        counterpart_id: counterpart,
        kind: ChannelKind::Consultations.as_str(),
        name,
        purpose: None,
        status: ChannelStatus::Proposed.as_str(),
    };
    channels::insert(conn, &row)?;
    let proposed = ChannelStatus::Proposed.as_str();
    let entries = [
        (HistoryEvent::Proposed, None, proposed, proposer),
        (
            HistoryEvent::Transition,
            Some(proposed),
            ChannelStatus::Active.as_str(),
            counterpart,
        ),
    ];
    for (event, from_status, to_status, delegation_id) in entries {
        let entry = NewHistoryRow {
            event: event.as_str(),
            from_status,
            to_status,
            reason: None,
            user_id: user,
            username: "seed",
            delegation_id,
        };
        channels::append_history(conn, &id, &entry)?;
    }
    channels::update_state(conn, &id, 1, ChannelStatus::Active.as_str(), None)?;
    Ok(id)
}
