//! The 政商交往 positive and negative lists: published, versioned documents, the newest version
//! of each kind in force, the older ones kept readable.

use sqlx::Row;

use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, new_id, now_ms};

/// One published version of a list.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ConductList {
    /// Id.
    pub id: String,
    /// `positive` (正面清单: what officials should do) or `negative` (负面清单: what they must not).
    pub kind: String,
    /// 1, 2, … per kind.
    pub version: i64,
    /// Title as published.
    pub title: String,
    /// The rules, one per entry.
    pub rules: Vec<String>,
    /// Who published it.
    pub published_by: String,
    /// When, ms.
    pub published_at: i64,
}

/// Every version of both lists, newest first within each kind (positive first).
pub async fn all(store: &Store) -> Result<Vec<ConductList>> {
    let rows =
        sqlx::query("select * from conduct_lists order by kind desc, version desc").fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get("body")?;
            Ok(ConductList {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                version: r.try_get("version")?,
                title: r.try_get("title")?,
                rules: body.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
                published_by: r.try_get("published_by")?,
                published_at: r.try_get("published_at")?,
            })
        })
        .collect()
}

/// Publishes a new version of list `kind` (its version one past the newest); audited.
pub async fn publish(store: &Store, kind: &str, title: &str, rules: &[String], actor: &Actor) -> Result<ConductList> {
    let mut tx = store.write().await?;
    let version: i64 =
        sqlx::query_scalar("select cast(coalesce(max(version), 0) + 1 as bigint) from conduct_lists where kind = $1")
            .bind(kind)
            .fetch_one(&mut *tx)
            .await?;
    let list = ConductList {
        id: new_id(),
        kind: kind.to_owned(),
        version,
        title: title.to_owned(),
        rules: rules.to_vec(),
        published_by: actor.name.clone(),
        published_at: now_ms(),
    };
    sqlx::query(
        "insert into conduct_lists (id, kind, version, title, body, published_by, published_at) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&list.id)
    .bind(kind)
    .bind(version)
    .bind(title)
    .bind(rules.join("\n"))
    .bind(&actor.name)
    .bind(list.published_at)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        actor,
        "conduct.publish",
        &format!("conduct:{}", list.id),
        &serde_json::json!({"kind": kind, "version": version}),
    )
    .await?;
    tx.commit().await?;
    Ok(list)
}
