//! Expansion checked against hand-worked cases and properties.

use proptest::prelude::*;

use super::*;

fn tz(name: &str) -> Tz {
    name.parse().unwrap()
}

fn local(s: &str) -> NaiveDateTime {
    time::parse_local(s).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    time::parse_instant(s).unwrap()
}

fn series(rule: &str, zone: &str, start: &str, minutes: i64) -> Series {
    Series::new(
        Rule::parse(rule).unwrap(),
        tz(zone),
        local(start),
        TimeDelta::minutes(minutes),
    )
    .unwrap()
}

fn locals(instances: &[Instance], zone: &str) -> Vec<String> {
    instances
        .iter()
        .map(|i| time::fmt_local(&time::to_local(i.start_utc, tz(zone))))
        .collect()
}

#[test]
fn refusals_name_the_part() {
    let cases = [
        ("FREQ=HOURLY", "FREQ"),
        ("FREQ=SECONDLY", "FREQ"),
        ("INTERVAL=2", "FREQ"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=5;UNTIL=20271231T000000Z", "COUNT"),
        ("FREQ=DAILY;BYHOUR=10", "BYHOUR"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ"),
        ("FREQ=DAILY;UNTIL=20271231T000000", "UNTIL"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=WEEKLY;BYDAY=XX", "recurrence"),
        ("FREQ=DAILY\nRRULE:FREQ=WEEKLY", "recurrence"),
        ("", "recurrence"),
        ("FREQ", "recurrence"),
    ];
    for (rule, part) in cases {
        assert_eq!(Rule::parse(rule).unwrap_err().part, part, "{rule:?}");
    }
    for good in [
        "FREQ=WEEKLY;BYDAY=TU;COUNT=10",
        "RRULE:FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20301231T235959Z",
        "FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=15",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;WKST=MO",
        "FREQ=DAILY;UNTIL=20271231",
    ] {
        assert!(Rule::parse(good).is_ok(), "{good}");
    }
}

#[test]
fn weekly_new_york_keeps_ten_oclock_across_both_dst_changes() {
    let s = series(
        "FREQ=WEEKLY;BYDAY=TU",
        "America/New_York",
        "2027-03-02T10:00",
        60,
    );
    let got = s
        .between(utc("2027-03-01T00:00:00Z"), utc("2027-03-24T00:00:00Z"))
        .unwrap();
    let starts: Vec<String> = got
        .iter()
        .map(|i| time::fmt_instant(&i.start_utc))
        .collect();
    // DST starts 2027-03-14: 15:00Z before, 14:00Z after.
    assert_eq!(
        starts,
        [
            "2027-03-02T15:00:00Z",
            "2027-03-09T15:00:00Z",
            "2027-03-16T14:00:00Z",
            "2027-03-23T14:00:00Z"
        ]
    );
    let autumn = s
        .between(utc("2027-10-25T00:00:00Z"), utc("2027-11-17T00:00:00Z"))
        .unwrap();
    assert_eq!(
        locals(&autumn, "America/New_York"),
        [
            "2027-10-26T10:00:00",
            "2027-11-02T10:00:00",
            "2027-11-09T10:00:00",
            "2027-11-16T10:00:00"
        ]
    );
    assert_eq!(
        time::fmt_instant(&autumn[1].start_utc),
        "2027-11-02T14:00:00Z"
    );
    assert_eq!(
        time::fmt_instant(&autumn[2].start_utc),
        "2027-11-09T15:00:00Z"
    );
}

#[test]
fn other_zones_keep_the_wall_clock() {
    for (zone, start) in [
        ("Europe/London", "2027-03-22T09:30"),
        ("Australia/Lord_Howe", "2027-03-29T09:30"),
        ("Asia/Tehran", "2022-03-14T09:30"),
    ] {
        let s = series("FREQ=WEEKLY", zone, start, 45);
        let from = time::resolve(local(start), tz(zone), None).unwrap();
        let got = s.between(from, from + TimeDelta::days(60)).unwrap();
        assert!(got.len() >= 8);
        assert!(
            got.iter()
                .all(|i| i.start_local.time() == local(start).time()),
            "{zone}"
        );
        let offsets: std::collections::BTreeSet<i64> = got
            .iter()
            .map(|i| (i.start_local - i.start_utc.naive_utc()).num_minutes())
            .collect();
        assert!(
            offsets.len() == 2,
            "{zone}: the UTC time moves with DST: {offsets:?}"
        );
    }
}

#[test]
fn monthly_last_friday() {
    let s = series(
        "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4",
        "Europe/Paris",
        "2027-01-29T15:00",
        90,
    );
    let got = s
        .between(utc("2027-01-01T00:00:00Z"), utc("2027-12-31T00:00:00Z"))
        .unwrap();
    assert_eq!(
        locals(&got, "Europe/Paris"),
        [
            "2027-01-29T15:00:00",
            "2027-02-26T15:00:00",
            "2027-03-26T15:00:00",
            "2027-04-30T15:00:00"
        ]
    );
    assert_eq!(s.last_end().unwrap(), Some(utc("2027-04-30T14:30:00Z")));
}

#[test]
fn a_midnight_gap_shifts_instead_of_losing_the_occurrence() {
    // Santiago: 2027-09-05 00:00 → 01:00. A daily 00:30 meeting happens at 01:30 that day.
    let s = series(
        "FREQ=DAILY;COUNT=5",
        "America/Santiago",
        "2027-09-03T00:30",
        30,
    );
    let got = s
        .between(utc("2027-09-01T00:00:00Z"), utc("2027-09-10T00:00:00Z"))
        .unwrap();
    assert_eq!(got.len(), 5, "COUNT counts the shifted occurrence");
    assert_eq!(locals(&got, "America/Santiago")[2], "2027-09-05T01:30:00");
}

#[test]
fn until_is_an_instant_or_a_local_date() {
    let s = series(
        "FREQ=DAILY;UNTIL=20270105T090000Z",
        "Europe/Berlin",
        "2027-01-01T10:00",
        60,
    );
    let got = s
        .between(utc("2026-12-31T00:00:00Z"), utc("2027-02-01T00:00:00Z"))
        .unwrap();
    assert_eq!(
        got.len(),
        5,
        "10:00 Berlin is 09:00Z: the 5th is exactly at UNTIL"
    );
    let s = series(
        "FREQ=DAILY;UNTIL=20270105",
        "Pacific/Auckland",
        "2027-01-01T10:00",
        60,
    );
    assert_eq!(
        s.between(utc("2026-12-30T00:00:00Z"), utc("2027-02-01T00:00:00Z"))
            .unwrap()
            .len(),
        5
    );
    assert_eq!(s.last_end().unwrap(), Some(utc("2027-01-04T22:00:00Z")));
    let unbounded = series("FREQ=YEARLY", "UTC", "2027-01-01T10:00", 60);
    assert_eq!(unbounded.last_end().unwrap(), None);
    assert_eq!(
        unbounded
            .between(utc("2100-01-01T00:00:00Z"), utc("2100-12-31T00:00:00Z"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn windows_are_bounded() {
    let s = series("FREQ=DAILY", "UTC", "2027-01-01T10:00", 60);
    assert_eq!(
        s.between(utc("2027-01-01T00:00:00Z"), utc("2028-01-01T00:00:00Z"))
            .unwrap()
            .len(),
        365
    );
    assert!(s
        .between(utc("2027-01-01T00:00:00Z"), utc("2029-01-01T00:00:00Z"))
        .is_err());
    let too_long = Series::new(
        Rule::parse("FREQ=DAILY;UNTIL=21270101T000000Z").unwrap(),
        tz("UTC"),
        local("2027-01-01T10:00"),
        TimeDelta::hours(1),
    )
    .unwrap();
    assert_eq!(too_long.last_end().unwrap_err().part, "UNTIL");
}

#[test]
fn occurrences_are_found_by_original_start() {
    let s = series(
        "FREQ=WEEKLY;BYDAY=WE",
        "Europe/Moscow",
        "2027-03-03T10:00",
        60,
    );
    assert!(s
        .occurrence_at(utc("2027-03-17T07:00:00Z"))
        .unwrap()
        .is_some());
    assert!(s
        .occurrence_at(utc("2027-03-17T08:00:00Z"))
        .unwrap()
        .is_none());
    assert!(s
        .occurrence_at(utc("2027-03-18T07:00:00Z"))
        .unwrap()
        .is_none());
}

#[test]
fn timelines_apply_overrides() {
    let s = series("FREQ=WEEKLY;COUNT=4", "UTC", "2027-01-04T10:00", 60);
    let moved_original = utc("2027-01-11T10:00:00Z");
    let cancelled_original = utc("2027-01-18T10:00:00Z");
    let timeline = Timeline {
        status: MeetingStatus::Confirmed,
        start_utc: utc("2027-01-04T10:00:00Z"),
        end_utc: utc("2027-01-04T11:00:00Z"),
        series: Some(s),
        overrides: vec![
            Override {
                original_start_utc: moved_original,
                moved: Some((utc("2026-12-30T15:00:00Z"), utc("2026-12-30T16:00:00Z"))),
                status: None,
            },
            Override {
                original_start_utc: cancelled_original,
                moved: None,
                status: Some(MeetingStatus::Cancelled),
            },
        ],
    };
    let all = timeline
        .between(utc("2026-12-01T00:00:00Z"), utc("2027-02-01T00:00:00Z"))
        .unwrap();
    let summary: Vec<(String, String, MeetingStatus)> = all
        .iter()
        .map(|o| {
            (
                time::fmt_instant(&o.recurrence_id.unwrap()),
                time::fmt_instant(&o.start_utc),
                o.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "2027-01-11T10:00:00Z".into(),
                "2026-12-30T15:00:00Z".into(),
                MeetingStatus::Confirmed
            ),
            (
                "2027-01-04T10:00:00Z".into(),
                "2027-01-04T10:00:00Z".into(),
                MeetingStatus::Confirmed
            ),
            (
                "2027-01-18T10:00:00Z".into(),
                "2027-01-18T10:00:00Z".into(),
                MeetingStatus::Cancelled
            ),
            (
                "2027-01-25T10:00:00Z".into(),
                "2027-01-25T10:00:00Z".into(),
                MeetingStatus::Confirmed
            ),
        ]
    );
    // The moved occurrence widens the span backwards; the count bounds it forwards.
    assert_eq!(
        timeline.span().unwrap(),
        (utc("2026-12-30T15:00:00Z"), utc("2027-01-25T11:00:00Z"))
    );
    // Moved out of a window, an occurrence leaves it; moved into one, it enters.
    assert!(timeline
        .between(utc("2027-01-11T00:00:00Z"), utc("2027-01-12T00:00:00Z"))
        .unwrap()
        .is_empty());
    let cancelled = Timeline {
        status: MeetingStatus::Cancelled,
        ..timeline
    };
    assert!(cancelled
        .between(utc("2026-12-01T00:00:00Z"), utc("2027-02-01T00:00:00Z"))
        .unwrap()
        .iter()
        .all(|o| o.status == MeetingStatus::Cancelled));
}

proptest! {
    /// Every occurrence keeps DTSTART's wall-clock time unless it fell in a gap (then it is
    /// later by the gap); occurrences strictly increase; COUNT is honoured.
    #[test]
    fn invariants(
        zone in 0..chrono_tz::TZ_VARIANTS.len(),
        day in 0_i64..3_000,
        minute in 0_i64..(24 * 60),
        freq in prop::sample::select(vec!["DAILY", "WEEKLY", "MONTHLY"]),
        count in 1_u32..60,
    ) {
        let z = chrono_tz::TZ_VARIANTS[zone];
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
            + TimeDelta::days(day) + TimeDelta::minutes(minute);
        let Ok(first) = time::resolve(start, z, Some(time::Disambiguation::Earlier)) else { return Ok(()) };
        let rule = Rule::parse(&format!("FREQ={freq};COUNT={count}")).unwrap();
        let s = Series::new(rule, z, start, TimeDelta::minutes(30)).unwrap();
        let mut all = Vec::new();
        let mut from = first - TimeDelta::days(1);
        // A monthly series on the 31st skips short months: 59 of them take 8.4 years.
        while all.len() < count as usize && from < first + TimeDelta::days(366 * 10) {
            let to = from + TimeDelta::days(360);
            all.extend(s.between(from, to).unwrap().into_iter().filter(|i| i.start_utc >= from));
            from = to;
        }
        prop_assert_eq!(all.len(), count as usize);
        prop_assert_eq!(all[0].start_utc, first);
        for pair in all.windows(2) {
            prop_assert!(pair[0].start_utc < pair[1].start_utc);
        }
        for i in &all {
            let wall = time::to_local(i.start_utc, z);
            if wall.time() != start.time() {
                // Only a gap may move it, and only later the same day or just after midnight.
                let in_gap = matches!(time::resolve(i.start_local, z, None), Err(time::LocalTimeError::Nonexistent { .. }));
                prop_assert!(in_gap, "{} moved off its wall-clock time without a gap", i.start_local);
                prop_assert!(wall > i.start_local && wall - i.start_local <= TimeDelta::hours(24));
            }
        }
        prop_assert_eq!(s.last_end().unwrap(), all.last().map(|i| i.end_utc));

        // UNTIL at the k-th occurrence's instant yields exactly the first k.
        let k = (count as usize).div_ceil(2);
        let until = all[k - 1].start_utc.format("%Y%m%dT%H%M%SZ");
        let bounded = Series::new(Rule::parse(&format!("FREQ={freq};UNTIL={until}")).unwrap(), z, start, TimeDelta::minutes(30)).unwrap();
        let mut got = Vec::new();
        let mut from = first - TimeDelta::days(1);
        while from < all[k - 1].end_utc + TimeDelta::days(1) {
            let to = from + TimeDelta::days(360);
            got.extend(bounded.between(from, to).unwrap().into_iter().filter(|i| i.start_utc >= from));
            from = to;
        }
        prop_assert_eq!(&got[..], &all[..k]);
        prop_assert_eq!(bounded.last_end().unwrap(), Some(all[k - 1].end_utc));
    }
}
