//! What a booking, a change or an answer decides about consent (`domain::agreement`): the
//! meeting's agreement, its status, and whether the host's admin forced a confirmation.

use std::collections::HashMap;

use super::dto::Participant;
use crate::domain::agreement::AgreementState;
use chrono::NaiveDateTime;

use crate::domain::agreement::{
    agreement, answers_to_occurrence, occurrence_status, status_after, Agreement, AgreementRule,
    Answer,
};
use crate::domain::meeting::{MeetingStatus, ParticipantRole, Response};
use crate::domain::recurrence::Occurrence;
use crate::domain::stored::DelegationId;
use crate::error::{AppError, FieldError};
use crate::service::Context;
use crate::store::gathered::GatheredAnswer;
use crate::store::meetings::MeetingRow;
use crate::store::stored;

/// The answers of these participants, as the rule reads them.
pub fn answers(participants: &[Participant]) -> Vec<Answer> {
    participants
        .iter()
        .map(|p| Answer {
            delegation_id: p.delegation_id.clone(),
            role: p.role,
            response: p.response,
        })
        .collect()
}

/// The answers a participant set will have: those kept (by delegation), the host's
/// `accepted` from the booking on, everyone else's `pending`. In `set`'s order.
pub fn answers_after(
    set: &[DelegationId],
    host: &DelegationId,
    keep: &HashMap<DelegationId, Participant>,
) -> Vec<Answer> {
    set.iter()
        .map(|delegation_id| {
            let is_host = delegation_id == host;
            Answer {
                delegation_id: delegation_id.clone(),
                role: if is_host {
                    ParticipantRole::Host
                } else {
                    ParticipantRole::Participant
                },
                response: match keep.get(delegation_id) {
                    Some(kept) => kept.response,
                    None if is_host => Response::Accepted,
                    None => Response::Pending,
                },
            }
        })
        .collect()
}

/// The agreement of a stored meeting with these participants.
pub fn agreement_of(row: &MeetingRow, participants: &[Participant]) -> Result<Agreement, AppError> {
    Ok(agreement(rule_of(row)?, &answers(participants)))
}

/// The stored rule.
pub fn rule_of(row: &MeetingRow) -> Result<AgreementRule, AppError> {
    AgreementRule::from_stored(&row.agreement_rule).ok_or_else(|| {
        AppError::internal(format!(
            "stored agreement rule {:?} of {}",
            row.agreement_rule, row.id
        ))
    })
}

/// The rule, checked against the number of participant delegations (the host counted).
pub fn check_rule(rule: AgreementRule, parties: usize) -> Result<AgreementRule, AppError> {
    rule.check(parties)
        .map(|()| rule)
        .map_err(|m| AppError::invalid_fields(vec![FieldError::new("agreement_rule", m)]))
}

/// What a write asks about the status.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    /// The status in the request, if any.
    pub status: Option<MeetingStatus>,
    /// `force: true`: confirm without agreement (the host delegation's admins only).
    pub force: bool,
}

/// The meeting before the write: its status, whether it was forced, and whether this write
/// put the other parties' answers back to `pending` (a forced confirmation does not survive
/// a change the parties have not seen).
#[derive(Debug, Clone, Copy)]
pub struct Before {
    pub status: MeetingStatus,
    pub forced: bool,
    pub answers_reset: bool,
}

/// The status and forced flag after a write, or why it is refused: `confirmed` before the
/// parties agreed is 409 `not-agreed`, unless the host delegation's admin passes `force`.
pub fn decide(
    ctx: &Context,
    host: &DelegationId,
    agreement: &Agreement,
    asked: Asked,
    before: Before,
) -> Result<(MeetingStatus, bool), AppError> {
    let agreed = agreement.state == AgreementState::Agreed;
    if asked.force {
        if asked.status != Some(MeetingStatus::Confirmed) {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "force",
                "force goes with status: confirmed",
            )]));
        }
        if !(ctx.principal.may_speak_for(host)) {
            return Err(AppError::Forbidden(
                "only the host delegation's admins confirm without agreement".into(),
            ));
        }
    }
    let forced = match asked.status {
        Some(MeetingStatus::Confirmed) if agreed => false,
        Some(MeetingStatus::Confirmed) if asked.force => true,
        Some(MeetingStatus::Confirmed) => {
            let awaited: Vec<&str> = agreement
                .awaiting
                .iter()
                .map(DelegationId::as_str)
                .collect();
            return Err(AppError::NotAgreed(format!(
                "the parties have not agreed ({}); awaiting {}",
                agreement.state.as_str(),
                if awaited.is_empty() {
                    "no one: declined".to_owned()
                } else {
                    awaited.join(", ")
                }
            )));
        }
        Some(_) => false,
        None => before.forced && !before.answers_reset,
    };
    Ok((status_after(before.status, agreed, forced), forced))
}

/// A meeting's consent, for each of its occurrences: the series' answers, overridden for a
/// session by the answers given to it.
pub struct Consent {
    rule: AgreementRule,
    series: Vec<Answer>,
    series_agreement: Agreement,
    forced: bool,
    series_status: MeetingStatus,
    /// By original start: the answers given to that session.
    own: HashMap<NaiveDateTime, Vec<(DelegationId, Response)>>,
}

impl Consent {
    pub fn of(
        row: &MeetingRow,
        participants: &[Participant],
        own: Vec<GatheredAnswer>,
    ) -> Result<Self, AppError> {
        let rule = rule_of(row)?;
        let series = answers(participants);
        let mut by_session: HashMap<NaiveDateTime, Vec<(DelegationId, Response)>> = HashMap::new();
        for a in own {
            by_session
                .entry(a.original_start_utc)
                .or_default()
                .push((DelegationId::from(a.delegation_id), stored(&a.response)?));
        }
        Ok(Self {
            series_agreement: agreement(rule, &series),
            rule,
            series,
            forced: row.confirmation_forced,
            series_status: row.status()?,
            own: by_session,
        })
    }

    /// The original starts of the sessions answered on their own.
    pub fn answered_sessions(&self) -> impl Iterator<Item = NaiveDateTime> + '_ {
        self.own.keys().copied()
    }

    /// The answers that apply to the session that originally starts at `original`.
    pub fn answers_to(&self, original: NaiveDateTime) -> Vec<Answer> {
        match self.own.get(&original) {
            Some(own) => answers_to_occurrence(&self.series, own),
            None => self.series.clone(),
        }
    }

    /// The answers that apply to one occurrence (as the timeline gives it).
    pub fn answers_to_occurrence(&self, o: &Occurrence) -> Vec<Answer> {
        match o.recurrence_id {
            Some(original) => self.answers_to(original.naive_utc()),
            None => self.series.clone(),
        }
    }

    /// The status and agreement of one occurrence (as the timeline gives it).
    pub fn of_occurrence(&self, o: &Occurrence) -> Result<(MeetingStatus, Agreement), AppError> {
        let own = o
            .recurrence_id
            .and_then(|original| self.own.get(&original.naive_utc()));
        let Some(own) = own else {
            return Ok((o.status, self.series_agreement.clone()));
        };
        let session = agreement(self.rule, &answers_to_occurrence(&self.series, own));
        let agreed = session.state == AgreementState::Agreed;
        let status = occurrence_status(self.series_status, Some(o.status), agreed, self.forced);
        Ok((status, session))
    }
}
