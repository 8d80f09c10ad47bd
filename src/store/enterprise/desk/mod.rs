//! Desk requests (企业诉求): the desk's thin module on the shared workflow executor, as
//! `store::items::apply` is the ledger's. A request opens from a channel message the firm marks
//! as a problem: numbered per park and year, its reply clock started at the posting (or the
//! desk's next opening), the desk's cadres told in the app, by email and by a signed webhook
//! event. Each move appears in the channel as a message, tells whoever moves next the same
//! three ways, and is audited, all in one transaction. The request and its reads are here;
//! opening and posting in `open`, the transitions and their notices in `apply`.

mod apply;
mod open;

pub(crate) use apply::notify;
use apply::settle;
pub use apply::{Details, apply, apply_at, apply_in};
pub use open::{Author, Post, ProjectRef, convert, open_in, post};

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Viewer, channel};
use crate::calendar_data::CalendarHandle;
use crate::domain::calendar::Calendar;
use crate::domain::enterprise::desk::{self as machine, Action, DeskSettings, Effect, Facts, State, Transition};
use crate::domain::ids::OrgCode;
use crate::domain::role::Role;
use crate::domain::workflow::{Flow, FlowEffect};
use crate::store::audit::Actor;
pub use crate::store::workflow::ApplyError;
use crate::store::workflow::{self, Execution, Tables, Timing};
use crate::store::{Bind, Result, Store, StoreError, Tx, bind_all, new_id, now_ms, opt_text};

/// The desk's tables.
pub static TABLES: Tables = Tables {
    subject: "desk_requests",
    events: "request_events",
    key: "request_id",
    attachments: "request_attachments",
    documents: "request_documents",
    noun: "request",
};

/// The webhook event sent on every change of a request.
pub const EVENT: &str = "desk.request";

/// A request as stored, with the names the pages show.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = DeskRequest)]
pub struct Request {
    /// Id.
    pub id: String,
    /// Its number (`南川工业园区管委会企诉〔2026〕3号`).
    pub number: String,
    /// The project.
    pub project_id: String,
    /// The project's code.
    pub project_code: String,
    /// The project's name.
    pub project_name: String,
    /// The park.
    pub park_code: String,
    /// The firm.
    pub enterprise_id: String,
    /// The firm's name.
    pub enterprise_name: String,
    /// One line.
    pub title: String,
    /// What the firm wrote.
    pub body: String,
    /// The unit that holds it.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// Where it stands.
    pub state: State,
    /// Version (for the guarded update).
    pub version: i64,
    /// The step being timed: `reply`, `plan`, `resolve`, `rework`.
    pub step: Option<String>,
    /// When that step falls due, ms.
    pub step_due_at: Option<i64>,
    /// When that step's clock started, ms.
    pub step_started_at: Option<i64>,
    /// The colour of the step's clock (`green` … `red`), from the SLA engine.
    pub colour: Option<String>,
    #[serde(skip)]
    pub(crate) step_clock_id: Option<String>,
    /// Who posted it (login name).
    pub posted_by: String,
    /// Posted, ms.
    pub posted_at: i64,
    /// When the reply clock started (the posting, or the desk's opening), ms.
    pub reply_from: i64,
    /// When the first reply fell due, ms.
    pub reply_due_at: i64,
    /// First reply, ms.
    pub replied_at: Option<i64>,
    /// The first reply came within the reply clock.
    pub replied_on_time: Option<bool>,
    /// Classified as complex.
    pub complex: bool,
    /// When the solution plan fell due, ms.
    pub plan_due_at: Option<i64>,
    /// The plan came in, ms.
    pub planned_at: Option<i64>,
    /// Within the solution clock.
    pub plan_on_time: Option<bool>,
    /// Resolved, ms.
    pub resolved_at: Option<i64>,
    /// Confirmed by the firm, ms.
    pub confirmed_at: Option<i64>,
    /// The firm's rating, 1–5.
    pub rating: Option<i64>,
    /// How often the firm rejected a fix.
    pub rejections: i64,
    /// How often it was handed over.
    pub handovers: i64,
    /// Until when it may be handed over, ms.
    pub handover_until: i64,
    /// The unit a second hand-over proposed (waiting for a ruling).
    pub proposed_unit: Option<String>,
    /// The legal basis of the last hand-over.
    pub basis: Option<String>,
    /// Withdrawn, ms (flagged for an independent check).
    pub withdrawn_at: Option<i64>,
    /// The withdrawal was checked, ms.
    pub withdrawal_checked_at: Option<i64>,
    /// By whom.
    pub withdrawal_checked_by: Option<String>,
    /// The firm said it was pressed to withdraw.
    pub withdrawal_pressed: Option<bool>,
    /// The supervision item it became.
    pub item_id: Option<String>,
    /// That item's number.
    pub item_number: Option<String>,
    /// Closed (confirmed or withdrawn), ms.
    pub closed_at: Option<i64>,
    #[serde(skip)]
    pub(crate) manager: Option<String>,
    #[serde(skip)]
    pub(crate) manager_username: Option<String>,
}

