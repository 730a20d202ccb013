//! Wall-clock time in an IANA zone ↔ UTC. The wall-clock time is the truth; UTC is derived.
//!
//! A local time in a DST gap does not exist and is refused (with the nearest valid times); one
//! in an overlap occurs twice and needs a `Disambiguation`.

use super::stored::string_enum;
use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;

string_enum!(
    /// Which of two instants an ambiguous local time means.
    Disambiguation { Earlier => "earlier", Later => "later" }
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    /// In a gap: the clocks jump from `before` straight to `after`.
    #[error("{local} does not exist in {zone}: the clocks go from {} to {}; the nearest valid times are {} and {}",
        fmt_local(before), fmt_local(after), fmt_local(&(*before - TimeDelta::minutes(1))), fmt_local(after))]
    Nonexistent {
        local: String,
        zone: &'static str,
        /// The local time at which the gap starts (the last valid minute is one minute before).
        before: NaiveDateTime,
        /// The first valid local time after the gap.
        after: NaiveDateTime,
    },
    /// In an overlap: it occurs at both instants.
    #[error("{local} occurs twice in {zone}: at {} and at {}; say which with \"disambiguation\": \"earlier\" or \"later\"",
        earlier.format("%Y-%m-%dT%H:%M:%SZ"), later.format("%Y-%m-%dT%H:%M:%SZ"))]
    Ambiguous {
        local: String,
        zone: &'static str,
        earlier: DateTime<Utc>,
        later: DateTime<Utc>,
    },
}

/// `2027-03-28T10:00:00`.
pub fn fmt_local(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The years a meeting may fall in: enough for any archive and any schedule of contacts, and a
/// bound on what expanding a series can cost.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// `Err` naming the accepted years when `t` lies outside them.
pub fn check_year(t: &NaiveDateTime) -> Result<(), String> {
    if YEARS.contains(&chrono::Datelike::year(t)) {
        Ok(())
    } else {
        Err(format!(
            "'{}' is outside the years {} to {} that meetings may fall in",
            fmt_local(t),
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// Parses an ISO 8601 local date-time without offset: `2027-03-28T10:00` or `…T10:00:00`, in
/// the years 1900 to 2200. An offset or `Z` is refused: a wall-clock time travels with a zone
/// name, not an offset.
pub fn parse_local(raw: &str) -> Result<NaiveDateTime, String> {
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            check_year(&t)?;
            return Ok(t);
        }
    }
    let has_offset =
        raw.ends_with('Z') || raw.get(19..).is_some_and(|tail| tail.contains(['+', '-']));
    if has_offset {
        return Err(format!("'{raw}' has an offset: give the wall-clock time without one (e.g. 2027-03-28T10:00), with time_zone"));
    }
    Err(format!(
        "'{raw}' is not a local date-time like 2027-03-28T10:00 or 2027-03-28T10:00:00"
    ))
}

/// Parses an RFC 3339 instant (`2027-03-28T07:00:00Z` or with an offset) to UTC.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("'{raw}' is not an RFC 3339 instant like 2027-03-28T07:00:00Z"))
}

/// `2027-03-28T07:00:00Z`.
pub fn fmt_instant(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The instant a wall-clock time in `tz` stands for, by the rules for a single meeting.
pub fn resolve(
    local: NaiveDateTime,
    tz: Tz,
    disambiguation: Option<Disambiguation>,
) -> Result<DateTime<Utc>, LocalTimeError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            let (earlier, later) = if a <= b { (a, b) } else { (b, a) };
            match disambiguation {
                Some(Disambiguation::Earlier) => Ok(earlier),
                Some(Disambiguation::Later) => Ok(later),
                None => Err(LocalTimeError::Ambiguous {
                    local: fmt_local(&local),
                    zone: tz.name(),
                    earlier,
                    later,
                }),
            }
        }
        LocalResult::None => {
            let (before, after) = gap_around(local, tz);
            Err(LocalTimeError::Nonexistent {
                local: fmt_local(&local),
                zone: tz.name(),
                before,
                after,
            })
        }
    }
}

/// The instant of a wall-clock time inside a recurring series (RFC 5545 §3.3.10): a time in a
/// gap is shifted forward by the length of the gap (it is read with the offset in force before
/// the gap), and a time that occurs twice is the first of the two.
pub fn resolve_in_series(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.with_timezone(&Utc).min(b.with_timezone(&Utc)),
        LocalResult::None => {
            let (gap_start, _) = gap_around(local, tz);
            let last_before = gap_start - TimeDelta::minutes(1);
            let offset_before = match tz.from_local_datetime(&last_before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(_, t) => {
                    TimeDelta::seconds(i64::from(chrono::Offset::fix(t.offset()).local_minus_utc()))
                }
                LocalResult::None => TimeDelta::zero(),
            };
            (local - offset_before).and_utc()
        }
    }
}

