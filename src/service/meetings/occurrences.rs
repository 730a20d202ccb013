//! One occurrence of a series: moved or given its own status (`PUT …/occurrences/{original}`),
//! and the overrides' wall-clock times kept right when the series itself changes.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::checks::{authorize_host, check_texts};
use super::history::Details;
use super::load::{
    load_visible, occurrence_in, override_of, overrides_of_one, parse_local, parse_zone,
    recurrence_error, slot_error, timeline_of,
};
use super::sessions::SessionKey;
use crate::domain::meeting::{MeetingStatus, Slot};
use crate::domain::recurrence::{Override, Timeline};
use crate::domain::stored::MeetingId;
use crate::domain::time::{self, Disambiguation};
use crate::domain::zone::TimeZone;
use crate::error::AppError;
use crate::service::audit::{self, Entry};
use crate::service::delegations::double_option;
use crate::service::{channels, check_version, stale, write_row, Context};
use crate::store::feed_stamps;
use crate::store::meetings::{self as rows, Versioned};
use crate::store::overrides::{self, OverrideRow, WallClock};
use crate::store::{now, participants, DbConnection, Locked, Store};

/// A change of one occurrence of a series: moved (wall-clock in the meeting's zone) and/or given
/// its own status (`cancelled` cancels just this one).
#[derive(Deserialize, Debug, Clone, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OccurrenceChange {
    /// Wall-clock in the session's zone (`time_zone`, or the series').
    pub start: Option<String>,
    pub end: Option<String>,
    pub status: Option<MeetingStatus>,
    pub disambiguation: Option<Disambiguation>,
    /// This session's venue; `null`: the series' again.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// This session's zone (its wall-clock times are in it); `null`: the series' again. Without
    /// `start`/`end`, the session keeps its wall-clock times in the new zone.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
}

/// One occurrence of a series, as `PUT …/occurrences/{original_start_utc}` answers.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct SeriesOccurrence {
    #[schema(value_type = String)]
    pub meeting_id: MeetingId,
    /// The occurrence's original start (its identity, iCalendar's RECURRENCE-ID).
    pub recurrence_id: String,
    /// The session's zone (its own, or the series').
    pub time_zone: String,
    /// The session's venue (its own, or the series').
    pub location: Option<String>,
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
    id: MeetingId,
    session: SessionKey,
    expected_version: Option<i64>,
    change: OccurrenceChange,
) -> Result<SeriesOccurrence, AppError> {
    let parsed = parse_change(&change)?;
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        apply_occurrence(
            conn,
            &ctx,
            (&id, session, expected_version),
            (&change, &parsed),
        )
    })
    .await
}

/// The times and zone of an occurrence change, checked before anything is read.
pub(super) struct ParsedChange {
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
    new_zone: Option<Option<TimeZone>>,
}

