//! The failed-login throttle as a pure rule: given the failures inside the window, may another
//! attempt go ahead, or when may it?

use chrono::{NaiveDateTime, TimeDelta};

/// `failures` are the failure instants within the window, oldest first. With `max` or more of
/// them, the next attempt must wait until enough of them have left the window: the answer is
/// how long, rounded up to whole seconds (at least one).
pub fn retry_after(
    failures: &[NaiveDateTime],
    max: u32,
    window: TimeDelta,
    now: NaiveDateTime,
) -> Option<TimeDelta> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let inside: Vec<&NaiveDateTime> = failures.iter().filter(|t| **t > now - window).collect();
    if inside.len() < max {
        return None;
    }
    // Once the failure at this index leaves the window, fewer than `max` remain.
    let release = *inside[inside.len() - max] + window;
    let wait = release - now;
    let seconds = (wait.num_milliseconds() + 999) / 1000;
    Some(TimeDelta::seconds(seconds.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + s, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn under_the_limit_goes_ahead() {
        let failures: Vec<_> = (0..9).map(at).collect();
        assert_eq!(
            retry_after(&failures, 10, TimeDelta::minutes(15), at(10)),
            None
        );
    }

    #[test]
    fn at_the_limit_waits_for_the_oldest_to_expire() {
        let failures: Vec<_> = (0..10).map(at).collect();
        let wait = retry_after(&failures, 10, TimeDelta::seconds(900), at(100)).unwrap();
        assert_eq!(wait, TimeDelta::seconds(800));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let failures: Vec<_> = (0..10).map(|i| at(i * 100)).collect();
        // At t=1000 the window (100, 1000] holds 9 of them.
        assert_eq!(
            retry_after(&failures, 10, TimeDelta::seconds(900), at(1000)),
            None
        );
    }

    proptest! {
        /// Waiting exactly the answer always lets the next attempt through, and one second
        /// less never does (when the wait is more than a second).
        #[test]
        fn the_wait_is_exact(mut offsets in proptest::collection::vec(0_i64..900, 0..30), max in 1_u32..15, now_offset in 0_i64..300) {
            offsets.sort_unstable();
            let failures: Vec<_> = offsets.iter().map(|o| at(*o)).collect();
            let window = TimeDelta::seconds(900);
            let now = at(900 + now_offset - 300);
            if let Some(wait) = retry_after(&failures, max, window, now) {
                prop_assert!(wait >= TimeDelta::seconds(1));
                prop_assert_eq!(retry_after(&failures, max, window, now + wait), None);
                if wait > TimeDelta::seconds(1) {
                    prop_assert!(retry_after(&failures, max, window, now + wait - TimeDelta::seconds(1)).is_some());
                }
            }
        }
    }
}
