//! Inspection work (作风巡查): plans, visits with their checklist and evidence, and the numbered
//! feedback sheets (问题反馈单) that issue a visit's findings to a unit, each finding opening an
//! item in the ledger in the same transaction. Issuing unseals a secret visit.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::calendar_data::CalendarHandle;
use crate::domain::inspection::Mode;
use crate::domain::item::Level;
use crate::domain::role::Role;
use crate::store::audit::{self, Actor};
use crate::store::items::{self, NewItem};
use crate::store::workflow::{self, Files};
use crate::store::{Result, Store, StoreError, new_id, now_ms, opt_text};

/// Where visits keep their evidence.
pub static VISIT_FILES: Files = Files { table: "visit_attachments", key: "visit_id", noun: "visit" };

/// One checklist line of a visit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = VisitCheck)]
pub struct Check {
    /// What was checked (`staff_at_post`, …).
    pub key: String,
    /// It was in order.
    pub ok: bool,
    /// What was seen.
    #[serde(default)]
    pub note: String,
}

/// A visit as stored.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Visit {
    /// Id.
    pub id: String,
    /// The plan it carries out.
    pub plan_id: Option<String>,
    /// The team.
    pub team_code: String,
    /// Its name.
    pub team_name: String,
    /// The unit visited.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// `open` (明察) or `secret` (暗访).
    pub mode: Mode,
    /// When, ms.
    pub visited_at: i64,
    /// Where (the hall, the window).
    pub place: String,
    /// Who went.
    pub members: String,
    /// The checklist as found.
    pub checklist: Vec<Check>,
    /// What was seen.
    pub note: String,
    /// Sealed: a secret visit whose findings are not issued yet.
    pub sealed: bool,
    /// The feedback sheet its findings were issued on.
    pub sheet_id: Option<String>,
    /// Who recorded it.
    pub created_by: String,
    /// Recorded, ms.
    pub created_at: i64,
}

const VISIT_COLUMNS: &str = "v.id, v.plan_id, v.team_code, t.name as team_name, v.unit_code, u.name as unit_name,
    v.mode, v.visited_at, v.place, v.members, v.checklist, v.note, v.sealed, v.sheet_id, v.created_by, v.created_at
    from inspection_visits v join inspection_teams t on t.code = v.team_code join org_nodes u on u.code = v.unit_code";

