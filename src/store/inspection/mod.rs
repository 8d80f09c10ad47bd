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

mod burden;
mod plans;

pub use burden::{Burden, DataRequest, burden, data_requests, request_data, topic_key};
pub use plans::{NewPlan, Plan, plan, plans, visits_of_plan, write_plan};

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
