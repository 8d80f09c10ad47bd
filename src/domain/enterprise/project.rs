//! Key projects (重点项目): their levels and stages, and the colour each is shown in, computed
//! from its dates and its monthly reports, never typed. A project is yellow or red for the
//! first of these that holds, worst first:
//!
//! - **start missed**: the planned start has passed and the project has not started (yellow;
//!   red once three months late), the commonest complaint about signed projects (签而不动);
//! - **behind plan**: the investment completed, as a share of the committed investment, trails
//!   the share of the planned period elapsed by 10 to 30 points (yellow) or more than 30 (red)
//!   (动而缓建);
//! - **funds below plan**: the funds arrived trail the elapsed share the same way.

use crate::domain::sla::Colour;

/// How many days late a start turns red (three months).
pub const START_RED_AFTER_DAYS: i64 = 91;

/// Points behind plan from which a project turns yellow.
pub const YELLOW_POINTS: f64 = 10.0;

/// Points behind plan beyond which it turns red.
pub const RED_POINTS: f64 = 30.0;

const DAY_MS: i64 = 86_400_000;

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident as $schema:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal / $zh:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[schema(as = $schema)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The Chinese name, as spreadsheets write it.
            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh,)+ }
            }

            /// The value of a stored or Chinese name.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|x| x.as_str() == s || x.zh() == s)
            }
        }
    };
}

vocabulary! {
    /// Who lists the project as key.
    ProjectLevel as ProjectLevel {
        /// 省级重点项目.
        Province = "province" / "省级",
        /// 市级重点项目.
        City = "city" / "市级",
        /// 县级重点项目.
        County = "county" / "县级",
    }
}

vocabulary! {
    /// Where a project stands.
    ProjectStage as ProjectStage {
        /// 已签约: signed, not started.
        Signed = "signed" / "已签约",
        /// 在建: under construction.
        Building = "building" / "在建",
        /// 已投产: in production.
        Producing = "producing" / "已投产",
        /// 已终止: the agreement ended unfulfilled.
        Terminated = "terminated" / "已终止",
    }
}

vocabulary! {
    /// Where the money comes from.
    FundingSource as FundingSource {
        /// 企业自筹.
        OwnFunds = "own_funds" / "企业自筹",
        /// 银行贷款.
        BankLoan = "bank_loan" / "银行贷款",
        /// 政府投资 (central, provincial, local budgets and special bonds).
        Government = "government" / "政府投资",
        /// 外资.
        Foreign = "foreign" / "外资",
        /// 其他.
        Other = "other" / "其他",
    }
}

/// Why a project shows its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Slip {
    /// The planned start passed without a start.
    StartMissed,
    /// The investment completed trails the plan.
    BehindPlan,
    /// The funds arrived trail the plan.
    FundsBehind,
}

impl Slip {
    /// The slip of a stored name.
    pub fn parse(s: &str) -> Option<Slip> {
        match s {
            "start_missed" => Some(Slip::StartMissed),
            "behind_plan" => Some(Slip::BehindPlan),
            "funds_behind" => Some(Slip::FundsBehind),
            _ => None,
        }
    }
}

/// What the colour is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Where it stands.
    pub stage: ProjectStage,
    /// Planned start and finish, ms.
    pub planned_start: i64,
    /// Planned finish, ms.
    pub planned_finish: i64,
    /// Committed investment, in ten-thousand yuan (万元).
    pub committed: f64,
    /// Investment completed so far, 万元.
    pub completed: f64,
    /// Funds arrived so far, 万元.
    pub arrived: f64,
}

impl Progress {
    /// The share of the planned period elapsed at `now`, in percent (0–100).
    pub fn planned_percent(&self, now: i64) -> f64 {
        let span = (self.planned_finish - self.planned_start).max(1) as f64;
        ((now - self.planned_start) as f64 / span * 100.0).clamp(0.0, 100.0)
    }

    /// The investment completed as a share of the committed, in percent.
    pub fn completed_percent(&self) -> f64 {
        share(self.completed, self.committed)
    }

    /// The funds arrived as a share of the committed, in percent.
    pub fn arrived_percent(&self) -> f64 {
        share(self.arrived, self.committed)
    }

