//! A meeting's participants, overrides and channel status read in the statement that reads its
//! row: each gathered by a correlated subquery into one column (a JSON array for the lists).
//!
//! A window read (a list, a schedule) needs all three for every meeting it returns. As separate
//! statements they were three more round trips, which on PostgreSQL cost more than the reads
//! themselves (docs/ARCHITECTURE.md, "Time windows"). Each subquery is one lookup on the
//! table's key (`meeting_id` first). The backends name their JSON aggregates differently
//! (`json_agg`/`json_build_array`, `json_group_array`/`json_array`), so each fragment has its
//! text per backend; what they read is the same.

use chrono::NaiveDateTime;
use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::Error as DieselError;
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use super::conn::MultiBackend;
use super::occurrence_answers::OccurrenceAnswerRow;
use super::overrides::OverrideRow;
use super::participants::ParticipantRow;
use super::schema::meetings;
use super::stamp;

/// A column computed from other tables for each row of `meetings`.
#[derive(Debug, Clone, Copy)]
pub struct Gathered {
    sqlite: &'static str,
    postgres: &'static str,
}

/// A correlated subquery gathering `columns` of the rows `from` selects into one JSON array
/// of arrays, on each backend (written once per gathered thing).
macro_rules! json_rows {
    ($columns:literal, $from:literal) => {
        Gathered {
            sqlite: concat!(
                "(SELECT json_group_array(json_array(",
                $columns,
                ")) ",
                $from,
                ")"
            ),
            postgres: concat!(
                "(SELECT json_agg(json_build_array(",
                $columns,
                ")) ",
                $from,
                ")"
            ),
        }
    };
}

/// The meeting's participants: `[[delegation_id, role, response, comment, responded_at,
/// code], …]` (the delegation's code, for what a schedule shows of them).
pub const PARTICIPANTS: Gathered = json_rows!(
    "p.delegation_id, p.role, p.response, p.comment, p.responded_at, d.code",
    "FROM meeting_participants p JOIN delegations d ON d.id = p.delegation_id \
     WHERE p.meeting_id = \"meetings\".\"id\""
);

/// The overrides of a series' occurrences: `[[original_start_utc, start_utc, end_utc, status,
/// location, time_zone], …]` (none for a single meeting: it has none).
pub const OVERRIDES: Gathered = json_rows!(
    "o.original_start_utc, o.start_utc, o.end_utc, o.status, o.location, o.time_zone",
    "FROM meeting_overrides o WHERE o.meeting_id = \"meetings\".\"id\" \
     AND \"meetings\".\"recurrence\" IS NOT NULL"
);

/// The answers of a series' parties to single occurrences:
/// `[[original_start_utc, delegation_id, response], …]` (none for a single meeting).
pub const OCCURRENCE_ANSWERS: Gathered = json_rows!(
    "a.original_start_utc, a.delegation_id, a.response",
    "FROM occurrence_answers a WHERE a.meeting_id = \"meetings\".\"id\" \
     AND \"meetings\".\"recurrence\" IS NOT NULL"
);

/// The status of the meeting's channel, if it has one.
pub const CHANNEL_STATUS: Gathered = {
    const SQL: &str = "(SELECT c.status FROM channels c WHERE c.id = \"meetings\".\"channel_id\")";
    Gathered {
        sqlite: SQL,
        postgres: SQL,
    }
};

impl Expression for Gathered {
    type SqlType = Nullable<Text>;
}

impl AppearsOnTable<meetings::table> for Gathered {}

impl SelectableExpression<meetings::table> for Gathered {}

impl<GB> ValidGrouping<GB> for Gathered {
    type IsAggregate = is_aggregate::Never;
}

// The text varies with the constant: cached by text.
impl QueryId for Gathered {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for Gathered {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, out)
    }
}

impl QueryFragment<Sqlite> for Gathered {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(self.sqlite);
        Ok(())
    }
}

impl QueryFragment<Pg> for Gathered {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.postgres);
        Ok(())
    }
}

/// A gathered array that did not read back: an internal error, never a client's.
fn unreadable(what: &str, detail: impl std::fmt::Display) -> DieselError {
    DieselError::DeserializationError(format!("gathered {what}: {detail}").into())
}

