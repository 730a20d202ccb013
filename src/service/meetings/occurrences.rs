//! One occurrence of a series: moved or given its own status (`PUT …/occurrences/{original}`),
//! and the overrides' wall-clock times kept right when the series itself changes.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    authorize_host, load_visible, overrides_of, parse_local, parse_zone, parties_of,
    recurrence_error, slot_error, timeline_of,
};
use crate::domain::meeting::{MeetingStatus, Slot};
use crate::domain::recurrence::{Override, Timeline};
use crate::domain::time::{self, Disambiguation};
use crate::error::AppError;
use crate::service::audit::{self, Entry};
use crate::service::{channels, check_version, stale, write_row, Context};
use crate::store::schema::{meeting_overrides as mo, meeting_participants as mp, meetings};
use crate::store::{now, DbConnection, Locked, Store};

/// A change of one occurrence of a series: moved (wall-clock in the meeting's zone) and/or given
/// its own status (`cancelled` cancels just this one).
#[derive(Deserialize, Debug, Clone, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OccurrenceChange {
    pub start: Option<String>,
    pub end: Option<String>,
    pub status: Option<MeetingStatus>,
    pub disambiguation: Option<Disambiguation>,
}

/// One occurrence of a series, as `PUT …/occurrences/{original_start_utc}` answers.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct SeriesOccurrence {
    pub meeting_id: String,
    /// The occurrence's original start (its identity, iCalendar's RECURRENCE-ID).
    pub recurrence_id: String,
    pub time_zone: String,
    /// Wall-clock in `time_zone`.
    pub start: String,
    pub end: String,
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    pub status: MeetingStatus,
    pub moved: bool,
    /// The series' sequence and version after the change.
    pub sequence: i64,
    pub version: i64,
}

