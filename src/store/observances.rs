//! `observances`: a delegation's non-working days, replaced as a whole.

use diesel::prelude::*;

use super::schema::{delegations, observances as o};
use super::{now, DbConnection};
use crate::domain::stored::DelegationId;

/// One observance as stored: a date (`YYYY-MM-DD`) or a yearly rule.
#[derive(Queryable, Debug, Clone, PartialEq, Eq)]
pub struct ObservanceRow {
    pub name: String,
    pub day: Option<String>,
    pub rule: Option<String>,
}

/// The observances of the delegations in `ids`, as (delegation id, row), in their order.
pub fn of_delegations(
    conn: &mut DbConnection,
    ids: &[&str],
) -> QueryResult<Vec<(String, ObservanceRow)>> {
    o::table
        .filter(o::delegation_id.eq_any(ids))
        .order((o::delegation_id.asc(), o::position.asc()))
        .select((o::delegation_id, (o::name, o::day, o::rule)))
        .load(conn)
}

/// Replaces the delegation's observances and moves its version on, if it is still at
/// `version`; answers whether it was.
pub fn replace(
    conn: &mut DbConnection,
    id: &DelegationId,
    version: i64,
    rows: &[ObservanceRow],
) -> QueryResult<bool> {
    let moved = diesel::update(
        delegations::table
            .filter(delegations::id.eq(id.as_str()))
            .filter(delegations::version.eq(version)),
    )
    .set((
        delegations::version.eq(version + 1),
        delegations::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if moved == 0 {
        return Ok(false);
    }
    diesel::delete(o::table.filter(o::delegation_id.eq(id.as_str()))).execute(conn)?;
    // One statement a row: the multi-backend connection has no batch insert (at most a few
    // hundred rows, once per change).
    for (row, position) in rows.iter().zip(0_i32..) {
        diesel::insert_into(o::table)
            .values((
                o::delegation_id.eq(id.as_str()),
                o::position.eq(position),
                o::name.eq(&row.name),
                o::day.eq(row.day.as_deref()),
                o::rule.eq(row.rule.as_deref()),
            ))
            .execute(conn)?;
    }
    Ok(true)
}
