//! The supervision ledger (督办清单): items, read and opened here, changed by [`apply`] on the
//! shared workflow executor. An item opens in `assigned` with its deadline clock, the sign-for
//! step's clock, the numbered assignment notice (whose number is the item's) and a notice to
//! the lead unit; a new item of a unit and category closed within the recurrence window is
//! linked to the closed one and flags it.

pub mod apply;
pub mod ladder;
mod progress;
mod record;
mod settings;
pub mod stats;

pub use progress::{Milestone, add_milestone, children, milestones, reach_milestone};
pub(crate) use progress::{plans_of, roll_up};
pub use record::{Document, Event, Recheck, documents, events, rechecks, rechecks_due};
pub use settings::{set_settings, settings};

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::calendar_data::CalendarHandle;
use crate::domain::ids::OrgCode;
use crate::domain::item::{Level, Source, State};
use crate::domain::role::Role;
use crate::store::audit::Actor;
use crate::store::workflow::{self, Execution, Timing};
use crate::store::{Bind, Result, Store, StoreError, Tx, bind_all, new_id, now_ms, opt_text};

pub use apply::TABLES;

/// An item as stored.
#[derive(Debug, Clone)]
pub struct Item {
    /// Id.
    pub id: String,
    /// Its number (the assignment notice's, e.g. `城东区督办〔2026〕12号`).
    pub number: String,
    /// One line.
    pub title: String,
    /// What must be done.
    pub requirements: String,
    /// The measures the unit reports.
    pub measures: String,
    /// Where it came from.
    pub source: Source,
    /// How high it is listed.
    pub level: Level,
    /// Category, for recurrence (same unit, same category).
    pub category: String,
    /// The lead unit (主办).
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// The supervising office.
    pub office_code: String,
    /// Assisting units (协办), code and name.
    pub assisting: Vec<(String, String)>,
    /// Milestones with their planned dates and percents, in time order.
    pub milestones: Vec<Milestone>,
    /// The responsible leader, named.
    pub responsible_leader: String,
    /// The responsible person, named.
    pub responsible_person: String,
    /// The team that found it.
    pub team_code: Option<String>,
    /// The visit it was found on.
    pub visit_id: Option<String>,
    /// The feedback sheet it was issued on.
    pub sheet_id: Option<String>,
    /// The case it comes from.
    pub case_id: Option<String>,
    /// The meeting that decided it.
    pub meeting_id: Option<String>,
    /// The parent item (its progress rolls up).
    pub parent_id: Option<String>,
    /// Weight in the parent's progress.
    pub weight: i64,
    /// Where it stands.
    pub state: State,
    /// Version (each change adds one).
    pub version: i64,
    /// Percent done, as reported.
    pub progress: i64,
    /// Assigned, ms.
    pub started_at: i64,
    /// The deadline in force, ms.
    pub deadline_at: i64,
    /// The whole item's clock.
    pub clock_id: Option<String>,
    /// The step being timed.
    pub step: Option<String>,
    /// Its due time.
    pub step_due_at: Option<i64>,
    /// Its clock.
    pub step_clock_id: Option<String>,
    /// A pending extension request: working days.
    pub extension_days: Option<i64>,
    /// Its reason.
    pub extension_reason: Option<String>,
    /// Whether the final report came before the deadline.
    pub reported_on_time: Option<bool>,
    /// Who submitted the final report (who may not close it).
    pub reported_by: Option<String>,
    /// How it ended.
    pub outcome: Option<String>,
    /// Times reopened.
    pub reopened: i64,
    /// The closed item this one repeats.
    pub recurrence_of: Option<String>,
    /// How many later items repeat this one.
    pub recurrences: i64,
    /// The closing's evidence was used to close another item too.
    pub evidence_reused: bool,
    /// The colour in force.
    pub colour: String,
    /// Who assigned it.
    pub created_by: String,
    /// Assigned, ms.
    pub created_at: i64,
    /// Last change, ms.
    pub updated_at: i64,
    /// Closed, ms.
    pub closed_at: Option<i64>,
}

