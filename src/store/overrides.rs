//! `meeting_overrides`: occurrences of a series moved or given their own status, keyed by their
//! original start (in UTC, and as wall-clock time in the series' zone).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::among::among;
use super::schema::meeting_overrides as mo;
use super::stamp::{MaybeStamp, Stamp};
use super::DbConnection;
use crate::domain::stored::MeetingId;

/// An override as stored.
#[derive(Queryable, Selectable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = mo)]
pub struct OverrideRow {
    pub meeting_id: String,
    #[diesel(deserialize_as = Stamp)]
    pub original_start_utc: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub original_start_local: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub start_local: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub end_local: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub start_utc: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub end_utc: Option<NaiveDateTime>,
    pub status: Option<String>,
    pub disambiguation: Option<String>,
    /// The session's own venue (None: the series').
    pub location: Option<String>,
    /// The session's own zone, of its wall-clock times (None: the series').
    pub time_zone: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub updated_at: NaiveDateTime,
}

impl OverrideRow {
    /// The moved occurrence's instants, if it was moved.
    pub fn moved(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        self.start_utc.zip(self.end_utc)
    }
}

/// The overrides of these meetings, by meeting and original start. One meeting's is a fixed
/// statement (prepared once per connection): reads by id run it constantly.
pub fn of_meetings(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<OverrideRow>> {
    let order = (mo::meeting_id.asc(), mo::original_start_utc.asc());
    match ids {
        [id] => mo::table
            .filter(mo::meeting_id.eq(*id))
            .select(OverrideRow::as_select())
            .order(order)
            .load(conn),
        _ => mo::table
            .filter(among(mo::meeting_id, ids))
            .select(OverrideRow::as_select())
            .order(order)
            .load(conn),
    }
}

pub fn insert(conn: &mut DbConnection, o: &OverrideRow) -> QueryResult<()> {
    diesel::insert_into(mo::table)
        .values((
            mo::meeting_id.eq(&o.meeting_id),
            mo::original_start_utc.eq(o.original_start_utc),
            mo::original_start_local.eq(o.original_start_local),
            mo::start_local.eq(o.start_local),
            mo::end_local.eq(o.end_local),
            mo::start_utc.eq(o.start_utc),
            mo::end_utc.eq(o.end_utc),
            mo::status.eq(&o.status),
            mo::disambiguation.eq(&o.disambiguation),
            mo::location.eq(&o.location),
            mo::time_zone.eq(&o.time_zone),
            mo::created_at.eq(o.created_at),
            mo::updated_at.eq(o.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes the override of one occurrence (none: nothing happens).
pub fn delete(conn: &mut DbConnection, id: &MeetingId, original: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(
        mo::table
            .filter(mo::meeting_id.eq(id.as_str()))
            .filter(mo::original_start_utc.eq(original)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn delete_all(conn: &mut DbConnection, id: &MeetingId) -> QueryResult<()> {
    diesel::delete(mo::table.filter(mo::meeting_id.eq(id.as_str()))).execute(conn)?;
    Ok(())
}

/// The wall-clock times of one override (its identity and, if moved, its times).
pub struct WallClock {
    pub original_start_local: NaiveDateTime,
    pub start_local: Option<NaiveDateTime>,
    pub end_local: Option<NaiveDateTime>,
    pub disambiguation: Option<&'static str>,
}

pub fn set_wall_clock(
    conn: &mut DbConnection,
    id: &MeetingId,
    original: NaiveDateTime,
    wall: &WallClock,
) -> QueryResult<()> {
    diesel::update(
        mo::table
            .filter(mo::meeting_id.eq(id.as_str()))
            .filter(mo::original_start_utc.eq(original)),
    )
    .set((
        mo::original_start_local.eq(Some(wall.original_start_local)),
        mo::start_local.eq(wall.start_local),
        mo::end_local.eq(wall.end_local),
        mo::disambiguation.eq(wall.disambiguation),
    ))
    .execute(conn)?;
    Ok(())
}

/// Meetings with overrides written before the wall-clock original start was stored (found
/// through the partial index `meeting_overrides_unrecorded_idx`).
pub fn meetings_without_wall_clock(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    mo::table
        .filter(mo::original_start_local.is_null())
        .select(mo::meeting_id)
        .distinct()
        .load(conn)
}

/// The original starts of a meeting's overrides without their wall-clock time.
pub fn originals_without_wall_clock(
    conn: &mut DbConnection,
    id: &MeetingId,
) -> QueryResult<Vec<NaiveDateTime>> {
    mo::table
        .filter(mo::meeting_id.eq(id.as_str()))
        .filter(mo::original_start_local.is_null())
        .select(mo::original_start_utc)
        .load(conn)
}

pub fn set_original_local(
    conn: &mut DbConnection,
    id: &MeetingId,
    original: NaiveDateTime,
    local: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        mo::table
            .filter(mo::meeting_id.eq(id.as_str()))
            .filter(mo::original_start_utc.eq(original)),
    )
    .set(mo::original_start_local.eq(Some(local)))
    .execute(conn)?;
    Ok(())
}
