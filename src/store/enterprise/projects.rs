//! Key projects: registered with their firms, funding by source and stage nodes; reported on
//! monthly (investment completed, funds arrived by source); coloured from their dates and
//! reports by `domain::enterprise::project`, on every change and on the minute's sweep.

use chrono::NaiveDate;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Viewer;
use crate::domain::enterprise::project::{FundingSource, Progress, ProjectLevel, ProjectStage};
use crate::store::audit::{self, Actor};
use crate::store::{Bind, Result, Store, StoreError, Tx, bind_all, new_id, now_ms, opt_text};

/// A project as listed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Project {
    /// Id.
    pub id: String,
    /// Its code (`XN-2026-001`), unique.
    pub code: String,
    /// Name.
    pub name: String,
    /// The park's org code and name.
    pub park_code: String,
    /// The park's name.
    pub park_name: String,
    /// The chain, if any.
    pub chain_id: Option<String>,
    /// The chain's name.
    pub chain_name: Option<String>,
    /// Province, city or county key project.
    pub level: ProjectLevel,
    /// Where it stands.
    pub stage: ProjectStage,
    /// Committed investment, 万元.
    pub committed_wan: f64,
    /// Investment completed to date, 万元.
    pub completed_wan: f64,
    /// Funds arrived to date, 万元.
    pub arrived_wan: f64,
    /// Signed, `YYYY-MM-DD`.
    pub signed_on: String,
    /// Planned start.
    pub planned_start: String,
    /// Planned finish.
    pub planned_finish: String,
    /// Actual start.
    pub started_on: Option<String>,
    /// In production since.
    pub producing_on: Option<String>,
    /// The responsible unit.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// The responsible person.
    pub responsible_person: String,
    /// The 项目管家's login name, if named.
    pub manager: Option<String>,
    /// The 项目管家's name.
    pub manager_name: Option<String>,
    /// The city leader in charge.
    pub city_leader: String,
    /// What it is.
    pub description: String,
    /// `green`, `yellow` or `red`, computed.
    pub colour: String,
    /// Why it is not green: `start_missed`, `behind_plan`, `funds_behind`.
    pub slip: Option<String>,
    /// The planned share of the period elapsed, percent.
    pub planned_percent: f64,
    /// Desk requests still open.
    pub open_requests: i64,
    /// Version.
    pub version: i64,
}

impl Project {
    /// The completed investment as a share of the committed, percent.
    pub fn completed_percent(&self) -> f64 {
        crate::domain::enterprise::project::share(self.completed_wan, self.committed_wan)
    }

    /// The funds arrived as a share of the committed, percent.
    pub fn arrived_percent(&self) -> f64 {
        crate::domain::enterprise::project::share(self.arrived_wan, self.committed_wan)
    }
}

/// A funding line: the source and the amount planned from it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Funding {
    /// Source.
    pub source: FundingSource,
    /// Planned, 万元.
    pub planned_wan: f64,
    /// Arrived to date, 万元.
    pub arrived_wan: f64,
}

/// A stage node.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = ProjectNode)]
pub struct Node {
    /// Position, from 1.
    pub seq: i64,
    /// What it is (取得施工许可).
    pub name: String,
    /// Due, `YYYY-MM-DD`.
    pub due_on: String,
    /// Who owns it.
    pub owner: String,
    /// Done, `YYYY-MM-DD`.
    pub done_on: Option<String>,
}

/// A monthly report.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Report {
    /// `YYYY-MM`.
    pub month: String,
    /// Investment completed in the month, 万元.
    pub completed_wan: f64,
    /// Funds arrived in the month, by source.
    pub funds: Vec<(FundingSource, f64)>,
    /// What happened.
    pub note: String,
    /// Who reported it.
    pub reported_by: String,
}

/// A project with everything on its page.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProjectDetail {
    /// The project.
    #[serde(flatten)]
    pub project: Project,
    /// Its firms: id, credit code, name.
    pub firms: Vec<(String, String, String)>,
    /// Funding by source.
    pub funding: Vec<Funding>,
    /// Stage nodes.
    pub nodes: Vec<Node>,
    /// Monthly reports, latest first.
    pub reports: Vec<Report>,
}

