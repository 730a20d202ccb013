//! Agreement between sovereign parties: whether a meeting (or one occurrence) is agreed, from
//! its participants' answers and the rule stored with it, and the status that follows.
//!
//! The host proposes, so its own answer is `accepted` from the booking on; every other party
//! decides for itself. A bilateral meeting needs both. A multilateral one needs all of them
//! (`all`, the default) or a quorum of accepting delegations, the host counted
//! (`quorum: n`). `tentative` is not consent: it is still awaited.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::meeting::{MeetingStatus, ParticipantRole, Response};
use super::stored::{string_enum, DelegationId};

/// How many parties must accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AgreementRule {
    /// Every participant delegation.
    #[default]
    All,
    /// At least this many delegations, the host counted.
    Quorum(u32),
}

impl AgreementRule {
    /// As stored: `all` or `quorum:<n>`.
    pub fn as_stored(self) -> String {
        match self {
            Self::All => "all".to_owned(),
            Self::Quorum(n) => format!("quorum:{n}"),
        }
    }

    /// The stored form read back (None: not one we write).
    pub fn from_stored(text: &str) -> Option<Self> {
        match text.split_once(':') {
            None if text == "all" => Some(Self::All),
            Some(("quorum", n)) => n.parse().ok().filter(|n| *n >= 1).map(Self::Quorum),
            _ => None,
        }
    }

    /// Whether the rule can apply to a meeting of `parties` delegations (the host counted): a
    /// quorum is for multilateral meetings (a bilateral one needs both), between 1 and all.
    pub fn check(self, parties: usize) -> Result<(), &'static str> {
        match self {
            Self::All => Ok(()),
            Self::Quorum(_) if parties <= 2 => {
                Err("a bilateral meeting needs both parties: a quorum is for three or more")
            }
            Self::Quorum(n) if n == 0 || usize::try_from(n).map_or(true, |n| n > parties) => {
                Err("a quorum is between 1 and the number of participant delegations")
            }
            Self::Quorum(_) => Ok(()),
        }
    }
}

/// The rule as the API shows and takes it: `"all"` or `{"quorum": n}`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(untagged)]
pub enum AgreementRuleDto {
    /// `"all"`: every participant delegation must accept.
    Word(AllWord),
    /// `{"quorum": n}`: at least n delegations (the host counted) must accept.
    Quorum {
        #[schema(minimum = 1)]
        quorum: u32,
    },
}

string_enum!(
    /// The only word of the rule.
    AllWord { All => "all" }
);

impl From<AgreementRuleDto> for AgreementRule {
    fn from(dto: AgreementRuleDto) -> Self {
        match dto {
            AgreementRuleDto::Word(AllWord::All) => Self::All,
            AgreementRuleDto::Quorum { quorum } => Self::Quorum(quorum),
        }
    }
}

impl From<AgreementRule> for AgreementRuleDto {
    fn from(rule: AgreementRule) -> Self {
        match rule {
            AgreementRule::All => Self::Word(AllWord::All),
            AgreementRule::Quorum(quorum) => Self::Quorum { quorum },
        }
    }
}

string_enum!(
    /// Where consent stands.
    AgreementState { Agreed => "agreed", Awaiting => "awaiting", Declined => "declined" }
);

/// A meeting's or an occurrence's agreement: its state, and the delegations whose answer is
/// still awaited (pending or tentative), in the participants' order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct Agreement {
    pub state: AgreementState,
    #[schema(value_type = Vec<String>)]
    pub awaiting: Vec<DelegationId>,
}

/// One party's answer, as the rule reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub delegation_id: DelegationId,
    pub role: ParticipantRole,
    pub response: Response,
}

