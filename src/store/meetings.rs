//! `meetings`: the row, who may see it (written once, `visible`), and its reads and writes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::among::among;
use super::conn::MultiBackend;
use super::gathered::{self, Gathered, GatheredAnswer, GatheredOverride, GatheredParticipant};
use super::literal::word;
use super::schema::{forum_members as fm, meeting_participants as mp, meetings};
use super::stamp::Stamp;
use super::windows::{self, Window};
use super::{now, DbConnection};
use crate::domain::stored::{DelegationId, MeetingId};

#[derive(Queryable, Debug, Clone)]
pub struct MeetingRow {
    pub id: String,
    pub host_delegation_id: String,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub time_zone: String,
    #[diesel(deserialize_as = Stamp)]
    pub start_local: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub end_local: NaiveDateTime,
    pub disambiguation: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub start_utc: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub end_utc: NaiveDateTime,
    pub recurrence: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub span_start_utc: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub span_end_utc: NaiveDateTime,
    pub status: String,
    pub confidentiality: String,
    pub channel_id: Option<String>,
    pub forum_id: Option<String>,
    pub sequence: i64,
    pub version: i64,
    pub tzdb_version: String,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub updated_at: NaiveDateTime,
    /// `all` or `quorum:<n>` (`domain::agreement`).
    pub agreement_rule: String,
    /// Confirmed by the host's admin without agreement.
    pub confirmation_forced: bool,
}

/// What a booking or an edit writes (besides id, host, sequence, version and stamps).
#[derive(Debug, Clone)]
pub struct MeetingValues {
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub time_zone: String,
    pub start_local: NaiveDateTime,
    pub end_local: NaiveDateTime,
    pub disambiguation: Option<&'static str>,
    pub start_utc: NaiveDateTime,
    pub end_utc: NaiveDateTime,
    pub recurrence: Option<String>,
    pub span: (NaiveDateTime, NaiveDateTime),
    pub status: &'static str,
    pub confidentiality: &'static str,
    pub channel_id: Option<String>,
    pub forum_id: Option<String>,
    pub tzdb_version: &'static str,
    pub agreement_rule: String,
    pub confirmation_forced: bool,
}

/// The columns of `MeetingValues`, for an insert and for an update alike.
macro_rules! values {
    ($v:expr) => {
        (
            meetings::title.eq(&$v.title),
            meetings::description.eq(&$v.description),
            meetings::location.eq(&$v.location),
            meetings::time_zone.eq(&$v.time_zone),
            meetings::start_local.eq($v.start_local),
            meetings::end_local.eq($v.end_local),
            meetings::disambiguation.eq($v.disambiguation),
            meetings::start_utc.eq($v.start_utc),
            meetings::end_utc.eq($v.end_utc),
            meetings::recurrence.eq(&$v.recurrence),
            meetings::span_start_utc.eq($v.span.0),
            meetings::span_end_utc.eq($v.span.1),
            meetings::status.eq($v.status),
            meetings::confidentiality.eq($v.confidentiality),
            meetings::channel_id.eq(&$v.channel_id),
            meetings::forum_id.eq(&$v.forum_id),
            meetings::tzdb_version.eq($v.tzdb_version),
            (
                meetings::agreement_rule.eq(&$v.agreement_rule),
                meetings::confirmation_forced.eq($v.confirmation_forced),
            ),
        )
    };
}

/// `UPDATE meetings … WHERE id = ? AND version = ?` for a `Versioned` row.
macro_rules! update_versioned {
    ($row:expr) => {
        diesel::update(
            meetings::table
                .filter(meetings::id.eq($row.id.as_str()))
                .filter(meetings::version.eq($row.version)),
        )
    };
}

/// The columns every versioned update sets: the next version, and when.
macro_rules! next_version {
    ($row:expr) => {
        (
            meetings::version.eq($row.version + 1),
            meetings::updated_at.eq(now()),
        )
    };
}

type BoxedMeetings<'a> = meetings::BoxedQuery<'a, MultiBackend>;

