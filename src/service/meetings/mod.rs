//! Meetings: booking, reading, changing, cancelling, answering, and the schedule.
//!
//! Who may see a meeting is decided in SQL (`visible`), so an invisible meeting is never
//! loaded: it is 404 everywhere. Every change is one transaction with its audit entry, and
//! concurrent edits are settled by `UPDATE … WHERE version = ?` in the database.

mod occurrences;

use occurrences::restate_overrides;
pub use occurrences::{put_occurrence, OccurrenceChange, SeriesOccurrence};
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::{self, Entry};
use super::delegations::{double_option, resolve_delegations};
use super::idempotency;
use super::{acting_for, check_version, length_errors, stale, Context, Page, PageRequest};
use super::{channels, forums};
use crate::domain::access::Principal;
use crate::domain::channel::ChannelStatus;
use crate::domain::meeting::{
    check_len, overlaps, Changes, Confidentiality, Format, MeetingStatus, ParticipantRole,
    Response, Slot, SlotError, MAX_DESCRIPTION_CHARS, MAX_LOCATION_CHARS, MAX_PARTICIPANTS,
    MAX_TITLE_CHARS,
};
use crate::domain::recurrence::{Override, RecurrenceError, Rule, Series, Timeline};
use crate::domain::time::{self, Disambiguation, LocalTimeError};
use crate::domain::zone::{TimeZone, TZDB_VERSION};
use crate::error::{AppError, FieldError};
use crate::store::conn::MultiBackend;
use crate::store::schema::{
    delegations, forum_members as fm, meeting_overrides as mo, meeting_participants as mp, meetings,
};
use crate::store::{new_id, now, DbConnection, Locked, Store};

/// The longest `/schedule` window.
pub const MAX_SCHEDULE_DAYS: i64 = 366;

// ---------------------------------------------------------------------------------------------
// Representations

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Participant {
    pub delegation_id: String,
    pub role: ParticipantRole,
    pub response: Response,
    pub comment: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<DateTime<Utc>>,
}

/// A participant delegation's meeting that overlaps. `meeting_id` only where the caller may
/// see that meeting: otherwise only the busy time shows.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Conflict {
    pub delegation_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Meeting {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub format: Format,
    pub host_delegation_id: String,
    pub participants: Vec<Participant>,
    /// IANA zone of the venue: `start` and `end` are wall-clock times in it.
    pub time_zone: String,
    /// Wall-clock start in `time_zone` (`2027-03-28T10:00:00`): the source of truth.
    pub start: String,
    pub end: String,
    /// Derived from `start`/`end` in `time_zone`.
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    pub disambiguation: Option<Disambiguation>,
    pub location: Option<String>,
    pub status: MeetingStatus,
    pub confidentiality: Confidentiality,
    pub recurrence: Option<String>,
    /// The contact channel the meeting is held on. Shown to the participant delegations only
    /// (a channel is its two parties' business), as is `channel_status`.
    pub channel_id: Option<String>,
    /// The channel's status now: a meeting booked before a freeze stays, and shows it.
    pub channel_status: Option<ChannelStatus>,
    pub forum_id: Option<String>,
    /// iCalendar SEQUENCE: rises when time, place, status or participants change.
    pub sequence: i64,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    /// Overlapping meetings of the participant delegations (on create, change and read; not
    /// in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<Conflict>>,
    /// After a change of a series: the original starts of moved or cancelled occurrences
    /// that are no longer occurrences of it (their overrides were removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned_occurrences: Option<Vec<String>>,
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub description: Option<String>,
    /// Participant delegations, each by id or by code (`"US"`); the host (the caller's
    /// delegation) may be omitted.
    pub participants: Vec<String>,
    /// IANA zone of the venue, e.g. `Europe/Zurich` for Geneva.
    pub time_zone: String,
    /// Wall-clock `2027-03-28T10:00` (seconds optional), no offset.
    pub start: String,
    pub end: String,
    pub location: Option<String>,
    /// `proposed` (default) or `confirmed`.
    pub status: Option<MeetingStatus>,
    /// `participants` (default), `forum` or `public`.
    pub confidentiality: Option<Confidentiality>,
    pub recurrence: Option<String>,
    pub channel_id: Option<String>,
    pub forum_id: Option<String>,
    /// For a local time that occurs twice (DST overlap): `earlier` or `later`.
    pub disambiguation: Option<Disambiguation>,
}

/// A partial update: a field present replaces the stored value, `null` clears an optional one,
/// `participants` replaces the whole list (the host always stays).
#[derive(Deserialize, Debug, Clone, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// The whole participant list, each by id or by code.
    pub participants: Option<Vec<String>>,
    pub time_zone: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// `proposed` or `confirmed` (cancel with DELETE).
    pub status: Option<MeetingStatus>,
    pub confidentiality: Option<Confidentiality>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub recurrence: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub forum_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Disambiguation>)]
    pub disambiguation: Option<Option<Disambiguation>>,
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResponse {
    /// `accepted`, `declined` or `tentative`.
    pub response: Response,
    pub comment: Option<String>,
}

/// One occurrence in `/schedule`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Occurrence {
    pub meeting_id: String,
    pub title: String,
    pub format: Format,
    pub status: MeetingStatus,
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    /// Wall-clock in the schedule's `tz`.
    pub start_local: String,
    pub end_local: String,
    /// The meeting's own zone.
    pub time_zone: String,
    /// For an occurrence of a series, its original start (RFC 3339 UTC); else null.
    pub recurrence_id: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct Schedule {
    /// The zone of `start_local`/`end_local`.
    pub tz: String,
    pub occurrences: Vec<Occurrence>,
}

/// Filters of `GET /meetings`.
#[derive(Debug, Clone, Default)]
pub struct MeetingFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub participant: Option<String>,
    pub status: Option<MeetingStatus>,
    pub forum_id: Option<String>,
    pub channel_id: Option<String>,
    pub q: Option<String>,
}

pub type Created = idempotency::Created<Meeting>;

// ---------------------------------------------------------------------------------------------
// Rows

