//! When the bundled tz rules change, meetings keep their wall-clock times and their instants
//! follow: the first occurrence, the keys of overridden occurrences (their original starts),
//! moved occurrences, the span columns the range queries use, and `sequence` when anything moved.

use std::collections::HashSet;

use super::load::timeline_of;
use crate::domain::meeting::{MeetingStatus, Slot};
use crate::domain::recurrence::Override;
use crate::domain::time;
use crate::domain::zone::{TimeZone, TZDB_VERSION};
use crate::error::AppError;
use crate::service::audit::{self, Entry};
use crate::store::feed_stamps;
use crate::store::meetings::{self as rows, MeetingRow};
use crate::store::occurrence_answers::{self, OccurrenceAnswerRow};
use crate::store::overrides::{self, OverrideRow};
use crate::store::{now, participants, stored, write_transaction, DbConnection};

/// What re-deriving the UTC times found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rederived {
    /// Meetings derived with an older tz database.
    pub checked: usize,
    /// Of those, meetings any of whose instants moved (their sequence was raised).
    pub moved: usize,
    /// Meetings (or `<id> occurrence <original start>`) whose wall-clock time no longer exists,
    /// or now needs disambiguation, under the new rules: left unchanged and logged, for their
    /// host to move.
    pub unresolved: Vec<String>,
}

/// Re-derives the instants of every meeting derived with another tz database version than the
/// bundled one. Runs at every start and in `entente migrate`, in one transaction, audited.
pub fn rederive_utc(conn: &mut DbConnection) -> Result<Rederived, AppError> {
    write_transaction(conn, |conn| {
        record_original_wall_clock(conn)?;
        let rows = rows::derived_with_other_tzdb(conn, TZDB_VERSION)?;
        let mut outcome = Rederived {
            checked: rows.len(),
            ..Rederived::default()
        };
        for row in rows {
            rederive_meeting(conn, row, &mut outcome)?;
        }
        Ok(outcome)
    })
}

/// Overrides written before their wall-clock original start was stored get it now, from the
/// rules their meeting was derived with (the bundled ones): the occurrence's local start as the
/// series names it (for an occurrence shifted out of a DST gap, the time before the shift).
fn record_original_wall_clock(conn: &mut DbConnection) -> Result<(), AppError> {
    let ids = overrides::meetings_without_wall_clock(conn)?;
    if ids.is_empty() {
        return Ok(());
    }
    for row in rows::derived_with_tzdb(conn, &ids, TZDB_VERSION)? {
        let id = row.meeting_id();
        let zone = row.zone()?.tz();
        let series = timeline_of(&row, Vec::new())?.series;
        let originals = overrides::originals_without_wall_clock(conn, &id)?;
        for original in originals {
            let instance = series
                .as_ref()
                .and_then(|s| s.occurrence_at(original.and_utc()).ok().flatten());
            let local = instance.map_or_else(
                || time::to_local(original.and_utc(), zone),
                |i| i.start_local,
            );
            overrides::set_original_local(conn, &id, original, local)?;
        }
    }
    Ok(())
}

/// The override with its instants derived again from its wall-clock times under the bundled
/// rules, and whether its moved wall-clock time has become invalid there (its instants are then
/// kept as they were).
fn rederive_override(zone: TimeZone, o: &OverrideRow, meeting_id: &str) -> (OverrideRow, bool) {
    let tz = zone.tz();
    let original_local = o.original_start_local.unwrap_or_else(|| {
        tracing::warn!(
            %meeting_id,
            original = %o.original_start_utc,
            "override without its wall-clock original start: taken from its UTC key"
        );
        time::to_local(o.original_start_utc.and_utc(), tz)
    });
    let disambiguation = o
        .disambiguation
        .as_deref()
        .and_then(time::Disambiguation::parse);
    // A session held in another zone has its wall-clock times there.
    let own_zone = o
        .time_zone
        .as_deref()
        .and_then(|z| TimeZone::parse(z).ok())
        .map_or(tz, |z| z.tz());
    let moved = o
        .start_local
        .zip(o.end_local)
        .map(|(s, e)| Slot::new(own_zone, s, e, disambiguation));
    let slot = moved.as_ref().and_then(|m| m.as_ref().ok());
    let derived = OverrideRow {
        original_start_utc: time::resolve_in_series(original_local, tz).naive_utc(),
        original_start_local: Some(original_local),
        start_utc: slot.map(|m| m.start_utc.naive_utc()).or(o.start_utc),
        end_utc: slot.map(|m| m.end_utc.naive_utc()).or(o.end_utc),
        ..o.clone()
    };
    (derived, moved.is_some_and(|m| m.is_err()))
}

