use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;
use crate::domain::delegation::{WorkingHours, WorkingHoursJson};
use crate::domain::recurrence::Rule;
use crate::domain::time::to_local;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("local")
}

fn hours(days: &[&str], ranges: &[(&str, &str)]) -> WorkingHours {
    let json: WorkingHoursJson = days
        .iter()
        .map(|d| {
            let r = ranges
                .iter()
                .map(|(a, b)| [a.to_string(), b.to_string()])
                .collect();
            (d.to_string(), r)
        })
        .collect();
    WorkingHours::parse(&json).expect("hours")
}

const WEEK: [&str; 5] = ["mon", "tue", "wed", "thu", "fri"];

fn party(tz: Tz, hours: &WorkingHours, window: Interval) -> Party {
    let offsets = Offsets::of(tz, window.0, window.1);
    Party {
        zone: tz,
        working: working_intervals(hours, &offsets, window),
    }
}

#[test]
fn a_gap_shortens_a_local_range_and_a_repeated_hour_lengthens_it() {
    let ny = Tz::America__New_York;
    let spring = Offsets::of(ny, utc("2027-03-13T00:00:00Z"), utc("2027-03-16T00:00:00Z"));
    let spans = spring.local_span(local("2027-03-14T01:00"), local("2027-03-14T04:00"));
    let length: TimeDelta = spans.iter().map(|(s, e)| *e - *s).sum();
    assert_eq!(length, TimeDelta::hours(2));
    assert_eq!(
        spans.first().map(|s| s.0),
        Some(utc("2027-03-14T06:00:00Z"))
    );
    let autumn = Offsets::of(ny, utc("2027-11-06T00:00:00Z"), utc("2027-11-09T00:00:00Z"));
    let spans = autumn.local_span(local("2027-11-07T00:00"), local("2027-11-07T03:00"));
    assert_eq!(
        merge(spans),
        vec![(utc("2027-11-07T04:00:00Z"), utc("2027-11-07T08:00:00Z"))]
    );
    // A whole day: 23 hours in spring, 25 in autumn.
    let day_length = |o: &Offsets, d: &str| -> TimeDelta {
        o.day(NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date"))
            .iter()
            .map(|(s, e)| *e - *s)
            .sum()
    };
    assert_eq!(day_length(&spring, "2027-03-14"), TimeDelta::hours(23));
    assert_eq!(day_length(&autumn, "2027-11-07"), TimeDelta::hours(25));
}

#[test]
fn half_and_quarter_hour_zones() {
    let window = (utc("2027-10-01T00:00:00Z"), utc("2027-10-06T00:00:00Z"));
    let office = hours(&WEEK, &[("09:00", "17:00")]);
    // Kathmandu is UTC+05:45: 09:00 there is 03:15 UTC.
    let kathmandu = party(Tz::Asia__Kathmandu, &office, window);
    assert!(kathmandu
        .working
        .contains(&(utc("2027-10-01T03:15:00Z"), utc("2027-10-01T11:15:00Z"))));
    // Lord Howe moves from +10:30 to +11:00 at 02:00 on Sunday 3 October 2027.
    let howe = party(Tz::Australia__Lord_Howe, &office, window);
    assert!(howe
        .working
        .contains(&(utc("2027-09-30T22:30:00Z"), utc("2027-10-01T06:30:00Z"))));
    assert!(howe
        .working
        .contains(&(utc("2027-10-03T22:00:00Z"), utc("2027-10-04T06:00:00Z"))));
}

#[test]
fn a_lunch_break_splits_the_day() {
    let window = (utc("2027-02-01T00:00:00Z"), utc("2027-02-02T00:00:00Z"));
    let split = hours(&WEEK, &[("09:00", "13:00"), ("14:00", "18:00")]);
    let geneva = party(Tz::Europe__Zurich, &split, window);
    let lunch = (utc("2027-02-01T12:00:00Z"), utc("2027-02-01T13:00:00Z"));
    assert_eq!(covered(&geneva.working, lunch), TimeDelta::zero());
    let morning = (utc("2027-02-01T08:00:00Z"), utc("2027-02-01T12:00:00Z"));
    assert_eq!(covered(&geneva.working, morning), TimeDelta::hours(4));
}

fn plain(window: Interval, minutes: i64, limit: usize, rank: Rank) -> Search {
    Search {
        window,
        earliest: window.0,
        duration: TimeDelta::minutes(minutes),
        step: TimeDelta::minutes(15),
        limit,
        allowance: TimeDelta::zero(),
        rank,
    }
}

#[test]
fn the_earliest_common_hour_skips_busy_times_and_the_notice() {
    let window = (utc("2027-02-01T00:00:00Z"), utc("2027-02-03T00:00:00Z"));
    let office = hours(&WEEK, &[("09:00", "18:00")]);
    let parties = [
        party(Tz::Europe__Moscow, &office, window),
        party(Tz::Europe__Zurich, &office, window),
    ];
    // Moscow 09:00 = 06:00 UTC, Geneva 09:00 = 08:00 UTC, Moscow ends 15:00 UTC.
    let found = search(&plain(window, 60, 3, Rank::Earliest), &parties, &[], None).expect("search");
    let starts: Vec<_> = found.iter().map(|f| f.start).collect();
    assert_eq!(
        starts,
        vec![
            utc("2027-02-01T08:00:00Z"),
            utc("2027-02-01T08:15:00Z"),
            utc("2027-02-01T08:30:00Z")
        ]
    );
    let blocked = vec![(utc("2027-02-01T07:00:00Z"), utc("2027-02-01T14:10:00Z"))];
    let mut s = plain(window, 60, 1, Rank::Earliest);
    let found = search(&s, &parties, &blocked, None).expect("search");
    assert_eq!(
        found[0].start,
        utc("2027-02-02T08:00:00Z"),
        "14:15 would end after Moscow's 15:00"
    );
    s.earliest = utc("2027-02-02T08:05:00Z");
    let found = search(&s, &parties, &blocked, None).expect("search");
    assert_eq!(
        found[0].start,
        utc("2027-02-02T08:15:00Z"),
        "on the grid, after the notice"
    );
}

#[test]
fn fair_ranking_minimises_the_worst_burden() {
    let window = (utc("2027-02-01T00:00:00Z"), utc("2027-02-02T00:00:00Z"));
    let office = hours(&WEEK, &[("09:00", "18:00")]);
    // Washington and Tokyo share no office hour: someone stays late or comes early.
    let parties = [
        party(Tz::America__New_York, &office, window),
        party(Tz::Asia__Tokyo, &office, window),
    ];
    let mut s = plain(window, 60, 50, Rank::Fair);
    s.allowance = TimeDelta::hours(3);
    let found = search(&s, &parties, &[], None).expect("search");
    assert!(!found.is_empty());
    let best = found[0].worst();
    assert!(found.windows(2).all(|w| w[0].worst() <= w[1].worst()));
    // Tokyo's Monday ends at 09:00 UTC and New York's begins at 14:00 UTC: one of them carries
    // the whole hour, never both.
    assert_eq!(best, TimeDelta::minutes(60));
    assert!(found.iter().any(|f| f.outside.iter().any(|o| o.is_zero())));
    s.rank = Rank::Earliest;
    let earliest = search(&s, &parties, &[], None).expect("search");
    assert!(earliest.windows(2).all(|w| w[0].start < w[1].start));
}

#[test]
fn a_series_avoids_a_holiday_and_keeps_its_wall_clock_time() {
    let window = (utc("2027-01-04T00:00:00Z"), utc("2027-01-09T00:00:00Z"));
    let horizon = utc("2027-03-01T00:00:00Z");
    let office = hours(&WEEK, &[("09:00", "18:00")]);
    let zurich = Tz::Europe__Zurich;
    let parties = [party(zurich, &office, (window.0, horizon))];
    // Weekly on the weekday of the start; 14 January (a Thursday) is a holiday.
    let holiday = Offsets::of(zurich, window.0, horizon)
        .day(NaiveDate::from_ymd_opt(2027, 1, 14).expect("date"));
    let rule = Rule::parse("FREQ=WEEKLY").expect("rule");
    let mut plan = SeriesPlan::new(rule, zurich, horizon);
    let s = plain(window, 60, 400, Rank::Earliest);
    let found = search(&s, &parties, &holiday, Some(&mut plan)).expect("search");
    assert!(found
        .iter()
        .all(|f| f.start.date_naive().weekday() != chrono::Weekday::Thu));
    assert!(found
        .iter()
        .any(|f| f.start.date_naive().weekday() == chrono::Weekday::Wed));
    let first = &found[0];
    assert_eq!(first.start, utc("2027-01-04T08:00:00Z"));
    assert_eq!(first.occurrences, 8, "4 January to 22 February");
}

// ---- property tests: the search against an independent, minute-by-minute reading ----

const ZONES: [Tz; 10] = [
    Tz::Pacific__Apia,
    Tz::America__New_York,
    Tz::Europe__Zurich,
    Tz::Europe__Moscow,
    Tz::Asia__Tokyo,
    Tz::Asia__Kolkata,
    Tz::Asia__Kathmandu,
    Tz::Australia__Lord_Howe,
    Tz::America__Santiago,
    Tz::Pacific__Chatham,
];

/// Windows with a DST change inside (New York, Europe, Lord Howe, Santiago, Chatham), and the
/// day Samoa skipped.
const STARTS: [&str; 6] = [
    "2011-12-28T00:00:00Z",
    "2027-03-12T00:00:00Z",
    "2027-03-26T00:00:00Z",
    "2027-04-02T00:00:00Z",
    "2027-09-24T00:00:00Z",
    "2027-10-29T00:00:00Z",
];

#[derive(Debug, Clone)]
struct Case {
    zones: Vec<Tz>,
    hours: Vec<BTreeMap<u32, Vec<(u32, u32)>>>,
    busy: Vec<(i64, i64)>,
    start: DateTime<Utc>,
    days: i64,
    duration: i64,
    step: i64,
    allowance: i64,
    limit: usize,
}

fn working_hours_of(days: &BTreeMap<u32, Vec<(u32, u32)>>) -> WorkingHours {
    let keys = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let fmt = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    let json: WorkingHoursJson = days
        .iter()
        .map(|(d, r)| {
            let ranges = r.iter().map(|(a, b)| [fmt(*a), fmt(*b)]).collect();
            (keys[*d as usize].to_owned(), ranges)
        })
        .collect();
    WorkingHours::parse(&json).expect("generated hours are valid")
}

fn ranges() -> impl Strategy<Value = Vec<(u32, u32)>> {
    // One or two ranges in quarter hours, the second after the first (a lunch break).
    (0u32..80, 1u32..40, 0u32..8, 0u32..30).prop_map(|(a, len, gap, len2)| {
        let (a, b) = (a * 15, (a + len).min(96) * 15);
        let mut r = vec![(a, b)];
        let c = b + (gap + 1) * 15;
        let d = (c + len2 * 15).min(24 * 60);
        if len2 > 0 && c < d {
            r.push((c, d));
        }
        r
    })
}

fn case() -> impl Strategy<Value = Case> {
    let party = (
        0..ZONES.len(),
        prop::collection::btree_map(0u32..7, ranges(), 3..7),
    );
    (
        prop::collection::vec(party, 1..4),
        prop::collection::vec((0i64..4 * 1440, 15i64..300), 0..12),
        0..STARTS.len(),
        (
            2i64..4,
            prop::sample::select(vec![30i64, 45, 60, 90]),
            prop::sample::select(vec![15i64, 30, 45, 60]),
        ),
        (prop::sample::select(vec![0i64, 30, 120]), 1usize..8),
    )
        .prop_map(
            |(parties, busy, start, (days, duration, step), (allowance, limit))| Case {
                zones: parties.iter().map(|(z, _)| ZONES[*z]).collect(),
                hours: parties.into_iter().map(|(_, h)| h).collect(),
                busy,
                start: utc(STARTS[start]),
                days,
                duration,
                step,
                allowance,
                limit,
            },
        )
}

/// Minutes of `[s, s + duration)` outside a party's hours, read minute by minute from chrono-tz.
fn outside_by_minutes(
    tz: Tz,
    days: &BTreeMap<u32, Vec<(u32, u32)>>,
    s: DateTime<Utc>,
    duration: i64,
) -> i64 {
    (0..duration)
        .filter(|m| {
            let wall = to_local(s + TimeDelta::minutes(*m), tz);
            let minute = wall
                .time()
                .signed_duration_since(NaiveTime::MIN)
                .num_minutes() as u32;
            let day = wall.weekday().num_days_from_monday();
            !days
                .get(&day)
                .is_some_and(|r| r.iter().any(|(a, b)| *a <= minute && minute < *b))
        })
        .count() as i64
}

struct Brute {
    valid: Vec<(DateTime<Utc>, i64)>,
}

fn brute_force(c: &Case) -> Brute {
    let from = c.start;
    let to = from + TimeDelta::days(c.days);
    let mut valid = Vec::new();
    let mut s = from;
    while s + TimeDelta::minutes(c.duration) <= to {
        let e = s + TimeDelta::minutes(c.duration);
        let free = c.busy.iter().all(|(at, len)| {
            let (bs, be) = (
                from + TimeDelta::minutes(*at),
                from + TimeDelta::minutes(at + len),
            );
            be <= s || bs >= e
        });
        let outside: Vec<i64> = c
            .zones
            .iter()
            .zip(&c.hours)
            .map(|(tz, h)| outside_by_minutes(*tz, h, s, c.duration))
            .collect();
        if free && outside.iter().all(|o| *o <= c.allowance) {
            valid.push((s, outside.into_iter().max().unwrap_or(0)));
        }
        s += TimeDelta::minutes(c.step);
    }
    Brute { valid }
}

fn run(c: &Case, rank: Rank) -> Vec<Found> {
    let window = (c.start, c.start + TimeDelta::days(c.days));
    let parties: Vec<Party> = c
        .zones
        .iter()
        .zip(&c.hours)
        .map(|(tz, h)| party(*tz, &working_hours_of(h), window))
        .collect();
    let blocked = merge(
        c.busy
            .iter()
            .map(|(at, len)| {
                (
                    c.start + TimeDelta::minutes(*at),
                    c.start + TimeDelta::minutes(at + len),
                )
            })
            .collect(),
    );
    let s = Search {
        window,
        earliest: window.0,
        duration: TimeDelta::minutes(c.duration),
        step: TimeDelta::minutes(c.step),
        limit: c.limit,
        allowance: TimeDelta::minutes(c.allowance),
        rank,
    };
    search(&s, &parties, &blocked, None).expect("search")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_slot_is_free_and_within_hours_as_read_minute_by_minute(c in case()) {
        for f in run(&c, Rank::Fair) {
            for (i, (tz, h)) in c.zones.iter().zip(&c.hours).enumerate() {
                let outside = outside_by_minutes(*tz, h, f.start, c.duration);
                prop_assert_eq!(f.outside[i].num_minutes(), outside);
                prop_assert!(outside <= c.allowance);
            }
            let brute = brute_force(&c);
            prop_assert!(brute.valid.iter().any(|(s, _)| *s == f.start));
        }
    }

    #[test]
    fn earliest_finds_the_first_valid_starts_on_the_grid(c in case()) {
        let found: Vec<DateTime<Utc>> = run(&c, Rank::Earliest).iter().map(|f| f.start).collect();
        let brute: Vec<DateTime<Utc>> =
            brute_force(&c).valid.iter().take(c.limit).map(|(s, _)| *s).collect();
        prop_assert_eq!(found, brute);
    }

    #[test]
    fn fair_never_skips_a_slot_with_a_smaller_worst_burden(c in case()) {
        let found = run(&c, Rank::Fair);
        let brute = brute_force(&c);
        prop_assert_eq!(found.len(), brute.valid.len().min(c.limit));
        let worst_returned = found.iter().map(|f| f.worst().num_minutes()).max().unwrap_or(0);
        for (s, worst) in &brute.valid {
            if !found.iter().any(|f| f.start == *s) {
                prop_assert!(*worst >= worst_returned, "skipped {} with worst {}", s, worst);
            }
        }
    }
}

#[test]
fn a_bounded_series_must_fit_before_the_horizon() {
    let window = (utc("2027-03-29T00:00:00Z"), utc("2027-04-02T00:00:00Z"));
    let horizon = window.0 + TimeDelta::days(365);
    let always = hours(
        &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        &[("00:00", "24:00")],
    );
    let parties = [party(Tz::UTC, &always, (window.0, horizon))];
    let rule = Rule::parse("FREQ=MONTHLY;INTERVAL=3;COUNT=4").expect("rule");
    let mut plan = SeriesPlan::new(rule, Tz::UTC, horizon);
    let mut s = plain(window, 60, 500, Rank::Earliest);
    s.step = TimeDelta::hours(6);
    let found = search(&s, &parties, &[], Some(&mut plan)).expect("search");
    // From the 31st, June and September have no such day: the fourth session falls in 2028,
    // after the horizon. From the 30th, the four sessions end in December.
    assert!(found.iter().all(|f| f.start.day() != 31), "{found:?}");
    assert!(found.iter().any(|f| f.start.day() == 30));
    assert!(found.iter().all(|f| f.occurrences == 4));
}

#[test]
fn leximin_prefers_one_burden_to_three_and_compares_per_occurrence() {
    let at = utc("2027-01-04T08:00:00Z");
    let found = |minutes: &[i64], occurrences: usize| Found {
        start: at,
        end: at,
        outside: minutes.iter().map(|m| TimeDelta::minutes(*m)).collect(),
        occurrences,
    };
    let daytime = found(&[0, 480, 0, 240], 4);
    let midnight = found(&[480, 240, 480, 480], 4);
    assert_eq!(daytime.leximin(&midnight), std::cmp::Ordering::Less);
    // 90 minutes a session over four beats 120 in one.
    assert_eq!(
        found(&[360], 4).leximin(&found(&[120], 1)),
        std::cmp::Ordering::Less
    );
    assert_eq!(
        found(&[120, 0], 2).leximin(&found(&[0, 120], 2)),
        std::cmp::Ordering::Equal
    );
}

const RULES: [&str; 4] = [
    "FREQ=DAILY;COUNT=3",
    "FREQ=WEEKLY",
    "FREQ=DAILY;INTERVAL=2",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_occurrence_of_a_series_slot_is_free_and_within_hours(
        c in case(),
        rule in 0..RULES.len(),
        zone in 0..ZONES.len(),
    ) {
        let (rule, zone) = (Rule::parse(RULES[rule]).expect("rule"), ZONES[zone]);
        let window = (c.start, c.start + TimeDelta::days(c.days));
        let horizon = window.1 + TimeDelta::days(9);
        let parties: Vec<Party> = c
            .zones
            .iter()
            .zip(&c.hours)
            .map(|(tz, h)| party(*tz, &working_hours_of(h), (window.0, horizon)))
            .collect();
        let at = |m: i64| c.start + TimeDelta::minutes(m);
        let busy: Vec<Interval> = c.busy.iter().map(|(s, l)| (at(*s), at(s + l))).collect();
        let s = Search {
            window,
            earliest: window.0,
            duration: TimeDelta::minutes(c.duration),
            step: TimeDelta::minutes(c.step),
            limit: c.limit,
            allowance: TimeDelta::minutes(c.allowance),
            rank: Rank::Fair,
        };
        let mut plan = SeriesPlan::new(rule.clone(), zone, horizon);
        let found = search(&s, &parties, &merge(busy.clone()), Some(&mut plan)).expect("search");
        for f in found {
            // Expanded again, independently of the plan's per-date cache.
            let series = crate::domain::recurrence::Series::new(
                rule.clone(),
                zone,
                to_local(f.start, zone),
                s.duration,
            )
            .expect("series");
            let occurrences: Vec<_> = series
                .between(f.start, horizon)
                .expect("expand")
                .into_iter()
                .filter(|o| o.start_utc < horizon)
                .collect();
            prop_assert_eq!(occurrences.first().map(|o| o.start_utc), Some(f.start));
            prop_assert_eq!(occurrences.len(), f.occurrences);
            for (i, (tz, h)) in c.zones.iter().zip(&c.hours).enumerate() {
                let mut total = 0;
                for o in &occurrences {
                    let outside = outside_by_minutes(*tz, h, o.start_utc, c.duration);
                    prop_assert!(outside <= c.allowance);
                    total += outside;
                }
                prop_assert_eq!(f.outside[i].num_minutes(), total);
            }
            for o in &occurrences {
                prop_assert!(busy.iter().all(|(bs, be)| *be <= o.start_utc || *bs >= o.end_utc));
            }
        }
    }
}

#[test]
fn a_day_a_zone_skipped_has_no_working_hours() {
    // Samoa skipped Friday 30 December 2011 (UTC−10 to UTC+14).
    let window = (utc("2011-12-28T00:00:00Z"), utc("2012-01-02T00:00:00Z"));
    let every_day = hours(
        &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        &[("09:00", "17:00")],
    );
    let apia = party(Tz::Pacific__Apia, &every_day, window);
    let offsets = Offsets::of(Tz::Pacific__Apia, window.0, window.1);
    assert!(offsets
        .day(NaiveDate::from_ymd_opt(2011, 12, 30).expect("date"))
        .is_empty());
    // Thursday the 29th, 09:00 at UTC−10, then Saturday the 31st, 09:00 at UTC+14.
    assert!(apia
        .working
        .contains(&(utc("2011-12-29T19:00:00Z"), utc("2011-12-30T03:00:00Z"))));
    assert!(apia
        .working
        .contains(&(utc("2011-12-30T19:00:00Z"), utc("2011-12-31T03:00:00Z"))));
}
