//! Recurring series: RFC 5545 RRULEs expanded in the meeting's zone, so that the wall-clock
//! time stays fixed across DST changes.
//!
//! The `rrule` crate expands the rule; it does so here in *floating* time (the wall clock read
//! as if it were UTC), and each wall-clock occurrence is then placed in the zone by our own
//! rule (RFC 5545 §3.3.10: a time in a gap is shifted forward by the gap, a repeated time is
//! the first instance). This keeps occurrences the crate would lose in zones whose gap starts
//! at midnight (America/Santiago, America/Havana), and keeps UNTIL an instant, as RFC 5545
//! requires for a zoned DTSTART.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;
use rrule::{RRule, Unvalidated};

use super::meeting::MeetingStatus;
use super::time;

/// Parts a rule may have.
const SUPPORTED: [&str; 9] = [
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
];
/// Bounds against abuse: a bounded series has at most this many occurrences.
pub const MAX_OCCURRENCES: u32 = 20_000;
pub const MAX_INTERVAL: u32 = 1_000;
/// A rule yields at most one occurrence a day (no BYHOUR/BYMINUTE/BYSECOND, no sub-daily
/// frequency), so a window of `MAX_WINDOW_DAYS` holds at most this many per series.
pub const MAX_WINDOW_DAYS: i64 = 366;
const WINDOW_LIMIT: u16 = 800;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{part}: {message}")]
pub struct RecurrenceError {
    /// The part at fault (`FREQ`, `BYDAY`, …) or `recurrence` for the rule as a whole.
    pub part: String,
    pub message: String,
}

fn fail(part: &str, message: impl Into<String>) -> RecurrenceError {
    RecurrenceError {
        part: part.to_owned(),
        message: message.into(),
    }
}

/// The end of a series given by UNTIL: an instant (`…Z`), or a date (inclusive, in the zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    Instant(DateTime<Utc>),
    Date(NaiveDate),
}

/// A validated rule, kept as the client wrote it.
#[derive(Debug, Clone)]
pub struct Rule {
    text: String,
    /// The rule without UNTIL, for the expander (UNTIL is applied to instants, here).
    floating: String,
    until: Option<Until>,
    count: Option<u32>,
}

impl Rule {
    /// Parses and checks a rule (`FREQ=WEEKLY;BYDAY=TU;COUNT=10`, an `RRULE:` prefix allowed).
    pub fn parse(raw: &str) -> Result<Self, RecurrenceError> {
        let text = raw.trim();
        if text.contains(['\n', '\r']) {
            return Err(fail("recurrence", "one RRULE only, on one line"));
        }
        let body = text.strip_prefix("RRULE:").unwrap_or(text);
        if body.is_empty() {
            return Err(fail("recurrence", "empty rule"));
        }
        let mut seen = Vec::new();
        let mut kept = Vec::new();
        let (mut until, mut count, mut freq) = (None, None, None);
        for part in body.split(';') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| fail("recurrence", format!("'{part}' is not NAME=VALUE")))?;
            let key_upper = key.to_ascii_uppercase();
            if !SUPPORTED.contains(&key_upper.as_str()) {
                return Err(fail(&key_upper, "not supported (supported: FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, WKST)"));
            }
            if seen.contains(&key_upper) {
                return Err(fail(&key_upper, "given twice"));
            }
            seen.push(key_upper.clone());
            match key_upper.as_str() {
                "FREQ" => match value.to_ascii_uppercase().as_str() {
                    f @ ("DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY") => freq = Some(f.to_owned()),
                    other => {
                        return Err(fail(
                            "FREQ",
                            format!("'{other}' is not one of DAILY, WEEKLY, MONTHLY, YEARLY"),
                        ))
                    }
                },
                "INTERVAL" => {
                    let n: u32 = value
                        .parse()
                        .map_err(|_| fail("INTERVAL", "not a whole number"))?;
                    if !(1..=MAX_INTERVAL).contains(&n) {
                        return Err(fail(
                            "INTERVAL",
                            format!("must be from 1 to {MAX_INTERVAL}"),
                        ));
                    }
                }
                "COUNT" => {
                    let n: u32 = value
                        .parse()
                        .map_err(|_| fail("COUNT", "not a whole number"))?;
                    if !(1..=MAX_OCCURRENCES).contains(&n) {
                        return Err(fail(
                            "COUNT",
                            format!("must be from 1 to {MAX_OCCURRENCES}"),
                        ));
                    }
                    count = Some(n);
                }
                "UNTIL" => {
                    until = Some(parse_until(value)?);
                    continue;
                }
                _ => {}
            }
            kept.push(format!("{key_upper}={value}"));
        }
        if freq.is_none() {
            return Err(fail("FREQ", "required"));
        }
        if count.is_some() && until.is_some() {
            return Err(fail("COUNT", "COUNT and UNTIL cannot both be given"));
        }
        let floating = kept.join(";");
        RRule::<Unvalidated>::from_str(&floating).map_err(|e| fail("recurrence", e.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            floating,
            until,
            count,
        })
    }

    /// The rule as the client gave it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The rule as RFC 5545 wants it beside a zoned DTSTART: UNTIL as a UTC instant (a date
    /// UNTIL becomes the end of that date in `zone`).
    pub fn to_ical(&self, zone: Tz) -> String {
        let until = match self.until {
            None => return self.floating.clone(),
            Some(Until::Instant(t)) => t,
            Some(Until::Date(d)) => {
                time::resolve_in_series(d.and_hms_opt(23, 59, 59).unwrap_or_default(), zone)
            }
        };
        format!("{};UNTIL={}", self.floating, until.format("%Y%m%dT%H%M%SZ"))
    }

    /// Whether an occurrence starting at `start_utc` (`start_local` on the wall clock) is
    /// within UNTIL.
    pub fn admits(&self, start_utc: DateTime<Utc>, start_local: NaiveDateTime) -> bool {
        match self.until {
            None => true,
            Some(Until::Instant(until)) => start_utc <= until,
            Some(Until::Date(date)) => start_local.date() <= date,
        }
    }

    pub fn is_bounded(&self) -> bool {
        self.until.is_some() || self.count.is_some()
    }
}