/// Meetings `viewer` may see (None: a platform admin, who belongs to no delegation): its
/// delegation takes part, the meeting is public, or it is `forum`-confidential in a forum the
/// delegation is (now) a member of.
///
/// Written per row (`EXISTS` on the participant and the membership, each one index lookup), for
/// reads that name their meetings (by id, or a page of a list). Reads of a time window start
/// from the window instead (`store::windows`), so that neither costs what the viewer's history
/// or other delegations' data holds.
fn visible<'a>(viewer: Option<&DelegationId>) -> BoxedMeetings<'a> {
    let query = meetings::table.into_boxed();
    match viewer {
        Some(delegation_id) => query.filter(seen_by_delegation(delegation_id)),
        None => query.filter(meetings::confidentiality.eq("public")),
    }
}

/// The visibility rule for a delegation's users (its id given twice: once for each `EXISTS`),
/// as one fixed expression: a statement built from it without boxing is prepared once per
/// connection (reads by id run it constantly).
#[diesel::dsl::auto_type(type_alias)]
fn seen_by(participant: String, member: String) -> _ {
    meetings::confidentiality
        .eq("public")
        .or(diesel::dsl::exists(
            mp::table
                .filter(mp::meeting_id.eq(meetings::id))
                .filter(mp::delegation_id.eq(participant)),
        ))
        .or(meetings::confidentiality
            .eq("forum")
            .and(diesel::dsl::exists(
                fm::table
                    .filter(fm::forum_id.nullable().eq(meetings::forum_id))
                    .filter(fm::delegation_id.eq(member)),
            )))
}

fn seen_by_delegation(delegation_id: &DelegationId) -> seen_by {
    seen_by(
        delegation_id.as_str().to_owned(),
        delegation_id.as_str().to_owned(),
    )
}

/// The meeting, if `viewer` may see it.
pub fn find_visible(
    conn: &mut DbConnection,
    viewer: Option<&DelegationId>,
    id: &MeetingId,
) -> QueryResult<Option<MeetingRow>> {
    let by_id = meetings::table.filter(meetings::id.eq(id.as_str().to_owned()));
    match viewer {
        Some(delegation_id) => by_id
            .filter(seen_by_delegation(delegation_id))
            .first(conn)
            .optional(),
        None => by_id
            .filter(meetings::confidentiality.eq("public"))
            .first(conn)
            .optional(),
    }
}

/// Which of `ids` `viewer` may see.
pub fn visible_among(
    conn: &mut DbConnection,
    viewer: Option<&DelegationId>,
    ids: &[&str],
) -> QueryResult<Vec<String>> {
    visible(viewer)
        .filter(among(meetings::id, ids))
        .select(meetings::id)
        .load(conn)
}

/// These meetings, by start and id.
fn by_ids<'a>(ids: &[String]) -> BoxedMeetings<'a> {
    meetings::table
        .filter(among(meetings::id, ids))
        .order((meetings::start_utc.asc(), meetings::id.asc()))
        .into_boxed()
}

/// These meetings (however many), by start and id; cancelled ones only if `cancelled` says so.
fn load_by_ids(
    conn: &mut DbConnection,
    ids: Vec<String>,
    cancelled: Cancelled,
) -> QueryResult<Vec<MeetingRow>> {
    let mut query = by_ids(&ids);
    if cancelled == Cancelled::Excluded {
        query = query.filter(meetings::status.ne("cancelled"));
    }
    query.load(conn)
}

/// The filters of a meeting list; `title_or_description` is a `LIKE` pattern (lower case,
/// `\` escapes).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub participant: Option<String>,
    pub status: Option<&'static str>,
    pub forum_id: Option<String>,
    pub channel_id: Option<String>,
    pub title_or_description: Option<String>,
    /// Hosted by this delegation.
    pub host: Option<String>,
    /// This delegation (not the host) has not answered, or answered `tentative`.
    pub awaiting: Option<String>,
    /// After this (start, id).
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

diesel::define_sql_function!(
    /// SQL `lower()`, on both backends.
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>)
        -> diesel::sql_types::Nullable<diesel::sql_types::Text>
);

/// A meeting as a list or a window read returns it: its row, and what was read with it
/// (`store::gathered`).
#[derive(Debug, Clone)]
pub struct Listed {
    pub row: MeetingRow,
    pub participants: Vec<GatheredParticipant>,
    pub overrides: Vec<GatheredOverride>,
    pub occurrence_answers: Vec<GatheredAnswer>,
    pub channel_status: Option<String>,
}

