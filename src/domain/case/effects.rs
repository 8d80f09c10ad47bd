//! What a permitted transition does, as plain values: which step clock stops and which starts
//! (on the policy's limit, or on N working days from now or from the deadline it extends), the
//! rectification deadline, whether a report came on time, the appeal a malicious verdict files,
//! the document an order issues, the accountability a decision records, closing, and who is
//! told. [`super::transition`] returns them; the store runs them in order inside the
//! transition's guarded transaction and decides nothing itself: the effects every machine has
//! ([`Flow`]s: clocks, documents, closing, notices) by the shared executor (`store::workflow`),
//! the case's own (verdict, appeal, order deadline, …) in `store::cases::apply`.

use super::{Accountability, Action, Facts, State, Verdict};
use crate::domain::role::Role;
use crate::domain::workflow::{DocumentKind, Flow, FlowEffect, Named};
pub use crate::domain::workflow::{Limit, Start};

/// A step of the loop that is timed by a clock of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 签收: the unit signs for the case.
    Acknowledge,
    /// 回访: the return visit.
    ReturnVisit,
    /// 整改: the rectification, up to the order's deadline.
    Rectification,
}

impl Named for Step {
    /// The stable name, stored with the case and its clock.
    fn as_str(self) -> &'static str {
        match self {
            Step::Acknowledge => "acknowledge",
            Step::ReturnVisit => "return_visit",
            Step::Rectification => "rectification",
        }
    }
}

/// A numbered document of the case loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// 整改通知书: the rectification order, issued by the order action.
    RectificationOrder,
    /// 问题反馈单: the feedback sheet an inspection or secret-visit case opens with.
    FeedbackSheet,
}

impl Named for Document {
    /// The stable kind, stored with the document.
    fn as_str(self) -> &'static str {
        match self {
            Document::RectificationOrder => "order",
            Document::FeedbackSheet => "feedback",
        }
    }
}

impl DocumentKind for Document {
    fn word(self) -> &'static str {
        match self {
            Document::RectificationOrder => "督整",
            Document::FeedbackSheet => "督反",
        }
    }
}

/// One thing a transition does besides changing the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Stop the clock of the step being timed, if any.
    StopStepClock,
    /// Time a new step: its clock starts and the case waits on it.
    StartStep {
        /// The step.
        step: Step,
        /// How long it may take.
        limit: Limit,
        /// From when.
        from: Start,
    },
    /// No step is timed any more.
    ClearStep,
    /// The rectification deadline becomes the due time of the step just started; with `fresh`,
    /// a new order, whose report has yet to come.
    SetOrderDeadline {
        /// A new order (not an extension of the one in force).
        fresh: bool,
    },
    /// Record whether the report came before the deadline in force.
    MarkReportedOnTime,
    /// Record the verdict.
    SetVerdict(Verdict),
    /// File an appeal against the rating behind the case (a malicious verdict), unless filed.
    FileAppeal,
    /// Count one more reopening (重办).
    CountReopening,
    /// Record a request for this many more working days.
    RecordExtensionRequest {
        /// Working days asked for.
        days: u32,
    },
    /// The extension request is answered.
    ClearExtensionRequest,
    /// The case moves to the unit named with the action, and to that unit's office.
    MoveToNamedUnit,
    /// Issue a numbered document.
    Issue(Document),
    /// Record the accountability decision for the people named with the action.
    RecordAccountability(Accountability),
    /// The case is closed: every clock stops, no step is timed.
    Close,
    /// Tell the users of this role in scope (and the webhooks, whoever is told).
    Notify(Option<Role>),
}

impl FlowEffect for Effect {
    type Step = Step;
    type Document = Document;

    fn flow(&self) -> Option<Flow<Step, Document>> {
        Some(match *self {
            Effect::StopStepClock => Flow::StopStepClock,
            Effect::StartStep { step, limit, from } => Flow::StartStep { step, limit, from },
            Effect::ClearStep => Flow::ClearStep,
            Effect::Issue(kind) => Flow::Issue(kind),
            Effect::Close => Flow::Close,
            Effect::Notify(role) => Flow::Notify(role),
            _ => return None,
        })
    }
}

/// The effects of `action` taking a case in `facts` to `to` (already permitted), in order.
pub fn effects_of(facts: &Facts, action: Action, to: State) -> Vec<Effect> {
    use Effect as E;
    let start = |step, limit, from| E::StartStep { step, limit, from };
    let mut out = match action {
        Action::Acknowledge => vec![E::StopStepClock, start(Step::ReturnVisit, Limit::Policy, Start::Now)],
        Action::ReturnVisit { .. } | Action::SendBack => vec![E::StopStepClock, E::ClearStep],
        Action::Verify { verdict } => {
            let mut v = vec![E::SetVerdict(verdict)];
            if verdict == Verdict::Malicious && facts.source == super::Source::Rating {
                v.push(E::FileAppeal);
            }
            v
        }
        Action::Order { deadline_days } | Action::Return { deadline_days } => {
            let mut v = vec![
                E::StopStepClock,
                start(Step::Rectification, Limit::WorkingDays(deadline_days), Start::Now),
                E::SetOrderDeadline { fresh: true },
            ];
            if let Action::Order { .. } = action {
                v.push(E::Issue(Document::RectificationOrder));
            }
            v
        }
        Action::Report => vec![E::StopStepClock, E::ClearStep, E::MarkReportedOnTime],
        Action::FollowUp { satisfied: false } => vec![E::CountReopening],
        Action::RequestExtension { days } => vec![E::RecordExtensionRequest { days }],
        Action::DecideExtension { approve: true } => vec![
            E::StopStepClock,
            start(Step::Rectification, Limit::RequestedExtension, Start::Deadline),
            E::SetOrderDeadline { fresh: false },
            E::ClearExtensionRequest,
        ],
        Action::DecideExtension { approve: false } => vec![E::ClearExtensionRequest],
        Action::Reassign => {
            vec![E::MoveToNamedUnit, E::StopStepClock, start(Step::Acknowledge, Limit::Policy, Start::Now)]
        }
        Action::Decide { kind } => vec![E::RecordAccountability(kind)],
        Action::Accept | Action::FollowUp { satisfied: true } | Action::Close => Vec::new(),
    };
    if to == State::Closed {
        out.push(E::Close);
    }
    let tell = match action {
        // The supervisor decides extension requests; the unit hears the answer.
        Action::RequestExtension { .. } => Some(Role::Supervisor),
        Action::DecideExtension { .. } => Some(Role::UnitHead),
        _ => to.awaits(),
    };
    out.push(E::Notify(tell));
    out
}
