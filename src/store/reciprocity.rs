//! Who hosted the bilateral meetings of two delegations.

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::schema::{meeting_participants as mp, meetings};
use super::DbConnection;

/// (host, first start, created) of every meeting hosted by `a` or `b` that is not cancelled and
/// has exactly these two participants; found through the host index.
pub fn bilateral_hosts(
    conn: &mut DbConnection,
    a: &str,
    b: &str,
) -> QueryResult<Vec<(String, NaiveDateTime, NaiveDateTime)>> {
    let (guest, other) = diesel::alias!(mp as guest, mp as other);
    meetings::table
        .filter(meetings::host_delegation_id.eq_any([a, b]))
        .filter(meetings::status.ne("cancelled"))
        .filter(exists(
            guest
                .filter(guest.field(mp::meeting_id).eq(meetings::id))
                .filter(guest.field(mp::delegation_id).eq_any([a, b]))
                .filter(
                    guest
                        .field(mp::delegation_id)
                        .ne(meetings::host_delegation_id),
                ),
        ))
        .filter(not(exists(
            other
                .filter(other.field(mp::meeting_id).eq(meetings::id))
                .filter(other.field(mp::delegation_id).ne_all([a, b])),
        )))
        .select((
            meetings::host_delegation_id,
            meetings::start_utc,
            meetings::created_at,
        ))
        .load(conn)
}
