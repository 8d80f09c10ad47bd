//! Desk requests (企业诉求), the third machine on the workflow engine: a problem a firm raised in
//! its project's channel. The reply clock starts when the firm posts (inside the park's service
//! hours; outside them, when the desk opens), never when someone signs for it; the first reply
//! stops it. A cadre may classify the request as complex, which starts the solution clock for a
//! written solution plan; then the fix, and the firm confirms it (with a rating) or rejects it.
//! A request may be handed to another unit once, within a limit and with a stated legal basis;
//! a second hand-over goes to the desk's owner for a ruling. A withdrawal is flagged and checked
//! by someone who did not handle the request. As for cases and items, [`transition`] decides and
//! returns the effects as data; the store runs them.

use chrono::{Duration, NaiveTime, TimeZone};

use crate::domain::calendar::{Calendar, cst};
use crate::domain::role::Role;
use crate::domain::sla::Clock;
use crate::domain::workflow::{DocumentKind, Flow, FlowEffect, Limit, Named, Start};

/// Longest period a solution plan may give itself, in working days.
pub const MAX_PLAN_DAYS: u32 = 60;

/// A park's desk settings: the promises the park made to its firms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeskSettings {
    /// Minutes to the first reply (南川园区: 10), counted in natural minutes of service hours.
    pub reply_minutes: u32,
    /// Working days to a written solution plan for a complex request (南川园区: 3), and to the
    /// fix of a simple one.
    pub solution_days: u32,
    /// Working days after posting within which the request may be handed to another unit.
    pub handover_days: u32,
    /// When the desk opens, minutes after midnight (default 08:30).
    pub open_minute: u32,
    /// When it closes, minutes after midnight (default 21:00).
    pub close_minute: u32,
    /// Whether the desk answers on working days only (default: every day).
    pub working_days_only: bool,
}

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            reply_minutes: 10,
            solution_days: 3,
            handover_days: 2,
            open_minute: 8 * 60 + 30,
            close_minute: 21 * 60,
            working_days_only: false,
        }
    }
}

/// Why desk settings were refused: the field and the reason.
pub type SettingsError = (&'static str, &'static str);

impl DeskSettings {
    /// Checks the settings make sense.
    pub fn check(&self) -> Result<(), SettingsError> {
        if !(1..=1440).contains(&self.reply_minutes) {
            return Err(("reply_minutes", "minutes from 1 to 1440"));
        }
        if !(1..=30).contains(&self.solution_days) {
            return Err(("solution_days", "working days from 1 to 30"));
        }
        if !(1..=30).contains(&self.handover_days) {
            return Err(("handover_days", "working days from 1 to 30"));
        }
        if self.close_minute > 1440 {
            return Err(("close_minute", "a time of day"));
        }
        if self.open_minute >= self.close_minute {
            return Err(("open_minute", "the desk opens before it closes"));
        }
        Ok(())
    }

    /// The clock of a step under these settings.
    pub fn limit(&self, step: Step) -> Clock {
        match step {
            Step::Reply => Clock::NaturalMinutes(self.reply_minutes),
            Step::Plan | Step::Resolve | Step::Rework => Clock::WorkingDays(self.solution_days),
        }
    }

    /// When the reply clock of a request posted at `posted` (ms) starts: then, if the desk is
    /// open; else when it next opens (days outside the calendar's range count as open days).
    pub fn reply_start(&self, cal: &Calendar, posted: i64) -> i64 {
        let Some(at) = cst().timestamp_millis_opt(posted).single() else { return posted };
        let minute = chrono::Timelike::hour(&at) * 60 + chrono::Timelike::minute(&at);
        let open_day = |d: chrono::NaiveDate| !self.working_days_only || cal.day(d).map(|i| i.working).unwrap_or(true);
        let opening = |d: chrono::NaiveDate| {
            let t = NaiveTime::from_num_seconds_from_midnight_opt(self.open_minute * 60, 0).unwrap_or_default();
            cst().from_local_datetime(&d.and_time(t)).single().map_or(posted, |x| x.timestamp_millis())
        };
        let today = at.date_naive();
        if open_day(today) && minute >= self.open_minute && minute < self.close_minute {
            return posted;
        }
        if open_day(today) && minute < self.open_minute {
            return opening(today);
        }
        let mut d = today + Duration::days(1);
        for _ in 0..60 {
            if open_day(d) {
                return opening(d);
            }
            d += Duration::days(1);
        }
        posted
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RequestState)]
pub enum State {
    /// 待回复: posted, the reply clock runs.
    Posted,
    /// 已回复: replied; the fix (or the classification as complex) is due.
    Replied,
    /// 方案中: complex; the written solution plan is due.
    Planning,
    /// 办理中: the plan is in (or the firm rejected the fix); the fix is due.
    Solving,
    /// 待裁定: handed over a second time; the desk's owner rules which unit takes it.
    Ruling,
    /// 待确认: resolved; the firm confirms or rejects the fix.
    Resolved,
    /// 已确认: the firm confirmed the fix and rated it.
    Confirmed,
    /// 已撤回: the firm withdrew it (flagged, checked independently).
    Withdrawn,
}