#[derive(Queryable, Debug, Clone)]
pub(super) struct MeetingRow {
    pub(super) id: String,
    pub(super) host_delegation_id: String,
    pub(super) title: String,
    pub(super) description: Option<String>,
    pub(super) location: Option<String>,
    pub(super) time_zone: String,
    pub(super) start_local: NaiveDateTime,
    pub(super) end_local: NaiveDateTime,
    pub(super) disambiguation: Option<String>,
    pub(super) start_utc: NaiveDateTime,
    pub(super) end_utc: NaiveDateTime,
    pub(super) recurrence: Option<String>,
    #[allow(dead_code)]
    pub(super) span_start_utc: NaiveDateTime,
    #[allow(dead_code)]
    pub(super) span_end_utc: NaiveDateTime,
    pub(super) status: String,
    pub(super) confidentiality: String,
    pub(super) channel_id: Option<String>,
    pub(super) forum_id: Option<String>,
    pub(super) sequence: i64,
    pub(super) version: i64,
    #[allow(dead_code)]
    pub(super) tzdb_version: String,
    pub(super) created_at: NaiveDateTime,
    pub(super) updated_at: NaiveDateTime,
}

type ParticipantRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<NaiveDateTime>,
);

fn stored<T>(value: Option<T>, what: &str, raw: &str) -> Result<T, AppError> {
    value.ok_or_else(|| AppError::internal(format!("stored {what} '{raw}' is not valid")))
}

impl MeetingRow {
    pub(super) fn status(&self) -> Result<MeetingStatus, AppError> {
        stored(MeetingStatus::parse(&self.status), "status", &self.status)
    }

