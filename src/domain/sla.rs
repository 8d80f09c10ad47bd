//! SLA clocks: the three kinds of clock, their deadlines on the working-day calendar, pausing
//! (time waiting on the citizen or a third party does not count), the colour warnings by the
//! share of time used, and the escalation each colour triggers. Pure; the store keeps clocks
//! and the sweep finds those whose colour is about to change.

use chrono::{DateTime, FixedOffset, TimeZone};

use super::calendar::{BusinessHours, Calendar, CalendarError, cst};

/// A clock: how long something may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "amount", rename_all = "snake_case")]
pub enum Clock {
    /// Plain minutes ("reply within 10 minutes").
    NaturalMinutes(u32),
    /// Minutes of business hours (working days, 9:00–17:00).
    BusinessMinutes(u32),
    /// Working days: the day of receipt does not count; due at the end of the Nth working day.
    WorkingDays(u32),
}

fn at(ms: i64) -> DateTime<FixedOffset> {
    cst()
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(|| cst().timestamp_millis_opt(0).single().unwrap_or_default())
}

impl Clock {
    /// Stored form, e.g. `working_days:15`.
    pub fn encode(self) -> String {
        match self {
            Clock::NaturalMinutes(n) => format!("natural_minutes:{n}"),
            Clock::BusinessMinutes(n) => format!("business_minutes:{n}"),
            Clock::WorkingDays(n) => format!("working_days:{n}"),
        }
    }

    /// Parses the stored form.
    pub fn decode(s: &str) -> Option<Clock> {
        let (kind, n) = s.split_once(':')?;
        let n: u32 = n.parse().ok()?;
        match kind {
            "natural_minutes" => Some(Clock::NaturalMinutes(n)),
            "business_minutes" => Some(Clock::BusinessMinutes(n)),
            "working_days" => Some(Clock::WorkingDays(n)),
            _ => None,
        }
    }

    /// When a clock started at `start_ms` falls due (ms) for a unit working `hours` (business
    /// minutes count its hours; its cut-off applies to working days).
    pub fn due(self, cal: &Calendar, start_ms: i64, hours: &BusinessHours) -> Result<i64, CalendarError> {
        let start = at(start_ms);
        Ok(match self {
            Clock::NaturalMinutes(n) => start_ms + i64::from(n) * 60_000,
            Clock::BusinessMinutes(n) => cal.business_minutes_deadline(start, n, hours)?.timestamp_millis(),
            Clock::WorkingDays(n) => cal.working_days_deadline_with_cutoff(start, n, hours.cutoff)?.timestamp_millis(),
        })
    }

    /// The new due time of a clock paused at `paused_ms` and resumed at `resumed_ms`: what was
    /// left when it paused is counted again from the resumption.
    pub fn resume(
        self,
        cal: &Calendar,
        due_ms: i64,
        paused_ms: i64,
        resumed_ms: i64,
        hours: &BusinessHours,
    ) -> Result<i64, CalendarError> {
        Ok(match self {
            Clock::NaturalMinutes(_) => due_ms + (resumed_ms - paused_ms).max(0),
            Clock::BusinessMinutes(_) => {
                let left = cal.business_minutes_between(at(paused_ms), at(due_ms), hours)?;
                cal.business_minutes_deadline(at(resumed_ms), left, hours)?.timestamp_millis()
            }
            Clock::WorkingDays(_) => {
                let (p, d) = (at(paused_ms).date_naive(), at(due_ms).date_naive());
                let left = cal.working_days_between(p, d)?;
                cal.working_days_deadline(at(resumed_ms), left)?.timestamp_millis()
            }
        })
    }
}

/// Warning colours by the share of the time used.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// Less than the blue threshold used.
    Green,
    /// ≥ blue (default 50%).
    Blue,
    /// ≥ yellow (default 75%).
    Yellow,
    /// ≥ orange (default 90%).
    Orange,
    /// Overdue.
    Red,
}

impl Colour {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Yellow => "yellow",
            Colour::Orange => "orange",
            Colour::Red => "red",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Colour> {
        [Colour::Green, Colour::Blue, Colour::Yellow, Colour::Orange, Colour::Red].into_iter().find(|c| c.as_str() == s)
    }
}

/// How far along a clock is: its colour, and beyond red, whether it has been overdue for as
/// long again as it was allowed (then the bureau head is told).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Green.
    Green,
    /// Blue.
    Blue,
    /// Yellow.
    Yellow,
    /// Orange.
    Orange,
    /// Red: overdue.
    Red,
    /// Still red, and overdue by as long again as the time allowed.
    LongOverdue,
}

