//! Answers to single occurrences of a series (issue 17): a delegation declines one session of
//! six, or is asked again for a session that moved. An answer to an occurrence overrides the
//! delegation's answer to the series for that session only; the session's agreement and status
//! follow from the answers that apply to it (`domain::agreement::answers_to_occurrence`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::consent::Consent;
use super::dto::{NewResponse, Participant};
use super::load::{
    changed, load_visible, occurrence_in, overrides_of_one, participants_of_one, timeline_of,
};
use super::respond::{answer_details, answering, check_answer};
use crate::domain::agreement::Agreement;
use crate::domain::meeting::{MeetingStatus, ParticipantRole, Response};
use crate::domain::recurrence::{Instance, Occurrence, Override};
use crate::domain::stored::{DelegationId, MeetingId};
use crate::domain::time;
use crate::error::AppError;
use crate::service::{check_version, stale, write_row, Context};
use crate::store::gathered::GatheredAnswer;
use crate::store::meetings::{self as rows, MeetingRow, Versioned};
use crate::store::occurrence_answers::{self, OccurrenceAnswerRow};
use crate::store::{now, DbConnection, Locked, Store};

/// A party's answer as it applies to one session.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct SessionAnswer {
    #[schema(value_type = String)]
    pub delegation_id: DelegationId,
    pub role: ParticipantRole,
    pub response: Response,
    /// True when given for this session (it overrides the answer to the series).
    pub for_this_session: bool,
    pub comment: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<DateTime<Utc>>,
}

/// One session of a series with the answers that apply to it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Session {
    #[schema(value_type = String)]
    pub meeting_id: MeetingId,
    /// The session's original start (RFC 3339 UTC): its identity.
    pub recurrence_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    pub status: MeetingStatus,
    pub agreement: Agreement,
    pub answers: Vec<SessionAnswer>,
    /// The series' version after the answer.
    pub version: i64,
}

/// How a request names a session of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKey {
    /// Its original start (RFC 3339 UTC: its `recurrence_id`).
    Original(DateTime<Utc>),
    /// Its original wall-clock start in the series' zone (`?local=2027-07-14T10:00`).
    Local(NaiveDateTime),
}

impl SessionKey {
    /// The original start it names (whether the series has a session there is checked by
    /// the caller: 404 otherwise). A wall-clock time is read as the series names its sessions:
    /// one in a DST gap is the session the gap shifted.
    pub fn original(self, row: &MeetingRow) -> Result<DateTime<Utc>, AppError> {
        Ok(match self {
            Self::Original(at) => at,
            Self::Local(local) => time::resolve_in_series(local, row.zone()?.tz()),
        })
    }
}

/// A participant delegation answers one session of a series (its admins and schedulers).
pub async fn respond_to_session(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    key: SessionKey,
    expected_version: Option<i64>,
    answer: NewResponse,
) -> Result<Session, AppError> {
    check_answer(&answer)?;
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let row = load_visible(conn, &ctx, &id)?;
        let original = key.original(&row)?;
        // The answer changes no override: read once, for the session before and after.
        let overrides = overrides_of_one(conn, &id)?;
        let instance = occurrence_in(&timeline_of(&row, overrides.clone())?, original)?;
        let delegation = answering(conn, &ctx, &id)?;
        check_version(expected_version, row.version)?;
        let before = session(conn, (&row, &overrides), original, &instance)?;
        if before.status == MeetingStatus::Cancelled {
            return Err(AppError::Conflict("the session is cancelled".into()));
        }
        occurrence_answers::put(
            conn,
            &OccurrenceAnswerRow {
                meeting_id: id.as_str().to_owned(),
                original_start_utc: original.naive_utc(),
                original_start_local: instance.start_local,
                delegation_id: delegation.as_str().to_owned(),
                response: answer.response.as_str().to_owned(),
                // An internal comment goes to the history only.
                comment: answer
                    .comment
                    .clone()
                    .filter(|_| answer.internal != Some(true)),
                responded_at: Some(now()),
            },
        )?;
        let versioned = Versioned {
            id: &id,
            version: row.version,
        };
        if rows::touch(conn, versioned)? == 0 {
            return Err(stale(expected_version, row.version));
        }
        let summary = format!(
            "{} to the session of {} of '{}'",
            answer.response.as_str(),
            time::fmt_instant(&original),
            row.title
        );
        let mut details = answer_details(&answer);
        details.recurrence_id = Some(time::fmt_instant(&original));
        let was = before
            .answers
            .iter()
            .find(|a| a.delegation_id == delegation);
        details.change("response", was.map(|a| a.response), answer.response);
        changed(
            conn,
            &ctx,
            &id,
            ("meeting.respond_session", summary),
            &details,
        )?;
        let row = load_visible(conn, &ctx, &id)?;
        session(conn, (&row, &overrides), original, &instance)
    })
    .await
}

