//! Counter-proposals (issue 17): sovereign equality means a guest need not take the host's time
//! or venue. A participant delegation other than the host proposes another time, zone or venue
//! for the meeting or one session of it; the host accepts it (the change is made, the other
//! parties are asked again, and the proposer's answer becomes `accepted`) or rejects it with a
//! reason; the proposer may withdraw it. Proposals are for the meeting's participants only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::checks::{authorize_host, check_texts};
use super::dto::{MeetingPatch, OnConflict};
use super::history::Details;
use super::load::{load_visible, parse_local, parse_zone, record_change};
use super::occurrences::{apply_occurrence, parse_change, OccurrenceChange};
use super::respond::{answering, follow_consent};
use super::sessions::{occurrence, SessionKey};
use super::update::{apply, parse_patch};
use crate::domain::meeting::{check_len, MeetingStatus, Response};
use crate::domain::stored::{string_enum, DelegationId, MeetingId};
use crate::domain::time;
use crate::error::{AppError, FieldError};
use crate::service::idempotency::{self, Created};
use crate::service::{write_row, Context, Page, PageRequest};
use crate::store::meetings::MeetingRow;
use crate::store::occurrence_answers::{self, OccurrenceAnswerRow};
use crate::store::proposals::{self as rows, ProposalRow};
use crate::store::{new_id, now, participants, stored, DbConnection, Locked, Store};

/// The longest comment or reason of a proposal.
pub const MAX_PROPOSAL_TEXT_CHARS: usize = 2_000;

string_enum!(
    /// `open` until the host accepts or rejects it, or its proposer withdraws it.
    ProposalStatus {
        Open => "open",
        Accepted => "accepted",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
    }
);

/// Another time, zone or venue for the meeting, or for one session of it (`recurrence_id`).
#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProposal {
    /// The session's original start (RFC 3339 UTC); absent: the meeting (the whole series).
    pub recurrence_id: Option<String>,
    /// Wall-clock in `time_zone` (or the meeting's or session's zone).
    pub start: Option<String>,
    pub end: Option<String>,
    pub time_zone: Option<String>,
    pub location: Option<String>,
    /// Why (1 to 2,000 characters).
    pub comment: String,
}

/// A proposal as the meeting's participants see it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Proposal {
    pub id: String,
    #[schema(value_type = String)]
    pub meeting_id: MeetingId,
    #[schema(value_type = String)]
    pub proposer_delegation_id: DelegationId,
    pub proposer_user_id: String,
    pub recurrence_id: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub time_zone: Option<String>,
    pub location: Option<String>,
    pub comment: String,
    pub status: ProposalStatus,
    /// Why it was rejected or withdrawn.
    pub reason: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<DateTime<Utc>>,
}

/// A rejection's or withdrawal's reason.
#[derive(Deserialize, Debug, Clone, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalDecision {
    pub reason: Option<String>,
}

fn view(row: ProposalRow) -> Result<Proposal, AppError> {
    Ok(Proposal {
        status: stored(&row.status)?,
        id: row.id,
        meeting_id: MeetingId::from(row.meeting_id),
        proposer_delegation_id: DelegationId::from(row.proposer_delegation_id),
        proposer_user_id: row.proposer_user_id,
        recurrence_id: row.recurrence_id.map(|t| time::fmt_instant(&t.and_utc())),
        start: row.start_local.as_ref().map(time::fmt_local),
        end: row.end_local.as_ref().map(time::fmt_local),
        time_zone: row.time_zone,
        location: row.location,
        comment: row.comment,
        reason: row.reason,
        created_at: row.created_at.and_utc(),
        decided_at: row.decided_at.map(|t| t.and_utc()),
    })
}

fn text(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if let Err((f, m)) = check_len(field, value, MAX_PROPOSAL_TEXT_CHARS, false) {
        errors.push(FieldError::new(f, m));
    }
}

/// Records a proposal event in the meeting's history (proposals change no feed).
fn record(
    conn: &mut DbConnection,
    ctx: &Context,
    proposal: &ProposalRow,
    (action, summary): (&str, String),
) -> Result<(), AppError> {
    let id = MeetingId::from(proposal.meeting_id.clone());
    let mut details = Details {
        comment: Some(proposal.comment.clone()),
        reason: proposal.reason.clone(),
        recurrence_id: proposal
            .recurrence_id
            .map(|t| time::fmt_instant(&t.and_utc())),
        ..Details::default()
    };
    let none = Option::<()>::None;
    details.change(
        "start",
        none,
        proposal.start_local.as_ref().map(time::fmt_local),
    );
    details.change(
        "end",
        none,
        proposal.end_local.as_ref().map(time::fmt_local),
    );
    details.change("time_zone", none, &proposal.time_zone);
    details.change("location", none, &proposal.location);
    details.change("proposal", none, &proposal.id);
    record_change(conn, ctx, &id, (action, summary), &details)
}

