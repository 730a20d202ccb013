//! What the meetings API sends and receives.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::agreement::{Agreement, AgreementRuleDto};
use crate::domain::channel::ChannelStatus;
use crate::domain::meeting::{Confidentiality, Format, MeetingStatus, ParticipantRole, Response};
use crate::domain::stored::{string_enum, ChannelId, DelegationId, ForumId, MeetingId};
use crate::domain::time::Disambiguation;
use crate::service::delegations::double_option;
use crate::service::idempotency;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Participant {
    #[schema(value_type = String)]
    pub delegation_id: DelegationId,
    pub role: ParticipantRole,
    pub response: Response,
    pub comment: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<DateTime<Utc>>,
}

/// A participant delegation's meeting that overlaps. `meeting_id` only where the caller may
/// see that meeting: otherwise only the busy time shows.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Conflict {
    #[schema(value_type = String)]
    pub delegation_id: DelegationId,
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub meeting_id: Option<MeetingId>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Meeting {
    #[schema(value_type = String)]
    pub id: MeetingId,
    pub title: String,
    pub description: Option<String>,
    pub format: Format,
    #[schema(value_type = String)]
    pub host_delegation_id: DelegationId,
    pub participants: Vec<Participant>,
    /// IANA zone of the venue: `start` and `end` are wall-clock times in it.
    pub time_zone: String,
    /// Wall-clock start in `time_zone` (`2027-03-28T10:00:00`): the source of truth.
    pub start: String,
    pub end: String,
    /// Derived from `start`/`end` in `time_zone`.
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    pub disambiguation: Option<Disambiguation>,
    pub location: Option<String>,
    /// Follows consent: `proposed` until the parties agree (`agreement`), then `confirmed`
    /// (or `confirmed` by the host's admin with `force`); `cancelled` is final.
    pub status: MeetingStatus,
    /// Where consent stands, from the participants' answers and `agreement_rule`.
    pub agreement: Agreement,
    /// `"all"` (every participant delegation must accept) or `{"quorum": n}`.
    pub agreement_rule: AgreementRuleDto,
    /// Confirmed by the host delegation's admin without agreement (`force`).
    pub confirmation_forced: bool,
    pub confidentiality: Confidentiality,
    pub recurrence: Option<String>,
    /// The contact channel the meeting is held on. Shown to the participant delegations only
    /// (a channel is its two parties' business), as is `channel_status`.
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<ChannelId>,
    /// The channel's status now: a meeting booked before a freeze stays, and shows it.
    pub channel_status: Option<ChannelStatus>,
    #[schema(value_type = Option<String>)]
    pub forum_id: Option<ForumId>,
    /// iCalendar SEQUENCE: rises when time, place, status or participants change.
    pub sequence: i64,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    /// Overlapping meetings of the participant delegations (on create, change and read; not
    /// in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<Conflict>>,
    /// After a change of a series: the original starts of moved or cancelled occurrences
    /// that are no longer occurrences of it (their overrides were removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned_occurrences: Option<Vec<String>>,
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub description: Option<String>,
    /// Participant delegations, each by id or by code (`"US"`); the host (the caller's
    /// delegation) may be omitted.
    pub participants: Vec<String>,
    /// IANA zone of the venue, e.g. `Europe/Zurich` for Geneva.
    pub time_zone: String,
    /// Wall-clock `2027-03-28T10:00` (seconds optional), no offset.
    pub start: String,
    pub end: String,
    pub location: Option<String>,
    /// `proposed` (default). `confirmed` only with the parties' agreement (the others have not
    /// answered yet: 409 `not-agreed`), or by the host delegation's admin with `force: true`.
    pub status: Option<MeetingStatus>,
    /// With `status: confirmed`: confirm without agreement (the host delegation's admins).
    pub force: Option<bool>,
    /// `"all"` (default: every participant delegation accepts) or `{"quorum": n}` (at least n
    /// delegations, the host counted; multilateral meetings only).
    pub agreement_rule: Option<AgreementRuleDto>,
    /// `participants` (default), `forum` or `public`.
    pub confidentiality: Option<Confidentiality>,
    pub recurrence: Option<String>,
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<ChannelId>,
    #[schema(value_type = Option<String>)]
    pub forum_id: Option<ForumId>,
    /// For a local time that occurs twice (DST overlap): `earlier` or `later`.
    pub disambiguation: Option<Disambiguation>,
    /// A bilateral meeting booked only if it is the host delegation's turn (it hosted fewer of
    /// the two delegations' meetings, or as many and not the last): 422 `host-out-of-turn`
    /// otherwise. Off by default.
    pub host_rotation: Option<bool>,
}

