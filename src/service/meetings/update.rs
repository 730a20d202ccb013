//! Changing a meeting: the edit is planned purely (`domain::edit::plan_update`), then persisted
//! in one step.

use std::collections::HashMap;

use super::checks::{
    authorize_host, check_channel_and_forum, check_texts, participant_set, plan_error,
    write_participants,
};
use super::conflicts::{conflicts, refuse_if_rejected};
use super::consent;
use super::dto::{Meeting, MeetingPatch, OnConflict, Participant};
use super::history::Details;
use super::load::{
    load_visible, overrides_of_one, parse_local, parse_zone, participants_of_one, recurrence_error,
    with_channels,
};
use super::occurrences::restate_overrides;
use crate::domain::agreement::{agreement, AgreementRule, AgreementRuleDto};
use crate::domain::edit::{plan_update, Change, Current, Edit, UpdatePlan};
use crate::domain::meeting::{MeetingStatus, ParticipantRole};
use crate::domain::stored::{DelegationId, MeetingId};
use crate::domain::time;
use crate::domain::zone::TZDB_VERSION;
use crate::error::{AppError, FieldError};
use crate::service::audit::{self, Entry};
use crate::service::{check_version, stale, write_row, Context};
use crate::store::feed_stamps;
use crate::store::meetings::{self as rows, MeetingRow, MeetingValues, Versioned};
use crate::store::{occurrence_answers, overrides, stored, DbConnection, Locked, Store};

/// Applies a change; raises `sequence` when time, place, status or participants change.
/// A change of time, place or participants puts every other delegation's answer back to
/// `pending`, and the status follows consent (`consent::decide`).
pub async fn update(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    expected_version: Option<i64>,
    patch: MeetingPatch,
    on_conflict: OnConflict,
) -> Result<Meeting, AppError> {
    let parsed = parse_patch(&patch)?;
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        apply(
            conn,
            &ctx,
            (&id, expected_version),
            (&patch, &parsed),
            on_conflict,
        )
    })
    .await
}

/// The times and zone of a patch, checked before anything is read.
pub(super) struct ParsedPatch {
    start: Option<chrono::NaiveDateTime>,
    end: Option<chrono::NaiveDateTime>,
    zone: Option<crate::domain::zone::TimeZone>,
}

/// Checks a patch's texts, times and zone (422 naming the fields).
pub(super) fn parse_patch(patch: &MeetingPatch) -> Result<ParsedPatch, AppError> {
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
    Ok(ParsedPatch { start, end, zone })
}

