//! Cancelling a meeting (its host) and answering it (its other participants).

use super::checks::authorize_host;
use super::dto::{Meeting, NewResponse};
use super::load::{audited, load_visible, view, WithConflicts};
use crate::domain::meeting::{check_len, MeetingStatus, Response};
use crate::domain::stored::MeetingId;
use crate::error::{AppError, FieldError};
use crate::service::{check_version, stale, write_row, Context};
use crate::store::meetings::{self as rows, Versioned};
use crate::store::{now, participants, Locked, Store};

/// The longest comment of an answer.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// Cancels: the meeting stays, with status `cancelled` and a raised `sequence`, and is
/// exported as cancelled. Cancelling a cancelled meeting changes nothing.
pub async fn cancel(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    expected_version: Option<i64>,
) -> Result<Meeting, AppError> {
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let row = load_visible(conn, &ctx, &id)?;
        authorize_host(&ctx, &row.host())?;
        check_version(expected_version, row.version)?;
        if row.status()? == MeetingStatus::Cancelled {
            return view(conn, &ctx, row, WithConflicts::No);
        }
        let versioned = Versioned {
            id: &id,
            version: row.version,
        };
        let cancelled = MeetingStatus::Cancelled.as_str();
        if rows::set_status(conn, versioned, cancelled, row.sequence + 1)? == 0 {
            return Err(stale(expected_version, row.version));
        }
        let summary = format!("meeting '{}' cancelled", row.title);
        audited(conn, &ctx, &id, "meeting.cancel", summary)
    })
    .await
}

/// A participant delegation answers (its admins and schedulers).
pub async fn respond(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    expected_version: Option<i64>,
    answer: NewResponse,
) -> Result<Meeting, AppError> {
    let mut errors = Vec::new();
    if answer.response == Response::Pending {
        errors.push(FieldError::new(
            "response",
            "answer accepted, declined or tentative",
        ));
    }
    if let Some(comment) = &answer.comment {
        if let Err((f, m)) = check_len("comment", comment, MAX_COMMENT_CHARS, true) {
            errors.push(FieldError::new(f, m));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let row = load_visible(conn, &ctx, &id)?;
        let delegation = ctx.principal.delegation_id.clone();
        let answering = match &delegation {
            Some(d) if participants::takes_part(conn, &id, d)? => Some(d),
            _ => None,
        };
        // Who may answer first: a stale If-Match tells nothing to one who may not.
        let Some(delegation) = answering.filter(|d| ctx.principal.may_schedule_for(d)) else {
            return Err(AppError::Forbidden(
                "only a participant delegation's admins and schedulers answer".into(),
            ));
        };
        check_version(expected_version, row.version)?;
        if row.status()? == MeetingStatus::Cancelled {
            return Err(AppError::Conflict("the meeting is cancelled".into()));
        }
        let versioned = Versioned {
            id: &id,
            version: row.version,
        };
        if rows::touch(conn, versioned)? == 0 {
            return Err(stale(expected_version, row.version));
        }
        let response = answer.response.as_str();
        let comment = answer.comment.as_deref();
        participants::set_response(conn, &id, delegation, response, comment, now())?;
        let summary = format!("{} to '{}'", answer.response.as_str(), row.title);
        audited(conn, &ctx, &id, "meeting.respond", summary)
    })
    .await
}