const ITEM_COLUMNS: &str = "i.id, i.number, i.title, i.requirements, i.measures, i.source, i.level, i.category,
    i.unit_code, u.name as unit_name, i.office_code, i.responsible_leader, i.responsible_person, i.team_code,
    i.visit_id, i.sheet_id, i.case_id, i.meeting_id, i.parent_id, i.weight, i.state, i.version, i.progress, i.started_at,
    i.deadline_at, i.clock_id, i.step, i.step_due_at, i.step_clock_id, i.extension_days, i.extension_reason,
    i.reported_on_time, i.reported_by, i.outcome, i.reopened, i.recurrence_of, i.recurrences, i.evidence_reused,
    i.colour, i.created_by, i.created_at, i.updated_at, i.closed_at
    from items i join org_nodes u on u.code = i.unit_code";

fn item_from(r: &AnyRow) -> Result<Item> {
    let bad = |column: &'static str, v: String| crate::store::undecodable(column, format!("{v:?}"));
    let source: String = r.try_get("source")?;
    let level: String = r.try_get("level")?;
    let state: String = r.try_get("state")?;
    Ok(Item {
        id: r.try_get("id")?,
        number: opt_text(r, "number")?.unwrap_or_default(),
        title: r.try_get("title")?,
        requirements: r.try_get("requirements")?,
        measures: r.try_get("measures")?,
        source: Source::parse(&source).ok_or_else(|| bad("items.source", source.clone()))?,
        level: Level::parse(&level).ok_or_else(|| bad("items.level", level.clone()))?,
        category: r.try_get("category")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("unit_name")?,
        office_code: r.try_get("office_code")?,
        assisting: Vec::new(),
        milestones: Vec::new(),
        responsible_leader: r.try_get("responsible_leader")?,
        responsible_person: r.try_get("responsible_person")?,
        team_code: opt_text(r, "team_code")?,
        visit_id: opt_text(r, "visit_id")?,
        sheet_id: opt_text(r, "sheet_id")?,
        case_id: opt_text(r, "case_id")?,
        meeting_id: opt_text(r, "meeting_id")?,
        parent_id: opt_text(r, "parent_id")?,
        weight: r.try_get("weight")?,
        state: State::parse(&state).ok_or_else(|| bad("items.state", state.clone()))?,
        version: r.try_get("version")?,
        progress: r.try_get("progress")?,
        started_at: r.try_get("started_at")?,
        deadline_at: r.try_get("deadline_at")?,
        clock_id: opt_text(r, "clock_id")?,
        step: opt_text(r, "step")?,
        step_due_at: r.try_get("step_due_at")?,
        step_clock_id: opt_text(r, "step_clock_id")?,
        extension_days: r.try_get("extension_days")?,
        extension_reason: opt_text(r, "extension_reason")?,
        reported_on_time: r.try_get::<Option<i64>, _>("reported_on_time")?.map(|v| v != 0),
        reported_by: opt_text(r, "reported_by")?,
        outcome: opt_text(r, "outcome")?,
        reopened: r.try_get("reopened")?,
        recurrence_of: opt_text(r, "recurrence_of")?,
        recurrences: r.try_get("recurrences")?,
        evidence_reused: r.try_get::<i64, _>("evidence_reused")? != 0,
        colour: r.try_get("colour")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        closed_at: r.try_get("closed_at")?,
    })
}

