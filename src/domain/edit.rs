//! Planning a change of a meeting, purely: from the meeting as it is and the edit asked for, the
//! meeting as it will be, and one record of what changed (for `SEQUENCE`, for who must answer
//! again, for the channel and forum rules, and for the audit log).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::meeting::{Confidentiality, MeetingStatus, Slot, SlotError};
use super::recurrence::{Override, RecurrenceError, Rule, Series, Timeline};
use super::stored::{ChannelId, DelegationId, ForumId};
use super::time::{self, Disambiguation};
use super::zone::TimeZone;

/// One kind of change, in the order the audit log names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// The wall-clock start or end, or the zone.
    Time,
    /// The same wall-clock times, resolved to other instants (another disambiguation).
    TimeDisambiguation,
    Recurrence,
    TitleOrDescription,
    Location,
    Status,
    Confidentiality,
    Participants,
    Channel,
    Forum,
}

impl Change {
    fn label(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::TimeDisambiguation => "time (disambiguation)",
            Self::Recurrence => "recurrence",
            Self::TitleOrDescription => "title/description",
            Self::Location => "location",
            Self::Status => "status",
            Self::Confidentiality => "confidentiality",
            Self::Participants => "participants",
            Self::Channel => "channel",
            Self::Forum => "forum",
        }
    }
}

/// What an edit changed: the one record everything else is derived from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet(Vec<Change>);

impl ChangeSet {
    pub fn of(changes: impl IntoIterator<Item = Change>) -> Self {
        let mut all: Vec<Change> = changes.into_iter().collect();
        all.sort();
        all.dedup();
        Self(all)
    }

    pub fn contains(&self, change: Change) -> bool {
        self.0.contains(&change)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// When the meeting takes place changed (its instants, or its series).
    pub fn time(&self) -> bool {
        [Change::Time, Change::TimeDisambiguation, Change::Recurrence]
            .into_iter()
            .any(|c| self.contains(c))
    }

    /// RFC 5545 §3.8.7.4: the organizer's significant changes (time, place, status, attendees)
    /// raise `SEQUENCE`; a new title or confidentiality does not.
    pub fn raises_sequence(&self) -> bool {
        self.time()
            || [Change::Location, Change::Status, Change::Participants]
                .into_iter()
                .any(|c| self.contains(c))
    }

    /// What the other parties agreed to changed — when, where, or with whom — so their answers
    /// go back to `pending` (the host's stays: it made the change).
    pub fn resets_answers(&self) -> bool {
        self.time()
            || [Change::Location, Change::Participants]
                .into_iter()
                .any(|c| self.contains(c))
    }

    /// The meeting moved, for the channel's rules: its time, or onto another channel.
    pub fn moves(&self) -> bool {
        self.time() || self.contains(Change::Channel)
    }

    /// Who meets changed, for the channel's and the forum's rules.
    pub fn regroups(&self) -> bool {
        [Change::Participants, Change::Channel, Change::Forum]
            .into_iter()
            .any(|c| self.contains(c))
    }

    /// The changes as the audit log names them.
    pub fn labels(&self) -> Vec<&'static str> {
        self.0.iter().map(|c| c.label()).collect()
    }
}

/// A meeting as it is now, in domain terms.
#[derive(Clone, Debug)]
pub struct Current {
    pub zone: TimeZone,
    pub start_local: NaiveDateTime,
    pub end_local: NaiveDateTime,
    pub disambiguation: Option<Disambiguation>,
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
    pub recurrence: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub status: MeetingStatus,
    pub confidentiality: Confidentiality,
    pub channel_id: Option<ChannelId>,
    pub forum_id: Option<ForumId>,
    /// The host first.
    pub participants: Vec<DelegationId>,
    pub overrides: Vec<Override>,
}

/// An edit: a field present replaces the current value (`Some(None)` clears an optional one).
/// Participants are already resolved to ids.
#[derive(Clone, Debug, Default)]
pub struct Edit {
    pub zone: Option<TimeZone>,
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
    pub disambiguation: Option<Option<Disambiguation>>,
    pub recurrence: Option<Option<String>>,
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub status: Option<MeetingStatus>,
    pub confidentiality: Option<Confidentiality>,
    pub participants: Option<Vec<DelegationId>>,
    pub channel_id: Option<Option<ChannelId>>,
    pub forum_id: Option<Option<ForumId>>,
}

