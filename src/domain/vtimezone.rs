//! VTIMEZONE (RFC 5545 §3.6.5): one complete definition per zone, the same in every file.
//!
//! A reader must be able to place every instance of every series, however far ahead, and some
//! readers (vobject) keep the first definition of a TZID they meet for the whole process. So a
//! zone's definition does not depend on the events of a file: it describes the zone from 1970
//! on, with each yearly pattern of changes written as one observance with an `RRULE` (bounded
//! by `UNTIL` when the pattern ended, open when it is the zone's current rule) and the irregular
//! changes as single observances. chrono-tz has no public list of transitions or rules: the
//! changes are found by daily sampling and bisection, the patterns by comparing the years.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone as _, Utc,
    Weekday,
};
use chrono_tz::{OffsetComponents, Tz};

use super::ical::{local_stamp, utc_stamp, Writer};

/// Zones are described from the start of this year on; earlier instants get the offset in force
/// then (readers use the earliest observance).
pub const HISTORY_FROM_YEAR: i32 = 1970;
/// chrono-tz's tables run up to 2100; changes are looked for up to its end.
const TABLE_END_YEAR: i32 = 2100;
/// A yearly pattern still followed in this year is the zone's current rule: written without end.
const CURRENT_RULE_YEAR: i32 = 2099;

/// One change of a zone's UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub at: DateTime<Utc>,
    /// Seconds east of UTC before and after the change.
    pub before: i32,
    pub after: i32,
}

impl Transition {
    /// The onset as the wall clock read just before it (how DTSTART of an observance is given).
    fn onset_local(&self) -> NaiveDateTime {
        (self.at + TimeDelta::seconds(i64::from(self.before))).naive_utc()
    }
}

pub fn offset_of(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

fn is_daylight(tz: Tz, at: DateTime<Utc>) -> bool {
    // Europe/Dublin and others report a negative DST offset in winter: only a positive one is
    // daylight time.
    tz.offset_from_utc_datetime(&at.naive_utc()).dst_offset() > TimeDelta::zero()
}

fn abbreviation(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("%Z").to_string()
}

/// `+0300`, `-0430`, `+053030` (seconds only when there are some).
pub fn fmt_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

/// The changes of offset in `[from, to)`, found by daily sampling and bisection to the second.
pub fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let mut found = Vec::new();
    let mut t = from;
    let mut before = offset_of(tz, t);
    while t < to {
        let next = (t + TimeDelta::days(1)).min(to);
        let after = offset_of(tz, next);
        if before != after {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > TimeDelta::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_of(tz, mid) == before {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(Transition {
                at: hi,
                before,
                after,
            });
        }
        before = after;
        t = next;
    }
    found
}

/// How a yearly change picks its day within its month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayRule {
    /// The first `weekday` on or after day `n` (`n` = 1, 8, 15, 22: the 1st…4th such weekday).
    OnOrAfter(u32, Weekday),
    Last(Weekday),
    Fixed(u32),
}

impl DayRule {
    /// Preferred forms first: what calendar products write (`2SU`, `-1SU`), then the others.
    fn rank(self) -> u8 {
        match self {
            Self::OnOrAfter(n, _) if (n - 1) % 7 == 0 => 0,
            Self::Last(_) => 1,
            Self::Fixed(_) => 2,
            Self::OnOrAfter(..) => 3,
        }
    }

    fn to_rrule(self) -> String {
        match self {
            Self::OnOrAfter(n, w) if (n - 1) % 7 == 0 => {
                format!("BYDAY={}{}", (n - 1) / 7 + 1, day(w))
            }
            Self::OnOrAfter(n, w) => {
                let days: Vec<String> = (n..n + 7).map(|d| d.to_string()).collect();
                format!("BYDAY={};BYMONTHDAY={}", day(w), days.join(","))
            }
            Self::Last(w) => format!("BYDAY=-1{}", day(w)),
            Self::Fixed(d) => format!("BYMONTHDAY={d}"),
        }
    }
}

fn day(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn month_len(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).map_or(28, |d| d.day())
}