fn visit_from(r: &AnyRow) -> Result<Visit> {
    let mode: String = r.try_get("mode")?;
    let checklist: String = r.try_get("checklist")?;
    Ok(Visit {
        id: r.try_get("id")?,
        plan_id: opt_text(r, "plan_id")?,
        team_code: r.try_get("team_code")?,
        team_name: r.try_get("team_name")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("unit_name")?,
        mode: Mode::parse(&mode).ok_or_else(|| crate::store::undecodable("inspection_visits.mode", mode.clone()))?,
        visited_at: r.try_get("visited_at")?,
        place: r.try_get("place")?,
        members: r.try_get("members")?,
        checklist: serde_json::from_str(&checklist)
            .map_err(|e| crate::store::undecodable("inspection_visits.checklist", e.to_string()))?,
        note: r.try_get("note")?,
        sealed: r.try_get::<i64, _>("sealed")? != 0,
        sheet_id: opt_text(r, "sheet_id")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A visit to record.
#[derive(Debug, Clone)]
pub struct NewVisit {
    /// The plan it carries out.
    pub plan_id: Option<String>,
    /// The team.
    pub team_code: String,
    /// The unit visited.
    pub unit_code: String,
    /// How.
    pub mode: Mode,
    /// When, ms.
    pub visited_at: i64,
    /// Where.
    pub place: String,
    /// Who went.
    pub members: String,
    /// The checklist as found.
    pub checklist: Vec<Check>,
    /// What was seen.
    pub note: String,
}

/// Records a visit, audited. A secret one is sealed.
pub async fn record(store: &Store, new: &NewVisit, actor: &Actor) -> Result<Visit> {
    let id = new_id();
    let now = now_ms();
    let mut tx = store.write().await?;
    sqlx::query(
        "insert into inspection_visits (id, plan_id, team_code, unit_code, mode, visited_at, place, members, checklist,
            note, sealed, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(&new.plan_id)
    .bind(&new.team_code)
    .bind(&new.unit_code)
    .bind(new.mode.as_str())
    .bind(new.visited_at)
    .bind(&new.place)
    .bind(&new.members)
    .bind(serde_json::to_string(&new.checklist).unwrap_or_else(|_| "[]".into()))
    .bind(&new.note)
    .bind(i64::from(new.mode == Mode::Secret))
    .bind(&actor.name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // A sealed visit's audit row names the team, not the unit: the trail is readable by more
    // people than the visit.
    let change = serde_json::json!({"team": new.team_code, "mode": new.mode});
    audit::append(&mut tx, actor, "visit.record", &format!("visit:{id}"), &change).await?;
    tx.commit().await?;
    visit(store, &id).await?.ok_or(StoreError::Missing("the visit just recorded"))
}

/// One visit.
pub async fn visit(store: &Store, id: &str) -> Result<Option<Visit>> {
    let sql = format!("select {VISIT_COLUMNS} where v.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(visit_from).transpose()
}

/// Placeholders for `vals`, bound after those in `binds` (`null` for none: matches nothing).
fn marks(vals: &[String], binds: &mut Vec<crate::store::Bind>) -> String {
    let mut out = Vec::new();
    for v in vals {
        binds.push(crate::store::Bind::Text(v.clone()));
        out.push(format!("${}", binds.len()));
    }
    if out.is_empty() { "null".to_owned() } else { out.join(", ") }
}

/// The latest visits of `teams` or (unsealed) of units under `scopes`, newest first.
pub async fn visits(
    store: &Store,
    teams: &[String],
    scopes: &[String],
    city_wide: bool,
    limit: i64,
) -> Result<Vec<Visit>> {
    let mut binds: Vec<crate::store::Bind> = Vec::new();
    let team_marks = marks(teams, &mut binds);
    let scope_marks = marks(scopes, &mut binds);
    let sql = if city_wide {
        format!("select {VISIT_COLUMNS} order by v.visited_at desc, v.id limit {limit}")
    } else {
        format!(
            "select {VISIT_COLUMNS} where v.team_code in ({team_marks})
               or (v.sealed = 0 and v.unit_code in (select descendant from org_closure where ancestor in ({scope_marks})))
             order by v.visited_at desc, v.id limit {limit}"
        )
    };
    let rows = crate::store::bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    rows.iter().map(visit_from).collect()
}

/// A finding to issue: one problem, what is required, its category, its deadline.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The problem, one line.
    pub problem: String,
    /// What the unit must do.
    pub requirement: String,
    /// Category (for recurrence: same unit, same category).
    pub category: String,
    /// How high it is listed.
    pub level: Level,
    /// Working days to fix it.
    pub days: u32,
}

/// A feedback sheet (问题反馈单).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Sheet {
    /// Id.
    pub id: String,
    /// The printed number, e.g. `城东区巡反〔2026〕3号`.
    pub number: String,
    /// The issuing office's name.
    pub office_name: String,
    /// The team.
    pub team_code: String,
    /// Its name.
    pub team_name: String,
    /// The unit it is issued to.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// The visit.
    pub visit_id: Option<String>,
    /// The unit replies by, ms.
    pub reply_due_at: i64,
    /// The responsible leader named on the spot.
    pub responsible_leader: String,
    /// The responsible person named on the spot.
    pub responsible_person: String,
    /// Its problems, requirements and the items they opened.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// Issued by.
    pub issued_by: String,
    /// Issued, ms.
    pub created_at: i64,
    /// Signed for by.
    pub signed_by: Option<String>,
    /// Signed, ms.
    pub signed_at: Option<i64>,
}

const SHEET_COLUMNS: &str = "s.id, s.number, o.name as office_name, s.team_code, t.name as team_name, s.unit_code,
    u.name as unit_name, s.visit_id, s.reply_due_at, s.responsible_leader, s.responsible_person, s.body, s.issued_by,
    s.created_at, s.signed_by, s.signed_at
    from feedback_sheets s join org_nodes o on o.code = s.office_code join inspection_teams t on t.code = s.team_code
    join org_nodes u on u.code = s.unit_code";

fn sheet_from(r: &AnyRow) -> Result<Sheet> {
    Ok(Sheet {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        office_name: r.try_get("office_name")?,
        team_code: r.try_get("team_code")?,
        team_name: r.try_get("team_name")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("unit_name")?,
        visit_id: opt_text(r, "visit_id")?,
        reply_due_at: r.try_get("reply_due_at")?,
        responsible_leader: r.try_get("responsible_leader")?,
        responsible_person: r.try_get("responsible_person")?,
        body: crate::store::decode_json(&r.try_get::<String, _>("body")?, "feedback_sheets.body")?,
        issued_by: r.try_get("issued_by")?,
        created_at: r.try_get("created_at")?,
        signed_by: opt_text(r, "signed_by")?,
        signed_at: r.try_get("signed_at")?,
    })
}

/// One sheet.
pub async fn sheet(store: &Store, id: &str) -> Result<Option<Sheet>> {
    let sql = format!("select {SHEET_COLUMNS} where s.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(sheet_from).transpose()
}

/// Who is named responsible on a sheet, and by when the unit replies.
#[derive(Debug, Clone)]
pub struct Naming {
    /// The responsible leader.
    pub leader: String,
    /// The responsible person.
    pub person: String,
    /// Working days to reply.
    pub reply_days: u32,
}

/// Issues `findings` of `visit` to its unit on a numbered feedback sheet, in one transaction:
/// the sheet, an item per finding (with the named people, the team and the visit), the visit
/// unsealed and tied to the sheet, the audit row. A visit issues one sheet.
pub async fn issue_sheet(
    store: &Store,
    calendar: &CalendarHandle,
    visit: &Visit,
    findings: &[Finding],
    naming: &Naming,
    actor: &Actor,
    role: Role,
) -> Result<Sheet> {
    let cal = calendar.for_node(store, &visit.unit_code).await?;
    let now = now_ms();
    let id = new_id();
    let mut tx = store.write().await?;
    let claimed =
        sqlx::query("update inspection_visits set sheet_id = $2, sealed = 0 where id = $1 and sheet_id is null")
            .bind(&visit.id)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    if claimed.rows_affected() != 1 {
        return Err(StoreError::Misuse("this visit's findings were issued already"));
    }
    let office = crate::store::cases::office_for(&mut tx, &visit.unit_code).await?;
    let (year, serial, number) = workflow::next_number(&mut tx, "sheet", "巡反", &office, now).await?;
    let hours = crate::store::calendar::hours_for(&mut tx, &visit.unit_code).await?;
    let reply = crate::domain::sla::Clock::WorkingDays(naming.reply_days).due(&cal, now, &hours)?;
    // The sheet first (items refer to it), its body once the items have numbers.
    sqlx::query(
        "insert into feedback_sheets (id, number, office_code, year, serial, team_code, unit_code, visit_id,
            reply_due_at, responsible_leader, responsible_person, body, issued_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '{}', $12, $13)",
    )
    .bind(&id)
    .bind(&number)
    .bind(&office)
    .bind(year)
    .bind(serial)
    .bind(&visit.team_code)
    .bind(&visit.unit_code)
    .bind(&visit.id)
    .bind(reply)
    .bind(&naming.leader)
    .bind(&naming.person)
    .bind(&actor.name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let mut problems = Vec::new();
    for f in findings {
        let new = NewItem {
            title: f.problem.clone(),
            requirements: f.requirement.clone(),
            source: visit.mode.source(),
            level: f.level,
            category: f.category.clone(),
            unit_code: visit.unit_code.clone(),
            assisting: Vec::new(),
            responsible_leader: naming.leader.clone(),
            responsible_person: naming.person.clone(),
            days: f.days,
            team_code: Some(visit.team_code.clone()),
            visit_id: Some(visit.id.clone()),
            sheet_id: Some(id.clone()),
            case_id: None,
            meeting_id: None,
            parent_id: None,
            weight: 1,
        };
        let item = items::open_in(&mut tx, &cal, &new, actor, role).await?;
        let (item_number, recurrence): (Option<String>, Option<String>) =
            sqlx::query_as("select number, recurrence_of from items where id = $1")
                .bind(&item)
                .fetch_one(&mut *tx)
                .await?;
        problems.push(serde_json::json!({
            "problem": f.problem, "requirement": f.requirement, "category": f.category, "level": f.level,
            "item": item, "item_number": item_number, "recurrence_of": recurrence,
        }));
    }
    let body = serde_json::json!({"problems": problems, "visited_at": visit.visited_at, "place": visit.place, "mode": visit.mode});
    sqlx::query("update feedback_sheets set body = $2 where id = $1")
        .bind(&id)
        .bind(body.to_string())
        .execute(&mut *tx)
        .await?;
    let change =
        serde_json::json!({"number": number, "visit": visit.id, "unit": visit.unit_code, "findings": findings.len()});
    audit::append(&mut tx, actor, "sheet.issue", &format!("sheet:{id}"), &change).await?;
    tx.commit().await?;
    sheet(store, &id).await?.ok_or(StoreError::Missing("the sheet just issued"))
}

/// The unit signs for a sheet (签收), once; audited. Answers false if it was signed already.
pub async fn sign_sheet(store: &Store, id: &str, actor: &Actor) -> Result<bool> {
    let mut tx = store.write().await?;
    let done =
        sqlx::query("update feedback_sheets set signed_by = $2, signed_at = $3 where id = $1 and signed_by is null")
            .bind(id)
            .bind(&actor.name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    audit::append(&mut tx, actor, "sheet.sign", &format!("sheet:{id}"), &serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

/// What a unit received in a month (the burden meter): visits made, sheets issued, items
/// assigned, data requested, counted from the first of the month (China time) to `now`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Burden {
    /// Visits (明察 and issued 暗访).
    pub visits: i64,
    /// Feedback sheets.
    pub sheets: i64,
    /// Items assigned to it as lead unit.
    pub items: i64,
    /// Data requests (报送要求).
    pub requests: i64,
}

/// [`Burden`] of `unit` in the month of `now`. Sealed visits are not counted (the unit would
/// learn of them from the count).
pub async fn burden(store: &Store, unit: &str, now: i64) -> Result<Burden> {
    let from = crate::domain::time::month_start(now);
    let r = sqlx::query(
        "select (select cast(count(*) as bigint) from inspection_visits where unit_code = $1 and sealed = 0 and visited_at >= $2) as visits,
                (select cast(count(*) as bigint) from feedback_sheets where unit_code = $1 and created_at >= $2) as sheets,
                (select cast(count(*) as bigint) from items where unit_code = $1 and created_at >= $2) as items,
                (select cast(count(*) as bigint) from data_requests where unit_code = $1 and created_at >= $2) as requests",
    )
    .bind(unit)
    .bind(from)
    .fetch_one(store.pool())
    .await?;
    Ok(Burden {
        visits: r.try_get("visits")?,
        sheets: r.try_get("sheets")?,
        items: r.try_get("items")?,
        requests: r.try_get("requests")?,
    })
}

/// Moves a visit and everything it led to (its sheet, items, their timelines, documents,
/// evidence, re-checks and clocks) back by `by` ms, as if it happened then: how the demo writes
/// a history through the store's own functions.
pub async fn move_back(store: &Store, visit: &str, by: i64) -> Result<()> {
    let mut tx = store.write().await?;
    let statements = [
        "update inspection_visits set visited_at = visited_at - $2, created_at = created_at - $2 where id = $1",
        "update visit_attachments set created_at = created_at - $2 where visit_id = $1",
        "update feedback_sheets set created_at = created_at - $2, reply_due_at = reply_due_at - $2,
            signed_at = signed_at - $2 where visit_id = $1",
    ];
    for sql in statements {
        sqlx::query(sql).bind(visit).bind(by).execute(&mut *tx).await?;
    }
    items::move_back(&mut tx, "visit_id", visit, by).await?;
    tx.commit().await?;
    Ok(())
}

/// A data request (报送要求).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DataRequest {
    /// Id.
    pub id: String,
    /// The unit asked.
    pub unit_code: String,
    /// What data (normalised).
    pub topic: String,
    /// The period it covers, YYYY-MM.
    pub period: String,
    /// What exactly.
    pub detail: String,
    /// Due, ms.
    pub due_at: i64,
    /// Who asked.
    pub requested_by: String,
    /// Asked, ms.
    pub created_at: i64,
}

/// A topic as compared: trimmed, inner spaces collapsed, lower case.
pub fn topic_key(topic: &str) -> String {
    topic.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

const REQUEST_COLUMNS: &str =
    "id, unit_code, topic, period, detail, due_at, requested_by, created_at from data_requests";

fn request_from(r: &AnyRow) -> Result<DataRequest> {
    Ok(DataRequest {
        id: r.try_get("id")?,
        unit_code: r.try_get("unit_code")?,
        topic: r.try_get("topic")?,
        period: r.try_get("period")?,
        detail: r.try_get("detail")?,
        due_at: r.try_get("due_at")?,
        requested_by: r.try_get("requested_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Records a request for `topic` of `unit` for `period`, audited; or, when the same data was
/// asked of the unit for the period already, writes nothing and answers that request.
pub async fn request_data(
    store: &Store,
    unit: &str,
    topic: &str,
    period: &str,
    detail: &str,
    due_at: i64,
    actor: &Actor,
) -> Result<std::result::Result<DataRequest, DataRequest>> {
    let key = topic_key(topic);
    let earlier = |store: &Store| {
        let sql = format!("select {REQUEST_COLUMNS} where unit_code = $1 and topic = $2 and period = $3");
        let (unit, key, period) = (unit.to_owned(), key.clone(), period.to_owned());
        let pool = store.pool().clone();
        async move {
            let row =
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(unit).bind(key).bind(period).fetch_optional(&pool).await?;
            row.as_ref().map(request_from).transpose()
        }
    };
    if let Some(first) = earlier(store).await? {
        return Ok(Err(first));
    }
    let id = new_id();
    let mut tx = store.write().await?;
    let inserted = sqlx::query(
        "insert into data_requests (id, unit_code, topic, period, detail, due_at, requested_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (unit_code, topic, period) do nothing",
    )
    .bind(&id)
    .bind(unit)
    .bind(&key)
    .bind(period)
    .bind(detail)
    .bind(due_at)
    .bind(&actor.name)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        drop(tx);
        return earlier(store).await?.map(Err).ok_or(StoreError::Missing("the earlier request"));
    }
    let change = serde_json::json!({"unit": unit, "topic": key, "period": period});
    audit::append(&mut tx, actor, "data_request.create", &format!("data_request:{id}"), &change).await?;
    tx.commit().await?;
    let sql = format!("select {REQUEST_COLUMNS} where id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&id).fetch_one(store.pool()).await?;
    Ok(Ok(request_from(&row)?))
}

/// The data requests of `unit`, newest first.
pub async fn data_requests(store: &Store, unit: &str, limit: i64) -> Result<Vec<DataRequest>> {
    let sql = format!(
        "select {REQUEST_COLUMNS} where unit_code = $1 order by created_at desc, id limit {}",
        limit.clamp(1, 500)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(unit).fetch_all(store.pool()).await?;
    rows.iter().map(request_from).collect()
}

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
