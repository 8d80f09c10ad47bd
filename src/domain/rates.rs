//! The standard rates, each defined once (with the formula shown to people), and the fair
//! ranking: units with too few ratings are listed apart, the rest ordered by the lower bound of
//! the Wilson score interval, ties sharing a rank.

/// Counts over a node and a period, from the rollups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = PeriodCounts)]
pub struct Counts {
    /// Ratings counted (appeal-excluded ones are not).
    pub ratings: i64,
    /// Satisfied (two-level 满意, five-level 4–5).
    pub satisfied: i64,
    /// Neutral (five-level 3).
    pub neutral: i64,
    /// Unsatisfied.
    pub unsatisfied: i64,
    /// Recorded by default for unrated invitations.
    pub defaulted: i64,
    /// Given through invitations.
    pub invited: i64,
    /// Taken out of the statistics by upheld appeals.
    pub excluded: i64,
    /// Invitations issued.
    pub invitations: i64,
    /// Cases opened.
    pub opened: i64,
    /// Cases signed for.
    pub acknowledged: i64,
    /// Return visits made.
    pub visited: i64,
    /// Of which the citizen was reached.
    pub reached: i64,
    /// Verified as (partly) substantiated.
    pub substantiated: i64,
    /// Verified as unsubstantiated or malicious.
    pub unsubstantiated: i64,
    /// Rectification orders.
    pub ordered: i64,
    /// Rectification reports.
    pub reported: i64,
    /// Of which before the deadline.
    pub reported_on_time: i64,
    /// Reports accepted.
    pub accepted: i64,
    /// Cases redone after an unhappy follow-up.
    pub reopened: i64,
    /// Cases closed.
    pub closed: i64,
    /// Cases sent back.
    pub sent_back: i64,
    /// Accountability decisions.
    pub decided: i64,
    /// People held to account.
    pub held: i64,
}

/// One standard rate: its name, formula and value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Rate {
    /// Stable key (`satisfaction`, `response`, …).
    pub key: &'static str,
    /// 中文名.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// How it is computed, in words.
    pub formula: &'static str,
    /// Numerator.
    pub numerator: i64,
    /// Denominator.
    pub denominator: i64,
    /// numerator / denominator, or `None` when there is nothing to divide by.
    pub value: Option<f64>,
}

fn rate(
    key: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    formula: &'static str,
    n: i64,
    d: i64,
) -> Rate {
    let value = if d > 0 { Some(n as f64 / d as f64) } else { None };
    Rate { key, name_zh, name_en, formula, numerator: n, denominator: d, value }
}

impl Counts {
    /// Adds another node's or day's counts.
    pub fn add(&mut self, o: &Counts) {
        let fields = [
            (&mut self.ratings, o.ratings),
            (&mut self.satisfied, o.satisfied),
            (&mut self.neutral, o.neutral),
            (&mut self.unsatisfied, o.unsatisfied),
            (&mut self.defaulted, o.defaulted),
            (&mut self.invited, o.invited),
            (&mut self.excluded, o.excluded),
            (&mut self.invitations, o.invitations),
            (&mut self.opened, o.opened),
            (&mut self.acknowledged, o.acknowledged),
            (&mut self.visited, o.visited),
            (&mut self.reached, o.reached),
            (&mut self.substantiated, o.substantiated),
            (&mut self.unsubstantiated, o.unsubstantiated),
            (&mut self.ordered, o.ordered),
            (&mut self.reported, o.reported),
            (&mut self.reported_on_time, o.reported_on_time),
            (&mut self.accepted, o.accepted),
            (&mut self.reopened, o.reopened),
            (&mut self.closed, o.closed),
            (&mut self.sent_back, o.sent_back),
            (&mut self.decided, o.decided),
            (&mut self.held, o.held),
        ];
        for (a, b) in fields {
            *a += b;
        }
    }