/// The row, then its participants, overrides and channel status.
const WITH_GATHERED: (
    <meetings::table as Table>::AllColumns,
    (Gathered, Gathered, Gathered, Gathered),
) = (
    meetings::all_columns,
    (
        gathered::PARTICIPANTS,
        gathered::OVERRIDES,
        gathered::OCCURRENCE_ANSWERS,
        gathered::CHANNEL_STATUS,
    ),
);

type Texts = Option<String>;
type LoadedWithGathered = (MeetingRow, (Texts, Texts, Texts, Texts));

fn listed(loaded: Vec<LoadedWithGathered>) -> QueryResult<Vec<Listed>> {
    loaded
        .into_iter()
        .map(
            |(row, (participants, overrides, answers, channel_status))| {
                Ok(Listed {
                    participants: gathered::participants(&row.id, participants.as_deref())?,
                    overrides: gathered::overrides(overrides.as_deref())?,
                    occurrence_answers: gathered::occurrence_answers(answers.as_deref())?,
                    channel_status,
                    row,
                })
            },
        )
        .collect()
}

/// The meetings `viewer` may see that match `q`, by start and id, each with what a list shows
/// of it (one statement).
pub fn list_visible(
    conn: &mut DbConnection,
    viewer: Option<&DelegationId>,
    q: &ListQuery,
) -> QueryResult<Vec<Listed>> {
    let mut query = match q.from {
        // A window: only what lies in it is read, in the same statement as the rows.
        Some(from) => meetings::table
            .filter(windows::visible(viewer, Window { from, to: q.to }))
            .into_boxed(),
        None => visible(viewer),
    };
    if let Some(to) = q.to {
        query = query.filter(meetings::span_start_utc.lt(to));
    }
    if let Some(participant) = &q.participant {
        query = query.filter(
            meetings::id.eq_any(
                mp::table
                    .filter(mp::delegation_id.eq(participant.clone()))
                    .select(mp::meeting_id),
            ),
        );
    }
    if let Some(status) = q.status {
        query = query.filter(meetings::status.eq(status));
    }
    if let Some(host) = &q.host {
        query = query.filter(meetings::host_delegation_id.eq(host.clone()));
    }
    if let Some(awaited) = &q.awaiting {
        query = query.filter(
            meetings::id.eq_any(
                mp::table
                    .filter(mp::delegation_id.eq(awaited.clone()))
                    .filter(mp::role.eq(word("participant")))
                    .filter(
                        mp::response
                            .eq(word("pending"))
                            .or(mp::response.eq(word("tentative"))),
                    )
                    .select(mp::meeting_id),
            ),
        );
    }
    if let Some(forum_id) = &q.forum_id {
        query = query.filter(meetings::forum_id.eq(forum_id.clone()));
    }
    if let Some(channel_id) = &q.channel_id {
        query = query.filter(meetings::channel_id.eq(channel_id.clone()));
    }
    if let Some(pattern) = &q.title_or_description {
        query = query.filter(
            lower(meetings::title.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(lower(meetings::description)
                    .like(pattern.clone())
                    .escape('\\')),
        );
    }
    if let Some((t, id)) = &q.after {
        query = query.filter(
            meetings::start_utc
                .gt(*t)
                .or(meetings::start_utc.eq(*t).and(meetings::id.gt(id.clone()))),
        );
    }
    listed(
        query
            .order((meetings::start_utc.asc(), meetings::id.asc()))
            .limit(q.limit)
            .select(WITH_GATHERED)
            .load(conn)?,
    )
}

/// Whether a window read counts cancelled meetings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancelled {
    Included,
    Excluded,
}

/// The meetings `viewer` may see whose span overlaps the window, by start, each with what was
/// gathered with it (one statement).
pub fn visible_in_window(
    conn: &mut DbConnection,
    viewer: Option<&DelegationId>,
    window: Window,
    cancelled: Cancelled,
) -> QueryResult<Vec<Listed>> {
    let mut query = meetings::table
        .filter(windows::visible(viewer, window))
        .order((meetings::start_utc.asc(), meetings::id.asc()))
        .into_boxed();
    if cancelled == Cancelled::Excluded {
        query = query.filter(meetings::status.ne("cancelled"));
    }
    listed(query.select(WITH_GATHERED).load(conn)?)
}

/// These meetings, cancelled ones included, by start and id.
pub fn by_ids_with_cancelled(
    conn: &mut DbConnection,
    ids: Vec<String>,
) -> QueryResult<Vec<MeetingRow>> {
    load_by_ids(conn, ids, Cancelled::Included)
}

