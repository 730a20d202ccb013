//! `delegations`: the directory.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::among::among;
use super::schema::{delegations, meeting_participants as mp};
use super::{now, DbConnection};
use crate::domain::stored::{DelegationId, MeetingId};

#[derive(Queryable, Debug, Clone)]
pub struct DelegationRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub time_zone: String,
    /// JSON, as `WorkingHours::to_json` writes it.
    pub working_hours: String,
    pub contact_email: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Other delegations may read its busy times.
    pub share_busy: bool,
}

/// What a directory entry shows.
#[derive(Queryable, Debug, Clone)]
pub struct DirectoryRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub time_zone: String,
}

/// How a delegation appears in a calendar (organizer, attendees).
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = delegations)]
pub struct PartyRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub contact_email: Option<String>,
}

/// The columns a create or an edit writes.
pub struct DelegationValues<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub time_zone: &'a str,
    pub working_hours: &'a str,
    pub contact_email: Option<&'a str>,
    pub share_busy: bool,
}

/// The columns of `DelegationValues`, for an insert and for an update alike.
macro_rules! values {
    ($v:expr) => {
        (
            delegations::code.eq($v.code),
            delegations::name.eq($v.name),
            delegations::kind.eq($v.kind),
            delegations::time_zone.eq($v.time_zone),
            delegations::working_hours.eq($v.working_hours),
            delegations::contact_email.eq($v.contact_email),
            delegations::share_busy.eq($v.share_busy),
        )
    };
}

pub fn find(conn: &mut DbConnection, id: &DelegationId) -> QueryResult<Option<DelegationRow>> {
    delegations::table.find(id.as_str()).first(conn).optional()
}

/// The delegations whose id is one of `ids` (in no particular order; unknown ids left out).
pub fn find_all(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<DelegationRow>> {
    delegations::table
        .filter(among(delegations::id, ids))
        .load(conn)
}

pub fn exists(conn: &mut DbConnection, id: &DelegationId) -> QueryResult<bool> {
    let n: i64 = delegations::table
        .filter(delegations::id.eq(id.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn id_for_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<DelegationId>> {
    Ok(delegations::table
        .filter(delegations::code.eq(code))
        .select(delegations::id)
        .first::<String>(conn)
        .optional()?
        .map(DelegationId::from))
}

pub fn time_zone_of(conn: &mut DbConnection, id: &DelegationId) -> QueryResult<String> {
    delegations::table
        .find(id.as_str())
        .select(delegations::time_zone)
        .first(conn)
}

/// (id, code) of every delegation whose id is in `ids` or whose code is in `codes`.
pub fn by_id_or_code(
    conn: &mut DbConnection,
    ids: &[String],
    codes: &[String],
) -> QueryResult<Vec<(String, String)>> {
    delegations::table
        .filter(
            delegations::id
                .eq_any(ids)
                .or(delegations::code.eq_any(codes)),
        )
        .select((delegations::id, delegations::code))
        .load(conn)
}

/// The directory by code, after `after`.
pub fn directory(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DirectoryRow>> {
    let mut query = delegations::table
        .select((
            delegations::id,
            delegations::code,
            delegations::name,
            delegations::kind,
            delegations::time_zone,
        ))
        .order(delegations::code.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(delegations::code.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Every delegation as a calendar shows it, by id: a feed names its parties from this (the
/// directory is small, and read whole costs one statement instead of one per meeting id).
pub fn all_parties(conn: &mut DbConnection) -> QueryResult<Vec<PartyRow>> {
    delegations::table
        .select(PartyRow::as_select())
        .order(delegations::id.asc())
        .load(conn)
}

/// The delegations taking part in any of these meetings, as parties of a calendar.
pub fn parties_of_meetings(
    conn: &mut DbConnection,
    meetings: &[MeetingId],
) -> QueryResult<Vec<PartyRow>> {
    let ids: Vec<&str> = meetings.iter().map(MeetingId::as_str).collect();
    delegations::table
        .filter(
            delegations::id.eq_any(
                mp::table
                    .filter(among(mp::meeting_id, &ids))
                    .select(mp::delegation_id),
            ),
        )
        .select((
            delegations::id,
            delegations::code,
            delegations::name,
            delegations::contact_email,
        ))
        .load(conn)
}

/// Inserts a delegation at version 1 (a taken code is a unique violation).
pub fn insert(
    conn: &mut DbConnection,
    id: &DelegationId,
    values: &DelegationValues<'_>,
) -> QueryResult<()> {
    let at = now();
    diesel::insert_into(delegations::table)
        .values((
            delegations::id.eq(id.as_str()),
            values!(values),
            delegations::version.eq(1_i64),
            delegations::created_at.eq(at),
            delegations::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes `values` if the delegation is still at `version`; answers the rows changed.
pub fn update(
    conn: &mut DbConnection,
    id: &DelegationId,
    version: i64,
    values: &DelegationValues<'_>,
) -> QueryResult<usize> {
    diesel::update(
        delegations::table
            .filter(delegations::id.eq(id.as_str()))
            .filter(delegations::version.eq(version)),
    )
    .set((
        values!(values),
        delegations::version.eq(version + 1),
        delegations::updated_at.eq(now()),
    ))
    .execute(conn)
}
