//! Inspection plans: written before visits, naming the leader, scope, window, mode and checklist.

use super::*;

/// An inspection plan (《政府督查工作条例》: a written plan, a named leader, a scope, a window).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Plan {
    /// Id.
    pub id: String,
    /// The team.
    pub team_code: String,
    /// Its name.
    pub team_name: String,
    /// What it inspects.
    pub title: String,
    /// `open` (明察) or `secret` (暗访: sealed from everyone outside the team and the city).
    pub mode: Mode,
    /// The subtree it covers.
    pub scope_code: String,
    /// Its name.
    pub scope_name: String,
    /// Targets (which halls, which services).
    pub targets: String,
    /// The team leader named on it.
    pub leader: String,
    /// First day, YYYY-MM-DD.
    pub starts_on: String,
    /// Last day, YYYY-MM-DD.
    pub ends_on: String,
    /// The checklist's keys.
    pub checklist: Vec<String>,
    /// Who wrote it.
    pub created_by: String,
    /// Written, ms.
    pub created_at: i64,
}

/// A plan to write.
#[derive(Debug, Clone)]
pub struct NewPlan {
    /// The team.
    pub team_code: String,
    /// What it inspects.
    pub title: String,
    /// How.
    pub mode: Mode,
    /// The subtree it covers.
    pub scope_code: String,
    /// Targets.
    pub targets: String,
    /// The team leader.
    pub leader: String,
    /// First day, YYYY-MM-DD.
    pub starts_on: String,
    /// Last day, YYYY-MM-DD.
    pub ends_on: String,
    /// The checklist's keys.
    pub checklist: Vec<String>,
}

const PLAN_COLUMNS: &str =
    "p.id, p.team_code, t.name as team_name, p.title, p.mode, p.scope_code, n.name as scope_name,
    p.targets, p.leader, p.starts_on, p.ends_on, p.checklist, p.created_by, p.created_at
    from inspection_plans p join inspection_teams t on t.code = p.team_code join org_nodes n on n.code = p.scope_code";

fn plan_from(r: &AnyRow) -> Result<Plan> {
    let mode: String = r.try_get("mode")?;
    let checklist: String = r.try_get("checklist")?;
    Ok(Plan {
        id: r.try_get("id")?,
        team_code: r.try_get("team_code")?,
        team_name: r.try_get("team_name")?,
        title: r.try_get("title")?,
        mode: Mode::parse(&mode).ok_or_else(|| crate::store::undecodable("inspection_plans.mode", mode.clone()))?,
        scope_code: r.try_get("scope_code")?,
        scope_name: r.try_get("scope_name")?,
        targets: r.try_get("targets")?,
        leader: r.try_get("leader")?,
        starts_on: r.try_get("starts_on")?,
        ends_on: r.try_get("ends_on")?,
        checklist: serde_json::from_str(&checklist)
            .map_err(|e| crate::store::undecodable("inspection_plans.checklist", e.to_string()))?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Writes a plan, audited (a secret plan's audit row names the team only).
pub async fn write_plan(store: &Store, new: &NewPlan, actor: &Actor) -> Result<Plan> {
    let id = new_id();
    let mut tx = store.write().await?;
    sqlx::query(
        "insert into inspection_plans (id, team_code, title, mode, scope_code, targets, leader, starts_on, ends_on,
            checklist, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&id)
    .bind(&new.team_code)
    .bind(&new.title)
    .bind(new.mode.as_str())
    .bind(&new.scope_code)
    .bind(&new.targets)
    .bind(&new.leader)
    .bind(&new.starts_on)
    .bind(&new.ends_on)
    .bind(serde_json::to_string(&new.checklist).unwrap_or_else(|_| "[]".into()))
    .bind(&actor.name)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let change = serde_json::json!({"team": new.team_code, "mode": new.mode});
    audit::append(&mut tx, actor, "plan.write", &format!("plan:{id}"), &change).await?;
    tx.commit().await?;
    plan(store, &id).await?.ok_or(StoreError::Missing("the plan just written"))
}

/// One plan.
pub async fn plan(store: &Store, id: &str) -> Result<Option<Plan>> {
    let sql = format!("select {PLAN_COLUMNS} where p.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(plan_from).transpose()
}

/// The plans of `teams`, and the open plans on subtrees within `scopes` (all for the city),
/// newest first.
pub async fn plans(
    store: &Store,
    teams: &[String],
    scopes: &[String],
    city_wide: bool,
    limit: i64,
) -> Result<Vec<Plan>> {
    let mut binds: Vec<crate::store::Bind> = Vec::new();
    let team_marks = marks(teams, &mut binds);
    let scope_marks = marks(scopes, &mut binds);
    let sql = if city_wide {
        format!("select {PLAN_COLUMNS} order by p.starts_on desc, p.id limit {limit}")
    } else {
        format!(
            "select {PLAN_COLUMNS} where p.team_code in ({team_marks})
               or (p.mode = 'open' and p.scope_code in (select descendant from org_closure where ancestor in ({scope_marks})))
             order by p.starts_on desc, p.id limit {limit}"
        )
    };
    let rows = crate::store::bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    rows.iter().map(plan_from).collect()
}

/// The visits made under a plan, newest first.
pub async fn visits_of_plan(store: &Store, plan: &str) -> Result<Vec<Visit>> {
    let sql = format!("select {VISIT_COLUMNS} where v.plan_id = $1 order by v.visited_at desc, v.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan).fetch_all(store.pool()).await?;
    rows.iter().map(visit_from).collect()
}
