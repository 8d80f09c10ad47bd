//! Calendar years imported into the database (a new year's notice), and recomputing the open
//! SLA clocks that depended on provisional days once the notice arrives.

use sqlx::Row;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError, now_ms};
use crate::domain::calendar::{Calendar, CalendarData, YearNotice};
use crate::domain::sla::{Clock, Thresholds};

/// Imported years, in year order.
pub async fn imported_years(store: &Store) -> Result<Vec<YearNotice>> {
    let rows = sqlx::query("select year, notice, holidays, workdays from calendar_years order by year")
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let decode = |col: &str| -> Result<String> { Ok(r.try_get::<String, _>(col)?) };
            Ok(YearNotice {
                year: r.try_get::<i64, _>("year")? as i32,
                notice: decode("notice")?,
                holidays: serde_json::from_str(&decode("holidays")?)
                    .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
                workdays: serde_json::from_str(&decode("workdays")?)
                    .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
            })
        })
        .collect()
}

/// The calendar in force: the shipped data with imported years laid over it. Its version names
/// the imported years.
pub async fn effective(store: &Store, shipped: &CalendarData) -> Result<Calendar> {
    let imported = imported_years(store).await?;
    let mut data = shipped.clone();
    for y in &imported {
        data.years.retain(|old| old.year != y.year);
        data.years.push(y.clone());
    }
    data.years.sort_by_key(|y| y.year);
    if !imported.is_empty() {
        let years: Vec<String> = imported.iter().map(|y| y.year.to_string()).collect();
        data.version = format!("{}+{}", shipped.version, years.join("+"));
    }
    Ok(Calendar::new(&data))
}

/// Stores (or replaces) one year's notice, audited with the year before and after. The
/// caller rebuilds the calendar and recomputes clocks.
pub async fn import_year(store: &Store, year: &YearNotice, actor: &Actor) -> Result<()> {
    let before = imported_years(store).await?.into_iter().find(|y| y.year == year.year);
    let mut tx = store.write().await?;
    sqlx::query("delete from calendar_years where year = $1").bind(i64::from(year.year)).execute(&mut *tx).await?;
    sqlx::query("insert into calendar_years (year, notice, holidays, workdays, imported_by, imported_at) values ($1, $2, $3, $4, $5, $6)")
        .bind(i64::from(year.year))
        .bind(&year.notice)
        .bind(serde_json::to_string(&year.holidays).unwrap_or_default())
        .bind(serde_json::to_string(&year.workdays).unwrap_or_default())
        .bind(&actor.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        actor,
        "calendar.import",
        &format!("calendar:{}", year.year),
        &serde_json::json!({"before": before, "after": year}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Recomputes the due time of every running clock whose deadline was computed on provisional
/// days, on calendar `cal`; each change is audited. Returns how many clocks changed.
pub async fn recompute_provisional_clocks(
    store: &Store,
    cal: &Calendar,
    t: &Thresholds,
    actor: &Actor,
) -> Result<usize> {
    let rows =
        sqlx::query("select id, clock, started_at, due_at from sla_clocks where state = 'running' and provisional = 1")
            .fetch_all(store.pool())
            .await?;
    let now = now_ms();
    let mut changed = 0;
    for r in rows {
        let id: String = r.try_get("id")?;
        let Some(clock) = Clock::decode(&r.try_get::<String, _>("clock")?) else { continue };
        let (started, old_due): (i64, i64) = (r.try_get("started_at")?, r.try_get("due_at")?);
        let Ok(due) = clock.due(cal, started, None) else { continue };
        let day = |ms: i64| {
            use chrono::TimeZone;
            crate::domain::calendar::cst().timestamp_millis_opt(ms).single().map(|d| d.date_naive()).unwrap_or_default()
        };
        let provisional = cal.any_provisional(day(started), day(due));
        let mut tx = store.write().await?;
        sqlx::query(
            "update sla_clocks set due_at = $2, colour = $3, next_check_at = $4, calendar_version = $5, provisional = $6, updated_at = $7
             where id = $1 and state = 'running'",
        )
        .bind(&id)
        .bind(due)
        .bind(t.colour(started, due, now).as_str())
        .bind(t.next_change(started, due, now.max(started)))
        .bind(cal.version())
        .bind(i64::from(provisional))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if due != old_due {
            audit::append(
                &mut tx,
                actor,
                "sla.recompute",
                &format!("sla:{id}"),
                &serde_json::json!({"before": {"due_at": old_due}, "after": {"due_at": due}, "calendar_version": cal.version()}),
            )
            .await?;
            changed += 1;
        }
        tx.commit().await?;
    }
    Ok(changed)
}
