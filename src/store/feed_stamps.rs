//! `feed_stamps`: what moves a feed's validator (docs/ARCHITECTURE.md, "Feeds").
//!
//! A feed shows the meetings its delegation takes part in (and, for a `visible` feed, public
//! meetings and its forums' meetings), with the names of their parties. Every change that can
//! alter what a feed shows moves a stamp in its own transaction: the delegation's (scope: its
//! id) for each delegation that takes or took part in a changed meeting (and for a delegation
//! whose forum memberships changed), `public` for a meeting that is or was public, the forum's
//! (its id) for a meeting that is or was forum-confidential there, `names` for a delegation's
//! name, code or address. A validator then reads a handful of rows by key, whatever the feed
//! holds, in the statement that finds the feed (`store::feeds::validation`).

use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::schema::{meeting_participants as mp, meetings};
use super::{now, DbConnection};
use crate::domain::stored::MeetingId;

/// Public meetings (any change to one that is or was public).
pub const PUBLIC: &str = "public";
/// Delegations' names, codes and addresses (they appear in every feed).
pub const NAMES: &str = "names";

/// A delegation's scope: its id (ids are UUIDs, never one of the words above).
pub fn delegation(id: &str) -> String {
    id.to_owned()
}

/// A forum's scope: its id.
pub fn forum(id: &str) -> String {
    id.to_owned()
}

/// The scopes a change of this meeting moves, as it is now (none if it does not exist). Read
/// before a change as well as after it, so that a delegation removed from a meeting, or a
/// meeting that stops being public, moves what it leaves.
pub fn of_meeting(conn: &mut DbConnection, id: &MeetingId) -> QueryResult<Vec<String>> {
    let found: Option<(String, Option<String>)> = meetings::table
        .filter(meetings::id.eq(id.as_str()))
        .select((meetings::confidentiality, meetings::forum_id))
        .first(conn)
        .optional()?;
    let Some((confidentiality, forum_id)) = found else {
        return Ok(Vec::new());
    };
    let mut scopes: Vec<String> = mp::table
        .filter(mp::meeting_id.eq(id.as_str()))
        .select(mp::delegation_id)
        .load::<String>(conn)?
        .iter()
        .map(|d| delegation(d))
        .collect();
    match (confidentiality.as_str(), forum_id) {
        ("public", _) => scopes.push(PUBLIC.to_owned()),
        ("forum", Some(f)) => scopes.push(forum(&f)),
        _ => {}
    }
    Ok(scopes)
}

/// Records a change of meeting `id`: moves the scopes it had (`before`) and has now.
pub fn meeting_changed(
    conn: &mut DbConnection,
    id: &MeetingId,
    before: Vec<String>,
) -> QueryResult<()> {
    let mut scopes = before;
    scopes.extend(of_meeting(conn, id)?);
    bump(conn, &scopes)
}

/// One scope's stamp moved: inserted at 1 the first time. The same text on both backends
/// (SQLite reads `$n` as numbered parameters).
const BUMP: &str = "INSERT INTO feed_stamps (scope, stamp, changed_at) VALUES ($1, 1, $2) \
                    ON CONFLICT (scope) DO UPDATE SET stamp = feed_stamps.stamp + 1, \
                    changed_at = excluded.changed_at";

/// Moves these stamps, in the caller's transaction, in a fixed order: two transactions moving
/// the same stamps take their row locks in the same order (no deadlock on PostgreSQL).
pub fn bump(conn: &mut DbConnection, scopes: &[String]) -> QueryResult<()> {
    let mut scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let at = now();
    for scope in scopes {
        diesel::sql_query(BUMP)
            .bind::<Text, _>(scope)
            .bind::<Timestamp, _>(at)
            .execute(conn)?;
    }
    Ok(())
}
