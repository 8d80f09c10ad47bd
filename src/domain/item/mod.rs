//! Supervision items (督办事项), the second machine on the workflow engine: one ledger (督办清单)
//! of items from every source, each with a lead unit that signs for it, works it to a deadline,
//! reports progress and a final report with evidence; a verifier who did not do the work closes
//! it (销号) with an outcome or returns it (返回补办); re-checks (回头看) after closing reopen an
//! item that did not hold. As for cases, [`transition`] decides whether an action is allowed and
//! returns the next state with its effects as data ([`Effect`]); the store runs them.
//!
//! Against "paper closing" the machine itself refuses: a final report without evidence, a
//! closing by the person who reported, an extension asked after the deadline. The colours and
//! the escalation ladder are in [`ladder`].

pub mod bulletin;
pub mod ladder;
pub mod settings;
#[cfg(test)]
mod tests;
mod vocabulary;

pub use vocabulary::{Level, Outcome, Source};

use crate::domain::role::Role;
use crate::domain::workflow::{DocumentKind, Flow, FlowEffect, Limit, Named, Start};

/// Longest extension or re-work period, in working days.
pub const MAX_DAYS: u32 = 120;

/// When the re-checks (回头看) fall after closing, in calendar days: a month and a quarter on,
/// long enough for a paper fix to come undone (Wuhan's item-by-item closing re-checked its
/// closed problems; about 40% of audit findings elsewhere are repeats).
pub const RECHECK_AFTER_DAYS: [i64; 2] = [30, 90];

/// How long after closing a new finding for the same unit and category counts as a recurrence
/// of the closed item, in calendar days.
pub const RECURRENCE_WINDOW_DAYS: i64 = 180;

/// The working days a step gets: the lead unit signs for an item within 2, the verifier
/// reviews a final report within 5 (re-work gets the days the verifier names).
pub fn step_limit(step: Step) -> crate::domain::sla::Clock {
    crate::domain::sla::Clock::WorkingDays(match step {
        Step::Acknowledge => 2,
        Step::Review => 5,
        Step::Rework => 10,
    })
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ItemState)]
pub enum State {
    /// 已交办: assigned, waiting for the lead unit to sign for it.
    Assigned,
    /// 办理中: the lead unit works it.
    InProgress,
    /// 已报结: the final report is in, waiting for review.
    Reported,
    /// 已销号: closed with an outcome (re-checks may still reopen it).
    Closed,
}

impl State {
    /// Every state, in the order of the loop.
    pub const ALL: [State; 4] = [State::Assigned, State::InProgress, State::Reported, State::Closed];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Assigned => "assigned",
            State::InProgress => "in_progress",
            State::Reported => "reported",
            State::Closed => "closed",
        }
    }

    /// The state of a stored name.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whose move it is in this state (who is told when an item arrives here).
    pub fn awaits(self) -> Option<Role> {
        match self {
            State::Assigned | State::InProgress => Some(Role::UnitHead),
            State::Reported => Some(Role::Inspector),
            State::Closed => None,
        }
    }
}

/// What someone does to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// 签收: the lead unit signs for the item.
    Acknowledge,
    /// 进展报告: progress in percent, with the measures taken.
    ReportProgress {
        /// Percent done, 0–100.
        percent: u8,
    },
    /// 申请延期: more working days, asked before the deadline.
    RequestExtension {
        /// Working days asked for.
        days: u32,
    },
    /// 审批延期: grant or refuse the pending request.
    DecideExtension {
        /// Granted.
        approve: bool,
    },
    /// 报结: the final report, with evidence (before/after).
    SubmitFinal {
        /// Evidence files attached to the report.
        evidence: u32,
    },
    /// 返回补办: the report does not hold; work again for this many working days.
    Return {
        /// Working days for the re-work.
        days: u32,
    },
    /// 销号: closed with an outcome by a verifier who did not do the work.
    Close {
        /// How it ended.
        outcome: Outcome,
    },
    /// 回头看: a re-check after closing; a failed one reopens the item.
    Recheck {
        /// The fix held.
        passed: bool,
        /// Working days for the re-work, when it did not.
        days: u32,
    },
    /// 重新打开: reopened (a recurrence, a complaint) for this many working days.
    Reopen {
        /// Working days for the re-work.
        days: u32,
    },
}