impl Stage {
    /// The colour shown.
    pub fn colour(self) -> Colour {
        match self {
            Stage::Green => Colour::Green,
            Stage::Blue => Colour::Blue,
            Stage::Yellow => Colour::Yellow,
            Stage::Orange => Colour::Orange,
            Stage::Red | Stage::LongOverdue => Colour::Red,
        }
    }

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::LongOverdue => "long_overdue",
            other => other.colour().as_str(),
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Stage> {
        [Stage::Green, Stage::Blue, Stage::Yellow, Stage::Orange, Stage::Red, Stage::LongOverdue]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Thresholds as shares of the time allowed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Thresholds {
    /// Default 0.5.
    pub blue: f64,
    /// Default 0.75.
    pub yellow: f64,
    /// Default 0.9.
    pub orange: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { blue: 0.5, yellow: 0.75, orange: 0.9 }
    }
}

impl Thresholds {
    /// The stage at `now` of a clock that started at `start` and falls due at `due` (ms).
    pub fn stage(&self, start: i64, due: i64, now: i64) -> Stage {
        let span = (due - start).max(1);
        if now > due + span {
            return Stage::LongOverdue;
        }
        if now > due {
            return Stage::Red;
        }
        let used = (now - start) as f64 / span as f64;
        if used >= self.orange {
            Stage::Orange
        } else if used >= self.yellow {
            Stage::Yellow
        } else if used >= self.blue {
            Stage::Blue
        } else {
            Stage::Green
        }
    }

    /// The colour at `now`.
    pub fn colour(&self, start: i64, due: i64, now: i64) -> Colour {
        self.stage(start, due, now).colour()
    }

    /// When the stage next changes after `now` (ms), or `None` once long overdue.
    pub fn next_change(&self, start: i64, due: i64, now: i64) -> Option<i64> {
        let span = (due - start).max(1);
        let point = |share: f64| start + (span as f64 * share).ceil() as i64;
        [point(self.blue), point(self.yellow), point(self.orange), due + 1, due + span + 1]
            .into_iter()
            .find(|t| *t > now)
    }
}

/// 提醒, 催办, 督办: the escalation notices, each to the next level up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// 提醒 to the handler (yellow).
    Reminder,
    /// 催办 to the unit head (orange).
    Urge,
    /// 督办 to the supervising office (red: overdue), and to the bureau head when long overdue.
    Supervise,
}

/// Who receives a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Whoever handles the item.
    Handler,
    /// The unit head.
    UnitHead,
    /// The supervising office (supervisors over the unit).
    SupervisingOffice,
    /// The bureau head (supervisors over the whole city).
    BureauHead,
}

/// The notice a stage triggers when it is reached: handler → unit head → supervising office →
/// bureau head.
pub fn escalation(stage: Stage) -> Option<(Notice, Tier)> {
    match stage {
        Stage::Yellow => Some((Notice::Reminder, Tier::Handler)),
        Stage::Orange => Some((Notice::Urge, Tier::UnitHead)),
        Stage::Red => Some((Notice::Supervise, Tier::SupervisingOffice)),
        Stage::LongOverdue => Some((Notice::Supervise, Tier::BureauHead)),
        Stage::Green | Stage::Blue => None,
    }
}

/// Which stored SLA policy applies to a case: each policy names a source, a category and a
/// priority, or `*` for any. The most specific wins: fewer `*` first; among as many, a named
/// source beats a named category, which beats a named priority. A total order, so that every
/// engine picks the same policy whatever order it reads the candidates in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    wildcards: u8,
    source_any: bool,
    category_any: bool,
    priority_any: bool,
}

impl Specificity {
    /// The specificity of a policy keyed `source`, `category`, `priority` (`*` for any).
    pub fn of(source: &str, category: &str, priority: &str) -> Specificity {
        let (s, c, p) = (source == "*", category == "*", priority == "*");
        Specificity {
            wildcards: u8::from(s) + u8::from(c) + u8::from(p),
            source_any: s,
            category_any: c,
            priority_any: p,
        }
    }
}

