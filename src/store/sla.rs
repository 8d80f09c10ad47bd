//! SLA clocks' SQL: start, pause, resume, stop, and the sweep that moves clocks whose colour
//! changed and sends the escalation notice (inbox rows in the same transaction).

use chrono::TimeZone;
use sqlx::Row;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError, Tx, new_id, now_ms, opt_text};
use crate::domain::calendar::Calendar;
use crate::domain::sla::{Clock, Colour, Notice, Stage, Thresholds, Tier, escalation};

fn cal_err(e: crate::domain::calendar::CalendarError) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(e.to_string()))
}

/// A clock to start.
#[derive(Debug, Clone)]
pub struct NewClock<'a> {
    /// What it times, e.g. `case:ID:resolution`.
    pub subject: &'a str,
    /// The responsible unit.
    pub unit_code: Option<&'a str>,
    /// The handler's user id.
    pub handler: Option<&'a str>,
    /// The clock.
    pub clock: Clock,
    /// Start, ms.
    pub started_at: i64,
}

/// Starts a clock inside `tx`; returns its id and due time.
pub async fn start(tx: &mut Tx, cal: &Calendar, t: &Thresholds, new: &NewClock<'_>) -> Result<(String, i64)> {
    let hours = match new.unit_code {
        Some(unit) => super::calendar::hours_for(tx, unit).await?,
        None => crate::domain::calendar::BusinessHours::default(),
    };
    let started = start_many(tx, t, &[(new.clone(), cal, &hours)]).await?;
    started.into_iter().next().ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}

