//! The four rates of a chain (or a park, or the city) of key projects, computed from the
//! projects themselves, never typed: 履约率 (agreements kept: neither terminated nor late to
//! start), 开工率 (started: building or in production), 投产率 (in production) and 资金到位率 (funds
//! arrived against investment committed).

use super::project::{ProjectStage, Slip};

/// One project as the rates see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// Where it stands.
    pub stage: ProjectStage,
    /// Why it is coloured, if it is.
    pub slip: Option<Slip>,
    /// Committed, 万元.
    pub committed: f64,
    /// Arrived, 万元.
    pub arrived: f64,
    /// Completed, 万元.
    pub completed: f64,
}

/// The four rates and the sums behind them.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Rates {
    /// Projects counted.
    pub projects: u32,
    /// Signed, not started.
    pub signed: u32,
    /// Building.
    pub building: u32,
    /// In production.
    pub producing: u32,
    /// Terminated.
    pub terminated: u32,
    /// Late to start (signed, past the planned start).
    pub late_to_start: u32,
    /// Committed, 万元.
    pub committed_wan: f64,
    /// Completed, 万元.
    pub completed_wan: f64,
    /// Arrived, 万元.
    pub arrived_wan: f64,
    /// 履约率: projects neither terminated nor late to start, percent of all.
    pub kept_percent: f64,
    /// 开工率: projects started (building or in production), percent of all.
    pub started_percent: f64,
    /// 投产率: projects in production, percent of all.
    pub producing_percent: f64,
    /// 资金到位率: funds arrived, percent of the investment committed.
    pub funds_percent: f64,
}

/// The rates of `entries`.
pub fn rates(entries: impl IntoIterator<Item = Entry>) -> Rates {
    let mut r = Rates::default();
    for e in entries {
        r.projects += 1;
        match e.stage {
            ProjectStage::Signed => r.signed += 1,
            ProjectStage::Building => r.building += 1,
            ProjectStage::Producing => r.producing += 1,
            ProjectStage::Terminated => r.terminated += 1,
        }
        if e.slip == Some(Slip::StartMissed) {
            r.late_to_start += 1;
        }
        r.committed_wan += e.committed;
        r.completed_wan += e.completed;
        r.arrived_wan += e.arrived;
    }
    let of_all = |n: u32| super::project::share(f64::from(n), f64::from(r.projects));
    r.kept_percent = of_all(r.projects - r.terminated - r.late_to_start);
    r.started_percent = of_all(r.building + r.producing);
    r.producing_percent = of_all(r.producing);
    r.funds_percent = super::project::share(r.arrived_wan, r.committed_wan);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(stage: ProjectStage, slip: Option<Slip>, committed: f64, arrived: f64) -> Entry {
        Entry { stage, slip, committed, arrived, completed: arrived }
    }

    #[test]
    fn the_four_rates_follow_from_the_projects() {
        let r = rates([
            e(ProjectStage::Signed, None, 100.0, 0.0),
            e(ProjectStage::Signed, Some(Slip::StartMissed), 100.0, 0.0),
            e(ProjectStage::Building, Some(Slip::BehindPlan), 200.0, 50.0),
            e(ProjectStage::Producing, None, 400.0, 350.0),
            e(ProjectStage::Terminated, None, 200.0, 0.0),
        ]);
        assert_eq!((r.projects, r.signed, r.building, r.producing, r.terminated, r.late_to_start), (5, 2, 1, 1, 1, 1));
        assert_eq!(r.kept_percent, 60.0, "three of five: not terminated, not late to start");
        assert_eq!(r.started_percent, 40.0);
        assert_eq!(r.producing_percent, 20.0);
        assert_eq!(r.funds_percent, 40.0, "400 of 1000 committed");
    }

    #[test]
    fn no_projects_give_zero_rates_not_a_division_by_zero() {
        let r = rates([]);
        assert_eq!((r.kept_percent, r.funds_percent), (0.0, 0.0));
    }
}
