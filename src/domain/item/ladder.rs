//! Colours and the escalation ladder of supervision items. No one sets a colour by hand: it
//! follows from the deadline and the progress against plan (Sanming and Suqian's slips), and
//! each colour an item enters may climb a rung of consequences (Guangyuan: two yellows bring a
//! supervision letter 督办函, a red a talk 约谈 with the unit head; Longchang: three reds in a
//! row a referral to discipline and personnel officials). The rule is per city ([`Rule`]).
//! The colours are the SLA engine's ([`Colour`]), so items and cases share one vocabulary of
//! warning colours.

/// An item's colour: the SLA engine's colours (an item is never orange by itself; an orange
/// entered from elsewhere counts as the yellow it stands for in the source's "yellow/orange").
pub use crate::domain::sla::Colour;

/// A consequence an item's colours bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rung {
    /// 督办函: a formal supervision letter to the unit.
    SupervisionLetter,
    /// 约谈: a talk with the unit head, recorded.
    Talk,
    /// 移交: referral to discipline inspection and personnel officials.
    Referral,
}

impl Rung {
    /// The stored name (also the kind of the numbered document it issues).
    pub fn as_str(self) -> &'static str {
        match self {
            Rung::SupervisionLetter => "supervision_letter",
            Rung::Talk => "talk",
            Rung::Referral => "referral",
        }
    }
}

/// One day, ms.
impl crate::domain::workflow::Named for Rung {
    fn as_str(self) -> &'static str {
        Rung::as_str(self)
    }
}

impl crate::domain::workflow::DocumentKind for Rung {
    fn word(self) -> &'static str {
        match self {
            Rung::SupervisionLetter => "督办函",
            Rung::Talk => "约谈",
            Rung::Referral => "移送",
        }
    }
}

impl Rung {
    /// Who is told when the rung is climbed: the unit for a letter, the unit and the city's
    /// supervisors for a talk (they hold it), the supervisors for a referral (they make it).
    pub fn told(self) -> &'static [crate::domain::role::Role] {
        use crate::domain::role::Role::{Supervisor, UnitHead};
        match self {
            Rung::SupervisionLetter => &[UnitHead],
            Rung::Talk => &[UnitHead, Supervisor],
            Rung::Referral => &[Supervisor],
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// A city's colour thresholds and ladder. The defaults are the source systems' (see
/// `docs/supervision.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Blue when the deadline is this many days away or nearer.
    pub blue_days: i64,
    /// Yellow when this many points or more behind the planned progress.
    pub yellow_behind: i64,
    /// Red when more than this many points behind.
    pub red_behind: i64,
    /// A supervision letter at every this many yellows.
    pub yellows_for_letter: usize,
    /// A referral when this many reds come in a row.
    pub reds_for_referral: usize,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule { blue_days: 3, yellow_behind: 10, red_behind: 30, yellows_for_letter: 2, reds_for_referral: 3 }
    }
}

/// Where an item stands against its plan at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Now, ms.
    pub now: i64,
    /// The deadline in force, ms.
    pub deadline: i64,
    /// The planned progress now, percent.
    pub planned: u8,
    /// The progress reported, percent.
    pub actual: u8,
}

impl Rule {
    /// The colour of an open item.
    pub fn colour(&self, s: Standing) -> Colour {
        let behind = i64::from(s.planned) - i64::from(s.actual);
        if s.now > s.deadline || behind > self.red_behind {
            Colour::Red
        } else if behind >= self.yellow_behind {
            Colour::Yellow
        } else if s.deadline - s.now <= self.blue_days * DAY_MS {
            Colour::Blue
        } else {
            Colour::Green
        }
    }

    /// The rungs reached when an item (or a unit, over its items) enters `entered`, after the
    /// colours it entered before (oldest first): a letter at every `yellows_for_letter`-th
    /// yellow, a talk at every red, a referral when the last `reds_for_referral` colours
    /// entered are all red.
    pub fn rungs(&self, before: &[Colour], entered: Colour) -> Vec<Rung> {
        let mut out = Vec::new();
        match entered {
            Colour::Yellow | Colour::Orange => {
                let yellows = before.iter().filter(|c| matches!(c, Colour::Yellow | Colour::Orange)).count() + 1;
                if self.yellows_for_letter > 0 && yellows % self.yellows_for_letter == 0 {
                    out.push(Rung::SupervisionLetter);
                }
            }
            Colour::Red => {
                out.push(Rung::Talk);
                let need = self.reds_for_referral.saturating_sub(1);
                let in_a_row = before.iter().rev().take_while(|c| **c == Colour::Red).count();
                if self.reds_for_referral > 0 && in_a_row >= need && (in_a_row + 1) % self.reds_for_referral == 0 {
                    out.push(Rung::Referral);
                }
            }
            Colour::Green | Colour::Blue => {}
        }
        out
    }
}

