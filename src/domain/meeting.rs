//! Meetings as pure rules: statuses, responses, format, the time window, and what raises the
//! iCalendar `SEQUENCE`.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::stored::string_enum;
use super::time::{self, Disambiguation, LocalTimeError};

/// The longest a single meeting may last (a conference week with margin).
pub const MAX_DURATION_DAYS: i64 = 31;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_LOCATION_CHARS: usize = 500;
pub const MAX_PARTICIPANTS: usize = 200;

string_enum!(
    /// `proposed` → `confirmed`; `cancelled` only through DELETE, and final.
    MeetingStatus { Proposed => "proposed", Confirmed => "confirmed", Cancelled => "cancelled" }
);
string_enum!(
    /// Who may see a meeting besides its participants.
    Confidentiality { Participants => "participants", Forum => "forum", Public => "public" }
);
string_enum!(
    /// A participant delegation's answer.
    Response { Pending => "pending", Accepted => "accepted", Declined => "declined", Tentative => "tentative" }
);
string_enum!(ParticipantRole { Host => "host", Participant => "participant" });
string_enum!(
    /// Derived from the number of participant delegations.
    Format { Bilateral => "bilateral", Multilateral => "multilateral" }
);

impl Format {
    /// 2 delegations → bilateral, 3 or more → multilateral.
    pub fn of(participants: usize) -> Self {
        if participants <= 2 {
            Self::Bilateral
        } else {
            Self::Multilateral
        }
    }
}

/// A meeting's time: the wall-clock truth and the instants derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub zone: Tz,
    pub start_local: NaiveDateTime,
    pub end_local: NaiveDateTime,
    pub disambiguation: Option<Disambiguation>,
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("start: {0}")]
    Start(LocalTimeError),
    #[error("end: {0}")]
    End(LocalTimeError),
    #[error("end must be after start")]
    EndNotAfterStart,
    #[error("a meeting lasts at most {MAX_DURATION_DAYS} days")]
    TooLong,
}

impl Slot {
    /// Resolves start and end in the zone (the same disambiguation for both).
    pub fn new(
        zone: Tz,
        start_local: NaiveDateTime,
        end_local: NaiveDateTime,
        disambiguation: Option<Disambiguation>,
    ) -> Result<Self, SlotError> {
        let start_utc =
            time::resolve(start_local, zone, disambiguation).map_err(SlotError::Start)?;
        let end_utc = time::resolve(end_local, zone, disambiguation).map_err(SlotError::End)?;
        if end_utc <= start_utc {
            return Err(SlotError::EndNotAfterStart);
        }
        if end_utc - start_utc > TimeDelta::days(MAX_DURATION_DAYS) {
            return Err(SlotError::TooLong);
        }
        Ok(Self {
            zone,
            start_local,
            end_local,
            disambiguation,
            start_utc,
            end_utc,
        })
    }
}

/// Half-open intervals `[a_start, a_end)` and `[b_start, b_end)` share an instant.
pub fn overlaps(
    a_start: DateTime<Utc>,
    a_end: DateTime<Utc>,
    b_start: DateTime<Utc>,
    b_end: DateTime<Utc>,
) -> bool {
    a_start < b_end && b_start < a_end
}

/// Character-count check for a text field.
pub fn check_len(
    field: &str,
    value: &str,
    max: usize,
    allow_blank: bool,
) -> Result<(), (String, String)> {
    let n = value.chars().count();
    if n > max {
        return Err((
            field.to_owned(),
            format!("at most {max} characters (got {n})"),
        ));
    }
    if !allow_blank && value.trim().is_empty() {
        return Err((field.to_owned(), "must not be blank".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn local(s: &str) -> NaiveDateTime {
        time::parse_local(s).unwrap()
    }

    #[test]
    fn format_from_participants() {
        assert_eq!(Format::of(2), Format::Bilateral);
        assert_eq!(Format::of(3), Format::Multilateral);
        assert_eq!(Format::of(12), Format::Multilateral);
    }

    #[test]
    fn enums_round_trip() {
        for s in [
            MeetingStatus::Proposed,
            MeetingStatus::Confirmed,
            MeetingStatus::Cancelled,
        ] {
            assert_eq!(MeetingStatus::parse(s.as_str()), Some(s));
        }
        for r in [
            Response::Pending,
            Response::Accepted,
            Response::Declined,
            Response::Tentative,
        ] {
            assert_eq!(Response::parse(r.as_str()), Some(r));
        }
        assert_eq!(Confidentiality::parse("secret"), None);
    }

    #[test]
    fn slots() {
        let geneva = tz("Europe/Zurich");
        let slot = Slot::new(
            geneva,
            local("2027-03-29T10:00"),
            local("2027-03-29T11:30"),
            None,
        )
        .unwrap();
        assert_eq!(time::fmt_instant(&slot.start_utc), "2027-03-29T08:00:00Z");
        assert_eq!(slot.end_utc - slot.start_utc, TimeDelta::minutes(90));
        assert_eq!(
            Slot::new(
                geneva,
                local("2027-03-29T10:00"),
                local("2027-03-29T10:00"),
                None
            ),
            Err(SlotError::EndNotAfterStart)
        );
        assert!(matches!(
            Slot::new(
                geneva,
                local("2027-03-28T02:30"),
                local("2027-03-28T04:00"),
                None
            ),
            Err(SlotError::Start(_))
        ));
        assert!(matches!(
            Slot::new(
                geneva,
                local("2027-03-28T01:00"),
                local("2027-03-28T02:30"),
                None
            ),
            Err(SlotError::End(_))
        ));
        assert_eq!(
            Slot::new(
                geneva,
                local("2027-01-01T10:00"),
                local("2027-03-01T10:00"),
                None
            ),
            Err(SlotError::TooLong)
        );
        // Across the autumn overlap: local 01:30 → 01:15 "later" is still 45 minutes long.
        let ny = tz("America/New_York");
        let slot = Slot::new(
            ny,
            local("2027-11-07T00:30"),
            local("2027-11-07T01:15"),
            Some(Disambiguation::Later),
        )
        .unwrap();
        assert_eq!(slot.end_utc - slot.start_utc, TimeDelta::minutes(105));
    }

    #[test]
    fn overlap_is_half_open() {
        let t = |h: u32| local(&format!("2027-01-01T{h:02}:00")).and_utc();
        assert!(overlaps(t(10), t(12), t(11), t(13)));
        assert!(
            !overlaps(t(10), t(11), t(11), t(12)),
            "back to back is no conflict"
        );
        assert!(overlaps(t(10), t(14), t(11), t(12)));
    }
}
