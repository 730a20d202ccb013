//! `proposals`: counter-proposals of a meeting's participants (another time, zone or venue for
//! the meeting or one session of it), open until the host accepts or rejects them or their
//! proposer withdraws them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::proposals as pr;
use super::stamp::{MaybeStamp, Stamp};
use super::DbConnection;

/// A proposal as stored.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = pr)]
pub struct ProposalRow {
    pub id: String,
    pub meeting_id: String,
    pub proposer_delegation_id: String,
    pub proposer_user_id: String,
    #[diesel(deserialize_as = MaybeStamp)]
    pub recurrence_id: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub start_local: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub end_local: Option<NaiveDateTime>,
    pub time_zone: Option<String>,
    pub location: Option<String>,
    pub comment: String,
    pub status: String,
    pub reason: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub decided_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &ProposalRow) -> QueryResult<()> {
    diesel::insert_into(pr::table).values(row).execute(conn)?;
    Ok(())
}

/// One proposal of the meeting.
pub fn find(
    conn: &mut DbConnection,
    meeting_id: &str,
    id: &str,
) -> QueryResult<Option<ProposalRow>> {
    pr::table
        .filter(pr::meeting_id.eq(meeting_id))
        .filter(pr::id.eq(id))
        .select(ProposalRow::as_select())
        .first(conn)
        .optional()
}

/// The meeting's proposals, oldest first (UUIDv7 ids), after `after`.
pub fn of_meeting(
    conn: &mut DbConnection,
    meeting_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ProposalRow>> {
    let mut query = pr::table
        .filter(pr::meeting_id.eq(meeting_id.to_owned()))
        .select(ProposalRow::as_select())
        .order(pr::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(pr::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Closes an open proposal (accepted, rejected, withdrawn); false if it was no longer open.
pub fn decide(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    reason: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        pr::table
            .filter(pr::id.eq(id))
            .filter(pr::status.eq("open")),
    )
    .set((
        pr::status.eq(status),
        pr::reason.eq(reason),
        pr::decided_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}