/// One item, with its assisting units.
pub async fn get(store: &Store, id: &str) -> Result<Option<Item>> {
    let sql = format!("select {ITEM_COLUMNS} where i.id = $1");
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await? else {
        return Ok(None);
    };
    let mut item = item_from(&row)?;
    item.assisting = sqlx::query_as(
        "select x.unit_code, n.name from item_units x join org_nodes n on n.code = x.unit_code
         where x.item_id = $1 order by x.unit_code",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    item.milestones = milestones(store, id).await?;
    Ok(Some(item))
}

/// Which items a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these states.
    pub state: Option<State>,
    /// Only items whose lead unit lies under this node.
    pub under: Option<OrgCode>,
    /// Only items of this team.
    pub team: Option<String>,
    /// Only items from this source.
    pub source: Option<Source>,
    /// Only items of this colour.
    pub colour: Option<String>,
    /// Only items repeating a closed one, or repeated.
    pub recurring: bool,
    /// Title, number or responsible person containing this.
    pub q: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// The items whose lead or assisting unit lies within `scopes` and that `f` selects, most
/// urgent first (nearest deadline), with how many there are in all.
pub async fn list(store: &Store, scopes: &[OrgCode], f: &Filter) -> Result<(Vec<Item>, i64)> {
    let mut binds = Vec::new();
    let next = |b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        format!("${}", binds.len())
    };
    let mut scope_sql = Vec::new();
    for s in scopes {
        let p = next(Bind::Text(s.as_str().to_owned()), &mut binds);
        scope_sql.push(p);
    }
    if scope_sql.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let within = scope_sql.join(", ");
    let mut wheres = vec![format!(
        "(i.unit_code in (select descendant from org_closure where ancestor in ({within}))
          or exists (select 1 from item_units x join org_closure c on c.descendant = x.unit_code
                     where x.item_id = i.id and c.ancestor in ({within})))"
    )];
    if let Some(s) = f.state {
        wheres.push(format!("i.state = {}", next(Bind::Text(s.as_str().into()), &mut binds)));
    }
    if let Some(u) = &f.under {
        let p = next(Bind::Text(u.as_str().into()), &mut binds);
        wheres.push(format!("i.unit_code in (select descendant from org_closure where ancestor = {p})"));
    }
    if let Some(t) = &f.team {
        wheres.push(format!("i.team_code = {}", next(Bind::Text(t.clone()), &mut binds)));
    }
    if let Some(s) = f.source {
        wheres.push(format!("i.source = {}", next(Bind::Text(s.as_str().into()), &mut binds)));
    }
    if let Some(c) = &f.colour {
        wheres.push(format!("i.colour = {} and i.state <> 'closed'", next(Bind::Text(c.clone()), &mut binds)));
    }
    if f.recurring {
        wheres.push("(i.recurrence_of is not null or i.recurrences > 0)".into());
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let p = next(Bind::Text(pattern), &mut binds);
        wheres.push(format!(
            "(i.title like {p} escape '\\' or i.number like {p} escape '\\' or i.responsible_person like {p} escape '\\')"
        ));
    }
    let where_sql = wheres.join(" and ");
    let count_sql = format!("select cast(count(*) as bigint) from items i where {where_sql}");
    let total: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(count_sql)), binds.clone())
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    let limit = next(Bind::Int(f.limit.clamp(1, 500)), &mut binds);
    let offset = next(Bind::Int(f.offset.max(0)), &mut binds);
    let sql = format!(
        "select {ITEM_COLUMNS} where {where_sql}
         order by case when i.state = 'closed' then 1 else 0 end, i.deadline_at, i.id limit {limit} offset {offset}"
    );
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    Ok((rows.iter().map(item_from).collect::<Result<_>>()?, total))
}

/// An item to open.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// One line.
    pub title: String,
    /// What must be done.
    pub requirements: String,
    /// Where it came from.
    pub source: Source,
    /// How high it is listed.
    pub level: Level,
    /// Category.
    pub category: String,
    /// The lead unit.
    pub unit_code: String,
    /// Assisting units.
    pub assisting: Vec<String>,
    /// The responsible leader.
    pub responsible_leader: String,
    /// The responsible person.
    pub responsible_person: String,
    /// Working days to the deadline (the source's default unless named).
    pub days: u32,
    /// The team that found it.
    pub team_code: Option<String>,
    /// The visit it was found on.
    pub visit_id: Option<String>,
    /// The feedback sheet.
    pub sheet_id: Option<String>,
    /// The case it comes from.
    pub case_id: Option<String>,
    /// The meeting that decided it.
    pub meeting_id: Option<String>,
    /// The parent item.
    pub parent_id: Option<String>,
    /// Weight in the parent's progress (1 and up).
    pub weight: u32,
}