    /// The colour at `now` and why (`None` when green). A project in production or terminated
    /// is no longer coloured: it has no plan left to trail.
    pub fn colour(&self, now: i64) -> (Colour, Option<Slip>) {
        match self.stage {
            ProjectStage::Producing | ProjectStage::Terminated => return (Colour::Green, None),
            ProjectStage::Signed if now > self.planned_start => {
                let late = (now - self.planned_start) / DAY_MS;
                let c = if late > START_RED_AFTER_DAYS { Colour::Red } else { Colour::Yellow };
                return (c, Some(Slip::StartMissed));
            }
            ProjectStage::Signed | ProjectStage::Building => {}
        }
        let planned = self.planned_percent(now);
        let behind = |actual: f64| planned - actual;
        let grade = |gap: f64| {
            if gap > RED_POINTS {
                Colour::Red
            } else if gap >= YELLOW_POINTS {
                Colour::Yellow
            } else {
                Colour::Green
            }
        };
        let work = grade(behind(self.completed_percent()));
        let funds = grade(behind(self.arrived_percent()));
        if work == Colour::Green && funds == Colour::Green {
            (Colour::Green, None)
        } else if work >= funds {
            (work, Some(Slip::BehindPlan))
        } else {
            (funds, Some(Slip::FundsBehind))
        }
    }
}

/// `part` as a percentage of `whole` (0 when there is no whole).
pub fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole * 100.0 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = DAY_MS;

    fn project(stage: ProjectStage) -> Progress {
        // A year's plan from day 0 to day 365, ¥1bn (100,000 万元) committed.
        Progress {
            stage,
            planned_start: 0,
            planned_finish: 365 * DAY,
            committed: 100_000.0,
            completed: 0.0,
            arrived: 0.0,
        }
    }

    #[test]
    fn a_missed_start_is_yellow_then_red_after_three_months() {
        let p = project(ProjectStage::Signed);
        assert_eq!(p.colour(-DAY), (Colour::Green, None));
        assert_eq!(p.colour(10 * DAY), (Colour::Yellow, Some(Slip::StartMissed)));
        assert_eq!(p.colour(91 * DAY), (Colour::Yellow, Some(Slip::StartMissed)));
        assert_eq!(p.colour(92 * DAY), (Colour::Red, Some(Slip::StartMissed)));
    }

    #[test]
    fn progress_behind_plan_is_yellow_from_10_points_and_red_beyond_30() {
        let half_year = 365 * DAY / 2; // 50% of the period elapsed
        let at = |completed: f64| {
            Progress { completed, arrived: 100_000.0, ..project(ProjectStage::Building) }.colour(half_year)
        };
        assert_eq!(at(45_000.0), (Colour::Green, None)); // 5 points behind
        assert_eq!(at(40_000.0), (Colour::Yellow, Some(Slip::BehindPlan))); // 10 points
        assert_eq!(at(20_000.0), (Colour::Yellow, Some(Slip::BehindPlan))); // 30 points
        assert_eq!(at(19_000.0), (Colour::Red, Some(Slip::BehindPlan))); // 31 points
        assert_eq!(at(90_000.0), (Colour::Green, None)); // ahead
    }

    #[test]
    fn funds_below_plan_colour_a_project_whose_work_is_on_time() {
        let half_year = 365 * DAY / 2;
        let p = Progress { completed: 50_000.0, arrived: 35_000.0, ..project(ProjectStage::Building) };
        assert_eq!(p.colour(half_year), (Colour::Yellow, Some(Slip::FundsBehind)));
        // The worse of the two shows: work 35 points behind beats funds 15 behind.
        let q = Progress { completed: 15_000.0, arrived: 35_000.0, ..project(ProjectStage::Building) };
        assert_eq!(q.colour(half_year), (Colour::Red, Some(Slip::BehindPlan)));
    }

    #[test]
    fn projects_in_production_or_terminated_carry_no_colour() {
        for stage in [ProjectStage::Producing, ProjectStage::Terminated] {
            assert_eq!(project(stage).colour(400 * DAY), (Colour::Green, None));
        }
    }

    #[test]
    fn names_parse_in_either_language() {
        assert_eq!(ProjectLevel::parse("市级"), Some(ProjectLevel::City));
        assert_eq!(ProjectStage::parse("building"), Some(ProjectStage::Building));
        assert_eq!(FundingSource::parse(" 银行贷款 "), Some(FundingSource::BankLoan));
        assert_eq!(FundingSource::parse("loan"), None);
    }
}
