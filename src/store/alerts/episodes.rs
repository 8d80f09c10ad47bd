//! Applies the alert rule's steps (`domain::alert::step`) to a unit's episodes. Every change is
//! guarded, so that several server processes evaluating one unit at once change it once; each
//! writes a line of the episode's history.

use sqlx::Row;

use super::{AlertEvent, UnitWindow};
use crate::domain::alert::{AlertRule, AlertStep};
use crate::store::{Result, Store, StoreError, Tx, new_id};

/// Applies `step` (decided on `w` at `now`) to the unit's episodes.
pub async fn apply(store: &Store, rule: &AlertRule, w: &UnitWindow, step: AlertStep, now: i64) -> Result<()> {
    let counts = (w.total, w.unsatisfied);
    let mut tx = store.write().await?;
    let changed = match (step, w.open.as_deref(), w.last_closed.as_ref()) {
        (AlertStep::Stay, ..) => None,
        (AlertStep::Open, ..) => open(&mut tx, &w.unit, counts, now).await?,
        (AlertStep::Reopen, _, Some((id, closed_at))) => {
            let reopened =
                sqlx::query("update alerts set closed_at = null, clear_since = null where id = $1 and closed_at = $2")
                    .bind(id)
                    .bind(closed_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from);
            match reopened {
                Ok(r) if r.rows_affected() == 1 => Some((id.clone(), "reopened")),
                // Another process opened or reopened one first.
                Ok(_) | Err(StoreError::Duplicate) => None,
                Err(e) => return Err(e),
            }
        }
        (AlertStep::Renotify, Some(id), _) => {
            let due = sqlx::query(
                "update alerts set notified_at = $2 where id = $1 and closed_at is null
                 and (notified_at is null or notified_at <= $3)",
            )
            .bind(id)
            .bind(now)
            .bind(now - rule.renotify_ms)
            .execute(&mut *tx)
            .await?;
            if due.rows_affected() == 1 {
                notify(&mut tx, id, &w.unit, counts, now, true).await?;
                Some((id.to_owned(), "notified"))
            } else {
                None
            }
        }
        (AlertStep::StartClearing, Some(id), _) => guarded(
            &mut tx,
            "update alerts set clear_since = $2 where id = $1 and closed_at is null and clear_since is null",
            id,
            now,
            "clearing",
        )
        .await?,
        (AlertStep::StopClearing, Some(id), _) => guarded(
            &mut tx,
            "update alerts set clear_since = null where id = $1 and closed_at is null and clear_since is not null and $2 > 0",
            id,
            now,
            "breaching",
        )
        .await?,
        (AlertStep::Close, Some(id), _) => guarded(
            &mut tx,
            "update alerts set closed_at = $2, clear_since = null where id = $1 and closed_at is null",
            id,
            now,
            "closed",
        )
        .await?,
        _ => None,
    };
    if let Some((id, kind)) = changed {
        record(&mut tx, &id, kind, counts, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Runs a guarded update of episode `id` (`$1`) at `now` (`$2`); the history line `kind` if it
/// changed the row.
async fn guarded(
    tx: &mut Tx,
    sql: &'static str,
    id: &str,
    now: i64,
    kind: &'static str,
) -> Result<Option<(String, &'static str)>> {
    let done = sqlx::query(sql).bind(id).bind(now).execute(&mut **tx).await?;
    Ok((done.rows_affected() == 1).then(|| (id.to_owned(), kind)))
}

async fn record(tx: &mut Tx, alert: &str, kind: &str, (total, unsatisfied): (i64, i64), now: i64) -> Result<()> {
    sqlx::query(
        "insert into alert_events (id, alert_id, at, kind, total, unsatisfied) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(alert)
    .bind(now)
    .bind(kind)
    .bind(total)
    .bind(unsatisfied)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An episode's history, oldest first.
pub async fn history(store: &Store, alert: &str) -> Result<Vec<AlertEvent>> {
    let rows = sqlx::query("select at, kind, total, unsatisfied from alert_events where alert_id = $1 order by at, id")
        .bind(alert)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AlertEvent {
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                total: r.try_get("total")?,
                unsatisfied: r.try_get("unsatisfied")?,
            })
        })
        .collect()
}

/// Opens an episode for `unit` and tells its people; `None` when another server process opened
/// one first (the unique index on open episodes).
async fn open(
    tx: &mut Tx,
    unit: &str,
    (total, unsatisfied): (i64, i64),
    now: i64,
) -> Result<Option<(String, &'static str)>> {
    let id = new_id();
    let inserted = sqlx::query(
        "insert into alerts (id, unit_code, opened_at, total, unsatisfied, notified_at) values ($1, $2, $3, $4, $5, $3)",
    )
    .bind(&id)
    .bind(unit)
    .bind(now)
    .bind(total)
    .bind(unsatisfied)
    .execute(&mut **tx)
    .await;
    match inserted.map_err(StoreError::from) {
        Ok(_) => {}
        Err(StoreError::Duplicate) => return Ok(None),
        Err(e) => return Err(e),
    }
    notify(tx, &id, unit, (total, unsatisfied), now, false).await?;
    crate::store::audit::append(
        tx,
        &crate::store::audit::Actor::system(),
        "alert.open",
        &format!("org:{unit}"),
        &serde_json::json!({"alert": id, "total": total, "unsatisfied": unsatisfied}),
    )
    .await?;
    Ok(Some((id, "opened")))
}

/// Tells the unit heads whose scope holds the unit and every supervisor whose scope holds it: an
/// inbox message each, an email to those with an address, and the webhook event, all in the
/// caller's transaction (the outbox), so they exist exactly when the change does.
async fn notify(
    tx: &mut Tx,
    id: &str,
    unit: &str,
    (total, unsatisfied): (i64, i64),
    now: i64,
    again: bool,
) -> Result<()> {
    let name: String =
        sqlx::query_scalar("select name from org_nodes where code = $1").bind(unit).fetch_one(&mut **tx).await?;
    let recipients = sqlx::query(
        "select distinct u.id, u.email from users u join user_scopes s on s.user_id = u.id
         join org_closure a on a.ancestor = s.org_code
         where a.descendant = $1 and u.role in ('unit_head', 'supervisor') and u.disabled = 0",
    )
    .bind(unit)
    .fetch_all(&mut **tx)
    .await?;
    let title = if again { format!("{name}：差评预警仍未解除") } else { format!("{name}：差评预警") };
    let body = format!("{unsatisfied}/{total} 条评价不满意（15 分钟内）");
    let mut emails = Vec::new();
    for r in &recipients {
        let user: String = r.try_get("id")?;
        sqlx::query(
            "insert into inbox (id, user_id, kind, title, body, link, created_at) values ($1, $2, 'alert', $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(&user)
        .bind(&title)
        .bind(&body)
        .bind(format!("/alerts#{id}"))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        if let Some(email) = crate::store::opt_text(r, "email")? {
            emails.push(crate::store::jobs::email(&email, &title, &body, Some(format!("alert:{id}:{user}:{now}"))));
        }
    }
    crate::store::jobs::enqueue(tx, &emails).await?;
    crate::store::webhooks::enqueue_event(
        tx,
        if again { "alert.renotified" } else { "alert.opened" },
        &serde_json::json!({"alert": id, "unit": unit, "unit_name": name, "total": total, "unsatisfied": unsatisfied}),
    )
    .await?;
    Ok(())
}
