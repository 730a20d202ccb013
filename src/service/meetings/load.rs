//! Reading meetings: the row as the API shows it, with its participants, overrides, timeline
//! and channel status. Shared by every meeting use case and by the calendar export.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use chrono_tz::Tz;

use super::conflicts::conflicts;
use super::dto::{Meeting, Participant};
use crate::domain::meeting::{Format, MeetingStatus, SlotError};
use crate::domain::recurrence::{Instance, Override, RecurrenceError, Rule, Series, Timeline};
use crate::domain::stored::{ChannelId, DelegationId, ForumId, MeetingId};
use crate::domain::time::{self, LocalTimeError};
use crate::domain::zone::TimeZone;
use crate::error::{AppError, FieldError};
use crate::service::audit::{self, Entry};
use crate::service::{channels, Context};
use crate::store::feed_stamps;
use crate::store::gathered::GatheredOverride;
use crate::store::meetings::{self as rows, Listed, MeetingRow};
use crate::store::participants::ParticipantRow;
use crate::store::{overrides, participants, stored, DbConnection};

impl MeetingRow {
    pub fn meeting_id(&self) -> MeetingId {
        MeetingId::from(self.id.as_str())
    }

    pub fn host(&self) -> DelegationId {
        DelegationId::from(self.host_delegation_id.as_str())
    }

    pub fn status(&self) -> Result<MeetingStatus, AppError> {
        stored(&self.status)
    }

    pub fn disambiguation(&self) -> Result<Option<time::Disambiguation>, AppError> {
        self.disambiguation.as_deref().map(stored).transpose()
    }

    pub fn channel(&self) -> Option<ChannelId> {
        self.channel_id.as_deref().map(ChannelId::from)
    }

    pub fn forum(&self) -> Option<ForumId> {
        self.forum_id.as_deref().map(ForumId::from)
    }

    pub fn zone(&self) -> Result<TimeZone, AppError> {
        TimeZone::parse(&self.time_zone)
            .map_err(|e| AppError::internal(format!("stored zone of {}: {e}", self.id)))
    }

    pub fn into_view(
        self,
        participants: Vec<Participant>,
        conflicts: Option<Vec<super::dto::Conflict>>,
    ) -> Result<Meeting, AppError> {
        let agreement = super::consent::agreement_of(&self, &participants)?;
        let agreement_rule = super::consent::rule_of(&self)?.into();
        Ok(Meeting {
            format: Format::of(participants.len()),
            status: self.status()?,
            agreement,
            agreement_rule,
            confirmation_forced: self.confirmation_forced,
            confidentiality: stored(&self.confidentiality)?,
            disambiguation: self.disambiguation()?,
            host_delegation_id: self.host(),
            channel_id: self.channel(),
            forum_id: self.forum(),
            id: MeetingId::from(self.id),
            title: self.title,
            description: self.description,
            participants,
            time_zone: self.time_zone,
            start: time::fmt_local(&self.start_local),
            end: time::fmt_local(&self.end_local),
            start_utc: self.start_utc.and_utc(),
            end_utc: self.end_utc.and_utc(),
            location: self.location,
            recurrence: self.recurrence,
            channel_status: None,
            sequence: self.sequence,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            conflicts,
            orphaned_occurrences: None,
        })
    }
}

/// The meeting, if `ctx` may see it; otherwise 404, exactly as if it did not exist.
pub fn load_visible(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &MeetingId,
) -> Result<MeetingRow, AppError> {
    rows::find_visible(conn, ctx.principal.delegation_id.as_ref(), id)?
        .ok_or_else(|| AppError::not_found("meeting"))
}

fn ids_of(ids: &[MeetingId]) -> Vec<&str> {
    ids.iter().map(MeetingId::as_str).collect()
}

/// The participants of these meetings, by meeting.
pub fn participants_of(
    conn: &mut DbConnection,
    ids: &[MeetingId],
) -> Result<HashMap<String, Vec<Participant>>, AppError> {
    let mut by_meeting: HashMap<String, Vec<Participant>> = HashMap::new();
    for row in participants::of_meetings(conn, &ids_of(ids))? {
        let meeting_id = row.meeting_id.clone();
        by_meeting
            .entry(meeting_id)
            .or_default()
            .push(participant(row)?);
    }
    Ok(by_meeting)
}

/// A participant as the API shows it.
pub fn participant(row: ParticipantRow) -> Result<Participant, AppError> {
    Ok(Participant {
        delegation_id: DelegationId::from(row.delegation_id),
        role: stored(&row.role)?,
        response: stored(&row.response)?,
        comment: row.comment,
        responded_at: row.responded_at.map(|t| t.and_utc()),
    })
}

