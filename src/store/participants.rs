//! `meeting_participants`: who takes part in a meeting, their answers, and a copy of the
//! meeting's span (so that a delegation's meetings in a window are found from its own rows).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::among::among;
use super::schema::meeting_participants as mp;
use super::stamp::MaybeStamp;
use super::DbConnection;
use crate::domain::stored::{DelegationId, MeetingId};

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = mp)]
pub struct ParticipantRow {
    pub meeting_id: String,
    pub delegation_id: String,
    pub role: String,
    pub response: String,
    pub comment: Option<String>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub responded_at: Option<NaiveDateTime>,
}

/// A participant to write.
pub struct NewParticipant<'a> {
    pub delegation_id: &'a DelegationId,
    pub role: &'a str,
    pub response: &'a str,
    pub comment: Option<&'a str>,
    pub responded_at: Option<NaiveDateTime>,
}

/// The participants of these meetings, by meeting, role and delegation. One meeting's is a
/// fixed statement (prepared once per connection): reads by id run it constantly.
pub fn of_meetings(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<ParticipantRow>> {
    let order = (
        mp::meeting_id.asc(),
        mp::role.asc(),
        mp::delegation_id.asc(),
    );
    match ids {
        [id] => mp::table
            .filter(mp::meeting_id.eq(*id))
            .select(ParticipantRow::as_select())
            .order(order)
            .load(conn),
        _ => mp::table
            .filter(among(mp::meeting_id, ids))
            .select(ParticipantRow::as_select())
            .order(order)
            .load(conn),
    }
}

/// The delegations taking part in a meeting.
pub fn delegations_of(conn: &mut DbConnection, id: &MeetingId) -> QueryResult<Vec<DelegationId>> {
    Ok(mp::table
        .filter(mp::meeting_id.eq(id.as_str()))
        .select(mp::delegation_id)
        .load::<String>(conn)?
        .into_iter()
        .map(DelegationId::from)
        .collect())
}

pub fn takes_part(
    conn: &mut DbConnection,
    id: &MeetingId,
    delegation_id: &DelegationId,
) -> QueryResult<bool> {
    let n: i64 = mp::table
        .filter(mp::meeting_id.eq(id.as_str()))
        .filter(mp::delegation_id.eq(delegation_id.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Replaces the meeting's participants, each with the meeting's span and whether it is a
/// series (a series' span may be years long: windows read series on their own path).
pub fn replace(
    conn: &mut DbConnection,
    id: &MeetingId,
    participants: &[NewParticipant<'_>],
    (span, series): ((NaiveDateTime, NaiveDateTime), bool),
) -> QueryResult<()> {
    diesel::delete(mp::table.filter(mp::meeting_id.eq(id.as_str()))).execute(conn)?;
    for p in participants {
        diesel::insert_into(mp::table)
            .values((
                mp::meeting_id.eq(id.as_str()),
                mp::delegation_id.eq(p.delegation_id.as_str()),
                mp::role.eq(p.role),
                mp::response.eq(p.response),
                mp::comment.eq(p.comment),
                mp::responded_at.eq(p.responded_at),
                mp::span_start_utc.eq(span.0),
                mp::span_end_utc.eq(span.1),
                mp::series.eq(series),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One delegation's answer.
pub fn set_response(
    conn: &mut DbConnection,
    id: &MeetingId,
    delegation_id: &DelegationId,
    response: &str,
    comment: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        mp::table
            .filter(mp::meeting_id.eq(id.as_str()))
            .filter(mp::delegation_id.eq(delegation_id.as_str())),
    )
    .set((
        mp::response.eq(response),
        mp::comment.eq(comment),
        mp::responded_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(())
}

/// The participants' copies of the meeting's span.
pub fn set_span(
    conn: &mut DbConnection,
    id: &MeetingId,
    span: (NaiveDateTime, NaiveDateTime),
) -> QueryResult<()> {
    diesel::update(mp::table.filter(mp::meeting_id.eq(id.as_str())))
        .set((mp::span_start_utc.eq(span.0), mp::span_end_utc.eq(span.1)))
        .execute(conn)?;
    Ok(())
}
