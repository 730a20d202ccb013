//! `forums` and `forum_members`. A forum is visible to platform admins and to its members:
//! decided in the query.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::among::among;
use super::conn::MultiBackend;
use super::schema::{forum_members as fm, forums};
use super::{now, DbConnection};
use crate::domain::stored::{DelegationId, ForumId};

#[derive(Queryable, Debug, Clone)]
pub struct ForumRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Who looks: a platform admin sees every forum, a delegation the forums it is a member of.
#[derive(Clone, Copy, Debug)]
pub enum Viewer<'a> {
    Platform,
    Delegation(&'a DelegationId),
    /// Neither (no such user exists): sees no forum.
    Nobody,
}

fn visible<'a>(viewer: Viewer<'_>) -> forums::BoxedQuery<'a, MultiBackend> {
    let query = forums::table.into_boxed();
    match viewer {
        Viewer::Platform => query,
        Viewer::Nobody => query.filter(forums::id.eq_any(Vec::<String>::new())),
        Viewer::Delegation(delegation_id) => query.filter(
            forums::id.eq_any(
                fm::table
                    .filter(fm::delegation_id.eq(delegation_id.as_str().to_owned()))
                    .select(fm::forum_id),
            ),
        ),
    }
}

pub fn find_visible(
    conn: &mut DbConnection,
    viewer: Viewer<'_>,
    id: &ForumId,
) -> QueryResult<Option<ForumRow>> {
    visible(viewer)
        .filter(forums::id.eq(id.as_str().to_owned()))
        .first(conn)
        .optional()
}

/// The forums `viewer` sees, by creation (ids are UUIDv7), after `after`.
pub fn list_visible(
    conn: &mut DbConnection,
    viewer: Viewer<'_>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ForumRow>> {
    let mut query = visible(viewer);
    if let Some(after) = after {
        query = query.filter(forums::id.gt(after.to_owned()));
    }
    query.order(forums::id.asc()).limit(limit).load(conn)
}

/// The member delegations of these forums, each list sorted.
pub fn members_of(
    conn: &mut DbConnection,
    ids: &[&str],
) -> QueryResult<HashMap<String, Vec<DelegationId>>> {
    let rows: Vec<(String, String)> = fm::table
        .filter(among(fm::forum_id, ids))
        .select((fm::forum_id, fm::delegation_id))
        .order((fm::forum_id.asc(), fm::delegation_id.asc()))
        .load(conn)?;
    let mut by_forum: HashMap<String, Vec<DelegationId>> = HashMap::new();
    for (forum_id, delegation_id) in rows {
        by_forum
            .entry(forum_id)
            .or_default()
            .push(DelegationId::from(delegation_id));
    }
    Ok(by_forum)
}

pub fn insert(
    conn: &mut DbConnection,
    id: &ForumId,
    name: &str,
    description: Option<&str>,
) -> QueryResult<()> {
    let at = now();
    diesel::insert_into(forums::table)
        .values((
            forums::id.eq(id.as_str()),
            forums::name.eq(name),
            forums::description.eq(description),
            forums::version.eq(1_i64),
            forums::created_at.eq(at),
            forums::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Renames and describes the forum if it is still at `version`; answers the rows changed.
pub fn update(
    conn: &mut DbConnection,
    id: &ForumId,
    version: i64,
    name: &str,
    description: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(
        forums::table
            .filter(forums::id.eq(id.as_str()))
            .filter(forums::version.eq(version)),
    )
    .set((
        forums::name.eq(name),
        forums::description.eq(description),
        forums::version.eq(version + 1),
        forums::updated_at.eq(now()),
    ))
    .execute(conn)
}

/// Removes the members in `before` but not `after`, and adds those in `after` only.
pub fn replace_members(
    conn: &mut DbConnection,
    id: &ForumId,
    before: &[DelegationId],
    after: &[DelegationId],
) -> QueryResult<()> {
    let gone: Vec<&str> = before
        .iter()
        .filter(|d| !after.contains(d))
        .map(DelegationId::as_str)
        .collect();
    diesel::delete(
        fm::table
            .filter(fm::forum_id.eq(id.as_str()))
            .filter(fm::delegation_id.eq_any(gone)),
    )
    .execute(conn)?;
    let at = now();
    for delegation_id in after.iter().filter(|d| !before.contains(d)) {
        diesel::insert_into(fm::table)
            .values((
                fm::forum_id.eq(id.as_str()),
                fm::delegation_id.eq(delegation_id.as_str()),
                fm::joined_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}
