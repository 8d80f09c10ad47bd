//! Who may do what: one table of permissions by role ([`PERMISSIONS`]), asked through
//! [`Role::may`]. Handlers ask it instead of comparing roles; scope (which rows) is separate
//! and always combined with it. The case loop's own steps belong to the roles its machine
//! names (`domain::case::ActionName::owners`).

use super::role::Role;

/// Something a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Import and edit the org tree.
    ManageOrg,
    /// Create users, and list and revoke anyone's tokens.
    ManageUsers,
    /// Browse the audit trail.
    ReadAudit,
    /// Export the org tree and staff lists of one's scope.
    ExportOrg,
    /// See staff lists.
    ReadStaff,
    /// See citizens' phone numbers in full (for return visits).
    SeeFullPhone,
    /// Print rating codes (QR posters) and issue staff members' personal codes.
    PrintCodes,
    /// Issue and reissue units' and windows' codes, rotate the signing key, set rating settings.
    ManageCodes,
    /// Read ratings, alerts, rankings and rating codes.
    ReadRatings,
    /// Make single-use rating invitations (一事一评) at a window.
    InviteRatings,
    /// Appeal a rating of one's unit (申诉).
    FileAppeal,
    /// List appeals.
    ReadAppeals,
    /// Decide an appeal (复核).
    DecideAppeal,
    /// See dashboards.
    ViewDashboards,
    /// Read the accountability register.
    ReadAccountability,
    /// Send and read the monthly report.
    SendReports,
    /// Read SLA policies.
    ReadSlaPolicies,
    /// Set SLA policies.
    ManageSlaPolicies,
    /// Set the working-day calendar and business hours.
    ManageCalendar,
    /// Route a subtree's cases to a supervising office.
    RouteCases,
    /// Manage webhooks and the job queue.
    ManageJobs,
    /// Station and rotate inspection teams.
    ManageTeams,
    /// Record inspection visits and issue their findings (a team's members).
    Inspect,
    /// Read the supervision ledger, visits and sheets of one's scope.
    ReadLedger,
    /// Assign items to the ledger (督办).
    AssignItems,
    /// See key projects, their channels and desk requests of one's scope (firms see their own
    /// through the desk's scope rule, not this).
    ReadProjects,
    /// Register parks, chains, firms and key projects, and set a park's desk promises.
    ManageProjects,
    /// Report a project's monthly figures and its stage nodes (park cadres, 项目管家).
    ReportProjects,
}

use Permission as P;
use Role::{Admin as A, Inspector as I, Staff as St, Supervisor as Su, UnitHead as U};

/// The table: each permission and the roles that hold it. Read top to bottom; the grid in
/// `docs/architecture.md` is this table (a test keeps them equal).
pub const PERMISSIONS: &[(Permission, &[Role])] = &[
    (P::ManageOrg, &[A]),
    (P::ManageUsers, &[A]),
    (P::ReadAudit, &[A]),
    (P::ExportOrg, &[A, Su, I]),
    (P::ReadStaff, &[A, Su, I, U, St]),
    (P::SeeFullPhone, &[Su]),
    (P::PrintCodes, &[A, Su]),
    (P::ManageCodes, &[A]),
    (P::ReadRatings, &[A, Su, I, U, St]),
    (P::InviteRatings, &[A, Su, U, St]),
    (P::FileAppeal, &[U]),
    (P::ReadAppeals, &[A, Su, U]),
    (P::DecideAppeal, &[Su]),
    (P::ViewDashboards, &[A, Su, I, U, St]),
    (P::ReadAccountability, &[A, Su, I, U]),
    (P::SendReports, &[A, Su, I]),
    (P::ReadSlaPolicies, &[A, Su]),
    (P::ManageSlaPolicies, &[A]),
    (P::ManageCalendar, &[A]),
    (P::RouteCases, &[A]),
    (P::ManageJobs, &[A]),
    (P::ManageTeams, &[A, Su]),
    (P::Inspect, &[I]),
    (P::ReadLedger, &[A, Su, I, U, St]),
    (P::AssignItems, &[Su, I]),
    (P::ReadProjects, &[A, Su, I, U, St]),
    (P::ManageProjects, &[A, Su]),
    (P::ReportProjects, &[A, Su, U, St]),
];

impl Role {
    /// Whether this role holds `permission` (see [`PERMISSIONS`]).
    pub fn may(self, permission: Permission) -> bool {
        PERMISSIONS.iter().any(|(p, roles)| *p == permission && roles.contains(&self))
    }
}

/// [`PERMISSIONS`] as a Markdown grid: a row per permission, a column per role.
pub fn grid() -> String {
    let mut out = String::from("| permission |");
    for r in Role::ALL {
        out.push_str(&format!(" {} |", r.as_str()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    for (p, _) in PERMISSIONS {
        out.push_str(&format!("\n| {p:?} |"));
        for r in Role::ALL {
            out.push_str(if r.may(*p) { " ✓ |" } else { "   |" });
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_is_in_the_table_once() {
        let mut seen = std::collections::HashSet::new();
        for (p, _) in PERMISSIONS {
            assert!(seen.insert(*p), "{p:?} twice");
        }
        assert_eq!(seen.len(), 28, "a permission was added: give it a row");
    }

    #[test]
    fn enterprise_users_hold_no_staff_permission_and_only_admins_administer() {
        for (p, _) in PERMISSIONS {
            assert!(!Role::Enterprise.may(*p), "{p:?}");
        }
        for p in [P::ManageOrg, P::ManageUsers, P::ReadAudit, P::ManageCodes, P::ManageCalendar, P::ManageJobs] {
            for r in Role::ALL {
                assert_eq!(r.may(p), r == Role::Admin, "{r} {p:?}");
            }
        }
        assert!(Role::Supervisor.may(P::SeeFullPhone) && !Role::Admin.may(P::SeeFullPhone));
    }

    #[test]
    fn the_grid_in_the_architecture_document_is_the_table() {
        let doc = include_str!("../../docs/architecture.md");
        assert!(
            doc.contains(&grid()),
            "docs/architecture.md's permission grid is out of date; it should read:\n{}",
            grid()
        );
    }
}