const COLUMNS: &str = "p.*, n.name as park_name, u.name as unit_name, c.name as chain_name,
    m.username as manager_username, m.display_name as manager_name,
    (select cast(count(*) as bigint) from desk_requests r where r.project_id = p.id and r.closed_at is null) as open_requests
    from projects p join org_nodes n on n.code = p.park_code join org_nodes u on u.code = p.unit_code
    left join chains c on c.id = p.chain_id left join users m on m.id = p.manager";

fn bad(column: &'static str, v: &str) -> StoreError {
    StoreError::Decode { column, reason: format!("unknown value {v}") }
}

/// Midnight (China time) of a `YYYY-MM-DD` date, ms.
pub fn day_ms(d: &str) -> i64 {
    NaiveDate::parse_from_str(d, "%Y-%m-%d").ok().and_then(crate::domain::time::day_start).unwrap_or(0)
}

fn project_from(r: &AnyRow, now: i64) -> Result<Project> {
    let level: String = r.try_get("level")?;
    let stage: String = r.try_get("stage")?;
    let planned_start: String = r.try_get("planned_start")?;
    let planned_finish: String = r.try_get("planned_finish")?;
    let stage = ProjectStage::parse(&stage).ok_or_else(|| bad("projects.stage", &stage))?;
    let progress = Progress {
        stage,
        planned_start: day_ms(&planned_start),
        planned_finish: day_ms(&planned_finish),
        committed: r.try_get("committed_wan")?,
        completed: r.try_get("completed_wan")?,
        arrived: r.try_get("arrived_wan")?,
    };
    Ok(Project {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        park_code: r.try_get("park_code")?,
        park_name: r.try_get("park_name")?,
        chain_id: opt_text(r, "chain_id")?,
        chain_name: opt_text(r, "chain_name")?,
        level: ProjectLevel::parse(&level).ok_or_else(|| bad("projects.level", &level))?,
        stage,
        committed_wan: progress.committed,
        completed_wan: progress.completed,
        arrived_wan: progress.arrived,
        signed_on: r.try_get("signed_on")?,
        planned_percent: progress.planned_percent(now),
        planned_start,
        planned_finish,
        started_on: opt_text(r, "started_on")?,
        producing_on: opt_text(r, "producing_on")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("unit_name")?,
        responsible_person: r.try_get("responsible_person")?,
        manager: opt_text(r, "manager_username")?,
        manager_name: opt_text(r, "manager_name")?,
        city_leader: r.try_get("city_leader")?,
        description: r.try_get("description")?,
        colour: r.try_get("colour")?,
        slip: opt_text(r, "slip")?,
        open_requests: r.try_get("open_requests")?,
        version: r.try_get("version")?,
    })
}

/// Which projects a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this park's.
    pub park: Option<String>,
    /// Only this chain's.
    pub chain: Option<String>,
    /// Only this colour.
    pub colour: Option<String>,
    /// Only this stage.
    pub stage: Option<ProjectStage>,
    /// Name or code containing this.
    pub q: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// The projects `viewer` sees that `f` selects, red first, then by code, with how many in all.
