//! Roles (docs/product.md, "Who uses it"). What each may do is one table,
//! `domain::permission` (`Role::may`); scope (which org subtrees) is separate: every user is
//! bound to one or more subtrees, and every permission is combined with it.

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
        use crate::domain::permission::Permission;
        for role in Role::ALL {
            assert_eq!(role.may(Permission::ManageOrg), role == Role::Admin);
            assert_eq!(role.may(Permission::ManageUsers), role == Role::Admin);
        }
    }
}