/// The agreement these answers make under `rule`.
pub fn agreement(rule: AgreementRule, answers: &[Answer]) -> Agreement {
    let awaiting: Vec<DelegationId> = answers
        .iter()
        .filter(|a| matches!(a.response, Response::Pending | Response::Tentative))
        .map(|a| a.delegation_id.clone())
        .collect();
    let count = |r: Response| answers.iter().filter(|a| a.response == r).count();
    let (accepted, declined) = (count(Response::Accepted), count(Response::Declined));
    let state = match rule {
        AgreementRule::All if declined > 0 => AgreementState::Declined,
        AgreementRule::All if awaiting.is_empty() => AgreementState::Agreed,
        AgreementRule::All => AgreementState::Awaiting,
        AgreementRule::Quorum(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if accepted >= n {
                AgreementState::Agreed
            } else if accepted + awaiting.len() < n {
                AgreementState::Declined
            } else {
                AgreementState::Awaiting
            }
        }
    };
    Agreement { state, awaiting }
}

/// The status a meeting takes after its answers changed: `proposed` becomes `confirmed` once
/// agreed; `confirmed` goes back to `proposed` when agreement is lost, unless the host's admin
/// confirmed it without agreement (`forced`). `cancelled` is final.
pub fn status_after(status: MeetingStatus, agreed: bool, forced: bool) -> MeetingStatus {
    match status {
        MeetingStatus::Cancelled => MeetingStatus::Cancelled,
        _ if agreed || forced => MeetingStatus::Confirmed,
        _ => MeetingStatus::Proposed,
    }
}

/// The answers to one occurrence of a series: each party's answer to that occurrence where it
/// gave one (or was asked again for it), its answer to the series otherwise.
pub fn answers_to_occurrence(series: &[Answer], own: &[(DelegationId, Response)]) -> Vec<Answer> {
    series
        .iter()
        .map(|a| Answer {
            response: own
                .iter()
                .find(|(d, _)| *d == a.delegation_id)
                .map_or(a.response, |(_, r)| *r),
            ..a.clone()
        })
        .collect()
}

