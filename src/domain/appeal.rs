//! Appeals (申诉复核): a unit asks for a rating to be reviewed; a supervisor decides once. The
//! states and the rule of deciding; an upheld appeal takes the rating out of the statistics
//! (the store records an exclusion; the rating itself is never edited).

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealState {
    /// Filed, waiting for a supervisor.
    Pending,
    /// Upheld: the rating no longer counts.
    Upheld,
    /// Rejected: the rating counts as it did.
    Rejected,
}

impl AppealState {
    /// Every state.
    pub const ALL: [AppealState; 3] = [AppealState::Pending, AppealState::Upheld, AppealState::Rejected];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppealState::Pending => "pending",
            AppealState::Upheld => "upheld",
            AppealState::Rejected => "rejected",
        }
    }

    /// The state of a stored name.
    pub fn parse(s: &str) -> Option<AppealState> {
        AppealState::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The state a decision leaves a pending appeal in; `None` once decided (an appeal is
    /// decided once).
    pub fn decide(self, upheld: bool) -> Option<AppealState> {
        match self {
            AppealState::Pending if upheld => Some(AppealState::Upheld),
            AppealState::Pending => Some(AppealState::Rejected),
            AppealState::Upheld | AppealState::Rejected => None,
        }
    }

    /// Whether the appealed rating is out of the statistics.
    pub fn excludes(self) -> bool {
        self == AppealState::Upheld
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appeal_is_decided_once_and_only_an_upheld_one_excludes_the_rating() {
        for s in AppealState::ALL {
            assert_eq!(AppealState::parse(s.as_str()), Some(s));
        }
        assert_eq!(AppealState::Pending.decide(true), Some(AppealState::Upheld));
        assert_eq!(AppealState::Pending.decide(false), Some(AppealState::Rejected));
        assert_eq!(AppealState::Upheld.decide(false), None);
        assert_eq!(AppealState::Rejected.decide(true), None);
        assert!(
            AppealState::Upheld.excludes() && !AppealState::Rejected.excludes() && !AppealState::Pending.excludes()
        );
    }
}
