//! What an item leaves behind: its timeline, numbered documents and re-checks.

use super::*;

/// A timeline entry.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ItemEvent)]
pub struct Event {
    /// Id.
    pub id: String,
    /// Order within the item.
    pub seq: i64,
    /// The action.
    pub action: String,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Who.
    pub actor: String,
    /// In what role.
    pub actor_role: String,
    /// What they wrote.
    pub note: String,
    /// Details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When, ms.
    pub created_at: i64,
}

/// An item's timeline, in order.
pub async fn events(store: &Store, id: &str) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "select id, seq, action, from_state, to_state, actor, actor_role, note, data, created_at from item_events
         where item_id = $1 order by seq",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                id: r.try_get("id")?,
                seq: r.try_get("seq")?,
                action: r.try_get("action")?,
                from_state: r.try_get("from_state")?,
                to_state: r.try_get("to_state")?,
                actor: r.try_get("actor")?,
                actor_role: r.try_get("actor_role")?,
                note: r.try_get("note")?,
                data: crate::store::decode_json(&r.try_get::<String, _>("data")?, "item_events.data")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// A numbered document of an item.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ItemDocument)]
pub struct Document {
    /// Id.
    pub id: String,
    /// The timeline entry it was issued with.
    pub event_id: Option<String>,
    /// `item_assignment`, `item_closing`, `supervision_letter`, `talk` or `referral`.
    pub kind: String,
    /// The issuing office's name.
    pub office_name: String,
    /// The printed number.
    pub number: String,
    /// What it says.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// Issued, ms.
    pub created_at: i64,
}

/// An item's documents, in order of issue.
pub async fn documents(store: &Store, id: &str) -> Result<Vec<Document>> {
    let rows = sqlx::query(
        "select d.id, d.event_id, d.kind, o.name as office_name, d.number, d.body, d.created_at from item_documents d
         join org_nodes o on o.code = d.office_code where d.item_id = $1 order by d.created_at, d.serial",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Document {
                id: r.try_get("id")?,
                event_id: opt_text(r, "event_id")?,
                kind: r.try_get("kind")?,
                office_name: r.try_get("office_name")?,
                number: r.try_get("number")?,
                body: crate::store::decode_json(&r.try_get::<String, _>("body")?, "item_documents.body")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// A re-check (回头看).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Recheck {
    /// Due, ms.
    pub due_at: i64,
    /// Done, ms.
    pub done_at: Option<i64>,
    /// The fix held.
    pub passed: Option<bool>,
    /// By whom.
    pub checked_by: Option<String>,
}

/// An item's re-checks, by due date.
pub async fn rechecks(store: &Store, id: &str) -> Result<Vec<Recheck>> {
    let rows = sqlx::query(
        "select due_at, done_at, passed, checked_by from item_rechecks where item_id = $1 order by due_at, id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Recheck {
                due_at: r.try_get("due_at")?,
                done_at: r.try_get("done_at")?,
                passed: r.try_get::<Option<i64>, _>("passed")?.map(|v| v != 0),
                checked_by: opt_text(r, "checked_by")?,
            })
        })
        .collect()
}

/// Re-checks not yet done that fall due by `until`, of closed items whose lead unit lies within
/// `scopes`: item id, title and due time, soonest first.
pub async fn rechecks_due(
    store: &Store,
    scopes: &[OrgCode],
    until: i64,
    limit: i64,
) -> Result<Vec<(String, String, i64)>> {
    let mut binds = vec![Bind::Int(until)];
    let mut marks = Vec::new();
    for s in scopes {
        binds.push(Bind::Text(s.as_str().to_owned()));
        marks.push(format!("${}", binds.len()));
    }
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select i.id, i.title, r.due_at from item_rechecks r join items i on i.id = r.item_id
         where r.done_at is null and r.due_at <= $1 and i.state = 'closed'
           and i.unit_code in (select descendant from org_closure where ancestor in ({}))
         order by r.due_at, i.id limit {}",
        marks.join(", "),
        limit.clamp(1, 200)
    );
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("title")?, r.try_get("due_at")?))).collect()
}
