//! Delegations: the parties that meet. Their codes, kinds and working hours.

use std::collections::BTreeMap;
use std::fmt;

use super::stored::string_enum;
use chrono::{NaiveTime, Weekday};

/// `RU`, `US`, `UN-GENEVA`: 2–32 characters of `A–Z`, `0–9` and `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DelegationCode(String);

impl DelegationCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if !(2..=32).contains(&n) {
            return Err(format!("must be 2 to 32 characters (got {n})"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        {
            return Err("may contain only A-Z, 0-9 and '-'".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DelegationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_enum!(DelegationKind {
    State => "state",
    Organization => "organization",
    Other => "other",
});

/// Working hours per weekday, as wall-clock ranges in the delegation's zone:
/// `{"mon": [["09:00","13:00"],["14:00","18:00"]], …}`. A missing day is a day off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingHours(BTreeMap<Day, Vec<(NaiveTime, NaiveTime)>>);

/// A weekday key, ordered Monday first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(u8);

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Day {
    fn parse(key: &str) -> Option<Self> {
        DAY_KEYS
            .iter()
            .position(|k| *k == key)
            .map(|i| Self(i as u8))
    }

    pub fn key(self) -> &'static str {
        DAY_KEYS[usize::from(self.0)]
    }

    pub fn weekday(self) -> Weekday {
        Weekday::try_from(self.0).unwrap_or(Weekday::Mon)
    }
}

/// The JSON form, as clients send and receive it.
pub type WorkingHoursJson = BTreeMap<String, Vec<[String; 2]>>;

impl WorkingHours {
    /// Monday to Friday, 09:00 to 18:00.
    pub fn default_office() -> Self {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
        let six = NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default();
        Self((0..5).map(|d| (Day(d), vec![(nine, six)])).collect())
    }

    /// Validates: known day keys, `HH:MM` times, each range's start before its end, ranges in
    /// order and not overlapping. `24:00` may end a range. Errors name the day at fault.
    pub fn parse(json: &WorkingHoursJson) -> Result<Self, (String, String)> {
        let mut days = BTreeMap::new();
        for (key, ranges) in json {
            let field = format!("working_hours.{key}");
            let day = Day::parse(key).ok_or_else(|| {
                (
                    field.clone(),
                    "not a day: use mon, tue, wed, thu, fri, sat, sun".to_owned(),
                )
            })?;
            let mut parsed: Vec<(NaiveTime, NaiveTime)> = Vec::with_capacity(ranges.len());
            for [start, end] in ranges {
                let s = parse_hhmm(start, false)
                    .ok_or_else(|| (field.clone(), format!("'{start}' is not a time HH:MM")))?;
                let e = parse_hhmm(end, true)
                    .ok_or_else(|| (field.clone(), format!("'{end}' is not a time HH:MM")))?;
                if s >= e && !(e == NaiveTime::MIN && end == "24:00") {
                    return Err((field, format!("{start}–{end} does not end after it starts")));
                }
                if let Some(&(_, previous_end)) = parsed.last() {
                    if previous_end == NaiveTime::MIN || s < previous_end {
                        return Err((
                            field,
                            format!("{start}–{end} overlaps or precedes the range before it"),
                        ));
                    }
                }
                parsed.push((s, e));
            }
            if ranges.len() > 8 {
                return Err((field, "at most 8 ranges a day".to_owned()));
            }
            if !parsed.is_empty() {
                days.insert(day, parsed);
            }
        }
        Ok(Self(days))
    }

    pub fn to_json(&self) -> WorkingHoursJson {
        self.0
            .iter()
            .map(|(day, ranges)| {
                let ranges = ranges
                    .iter()
                    .map(|(s, e)| [format_hhmm(*s, false), format_hhmm(*e, true)])
                    .collect();
                (day.key().to_owned(), ranges)
            })
            .collect()
    }

    /// The ranges of one weekday; `NaiveTime::MIN` as an end means midnight at the day's end.
    pub fn ranges(&self, weekday: Weekday) -> &[(NaiveTime, NaiveTime)] {
        self.0
            .get(&Day(weekday.num_days_from_monday() as u8))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// `HH:MM`; `24:00` (as an end only) is midnight at the end of the day, kept as `00:00`.
fn parse_hhmm(raw: &str, is_end: bool) -> Option<NaiveTime> {
    if is_end && raw == "24:00" {
        return Some(NaiveTime::MIN);
    }
    let (h, m) = raw.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

fn format_hhmm(t: NaiveTime, is_end: bool) -> String {
    if is_end && t == NaiveTime::MIN {
        return "24:00".to_owned();
    }
    t.format("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(pairs: &[(&str, &[(&str, &str)])]) -> WorkingHoursJson {
        pairs
            .iter()
            .map(|(d, r)| {
                (
                    d.to_string(),
                    r.iter()
                        .map(|(a, b)| [a.to_string(), b.to_string()])
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn codes() {
        for good in ["RU", "US", "UN-GENEVA", "G20", "AB-12-CD"] {
            assert!(DelegationCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["R", "ru", "RU ", "Ру", "A_B", &"X".repeat(33), ""] {
            assert!(DelegationCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_is_weekdays_nine_to_six() {
        let json = WorkingHours::default_office().to_json();
        assert_eq!(json.len(), 5);
        assert_eq!(
            json["mon"],
            vec![["09:00".to_string(), "18:00".to_string()]]
        );
        assert!(!json.contains_key("sat"));
    }

    #[test]
    fn valid_hours_round_trip() {
        let input = json(&[
            ("mon", &[("09:00", "13:00"), ("14:00", "18:00")]),
            ("fri", &[("08:30", "24:00")]),
            ("sun", &[]),
        ]);
        let parsed = WorkingHours::parse(&input).unwrap();
        let back = parsed.to_json();
        assert_eq!(back["mon"], input["mon"]);
        assert_eq!(back["fri"], input["fri"]);
        assert!(!back.contains_key("sun"), "an empty day is a day off");
        assert_eq!(parsed.ranges(Weekday::Mon).len(), 2);
        assert!(parsed.ranges(Weekday::Tue).is_empty());
    }

    #[test]
    fn invalid_hours_name_the_day() {
        let cases: Vec<(WorkingHoursJson, &str)> = vec![
            (
                json(&[("monday", &[("09:00", "18:00")])]),
                "working_hours.monday",
            ),
            (json(&[("tue", &[("9:00", "18:00")])]), "working_hours.tue"),
            (json(&[("wed", &[("18:00", "09:00")])]), "working_hours.wed"),
            (json(&[("thu", &[("09:00", "09:00")])]), "working_hours.thu"),
            (
                json(&[("fri", &[("09:00", "13:00"), ("12:00", "18:00")])]),
                "working_hours.fri",
            ),
            (
                json(&[("sat", &[("14:00", "18:00"), ("09:00", "13:00")])]),
                "working_hours.sat",
            ),
            (json(&[("sun", &[("25:00", "26:00")])]), "working_hours.sun"),
            (
                json(&[("mon", &[("09:00", "24:00"), ("10:00", "11:00")])]),
                "working_hours.mon",
            ),
            (json(&[("mon", &[("24:00", "24:00")])]), "working_hours.mon"),
        ];
        for (input, field) in cases {
            let (f, _) = WorkingHours::parse(&input).unwrap_err();
            assert_eq!(f, field, "{input:?}");
        }
    }
}