/// Starts many clocks with one multi-row insert, each on its calendar and business hours;
/// returns their ids and due times in order.
pub async fn start_many(
    conn: &mut sqlx::AnyConnection,
    t: &Thresholds,
    clocks: &[(NewClock<'_>, &Calendar, &crate::domain::calendar::BusinessHours)],
) -> Result<Vec<(String, i64)>> {
    let mut script = super::script::Script::new();
    let started = start_into(&mut script, t, clocks)?;
    script.run(conn).await?;
    Ok(started)
}

/// [`start_many`] into a script.
pub(crate) fn start_into(
    script: &mut super::script::Script,
    t: &Thresholds,
    clocks: &[(NewClock<'_>, &Calendar, &crate::domain::calendar::BusinessHours)],
) -> Result<Vec<(String, i64)>> {
    use super::Bind;
    let now = now_ms();
    let date = |ms: i64| crate::domain::calendar::cst().timestamp_millis_opt(ms).single().map(|d| d.date_naive());
    let mut out = Vec::with_capacity(clocks.len());
    let mut rows = Vec::with_capacity(clocks.len());
    for (new, cal, hours) in clocks {
        let due = new.clock.due(cal, new.started_at, hours).map_err(cal_err)?;
        let id = new_id();
        let provisional = cal.any_provisional(date(new.started_at).unwrap_or_default(), date(due).unwrap_or_default());
        let text = |v: Option<&str>| v.map_or(Bind::Null, |v| Bind::Text(v.to_owned()));
        rows.push(vec![
            Bind::Text(id.clone()),
            Bind::Text(new.subject.to_owned()),
            text(new.unit_code),
            text(new.handler),
            Bind::Text(new.clock.encode()),
            Bind::Int(new.started_at),
            Bind::Int(due),
            Bind::Text("running".into()),
            // The colour as the clock starts; the sweep catches up from there.
            Bind::Text(t.stage(new.started_at, due, new.started_at).as_str().to_owned()),
            t.next_change(new.started_at, due, new.started_at).map_or(Bind::NullInt, Bind::Int),
            Bind::Text(cal.version().to_owned()),
            Bind::Int(i64::from(provisional)),
            Bind::Int(now),
            Bind::Int(now),
        ]);
        out.push((id, due));
    }
    script.insert(
        "insert into sla_clocks (id, subject, unit_code, handler, clock, started_at, due_at, state, colour, next_check_at,
             calendar_version, provisional, created_at, updated_at)",
        14,
        &rows,
        "",
    );
    Ok(out)
}

/// A clock as read back.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ClockView {
    /// Id.
    pub id: String,
    /// What it times.
    pub subject: String,
    /// running, paused or stopped.
    pub state: String,
    /// Due, ms.
    pub due_at: i64,
    /// Current colour.
    pub colour: String,
    /// When it was paused, while paused (the pause is visible).
    pub paused_at: Option<i64>,
    /// Calendar data version behind `due_at`.
    pub calendar_version: String,
}

/// One clock.
pub async fn get(store: &Store, id: &str) -> Result<Option<ClockView>> {
    let row = sqlx::query(
        "select id, subject, state, due_at, colour, paused_at, calendar_version from sla_clocks where id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    row.map(|r| {
        Ok(ClockView {
            id: r.try_get("id")?,
            subject: r.try_get("subject")?,
            state: r.try_get("state")?,
            due_at: r.try_get("due_at")?,
            colour: Stage::parse(&r.try_get::<String, _>("colour")?)
                .map_or("green", |s| s.colour().as_str())
                .to_owned(),
            paused_at: r.try_get("paused_at")?,
            calendar_version: r.try_get("calendar_version")?,
        })
    })
    .transpose()
}

/// Pauses a running clock (waiting on the citizen or a third party).
pub async fn pause(store: &Store, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query("update sla_clocks set state = 'paused', paused_at = $2, next_check_at = null, updated_at = $2 where id = $1 and state = 'running'")
        .bind(id)
        .bind(now)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Resumes a paused clock: what was left when it paused counts again from `now`.
pub async fn resume(store: &Store, cal: &Calendar, t: &Thresholds, id: &str, now: i64) -> Result<bool> {
    let Some(r) = sqlx::query(
        "select clock, started_at, due_at, paused_at, unit_code from sla_clocks where id = $1 and state = 'paused'",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    else {
        return Ok(false);
    };
    let clock = Clock::decode(&r.try_get::<String, _>("clock")?)
        .ok_or_else(|| StoreError::Database(sqlx::Error::Decode("clock".into())))?;
    let (started, due, paused): (i64, i64, i64) =
        (r.try_get("started_at")?, r.try_get("due_at")?, r.try_get::<Option<i64>, _>("paused_at")?.unwrap_or(now));
    let hours = match opt_text(&r, "unit_code")? {
        Some(unit) => {
            let mut conn = store.pool().acquire().await?;
            super::calendar::hours_for(&mut conn, &unit).await?
        }
        None => crate::domain::calendar::BusinessHours::default(),
    };
    let new_due = clock.resume(cal, due, paused, now, &hours).map_err(cal_err)?;
    // The time used so far shifts by the pause, so colours keep their meaning.
    let new_start = started + (now - paused);
    let done = sqlx::query(
        "update sla_clocks set state = 'running', paused_at = null, started_at = $2, due_at = $3, colour = $4, next_check_at = $5,
             calendar_version = $6, updated_at = $7
         where id = $1 and state = 'paused'",
    )
    .bind(id)
    .bind(new_start)
    .bind(new_due)
    .bind(t.stage(new_start, new_due, now).as_str())
    .bind(t.next_change(new_start, new_due, now))
    .bind(cal.version())
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stops a clock (the step it timed is done).
pub async fn stop(store: &Store, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query("update sla_clocks set state = 'stopped', next_check_at = null, updated_at = $2 where id = $1 and state <> 'stopped'")
        .bind(id)
        .bind(now)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A colour change found by the sweep.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// The clock.
    pub clock_id: String,
    /// What it times.
    pub subject: String,
    /// The colour reached.
    pub colour: Colour,
    /// The notice sent, if the colour escalates.
    pub notice: Option<(Notice, Tier)>,
    /// How many people it went to.
    pub recipients: usize,
}

/// Finds running clocks whose colour changes by `now` (through the index), records the new
/// colour and the next check, and sends each escalation notice to the tier it names, all in
/// one transaction per batch. Guarded, so two sweepers never send a notice twice.
pub async fn sweep(store: &Store, t: &Thresholds, now: i64, limit: i64) -> Result<Vec<Change>> {
    let mut tx = store.write().await?;
    let sql = format!(
        "select id, subject, unit_code, handler, started_at, due_at, colour, next_check_at from sla_clocks
         where state = 'running' and next_check_at <= $1 order by next_check_at limit $2{}",
        store.dialect().skip_locked()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(limit).fetch_all(&mut *tx).await?;
    let mut changes = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let subject: String = r.try_get("subject")?;
        let unit = opt_text(&r, "unit_code")?;
        let handler = opt_text(&r, "handler")?;
        let (started, due): (i64, i64) = (r.try_get("started_at")?, r.try_get("due_at")?);
        let before = Stage::parse(&r.try_get::<String, _>("colour")?).unwrap_or(Stage::Green);
        let stage = t.stage(started, due, now);
        let colour = stage.colour();
        sqlx::query("update sla_clocks set colour = $2, next_check_at = $3, updated_at = $4 where id = $1 and state = 'running'")
            .bind(&id)
            .bind(stage.as_str())
            .bind(t.next_change(started, due, now))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if stage == before {
            continue;
        }
        // Skipping a stage (a sweep that ran late) sends the notice of the stage reached.
        let notice = escalation(stage);
        let mut recipients = 0;
        if let Some((kind, tier)) = notice {
            let users = tier_users(&mut tx, tier, unit.as_deref(), handler.as_deref()).await?;
            recipients = users.len();
            let shown = shown_subject(&mut tx, &subject).await?;
            let (title, body) = notice_text(kind, &shown, due);
            for user in users {
                sqlx::query("insert into inbox (id, user_id, kind, title, body, link, created_at) values ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(new_id())
                    .bind(user)
                    .bind(format!("sla.{}", serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))
                    .bind(&title)
                    .bind(&body)
                    .bind(match subject.strip_prefix("case:").and_then(|r| r.split(':').next()) {
                        Some(case) => format!("/cases/{case}"),
                        None => format!("/inbox#{id}"),
                    })
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            audit::append(
                &mut tx,
                &Actor::system(),
                "sla.escalate",
                &format!("sla:{id}"),
                &serde_json::json!({"subject": subject, "before": before.as_str(), "after": stage.as_str(), "notice": kind, "tier": tier, "recipients": recipients}),
            )
            .await?;
        }
        changes.push(Change { clock_id: id, subject, colour, notice, recipients });
    }
    tx.commit().await?;
    Ok(changes)
}

/// What a notice calls a clock's subject: a case's clock by the case's title and the step
/// (`城东区八一路派出所：不满意评价（话难听）（签收）`), anything else by its subject.
async fn shown_subject(tx: &mut Tx, subject: &str) -> Result<String> {
    let Some((case, step)) = subject.strip_prefix("case:").and_then(|rest| rest.split_once(':')) else {
        return Ok(subject.to_owned());
    };
    let title: Option<String> =
        sqlx::query_scalar("select title from cases where id = $1").bind(case).fetch_optional(&mut **tx).await?;
    let step = crate::i18n::t(crate::i18n::Locale::ZhCn, &format!("sla.step.{step}")).to_owned();
    Ok(title.map_or_else(|| subject.to_owned(), |t| format!("{t}（{step}）")))
}

fn notice_text(kind: Notice, subject: &str, due: i64) -> (String, String) {
    let due = crate::domain::calendar::cst()
        .timestamp_millis_opt(due)
        .single()
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    match kind {
        Notice::Reminder => (format!("提醒：{subject}"), format!("期限 {due}，已用去四分之三的时间。")),
        Notice::Urge => (format!("催办：{subject}"), format!("期限 {due}，时间将尽，请督促办理。")),
        Notice::Supervise => (format!("督办：{subject}"), format!("已于 {due} 逾期，转入督办。")),
    }
}

async fn tier_users(tx: &mut Tx, tier: Tier, unit: Option<&str>, handler: Option<&str>) -> Result<Vec<String>> {
    let role = match tier {
        Tier::Handler => return Ok(handler.map(|h| vec![h.to_owned()]).unwrap_or_default()),
        Tier::UnitHead => "unit_head",
        Tier::SupervisingOffice => "supervisor",
        Tier::BureauHead => {
            // Supervisors whose scope is the top of the tree.
            return Ok(sqlx::query_scalar(
                "select distinct u.id from users u join user_scopes s on s.user_id = u.id join org_nodes n on n.code = s.org_code
                 where n.parent_code is null and u.role = 'supervisor' and u.disabled = 0",
            )
            .fetch_all(&mut **tx)
            .await?);
        }
    };
    let Some(unit) = unit else { return Ok(Vec::new()) };
    Ok(sqlx::query_scalar(
        "select distinct u.id from users u join user_scopes s on s.user_id = u.id join org_closure a on a.ancestor = s.org_code
         where a.descendant = $1 and u.role = $2 and u.disabled = 0",
    )
    .bind(unit)
    .bind(role)
    .fetch_all(&mut **tx)
    .await?)
}

/// Running clocks past due under `root` (for dashboards and rankings).
pub async fn overdue_count(store: &Store, root: &crate::domain::ids::OrgCode, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select cast(count(*) as bigint) from org_closure a join sla_clocks c on c.unit_code = a.descendant
         where a.ancestor = $1 and c.state = 'running' and c.due_at < $2",
    )
    .bind(root.as_str())
    .bind(now)
    .fetch_one(store.pool())
    .await?)
}

/// The targets for one kind of case.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Policy {
    /// Case source (`rating`, `inspection`, `enterprise`, …) or `*`.
    pub source: String,
    /// Category or `*`.
    pub category: String,
    /// Priority (`normal`, `urgent`, …) or `*`.
    pub priority: String,
    /// Time to acknowledge (签收).
    pub acknowledge: Clock,
    /// Time to the return visit (回访).
    pub return_visit: Clock,
    /// Time to resolve (rectification).
    pub resolution: Clock,
    /// Warning thresholds.
    pub thresholds: Thresholds,
}

impl Policy {
    /// Used when no stored policy matches: acknowledge within 1 working day, return visit within
    /// 3, resolve within 15; warnings at 50/75/90%.
    pub fn fallback(source: &str, category: &str, priority: &str) -> Policy {
        Policy {
            source: source.into(),
            category: category.into(),
            priority: priority.into(),
            acknowledge: Clock::WorkingDays(1),
            return_visit: Clock::WorkingDays(3),
            resolution: Clock::WorkingDays(15),
            thresholds: Thresholds::default(),
        }
    }
}

fn policy_from(r: &sqlx::any::AnyRow) -> Result<Policy> {
    let clock = |col: &str| -> Result<Clock> {
        let s: String = r.try_get(col)?;
        Clock::decode(&s).ok_or_else(|| StoreError::Database(sqlx::Error::Decode(format!("bad clock {s:?}").into())))
    };
    let share = |col: &str| -> Result<f64> { Ok(r.try_get::<i64, _>(col)? as f64 / 1000.0) };
    Ok(Policy {
        source: r.try_get("source")?,
        category: r.try_get("category")?,
        priority: r.try_get("priority")?,
        acknowledge: clock("acknowledge")?,
        return_visit: clock("return_visit")?,
        resolution: clock("resolution")?,
        thresholds: Thresholds {
            blue: share("blue_permille")?,
            yellow: share("yellow_permille")?,
            orange: share("orange_permille")?,
        },
    })
}

const POLICY_COLUMNS: &str = "source, category, priority, acknowledge, return_visit, resolution, blue_permille, yellow_permille, orange_permille";

/// The most specific stored policy for a case (exact match first, then `*` wildcards), or the
/// fallback.
pub async fn policy_for(store: &Store, source: &str, category: &str, priority: &str) -> Result<Policy> {
    let mut conn = store.pool().acquire().await?;
    policy_on(&mut conn, source, category, priority).await
}

/// [`policy_for`] on the caller's connection (inside its transaction).
pub async fn policy_on(conn: &mut sqlx::AnyConnection, source: &str, category: &str, priority: &str) -> Result<Policy> {
    let sql = format!(
        "select {POLICY_COLUMNS} from sla_policies
         where source in ($1, '*') and category in ($2, '*') and priority in ($3, '*')
         order by (case when source = '*' then 1 else 0 end) + (case when category = '*' then 1 else 0 end)
                + (case when priority = '*' then 1 else 0 end)
         limit 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(source)
        .bind(category)
        .bind(priority)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => policy_from(&r),
        None => Ok(Policy::fallback(source, category, priority)),
    }
}

/// Every stored policy.
pub async fn policies(store: &Store) -> Result<Vec<Policy>> {
    let sql = format!("select {POLICY_COLUMNS} from sla_policies order by source, category, priority");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(store.pool()).await?;
    rows.iter().map(policy_from).collect()
}

/// Stores a policy (replacing the one with the same key), audited with before and after.
pub async fn set_policy(store: &Store, p: &Policy, actor: &Actor) -> Result<()> {
    let before = policy_for(store, &p.source, &p.category, &p.priority).await?;
    let mut tx = store.write().await?;
    sqlx::query("delete from sla_policies where source = $1 and category = $2 and priority = $3")
        .bind(&p.source)
        .bind(&p.category)
        .bind(&p.priority)
        .execute(&mut *tx)
        .await?;
    let permille = |x: f64| (x * 1000.0).round() as i64;
    sqlx::query(
        "insert into sla_policies (source, category, priority, acknowledge, return_visit, resolution, blue_permille, yellow_permille, orange_permille)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&p.source)
    .bind(&p.category)
    .bind(&p.priority)
    .bind(p.acknowledge.encode())
    .bind(p.return_visit.encode())
    .bind(p.resolution.encode())
    .bind(permille(p.thresholds.blue))
    .bind(permille(p.thresholds.yellow))
    .bind(permille(p.thresholds.orange))
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        actor,
        "sla.policy",
        &format!("sla_policy:{}/{}/{}", p.source, p.category, p.priority),
        &serde_json::json!({"before": before, "after": p}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
