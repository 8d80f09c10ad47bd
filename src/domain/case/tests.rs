//! The state machine against its drawing, and properties over every state, action and role.

use super::*;
use proptest::prelude::*;

fn facts(state: State, source: Source) -> Facts {
    Facts { state, source, now: 1_000, order_due: Some(2_000), extension_pending: false }
}

/// Every edge of the machine, as drawn in the module documentation.
const EDGES: &[(State, ActionName, State)] = &[
    (State::Open, ActionName::Acknowledge, State::Acknowledged),
    (State::Open, ActionName::SendBack, State::SentBack),
    (State::Acknowledged, ActionName::ReturnVisit, State::Visited),
    (State::Visited, ActionName::Verify, State::Verified),
    (State::Visited, ActionName::Verify, State::Closed),
    (State::Verified, ActionName::Order, State::Ordered),
    (State::Ordered, ActionName::Report, State::Reported),
    (State::Ordered, ActionName::RequestExtension, State::Ordered),
    (State::Ordered, ActionName::DecideExtension, State::Ordered),
    (State::Reported, ActionName::Accept, State::Accepted),
    (State::Reported, ActionName::Return, State::Ordered),
    (State::Accepted, ActionName::FollowUp, State::Rectified),
    (State::Accepted, ActionName::FollowUp, State::Verified),
    (State::Rectified, ActionName::Decide, State::Closed),
    (State::SentBack, ActionName::Reassign, State::Open),
    (State::SentBack, ActionName::Close, State::Closed),
];

fn any_role() -> impl Strategy<Value = Role> {
    proptest::sample::select(Role::ALL.to_vec())
}

fn any_source() -> impl Strategy<Value = Source> {
    proptest::sample::select(Source::ALL.to_vec())
}

fn any_action() -> impl Strategy<Value = Action> {
    let verdict = proptest::sample::select(vec![
        Verdict::Substantiated,
        Verdict::Partly,
        Verdict::Unsubstantiated,
        Verdict::Malicious,
    ]);
    let kind = proptest::sample::select(Accountability::ALL.to_vec());
    prop_oneof![
        Just(Action::Acknowledge),
        any::<bool>().prop_map(|reached| Action::ReturnVisit { reached }),
        verdict.prop_map(|verdict| Action::Verify { verdict }),
        (1u32..30).prop_map(|deadline_days| Action::Order { deadline_days }),
        Just(Action::Report),
        Just(Action::Accept),
        (1u32..30).prop_map(|deadline_days| Action::Return { deadline_days }),
        any::<bool>().prop_map(|satisfied| Action::FollowUp { satisfied }),
        kind.prop_map(|kind| Action::Decide { kind }),
        (1u32..10).prop_map(|days| Action::RequestExtension { days }),
        any::<bool>().prop_map(|approve| Action::DecideExtension { approve }),
        Just(Action::SendBack),
        Just(Action::Reassign),
        Just(Action::Close),
    ]
}

proptest! {
    #[test]
    fn random_actions_by_random_roles_stay_on_the_machine_and_close_substantiated_cases_fully(
        source in any_source(),
        steps in proptest::collection::vec((any_action(), any_role(), 0i64..3_000), 0..200),
    ) {
        let mut f = Facts { state: State::Open, source, now: 0, order_due: None, extension_pending: false };
        let mut timeline: Vec<ActionName> = Vec::new();
        let mut verdict = None;
        for (action, role, now) in steps {
            f.now = now;
            let before = f.state;
            match transition(&f, action, role) {
                Ok(t) => {
                    prop_assert!(action.name().owners().contains(&role));
                    prop_assert!(
                        EDGES.contains(&(before, action.name(), t.to)),
                        "{before:?} --{:?}--> {:?} is not an edge", action.name(), t.to
                    );
                    prop_assert_ne!(before, State::Closed, "closed is terminal");
                    timeline.push(action.name());
                    match action {
                        Action::Verify { verdict: v } => verdict = Some(v),
                        Action::Order { .. } | Action::Return { .. } => { f.order_due = Some(now + 1_000); }
                        Action::RequestExtension { .. } => f.extension_pending = true,
                        Action::DecideExtension { .. } => f.extension_pending = false,
                        Action::Reassign => { verdict = None; timeline.clear(); }
                        _ => {}
                    }
                    f.state = t.to;
                }
                Err(e) => {
                    prop_assert_eq!(f.state, before);
                    if !action.name().owners().contains(&role) {
                        prop_assert_eq!(e, Refusal::WrongRole);
                    }
                }
            }
            if f.state == State::Closed && verdict.is_some_and(Verdict::holds) {
                for needed in [
                    ActionName::Acknowledge,
                    ActionName::ReturnVisit,
                    ActionName::Verify,
                    ActionName::Order,
                    ActionName::Report,
                    ActionName::Accept,
                    ActionName::Decide,
                ] {
                    prop_assert!(timeline.contains(&needed), "closed without {needed:?}: {timeline:?}");
                }
                let accepted = timeline.iter().rposition(|a| *a == ActionName::Accept);
                let decided = timeline.iter().rposition(|a| *a == ActionName::Decide);
                prop_assert!(accepted < decided, "the decision follows the last acceptance");
            }
        }
    }
}