fn parse_until(value: &str) -> Result<Until, RecurrenceError> {
    let until = parse_until_value(value)?;
    let local = match until {
        Until::Instant(t) => t.naive_utc(),
        Until::Date(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
    };
    time::check_year(&local).map_err(|message| fail("UNTIL", message))?;
    Ok(until)
}

fn parse_until_value(value: &str) -> Result<Until, RecurrenceError> {
    if let Some(stamp) = value.strip_suffix('Z') {
        return NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S")
            .map(|t| Until::Instant(t.and_utc()))
            .map_err(|_| {
                fail(
                    "UNTIL",
                    format!("'{value}' is not a UTC date-time like 20271231T235959Z"),
                )
            });
    }
    if value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d")
            .map(Until::Date)
            .map_err(|_| fail("UNTIL", format!("'{value}' is not a date like 20271231")));
    }
    Err(fail(
        "UNTIL",
        format!("'{value}' must be a UTC date-time (20271231T235959Z) or a date (20271231): a local time would be ambiguous"),
    ))
}

/// One occurrence: its instants, and its original start (its identity, like RECURRENCE-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
    pub start_local: NaiveDateTime,
}

/// A rule anchored at a meeting's first occurrence, in the meeting's zone.
#[derive(Debug, Clone)]
pub struct Series {
    rule: Rule,
    zone: Tz,
    dtstart_local: NaiveDateTime,
    /// RFC 5545 §3.8.5.3: every occurrence lasts exactly as long as the first.
    duration: TimeDelta,
}

/// The far future that stands for "never ends" in range columns.
pub fn unbounded_end() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Series {
    /// Anchors `rule` at the first occurrence (`dtstart_local` in `zone`, lasting `duration`).
    pub fn new(
        rule: Rule,
        zone: Tz,
        dtstart_local: NaiveDateTime,
        duration: TimeDelta,
    ) -> Result<Self, RecurrenceError> {
        let series = Self {
            rule,
            zone,
            dtstart_local,
            duration,
        };
        series.expander()?;
        Ok(series)
    }

    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    fn floating(t: NaiveDateTime) -> DateTime<rrule::Tz> {
        rrule::Tz::UTC.from_utc_datetime(&t)
    }

    fn expander(&self) -> Result<rrule::RRuleSet, RecurrenceError> {
        RRule::<Unvalidated>::from_str(&self.rule.floating)
            .and_then(|r| r.build(Self::floating(self.dtstart_local)))
            .map_err(|e| fail("recurrence", e.to_string()))
    }

    fn place(&self, local: NaiveDateTime) -> Instance {
        let start_utc = time::resolve_in_series(local, self.zone);
        Instance {
            start_utc,
            end_utc: start_utc + self.duration,
            start_local: local,
        }
    }

    fn within_until(&self, instance: &Instance) -> bool {
        self.rule.admits(instance.start_utc, instance.start_local)
    }

    /// The occurrences overlapping `[from, to)` (a window of at most `MAX_WINDOW_DAYS`), in order.
    pub fn between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Instance>, RecurrenceError> {
        if to - from > TimeDelta::days(MAX_WINDOW_DAYS + 1) {
            return Err(fail(
                "recurrence",
                format!("expansion windows are at most {MAX_WINDOW_DAYS} days"),
            ));
        }
        // Offsets are within ±26 h: two days of margin in floating time, then the exact filter.
        let margin = TimeDelta::days(2);
        let after = Self::floating(from.naive_utc() - margin - self.duration);
        let before = Self::floating(to.naive_utc() + margin);
        let result = self
            .expander()?
            .after(after)
            .before(before)
            .all(WINDOW_LIMIT);
        if result.limited {
            return Err(fail(
                "recurrence",
                "the rule yields too many occurrences in the window",
            ));
        }
        Ok(result
            .dates
            .iter()
            .map(|d| self.place(d.naive_utc()))
            .filter(|i| self.within_until(i) && i.start_utc < to && i.end_utc > from)
            .collect())
    }

    /// The end of the last occurrence; None for a series without end. A bounded series longer
    /// than `MAX_OCCURRENCES` is refused.
    pub fn last_end(&self) -> Result<Option<DateTime<Utc>>, RecurrenceError> {
        if !self.rule.is_bounded() {
            return Ok(None);
        }
        let mut set = self.expander()?;
        if let Some(until) = self.rule.until {
            let limit_local = match until {
                Until::Instant(t) => t.naive_utc() + TimeDelta::days(2),
                Until::Date(d) => {
                    d.and_hms_opt(23, 59, 59).unwrap_or_default() + TimeDelta::days(1)
                }
            };
            set = set.before(Self::floating(limit_local));
        }
        let limit = u16::try_from(MAX_OCCURRENCES.min(u32::from(u16::MAX))).unwrap_or(u16::MAX);
        let result = set.all(limit);
        if result.limited && self.rule.until.is_some() {
            return Err(fail(
                "UNTIL",
                format!("the series would have more than {limit} occurrences"),
            ));
        }
        Ok(result
            .dates
            .iter()
            .map(|d| self.place(d.naive_utc()))
            .filter(|i| self.within_until(i))
            .map(|i| i.end_utc)
            .max())
    }

    /// Whether `original_start_utc` is one of the series' occurrences.
    pub fn occurrence_at(
        &self,
        original_start_utc: DateTime<Utc>,
    ) -> Result<Option<Instance>, RecurrenceError> {
        let window = self.between(
            original_start_utc - TimeDelta::hours(1),
            original_start_utc + TimeDelta::hours(1),
        )?;
        Ok(window
            .into_iter()
            .find(|i| i.start_utc == original_start_utc))
    }
}

