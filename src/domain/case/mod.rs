//! The closed loop (工单): one enum of states, one of actions, one transition function that
//! decides `(facts, action, role) -> Result<Transition, Refusal>`: the next state and the
//! transition's effects as data ([`effects`]). The store applies what it returns in one guarded
//! transaction; nothing else decides what may happen to a case or what follows from it.
//!
//! The path of a substantiated case: open → acknowledge (签收) → return visit (回访) → verify
//! (核实) → rectification order (责令整改) → report (整改报告) → accept (验收) or return for redo
//! (退回重办) → follow-up return visit (satisfied, or reopen 重办 back to a new order) →
//! accountability decision (问责) → closed. An unsubstantiated or malicious verdict closes the
//! case with its written explanation.

use super::role::Role;

pub mod effects;
mod vocabulary;

pub use effects::Effect;
pub use vocabulary::{Accountability, Source, State, Verdict};

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

/// A permitted change and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after (the same for extension requests and decisions).
    pub to: State,
    /// The action.
    pub action: Action,
    /// The follow-up visit found the citizen unhappy: the case is redone (重办).
    pub reopened: bool,
    /// What it does besides changing the state, in order ([`effects::effects_of`]).
    pub effects: Vec<Effect>,
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
    Ok(Transition { from: facts.state, to, action, reopened, effects: effects::effects_of(facts, action, to) })
}

/// The actions `role` may take now (for the case page's forms and the API's `actions` list).
pub fn permitted(facts: &Facts, role: Role) -> Vec<ActionName> {
    ActionName::ALL.into_iter().filter(|a| transition(facts, a.sample(), role).is_ok()).collect()
}

/// The title of the case an unsatisfied rating opens: "单位·窗口：不满意评价（话难听、事难办）", the unit
/// alone when the unit itself was rated (`window` is `None`), then the reasons' labels.
pub fn rating_case_title(unit: &str, window: Option<&str>, labels: &[String]) -> String {
    let place = match window {
        Some(w) => format!("{unit}·{w}"),
        None => unit.to_owned(),
    };
    format!("{place}：不满意评价（{}）", labels.join("、"))
}

/// What a transition counts for in the case funnel and the accountability figures: counter
/// names (the columns of the case rollups, `store::rollups::CASE_COUNTERS`) and amounts.
/// `on_time`: a report came before its deadline; `held`: how many people a decision held to
/// account.
pub fn counted(t: &Transition, on_time: bool, held: i64) -> Vec<(&'static str, i64)> {
    let mut c = match t.action {
        Action::Acknowledge => vec![("acknowledged", 1)],
        Action::ReturnVisit { reached } => vec![("visited", 1), ("reached", i64::from(reached))],
        Action::Verify { verdict } if verdict.holds() => vec![("substantiated", 1)],
        Action::Verify { .. } => vec![("unsubstantiated", 1)],
        Action::Order { .. } => vec![("ordered", 1)],
        Action::Report => vec![("reported", 1), ("reported_on_time", i64::from(on_time))],
        Action::Accept => vec![("accepted", 1)],
        Action::FollowUp { satisfied: false } => vec![("reopened", 1)],
        Action::Decide { .. } => vec![("decided", 1), ("held", held)],
        Action::SendBack => vec![("sent_back", 1)],
        _ => Vec::new(),
    };
    if t.to == State::Closed {
        c.push(("closed", 1));
    }
    c
}

#[cfg(test)]
mod tests;
