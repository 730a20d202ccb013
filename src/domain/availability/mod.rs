//! Finding a time (issue 18): which instants fall inside a delegation's working hours or on its
//! non-working days, computed exactly from the zone's offsets, and the slot search over them.
//!
//! An instant is *in* a wall-clock range when its wall-clock time in the zone lies in the range:
//! a range that a DST gap cuts is shorter, one a repeated hour doubles is longer. The instants
//! of a range are found from the zone's offsets (constant between transitions), not by reading
//! wall-clock times back, so a repeated hour is counted twice and a skipped one not at all.

mod search;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::busy::merge;
pub use super::busy::Interval;
use super::delegation::WorkingHours;
pub use search::{search, Found, Party, Rank, Search, SeriesPlan};

/// The offsets a zone has around a window: from each start, the offset (local − UTC) in force.
#[derive(Debug, Clone)]
pub struct Offsets {
    periods: Vec<(DateTime<Utc>, TimeDelta)>,
}

/// How often offsets are sampled to find transitions (no zone changes twice within it).
const SAMPLE: TimeDelta = TimeDelta::hours(6);

fn offset_at(tz: Tz, t: DateTime<Utc>) -> TimeDelta {
    TimeDelta::seconds(i64::from(
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc(),
    ))
}

impl Offsets {
    /// The offsets of `tz` over `[from, to)`, with two days of margin each side.
    pub fn of(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let (mut t, end) = (from - TimeDelta::days(2), to + TimeDelta::days(2));
        let mut current = offset_at(tz, t);
        let mut periods = vec![(DateTime::<Utc>::MIN_UTC, current)];
        while t < end {
            let next = t + SAMPLE;
            let offset = offset_at(tz, next);
            if offset != current {
                // The first second with the new offset, by bisection over whole seconds
                // (zones change at whole seconds).
                let (mut lo, mut hi) = (t.timestamp(), next.timestamp() + 1);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    let at_mid = DateTime::from_timestamp(mid, 0).unwrap_or(next);
                    if offset_at(tz, at_mid) == current {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let hi = DateTime::from_timestamp(hi, 0).unwrap_or(next);
                current = offset_at(tz, hi);
                periods.push((hi, current));
                if current != offset {
                    // A second change inside the same sample: look again from there.
                    t = hi;
                    continue;
                }
            }
            t = next;
        }
        Self { periods }
    }

    /// The instants whose wall-clock time lies in `[a, b)`.
    pub fn local_span(&self, a: NaiveDateTime, b: NaiveDateTime) -> Vec<Interval> {
        let mut spans = Vec::new();
        for (i, &(start, offset)) in self.periods.iter().enumerate() {
            let end = self
                .periods
                .get(i + 1)
                .map_or(DateTime::<Utc>::MAX_UTC, |p| p.0);
            let (s, e) = ((a - offset).and_utc(), (b - offset).and_utc());
            let (s, e) = (s.max(start), e.min(end));
            if s < e {
                spans.push((s, e));
            }
        }
        spans
    }

    /// The instants of a whole local day.
    pub fn day(&self, date: NaiveDate) -> Vec<Interval> {
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        self.local_span(midnight(date), midnight(date + TimeDelta::days(1)))
    }
}

/// The local dates that instants in `[from, to)` can fall on in any zone (offsets are within
/// ±26 hours), from two days before to two days after.
pub fn local_dates(from: DateTime<Utc>, to: DateTime<Utc>) -> impl Iterator<Item = NaiveDate> {
    let first = from.date_naive() - TimeDelta::days(2);
    let last = to.date_naive() + TimeDelta::days(2);
    first.iter_days().take_while(move |d| *d <= last)
}

/// The instants in `[from, to)` (widened by two days) inside the working hours, sorted and
/// disjoint.
pub fn working_intervals(
    hours: &WorkingHours,
    offsets: &Offsets,
    (from, to): Interval,
) -> Vec<Interval> {
    let mut spans = Vec::new();
    for date in local_dates(from, to) {
        for &(start, end) in hours.ranges(chrono::Datelike::weekday(&date)) {
            let end = if end == NaiveTime::MIN {
                (date + TimeDelta::days(1)).and_time(NaiveTime::MIN)
            } else {
                date.and_time(end)
            };
            spans.extend(offsets.local_span(date.and_time(start), end));
        }
    }
    merge(spans)
}

/// How much of `[start, end)` the sorted, disjoint `intervals` cover.
pub fn covered(intervals: &[Interval], (start, end): Interval) -> TimeDelta {
    let first = intervals.partition_point(|iv| iv.1 <= start);
    intervals[first..]
        .iter()
        .take_while(|iv| iv.0 < end)
        .map(|iv| iv.1.min(end) - iv.0.max(start))
        .sum()
}

/// Whether the sorted, disjoint `intervals` meet `[start, end)`.
pub fn meets(intervals: &[Interval], (start, end): Interval) -> bool {
    let first = intervals.partition_point(|iv| iv.1 <= start);
    intervals.get(first).is_some_and(|iv| iv.0 < end)
}