/// The status of an occurrence that has answers of its own: cancelled with its series or on
/// its own; otherwise as consent to it decides (a forced series stays confirmed).
pub fn occurrence_status(
    series: MeetingStatus,
    own: Option<MeetingStatus>,
    agreed: bool,
    forced: bool,
) -> MeetingStatus {
    match (series, own) {
        (MeetingStatus::Cancelled, _) | (_, Some(MeetingStatus::Cancelled)) => {
            MeetingStatus::Cancelled
        }
        _ => status_after(MeetingStatus::Proposed, agreed, forced),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn answers(responses: &[Response]) -> Vec<Answer> {
        responses
            .iter()
            .enumerate()
            .map(|(i, response)| Answer {
                delegation_id: DelegationId::from(format!("d{i}")),
                role: if i == 0 {
                    ParticipantRole::Host
                } else {
                    ParticipantRole::Participant
                },
                response: *response,
            })
            .collect()
    }

    use Response::{Accepted as A, Declined as D, Pending as P, Tentative as T};

    #[test]
    fn a_bilateral_meeting_needs_both_parties() {
        let state = |r: &[Response]| agreement(AgreementRule::All, &answers(r)).state;
        assert_eq!(state(&[A, P]), AgreementState::Awaiting);
        assert_eq!(
            state(&[A, T]),
            AgreementState::Awaiting,
            "tentative is not consent"
        );
        assert_eq!(state(&[A, A]), AgreementState::Agreed);
        assert_eq!(state(&[A, D]), AgreementState::Declined);
        let awaiting = agreement(AgreementRule::All, &answers(&[A, T])).awaiting;
        assert_eq!(awaiting, vec![DelegationId::from("d1".to_owned())]);
    }

    #[test]
    fn a_quorum_counts_the_host_and_fails_when_it_can_no_longer_be_reached() {
        let state = |n, r: &[Response]| agreement(AgreementRule::Quorum(n), &answers(r)).state;
        assert_eq!(state(3, &[A, A, D, P]), AgreementState::Awaiting);
        assert_eq!(state(3, &[A, A, D, A]), AgreementState::Agreed);
        assert_eq!(state(3, &[A, D, D, P]), AgreementState::Declined);
        assert_eq!(state(2, &[A, A, P, P]), AgreementState::Agreed);
        assert_eq!(state(4, &[A, A, A, T]), AgreementState::Awaiting);
    }

    #[test]
    fn rules_are_stored_and_checked() {
        for rule in [AgreementRule::All, AgreementRule::Quorum(3)] {
            assert_eq!(AgreementRule::from_stored(&rule.as_stored()), Some(rule));
        }
        for bad in ["", "any", "quorum:", "quorum:0", "quorum:x", "all:1"] {
            assert_eq!(AgreementRule::from_stored(bad), None, "{bad}");
        }
        assert!(AgreementRule::Quorum(2).check(2).is_err(), "bilateral");
        assert!(AgreementRule::Quorum(4).check(3).is_err());
        assert!(AgreementRule::Quorum(0).check(3).is_err());
        assert!(AgreementRule::Quorum(3).check(3).is_ok());
        assert!(AgreementRule::All.check(2).is_ok());
    }

    #[test]
    fn the_status_follows_consent_unless_forced_and_cancellation_is_final() {
        use MeetingStatus::{Cancelled, Confirmed, Proposed};
        assert_eq!(status_after(Proposed, true, false), Confirmed);
        assert_eq!(status_after(Confirmed, false, false), Proposed);
        assert_eq!(status_after(Confirmed, false, true), Confirmed);
        assert_eq!(status_after(Proposed, false, false), Proposed);
        assert_eq!(status_after(Cancelled, true, true), Cancelled);
    }

    #[test]
    fn an_occurrence_takes_each_party_s_own_answer_over_its_answer_to_the_series() {
        let series = answers(&[A, A, A]);
        let d = |i: usize| DelegationId::from(format!("d{i}"));
        let own = [(d(2), D)];
        let session = answers_to_occurrence(&series, &own);
        let responses: Vec<Response> = session.iter().map(|a| a.response).collect();
        assert_eq!(responses, [A, A, D]);
        assert_eq!(
            agreement(AgreementRule::All, &session).state,
            AgreementState::Declined
        );
        assert_eq!(
            agreement(AgreementRule::Quorum(2), &session).state,
            AgreementState::Agreed
        );
        // An answer of a delegation that no longer takes part changes nothing.
        assert_eq!(answers_to_occurrence(&series, &[(d(9), D)]), series);
        use MeetingStatus::{Cancelled, Confirmed, Proposed};
        assert_eq!(occurrence_status(Confirmed, None, false, false), Proposed);
        assert_eq!(occurrence_status(Confirmed, None, false, true), Confirmed);
        assert_eq!(
            occurrence_status(Proposed, Some(Confirmed), true, false),
            Confirmed
        );
        assert_eq!(
            occurrence_status(Confirmed, Some(Cancelled), true, false),
            Cancelled
        );
        assert_eq!(occurrence_status(Cancelled, None, true, true), Cancelled);
    }

    fn response() -> impl Strategy<Value = Response> {
        prop_oneof![Just(P), Just(A), Just(D), Just(T)]
    }

    proptest! {
        /// Agreed exactly when the rule's count of acceptances is met; declined exactly when
        /// no answer still awaited could bring it about; awaiting lists the undecided.
        #[test]
        fn agreement_is_what_the_answers_can_still_make(
            responses in proptest::collection::vec(response(), 2..12),
            quorum in 1_u32..12,
        ) {
            let given = answers(&responses);
            let accepted = responses.iter().filter(|r| **r == A).count();
            let undecided = responses.iter().filter(|r| matches!(r, P | T)).count();
            for rule in [AgreementRule::All, AgreementRule::Quorum(quorum)] {
                let needed = match rule {
                    AgreementRule::All => responses.len(),
                    AgreementRule::Quorum(n) => n as usize,
                };
                let made = agreement(rule, &given);
                prop_assert_eq!(made.awaiting.len(), undecided);
                prop_assert_eq!(made.state == AgreementState::Agreed, accepted >= needed);
                prop_assert_eq!(
                    made.state == AgreementState::Declined,
                    accepted + undecided < needed
                );
                // The best the awaited answers can do decides between awaiting and declined.
                let mut best = responses.clone();
                for r in best.iter_mut().filter(|r| matches!(r, P | T)) {
                    *r = A;
                }
                let best = agreement(rule, &answers(&best)).state;
                prop_assert_eq!(made.state == AgreementState::Declined, best != AgreementState::Agreed);
            }
        }
    }
}