impl Action {
    /// The action's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::ReportProgress { .. } => "report_progress",
            Action::RequestExtension { .. } => "request_extension",
            Action::DecideExtension { .. } => "decide_extension",
            Action::SubmitFinal { .. } => "submit_final",
            Action::Return { .. } => "return",
            Action::Close { .. } => "close",
            Action::Recheck { .. } => "recheck",
            Action::Reopen { .. } => "reopen",
        }
    }

    /// The roles that own the action: the lead unit works the item, inspectors and
    /// supervisors verify and decide.
    pub fn owners(self) -> &'static [Role] {
        const UNIT: &[Role] = &[Role::UnitHead, Role::Staff];
        const VERIFIERS: &[Role] = &[Role::Inspector, Role::Supervisor];
        match self {
            Action::Acknowledge
            | Action::ReportProgress { .. }
            | Action::RequestExtension { .. }
            | Action::SubmitFinal { .. } => UNIT,
            Action::DecideExtension { .. }
            | Action::Return { .. }
            | Action::Close { .. }
            | Action::Recheck { .. }
            | Action::Reopen { .. } => VERIFIERS,
        }
    }

    fn allowed_in(self, state: State) -> bool {
        match self {
            Action::Acknowledge => state == State::Assigned,
            Action::ReportProgress { .. }
            | Action::RequestExtension { .. }
            | Action::DecideExtension { .. }
            | Action::SubmitFinal { .. } => state == State::InProgress,
            Action::Return { .. } | Action::Close { .. } => state == State::Reported,
            Action::Recheck { .. } | Action::Reopen { .. } => state == State::Closed,
        }
    }
}

/// What the machine decides on, read from the item and the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Where the item stands.
    pub state: State,
    /// Now, ms.
    pub now: i64,
    /// The deadline in force, ms.
    pub deadline: i64,
    /// An extension request is pending.
    pub extension_pending: bool,
    /// The actor is the person who submitted the final report (who may not close it).
    pub actor_reported: bool,
    /// Evidence files on the final report.
    pub final_evidence: u32,
}

/// A step of an item that is timed by a clock of its own (the whole item is timed by its
/// deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 签收: the lead unit signs for it.
    Acknowledge,
    /// 补办: re-work after a return, a failed re-check or a reopening.
    Rework,
    /// 审核: the verifier reviews the final report.
    Review,
}

impl Named for Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Acknowledge => "acknowledge",
            Step::Rework => "rework",
            Step::Review => "review",
        }
    }
}

/// A numbered document of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// 督办通知: the notice that assigns an item.
    Assignment,
    /// 销号通知: the closing notice with its outcome.
    Closing,
}

impl Named for Document {
    fn as_str(self) -> &'static str {
        match self {
            Document::Assignment => "item_assignment",
            Document::Closing => "item_closing",
        }
    }
}

impl DocumentKind for Document {
    fn word(self) -> &'static str {
        match self {
            Document::Assignment => "督办",
            Document::Closing => "销号",
        }
    }
}

/// One thing an item's transition does besides changing the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A shared effect (clocks, documents, closing, notices).
    Flow(Flow<Step, Document>),
    /// Record the progress reported.
    SetProgress(u8),
    /// Record a request for this many more working days.
    RecordExtensionRequest(u32),
    /// The deadline moves by the requested working days (counted from the deadline in force).
    ExtendDeadline,
    /// The extension request is answered.
    ClearExtensionRequest,
    /// Record whether the final report came before the deadline.
    MarkReportedOnTime,
    /// Record the outcome.
    SetOutcome(Outcome),
    /// Schedule the re-checks (回头看) after closing.
    ScheduleRechecks,
    /// Record a re-check and its result.
    RecordRecheck {
        /// The fix held.
        passed: bool,
    },
    /// Count one more reopening.
    CountReopening,
}

impl FlowEffect for Effect {
    type Step = Step;
    type Document = Document;

    fn flow(&self) -> Option<Flow<Step, Document>> {
        match self {
            Effect::Flow(f) => Some(*f),
            _ => None,
        }
    }
}

/// A permitted change and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// The action.
    pub action: Action,
    /// What it does besides changing the state, in order.
    pub effects: Vec<Effect>,
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The role does not own this action (403).
    #[error("your role may not do this to a supervision item")]
    WrongRole,
    /// The action is not open in the item's state (409).
    #[error("an item in state {state} does not allow {action}")]
    WrongState {
        /// The state.
        state: &'static str,
        /// The action.
        action: &'static str,
    },
    /// Extensions are asked for before the deadline only (409).
    #[error("the deadline has passed; an extension can only be asked for before it")]
    DeadlinePassed,
    /// One extension request at a time (409).
    #[error("an extension request is already waiting for a decision")]
    ExtensionPending,
    /// No pending request to decide (409).
    #[error("there is no extension request to decide")]
    NoExtensionPending,
    /// A final report needs evidence (422).
    #[error("attach the evidence of the fix (before and after)")]
    EvidenceRequired,
    /// The person who reported may not close (422).
    #[error("the item must be closed by a verifier who did not report it")]
    VerifierIsDoer,
    /// A number of days out of range (422).
    #[error("working days from 1 to 120")]
    DaysOutOfRange,
    /// Progress out of range (422).
    #[error("progress is a percentage from 0 to 100")]
    ProgressOutOfRange,
}