#[test]
fn a_rating_case_can_never_be_sent_back() {
    for state in State::ALL {
        let r = transition(&facts(state, Source::Rating), Action::SendBack, Role::UnitHead);
        assert_eq!(r, Err(Refusal::RatingCaseSentBack), "{state}");
    }
    let other = transition(&facts(State::Open, Source::Hotline), Action::SendBack, Role::UnitHead);
    assert_eq!(other.map(|t| t.to), Ok(State::SentBack));
}

#[test]
fn verdicts_that_do_not_hold_close_the_case() {
    let f = facts(State::Visited, Source::Rating);
    for (verdict, to) in [
        (Verdict::Substantiated, State::Verified),
        (Verdict::Partly, State::Verified),
        (Verdict::Unsubstantiated, State::Closed),
        (Verdict::Malicious, State::Closed),
    ] {
        assert_eq!(transition(&f, Action::Verify { verdict }, Role::Supervisor).map(|t| t.to), Ok(to));
    }
}

#[test]
fn extensions_only_before_the_deadline_and_one_at_a_time() {
    let mut f = facts(State::Ordered, Source::Rating);
    let ask = Action::RequestExtension { days: 3 };
    assert!(transition(&f, ask, Role::UnitHead).is_ok());
    f.now = 2_000;
    assert_eq!(transition(&f, ask, Role::UnitHead), Err(Refusal::DeadlinePassed));
    f.now = 1_000;
    f.extension_pending = true;
    assert_eq!(transition(&f, ask, Role::UnitHead), Err(Refusal::ExtensionPending));
    assert!(transition(&f, Action::DecideExtension { approve: true }, Role::Supervisor).is_ok());
    f.extension_pending = false;
    assert_eq!(
        transition(&f, Action::DecideExtension { approve: true }, Role::Supervisor),
        Err(Refusal::NoExtensionPending)
    );
}

#[test]
fn an_unhappy_follow_up_reopens_the_case_for_a_new_order() {
    let f = facts(State::Accepted, Source::Rating);
    let t = transition(&f, Action::FollowUp { satisfied: false }, Role::Supervisor);
    assert_eq!(t.map(|t| (t.to, t.reopened)), Ok((State::Verified, true)));
}

#[test]
fn the_forms_offered_match_the_owner_and_the_state() {
    let f = facts(State::Open, Source::Hotline);
    assert_eq!(permitted(&f, Role::UnitHead), vec![ActionName::Acknowledge, ActionName::SendBack]);
    assert!(permitted(&f, Role::Supervisor).is_empty());
    assert!(permitted(&facts(State::Closed, Source::Rating), Role::Supervisor).is_empty());
    assert_eq!(
        permitted(&facts(State::Ordered, Source::Rating), Role::Staff),
        vec![ActionName::Report],
        "staff answer orders but do not ask for time"
    );
}

#[test]
fn names_round_trip() {
    for s in State::ALL {
        assert_eq!(State::parse(s.as_str()), Some(s));
    }
    for a in ActionName::ALL {
        assert_eq!(ActionName::parse(a.as_str()), Some(a));
        assert_eq!(a.sample().name(), a);
    }
    for s in Source::ALL {
        assert_eq!(Source::parse(s.as_str()), Some(s));
    }
    for k in Accountability::ALL {
        assert_eq!(Accountability::parse(k.as_str()), Some(k));
    }
}

