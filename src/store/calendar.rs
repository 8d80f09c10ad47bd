//! Calendar years imported into the database (a new year's notice), and recomputing the open
//! SLA clocks that depended on provisional days once the notice arrives.

use sqlx::Row;

use super::audit::{self, Actor};
use super::{Bind, NodeSetting, Result, Store, now_ms};
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
                holidays: crate::store::decode_json(&decode("holidays")?, "calendar_years.holidays")?,
                workdays: crate::store::decode_json(&decode("workdays")?, "calendar_years.workdays")?,
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
    let rows = sqlx::query(
        "select id, clock, started_at, due_at, unit_code from sla_clocks where state = 'running' and provisional = 1",
    )
    .fetch_all(store.pool())
    .await?;
    let now = now_ms();
    let mut changed = 0;
    for r in rows {
        let id: String = r.try_get("id")?;
        let Some(clock) = Clock::decode(&r.try_get::<String, _>("clock")?) else { continue };
        let (started, old_due): (i64, i64) = (r.try_get("started_at")?, r.try_get("due_at")?);
        let hours = match super::opt_text(&r, "unit_code")? {
            Some(unit) => {
                let mut conn = store.pool().acquire().await?;
                hours_for(&mut conn, &unit).await?
            }
            None => crate::domain::calendar::BusinessHours::default(),
        };
        let Ok(due) = clock.due(cal, started, &hours) else { continue };
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
        .bind(t.stage(started, due, now).as_str())
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

/// The overrides in force at `org_code`: its own and its ancestors' (the nearest wins a day).
pub async fn overrides_for(store: &Store, org_code: &str) -> Result<Vec<crate::domain::calendar::Override>> {
    let mut conn = store.pool().acquire().await?;
    Ok(overrides_for_many(&mut conn, &[org_code]).await?.remove(org_code).unwrap_or_default())
}

/// [`overrides_for`] of many nodes in one query; nodes without overrides are left out.
pub async fn overrides_for_many(
    conn: &mut sqlx::AnyConnection,
    org_codes: &[&str],
) -> Result<std::collections::HashMap<String, Vec<crate::domain::calendar::Override>>> {
    let rows = super::fetch_for_codes(
        conn,
        "select a.descendant, o.day, o.kind, o.name from org_closure a
         join calendar_overrides o on o.org_code = a.ancestor
         where a.descendant in ({codes}) order by a.descendant, a.distance desc, o.day",
        org_codes,
    )
    .await?;
    let mut out: std::collections::HashMap<String, Vec<crate::domain::calendar::Override>> = Default::default();
    for r in rows {
        let day: String = r.try_get("day")?;
        let kind: String = r.try_get("kind")?;
        let Ok(date) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") else { continue };
        let Ok(kind) = serde_json::from_value(serde_json::Value::String(kind)) else { continue };
        let list = out.entry(r.try_get("descendant")?).or_default();
        // Ancestors come first, so a nearer node's override replaces a farther one's.
        list.retain(|o| o.date != date);
        list.push(crate::domain::calendar::Override { date, kind, name: r.try_get("name")? });
    }
    Ok(out)
}

/// Sets (or replaces) a region's override of one day, audited.
pub async fn set_override(
    store: &Store,
    org_code: &str,
    o: &crate::domain::calendar::Override,
    actor: &Actor,
) -> Result<()> {
    let kind = serde_json::to_value(o.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let day = o.date.format("%Y-%m-%d").to_string();
    let mut tx = store.write().await?;
    sqlx::query("delete from calendar_overrides where org_code = $1 and day = $2")
        .bind(org_code)
        .bind(&day)
        .execute(&mut *tx)
        .await?;
    sqlx::query("insert into calendar_overrides (org_code, day, kind, name, created_by, created_at) values ($1, $2, $3, $4, $5, $6)")
        .bind(org_code)
        .bind(&day)
        .bind(&kind)
        .bind(&o.name)
        .bind(&actor.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    audit::append(&mut tx, actor, "calendar.override", &format!("org:{org_code}"), &serde_json::json!({"after": o}))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Every regional override: (org code, override).
pub async fn all_overrides(store: &Store) -> Result<Vec<(String, crate::domain::calendar::Override)>> {
    let rows = sqlx::query("select org_code, day, kind, name from calendar_overrides order by org_code, day")
        .fetch_all(store.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let day: String = r.try_get("day")?;
        let kind: String = r.try_get("kind")?;
        let (Ok(date), Ok(kind)) = (
            chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d"),
            serde_json::from_value(serde_json::Value::String(kind)),
        ) else {
            continue;
        };
        out.push((r.try_get("org_code")?, crate::domain::calendar::Override { date, kind, name: r.try_get("name")? }));
    }
    Ok(out)
}

/// The business hours of the nearest node at or above `org_code` that has some; defaults otherwise.
pub async fn hours_for(
    conn: &mut sqlx::AnyConnection,
    org_code: &str,
) -> Result<crate::domain::calendar::BusinessHours> {
    Ok(hours_for_many(conn, &[org_code]).await?.remove(org_code).unwrap_or_default())
}

/// [`hours_for`] of many nodes in one query; nodes on the defaults are left out.
pub async fn hours_for_many(
    conn: &mut sqlx::AnyConnection,
    org_codes: &[&str],
) -> Result<std::collections::HashMap<String, crate::domain::calendar::BusinessHours>> {
    let rows = super::fetch_for_codes(
        conn,
        "select a.descendant, h.hours from org_closure a join business_hours h on h.org_code = a.ancestor
         where a.descendant in ({codes}) order by a.descendant, a.distance desc",
        org_codes,
    )
    .await?;
    let mut out = std::collections::HashMap::new();
    for r in rows {
        let hours: String = r.try_get("hours")?;
        // Farther nodes come first, so the nearest one's hours are kept.
        if let Ok(h) = serde_json::from_str(&hours) {
            out.insert(r.try_get("descendant")?, h);
        }
    }
    Ok(out)
}

/// Sets a node's business hours, audited with before and after.
pub async fn set_hours(
    store: &Store,
    org_code: &str,
    hours: &crate::domain::calendar::BusinessHours,
    actor: &Actor,
) -> Result<()> {
    let mut tx = store.write().await?;
    let before = hours_for(&mut tx, org_code).await?;
    let setting = NodeSetting {
        table: "business_hours",
        org_code,
        columns: &["hours"],
        values: vec![Bind::Text(serde_json::to_string(hours).unwrap_or_default())],
    };
    let change = serde_json::json!({"before": before, "after": hours});
    super::replace_node_setting(tx, setting, actor, "business_hours.set", &change).await
}