impl State {
    /// Every state, in the order of the loop.
    pub const ALL: [State; 8] = [
        State::Posted,
        State::Replied,
        State::Planning,
        State::Solving,
        State::Ruling,
        State::Resolved,
        State::Confirmed,
        State::Withdrawn,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Posted => "posted",
            State::Replied => "replied",
            State::Planning => "planning",
            State::Solving => "solving",
            State::Ruling => "ruling",
            State::Resolved => "resolved",
            State::Confirmed => "confirmed",
            State::Withdrawn => "withdrawn",
        }
    }

    /// The state of a stored name.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the request is over (confirmed or withdrawn).
    pub fn closed(self) -> bool {
        matches!(self, State::Confirmed | State::Withdrawn)
    }

    /// Whose move it is (who is told when a request arrives here): the desk's cadres, the firm,
    /// or the desk's owner.
    pub fn awaits(self) -> Option<Role> {
        match self {
            State::Posted | State::Replied | State::Planning | State::Solving => Some(Role::UnitHead),
            State::Ruling => Some(Role::Supervisor),
            State::Resolved => Some(Role::Enterprise),
            State::Confirmed | State::Withdrawn => None,
        }
    }
}

/// What someone does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// 回复: the first reply (it stops the reply clock).
    Reply,
    /// 列为复杂诉求: complex; a written solution plan is due within the solution clock.
    MarkComplex,
    /// 提交解决方案: the written plan, with the working days it gives itself to the fix.
    SubmitPlan {
        /// Working days to the fix.
        days: u32,
    },
    /// 办结: the fix is done; the firm is asked to confirm.
    Resolve,
    /// 确认: the firm confirms the fix and rates it.
    Confirm {
        /// 1 (very dissatisfied) to 5 (very satisfied).
        rating: u8,
    },
    /// 不认可: the firm rejects the fix; it is worked again.
    Reject,
    /// 撤回: the firm withdraws the request.
    Withdraw,
    /// 移交: handed to another unit, with the legal basis.
    HandOver {
        /// A basis was stated.
        basis: bool,
    },
    /// 裁定: the desk's owner names the unit after a second hand-over.
    Rule,
    /// 撤回核实: someone who did not handle the request asks the firm whether it was pressed to
    /// withdraw; if it was, the request is open again.
    CheckWithdrawal {
        /// The firm says it was pressed.
        pressed: bool,
    },
    /// 转督办: an unsolved request past its clock becomes a supervision item.
    Escalate,
}

impl Action {
    /// The action's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Reply => "reply",
            Action::MarkComplex => "mark_complex",
            Action::SubmitPlan { .. } => "submit_plan",
            Action::Resolve => "resolve",
            Action::Confirm { .. } => "confirm",
            Action::Reject => "reject",
            Action::Withdraw => "withdraw",
            Action::HandOver { .. } => "hand_over",
            Action::Rule => "rule",
            Action::CheckWithdrawal { .. } => "check_withdrawal",
            Action::Escalate => "escalate",
        }
    }

    /// The roles that own the action: the desk's cadres (unit heads and staff of the serving
    /// unit) work the request, the firm confirms, rejects or withdraws, supervisors rule on
    /// bounces, check withdrawals and escalate.
    pub fn owners(self) -> &'static [Role] {
        const CADRES: &[Role] = &[Role::UnitHead, Role::Staff, Role::Supervisor];
        const FIRM: &[Role] = &[Role::Enterprise];
        const OWNER: &[Role] = &[Role::Supervisor];
        const CHECKERS: &[Role] = &[Role::Supervisor, Role::Inspector];
        match self {
            Action::Reply | Action::MarkComplex | Action::SubmitPlan { .. } | Action::Resolve => CADRES,
            Action::HandOver { .. } => CADRES,
            Action::Confirm { .. } | Action::Reject | Action::Withdraw => FIRM,
            Action::Rule => OWNER,
            Action::CheckWithdrawal { .. } | Action::Escalate => CHECKERS,
        }
    }

    fn allowed_in(self, state: State) -> bool {
        match self {
            Action::Reply | Action::HandOver { .. } => matches!(state, State::Posted | State::Replied),
            Action::MarkComplex => state == State::Replied,
            Action::SubmitPlan { .. } => state == State::Planning,
            Action::Resolve => matches!(state, State::Replied | State::Solving),
            Action::Confirm { .. } | Action::Reject => state == State::Resolved,
            Action::Withdraw => !state.closed(),
            Action::Rule => state == State::Ruling,
            Action::CheckWithdrawal { .. } => state == State::Withdrawn,
            Action::Escalate => !state.closed() && state != State::Resolved,
        }
    }
}