/// Opens `new` inside `tx`: the row, its assisting units, the recurrence link, the deadline
/// clock, the sign-for step, the numbered assignment notice and the notice to the lead unit.
/// Returns its id.
pub async fn open_in(
    tx: &mut Tx,
    cal: &crate::domain::calendar::Calendar,
    new: &NewItem,
    actor: &Actor,
    role: Role,
) -> Result<String> {
    let now = now_ms();
    let id = new_id();
    let office = crate::store::cases::office_for(tx, &new.unit_code).await?;
    // The whole item's clock runs to the deadline.
    let (clock_id, deadline) = workflow::start_clock(
        tx,
        cal,
        &TABLES,
        &id,
        &new.unit_code,
        "deadline",
        crate::domain::sla::Clock::WorkingDays(new.days),
        now,
    )
    .await?;
    let window = settings(&mut **tx).await?.recurrence_days * 86_400_000;
    let repeats: Option<String> = sqlx::query_scalar(
        "select id from items where unit_code = $1 and category = $2 and state = 'closed' and closed_at >= $3
         order by closed_at desc, id limit 1",
    )
    .bind(&new.unit_code)
    .bind(&new.category)
    .bind(now - window)
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query(
        "insert into items (id, title, requirements, measures, source, level, category, unit_code, office_code,
            responsible_leader, responsible_person, team_code, visit_id, sheet_id, case_id, parent_id, weight,
            state, version, progress, started_at, deadline_at, clock_id, reopened, recurrence_of, recurrences,
            evidence_reused, colour, colours, created_by, created_at, updated_at, meeting_id)
         values ($1, $2, $3, '', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $22,
            'assigned', 1, 0, $16, $17, $18, 0, $19, 0, 0, 'green', '', $20, $16, $16, $21)",
    )
    .bind(&id)
    .bind(&new.title)
    .bind(&new.requirements)
    .bind(new.source.as_str())
    .bind(new.level.as_str())
    .bind(&new.category)
    .bind(&new.unit_code)
    .bind(&office)
    .bind(&new.responsible_leader)
    .bind(&new.responsible_person)
    .bind(&new.team_code)
    .bind(&new.visit_id)
    .bind(&new.sheet_id)
    .bind(&new.case_id)
    .bind(&new.parent_id)
    .bind(now)
    .bind(deadline)
    .bind(&clock_id)
    .bind(&repeats)
    .bind(&actor.name)
    .bind(&new.meeting_id)
    .bind(i64::from(new.weight.max(1)))
    .execute(&mut **tx)
    .await?;
    for unit in &new.assisting {
        sqlx::query("insert into item_units (item_id, unit_code) values ($1, $2)")
            .bind(&id)
            .bind(unit)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(parent) = &new.parent_id {
        roll_up(tx, parent).await?;
    }
    if let Some(closed) = &repeats {
        sqlx::query("update items set recurrences = recurrences + 1 where id = $1")
            .bind(closed)
            .execute(&mut **tx)
            .await?;
    }
    let policy = crate::domain::item::step_limit;
    let timing = Timing { policy: &policy, requested_days: 0, deadline: Some(deadline) };
    let mut x = Execution {
        tables: &TABLES,
        id: &id,
        unit: &new.unit_code,
        now,
        cal,
        step_clock: None,
        subject_clock: Some(clock_id),
        last_due: None,
        data: serde_json::json!({"deadline_at": deadline, "days": new.days, "recurrence_of": repeats}),
        event: None,
        tell: None,
    };
    let effects = crate::domain::item::opening_effects();
    for e in &effects {
        if let crate::domain::item::Effect::Flow(flow) = e
            && !flow.after_event()
        {
            x.before_event(tx, *flow, &timing).await?;
        }
    }
    x.append_event(tx, "assign", ("assigned", "assigned"), actor, role.as_str(), &new.requirements).await?;
    let body = serde_json::json!({
        "title": new.title, "requirements": new.requirements, "unit": new.unit_code,
        "responsible_leader": new.responsible_leader, "responsible_person": new.responsible_person,
        "deadline_at": deadline, "source": new.source.label_zh(), "level": new.level.label_zh(),
    });
    let doc = x.issue(tx, crate::domain::item::Document::Assignment, &office, &body).await?;
    sqlx::query("update items set number = (select number from item_documents where id = $2) where id = $1")
        .bind(&id)
        .bind(&doc)
        .execute(&mut **tx)
        .await?;
    apply::tell(tx, &id, &new.title, State::Assigned.awaits(), &new.unit_code, "assign").await?;
    x.audit(tx, actor, "open", &serde_json::json!({"title": new.title, "unit": new.unit_code, "source": new.source}))
        .await?;
    Ok(id)
}