/// Every rule that picks `date` in its year.
fn day_rules(date: NaiveDate) -> Vec<DayRule> {
    let (d, w) = (date.day(), date.weekday());
    // A weekday window must exist in this month of every year (February: 28 days).
    let shortest = if date.month() == 2 {
        28
    } else {
        month_len(date.year(), date.month())
    };
    let mut rules = vec![DayRule::Fixed(d)];
    if d + 7 > month_len(date.year(), date.month()) {
        rules.push(DayRule::Last(w));
    }
    for n in d.saturating_sub(6).max(1)..=d {
        if n + 6 <= shortest {
            rules.push(DayRule::OnOrAfter(n, w));
        }
    }
    rules
}

/// What the changes of one yearly pattern share.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kind {
    before: i32,
    after: i32,
    daylight: bool,
    name: String,
    month: u32,
    time: NaiveTime,
}

/// Consecutive years' changes of the same kind that one day rule picks.
#[derive(Debug, Clone)]
struct Run {
    kind: Kind,
    first: NaiveDateTime,
    last: Transition,
    last_year: i32,
    count: usize,
    rules: Vec<DayRule>,
}

/// One STANDARD or DAYLIGHT component.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observance {
    daylight: bool,
    start: NaiveDateTime,
    from: i32,
    to: i32,
    name: String,
    /// `FREQ=YEARLY;…` for a pattern.
    rrule: Option<String>,
}

