//! Time windows, read at the cost of what lies in them (docs/ARCHITECTURE.md, "Time windows").
//!
//! A single meeting lasts at most `MAX_DURATION_DAYS`, so one that overlaps `[from, to)` starts
//! after `from - MAX_DURATION_DAYS` and before `to`: a bounded range scan on its span's start.
//! A series may span years; series are few, and are found by the end of their span (still
//! running after `from`) on their own indexes. Every branch of visibility (taking part, public,
//! in one of the viewer's forums) is read this way, each on its own index, and only the ids in
//! the window come back.

use std::collections::BTreeSet;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::schema::{forum_members as fm, meeting_participants as mp, meetings};
use super::DbConnection;
use crate::domain::meeting::MAX_DURATION_DAYS;
use crate::domain::stored::DelegationId;

/// `[from, to)`; no `to`: open-ended (a feed's "from 90 days ago on").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDateTime,
    pub to: Option<NaiveDateTime>,
}

impl Window {
    /// The earliest start of a single meeting that can still overlap the window.
    fn earliest_single_start(&self) -> NaiveDateTime {
        self.from - TimeDelta::days(MAX_DURATION_DAYS)
    }
}

/// These delegations' participations in the window: (meeting id, delegation id).
///
/// Two fixed statements per delegation (prepared once per connection), each answered from its
/// covering index; the answer is read from the index too and declined ones are dropped here.
pub fn participations(
    conn: &mut DbConnection,
    delegations: &[&str],
    window: Window,
    answers: Answers,
) -> QueryResult<Vec<(String, String)>> {
    let to = window.to.unwrap_or(OPEN_END);
    let counts = |response: &str| answers == Answers::Any || response != "declined";
    let mut rows = Vec::new();
    for delegation in delegations {
        let singles: Vec<(String, String, String)> = mp::table
            .filter(mp::delegation_id.eq(*delegation))
            .filter(mp::series.eq(false))
            .filter(mp::span_start_utc.gt(window.earliest_single_start()))
            .filter(mp::span_start_utc.lt(to))
            .filter(mp::span_end_utc.gt(window.from))
            .select((mp::meeting_id, mp::delegation_id, mp::response))
            .load(conn)?;
        // Series by the end of their span only: with a bound on their start too, a planner may
        // pick the (delegation, series, start) index and walk every series the delegation had.
        let running: Vec<(String, String, String, NaiveDateTime)> = mp::table
            .filter(mp::delegation_id.eq(*delegation))
            .filter(mp::series.eq(true))
            .filter(mp::span_end_utc.gt(window.from))
            .select((
                mp::meeting_id,
                mp::delegation_id,
                mp::response,
                mp::span_start_utc,
            ))
            .load(conn)?;
        rows.extend(
            singles
                .into_iter()
                .filter(|(_, _, response)| counts(response))
                .map(|(meeting_id, delegation_id, _)| (meeting_id, delegation_id)),
        );
        rows.extend(
            running
                .into_iter()
                .filter(|(_, _, response, start)| counts(response) && *start < to)
                .map(|(meeting_id, delegation_id, _, _)| (meeting_id, delegation_id)),
        );
    }
    Ok(rows)
}

/// The end of an open-ended window: later than anything stored (both backends store it).
const OPEN_END: NaiveDateTime = match chrono::NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(day) => day.and_time(chrono::NaiveTime::MIN),
    None => NaiveDateTime::MIN,
};

/// The meetings `delegation` takes part in whose span overlaps the window, with their versions
/// (a feed's validator), by id: the participations as in `participations`, then the versions by
/// id. (Joined to `meetings` in one statement, PostgreSQL planned the series half for its
/// estimate of a long-running delegation's series — 1,200 rows where there were 46 — as a
/// parallel query, and starting its workers cost 10–20 ms on every feed request.)
pub fn participation_versions(
    conn: &mut DbConnection,
    delegation: &str,
    window: Window,
) -> QueryResult<Vec<(String, i64)>> {
    let ids: BTreeSet<String> = participations(conn, &[delegation], window, Answers::Any)?
        .into_iter()
        .map(|(meeting_id, _)| meeting_id)
        .collect();
    let ids: Vec<String> = ids.into_iter().collect();
    super::meetings::versions_of(conn, &ids)
}

/// Which participations count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answers {
    Any,
    NotDeclined,
}

/// Meetings of this confidentiality in the window (optionally only in these forums): fixed
/// statements, a pair for each, prepared once per connection.
fn with_confidentiality(
    conn: &mut DbConnection,
    confidentiality: &str,
    forums: Option<&[String]>,
    window: Window,
) -> QueryResult<Vec<String>> {
    let to = window.to.unwrap_or(OPEN_END);
    let singles = meetings::table
        .filter(meetings::recurrence.is_null())
        .filter(meetings::confidentiality.eq(confidentiality))
        .filter(meetings::span_start_utc.gt(window.earliest_single_start()))
        .filter(meetings::span_start_utc.lt(to))
        .filter(meetings::span_end_utc.gt(window.from))
        .select(meetings::id);
    let series = meetings::table
        .filter(meetings::recurrence.is_not_null())
        .filter(meetings::confidentiality.eq(confidentiality))
        .filter(meetings::span_end_utc.gt(window.from))
        .filter(meetings::span_start_utc.lt(to))
        .select(meetings::id);
    let ids: Vec<String> = match forums {
        None => {
            let mut ids = singles.load(conn)?;
            ids.extend(series.load::<String>(conn)?);
            ids
        }
        // One forum at a time, on equality: with the forums as one set, SQLite's planner (which
        // cannot see how many there are) may pick the window's index over the forum's and
        // filter every meeting in the window.
        Some(forums) => {
            let mut ids = Vec::new();
            for forum in forums {
                let in_forum = meetings::forum_id.eq(forum.as_str());
                ids.extend(singles.filter(in_forum).load::<String>(conn)?);
                ids.extend(series.filter(in_forum).load::<String>(conn)?);
            }
            ids
        }
    };
    Ok(ids)
}

/// The ids of the meetings `viewer` may see (None: a platform admin: public ones) whose span
/// overlaps the window: its delegation takes part, the meeting is public, or it is
/// `forum`-confidential in a forum the delegation is a member of.
pub fn visible_ids(
    conn: &mut DbConnection,
    viewer: Option<&DelegationId>,
    window: Window,
) -> QueryResult<Vec<String>> {
    let mut ids: BTreeSet<String> = with_confidentiality(conn, "public", None, window)?
        .into_iter()
        .collect();
    if let Some(delegation_id) = viewer {
        let delegation = delegation_id.as_str();
        ids.extend(
            participations(conn, &[delegation], window, Answers::Any)?
                .into_iter()
                .map(|(meeting_id, _)| meeting_id),
        );
        let forums: Vec<String> = fm::table
            .filter(fm::delegation_id.eq(delegation))
            .select(fm::forum_id)
            .load(conn)?;
        if !forums.is_empty() {
            ids.extend(with_confidentiality(conn, "forum", Some(&forums), window)?);
        }
    }
    Ok(ids.into_iter().collect())
}
