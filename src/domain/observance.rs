//! Observances: a delegation's non-working days (national holidays, days of mourning), each a
//! date or a yearly rule (`FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=7`), whole days in its zone.

use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta};
use chrono_tz::Tz;

use super::recurrence::{Rule, Series};
use super::time::check_year;

/// At most this many observances a delegation.
pub const MAX_OBSERVANCES: usize = 400;
const MAX_NAME: usize = 200;

/// When an observance falls.
#[derive(Debug, Clone)]
pub enum When {
    Date(NaiveDate),
    /// Every year, by a yearly rule.
    Yearly(Rule),
}

#[derive(Debug, Clone)]
pub struct Observance {
    pub name: String,
    pub when: When,
}

/// The field at fault (`name`, `date`, `rule`) and why.
pub type Invalid = (&'static str, String);

impl Observance {
    /// Checks one observance: a name, and exactly one of a date (`YYYY-MM-DD`) or a yearly rule
    /// naming its month and its day(s) (`BYMONTH` with `BYMONTHDAY` or `BYDAY`); no COUNT,
    /// UNTIL or INTERVAL (a yearly rule holds every year; give dates for single days).
    pub fn parse(name: &str, date: Option<&str>, rule: Option<&str>) -> Result<Self, Invalid> {
        let n = name.trim().chars().count();
        if n == 0 || n > MAX_NAME {
            return Err(("name", format!("must be 1 to {MAX_NAME} characters")));
        }
        let when = match (date, rule) {
            (Some(date), None) => When::Date(parse_date(date)?),
            (None, Some(rule)) => When::Yearly(parse_yearly(rule)?),
            _ => return Err(("date", "give either a date or a yearly rule".to_owned())),
        };
        Ok(Self {
            name: name.trim().to_owned(),
            when,
        })
    }
}

fn parse_date(raw: &str) -> Result<NaiveDate, Invalid> {
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 10)
        .ok_or_else(|| ("date", format!("'{raw}' is not a date like 2027-01-07")))?;
    check_year(&date.and_time(NaiveTime::MIN)).map_err(|m| ("date", m))?;
    Ok(date)
}

fn parse_yearly(raw: &str) -> Result<Rule, Invalid> {
    let rule = Rule::parse(raw).map_err(|e| ("rule", e.to_string()))?;
    let body = raw.trim();
    let body = body.strip_prefix("RRULE:").unwrap_or(body);
    let parts: Vec<(String, &str)> = body
        .split(';')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_ascii_uppercase(), v))
        .collect();
    let value = |key: &str| parts.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
    if !value("FREQ").is_some_and(|f| f.eq_ignore_ascii_case("YEARLY")) {
        return Err(("rule", "FREQ must be YEARLY".to_owned()));
    }
    for part in ["COUNT", "UNTIL"] {
        if value(part).is_some() {
            return Err((
                "rule",
                format!("{part}: an observance rule holds every year"),
            ));
        }
    }
    if value("INTERVAL").is_some_and(|i| i != "1") {
        return Err((
            "rule",
            "INTERVAL: an observance rule holds every year".to_owned(),
        ));
    }
    if value("BYMONTH").is_none() || (value("BYMONTHDAY").is_none() && value("BYDAY").is_none()) {
        return Err((
            "rule",
            "name the month (BYMONTH) and the day (BYMONTHDAY, or BYDAY like 4TH)".to_owned(),
        ));
    }
    Ok(rule)
}

/// The days in `[first, last]` on which one of the observances falls, sorted, each once.
pub fn days_between(
    observances: &[Observance],
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = Vec::new();
    for observance in observances {
        match &observance.when {
            When::Date(d) => {
                if (first..=last).contains(d) {
                    days.push(*d);
                }
            }
            When::Yearly(rule) => days.extend(yearly_days(rule, first, last)),
        }
    }
    days.sort_unstable();
    days.dedup();
    days
}

