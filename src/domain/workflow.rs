//! The engine every workflow machine shares (cases 个案, supervision items 督办事项, …). A machine
//! is its states, its actions and a pure `transition` that answers, for an action a role takes
//! on a subject in some state, the next state and the list of its effects as plain values. The
//! effects every machine has are [`Flow`]s: the step clocks, numbered documents, closing and who
//! is told; a machine adds effects of its own beside them and says which of its effects are
//! flows ([`FlowEffect`]). The store's executor (`store::workflow`) runs the flows the same way
//! for every machine; [`Clocks`] states the invariants their order must keep, and each machine's
//! property test walks its transitions through it.

use crate::domain::role::Role;

/// A stable name: a step or a document kind as stored.
pub trait Named: Copy + std::fmt::Debug + Eq {
    /// The stored name.
    fn as_str(self) -> &'static str;
}

/// A kind of numbered document.
pub trait DocumentKind: Named {
    /// The word in its number after the issuing office's name (`督整` in `某局督整〔2026〕3号`).
    fn word(self) -> &'static str;
}

/// How long a step may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The SLA policy's limit for the step.
    Policy,
    /// This many working days.
    WorkingDays(u32),
    /// The working days the pending extension request asked for.
    RequestedExtension,
}

/// From when a step's clock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The moment of the transition.
    Now,
    /// The deadline in force (an extension counts from the deadline it extends).
    Deadline,
    /// A given moment, ms (a desk request's reply clock starts when the desk opens).
    At(i64),
}

/// An effect every machine has, run by the shared executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow<S, D> {
    /// Stop the clock of the step being timed, if any.
    StopStepClock,
    /// Time a new step: its clock starts and the subject waits on it.
    StartStep {
        /// The step.
        step: S,
        /// How long it may take.
        limit: Limit,
        /// From when.
        from: Start,
    },
    /// No step is timed any more.
    ClearStep,
    /// Issue a numbered document (after the timeline entry, which it refers to).
    Issue(D),
    /// The subject is closed: every clock stops, no step is timed.
    Close,
    /// A closed subject is open again (a failed re-check, a recurrence); the step that times
    /// its re-work follows.
    Reopen,
    /// Tell the users of this role in scope (and the webhooks, whoever is told).
    Notify(Option<Role>),
}

impl<S, D> Flow<S, D> {
    /// Whether the effect refers to the transition's timeline entry, so runs after it (a
    /// notice only names who is told; the notices are written last, whatever its place).
    pub fn after_event(&self) -> bool {
        matches!(self, Flow::Issue(_))
    }
}

/// A machine's effect type: which of its effects are the shared [`Flow`]s.
pub trait FlowEffect {
    /// The machine's timed steps.
    type Step: Named;
    /// The machine's numbered documents.
    type Document: DocumentKind;
    /// The flow this effect is, if it is one (else it is the machine's own).
    fn flow(&self) -> Option<Flow<Self::Step, Self::Document>>;
}

/// Which clocks of a subject run, followed through its effects: the invariants that hold for
/// every machine. A step's clock is stopped before another starts or the step is cleared, a
/// closed subject has no clock running and starts none, and every change is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clocks {
    /// The subject's overall clock runs.
    pub subject: bool,
    /// A step's clock runs.
    pub step: bool,
}

impl Clocks {
    /// A subject just opened: its overall clock and its first step's run.
    pub fn opened() -> Clocks {
        Clocks { subject: true, step: true }
    }

    /// Follows one transition's effects; says which invariant they break, if any.
    pub fn follow<E: FlowEffect>(&mut self, effects: &[E]) -> Result<(), &'static str> {
        let flows: Vec<_> = effects.iter().filter_map(FlowEffect::flow).collect();
        for flow in &flows {
            match flow {
                Flow::StopStepClock => self.step = false,
                Flow::StartStep { .. } if self.step => return Err("a step starts while another is timed"),
                Flow::StartStep { .. } if !self.subject => return Err("a closed subject starts a step"),
                Flow::StartStep { .. } => self.step = true,
                Flow::ClearStep if self.step => return Err("a step is cleared with its clock running"),
                Flow::Close => *self = Clocks { subject: false, step: false },
                Flow::Reopen if self.subject => return Err("an open subject is reopened"),
                Flow::Reopen => self.subject = true,
                Flow::ClearStep | Flow::Issue(_) | Flow::Notify(_) => {}
            }
        }
        if !matches!(flows.last(), Some(Flow::Notify(_))) {
            return Err("a change is not told");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct S;
    impl Named for S {
        fn as_str(self) -> &'static str {
            "s"
        }
    }
    impl DocumentKind for S {
        fn word(self) -> &'static str {
            "督"
        }
    }
    impl FlowEffect for Flow<S, S> {
        type Step = S;
        type Document = S;
        fn flow(&self) -> Option<Flow<S, S>> {
            Some(*self)
        }
    }
    const START: Flow<S, S> = Flow::StartStep { step: S, limit: Limit::Policy, from: Start::Now };

    #[test]
    fn the_clock_invariants_catch_what_they_forbid() {
        let told = Flow::Notify(None);
        assert_eq!(Clocks::opened().follow(&[Flow::StopStepClock, START, told]), Ok(()));
        assert!(Clocks::opened().follow(&[START, told]).is_err(), "a second step over a running one");
        assert!(Clocks::opened().follow(&[Flow::ClearStep, told]).is_err(), "cleared while running");
        assert!(Clocks::opened().follow(&[Flow::Close, Flow::StopStepClock, START, told]).is_err(), "closed");
        assert!(Clocks::opened().follow(&[Flow::StopStepClock, START]).is_err(), "untold");
        let mut closed = Clocks { subject: false, step: false };
        assert_eq!(closed.follow(&[Flow::Reopen, START, told]), Ok(()), "reopened, then timed");
        assert!(Clocks::opened().follow(&[Flow::Reopen, told]).is_err(), "reopening an open subject");
        assert!(!START.after_event() && !told.after_event() && Flow::<S, S>::Issue(S).after_event());
    }
}
