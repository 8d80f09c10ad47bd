//! The SLA sweep: clocks whose colour changed move on, and the escalation notices go out in the
//! same transaction (inbox rows, to the tier that the new colour calls for).

use chrono::TimeZone;
use sqlx::Row;

use crate::domain::sla::{Colour, Notice, Stage, Thresholds, Tier, escalation};
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, Tx, new_id, opt_text};

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
            if subject.starts_with("request:") {
                // A desk request's clock is minutes long: its warnings also go by email and
                // to the city's messaging bridge (a signed webhook event).
                let link = link_of(&subject).unwrap_or_default();
                crate::store::enterprise::desk::notify(&mut tx, &users, "desk.clock", &title, &body, &link, now)
                    .await?;
                let event = serde_json::json!({"clock": id, "subject": subject, "stage": stage.as_str(), "notice": kind,
                    "tier": tier, "due_at": due, "title": title, "recipients": recipients});
                crate::store::webhooks::enqueue_event(&mut tx, "desk.clock", &event).await?;
            } else {
                for user in users {
                    sqlx::query("insert into inbox (id, user_id, kind, title, body, link, created_at) values ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(new_id())
                        .bind(user)
                        .bind(format!("sla.{}", serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))
                        .bind(&title)
                        .bind(&body)
                        .bind(link_of(&subject).unwrap_or_else(|| format!("/inbox#{id}")))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
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

/// The machine, subject id and step a clock times (`case:ID:acknowledge`, `item:ID:deadline`),
/// with the table its subjects are in and the page they are on.
fn timed(subject: &str) -> Option<(&'static str, &'static str, &str, &str)> {
    let (noun, rest) = subject.split_once(':')?;
    let (id, step) = rest.split_once(':')?;
    match noun {
        "case" => Some(("cases", "/cases", id, step)),
        "item" => Some(("items", "/items", id, step)),
        "request" => Some(("desk_requests", "/desk", id, step)),
        _ => None,
    }
}

/// The page of a clock's subject.
fn link_of(subject: &str) -> Option<String> {
    timed(subject).map(|(_, page, id, _)| format!("{page}/{id}"))
}

/// What a notice calls a clock's subject: a case's or an item's clock by its title and the step
/// (`城东区八一路派出所：不满意评价（话难听）（签收）`), anything else by its subject.
async fn shown_subject(tx: &mut Tx, subject: &str) -> Result<String> {
    let Some((table, _, id, step)) = timed(subject) else {
        return Ok(subject.to_owned());
    };
    let sql = format!("select title from {table} where id = $1");
    let title: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
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