/// The most specific of `candidates` (each with its key), if any.
pub fn most_specific<T>(candidates: impl IntoIterator<Item = ((String, String, String), T)>) -> Option<T> {
    candidates.into_iter().min_by_key(|((s, c, p), _)| Specificity::of(s, c, p)).map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The policy picked does not depend on the order the candidates come in, and no
        /// candidate with fewer wildcards is passed over.
        #[test]
        fn the_most_specific_policy_is_picked_in_any_order(
            keys in proptest::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 1..8),
            rotation in 0usize..8,
        ) {
            let mut keys: Vec<(String, String, String)> = keys
                .into_iter()
                .map(|(s, c, p)| {
                    let k = |any: bool, v: &str| if any { "*".to_owned() } else { v.to_owned() };
                    (k(s, "rating"), k(c, "general"), k(p, "normal"))
                })
                .collect();
            keys.sort();
            keys.dedup();
            let pick = |ks: &[(String, String, String)]| most_specific(ks.iter().map(|k| (k.clone(), k.clone())));
            let first = pick(&keys);
            let mut rotated = keys.clone();
            let n = rotated.len();
            rotated.rotate_left(rotation % n);
            rotated.reverse();
            prop_assert_eq!(pick(&rotated), first.clone());
            let stars = |k: &(String, String, String)| [&k.0, &k.1, &k.2].iter().filter(|v| v.as_str() == "*").count();
            let chosen = first.unwrap_or_default();
            prop_assert!(keys.iter().all(|k| stars(k) >= stars(&chosen)));
        }
    }

    #[test]
    fn among_as_many_wildcards_a_named_source_wins() {
        let keys = [("*", "general", "*"), ("rating", "*", "*"), ("*", "*", "urgent")];
        let pick = most_specific(keys.iter().map(|(s, c, p)| (((*s).into(), (*c).into(), (*p).into()), *s)));
        assert_eq!(pick, Some("rating"));
    }

    use super::*;

    fn cal() -> Calendar {
        crate::calendar_data::load()
    }

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).timestamp_millis()
    }

    #[test]
    fn colours_change_at_each_threshold() {
        let t = Thresholds::default();
        let (start, due) = (0, 1000);
        assert_eq!(t.colour(start, due, 499), Colour::Green);
        assert_eq!(t.colour(start, due, 500), Colour::Blue);
        assert_eq!(t.colour(start, due, 750), Colour::Yellow);
        assert_eq!(t.colour(start, due, 900), Colour::Orange);
        assert_eq!(t.colour(start, due, 1000), Colour::Orange);
        assert_eq!(t.colour(start, due, 1001), Colour::Red);
        assert_eq!(t.next_change(start, due, 0), Some(500));
        assert_eq!(t.next_change(start, due, 500), Some(750));
        assert_eq!(t.next_change(start, due, 950), Some(1001));
        assert_eq!(t.next_change(start, due, 1001), Some(2001));
        assert_eq!(t.stage(start, due, 2001), Stage::LongOverdue);
        assert_eq!(t.colour(start, due, 2001), Colour::Red);
        assert_eq!(t.next_change(start, due, 2001), None);
    }

    #[test]
    fn each_colour_escalates_one_level_further() {
        assert_eq!(escalation(Stage::Blue), None);
        assert_eq!(escalation(Stage::Yellow), Some((Notice::Reminder, Tier::Handler)));
        assert_eq!(escalation(Stage::Orange), Some((Notice::Urge, Tier::UnitHead)));
        assert_eq!(escalation(Stage::Red), Some((Notice::Supervise, Tier::SupervisingOffice)));
        assert_eq!(escalation(Stage::LongOverdue), Some((Notice::Supervise, Tier::BureauHead)));
    }

    #[test]
    fn a_cut_off_moves_late_work_to_the_next_day() {
        let c = cal();
        let h = BusinessHours { cutoff: chrono::NaiveTime::from_hms_opt(17, 0, 0), ..BusinessHours::default() };
        let early = Clock::WorkingDays(1).due(&c, ms("2026-03-02T16:00:00+08:00"), &h).unwrap_or_default();
        let late = Clock::WorkingDays(1).due(&c, ms("2026-03-02T17:30:00+08:00"), &h).unwrap_or_default();
        assert_eq!(early, ms("2026-03-03T23:59:59+08:00"));
        assert_eq!(late, ms("2026-03-04T23:59:59+08:00"));
    }

    #[test]
    fn a_paused_clock_gets_its_remaining_time_back() {
        let c = cal();
        // Received Monday 2 March 2026, 15 working days: due Monday 23 March.
        let start = ms("2026-03-02T10:00:00+08:00");
        let h = BusinessHours::default();
        let due = Clock::WorkingDays(15).due(&c, start, &h).unwrap_or_default();
        assert_eq!(due, ms("2026-03-23T23:59:59+08:00"));
        // Paused on Wednesday 4 March (2 working days used, 13 left), resumed Monday 9 March.
        let resumed = Clock::WorkingDays(15)
            .resume(&c, due, ms("2026-03-04T12:00:00+08:00"), ms("2026-03-09T09:00:00+08:00"), &h)
            .unwrap_or_default();
        assert_eq!(resumed, ms("2026-03-26T23:59:59+08:00"));
        let natural = Clock::NaturalMinutes(10).resume(&c, 600_000, 120_000, 420_000, &h).unwrap_or_default();
        assert_eq!(natural, 900_000);
        let bm_start = ms("2026-03-02T16:00:00+08:00");
        let bm_due = Clock::BusinessMinutes(120).due(&c, bm_start, &h).unwrap_or_default();
        assert_eq!(bm_due, ms("2026-03-03T10:00:00+08:00"));
        let bm = Clock::BusinessMinutes(120)
            .resume(&c, bm_due, ms("2026-03-02T16:30:00+08:00"), ms("2026-03-04T09:00:00+08:00"), &h)
            .unwrap_or_default();
        assert_eq!(bm, ms("2026-03-04T10:30:00+08:00"), "90 minutes were left");
    }

    #[test]
    fn clocks_round_trip_through_their_stored_form() {
        for c in [Clock::NaturalMinutes(10), Clock::BusinessMinutes(90), Clock::WorkingDays(3)] {
            assert_eq!(Clock::decode(&c.encode()), Some(c));
        }
        assert_eq!(Clock::decode("weeks:2"), None);
    }

    proptest! {
        #[test]
        fn colours_never_go_back_as_time_passes(span in 1i64..10_000_000, a in 0i64..20_000_000, b in 0i64..20_000_000) {
            let t = Thresholds::default();
            let (early, late) = (a.min(b), a.max(b));
            prop_assert!(t.stage(0, span, early) <= t.stage(0, span, late));
        }
    }
}