/// Meetings whose instants were derived with another tz database than `tzdb_version`.
pub fn derived_with_other_tzdb(
    conn: &mut DbConnection,
    tzdb_version: &str,
) -> QueryResult<Vec<MeetingRow>> {
    meetings::table
        .filter(meetings::tzdb_version.ne(tzdb_version))
        .load(conn)
}

/// Those of `ids` derived with `tzdb_version`.
pub fn derived_with_tzdb(
    conn: &mut DbConnection,
    ids: &[String],
    tzdb_version: &str,
) -> QueryResult<Vec<MeetingRow>> {
    meetings::table
        .filter(among(meetings::id, ids))
        .filter(meetings::tzdb_version.eq(tzdb_version))
        .load(conn)
}

/// Books a meeting: sequence 0, version 1.
pub fn insert(
    conn: &mut DbConnection,
    id: &MeetingId,
    host: &DelegationId,
    values: &MeetingValues,
) -> QueryResult<()> {
    let at = now();
    diesel::insert_into(meetings::table)
        .values((
            meetings::id.eq(id.as_str()),
            meetings::host_delegation_id.eq(host.as_str()),
            values!(values),
            (
                meetings::sequence.eq(0_i64),
                meetings::version.eq(1_i64),
                meetings::created_at.eq(at),
                meetings::updated_at.eq(at),
            ),
        ))
        .execute(conn)?;
    Ok(())
}

/// The versioned row: what `UPDATE … WHERE id = ? AND version = ?` writes and raises.
#[derive(Clone, Copy, Debug)]
pub struct Versioned<'a> {
    pub id: &'a MeetingId,
    /// The version read; the update applies only if it is still current.
    pub version: i64,
}

/// Writes `values` and `sequence`, raising the version; answers the rows changed (0: the
/// meeting is no longer at that version).
pub fn update(
    conn: &mut DbConnection,
    row: Versioned<'_>,
    sequence: i64,
    values: &MeetingValues,
) -> QueryResult<usize> {
    update_versioned!(row)
        .set((
            values!(values),
            meetings::sequence.eq(sequence),
            next_version!(row),
        ))
        .execute(conn)
}

/// Sets the status (a cancellation, or consent reached or lost) and the sequence, raising the
/// version.
pub fn set_status(
    conn: &mut DbConnection,
    row: Versioned<'_>,
    status: &str,
    sequence: i64,
) -> QueryResult<usize> {
    update_versioned!(row)
        .set((
            meetings::status.eq(status),
            meetings::sequence.eq(sequence),
            next_version!(row),
        ))
        .execute(conn)
}

/// Raises the version only (an answer changed what the meeting shows).
pub fn touch(conn: &mut DbConnection, row: Versioned<'_>) -> QueryResult<usize> {
    update_versioned!(row).set(next_version!(row)).execute(conn)
}

/// Sets the span and the sequence, raising the version (an occurrence changed).
pub fn set_span(
    conn: &mut DbConnection,
    row: Versioned<'_>,
    span: (NaiveDateTime, NaiveDateTime),
    sequence: i64,
) -> QueryResult<usize> {
    update_versioned!(row)
        .set((
            meetings::span_start_utc.eq(span.0),
            meetings::span_end_utc.eq(span.1),
            meetings::sequence.eq(sequence),
            next_version!(row),
        ))
        .execute(conn)
}

/// The instants of a meeting derived again under the bundled tz rules.
pub struct Rederived {
    pub start_utc: NaiveDateTime,
    pub end_utc: NaiveDateTime,
    pub span: (NaiveDateTime, NaiveDateTime),
    pub tzdb_version: &'static str,
    pub sequence: i64,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

pub fn set_rederived(conn: &mut DbConnection, id: &MeetingId, r: &Rederived) -> QueryResult<()> {
    diesel::update(meetings::table.filter(meetings::id.eq(id.as_str())))
        .set((
            meetings::start_utc.eq(r.start_utc),
            meetings::end_utc.eq(r.end_utc),
            meetings::span_start_utc.eq(r.span.0),
            meetings::span_end_utc.eq(r.span.1),
            meetings::tzdb_version.eq(r.tzdb_version),
            meetings::sequence.eq(r.sequence),
            meetings::version.eq(r.version),
            meetings::updated_at.eq(r.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}
