//! Cases' SQL: opening a case (from a rating, through the `case.open` job, or by hand), reading
//! one with its timeline, listing an inbox. Transitions are in [`apply`]; the accountability
//! register, documents and evidence files in [`register`].

pub mod apply;
mod notify;
mod open;
mod rating;
pub mod register;

pub use open::{NewCase, open, set_office};
pub(crate) use open::{Reads, insert, office_for};
pub use rating::{RatedPlace, open_for_rating, rating_case};

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Bind, Result, Store, bind_all, opt_text};
use crate::domain::case::{Source, State};
use crate::domain::ids::{CaseId, OrgCode};
use crate::domain::role::Role;

/// A case as stored (the row; the API renders it through a view of its own, `web::cases::view`).
#[derive(Debug, Clone)]
pub struct Case {
    /// Id.
    pub id: String,
    /// Where it came from.
    pub source: Source,
    /// Category (free text, used by SLA policies).
    pub category: String,
    /// Priority (`normal`, `urgent`, …).
    pub priority: String,
    /// One line.
    pub title: String,
    /// What happened.
    pub description: String,
    /// The responsible unit.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// The supervising office.
    pub office_code: String,
    /// Its name.
    pub office_name: String,
    /// The rating that opened it.
    pub rating_id: Option<String>,
    /// Where it stands.
    pub state: State,
    /// The verification verdict, once given.
    pub verdict: Option<String>,
    /// Bumped by every change; send it back with an action to refuse stale updates.
    pub version: i64,
    /// How many times the case was redone (重办) after an unhappy follow-up visit.
    pub reopened: i64,
    /// Who opened it (`system` for ratings).
    pub created_by: String,
    /// Opened, ms.
    pub created_at: i64,
    /// Last change, ms.
    pub updated_at: i64,
    /// Closed, ms.
    pub closed_at: Option<i64>,
    /// The whole case's deadline (the policy's resolution time), ms.
    pub due_at: i64,
    /// The step being timed (`acknowledge`, `return_visit`, `rectification`).
    pub step: Option<String>,
    /// The step's deadline, ms.
    pub step_due_at: Option<i64>,
    /// The rectification deadline in force, ms.
    pub order_due_at: Option<i64>,
    /// Whether the last rectification report came in before its deadline.
    pub reported_on_time: Option<bool>,
    /// Working days asked for by a pending extension request.
    pub extension_days: Option<i64>,
    /// Why they were asked for.
    pub extension_reason: Option<String>,
    /// The whole case's clock.
    pub(crate) clock_id: Option<String>,
    /// The timed step's clock.
    pub(crate) step_clock_id: Option<String>,
}

impl Case {
    /// Past the step's or the whole case's deadline while still open.
    pub fn overdue(&self, now: i64) -> bool {
        self.state != State::Closed && (self.step_due_at.is_some_and(|d| d < now) || self.due_at < now)
    }

    /// The deadline that comes first while open.
    pub fn next_due(&self) -> Option<i64> {
        if self.state == State::Closed {
            return None;
        }
        Some(self.step_due_at.map_or(self.due_at, |s| s.min(self.due_at)))
    }
}

const COLUMNS: &str =
    "c.id, c.source, c.category, c.priority, c.title, c.description, c.unit_code, u.name as unit_name,
    c.office_code, o.name as office_name, c.rating_id, c.state, c.verdict, c.version, c.reopened, c.created_by,
    c.created_at, c.updated_at, c.closed_at, c.due_at, c.clock_id, c.step, c.step_due_at, c.step_clock_id,
    c.order_due_at, c.reported_on_time, c.extension_days, c.extension_reason";
const FROM: &str = "from cases c join org_nodes u on u.code = c.unit_code join org_nodes o on o.code = c.office_code";

fn case_from(r: &AnyRow) -> Result<Case> {
    let bad = |column: &'static str, v: String| crate::store::undecodable(column, format!("{v:?}"));
    let source: String = r.try_get("source")?;
    let state: String = r.try_get("state")?;
    Ok(Case {
        id: r.try_get("id")?,
        source: Source::parse(&source).ok_or_else(|| bad("cases.source", source.clone()))?,
        category: r.try_get("category")?,
        priority: r.try_get("priority")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("unit_name")?,
        office_code: r.try_get("office_code")?,
        office_name: r.try_get("office_name")?,
        rating_id: opt_text(r, "rating_id")?,
        state: State::parse(&state).ok_or_else(|| bad("cases.state", state.clone()))?,
        verdict: opt_text(r, "verdict")?,
        version: r.try_get("version")?,
        reopened: r.try_get("reopened")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        closed_at: r.try_get("closed_at")?,
        due_at: r.try_get("due_at")?,
        clock_id: opt_text(r, "clock_id")?,
        step: opt_text(r, "step")?,
        step_due_at: r.try_get("step_due_at")?,
        step_clock_id: opt_text(r, "step_clock_id")?,
        order_due_at: r.try_get("order_due_at")?,
        reported_on_time: r.try_get::<Option<i64>, _>("reported_on_time")?.map(|v| v != 0),
        extension_days: r.try_get("extension_days")?,
        extension_reason: opt_text(r, "extension_reason")?,
    })
}

