//! What occupies a delegation's time in a window — its meetings' times, their overrides and the
//! sessions it declined — read in one statement (busy times, conflicts).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::gathered::{self, GatheredAnswer, GatheredOverride};
use super::literal::word;
use super::schema::meetings;
use super::stamp::Stamp;
use super::windows::{self, Answers, Window};
use super::DbConnection;
use crate::domain::stored::{DelegationId, MeetingId};

/// A meeting's times as a timeline needs them.
#[derive(Queryable, Debug, Clone)]
pub struct OccupyingRow {
    pub id: String,
    pub status: String,
    #[diesel(deserialize_as = Stamp)]
    pub start_utc: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub end_utc: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub start_local: NaiveDateTime,
    pub time_zone: String,
    pub recurrence: Option<String>,
}

/// A meeting occupying the delegation, with its overrides and the answers to its sessions.
#[derive(Debug, Clone)]
pub struct Occupying {
    pub row: OccupyingRow,
    pub overrides: Vec<GatheredOverride>,
    pub answers: Vec<GatheredAnswer>,
}

/// Overrides and session answers, as gathered JSON.
type Gathered2 = (Option<String>, Option<String>);

/// The meetings `delegation` takes part in and has not declined, not cancelled, whose span
/// overlaps the window (`exclude` left out): one statement, the delegation's participations
/// found on their covering index.
pub fn of_delegation(
    conn: &mut DbConnection,
    delegation: &DelegationId,
    window: Window,
    exclude: Option<&MeetingId>,
) -> QueryResult<Vec<Occupying>> {
    let mut query = meetings::table
        .filter(windows::taking_part(
            delegation,
            window,
            Answers::NotDeclined,
        ))
        .filter(meetings::status.ne(word("cancelled")))
        .select((
            (
                meetings::id,
                meetings::status,
                meetings::start_utc,
                meetings::end_utc,
                meetings::start_local,
                meetings::time_zone,
                meetings::recurrence,
            ),
            (gathered::OVERRIDES, gathered::OCCURRENCE_ANSWERS),
        ))
        .into_boxed();
    if let Some(exclude) = exclude {
        query = query.filter(meetings::id.ne(exclude.as_str().to_owned()));
    }
    let loaded: Vec<(OccupyingRow, Gathered2)> = query.load(conn)?;
    loaded
        .into_iter()
        .map(|(row, (overrides, answers))| {
            Ok(Occupying {
                row,
                overrides: gathered::overrides(overrides.as_deref())?,
                answers: gathered::occurrence_answers(answers.as_deref())?,
            })
        })
        .collect()
}