#[test]
fn a_rating_case_is_titled_by_its_place_and_reasons() {
    let labels = vec!["话难听".to_owned(), "事难办".to_owned()];
    assert_eq!(
        rating_case_title("市政务服务中心", Some("3号窗口"), &labels),
        "市政务服务中心·3号窗口：不满意评价（话难听、事难办）"
    );
    assert_eq!(rating_case_title("市税务局", None, &labels[..1]), "市税务局：不满意评价（话难听）");
}

#[test]
fn transitions_count_for_the_funnel() {
    let visited = facts(State::Visited, Source::Rating);
    let holds = transition(&visited, Action::Verify { verdict: Verdict::Partly }, Role::Supervisor)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counted(&holds, false, 0), vec![("substantiated", 1)]);
    let fails = transition(&visited, Action::Verify { verdict: Verdict::Unsubstantiated }, Role::Supervisor)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counted(&fails, false, 0), vec![("unsubstantiated", 1), ("closed", 1)]);
    let ordered = facts(State::Ordered, Source::Rating);
    let report = transition(&ordered, Action::Report, Role::UnitHead).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counted(&report, false, 0), vec![("reported", 1), ("reported_on_time", 0)]);
    assert_eq!(counted(&report, true, 0), vec![("reported", 1), ("reported_on_time", 1)]);
}

proptest! {
    /// The effects keep the clocks honest over any walk through the machine: a step's clock is
    /// stopped before another starts, and a closed case has no clock running.
    #[test]
    fn every_started_step_stops_the_previous_one_and_a_closed_case_has_no_running_clock(
        source in any_source(),
        steps in proptest::collection::vec((any_action(), any_role(), 0i64..3_000), 0..200),
    ) {
        let mut f = Facts { state: State::Open, source, now: 0, order_due: None, extension_pending: false };
        // An opened case times its whole resolution and its acknowledgement.
        let mut clocks = crate::domain::workflow::Clocks::opened();
        for (action, role, now) in steps {
            f.now = now;
            let Ok(t) = transition(&f, action, role) else { continue };
            let kept = clocks.follow(&t.effects);
            prop_assert!(kept.is_ok(), "{:?}: {:?} in {:?}", action, kept, t.effects);
            prop_assert_eq!(t.to == State::Closed, !clocks.subject, "closed exactly when the case clock stopped");
            match action {
                Action::Order { .. } | Action::Return { .. } => f.order_due = Some(now + 1_000),
                Action::RequestExtension { .. } => f.extension_pending = true,
                Action::DecideExtension { .. } => f.extension_pending = false,
                _ => {}
            }
            f.state = t.to;
            if f.state == State::Closed {
                prop_assert!(!clocks.step && !clocks.subject, "closed with a clock running after {:?}", action);
            }
        }
    }
}

#[test]
fn an_order_times_the_rectification_sets_the_deadline_and_issues_its_document() {
    let t = transition(&facts(State::Verified, Source::Rating), Action::Order { deadline_days: 5 }, Role::Supervisor);
    let effects = t.map(|t| t.effects).unwrap_or_default();
    assert_eq!(
        effects,
        vec![
            Effect::StopStepClock,
            Effect::StartStep {
                step: effects::Step::Rectification,
                limit: effects::Limit::WorkingDays(5),
                from: effects::Start::Now
            },
            Effect::SetOrderDeadline { fresh: true },
            Effect::Issue(effects::Document::RectificationOrder),
            Effect::Notify(Some(Role::UnitHead)),
        ]
    );
    // A granted extension counts from the deadline it extends, and tells the unit.
    let mut f = facts(State::Ordered, Source::Rating);
    f.extension_pending = true;
    let granted = transition(&f, Action::DecideExtension { approve: true }, Role::Supervisor).map(|t| t.effects);
    assert!(
        granted.as_ref().is_ok_and(|e| e.contains(&Effect::StartStep {
            step: effects::Step::Rectification,
            limit: effects::Limit::RequestedExtension,
            from: effects::Start::Deadline
        }) && e.last() == Some(&Effect::Notify(Some(Role::UnitHead)))),
        "{granted:?}"
    );
    // A malicious verdict on a rating case files an appeal and closes the case.
    let v = transition(
        &facts(State::Visited, Source::Rating),
        Action::Verify { verdict: Verdict::Malicious },
        Role::Supervisor,
    );
    assert!(v.is_ok_and(|t| t.effects.contains(&Effect::FileAppeal) && t.effects.contains(&Effect::Close)));
}
