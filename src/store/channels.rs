//! `channels` and `channel_history`. A channel is visible to its two parties only: decided in
//! the query.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::among::among;
use super::conn::MultiBackend;
use super::schema::{channel_history as history, channels};
use super::{now, DbConnection};
use crate::domain::stored::{ChannelId, DelegationId, UserId};

#[derive(Queryable, Debug, Clone)]
pub struct ChannelRow {
    pub id: String,
    pub proposer_id: String,
    pub counterpart_id: String,
    pub kind: String,
    pub name: String,
    pub purpose: Option<String>,
    pub status: String,
    pub reactivation_requested_by: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Debug, Clone)]
pub struct HistoryRow {
    pub position: i64,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: Option<String>,
    pub user_id: String,
    pub username: String,
    pub delegation_id: String,
    pub occurred_at: NaiveDateTime,
}

/// A new channel, proposed.
pub struct NewChannelRow<'a> {
    pub id: &'a ChannelId,
    pub proposer_id: &'a DelegationId,
    pub counterpart_id: &'a DelegationId,
    pub kind: &'a str,
    pub name: &'a str,
    pub purpose: Option<&'a str>,
    pub status: &'a str,
}

/// One history entry to append (its position follows the last).
pub struct NewHistoryRow<'a> {
    pub event: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub reason: Option<&'a str>,
    pub user_id: &'a UserId,
    pub username: &'a str,
    pub delegation_id: &'a DelegationId,
}

fn of_party<'a>(delegation_id: &DelegationId) -> channels::BoxedQuery<'a, MultiBackend> {
    let party = delegation_id.as_str().to_owned();
    channels::table
        .filter(
            channels::proposer_id
                .eq(party.clone())
                .or(channels::counterpart_id.eq(party)),
        )
        .into_boxed()
}

/// The channel, if `party` is one of its two parties.
pub fn find_for_party(
    conn: &mut DbConnection,
    party: &DelegationId,
    id: &ChannelId,
) -> QueryResult<Option<ChannelRow>> {
    of_party(party)
        .filter(channels::id.eq(id.as_str().to_owned()))
        .first(conn)
        .optional()
}

/// `party`'s channels by creation (ids are UUIDv7), optionally only those with `status` or
/// those whose other party is `counterpart`, after `after`.
pub fn list_for_party(
    conn: &mut DbConnection,
    party: &DelegationId,
    status: Option<&str>,
    counterpart: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ChannelRow>> {
    let mut query = of_party(party);
    if let Some(status) = status {
        query = query.filter(channels::status.eq(status.to_owned()));
    }
    if let Some(other) = counterpart {
        // The other party is `other`: `party` is on the opposite side.
        let (me, other) = (party.as_str().to_owned(), other.to_owned());
        query = query.filter(
            channels::proposer_id
                .eq(me.clone())
                .and(channels::counterpart_id.eq(other.clone()))
                .or(channels::counterpart_id
                    .eq(me)
                    .and(channels::proposer_id.eq(other))),
        );
    }
    if let Some(after) = after {
        query = query.filter(channels::id.gt(after.to_owned()));
    }
    query.order(channels::id.asc()).limit(limit).load(conn)
}

/// The stored status of each of these channels.
pub fn statuses(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<HashMap<String, String>> {
    Ok(channels::table
        .filter(among(channels::id, ids))
        .select((channels::id, channels::status))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn insert(conn: &mut DbConnection, channel: &NewChannelRow<'_>) -> QueryResult<()> {
    let at = now();
    diesel::insert_into(channels::table)
        .values((
            channels::id.eq(channel.id.as_str()),
            channels::proposer_id.eq(channel.proposer_id.as_str()),
            channels::counterpart_id.eq(channel.counterpart_id.as_str()),
            channels::kind.eq(channel.kind),
            channels::name.eq(channel.name),
            channels::purpose.eq(channel.purpose),
            channels::status.eq(channel.status),
            channels::reactivation_requested_by.eq(None::<String>),
            channels::version.eq(1_i64),
            channels::created_at.eq(at),
            channels::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes the channel's state if it is still at `version`; answers the rows changed.
pub fn update_state(
    conn: &mut DbConnection,
    id: &ChannelId,
    version: i64,
    status: &str,
    reactivation_requested_by: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(
        channels::table
            .filter(channels::id.eq(id.as_str()))
            .filter(channels::version.eq(version)),
    )
    .set((
        channels::status.eq(status),
        channels::reactivation_requested_by.eq(reactivation_requested_by),
        channels::version.eq(version + 1),
        channels::updated_at.eq(now()),
    ))
    .execute(conn)
}

/// Appends to the channel's history, at the position after its last entry.
pub fn append_history(
    conn: &mut DbConnection,
    id: &ChannelId,
    entry: &NewHistoryRow<'_>,
) -> QueryResult<()> {
    let last: Option<i64> = history::table
        .filter(history::channel_id.eq(id.as_str()))
        .select(diesel::dsl::max(history::position))
        .first(conn)?;
    diesel::insert_into(history::table)
        .values((
            history::channel_id.eq(id.as_str()),
            history::position.eq(last.unwrap_or(0) + 1),
            history::event.eq(entry.event),
            history::from_status.eq(entry.from_status),
            history::to_status.eq(entry.to_status),
            history::reason.eq(entry.reason),
            history::user_id.eq(entry.user_id.as_str()),
            history::username.eq(entry.username),
            history::delegation_id.eq(entry.delegation_id.as_str()),
            history::occurred_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The channel's history in order, after position `after`.
pub fn history(
    conn: &mut DbConnection,
    id: &ChannelId,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<HistoryRow>> {
    history::table
        .filter(history::channel_id.eq(id.as_str()))
        .filter(history::position.gt(after))
        .order(history::position.asc())
        .limit(limit)
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
        .load(conn)
}