/// One case.
pub async fn get(store: &Store, id: &CaseId) -> Result<Option<Case>> {
    let sql = format!("select {COLUMNS} {FROM} where c.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(store.pool()).await?;
    row.as_ref().map(case_from).transpose()
}

/// The case a rating opened, if any.
pub async fn for_rating(store: &Store, rating_id: &str) -> Result<Option<Case>> {
    let sql = format!("select {COLUMNS} {FROM} where c.rating_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(rating_id).fetch_optional(store.pool()).await?;
    row.as_ref().map(case_from).transpose()
}

/// Which cases a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only cases whose unit lies under this node.
    pub under: Option<OrgCode>,
    /// Only these states (empty: all).
    pub states: Vec<State>,
    /// Only open cases past a deadline.
    pub overdue_at: Option<i64>,
    /// Only this source.
    pub source: Option<Source>,
    /// Page size.
    pub limit: i64,
    /// Page start.
    pub offset: i64,
}

/// Who is looking at cases, and so which cases they see (the one rule, used by [`list`] and
/// [`visible`]): a case whose unit or supervising office lies within one of their scopes; for
/// staff, also the cases of the unit their window belongs to; for an enterprise user, only the
/// cases they or their firm's other users filed, never the district's (citizens' comments among
/// them).
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The subtrees they are bound to.
    pub scopes: &'a [OrgCode],
    /// Their role.
    pub role: Role,
    /// Their login name, as cases record who filed them.
    pub username: &'a str,
}

impl Viewer<'_> {
    /// The condition on `cases c` for this viewer, binding what it needs after `binds`.
    fn clause(&self, binds: &mut Vec<Bind>) -> String {
        if self.role == Role::Enterprise {
            // Its own cases, and those its firm's other users filed.
            binds.push(Bind::Text(self.username.to_owned()));
            let me = binds.len();
            return format!(
                "(c.created_by = ${me} or c.created_by in (
                    select u2.username from users u1 join enterprise_users e1 on e1.user_id = u1.id
                    join enterprise_users e2 on e2.enterprise_id = e1.enterprise_id join users u2 on u2.id = e2.user_id
                    where u1.username = ${me}))"
            );
        }
        let scope_list: Vec<String> = self
            .scopes
            .iter()
            .map(|s| {
                binds.push(Bind::Text(s.as_str().to_owned()));
                format!("${}", binds.len())
            })
            .collect();
        let scope_list = scope_list.join(",");
        format!(
            "(exists (select 1 from org_closure a where a.descendant = c.unit_code and a.ancestor in ({scope_list}))
              or exists (select 1 from org_closure a where a.descendant = c.office_code and a.ancestor in ({scope_list}))
              {})",
            if self.role == Role::Staff { staff_clause(&scope_list) } else { String::new() }
        )
    }
}

/// Cases `viewer` sees (see [`Viewer`]): open ones first, earliest deadline first (so overdue
/// ones lead), then closed ones.
pub async fn list(store: &Store, viewer: &Viewer<'_>, f: &Filter) -> Result<(Vec<Case>, i64)> {
    if viewer.scopes.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut binds: Vec<Bind> = Vec::new();
    let next = |b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        format!("${}", binds.len())
    };
    let mut wh = viewer.clause(&mut binds);
    if let Some(under) = &f.under {
        let p = next(Bind::Text(under.as_str().to_owned()), &mut binds);
        wh.push_str(&format!(
            " and exists (select 1 from org_closure b where b.descendant = c.unit_code and b.ancestor = {p})"
        ));
    }
    if !f.states.is_empty() {
        let ps: Vec<String> = f.states.iter().map(|s| next(Bind::Text(s.as_str().to_owned()), &mut binds)).collect();
        wh.push_str(&format!(" and c.state in ({})", ps.join(",")));
    }
    if let Some(now) = f.overdue_at {
        let p = next(Bind::Int(now), &mut binds);
        wh.push_str(&format!(" and c.state <> 'closed' and (c.step_due_at < {p} or c.due_at < {p})"));
    }
    if let Some(source) = f.source {
        let p = next(Bind::Text(source.as_str().to_owned()), &mut binds);
        wh.push_str(&format!(" and c.source = {p}"));
    }
    let count_sql = format!("select cast(count(*) as bigint) from cases c where {wh}");
    let total: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(count_sql)), binds.clone())
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    let sql = format!(
        "select {COLUMNS} {FROM} where {wh}
         order by case when c.state = 'closed' then 1 else 0 end,
                  case when c.step_due_at is not null and c.step_due_at < c.due_at then c.step_due_at else c.due_at end,
                  c.created_at
         limit {} offset {}",
        f.limit.clamp(1, 500),
        f.offset.max(0)
    );
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    Ok((rows.iter().map(case_from).collect::<Result<Vec<_>>>()?, total))
}

