//! IANA time zones, parsed once.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

/// A valid IANA zone name (`Europe/Geneva`), as chrono-tz's bundled tz database knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeZone(Tz);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an IANA time zone name (e.g. Europe/Geneva, America/New_York, UTC)")]
pub struct UnknownTimeZone(pub String);

impl TimeZone {
    pub fn parse(name: &str) -> Result<Self, UnknownTimeZone> {
        Tz::from_str(name)
            .map(Self)
            .map_err(|_| UnknownTimeZone(name.to_owned()))
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
}