/// One occurrence of a series moved and/or given its own status, keyed by its original start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub original_start_utc: DateTime<Utc>,
    /// The new instants, when moved.
    pub moved: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub status: Option<MeetingStatus>,
}

/// An occurrence as the schedule shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// The original start (RECURRENCE-ID) for an occurrence of a series; None for a single meeting.
    pub recurrence_id: Option<DateTime<Utc>>,
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
    pub status: MeetingStatus,
}

/// Everything that decides when a meeting happens: its first slot, its series if any, and the
/// overrides of single occurrences.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub status: MeetingStatus,
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
    pub series: Option<Series>,
    pub overrides: Vec<Override>,
}

impl Timeline {
    /// The occurrences overlapping `[from, to)`, by start (cancelled ones included, marked).
    pub fn between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Occurrence>, RecurrenceError> {
        let Some(series) = &self.series else {
            let hit = self.start_utc < to && self.end_utc > from;
            return Ok(hit
                .then_some(Occurrence {
                    recurrence_id: None,
                    start_utc: self.start_utc,
                    end_utc: self.end_utc,
                    status: self.status,
                })
                .into_iter()
                .collect());
        };
        let status_of = |o: Option<&Override>| match (self.status, o.and_then(|o| o.status)) {
            (MeetingStatus::Cancelled, _) => MeetingStatus::Cancelled,
            (_, Some(own)) => own,
            (series_status, None) => series_status,
        };
        let mut out: Vec<Occurrence> = Vec::new();
        for instance in series.between(from, to)? {
            let o = self
                .overrides
                .iter()
                .find(|o| o.original_start_utc == instance.start_utc);
            if o.is_some_and(|o| o.moved.is_some()) {
                continue;
            }
            out.push(Occurrence {
                recurrence_id: Some(instance.start_utc),
                start_utc: instance.start_utc,
                end_utc: instance.end_utc,
                status: status_of(o),
            });
        }
        for o in &self.overrides {
            if let Some((start, end)) = o.moved {
                if start < to && end > from {
                    out.push(Occurrence {
                        recurrence_id: Some(o.original_start_utc),
                        start_utc: start,
                        end_utc: end,
                        status: status_of(Some(o)),
                    });
                }
            }
        }
        out.sort_by_key(|o| (o.start_utc, o.recurrence_id));
        Ok(out)
    }

    /// The first and last instants any occurrence can occupy (the far future for a series
    /// without end): the range columns that pre-filter queries.
    pub fn span(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), RecurrenceError> {
        let end = match &self.series {
            None => self.end_utc,
            Some(series) => series
                .last_end()?
                .unwrap_or_else(unbounded_end)
                .max(self.end_utc),
        };
        let moved = self.overrides.iter().filter_map(|o| o.moved);
        let start = moved
            .clone()
            .map(|(s, _)| s)
            .fold(self.start_utc, DateTime::min);
        let end = moved.map(|(_, e)| e).fold(end, DateTime::max);
        Ok((start, end))
    }
}

#[cfg(test)]
mod tests;