/// The planned progress at `now` of work from `start` to `deadline` through its milestones
/// (`(planned time, planned percent)`): straight lines from (start, 0) through each milestone to
/// (deadline, 100); without milestones, [`planned_linear`]. Milestones out of order or past
/// the deadline are taken in time order and clamped, so the plan never goes backwards.
pub fn planned_with(start: i64, deadline: i64, milestones: &[(i64, u8)], now: i64) -> u8 {
    if milestones.is_empty() {
        return planned_linear(start, deadline, now);
    }
    let mut points: Vec<(i64, u8)> = vec![(start, 0)];
    let mut sorted: Vec<(i64, u8)> =
        milestones.iter().map(|(t, p)| ((*t).clamp(start, deadline.max(start)), (*p).min(100))).collect();
    sorted.sort_unstable();
    let mut highest = 0;
    for (t, p) in sorted {
        highest = highest.max(p);
        points.push((t, highest));
    }
    points.push((deadline.max(start), 100));
    if now >= deadline {
        return 100;
    }
    for w in points.windows(2) {
        let ((t0, p0), (t1, p1)) = (w[0], w[1]);
        if now < t1 {
            if now <= t0 || t1 <= t0 {
                return p0;
            }
            let done = i64::from(p0) + (i64::from(p1) - i64::from(p0)) * (now - t0) / (t1 - t0);
            return u8::try_from(done.clamp(0, 100)).unwrap_or(100);
        }
    }
    100
}

/// The planned progress at `now` of work from `start` to `deadline` without milestones: even
/// progress over the time (0 before the start, 100 from the deadline).
pub fn planned_linear(start: i64, deadline: i64, now: i64) -> u8 {
    if deadline <= start || now >= deadline {
        return 100;
    }
    if now <= start {
        return 0;
    }
    let done = (now - start) * 100 / (deadline - start);
    u8::try_from(done.clamp(0, 100)).unwrap_or(100)
}