    /// 满意率: satisfied ratings over ratings counted.
    pub fn satisfaction(&self) -> Rate {
        rate(
            "satisfaction",
            "满意率",
            "Satisfaction rate",
            "满意评价数 ÷ 有效评价数（申诉核减的不计）",
            self.satisfied,
            self.ratings,
        )
    }

    /// 响应率: cases signed for over cases opened.
    pub fn response(&self) -> Rate {
        rate("response", "响应率", "Response rate", "签收工单数 ÷ 新生成工单数", self.acknowledged, self.opened)
    }

    /// 回访率: return visits over cases opened.
    pub fn return_visit(&self) -> Rate {
        rate("return_visit", "回访率", "Return-visit rate", "回访次数 ÷ 新生成工单数", self.visited, self.opened)
    }

    /// 解决率: cases closed over cases opened.
    pub fn resolution(&self) -> Rate {
        rate("resolution", "解决率", "Resolution rate", "办结工单数 ÷ 新生成工单数", self.closed, self.opened)
    }

    /// 整改率: reports accepted over rectification orders.
    pub fn rectification(&self) -> Rate {
        rate(
            "rectification",
            "整改率",
            "Rectification rate",
            "验收通过的整改数 ÷ 责令整改数",
            self.accepted,
            self.ordered,
        )
    }

    /// 按期整改率: reports before their deadline over reports.
    pub fn on_time(&self) -> Rate {
        rate(
            "on_time",
            "按期整改率",
            "On-time rate",
            "按期提交的整改报告数 ÷ 整改报告数",
            self.reported_on_time,
            self.reported,
        )
    }

    /// 退单率: cases sent back over cases opened.
    pub fn send_back(&self) -> Rate {
        rate("send_back", "退单率", "Send-back rate", "退单数 ÷ 新生成工单数", self.sent_back, self.opened)
    }

    /// 参评率: ratings given through invitations over invitations issued.
    pub fn participation(&self) -> Rate {
        rate(
            "participation",
            "参评率",
            "Participation",
            "通过一事一评邀请作出的评价数 ÷ 发出的邀请数",
            self.invited,
            self.invitations,
        )
    }

    /// Every standard rate, in the order they are shown.
    pub fn rates(&self) -> Vec<Rate> {
        vec![
            self.satisfaction(),
            self.response(),
            self.return_visit(),
            self.resolution(),
            self.rectification(),
            self.on_time(),
            self.send_back(),
            self.participation(),
        ]
    }
}

/// The lower bound of the Wilson score interval at 95% confidence: the share `k / n` is at least
/// this, allowing for chance in small samples. Zero for an empty sample.
pub fn wilson_lower(k: i64, n: i64) -> f64 {
    if n <= 0 {
        return 0.0;
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * ((p * (1.0 - p) + z2 / (4.0 * n)) / n).sqrt();
    ((centre - spread) / (1.0 + z2 / n)).max(0.0)
}

/// The default minimum sample: below it a unit is "not enough ratings" rather than ranked.
pub const MIN_SAMPLE: i64 = 30;

/// The minimum samples a ranking may ask for.
pub const MIN_SAMPLE_RANGE: std::ops::RangeInclusive<i64> = 1..=100_000;

/// What a ranking orders units by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Satisfied ratings of all ratings counted (满意率).
    Satisfaction,
    /// Rectification reports made on time of all reports (按期整改率).
    OnTime,
}

impl Measure {
    /// Every measure.
    pub const ALL: [Measure; 2] = [Measure::Satisfaction, Measure::OnTime];

    /// The stable name (`satisfaction`, `on_time`).
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Satisfaction => "satisfaction",
            Measure::OnTime => "on_time",
        }
    }

    /// The measure of a stable name.
    pub fn parse(s: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The successes and trials this measure counts in `c`.
    pub fn entry(self, code: &str, c: &Counts) -> Entry {
        let (k, n) = match self {
            Measure::Satisfaction => (c.satisfied, c.ratings),
            Measure::OnTime => (c.reported_on_time, c.reported),
        };
        Entry { code: code.to_owned(), k, n }
    }
}

