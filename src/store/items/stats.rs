//! The ledger in numbers, per team and per district, for a period: problems found and fixed,
//! open items overdue and by colour, recurrences, people held to account (talks and referrals).
//! What the team dashboard and the monthly bulletin (通报) show, with drill-down to the items.

use sqlx::Row;

use crate::domain::ids::OrgCode;
use crate::domain::item::bulletin::UnitRecord;
use crate::store::{Result, Store};

/// One row: a team or a district.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Tally {
    /// The team's code or the district's org code.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Problems found (items opened) in the period.
    pub found: i64,
    /// Problems fixed (items closed as implemented or partly implemented) in the period.
    pub fixed: i64,
    /// Of the items opened in the period, those closed by their deadline.
    pub fixed_on_time: i64,
    /// Open items past their deadline now.
    pub overdue: i64,
    /// Items opened in the period that repeat a closed one.
    pub recurring: i64,
    /// Open items by colour now: green, blue, yellow, red.
    pub colours: [i64; 4],
    /// Talks and referrals in the period (people held to account).
    pub held: i64,
}

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// Per inspection team (items with a team).
    Team,
    /// Per district (the top-level node under the city above the lead unit).
    District,
}

const SUMS: &str = "
    cast(sum(case when i.created_at >= $1 and i.created_at < $2 then 1 else 0 end) as bigint) as found,
    cast(sum(case when i.closed_at >= $1 and i.closed_at < $2 and i.outcome in ('implemented', 'partly_implemented') then 1 else 0 end) as bigint) as fixed,
    cast(sum(case when i.created_at >= $1 and i.created_at < $2 and i.closed_at is not null and i.closed_at <= i.deadline_at then 1 else 0 end) as bigint) as fixed_on_time,
    cast(sum(case when i.state <> 'closed' and i.deadline_at < $3 then 1 else 0 end) as bigint) as overdue,
    cast(sum(case when i.created_at >= $1 and i.created_at < $2 and i.recurrence_of is not null then 1 else 0 end) as bigint) as recurring,
    cast(sum(case when i.state in ('assigned', 'in_progress') and i.colour = 'green' then 1 else 0 end) as bigint) as green,
    cast(sum(case when i.state in ('assigned', 'in_progress') and i.colour = 'blue' then 1 else 0 end) as bigint) as blue,
    cast(sum(case when i.state in ('assigned', 'in_progress') and i.colour = 'yellow' then 1 else 0 end) as bigint) as yellow,
    cast(sum(case when i.state in ('assigned', 'in_progress') and i.colour = 'red' then 1 else 0 end) as bigint) as red,
    cast(sum((select count(*) from item_documents d where d.item_id = i.id and d.kind in ('talk', 'referral')
        and d.created_at >= $1 and d.created_at < $2)) as bigint) as held";

/// The rows for items whose lead unit lies under `root`, in `[from, to)`, colours and overdue
/// as at `now`; by key.
pub async fn tallies(store: &Store, by: By, root: &OrgCode, from: i64, to: i64, now: i64) -> Result<Vec<Tally>> {
    let sql = match by {
        By::Team => format!(
            "select t.code as key, t.name as name, {SUMS} from items i join inspection_teams t on t.code = i.team_code
             where i.unit_code in (select descendant from org_closure where ancestor = $4)
             group by t.code, t.name order by t.code"
        ),
        By::District => format!(
            "select d.code as key, d.name as name, {SUMS} from items i
             join org_closure c on c.descendant = i.unit_code join org_nodes d on d.code = c.ancestor
             where d.depth = (select depth from org_nodes where code = $4) + 1
               and i.unit_code in (select descendant from org_closure where ancestor = $4)
             group by d.code, d.name order by d.code"
        ),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .bind(now)
        .bind(root.as_str())
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Tally {
                key: r.try_get("key")?,
                name: r.try_get("name")?,
                found: r.try_get("found")?,
                fixed: r.try_get("fixed")?,
                fixed_on_time: r.try_get("fixed_on_time")?,
                overdue: r.try_get("overdue")?,
                recurring: r.try_get("recurring")?,
                colours: [r.try_get("green")?, r.try_get("blue")?, r.try_get("yellow")?, r.try_get("red")?],
                held: r.try_get("held")?,
            })
        })
        .collect()
}

/// Per lead unit under `root`, the period's figures (units with items only).
pub async fn units(store: &Store, root: &OrgCode, from: i64, to: i64, now: i64) -> Result<Vec<UnitRecord>> {
    let sql = format!(
        "select u.code as key, u.name as name, {SUMS} from items i join org_nodes u on u.code = i.unit_code
         where i.unit_code in (select descendant from org_closure where ancestor = $4)
         group by u.code, u.name order by u.code"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .bind(now)
        .bind(root.as_str())
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(UnitRecord {
                code: r.try_get("key")?,
                name: r.try_get("name")?,
                found: r.try_get("found")?,
                on_time: r.try_get("fixed_on_time")?,
                overdue: r.try_get("overdue")?,
                recurring: r.try_get("recurring")?,
                held: r.try_get("held")?,
            })
        })
        .collect()
}
