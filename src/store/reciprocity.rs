//! Who hosted the bilateral meetings of two delegations.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, exists, max, not};
use diesel::prelude::*;

use super::schema::{meeting_participants as mp, meetings};
use super::DbConnection;

/// Per host (`a` or `b`): how many of the meetings it hosted are not cancelled and have exactly
/// these two participants, and the latest (first) start among them; counted in the database,
/// through the host index.
pub fn bilateral_hosts(
    conn: &mut DbConnection,
    a: &str,
    b: &str,
) -> QueryResult<Vec<(String, i64, Option<NaiveDateTime>)>> {
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
        .group_by(meetings::host_delegation_id)
        .select((
            meetings::host_delegation_id,
            count_star(),
            max(meetings::start_utc),
        ))
        .load(conn)
}