/// The meeting as the edit leaves it.
#[derive(Clone, Debug)]
pub struct UpdatePlan {
    pub zone: TimeZone,
    pub slot: Slot,
    /// The new series with the overrides that stay (their original starts are still
    /// occurrences).
    pub timeline: Timeline,
    /// The wall-clock original starts of the overrides that stay, in the same order.
    pub kept_originals: Vec<NaiveDateTime>,
    /// The original starts of overrides that are no longer occurrences: removed.
    pub orphaned: Vec<DateTime<Utc>>,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub status: MeetingStatus,
    pub confidentiality: Confidentiality,
    pub participants: Vec<DelegationId>,
    pub channel_id: Option<ChannelId>,
    pub forum_id: Option<ForumId>,
    pub changes: ChangeSet,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Slot(#[from] SlotError),
    #[error(transparent)]
    Series(#[from] SeriesError),
    #[error("`forum` confidentiality needs a forum_id: its members see the meeting")]
    ForumWithoutForum,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    #[error("recurrence: {0}")]
    Rule(#[from] RecurrenceError),
    #[error("recurrence: the start ({0}) is not an occurrence of the rule: make the first meeting one of its days")]
    StartNotAnOccurrence(String),
}

/// A new series anchored at the meeting's slot. The start must itself be an occurrence of the
/// rule (RFC 5545 leaves an unsynchronised DTSTART undefined), and a bounded series must stay
/// within the occurrence limit.
pub fn new_series(rule: &str, slot: &Slot) -> Result<Series, SeriesError> {
    let series = Series::new(
        Rule::parse(rule)?,
        slot.zone,
        slot.start_local,
        slot.end_utc - slot.start_utc,
    )?;
    if series.occurrence_at(slot.start_utc)?.is_none() {
        return Err(SeriesError::StartNotAnOccurrence(time::fmt_local(
            &slot.start_local,
        )));
    }
    series.last_end()?;
    Ok(series)
}

/// `forum` confidentiality needs a forum whose members it means.
pub fn check_forum_confidentiality(
    confidentiality: Confidentiality,
    forum_id: Option<&ForumId>,
) -> Result<(), PlanError> {
    if confidentiality == Confidentiality::Forum && forum_id.is_none() {
        return Err(PlanError::ForumWithoutForum);
    }
    Ok(())
}

/// Plans `edit` of the meeting `current`.
pub fn plan_update(current: &Current, edit: Edit) -> Result<UpdatePlan, PlanError> {
    let mut changes = Vec::new();
    let zone = edit.zone.unwrap_or(current.zone);
    let slot = Slot::new(
        zone.tz(),
        edit.start.unwrap_or(current.start_local),
        edit.end.unwrap_or(current.end_local),
        edit.disambiguation.unwrap_or(current.disambiguation),
    )?;
    if (slot.start_local, slot.end_local, zone)
        != (current.start_local, current.end_local, current.zone)
    {
        changes.push(Change::Time);
    } else if (slot.start_utc, slot.end_utc) != (current.start_utc, current.end_utc) {
        changes.push(Change::TimeDisambiguation);
    }
    let recurrence = edit
        .recurrence
        .unwrap_or_else(|| current.recurrence.clone());
    if recurrence != current.recurrence {
        changes.push(Change::Recurrence);
    }
    let series = recurrence
        .as_deref()
        .map(|rule| new_series(rule, &slot))
        .transpose()?;
    let mut kept = Vec::new();
    let mut kept_originals = Vec::new();
    let mut orphaned = Vec::new();
    for o in &current.overrides {
        let still = match &series {
            Some(series) => series
                .occurrence_at(o.original_start_utc)
                .map_err(SeriesError::from)?,
            None => None,
        };
        match still {
            Some(instance) => {
                kept_originals.push(instance.start_local);
                kept.push(o.clone());
            }
            None => orphaned.push(o.original_start_utc),
        }
    }

    let title = edit
        .title
        .map_or_else(|| current.title.clone(), |t| t.trim().to_owned());
    let description = edit
        .description
        .unwrap_or_else(|| current.description.clone());
    if title != current.title || description != current.description {
        changes.push(Change::TitleOrDescription);
    }
    let location = edit.location.unwrap_or_else(|| current.location.clone());
    if location != current.location {
        changes.push(Change::Location);
    }
    let status = edit.status.unwrap_or(current.status);
    if status != current.status {
        changes.push(Change::Status);
    }
    let confidentiality = edit.confidentiality.unwrap_or(current.confidentiality);
    if confidentiality != current.confidentiality {
        changes.push(Change::Confidentiality);
    }
    let participants = edit
        .participants
        .unwrap_or_else(|| current.participants.clone());
    fn as_set(ids: &[DelegationId]) -> Vec<&DelegationId> {
        let mut set: Vec<&DelegationId> = ids.iter().collect();
        set.sort();
        set.dedup();
        set
    }
    if as_set(&participants) != as_set(&current.participants) {
        changes.push(Change::Participants);
    }
    let channel_id = edit
        .channel_id
        .unwrap_or_else(|| current.channel_id.clone());
    if channel_id != current.channel_id {
        changes.push(Change::Channel);
    }
    let forum_id = edit.forum_id.unwrap_or_else(|| current.forum_id.clone());
    if forum_id != current.forum_id {
        changes.push(Change::Forum);
    }
    check_forum_confidentiality(confidentiality, forum_id.as_ref())?;

    Ok(UpdatePlan {
        zone,
        timeline: Timeline {
            status,
            start_utc: slot.start_utc,
            end_utc: slot.end_utc,
            series,
            overrides: kept,
        },
        slot,
        kept_originals,
        orphaned,
        title,
        description,
        location,
        status,
        confidentiality,
        participants,
        channel_id,
        forum_id,
        changes: ChangeSet::of(changes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2027, 3, d)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .unwrap()
    }

    fn current(recurrence: Option<&str>) -> Current {
        let zone = TimeZone::parse("Europe/Zurich").unwrap();
        let slot = Slot::new(zone.tz(), at(1, 10), at(1, 11), None).unwrap();
        Current {
            zone,
            start_local: slot.start_local,
            end_local: slot.end_local,
            disambiguation: None,
            start_utc: slot.start_utc,
            end_utc: slot.end_utc,
            recurrence: recurrence.map(str::to_owned),
            title: "Consultations".into(),
            description: None,
            location: Some("Geneva".into()),
            status: MeetingStatus::Proposed,
            confidentiality: Confidentiality::Participants,
            channel_id: None,
            forum_id: None,
            participants: vec!["host".into(), "guest".into()],
            overrides: Vec::new(),
        }
    }

    #[test]
    fn an_unchanged_edit_changes_nothing() {
        let plan = plan_update(&current(None), Edit::default()).unwrap();
        assert!(plan.changes.is_empty());
        assert!(!plan.changes.raises_sequence());
        let same = Edit {
            title: Some("  Consultations ".into()),
            participants: Some(vec!["guest".into(), "host".into()]),
            ..Edit::default()
        };
        assert!(plan_update(&current(None), same)
            .unwrap()
            .changes
            .is_empty());
    }

    #[test]
    fn a_title_is_recorded_but_raises_no_sequence() {
        let edit = Edit {
            title: Some("Talks".into()),
            ..Edit::default()
        };
        let plan = plan_update(&current(None), edit).unwrap();
        assert_eq!(plan.changes.labels(), ["title/description"]);
        assert!(!plan.changes.raises_sequence());
        assert!(!plan.changes.moves() && !plan.changes.regroups());
    }

    #[test]
    fn time_place_status_and_attendees_raise_the_sequence() {
        let edits = [
            Edit {
                start: Some(at(1, 9)),
                ..Edit::default()
            },
            Edit {
                location: Some(None),
                ..Edit::default()
            },
            Edit {
                status: Some(MeetingStatus::Confirmed),
                ..Edit::default()
            },
            Edit {
                participants: Some(vec!["host".into(), "third".into()]),
                ..Edit::default()
            },
            Edit {
                zone: Some(TimeZone::parse("Europe/Vienna").unwrap()),
                ..Edit::default()
            },
        ];
        for edit in edits {
            let plan = plan_update(&current(None), edit.clone()).unwrap();
            assert!(plan.changes.raises_sequence(), "{edit:?}");
            assert_eq!(plan.changes.labels().len(), 1, "{edit:?}");
        }
    }

    #[test]
    fn a_new_rule_keeps_the_overrides_still_occurrences_and_reports_the_others() {
        let mut meeting = current(Some("FREQ=DAILY;COUNT=10"));
        let day = |d: u32| {
            Slot::new(meeting.zone.tz(), at(d, 10), at(d, 11), None)
                .unwrap()
                .start_utc
        };
        meeting.overrides = [2, 3]
            .into_iter()
            .map(|d| Override {
                original_start_utc: day(d),
                moved: None,
                status: Some(MeetingStatus::Cancelled),
            })
            .collect();
        let edit = Edit {
            recurrence: Some(Some("FREQ=DAILY;INTERVAL=2;COUNT=5".into())),
            ..Edit::default()
        };
        let plan = plan_update(&meeting, edit).unwrap();
        assert_eq!(plan.changes.labels(), ["recurrence"]);
        assert!(plan.changes.moves());
        assert_eq!(plan.kept_originals, [at(3, 10)]);
        assert_eq!(plan.orphaned, [day(2)]);
        assert_eq!(plan.timeline.overrides.len(), 1);
    }

    #[test]
    fn refusals() {
        let forum_only = Edit {
            confidentiality: Some(Confidentiality::Forum),
            ..Edit::default()
        };
        assert_eq!(
            plan_update(&current(None), forum_only).unwrap_err(),
            PlanError::ForumWithoutForum
        );
        let off_rule = Edit {
            recurrence: Some(Some("FREQ=WEEKLY;BYDAY=TU".into())),
            ..Edit::default()
        };
        assert!(matches!(
            plan_update(&current(None), off_rule).unwrap_err(),
            PlanError::Series(SeriesError::StartNotAnOccurrence(_))
        ));
        let backwards = Edit {
            end: Some(at(1, 9)),
            ..Edit::default()
        };
        assert_eq!(
            plan_update(&current(None), backwards).unwrap_err(),
            PlanError::Slot(SlotError::EndNotAfterStart)
        );
    }
}