/// A timestamp inside a gathered array: PostgreSQL writes it as ISO 8601 (`T`), SQLite as it
/// stored it (a space).
fn instant(text: &str) -> Option<NaiveDateTime> {
    let text = text.replacen('T', " ", 1);
    stamp::parse(&text)
        .or_else(|| NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f").ok())
}

fn maybe_instant(what: &str, text: Option<String>) -> QueryResult<Option<NaiveDateTime>> {
    text.map(|t| instant(&t).ok_or_else(|| unreadable(what, format!("timestamp {t:?}"))))
        .transpose()
}

/// The participants gathered for meeting `meeting_id`, by role then delegation (as a read of
/// the table orders them).
pub fn participants(meeting_id: &str, json: Option<&str>) -> QueryResult<Vec<GatheredParticipant>> {
    type Entry = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let entries: Vec<Entry> = match json {
        Some(json) => serde_json::from_str(json).map_err(|e| unreadable("participants", e))?,
        None => Vec::new(),
    };
    let mut rows = entries
        .into_iter()
        .map(
            |(delegation_id, role, response, comment, responded_at, code)| {
                Ok(GatheredParticipant {
                    row: ParticipantRow {
                        meeting_id: meeting_id.to_owned(),
                        delegation_id,
                        role,
                        response,
                        comment,
                        responded_at: maybe_instant("participants", responded_at)?,
                    },
                    code,
                })
            },
        )
        .collect::<QueryResult<Vec<_>>>()?;
    rows.sort_by(|a, b| {
        (&a.row.role, &a.row.delegation_id).cmp(&(&b.row.role, &b.row.delegation_id))
    });
    Ok(rows)
}

/// A participant as gathered: its row, and its delegation's code.
#[derive(Debug, Clone)]
pub struct GatheredParticipant {
    pub row: ParticipantRow,
    pub code: String,
}

/// An override as gathered: its original start, where it moved, and its own status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatheredOverride {
    pub original_start_utc: NaiveDateTime,
    pub moved: Option<(NaiveDateTime, NaiveDateTime)>,
    pub status: Option<String>,
    /// The session's own venue and zone (None: the series').
    pub location: Option<String>,
    pub time_zone: Option<String>,
}

impl From<OverrideRow> for GatheredOverride {
    fn from(row: OverrideRow) -> Self {
        Self {
            original_start_utc: row.original_start_utc,
            moved: row.moved(),
            status: row.status,
            location: row.location,
            time_zone: row.time_zone,
        }
    }
}

/// The overrides gathered for a meeting, by original start.
pub fn overrides(json: Option<&str>) -> QueryResult<Vec<GatheredOverride>> {
    type Entry = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let entries: Vec<Entry> = match json {
        Some(json) => serde_json::from_str(json).map_err(|e| unreadable("overrides", e))?,
        None => Vec::new(),
    };
    let mut overrides = entries
        .into_iter()
        .map(|(original, start, end, status, location, time_zone)| {
            let original_start_utc = instant(&original)
                .ok_or_else(|| unreadable("overrides", format!("timestamp {original:?}")))?;
            let start = maybe_instant("overrides", start)?;
            let end = maybe_instant("overrides", end)?;
            Ok(GatheredOverride {
                original_start_utc,
                moved: start.zip(end),
                status,
                location,
                time_zone,
            })
        })
        .collect::<QueryResult<Vec<_>>>()?;
    overrides.sort_by_key(|o| o.original_start_utc);
    Ok(overrides)
}

/// A party's answer to one occurrence, as gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatheredAnswer {
    pub original_start_utc: NaiveDateTime,
    pub delegation_id: String,
    pub response: String,
}

impl From<&OccurrenceAnswerRow> for GatheredAnswer {
    fn from(row: &OccurrenceAnswerRow) -> Self {
        Self {
            original_start_utc: row.original_start_utc,
            delegation_id: row.delegation_id.clone(),
            response: row.response.clone(),
        }
    }
}