pub async fn list(store: &Store, viewer: &Viewer<'_>, f: &Filter) -> Result<(Vec<Project>, i64)> {
    let mut binds = Vec::new();
    let mut wheres = vec![viewer.clause(&mut binds)];
    let push = |sql: &str, b: Bind, binds: &mut Vec<Bind>, wheres: &mut Vec<String>| {
        binds.push(b);
        wheres.push(sql.replace('?', &format!("${}", binds.len())));
    };
    if let Some(park) = &f.park {
        push("p.park_code = ?", Bind::Text(park.clone()), &mut binds, &mut wheres);
    }
    if let Some(chain) = &f.chain {
        push("p.chain_id = ?", Bind::Text(chain.clone()), &mut binds, &mut wheres);
    }
    if let Some(colour) = &f.colour {
        push("p.colour = ?", Bind::Text(colour.clone()), &mut binds, &mut wheres);
    }
    if let Some(stage) = f.stage {
        push("p.stage = ?", Bind::Text(stage.as_str().into()), &mut binds, &mut wheres);
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        push("(p.name like ? escape '\\' or p.code like ? escape '\\')", Bind::Text(pattern), &mut binds, &mut wheres);
    }
    let where_sql = wheres.join(" and ");
    let total: i64 = bind_all(
        sqlx::query(sqlx::AssertSqlSafe(format!("select cast(count(*) as bigint) from projects p where {where_sql}"))),
        binds.clone(),
    )
    .fetch_one(store.pool())
    .await?
    .try_get(0)?;
    binds.push(Bind::Int(f.limit.clamp(1, 500)));
    let limit = binds.len();
    binds.push(Bind::Int(f.offset.max(0)));
    let offset = binds.len();
    let sql = format!(
        "select {COLUMNS} where {where_sql}
         order by case p.colour when 'red' then 0 when 'yellow' then 1 else 2 end, p.code limit ${limit} offset ${offset}"
    );
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    let now = now_ms();
    Ok((rows.iter().map(|r| project_from(r, now)).collect::<Result<_>>()?, total))
}

