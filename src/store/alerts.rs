//! Live alerts: a unit whose recent ratings breach the alert rule opens one episode, told to
//! its unit heads and to supervisors through the in-app inbox; the episode closes when the
//! rule no longer holds.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, new_id};
use crate::domain::ids::OrgCode;

/// An alert episode.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Alert {
    /// Id.
    pub id: String,
    /// The unit.
    pub unit_code: String,
    /// The unit's name.
    pub unit_name: String,
    /// Opened, ms.
    pub opened_at: i64,
    /// Closed, ms (absent while open).
    pub closed_at: Option<i64>,
    /// Ratings in the window when it opened.
    pub total: i64,
    /// Of which unsatisfied.
    pub unsatisfied: i64,
}

/// Ratings that count for live alerts since `since`: (unit, unsatisfied, at), oldest first.
/// Flagged ratings and those excluded by appeal do not count.
pub async fn recent(store: &Store, since: i64) -> Result<Vec<(String, bool, i64)>> {
    use crate::store::ratings::{Source, inbox};
    let waiting = inbox::received_since(store, since).await?;
    let rows = sqlx::query(
        "select r.id, r.unit_code, r.outcome, r.created_at from ratings r
         where r.created_at > $1 and r.flags = '' and r.defaulted = 0
           and not exists (select 1 from rating_exclusions x where x.rating_id = r.id)
         order by r.created_at",
    )
    .bind(since)
    .fetch_all(store.pool())
    .await?;
    inbox::merge_recent(
        &rows,
        waiting,
        |r| {
            let unsatisfied = r.try_get::<String, _>("outcome")? == "unsatisfied";
            Ok((r.try_get("unit_code")?, unsatisfied, r.try_get("created_at")?))
        },
        // A rating in the inbox has no exclusion yet (an appeal needs the rating); flagged and
        // defaulted ones do not count (defaulted ones are written straight through anyway).
        |p| {
            let counts = p.flags.is_empty() && p.rating.source != Source::Default;
            let unsatisfied = p.rating.submission.outcome == crate::domain::rating::Outcome::Unsatisfied;
            counts.then_some((p.rating.target.unit_code, unsatisfied, p.stamp.at))
        },
        |r| r.2,
    )
}

/// Open episodes: (unit, alert id).
pub async fn open_episodes(store: &Store) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("select unit_code, id from alerts where closed_at is null").fetch_all(store.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("unit_code")?, r.try_get("id")?))).collect()
}

/// Closes an episode.
pub async fn close(store: &Store, id: &str, now: i64) -> Result<()> {
    sqlx::query("update alerts set closed_at = $2 where id = $1 and closed_at is null")
        .bind(id)
        .bind(now)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Opens an episode for `unit` and tells its unit heads and supervisors. Returns the id of
/// the open episode: the new one, or the one another server process opened first.
pub async fn open(store: &Store, unit: &str, total: i64, unsatisfied: i64, now: i64) -> Result<String> {
    if let Some(id) = open_episode(store, unit, total, unsatisfied, now).await? {
        return Ok(id);
    }
    let id: String = sqlx::query_scalar("select id from alerts where unit_code = $1 and closed_at is null")
        .bind(unit)
        .fetch_one(store.pool())
        .await?;
    Ok(id)
}

async fn open_episode(store: &Store, unit: &str, total: i64, unsatisfied: i64, now: i64) -> Result<Option<String>> {
    let id = new_id();
    let mut tx = store.write().await?;
    let inserted =
        sqlx::query("insert into alerts (id, unit_code, opened_at, total, unsatisfied) values ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(unit)
            .bind(now)
            .bind(total)
            .bind(unsatisfied)
            .execute(&mut *tx)
            .await;
    match inserted.map_err(StoreError::from) {
        Ok(_) => {}
        // Another server process opened this episode first.
        Err(StoreError::Duplicate) => return Ok(None),
        Err(e) => return Err(e),
    }
    let name: String =
        sqlx::query_scalar("select name from org_nodes where code = $1").bind(unit).fetch_one(&mut *tx).await?;
    // Unit heads whose scope holds the unit, and every supervisor whose scope holds it: an
    // inbox message each, an email to those with an address, and the webhook event, all in
    // this transaction (the outbox), so they exist exactly when the episode does.
    let recipients = sqlx::query(
        "select distinct u.id, u.email from users u join user_scopes s on s.user_id = u.id
         join org_closure a on a.ancestor = s.org_code
         where a.descendant = $1 and u.role in ('unit_head', 'supervisor') and u.disabled = 0",
    )
    .bind(unit)
    .fetch_all(&mut *tx)
    .await?;
    let title = format!("{name}：差评预警");
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
        .execute(&mut *tx)
        .await?;
        if let Some(email) = super::opt_text(r, "email")? {
            emails.push(crate::jobs::email::job(&email, &title, &body, Some(format!("alert:{id}:{user}"))));
        }
    }
    super::jobs::enqueue(&mut tx, &emails).await?;
    crate::jobs::webhook::enqueue_event(
        &mut tx,
        "alert.opened",
        &serde_json::json!({"alert": id, "unit": unit, "unit_name": name, "total": total, "unsatisfied": unsatisfied}),
    )
    .await?;
    super::audit::append(
        &mut tx,
        &super::audit::Actor::system(),
        "alert.open",
        &format!("org:{unit}"),
        &serde_json::json!({"alert": id, "total": total, "unsatisfied": unsatisfied}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

fn alert_from(r: &AnyRow) -> Result<Alert> {
    Ok(Alert {
        id: r.try_get("id")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("name")?,
        opened_at: r.try_get("opened_at")?,
        closed_at: r.try_get("closed_at")?,
        total: r.try_get("total")?,
        unsatisfied: r.try_get("unsatisfied")?,
    })
}

/// Alerts of units under `root`, newest first.
pub async fn list(store: &Store, root: &OrgCode, open_only: bool) -> Result<Vec<Alert>> {
    let sql = format!(
        "select l.id, l.unit_code, n.name, l.opened_at, l.closed_at, l.total, l.unsatisfied
         from alerts l join org_closure a on a.descendant = l.unit_code join org_nodes n on n.code = l.unit_code
         where a.ancestor = $1 {} order by l.opened_at desc limit 200",
        if open_only { "and l.closed_at is null" } else { "" }
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(root.as_str()).fetch_all(store.pool()).await?;
    rows.iter().map(alert_from).collect()
}

/// An inbox message.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Message {
    /// Id.
    pub id: String,
    /// alert, …
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Where to look.
    pub link: String,
    /// When, ms.
    pub created_at: i64,
    /// Read, ms.
    pub read_at: Option<i64>,
}

/// A user's inbox, newest first.
pub async fn inbox(store: &Store, user_id: &str) -> Result<Vec<Message>> {
    let rows = sqlx::query(
        "select id, kind, title, body, link, created_at, read_at from inbox where user_id = $1 order by created_at desc limit 200",
    )
    .bind(user_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Message {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                link: r.try_get("link")?,
                created_at: r.try_get("created_at")?,
                read_at: r.try_get("read_at")?,
            })
        })
        .collect()
}