/// A partial update: a field present replaces the stored value, `null` clears an optional one,
/// `participants` replaces the whole list (the host always stays).
#[derive(Deserialize, Debug, Clone, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// The whole participant list, each by id or by code.
    pub participants: Option<Vec<String>>,
    pub time_zone: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// `proposed` or `confirmed` (cancel with DELETE). The status follows consent: a change of
    /// time, place, zone or participants puts the other parties' answers back to `pending` and
    /// the meeting back to `proposed`; `confirmed` before agreement is 409 `not-agreed`.
    pub status: Option<MeetingStatus>,
    /// With `status: confirmed`: confirm without agreement (the host delegation's admins).
    pub force: Option<bool>,
    /// `"all"` or `{"quorum": n}`.
    pub agreement_rule: Option<AgreementRuleDto>,
    pub confidentiality: Option<Confidentiality>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub recurrence: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<Option<ChannelId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub forum_id: Option<Option<ForumId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Disambiguation>)]
    pub disambiguation: Option<Option<Disambiguation>>,
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResponse {
    /// `accepted`, `declined` or `tentative`.
    pub response: Response,
    /// Shown with the answer to every party (in the meeting and its history), unless
    /// `internal`.
    pub comment: Option<String>,
    /// The comment is for your own delegation: kept in the meeting's history, shown to its
    /// users only (not with the answer).
    pub internal: Option<bool>,
}

/// One occurrence in `/schedule`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Occurrence {
    #[schema(value_type = String)]
    pub meeting_id: MeetingId,
    pub title: String,
    pub format: Format,
    /// The occurrence's: a session with answers of its own follows consent to it.
    pub status: MeetingStatus,
    /// Consent to this occurrence: the parties' answers to it where they gave one, their
    /// answers to the series otherwise.
    pub agreement: Agreement,
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    /// Wall-clock in the schedule's `tz`.
    pub start_local: String,
    pub end_local: String,
    /// The meeting's own zone (a session held elsewhere: its own).
    pub time_zone: String,
    /// Where it takes place (a session held elsewhere: its own venue).
    pub location: Option<String>,
    #[schema(value_type = String)]
    pub host_delegation_id: DelegationId,
    /// The participant delegations, each with its answer to this occurrence.
    pub participants: Vec<OccurrenceParty>,
    /// The status of the meeting's channel, for its parties only (null otherwise).
    pub channel_status: Option<ChannelStatus>,
    /// For an occurrence of a series, its original start (RFC 3339 UTC); else null.
    pub recurrence_id: Option<String>,
}

/// A participant delegation as a schedule shows it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct OccurrenceParty {
    #[schema(value_type = String)]
    pub delegation_id: DelegationId,
    pub code: String,
    /// Its answer to this occurrence (to the session, where it gave one).
    pub response: Response,
}

#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct Schedule {
    /// The zone of `start_local`/`end_local`.
    pub tz: String,
    pub occurrences: Vec<Occurrence>,
}

/// Filters of `GET /meetings`.
#[derive(Debug, Clone, Default)]
pub struct MeetingFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub participant: Option<String>,
    pub status: Option<MeetingStatus>,
    pub forum_id: Option<ForumId>,
    pub channel_id: Option<ChannelId>,
    pub q: Option<String>,
    /// Only meetings the caller's delegation hosts.
    pub host_me: bool,
    /// Only meetings awaiting the caller's delegation's answer.
    pub awaiting_me: bool,
}

string_enum!(
    /// What a booking or a change does about overlapping meetings of the participants.
    OnConflict {
        /// Book, and list them in `conflicts`.
        Report => "report",
        /// Refuse (409 `conflict`), changing nothing.
        Reject => "reject",
    }
);

pub type Created = idempotency::Created<Meeting>;