/// Project `code` if `viewer` sees it, with its firms, funding, nodes and reports.
pub async fn get(store: &Store, viewer: &Viewer<'_>, code: &str) -> Result<Option<ProjectDetail>> {
    let mut binds = vec![Bind::Text(code.to_owned())];
    let clause = viewer.clause(&mut binds);
    let sql = format!("select {COLUMNS} where p.code = $1 and {clause}");
    let Some(row) = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_optional(store.pool()).await? else {
        return Ok(None);
    };
    let project = project_from(&row, now_ms())?;
    let id = project.id.clone();
    let firms = sqlx::query_as(
        "select e.id, e.uscc, e.name from project_firms f join enterprises e on e.id = f.enterprise_id
         where f.project_id = $1 order by e.name",
    )
    .bind(&id)
    .fetch_all(store.pool())
    .await?;
    let arrived: Vec<(String, f64)> = sqlx::query_as(
        "select f.source, sum(f.arrived_wan) from project_report_funds f join project_reports r on r.id = f.report_id
         where r.project_id = $1 group by f.source",
    )
    .bind(&id)
    .fetch_all(store.pool())
    .await?;
    let funding = sqlx::query("select source, planned_wan from project_funding where project_id = $1")
        .bind(&id)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| {
            let source: String = r.try_get("source")?;
            Ok(Funding {
                source: FundingSource::parse(&source).ok_or_else(|| bad("project_funding.source", &source))?,
                planned_wan: r.try_get("planned_wan")?,
                arrived_wan: arrived.iter().find(|(s, _)| *s == source).map_or(0.0, |(_, a)| *a),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let nodes = sqlx::query_as::<_, (i64, String, String, String, Option<String>)>(
        "select seq, name, due_on, owner, done_on from project_nodes where project_id = $1 order by seq",
    )
    .bind(&id)
    .fetch_all(store.pool())
    .await?
    .into_iter()
    .map(|(seq, name, due_on, owner, done_on)| Node { seq, name, due_on, owner, done_on })
    .collect();
    let funds: Vec<(String, String, f64)> = sqlx::query_as(
        "select f.report_id, f.source, f.arrived_wan from project_report_funds f join project_reports r on r.id = f.report_id
         where r.project_id = $1 order by f.source",
    )
    .bind(&id)
    .fetch_all(store.pool())
    .await?;
    let mut reports = Vec::new();
    for r in sqlx::query(
        "select id, month, completed_wan, note, reported_by from project_reports where project_id = $1 order by month desc",
    )
    .bind(&id)
    .fetch_all(store.pool())
    .await?
    {
        let report: String = r.try_get("id")?;
        reports.push(Report {
            month: r.try_get("month")?,
            completed_wan: r.try_get("completed_wan")?,
            funds: funds
                .iter()
                .filter(|(of, _, _)| *of == report)
                .filter_map(|(_, s, a)| FundingSource::parse(s).map(|s| (s, *a)))
                .collect(),
            note: r.try_get("note")?,
            reported_by: r.try_get("reported_by")?,
        });
    }
    Ok(Some(ProjectDetail { project, firms, funding, nodes, reports }))
}

/// A project to register (validated at the edge).
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Code, unique.
    pub code: String,
    /// Name.
    pub name: String,
    /// The park.
    pub park_code: String,
    /// The chain.
    pub chain_id: Option<String>,
    /// Level.
    pub level: ProjectLevel,
    /// Stage.
    pub stage: ProjectStage,
    /// Committed investment by source, 万元 (the committed total is their sum).
    pub funding: Vec<(FundingSource, f64)>,
    /// Signed.
    pub signed_on: NaiveDate,
    /// Planned start.
    pub planned_start: NaiveDate,
    /// Planned finish.
    pub planned_finish: NaiveDate,
    /// Started.
    pub started_on: Option<NaiveDate>,
    /// Responsible unit.
    pub unit_code: String,
    /// Responsible person.
    pub responsible_person: String,
    /// The 项目管家's login name.
    pub manager: Option<String>,
    /// City leader in charge.
    pub city_leader: String,
    /// What it is.
    pub description: String,
    /// Its firms' credit codes.
    pub firms: Vec<String>,
    /// Stage nodes: name, due, owner.
    pub nodes: Vec<(String, NaiveDate, String)>,
}

/// Why a project (or its report) was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The code is taken.
    #[error("a project with this code exists already")]
    Taken,
    /// A field names something that does not exist.
    #[error("{0} names nothing")]
    Unknown(&'static str),
    /// The month is reported already.
    #[error("this month is reported already")]
    MonthTaken,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ProjectError {
    fn from(e: sqlx::Error) -> Self {
        ProjectError::Store(e.into())
    }
}

async fn exists(tx: &mut Tx, sql: &'static str, v: &str) -> Result<bool, ProjectError> {
    Ok(sqlx::query_scalar::<_, String>(sql).bind(v).fetch_optional(&mut **tx).await?.is_some())
}

/// Registers a project inside `tx`; returns its id. Audited.
pub async fn create_in(tx: &mut Tx, new: &NewProject, actor: &Actor) -> Result<String, ProjectError> {
    if exists(tx, "select id from projects where code = $1", &new.code).await? {
        return Err(ProjectError::Taken);
    }
    if !exists(tx, "select org_code from parks where org_code = $1", &new.park_code).await? {
        return Err(ProjectError::Unknown("park_code"));
    }
    if !exists(tx, "select code from org_nodes where code = $1", &new.unit_code).await? {
        return Err(ProjectError::Unknown("unit_code"));
    }
    if let Some(chain) = &new.chain_id
        && !exists(tx, "select id from chains where id = $1", chain).await?
    {
        return Err(ProjectError::Unknown("chain_id"));
    }
    let manager = match &new.manager {
        Some(m) => Some(
            sqlx::query_scalar::<_, String>("select id from users where username = $1 and role <> 'enterprise'")
                .bind(m)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(ProjectError::Unknown("manager"))?,
        ),
        None => None,
    };
    let mut firms = Vec::new();
    for uscc in &new.firms {
        let id: Option<String> = sqlx::query_scalar("select id from enterprises where uscc = $1")
            .bind(uscc)
            .fetch_optional(&mut **tx)
            .await?;
        firms.push(id.ok_or(ProjectError::Unknown("firms"))?);
    }
    let id = new_id();
    let now = now_ms();
    let committed: f64 = new.funding.iter().map(|(_, a)| a).sum();
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    sqlx::query(
        "insert into projects (id, code, name, park_code, chain_id, level, stage, committed_wan, planned_start, planned_finish,
            started_on, producing_on, signed_on, unit_code, responsible_person, manager, city_leader, description,
            completed_wan, arrived_wan, colour, slip, version, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, null, $12, $13, $14, $15, $16, $17, 0, 0, 'green', null, 1, $18, $18)",
    )
    .bind(&id)
    .bind(&new.code)
    .bind(&new.name)
    .bind(&new.park_code)
    .bind(&new.chain_id)
    .bind(new.level.as_str())
    .bind(new.stage.as_str())
    .bind(committed)
    .bind(day(new.planned_start))
    .bind(day(new.planned_finish))
    .bind(new.started_on.map(day))
    .bind(day(new.signed_on))
    .bind(&new.unit_code)
    .bind(&new.responsible_person)
    .bind(&manager)
    .bind(&new.city_leader)
    .bind(&new.description)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for firm in &firms {
        sqlx::query("insert into project_firms (project_id, enterprise_id) values ($1, $2)")
            .bind(&id)
            .bind(firm)
            .execute(&mut **tx)
            .await?;
    }
    for (source, planned) in &new.funding {
        sqlx::query("insert into project_funding (project_id, source, planned_wan) values ($1, $2, $3)")
            .bind(&id)
            .bind(source.as_str())
            .bind(planned)
            .execute(&mut **tx)
            .await?;
    }
    for (i, (name, due, owner)) in new.nodes.iter().enumerate() {
        sqlx::query("insert into project_nodes (id, project_id, seq, name, due_on, owner, done_on) values ($1, $2, $3, $4, $5, $6, null)")
            .bind(new_id())
            .bind(&id)
            .bind(i as i64 + 1)
            .bind(name)
            .bind(day(*due))
            .bind(owner)
            .execute(&mut **tx)
            .await?;
    }
    recolour_in(tx, &id, now).await?;
    audit::append(
        tx,
        actor,
        "project.create",
        &format!("project:{id}"),
        &serde_json::json!({"code": new.code, "name": new.name}),
    )
    .await?;
    Ok(id)
}

/// Registers a project; returns its id.
pub async fn create(store: &Store, new: &NewProject, actor: &Actor) -> Result<String, ProjectError> {
    let mut tx = store.write().await?;
    let id = create_in(&mut tx, new, actor).await?;
    tx.commit().await?;
    Ok(id)
}

/// A monthly report to record.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// `YYYY-MM`.
    pub month: String,
    /// Investment completed in the month, 万元.
    pub completed_wan: f64,
    /// Funds arrived in the month by source.
    pub funds: Vec<(FundingSource, f64)>,
    /// What happened.
    pub note: String,
}

/// Records a monthly report of project `id` inside `tx`: the month's figures, the cumulative
/// totals and the colour. Audited.
pub async fn report_in(tx: &mut Tx, id: &str, r: &NewReport, actor: &Actor) -> Result<(), ProjectError> {
    let taken: Option<String> =
        sqlx::query_scalar("select id from project_reports where project_id = $1 and month = $2")
            .bind(id)
            .bind(&r.month)
            .fetch_optional(&mut **tx)
            .await?;
    if taken.is_some() {
        return Err(ProjectError::MonthTaken);
    }
    let report = new_id();
    let now = now_ms();
    sqlx::query(
        "insert into project_reports (id, project_id, month, completed_wan, note, reported_by, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&report)
    .bind(id)
    .bind(&r.month)
    .bind(r.completed_wan)
    .bind(&r.note)
    .bind(&actor.name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for (source, amount) in &r.funds {
        sqlx::query("insert into project_report_funds (report_id, source, arrived_wan) values ($1, $2, $3)")
            .bind(&report)
            .bind(source.as_str())
            .bind(amount)
            .execute(&mut **tx)
            .await?;
    }
    let arrived: f64 = r.funds.iter().map(|(_, a)| a).sum();
    sqlx::query(
        "update projects set completed_wan = completed_wan + $2, arrived_wan = arrived_wan + $3, version = version + 1, updated_at = $4 where id = $1",
    )
    .bind(id)
    .bind(r.completed_wan)
    .bind(arrived)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    recolour_in(tx, id, now).await?;
    audit::append(
        tx,
        actor,
        "project.report",
        &format!("project:{id}"),
        &serde_json::json!({"month": r.month, "completed_wan": r.completed_wan, "arrived_wan": arrived}),
    )
    .await?;
    Ok(())
}

/// Records a monthly report of project `id`.
pub async fn report(store: &Store, id: &str, r: &NewReport, actor: &Actor) -> Result<(), ProjectError> {
    let mut tx = store.write().await?;
    report_in(&mut tx, id, r, actor).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves project `id` to `stage` (recording the start or the production date `on`) and marks
/// stage nodes done; recoloured, audited.
pub async fn progress(
    store: &Store,
    id: &str,
    stage: Option<(ProjectStage, NaiveDate)>,
    nodes_done: &[(i64, NaiveDate)],
    actor: &Actor,
) -> Result<(), ProjectError> {
    let mut tx = store.write().await?;
    let now = now_ms();
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    if let Some((stage, on)) = stage {
        let (stage_name, on) = (stage.as_str(), day(on));
        let q = match stage {
            ProjectStage::Building => sqlx::query(
                "update projects set stage = $2, started_on = coalesce(started_on, $3), version = version + 1, updated_at = $4 where id = $1",
            )
            .bind(id)
            .bind(stage_name)
            .bind(on)
            .bind(now),
            ProjectStage::Producing => sqlx::query(
                "update projects set stage = $2, producing_on = $3, started_on = coalesce(started_on, $3), version = version + 1, updated_at = $4 where id = $1",
            )
            .bind(id)
            .bind(stage_name)
            .bind(on)
            .bind(now),
            ProjectStage::Signed | ProjectStage::Terminated => {
                sqlx::query("update projects set stage = $2, version = version + 1, updated_at = $3 where id = $1")
                    .bind(id)
                    .bind(stage_name)
                    .bind(now)
            }
        };
        q.execute(&mut *tx).await?;
    }
    for (seq, on) in nodes_done {
        let done = sqlx::query("update project_nodes set done_on = $3 where project_id = $1 and seq = $2")
            .bind(id)
            .bind(seq)
            .bind(day(*on))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(ProjectError::Unknown("nodes"));
        }
    }
    recolour_in(&mut tx, id, now).await?;
    let change = serde_json::json!({"stage": stage.map(|(s, on)| (s, day(on))), "nodes_done": nodes_done.iter().map(|(s, d)| (s, day(*d))).collect::<Vec<_>>()});
    audit::append(&mut tx, actor, "project.progress", &format!("project:{id}"), &change).await?;
    tx.commit().await?;
    Ok(())
}

/// Recomputes the colour of project `id` at `now`.
async fn recolour_in(tx: &mut Tx, id: &str, now: i64) -> Result<()> {
    let row = sqlx::query(
        "select stage, planned_start, planned_finish, committed_wan, completed_wan, arrived_wan from projects where id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let (colour, slip) = colour_of(&row, now)?;
    sqlx::query("update projects set colour = $2, slip = $3 where id = $1")
        .bind(id)
        .bind(colour.as_str())
        .bind(slip)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn colour_of(row: &AnyRow, now: i64) -> Result<(crate::domain::sla::Colour, Option<String>)> {
    let stage: String = row.try_get("stage")?;
    let progress = Progress {
        stage: ProjectStage::parse(&stage).ok_or_else(|| bad("projects.stage", &stage))?,
        planned_start: day_ms(&row.try_get::<String, _>("planned_start")?),
        planned_finish: day_ms(&row.try_get::<String, _>("planned_finish")?),
        committed: row.try_get("committed_wan")?,
        completed: row.try_get("completed_wan")?,
        arrived: row.try_get("arrived_wan")?,
    };
    let (colour, slip) = progress.colour(now);
    let slip = slip.and_then(|s| serde_json::to_value(s).ok()).and_then(|v| v.as_str().map(str::to_owned));
    Ok((colour, slip))
}

/// The minute's sweep: recolours every project whose colour changed by `now` (time alone turns
/// a missed start red, and moves the plan on). Returns how many changed.
pub async fn sweep(store: &Store, now: i64) -> Result<usize> {
    let rows = sqlx::query(
        "select id, stage, planned_start, planned_finish, committed_wan, completed_wan, arrived_wan, colour, slip
         from projects where stage in ('signed', 'building')",
    )
    .fetch_all(store.pool())
    .await?;
    let mut changed = Vec::new();
    for r in &rows {
        let (colour, slip) = colour_of(r, now)?;
        if colour.as_str() != r.try_get::<String, _>("colour")? || slip != opt_text(r, "slip")? {
            changed.push((r.try_get::<String, _>("id")?, colour, slip));
        }
    }
    if changed.is_empty() {
        return Ok(0);
    }
    let mut tx = store.write().await?;
    for (id, colour, slip) in &changed {
        sqlx::query("update projects set colour = $2, slip = $3 where id = $1")
            .bind(id)
            .bind(colour.as_str())
            .bind(slip)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(changed.len())
}

/// The id of project `code` if `viewer` sees it.
pub async fn id_of(store: &Store, viewer: &Viewer<'_>, code: &str) -> Result<Option<String>> {
    let mut binds = vec![Bind::Text(code.to_owned())];
    let clause = viewer.clause(&mut binds);
    let sql = format!("select p.id from projects p where p.code = $1 and {clause}");
    Ok(bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds)
        .fetch_optional(store.pool())
        .await?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?)
}

/// The code of project `id`.
pub async fn code_of(store: &Store, id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("select code from projects where id = $1").bind(id).fetch_optional(store.pool()).await?)
}

/// Adds `amount` 万元 (positive or negative) of `source` to the funds arrived in project
/// `id`'s latest report, and to its total (the demo rounds its figures to the source's).
pub async fn adjust_last_funds(tx: &mut Tx, id: &str, source: FundingSource, amount: f64) -> Result<()> {
    let report: Option<String> =
        sqlx::query_scalar("select id from project_reports where project_id = $1 order by month desc limit 1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(report) = report else { return Ok(()) };
    let updated = sqlx::query(
        "update project_report_funds set arrived_wan = arrived_wan + $3 where report_id = $1 and source = $2",
    )
    .bind(&report)
    .bind(source.as_str())
    .bind(amount)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query("insert into project_report_funds (report_id, source, arrived_wan) values ($1, $2, $3)")
            .bind(&report)
            .bind(source.as_str())
            .bind(amount)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("update projects set arrived_wan = arrived_wan + $2 where id = $1")
        .bind(id)
        .bind(amount)
        .execute(&mut **tx)
        .await?;
    recolour_in(tx, id, now_ms()).await?;
    Ok(())
}

/// What the channel and the desk need of project `code`, if `viewer` sees it: its id, park and
/// unit (one query, for the hot paths: posting, reading the channel, the stream).
pub async fn reference(store: &Store, viewer: &Viewer<'_>, code: &str) -> Result<Option<super::desk::ProjectRef>> {
    let mut binds = vec![Bind::Text(code.to_owned())];
    let clause = viewer.clause(&mut binds);
    let sql = format!("select p.id, p.park_code, p.unit_code from projects p where p.code = $1 and {clause}");
    let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_optional(store.pool()).await?;
    row.map(|r| {
        Ok(super::desk::ProjectRef {
            id: r.try_get("id")?,
            park_code: r.try_get("park_code")?,
            unit_code: r.try_get("unit_code")?,
        })
    })
    .transpose()
}

/// Registers `news` (each with its file row) in one transaction, all or none; with `dry_run`,
/// checks every row against the store and writes nothing. On a refusal, the row and why.
pub async fn import(
    store: &Store,
    news: &[(usize, NewProject)],
    actor: &Actor,
    dry_run: bool,
) -> std::result::Result<(), (usize, ProjectError)> {
    let mut tx = store.write().await.map_err(|e| (0, e.into()))?;
    for (row, new) in news {
        create_in(&mut tx, new, actor).await.map_err(|e| (*row, e))?;
    }
    if !dry_run {
        tx.commit().await.map_err(|e| (0, e.into()))?;
    }
    Ok(())
}

/// Records `reports` (each with its file row and project id) in one transaction, all or none;
/// with `dry_run`, checks them and writes nothing. On a refusal, the row and why.
pub async fn import_reports(
    store: &Store,
    reports: &[(usize, String, NewReport)],
    actor: &Actor,
    dry_run: bool,
) -> std::result::Result<(), (usize, ProjectError)> {
    let mut tx = store.write().await.map_err(|e| (0, e.into()))?;
    for (row, project, r) in reports {
        report_in(&mut tx, project, r, actor).await.map_err(|e| (*row, e))?;
    }
    if !dry_run {
        tx.commit().await.map_err(|e| (0, e.into()))?;
    }
    Ok(())
}
