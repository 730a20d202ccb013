//! Meetings: booking, reading, changing, cancelling, answering, occurrences, the schedule, and
//! the re-derivation of instants after a tz-data change.
//!
//! Who may see a meeting is decided in SQL (`store::meetings`), so an invisible meeting is
//! never loaded: it is 404 everywhere. Every change is one transaction with its audit entry,
//! and concurrent edits are settled by `UPDATE … WHERE version = ?` in the database.

mod checks;
mod conflicts;
pub(crate) mod consent;
mod create;
mod dto;
pub mod history;
pub(crate) mod load;
mod occurrences;
pub mod proposals;
mod read;
pub mod rederive;
mod respond;
mod schedule;
mod sessions;
mod update;

/// Whether a window read counts cancelled meetings.
pub use crate::store::meetings::Cancelled;
pub use conflicts::{occupied, Occupied, CONFLICT_HORIZON_DAYS};
pub use create::create;
pub use dto::{
    Conflict, Created, Meeting, MeetingFilter, MeetingPatch, NewMeeting, NewResponse, Occurrence,
    OnConflict, Participant, Schedule,
};
pub use history::{history, HistoryEntry};
pub use load::{parse_local, parse_zone};
pub use occurrences::{put_occurrence, OccurrenceChange, SeriesOccurrence};
pub use proposals::{
    accept, list_proposals, propose, reject, withdraw, NewProposal, Proposal, ProposalDecision,
};
pub use read::{get, list};
pub use respond::{cancel, respond};
pub use schedule::{schedule, MAX_SCHEDULE_DAYS};
pub use sessions::{respond_to_session, Session, SessionAnswer, SessionKey};
pub use update::update;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_null_from_absent() {
        let p: MeetingPatch = serde_json::from_str(r#"{"location": null, "title": "T"}"#).unwrap();
        assert_eq!(p.location, Some(None));
        assert_eq!(p.description, None);
        assert!(serde_json::from_str::<MeetingPatch>(r#"{"venue": "x"}"#).is_err());
    }
}