/// One entry to rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The node.
    pub code: String,
    /// Successes (satisfied ratings, on-time reports).
    pub k: i64,
    /// Trials (ratings, reports).
    pub n: i64,
}

/// A ranked entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Ranked {
    /// The node.
    pub code: String,
    /// Successes.
    pub k: i64,
    /// Trials.
    pub n: i64,
    /// k / n.
    pub rate: Option<f64>,
    /// The Wilson lower bound the order is by.
    pub score: f64,
    /// 1 for the best; equal scores share a rank (1, 1, 3); `None` below the minimum sample.
    pub rank: Option<usize>,
}

/// Ranks entries: those with at least `min_sample` trials by Wilson lower bound, best first,
/// equal scores sharing a rank (ties listed by code); the rest after them, unranked.
pub fn rank(entries: &[Entry], min_sample: i64) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = entries
        .iter()
        .map(|e| Ranked {
            code: e.code.clone(),
            k: e.k,
            n: e.n,
            rate: (e.n > 0).then(|| e.k as f64 / e.n as f64),
            score: wilson_lower(e.k, e.n),
            rank: None,
        })
        .collect();
    out.sort_by(|a, b| {
        let (ra, rb) = (a.n >= min_sample, b.n >= min_sample);
        rb.cmp(&ra).then(b.score.total_cmp(&a.score)).then(a.code.cmp(&b.code))
    });
    let mut last: Option<(f64, usize)> = None;
    for (i, r) in out.iter_mut().enumerate() {
        if r.n < min_sample {
            break;
        }
        let position = match last {
            Some((score, rank)) if (score - r.score).abs() < 1e-12 => rank,
            _ => i + 1,
        };
        r.rank = Some(position);
        last = Some((r.score, position));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(code: &str, k: i64, n: i64) -> Entry {
        Entry { code: code.into(), k, n }
    }

    #[test]
    fn the_wilson_bound_rewards_evidence_over_luck() {
        // 10 of 10 is less sure than 95 of 100.
        assert!(wilson_lower(10, 10) < wilson_lower(95, 100));
        assert!((wilson_lower(95, 100) - 0.8882).abs() < 1e-3, "{}", wilson_lower(95, 100));
        assert_eq!(wilson_lower(0, 0), 0.0);
        assert!(wilson_lower(0, 50) < 1e-12);
    }

    #[test]
    fn small_samples_are_listed_apart_and_ties_share_a_rank() {
        let ranked = rank(&[e("A", 90, 100), e("B", 10, 10), e("C", 90, 100), e("D", 99, 100), e("E", 5, 29)], 30);
        let view: Vec<(&str, Option<usize>)> = ranked.iter().map(|r| (r.code.as_str(), r.rank)).collect();
        assert_eq!(view, vec![("D", Some(1)), ("A", Some(2)), ("C", Some(2)), ("B", None), ("E", None)]);
        // B has 100% but only 10 ratings: listed, not ranked above D.
        assert_eq!(ranked[3].rate, Some(1.0));
    }

    #[test]
    fn each_rate_is_its_formula() {
        let c = Counts {
            ratings: 8,
            satisfied: 6,
            opened: 4,
            acknowledged: 3,
            visited: 2,
            closed: 1,
            ordered: 2,
            accepted: 1,
            reported: 2,
            reported_on_time: 1,
            sent_back: 1,
            invited: 3,
            invitations: 6,
            ..Counts::default()
        };
        let v: Vec<(&str, Option<f64>)> = c.rates().iter().map(|r| (r.key, r.value)).collect();
        assert_eq!(
            v,
            vec![
                ("satisfaction", Some(0.75)),
                ("response", Some(0.75)),
                ("return_visit", Some(0.5)),
                ("resolution", Some(0.25)),
                ("rectification", Some(0.5)),
                ("on_time", Some(0.5)),
                ("send_back", Some(0.25)),
                ("participation", Some(0.5)),
            ]
        );
        assert_eq!(Counts::default().satisfaction().value, None, "no ratings, no rate");
    }
}
