//! Rollups: per node and per day counts that dashboards and rankings read instead of raw rows.
//! Every change adds to the rows of the node and all its ancestors, in the transaction of the
//! change itself (ratings in their group-commit batch, appeal decisions, invitations, case
//! events); [`recompute_ratings`] rebuilds the rating rollups from the raw rows, for repairs
//! and to check the incremental ones.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;

mod check;

pub use check::{Drift, rebuild_ratings, recompute_ratings, snapshot};

use super::script::Script;
use super::{Bind, Result};
use crate::domain::rating::Outcome;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// China Standard Time's offset from UTC.
const CST_MS: i64 = 8 * 3_600_000;

/// The day (days since 1970-01-01, China time) of a timestamp.
pub fn day_of(ms: i64) -> i64 {
    (ms + CST_MS).div_euclid(DAY_MS)
}

/// The first millisecond of a day (midnight, China time).
pub fn day_start_ms(day: i64) -> i64 {
    day * DAY_MS - CST_MS
}

/// The hour of day (0–23, China time) of a timestamp.
pub fn hour_of(ms: i64) -> i64 {
    (ms + CST_MS).rem_euclid(DAY_MS) / 3_600_000
}

/// The day number of a date.
pub fn day_of_date(d: chrono::NaiveDate) -> i64 {
    d.signed_duration_since(chrono::NaiveDate::default()).num_days()
}

/// The date of a day number.
pub fn date_of_day(day: i64) -> chrono::NaiveDate {
    chrono::NaiveDate::default() + chrono::Duration::days(day)
}

/// One rating counted in (`sign` 1) or out (`sign` -1, an upheld appeal).
#[derive(Debug, Clone)]
pub struct RatingDelta {
    /// The node rated.
    pub org_code: String,
    /// When it was given, ms.
    pub at: i64,
    /// What it counts as.
    pub outcome: Outcome,
    /// Recorded by default for an unrated invitation.
    pub defaulted: bool,
    /// Given through an invitation (not by default).
    pub invited: bool,
    /// Reason codes (unsatisfied ratings).
    pub reasons: Vec<String>,
    /// 1 to count it, -1 to take it out.
    pub sign: i64,
}

#[derive(Default, Clone, Copy)]
struct DayCounts {
    total: i64,
    satisfied: i64,
    neutral: i64,
    unsatisfied: i64,
    defaulted: i64,
    invited: i64,
    excluded: i64,
}

/// Each node's ancestors, itself included.
pub(crate) type Ancestors = HashMap<String, Vec<String>>;

/// The [`Ancestors`] of `codes`.
pub(crate) async fn ancestors(conn: &mut sqlx::AnyConnection, codes: &[&str]) -> Result<Ancestors> {
    let rows = super::fetch_for_codes(
        conn,
        "select ancestor, descendant from org_closure where descendant in ({codes})",
        codes,
    )
    .await?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get("descendant")?).or_default().push(r.try_get("ancestor")?);
    }
    Ok(out)
}