const COLUMNS: &str = "r.*, p.code as project_code, p.name as project_name, p.park_code, p.manager,
    (select username from users where id = p.manager) as manager_username,
    e.name as enterprise_name, u.name as unit_name, i.number as item_number,
    k.colour as clock_colour, k.started_at as clock_started_at
    from desk_requests r join projects p on p.id = r.project_id join enterprises e on e.id = r.enterprise_id
    join org_nodes u on u.code = r.unit_code left join items i on i.id = r.item_id
    left join sla_clocks k on k.id = r.step_clock_id";

fn flag(r: &AnyRow, c: &str) -> Result<Option<bool>> {
    Ok(r.try_get::<Option<i64>, _>(c)?.map(|v| v != 0))
}

fn request_from(r: &AnyRow) -> Result<Request> {
    let state: String = r.try_get("state")?;
    let colour = opt_text(r, "clock_colour")?.map(|c| match c.as_str() {
        "long_overdue" => "red".to_owned(),
        _ => c,
    });
    Ok(Request {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        project_id: r.try_get("project_id")?,
        project_code: r.try_get("project_code")?,
        project_name: r.try_get("project_name")?,
        park_code: r.try_get("park_code")?,
        enterprise_id: r.try_get("enterprise_id")?,
        enterprise_name: r.try_get("enterprise_name")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("unit_name")?,
        state: State::parse(&state)
            .ok_or_else(|| StoreError::Decode { column: "desk_requests.state", reason: state.clone() })?,
        version: r.try_get("version")?,
        step: opt_text(r, "step")?,
        step_due_at: r.try_get("step_due_at")?,
        step_started_at: r.try_get("clock_started_at")?,
        colour,
        step_clock_id: opt_text(r, "step_clock_id")?,
        posted_by: r.try_get("posted_by")?,
        posted_at: r.try_get("posted_at")?,
        reply_from: r.try_get("reply_from")?,
        reply_due_at: r.try_get("reply_due_at")?,
        replied_at: r.try_get("replied_at")?,
        replied_on_time: flag(r, "replied_on_time")?,
        complex: r.try_get::<i64, _>("complex")? != 0,
        plan_due_at: r.try_get("plan_due_at")?,
        planned_at: r.try_get("planned_at")?,
        plan_on_time: flag(r, "plan_on_time")?,
        resolved_at: r.try_get("resolved_at")?,
        confirmed_at: r.try_get("confirmed_at")?,
        rating: r.try_get("rating")?,
        rejections: r.try_get("rejections")?,
        handovers: r.try_get("handovers")?,
        handover_until: r.try_get("handover_until")?,
        proposed_unit: opt_text(r, "proposed_unit")?,
        basis: opt_text(r, "basis")?,
        withdrawn_at: r.try_get("withdrawn_at")?,
        withdrawal_checked_at: r.try_get("withdrawal_checked_at")?,
        withdrawal_checked_by: opt_text(r, "withdrawal_checked_by")?,
        withdrawal_pressed: flag(r, "withdrawal_pressed")?,
        item_id: opt_text(r, "item_id")?,
        item_number: opt_text(r, "item_number")?,
        closed_at: r.try_get("closed_at")?,
        manager: opt_text(r, "manager")?,
        manager_username: opt_text(r, "manager_username")?,
    })
}