fn rederive_meeting(
    conn: &mut DbConnection,
    row: MeetingRow,
    outcome: &mut Rederived,
) -> Result<(), AppError> {
    let slot = TimeZone::parse(&row.time_zone).ok().and_then(|zone| {
        let disambiguation = row
            .disambiguation
            .as_deref()
            .and_then(time::Disambiguation::parse);
        Slot::new(zone.tz(), row.start_local, row.end_local, disambiguation)
            .ok()
            .map(|slot| (zone, slot))
    });
    let Some((zone, slot)) = slot else {
        tracing::warn!(
            meeting_id = %row.id,
            time_zone = %row.time_zone,
            "the meeting's local time is not valid under the new tz rules; left unchanged"
        );
        outcome.unresolved.push(row.id);
        return Ok(());
    };

    let id = row.meeting_id();
    let stored_overrides = overrides::of_meetings(conn, &[id.as_str()])?;
    let mut derived = Vec::with_capacity(stored_overrides.len());
    let mut keys = HashSet::new();
    for o in &stored_overrides {
        let (new, invalid) = rederive_override(zone, o, &row.id);
        if invalid {
            tracing::warn!(
                meeting_id = %row.id,
                original = %o.original_start_utc,
                "a moved occurrence's local time is not valid under the new tz rules; its instants are left unchanged"
            );
            outcome.unresolved.push(format!(
                "{} occurrence {}",
                row.id,
                time::fmt_instant(&new.original_start_utc.and_utc())
            ));
        }
        if keys.insert(new.original_start_utc) {
            derived.push(new);
        } else {
            tracing::warn!(
                meeting_id = %row.id,
                original = %new.original_start_utc,
                "two overrides now name the same occurrence; the later one is dropped"
            );
        }
    }
    let overrides_moved = derived.len() != stored_overrides.len()
        || stored_overrides.iter().zip(&derived).any(|(old, new)| {
            old.original_start_utc != new.original_start_utc || old.moved() != new.moved()
        });
    if overrides_moved {
        overrides::delete_all(conn, &id)?;
        for o in &derived {
            overrides::insert(conn, o)?;
        }
    }
    // Answers to single sessions are keyed like overrides: by the original start, derived
    // again from its wall-clock time.
    let answers = occurrence_answers::of_meetings(conn, &[id.as_str()])?;
    let rekeyed: Vec<OccurrenceAnswerRow> = answers
        .iter()
        .map(|a| OccurrenceAnswerRow {
            original_start_utc: time::resolve_in_series(a.original_start_local, zone.tz())
                .naive_utc(),
            ..a.clone()
        })
        .collect();
    if rekeyed != answers {
        occurrence_answers::delete_of_meeting(conn, &id)?;
        for a in &rekeyed {
            occurrence_answers::put(conn, a)?;
        }
    }

    let domain_overrides = derived
        .iter()
        .map(|o| {
            let status = o
                .status
                .as_deref()
                .map(stored::<MeetingStatus>)
                .transpose()?;
            Ok(Override {
                original_start_utc: o.original_start_utc.and_utc(),
                moved: o.moved().map(|(s, e)| (s.and_utc(), e.and_utc())),
                status,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    // The series is anchored at the new first occurrence (its length may have changed too).
    let rederived_row = MeetingRow {
        start_utc: slot.start_utc.naive_utc(),
        end_utc: slot.end_utc.naive_utc(),
        ..row.clone()
    };
    let span = timeline_of(&rederived_row, domain_overrides)?
        .span()
        .map_err(|e| AppError::internal(format!("span of {}: {e}", row.id)))?;
    let span = (span.0.naive_utc(), span.1.naive_utc());
    let first_moved =
        (rederived_row.start_utc, rederived_row.end_utc) != (row.start_utc, row.end_utc);
    let moved = first_moved || overrides_moved || span != (row.span_start_utc, row.span_end_utc);

    let updated_at = if moved { now() } else { row.updated_at };
    let rederived = rows::Rederived {
        start_utc: rederived_row.start_utc,
        end_utc: rederived_row.end_utc,
        span,
        tzdb_version: TZDB_VERSION,
        sequence: row.sequence + i64::from(moved),
        version: row.version + i64::from(moved),
        updated_at,
    };
    rows::set_rederived(conn, &id, &rederived)?;
    // The participants' copies of the span, which conflict detection and lists start from.
    participants::set_span(conn, &id, span)?;
    if moved {
        outcome.moved += 1;
        feed_stamps::meeting_changed(conn, &id, Vec::new())?;
        let parties = participants::delegations_of(conn, &id)?;
        let rekeyed = stored_overrides
            .iter()
            .zip(&derived)
            .filter(|(old, new)| {
                old.original_start_utc != new.original_start_utc || old.moved() != new.moved()
            })
            .count();
        audit::record(
            conn,
            &audit::Actor::system(),
            Entry {
                action: "meeting.rederive",
                entity_type: "meeting",
                entity_id: id.as_str(),
                summary: format!(
                    "tz database {} → {}: {} {} is now {}{}",
                    row.tzdb_version,
                    TZDB_VERSION,
                    time::fmt_local(&row.start_local),
                    row.time_zone,
                    time::fmt_instant(&slot.start_utc),
                    if rekeyed > 0 {
                        format!("; {rekeyed} changed occurrence(s) follow")
                    } else {
                        String::new()
                    }
                ),
                parties,
            },
        )?;
    }
    Ok(())
}
