//! SLA policies: the targets per kind of case (source, category, priority; `*` matches any),
//! looked up most specific first, set by an administrator with an audit row.

use sqlx::Row;

use crate::domain::sla::{Clock, Thresholds};
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store};

/// The targets for one kind of case.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Policy {
    /// Case source (`rating`, `inspection`, `enterprise`, …) or `*`.
    pub source: String,
    /// Category or `*`.
    pub category: String,
    /// Priority (`normal`, `urgent`, …) or `*`.
    pub priority: String,
    /// Time to acknowledge (签收).
    pub acknowledge: Clock,
    /// Time to the return visit (回访).
    pub return_visit: Clock,
    /// Time to resolve (rectification).
    pub resolution: Clock,
    /// Warning thresholds.
    pub thresholds: Thresholds,
}

impl Policy {
    /// Used when no stored policy matches: acknowledge within 1 working day, return visit within
    /// 3, resolve within 15; warnings at 50/75/90%.
    pub fn fallback(source: &str, category: &str, priority: &str) -> Policy {
        Policy {
            source: source.into(),
            category: category.into(),
            priority: priority.into(),
            acknowledge: Clock::WorkingDays(1),
            return_visit: Clock::WorkingDays(3),
            resolution: Clock::WorkingDays(15),
            thresholds: Thresholds::default(),
        }
    }
}

fn policy_from(r: &sqlx::any::AnyRow) -> Result<Policy> {
    let clock = |col: &str| -> Result<Clock> {
        let s: String = r.try_get(col)?;
        Clock::decode(&s).ok_or_else(|| crate::store::undecodable("sla_policies.clock", format!("{s:?}")))
    };
    let share = |col: &str| -> Result<f64> { Ok(r.try_get::<i64, _>(col)? as f64 / 1000.0) };
    Ok(Policy {
        source: r.try_get("source")?,
        category: r.try_get("category")?,
        priority: r.try_get("priority")?,
        acknowledge: clock("acknowledge")?,
        return_visit: clock("return_visit")?,
        resolution: clock("resolution")?,
        thresholds: Thresholds {
            blue: share("blue_permille")?,
            yellow: share("yellow_permille")?,
            orange: share("orange_permille")?,
        },
    })
}

const POLICY_COLUMNS: &str = "source, category, priority, acknowledge, return_visit, resolution, blue_permille, yellow_permille, orange_permille";

/// The most specific stored policy for a case (exact match first, then `*` wildcards), or the
/// fallback.
pub async fn policy_for(store: &Store, source: &str, category: &str, priority: &str) -> Result<Policy> {
    let mut conn = store.pool().acquire().await?;
    policy_on(&mut conn, source, category, priority).await
}

/// [`policy_for`] on the caller's connection (inside its transaction).
pub async fn policy_on(conn: &mut sqlx::AnyConnection, source: &str, category: &str, priority: &str) -> Result<Policy> {
    // Every candidate (at most eight: each key is the value or `*`); the domain picks.
    let sql = format!(
        "select {POLICY_COLUMNS} from sla_policies
         where source in ($1, '*') and category in ($2, '*') and priority in ($3, '*')"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(source).bind(category).bind(priority).fetch_all(&mut *conn).await?;
    let candidates = rows.iter().map(policy_from).collect::<Result<Vec<_>>>()?;
    let picked = crate::domain::sla::most_specific(
        candidates.into_iter().map(|p| ((p.source.clone(), p.category.clone(), p.priority.clone()), p)),
    );
    Ok(picked.unwrap_or_else(|| Policy::fallback(source, category, priority)))
}

/// Every stored policy.
pub async fn policies(store: &Store) -> Result<Vec<Policy>> {
    let sql = format!("select {POLICY_COLUMNS} from sla_policies order by source, category, priority");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(store.pool()).await?;
    rows.iter().map(policy_from).collect()
}

/// Stores a policy (replacing the one with the same key), audited with before and after.
pub async fn set_policy(store: &Store, p: &Policy, actor: &Actor) -> Result<()> {
    let before = policy_for(store, &p.source, &p.category, &p.priority).await?;
    let mut tx = store.write().await?;
    sqlx::query("delete from sla_policies where source = $1 and category = $2 and priority = $3")
        .bind(&p.source)
        .bind(&p.category)
        .bind(&p.priority)
        .execute(&mut *tx)
        .await?;
    let permille = |x: f64| (x * 1000.0).round() as i64;
    sqlx::query(
        "insert into sla_policies (source, category, priority, acknowledge, return_visit, resolution, blue_permille, yellow_permille, orange_permille)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&p.source)
    .bind(&p.category)
    .bind(&p.priority)
    .bind(p.acknowledge.encode())
    .bind(p.return_visit.encode())
    .bind(p.resolution.encode())
    .bind(permille(p.thresholds.blue))
    .bind(permille(p.thresholds.yellow))
    .bind(permille(p.thresholds.orange))
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        actor,
        "sla.policy",
        &format!("sla_policy:{}/{}/{}", p.source, p.category, p.priority),
        &serde_json::json!({"before": before, "after": p}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