/// What the machine decides on, read from the request and the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Where the request stands.
    pub state: State,
    /// Now, ms.
    pub now: i64,
    /// The request had its first reply.
    pub replied: bool,
    /// How many times it was handed over.
    pub handovers: u32,
    /// Until when it may be handed over, ms.
    pub handover_until: i64,
    /// The step being timed is past its clock.
    pub overdue: bool,
    /// The request became a supervision item already.
    pub escalated: bool,
    /// The withdrawal was checked already.
    pub withdrawal_checked: bool,
    /// The actor handled the request (replied, planned, resolved or handed it over), so may not
    /// be the one who checks its withdrawal.
    pub actor_handled: bool,
}

/// A step of a request timed by a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 回复: the first reply (natural minutes).
    Reply,
    /// 方案: the written solution plan of a complex request.
    Plan,
    /// 办理: the fix.
    Resolve,
    /// 重办: the fix again after the firm rejected it or its withdrawal turned out pressed.
    Rework,
}

impl Named for Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Reply => "reply",
            Step::Plan => "plan",
            Step::Resolve => "resolve",
            Step::Rework => "rework",
        }
    }
}

/// A numbered document of the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// 解决方案: the written solution plan of a complex request.
    Plan,
}

impl Named for Document {
    fn as_str(self) -> &'static str {
        "desk_plan"
    }
}

impl DocumentKind for Document {
    fn word(self) -> &'static str {
        "企服方案"
    }
}

/// One thing a request's transition does besides changing the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A shared effect (clocks, documents, closing, notices).
    Flow(Flow<Step, Document>),
    /// Record the first reply and whether it came within the reply clock.
    RecordReply,
    /// Record that the request is complex.
    MarkComplex,
    /// Record the plan and whether it came within the solution clock.
    RecordPlan,
    /// Record the fix.
    RecordResolved,
    /// Record the firm's confirmation and rating.
    RecordConfirmation(u8),
    /// Count a rejection.
    CountRejection,
    /// Flag the withdrawal for an independent check.
    FlagWithdrawal,
    /// Record the withdrawal check's answer.
    RecordWithdrawalCheck {
        /// The firm says it was pressed.
        pressed: bool,
    },
    /// Move the request to the unit named in the details (a hand-over or a ruling).
    ChangeUnit,
    /// Count a hand-over whose unit waits for the owner's ruling.
    AwaitRuling,
    /// Open a supervision item for the request and link it.
    OpenItem,
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
    #[error("your role may not do this to a desk request")]
    WrongRole,
    /// The action is not open in the request's state (409).
    #[error("a request in state {state} does not allow {action}")]
    WrongState {
        /// The state.
        state: &'static str,
        /// The action.
        action: &'static str,
    },
    /// A hand-over after its limit (409).
    #[error("the hand-over limit has passed; the unit that holds the request must solve it")]
    HandOverTooLate,
    /// A hand-over without its legal basis (422).
    #[error("state the legal basis (the regulation that makes the other unit competent)")]
    BasisRequired,
    /// A rating out of range (422).
    #[error("a rating from 1 to 5")]
    RatingOutOfRange,
    /// Plan days out of range (422).
    #[error("working days from 1 to 60")]
    DaysOutOfRange,
    /// The person who handled the request may not check its withdrawal (422).
    #[error("the withdrawal must be checked by someone who did not handle the request")]
    CheckerHandled,
    /// A withdrawal is checked once (409).
    #[error("this withdrawal was checked already")]
    AlreadyChecked,
    /// Only a request past its clock becomes a supervision item (409).
    #[error("only a request past its clock becomes a supervision item")]
    NotOverdue,
    /// A request becomes a supervision item once (409).
    #[error("this request is a supervision item already")]
    AlreadyEscalated,
}

