//! The closed loop (工单): one enum of states, one of actions, one transition function that
//! decides `(facts, action, role) -> Result<Transition, Refusal>`. The store applies what it
//! returns as one guarded update; nothing else decides what may happen to a case.
//!
//! The path of a substantiated case: open → acknowledge (签收) → return visit (回访) → verify
//! (核实) → rectification order (责令整改) → report (整改报告) → accept (验收) or return for redo
//! (退回重办) → follow-up return visit (satisfied, or reopen 重办 back to a new order) →
//! accountability decision (问责) → closed. An unsubstantiated or malicious verdict closes the
//! case with its written explanation.

use std::fmt;

use super::role::Role;

/// Where a case came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An unsatisfied citizen rating (opened automatically; can never be sent back).
    Rating,
    /// An inspection team's finding (作风巡查).
    Inspection,
    /// A problem an enterprise reported.
    Enterprise,
    /// The "办不成事" window.
    UnresolvedWindow,
    /// Transferred from the 12345 hotline.
    Hotline,
    /// A secret visit (暗访).
    SecretVisit,
    /// An Open311 service request.
    Open311,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 7] = [
        Source::Rating,
        Source::Inspection,
        Source::Enterprise,
        Source::UnresolvedWindow,
        Source::Hotline,
        Source::SecretVisit,
        Source::Open311,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Rating => "rating",
            Source::Inspection => "inspection",
            Source::Enterprise => "enterprise",
            Source::UnresolvedWindow => "unresolved_window",
            Source::Hotline => "hotline",
            Source::SecretVisit => "secret_visit",
            Source::Open311 => "open311",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Who may open a case of this source by hand (rating cases open only from ratings).
    pub fn may_be_filed_by(self, role: Role) -> bool {
        match self {
            Source::Rating => false,
            Source::Inspection | Source::SecretVisit => matches!(role, Role::Inspector | Role::Supervisor),
            Source::Enterprise => matches!(role, Role::Enterprise | Role::Supervisor | Role::Inspector),
            Source::UnresolvedWindow | Source::Hotline | Source::Open311 => {
                matches!(role, Role::Supervisor | Role::UnitHead | Role::Staff)
            }
        }
    }

    /// Whether filing this source issues a problem feedback sheet (问题反馈单) to the unit.
    pub fn issues_feedback_sheet(self) -> bool {
        matches!(self, Source::Inspection | Source::SecretVisit | Source::Enterprise)
    }
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for the responsible unit to sign for it (待签收).
    Open,
    /// Signed for; waiting for the return visit to the citizen (待回访).
    Acknowledged,
    /// Visited; waiting for verification of the facts (待核实).
    Visited,
    /// Substantiated (fully or partly); waiting for a rectification order (待整改).
    Verified,
    /// A rectification order is out; waiting for the unit's report (整改中).
    Ordered,
    /// Report in; waiting for acceptance (待验收).
    Reported,
    /// Accepted; waiting for the follow-up return visit (待复访).
    Accepted,
    /// Fixed and confirmed with the citizen; waiting for the accountability decision (待问责).
    Rectified,
    /// Sent back by the unit as not its business (non-rating cases only); waiting for the
    /// supervising office to route it again or close it.
    SentBack,
    /// Done.
    Closed,
}