/// Applies a checked patch in the caller's transaction (a PATCH, or an accepted proposal).
pub(super) fn apply(
    conn: &mut DbConnection,
    ctx: &Context,
    (id, expected_version): (&MeetingId, Option<i64>),
    (patch, parsed): (&MeetingPatch, &ParsedPatch),
    on_conflict: OnConflict,
) -> Result<Meeting, AppError> {
    let (id, start, end, zone) = (id.clone(), parsed.start, parsed.end, parsed.zone);
    let row = load_visible(conn, ctx, &id)?;
    let host = row.host();
    authorize_host(ctx, &host)?;
    check_version(expected_version, row.version)?;
    if row.status()? == MeetingStatus::Cancelled {
        return Err(AppError::Conflict(
            "the meeting is cancelled: book a new one".into(),
        ));
    }
    let before = participants_of_one(conn, &id)?;
    let current = current(conn, &row, &before)?;
    let edit = Edit {
        zone,
        start,
        end,
        disambiguation: patch.disambiguation,
        recurrence: patch.recurrence.clone(),
        title: patch.title.clone(),
        description: patch.description.clone(),
        location: patch.location.clone(),
        status: patch.status,
        confidentiality: patch.confidentiality,
        participants: patch
            .participants
            .as_deref()
            .map(|given| participant_set(conn, &host, given))
            .transpose()?,
        channel_id: patch.channel_id.clone(),
        forum_id: patch.forum_id.clone(),
    };
    let plan = plan_update(&current, edit).map_err(plan_error)?;
    // Consent: what the others agreed to changed → their answers are asked again.
    let resets = plan.changes.resets_answers();
    let keep: HashMap<DelegationId, Participant> = before
        .iter()
        .filter(|p| !resets || p.role == ParticipantRole::Host)
        .map(|p| (p.delegation_id.clone(), p.clone()))
        .collect();
    let rule = match patch.agreement_rule {
        Some(rule) => rule.into(),
        None => consent::rule_of(&row)?,
    };
    let rule = consent::check_rule(rule, plan.participants.len())?;
    let answers = consent::answers_after(&plan.participants, &host, &keep);
    let (status, forced) = consent::decide(
        ctx,
        &host,
        &agreement(rule, &answers),
        consent::Asked {
            status: patch.status,
            force: patch.force.unwrap_or(false),
        },
        consent::Before {
            status: current.status,
            forced: row.confirmation_forced,
            answers_reset: resets,
        },
    )?;
    let references = (plan.channel_id.as_ref(), plan.forum_id.as_ref());
    check_channel_and_forum(conn, &host, &plan.participants, references, &plan.changes)?;
    let found = if plan.changes.time() || plan.changes.contains(Change::Participants) {
        let found = conflicts(conn, ctx, Some(&id), &plan.participants, &plan.timeline)?;
        refuse_if_rejected(on_conflict, &found)?;
        Some(found)
    } else {
        None
    };
    // What the meeting's feeds were (a delegation removed, a meeting no longer public)
    // moves with what they are now.
    let stamped = feed_stamps::of_meeting(conn, &id)?;
    let consented = Consented {
        status,
        forced,
        rule,
        keep,
    };
    persist(conn, (&row, expected_version), &plan, &consented)?;
    feed_stamps::meeting_changed(conn, &id, stamped)?;
    let current_view = Before {
        current: &current,
        rule: consent::rule_of(&row)?,
        forced: row.confirmation_forced,
    };
    let mut parties: Vec<DelegationId> = plan.participants.clone();
    parties.extend(current.participants.iter().cloned());
    let mut changed = plan.changes.labels();
    if status != current.status && !plan.changes.contains(Change::Status) {
        changed.push("status (consent)");
    }
    if forced && !row.confirmation_forced {
        changed.push("confirmed without agreement (force)");
    }
    if resets && before.iter().any(|p| p.role != ParticipantRole::Host) {
        changed.push("answers asked again");
    }
    if !plan.orphaned.is_empty() {
        changed.push("overrides removed");
    }
    let details = update_details(&current_view, &plan, (status, forced, rule));
    audit::record_detailed(
        conn,
        &ctx.actor(),
        Entry {
            action: "meeting.update",
            entity_type: "meeting",
            entity_id: id.as_str(),
            summary: if changed.is_empty() {
                format!("meeting '{}' saved unchanged", plan.title)
            } else {
                format!("meeting '{}': {} changed", plan.title, changed.join(", "))
            },
            parties,
        },
        Some(&details.to_json()),
    )?;
    let row = load_visible(conn, ctx, &id)?;
    let found = match found {
        Some(found) => found,
        None => conflicts(conn, ctx, Some(&id), &plan.participants, &plan.timeline)?,
    };
    let mut meeting = row.into_view(participants_of_one(conn, &id)?, Some(found))?;
    with_channels(conn, ctx, std::slice::from_mut(&mut meeting))?;
    if !plan.orphaned.is_empty() {
        let orphaned = plan.orphaned.iter().map(time::fmt_instant).collect();
        meeting.orphaned_occurrences = Some(orphaned);
    }
    Ok(meeting)
}

/// The meeting before a change, as its history records it.
struct Before<'a> {
    current: &'a Current,
    rule: AgreementRule,
    forced: bool,
}

/// What a change changed, field by field (the meeting's history).
fn update_details(
    before: &Before<'_>,
    plan: &UpdatePlan,
    (status, forced, rule): (MeetingStatus, bool, AgreementRule),
) -> Details {
    let c = before.current;
    let mut d = Details::default();
    d.change("title", &c.title, &plan.title);
    d.change("description", &c.description, &plan.description);
    d.change("time_zone", c.zone.name(), plan.zone.name());
    d.change(
        "start",
        time::fmt_local(&c.start_local),
        time::fmt_local(&plan.slot.start_local),
    );
    d.change(
        "end",
        time::fmt_local(&c.end_local),
        time::fmt_local(&plan.slot.end_local),
    );
    let rule_now = plan.timeline.series.as_ref().map(|s| s.rule().as_str());
    d.change("recurrence", c.recurrence.as_deref(), rule_now);
    d.change("location", &c.location, &plan.location);
    d.change("status", c.status, status);
    d.change("confidentiality", c.confidentiality, plan.confidentiality);
    d.change("participants", &c.participants, &plan.participants);
    d.change("channel_id", &c.channel_id, &plan.channel_id);
    d.change("forum_id", &c.forum_id, &plan.forum_id);
    d.change(
        "agreement_rule",
        AgreementRuleDto::from(before.rule),
        AgreementRuleDto::from(rule),
    );
    d.change("confirmation_forced", before.forced, forced);
    d
}