/// An occurrence's override as the timeline takes it.
pub fn override_of(o: GatheredOverride) -> Result<Override, AppError> {
    Ok(Override {
        original_start_utc: o.original_start_utc.and_utc(),
        moved: o.moved.map(|(s, e)| (s.and_utc(), e.and_utc())),
        status: o.status.as_deref().map(stored).transpose()?,
    })
}

/// The participants of one meeting.
pub fn participants_of_one(
    conn: &mut DbConnection,
    id: &MeetingId,
) -> Result<Vec<Participant>, AppError> {
    Ok(participants_of(conn, std::slice::from_ref(id))?
        .remove(id.as_str())
        .unwrap_or_default())
}

/// The overrides of these meetings' occurrences, by meeting.
pub fn overrides_of(
    conn: &mut DbConnection,
    ids: &[MeetingId],
) -> Result<HashMap<String, Vec<Override>>, AppError> {
    let mut by_meeting: HashMap<String, Vec<Override>> = HashMap::new();
    for row in overrides::of_meetings(conn, &ids_of(ids))? {
        let meeting_id = row.meeting_id.clone();
        by_meeting
            .entry(meeting_id)
            .or_default()
            .push(override_of(GatheredOverride::from(row))?);
    }
    Ok(by_meeting)
}

/// The overrides of one meeting.
pub fn overrides_of_one(
    conn: &mut DbConnection,
    id: &MeetingId,
) -> Result<Vec<Override>, AppError> {
    Ok(overrides_of(conn, std::slice::from_ref(id))?
        .remove(id.as_str())
        .unwrap_or_default())
}

/// The rule of a stored meeting, anchored at its first occurrence.
pub fn series_of(
    rule: &str,
    zone: Tz,
    start_local: chrono::NaiveDateTime,
    duration: TimeDelta,
) -> Result<Series, RecurrenceError> {
    Series::new(Rule::parse(rule)?, zone, start_local, duration)
}

/// The occurrence of `timeline`'s series that originally starts at `original`; 404 when there
/// is none (or no series).
pub fn occurrence_in(
    timeline: &Timeline,
    original: chrono::DateTime<chrono::Utc>,
) -> Result<Instance, AppError> {
    timeline
        .series
        .as_ref()
        .map(|s| s.occurrence_at(original))
        .transpose()
        .map_err(recurrence_error)?
        .flatten()
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "{} is not an occurrence of this meeting",
                crate::domain::time::fmt_instant(&original)
            ))
        })
}

/// When a stored meeting takes place: its first slot, its series, and these overrides.
pub fn timeline_of(row: &MeetingRow, overrides: Vec<Override>) -> Result<Timeline, AppError> {
    timeline_of_times(
        &row.id,
        (&row.status, &row.time_zone, row.recurrence.as_deref()),
        (row.start_utc, row.end_utc, row.start_local),
        overrides,
    )
}

/// `timeline_of`, from the stored columns it reads: id (for errors), status, zone and rule,
/// then the first slot's instants and wall-clock start.
pub fn timeline_of_times(
    id: &str,
    (status, zone, rule): (&str, &str, Option<&str>),
    (start_utc, end_utc, start_local): (NaiveDateTime, NaiveDateTime, NaiveDateTime),
    overrides: Vec<Override>,
) -> Result<Timeline, AppError> {
    let (start, end) = (start_utc.and_utc(), end_utc.and_utc());
    let series = match rule {
        Some(rule) => {
            let zone = TimeZone::parse(zone)
                .map_err(|e| AppError::internal(format!("stored zone of {id}: {e}")))?;
            Some(
                series_of(rule, zone.tz(), start_local, end - start)
                    .map_err(|e| AppError::internal(format!("stored rule of {id}: {e}")))?,
            )
        }
        None => None,
    };
    Ok(Timeline {
        status: stored(status)?,
        start_utc: start,
        end_utc: end,
        series,
        overrides,
    })
}

/// The meeting as the API shows it; with its participants' conflicts when `with_conflicts`.
pub fn view(
    conn: &mut DbConnection,
    ctx: &Context,
    row: MeetingRow,
    with_conflicts: WithConflicts,
) -> Result<Meeting, AppError> {
    let id = row.meeting_id();
    let participants = participants_of_one(conn, &id)?;
    let conflicts = match with_conflicts {
        WithConflicts::No => None,
        WithConflicts::Yes if row.status()? == MeetingStatus::Cancelled => Some(Vec::new()),
        WithConflicts::Yes => {
            let delegations: Vec<DelegationId> = participants
                .iter()
                .map(|p| p.delegation_id.clone())
                .collect();
            let timeline = timeline_of(&row, overrides_of_one(conn, &id)?)?;
            Some(conflicts(conn, ctx, Some(&id), &delegations, &timeline)?)
        }
    };
    let mut meeting = row.into_view(participants, conflicts)?;
    with_channels(conn, ctx, std::slice::from_mut(&mut meeting))?;
    Ok(meeting)
}

