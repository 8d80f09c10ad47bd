use proptest::prelude::*;

use super::*;
use crate::domain::workflow::Clocks;

fn facts(state: State) -> Facts {
    Facts {
        state,
        now: 1_000,
        replied: !matches!(state, State::Posted),
        handovers: 0,
        handover_until: 2_000,
        overdue: false,
        escalated: false,
        withdrawal_checked: false,
        actor_handled: false,
    }
}

fn go(f: &Facts, a: Action, r: Role) -> Result<State, Refusal> {
    transition(f, a, r).map(|t| t.to)
}

#[test]
fn the_first_reply_stops_the_reply_clock_and_times_the_fix() {
    let t = transition(&facts(State::Posted), Action::Reply, Role::UnitHead).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.to, State::Replied);
    assert_eq!(t.effects[0], Effect::Flow(Flow::StopStepClock));
    assert!(t.effects.contains(&Effect::RecordReply));
    assert!(t.effects.contains(&Effect::Flow(Flow::StartStep {
        step: Step::Resolve,
        limit: Limit::Policy,
        from: Start::Now
    })));
    // A later reply is a message on the timeline, not a second first reply.
    let again = transition(&facts(State::Replied), Action::Reply, Role::Staff).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.to, State::Replied);
    assert!(!again.effects.contains(&Effect::RecordReply));
}

#[test]
fn a_complex_request_gets_its_plan_then_the_fix_on_the_plans_days() {
    let t = transition(&facts(State::Replied), Action::MarkComplex, Role::UnitHead).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.to, State::Planning);
    assert!(t.effects.contains(&Effect::Flow(Flow::StartStep {
        step: Step::Plan,
        limit: Limit::Policy,
        from: Start::Now
    })));
    let p = transition(&facts(State::Planning), Action::SubmitPlan { days: 15 }, Role::UnitHead)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.to, State::Solving);
    assert!(p.effects.contains(&Effect::Flow(Flow::StartStep {
        step: Step::Resolve,
        limit: Limit::WorkingDays(15),
        from: Start::Now
    })));
    assert!(p.effects.contains(&Effect::Flow(Flow::Issue(Document::Plan))));
    assert_eq!(
        go(&facts(State::Planning), Action::SubmitPlan { days: 0 }, Role::UnitHead),
        Err(Refusal::DaysOutOfRange)
    );
    assert_eq!(
        go(&facts(State::Planning), Action::SubmitPlan { days: 61 }, Role::UnitHead),
        Err(Refusal::DaysOutOfRange)
    );
}

#[test]
fn only_the_firm_confirms_rejects_or_withdraws() {
    let resolved = facts(State::Resolved);
    assert_eq!(go(&resolved, Action::Confirm { rating: 5 }, Role::UnitHead), Err(Refusal::WrongRole));
    assert_eq!(go(&resolved, Action::Confirm { rating: 5 }, Role::Supervisor), Err(Refusal::WrongRole));
    assert_eq!(go(&resolved, Action::Confirm { rating: 4 }, Role::Enterprise), Ok(State::Confirmed));
    assert_eq!(go(&resolved, Action::Confirm { rating: 0 }, Role::Enterprise), Err(Refusal::RatingOutOfRange));
    assert_eq!(go(&resolved, Action::Confirm { rating: 6 }, Role::Enterprise), Err(Refusal::RatingOutOfRange));
    assert_eq!(go(&resolved, Action::Reject, Role::Enterprise), Ok(State::Solving));
    assert_eq!(go(&facts(State::Posted), Action::Withdraw, Role::UnitHead), Err(Refusal::WrongRole));
    // And the firm works nothing itself.
    assert_eq!(go(&facts(State::Posted), Action::Reply, Role::Enterprise), Err(Refusal::WrongRole));
    assert_eq!(go(&facts(State::Replied), Action::Resolve, Role::Enterprise), Err(Refusal::WrongRole));
}

#[test]
fn a_hand_over_needs_its_basis_and_its_limit_and_a_second_goes_to_a_ruling() {
    let f = facts(State::Posted);
    assert_eq!(go(&f, Action::HandOver { basis: false }, Role::UnitHead), Err(Refusal::BasisRequired));
    let first = transition(&f, Action::HandOver { basis: true }, Role::UnitHead).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.to, State::Posted);
    assert!(first.effects.contains(&Effect::ChangeUnit));
    // The clocks keep running through a hand-over.
    assert!(!first.effects.iter().any(|e| matches!(e, Effect::Flow(Flow::StopStepClock | Flow::StartStep { .. }))));
    let late = Facts { now: 2_001, ..f.clone() };
    assert_eq!(go(&late, Action::HandOver { basis: true }, Role::UnitHead), Err(Refusal::HandOverTooLate));
    let bounced = Facts { handovers: 1, ..f.clone() };
    let second =
        transition(&bounced, Action::HandOver { basis: true }, Role::UnitHead).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.to, State::Ruling);
    assert!(second.effects.contains(&Effect::AwaitRuling) && !second.effects.contains(&Effect::ChangeUnit));
    assert_eq!(second.effects.last(), Some(&Effect::Flow(Flow::Notify(Some(Role::Supervisor)))));
    let ruling = Facts { state: State::Ruling, ..bounced };
    assert_eq!(go(&ruling, Action::Rule, Role::UnitHead), Err(Refusal::WrongRole));
    assert_eq!(go(&ruling, Action::Rule, Role::Supervisor), Ok(State::Posted));
    assert_eq!(go(&Facts { replied: true, ..ruling }, Action::Rule, Role::Supervisor), Ok(State::Replied));
    // Once the work started, the request stays where it is.
    assert!(matches!(
        go(&facts(State::Planning), Action::HandOver { basis: true }, Role::UnitHead),
        Err(Refusal::WrongState { .. })
    ));
}