fn observances(tz: Tz) -> Vec<Observance> {
    let midnight = NaiveDate::from_ymd_opt(HISTORY_FROM_YEAR, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let initial = offset_of(tz, midnight.and_utc());
    let origin = (midnight - TimeDelta::seconds(i64::from(initial))).and_utc();
    let end = NaiveDate::from_ymd_opt(TABLE_END_YEAR + 1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
        .and_utc();
    let mut out = vec![Observance {
        daylight: is_daylight(tz, origin),
        start: (origin + TimeDelta::seconds(i64::from(offset_of(tz, origin)))).naive_utc(),
        from: offset_of(tz, origin),
        to: offset_of(tz, origin),
        name: abbreviation(tz, origin),
        rrule: None,
    }];

    let mut runs: Vec<Run> = Vec::new();
    let mut open: HashMap<(i32, i32, u32), usize> = HashMap::new();
    for t in transitions(tz, origin, end) {
        let onset = t.onset_local();
        let kind = Kind {
            before: t.before,
            after: t.after,
            daylight: is_daylight(tz, t.at),
            name: abbreviation(tz, t.at),
            month: onset.month(),
            time: onset.time(),
        };
        let rules = day_rules(onset.date());
        let slot = (t.before, t.after, kind.month);
        let extended = open.get(&slot).is_some_and(|&i| {
            let run = &mut runs[i];
            let common: Vec<DayRule> = run
                .rules
                .iter()
                .copied()
                .filter(|r| rules.contains(r))
                .collect();
            let fits = run.kind == kind && run.last_year + 1 == onset.year() && !common.is_empty();
            if fits {
                run.rules = common;
                run.last = t;
                run.last_year = onset.year();
                run.count += 1;
            }
            fits
        });
        if !extended {
            open.insert(slot, runs.len());
            runs.push(Run {
                kind,
                first: onset,
                last: t,
                last_year: onset.year(),
                count: 1,
                rules,
            });
        }
    }

    for run in runs {
        let rrule = (run.count > 1).then(|| {
            let rule = run
                .rules
                .iter()
                .copied()
                .min_by_key(|r| r.rank())
                .unwrap_or(DayRule::Fixed(run.first.day()));
            let mut text = format!("FREQ=YEARLY;BYMONTH={};{}", run.kind.month, rule.to_rrule());
            if run.last_year < CURRENT_RULE_YEAR {
                // Any instant between the last change and next year's would do; two days after
                // the last keeps readers that compare local times with UNTIL right too.
                text.push_str(";UNTIL=");
                text.push_str(&utc_stamp(&(run.last.at + TimeDelta::days(2))));
            }
            text
        });
        out.push(Observance {
            daylight: run.kind.daylight,
            start: run.first,
            from: run.kind.before,
            to: run.kind.after,
            name: run.kind.name,
            rrule,
        });
    }
    out.sort_by_key(|o| o.start);
    out
}

fn render(tz: Tz) -> String {
    let mut w = Writer::default();
    w.line("BEGIN", "VTIMEZONE");
    w.line("TZID", tz.name());
    for o in observances(tz) {
        let kind = if o.daylight { "DAYLIGHT" } else { "STANDARD" };
        w.line("BEGIN", kind);
        w.line("DTSTART", &local_stamp(&o.start));
        if let Some(rrule) = &o.rrule {
            w.line("RRULE", rrule);
        }
        w.line("TZOFFSETFROM", &fmt_offset(o.from));
        w.line("TZOFFSETTO", &fmt_offset(o.to));
        w.text("TZNAME", &o.name);
        w.line("END", kind);
    }
    w.line("END", "VTIMEZONE");
    w.finish()
}

static DEFINITIONS: LazyLock<Mutex<HashMap<Tz, Arc<str>>>> = LazyLock::new(Mutex::default);

/// The zone's VTIMEZONE, folded, CRLF-terminated: computed once per zone and process (the tz
/// data is compiled in), identical in every calendar.
pub fn definition(tz: Tz) -> Arc<str> {
    let cached = DEFINITIONS
        .lock()
        .ok()
        .and_then(|cache| cache.get(&tz).cloned());
    if let Some(text) = cached {
        return text;
    }
    let text: Arc<str> = render(tz).into();
    if let Ok(mut cache) = DEFINITIONS.lock() {
        cache.insert(tz, text.clone());
    }
    text
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use rrule::{RRule, Unvalidated};

    use super::*;

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap()
            .and_utc()
    }

    fn parse_offset(v: &str) -> i32 {
        let sign = if v.starts_with('-') { -1 } else { 1 };
        let digits = &v[1..];
        let h: i32 = digits[0..2].parse().unwrap();
        let m: i32 = digits[2..4].parse().unwrap();
        let s: i32 = digits.get(4..6).map_or(0, |s| s.parse().unwrap());
        sign * (h * 3600 + m * 60 + s)
    }

    /// What a reader that knows only our text computes: every onset of every observance
    /// (RRULEs expanded up to `until`, UNTIL compared with the onset's UTC instant), as
    /// (instant, offset after), sorted.
    fn implied_onsets(text: &str, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, i32)> {
        let unfolded = text.replace("\r\n ", "");
        let mut onsets = Vec::new();
        let (mut start, mut rule, mut from) = (None, None, None);
        for line in unfolded.split("\r\n") {
            if let Some(v) = line.strip_prefix("DTSTART:") {
                start = Some(NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").unwrap());
            } else if let Some(v) = line.strip_prefix("RRULE:") {
                rule = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("TZOFFSETFROM:") {
                from = Some(parse_offset(v));
            } else if let Some(v) = line.strip_prefix("TZOFFSETTO:") {
                let (start, from, to) =
                    (start.take().unwrap(), from.take().unwrap(), parse_offset(v));
                let shift = TimeDelta::seconds(i64::from(from));
                let Some(rule) = rule.take() else {
                    onsets.push(((start - shift).and_utc(), to));
                    continue;
                };
                // Expanded in floating time; UNTIL (UTC) moved into the same floating frame.
                let (body, until_utc) = match rule.split_once(";UNTIL=") {
                    Some((body, u)) => (
                        body.to_owned(),
                        NaiveDateTime::parse_from_str(u.trim_end_matches('Z'), "%Y%m%dT%H%M%S")
                            .unwrap()
                            .and_utc(),
                    ),
                    None => (rule.clone(), until),
                };
                let floating_limit = until_utc.min(until).naive_utc() + shift;
                let set = RRule::<Unvalidated>::from_str(&body)
                    .unwrap()
                    .build(rrule::Tz::UTC.from_utc_datetime(&start))
                    .unwrap()
                    .before(rrule::Tz::UTC.from_utc_datetime(&floating_limit));
                for d in set.all(u16::MAX).dates {
                    onsets.push(((d.naive_utc() - shift).and_utc(), to));
                }
            }
        }
        onsets.sort();
        onsets
    }

    fn implied_at(onsets: &[(DateTime<Utc>, i32)], t: DateTime<Utc>) -> Option<i32> {
        onsets
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .map(|(_, o)| *o)
    }

    /// Every change of offset chrono-tz knows from 1970 to 2099 is reproduced by our text, and
    /// every day's offset in between agrees.
    fn check_zone(tz: Tz) {
        let (from, to) = (utc(HISTORY_FROM_YEAR, 1, 2), utc(TABLE_END_YEAR, 1, 1));
        let text = definition(tz);
        let onsets = implied_onsets(&text, to);
        let name = tz.name();
        for t in transitions(tz, from, to) {
            assert_eq!(
                implied_at(&onsets, t.at - TimeDelta::seconds(1)),
                Some(t.before),
                "{name} just before {}",
                t.at
            );
            assert_eq!(
                implied_at(&onsets, t.at),
                Some(t.after),
                "{name} at {}",
                t.at
            );
        }
        let mut t = from;
        while t < to {
            assert_eq!(
                implied_at(&onsets, t),
                Some(offset_of(tz, t)),
                "{name} at {t}"
            );
            t += TimeDelta::hours(23);
        }
    }

    #[test]
    fn zones_the_tests_use_match_chrono_tz_from_1970_to_2099() {
        for name in [
            "America/New_York",
            "Europe/London",
            "Europe/Dublin",
            "Europe/Moscow",
            "Europe/Paris",
            "Europe/Zurich",
            "Australia/Lord_Howe",
            "Australia/Sydney",
            "Antarctica/Troll",
            "Asia/Tehran",
            "America/Santiago",
            "America/Havana",
            "Pacific/Auckland",
            "Pacific/Apia",
            "Asia/Shanghai",
            "Asia/Kolkata",
            "Asia/Jerusalem",
            "Africa/Casablanca",
            "America/Sao_Paulo",
            "UTC",
            "Asia/Tokyo",
        ] {
            check_zone(name.parse().unwrap());
        }
    }

    /// Every zone of the bundled tz database, in four parts that run side by side.
    fn check_every_fourth_zone(part: usize) {
        for tz in chrono_tz::TZ_VARIANTS.iter().skip(part).step_by(4) {
            check_zone(*tz);
        }
    }

    #[test]
    fn every_zone_matches_chrono_tz_part_1() {
        check_every_fourth_zone(0);
    }

    #[test]
    fn every_zone_matches_chrono_tz_part_2() {
        check_every_fourth_zone(1);
    }

    #[test]
    fn every_zone_matches_chrono_tz_part_3() {
        check_every_fourth_zone(2);
    }

    #[test]
    fn every_zone_matches_chrono_tz_part_4() {
        check_every_fourth_zone(3);
    }

    #[test]
    fn current_rules_are_open_ended_rrules() {
        let ny = definition("America/New_York".parse().unwrap());
        assert!(
            ny.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"),
            "{ny}"
        );
        assert!(
            ny.contains("RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"),
            "{ny}"
        );
        let paris = definition("Europe/Paris".parse().unwrap());
        assert!(
            paris.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"),
            "{paris}"
        );
        assert!(
            paris.contains("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"),
            "{paris}"
        );
        // No DST since 2011: its last change is a single observance, and nothing repeats for ever.
        let moscow = definition("Europe/Moscow".parse().unwrap());
        assert!(
            !moscow
                .lines()
                .any(|l| l.starts_with("RRULE:") && !l.contains("UNTIL=")),
            "{moscow}"
        );
        // A small definition: patterns, not one component per change.
        assert!(ny.matches("BEGIN:").count() < 20, "{ny}");
    }

    #[test]
    fn the_same_text_every_time() {
        let tz: Tz = "Australia/Lord_Howe".parse().unwrap();
        assert_eq!(definition(tz), render(tz).into());
        assert!(definition(tz).starts_with("BEGIN:VTIMEZONE\r\nTZID:Australia/Lord_Howe\r\n"));
    }

    #[test]
    fn day_rules_name_the_day() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // 2027-03-14 is the second Sunday of March.
        assert!(day_rules(d(2027, 3, 14)).contains(&DayRule::OnOrAfter(8, Weekday::Sun)));
        assert!(!day_rules(d(2027, 3, 14)).contains(&DayRule::Last(Weekday::Sun)));
        // 2027-03-28 is the last Sunday of March.
        assert!(day_rules(d(2027, 3, 28)).contains(&DayRule::Last(Weekday::Sun)));
        assert_eq!(DayRule::OnOrAfter(8, Weekday::Sun).to_rrule(), "BYDAY=2SU");
        assert_eq!(DayRule::Last(Weekday::Sun).to_rrule(), "BYDAY=-1SU");
        assert_eq!(
            DayRule::OnOrAfter(23, Weekday::Fri).to_rrule(),
            "BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29"
        );
        assert_eq!(fmt_offset(19800), "+0530");
        assert_eq!(fmt_offset(-16200), "-0430");
        assert_eq!(fmt_offset(-1), "-000001");
    }
}
