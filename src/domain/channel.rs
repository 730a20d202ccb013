//! Contact channels between two delegations, as a state machine.
//!
//! `proposed → active` only by the counterpart; `active → suspended | frozen` by either side, with
//! a reason; `suspended | frozen → active` only when both sides have asked (the first request is
//! recorded and changes nothing, the other side's completes it: sovereign equality); any state
//! `→ closed` by either side, with a reason, and `closed` is final.

use super::stored::string_enum;

string_enum!(ChannelStatus {
    Proposed => "proposed",
    Active => "active",
    Suspended => "suspended",
    Frozen => "frozen",
    Closed => "closed",
});

impl ChannelStatus {
    /// Moving here needs a stated reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Suspended | Self::Frozen | Self::Closed)
    }
}

string_enum!(
    /// What a channel is for.
    ChannelKind {
        Hotline => "hotline",
        Consultations => "consultations",
        WorkingGroup => "working_group",
    }
);

string_enum!(
    /// Which party acts: the delegation that proposed the channel, or its counterpart.
    Side { Proposer => "proposer", Counterpart => "counterpart" }
);

string_enum!(
    /// What a history entry records.
    HistoryEvent {
        /// The channel was proposed (`from` is null, `to` is `proposed`).
        Proposed => "proposed",
        /// The status changed from `from` to `to`.
        Transition => "transition",
        /// One party asked to reactivate (`to` is `active`); the status did not change yet.
        ReactivationRequested => "reactivation_requested",
    }
);

/// A channel's state: its status, and which side (if any) has asked to reactivate it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelState {
    pub status: ChannelStatus,
    pub reactivation_requested_by: Option<Side>,
}

/// What an accepted transition did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The status changed.
    Moved,
    /// One side asked to reactivate: recorded; the other side's request will complete it.
    Requested,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Not a move this state machine has. The rule that forbids it is named.
    #[error("{from} → {to} is not allowed: {rule}")]
    Illegal {
        from: &'static str,
        to: &'static str,
        rule: &'static str,
    },
    #[error("a reason is required to make a channel {0}")]
    ReasonRequired(&'static str),
    #[error("your side has already asked to reactivate the channel; the other side's request completes it")]
    AlreadyRequested,
}

