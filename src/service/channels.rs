//! Contact channels between two delegations: proposal, transitions (the state machine is
//! `domain::channel`), history. A channel is visible to its two parties only — decided in SQL,
//! so anyone else gets 404 exactly as if it did not exist. Channels are never deleted.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::{self, Entry};
use super::idempotency::{self, Created};
use super::{acting_for, check_version, length_errors, stale, Context, Page, PageRequest};
use crate::domain::access::Principal;
use crate::domain::channel::{
    self, ChannelKind, ChannelState, ChannelStatus, Outcome, Side, TransitionError,
};
use crate::domain::meeting::{check_len, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
use crate::error::{AppError, FieldError};
use crate::store::conn::MultiBackend;
use crate::store::schema::{channel_history as history, channels, delegations};
use crate::store::{new_id, now, DbConnection, Locked, Store};

/// The longest `reason` of a transition.
pub const MAX_REASON_CHARS: usize = 2_000;

// ---------------------------------------------------------------------------------------------
// Representations

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Channel {
    pub id: String,
    pub kind: ChannelKind,
    pub name: String,
    pub purpose: Option<String>,
    /// The delegation that proposed the channel.
    pub proposer_id: String,
    /// The other party: it accepts (activates) the proposal.
    pub counterpart_id: String,
    pub status: ChannelStatus,
    /// The delegation that has asked to reactivate this suspended or frozen channel; the other
    /// party's request completes it. Null when no request is pending.
    pub reactivation_requested_by: Option<String>,
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
    pub counterpart_id: String,
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

/// What a history entry records.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryEvent {
    /// The channel was proposed (`from` is null, `to` is `proposed`).
    Proposed,
    /// The status changed from `from` to `to`.
    Transition,
    /// One party asked to reactivate (`to` is `active`); the status did not change yet.
    ReactivationRequested,
}

impl HistoryEvent {
    fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Transition => "transition",
            Self::ReactivationRequested => "reactivation_requested",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [
            Self::Proposed,
            Self::Transition,
            Self::ReactivationRequested,
        ]
        .into_iter()
        .find(|e| e.as_str() == raw)
    }
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
    pub user_id: String,
    pub username: String,
    pub delegation_id: String,
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

#[derive(Queryable, Debug, Clone)]
pub(super) struct ChannelRow {
    pub(super) id: String,
    pub(super) proposer_id: String,
    pub(super) counterpart_id: String,
    kind: String,
    pub(super) name: String,
    purpose: Option<String>,
    status: String,
    reactivation_requested_by: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn corrupt(what: &str, raw: &str) -> AppError {
    AppError::internal(format!("stored channel {what} '{raw}' is not valid"))
}

impl ChannelRow {
    pub(super) fn status(&self) -> Result<ChannelStatus, AppError> {
        ChannelStatus::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))
    }

    fn state(&self) -> Result<ChannelState, AppError> {
        let reactivation_requested_by = self
            .reactivation_requested_by
            .as_deref()
            .map(|raw| Side::parse(raw).ok_or_else(|| corrupt("side", raw)))
            .transpose()?;
        Ok(ChannelState {
            status: self.status()?,
            reactivation_requested_by,
        })
    }

    /// The side `delegation_id` speaks for, if it is a party.
    fn side_of(&self, delegation_id: &str) -> Option<Side> {
        if self.proposer_id == delegation_id {
            Some(Side::Proposer)
        } else if self.counterpart_id == delegation_id {
            Some(Side::Counterpart)
        } else {
            None
        }
    }

    fn party(&self, side: Side) -> &str {
        match side {
            Side::Proposer => &self.proposer_id,
            Side::Counterpart => &self.counterpart_id,
        }
    }

    fn into_view(self) -> Result<Channel, AppError> {
        let state = self.state()?;
        Ok(Channel {
            kind: ChannelKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            status: state.status,
            reactivation_requested_by: state
                .reactivation_requested_by
                .map(|side| self.party(side).to_owned()),
            id: self.id,
            name: self.name,
            purpose: self.purpose,
            proposer_id: self.proposer_id,
            counterpart_id: self.counterpart_id,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

type BoxedChannels<'a> = channels::BoxedQuery<'a, MultiBackend>;

/// The channels `delegation_id` is a party to.
fn of_party(delegation_id: &str) -> BoxedChannels<'static> {
    channels::table
        .filter(
            channels::proposer_id
                .eq(delegation_id.to_owned())
                .or(channels::counterpart_id.eq(delegation_id.to_owned())),
        )
        .into_boxed()
}

/// The channel, if `delegation_id` (None: a platform admin) is one of its parties; otherwise
/// None, exactly as if it did not exist.
pub(super) fn load_for_party(
    conn: &mut DbConnection,
    delegation_id: Option<&str>,
    id: &str,
) -> Result<Option<ChannelRow>, AppError> {
    let Some(delegation_id) = delegation_id else {
        return Ok(None);
    };
    Ok(of_party(delegation_id)
        .filter(channels::id.eq(id.to_owned()))
        .first::<ChannelRow>(conn)
        .optional()?)
}

fn load_visible(conn: &mut DbConnection, ctx: &Context, id: &str) -> Result<ChannelRow, AppError> {
    load_for_party(conn, ctx.principal.delegation_id.as_deref(), id)?
        .ok_or_else(|| AppError::not_found("channel"))
}

/// The status of each of these channels (for `channel_status` on meetings).
pub(super) fn statuses(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<HashMap<String, ChannelStatus>, AppError> {
    let rows: Vec<(String, String)> = channels::table
        .filter(channels::id.eq_any(ids))
        .select((channels::id, channels::status))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, raw)| {
            let status = ChannelStatus::parse(&raw).ok_or_else(|| corrupt("status", &raw))?;
            Ok((id, status))
        })
        .collect()
}

/// A meeting on channel `channel_id`, hosted by `host` with the delegations `set`: the host
/// must be a party (else, as for a channel that does not exist, 422), the meeting bilateral
/// between the two parties (422), and — when `must_be_active`, i.e. the meeting is booked,
/// moved or its series changed — the channel active (409 `channel-not-active`).
pub(super) fn check_meeting(
    conn: &mut DbConnection,
    channel_id: &str,
    host: &str,
    set: &[String],
    must_be_active: bool,
) -> Result<(), AppError> {
    let channel = load_for_party(conn, Some(host), channel_id)?.ok_or_else(|| {
        AppError::invalid_fields(vec![FieldError::new(
            "channel_id",
            "no channel of the host delegation has this id",
        )])
    })?;
    let bilateral = set.len() == 2
        && set.contains(&channel.proposer_id)
        && set.contains(&channel.counterpart_id);
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
fn speaker(ctx: &Context) -> Result<String, AppError> {
    acting_for(
        ctx,
        Principal::may_speak_for,
        "only a delegation's admins propose and move contact channels",
    )
}

fn append_history(
    conn: &mut DbConnection,
    ctx: &Context,
    channel_id: &str,
    event: HistoryEvent,
    from: Option<ChannelStatus>,
    to: ChannelStatus,
    reason: Option<&str>,
) -> Result<(), AppError> {
    let last: Option<i64> = history::table
        .filter(history::channel_id.eq(channel_id))
        .select(diesel::dsl::max(history::position))
        .first(conn)?;
    let delegation_id = ctx
        .principal
        .delegation_id
        .clone()
        .ok_or_else(|| AppError::internal("a channel event without a delegation"))?;
    diesel::insert_into(history::table)
        .values((
            history::channel_id.eq(channel_id),
            history::position.eq(last.unwrap_or(0) + 1),
            history::event.eq(event.as_str()),
            history::from_status.eq(from.map(ChannelStatus::as_str)),
            history::to_status.eq(to.as_str()),
            history::reason.eq(reason),
            history::user_id.eq(&ctx.principal.user_id),
            history::username.eq(&ctx.principal.username),
            history::delegation_id.eq(delegation_id),
            history::occurred_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
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
            idempotency::once(
                conn,
                idempotency.as_ref(),
                |c: &Channel| format!("/api/v1/channels/{}", c.id),
                |conn| {
                    let exists: i64 = delegations::table
                        .filter(delegations::id.eq(&input.counterpart_id))
                        .count()
                        .get_result(conn)?;
                    if exists == 0 {
                        return Err(AppError::invalid_fields(vec![FieldError::new(
                            "counterpart_id",
                            format!("no delegation {}", input.counterpart_id),
                        )]));
                    }
                    let id = new_id();
                    let at = now();
                    let name = input.name.trim();
                    diesel::insert_into(channels::table)
                        .values((
                            channels::id.eq(&id),
                            channels::proposer_id.eq(&proposer),
                            channels::counterpart_id.eq(&input.counterpart_id),
                            channels::kind.eq(input.kind.as_str()),
                            channels::name.eq(name),
                            channels::purpose.eq(&input.purpose),
                            channels::status.eq(ChannelStatus::Proposed.as_str()),
                            channels::reactivation_requested_by.eq(None::<String>),
                            channels::version.eq(1_i64),
                            channels::created_at.eq(at),
                            channels::updated_at.eq(at),
                        ))
                        .execute(conn)?;
                    append_history(
                        conn,
                        &ctx,
                        &id,
                        HistoryEvent::Proposed,
                        None,
                        ChannelStatus::Proposed,
                        None,
                    )?;
                    audit::record(
                        conn,
                        &ctx.actor(),
                        Entry {
                            action: "channel.propose",
                            entity_type: "channel",
                            entity_id: &id,
                            summary: format!("{} channel '{name}' proposed", input.kind.as_str()),
                            parties: vec![proposer.clone(), input.counterpart_id.clone()],
                        },
                    )?;
                    load_visible(conn, &ctx, &id)?.into_view()
                },
            )
        })
        .await
}

pub async fn get(store: &Store, ctx: &Context, id: String) -> Result<Channel, AppError> {
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
            let mut query = of_party(&delegation_id);
            if let Some(status) = filter.status {
                query = query.filter(channels::status.eq(status.as_str()));
            }
            if let Some(other) = &filter.counterpart {
                // The other party is `other`: the caller's delegation is on the opposite side.
                query = query.filter(
                    channels::proposer_id
                        .eq(delegation_id.clone())
                        .and(channels::counterpart_id.eq(other.clone()))
                        .or(channels::counterpart_id
                            .eq(delegation_id.clone())
                            .and(channels::proposer_id.eq(other.clone()))),
                );
            }
            if let Some(after) = &page.after {
                query = query.filter(channels::id.gt(after.clone()));
            }
            let rows: Vec<ChannelRow> = query
                .order(channels::id.asc())
                .limit(page.fetch())
                .load(conn)?;
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
    id: String,
    page: PageRequest,
) -> Result<Page<HistoryEntry>, AppError> {
    let after = page.after_key(|raw| raw.parse::<i64>().ok())?;
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            load_visible(conn, &ctx, &id)?;
            type Row = (
                i64,
                String,
                Option<String>,
                String,
                Option<String>,
                String,
                String,
                String,
                NaiveDateTime,
            );
            let rows: Vec<Row> = history::table
                .filter(history::channel_id.eq(&id))
                .filter(history::position.gt(after.unwrap_or(0)))
                .order(history::position.asc())
                .limit(page.fetch())
                .select((
                    history::position,
                    history::event,
                    history::from_status,
                    history::to_status,
                    history::reason,
                    history::user_id,
                    history::username,
                    history::delegation_id,
                    history::occurred_at,
                ))
                .load(conn)?;
            let page = Page::from_rows(rows, &page, |r| r.0.to_string());
            let status =
                |raw: &str| ChannelStatus::parse(raw).ok_or_else(|| corrupt("status", raw));
            let items = page
                .items
                .into_iter()
                .map(
                    |(position, event, from, to, reason, user_id, username, delegation_id, at)| {
                        Ok(HistoryEntry {
                            position,
                            event: HistoryEvent::parse(&event)
                                .ok_or_else(|| corrupt("event", &event))?,
                            from: from.as_deref().map(status).transpose()?,
                            to: status(&to)?,
                            reason,
                            user_id,
                            username,
                            delegation_id,
                            at: at.and_utc(),
                        })
                    },
                )
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
    id: String,
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
    id: &str,
    expected_version: Option<i64>,
    input: &NewTransition,
) -> Result<Option<Transitioned>, AppError> {
    let row = load_visible(conn, ctx, id)?;
    let side = ctx
        .principal
        .delegation_id
        .as_deref()
        .and_then(|d| row.side_of(d))
        .ok_or_else(|| AppError::not_found("channel"))?;
    if !ctx.principal.may_speak_for(row.party(side)) {
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
    let updated = diesel::update(
        channels::table
            .filter(channels::id.eq(id))
            .filter(channels::version.eq(row.version)),
    )
    .set((
        channels::status.eq(after.status.as_str()),
        channels::reactivation_requested_by.eq(after.reactivation_requested_by.map(Side::as_str)),
        channels::version.eq(row.version + 1),
        channels::updated_at.eq(now()),
    ))
    .execute(conn)?;
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
    append_history(conn, ctx, id, event, Some(before.status), input.to, reason)?;
    audit::record(
        conn,
        &ctx.actor(),
        Entry {
            action,
            entity_type: "channel",
            entity_id: id,
            summary: match reason {
                Some(reason) => format!("{summary} — {reason}"),
                None => summary,
            },
            parties: vec![row.proposer_id.clone(), row.counterpart_id.clone()],
        },
    )?;
    let channel = load_visible(conn, ctx, id)?.into_view()?;
    Ok(Some(Transitioned { channel, outcome }))
}
