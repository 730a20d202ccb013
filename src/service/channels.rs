//! Contact channels between two delegations: proposal, transitions (the state machine is
//! `domain::channel`), history. A channel is visible to its two parties only — decided in SQL,
//! so anyone else gets 404 exactly as if it did not exist. Channels are never deleted.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::{self, Entry};
use super::idempotency::{self, Created};
use super::{acting_for, check_version, length_errors, stale, Context, Page, PageRequest};
use crate::domain::access::Principal;
use crate::domain::channel::{
    self, ChannelKind, ChannelState, ChannelStatus, HistoryEvent, Outcome, Side, TransitionError,
};
use crate::domain::meeting::{check_len, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
use crate::domain::stored::{ChannelId, DelegationId, UserId};
use crate::error::{AppError, FieldError};
use crate::store::channels::{self as rows, ChannelRow, NewChannelRow, NewHistoryRow};
use crate::store::{delegations, stored, DbConnection, Locked, Store};

/// The longest `reason` of a transition.
pub const MAX_REASON_CHARS: usize = 2_000;

// ---------------------------------------------------------------------------------------------
// Representations

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Channel {
    #[schema(value_type = String)]
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub name: String,
    pub purpose: Option<String>,
    /// The delegation that proposed the channel.
    #[schema(value_type = String)]
    pub proposer_id: DelegationId,
    /// The other party: it accepts (activates) the proposal.
    #[schema(value_type = String)]
    pub counterpart_id: DelegationId,
    pub status: ChannelStatus,
    /// The delegation that has asked to reactivate this suspended or frozen channel; the other
    /// party's request completes it. Null when no request is pending.
    #[schema(value_type = Option<String>)]
    pub reactivation_requested_by: Option<DelegationId>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// The delegation the channel is proposed to.
    #[schema(value_type = String)]
    pub counterpart_id: DelegationId,
    /// At most 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `hotline`, `consultations` or `working_group`.
    pub kind: ChannelKind,
    /// At most 10,000 characters.
    pub purpose: Option<String>,
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransition {
    /// `active`, `suspended`, `frozen` or `closed`.
    pub to: ChannelStatus,
    /// Required for `suspended`, `frozen` and `closed`; at most 2,000 characters.
    pub reason: Option<String>,
}

/// One entry of a channel's history: who (user and delegation), when, from, to, why.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct HistoryEntry {
    /// 1, 2, 3 … in the order of events.
    pub position: i64,
    pub event: HistoryEvent,
    pub from: Option<ChannelStatus>,
    pub to: ChannelStatus,
    pub reason: Option<String>,
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub username: String,
    #[schema(value_type = String)]
    pub delegation_id: DelegationId,
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
}

/// Filters of `GET /channels`.
#[derive(Debug, Clone, Default)]
pub struct ChannelFilter {
    pub status: Option<ChannelStatus>,
    /// Channels whose other party is this delegation.
    pub counterpart: Option<String>,
}

/// What a transition did: moved the channel (200), or recorded a reactivation request (202).
pub struct Transitioned {
    pub channel: Channel,
    pub outcome: Outcome,
}

// ---------------------------------------------------------------------------------------------
// Rows and visibility

impl ChannelRow {
    pub(super) fn status(&self) -> Result<ChannelStatus, AppError> {
        stored(&self.status)
    }

    fn state(&self) -> Result<ChannelState, AppError> {
        let reactivation_requested_by = self
            .reactivation_requested_by
            .as_deref()
            .map(stored::<Side>)
            .transpose()?;
        Ok(ChannelState {
            status: self.status()?,
            reactivation_requested_by,
        })
    }

    /// The side `delegation_id` speaks for, if it is a party.
    fn side_of(&self, delegation_id: &DelegationId) -> Option<Side> {
        if delegation_id == self.proposer_id.as_str() {
            Some(Side::Proposer)
        } else if delegation_id == self.counterpart_id.as_str() {
            Some(Side::Counterpart)
        } else {
            None
        }
    }

    fn party(&self, side: Side) -> DelegationId {
        DelegationId::from(match side {
            Side::Proposer => self.proposer_id.as_str(),
            Side::Counterpart => self.counterpart_id.as_str(),
        })
    }

    fn into_view(self) -> Result<Channel, AppError> {
        let state = self.state()?;
        Ok(Channel {
            kind: stored::<ChannelKind>(&self.kind)?,
            status: state.status,
            reactivation_requested_by: state.reactivation_requested_by.map(|side| self.party(side)),
            id: ChannelId::from(self.id),
            name: self.name,
            purpose: self.purpose,
            proposer_id: DelegationId::from(self.proposer_id),
            counterpart_id: DelegationId::from(self.counterpart_id),
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

/// The channel, if `delegation_id` (None: a platform admin) is one of its parties; otherwise
/// None, exactly as if it did not exist.
pub(super) fn load_for_party(
    conn: &mut DbConnection,
    delegation_id: Option<&DelegationId>,
    id: &ChannelId,
) -> Result<Option<ChannelRow>, AppError> {
    match delegation_id {
        Some(party) => Ok(rows::find_for_party(conn, party, id)?),
        None => Ok(None),
    }
}

fn load_visible(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &ChannelId,
) -> Result<ChannelRow, AppError> {
    load_for_party(conn, ctx.principal.delegation_id.as_ref(), id)?
        .ok_or_else(|| AppError::not_found("channel"))
}

/// The status of each of these channels (for `channel_status` on meetings).
pub(super) fn statuses(
    conn: &mut DbConnection,
    ids: &[&str],
) -> Result<HashMap<String, ChannelStatus>, AppError> {
    rows::statuses(conn, ids)?
        .into_iter()
        .map(|(id, raw)| Ok((id, stored(&raw)?)))
        .collect()
}

/// A meeting on channel `channel_id`, hosted by `host` with the delegations `set`: the host
/// must be a party (else, as for a channel that does not exist, 422), the meeting bilateral
/// between the two parties (422), and — when `must_be_active`, i.e. the meeting is booked,
/// moved or its series changed — the channel active (409 `channel-not-active`).
pub(super) fn check_meeting(
    conn: &mut DbConnection,
    channel_id: &ChannelId,
    host: &DelegationId,
    set: &[DelegationId],
    must_be_active: bool,
) -> Result<(), AppError> {
    let channel = load_for_party(conn, Some(host), channel_id)?.ok_or_else(|| {
        AppError::invalid_fields(vec![FieldError::new(
            "channel_id",
            "no channel of the host delegation has this id",
        )])
    })?;
    let bilateral = set.len() == 2
        && set.iter().any(|d| *d == *channel.proposer_id)
        && set.iter().any(|d| *d == *channel.counterpart_id);
    if !bilateral {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "participants",
            format!(
                "a meeting on channel '{}' is bilateral: its participants are the channel's two parties, {} and {}",
                channel.name, channel.proposer_id, channel.counterpart_id
            ),
        )]));
    }
    let status = channel.status()?;
    if must_be_active && status != ChannelStatus::Active {
        return Err(AppError::ChannelNotActive(format!(
            "channel '{}' is {}: meetings on it can be booked or moved only while it is active",
            channel.name,
            status.as_str()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Use cases

/// The caller's delegation, if the caller is one of its admins: only they speak for it.
fn speaker(ctx: &Context) -> Result<DelegationId, AppError> {
    acting_for(
        ctx,
        Principal::may_speak_for,
        "only a delegation's admins propose and move contact channels",
    )
}

fn append_history(
    conn: &mut DbConnection,
    ctx: &Context,
    channel_id: &ChannelId,
    event: HistoryEvent,
    (from, to): (Option<ChannelStatus>, ChannelStatus),
    reason: Option<&str>,
) -> Result<(), AppError> {
    let delegation_id = ctx
        .principal
        .delegation_id
        .as_ref()
        .ok_or_else(|| AppError::internal("a channel event without a delegation"))?;
    let entry = NewHistoryRow {
        event: event.as_str(),
        from_status: from.map(ChannelStatus::as_str),
        to_status: to.as_str(),
        reason,
        user_id: &ctx.principal.user_id,
        username: &ctx.principal.username,
        delegation_id,
    };
    Ok(rows::append_history(conn, channel_id, &entry)?)
}

/// Proposes a channel from the caller's delegation to `counterpart_id` (its admins only).
pub async fn create(
    store: &Store,
    ctx: &Context,
    input: NewChannel,
    idempotency: Option<idempotency::Key>,
) -> Result<Created<Channel>, AppError> {
    let proposer = speaker(ctx)?;
    let mut errors = length_errors([
        Some(check_len("name", &input.name, MAX_TITLE_CHARS, false)),
        input
            .purpose
            .as_deref()
            .map(|p| check_len("purpose", p, MAX_DESCRIPTION_CHARS, true)),
    ]);
    if input.counterpart_id == proposer {
        errors.push(FieldError::new(
            "counterpart_id",
            "a channel links two different delegations: name the other one",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let ctx = ctx.clone();
    store
        .write(move |conn| {
            idempotency::once(conn, idempotency.as_ref(), |conn| {
                if !delegations::exists(conn, &input.counterpart_id)? {
                    return Err(AppError::invalid_fields(vec![FieldError::new(
                        "counterpart_id",
                        format!("no delegation {}", input.counterpart_id),
                    )]));
                }
                let id = ChannelId::generate();
                let name = input.name.trim();
                let row = NewChannelRow {
                    id: &id,
                    proposer_id: &proposer,
                    counterpart_id: &input.counterpart_id,
                    kind: input.kind.as_str(),
                    name,
                    purpose: input.purpose.as_deref(),
                    status: ChannelStatus::Proposed.as_str(),
                };
                rows::insert(conn, &row)?;
                let proposed = (None, ChannelStatus::Proposed);
                append_history(conn, &ctx, &id, HistoryEvent::Proposed, proposed, None)?;
                audit::record(
                    conn,
                    &ctx.actor(),
                    Entry {
                        action: "channel.propose",
                        entity_type: "channel",
                        entity_id: id.as_str(),
                        summary: format!("{} channel '{name}' proposed", input.kind.as_str()),
                        parties: vec![proposer.clone(), input.counterpart_id.clone()],
                    },
                )?;
                load_visible(conn, &ctx, &id)?.into_view()
            })
        })
        .await
}

pub async fn get(store: &Store, ctx: &Context, id: ChannelId) -> Result<Channel, AppError> {
    let ctx = ctx.clone();
    store
        .read(move |conn| load_visible(conn, &ctx, &id)?.into_view())
        .await
}

/// The caller's delegation's channels, oldest first.
pub async fn list(
    store: &Store,
    ctx: &Context,
    filter: ChannelFilter,
    page: PageRequest,
) -> Result<Page<Channel>, AppError> {
    let Some(delegation_id) = ctx.principal.delegation_id.clone() else {
        // A platform admin is party to no channel.
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    store
        .read(move |conn| {
            let rows = rows::list_for_party(
                conn,
                &delegation_id,
                filter.status.map(ChannelStatus::as_str),
                filter.counterpart.as_deref(),
                page.after.as_deref(),
                page.fetch(),
            )?;
            let page = Page::from_rows(rows, &page, |r| r.id.clone());
            let items = page
                .items
                .into_iter()
                .map(ChannelRow::into_view)
                .collect::<Result<_, _>>()?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await
}

/// The channel's history, in order.
pub async fn history(
    store: &Store,
    ctx: &Context,
    id: ChannelId,
    page: PageRequest,
) -> Result<Page<HistoryEntry>, AppError> {
    let after = page.after_key(|raw| raw.parse::<i64>().ok())?;
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            load_visible(conn, &ctx, &id)?;
            let rows = rows::history(conn, &id, after.unwrap_or(0), page.fetch())?;
            let page = Page::from_rows(rows, &page, |r| r.position.to_string());
            let items = page
                .items
                .into_iter()
                .map(|row| {
                    Ok(HistoryEntry {
                        position: row.position,
                        event: stored(&row.event)?,
                        from: row.from_status.as_deref().map(stored).transpose()?,
                        to: stored(&row.to_status)?,
                        reason: row.reason,
                        user_id: UserId::from(row.user_id),
                        username: row.username,
                        delegation_id: DelegationId::from(row.delegation_id),
                        at: row.occurred_at.and_utc(),
                    })
                })
                .collect::<Result<_, AppError>>()?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await
}

fn transition_error(error: TransitionError) -> AppError {
    match error {
        TransitionError::ReasonRequired(_) => {
            AppError::invalid_fields(vec![FieldError::new("reason", error.to_string())])
        }
        TransitionError::Illegal { .. } | TransitionError::AlreadyRequested => {
            AppError::Conflict(error.to_string())
        }
    }
}

/// Moves the channel (or records a reactivation request), by an admin of one of its parties.
pub async fn transition(
    store: &Store,
    ctx: &Context,
    id: ChannelId,
    expected_version: Option<i64>,
    input: NewTransition,
) -> Result<Transitioned, AppError> {
    if let Some(reason) = &input.reason {
        if let Err((field, message)) = check_len("reason", reason, MAX_REASON_CHARS, true) {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                field, message,
            )]));
        }
    }
    let ctx = ctx.clone();
    // Without If-Match, a transition that lost a race is re-decided on the new state (two
    // parties asking to reactivate at the same moment both count).
    super::write_row(store, Locked::Channel, id.clone(), move |conn| {
        transition_once(conn, &ctx, &id, expected_version, &input)?.ok_or_else(|| {
            match expected_version {
                Some(_) => AppError::PreconditionFailed(
                    "the channel changed meanwhile: reload it and decide again".into(),
                ),
                None => stale(None, 0),
            }
        })
    })
    .await
}

/// One try: None when the channel changed between reading and writing it.
fn transition_once(
    conn: &mut DbConnection,
    ctx: &Context,
    id: &ChannelId,
    expected_version: Option<i64>,
    input: &NewTransition,
) -> Result<Option<Transitioned>, AppError> {
    let row = load_visible(conn, ctx, id)?;
    let side = ctx
        .principal
        .delegation_id
        .as_ref()
        .and_then(|d| row.side_of(d))
        .ok_or_else(|| AppError::not_found("channel"))?;
    if !ctx.principal.may_speak_for(&row.party(side)) {
        return Err(AppError::Forbidden(
            "only the parties' admins move a contact channel".into(),
        ));
    }
    check_version(expected_version, row.version)?;
    let before = row.state()?;
    let reason = input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let (after, outcome) =
        channel::transition(before, side, input.to, reason).map_err(transition_error)?;
    let updated = rows::update_state(
        conn,
        id,
        row.version,
        after.status.as_str(),
        after.reactivation_requested_by.map(Side::as_str),
    )?;
    if updated == 0 {
        return Ok(None);
    }
    let (event, action, summary) = match outcome {
        Outcome::Moved => (
            HistoryEvent::Transition,
            "channel.transition",
            format!(
                "channel '{}': {} → {}",
                row.name,
                before.status.as_str(),
                after.status.as_str()
            ),
        ),
        Outcome::Requested => (
            HistoryEvent::ReactivationRequested,
            "channel.reactivation_request",
            format!(
                "channel '{}' ({}): reactivation asked by one party; the other's request completes it",
                row.name,
                before.status.as_str()
            ),
        ),
    };
    append_history(
        conn,
        ctx,
        id,
        event,
        (Some(before.status), input.to),
        reason,
    )?;
    audit::record(
        conn,
        &ctx.actor(),
        Entry {
            action,
            entity_type: "channel",
            entity_id: id.as_str(),
            summary: match reason {
                Some(reason) => format!("{summary} — {reason}"),
                None => summary,
            },
            parties: vec![row.party(Side::Proposer), row.party(Side::Counterpart)],
        },
    )?;
    let channel = load_visible(conn, ctx, id)?.into_view()?;
    Ok(Some(Transitioned { channel, outcome }))
}