/// The occurrence of the series that starts (originally) at `original`; 404 otherwise.
pub(super) fn occurrence(
    conn: &mut DbConnection,
    row: &MeetingRow,
    original: DateTime<Utc>,
) -> Result<Instance, AppError> {
    let overrides = overrides_of_one(conn, &row.meeting_id())?;
    occurrence_in(&timeline_of(row, overrides)?, original)
}

/// The session as it stands: where it takes place, its status and the answers to it.
fn session(
    conn: &mut DbConnection,
    (row, overrides): (&MeetingRow, &[Override]),
    original: DateTime<Utc>,
    instance: &Instance,
) -> Result<Session, AppError> {
    let id = row.meeting_id();
    let participants = participants_of_one(conn, &id)?;
    let own = occurrence_answers::of_session(conn, &id, original.naive_utc())?;
    let own_override = overrides.iter().find(|o| o.original_start_utc == original);
    let (start_utc, end_utc) = own_override
        .and_then(|o| o.moved)
        .unwrap_or((instance.start_utc, instance.end_utc));
    // The same rule as the schedule's and the feed's: `Consent`.
    let consent = Consent::of(
        row,
        &participants,
        own.iter().map(GatheredAnswer::from).collect(),
    )?;
    let occurrence = Occurrence {
        recurrence_id: Some(original),
        start_utc,
        end_utc,
        status: own_override.and_then(|o| o.status).unwrap_or(row.status()?),
    };
    let (status, agreement) = consent.of_occurrence(&occurrence)?;
    let answers = consent.answers_to(original.naive_utc());
    Ok(Session {
        meeting_id: id,
        recurrence_id: time::fmt_instant(&original),
        start_utc,
        end_utc,
        status,
        agreement,
        answers: participants
            .into_iter()
            .zip(&answers)
            .map(|(p, a): (Participant, _)| {
                let mine = own
                    .iter()
                    .find(|o| o.delegation_id == p.delegation_id.as_str());
                SessionAnswer {
                    response: a.response,
                    for_this_session: mine.is_some(),
                    comment: mine.map_or(p.comment.clone(), |o| o.comment.clone()),
                    responded_at: mine
                        .map_or(p.responded_at, |o| o.responded_at.map(|t| t.and_utc())),
                    delegation_id: p.delegation_id,
                    role: p.role,
                }
            })
            .collect(),
        version: row.version,
    })
}

/// A session moved: the parties other than the host are asked again for it (their answers to
/// it go back to `pending`, overriding their answers to the series).
pub(super) fn ask_again_for_session(
    conn: &mut DbConnection,
    id: &MeetingId,
    (original, original_local): (DateTime<Utc>, NaiveDateTime),
) -> Result<(), AppError> {
    for p in participants_of_one(conn, id)? {
        if p.role == ParticipantRole::Host {
            continue;
        }
        occurrence_answers::put(
            conn,
            &OccurrenceAnswerRow {
                meeting_id: id.as_str().to_owned(),
                original_start_utc: original.naive_utc(),
                original_start_local: original_local,
                delegation_id: p.delegation_id.as_str().to_owned(),
                response: Response::Pending.as_str().to_owned(),
                comment: None,
                responded_at: None,
            },
        )?;
    }
    Ok(())
}