/// A parent's progress rolled up from its children's, weighted (weights of 0 count as 1).
pub fn rolled_up(children: &[(u32, u8)]) -> u8 {
    let total: u64 = children.iter().map(|(w, _)| u64::from((*w).max(1))).sum();
    if total == 0 {
        return 0;
    }
    let done: u64 = children.iter().map(|(w, p)| u64::from((*w).max(1)) * u64::from((*p).min(100))).sum();
    u8::try_from(done / total).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const R: Rule =
        Rule { blue_days: 3, yellow_behind: 10, red_behind: 30, yellows_for_letter: 2, reds_for_referral: 3 };

    fn at(days_left: i64, planned: u8, actual: u8) -> Standing {
        Standing { now: 0, deadline: days_left * DAY_MS, planned, actual }
    }

    #[test]
    fn the_colours_follow_the_deadline_and_the_plan() {
        assert_eq!(R.colour(at(10, 50, 50)), Colour::Green);
        assert_eq!(R.colour(at(3, 50, 50)), Colour::Blue);
        assert_eq!(R.colour(at(10, 50, 40)), Colour::Yellow);
        assert_eq!(R.colour(at(10, 50, 20)), Colour::Yellow, "30 points behind is still yellow");
        assert_eq!(R.colour(at(10, 50, 19)), Colour::Red, "more than 30 points behind");
        assert_eq!(R.colour(Standing { now: 2, deadline: 1, planned: 100, actual: 100 }), Colour::Red, "overdue");
    }

    #[test]
    fn two_yellows_bring_a_letter_a_red_a_talk_three_reds_in_a_row_a_referral() {
        use Colour::{Blue, Red, Yellow};
        assert!(R.rungs(&[], Yellow).is_empty());
        assert_eq!(R.rungs(&[Yellow], Yellow), [Rung::SupervisionLetter]);
        assert_eq!(R.rungs(&[Yellow, Blue], Red), [Rung::Talk]);
        assert_eq!(R.rungs(&[Red], Red), [Rung::Talk]);
        assert_eq!(R.rungs(&[Red, Red], Red), [Rung::Talk, Rung::Referral]);
        assert_eq!(R.rungs(&[Red, Yellow, Red], Red), [Rung::Talk], "not in a row");
        assert_eq!(R.rungs(&[Red, Red, Red], Red), [Rung::Talk], "the next referral at six in a row");
    }

    #[test]
    fn progress_is_planned_evenly_and_rolls_up_by_weight() {
        assert_eq!(planned_linear(0, 100, 50), 50);
        assert_eq!(planned_linear(0, 100, -5), 0);
        assert_eq!(planned_linear(0, 100, 200), 100);
        assert_eq!(rolled_up(&[(3, 100), (1, 0)]), 75);
        assert_eq!(rolled_up(&[]), 0);
    }

    proptest! {
        /// Later, or further behind, an item's colour never gets better.
        #[test]
        fn colours_only_worsen_with_time_and_lag(
            deadline in 0i64..100 * DAY_MS, now in 0i64..100 * DAY_MS, later in 0i64..10 * DAY_MS,
            planned in 0u8..=100, actual in 0u8..=100, less in 0u8..=100,
        ) {
            let s = Standing { now, deadline, planned, actual };
            let c = R.colour(s);
            let (later_colour, lagging) =
                (R.colour(Standing { now: now + later, ..s }), R.colour(Standing { actual: actual.saturating_sub(less), ..s }));
            prop_assert!(later_colour >= c, "later: {:?} after {:?}", later_colour, c);
            prop_assert!(lagging >= c, "further behind: {:?} after {:?}", lagging, c);
            prop_assert_eq!(c == Colour::Red, now > deadline || i64::from(planned) - i64::from(actual) > 30);
        }

        /// Planned progress through milestones never goes backwards in time, stays within 0–100,
        /// reaches each milestone's percent by its date, and is the even plan without milestones.
        #[test]
        fn the_plan_through_milestones_only_rises(
            span in 1i64..100 * DAY_MS, marks in proptest::collection::vec((0i64..100 * DAY_MS, 0u8..=100), 0..5),
            a in 0i64..120 * DAY_MS, b in 0i64..120 * DAY_MS,
        ) {
            let (start, deadline) = (0, span);
            let (early, late) = (a.min(b), a.max(b));
            let (p, q) = (planned_with(start, deadline, &marks, early), planned_with(start, deadline, &marks, late));
            prop_assert!(p <= q && q <= 100, "planned {} then {}", p, q);
            if marks.is_empty() {
                prop_assert_eq!(p, planned_linear(start, deadline, early));
            }
            for (t, pct) in &marks {
                if *t < deadline {
                    prop_assert!(planned_with(start, deadline, &marks, *t) >= *pct, "a milestone's percent by its date");
                }
            }
        }

        /// Over any sequence of colours entered, the letters are the yellows divided by two, the
        /// talks are the reds, and a referral comes only after three reds in a row.
        #[test]
        fn the_ladder_counts_what_it_says(colours in proptest::collection::vec(0u8..4, 0..60)) {
            let seq: Vec<Colour> = colours.iter().map(|c| [Colour::Green, Colour::Blue, Colour::Yellow, Colour::Red][usize::from(*c)]).collect();
            let (mut letters, mut talks) = (0, 0);
            for i in 0..seq.len() {
                for rung in R.rungs(&seq[..i], seq[i]) {
                    match rung {
                        Rung::SupervisionLetter => letters += 1,
                        Rung::Talk => talks += 1,
                        Rung::Referral => {
                            let three_reds = i >= 2 && seq[i - 2..=i].iter().all(|c| *c == Colour::Red);
                            prop_assert!(three_reds, "a referral without three reds in a row at {}", i);
                        }
                    }
                }
            }
            prop_assert_eq!(letters, seq.iter().filter(|c| **c == Colour::Yellow).count() / 2);
            prop_assert_eq!(talks, seq.iter().filter(|c| **c == Colour::Red).count());
        }
    }
}
