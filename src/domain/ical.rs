//! RFC 5545 rendering: content lines, TEXT escaping, folding, VTIMEZONE and VEVENT.
//!
//! Written here rather than with the `icalendar` crate, which adds a DTSTAMP and a random UID to
//! every component (VTIMEZONE, STANDARD and DAYLIGHT included): not RFC-clean and not
//! deterministic, which would break ETags. The crate's parser reads our output back in tests.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;

use super::{time, vtimezone};

pub const PRODID: &str = "-//entente//entente//EN";
/// How often subscribed clients should poll.
pub const REFRESH: &str = "PT15M";
/// `REFRESH` in seconds: feeds' `Cache-Control: max-age`.
pub const REFRESH_SECONDS: u32 = 15 * 60;

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

/// A parameter value (RFC 5545 §3.2 with RFC 6868's caret encoding): `^` → `^^`, `"` → `^'`,
/// a newline → `^n`, other control characters dropped; quoted when it holds `:`, `;` or `,`.
pub fn param_value(value: &str) -> String {
    let mut clean = String::with_capacity(value.len());
    for c in value.replace("\r\n", "\n").chars() {
        match c {
            '^' => clean.push_str("^^"),
            '"' => clean.push_str("^'"),
            '\n' | '\r' => clean.push_str("^n"),
            '\t' => clean.push(' '),
            c if c.is_control() => {}
            c => clean.push(c),
        }
    }
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
    fold_into(&mut out, line);
    out
}

/// `fold`, appended to `out` (a feed writes thousands of lines: no string of its own for each).
fn fold_into(out: &mut String, line: &str) {
    if line.len() <= 75 {
        out.push_str(line);
    } else {
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
    }
    out.push_str("\r\n");
}

/// `YYYYMMDDTHHMMSS` (floating or with TZID).
pub fn local_stamp(t: &NaiveDateTime) -> String {
    // Written directly for the years a meeting can have (chrono's format string is parsed on
    // every call: a tenth of a feed's rendering); chrono's writing otherwise.
    if (0..=9999).contains(&t.year()) {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    } else {
        t.format("%Y%m%dT%H%M%S").to_string()
    }
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn utc_stamp(t: &DateTime<Utc>) -> String {
    let mut stamp = local_stamp(&t.naive_utc());
    stamp.push('Z');
    stamp
}

/// A calendar being written: content lines, folded as they are added.
#[derive(Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn line(&mut self, name_and_params: &str, value: &str) {
        let mut line = String::with_capacity(name_and_params.len() + 1 + value.len());
        line.push_str(name_and_params);
        line.push(':');
        line.push_str(value);
        fold_into(&mut self.out, &line);
    }

    pub fn text(&mut self, name: &str, value: &str) {
        self.line(name, &escape_text(value));
    }

    /// Text that is already folded content lines (a cached VTIMEZONE).
    pub fn raw(&mut self, folded: &str) {
        self.out.push_str(folded);
    }

    pub fn finish(self) -> String {
        self.out
    }
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

/// One VEVENT: a meeting, or one moved or re-statused occurrence of a series (`recurrence_id`
/// set). Times are the stored instants; how each is written is decided when rendering.
#[derive(Debug, Clone)]
pub struct Event {
    pub uid: String,
    pub dtstamp: DateTime<Utc>,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub zone: Tz,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
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
    /// Original starts of cancelled occurrences.
    pub exdates: Vec<DateTime<Utc>>,
    /// The original start of the occurrence this event overrides.
    pub recurrence_id: Option<DateTime<Utc>>,
    /// The series' zone, in which `recurrence_id` is written (the occurrence itself may take
    /// place in another: a series alternating between two capitals).
    pub series_zone: Tz,
}

/// The wall-clock time in `zone` that every RFC 5545 reader turns back into `at`, if there is
/// one. A local time that occurs twice means its first instant (§3.3.5), so the second instant
/// of a DST overlap (a meeting booked with `disambiguation: later`) has none: it is written in UTC.
fn zoned(zone: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let local = time::to_local(at, zone);
    (time::resolve_in_series(local, zone) == at).then_some(local)
}

