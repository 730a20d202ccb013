//! The slot search: candidate starts on a step grid, each kept when it is free for every party
//! and within every party's working hours (up to an allowance), ranked earliest or fairest.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::{covered, meets, Interval};
use crate::domain::recurrence::{RecurrenceError, Rule, Series};
use crate::domain::time::{resolve_in_series, to_local};

/// One party to the search: its zone and its working hours as instants.
#[derive(Debug, Clone)]
pub struct Party {
    pub zone: Tz,
    /// Sorted, disjoint; covering the window (and a series' horizon).
    pub working: Vec<Interval>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// By start.
    Earliest,
    /// By the largest burden any one party carries, smallest first, then by start. A series
    /// is ranked by its parties' burdens per occurrence in the leximin order: the worst-off
    /// party's first, then the next party's, and so on (a burden is shared rather than piled
    /// on one party only where that leaves nobody worse off), then by start.
    Fair,
}

/// What is searched for.
#[derive(Debug, Clone)]
pub struct Search {
    /// Candidate starts are `from`, `from + step`, …; a slot (a series' first occurrence) ends
    /// by `to`.
    pub window: Interval,
    /// No slot starts before this (the minimum notice).
    pub earliest: DateTime<Utc>,
    pub duration: TimeDelta,
    pub step: TimeDelta,
    pub limit: usize,
    /// How long each party may be outside its working hours, per occurrence.
    pub allowance: TimeDelta,
    pub rank: Rank,
}

/// A slot found: its (first) occurrence, and each party's time outside its working hours —
/// summed over the occurrences for a series — in the order the parties were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub outside: Vec<TimeDelta>,
    pub occurrences: usize,
}

impl Found {
    /// The burden of the worst-off party.
    pub fn worst(&self) -> TimeDelta {
        self.outside.iter().copied().max().unwrap_or_default()
    }