/// Request `id`, whoever looks (callers check [`visible`]).
pub async fn get(store: &Store, id: &str) -> Result<Option<Request>> {
    let sql = format!("select {COLUMNS} where r.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(request_from).transpose()
}

/// Whether `viewer` sees request `r`: its firm's users, and whoever sees its project or the unit
/// that holds it now.
pub async fn visible(store: &Store, viewer: &Viewer<'_>, r: &Request) -> Result<bool> {
    match viewer {
        Viewer::Firm(firm) => Ok(*firm == Some(r.enterprise_id.as_str())),
        Viewer::Staff { scopes, .. } => {
            if super::projects::id_of(store, viewer, &r.project_code).await?.is_some() {
                return Ok(true);
            }
            let mut binds = vec![Bind::Text(r.unit_code.clone())];
            let list: Vec<String> = scopes
                .iter()
                .map(|s| {
                    binds.push(Bind::Text(s.as_str().to_owned()));
                    format!("${}", binds.len())
                })
                .collect();
            if list.is_empty() {
                return Ok(false);
            }
            let sql = format!(
                "select cast(count(*) as bigint) from org_closure where descendant = $1 and ancestor in ({})",
                list.join(", ")
            );
            let n: i64 =
                bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_one(store.pool()).await?.try_get(0)?;
            Ok(n > 0)
        }
    }
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this project's.
    pub project: Option<String>,
    /// Only these states (empty: all).
    pub states: Vec<State>,
    /// Only open requests past their clock.
    pub overdue_at: Option<i64>,
    /// Only withdrawals not yet checked.
    pub unchecked_withdrawals: bool,
    /// Only requests changed (or whose clock changed colour) at or after this moment, ms.
    pub changed_since: Option<i64>,
    /// Page size.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// The requests `viewer` sees that `f` selects, the most urgent first (the nearest clock), closed
/// ones last, with how many in all.
pub async fn list(store: &Store, viewer: &Viewer<'_>, f: &Filter) -> Result<(Vec<Request>, i64)> {
    let mut binds = Vec::new();
    let scope = scope(viewer, &mut binds);
    let mut wheres = vec![scope];
    if let Some(p) = &f.project {
        binds.push(Bind::Text(p.clone()));
        wheres.push(format!("r.project_id = ${}", binds.len()));
    }
    if !f.states.is_empty() {
        let ps: Vec<String> = f
            .states
            .iter()
            .map(|s| {
                binds.push(Bind::Text(s.as_str().to_owned()));
                format!("${}", binds.len())
            })
            .collect();
        wheres.push(format!("r.state in ({})", ps.join(", ")));
    }
    if let Some(now) = f.overdue_at {
        binds.push(Bind::Int(now));
        wheres.push(format!("r.closed_at is null and r.step_due_at < ${}", binds.len()));
    }
    if f.unchecked_withdrawals {
        wheres.push("r.state = 'withdrawn' and r.withdrawal_checked_at is null".into());
    }
    if let Some(at) = f.changed_since {
        binds.push(Bind::Int(at));
        let p = binds.len();
        wheres.push(format!(
            "(r.updated_at >= ${p} or exists (select 1 from sla_clocks k where k.id = r.step_clock_id and k.updated_at >= ${p}))"
        ));
    }
    let where_sql = wheres.join(" and ");
    let count_sql = format!("select cast(count(*) as bigint) from desk_requests r where {where_sql}");
    let total: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(count_sql)), binds.clone())
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    binds.push(Bind::Int(f.limit.clamp(1, 500)));
    let limit = binds.len();
    binds.push(Bind::Int(f.offset.max(0)));
    let offset = binds.len();
    let sql = format!(
        "select {COLUMNS} where {where_sql}
         order by case when r.closed_at is null then 0 else 1 end, coalesce(r.step_due_at, r.posted_at + 9000000000000),
                  r.posted_at desc, r.id limit ${limit} offset ${offset}"
    );
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    Ok((rows.iter().map(request_from).collect::<Result<_>>()?, total))
}

/// The condition on `desk_requests r` for `viewer`: a firm's own requests; for staff, the
/// requests of the projects they see and those held by a unit in their scope.
fn scope(viewer: &Viewer<'_>, binds: &mut Vec<Bind>) -> String {
    match viewer {
        Viewer::Firm(None) => "1 = 0".to_owned(),
        Viewer::Firm(Some(firm)) => {
            binds.push(Bind::Text((*firm).to_owned()));
            format!("r.enterprise_id = ${}", binds.len())
        }
        Viewer::Staff { scopes, .. } => {
            let projects = viewer.clause(binds);
            let list: Vec<String> = scopes
                .iter()
                .map(|s| {
                    binds.push(Bind::Text(s.as_str().to_owned()));
                    format!("${}", binds.len())
                })
                .collect();
            let unit = if list.is_empty() {
                String::new()
            } else {
                format!(
                    " or exists (select 1 from org_closure a where a.descendant = r.unit_code and a.ancestor in ({}))",
                    list.join(", ")
                )
            };
            format!("(exists (select 1 from projects p where p.id = r.project_id and {projects}){unit})")
        }
    }
}