/// Moves or cancels one occurrence of a series (the host's admins and schedulers). The override
/// is keyed by the original start; putting an occurrence back where it was, with the series'
/// status, removes the override. Raises the series' `sequence`.
pub async fn put_occurrence(
    store: &Store,
    ctx: &Context,
    id: String,
    original: DateTime<Utc>,
    expected_version: Option<i64>,
    change: OccurrenceChange,
) -> Result<SeriesOccurrence, AppError> {
    let mut errors = Vec::new();
    let start = change
        .start
        .as_deref()
        .and_then(|s| parse_local("start", s, &mut errors));
    let end = change
        .end
        .as_deref()
        .and_then(|s| parse_local("end", s, &mut errors));
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let row = load_visible(conn, &ctx, &id)?;
        let not_an_occurrence = || {
            AppError::NotFound(format!(
                "{} is not an occurrence of this meeting",
                time::fmt_instant(&original)
            ))
        };
        if row.recurrence.is_none() {
            return Err(not_an_occurrence());
        }
        authorize_host(&ctx, &row)?;
        check_version(expected_version, row.version)?;
        if row.status()? == MeetingStatus::Cancelled {
            return Err(AppError::Conflict("the series is cancelled".into()));
        }
        let zone = parse_zone(&row.time_zone)?;
        let overrides = overrides_of(conn, std::slice::from_ref(&id))?
            .remove(&id)
            .unwrap_or_default();
        let timeline = timeline_of(&row, overrides.clone())?;
        let instance = timeline
            .series
            .as_ref()
            .map(|s| s.occurrence_at(original))
            .transpose()
            .map_err(recurrence_error)?
            .flatten()
            .ok_or_else(not_an_occurrence)?;
        let existing = overrides
            .iter()
            .find(|o| o.original_start_utc == original)
            .cloned();
        // The occurrence as it takes place now (moved, or where the series puts it — for a
        // time in a DST gap, shifted), as wall-clock times that resolve back to it.
        let (current_start_utc, current_end_utc) = existing
            .as_ref()
            .and_then(|o| o.moved)
            .unwrap_or((instance.start_utc, instance.end_utc));
        let (current_start, start_disambiguation) = time::wall_clock(current_start_utc, zone.tz());
        let (current_end, end_disambiguation) = time::wall_clock(current_end_utc, zone.tz());
        let slot = match (start, end) {
            // Only the status changes: the time is not resolved again.
            (None, None) => Ok(Slot {
                zone: zone.tz(),
                start_local: current_start,
                end_local: current_end,
                disambiguation: start_disambiguation.or(end_disambiguation),
                start_utc: current_start_utc,
                end_utc: current_end_utc,
            }),
            (Some(s), None) => Slot::new(
                zone.tz(),
                s,
                s + (current_end - current_start),
                change.disambiguation,
            ),
            (None, Some(e)) => Slot::new(
                zone.tz(),
                current_start,
                e,
                change.disambiguation.or(start_disambiguation),
            ),
            (Some(s), Some(e)) => Slot::new(zone.tz(), s, e, change.disambiguation),
        }
        .map_err(slot_error)?;
        let moved = slot.start_utc != instance.start_utc || slot.end_utc != instance.end_utc;
        if let Some(channel_id) = &row.channel_id {
            if (slot.start_local, slot.end_local) != (current_start, current_end) {
                let set = parties_of(conn, &id)?;
                channels::check_meeting(conn, channel_id, &row.host_delegation_id, &set, true)?;
            }
        }
        let series_status = row.status()?;
        let status = change.status.or(existing.as_ref().and_then(|o| o.status));
        let own_status = status.filter(|s| *s != series_status);

        diesel::delete(
            mo::table
                .filter(mo::meeting_id.eq(&id))
                .filter(mo::original_start_utc.eq(original.naive_utc())),
        )
        .execute(conn)?;
        if moved || own_status.is_some() {
            let at = now();
            diesel::insert_into(mo::table)
                .values((
                    mo::meeting_id.eq(&id),
                    mo::original_start_utc.eq(original.naive_utc()),
                    mo::original_start_local.eq(Some(instance.start_local)),
                    mo::disambiguation.eq(moved
                        .then_some(slot.disambiguation)
                        .flatten()
                        .map(Disambiguation::as_str)),
                    mo::start_local.eq(moved.then_some(slot.start_local)),
                    mo::end_local.eq(moved.then_some(slot.end_local)),
                    mo::start_utc.eq(moved.then_some(slot.start_utc.naive_utc())),
                    mo::end_utc.eq(moved.then_some(slot.end_utc.naive_utc())),
                    mo::status.eq(own_status.map(MeetingStatus::as_str)),
                    mo::created_at.eq(at),
                    mo::updated_at.eq(at),
                ))
                .execute(conn)?;
        }
        let overrides = overrides_of(conn, std::slice::from_ref(&id))?
            .remove(&id)
            .unwrap_or_default();
        let timeline = Timeline {
            overrides,
            ..timeline
        };
        let span = timeline.span().map_err(recurrence_error)?;
        let updated = diesel::update(
            meetings::table
                .filter(meetings::id.eq(&id))
                .filter(meetings::version.eq(row.version)),
        )
        .set((
            meetings::span_start_utc.eq(span.0.naive_utc()),
            meetings::span_end_utc.eq(span.1.naive_utc()),
            meetings::sequence.eq(row.sequence + 1),
            meetings::version.eq(row.version + 1),
            meetings::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(stale(expected_version, row.version));
        }
        diesel::update(mp::table.filter(mp::meeting_id.eq(&id)))
            .set((
                mp::span_start_utc.eq(span.0.naive_utc()),
                mp::span_end_utc.eq(span.1.naive_utc()),
            ))
            .execute(conn)?;
        let status = own_status.unwrap_or(series_status);
        let parties = parties_of(conn, &id)?;
        audit::record(
            conn,
            &ctx.actor(),
            Entry {
                action: "meeting.occurrence",
                entity_type: "meeting",
                entity_id: &id,
                summary: format!(
                    "occurrence {} of '{}': {} {}",
                    time::fmt_instant(&original),
                    row.title,
                    if moved {
                        format!(
                            "moved to {} {}",
                            time::fmt_local(&slot.start_local),
                            zone.name()
                        )
                    } else {
                        "in place".into()
                    },
                    status.as_str()
                ),
                parties,
            },
        )?;
        Ok(SeriesOccurrence {
            meeting_id: id.clone(),
            recurrence_id: time::fmt_instant(&original),
            time_zone: zone.name().to_owned(),
            start: time::fmt_local(&slot.start_local),
            end: time::fmt_local(&slot.end_local),
            start_utc: slot.start_utc,
            end_utc: slot.end_utc,
            status,
            moved,
            sequence: row.sequence + 1,
            version: row.version + 1,
        })
    })
    .await
}

/// After a series changed its time, rule or zone, the overrides it kept (their original starts
/// are still occurrences) get their wall-clock times restated in the series' zone: the original
/// start as the series names it now, and a moved occurrence's instants as they read there. The
/// instants stay; what a later re-derivation starts from is right.
pub(super) fn restate_overrides(
    conn: &mut DbConnection,
    id: &str,
    zone: Tz,
    kept: &[Override],
    originals: &[NaiveDateTime],
) -> Result<(), AppError> {
    for (o, original_local) in kept.iter().zip(originals) {
        let moved = o.moved.map(|(start, end)| {
            let (start_local, disambiguation) = time::wall_clock(start, zone);
            let (end_local, end_disambiguation) = time::wall_clock(end, zone);
            (
                start_local,
                end_local,
                disambiguation.or(end_disambiguation),
            )
        });
        diesel::update(
            mo::table
                .filter(mo::meeting_id.eq(id))
                .filter(mo::original_start_utc.eq(o.original_start_utc.naive_utc())),
        )
        .set((
            mo::original_start_local.eq(Some(*original_local)),
            mo::start_local.eq(moved.map(|m| m.0)),
            mo::end_local.eq(moved.map(|m| m.1)),
            mo::disambiguation.eq(moved.and_then(|m| m.2).map(Disambiguation::as_str)),
        ))
        .execute(conn)?;
    }
    Ok(())
}