/// Writes one VEVENT; the zones it names by TZID (the calendar needs their VTIMEZONEs).
fn event(w: &mut Writer, e: &Event) -> Vec<Tz> {
    let tzid = format!(";TZID={}", param_value(e.zone.name()));
    let mut uses_zone = false;
    let mut instant = |w: &mut Writer, name: &str, local: Option<NaiveDateTime>, at| match local {
        Some(local) => {
            uses_zone = true;
            w.line(&format!("{name}{tzid}"), &local_stamp(&local));
        }
        None => w.line(name, &utc_stamp(&at)),
    };
    w.line("BEGIN", "VEVENT");
    w.text("UID", &e.uid);
    w.line("DTSTAMP", &utc_stamp(&e.dtstamp));
    // Start and end in the same form; a series always in its zone, where its rule expands.
    let (start, end) = match (zoned(e.zone, e.start), zoned(e.zone, e.end)) {
        (Some(s), Some(t)) => (Some(s), Some(t)),
        _ if e.rrule.is_some() => (
            Some(time::to_local(e.start, e.zone)),
            Some(time::to_local(e.end, e.zone)),
        ),
        _ => (None, None),
    };
    instant(w, "DTSTART", start, e.start);
    instant(w, "DTEND", end, e.end);
    let mut zones = Vec::with_capacity(2);
    if let Some(original) = e.recurrence_id {
        // In the series' zone, as the master's DTSTART names it.
        match zoned(e.series_zone, original) {
            Some(local) => {
                zones.push(e.series_zone);
                let name = format!("RECURRENCE-ID;TZID={}", param_value(e.series_zone.name()));
                w.line(&name, &local_stamp(&local));
            }
            None => w.line("RECURRENCE-ID", &utc_stamp(&original)),
        }
    }
    if let Some(rrule) = &e.rrule {
        w.line("RRULE", rrule.strip_prefix("RRULE:").unwrap_or(rrule));
    }
    let (local, utc): (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) = e
        .exdates
        .iter()
        .partition(|at| zoned(e.zone, **at).is_some());
    if !local.is_empty() {
        let dates: Vec<String> = local
            .iter()
            .map(|at| local_stamp(&time::to_local(*at, e.zone)))
            .collect();
        uses_zone = true;
        w.line(&format!("EXDATE{tzid}"), &dates.join(","));
    }
    if !utc.is_empty() {
        let dates: Vec<String> = utc.iter().map(utc_stamp).collect();
        w.line("EXDATE", &dates.join(","));
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
    if uses_zone {
        zones.push(e.zone);
    }
    zones
}

/// A whole calendar. `feed` adds `METHOD:PUBLISH`, the name and the polling hints. Every zone
/// named by a TZID gets its complete VTIMEZONE, the same text in every calendar.
pub fn calendar(name: Option<&str>, feed: bool, events: &[Event]) -> String {
    let mut body = Writer::default();
    let mut zones: Vec<Tz> = Vec::new();
    for e in events {
        zones.extend(event(&mut body, e));
    }
    zones.sort_by_key(|z| z.name());
    zones.dedup();
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
    for zone in zones {
        w.raw(&vtimezone::definition(zone));
    }
    w.raw(&body.finish());
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

    #[test]
    fn the_cache_lifetime_is_the_refresh_interval() {
        assert_eq!(format!("PT{}M", REFRESH_SECONDS / 60), REFRESH);
        assert_eq!(REFRESH_SECONDS % 60, 0);
    }

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
        // RFC 6868: quotes, carets and newlines survive, encoded.
        assert_eq!(param_value("U.S.: \"DoS\""), "\"U.S.: ^'DoS^'\"");
        assert_eq!(param_value("The \"Quartet\""), "The ^'Quartet^'");
        assert_eq!(param_value("a^b\r\nc\td"), "a^^b^nc d");
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

        /// Stamps written directly read as chrono writes them, for any instant of years 1–9999
        /// (and chrono's writing beyond).
        #[test]
        fn stamps_are_chronos(secs in -62_135_596_800_i64..253_402_300_799, later in 0i64..2) {
            let secs = if later == 1 { secs + 253_402_300_800 } else { secs };
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            prop_assert_eq!(utc_stamp(&t), t.format("%Y%m%dT%H%M%SZ").to_string());
            let local = t.naive_utc();
            prop_assert_eq!(local_stamp(&local), local.format("%Y%m%dT%H%M%S").to_string());
        }
    }

    fn party(name: &str) -> Party {
        Party {
            name: name.to_owned(),
            address: "urn:entente:delegation:X".to_owned(),
        }
    }

    fn single(zone: &str, start: &str, end: &str) -> Event {
        Event {
            uid: "m@entente".into(),
            dtstamp: utc("2027-01-01T00:00:00Z"),
            created: utc("2027-01-01T00:00:00Z"),
            last_modified: utc("2027-01-01T00:00:00Z"),
            zone: zone.parse().unwrap(),
            series_zone: zone.parse().unwrap(),
            start: utc(start),
            end: utc(end),
            sequence: 0,
            summary: "Consultations".into(),
            description: None,
            location: None,
            status: "CONFIRMED",
            class: "CONFIDENTIAL",
            organizer: party("Host"),
            attendees: vec![Attendee {
                party: party("The \"Quartet\""),
                partstat: "ACCEPTED",
            }],
            rrule: None,
            exdates: Vec::new(),
            recurrence_id: None,
        }
    }

    fn lines(text: &str) -> Vec<String> {
        text.replace("\r\n ", "")
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    /// 01:15 on 2027-11-07 occurs twice in New York (05:15Z and 06:15Z). RFC 5545 readers take
    /// the first: the second is written in UTC, and then no VTIMEZONE is needed for it.
    #[test]
    fn the_second_instant_of_an_overlap_is_written_in_utc() {
        let later = lines(&calendar(
            None,
            false,
            &[single(
                "America/New_York",
                "2027-11-07T06:15:00Z",
                "2027-11-07T07:00:00Z",
            )],
        ));
        assert!(
            later.contains(&"DTSTART:20271107T061500Z".to_owned()),
            "{later:?}"
        );
        assert!(
            later.contains(&"DTEND:20271107T070000Z".to_owned()),
            "{later:?}"
        );
        assert!(!later.iter().any(|l| l.starts_with("BEGIN:VTIMEZONE")));
        let earlier = lines(&calendar(
            None,
            false,
            &[single(
                "America/New_York",
                "2027-11-07T05:15:00Z",
                "2027-11-07T07:00:00Z",
            )],
        ));
        assert!(earlier.contains(&"DTSTART;TZID=America/New_York:20271107T011500".to_owned()));
        assert!(earlier.contains(&"DTEND;TZID=America/New_York:20271107T020000".to_owned()));
        assert!(earlier.contains(&"TZID:America/New_York".to_owned()));
        // Lord Howe's half-hour overlap: 01:45 on 2027-04-04 is 14:45Z (+11) then 15:15Z (+10:30).
        let lord_howe = lines(&calendar(
            None,
            false,
            &[single(
                "Australia/Lord_Howe",
                "2027-04-03T15:15:00Z",
                "2027-04-03T16:00:00Z",
            )],
        ));
        assert!(
            lord_howe.contains(&"DTSTART:20270403T151500Z".to_owned()),
            "{lord_howe:?}"
        );
    }

    #[test]
    fn overrides_and_exdates_take_the_form_their_instant_needs() {
        let mut moved = single(
            "America/New_York",
            "2027-11-07T06:15:00Z",
            "2027-11-07T07:00:00Z",
        );
        moved.recurrence_id = Some(utc("2027-11-02T14:00:00Z"));
        let mut master = single(
            "America/New_York",
            "2027-01-05T15:00:00Z",
            "2027-01-05T15:30:00Z",
        );
        master.rrule = Some("FREQ=WEEKLY;BYDAY=TU".into());
        master.exdates = vec![utc("2027-03-16T14:00:00Z"), utc("2027-11-07T06:15:00Z")];
        let text = lines(&calendar(None, false, &[master, moved]));
        for line in [
            "DTSTART;TZID=America/New_York:20270105T100000",
            "EXDATE;TZID=America/New_York:20270316T100000",
            "EXDATE:20271107T061500Z",
            "DTSTART:20271107T061500Z",
            "RECURRENCE-ID;TZID=America/New_York:20271102T100000",
            "ATTENDEE;CN=The ^'Quartet^';CUTYPE=GROUP;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:urn:entente:delegation:X",
        ] {
            assert!(text.contains(&line.to_owned()), "{line} not in {text:?}");
        }
        assert_eq!(text.iter().filter(|l| *l == "BEGIN:VTIMEZONE").count(), 1);
    }
}