fn days_ok(days: u32) -> Result<(), Refusal> {
    if (1..=MAX_DAYS).contains(&days) { Ok(()) } else { Err(Refusal::DaysOutOfRange) }
}

/// Decides whether `role` may take `action` on an item in `facts`, and what it does.
pub fn transition(facts: &Facts, action: Action, role: Role) -> Result<Transition, Refusal> {
    use Effect as E;
    if !action.owners().contains(&role) {
        return Err(Refusal::WrongRole);
    }
    if !action.allowed_in(facts.state) {
        return Err(Refusal::WrongState { state: facts.state.as_str(), action: action.name() });
    }
    let flow = E::Flow;
    let rework = |days| flow(Flow::StartStep { step: Step::Rework, limit: Limit::WorkingDays(days), from: Start::Now });
    let (to, mut effects) = match action {
        Action::Acknowledge => (State::InProgress, vec![flow(Flow::StopStepClock), flow(Flow::ClearStep)]),
        Action::ReportProgress { percent } => {
            if percent > 100 {
                return Err(Refusal::ProgressOutOfRange);
            }
            (State::InProgress, vec![E::SetProgress(percent)])
        }
        Action::RequestExtension { days } => {
            days_ok(days)?;
            if facts.now > facts.deadline {
                return Err(Refusal::DeadlinePassed);
            }
            if facts.extension_pending {
                return Err(Refusal::ExtensionPending);
            }
            (State::InProgress, vec![E::RecordExtensionRequest(days)])
        }
        Action::DecideExtension { approve } => {
            if !facts.extension_pending {
                return Err(Refusal::NoExtensionPending);
            }
            let mut v = Vec::new();
            if approve {
                v.push(E::ExtendDeadline);
            }
            v.push(E::ClearExtensionRequest);
            (State::InProgress, v)
        }
        Action::SubmitFinal { evidence } => {
            if evidence == 0 {
                return Err(Refusal::EvidenceRequired);
            }
            let review = Flow::StartStep { step: Step::Review, limit: Limit::Policy, from: Start::Now };
            (State::Reported, vec![flow(Flow::StopStepClock), flow(review), E::MarkReportedOnTime])
        }
        Action::Return { days } => {
            days_ok(days)?;
            (State::InProgress, vec![flow(Flow::StopStepClock), rework(days)])
        }
        Action::Close { outcome } => {
            if facts.actor_reported {
                return Err(Refusal::VerifierIsDoer);
            }
            if facts.final_evidence == 0 {
                return Err(Refusal::EvidenceRequired);
            }
            (
                State::Closed,
                vec![
                    E::SetOutcome(outcome),
                    flow(Flow::Close),
                    flow(Flow::Issue(Document::Closing)),
                    E::ScheduleRechecks,
                ],
            )
        }
        Action::Recheck { passed: true, .. } => (State::Closed, vec![E::RecordRecheck { passed: true }]),
        Action::Recheck { passed: false, days } => {
            days_ok(days)?;
            let v = vec![E::RecordRecheck { passed: false }, E::CountReopening, flow(Flow::Reopen), rework(days)];
            (State::InProgress, v)
        }
        Action::Reopen { days } => {
            days_ok(days)?;
            (State::InProgress, vec![E::CountReopening, flow(Flow::Reopen), rework(days)])
        }
    };
    let tell = match action {
        Action::RequestExtension { .. } => Some(Role::Inspector),
        Action::DecideExtension { .. } | Action::ReportProgress { .. } => Some(Role::UnitHead),
        _ => to.awaits(),
    };
    effects.push(flow(Flow::Notify(tell)));
    Ok(Transition { from: facts.state, to, action, effects })
}

/// The effects of assigning a new item: its deadline clock and the sign-for step start, the
/// assignment notice is issued, the lead unit is told. (The item is created in
/// [`State::Assigned`]; the store starts the whole item's clock on its deadline.)
pub fn opening_effects() -> Vec<Effect> {
    vec![
        Effect::Flow(Flow::StartStep { step: Step::Acknowledge, limit: Limit::Policy, from: Start::Now }),
        Effect::Flow(Flow::Issue(Document::Assignment)),
        Effect::Flow(Flow::Notify(State::Assigned.awaits())),
    ]
}