impl State {
    /// Every state.
    pub const ALL: [State; 10] = [
        State::Open,
        State::Acknowledged,
        State::Visited,
        State::Verified,
        State::Ordered,
        State::Reported,
        State::Accepted,
        State::Rectified,
        State::SentBack,
        State::Closed,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Acknowledged => "acknowledged",
            State::Visited => "visited",
            State::Verified => "verified",
            State::Ordered => "ordered",
            State::Reported => "reported",
            State::Accepted => "accepted",
            State::Rectified => "rectified",
            State::SentBack => "sent_back",
            State::Closed => "closed",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The role whose move it is in this state (`None` once closed).
    pub fn awaits(self) -> Option<Role> {
        match self {
            State::Open | State::Ordered => Some(Role::UnitHead),
            State::Closed => None,
            _ => Some(Role::Supervisor),
        }
    }

    /// The states whose move belongs to `role` (for "my cases"); staff answer rectification orders.
    pub fn awaiting(role: Role) -> Vec<State> {
        if role == Role::Staff {
            return vec![State::Ordered];
        }
        State::ALL.into_iter().filter(|s| s.awaits() == Some(role)).collect()
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verification verdict (核实结论).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The complaint holds.
    Substantiated,
    /// Part of it holds.
    Partly,
    /// It does not hold; the case closes with a written explanation.
    Unsubstantiated,
    /// A malicious rating; the case closes and the rating goes to the appeal path.
    Malicious,
}

impl Verdict {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Substantiated => "substantiated",
            Verdict::Partly => "partly",
            Verdict::Unsubstantiated => "unsubstantiated",
            Verdict::Malicious => "malicious",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Substantiated, Verdict::Partly, Verdict::Unsubstantiated, Verdict::Malicious]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    /// Whether the complaint (or part of it) holds, so that it must be fixed.
    pub fn holds(self) -> bool {
        matches!(self, Verdict::Substantiated | Verdict::Partly)
    }
}

/// The kind of an accountability decision (问责).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Accountability {
    /// Nobody is held to account (the reason says why).
    None,
    /// A reminder (提醒).
    Reminder,
    /// An admonition talk (约谈).
    AdmonitionTalk,
    /// Public criticism (通报批评).
    PublicCriticism,
    /// Referred for discipline (移送纪检).
    DisciplineReferral,
}

impl Accountability {
    /// Every kind, mildest first.
    pub const ALL: [Accountability; 5] = [
        Accountability::None,
        Accountability::Reminder,
        Accountability::AdmonitionTalk,
        Accountability::PublicCriticism,
        Accountability::DisciplineReferral,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Accountability::None => "none",
            Accountability::Reminder => "reminder",
            Accountability::AdmonitionTalk => "admonition_talk",
            Accountability::PublicCriticism => "public_criticism",
            Accountability::DisciplineReferral => "discipline_referral",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Accountability> {
        Accountability::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The Chinese name, as printed.
    pub fn label_zh(self) -> &'static str {
        match self {
            Accountability::None => "不予问责",
            Accountability::Reminder => "提醒",
            Accountability::AdmonitionTalk => "约谈",
            Accountability::PublicCriticism => "通报批评",
            Accountability::DisciplineReferral => "移送纪检",
        }
    }
}

/// What someone does to a case: only what the machine needs to decide. Notes, requirements,
/// attachments and the people named travel beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// 签收: the unit signs for the case.
    Acknowledge,
    /// 回访: the return visit, whether the citizen was reached.
    ReturnVisit {
        /// The citizen was reached.
        reached: bool,
    },
    /// 核实: the verdict on the facts.
    Verify {
        /// The verdict.
        verdict: Verdict,
    },
    /// 责令整改: a rectification order with a deadline in working days.
    Order {
        /// Working days to fix it.
        deadline_days: u32,
    },
    /// 整改报告: the unit reports the fix, with evidence.
    Report,
    /// 验收: the report is accepted.
    Accept,
    /// 退回重办: the report is not good enough; redo within a new deadline.
    Return {
        /// Working days to redo it.
        deadline_days: u32,
    },
    /// The follow-up return visit: is the citizen satisfied now? If not, the case is reopened
    /// (重办) for a new order.
    FollowUp {
        /// The citizen is satisfied now.
        satisfied: bool,
    },
    /// 问责: the accountability decision, which closes the case.
    Decide {
        /// The kind.
        kind: Accountability,
    },
    /// 延期申请: more time for the rectification, asked before the deadline.
    RequestExtension {
        /// Working days more.
        days: u32,
    },
    /// The supervisor's answer to an extension request.
    DecideExtension {
        /// Granted.
        approve: bool,
    },
    /// 退单: the unit says the case is not its business (never for rating cases).
    SendBack,
    /// Routes a sent-back case to another unit.
    Reassign,
    /// Closes a sent-back case with an explanation.
    Close,
}