/// Staff scoped to a window see the cases of the unit the window belongs to.
fn staff_clause(scope_list: &str) -> String {
    format!(
        "or exists (select 1 from org_closure a join org_nodes k on k.code = a.ancestor
            where a.ancestor = c.unit_code and k.kind = 'unit' and a.descendant in ({scope_list}))"
    )
}

/// Whether `viewer` sees `case` (see [`Viewer`]).
pub async fn visible(store: &Store, case: &Case, viewer: &Viewer<'_>) -> Result<bool> {
    if viewer.scopes.is_empty() {
        return Ok(false);
    }
    let mut binds = vec![Bind::Text(case.id.clone())];
    let sql = format!("select cast(count(*) as bigint) from cases c where c.id = $1 and {}", viewer.clause(&mut binds));
    let n: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_one(store.pool()).await?.try_get(0)?;
    Ok(n > 0)
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Id.
    pub id: String,
    /// 1, 2, … in order.
    pub seq: i64,
    /// The action (`open`, `acknowledge`, …).
    pub action: String,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Who.
    pub actor: String,
    /// In which role.
    pub actor_role: String,
    /// What they wrote.
    pub note: String,
    /// The action's details (verdict, requirements, deadline, people named, …).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When, ms.
    pub created_at: i64,
    /// Evidence attached to this step.
    pub attachments: Vec<register::Attachment>,
}

/// A case's timeline, oldest first, with each step's evidence.
pub async fn timeline(store: &Store, case_id: &str) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "select id, seq, action, from_state, to_state, actor, actor_role, note, data, created_at from case_events
         where case_id = $1 order by seq",
    )
    .bind(case_id)
    .fetch_all(store.pool())
    .await?;
    let files = crate::store::workflow::attachments(store, &apply::TABLES.files(), case_id).await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Ok(Event {
                attachments: files.iter().filter(|a| a.event_id.as_deref() == Some(id.as_str())).cloned().collect(),
                id,
                seq: r.try_get("seq")?,
                action: r.try_get("action")?,
                from_state: r.try_get("from_state")?,
                to_state: r.try_get("to_state")?,
                actor: r.try_get("actor")?,
                actor_role: r.try_get("actor_role")?,
                note: r.try_get("note")?,
                data: crate::store::decode_json(&r.try_get::<String, _>("data")?, "case_events.data")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Per node: each user to tell and their email address.
pub(crate) type Recipients = std::collections::HashMap<String, Vec<(String, Option<String>)>>;

/// The users who should hear that a case awaits `role`, by node: unit heads whose scope holds
/// the unit, or supervisors whose scope holds the office (`nodes` are units or offices).
pub(crate) async fn recipients(conn: &mut sqlx::AnyConnection, role: Role, nodes: &[String]) -> Result<Recipients> {
    let role = if role == Role::Supervisor { "supervisor" } else { "unit_head" };
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let sql = format!(
        "select distinct a.descendant, u.id, u.email from users u join user_scopes s on s.user_id = u.id
         join org_closure a on a.ancestor = s.org_code
         where a.descendant in ({{codes}}) and u.role = '{role}' and u.disabled = 0 order by a.descendant, u.id"
    );
    let rows = super::fetch_for_codes(conn, &sql, &nodes).await?;
    let mut out = Recipients::default();
    for row in rows {
        out.entry(row.try_get("descendant")?).or_default().push((row.try_get("id")?, opt_text(&row, "email")?));
    }
    Ok(out)
}

/// Whether a unit (any org node) with this code exists.
pub(crate) async fn unit_exists(store: &Store, code: &str) -> Result<bool> {
    let kind: Option<String> = sqlx::query_scalar("select kind from org_nodes where code = $1")
        .bind(code)
        .fetch_optional(store.pool())
        .await?;
    Ok(kind.is_some())
}