/// The stored meeting in domain terms.
fn current(
    conn: &mut DbConnection,
    row: &MeetingRow,
    participants: &[Participant],
) -> Result<Current, AppError> {
    Ok(Current {
        zone: row.zone()?,
        start_local: row.start_local,
        end_local: row.end_local,
        disambiguation: row.disambiguation()?,
        start_utc: row.start_utc.and_utc(),
        end_utc: row.end_utc.and_utc(),
        recurrence: row.recurrence.clone(),
        title: row.title.clone(),
        description: row.description.clone(),
        location: row.location.clone(),
        status: row.status()?,
        confidentiality: stored(&row.confidentiality)?,
        channel_id: row.channel(),
        forum_id: row.forum(),
        participants: participants
            .iter()
            .map(|p| p.delegation_id.clone())
            .collect(),
        overrides: overrides_of_one(conn, &row.meeting_id())?,
    })
}

/// What the change decided about consent.
struct Consented {
    status: MeetingStatus,
    forced: bool,
    rule: AgreementRule,
    /// The answers that stand (the host's always; the others' unless asked again).
    keep: HashMap<DelegationId, Participant>,
}

/// Writes the plan: the row (if still at the version read), the participants (answers kept
/// unless asked again), the overrides that are gone, and the wall clocks of those kept.
fn persist(
    conn: &mut DbConnection,
    (row, expected_version): (&MeetingRow, Option<i64>),
    plan: &UpdatePlan,
    consented: &Consented,
) -> Result<(), AppError> {
    let id = row.meeting_id();
    let span = plan.timeline.span().map_err(recurrence_error)?;
    let span = (span.0.naive_utc(), span.1.naive_utc());
    let values = MeetingValues {
        title: plan.title.clone(),
        description: plan.description.clone(),
        location: plan.location.clone(),
        time_zone: plan.zone.name().to_owned(),
        start_local: plan.slot.start_local,
        end_local: plan.slot.end_local,
        disambiguation: plan.slot.disambiguation.map(|d| d.as_str()),
        start_utc: plan.slot.start_utc.naive_utc(),
        end_utc: plan.slot.end_utc.naive_utc(),
        recurrence: plan
            .timeline
            .series
            .as_ref()
            .map(|s| s.rule().as_str().to_owned()),
        span,
        status: consented.status.as_str(),
        confidentiality: plan.confidentiality.as_str(),
        channel_id: plan.channel_id.as_ref().map(|c| c.as_str().to_owned()),
        forum_id: plan.forum_id.as_ref().map(|f| f.as_str().to_owned()),
        tzdb_version: TZDB_VERSION,
        agreement_rule: consented.rule.as_stored(),
        confirmation_forced: consented.forced,
    };
    let status_moved = consented.status.as_str() != row.status;
    let sequence = row.sequence + i64::from(plan.changes.raises_sequence() || status_moved);
    let versioned = Versioned {
        id: &id,
        version: row.version,
    };
    if rows::update(conn, versioned, sequence, &values)? == 0 {
        return Err(stale(expected_version, row.version));
    }
    let series = plan.timeline.series.is_some();
    let host = row.host();
    write_participants(
        conn,
        (&id, &host),
        &plan.participants,
        &consented.keep,
        (span, series),
    )?;
    for original in &plan.orphaned {
        overrides::delete(conn, &id, original.naive_utc())?;
    }
    // Answers to single sessions go with the answers to the series they override.
    if plan.changes.resets_answers() {
        occurrence_answers::delete_of_meeting(conn, &id)?;
    }
    if plan.changes.time() {
        let (kept, originals) = (&plan.timeline.overrides, &plan.kept_originals);
        restate_overrides(conn, &id, plan.zone.tz(), kept, originals)?;
    }
    Ok(())
}