/// An action's name without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionName {
    /// See [`Action::Acknowledge`].
    Acknowledge,
    /// See [`Action::ReturnVisit`].
    ReturnVisit,
    /// See [`Action::Verify`].
    Verify,
    /// See [`Action::Order`].
    Order,
    /// See [`Action::Report`].
    Report,
    /// See [`Action::Accept`].
    Accept,
    /// See [`Action::Return`].
    Return,
    /// See [`Action::FollowUp`].
    FollowUp,
    /// See [`Action::Decide`].
    Decide,
    /// See [`Action::RequestExtension`].
    RequestExtension,
    /// See [`Action::DecideExtension`].
    DecideExtension,
    /// See [`Action::SendBack`].
    SendBack,
    /// See [`Action::Reassign`].
    Reassign,
    /// See [`Action::Close`].
    Close,
}

impl ActionName {
    /// Every action.
    pub const ALL: [ActionName; 14] = [
        ActionName::Acknowledge,
        ActionName::ReturnVisit,
        ActionName::Verify,
        ActionName::Order,
        ActionName::Report,
        ActionName::Accept,
        ActionName::Return,
        ActionName::FollowUp,
        ActionName::Decide,
        ActionName::RequestExtension,
        ActionName::DecideExtension,
        ActionName::SendBack,
        ActionName::Reassign,
        ActionName::Close,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionName::Acknowledge => "acknowledge",
            ActionName::ReturnVisit => "return_visit",
            ActionName::Verify => "verify",
            ActionName::Order => "order",
            ActionName::Report => "report",
            ActionName::Accept => "accept",
            ActionName::Return => "return",
            ActionName::FollowUp => "follow_up",
            ActionName::Decide => "decide",
            ActionName::RequestExtension => "request_extension",
            ActionName::DecideExtension => "decide_extension",
            ActionName::SendBack => "send_back",
            ActionName::Reassign => "reassign",
            ActionName::Close => "close",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<ActionName> {
        ActionName::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The roles that own this action (scope is checked apart).
    pub fn owners(self) -> &'static [Role] {
        match self {
            ActionName::Acknowledge | ActionName::RequestExtension | ActionName::SendBack => &[Role::UnitHead],
            // Staff answer rectification orders (DESIGN.md §2); unit heads submit the report.
            ActionName::Report => &[Role::UnitHead, Role::Staff],
            _ => &[Role::Supervisor],
        }
    }

    /// An instance with typical details, to ask the machine whether the action is open.
    fn sample(self) -> Action {
        match self {
            ActionName::Acknowledge => Action::Acknowledge,
            ActionName::ReturnVisit => Action::ReturnVisit { reached: true },
            ActionName::Verify => Action::Verify { verdict: Verdict::Substantiated },
            ActionName::Order => Action::Order { deadline_days: 5 },
            ActionName::Report => Action::Report,
            ActionName::Accept => Action::Accept,
            ActionName::Return => Action::Return { deadline_days: 5 },
            ActionName::FollowUp => Action::FollowUp { satisfied: true },
            ActionName::Decide => Action::Decide { kind: Accountability::None },
            ActionName::RequestExtension => Action::RequestExtension { days: 1 },
            ActionName::DecideExtension => Action::DecideExtension { approve: true },
            ActionName::SendBack => Action::SendBack,
            ActionName::Reassign => Action::Reassign,
            ActionName::Close => Action::Close,
        }
    }
}

impl Action {
    /// The action's name.
    pub fn name(&self) -> ActionName {
        match self {
            Action::Acknowledge => ActionName::Acknowledge,
            Action::ReturnVisit { .. } => ActionName::ReturnVisit,
            Action::Verify { .. } => ActionName::Verify,
            Action::Order { .. } => ActionName::Order,
            Action::Report => ActionName::Report,
            Action::Accept => ActionName::Accept,
            Action::Return { .. } => ActionName::Return,
            Action::FollowUp { .. } => ActionName::FollowUp,
            Action::Decide { .. } => ActionName::Decide,
            Action::RequestExtension { .. } => ActionName::RequestExtension,
            Action::DecideExtension { .. } => ActionName::DecideExtension,
            Action::SendBack => ActionName::SendBack,
            Action::Reassign => ActionName::Reassign,
            Action::Close => ActionName::Close,
        }
    }
}

/// What the machine needs to know about a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Current state.
    pub state: State,
    /// Where it came from.
    pub source: Source,
    /// Now, ms.
    pub now: i64,
    /// The rectification deadline in force, ms.
    pub order_due: Option<i64>,
    /// An extension request awaits a decision.
    pub extension_pending: bool,
}