/// A participant delegation other than the host proposes (its admins and schedulers).
pub async fn propose(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    input: NewProposal,
    idempotency: Option<idempotency::Key>,
) -> Result<Created<Proposal>, AppError> {
    let mut errors = Vec::new();
    text("comment", &input.comment, &mut errors);
    let start = input
        .start
        .as_deref()
        .and_then(|s| parse_local("start", s, &mut errors));
    let end = input
        .end
        .as_deref()
        .and_then(|s| parse_local("end", s, &mut errors));
    check_texts(None, None, input.location.as_deref(), &mut errors);
    let recurrence_id = match input.recurrence_id.as_deref().map(time::parse_instant) {
        Some(Ok(at)) => Some(at),
        Some(Err(_)) => {
            errors.push(FieldError::new("recurrence_id", "an RFC 3339 UTC instant"));
            None
        }
        None => None,
    };
    if input.start.is_none()
        && input.end.is_none()
        && input.time_zone.is_none()
        && input.location.is_none()
    {
        errors.push(FieldError::new(
            "start",
            "propose a start, an end, a time zone or a location",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let zone = input.time_zone.as_deref().map(parse_zone).transpose()?;
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        idempotency::once(conn, idempotency.as_ref(), |conn| {
            proposal_of(conn, &ctx, &id, &input, (start, end, zone, recurrence_id))
        })
    })
    .await
}

/// Records a checked proposal (in the caller's transaction).
fn proposal_of(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &MeetingId,
    input: &NewProposal,
    (start, end, zone, recurrence_id): Proposed,
) -> Result<Proposal, AppError> {
    let row = load_visible(conn, ctx, id)?;
    let proposer = answering(conn, ctx, id)?;
    if proposer == row.host() {
        return Err(AppError::Forbidden(
            "the host changes its meeting itself: proposals are the other parties'".into(),
        ));
    }
    if row.status()? == MeetingStatus::Cancelled {
        return Err(AppError::Conflict("the meeting is cancelled".into()));
    }
    if let Some(at) = recurrence_id {
        if row.recurrence.is_none() {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "recurrence_id",
                "a single meeting has no sessions",
            )]));
        }
        occurrence(conn, &row, at)?;
    }
    let proposal = ProposalRow {
        id: new_id(),
        meeting_id: id.as_str().to_owned(),
        proposer_delegation_id: proposer.as_str().to_owned(),
        proposer_user_id: ctx.principal.user_id.as_str().to_owned(),
        recurrence_id: recurrence_id.map(|t| t.naive_utc()),
        start_local: start,
        end_local: end,
        time_zone: zone.map(|z| z.name().to_owned()),
        location: input.location.clone(),
        comment: input.comment.trim().to_owned(),
        status: ProposalStatus::Open.as_str().to_owned(),
        reason: None,
        created_at: now(),
        decided_at: None,
    };
    rows::insert(conn, &proposal)?;
    let summary = format!("a change of '{}' proposed", row.title);
    record(conn, ctx, &proposal, ("meeting.propose", summary))?;
    view(proposal)
}

/// A proposal's checked times, zone and session.
type Proposed = (
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
    Option<crate::domain::zone::TimeZone>,
    Option<DateTime<Utc>>,
);

/// The meeting's proposals, oldest first, for the users of its participant delegations.
pub async fn list_proposals(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    page: PageRequest,
) -> Result<Page<Proposal>, AppError> {
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            load_visible(conn, &ctx, &id)?;
            match &ctx.principal.delegation_id {
                Some(d) if participants::takes_part(conn, &id, d)? => {}
                _ => return Err(AppError::not_found("meeting")),
            }
            let found = rows::of_meeting(conn, id.as_str(), page.after.as_deref(), page.fetch())?;
            let items = found.into_iter().map(view).collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(items, &page, |p: &Proposal| p.id.clone()))
        })
        .await
}

/// The meeting and an open proposal of it, when the caller's delegation takes part (404
/// otherwise; 409 once the proposal is decided).
fn open_proposal(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &MeetingId,
    proposal_id: &str,
) -> Result<(MeetingRow, ProposalRow), AppError> {
    let row = load_visible(conn, ctx, id)?;
    match &ctx.principal.delegation_id {
        Some(d) if participants::takes_part(conn, id, d)? => {}
        _ => return Err(AppError::not_found("proposal")),
    }
    let found = rows::find(conn, id.as_str(), proposal_id)?
        .ok_or_else(|| AppError::not_found("proposal"))?;
    if found.status != ProposalStatus::Open.as_str() {
        return Err(AppError::Conflict(format!(
            "the proposal is {} already",
            found.status
        )));
    }
    Ok((row, found))
}

