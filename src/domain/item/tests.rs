//! The item machine: every refusal the ledger promises, and its invariants over random walks.

use proptest::prelude::*;

use super::*;
use crate::domain::workflow::Clocks;

fn facts(state: State) -> Facts {
    Facts { state, now: 0, deadline: 1_000, extension_pending: false, actor_reported: false, final_evidence: 2 }
}

#[test]
fn the_unit_works_the_item_and_a_verifier_closes_it() {
    let mut f = facts(State::Assigned);
    for (action, role, to) in [
        (Action::Acknowledge, Role::UnitHead, State::InProgress),
        (Action::ReportProgress { percent: 40 }, Role::Staff, State::InProgress),
        (Action::SubmitFinal { evidence: 2 }, Role::UnitHead, State::Reported),
        (Action::Return { days: 5 }, Role::Inspector, State::InProgress),
        (Action::SubmitFinal { evidence: 3 }, Role::UnitHead, State::Reported),
        (Action::Close { outcome: Outcome::Implemented }, Role::Inspector, State::Closed),
        (Action::Recheck { passed: true, days: 5 }, Role::Inspector, State::Closed),
        (Action::Recheck { passed: false, days: 10 }, Role::Supervisor, State::InProgress),
    ] {
        let t = transition(&f, action, role).unwrap_or_else(|e| panic!("{action:?}: {e}"));
        assert_eq!(t.to, to, "{action:?}");
        f.state = t.to;
    }
}

#[test]
fn each_refusal_the_ledger_promises() {
    let reported = facts(State::Reported);
    let close = Action::Close { outcome: Outcome::Implemented };
    assert_eq!(transition(&reported, close, Role::UnitHead), Err(Refusal::WrongRole), "the unit closes its own item");
    assert_eq!(
        transition(&Facts { actor_reported: true, ..reported.clone() }, close, Role::Inspector),
        Err(Refusal::VerifierIsDoer)
    );
    assert_eq!(
        transition(&Facts { final_evidence: 0, ..reported.clone() }, close, Role::Inspector),
        Err(Refusal::EvidenceRequired),
        "closing without evidence"
    );
    let working = facts(State::InProgress);
    assert_eq!(
        transition(&working, Action::SubmitFinal { evidence: 0 }, Role::UnitHead),
        Err(Refusal::EvidenceRequired)
    );
    assert_eq!(
        transition(&Facts { now: 1_001, ..working.clone() }, Action::RequestExtension { days: 5 }, Role::UnitHead),
        Err(Refusal::DeadlinePassed),
        "an extension after the deadline"
    );
    assert_eq!(
        transition(
            &Facts { extension_pending: true, ..working.clone() },
            Action::RequestExtension { days: 5 },
            Role::UnitHead
        ),
        Err(Refusal::ExtensionPending)
    );
    assert_eq!(
        transition(&working, Action::DecideExtension { approve: true }, Role::Inspector),
        Err(Refusal::NoExtensionPending)
    );
    assert_eq!(
        transition(&working, Action::RequestExtension { days: 0 }, Role::UnitHead),
        Err(Refusal::DaysOutOfRange)
    );
    assert_eq!(
        transition(&working, Action::ReportProgress { percent: 101 }, Role::UnitHead),
        Err(Refusal::ProgressOutOfRange)
    );
    assert!(matches!(transition(&working, close, Role::Inspector), Err(Refusal::WrongState { .. })));
}

#[test]
fn closing_issues_the_closing_notice_and_schedules_the_rechecks() {
    let t = transition(&facts(State::Reported), Action::Close { outcome: Outcome::PartlyImplemented }, Role::Inspector);
    let effects = t.map(|t| t.effects).unwrap_or_default();
    assert!(effects.contains(&Effect::SetOutcome(Outcome::PartlyImplemented)));
    assert!(effects.contains(&Effect::Flow(Flow::Close)));
    assert!(effects.contains(&Effect::Flow(Flow::Issue(Document::Closing))));
    assert!(effects.contains(&Effect::ScheduleRechecks));
}

fn any_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Acknowledge),
        (0u8..=110).prop_map(|percent| Action::ReportProgress { percent }),
        (0u32..=130).prop_map(|days| Action::RequestExtension { days }),
        any::<bool>().prop_map(|approve| Action::DecideExtension { approve }),
        (0u32..3).prop_map(|evidence| Action::SubmitFinal { evidence }),
        (0u32..=130).prop_map(|days| Action::Return { days }),
        proptest::sample::select(Outcome::ALL).prop_map(|outcome| Action::Close { outcome }),
        (any::<bool>(), 1u32..=20).prop_map(|(passed, days)| Action::Recheck { passed, days }),
        (1u32..=20).prop_map(|days| Action::Reopen { days }),
    ]
}

fn any_role() -> impl Strategy<Value = Role> {
    proptest::sample::select(Role::ALL.to_vec())
}

proptest! {
    /// Over any walk: the shared clock invariants hold (a started step stops the previous one,
    /// a closed item runs no clock, every change is told), only verifiers close, and a closed
    /// item is reopened only by a failed re-check or a reopening.
    #[test]
    fn items_keep_the_engine_invariants_over_any_walk(
        steps in proptest::collection::vec((any_action(), any_role(), 0i64..2_000, any::<bool>()), 0..200),
    ) {
        let mut f = facts(State::Assigned);
        let mut clocks = Clocks::opened();
        for (action, role, now, reported_by_actor) in steps {
            f.now = now;
            f.actor_reported = reported_by_actor;
            let Ok(t) = transition(&f, action, role) else { continue };
            let kept = clocks.follow(&t.effects);
            prop_assert!(kept.is_ok(), "{:?}: {:?} in {:?}", action, kept, t.effects);
            prop_assert_eq!(t.to == State::Closed, !clocks.subject);
            if t.to == State::Closed && f.state != State::Closed {
                let verifier = matches!(role, Role::Inspector | Role::Supervisor) && !reported_by_actor;
                prop_assert!(verifier, "closed by {:?} (reported it: {})", role, reported_by_actor);
            }
            if f.state == State::Closed && t.to != State::Closed {
                let reopening = matches!(action, Action::Recheck { passed: false, .. } | Action::Reopen { .. });
                prop_assert!(reopening, "{:?} reopened a closed item", action);
            }
            match action {
                Action::RequestExtension { .. } => f.extension_pending = true,
                Action::DecideExtension { .. } => f.extension_pending = false,
                _ => {}
            }
            f.state = t.to;
        }
    }
}
