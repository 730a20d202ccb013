//! Busy times: a delegation's meetings as merged intervals, nothing else (no titles, no ids).

use chrono::{DateTime, Utc};

/// `[start, end)` in UTC.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// The union of `intervals` as sorted, disjoint intervals; overlapping and touching ones
/// become one, empty ones disappear.
pub fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|(start, end)| start < end);
    intervals.sort_unstable();
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for (start, end) in intervals {
        match merged.last_mut() {
            Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use proptest::prelude::*;

    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::minutes(minutes)
    }

    #[test]
    fn overlapping_and_touching_meetings_are_one_busy_time() {
        let busy = merge(vec![
            (at(60), at(120)),
            (at(0), at(30)),
            (at(30), at(45)),
            (at(100), at(110)),
            (at(200), at(200)),
            (at(90), at(130)),
        ]);
        assert_eq!(busy, [(at(0), at(45)), (at(60), at(130))]);
        assert_eq!(merge(Vec::new()), []);
    }

    proptest! {
        /// Sorted and disjoint, and a minute is busy in the result exactly when it is busy in
        /// one of the intervals.
        #[test]
        fn the_union_is_kept_exactly(raw in proptest::collection::vec((0_i64..300, 0_i64..60), 0..40)) {
            let intervals: Vec<Interval> =
                raw.iter().map(|(s, d)| (at(*s), at(s + d))).collect();
            let merged = merge(intervals.clone());
            for pair in merged.windows(2) {
                prop_assert!(pair[0].1 < pair[1].0, "disjoint and not touching: {pair:?}");
            }
            for minute in 0..400 {
                let t = at(minute);
                let busy = |list: &[Interval]| list.iter().any(|(s, e)| *s <= t && t < *e);
                prop_assert_eq!(busy(&merged), busy(&intervals), "minute {}", minute);
            }
        }
    }
}