    fn into_view(
        self,
        participants: Vec<Participant>,
        conflicts: Option<Vec<Conflict>>,
    ) -> Result<Meeting, AppError> {
        let status = self.status()?;
        Ok(Meeting {
            format: Format::of(participants.len()),
            confidentiality: stored(
                Confidentiality::parse(&self.confidentiality),
                "confidentiality",
                &self.confidentiality,
            )?,
            disambiguation: self
                .disambiguation
                .as_deref()
                .and_then(Disambiguation::parse),
            id: self.id,
            title: self.title,
            description: self.description,
            host_delegation_id: self.host_delegation_id,
            participants,
            time_zone: self.time_zone,
            start: time::fmt_local(&self.start_local),
            end: time::fmt_local(&self.end_local),
            start_utc: self.start_utc.and_utc(),
            end_utc: self.end_utc.and_utc(),
            location: self.location,
            status,
            recurrence: self.recurrence,
            channel_id: self.channel_id,
            channel_status: None,
            forum_id: self.forum_id,
            sequence: self.sequence,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            conflicts,
            orphaned_occurrences: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Visibility, in SQL

pub(super) type BoxedMeetings<'a> = meetings::BoxedQuery<'a, MultiBackend>;

/// Meetings `viewer` may see: its delegation takes part, the meeting is public, or it is
/// `forum`-confidential in a forum `viewer` is (now) a member of.
///
/// Written as `id IN (… UNION … UNION …)`, each branch served by its own index (participants by
/// delegation, meetings by confidentiality, meetings by forum), so the planner starts from what
/// the viewer may see instead of scanning every delegation's meetings: lists stay flat as other
/// delegations' data grows (`cargo bench --bench lists`).
pub(super) fn visible<'a>(query: BoxedMeetings<'a>, viewer: Option<&str>) -> BoxedMeetings<'a> {
    let Some(delegation_id) = viewer else {
        return query.filter(meetings::confidentiality.eq("public"));
    };
    let shown = diesel::alias!(meetings as shown);
    let taking_part = mp::table
        .filter(mp::delegation_id.eq(delegation_id.to_owned()))
        .select(mp::meeting_id);
    let public = shown
        .filter(shown.field(meetings::confidentiality).eq("public"))
        .select(shown.field(meetings::id));
    // From the viewer's memberships to their forums' meetings (not the other way round: a
    // planner estimating "meetings per forum" from all forums would scan every forum meeting).
    let in_forums = fm::table
        .inner_join(shown.on(shown.field(meetings::forum_id).eq(fm::forum_id.nullable())))
        .filter(fm::delegation_id.eq(delegation_id.to_owned()))
        .filter(shown.field(meetings::confidentiality).eq("forum"))
        .select(shown.field(meetings::id));
    query.filter(meetings::id.eq_any(taking_part.union(public).union(in_forums)))
}

/// The meeting, if `ctx` may see it; otherwise 404, exactly as if it did not exist.
fn load_visible(conn: &mut DbConnection, ctx: &Context, id: &str) -> Result<MeetingRow, AppError> {
    visible(
        meetings::table.into_boxed(),
        ctx.principal.delegation_id.as_deref(),
    )
    .filter(meetings::id.eq(id.to_owned()))
    .first::<MeetingRow>(conn)
    .optional()?
    .ok_or_else(|| AppError::not_found("meeting"))
}

pub(super) fn participants_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<Participant>>, AppError> {
    let rows: Vec<ParticipantRow> = mp::table
        .filter(mp::meeting_id.eq_any(ids))
        .select((
            mp::meeting_id,
            mp::delegation_id,
            mp::role,
            mp::response,
            mp::comment,
            mp::responded_at,
        ))
        .order((
            mp::meeting_id.asc(),
            mp::role.asc(),
            mp::delegation_id.asc(),
        ))
        .load(conn)?;
    let mut by_meeting: HashMap<String, Vec<Participant>> = HashMap::new();
    for (meeting_id, delegation_id, role, response, comment, responded_at) in rows {
        by_meeting.entry(meeting_id).or_default().push(Participant {
            delegation_id,
            role: stored(ParticipantRole::parse(&role), "role", &role)?,
            response: stored(Response::parse(&response), "response", &response)?,
            comment,
            responded_at: responded_at.map(|t| t.and_utc()),
        });
    }
    Ok(by_meeting)
}

/// The delegations taking part in a meeting: the parties of its audit entries.
pub(super) fn parties_of(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    mp::table
        .filter(mp::meeting_id.eq(id))
        .select(mp::delegation_id)
        .load(conn)
}

/// Records a change of meeting `id` for every party, then answers the meeting as it now is.
fn audited(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &str,
    action: &str,
    summary: String,
    parties: Vec<String>,
) -> Result<Meeting, AppError> {
    audit::record(
        conn,
        &ctx.actor(),
        Entry {
            action,
            entity_type: "meeting",
            entity_id: id,
            summary,
            parties,
        },
    )?;
    let row = load_visible(conn, ctx, id)?;
    view(conn, ctx, row, false)
}

fn view(
    conn: &mut DbConnection,
    ctx: &Context,
    row: MeetingRow,
    with_conflicts: bool,
) -> Result<Meeting, AppError> {
    let participants = participants_of(conn, std::slice::from_ref(&row.id))?
        .remove(&row.id)
        .unwrap_or_default();
    let conflicts = if with_conflicts && row.status()? != MeetingStatus::Cancelled {
        let delegations: Vec<String> = participants
            .iter()
            .map(|p| p.delegation_id.clone())
            .collect();
        let overrides = overrides_of(conn, std::slice::from_ref(&row.id))?
            .remove(&row.id)
            .unwrap_or_default();
        let timeline = timeline_of(&row, overrides)?;
        Some(conflicts(
            conn,
            ctx,
            Some(&row.id),
            &delegations,
            &timeline,
        )?)
    } else if with_conflicts {
        Some(Vec::new())
    } else {
        None
    };
    let mut meeting = row.into_view(participants, conflicts)?;
    with_channels(conn, ctx, std::slice::from_mut(&mut meeting))?;
    Ok(meeting)
}

/// Adds each meeting's `channel_status`. A viewer whose delegation does not take part (a
/// public meeting seen from outside) sees neither the channel nor its status.
fn with_channels(
    conn: &mut DbConnection,
    ctx: &Context,
    meetings: &mut [Meeting],
) -> Result<(), AppError> {
    let viewer = ctx.principal.delegation_id.as_deref();
    for meeting in meetings.iter_mut() {
        let takes_part =
            viewer.is_some_and(|d| meeting.participants.iter().any(|p| p.delegation_id == d));
        if !takes_part {
            meeting.channel_id = None;
        }
    }
    let ids: Vec<String> = meetings
        .iter()
        .filter_map(|m| m.channel_id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let statuses = channels::statuses(conn, &ids)?;
    for meeting in meetings.iter_mut() {
        meeting.channel_status = meeting
            .channel_id
            .as_ref()
            .and_then(|c| statuses.get(c).copied());
    }
    Ok(())
}

/// How far ahead a series is checked for conflicts: the coming year (from its first
/// occurrence, if that is later).
pub const CONFLICT_HORIZON_DAYS: i64 = 366;

/// The overrides of these meetings' occurrences.
pub(super) fn overrides_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<Override>>, AppError> {
    type OverrideRow = (
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let rows: Vec<OverrideRow> = mo::table
        .filter(mo::meeting_id.eq_any(ids))
        .select((
            mo::meeting_id,
            mo::original_start_utc,
            mo::start_utc,
            mo::end_utc,
            mo::status,
        ))
        .load(conn)?;
    let mut by_meeting: HashMap<String, Vec<Override>> = HashMap::new();
    for (meeting_id, original, start, end, status) in rows {
        let status = status
            .map(|s| stored(MeetingStatus::parse(&s), "status", &s))
            .transpose()?;
        by_meeting.entry(meeting_id).or_default().push(Override {
            original_start_utc: original.and_utc(),
            moved: start.zip(end).map(|(s, e)| (s.and_utc(), e.and_utc())),
            status,
        });
    }
    Ok(by_meeting)
}

/// The rule of a stored meeting, anchored at its first occurrence.
fn series_of(
    rule: &str,
    zone: Tz,
    start_local: NaiveDateTime,
    duration: TimeDelta,
) -> Result<Series, RecurrenceError> {
    Series::new(Rule::parse(rule)?, zone, start_local, duration)
}

pub(super) fn timeline_of(
    row: &MeetingRow,
    overrides: Vec<Override>,
) -> Result<Timeline, AppError> {
    let (start, end) = (row.start_utc.and_utc(), row.end_utc.and_utc());
    let series = match &row.recurrence {
        Some(rule) => {
            let zone = parse_zone(&row.time_zone)?;
            Some(
                series_of(rule, zone.tz(), row.start_local, end - start)
                    .map_err(|e| AppError::internal(format!("stored rule of {}: {e}", row.id)))?,
            )
        }
        None => None,
    };
    Ok(Timeline {
        status: row.status()?,
        start_utc: start,
        end_utc: end,
        series,
        overrides,
    })
}

/// The window in which a meeting's occurrences are checked against others.
fn conflict_window(timeline: &Timeline) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let (span_start, span_end) = timeline.span().map_err(recurrence_error)?;
    if timeline.series.is_none() {
        return Ok((span_start, span_end));
    }
    let from = span_start.max(Utc::now() - TimeDelta::days(1));
    Ok((
        from,
        span_end.min(from + TimeDelta::days(CONFLICT_HORIZON_DAYS)),
    ))
}

/// The participant delegations' other meetings whose occurrences overlap the candidate's (in
/// the conflict window): not cancelled, and not declined by that delegation. Candidates are
/// found through the (delegation, span) index, then expanded.
fn conflicts(
    conn: &mut DbConnection,
    ctx: &Context,
    exclude: Option<&str>,
    delegations: &[String],
    candidate: &Timeline,
) -> Result<Vec<Conflict>, AppError> {
    let (from, to) = conflict_window(candidate)?;
    if to <= from {
        return Ok(Vec::new());
    }
    let mine: Vec<_> = candidate
        .between(from, to)
        .map_err(recurrence_error)?
        .into_iter()
        .filter(|o| o.status != MeetingStatus::Cancelled)
        .collect();
    let mut query = mp::table
        .inner_join(meetings::table)
        .filter(mp::delegation_id.eq_any(delegations))
        .filter(mp::span_end_utc.gt(from.naive_utc()))
        .filter(mp::span_start_utc.lt(to.naive_utc()))
        .filter(mp::response.ne(Response::Declined.as_str()))
        .filter(meetings::status.ne(MeetingStatus::Cancelled.as_str()))
        .select((mp::delegation_id, meetings::all_columns))
        .into_boxed();
    if let Some(exclude) = exclude {
        query = query.filter(meetings::id.ne(exclude.to_owned()));
    }
    let rows: Vec<(String, MeetingRow)> = query.load(conn)?;
    let ids: Vec<String> = rows
        .iter()
        .map(|(_, r)| r.id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let overrides = overrides_of(conn, &ids)?;
    let mut found = Vec::new();
    for (delegation_id, row) in &rows {
        let timeline = timeline_of(row, overrides.get(&row.id).cloned().unwrap_or_default())?;
        for theirs in timeline.between(from, to).map_err(recurrence_error)? {
            if theirs.status == MeetingStatus::Cancelled {
                continue;
            }
            if mine
                .iter()
                .any(|m| overlaps(m.start_utc, m.end_utc, theirs.start_utc, theirs.end_utc))
            {
                found.push((
                    delegation_id.clone(),
                    row.id.clone(),
                    theirs.start_utc,
                    theirs.end_utc,
                ));
            }
        }
    }
    found.sort_by(|a, b| (a.2, &a.0, &a.1).cmp(&(b.2, &b.0, &b.1)));
    let seen: BTreeSet<String> = visible(
        meetings::table.into_boxed(),
        ctx.principal.delegation_id.as_deref(),
    )
    .filter(meetings::id.eq_any(ids))
    .select(meetings::id)
    .load::<String>(conn)?
    .into_iter()
    .collect();
    Ok(found
        .into_iter()
        .map(|(delegation_id, id, start_utc, end_utc)| Conflict {
            delegation_id,
            start_utc,
            end_utc,
            meeting_id: seen.contains(&id).then_some(id),
        })
        .collect())
}

fn recurrence_error(error: RecurrenceError) -> AppError {
    AppError::InvalidRecurrence(format!("recurrence: {error}"))
}

// ---------------------------------------------------------------------------------------------
// Validation

fn slot_error(error: SlotError) -> AppError {
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

pub(super) fn parse_zone(raw: &str) -> Result<TimeZone, AppError> {
    TimeZone::parse(raw).map_err(|e| AppError::UnknownTimeZone(format!("time_zone: {e}")))
}

fn parse_local(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDateTime> {
    time::parse_local(raw)
        .map_err(|m| errors.push(FieldError::new(field, m)))
        .ok()
}

fn check_texts(
    title: Option<&str>,
    description: Option<&str>,
    location: Option<&str>,
    errors: &mut Vec<FieldError>,
) {
    errors.extend(length_errors([
        title.map(|t| check_len("title", t, MAX_TITLE_CHARS, false)),
        description.map(|d| check_len("description", d, MAX_DESCRIPTION_CHARS, true)),
        location.map(|l| check_len("location", l, MAX_LOCATION_CHARS, true)),
    ]));
}

/// `forum` confidentiality needs a forum whose members it means.
fn check_forum_confidentiality(
    confidentiality: &str,
    forum_id: Option<&str>,
) -> Result<(), AppError> {
    if confidentiality == Confidentiality::Forum.as_str() && forum_id.is_none() {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "confidentiality",
            "`forum` confidentiality needs a forum_id: its members see the meeting",
        )]));
    }
    Ok(())
}

/// The channel and forum rules for a meeting hosted by `host` with the delegations `set`, for
/// what changed: when it `moves` (booked, moved, series changed, or newly put on the channel)
/// the channel must be active; when it is `regrouped` (booked, participants changed, or newly
/// put on the channel or in the forum) the meeting must be bilateral between the channel's
/// parties and drawn from the forum's members. An edit that does neither checks nothing, so
/// a meeting stays editable after its forum loses a member.
fn check_channel_and_forum(
    conn: &mut DbConnection,
    host: &str,
    set: &[String],
    (channel_id, forum_id): (Option<&str>, Option<&str>),
    moves: bool,
    regrouped: bool,
) -> Result<(), AppError> {
    if let Some(forum_id) = forum_id.filter(|_| regrouped) {
        forums::check_meeting(conn, forum_id, host, set)?;
    }
    if let Some(channel_id) = channel_id.filter(|_| moves || regrouped) {
        channels::check_meeting(conn, channel_id, host, set, moves)?;
    }
    Ok(())
}

/// A new series anchored at the meeting's slot. The start must itself be an occurrence of the
/// rule (RFC 5545 leaves an unsynchronised DTSTART undefined), and a bounded series must stay
/// within the occurrence limit.
fn new_series(rule: &str, slot: &Slot) -> Result<Series, AppError> {
    let series = series_of(
        rule,
        slot.zone,
        slot.start_local,
        slot.end_utc - slot.start_utc,
    )
    .map_err(recurrence_error)?;
    if series
        .occurrence_at(slot.start_utc)
        .map_err(recurrence_error)?
        .is_none()
    {
        return Err(AppError::InvalidRecurrence(format!(
            "recurrence: the start ({}) is not an occurrence of the rule: make the first meeting one of its days",
            time::fmt_local(&slot.start_local)
        )));
    }
    series.last_end().map_err(recurrence_error)?;
    Ok(series)
}

/// The participant list with the host first, deduplicated; every delegation must exist.
fn participant_set(
    conn: &mut DbConnection,
    host: &str,
    given: &[String],
) -> Result<Vec<String>, AppError> {
    let too_many = || {
        AppError::invalid_fields(vec![FieldError::new(
            "participants",
            format!("at most {MAX_PARTICIPANTS} delegations"),
        )])
    };
    if given.len() > MAX_PARTICIPANTS {
        return Err(too_many());
    }
    let mut set = vec![host.to_owned()];
    for id in resolve_delegations(conn, "participants", given)? {
        if !set.contains(&id) {
            set.push(id);
        }
    }
    if set.len() < 2 {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "participants",
            "a meeting needs at least one delegation besides the host",
        )]));
    }
    if set.len() > MAX_PARTICIPANTS {
        return Err(too_many());
    }
    Ok(set)
}

