//! Roles (DESIGN.md §2) and what each may do. Scope (which org subtrees) is separate: every
//! user is bound to one or more subtrees, and every check below is combined with it.

use std::fmt;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: org tree, users, calendars, policies.
    Admin,
    /// 营商环境监督局: verifies, orders rectification, accepts, decides accountability.
    Supervisor,
    /// 作风巡查组 member: visits, findings, feedback sheets, supervision lists.
    Inspector,
    /// Head of a unit: signs for cases, submits reports, appeals ratings.
    UnitHead,
    /// Staff of a unit: answers rectification orders.
    Staff,
    /// Enterprise user: its own projects and requests.
    Enterprise,
}

impl Role {
    /// Every role, in the order they are listed to people.
    pub const ALL: [Role; 6] =
        [Role::Admin, Role::Supervisor, Role::Inspector, Role::UnitHead, Role::Staff, Role::Enterprise];

    /// The stable name stored in the database and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Inspector => "inspector",
            Role::UnitHead => "unit_head",
            Role::Staff => "staff",
            Role::Enterprise => "enterprise",
        }
    }

    /// Parses the stable name (also accepts `unit-head`).
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// May change the org tree (import, edit).
    pub fn can_manage_org(self) -> bool {
        self == Role::Admin
    }

    /// May create users and issue tokens for others.
    pub fn can_manage_users(self) -> bool {
        self == Role::Admin
    }

    /// May browse the audit trail.
    pub fn can_read_audit(self) -> bool {
        self == Role::Admin
    }

    /// May export the org tree and staff lists of its scope.
    pub fn can_export_org(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor | Role::Inspector)
    }

    /// Sees citizens' phone numbers in full: the supervisors, who make the return visits;
    /// everyone else sees them masked.
    pub fn sees_full_phone(self) -> bool {
        self == Role::Supervisor
    }

    /// May print the rating codes of its scope (QR posters) and issue staff members' personal
    /// codes.
    pub fn can_print_codes(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }

    /// May reissue and issue units' and windows' rating codes, rotate the signing key and set
    /// regions' rating settings.
    pub fn can_manage_codes(self) -> bool {
        self == Role::Admin
    }

    /// May see staff lists within its scope (citizens' and enterprises' views never show them).
    pub fn can_read_staff(self) -> bool {
        !matches!(self, Role::Enterprise)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Unit-Head"), Some(Role::UnitHead));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn only_admins_manage_the_tree_and_users() {
        for role in Role::ALL {
            assert_eq!(role.can_manage_org(), role == Role::Admin);
            assert_eq!(role.can_manage_users(), role == Role::Admin);
        }
    }
}
