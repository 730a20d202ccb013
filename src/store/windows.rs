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

use super::conn::MultiBackend;
use super::literal::{flag, word};
use super::schema::{forum_members as fm, meeting_participants as mp, meetings};
use super::union::{in_union, InUnion, Member};
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
            .filter(mp::series.eq(flag(false)))
            .filter(mp::span_start_utc.gt(window.earliest_single_start()))
            .filter(mp::span_start_utc.lt(to))
            .filter(mp::span_end_utc.gt(window.from))
            .select((mp::meeting_id, mp::delegation_id, mp::response))
            .load(conn)?;
        // Series by the end of their span only: with a bound on their start too, a planner may
        // pick the (delegation, series, start) index and walk every series the delegation had.
        let running: Vec<(String, String, String, NaiveDateTime)> = mp::table
            .filter(mp::delegation_id.eq(*delegation))
            .filter(mp::series.eq(flag(true)))
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

/// The ids of the meetings `delegation` takes part in whose span overlaps the window (a feed's
/// meetings), as in `participations`.
pub fn participation_ids(
    conn: &mut DbConnection,
    delegation: &str,
    window: Window,
) -> QueryResult<Vec<String>> {
    let ids: BTreeSet<String> = participations(conn, &[delegation], window, Answers::Any)?
        .into_iter()
        .map(|(meeting_id, _)| meeting_id)
        .collect();
    Ok(ids.into_iter().collect())
}

/// Which participations count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answers {
    Any,
    NotDeclined,
}

/// The meetings `which` selects whose span overlaps the window, singles and series, as two
/// members of a compound statement (ids; the start of a series' span is bounded by the caller,
/// so that no planner walks a series index by its start).
fn meetings_in(window: Window, which: impl Fn() -> BoxedMeetings) -> [Member; 2] {
    let to = window.to.unwrap_or(OPEN_END);
    let singles = which()
        .filter(meetings::recurrence.is_null())
        .filter(meetings::span_start_utc.gt(window.earliest_single_start()))
        .filter(meetings::span_start_utc.lt(to))
        .filter(meetings::span_end_utc.gt(window.from))
        .select(meetings::id);
    let series = which()
        .filter(meetings::recurrence.is_not_null())
        .filter(meetings::span_end_utc.gt(window.from))
        .select(meetings::id);
    [Box::new(singles), Box::new(series)]
}

/// The meetings `delegation` takes part in whose span overlaps the window, as two members of a
/// compound statement, each on its covering index (as in `participations`).
fn taking_part_in(window: Window, delegation: &str, answers: Answers) -> [Member; 2] {
    let to = window.to.unwrap_or(OPEN_END);
    let theirs = || {
        let query = mp::table
            .filter(mp::delegation_id.eq(delegation.to_owned()))
            .into_boxed();
        // Declined ones left out when asked (the answer is read from the covering index).
        match answers {
            Answers::Any => query,
            Answers::NotDeclined => query.filter(mp::response.ne(word("declined"))),
        }
    };
    let singles = theirs()
        .filter(mp::series.eq(flag(false)))
        .filter(mp::span_start_utc.gt(window.earliest_single_start()))
        .filter(mp::span_start_utc.lt(to))
        .filter(mp::span_end_utc.gt(window.from))
        .select(mp::meeting_id);
    let series = theirs()
        .filter(mp::series.eq(flag(true)))
        .filter(mp::span_end_utc.gt(window.from))
        .select(mp::meeting_id);
    [Box::new(singles), Box::new(series)]
}

/// The meetings `delegation` takes part in (`answers`: declined ones too, or not) whose span
/// overlaps the window: a filter on `meetings`, as `visible`.
pub fn taking_part(delegation: &DelegationId, window: Window, answers: Answers) -> Visible {
    let to = window.to.unwrap_or(OPEN_END);
    in_union(
        meetings::id,
        taking_part_in(window, delegation.as_str(), answers).into(),
    )
    .and(meetings::span_start_utc.lt(to))
}

type BoxedMeetings = meetings::BoxedQuery<'static, MultiBackend>;

/// `viewer` may see the meeting (None: a platform admin: public ones) and its span overlaps the
/// window: its delegation takes part, the meeting is public, or it is `forum`-confidential in a
/// forum the delegation is a member of. A filter on `meetings`, for the statement that reads the
/// rows.
///
/// Every branch of visibility, singles and series apart, is a member of one `UNION ALL`, each on
/// its own index: one round trip instead of seven, and the rows in the same.
pub fn visible(viewer: Option<&DelegationId>, window: Window) -> Visible {
    let to = window.to.unwrap_or(OPEN_END);
    let mut members: Vec<Member> = Vec::with_capacity(6);
    members.extend(meetings_in(window, || {
        meetings::table
            .filter(meetings::confidentiality.eq(word("public")))
            .into_boxed()
    }));
    if let Some(delegation_id) = viewer {
        let delegation = delegation_id.as_str().to_owned();
        members.extend(taking_part_in(window, &delegation, Answers::Any));
        members.extend(meetings_in(window, || {
            let forums = fm::table
                .filter(fm::delegation_id.eq(delegation.clone()))
                .select(fm::forum_id.nullable());
            meetings::table
                // The forum decides, not the confidentiality: written as an expression, no
                // index on it competes with the forum's (SQLite, which cannot see how few
                // forums a delegation is in, would otherwise walk every forum-confidential
                // meeting of the window).
                .filter(meetings::confidentiality.concat("").eq(word("forum")))
                .filter(meetings::forum_id.eq_any(forums))
                .into_boxed()
        }));
    }
    in_union(meetings::id, members).and(meetings::span_start_utc.lt(to))
}

/// See `visible`.
pub type Visible = diesel::dsl::And<
    InUnion<meetings::id>,
    diesel::dsl::Lt<meetings::span_start_utc, NaiveDateTime>,
>;

/// The ids of the meetings `viewer` may see whose span overlaps the window (see `visible`).
pub fn visible_ids(
    conn: &mut DbConnection,
    viewer: Option<&DelegationId>,
    window: Window,
) -> QueryResult<Vec<String>> {
    meetings::table
        .filter(visible(viewer, window))
        .select(meetings::id)
        .order(meetings::id)
        .load(conn)
}
