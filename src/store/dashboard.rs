//! Dashboard reads: everything from the rollups (never raw ratings), for a node and a period of
//! days `[from, to)`. [`raw_children`] computes the same per-child figures with a plain GROUP BY
//! over raw ratings, as the benchmark's baseline and the tests' cross-check.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::domain::rates::Counts;

const RATING_SUMS: &str = "cast(coalesce(sum(d.total), 0) as bigint) as ratings,
    cast(coalesce(sum(d.satisfied), 0) as bigint) as satisfied, cast(coalesce(sum(d.neutral), 0) as bigint) as neutral,
    cast(coalesce(sum(d.unsatisfied), 0) as bigint) as unsatisfied, cast(coalesce(sum(d.defaulted), 0) as bigint) as defaulted,
    cast(coalesce(sum(d.invited), 0) as bigint) as invited, cast(coalesce(sum(d.excluded), 0) as bigint) as excluded";

fn case_sums() -> String {
    super::rollups::CASE_COUNTERS
        .iter()
        .map(|c| format!("cast(coalesce(sum(d.{c}), 0) as bigint) as {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn int(r: &AnyRow, col: &str) -> Result<i64> {
    Ok(r.try_get::<i64, _>(col)?)
}

fn rating_counts(r: &AnyRow, c: &mut Counts) -> Result<()> {
    c.ratings = int(r, "ratings")?;
    c.satisfied = int(r, "satisfied")?;
    c.neutral = int(r, "neutral")?;
    c.unsatisfied = int(r, "unsatisfied")?;
    c.defaulted = int(r, "defaulted")?;
    c.invited = int(r, "invited")?;
    c.excluded = int(r, "excluded")?;
    Ok(())
}

fn case_counts(r: &AnyRow, c: &mut Counts) -> Result<()> {
    c.opened = int(r, "opened")?;
    c.acknowledged = int(r, "acknowledged")?;
    c.visited = int(r, "visited")?;
    c.reached = int(r, "reached")?;
    c.substantiated = int(r, "substantiated")?;
    c.unsubstantiated = int(r, "unsubstantiated")?;
    c.ordered = int(r, "ordered")?;
    c.reported = int(r, "reported")?;
    c.reported_on_time = int(r, "reported_on_time")?;
    c.accepted = int(r, "accepted")?;
    c.reopened = int(r, "reopened")?;
    c.closed = int(r, "closed")?;
    c.sent_back = int(r, "sent_back")?;
    c.decided = int(r, "decided")?;
    c.held = int(r, "held")?;
    Ok(())
}

/// Which nodes a per-node listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members<'a> {
    /// The node's children.
    Children,
    /// Every node of this kind under the node (e.g. all units of a district).
    Descendants(&'a str),
}

/// A node with its counts.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NodeCounts {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Counts over the period.
    pub counts: Counts,
}

/// Per-node counts of `node`'s children (or descendants of a kind) over `[from, to)`, from the
/// rollups.
pub async fn members(store: &Store, node: &str, members: Members<'_>, from: i64, to: i64) -> Result<Vec<NodeCounts>> {
    let (join, cond) = match members {
        Members::Children => ("", "n.parent_code = $1".to_owned()),
        Members::Descendants(_) => (
            "join org_closure a on a.descendant = n.code",
            "a.ancestor = $1 and a.descendant <> $1 and n.kind = $4".to_owned(),
        ),
    };
    let kind = match members {
        Members::Descendants(k) => Some(k),
        Members::Children => None,
    };
    let mut out: Vec<NodeCounts> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (table, sums) in [("rating_days", RATING_SUMS.to_owned()), ("case_days", case_sums())] {
        let sql = format!(
            "select n.code, n.name, n.kind, {sums} from org_nodes n {join}
             left join {table} d on d.org_code = n.code and d.day >= $2 and d.day < $3
             where {cond} group by n.code, n.name, n.kind order by n.code"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(node).bind(from).bind(to);
        if let Some(k) = kind {
            q = q.bind(k);
        }
        for r in q.fetch_all(store.pool()).await? {
            let code: String = r.try_get("code")?;
            let i = *index.entry(code.clone()).or_insert_with(|| {
                out.push(NodeCounts { code, name: String::new(), kind: String::new(), counts: Counts::default() });
                out.len() - 1
            });
            let entry = &mut out[i];
            entry.name = r.try_get("name")?;
            entry.kind = r.try_get("kind")?;
            if table == "rating_days" {
                rating_counts(&r, &mut entry.counts)?;
            } else {
                case_counts(&r, &mut entry.counts)?;
            }
        }
    }
    let sql = format!(
        "select n.code, cast(coalesce(sum(d.issued), 0) as bigint) as issued from org_nodes n {join}
         left join invitation_days d on d.org_code = n.code and d.day >= $2 and d.day < $3
         where {cond} group by n.code"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(node).bind(from).bind(to);
    if let Some(k) = kind {
        q = q.bind(k);
    }
    for r in q.fetch_all(store.pool()).await? {
        let code: String = r.try_get("code")?;
        if let Some(i) = index.get(&code) {
            out[*i].counts.invitations = r.try_get("issued")?;
        }
    }
    Ok(out)
}

/// Per-day counts of `node` over `[from, to)` (days without anything are left out).
pub async fn days(store: &Store, node: &str, from: i64, to: i64) -> Result<Vec<(i64, Counts)>> {
    let mut by_day: std::collections::BTreeMap<i64, Counts> = std::collections::BTreeMap::new();
    let sql = format!(
        "select d.day, {RATING_SUMS} from rating_days d where d.org_code = $1 and d.day >= $2 and d.day < $3 group by d.day"
    );
    for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(node).bind(from).bind(to).fetch_all(store.pool()).await? {
        rating_counts(&r, by_day.entry(r.try_get("day")?).or_default())?;
    }
    let sql = format!(
        "select d.day, {} from case_days d where d.org_code = $1 and d.day >= $2 and d.day < $3 group by d.day",
        case_sums()
    );
    for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(node).bind(from).bind(to).fetch_all(store.pool()).await? {
        case_counts(&r, by_day.entry(r.try_get("day")?).or_default())?;
    }
    let rows = sqlx::query("select day, issued from invitation_days where org_code = $1 and day >= $2 and day < $3")
        .bind(node)
        .bind(from)
        .bind(to)
        .fetch_all(store.pool())
        .await?;
    for r in rows {
        by_day.entry(r.try_get("day")?).or_default().invitations = r.try_get("issued")?;
    }
    Ok(by_day.into_iter().collect())
}

/// The node's own totals over `[from, to)`.
pub async fn totals(store: &Store, node: &str, from: i64, to: i64) -> Result<Counts> {
    let mut c = Counts::default();
    for (_, d) in days(store, node, from, to).await? {
        c.add(&d);
    }
    Ok(c)
}

/// Unsatisfied ratings by weekday (0 = Monday) and hour of day.
pub async fn heatmap(store: &Store, node: &str, from: i64, to: i64) -> Result<[[i64; 24]; 7]> {
    let rows =
        sqlx::query("select day, hour, unsatisfied from rating_hours where org_code = $1 and day >= $2 and day < $3")
            .bind(node)
            .bind(from)
            .bind(to)
            .fetch_all(store.pool())
            .await?;
    let mut grid = [[0i64; 24]; 7];
    for r in rows {
        let day: i64 = r.try_get("day")?;
        let hour: i64 = r.try_get("hour")?;
        // 1970-01-01 was a Thursday (weekday 3 counting Monday as 0).
        let weekday = usize::try_from((day + 3).rem_euclid(7)).unwrap_or(0);
        if let Some(cell) = grid[weekday].get_mut(usize::try_from(hour).unwrap_or(0)) {
            *cell += r.try_get::<i64, _>("unsatisfied")?;
        }
    }
    Ok(grid)
}

/// Reasons given with unsatisfied ratings, most frequent first.
pub async fn reasons(store: &Store, node: &str, from: i64, to: i64) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "select reason, cast(sum(n) as bigint) as n from rating_reasons where org_code = $1 and day >= $2 and day < $3
         group by reason order by n desc, reason",
    )
    .bind(node)
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let n: i64 = r.try_get("n")?;
        if n > 0 {
            out.push((r.try_get("reason")?, n));
        }
    }
    Ok(out)
}