/// How a viewer's requests ended up against their clocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Outcomes {
    /// Requests in all.
    pub total: i64,
    /// First reply within the reply clock.
    pub replied_in_time: i64,
    /// First reply after it.
    pub replied_late: i64,
    /// Not replied yet (open).
    pub unreplied: i64,
    /// Classified as complex.
    pub complex: i64,
    /// Solution plan within the solution clock.
    pub plan_in_time: i64,
    /// Plan after it.
    pub plan_late: i64,
    /// Confirmed by the firm.
    pub confirmed: i64,
    /// Rejected by the firm at least once.
    pub rejected: i64,
    /// Withdrawn.
    pub withdrawn: i64,
    /// Withdrawals the firm said were pressed.
    pub pressed: i64,
    /// Open now.
    pub open: i64,
    /// Open and past the step's clock now.
    pub overdue: i64,
    /// Made supervision items.
    pub escalated: i64,
    /// The firms' average rating, 1–5.
    pub average_rating: Option<f64>,
}

/// The clock outcomes of the requests `viewer` sees (of project `project`, if named), at `now`.
pub async fn outcomes(store: &Store, viewer: &Viewer<'_>, project: Option<&str>, now: i64) -> Result<Outcomes> {
    let mut binds = vec![Bind::Int(now)];
    let mut wheres = vec![scope(viewer, &mut binds)];
    if let Some(p) = project {
        binds.push(Bind::Text(p.to_owned()));
        wheres.push(format!("r.project_id = ${}", binds.len()));
    }
    let n = |cond: &str| format!("cast(coalesce(sum(case when {cond} then 1 else 0 end), 0) as bigint)");
    let sql = format!(
        "select cast(count(*) as bigint), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, avg(cast(r.rating as double precision))
         from desk_requests r where {}",
        n("r.replied_on_time = 1"),
        n("r.replied_on_time = 0"),
        n("r.replied_at is null and r.closed_at is null"),
        n("r.complex = 1"),
        n("r.plan_on_time = 1"),
        n("r.plan_on_time = 0"),
        n("r.state = 'confirmed'"),
        n("r.rejections > 0"),
        n("r.state = 'withdrawn'"),
        n("r.withdrawal_pressed = 1"),
        n("r.closed_at is null"),
        n("r.closed_at is null and r.step_due_at < $1"),
        n("r.item_id is not null"),
        wheres.join(" and "),
    );
    let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_one(store.pool()).await?;
    let g = |i: usize| row.try_get::<i64, _>(i);
    Ok(Outcomes {
        total: g(0)?,
        replied_in_time: g(1)?,
        replied_late: g(2)?,
        unreplied: g(3)?,
        complex: g(4)?,
        plan_in_time: g(5)?,
        plan_late: g(6)?,
        confirmed: g(7)?,
        rejected: g(8)?,
        withdrawn: g(9)?,
        pressed: g(10)?,
        open: g(11)?,
        overdue: g(12)?,
        escalated: g(13)?,
        average_rating: row.try_get::<Option<f64>, _>(14)?,
    })
}

/// The facts the machine decides on, for `actor` acting on `r` at `now`.
pub async fn facts(store: &Store, r: &Request, actor: &str, now: i64) -> Result<Facts> {
    let handled: i64 = sqlx::query_scalar(
        "select cast(count(*) as bigint) from request_events where request_id = $1 and actor = $2
         and action in ('reply', 'mark_complex', 'submit_plan', 'resolve', 'hand_over')",
    )
    .bind(&r.id)
    .bind(actor)
    .fetch_one(store.pool())
    .await?;
    Ok(Facts {
        state: r.state,
        now,
        replied: r.replied_at.is_some(),
        handovers: u32::try_from(r.handovers).unwrap_or(u32::MAX),
        handover_until: r.handover_until,
        overdue: r.step_due_at.is_some_and(|d| d < now),
        escalated: r.item_id.is_some(),
        withdrawal_checked: r.withdrawal_checked_at.is_some(),
        actor_handled: handled > 0 || r.manager_username.as_deref().is_some_and(|m| m == actor),
    })
}

/// The numbered documents of request `id` (its solution plans): number and timeline entry.
pub async fn documents(store: &Store, id: &str) -> Result<Vec<(String, Option<String>)>> {
    Ok(sqlx::query_as("select number, event_id from request_documents where request_id = $1 order by created_at, id")
        .bind(id)
        .fetch_all(store.pool())
        .await?)
}
