//! The vocabulary of cases: where they come from (Source), the states they pass through
//! (State), the verdict of verification (Verdict) and the accountability decision (Accountability).

use std::fmt;

use crate::domain::role::Role;

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