/// Adds ratings to the rollups of their nodes and every ancestor, inside the caller's transaction.
pub async fn add_ratings(conn: &mut sqlx::AnyConnection, deltas: &[RatingDelta]) -> Result<()> {
    let mut codes: Vec<&str> = deltas.iter().map(|d| d.org_code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let up = ancestors(conn, &codes).await?;
    let mut script = Script::new();
    add_ratings_to(&mut script, deltas, &up);
    script.run(conn).await
}

/// The rating rollup rows that `deltas` add, per table: `rating_days` by (node, day),
/// `rating_hours` by (node, day, hour) and `rating_reasons` by (node, day, reason), for every
/// rated node and its ancestors (`up`).
#[derive(Default)]
pub(crate) struct RatingRows {
    days: BTreeMap<(String, i64), DayCounts>,
    hours: BTreeMap<(String, i64, i64), i64>,
    reasons: BTreeMap<(String, i64, String), i64>,
}

impl RatingRows {
    /// Adds `deltas`.
    fn add(&mut self, deltas: &[RatingDelta], up: &Ancestors) {
        for d in deltas {
            let (day, hour) = (day_of(d.at), hour_of(d.at));
            for node in up.get(&d.org_code).into_iter().flatten() {
                let c = self.days.entry((node.clone(), day)).or_default();
                c.total += d.sign;
                match d.outcome {
                    Outcome::Satisfied => c.satisfied += d.sign,
                    Outcome::Neutral => c.neutral += d.sign,
                    Outcome::Unsatisfied => c.unsatisfied += d.sign,
                }
                c.defaulted += d.sign * i64::from(d.defaulted);
                c.invited += d.sign * i64::from(d.invited);
                c.excluded += i64::from(d.sign < 0);
                if d.outcome == Outcome::Unsatisfied {
                    *self.hours.entry((node.clone(), day, hour)).or_default() += d.sign;
                    for r in &d.reasons {
                        *self.reasons.entry((node.clone(), day, r.clone())).or_default() += d.sign;
                    }
                }
            }
        }
    }
}

/// [`add_ratings`] into a script, with the ancestors of the rated nodes known.
pub(crate) fn add_ratings_to(script: &mut Script, deltas: &[RatingDelta], up: &Ancestors) {
    let mut rows = RatingRows::default();
    rows.add(deltas, up);
    let RatingRows { days, hours, reasons } = rows;
    let rows: Vec<Vec<Bind>> = days
        .into_iter()
        .map(|((node, day), c)| {
            vec![
                Bind::Text(node),
                Bind::Int(day),
                Bind::Int(c.total),
                Bind::Int(c.satisfied),
                Bind::Int(c.neutral),
                Bind::Int(c.unsatisfied),
                Bind::Int(c.defaulted),
                Bind::Int(c.invited),
                Bind::Int(c.excluded),
            ]
        })
        .collect();
    upsert(
        script,
        "insert into rating_days (org_code, day, total, satisfied, neutral, unsatisfied, defaulted, invited, excluded)",
        9,
        "(org_code, day)",
        &["total", "satisfied", "neutral", "unsatisfied", "defaulted", "invited", "excluded"],
        "rating_days",
        &rows,
    );
    let rows: Vec<Vec<Bind>> = hours
        .into_iter()
        .map(|((node, day, hour), n)| vec![Bind::Text(node), Bind::Int(day), Bind::Int(hour), Bind::Int(n)])
        .collect();
    upsert(
        script,
        "insert into rating_hours (org_code, day, hour, unsatisfied)",
        4,
        "(org_code, day, hour)",
        &["unsatisfied"],
        "rating_hours",
        &rows,
    );
    let rows: Vec<Vec<Bind>> = reasons
        .into_iter()
        .map(|((node, day, reason), n)| vec![Bind::Text(node), Bind::Int(day), Bind::Text(reason), Bind::Int(n)])
        .collect();
    upsert(
        script,
        "insert into rating_reasons (org_code, day, reason, n)",
        4,
        "(org_code, day, reason)",
        &["n"],
        "rating_reasons",
        &rows,
    );
}

/// A multi-row insert that adds to existing rows (keys within one statement are distinct).
fn upsert(script: &mut Script, head: &str, cols: usize, key: &str, add: &[&str], table: &str, rows: &[Vec<Bind>]) {
    let set: Vec<String> = add.iter().map(|c| format!("{c} = {table}.{c} + excluded.{c}")).collect();
    script.insert(head, cols, rows, &format!("on conflict {key} do update set {}", set.join(", ")));
}

/// Adds ready-made rows to a rating rollup table (`rating_days`, `rating_hours` or
/// `rating_reasons`, columns in table order), for bulk loads.
pub(crate) async fn add_rows(conn: &mut sqlx::AnyConnection, table: &str, rows: &[Vec<Bind>]) -> Result<()> {
    let (head, cols, key, add): (&str, usize, &str, &[&str]) = match table {
        "rating_days" => (
            "insert into rating_days (org_code, day, total, satisfied, neutral, unsatisfied, defaulted, invited, excluded)",
            9,
            "(org_code, day)",
            &["total", "satisfied", "neutral", "unsatisfied", "defaulted", "invited", "excluded"],
        ),
        "rating_hours" => (
            "insert into rating_hours (org_code, day, hour, unsatisfied)",
            4,
            "(org_code, day, hour)",
            &["unsatisfied"],
        ),
        _ => ("insert into rating_reasons (org_code, day, reason, n)", 4, "(org_code, day, reason)", &["n"]),
    };
    let mut script = Script::new();
    upsert(&mut script, head, cols, key, add, table, rows);
    script.run(conn).await
}

/// Counts one issued invitation for its node and ancestors.
pub async fn add_invitation(conn: &mut sqlx::AnyConnection, org_code: &str, at: i64) -> Result<()> {
    let up = ancestors(conn, &[org_code]).await?;
    let rows: Vec<Vec<Bind>> = up
        .get(org_code)
        .into_iter()
        .flatten()
        .map(|n| vec![Bind::Text(n.clone()), Bind::Int(day_of(at)), Bind::Int(1)])
        .collect();
    let mut script = Script::new();
    upsert(
        &mut script,
        "insert into invitation_days (org_code, day, issued)",
        3,
        "(org_code, day)",
        &["issued"],
        "invitation_days",
        &rows,
    );
    script.run(conn).await
}

/// The case counters.
pub const CASE_COUNTERS: [&str; 15] = [
    "opened",
    "acknowledged",
    "visited",
    "reached",
    "substantiated",
    "unsubstantiated",
    "ordered",
    "reported",
    "reported_on_time",
    "accepted",
    "reopened",
    "closed",
    "sent_back",
    "decided",
    "held",
];

/// Adds to case counters (`(name, n)`, names from [`CASE_COUNTERS`]) of `unit` and its ancestors.
pub async fn add_case(conn: &mut sqlx::AnyConnection, unit: &str, at: i64, counters: &[(&str, i64)]) -> Result<()> {
    add_cases(conn, &[(unit, at, counters)]).await
}

/// Case counter changes of one unit at one time: `(unit, at, [(counter, n)])`.
pub type CaseChange<'a> = (&'a str, i64, &'a [(&'a str, i64)]);

