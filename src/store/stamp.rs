//! Timestamps read back from SQLite without chrono's format machinery.
//!
//! SQLite keeps a timestamp as text; diesel reads it by trying up to 18 `strftime` formats in
//! turn with chrono's general parser — a tenth of a window read, for rows with eight
//! timestamps each. What this application writes is always `YYYY-MM-DD HH:MM:SS[.ffffff]`
//! (diesel's own encoding), so that shape is read directly; anything else (a row written by
//! hand, an older encoding) falls back to diesel's reading, so no stored value stops being
//! readable. PostgreSQL sends binary timestamps: diesel's reading is kept there.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

use super::conn::{MultiBackend, MultiRawValue};

/// A stored timestamp (deserialised as, then converted into, a `NaiveDateTime` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct Stamp(NaiveDateTime);

impl From<Stamp> for NaiveDateTime {
    fn from(stamp: Stamp) -> Self {
        stamp.0
    }
}

/// A nullable stored timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct MaybeStamp(Option<NaiveDateTime>);

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(stamp: MaybeStamp) -> Self {
        stamp.0
    }
}

impl FromSql<Timestamp, MultiBackend> for Stamp {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        match value {
            MultiRawValue::Sqlite(mut raw) => match parse(raw.read_text()) {
                Some(at) => Ok(Self(at)),
                None => <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(raw).map(Self),
            },
            MultiRawValue::Postgres(raw) => {
                <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(raw).map(Self)
            }
        }
    }
}

impl FromSql<diesel::sql_types::Nullable<Timestamp>, MultiBackend> for MaybeStamp {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        <Stamp as FromSql<Timestamp, MultiBackend>>::from_sql(value).map(|s| Self(Some(s.0)))
    }

    fn from_nullable_sql(value: Option<MultiRawValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(value) => Self::from_sql(value),
            None => Ok(Self(None)),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits; None for anything else
/// (including impossible dates and times).
pub fn parse(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(0..4)?).ok()?,
        digits(5..7)?,
        digits(8..10)?,
    )?;
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            let n = digits(20..b.len())?;
            n * 10u32.pow(u32::try_from(9 - fraction.len()).ok()?)
        }
        _ => return None,
    };
    let time =
        NaiveTime::from_hms_nano_opt(digits(11..13)?, digits(14..16)?, digits(17..19)?, nanos)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn what_diesel_writes_is_read_back() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%F %T%.f").unwrap();
        for text in [
            "2027-03-01 06:15:00",
            "2026-12-03 10:39:22.117295",
            "2026-12-03 10:39:22.1",
            "2026-12-03 10:39:22.123456789",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59.999999",
            "2024-02-29 12:00:00",
        ] {
            assert_eq!(parse(text), Some(at(text)), "{text}");
        }
    }

    #[test]
    fn other_shapes_are_left_to_the_fallback() {
        for text in [
            "",
            "2027-03-01",
            "2027-03-01T06:15:00",
            "2027-03-01 06:15:00Z",
            "2027-03-01 06:15:00+01:00",
            "2027-03-01 06:15",
            "2027-03-01 06:15:00.",
            "2027-03-01 06:15:00.1234567890",
            "2027-13-01 06:15:00",
            "2023-02-29 06:15:00",
            "2027-03-01 24:00:00",
            "2027-03-01 06:60:00",
            "+027-03-01 06:15:00",
            "2027-03-01 06:15:0x",
            "２027-03-01 06:15:00",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    /// Through a real SQLite connection: the fast shape, and other shapes diesel reads (here
    /// written by hand) through the fallback; NULL as None.
    #[test]
    fn stored_text_of_any_shape_is_read() {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Timestamp, deserialize_as = Stamp)]
            at: NaiveDateTime,
            #[diesel(sql_type = diesel::sql_types::Nullable<Timestamp>, deserialize_as = MaybeStamp)]
            maybe: Option<NaiveDateTime>,
        }
        let dir = tempfile::tempdir().unwrap();
        let url = crate::config::DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("t.db").display()
        ))
        .unwrap();
        let mut conn = crate::store::Connector::new(url).connect().unwrap();
        let expected = NaiveDateTime::parse_from_str("2027-03-01 06:15:00", "%F %T").unwrap();
        for (at, maybe) in [
            ("'2027-03-01 06:15:00'", "NULL"),
            ("'2027-03-01T06:15:00Z'", "'2027-03-01 06:15'"),
            ("'2027-03-01 06:15:00+00:00'", "'2027-03-01T06:15:00.000'"),
        ] {
            let row: Row = diesel::sql_query(format!("SELECT {at} AS at, {maybe} AS maybe"))
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(row.at, expected, "{at}");
            assert_eq!(row.maybe, (maybe != "NULL").then_some(expected), "{maybe}");
        }
    }

    /// Seconds from 0001-01-01 to 9999-12-31.
    const YEARS_1_TO_9999: std::ops::Range<i64> = -62_135_596_800..253_402_300_799;

    /// Any digits in the shape that is read directly.
    const SHAPE: &str = "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?";

    proptest! {
        /// Every instant, as diesel encodes it for SQLite, reads back unchanged.
        #[test]
        fn every_encoded_instant_reads_back(secs in YEARS_1_TO_9999, micros in 0u32..1_000_000) {
            let at = chrono::DateTime::from_timestamp(secs, micros * 1000).unwrap().naive_utc();
            let text = at.format("%F %T%.f").to_string();
            prop_assert_eq!(parse(&text), Some(at));
        }

        /// Whatever the text, when the fast reading answers, chrono reads the same (what it
        /// leaves, such as a leap second, goes to the fallback).
        #[test]
        fn never_disagrees_with_chrono(text in SHAPE) {
            if let Some(fast) = parse(&text) {
                let chrono = NaiveDateTime::parse_from_str(&text, "%F %T%.f").ok();
                prop_assert_eq!(Some(fast), chrono);
            }
        }
    }
}
