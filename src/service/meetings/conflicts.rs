//! Conflicts: the participant delegations' other meetings that overlap a meeting's occurrences.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::dto::{Conflict, OnConflict};
use super::load::{override_of, recurrence_error, timeline_of_times};
use crate::domain::meeting::{overlaps, MeetingStatus, Response};
use crate::domain::recurrence::Timeline;
use crate::domain::stored::{DelegationId, MeetingId};
use crate::error::AppError;
use crate::service::Context;
use crate::store::occupancy::{self, Occupying};
use crate::store::windows::Window;
use crate::store::{meetings as rows, DbConnection};

/// How far ahead a series is checked for conflicts: the coming year (from its first
/// occurrence, if that is later).
pub const CONFLICT_HORIZON_DAYS: i64 = 366;

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
/// the conflict window): not cancelled, and not declined by that delegation (the meeting, or
/// that session of it). Candidates are
/// found through the (delegation, span) index, then expanded. `meeting_id` is shown only for
/// meetings the caller may see.
pub fn conflicts(
    conn: &mut DbConnection,
    ctx: &Context,
    exclude: Option<&MeetingId>,
    delegations: &[DelegationId],
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
    let mut found = Vec::new();
    for theirs in occupied(conn, delegations, (from, to), exclude)? {
        if mine
            .iter()
            .any(|m| overlaps(m.start_utc, m.end_utc, theirs.start_utc, theirs.end_utc))
        {
            found.push((
                theirs.delegation_id,
                theirs.meeting_id,
                theirs.start_utc,
                theirs.end_utc,
            ));
        }
    }
    let ids: Vec<String> = found
        .iter()
        .map(|(_, id, _, _)| id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let id_texts: Vec<&str> = ids.iter().map(String::as_str).collect();
    found.sort_by(|a, b| (a.2, &a.0, &a.1).cmp(&(b.2, &b.0, &b.1)));
    let seen: BTreeSet<String> =
        rows::visible_among(conn, ctx.principal.delegation_id.as_ref(), &id_texts)?
            .into_iter()
            .collect();
    Ok(found
        .into_iter()
        .map(|(delegation_id, id, start_utc, end_utc)| Conflict {
            delegation_id: DelegationId::from(delegation_id),
            start_utc,
            end_utc,
            meeting_id: seen.contains(&id).then(|| MeetingId::from(id)),
        })
        .collect())
}

/// A delegation's time taken by one occurrence of one of its meetings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupied {
    pub delegation_id: String,
    pub meeting_id: String,
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
}

/// These delegations' occurrences overlapping `[from, to)`: not cancelled, and not declined by
/// that delegation (the meeting, or that session of it); `exclude` left out. Candidates are
/// found through the (delegation, span) index, then expanded.
pub fn occupied(
    conn: &mut DbConnection,
    delegations: &[DelegationId],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    exclude: Option<&MeetingId>,
) -> Result<Vec<Occupied>, AppError> {
    let window = Window {
        from: from.naive_utc(),
        to: Some(to.naive_utc()),
    };
    let mut taken = Vec::new();
    for delegation in delegations {
        for Occupying {
            row,
            overrides,
            answers,
        } in occupancy::of_delegation(conn, delegation, window, exclude)?
        {
            let overrides = overrides
                .into_iter()
                .map(override_of)
                .collect::<Result<Vec<_>, _>>()?;
            let timeline = timeline_of_times(
                &row.id,
                (&row.status, &row.time_zone, row.recurrence.as_deref()),
                (row.start_utc, row.end_utc, row.start_local),
                overrides,
            )?;
            // Sessions the delegation declined on their own do not keep it busy.
            let declined: HashSet<NaiveDateTime> = answers
                .into_iter()
                .filter(|a| {
                    a.delegation_id == delegation.as_str()
                        && a.response == Response::Declined.as_str()
                })
                .map(|a| a.original_start_utc)
                .collect();
            for theirs in timeline.between(from, to).map_err(recurrence_error)? {
                let declined_session = theirs
                    .recurrence_id
                    .is_some_and(|original| declined.contains(&original.naive_utc()));
                if theirs.status == MeetingStatus::Cancelled || declined_session {
                    continue;
                }
                taken.push(Occupied {
                    delegation_id: delegation.as_str().to_owned(),
                    meeting_id: row.id.clone(),
                    start_utc: theirs.start_utc,
                    end_utc: theirs.end_utc,
                });
            }
        }
    }
    Ok(taken)
}

/// With `on_conflict=reject`, any conflict refuses the booking or change (409).
pub fn refuse_if_rejected(on_conflict: OnConflict, found: &[Conflict]) -> Result<(), AppError> {
    if on_conflict == OnConflict::Reject && !found.is_empty() {
        return Err(AppError::Conflict(format!(
            "{} overlapping meeting(s) of the participant delegations (on_conflict=reject)",
            found.len()
        )));
    }
    Ok(())
}