/// Ratings by staff member of a unit or window over `[from, ms_to)` in milliseconds, from raw
/// rows (a unit's ratings are few, and staff are the finest level). The ratings are found by
/// their unit and time (`ratings_unit_time`): SQLite without statistics would otherwise walk
/// every rating of the period by time (0.2 s for a window in a city of 100,000 ratings a month;
/// 5 ms this way), and the unit's own node is found from the node up (`cross join`), not
/// through every unit.
pub async fn staff(store: &Store, node: &str, from_ms: i64, to_ms: i64) -> Result<Vec<NodeCounts>> {
    let rows = sqlx::query(
        "select s.staff_no, s.name, cast(count(*) as bigint) as ratings,
                cast(coalesce(sum(case when r.outcome = 'satisfied' then 1 else 0 end), 0) as bigint) as satisfied,
                cast(coalesce(sum(case when r.outcome = 'neutral' then 1 else 0 end), 0) as bigint) as neutral,
                cast(coalesce(sum(case when r.outcome = 'unsatisfied' then 1 else 0 end), 0) as bigint) as unsatisfied
         from ratings r join staff s on s.staff_no = r.staff_no
         where r.unit_code = (select a.ancestor from org_closure a cross join org_nodes n
                              where n.code = a.ancestor and a.descendant = $1 and n.kind = 'unit')
           and r.created_at >= $2 and r.created_at < $3
           and r.org_code in (select descendant from org_closure where ancestor = $1)
           and not exists (select 1 from rating_exclusions x where x.rating_id = r.id)
         group by s.staff_no, s.name order by s.staff_no",
    )
    .bind(node)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NodeCounts {
                code: r.try_get("staff_no")?,
                name: r.try_get("name")?,
                kind: "staff".into(),
                counts: Counts {
                    ratings: int(r, "ratings")?,
                    satisfied: int(r, "satisfied")?,
                    neutral: int(r, "neutral")?,
                    unsatisfied: int(r, "unsatisfied")?,
                    ..Counts::default()
                },
            })
        })
        .collect()
}