#[test]
fn a_withdrawal_is_checked_once_by_someone_who_did_not_handle_it() {
    let w = facts(State::Withdrawn);
    let handled = Facts { actor_handled: true, ..w.clone() };
    assert_eq!(
        go(&handled, Action::CheckWithdrawal { pressed: false }, Role::Supervisor),
        Err(Refusal::CheckerHandled)
    );
    assert_eq!(go(&w, Action::CheckWithdrawal { pressed: false }, Role::UnitHead), Err(Refusal::WrongRole));
    assert_eq!(go(&w, Action::CheckWithdrawal { pressed: false }, Role::Inspector), Ok(State::Withdrawn));
    let pressed =
        transition(&w, Action::CheckWithdrawal { pressed: true }, Role::Supervisor).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pressed.to, State::Solving);
    assert!(pressed.effects.contains(&Effect::Flow(Flow::Reopen)));
    let checked = Facts { withdrawal_checked: true, ..w };
    assert_eq!(go(&checked, Action::CheckWithdrawal { pressed: true }, Role::Supervisor), Err(Refusal::AlreadyChecked));
}

#[test]
fn only_a_request_past_its_clock_becomes_a_supervision_item_once() {
    let f = facts(State::Replied);
    assert_eq!(go(&f, Action::Escalate, Role::Supervisor), Err(Refusal::NotOverdue));
    let overdue = Facts { overdue: true, ..f };
    assert_eq!(go(&overdue, Action::Escalate, Role::Supervisor), Ok(State::Replied));
    assert_eq!(go(&overdue, Action::Escalate, Role::UnitHead), Err(Refusal::WrongRole));
    let done = Facts { escalated: true, ..overdue };
    assert_eq!(go(&done, Action::Escalate, Role::Supervisor), Err(Refusal::AlreadyEscalated));
}

#[test]
fn the_reply_clock_starts_at_posting_inside_service_hours_and_at_opening_outside() {
    let cal = crate::calendar_data::load();
    let s = DeskSettings::default();
    let at = |d: &str, t: &str| {
        let dt = chrono::NaiveDateTime::parse_from_str(&format!("{d} {t}"), "%Y-%m-%d %H:%M")
            .unwrap_or_else(|e| panic!("{e}"));
        cst().from_local_datetime(&dt).single().map_or(0, |t| t.timestamp_millis())
    };
    // Tuesday 2026-12-08, 14:00: the desk is open.
    assert_eq!(s.reply_start(&cal, at("2026-12-08", "14:00")), at("2026-12-08", "14:00"));
    // 07:00: it opens at 08:30 the same day; 22:00: at 08:30 the next.
    assert_eq!(s.reply_start(&cal, at("2026-12-08", "07:00")), at("2026-12-08", "08:30"));
    assert_eq!(s.reply_start(&cal, at("2026-12-08", "22:00")), at("2026-12-09", "08:30"));
    // A desk open on working days only: Saturday evening waits for Monday morning.
    let weekdays = DeskSettings { working_days_only: true, ..s };
    assert_eq!(weekdays.reply_start(&cal, at("2026-12-12", "10:00")), at("2026-12-14", "08:30"));
    assert_eq!(s.reply_start(&cal, at("2026-12-12", "10:00")), at("2026-12-12", "10:00"));
}

#[test]
fn settings_out_of_range_name_their_field() {
    assert_eq!(DeskSettings::default().check(), Ok(()));
    assert_eq!(
        DeskSettings { reply_minutes: 0, ..Default::default() }.check().err().map(|e| e.0),
        Some("reply_minutes")
    );
    assert_eq!(
        DeskSettings { open_minute: 1300, ..Default::default() }.check().err().map(|e| e.0),
        Some("open_minute")
    );
}

fn any_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Reply),
        Just(Action::MarkComplex),
        (0u32..70).prop_map(|days| Action::SubmitPlan { days }),
        Just(Action::Resolve),
        (0u8..7).prop_map(|rating| Action::Confirm { rating }),
        Just(Action::Reject),
        Just(Action::Withdraw),
        any::<bool>().prop_map(|basis| Action::HandOver { basis }),
        Just(Action::Rule),
        any::<bool>().prop_map(|pressed| Action::CheckWithdrawal { pressed }),
        Just(Action::Escalate),
    ]
}

fn any_role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

proptest! {
    /// Any walk through the machine keeps the engine's clock invariants, a closed request runs
    /// no clock, and every change is told.
    #[test]
    fn every_walk_keeps_the_clock_invariants(steps in prop::collection::vec((any_action(), any_role(), any::<bool>()), 1..40)) {
        let mut f = facts(State::Posted);
        f.replied = false;
        let mut clocks = Clocks { subject: true, step: true };
        for (action, role, overdue) in steps {
            f.overdue = overdue;
            let Ok(t) = transition(&f, action, role) else { continue };
            prop_assert_eq!(t.from, f.state);
            clocks.follow(&t.effects).map_err(|e| TestCaseError::fail(format!("{action:?} from {:?}: {e}", f.state)))?;
            prop_assert_eq!(clocks.subject, !t.to.closed(), "{:?} → {:?}", f.state, t.to);
            if t.to.closed() { prop_assert!(!clocks.step); }
            for e in &t.effects {
                match e {
                    Effect::RecordReply => f.replied = true,
                    Effect::ChangeUnit | Effect::AwaitRuling => f.handovers += 1,
                    Effect::OpenItem => f.escalated = true,
                    Effect::RecordWithdrawalCheck { .. } => f.withdrawal_checked = true,
                    Effect::FlagWithdrawal => f.withdrawal_checked = false,
                    _ => {}
                }
            }
            f.state = t.to;
        }
    }
}
