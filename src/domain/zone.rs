//! IANA time zones, parsed once.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

/// A valid IANA zone name (`Europe/Zurich`), as chrono-tz's bundled tz database knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeZone(Tz);

/// A zone name the tz database does not know, with the nearest names it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{name}' is not an IANA time zone name{}", hint(suggestions))]
pub struct UnknownTimeZone {
    pub name: String,
    /// Up to three zone names the caller probably meant, best first.
    pub suggestions: Vec<&'static str>,
}

fn hint(suggestions: &[&str]) -> String {
    match suggestions {
        [] => " (e.g. Europe/Zurich, America/New_York, UTC)".to_owned(),
        [one] => format!("; did you mean {one}?"),
        many => format!("; did you mean one of {}?", many.join(", ")),
    }
}

/// Capitals and diplomatic cities whose name is no zone name, with the zone that keeps their
/// time (UN duty stations first). Cities that name a zone themselves (Europe/Vienna, …) need
/// no entry: they are found by the city part of every zone name.
const CITIES: &[(&str, &str)] = &[
    ("geneva", "Europe/Zurich"),
    ("bern", "Europe/Zurich"),
    ("washington", "America/New_York"),
    ("washington_dc", "America/New_York"),
    ("the_hague", "Europe/Amsterdam"),
    ("den_haag", "Europe/Amsterdam"),
    ("hague", "Europe/Amsterdam"),
    ("ottawa", "America/Toronto"),
    ("montreal", "America/Toronto"),
    ("beijing", "Asia/Shanghai"),
    ("new_delhi", "Asia/Kolkata"),
    ("delhi", "Asia/Kolkata"),
    ("mumbai", "Asia/Kolkata"),
    ("canberra", "Australia/Sydney"),
    ("brasilia", "America/Sao_Paulo"),
    ("pretoria", "Africa/Johannesburg"),
    ("wellington", "Pacific/Auckland"),
    ("abu_dhabi", "Asia/Dubai"),
    ("ankara", "Europe/Istanbul"),
    ("kiev", "Europe/Kyiv"),
    ("hanoi", "Asia/Ho_Chi_Minh"),
    ("strasbourg", "Europe/Paris"),
    ("bonn", "Europe/Berlin"),
    ("frankfurt", "Europe/Berlin"),
    ("st_petersburg", "Europe/Moscow"),
    ("saint_petersburg", "Europe/Moscow"),
    ("islamabad", "Asia/Karachi"),
    ("astana", "Asia/Almaty"),
    ("rabat", "Africa/Casablanca"),
    ("tel_aviv", "Asia/Jerusalem"),
    ("quebec", "America/Toronto"),
    ("san_francisco", "America/Los_Angeles"),
    ("geneve", "Europe/Zurich"),
    ("genf", "Europe/Zurich"),
];

/// `Europe/Geneva` → `geneva`, ` New York ` → `new_york`.
fn normalized(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// The zones the caller probably meant by `raw`: a city that keeps another zone's time, the
/// zone named by the same words in another case, then the nearest names by edit distance.
pub fn suggestions(raw: &str) -> Vec<&'static str> {
    let wanted = normalized(raw);
    let city = wanted.rsplit('/').next().unwrap_or_default().to_owned();
    let mut found: Vec<&'static str> = CITIES
        .iter()
        .filter(|(alias, _)| *alias == city)
        .map(|(_, zone)| *zone)
        .collect();
    for tz in chrono_tz::TZ_VARIANTS {
        let name = normalized(tz.name());
        if name == wanted || name.rsplit('/').next() == Some(city.as_str()) {
            found.push(tz.name());
        }
    }
    if found.is_empty() && !wanted.is_empty() {
        let limit = (wanted.len() / 4).clamp(1, 3);
        let mut near: Vec<(usize, &'static str)> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| {
                let name = normalized(tz.name());
                let whole = strsim::levenshtein(&wanted, &name);
                let by_city =
                    strsim::levenshtein(&city, name.rsplit('/').next().unwrap_or_default());
                (whole.min(by_city), tz.name())
            })
            .filter(|(distance, _)| *distance <= limit)
            .collect();
        near.sort();
        found.extend(near.into_iter().map(|(_, zone)| zone));
    }
    let mut unique = Vec::new();
    for zone in found {
        if !unique.contains(&zone) {
            unique.push(zone);
        }
    }
    unique.truncate(3);
    unique
}

impl TimeZone {
    pub fn parse(name: &str) -> Result<Self, UnknownTimeZone> {
        Tz::from_str(name).map(Self).map_err(|_| UnknownTimeZone {
            name: name.to_owned(),
            suggestions: suggestions(name),
        })
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The version of the tz database the zones come from (recorded so UTC can be re-derived when
/// it changes).
pub const TZDB_VERSION: &str = chrono_tz::IANA_TZDB_VERSION;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_zones() {
        assert_eq!(
            TimeZone::parse("Europe/Moscow").unwrap().name(),
            "Europe/Moscow"
        );
        assert_eq!(TimeZone::parse("UTC").unwrap().name(), "UTC");
        for bad in ["", "Europe/Atlantis", "europe/moscow ", "+03:00", "MSK+3"] {
            assert!(TimeZone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_bundled_zone_round_trips_by_name() {
        for tz in chrono_tz::TZ_VARIANTS {
            assert_eq!(TimeZone::parse(tz.name()).unwrap().tz(), tz);
        }
    }

    #[test]
    fn unknown_zones_come_with_what_was_meant() {
        let cases: [(&str, &[&str]); 8] = [
            ("Europe/Geneva", &["Europe/Zurich"]),
            ("Geneva", &["Europe/Zurich"]),
            ("America/Washington", &["America/New_York"]),
            ("Europe/The Hague", &["Europe/Amsterdam"]),
            ("europe/moscow ", &["Europe/Moscow"]),
            ("Moscow", &["Europe/Moscow"]),
            ("Europe/Moskow", &["Europe/Moscow"]),
            ("America/New_Yrok", &["America/New_York"]),
        ];
        for (raw, expected) in cases {
            let error = TimeZone::parse(raw).unwrap_err();
            assert_eq!(error.suggestions[..expected.len()], *expected, "{raw}");
            assert!(error.to_string().contains("did you mean"), "{error}");
        }
        let nothing = TimeZone::parse("Qwertyuiop/Asdfghjkl").unwrap_err();
        assert!(nothing.suggestions.is_empty());
        assert!(
            nothing.to_string().contains("e.g. Europe/Zurich"),
            "{nothing}"
        );
        // Every alias names a real zone.
        for (_, zone) in CITIES {
            assert!(TimeZone::parse(zone).is_ok(), "{zone}");
        }
    }
}