/// Applies `by`'s request to move the channel to `to`. Pure: the caller persists the new state
/// and records the transition (or the request) in the channel's history.
pub fn transition(
    state: ChannelState,
    by: Side,
    to: ChannelStatus,
    reason: Option<&str>,
) -> Result<(ChannelState, Outcome), TransitionError> {
    use ChannelStatus::*;
    let illegal = |rule: &'static str| TransitionError::Illegal {
        from: state.status.as_str(),
        to: to.as_str(),
        rule,
    };
    if state.status == Closed {
        return Err(illegal("a closed channel is closed for good"));
    }
    if to.needs_reason() && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(TransitionError::ReasonRequired(to.as_str()));
    }
    let moved = |status| {
        Ok((
            ChannelState {
                status,
                reactivation_requested_by: None,
            },
            Outcome::Moved,
        ))
    };
    match (state.status, to) {
        (_, Closed) => moved(Closed),
        (Proposed, Active) if by == Side::Counterpart => moved(Active),
        (Proposed, Active) => Err(illegal("only the counterpart accepts a proposed channel")),
        (Active, Suspended | Frozen) => moved(to),
        (Suspended | Frozen, Active) => match state.reactivation_requested_by {
            Some(side) if side == by => Err(TransitionError::AlreadyRequested),
            Some(_) => moved(Active),
            None => Ok((
                ChannelState {
                    status: state.status,
                    reactivation_requested_by: Some(by),
                },
                Outcome::Requested,
            )),
        },
        (from, to) if from == to => Err(illegal("the channel is already in that state")),
        (Proposed, _) => Err(illegal(
            "a proposed channel can only be accepted (active) or withdrawn (closed)",
        )),
        (Suspended | Frozen, _) => Err(illegal(
            "a suspended or frozen channel can only be reactivated or closed",
        )),
        (Active, _) => Err(illegal(
            "an active channel can be suspended, frozen or closed",
        )),
        (Closed, _) => Err(illegal("a closed channel is closed for good")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChannelStatus::*;
    use Side::*;

    /// Expected result of a transition, for the table.
    #[derive(Debug, PartialEq, Eq)]
    enum Expect {
        Moved(ChannelStatus),
        Requested,
        Illegal,
        AlreadyRequested,
    }

    fn expected(from: ChannelStatus, pending: Option<Side>, by: Side, to: ChannelStatus) -> Expect {
        use Expect::*;
        match (from, to) {
            (Closed, _) => Illegal,
            (_, Closed) => Moved(Closed),
            (Proposed, Active) => {
                if by == Counterpart {
                    Moved(Active)
                } else {
                    Illegal
                }
            }
            (Active, Suspended) | (Active, Frozen) => Moved(to),
            (Suspended, Active) | (Frozen, Active) => match pending {
                None => Requested,
                Some(p) if p == by => AlreadyRequested,
                Some(_) => Moved(Active),
            },
            _ => Illegal,
        }
    }

    /// Every state × every target × both sides × every pending request: the result matches the
    /// table written above from the rules, and a reason is demanded exactly where required.
    #[test]
    fn the_whole_state_machine() {
        let mut checked = 0;
        for from in ChannelStatus::ALL {
            for pending in [None, Some(Proposer), Some(Counterpart)] {
                if pending.is_some() && !matches!(from, Suspended | Frozen) {
                    continue;
                }
                let state = ChannelState {
                    status: from,
                    reactivation_requested_by: pending,
                };
                for by in [Proposer, Counterpart] {
                    for to in ChannelStatus::ALL {
                        let got = match transition(state, by, to, Some("a stated reason")) {
                            Ok((s, Outcome::Moved)) => {
                                assert_eq!(
                                    s.reactivation_requested_by, None,
                                    "a move clears pending requests"
                                );
                                Expect::Moved(s.status)
                            }
                            Ok((s, Outcome::Requested)) => {
                                assert_eq!(
                                    (s.status, s.reactivation_requested_by),
                                    (from, Some(by))
                                );
                                Expect::Requested
                            }
                            Err(TransitionError::Illegal { rule, .. }) => {
                                assert!(!rule.is_empty());
                                Expect::Illegal
                            }
                            Err(TransitionError::AlreadyRequested) => Expect::AlreadyRequested,
                            Err(e) => panic!("{from:?} → {to:?} by {by:?}: {e}"),
                        };
                        assert_eq!(
                            got,
                            expected(from, pending, by, to),
                            "{from:?} (pending {pending:?}) → {to:?} by {by:?}"
                        );
                        // Without a reason, moves that need one are refused before anything else
                        // (except from a closed channel, which nothing leaves).
                        if to.needs_reason() && from != Closed {
                            assert_eq!(
                                transition(state, by, to, None),
                                Err(TransitionError::ReasonRequired(to.as_str()))
                            );
                            assert_eq!(
                                transition(state, by, to, Some("  ")),
                                Err(TransitionError::ReasonRequired(to.as_str()))
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
        // 9 states (suspended and frozen each with no request, or one from either side) × 2 sides
        // × 5 targets.
        assert_eq!(checked, 90);
    }

    #[test]
    fn a_hotline_from_proposal_to_freeze_to_reopening() {
        let proposed = ChannelState {
            status: Proposed,
            reactivation_requested_by: None,
        };
        let (active, _) = transition(proposed, Counterpart, Active, None).unwrap();
        let (frozen, _) =
            transition(active, Proposer, Frozen, Some("incident under review")).unwrap();
        let (asked, outcome) = transition(frozen, Counterpart, Active, None).unwrap();
        assert_eq!((asked.status, outcome), (Frozen, Outcome::Requested));
        let (reopened, outcome) = transition(asked, Proposer, Active, None).unwrap();
        assert_eq!((reopened.status, outcome), (Active, Outcome::Moved));
        let (closed, _) = transition(reopened, Counterpart, Closed, Some("superseded")).unwrap();
        assert!(transition(closed, Proposer, Active, None).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in ChannelStatus::ALL {
            assert_eq!(ChannelStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ChannelStatus::parse("paused"), None);
        for k in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ChannelKind::parse("back_channel"), None);
        for side in [Proposer, Counterpart] {
            assert_eq!(Side::parse(side.as_str()), Some(side));
        }
        assert_eq!(Side::parse("mediator"), None);
    }

    use proptest::prelude::*;

    fn any_side() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Proposer), Just(Counterpart)]
    }

    fn any_status() -> impl Strategy<Value = ChannelStatus> {
        proptest::sample::select(ChannelStatus::ALL.to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Along any sequence of requests from a fresh proposal: a pending request exists only
        /// on a suspended or frozen channel; nothing leaves `closed`; a proposal becomes active
        /// only by the counterpart; and a suspended or frozen channel becomes active only on a
        /// request of one side completing an earlier request of the other side, made since it
        /// was suspended or frozen (sovereign equality).
        #[test]
        fn invariants_hold_along_any_history(
            steps in proptest::collection::vec((any_side(), any_status(), any::<bool>()), 0..40)
        ) {
            let mut state = ChannelState { status: Proposed, reactivation_requested_by: None };
            let mut asked: Option<Side> = None;
            for (by, to, with_reason) in steps {
                let reason = with_reason.then_some("a stated reason");
                let result = transition(state, by, to, reason);
                if state.status == Closed {
                    prop_assert!(result.is_err());
                    continue;
                }
                let Ok((next, outcome)) = result else {
                    continue;
                };
                prop_assert!(
                    next.reactivation_requested_by.is_none()
                        || matches!(next.status, Suspended | Frozen)
                );
                if state.status == Proposed && next.status == Active {
                    prop_assert_eq!(by, Counterpart);
                }
                match outcome {
                    Outcome::Requested => {
                        prop_assert_eq!(next.status, state.status);
                        prop_assert_eq!(asked, None);
                        asked = Some(by);
                    }
                    Outcome::Moved => {
                        if matches!(state.status, Suspended | Frozen) && next.status == Active {
                            prop_assert!(asked.is_some_and(|first| first != by));
                        }
                        asked = None;
                    }
                }
                prop_assert_eq!(next.reactivation_requested_by, asked);
                state = next;
            }
        }
    }
}
