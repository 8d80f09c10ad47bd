//! Inspection visits (作风巡查): how a visit is made, what it checks, and who may see a secret
//! one. A secret visit (暗访) is sealed until its findings are issued: nobody outside the team
//! sees it, not the unit, not the unit's supervisors below the city.

/// How a visit is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VisitMode)]
pub enum Mode {
    /// 明察: announced.
    Open,
    /// 暗访: unannounced, sealed until its findings are issued.
    Secret,
}

impl Mode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Open => "open",
            Mode::Secret => "secret",
        }
    }

    /// The mode of a stored name.
    pub fn parse(s: &str) -> Option<Mode> {
        [Mode::Open, Mode::Secret].into_iter().find(|m| m.as_str() == s)
    }

    /// The ledger source of the items its findings become.
    pub fn source(self) -> crate::domain::item::Source {
        match self {
            Mode::Open => crate::domain::item::Source::InspectionFinding,
            Mode::Secret => crate::domain::item::Source::SecretVisit,
        }
    }
}

/// The checklist a visit goes through unless its plan names its own: what the source's teams
/// check at a service window (staff at their post, the one-time notice of what to bring,
/// hours kept, attitude, the rules on display, no one turned away without a reason).
pub const DEFAULT_CHECKLIST: &[(&str, &str)] = &[
    ("staff_at_post", "人员在岗在位"),
    ("one_time_notice", "一次性告知到位"),
    ("hours_kept", "按时上下班、不空岗"),
    ("attitude", "服务态度热情规范"),
    ("rules_displayed", "办事指南、收费标准公示"),
    ("no_refusal", "无推诿、拒办、吃拿卡要"),
];

/// The Chinese label of a checklist key (the key itself for one a plan named).
pub fn check_label(key: &str) -> &str {
    DEFAULT_CHECKLIST.iter().find(|(k, _)| *k == key).map_or(key, |(_, zh)| zh)
}

/// Who is asking to see a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Onlooker {
    /// A member of the visiting team.
    pub in_team: bool,
    /// Their scope covers the visited unit.
    pub in_scope: bool,
    /// Their scope is the whole city (an admin or a city-level supervisor).
    pub city_wide: bool,
}

/// Whether an onlooker sees a visit: a sealed one only its team and the city; an issued one
/// anyone whose scope covers the unit, and the team.
pub fn visible(sealed: bool, who: Onlooker) -> bool {
    if sealed { who.in_team || who.city_wide } else { who.in_team || who.in_scope || who.city_wide }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_visit_is_seen_by_its_team_and_the_city_only() {
        let unit = Onlooker { in_team: false, in_scope: true, city_wide: false };
        let team = Onlooker { in_team: true, in_scope: false, city_wide: false };
        let city = Onlooker { in_team: false, in_scope: true, city_wide: true };
        assert!(!visible(true, unit), "the unit and its supervisors below the city do not");
        assert!(visible(true, team) && visible(true, city));
        assert!(visible(false, unit), "issued findings are the unit's to see");
        assert!(!visible(false, Onlooker { in_team: false, in_scope: false, city_wide: false }));
        for (key, zh) in DEFAULT_CHECKLIST {
            assert_eq!(check_label(key), *zh);
        }
        assert_eq!(Mode::parse("secret"), Some(Mode::Secret));
        assert_eq!(Mode::Secret.source(), crate::domain::item::Source::SecretVisit);
    }
}