/// A permitted change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after (the same for extension requests and decisions).
    pub to: State,
    /// The action.
    pub action: Action,
    /// The follow-up visit found the citizen unhappy: the case is redone (重办).
    pub reopened: bool,
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The role does not own this action (403).
    #[error("your role may not do this to a case")]
    WrongRole,
    /// The action is not open in the case's state (409).
    #[error("a case in state {state} does not allow {action}")]
    WrongState {
        /// The state.
        state: State,
        /// The action.
        action: &'static str,
    },
    /// Rating cases are never sent back (no 退单) (409).
    #[error("cases from citizens' ratings cannot be sent back")]
    RatingCaseSentBack,
    /// Extensions are asked for before the deadline only (409).
    #[error("the deadline has passed; an extension can only be asked for before it")]
    DeadlinePassed,
    /// One extension request at a time (409).
    #[error("an extension request is already waiting for a decision")]
    ExtensionPending,
    /// There is no extension request to decide (409).
    #[error("there is no extension request to decide")]
    NoExtensionPending,
}

/// The one transition function.
pub fn transition(facts: &Facts, action: Action, role: Role) -> Result<Transition, Refusal> {
    use State as S;
    let name = action.name();
    if !name.owners().contains(&role) {
        return Err(Refusal::WrongRole);
    }
    let wrong = || Refusal::WrongState { state: facts.state, action: name.as_str() };
    let to = match (facts.state, action) {
        (S::Open, Action::Acknowledge) => S::Acknowledged,
        (S::Open, Action::SendBack) if facts.source == Source::Rating => return Err(Refusal::RatingCaseSentBack),
        (S::Open, Action::SendBack) => S::SentBack,
        (S::Acknowledged, Action::ReturnVisit { .. }) => S::Visited,
        (S::Visited, Action::Verify { verdict }) => {
            if verdict.holds() {
                S::Verified
            } else {
                S::Closed
            }
        }
        (S::Verified, Action::Order { .. }) => S::Ordered,
        (S::Ordered, Action::Report) => S::Reported,
        (S::Ordered, Action::RequestExtension { .. }) => {
            if facts.extension_pending {
                return Err(Refusal::ExtensionPending);
            }
            if facts.order_due.is_some_and(|due| facts.now >= due) {
                return Err(Refusal::DeadlinePassed);
            }
            S::Ordered
        }
        (S::Ordered, Action::DecideExtension { .. }) => {
            if !facts.extension_pending {
                return Err(Refusal::NoExtensionPending);
            }
            S::Ordered
        }
        (S::Reported, Action::Accept) => S::Accepted,
        (S::Reported, Action::Return { .. }) => S::Ordered,
        (S::Accepted, Action::FollowUp { satisfied }) => {
            if satisfied {
                S::Rectified
            } else {
                S::Verified
            }
        }
        (S::Rectified, Action::Decide { .. }) => S::Closed,
        (S::SentBack, Action::Reassign) => S::Open,
        (S::SentBack, Action::Close) => S::Closed,
        (_, Action::SendBack) if facts.source == Source::Rating => return Err(Refusal::RatingCaseSentBack),
        _ => return Err(wrong()),
    };
    let reopened = matches!(action, Action::FollowUp { satisfied: false });
    Ok(Transition { from: facts.state, to, action, reopened })
}

/// The actions `role` may take now (for the case page's forms and the API's `actions` list).
pub fn permitted(facts: &Facts, role: Role) -> Vec<ActionName> {
    ActionName::ALL.into_iter().filter(|a| transition(facts, a.sample(), role).is_ok()).collect()
}

#[cfg(test)]
mod tests {
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
}