/// The per-child rating figures of [`members`] computed by a plain GROUP BY over the raw
/// ratings: the baseline the benchmark compares the rollups with.
pub async fn raw_children(store: &Store, node: &str, from: i64, to: i64) -> Result<Vec<(String, i64, i64, i64)>> {
    let rows = sqlx::query(
        "select c.code, cast(sum(x.n) as bigint) as ratings, cast(sum(x.s) as bigint) as satisfied,
                cast(sum(x.u) as bigint) as unsatisfied
         from (select r.org_code, count(*) as n,
                      sum(case when r.outcome = 'satisfied' then 1 else 0 end) as s,
                      sum(case when r.outcome = 'unsatisfied' then 1 else 0 end) as u
               from ratings r where r.created_at >= $2 and r.created_at < $3
                 and not exists (select 1 from rating_exclusions x where x.rating_id = r.id)
               group by r.org_code) x
         join org_closure a on a.descendant = x.org_code join org_nodes c on c.code = a.ancestor
         where c.parent_code = $1 group by c.code order by c.code",
    )
    .bind(node)
    .bind(super::rollups::day_start_ms(from))
    .bind(super::rollups::day_start_ms(to))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("code")?, int(r, "ratings")?, int(r, "satisfied")?, int(r, "unsatisfied")?)))
        .collect()
}