/// Whether a meeting is shown with its participants' conflicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithConflicts {
    Yes,
    No,
}

/// Adds each meeting's `channel_status`. A viewer whose delegation does not take part (a
/// public meeting seen from outside) sees neither the channel nor its status.
pub fn with_channels(
    conn: &mut DbConnection,
    ctx: &Context,
    meetings: &mut [Meeting],
) -> Result<(), AppError> {
    hide_channels_from_outsiders(ctx, meetings);
    let ids: Vec<&str> = meetings
        .iter()
        .filter_map(|m| m.channel_id.as_ref().map(ChannelId::as_str))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let statuses = channels::statuses(conn, &ids)?;
    for meeting in meetings.iter_mut() {
        meeting.channel_status = meeting
            .channel_id
            .as_ref()
            .and_then(|c| statuses.get(c.as_str()).copied());
    }
    Ok(())
}

/// A meeting of a list as the API shows it: its participants and channel status were read
/// with its row (the channel hidden from a viewer whose delegation does not take part).
pub fn listed_view(ctx: &Context, listed: Listed) -> Result<Meeting, AppError> {
    let participants = listed
        .participants
        .into_iter()
        .map(|p| participant(p.row))
        .collect::<Result<Vec<_>, _>>()?;
    let status = listed.channel_status.as_deref().map(stored).transpose()?;
    let mut meeting = listed.row.into_view(participants, None)?;
    hide_channels_from_outsiders(ctx, std::slice::from_mut(&mut meeting));
    if meeting.channel_id.is_some() {
        meeting.channel_status = status;
    }
    Ok(meeting)
}

fn hide_channels_from_outsiders(ctx: &Context, meetings: &mut [Meeting]) {
    let viewer = ctx.principal.delegation_id.as_ref();
    for meeting in meetings.iter_mut() {
        let takes_part =
            viewer.is_some_and(|d| meeting.participants.iter().any(|p| p.delegation_id == *d));
        if !takes_part {
            meeting.channel_id = None;
        }
    }
}

/// Records a change of meeting `id` for every party (with what it changed, for its history),
/// then answers the meeting as it now is.
pub fn audited(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &MeetingId,
    (action, summary): (&str, String),
    details: &super::history::Details,
) -> Result<Meeting, AppError> {
    changed(conn, ctx, id, (action, summary), details)?;
    let row = load_visible(conn, ctx, id)?;
    view(conn, ctx, row, WithConflicts::No)
}

/// Records a change of meeting `id` that feeds show: moves its feeds' stamps and audits it.
pub fn changed(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &MeetingId,
    (action, summary): (&str, String),
    details: &super::history::Details,
) -> Result<(), AppError> {
    feed_stamps::meeting_changed(conn, id, Vec::new())?;
    record_change(conn, ctx, id, (action, summary), details)
}

/// Records a change of meeting `id` in the audit log for every party, with what it changed.
pub fn record_change(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &MeetingId,
    (action, summary): (&str, String),
    details: &super::history::Details,
) -> Result<(), AppError> {
    let parties = participants::delegations_of(conn, id)?;
    audit::record_detailed(
        conn,
        &ctx.actor(),
        Entry {
            action,
            entity_type: "meeting",
            entity_id: id.as_str(),
            summary,
            parties,
        },
        Some(&details.to_json()),
    )?;
    Ok(())
}

pub fn recurrence_error(error: RecurrenceError) -> AppError {
    AppError::InvalidRecurrence(format!("recurrence: {error}"))
}

pub fn slot_error(error: SlotError) -> AppError {
    let field = match &error {
        SlotError::Start(_) => "start",
        SlotError::End(_) | SlotError::EndNotAfterStart | SlotError::TooLong => "end",
    };
    match &error {
        SlotError::Start(LocalTimeError::Nonexistent { .. })
        | SlotError::End(LocalTimeError::Nonexistent { .. }) => {
            AppError::NonexistentLocalTime(error.to_string())
        }
        SlotError::Start(LocalTimeError::Ambiguous { .. })
        | SlotError::End(LocalTimeError::Ambiguous { .. }) => {
            AppError::AmbiguousLocalTime(error.to_string())
        }
        _ => AppError::invalid_fields(vec![FieldError::new(field, error.to_string())]),
    }
}

/// A zone a client gave (`time_zone`): unknown → 422 `unknown-time-zone`.
pub fn parse_zone(raw: &str) -> Result<TimeZone, AppError> {
    TimeZone::parse(raw).map_err(|e| AppError::UnknownTimeZone(format!("time_zone: {e}")))
}

/// A wall-clock time a client gave; an unreadable one is added to `errors`.
pub fn parse_local(
    field: &str,
    raw: &str,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::NaiveDateTime> {
    time::parse_local(raw)
        .map_err(|m| errors.push(FieldError::new(field, m)))
        .ok()
}