/// Decides whether `role` may take `action` on a request in `facts`, and what it does.
pub fn transition(facts: &Facts, action: Action, role: Role) -> Result<Transition, Refusal> {
    use Effect as E;
    if !action.owners().contains(&role) {
        return Err(Refusal::WrongRole);
    }
    if !action.allowed_in(facts.state) {
        return Err(Refusal::WrongState { state: facts.state.as_str(), action: action.name() });
    }
    let flow = E::Flow;
    let start = |step| flow(Flow::StartStep { step, limit: Limit::Policy, from: Start::Now });
    let stop = flow(Flow::StopStepClock);
    let (to, mut effects) = match action {
        Action::Reply if facts.replied => (facts.state, vec![]),
        Action::Reply => (State::Replied, vec![stop, E::RecordReply, start(Step::Resolve)]),
        Action::MarkComplex => (State::Planning, vec![stop, E::MarkComplex, start(Step::Plan)]),
        Action::SubmitPlan { days } => {
            if !(1..=MAX_PLAN_DAYS).contains(&days) {
                return Err(Refusal::DaysOutOfRange);
            }
            let fix = Flow::StartStep { step: Step::Resolve, limit: Limit::WorkingDays(days), from: Start::Now };
            (State::Solving, vec![stop, E::RecordPlan, flow(fix), flow(Flow::Issue(Document::Plan))])
        }
        Action::Resolve => (State::Resolved, vec![stop, E::RecordResolved, flow(Flow::ClearStep)]),
        Action::Confirm { rating } => {
            if !(1..=5).contains(&rating) {
                return Err(Refusal::RatingOutOfRange);
            }
            (State::Confirmed, vec![E::RecordConfirmation(rating), flow(Flow::Close)])
        }
        Action::Reject => (State::Solving, vec![E::CountRejection, start(Step::Rework)]),
        Action::Withdraw => (State::Withdrawn, vec![E::FlagWithdrawal, flow(Flow::Close)]),
        Action::HandOver { basis } => {
            if !basis {
                return Err(Refusal::BasisRequired);
            }
            if facts.now > facts.handover_until {
                return Err(Refusal::HandOverTooLate);
            }
            // The clocks keep running: a bounce does not give the next unit a fresh start.
            if facts.handovers == 0 {
                (facts.state, vec![E::ChangeUnit])
            } else {
                (State::Ruling, vec![E::AwaitRuling])
            }
        }
        Action::Rule => {
            let back = if facts.replied { State::Replied } else { State::Posted };
            (back, vec![E::ChangeUnit])
        }
        Action::CheckWithdrawal { pressed } => {
            if facts.withdrawal_checked {
                return Err(Refusal::AlreadyChecked);
            }
            if facts.actor_handled {
                return Err(Refusal::CheckerHandled);
            }
            if pressed {
                let v = vec![E::RecordWithdrawalCheck { pressed }, flow(Flow::Reopen), start(Step::Rework)];
                (State::Solving, v)
            } else {
                (State::Withdrawn, vec![E::RecordWithdrawalCheck { pressed }])
            }
        }
        Action::Escalate => {
            if facts.escalated {
                return Err(Refusal::AlreadyEscalated);
            }
            if !facts.overdue {
                return Err(Refusal::NotOverdue);
            }
            (facts.state, vec![E::OpenItem])
        }
    };
    let tell = match action {
        Action::Reply | Action::MarkComplex | Action::SubmitPlan { .. } => Some(Role::Enterprise),
        Action::Withdraw => Some(Role::Supervisor),
        Action::Escalate => Some(Role::UnitHead),
        _ => to.awaits(),
    };
    effects.push(flow(Flow::Notify(tell)));
    Ok(Transition { from: facts.state, to, action, effects })
}

/// The effects of a new request: the reply clock starts (at `reply_from`: the posting, or the
/// desk's next opening) and the desk's cadres are told.
pub fn opening_effects(reply_from: i64) -> Vec<Effect> {
    vec![
        Effect::Flow(Flow::StartStep { step: Step::Reply, limit: Limit::Policy, from: Start::At(reply_from) }),
        Effect::Flow(Flow::Notify(State::Posted.awaits())),
    ]
}

#[cfg(test)]
mod tests;