/// The occurrence answers gathered for a meeting, by original start then delegation.
pub fn occurrence_answers(json: Option<&str>) -> QueryResult<Vec<GatheredAnswer>> {
    let entries: Vec<(String, String, String)> = match json {
        Some(json) => {
            serde_json::from_str(json).map_err(|e| unreadable("occurrence answers", e))?
        }
        None => Vec::new(),
    };
    let mut answers = entries
        .into_iter()
        .map(|(original, delegation_id, response)| {
            let original_start_utc = instant(&original).ok_or_else(|| {
                unreadable("occurrence answers", format!("timestamp {original:?}"))
            })?;
            Ok(GatheredAnswer {
                original_start_utc,
                delegation_id,
                response,
            })
        })
        .collect::<QueryResult<Vec<_>>>()?;
    answers.sort_by(|a, b| {
        (a.original_start_utc, &a.delegation_id).cmp(&(b.original_start_utc, &b.delegation_id))
    });
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn each_backend_gathers_with_its_own_functions() {
        assert_eq!(
            PARTICIPANTS.sqlite,
            "(SELECT json_group_array(json_array(p.delegation_id, p.role, p.response, \
             p.comment, p.responded_at, d.code)) FROM meeting_participants p \
             JOIN delegations d ON d.id = p.delegation_id \
             WHERE p.meeting_id = \"meetings\".\"id\")"
        );
        assert!(OVERRIDES
            .postgres
            .starts_with("(SELECT json_agg(json_build_array(o.original"));
        assert!(OVERRIDES
            .postgres
            .ends_with("\"meetings\".\"recurrence\" IS NOT NULL)"));
    }

    #[test]
    fn both_backends_timestamps_read_back() {
        assert_eq!(
            instant("2027-01-11T09:30:00"),
            Some(at("2027-01-11 09:30:00"))
        );
        assert_eq!(
            instant("2027-01-11 09:30:00"),
            Some(at("2027-01-11 09:30:00"))
        );
        assert_eq!(
            instant("2027-01-11T09:30:00.123456"),
            Some(at("2027-01-11 09:30:00.123456"))
        );
        assert_eq!(instant("2027-01-11 09:30"), None);
        assert_eq!(instant("yesterday"), None);
    }

    #[test]
    fn participants_come_back_in_table_order() {
        let json = r#"[["b","guest","pending",null,null,"BB"],["c","host","accepted","ok",
            "2027-01-02T03:04:05","CC"],["a","guest","declined",null,"2027-01-02 03:04:05","AA"]]"#;
        let gathered = participants("m", Some(json)).unwrap();
        let codes: Vec<&str> = gathered.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, ["AA", "BB", "CC"]);
        let rows: Vec<ParticipantRow> = gathered.into_iter().map(|p| p.row).collect();
        let order: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.role.as_str(), r.delegation_id.as_str()))
            .collect();
        assert_eq!(order, [("guest", "a"), ("guest", "b"), ("host", "c")]);
        assert_eq!(rows[2].comment.as_deref(), Some("ok"));
        assert_eq!(rows[0].responded_at, Some(at("2027-01-02 03:04:05")));
        assert!(rows.iter().all(|r| r.meeting_id == "m"));
        assert!(participants("m", None).unwrap().is_empty());
        assert!(participants("m", Some("[]")).unwrap().is_empty());
    }

    #[test]
    fn occurrence_answers_come_back_by_occurrence_and_delegation() {
        let json = r#"[["2027-02-01T10:00:00","b","declined"],["2027-01-01 10:00:00","c","pending"],
            ["2027-02-01 10:00:00","a","accepted"]]"#;
        let read = occurrence_answers(Some(json)).unwrap();
        let keys: Vec<(String, &str)> = read
            .iter()
            .map(|a| (a.original_start_utc.to_string(), a.delegation_id.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("2027-01-01 10:00:00".to_owned(), "c"),
                ("2027-02-01 10:00:00".to_owned(), "a"),
                ("2027-02-01 10:00:00".to_owned(), "b")
            ]
        );
        assert_eq!(occurrence_answers(None).unwrap(), []);
        assert!(occurrence_answers(Some(r#"[["yesterday","a","accepted"]]"#)).is_err());
    }

    #[test]
    fn overrides_come_back_by_original_start() {
        let json = r#"[["2027-02-01T10:00:00",null,null,"cancelled",null,null],
            ["2027-01-01 10:00:00","2027-01-01 12:00:00","2027-01-01 13:00:00",null,
             "Washington","America/New_York"]]"#;
        let overrides = overrides(Some(json)).unwrap();
        assert_eq!(overrides[0].original_start_utc, at("2027-01-01 10:00:00"));
        assert_eq!(
            overrides[0].moved,
            Some((at("2027-01-01 12:00:00"), at("2027-01-01 13:00:00")))
        );
        assert_eq!(
            (
                overrides[0].location.as_deref(),
                overrides[0].time_zone.as_deref()
            ),
            (Some("Washington"), Some("America/New_York"))
        );
        assert_eq!(overrides[1].status.as_deref(), Some("cancelled"));
        assert_eq!(overrides[1].moved, None);
        assert_eq!(
            (&overrides[1].location, &overrides[1].time_zone),
            (&None, &None)
        );
    }

    #[test]
    fn what_does_not_read_back_is_an_error() {
        assert!(participants("m", Some("{}")).is_err());
        assert!(participants("m", Some(r#"[["a","host","pending",null,"soon","A"]]"#)).is_err());
        assert!(participants("m", Some(r#"[["a","host","pending",null,null]]"#)).is_err());
        assert!(overrides(Some(r#"[["never",null,null,null,null,null]]"#)).is_err());
        assert!(overrides(Some(r#"[["2027-01-01 10:00:00",null,null,null]]"#)).is_err());
    }
}