/// Opens one item in its own transaction.
pub async fn open(store: &Store, calendar: &CalendarHandle, new: &NewItem, actor: &Actor, role: Role) -> Result<Item> {
    let cal = calendar.for_node(store, &new.unit_code).await?;
    let mut tx = store.write().await?;
    let id = open_in(&mut tx, &cal, new, actor, role).await?;
    tx.commit().await?;
    get(store, &id).await?.ok_or(StoreError::Missing("the item just opened"))
}

/// The users of `role` whose scope covers `unit` (who is told of an item there).
pub(crate) async fn users_told(conn: &mut sqlx::AnyConnection, role: Role, unit: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select distinct u.id from users u join user_scopes s on s.user_id = u.id
         join org_closure a on a.ancestor = s.org_code
         where a.descendant = $1 and u.role = $2 and u.disabled = 0 order by u.id",
    )
    .bind(unit)
    .bind(role.as_str())
    .fetch_all(conn)
    .await?)
}

/// How many items the ledger holds.
pub async fn count(store: &Store) -> Result<i64> {
    Ok(sqlx::query_scalar("select cast(count(*) as bigint) from items").fetch_one(store.pool()).await?)
}

/// How many times someone was held to account over the ledger (talks and referrals issued).
pub async fn held_to_account(store: &Store) -> Result<i64> {
    Ok(sqlx::query_scalar("select cast(count(*) as bigint) from item_documents where kind in ('talk', 'referral')")
        .fetch_one(store.pool())
        .await?)
}

/// An item by its number.
pub async fn by_number(store: &Store, number: &str) -> Result<Option<Item>> {
    let id: Option<String> =
        sqlx::query_scalar("select id from items where number = $1").bind(number).fetch_optional(store.pool()).await?;
    match id {
        Some(id) => get(store, &id).await,
        None => Ok(None),
    }
}

/// An import's changes, all written in one transaction or none: the items to open, and the
/// transitions (progress reports) to apply to existing ones.
pub async fn import(
    store: &Store,
    calendar: &CalendarHandle,
    news: &[NewItem],
    updates: Vec<(Item, crate::domain::item::Transition, apply::Details)>,
    actor: &Actor,
    role: Role,
) -> std::result::Result<(), apply::ApplyError> {
    let mut cals = std::collections::HashMap::new();
    for unit in news.iter().map(|n| &n.unit_code).chain(updates.iter().map(|u| &u.0.unit_code)) {
        if !cals.contains_key(unit) {
            cals.insert(unit.clone(), calendar.for_node(store, unit).await?);
        }
    }
    let mut tx = store.write().await?;
    for new in news {
        open_in(&mut tx, &cals[&new.unit_code], new, actor, role).await?;
    }
    for (item, t, d) in updates {
        apply::apply_in(&mut tx, &cals[&item.unit_code], &item, t, &d, actor, role).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Moves the items whose `column` (`visit_id`, `meeting_id`) is `id` back by `by` ms with their
/// timelines, documents, evidence, re-checks and clocks, inside `tx`: how the demo writes a
/// history through the store's own functions.
pub(crate) async fn move_back(tx: &mut Tx, column: &'static str, id: &str, by: i64) -> Result<()> {
    let items = format!("(select id from items where {column} = $1)");
    let statements = [
        format!(
            "update items set started_at = started_at - $2, deadline_at = deadline_at - $2, created_at = created_at - $2,
                updated_at = updated_at - $2, closed_at = closed_at - $2, step_due_at = step_due_at - $2
             where {column} = $1"
        ),
        format!("update item_events set created_at = created_at - $2 where item_id in {items}"),
        format!("update item_documents set created_at = created_at - $2 where item_id in {items}"),
        format!("update item_attachments set created_at = created_at - $2 where item_id in {items}"),
        format!("update item_rechecks set due_at = due_at - $2, done_at = done_at - $2 where item_id in {items}"),
    ];
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(by).execute(&mut **tx).await?;
    }
    // Their clocks run from the day it happened too.
    let clocks = "update sla_clocks set started_at = started_at - $2, due_at = due_at - $2, next_check_at = 0
        where subject like $1";
    let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select id from items where {column} = $1")))
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    for item in ids {
        sqlx::query(clocks).bind(format!("item:{item}:%")).bind(by).execute(&mut **tx).await?;
    }
    Ok(())
}