/// [`add_case`] for many changes at once: one ancestors query and one upsert.
pub async fn add_cases(conn: &mut sqlx::AnyConnection, changes: &[CaseChange<'_>]) -> Result<()> {
    let mut units: Vec<&str> = changes.iter().filter(|(_, _, c)| !c.is_empty()).map(|(u, _, _)| *u).collect();
    if units.is_empty() {
        return Ok(());
    }
    units.sort_unstable();
    units.dedup();
    let up = ancestors(conn, &units).await?;
    let mut script = Script::new();
    add_cases_to(&mut script, changes, &up);
    script.run(conn).await
}

/// [`add_cases`] into a script, with the units' ancestors known.
pub(crate) fn add_cases_to(script: &mut Script, changes: &[CaseChange<'_>], up: &Ancestors) {
    let mut sums: BTreeMap<(String, i64), [i64; CASE_COUNTERS.len()]> = BTreeMap::new();
    for (unit, at, counters) in changes {
        for node in up.get(*unit).into_iter().flatten() {
            let row = sums.entry((node.clone(), day_of(*at))).or_default();
            for (name, n) in counters.iter() {
                if let Some(i) = CASE_COUNTERS.iter().position(|c| c == name) {
                    row[i] += n;
                }
            }
        }
    }
    let rows: Vec<Vec<Bind>> = sums
        .into_iter()
        .map(|((node, day), counts)| {
            let mut row = vec![Bind::Text(node), Bind::Int(day)];
            row.extend(counts.into_iter().map(Bind::Int));
            row
        })
        .collect();
    let head = format!("insert into case_days (org_code, day, {})", CASE_COUNTERS.join(", "));
    upsert(script, &head, 2 + CASE_COUNTERS.len(), "(org_code, day)", &CASE_COUNTERS, "case_days", &rows);
}

/// The delta of a stored rating row (`org_code, created_at, outcome, defaulted, source, reasons`).
pub fn delta_of(r: &sqlx::any::AnyRow, sign: i64) -> Result<RatingDelta> {
    let outcome: String = r.try_get("outcome")?;
    let reasons: String = r.try_get("reasons")?;
    Ok(RatingDelta {
        org_code: r.try_get("org_code")?,
        at: r.try_get("created_at")?,
        outcome: match outcome.as_str() {
            "satisfied" => Outcome::Satisfied,
            "neutral" => Outcome::Neutral,
            _ => Outcome::Unsatisfied,
        },
        defaulted: r.try_get::<i64, _>("defaulted")? != 0,
        invited: r.try_get::<String, _>("source")? == "invitation",
        reasons: crate::store::decode_json(&reasons, "ratings.reasons")?,
        sign,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_hours_are_china_time() {
        // 2026-01-01 00:30 in Beijing is 2025-12-31 16:30 UTC.
        let ms = chrono::NaiveDate::from_ymd_opt(2025, 12, 31)
            .and_then(|d| d.and_hms_opt(16, 30, 0))
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or_default();
        assert_eq!(date_of_day(day_of(ms)).to_string(), "2026-01-01");
        assert_eq!(hour_of(ms), 0);
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap_or_default();
        assert_eq!(date_of_day(day_of_date(d)), d);
    }

    #[test]
    fn every_counter_a_transition_moves_is_a_column_of_the_case_rollups() {
        use crate::domain::case::{Accountability, Action, State, Transition, Verdict, counted};
        let actions = [
            Action::Acknowledge,
            Action::ReturnVisit { reached: true },
            Action::Verify { verdict: Verdict::Substantiated },
            Action::Verify { verdict: Verdict::Unsubstantiated },
            Action::Order { deadline_days: 10 },
            Action::Report,
            Action::Accept,
            Action::FollowUp { satisfied: false },
            Action::Decide { kind: Accountability::None },
            Action::SendBack,
        ];
        for action in actions {
            let t = Transition { from: State::Open, to: State::Closed, action, reopened: false, effects: Vec::new() };
            let names = counted(&t, true, 1);
            assert!(!names.is_empty());
            for (name, _) in names {
                assert!(CASE_COUNTERS.contains(&name), "{name} ({action:?})");
            }
        }
    }
}
