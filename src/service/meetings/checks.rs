//! The rules a booking or a change must pass that need the database: who hosts, who takes
//! part, the channel's and the forum's rules; and writing the participants.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::dto::Participant;
use crate::domain::access::Principal;
use crate::domain::edit::{ChangeSet, PlanError, SeriesError};
use crate::domain::meeting::{
    check_len, MAX_DESCRIPTION_CHARS, MAX_LOCATION_CHARS, MAX_PARTICIPANTS, MAX_TITLE_CHARS,
};
use crate::domain::stored::{ChannelId, DelegationId, ForumId, MeetingId};
use crate::error::{AppError, FieldError};
use crate::service::delegations::resolve_delegations;
use crate::service::{acting_for, channels, forums, length_errors, Context};
use crate::store::participants::{self, NewParticipant};
use crate::store::DbConnection;

pub fn check_texts(
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

pub fn series_error(error: SeriesError) -> AppError {
    AppError::InvalidRecurrence(error.to_string())
}

pub fn plan_error(error: PlanError) -> AppError {
    match error {
        PlanError::Slot(e) => super::load::slot_error(e),
        PlanError::Series(e) => series_error(e),
        PlanError::ForumWithoutForum => {
            AppError::invalid_fields(vec![FieldError::new("confidentiality", error.to_string())])
        }
    }
}

/// The channel and forum rules for a meeting hosted by `host` with the delegations `set`, for
/// what `changes` did: when it moves (booked, moved, series changed, or newly put on the
/// channel) the channel must be active; when it regroups (booked, participants changed, or
/// newly put on the channel or in the forum) the meeting must be bilateral between the
/// channel's parties and drawn from the forum's members. An edit that does neither checks
/// nothing, so a meeting stays editable after its forum loses a member.
pub fn check_channel_and_forum(
    conn: &mut DbConnection,
    host: &DelegationId,
    set: &[DelegationId],
    (channel_id, forum_id): (Option<&ChannelId>, Option<&ForumId>),
    changes: &ChangeSet,
) -> Result<(), AppError> {
    if let Some(forum_id) = forum_id.filter(|_| changes.regroups()) {
        forums::check_meeting(conn, forum_id, host, set)?;
    }
    if let Some(channel_id) = channel_id.filter(|_| changes.moves() || changes.regroups()) {
        channels::check_meeting(conn, channel_id, host, set, changes.moves())?;
    }
    Ok(())
}

/// The participant list with the host first, deduplicated; every delegation must exist.
pub fn participant_set(
    conn: &mut DbConnection,
    host: &DelegationId,
    given: &[String],
) -> Result<Vec<DelegationId>, AppError> {
    let too_many = || {
        AppError::invalid_fields(vec![FieldError::new(
            "participants",
            format!("at most {MAX_PARTICIPANTS} delegations"),
        )])
    };
    if given.len() > MAX_PARTICIPANTS {
        return Err(too_many());
    }
    let mut set = vec![host.clone()];
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

/// The caller's delegation, which hosts what it books.
pub fn host_of(ctx: &Context) -> Result<DelegationId, AppError> {
    acting_for(
        ctx,
        Principal::may_schedule_for,
        "only a delegation's admins and schedulers book meetings",
    )
}

/// The host's admins and schedulers change a meeting; others who can see it get 403.
pub fn authorize_host(ctx: &Context, host: &DelegationId) -> Result<(), AppError> {
    if ctx.principal.may_schedule_for(host) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only the host delegation's admins and schedulers change this meeting".into(),
        ))
    }
}

/// Writes the participants `set` with the meeting's span. Answers in `keep` stay; otherwise the
/// host has accepted and everyone else is pending.
pub fn write_participants(
    conn: &mut DbConnection,
    (meeting_id, host): (&MeetingId, &DelegationId),
    set: &[DelegationId],
    keep: &HashMap<DelegationId, Participant>,
    span: ((NaiveDateTime, NaiveDateTime), bool),
) -> Result<(), AppError> {
    let answers = super::consent::answers_after(set, host, keep);
    let rows: Vec<NewParticipant<'_>> = answers
        .iter()
        .map(|answer| {
            let kept = keep.get(&answer.delegation_id);
            NewParticipant {
                delegation_id: &answer.delegation_id,
                role: answer.role.as_str(),
                response: answer.response.as_str(),
                comment: kept.and_then(|k| k.comment.as_deref()),
                responded_at: kept.and_then(|k| k.responded_at).map(|t| t.naive_utc()),
            }
        })
        .collect();
    Ok(participants::replace(conn, meeting_id, &rows, span)?)
}