/// A yearly rule's days in `[first, last]`, expanded year by year from an anchor a year before
/// (the anchor itself, which the rule may not match, is outside the range).
fn yearly_days(rule: &Rule, first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    for year in first.year()..=last.year() {
        let (Some(jan1), Some(anchor)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year - 1, 1, 1),
        ) else {
            continue;
        };
        let Ok(series) = Series::new(
            rule.clone(),
            Tz::UTC,
            anchor.and_time(NaiveTime::MIN),
            TimeDelta::days(1),
        ) else {
            continue;
        };
        let start = jan1.and_time(NaiveTime::MIN).and_utc();
        let Ok(instances) = series.between(start, start + TimeDelta::days(366)) else {
            continue;
        };
        days.extend(
            instances
                .iter()
                .map(|i| i.start_local.date())
                .filter(|d| d.year() == year && (first..=last).contains(d)),
        );
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn yearly(name: &str, rule: &str) -> Observance {
        Observance::parse(name, None, Some(rule)).expect("valid")
    }

    #[test]
    fn yearly_rules_fall_on_their_days_every_year() {
        let christmas = yearly("Orthodox Christmas", "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=7");
        let thanksgiving = yearly("Thanksgiving", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH");
        let memorial = yearly("Memorial Day", "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO");
        let days = days_between(
            &[christmas, thanksgiving, memorial],
            day("2026-01-01"),
            day("2027-12-31"),
        );
        let expected: Vec<NaiveDate> = [
            "2026-01-07",
            "2026-05-25",
            "2026-11-26",
            "2027-01-07",
            "2027-05-31",
            "2027-11-25",
        ]
        .into_iter()
        .map(day)
        .collect();
        assert_eq!(days, expected);
    }

    #[test]
    fn a_range_inside_one_year_and_across_new_year() {
        let new_year = yearly("New Year", "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1");
        let eve = yearly("New Year's Eve", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31");
        let obs = [new_year, eve];
        assert_eq!(
            days_between(&obs, day("2026-12-31"), day("2027-01-01")),
            vec![day("2026-12-31"), day("2027-01-01")]
        );
        assert!(days_between(&obs, day("2027-01-02"), day("2027-12-30")).is_empty());
        // The anchor (1 January of the year before) is never a day of a rule that misses it.
        let may = yearly("Victory Day", "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=9");
        assert_eq!(
            days_between(&[may], day("2027-01-01"), day("2027-12-31")),
            vec![day("2027-05-09")]
        );
    }

    #[test]
    fn dates_are_kept_in_range_and_once() {
        let a = Observance::parse("Day of mourning", Some("2027-03-02"), None).expect("valid");
        let b = Observance::parse("Also", Some("2027-03-02"), None).expect("valid");
        let c = Observance::parse("Later", Some("2028-03-02"), None).expect("valid");
        assert_eq!(
            days_between(&[a, b, c], day("2027-01-01"), day("2027-12-31")),
            vec![day("2027-03-02")]
        );
    }

    #[test]
    fn bad_observances_name_their_field() {
        let cases: [(&str, Option<&str>, Option<&str>, &str); 11] = [
            ("", Some("2027-01-01"), None, "name"),
            ("X", None, None, "date"),
            (
                "X",
                Some("2027-01-01"),
                Some("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"),
                "date",
            ),
            ("X", Some("2027-13-01"), None, "date"),
            ("X", Some("2027-1-01"), None, "date"),
            ("X", None, Some("FREQ=MONTHLY;BYMONTHDAY=1"), "rule"),
            (
                "X",
                None,
                Some("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1;COUNT=3"),
                "rule",
            ),
            (
                "X",
                None,
                Some("FREQ=YEARLY;INTERVAL=4;BYMONTH=1;BYMONTHDAY=1"),
                "rule",
            ),
            ("X", None, Some("FREQ=YEARLY;BYMONTH=1"), "rule"),
            ("X", None, Some("FREQ=YEARLY;BYMONTHDAY=1"), "rule"),
            (
                "X",
                None,
                Some("FREQ=YEARLY;BYMONTH=13;BYMONTHDAY=1"),
                "rule",
            ),
        ];
        for (name, date, rule, field) in cases {
            let err = Observance::parse(name, date, rule).expect_err("invalid");
            assert_eq!(err.0, field, "{name:?} {date:?} {rule:?}: {}", err.1);
        }
        let long = "x".repeat(201);
        assert_eq!(
            Observance::parse(&long, Some("2027-01-01"), None)
                .expect_err("long")
                .0,
            "name"
        );
    }
}
