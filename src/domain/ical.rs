//! RFC 5545 rendering: content lines, TEXT escaping, folding, VTIMEZONE and VEVENT.
//!
//! Written here rather than with the `icalendar` crate, which adds a DTSTAMP and a random UID to
//! every component (VTIMEZONE, STANDARD and DAYLIGHT included): not RFC-clean and not
//! deterministic, which would break ETags. The crate's parser reads our output back in tests.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone as _, Utc};
use chrono_tz::{OffsetComponents, Tz};

pub const PRODID: &str = "-//entente//entente//EN";
/// How often subscribed clients should poll.
pub const REFRESH: &str = "PT15M";

/// Escapes a TEXT value: backslash, semicolon, comma, and newlines (any of CRLF, CR, LF → `\n`).
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let normalized = value.replace("\r\n", "\n").replace('\r', "\n");
    for c in normalized.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value: quoted when it holds `:`, `;` or `,` (quotes themselves are not allowed
/// in parameter values and are dropped).
pub fn param_value(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    if clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// Folds one logical line into physical lines of at most 75 octets, never inside a UTF-8
/// character; continuation lines start with a space. Each physical line ends with CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

/// `YYYYMMDDTHHMMSS` (floating or with TZID).
pub fn local_stamp(t: &NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn utc_stamp(t: &DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A calendar being written: content lines, folded as they are added.
#[derive(Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn line(&mut self, name_and_params: &str, value: &str) {
        self.out
            .push_str(&fold(&format!("{name_and_params}:{value}")));
    }

    pub fn text(&mut self, name: &str, value: &str) {
        self.line(name, &escape_text(value));
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn offset_of(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// `+0300`, `-0430`, `+053030` (seconds only when there are some).
fn fmt_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

/// The instants in `[from, to)` where the zone's offset changes, with the offsets before and
/// after (found by daily sampling and bisection to the second; chrono-tz has no public list).
pub fn transitions(
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, i32, i32)> {
    let mut found = Vec::new();
    let mut t = from;
    while t < to {
        let next = (t + TimeDelta::days(1)).min(to);
        let (before, after) = (offset_of(tz, t), offset_of(tz, next));
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
            found.push((hi, before, after));
        }
        t = next;
    }
    found
}

fn is_daylight(tz: Tz, at: DateTime<Utc>) -> bool {
    // Europe/Dublin and others report a negative DST offset in winter: only a positive one is
    // daylight time.
    tz.offset_from_utc_datetime(&at.naive_utc()).dst_offset() > TimeDelta::zero()
}

fn abbreviation(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("%Z").to_string()
}

/// The VTIMEZONE of `tz` covering `[from, to)`: the observance in force at `from`, then one
/// component per change. A zone without changes in the range gets a single component.
pub fn vtimezone(w: &mut Writer, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) {
    w.line("BEGIN", "VTIMEZONE");
    w.line("TZID", tz.name());
    let first = offset_of(tz, from);
    let kind = if is_daylight(tz, from) {
        "DAYLIGHT"
    } else {
        "STANDARD"
    };
    w.line("BEGIN", kind);
    w.line(
        "DTSTART",
        &local_stamp(&(from + TimeDelta::seconds(i64::from(first))).naive_utc()),
    );
    w.line("TZOFFSETFROM", &fmt_offset(first));
    w.line("TZOFFSETTO", &fmt_offset(first));
    w.text("TZNAME", &abbreviation(tz, from));
    w.line("END", kind);
    for (at, before, after) in transitions(tz, from, to) {
        let kind = if is_daylight(tz, at) {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        w.line("BEGIN", kind);
        // The onset, as the wall clock read just before it (RFC 5545 §3.6.5).
        w.line(
            "DTSTART",
            &local_stamp(&(at + TimeDelta::seconds(i64::from(before))).naive_utc()),
        );
        w.line("TZOFFSETFROM", &fmt_offset(before));
        w.line("TZOFFSETTO", &fmt_offset(after));
        w.text("TZNAME", &abbreviation(tz, at));
        w.line("END", kind);
    }
    w.line("END", "VTIMEZONE");
}

/// A delegation as organizer or attendee.
#[derive(Debug, Clone)]
pub struct Party {
    pub name: String,
    /// `mailto:` of the contact e-mail, or the fallback `urn:entente:delegation:<CODE>`.
    pub address: String,
}

#[derive(Debug, Clone)]
pub struct Attendee {
    pub party: Party,
    /// `NEEDS-ACTION`, `ACCEPTED`, `DECLINED`, `TENTATIVE`.
    pub partstat: &'static str,
}

/// One VEVENT: a meeting, or one moved occurrence of a series (`recurrence_id` set).
#[derive(Debug, Clone)]
pub struct Event {
    pub uid: String,
    pub dtstamp: DateTime<Utc>,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub zone: Tz,
    pub start_local: NaiveDateTime,
    pub end_local: NaiveDateTime,
    pub sequence: i64,
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    /// `TENTATIVE`, `CONFIRMED`, `CANCELLED`.
    pub status: &'static str,
    /// `PUBLIC`, `PRIVATE`, `CONFIDENTIAL`.
    pub class: &'static str,
    pub organizer: Party,
    pub attendees: Vec<Attendee>,
    pub rrule: Option<String>,
    /// Local (in `zone`) original starts of cancelled occurrences.
    pub exdates: Vec<NaiveDateTime>,
    pub recurrence_id: Option<NaiveDateTime>,
}

fn event(w: &mut Writer, e: &Event) {
    let tzid = format!(";TZID={}", param_value(e.zone.name()));
    w.line("BEGIN", "VEVENT");
    w.text("UID", &e.uid);
    w.line("DTSTAMP", &utc_stamp(&e.dtstamp));
    w.line(&format!("DTSTART{tzid}"), &local_stamp(&e.start_local));
    w.line(&format!("DTEND{tzid}"), &local_stamp(&e.end_local));
    if let Some(recurrence_id) = &e.recurrence_id {
        w.line(&format!("RECURRENCE-ID{tzid}"), &local_stamp(recurrence_id));
    }
    if let Some(rrule) = &e.rrule {
        w.line("RRULE", rrule.strip_prefix("RRULE:").unwrap_or(rrule));
    }
    if !e.exdates.is_empty() {
        let dates: Vec<String> = e.exdates.iter().map(local_stamp).collect();
        w.line(&format!("EXDATE{tzid}"), &dates.join(","));
    }
    w.line("SEQUENCE", &e.sequence.to_string());
    w.line("CREATED", &utc_stamp(&e.created));
    w.line("LAST-MODIFIED", &utc_stamp(&e.last_modified));
    w.text("SUMMARY", &e.summary);
    if let Some(description) = &e.description {
        w.text("DESCRIPTION", description);
    }
    if let Some(location) = &e.location {
        w.text("LOCATION", location);
    }
    w.line("STATUS", e.status);
    w.line("CLASS", e.class);
    w.line(
        &format!("ORGANIZER;CN={}", param_value(&e.organizer.name)),
        &e.organizer.address,
    );
    for a in &e.attendees {
        w.line(
            &format!(
                "ATTENDEE;CN={};CUTYPE=GROUP;ROLE=REQ-PARTICIPANT;PARTSTAT={}",
                param_value(&a.party.name),
                a.partstat
            ),
            &a.party.address,
        );
    }
    w.line("END", "VEVENT");
}

/// A whole calendar. `feed` adds `METHOD:PUBLISH`, the name and the polling hints. The
/// VTIMEZONEs cover `[from, to)` for every zone the events use.
pub fn calendar(
    name: Option<&str>,
    feed: bool,
    events: &[Event],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> String {
    let mut w = Writer::default();
    w.line("BEGIN", "VCALENDAR");
    w.line("VERSION", "2.0");
    w.line("PRODID", PRODID);
    w.line("CALSCALE", "GREGORIAN");
    if feed {
        w.line("METHOD", "PUBLISH");
    }
    if let Some(name) = name {
        w.text("X-WR-CALNAME", name);
        w.text("NAME", name);
    }
    if feed {
        w.line("REFRESH-INTERVAL;VALUE=DURATION", REFRESH);
        w.line("X-PUBLISHED-TTL", REFRESH);
    }
    let mut zones: Vec<Tz> = events.iter().map(|e| e.zone).collect();
    zones.sort_by_key(|z| z.name());
    zones.dedup();
    for zone in zones {
        vtimezone(&mut w, zone, from, to);
    }
    for e in events {
        event(&mut w, e);
    }
    w.line("END", "VCALENDAR");
    w.finish()
}

/// A short stable digest of a body, for ETags.
pub fn etag(body: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body.as_bytes());
    let mut out = String::with_capacity(34);
    out.push('"');
    for b in digest.iter().take(16) {
        let _ = write!(out, "{b:02x}");
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        super::super::time::parse_instant(s).unwrap()
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng"
        );
        assert_eq!(escape_text("Консультации: 10:00"), "Консультации: 10:00");
        assert_eq!(escape_text("bell\u{7}"), "bell");
        assert_eq!(param_value("Russian Federation"), "Russian Federation");
        assert_eq!(param_value("U.S.: \"DoS\""), "\"U.S.: DoS\"");
    }

    #[test]
    fn folding_non_latin_text() {
        for title in [
            "Консультации по вопросам информационной безопасности и стратегической стабильности",
            "مشاورات بشأن الأمن السيبراني والاستقرار الاستراتيجي بين الوفدين",
            "信息安全与战略稳定磋商会议第三轮日内瓦万国宫十二号会议室举行",
        ] {
            let folded = fold(&format!("SUMMARY:{}", escape_text(title)));
            for physical in folded.split_terminator("\r\n") {
                assert!(
                    physical.len() <= 75,
                    "{} octets: {physical}",
                    physical.len()
                );
            }
            assert_eq!(
                folded.replace("\r\n ", "").trim_end(),
                format!("SUMMARY:{title}")
            );
        }
    }

    proptest! {
        /// Folding never splits a character, keeps lines within 75 octets, and unfolds back.
        #[test]
        fn folding_round_trips(s in "\\PC{0,300}") {
            let line = format!("DESCRIPTION:{}", escape_text(&s));
            let folded = fold(&line);
            prop_assert!(folded.ends_with("\r\n"));
            for physical in folded.split_terminator("\r\n") {
                prop_assert!(physical.len() <= 75);
            }
            prop_assert_eq!(folded.replace("\r\n ", "").trim_end_matches("\r\n").to_owned(), line);
        }
    }

    /// What a client reading only our VTIMEZONE computes for an instant: the offset of the
    /// latest onset at or before it.
    fn implied_offsets(text: &str) -> Vec<(DateTime<Utc>, i32)> {
        let mut onsets = Vec::new();
        let (mut start, mut from) = (None, None);
        for line in text.split("\r\n") {
            if let Some(v) = line.strip_prefix("DTSTART:") {
                start = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok();
            } else if let Some(v) = line.strip_prefix("TZOFFSETFROM:") {
                from = Some(parse_offset(v));
            } else if let Some(v) = line.strip_prefix("TZOFFSETTO:") {
                let (s, f) = (start.take().unwrap(), from.take().unwrap());
                onsets.push((
                    (s - TimeDelta::seconds(i64::from(f))).and_utc(),
                    parse_offset(v),
                ));
            }
        }
        onsets
    }

    fn parse_offset(v: &str) -> i32 {
        let sign = if v.starts_with('-') { -1 } else { 1 };
        let digits = &v[1..];
        let h: i32 = digits[0..2].parse().unwrap();
        let m: i32 = digits[2..4].parse().unwrap();
        let s: i32 = digits.get(4..6).map_or(0, |s| s.parse().unwrap());
        sign * (h * 3600 + m * 60 + s)
    }

    /// For every zone the tests use, every hour of 2025–2030: the offset our VTIMEZONE implies
    /// equals chrono-tz's.
    #[test]
    fn vtimezone_offsets_equal_chrono_tz_hourly_2025_to_2030() {
        let (from, to) = (utc("2025-01-01T00:00:00Z"), utc("2031-01-01T00:00:00Z"));
        for name in [
            "Europe/Moscow",
            "Europe/Zurich",
            "America/New_York",
            "Europe/London",
            "Europe/Dublin",
            "Australia/Lord_Howe",
            "Antarctica/Troll",
            "Asia/Tehran",
            "America/Santiago",
            "Pacific/Auckland",
            "Asia/Shanghai",
            "Asia/Kolkata",
            "Africa/Casablanca",
            "UTC",
            "Asia/Tokyo",
            "Europe/Paris",
        ] {
            let tz: Tz = name.parse().unwrap();
            let mut w = Writer::default();
            vtimezone(&mut w, tz, from, to);
            let text = w.finish();
            let onsets = implied_offsets(&text);
            let mut t = from;
            while t < to {
                let implied = onsets
                    .iter()
                    .rev()
                    .find(|(at, _)| *at <= t)
                    .map(|(_, o)| *o)
                    .unwrap();
                assert_eq!(implied, offset_of(tz, t), "{name} at {t}");
                t += TimeDelta::hours(1);
            }
            if transitions(tz, from, to).is_empty() {
                assert_eq!(
                    text.matches("BEGIN:STANDARD").count() + text.matches("BEGIN:DAYLIGHT").count(),
                    1,
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn dublin_winter_is_not_daylight() {
        let tz: Tz = "Europe/Dublin".parse().unwrap();
        assert!(!is_daylight(tz, utc("2027-01-15T12:00:00Z")));
        assert_eq!(fmt_offset(19800), "+0530");
        assert_eq!(fmt_offset(-16200), "-0430");
        assert_eq!(fmt_offset(-1), "-000001");
    }
}
