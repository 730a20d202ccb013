//! `/schedule`: every occurrence the caller may see in a window, in a zone of their choice.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::consent::Consent;
use super::dto::{Occurrence, OccurrenceParty, Schedule};
use super::load::{override_of, parse_zone, participant, recurrence_error, timeline_of};
use crate::domain::channel::ChannelStatus;
use crate::domain::meeting::{Format, MeetingStatus};
use crate::domain::time;
use crate::domain::zone::TimeZone;
use crate::error::AppError;
use crate::service::Context;
use crate::store::meetings::{self as rows, Cancelled, Listed};
use crate::store::windows::Window;
use crate::store::{delegations, stored, Store};

/// The longest `/schedule` window.
pub const MAX_SCHEDULE_DAYS: i64 = 366;

/// Every occurrence the caller may see in `[from, to)`, by start, with wall-clock times in `tz`.
pub async fn schedule(
    store: &Store,
    ctx: &Context,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    tz: Option<String>,
    cancelled: Cancelled,
) -> Result<Schedule, AppError> {
    crate::service::check_window((from, to), MAX_SCHEDULE_DAYS)?;
    let explicit = tz
        .as_deref()
        .map(|z| TimeZone::parse(z).map_err(|e| AppError::UnknownTimeZone(format!("tz: {e}"))))
        .transpose()?;
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            let viewer = ctx.principal.delegation_id.as_ref();
            let zone = match (explicit, viewer) {
                (Some(z), _) => z,
                // Read with the caller's account; looked up only for a context without it.
                (None, Some(d)) => match &ctx.principal.delegation_time_zone {
                    Some(zone) => parse_zone(zone)?,
                    None => parse_zone(&delegations::time_zone_of(conn, d)?)?,
                },
                (None, None) => parse_zone("UTC")?,
            };
            let window = Window {
                from: from.naive_utc(),
                to: Some(to.naive_utc()),
            };
            let listed = rows::visible_in_window(conn, viewer, window, cancelled)?;
            let mut occurrences = Vec::with_capacity(listed.len());
            for Listed {
                row,
                participants,
                overrides,
                occurrence_answers,
                channel_status,
            } in listed
            {
                // Sessions held elsewhere: their own venue and zone.
                let venues: HashMap<NaiveDateTime, (Option<String>, Option<String>)> = overrides
                    .iter()
                    .filter(|o| o.location.is_some() || o.time_zone.is_some())
                    .map(|o| {
                        let venue = (o.location.clone(), o.time_zone.clone());
                        (o.original_start_utc, venue)
                    })
                    .collect();
                let overrides = overrides
                    .into_iter()
                    .map(override_of)
                    .collect::<Result<Vec<_>, _>>()?;
                let timeline = timeline_of(&row, overrides)?;
                let format = Format::of(participants.len());
                let codes: HashMap<String, String> = participants
                    .iter()
                    .map(|p| (p.row.delegation_id.clone(), p.code.clone()))
                    .collect();
                let participants = participants
                    .into_iter()
                    .map(|p| participant(p.row))
                    .collect::<Result<Vec<_>, _>>()?;
                // A channel is its two parties' business.
                let takes_part =
                    viewer.is_some_and(|d| participants.iter().any(|p| p.delegation_id == *d));
                let channel_status = channel_status
                    .filter(|_| takes_part)
                    .map(|s| stored::<ChannelStatus>(&s))
                    .transpose()?;
                let consent = Consent::of(&row, &participants, occurrence_answers)?;
                for o in timeline.between(from, to).map_err(recurrence_error)? {
                    let (status, agreement) = consent.of_occurrence(&o)?;
                    let venue = o
                        .recurrence_id
                        .and_then(|original| venues.get(&original.naive_utc()));
                    if status == MeetingStatus::Cancelled && cancelled == Cancelled::Excluded {
                        continue;
                    }
                    occurrences.push(Occurrence {
                        format,
                        meeting_id: row.meeting_id(),
                        title: row.title.clone(),
                        status,
                        agreement,
                        start_utc: o.start_utc,
                        end_utc: o.end_utc,
                        start_local: time::fmt_local(&time::to_local(o.start_utc, zone.tz())),
                        end_local: time::fmt_local(&time::to_local(o.end_utc, zone.tz())),
                        time_zone: venue
                            .and_then(|v| v.1.clone())
                            .unwrap_or_else(|| row.time_zone.clone()),
                        location: venue
                            .and_then(|v| v.0.clone())
                            .or_else(|| row.location.clone()),
                        host_delegation_id: row.host(),
                        participants: consent
                            .answers_to_occurrence(&o)
                            .into_iter()
                            .map(|a| OccurrenceParty {
                                code: codes
                                    .get(a.delegation_id.as_str())
                                    .cloned()
                                    .unwrap_or_default(),
                                delegation_id: a.delegation_id,
                                response: a.response,
                            })
                            .collect(),
                        channel_status,
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