fn host_of(ctx: &Context) -> Result<String, AppError> {
    acting_for(
        ctx,
        Principal::may_schedule_for,
        "only a delegation's admins and schedulers book meetings",
    )
}

fn write_participants(
    conn: &mut DbConnection,
    meeting_id: &str,
    host: &str,
    set: &[String],
    keep: &HashMap<String, (String, Option<String>, Option<NaiveDateTime>)>,
    span: (DateTime<Utc>, DateTime<Utc>),
) -> Result<(), AppError> {
    diesel::delete(mp::table.filter(mp::meeting_id.eq(meeting_id))).execute(conn)?;
    for delegation_id in set {
        let is_host = delegation_id == host;
        let (response, comment, responded_at) = match keep.get(delegation_id) {
            Some(kept) => kept.clone(),
            None if is_host => (Response::Accepted.as_str().to_owned(), None, None),
            None => (Response::Pending.as_str().to_owned(), None, None),
        };
        diesel::insert_into(mp::table)
            .values((
                mp::meeting_id.eq(meeting_id),
                mp::delegation_id.eq(delegation_id),
                mp::role.eq(if is_host {
                    ParticipantRole::Host
                } else {
                    ParticipantRole::Participant
                }
                .as_str()),
                mp::response.eq(response),
                mp::comment.eq(comment),
                mp::responded_at.eq(responded_at),
                mp::span_start_utc.eq(span.0.naive_utc()),
                mp::span_end_utc.eq(span.1.naive_utc()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Use cases

/// Books a meeting hosted by the caller's delegation.
pub async fn create(
    store: &Store,
    ctx: &Context,
    input: NewMeeting,
    reject_conflicts: bool,
    idempotency: Option<idempotency::Key>,
) -> Result<Created, AppError> {
    let host = host_of(ctx)?;
    let mut errors = Vec::new();
    check_texts(
        Some(&input.title),
        input.description.as_deref(),
        input.location.as_deref(),
        &mut errors,
    );
    let start = parse_local("start", &input.start, &mut errors);
    let end = parse_local("end", &input.end, &mut errors);
    let status = input.status.unwrap_or(MeetingStatus::Proposed);
    if status == MeetingStatus::Cancelled {
        errors.push(FieldError::new(
            "status",
            "a new meeting is proposed or confirmed",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let confidentiality = input
        .confidentiality
        .unwrap_or(Confidentiality::Participants);
    check_forum_confidentiality(confidentiality.as_str(), input.forum_id.as_deref())?;
    let zone = parse_zone(&input.time_zone)?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(AppError::validation("start and end are required"));
    };
    let slot = Slot::new(zone.tz(), start, end, input.disambiguation).map_err(slot_error)?;
    let series = input
        .recurrence
        .as_deref()
        .map(|rule| new_series(rule, &slot))
        .transpose()?;
    let timeline = Timeline {
        status,
        start_utc: slot.start_utc,
        end_utc: slot.end_utc,
        series,
        overrides: Vec::new(),
    };
    let span = timeline.span().map_err(recurrence_error)?;
    let ctx = ctx.clone();
    store
        .write(move |conn| {
            idempotency::once(
                conn,
                idempotency.as_ref(),
                |m: &Meeting| format!("/api/v1/meetings/{}", m.id),
                |conn| {
                    let set = participant_set(conn, &host, &input.participants)?;
                    check_channel_and_forum(
                        conn,
                        &host,
                        &set,
                        (input.channel_id.as_deref(), input.forum_id.as_deref()),
                        true,
                        true,
                    )?;
                    let found = conflicts(conn, &ctx, None, &set, &timeline)?;
                    if reject_conflicts && !found.is_empty() {
                        return Err(AppError::Conflict(format!(
                    "{} overlapping meeting(s) of the participant delegations (on_conflict=reject)",
                    found.len()
                )));
                    }
                    let id = new_id();
                    let at = now();
                    diesel::insert_into(meetings::table)
                        .values((
                            meetings::id.eq(&id),
                            meetings::host_delegation_id.eq(&host),
                            meetings::title.eq(input.title.trim()),
                            meetings::description.eq(&input.description),
                            meetings::location.eq(&input.location),
                            meetings::time_zone.eq(zone.name()),
                            meetings::start_local.eq(slot.start_local),
                            meetings::end_local.eq(slot.end_local),
                            meetings::disambiguation
                                .eq(slot.disambiguation.map(Disambiguation::as_str)),
                            meetings::start_utc.eq(slot.start_utc.naive_utc()),
                            meetings::end_utc.eq(slot.end_utc.naive_utc()),
                            meetings::recurrence.eq(timeline
                                .series
                                .as_ref()
                                .map(|s| s.rule().as_str().to_owned())),
                            meetings::span_start_utc.eq(span.0.naive_utc()),
                            meetings::span_end_utc.eq(span.1.naive_utc()),
                            meetings::status.eq(status.as_str()),
                            meetings::confidentiality.eq(confidentiality.as_str()),
                            meetings::channel_id.eq(&input.channel_id),
                            meetings::forum_id.eq(&input.forum_id),
                            meetings::sequence.eq(0_i64),
                            meetings::version.eq(1_i64),
                            meetings::tzdb_version.eq(TZDB_VERSION),
                            meetings::created_at.eq(at),
                            meetings::updated_at.eq(at),
                        ))
                        .execute(conn)?;
                    write_participants(conn, &id, &host, &set, &HashMap::new(), span)?;
                    audit::record(
                        conn,
                        &ctx.actor(),
                        Entry {
                            action: "meeting.create",
                            entity_type: "meeting",
                            entity_id: &id,
                            summary: format!(
                                "meeting '{}' booked for {} {} ({} delegations)",
                                input.title.trim(),
                                time::fmt_local(&slot.start_local),
                                zone.name(),
                                set.len()
                            ),
                            parties: set.clone(),
                        },
                    )?;
                    let row = load_visible(conn, &ctx, &id)?;
                    let participants = participants_of(conn, std::slice::from_ref(&id))?
                        .remove(&id)
                        .unwrap_or_default();
                    let mut meeting = row.into_view(participants, Some(found))?;
                    with_channels(conn, &ctx, std::slice::from_mut(&mut meeting))?;
                    Ok(meeting)
                },
            )
        })
        .await
}

pub async fn get(store: &Store, ctx: &Context, id: String) -> Result<Meeting, AppError> {
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            let row = load_visible(conn, &ctx, &id)?;
            view(conn, &ctx, row, true)
        })
        .await
}

fn escape_like(q: &str) -> String {
    let mut escaped = String::with_capacity(q.len() + 2);
    escaped.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

diesel::define_sql_function!(
    /// SQL `lower()`, on both backends.
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>
);

/// The meetings the caller may see, by start, filtered.
pub async fn list(
    store: &Store,
    ctx: &Context,
    filter: MeetingFilter,
    page: PageRequest,
) -> Result<Page<Meeting>, AppError> {
    let after = page.after_key(|c| {
        let (t, id) = c.split_once('|')?;
        Some((
            DateTime::from_timestamp_micros(t.parse().ok()?)?,
            id.to_owned(),
        ))
    })?;
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            let mut query = visible(
                meetings::table.into_boxed(),
                ctx.principal.delegation_id.as_deref(),
            );
            if let Some(from) = filter.from {
                query = query.filter(meetings::span_end_utc.gt(from.naive_utc()));
            }
            if let Some(to) = filter.to {
                query = query.filter(meetings::span_start_utc.lt(to.naive_utc()));
            }
            if let Some(participant) = &filter.participant {
                query = query.filter(
                    meetings::id.eq_any(
                        mp::table
                            .filter(mp::delegation_id.eq(participant.clone()))
                            .select(mp::meeting_id),
                    ),
                );
            }
            if let Some(status) = filter.status {
                query = query.filter(meetings::status.eq(status.as_str()));
            }
            if let Some(forum_id) = &filter.forum_id {
                query = query.filter(meetings::forum_id.eq(forum_id.clone()));
            }
            if let Some(channel_id) = &filter.channel_id {
                // A channel's meetings are listed for its two parties only.
                if channels::load_for_party(
                    conn,
                    ctx.principal.delegation_id.as_deref(),
                    channel_id,
                )?
                .is_none()
                {
                    return Ok(Page {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
                query = query.filter(meetings::channel_id.eq(channel_id.clone()));
            }
            if let Some(q) = &filter.q {
                let pattern = escape_like(q);
                query = query.filter(
                    lower(meetings::title.nullable())
                        .like(pattern.clone())
                        .escape('\\')
                        .or(lower(meetings::description).like(pattern).escape('\\')),
                );
            }
            if let Some((t, id)) = &after {
                let t = t.naive_utc();
                query = query.filter(
                    meetings::start_utc
                        .gt(t)
                        .or(meetings::start_utc.eq(t).and(meetings::id.gt(id.clone()))),
                );
            }
            let mut rows: Vec<MeetingRow> = query
                .order((meetings::start_utc.asc(), meetings::id.asc()))
                .limit(page.fetch())
                .load(conn)?;
            // The page and its cursor follow the rows loaded; a series whose occurrences all miss
            // the window (its span alone overlaps it) is then left out, so a page may be short.
            let more = rows.len() > usize::try_from(page.limit).unwrap_or(usize::MAX);
            rows.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
            let next_cursor = more
                .then(|| {
                    rows.last()
                        .map(|r| format!("{}|{}", r.start_utc.and_utc().timestamp_micros(), r.id))
                })
                .flatten()
                .map(|key| {
                    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, key)
                });
            if let (Some(from), Some(to)) = (filter.from, filter.to) {
                if to - from <= TimeDelta::days(MAX_SCHEDULE_DAYS) {
                    let ids: Vec<String> = rows
                        .iter()
                        .filter(|r| r.recurrence.is_some())
                        .map(|r| r.id.clone())
                        .collect();
                    let mut overrides = overrides_of(conn, &ids)?;
                    let mut kept = Vec::with_capacity(rows.len());
                    for row in rows {
                        let hit = row.recurrence.is_none() || {
                            let timeline =
                                timeline_of(&row, overrides.remove(&row.id).unwrap_or_default())?;
                            !timeline
                                .between(from, to)
                                .map_err(recurrence_error)?
                                .is_empty()
                        };
                        if hit {
                            kept.push(row);
                        }
                    }
                    rows = kept;
                }
            }
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut participants = participants_of(conn, &ids)?;
            let mut items = rows
                .into_iter()
                .map(|row| {
                    let p = participants.remove(&row.id).unwrap_or_default();
                    row.into_view(p, None)
                })
                .collect::<Result<Vec<_>, _>>()?;
            with_channels(conn, &ctx, &mut items)?;
            Ok(Page { items, next_cursor })
        })
        .await
}

/// The host's admins and schedulers change a meeting; others who can see it get 403.
fn authorize_host(ctx: &Context, row: &MeetingRow) -> Result<(), AppError> {
    if ctx.principal.may_schedule_for(&row.host_delegation_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only the host delegation's admins and schedulers change this meeting".into(),
        ))
    }
}

/// Applies a change; raises `sequence` when time, place, status or participants change.
/// A change of time puts every other delegation's answer back to `pending`.
pub async fn update(
    store: &Store,
    ctx: &Context,
    id: String,
    expected_version: Option<i64>,
    patch: MeetingPatch,
    reject_conflicts: bool,
) -> Result<Meeting, AppError> {
    let mut errors = Vec::new();
    check_texts(
        patch.title.as_deref(),
        patch.description.as_ref().and_then(Option::as_deref),
        patch.location.as_ref().and_then(Option::as_deref),
        &mut errors,
    );
    let start = patch
        .start
        .as_deref()
        .and_then(|s| parse_local("start", s, &mut errors));
    let end = patch
        .end
        .as_deref()
        .and_then(|s| parse_local("end", s, &mut errors));
    if patch.status == Some(MeetingStatus::Cancelled) {
        errors.push(FieldError::new("status", "cancel a meeting with DELETE"));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let zone = patch.time_zone.as_deref().map(parse_zone).transpose()?;
    let ctx = ctx.clone();
    super::write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let row = load_visible(conn, &ctx, &id)?;
        authorize_host(&ctx, &row)?;
        check_version(expected_version, row.version)?;
        if row.status()? == MeetingStatus::Cancelled {
            return Err(AppError::Conflict(
                "the meeting is cancelled: book a new one".into(),
            ));
        }
        let mut changes = Changes::default();
        let mut changed = Vec::new();

        let old_zone = parse_zone(&row.time_zone)?;
        let zone = zone.unwrap_or(old_zone);
        let disambiguation = match patch.disambiguation {
            Some(d) => d,
            None => row
                .disambiguation
                .as_deref()
                .and_then(Disambiguation::parse),
        };
        let slot = Slot::new(
            zone.tz(),
            start.unwrap_or(row.start_local),
            end.unwrap_or(row.end_local),
            disambiguation,
        )
        .map_err(slot_error)?;
        if slot.start_local != row.start_local
            || slot.end_local != row.end_local
            || zone != old_zone
        {
            changes.time = true;
            changed.push("time");
        } else if slot.start_utc.naive_utc() != row.start_utc
            || slot.end_utc.naive_utc() != row.end_utc
        {
            changes.time = true;
            changed.push("time (disambiguation)");
        }
        let recurrence = match &patch.recurrence {
            Some(rule) => rule.clone(),
            None => row.recurrence.clone(),
        };
        if recurrence != row.recurrence {
            changes.time = true;
            changed.push("recurrence");
        }
        let series = recurrence
            .as_deref()
            .map(|rule| new_series(rule, &slot))
            .transpose()?;
        // Overrides stay while their original start is still an occurrence; the others are
        // removed, audited and reported.
        let mut kept = Vec::new();
        let mut kept_originals = Vec::new();
        let mut orphaned = Vec::new();
        for o in overrides_of(conn, std::slice::from_ref(&id))?
            .remove(&id)
            .unwrap_or_default()
        {
            let still = match &series {
                Some(series) => series
                    .occurrence_at(o.original_start_utc)
                    .map_err(recurrence_error)?,
                None => None,
            };
            match still {
                Some(instance) => {
                    kept_originals.push(instance.start_local);
                    kept.push(o);
                }
                None => orphaned.push(o.original_start_utc),
            }
        }

        let title = patch
            .title
            .as_deref()
            .map(str::trim)
            .unwrap_or(&row.title)
            .to_owned();
        let description = patch.description.clone().unwrap_or(row.description.clone());
        if title != row.title || description != row.description {
            changes.other = true;
            changed.push("title/description");
        }
        let location = patch.location.clone().unwrap_or(row.location.clone());
        if location != row.location {
            changes.location = true;
            changed.push("location");
        }
        let status = patch.status.unwrap_or(row.status()?);
        if status.as_str() != row.status {
            changes.status = true;
            changed.push("status");
        }
        let confidentiality = patch
            .confidentiality
            .map(Confidentiality::as_str)
            .unwrap_or(&row.confidentiality)
            .to_owned();
        if confidentiality != row.confidentiality {
            changes.other = true;
            changed.push("confidentiality");
        }

        let current = participants_of(conn, std::slice::from_ref(&id))?
            .remove(&id)
            .unwrap_or_default();
        let current_ids: Vec<String> = current.iter().map(|p| p.delegation_id.clone()).collect();
        let set = match &patch.participants {
            Some(given) => participant_set(conn, &row.host_delegation_id, given)?,
            None => current_ids.clone(),
        };
        let before: BTreeSet<&String> = current_ids.iter().collect();
        let after: BTreeSet<&String> = set.iter().collect();
        if before != after {
            changes.participants = true;
            changed.push("participants");
        }
        let channel_id = patch.channel_id.clone().unwrap_or(row.channel_id.clone());
        if channel_id != row.channel_id {
            changes.other = true;
            changed.push("channel");
        }
        let forum_id = patch.forum_id.clone().unwrap_or(row.forum_id.clone());
        if forum_id != row.forum_id {
            changes.other = true;
            changed.push("forum");
        }
        check_forum_confidentiality(&confidentiality, forum_id.as_deref())?;
        check_channel_and_forum(
            conn,
            &row.host_delegation_id,
            &set,
            (channel_id.as_deref(), forum_id.as_deref()),
            changes.time || channel_id != row.channel_id,
            changes.participants || channel_id != row.channel_id || forum_id != row.forum_id,
        )?;

        let timeline = Timeline {
            status,
            start_utc: slot.start_utc,
            end_utc: slot.end_utc,
            series,
            overrides: kept,
        };
        let span = timeline.span().map_err(recurrence_error)?;
        let found = if changes.time || changes.participants {
            let found = conflicts(conn, &ctx, Some(&id), &set, &timeline)?;
            if reject_conflicts && !found.is_empty() {
                return Err(AppError::Conflict(format!(
                    "{} overlapping meeting(s) of the participant delegations (on_conflict=reject)",
                    found.len()
                )));
            }
            Some(found)
        } else {
            None
        };

        let sequence = row.sequence + i64::from(changes.raises_sequence());
        let updated = diesel::update(
            meetings::table
                .filter(meetings::id.eq(&id))
                .filter(meetings::version.eq(row.version)),
        )
        .set((
            meetings::title.eq(&title),
            meetings::description.eq(&description),
            meetings::location.eq(&location),
            meetings::time_zone.eq(zone.name()),
            meetings::start_local.eq(slot.start_local),
            meetings::end_local.eq(slot.end_local),
            meetings::disambiguation.eq(slot.disambiguation.map(Disambiguation::as_str)),
            meetings::start_utc.eq(slot.start_utc.naive_utc()),
            meetings::end_utc.eq(slot.end_utc.naive_utc()),
            meetings::recurrence.eq(timeline
                .series
                .as_ref()
                .map(|s| s.rule().as_str().to_owned())),
            meetings::span_start_utc.eq(span.0.naive_utc()),
            meetings::span_end_utc.eq(span.1.naive_utc()),
            meetings::status.eq(status.as_str()),
            meetings::confidentiality.eq(&confidentiality),
            meetings::channel_id.eq(&channel_id),
            meetings::forum_id.eq(&forum_id),
            meetings::sequence.eq(sequence),
            meetings::version.eq(row.version + 1),
            meetings::tzdb_version.eq(TZDB_VERSION),
            meetings::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(stale(expected_version, row.version));
        }
        // Answers survive unless the time moved (then the others must answer again).
        let keep: HashMap<String, (String, Option<String>, Option<NaiveDateTime>)> = current
            .into_iter()
            .filter(|p| !changes.time || p.role == ParticipantRole::Host)
            .map(|p| {
                (
                    p.delegation_id,
                    (
                        p.response.as_str().to_owned(),
                        p.comment,
                        p.responded_at.map(|t| t.naive_utc()),
                    ),
                )
            })
            .collect();
        write_participants(conn, &id, &row.host_delegation_id, &set, &keep, span)?;
        for original in &orphaned {
            diesel::delete(
                mo::table
                    .filter(mo::meeting_id.eq(&id))
                    .filter(mo::original_start_utc.eq(original.naive_utc())),
            )
            .execute(conn)?;
        }
        if !orphaned.is_empty() {
            changed.push("overrides removed");
        }
        if changes.time {
            restate_overrides(conn, &id, zone.tz(), &timeline.overrides, &kept_originals)?;
        }
        let mut parties: Vec<String> = set.clone();
        parties.extend(current_ids);
        audit::record(
            conn,
            &ctx.actor(),
            Entry {
                action: "meeting.update",
                entity_type: "meeting",
                entity_id: &id,
                summary: if changed.is_empty() {
                    format!("meeting '{title}' saved unchanged")
                } else {
                    format!("meeting '{title}': {} changed", changed.join(", "))
                },
                parties,
            },
        )?;
        let row = load_visible(conn, &ctx, &id)?;
        let participants = participants_of(conn, std::slice::from_ref(&id))?
            .remove(&id)
            .unwrap_or_default();
        let found = match found {
            Some(found) => found,
            None => conflicts(conn, &ctx, Some(&id), &set, &timeline)?,
        };
        let mut meeting = row.into_view(participants, Some(found))?;
        with_channels(conn, &ctx, std::slice::from_mut(&mut meeting))?;
        if !orphaned.is_empty() {
            meeting.orphaned_occurrences = Some(orphaned.iter().map(time::fmt_instant).collect());
        }
        Ok(meeting)
    })
    .await
}

/// Cancels: the meeting stays, with status `cancelled` and a raised `sequence`, and is
/// exported as cancelled. Cancelling a cancelled meeting changes nothing.
pub async fn cancel(
    store: &Store,
    ctx: &Context,
    id: String,
    expected_version: Option<i64>,
) -> Result<Meeting, AppError> {
    let ctx = ctx.clone();
    super::write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let row = load_visible(conn, &ctx, &id)?;
        authorize_host(&ctx, &row)?;
        check_version(expected_version, row.version)?;
        if row.status()? == MeetingStatus::Cancelled {
            return view(conn, &ctx, row, false);
        }
        let updated = diesel::update(
            meetings::table
                .filter(meetings::id.eq(&id))
                .filter(meetings::version.eq(row.version)),
        )
        .set((
            meetings::status.eq(MeetingStatus::Cancelled.as_str()),
            meetings::sequence.eq(row.sequence + 1),
            meetings::version.eq(row.version + 1),
            meetings::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(stale(expected_version, row.version));
        }
        let parties = parties_of(conn, &id)?;
        audited(
            conn,
            &ctx,
            &id,
            "meeting.cancel",
            format!("meeting '{}' cancelled", row.title),
            parties,
        )
    })
    .await
}

/// A participant delegation answers (its admins and schedulers).
pub async fn respond(
    store: &Store,
    ctx: &Context,
    id: String,
    expected_version: Option<i64>,
    answer: NewResponse,
) -> Result<Meeting, AppError> {
    let mut errors = Vec::new();
    if answer.response == Response::Pending {
        errors.push(FieldError::new(
            "response",
            "answer accepted, declined or tentative",
        ));
    }
    if let Some(comment) = &answer.comment {
        if let Err((f, m)) = check_len("comment", comment, 2_000, true) {
            errors.push(FieldError::new(f, m));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let ctx = ctx.clone();
    super::write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let row = load_visible(conn, &ctx, &id)?;
        let delegation = ctx.principal.delegation_id.clone().unwrap_or_default();
        let is_participant: i64 = mp::table
            .filter(mp::meeting_id.eq(&id))
            .filter(mp::delegation_id.eq(&delegation))
            .count()
            .get_result(conn)?;
        // Who may answer first: a stale If-Match tells nothing to one who may not.
        if is_participant == 0 || !ctx.principal.may_schedule_for(&delegation) {
            return Err(AppError::Forbidden(
                "only a participant delegation's admins and schedulers answer".into(),
            ));
        }
        check_version(expected_version, row.version)?;
        if row.status()? == MeetingStatus::Cancelled {
            return Err(AppError::Conflict("the meeting is cancelled".into()));
        }
        let updated = diesel::update(
            meetings::table
                .filter(meetings::id.eq(&id))
                .filter(meetings::version.eq(row.version)),
        )
        .set((
            meetings::version.eq(row.version + 1),
            meetings::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(stale(expected_version, row.version));
        }
        diesel::update(
            mp::table
                .filter(mp::meeting_id.eq(&id))
                .filter(mp::delegation_id.eq(&delegation)),
        )
        .set((
            mp::response.eq(answer.response.as_str()),
            mp::comment.eq(&answer.comment),
            mp::responded_at.eq(Some(now())),
        ))
        .execute(conn)?;
        let parties = parties_of(conn, &id)?;
        let summary = format!("{} to '{}'", answer.response.as_str(), row.title);
        audited(conn, &ctx, &id, "meeting.respond", summary, parties)
    })
    .await
}

/// Every occurrence the caller may see in `[from, to)`, by start, with wall-clock times in `tz`.
pub async fn schedule(
    store: &Store,
    ctx: &Context,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Option<String>,
    include_cancelled: bool,
) -> Result<Schedule, AppError> {
    if to <= from {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "to",
            "must be after from",
        )]));
    }
    if to - from > TimeDelta::days(MAX_SCHEDULE_DAYS) {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "to",
            format!("the window is at most {MAX_SCHEDULE_DAYS} days"),
        )]));
    }
    let explicit = tz
        .as_deref()
        .map(|z| TimeZone::parse(z).map_err(|e| AppError::UnknownTimeZone(format!("tz: {e}"))))
        .transpose()?;
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            let zone = match explicit {
                Some(z) => z,
                None => match &ctx.principal.delegation_id {
                    Some(d) => {
                        let name: String = delegations::table
                            .find(d)
                            .select(delegations::time_zone)
                            .first(conn)?;
                        parse_zone(&name)?
                    }
                    None => parse_zone("UTC")?,
                },
            };
            let mut query = visible(
                meetings::table.into_boxed(),
                ctx.principal.delegation_id.as_deref(),
            )
            .filter(meetings::span_end_utc.gt(from.naive_utc()))
            .filter(meetings::span_start_utc.lt(to.naive_utc()));
            if !include_cancelled {
                query = query.filter(meetings::status.ne(MeetingStatus::Cancelled.as_str()));
            }
            let rows: Vec<MeetingRow> = query
                .order((meetings::start_utc.asc(), meetings::id.asc()))
                .load(conn)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let counts = participants_of(conn, &ids)?;
            let mut overrides = overrides_of(conn, &ids)?;
            let mut occurrences = Vec::with_capacity(rows.len());
            for row in rows {
                let timeline = timeline_of(&row, overrides.remove(&row.id).unwrap_or_default())?;
                let format = Format::of(counts.get(&row.id).map_or(0, Vec::len));
                for o in timeline.between(from, to).map_err(recurrence_error)? {
                    if o.status == MeetingStatus::Cancelled && !include_cancelled {
                        continue;
                    }
                    occurrences.push(Occurrence {
                        format,
                        meeting_id: row.id.clone(),
                        title: row.title.clone(),
                        status: o.status,
                        start_utc: o.start_utc,
                        end_utc: o.end_utc,
                        start_local: time::fmt_local(&time::to_local(o.start_utc, zone.tz())),
                        end_local: time::fmt_local(&time::to_local(o.end_utc, zone.tz())),
                        time_zone: row.time_zone.clone(),
                        recurrence_id: o.recurrence_id.as_ref().map(time::fmt_instant),
                    });
                }
            }
            occurrences
                .sort_by(|a, b| (a.start_utc, &a.meeting_id).cmp(&(b.start_utc, &b.meeting_id)));
            Ok(Schedule {
                tz: zone.name().to_owned(),
                occurrences,
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped_and_folded() {
        assert_eq!(escape_like("Cyber"), "%cyber%");
        assert_eq!(escape_like("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let p: MeetingPatch = serde_json::from_str(r#"{"location": null, "title": "T"}"#).unwrap();
        assert_eq!(p.location, Some(None));
        assert_eq!(p.description, None);
        assert!(serde_json::from_str::<MeetingPatch>(r#"{"venue": "x"}"#).is_err());
    }
}
