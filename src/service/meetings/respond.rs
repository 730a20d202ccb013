//! Cancelling a meeting (its host) and answering it (its other participants).

use super::checks::authorize_host;
use super::consent;
use super::dto::{Meeting, NewResponse};
use super::history::Details;
use super::load::{audited, load_visible, participants_of_one, view, WithConflicts};
use crate::domain::agreement::{status_after, Agreement, AgreementState};
use crate::domain::meeting::{check_len, MeetingStatus, Response};
use crate::domain::stored::{DelegationId, MeetingId};
use crate::error::{AppError, FieldError};
use crate::service::{check_version, stale, write_row, Context};
use crate::store::meetings::{self as rows, MeetingRow, Versioned};
use crate::store::{now, occurrence_answers, participants, DbConnection, Locked, Store};

/// The longest comment of an answer.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// The longest reason given for a cancellation.
pub const MAX_REASON_CHARS: usize = 2_000;

/// Cancels: the meeting stays, with status `cancelled` and a raised `sequence`, and is
/// exported as cancelled; the reason, if given, is kept in its history. Cancelling a
/// cancelled meeting changes nothing.
pub async fn cancel(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    expected_version: Option<i64>,
    reason: Option<String>,
) -> Result<Meeting, AppError> {
    let reason = reason.filter(|r| !r.trim().is_empty());
    if let Some(reason) = &reason {
        check_len("reason", reason, MAX_REASON_CHARS, true)
            .map_err(|(f, m)| AppError::invalid_fields(vec![FieldError::new(f, m)]))?;
    }
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
        let mut details = Details {
            reason: reason.clone(),
            ..Details::default()
        };
        details.change("status", row.status()?, MeetingStatus::Cancelled);
        audited(conn, &ctx, &id, ("meeting.cancel", summary), &details)
    })
    .await
}

/// An answer is accepted, declined or tentative, with a comment of a bounded length.
pub(super) fn check_answer(answer: &NewResponse) -> Result<(), AppError> {
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
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// What an answer records in the history: its comment (internal or not).
pub(super) fn answer_details(answer: &NewResponse) -> Details {
    Details {
        comment: answer.comment.clone().filter(|c| !c.trim().is_empty()),
        internal: answer.internal.unwrap_or(false),
        ..Details::default()
    }
}

/// The delegation the caller answers for: a participant of the meeting, whose admins and
/// schedulers answer (asked first: a stale If-Match tells nothing to one who may not).
pub(super) fn answering(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &MeetingId,
) -> Result<DelegationId, AppError> {
    match &ctx.principal.delegation_id {
        Some(d) if participants::takes_part(conn, id, d)? && ctx.principal.may_schedule_for(d) => {
            Ok(d.clone())
        }
        _ => Err(AppError::Forbidden(
            "only a participant delegation's admins and schedulers answer".into(),
        )),
    }
}

/// What the answers now make of a meeting's status.
pub(super) struct Followed {
    pub was: MeetingStatus,
    pub status: MeetingStatus,
    pub agreement: Agreement,
    /// False when the row was no longer at the version read (a concurrent change).
    pub written: bool,
}

/// After an answer changed, the status follows consent — agreed → confirmed, agreement lost
/// → proposed (unless the host's admin forced it) — and the version rises (from `row`'s).
pub(super) fn follow_consent(
    conn: &mut DbConnection,
    row: &MeetingRow,
) -> Result<Followed, AppError> {
    let id = row.meeting_id();
    let agreement = consent::agreement_of(row, &participants_of_one(conn, &id)?)?;
    let was = row.status()?;
    let agreed = agreement.state == AgreementState::Agreed;
    let status = status_after(was, agreed, row.confirmation_forced);
    let versioned = Versioned {
        id: &id,
        version: row.version,
    };
    let written = if status == was {
        rows::touch(conn, versioned)?
    } else {
        rows::set_status(conn, versioned, status.as_str(), row.sequence + 1)?
    };
    Ok(Followed {
        was,
        status,
        agreement,
        written: written == 1,
    })
}

/// A participant delegation answers (its admins and schedulers).
pub async fn respond(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    expected_version: Option<i64>,
    answer: NewResponse,
) -> Result<Meeting, AppError> {
    check_answer(&answer)?;
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let row = load_visible(conn, &ctx, &id)?;
        let delegation = &answering(conn, &ctx, &id)?;
        check_version(expected_version, row.version)?;
        if row.status()? == MeetingStatus::Cancelled {
            return Err(AppError::Conflict("the meeting is cancelled".into()));
        }
        let before = participants_of_one(conn, &id)?
            .into_iter()
            .find(|p| &p.delegation_id == delegation)
            .map(|p| p.response);
        let response = answer.response.as_str();
        let internal = answer.internal.unwrap_or(false);
        // An internal comment goes to the history only, for the delegation's own users.
        let shown = answer.comment.as_deref().filter(|_| !internal);
        participants::set_response(conn, &id, delegation, response, shown, now())?;
        // An answer to the series is an answer to every session of it, as it now stands.
        occurrence_answers::delete_of_delegation(conn, &id, delegation)?;
        let Followed {
            was,
            status,
            agreement,
            written,
        } = follow_consent(conn, &row)?;
        if !written {
            return Err(stale(expected_version, row.version));
        }
        let mut summary = format!("{} to '{}'", answer.response.as_str(), row.title);
        if status != was {
            summary.push_str(&format!(
                "; agreement {}: now {}",
                agreement.state.as_str(),
                status.as_str()
            ));
        }
        let mut details = answer_details(&answer);
        details.change("response", before, answer.response);
        if status != was {
            details.change("status", was, status);
        }
        audited(conn, &ctx, &id, ("meeting.respond", summary), &details)
    })
    .await
}
