//! Booking a meeting.

use std::collections::HashMap;

use super::checks::{
    check_channel_and_forum, check_texts, host_of, participant_set, series_error,
    write_participants,
};
use super::conflicts::{conflicts, refuse_if_rejected};
use super::consent;
use super::dto::{Created, NewMeeting, OnConflict};
use super::history::Details;
use super::load::{load_visible, parse_local, parse_zone, recurrence_error, slot_error};
use super::load::{participants_of_one, with_channels};
use crate::domain::agreement::{agreement, AgreementRule, AgreementRuleDto};
use crate::domain::edit::{check_forum_confidentiality, new_series, Change, ChangeSet};
use crate::domain::meeting::{Confidentiality, MeetingStatus, Slot};
use crate::domain::recurrence::Timeline;
use crate::domain::stored::MeetingId;
use crate::domain::time;
use crate::domain::zone::TZDB_VERSION;
use crate::error::{AppError, FieldError};
use crate::service::audit::{self, Entry};
use crate::service::availability::check_turn;
use crate::service::{idempotency, Context};
use crate::store::feed_stamps;
use crate::store::meetings::{self as rows, MeetingValues};
use crate::store::Store;

/// Books a meeting hosted by the caller's delegation.
pub async fn create(
    store: &Store,
    ctx: &Context,
    input: NewMeeting,
    on_conflict: OnConflict,
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
    check_forum_confidentiality(confidentiality, input.forum_id.as_ref())
        .map_err(super::checks::plan_error)?;
    let zone = parse_zone(&input.time_zone)?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(AppError::validation("start and end are required"));
    };
    let slot = Slot::new(zone.tz(), start, end, input.disambiguation).map_err(slot_error)?;
    let series = input
        .recurrence
        .as_deref()
        .map(|rule| new_series(rule, &slot))
        .transpose()
        .map_err(series_error)?;
    let timeline = Timeline {
        status,
        start_utc: slot.start_utc,
        end_utc: slot.end_utc,
        series,
        overrides: Vec::new(),
    };
    let span = timeline.span().map_err(recurrence_error)?;
    let values = MeetingValues {
        title: input.title.trim().to_owned(),
        description: input.description.clone(),
        location: input.location.clone(),
        time_zone: zone.name().to_owned(),
        start_local: slot.start_local,
        end_local: slot.end_local,
        disambiguation: slot.disambiguation.map(|d| d.as_str()),
        start_utc: slot.start_utc.naive_utc(),
        end_utc: slot.end_utc.naive_utc(),
        recurrence: timeline
            .series
            .as_ref()
            .map(|s| s.rule().as_str().to_owned()),
        span: (span.0.naive_utc(), span.1.naive_utc()),
        status: status.as_str(),
        confidentiality: confidentiality.as_str(),
        channel_id: input.channel_id.as_ref().map(|c| c.as_str().to_owned()),
        forum_id: input.forum_id.as_ref().map(|f| f.as_str().to_owned()),
        tzdb_version: TZDB_VERSION,
        agreement_rule: String::new(),
        confirmation_forced: false,
    };
    let rule = input
        .agreement_rule
        .map(AgreementRule::from)
        .unwrap_or_default();
    // A booking is all of these at once, for the channel's and the forum's rules.
    let booking = ChangeSet::of([Change::Time, Change::Participants]);
    let ctx = ctx.clone();
    store
        .write(move |conn| {
            idempotency::once(conn, idempotency.as_ref(), |conn| {
                let set = participant_set(conn, &host, &input.participants)?;
                if input.host_rotation == Some(true) {
                    check_turn(conn, &host, &set)?;
                }
                let rule = consent::check_rule(rule, set.len())?;
                let answers = consent::answers_after(&set, &host, &HashMap::new());
                let (status, forced) = consent::decide(
                    &ctx,
                    &host,
                    &agreement(rule, &answers),
                    consent::Asked {
                        status: input.status,
                        force: input.force.unwrap_or(false),
                    },
                    consent::Before {
                        status: MeetingStatus::Proposed,
                        forced: false,
                        answers_reset: false,
                    },
                )?;
                let values = MeetingValues {
                    status: status.as_str(),
                    agreement_rule: rule.as_stored(),
                    confirmation_forced: forced,
                    ..values.clone()
                };
                let references = (input.channel_id.as_ref(), input.forum_id.as_ref());
                check_channel_and_forum(conn, &host, &set, references, &booking)?;
                let found = conflicts(conn, &ctx, None, &set, &timeline)?;
                refuse_if_rejected(on_conflict, &found)?;
                let id = MeetingId::generate();
                rows::insert(conn, &id, &host, &values)?;
                let series = values.recurrence.is_some();
                let empty = HashMap::new();
                write_participants(conn, (&id, &host), &set, &empty, (values.span, series))?;
                feed_stamps::meeting_changed(conn, &id, Vec::new())?;
                let mut details = Details::default();
                let none = Option::<()>::None;
                details.change("title", none, &values.title);
                details.change("time_zone", none, zone.name());
                details.change("start", none, time::fmt_local(&slot.start_local));
                details.change("end", none, time::fmt_local(&slot.end_local));
                details.change("recurrence", none, &values.recurrence);
                details.change("location", none, &values.location);
                details.change("status", none, status);
                details.change("participants", none, &set);
                details.change("agreement_rule", none, AgreementRuleDto::from(rule));
                details.change("confirmation_forced", none, forced);
                audit::record_detailed(
                    conn,
                    &ctx.actor(),
                    Entry {
                        action: "meeting.create",
                        entity_type: "meeting",
                        entity_id: id.as_str(),
                        summary: format!(
                            "meeting '{}' booked for {} {} ({} delegations)",
                            values.title,
                            time::fmt_local(&slot.start_local),
                            zone.name(),
                            set.len()
                        ),
                        parties: set.clone(),
                    },
                    Some(&details.to_json()),
                )?;
                let row = load_visible(conn, &ctx, &id)?;
                let participants = participants_of_one(conn, &id)?;
                let mut meeting = row.into_view(participants, Some(found))?;
                with_channels(conn, &ctx, std::slice::from_mut(&mut meeting))?;
                Ok(meeting)
            })
        })
        .await
}