/// Checks an occurrence change's times, venue and zone (422 naming the fields).
pub(super) fn parse_change(change: &OccurrenceChange) -> Result<ParsedChange, AppError> {
    let mut errors = Vec::new();
    let start = change
        .start
        .as_deref()
        .and_then(|s| parse_local("start", s, &mut errors));
    let end = change
        .end
        .as_deref()
        .and_then(|s| parse_local("end", s, &mut errors));
    if let Some(Some(location)) = &change.location {
        check_texts(None, None, Some(location), &mut errors);
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let new_zone = match &change.time_zone {
        Some(Some(zone)) => Some(Some(parse_zone(zone)?)),
        Some(None) => Some(None),
        None => None,
    };
    Ok(ParsedChange {
        start,
        end,
        new_zone,
    })
}

/// Applies a checked occurrence change in the caller's transaction (a PUT, or an accepted
/// proposal for one session).
pub(super) fn apply_occurrence(
    conn: &mut DbConnection,
    ctx: &Context,
    (id, session, expected_version): (&MeetingId, SessionKey, Option<i64>),
    (change, parsed): (&OccurrenceChange, &ParsedChange),
) -> Result<SeriesOccurrence, AppError> {
    let (start, end, new_zone) = (parsed.start, parsed.end, parsed.new_zone);
    let id = id.clone();
    let row = load_visible(conn, ctx, &id)?;
    let original = session.original(&row)?;
    let not_an_occurrence = || {
        AppError::NotFound(format!(
            "{} is not an occurrence of this meeting",
            time::fmt_instant(&original)
        ))
    };
    if row.recurrence.is_none() {
        return Err(not_an_occurrence());
    }
    authorize_host(ctx, &row.host())?;
    check_version(expected_version, row.version)?;
    if row.status()? == MeetingStatus::Cancelled {
        return Err(AppError::Conflict("the series is cancelled".into()));
    }
    let series_zone = row.zone()?;
    // One read of the overrides: the timeline's, and the session's venue.
    let stored = overrides::of_meetings(conn, &[id.as_str()])?;
    let overrides = stored
        .iter()
        .cloned()
        .map(|o| override_of(o.into()))
        .collect::<Result<Vec<_>, _>>()?;
    let timeline = timeline_of(&row, overrides.clone())?;
    let instance = occurrence_in(&timeline, original)?;
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
    // Where the session is held now, and where it will be.
    let venue = stored
        .into_iter()
        .find(|o| o.original_start_utc == original.naive_utc())
        .map(|o| (o.location, o.time_zone))
        .unwrap_or_default();
    let zone_before = match &venue.1 {
        Some(zone) => parse_zone(zone)?,
        None => series_zone,
    };
    let zone = match &new_zone {
        Some(Some(zone)) => *zone,
        Some(None) => series_zone,
        None => zone_before,
    };
    let location = match &change.location {
        Some(given) => given.clone(),
        None => venue.0.clone(),
    }
    .filter(|l| Some(l) != row.location.as_ref());
    let (current_start, start_disambiguation) =
        time::wall_clock(current_start_utc, zone_before.tz());
    let (current_end, end_disambiguation) = time::wall_clock(current_end_utc, zone_before.tz());
    let slot = match (start, end) {
        // Another zone, the same wall-clock times in it.
        (None, None) if zone != zone_before => {
            Slot::new(zone.tz(), current_start, current_end, change.disambiguation)
        }
        // Only the status or the venue changes: the time is not resolved again.
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
    if let Some(channel_id) = &row.channel() {
        if (slot.start_local, slot.end_local) != (current_start, current_end) {
            let set = participants::delegations_of(conn, &id)?;
            channels::check_meeting(conn, channel_id, &row.host(), &set, true)?;
        }
    }
    let series_status = row.status()?;
    let status = change.status.or(existing.as_ref().and_then(|o| o.status));
    let own_status = status.filter(|s| *s != series_status);
    let own_zone = (zone != series_zone).then(|| zone.name().to_owned());
    let elsewhere = location.is_some() || own_zone.is_some();

    overrides::delete(conn, &id, original.naive_utc())?;
    if moved || own_status.is_some() || elsewhere {
        let at = now();
        let moved_to = |t: DateTime<Utc>| moved.then_some(t.naive_utc());
        overrides::insert(
            conn,
            &OverrideRow {
                meeting_id: id.as_str().to_owned(),
                original_start_utc: original.naive_utc(),
                original_start_local: Some(instance.start_local),
                disambiguation: moved
                    .then_some(slot.disambiguation)
                    .flatten()
                    .map(|d| d.as_str().to_owned()),
                start_local: moved.then_some(slot.start_local),
                end_local: moved.then_some(slot.end_local),
                start_utc: moved_to(slot.start_utc),
                end_utc: moved_to(slot.end_utc),
                status: own_status.map(|s| s.as_str().to_owned()),
                location: location.clone(),
                time_zone: own_zone.clone(),
                created_at: at,
                updated_at: at,
            },
        )?;
    }
    // The session takes place at another time or place: the other parties are asked again.
    let retimed = (slot.start_utc, slot.end_utc) != (current_start_utc, current_end_utc);
    if retimed || location != venue.0 || own_zone != venue.1 {
        super::sessions::ask_again_for_session(conn, &id, (original, instance.start_local))?;
    }
    let timeline = Timeline {
        overrides: overrides_of_one(conn, &id)?,
        ..timeline
    };
    let span = timeline.span().map_err(recurrence_error)?;
    let span = (span.0.naive_utc(), span.1.naive_utc());
    let versioned = Versioned {
        id: &id,
        version: row.version,
    };
    if rows::set_span(conn, versioned, span, row.sequence + 1)? == 0 {
        return Err(stale(expected_version, row.version));
    }
    participants::set_span(conn, &id, span)?;
    feed_stamps::meeting_changed(conn, &id, Vec::new())?;
    let status = own_status.unwrap_or(series_status);
    let parties = participants::delegations_of(conn, &id)?;
    let mut details = Details {
        recurrence_id: Some(time::fmt_instant(&original)),
        ..Details::default()
    };
    details.change(
        "start",
        time::fmt_local(&current_start),
        time::fmt_local(&slot.start_local),
    );
    details.change(
        "end",
        time::fmt_local(&current_end),
        time::fmt_local(&slot.end_local),
    );
    let status_before = existing.as_ref().and_then(|o| o.status);
    details.change("status", status_before.unwrap_or(series_status), status);
    details.change("time_zone", zone_before.name(), zone.name());
    let series_venue = row.location.as_ref();
    details.change(
        "location",
        venue.0.as_ref().or(series_venue),
        location.as_ref().or(series_venue),
    );
    audit::record_detailed(
        conn,
        &ctx.actor(),
        Entry {
            action: "meeting.occurrence",
            entity_type: "meeting",
            entity_id: id.as_str(),
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
        Some(&details.to_json()),
    )?;
    Ok(SeriesOccurrence {
        meeting_id: id.clone(),
        recurrence_id: time::fmt_instant(&original),
        time_zone: zone.name().to_owned(),
        location: location.or_else(|| row.location.clone()),
        start: time::fmt_local(&slot.start_local),
        end: time::fmt_local(&slot.end_local),
        start_utc: slot.start_utc,
        end_utc: slot.end_utc,
        status,
        moved,
        sequence: row.sequence + 1,
        version: row.version + 1,
    })
}

/// After a series changed its time, rule or zone, the overrides it kept (their original starts
/// are still occurrences) get their wall-clock times restated in the series' zone: the original
/// start as the series names it now, and a moved occurrence's instants as they read there. The
/// instants stay; what a later re-derivation starts from is right.
pub(super) fn restate_overrides(
    conn: &mut DbConnection,
    id: &MeetingId,
    zone: Tz,
    kept: &[Override],
    originals: &[NaiveDateTime],
) -> Result<(), AppError> {
    // A session held in another zone keeps its wall-clock times there.
    let own_zones: std::collections::HashMap<NaiveDateTime, Tz> =
        overrides::of_meetings(conn, &[id.as_str()])?
            .into_iter()
            .filter_map(|o| {
                let zone = crate::domain::zone::TimeZone::parse(o.time_zone.as_deref()?).ok()?;
                Some((o.original_start_utc, zone.tz()))
            })
            .collect();
    for (o, original_local) in kept.iter().zip(originals) {
        let zone = own_zones
            .get(&o.original_start_utc.naive_utc())
            .copied()
            .unwrap_or(zone);
        let moved = o.moved.map(|(start, end)| {
            let (start_local, disambiguation) = time::wall_clock(start, zone);
            let (end_local, end_disambiguation) = time::wall_clock(end, zone);
            (
                start_local,
                end_local,
                disambiguation.or(end_disambiguation),
            )
        });
        let wall = WallClock {
            original_start_local: *original_local,
            start_local: moved.map(|m| m.0),
            end_local: moved.map(|m| m.1),
            disambiguation: moved.and_then(|m| m.2).map(Disambiguation::as_str),
        };
        overrides::set_wall_clock(conn, id, o.original_start_utc.naive_utc(), &wall)?;
    }
    Ok(())
}
