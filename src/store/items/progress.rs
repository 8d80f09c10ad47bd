//! How far an item has come against its plan: milestones, and a parent's progress rolled up
//! from its sub-items.

use super::*;

/// A milestone of an item: by when, how far.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Milestone {
    /// Id.
    pub id: String,
    /// What is done by then.
    pub title: String,
    /// By when, ms.
    pub planned_at: i64,
    /// Percent done by then.
    pub planned_percent: i64,
    /// Reached, ms.
    pub done_at: Option<i64>,
}

/// An item's milestones, in time order.
pub async fn milestones(store: &Store, id: &str) -> Result<Vec<Milestone>> {
    let rows = sqlx::query(
        "select id, title, planned_at, planned_percent, done_at from item_milestones where item_id = $1
         order by planned_at, seq",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Milestone {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                planned_at: r.try_get("planned_at")?,
                planned_percent: r.try_get("planned_percent")?,
                done_at: r.try_get("done_at")?,
            })
        })
        .collect()
}

/// Adds a milestone to an open item, audited.
pub async fn add_milestone(
    store: &Store,
    item: &str,
    title: &str,
    planned_at: i64,
    percent: u8,
    actor: &Actor,
) -> Result<()> {
    let mut tx = store.write().await?;
    let seq: i64 =
        sqlx::query_scalar("select cast(coalesce(max(seq), 0) + 1 as bigint) from item_milestones where item_id = $1")
            .bind(item)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(
        "insert into item_milestones (id, item_id, seq, title, planned_at, planned_percent) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(item)
    .bind(seq)
    .bind(title)
    .bind(planned_at)
    .bind(i64::from(percent))
    .execute(&mut *tx)
    .await?;
    let change = serde_json::json!({"title": title, "planned_at": planned_at, "percent": percent});
    crate::store::audit::append(&mut tx, actor, "item.milestone", &format!("item:{item}"), &change).await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a milestone of `item` reached (once); answers whether it was open.
pub async fn reach_milestone(store: &Store, item: &str, milestone: &str, actor: &Actor) -> Result<bool> {
    let mut tx = store.write().await?;
    let done =
        sqlx::query("update item_milestones set done_at = $3 where id = $1 and item_id = $2 and done_at is null")
            .bind(milestone)
            .bind(item)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let change = serde_json::json!({"milestone": milestone});
    crate::store::audit::append(&mut tx, actor, "item.milestone_reached", &format!("item:{item}"), &change).await?;
    tx.commit().await?;
    Ok(true)
}

/// The milestones of the items in `ids`, as (time, percent) per item, for the planned progress.
pub(crate) async fn plans_of(store: &Store) -> Result<std::collections::HashMap<String, Vec<(i64, u8)>>> {
    let rows = sqlx::query(
        "select m.item_id, m.planned_at, m.planned_percent from item_milestones m join items i on i.id = m.item_id
         where i.state in ('assigned', 'in_progress')",
    )
    .fetch_all(store.pool())
    .await?;
    let mut out: std::collections::HashMap<String, Vec<(i64, u8)>> = std::collections::HashMap::new();
    for r in rows {
        let pct: i64 = r.try_get("planned_percent")?;
        out.entry(r.try_get("item_id")?)
            .or_default()
            .push((r.try_get("planned_at")?, u8::try_from(pct.clamp(0, 100)).unwrap_or(100)));
    }
    Ok(out)
}

/// Rolls the progress of `parent` up from its children (weighted; a closed child counts as
/// done), inside `tx`.
pub(crate) async fn roll_up(tx: &mut Tx, parent: &str) -> Result<()> {
    let rows = sqlx::query("select weight, progress, state from items where parent_id = $1")
        .bind(parent)
        .fetch_all(&mut **tx)
        .await?;
    let mut children = Vec::with_capacity(rows.len());
    for r in rows {
        let (weight, progress, state): (i64, i64, String) =
            (r.try_get("weight")?, r.try_get("progress")?, r.try_get("state")?);
        let done = if state == "closed" { 100 } else { progress.clamp(0, 100) };
        children.push((u32::try_from(weight.max(1)).unwrap_or(1), u8::try_from(done).unwrap_or(0)));
    }
    if children.is_empty() {
        return Ok(());
    }
    let rolled = crate::domain::item::ladder::rolled_up(&children);
    sqlx::query("update items set progress = $2 where id = $1 and state <> 'closed'")
        .bind(parent)
        .bind(i64::from(rolled))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The items whose parent is `id`, in order of assignment.
pub async fn children(store: &Store, id: &str) -> Result<Vec<Item>> {
    let sql = format!("select {ITEM_COLUMNS} where i.parent_id = $1 order by i.created_at, i.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(store.pool()).await?;
    rows.iter().map(item_from).collect()
}