/// The host accepts: the proposed change is made (as a change by the host), the other parties
/// are asked again, and the proposer's answer becomes `accepted`.
pub async fn accept(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    proposal_id: String,
) -> Result<Proposal, AppError> {
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let (row, proposal) = open_proposal(conn, &ctx, &id, &proposal_id)?;
        authorize_host(&ctx, &row.host())?;
        let proposer = DelegationId::from(proposal.proposer_delegation_id.clone());
        let start = proposal.start_local.as_ref().map(time::fmt_local);
        let end = proposal.end_local.as_ref().map(time::fmt_local);
        match proposal.recurrence_id {
            None => {
                let patch = MeetingPatch {
                    start,
                    end,
                    time_zone: proposal.time_zone.clone(),
                    location: proposal.location.clone().map(Some),
                    ..MeetingPatch::default()
                };
                let parsed = parse_patch(&patch)?;
                apply(
                    conn,
                    &ctx,
                    (&id, None),
                    (&patch, &parsed),
                    OnConflict::Report,
                )?;
                participants::set_response(
                    conn,
                    &id,
                    &proposer,
                    Response::Accepted.as_str(),
                    None,
                    now(),
                )?;
                let row = load_visible(conn, &ctx, &id)?;
                follow_consent(conn, &row)?;
            }
            Some(original) => {
                let change = OccurrenceChange {
                    start,
                    end,
                    time_zone: proposal.time_zone.clone().map(Some),
                    location: proposal.location.clone().map(Some),
                    ..OccurrenceChange::default()
                };
                let parsed = parse_change(&change)?;
                let key = SessionKey::Original(original.and_utc());
                let original_local = occurrence(conn, &row, original.and_utc())?.start_local;
                apply_occurrence(conn, &ctx, (&id, key, None), (&change, &parsed))?;
                occurrence_answers::put(
                    conn,
                    &OccurrenceAnswerRow {
                        meeting_id: id.as_str().to_owned(),
                        original_start_utc: original,
                        original_start_local: original_local,
                        delegation_id: proposer.as_str().to_owned(),
                        response: Response::Accepted.as_str().to_owned(),
                        comment: None,
                        responded_at: Some(now()),
                    },
                )?;
            }
        }
        decided(conn, &ctx, proposal, ProposalStatus::Accepted, None)
    })
    .await
}

/// The host rejects, with a reason.
pub async fn reject(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    proposal_id: String,
    decision: ProposalDecision,
) -> Result<Proposal, AppError> {
    let reason = decision.reason.filter(|r| !r.trim().is_empty());
    let mut errors = Vec::new();
    match &reason {
        Some(reason) => text("reason", reason, &mut errors),
        None => errors.push(FieldError::new(
            "reason",
            "say why the proposal is rejected",
        )),
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let (row, proposal) = open_proposal(conn, &ctx, &id, &proposal_id)?;
        authorize_host(&ctx, &row.host())?;
        decided(
            conn,
            &ctx,
            proposal,
            ProposalStatus::Rejected,
            reason.clone(),
        )
    })
    .await
}

/// Its proposer withdraws it (the proposing delegation's admins and schedulers).
pub async fn withdraw(
    store: &Store,
    ctx: &Context,
    id: MeetingId,
    proposal_id: String,
    decision: ProposalDecision,
) -> Result<Proposal, AppError> {
    let reason = decision.reason.filter(|r| !r.trim().is_empty());
    if let Some(reason) = &reason {
        let mut errors = Vec::new();
        text("reason", reason, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::invalid_fields(errors));
        }
    }
    let ctx = ctx.clone();
    write_row(store, Locked::Meeting, id.clone(), move |conn| {
        let (_, proposal) = open_proposal(conn, &ctx, &id, &proposal_id)?;
        let proposer = DelegationId::from(proposal.proposer_delegation_id.clone());
        if ctx.principal.delegation_id.as_ref() != Some(&proposer)
            || !ctx.principal.may_schedule_for(&proposer)
        {
            return Err(AppError::Forbidden(
                "only the proposing delegation's admins and schedulers withdraw it".into(),
            ));
        }
        decided(
            conn,
            &ctx,
            proposal,
            ProposalStatus::Withdrawn,
            reason.clone(),
        )
    })
    .await
}

/// Closes the proposal and records it.
fn decided(
    conn: &mut DbConnection,
    ctx: &Context,
    proposal: ProposalRow,
    status: ProposalStatus,
    reason: Option<String>,
) -> Result<Proposal, AppError> {
    let at = now();
    if !rows::decide(conn, &proposal.id, status.as_str(), reason.as_deref(), at)? {
        return Err(AppError::Conflict("the proposal is decided already".into()));
    }
    let proposal = ProposalRow {
        status: status.as_str().to_owned(),
        reason,
        decided_at: Some(at),
        ..proposal
    };
    let summary = format!("proposal {}", status.as_str());
    let action = match status {
        ProposalStatus::Accepted => "meeting.proposal_accept",
        ProposalStatus::Rejected => "meeting.proposal_reject",
        _ => "meeting.proposal_withdraw",
    };
    record(conn, ctx, &proposal, (action, summary))?;
    view(proposal)
}
