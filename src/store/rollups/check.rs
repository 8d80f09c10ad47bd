//! The rating rollups against the raw ratings: recomputed in memory and compared (a check that
//! only reads), or recomputed and kept (a repair).

use sqlx::Row;

use super::{RatingRows, Script, add_ratings_to, ancestors, delta_of};
use crate::store::{Result, Store};

impl RatingRows {
    /// The rows as [`snapshot`] writes them, sorted the same way.
    fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for ((node, day), c) in &self.days {
            out.push(format!(
                "rating_days: {node} {day} {} {} {} {} {} {} {}",
                c.total, c.satisfied, c.neutral, c.unsatisfied, c.defaulted, c.invited, c.excluded
            ));
        }
        for ((node, day, hour), n) in &self.hours {
            out.push(format!("rating_hours: {node} {day} {hour} {n}"));
        }
        for ((node, day, reason), n) in &self.reasons {
            out.push(format!("rating_reasons: {node} {day} {reason} {n}"));
        }
        out
    }
}

/// Rebuilds the rating rollups from the raw ratings and exclusions (in one transaction).
pub async fn recompute_ratings(store: &Store) -> Result<()> {
    rebuild_ratings(store, true).await.map(|_| ())
}

/// How the rating rollups differed from the raw rows: the rollup rows (as [`snapshot`] writes
/// them) only the stored rollups had, and those only the recomputed ones have.
#[derive(Debug, Default)]
pub struct Drift {
    /// Rows in the stored rollups, not in the recomputed ones.
    pub stored_only: Vec<String>,
    /// Rows in the recomputed rollups, not in the stored ones.
    pub recomputed_only: Vec<String>,
}

impl Drift {
    /// The stored rollups matched the raw rows.
    pub fn is_empty(&self) -> bool {
        self.stored_only.is_empty() && self.recomputed_only.is_empty()
    }
}

/// Recomputes the rating rollups from the raw ratings and exclusions and reports how the stored
/// ones differ. With `apply` (a repair) it replaces them, in one write transaction; on
/// PostgreSQL the rollup tables are locked first, so that a rating committed meanwhile adds to
/// the rebuilt rows afterwards instead of being lost. Without it (a check) it only reads, in one
/// snapshot (a read transaction; repeatable read on PostgreSQL), so it holds no writer off.
pub async fn rebuild_ratings(store: &Store, apply: bool) -> Result<Drift> {
    let mut tx =
        if apply { store.write().await? } else { store.pool().begin_with(store.dialect().begin_snapshot()).await? };
    if apply && store.dialect().concurrent_writers() {
        sqlx::query("lock table rating_days, rating_hours, rating_reasons in exclusive mode").execute(&mut *tx).await?;
    }
    let before = snapshot_on(&mut tx).await?;
    let rows = sqlx::query(
        "select r.org_code, r.created_at, r.outcome, r.defaulted, r.source, r.reasons,
                case when x.rating_id is null then 0 else 1 end as excluded
         from ratings r left join rating_exclusions x on x.rating_id = r.id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut deltas = Vec::with_capacity(rows.len());
    for r in &rows {
        deltas.push(delta_of(r, 1)?);
        if r.try_get::<i64, _>("excluded")? != 0 {
            deltas.push(delta_of(r, -1)?);
        }
    }
    drop(rows);
    let mut codes: Vec<&str> = deltas.iter().map(|d| d.org_code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let up = ancestors(&mut tx, &codes).await?;
    let mut recomputed = RatingRows::default();
    recomputed.add(&deltas, &up);
    let after = recomputed.lines();
    if apply {
        for t in ["rating_days", "rating_hours", "rating_reasons"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("delete from {t}"))).execute(&mut *tx).await?;
        }
        for chunk in deltas.chunks(5_000) {
            let mut script = Script::new();
            add_ratings_to(&mut script, chunk, &up);
            script.run(&mut tx).await?;
        }
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    let (b, a): (std::collections::BTreeSet<_>, std::collections::BTreeSet<_>) =
        (before.iter().collect(), after.iter().collect());
    Ok(Drift {
        stored_only: before.iter().filter(|l| !a.contains(l)).cloned().collect(),
        recomputed_only: after.iter().filter(|l| !b.contains(l)).cloned().collect(),
    })
}

/// Rows of a rollup table as text, for comparing two states of the rollups.
pub async fn snapshot(store: &Store) -> Result<Vec<String>> {
    let mut conn = store.pool().acquire().await?;
    snapshot_on(&mut conn).await
}

async fn snapshot_on(conn: &mut sqlx::AnyConnection) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, cols) in [
        ("rating_days", "org_code, day, total, satisfied, neutral, unsatisfied, defaulted, invited, excluded"),
        ("rating_hours", "org_code, day, hour, unsatisfied"),
        ("rating_reasons", "org_code, day, reason, n"),
    ] {
        let sql = format!("select {cols} from {table} order by {cols}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
        for r in rows {
            let mut line = format!("{table}:");
            for i in 0..cols.split(", ").count() {
                match r.try_get::<i64, _>(i) {
                    Ok(v) => line.push_str(&format!(" {v}")),
                    Err(_) => line.push_str(&format!(" {}", r.try_get::<String, _>(i)?)),
                }
            }
            out.push(line);
        }
    }
    Ok(out)
}
