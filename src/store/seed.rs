//! Bulk data written straight to the database through the store's own statements (every column
//! named, as the application writes it): for benchmarks and tests that need more history than an
//! API client would book in reasonable time. Not used by the server.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::channels::{self, NewChannelRow, NewHistoryRow};
use super::meetings::{self, MeetingValues};
use super::participants::{self, NewParticipant};
use super::{forums, DbConnection};
use crate::domain::channel::{ChannelKind, ChannelStatus, HistoryEvent};
use crate::domain::meeting::{Confidentiality, MeetingStatus, ParticipantRole, Response};
use crate::domain::stored::{ChannelId, DelegationId, ForumId, MeetingId, UserId};
use crate::domain::zone::TZDB_VERSION;

/// A confirmed single meeting between a host and one guest, in UTC.
pub struct SeedMeeting<'a> {
    pub host: &'a DelegationId,
    pub guest: &'a DelegationId,
    pub title: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub confidentiality: Confidentiality,
    pub forum: Option<&'a ForumId>,
}

/// Writes the meetings (host accepted, guest pending); answers their ids.
pub fn meetings(conn: &mut DbConnection, seeds: &[SeedMeeting<'_>]) -> QueryResult<Vec<MeetingId>> {
    let mut ids = Vec::with_capacity(seeds.len());
    for seed in seeds {
        let id = MeetingId::generate();
        let span = (seed.start, seed.end);
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
            recurrence: None,
            span,
            status: MeetingStatus::Confirmed.as_str(),
            confidentiality: seed.confidentiality.as_str(),
            channel_id: None,
            forum_id: seed.forum.map(|f| f.as_str().to_owned()),
            tzdb_version: TZDB_VERSION,
        };
        meetings::insert(conn, &id, seed.host, &values)?;
        let people = [
            (seed.host, ParticipantRole::Host, Response::Accepted),
            (seed.guest, ParticipantRole::Participant, Response::Pending),
        ]
        .map(|(delegation_id, role, response)| NewParticipant {
            delegation_id,
            role: role.as_str(),
            response: response.as_str(),
            comment: None,
            responded_at: None,
        });
        participants::replace(conn, &id, &people, (span, false))?;
        ids.push(id);
    }
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
