//! SLA clocks' SQL: start, pause, resume, stop, and the count of overdue ones; the sweep that
//! moves clocks whose colour changed is in `sweep`, the policies that set their targets in
//! `policies`.

use chrono::TimeZone;
use sqlx::Row;

use super::{Result, Store, StoreError, Tx, new_id, now_ms, opt_text};
use crate::domain::calendar::Calendar;
use crate::domain::sla::{Clock, Stage, Thresholds};

mod policies;
mod sweep;

pub use policies::{Policy, policies, policy_for, policy_on, set_policy};
pub use sweep::{Change, sweep};

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
    started.into_iter().next().ok_or(StoreError::Missing("the started clock"))
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
        let due = new.clock.due(cal, new.started_at, hours)?;
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
        .ok_or_else(|| crate::store::undecodable("sla_clocks.clock", "not a clock"))?;
    let (started, due, paused): (i64, i64, i64) =
        (r.try_get("started_at")?, r.try_get("due_at")?, r.try_get::<Option<i64>, _>("paused_at")?.unwrap_or(now));
    let hours = match opt_text(&r, "unit_code")? {
        Some(unit) => {
            let mut conn = store.pool().acquire().await?;
            super::calendar::hours_for(&mut conn, &unit).await?
        }
        None => crate::domain::calendar::BusinessHours::default(),
    };
    let new_due = clock.resume(cal, due, paused, now, &hours)?;
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
