//! `occurrence_answers`: a participant delegation's answer to one occurrence of a series, which
//! overrides its answer to the series for that session. Keyed by the occurrence's original
//! start (UTC, as `meeting_overrides`), with the wall-clock original start kept for
//! re-derivation under new tz data.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::among::among;
use super::schema::occurrence_answers as oa;
use super::stamp::{MaybeStamp, Stamp};
use super::DbConnection;
use crate::domain::stored::{DelegationId, MeetingId};

/// An answer to one occurrence, as stored.
#[derive(Queryable, Selectable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = oa)]
pub struct OccurrenceAnswerRow {
    pub meeting_id: String,
    #[diesel(deserialize_as = Stamp)]
    pub original_start_utc: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub original_start_local: NaiveDateTime,
    pub delegation_id: String,
    pub response: String,
    pub comment: Option<String>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub responded_at: Option<NaiveDateTime>,
}

/// The occurrence answers of these meetings, by meeting, occurrence and delegation.
pub fn of_meetings(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<OccurrenceAnswerRow>> {
    let order = (
        oa::meeting_id.asc(),
        oa::original_start_utc.asc(),
        oa::delegation_id.asc(),
    );
    match ids {
        [id] => oa::table
            .filter(oa::meeting_id.eq(*id))
            .select(OccurrenceAnswerRow::as_select())
            .order(order)
            .load(conn),
        _ => oa::table
            .filter(among(oa::meeting_id, ids))
            .select(OccurrenceAnswerRow::as_select())
            .order(order)
            .load(conn),
    }
}

/// The answers given to one session (on the primary key's prefix), by delegation.
pub fn of_session(
    conn: &mut DbConnection,
    id: &MeetingId,
    original_start_utc: NaiveDateTime,
) -> QueryResult<Vec<OccurrenceAnswerRow>> {
    oa::table
        .filter(oa::meeting_id.eq(id.as_str()))
        .filter(oa::original_start_utc.eq(original_start_utc))
        .select(OccurrenceAnswerRow::as_select())
        .order(oa::delegation_id.asc())
        .load(conn)
}

/// Writes one delegation's answer to one occurrence (replacing an earlier one).
pub fn put(conn: &mut DbConnection, row: &OccurrenceAnswerRow) -> QueryResult<()> {
    diesel::delete(
        oa::table
            .filter(oa::meeting_id.eq(&row.meeting_id))
            .filter(oa::original_start_utc.eq(row.original_start_utc))
            .filter(oa::delegation_id.eq(&row.delegation_id)),
    )
    .execute(conn)?;
    diesel::insert_into(oa::table)
        .values((
            oa::meeting_id.eq(&row.meeting_id),
            oa::original_start_utc.eq(row.original_start_utc),
            oa::original_start_local.eq(row.original_start_local),
            oa::delegation_id.eq(&row.delegation_id),
            oa::response.eq(&row.response),
            oa::comment.eq(&row.comment),
            oa::responded_at.eq(row.responded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every occurrence answer of the meeting (its answers are asked again for the whole series).
pub fn delete_of_meeting(conn: &mut DbConnection, id: &MeetingId) -> QueryResult<()> {
    diesel::delete(oa::table.filter(oa::meeting_id.eq(id.as_str()))).execute(conn)?;
    Ok(())
}

/// One delegation's answers to single sessions of the meeting (its answer to the whole series
/// replaces them).
pub fn delete_of_delegation(
    conn: &mut DbConnection,
    id: &MeetingId,
    delegation: &DelegationId,
) -> QueryResult<()> {
    diesel::delete(
        oa::table
            .filter(oa::meeting_id.eq(id.as_str()))
            .filter(oa::delegation_id.eq(delegation.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// Moves one occurrence's answers to the original start it has under new tz rules.
pub fn rekey(
    conn: &mut DbConnection,
    id: &MeetingId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        oa::table
            .filter(oa::meeting_id.eq(id.as_str()))
            .filter(oa::original_start_utc.eq(from)),
    )
    .set(oa::original_start_utc.eq(to))
    .execute(conn)?;
    Ok(())
}