/// For a local time in a gap: where the gap starts and the first valid local time after it.
/// (Gaps are at most a day long: Pacific/Apia skipped 2011-12-30 entirely.)
fn gap_around(local: NaiveDateTime, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
    let exists = |t: NaiveDateTime| !matches!(tz.from_local_datetime(&t), LocalResult::None);
    let minute = TimeDelta::minutes(1);
    let floor = local - TimeDelta::seconds(i64::from(chrono::Timelike::second(&local)));
    let mut after = floor + minute;
    for _ in 0..(26 * 60) {
        if exists(after) {
            break;
        }
        after += minute;
    }
    let mut start = floor;
    for _ in 0..(26 * 60) {
        if exists(start - minute) {
            break;
        }
        start -= minute;
    }
    (start, after)
}

/// The wall-clock time of an instant in `tz`.
pub fn to_local(instant: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    instant.with_timezone(&tz).naive_local()
}

/// The wall-clock time of an instant in `tz`, with the disambiguation that gives the instant back
/// through `resolve` (None unless that time occurs twice).
pub fn wall_clock(instant: DateTime<Utc>, tz: Tz) -> (NaiveDateTime, Option<Disambiguation>) {
    let local = to_local(instant, tz);
    let disambiguation = match resolve(local, tz, None) {
        Err(LocalTimeError::Ambiguous { later, .. }) if later == instant => {
            Some(Disambiguation::Later)
        }
        Err(LocalTimeError::Ambiguous { .. }) => Some(Disambiguation::Earlier),
        _ => None,
    };
    (local, disambiguation)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Offset};
    use proptest::prelude::*;

    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        parse_local(s).unwrap()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    #[test]
    fn parses_local_times_without_offsets_only() {
        assert_eq!(fmt_local(&local("2027-03-28T10:00")), "2027-03-28T10:00:00");
        assert_eq!(
            fmt_local(&local("2027-03-28T10:00:30")),
            "2027-03-28T10:00:30"
        );
        for bad in [
            "2027-03-28T10:00Z",
            "2027-03-28T10:00:00+03:00",
            "2027-03-28",
            "28/03/2027 10:00",
            "2027-02-30T10:00",
            "",
        ] {
            assert!(parse_local(bad).is_err(), "{bad}");
        }
        assert!(parse_local("2027-03-28T10:00:00Z")
            .unwrap_err()
            .contains("offset"));
    }

    #[test]
    fn ordinary_times_resolve() {
        assert_eq!(
            resolve(local("2027-03-28T10:00"), tz("Europe/Moscow"), None).unwrap(),
            utc("2027-03-28T07:00:00Z")
        );
        assert_eq!(
            resolve(local("2027-07-01T10:00"), tz("America/New_York"), None).unwrap(),
            utc("2027-07-01T14:00:00Z")
        );
    }

    #[test]
    fn a_gap_is_refused_with_the_nearest_valid_times() {
        // Europe/Zurich (Geneva keeps Zurich time), 2027-03-28: 02:00 → 03:00.
        let err = resolve(
            local("2027-03-28T02:30"),
            tz("Europe/Zurich"),
            Some(Disambiguation::Earlier),
        )
        .unwrap_err();
        match &err {
            LocalTimeError::Nonexistent { before, after, .. } => {
                assert_eq!(fmt_local(before), "2027-03-28T02:00:00");
                assert_eq!(fmt_local(after), "2027-03-28T03:00:00");
            }
            other => panic!("{other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("2027-03-28T01:59:00") && message.contains("2027-03-28T03:00:00"),
            "{message}"
        );
    }

    #[test]
    fn an_overlap_needs_disambiguation() {
        // America/New_York, 2027-11-07: 02:00 EDT → 01:00 EST; 01:30 happens twice.
        let t = local("2027-11-07T01:30");
        let z = tz("America/New_York");
        assert!(matches!(
            resolve(t, z, None),
            Err(LocalTimeError::Ambiguous { .. })
        ));
        assert_eq!(
            resolve(t, z, Some(Disambiguation::Earlier)).unwrap(),
            utc("2027-11-07T05:30:00Z")
        );
        assert_eq!(
            resolve(t, z, Some(Disambiguation::Later)).unwrap(),
            utc("2027-11-07T06:30:00Z")
        );
    }

    #[test]
    fn unusual_zones() {
        // Lord Howe: 30-minute DST. 2027-10-03 02:00 → 02:30.
        let lh = tz("Australia/Lord_Howe");
        assert!(matches!(
            resolve(local("2027-10-03T02:15"), lh, None),
            Err(LocalTimeError::Nonexistent { .. })
        ));
        assert!(resolve(local("2027-10-03T02:30"), lh, None).is_ok());
        // 2027-04-04 02:00 → 01:30: 01:45 twice, 30 minutes apart.
        let Err(LocalTimeError::Ambiguous { earlier, later, .. }) =
            resolve(local("2027-04-04T01:45"), lh, None)
        else {
            panic!("expected an overlap")
        };
        assert_eq!(later - earlier, TimeDelta::minutes(30));

        // Troll: 2-hour DST (+00 → +02) on the last Sunday of March at 01:00 UTC.
        let troll = tz("Antarctica/Troll");
        assert!(matches!(
            resolve(local("2027-03-28T02:00"), troll, None),
            Err(LocalTimeError::Nonexistent { .. })
        ));
        let Err(LocalTimeError::Ambiguous { earlier, later, .. }) =
            resolve(local("2027-10-31T01:30"), troll, None)
        else {
            panic!("expected an overlap")
        };
        assert_eq!(later - earlier, TimeDelta::hours(2));

        // Dublin: "negative DST" in the tz data (IST is standard, GMT the winter offset); the
        // wall clock still jumps 01:00 → 02:00 in March and repeats 01:xx in October.
        let dublin = tz("Europe/Dublin");
        assert!(matches!(
            resolve(local("2027-03-28T01:30"), dublin, None),
            Err(LocalTimeError::Nonexistent { .. })
        ));
        assert!(matches!(
            resolve(local("2027-10-31T01:30"), dublin, None),
            Err(LocalTimeError::Ambiguous { .. })
        ));
        assert_eq!(
            resolve(local("2027-07-01T10:00"), dublin, None).unwrap(),
            utc("2027-07-01T09:00:00Z")
        );

        // Rules that changed: Moscow kept summer time all year in 2011 and moved back to +03
        // in 2014; Tehran abolished DST from 2023.
        let moscow = tz("Europe/Moscow");
        assert_eq!(
            resolve(local("2012-01-15T10:00"), moscow, None).unwrap(),
            utc("2012-01-15T06:00:00Z")
        );
        assert_eq!(
            resolve(local("2015-01-15T10:00"), moscow, None).unwrap(),
            utc("2015-01-15T07:00:00Z")
        );
        let tehran = tz("Asia/Tehran");
        assert!(matches!(
            resolve(local("2022-03-22T00:30"), tehran, None),
            Err(LocalTimeError::Nonexistent { .. })
        ));
        assert!(
            resolve(local("2027-03-22T00:30"), tehran, None).is_ok(),
            "no DST in Iran since 2023"
        );
        assert_eq!(
            resolve(local("2027-07-01T10:00"), tehran, None).unwrap(),
            utc("2027-07-01T06:30:00Z")
        );
    }

    /// Every zone, 2020–2035: find each offset change by daily sampling and bisection, then
    /// check that the locals it skips are refused as nonexistent and the locals it repeats are
    /// ambiguous with exactly the two instants the offsets imply.
    #[test]
    fn gaps_and_overlaps_in_every_zone_2020_to_2035() {
        let start = NaiveDate::from_ymd_opt(2020, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let end = NaiveDate::from_ymd_opt(2036, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let offset = |z: Tz, t: DateTime<Utc>| -> TimeDelta {
            TimeDelta::seconds(i64::from(
                z.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ))
        };
        let mut transitions = 0;
        for z in chrono_tz::TZ_VARIANTS {
            let mut t = start;
            while t < end {
                let next = t + TimeDelta::days(1);
                let (o1, o2) = (offset(z, t), offset(z, next));
                if o1 != o2 {
                    // Bisect to the first instant with the new offset.
                    let (mut lo, mut hi) = (t, next);
                    while hi - lo > TimeDelta::seconds(1) {
                        let mid = lo + (hi - lo) / 2;
                        if offset(z, mid) == o1 {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    let at = hi;
                    transitions += 1;
                    let local_before = (at + o1).naive_utc();
                    let local_after = (at + o2).naive_utc();
                    if o2 > o1 {
                        let inside = local_before + (o2 - o1) / 2;
                        match resolve(inside, z, None) {
                            Err(LocalTimeError::Nonexistent { before, after, .. }) => {
                                assert_eq!(before, local_before, "{} at {at}", z.name());
                                assert_eq!(after, local_after, "{} at {at}", z.name());
                            }
                            other => panic!("{} {inside}: expected a gap, got {other:?}", z.name()),
                        }
                        assert!(
                            resolve(local_after, z, None).is_ok(),
                            "{} {local_after}",
                            z.name()
                        );
                    } else {
                        let inside = local_after + (o1 - o2) / 2;
                        let expected_earlier = (inside - o1).and_utc();
                        let expected_later = (inside - o2).and_utc();
                        assert_eq!(
                            resolve(inside, z, Some(Disambiguation::Earlier)).unwrap(),
                            expected_earlier,
                            "{} {inside}",
                            z.name()
                        );
                        assert_eq!(
                            resolve(inside, z, Some(Disambiguation::Later)).unwrap(),
                            expected_later,
                            "{} {inside}",
                            z.name()
                        );
                        assert!(
                            matches!(
                                resolve(inside, z, None),
                                Err(LocalTimeError::Ambiguous { .. })
                            ),
                            "{} {inside}",
                            z.name()
                        );
                    }
                }
                t = next;
            }
        }
        assert!(transitions > 5_000, "only {transitions} transitions found");
    }

    #[test]
    fn inside_a_series_gaps_shift_forward_and_overlaps_take_the_first() {
        let ny = tz("America/New_York");
        // 2027-03-14: 02:00 → 03:00; 02:30 becomes 03:30 EDT.
        let shifted = resolve_in_series(local("2027-03-14T02:30"), ny);
        assert_eq!(shifted, utc("2027-03-14T07:30:00Z"));
        assert_eq!(fmt_local(&to_local(shifted, ny)), "2027-03-14T03:30:00");
        assert_eq!(
            resolve_in_series(local("2027-11-07T01:30"), ny),
            utc("2027-11-07T05:30:00Z")
        );
        // Santiago's gap starts at midnight: 2027-09-05 00:00 → 01:00.
        let santiago = tz("America/Santiago");
        let shifted = resolve_in_series(local("2027-09-05T00:30"), santiago);
        assert_eq!(
            fmt_local(&to_local(shifted, santiago)),
            "2027-09-05T01:30:00"
        );
        assert_eq!(
            resolve_in_series(local("2027-07-01T10:00"), ny),
            resolve(local("2027-07-01T10:00"), ny, None).unwrap()
        );
    }

    proptest! {
        /// Wall-clock → UTC → wall-clock is the identity for every valid local time, and
        /// UTC → wall-clock → UTC returns the instant (choosing the right side of an overlap).
        #[test]
        fn round_trips(seconds in 1_577_836_800_i64..2_082_758_400, zone in 0..chrono_tz::TZ_VARIANTS.len()) {
            let z = chrono_tz::TZ_VARIANTS[zone];
            let instant = DateTime::from_timestamp(seconds, 0).unwrap();
            let wall = to_local(instant, z);
            let back = match resolve(wall, z, None) {
                Ok(t) => t,
                Err(LocalTimeError::Ambiguous { earlier, later, .. }) => {
                    prop_assert!(instant == earlier || instant == later);
                    let side = if instant == earlier { Disambiguation::Earlier } else { Disambiguation::Later };
                    resolve(wall, z, Some(side)).unwrap()
                }
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            };
            prop_assert_eq!(back, instant);
            prop_assert_eq!(to_local(back, z), wall);
        }
    }

    proptest! {
        /// Any instant's wall-clock time and disambiguation resolve back to that instant.
        #[test]
        fn wall_clock_resolves_back(seconds in 1_700_000_000_i64..2_200_000_000, zone in 0_usize..6) {
            let name = ["America/New_York", "Australia/Lord_Howe", "Europe/Dublin", "Antarctica/Troll", "Asia/Tehran", "America/Santiago"][zone];
            let instant = DateTime::from_timestamp(seconds / 60 * 60, 0).unwrap();
            let (local, disambiguation) = wall_clock(instant, tz(name));
            prop_assert_eq!(resolve(local, tz(name), disambiguation), Ok(instant));
        }
    }

    #[test]
    fn wall_clock_names_the_second_instant_of_an_overlap() {
        let ny = tz("America/New_York");
        assert_eq!(
            wall_clock(utc("2027-11-07T06:15:00Z"), ny),
            (local("2027-11-07T01:15"), Some(Disambiguation::Later))
        );
        assert_eq!(
            wall_clock(utc("2027-11-07T05:15:00Z"), ny),
            (local("2027-11-07T01:15"), Some(Disambiguation::Earlier))
        );
        assert_eq!(
            wall_clock(utc("2027-11-07T15:00:00Z"), ny),
            (local("2027-11-07T10:00"), None)
        );
    }

    #[test]
    fn years_are_bounded() {
        assert!(parse_local("1900-01-01T00:00").is_ok());
        assert!(parse_local("2200-12-31T23:59").is_ok());
        for raw in [
            "9999-12-20T10:00",
            "1899-12-31T23:59",
            "2201-01-01T00:00",
            "0001-01-01T00:00",
        ] {
            let message = parse_local(raw).unwrap_err();
            assert!(message.contains("1900 to 2200"), "{raw}: {message}");
        }
    }
}