    /// The leximin order of two series' burdens per occurrence: each party's total divided
    /// by the series' occurrences, compared worst first (cross-multiplied: exact).
    pub(super) fn leximin(&self, other: &Self) -> std::cmp::Ordering {
        let sorted = |f: &Self| {
            let mut v: Vec<i64> = f.outside.iter().map(|d| d.num_minutes()).collect();
            v.sort_unstable_by(|a, b| b.cmp(a));
            v
        };
        let (mine, theirs) = (sorted(self), sorted(other));
        let (n, m) = (
            self.occurrences.max(1) as i64,
            other.occurrences.max(1) as i64,
        );
        mine.iter()
            .zip(&theirs)
            .map(|(a, b)| (a * m).cmp(&(b * n)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// A recurring series searched for: each candidate start anchors the rule in `zone`, and every
/// occurrence starting before `horizon` must be free. A rule with COUNT or UNTIL must end
/// before the horizon (a start whose series would not is not a slot: it cannot be checked).
#[derive(Debug, Clone)]
pub struct SeriesPlan {
    rule: Rule,
    zone: Tz,
    horizon: DateTime<Utc>,
    /// The occurrence dates of a series anchored on the last local date asked for (None: that
    /// date is not an occurrence of the rule).
    cache: Option<(NaiveDate, Option<Vec<NaiveDate>>)>,
}

impl SeriesPlan {
    pub fn new(rule: Rule, zone: Tz, horizon: DateTime<Utc>) -> Self {
        Self {
            rule,
            zone,
            horizon,
            cache: None,
        }
    }

    /// How far the occurrences checked reach.
    pub fn horizon(&self) -> DateTime<Utc> {
        self.horizon
    }

    /// The dates of a series anchored on `date` (the rule yields at most one occurrence a day,
    /// and which days does not depend on the time of day).
    fn dates(&mut self, date: NaiveDate) -> Result<Option<&Vec<NaiveDate>>, RecurrenceError> {
        if self.cache.as_ref().is_none_or(|(d, _)| *d != date) {
            let midnight = date.and_time(NaiveTime::MIN);
            let series = Series::new(
                self.rule.clone(),
                self.zone,
                midnight,
                TimeDelta::minutes(1),
            )?;
            let from = resolve_in_series(midnight, self.zone) - TimeDelta::hours(1);
            let dates: Vec<NaiveDate> = series
                .between(from, self.horizon)?
                .iter()
                .map(|i| i.start_local.date())
                .collect();
            let mut anchored = dates.first() == Some(&date);
            if anchored && self.rule.is_bounded() {
                // Occurrences end within two days of their date's midnight.
                let last = series.last_end()?;
                anchored = last.is_some_and(|end| end + TimeDelta::days(2) <= self.horizon);
            }
            self.cache = Some((date, anchored.then_some(dates)));
        }
        Ok(self.cache.as_ref().and_then(|(_, dates)| dates.as_ref()))
    }

    /// The occurrences of a series whose first starts at `start`; None when `start` cannot
    /// begin one (its date is not an occurrence of the rule, or its wall-clock time would be
    /// read as another instant).
    pub fn occurrences(
        &mut self,
        start: DateTime<Utc>,
        duration: TimeDelta,
    ) -> Result<Option<Vec<Interval>>, RecurrenceError> {
        let local = to_local(start, self.zone);
        if resolve_in_series(local, self.zone) != start {
            return Ok(None);
        }
        let (zone, horizon, time) = (self.zone, self.horizon, local.time());
        let rule = self.rule.clone();
        let Some(dates) = self.dates(local.date())? else {
            return Ok(None);
        };
        Ok(Some(
            dates
                .iter()
                .filter_map(|d| {
                    let local = d.and_time(time);
                    let at = resolve_in_series(local, zone);
                    (at < horizon && rule.admits(at, local)).then_some((at, at + duration))
                })
                .collect(),
        ))
    }
}

/// Each party's time outside its working hours over `occurrences`, or None when one is
/// blocked for all or beyond the allowance for a party.
fn evaluate(
    occurrences: &[Interval],
    parties: &[Party],
    blocked: &[Interval],
    allowance: TimeDelta,
) -> Option<Vec<TimeDelta>> {
    let mut totals = vec![TimeDelta::zero(); parties.len()];
    for &occurrence in occurrences {
        if meets(blocked, occurrence) {
            return None;
        }
        for (total, party) in totals.iter_mut().zip(parties) {
            let outside = (occurrence.1 - occurrence.0) - covered(&party.working, occurrence);
            if outside > allowance {
                return None;
            }
            *total += outside;
        }
    }
    Some(totals)
}

/// The slots of `search` for `parties`, none meeting `blocked` (every party's busy and
/// unavailable times, sorted and disjoint), ranked and cut to the limit.
pub fn search(
    search: &Search,
    parties: &[Party],
    blocked: &[Interval],
    mut series: Option<&mut SeriesPlan>,
) -> Result<Vec<Found>, RecurrenceError> {
    let (from, to) = search.window;
    let step = search.step.max(TimeDelta::minutes(1));
    let mut skip = 0;
    if search.earliest > from {
        let ahead = (search.earliest - from).num_seconds();
        skip = (ahead + step.num_seconds() - 1) / step.num_seconds();
    }
    let mut found = Vec::new();
    let mut start = from + step * i32::try_from(skip).unwrap_or(i32::MAX);
    while start + search.duration <= to {
        let occurrences = match series.as_deref_mut() {
            None => Some(vec![(start, start + search.duration)]),
            Some(plan) => plan.occurrences(start, search.duration)?,
        };
        if let Some(occurrences) = occurrences.filter(|o| !o.is_empty()) {
            if let Some(outside) = evaluate(&occurrences, parties, blocked, search.allowance) {
                found.push(Found {
                    start,
                    end: start + search.duration,
                    outside,
                    occurrences: occurrences.len(),
                });
                if search.rank == Rank::Earliest && found.len() >= search.limit {
                    break;
                }
            }
        }
        start += step;
    }
    if search.rank == Rank::Fair {
        if series.is_some() {
            found.sort_by(|a, b| a.leximin(b).then(a.start.cmp(&b.start)));
        } else {
            found.sort_by_key(|f| (f.worst(), f.start));
        }
    }
    found.truncate(search.limit);
    Ok(found)
}
