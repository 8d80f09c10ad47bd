//! Webhook subscriptions: a URL, a secret to sign deliveries, the events it wants; and the
//! deliveries of an event to its subscribers, written to the outbox (the job queue) in the
//! caller's transaction as typed payloads ([`Delivery`]) that `jobs::webhook` sends.

use sqlx::Row;

use super::audit::{self, Actor};
use super::{Result, Store, new_id, new_secret, now_ms};

/// A subscription as listed (the secret only at creation).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Webhook {
    /// Id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Events, e.g. `alert.opened`; `*` for all.
    pub events: Vec<String>,
    /// Created, ms.
    pub created_at: i64,
}

/// Subscribes `url` to `events`; returns the webhook and its signing secret (shown once).
pub async fn create(store: &Store, url: &str, events: &[String], actor: &Actor) -> Result<(Webhook, String)> {
    let hook = Webhook { id: new_id(), url: url.to_owned(), events: events.to_vec(), created_at: now_ms() };
    let secret = new_secret(24);
    let mut tx = store.write().await?;
    sqlx::query("insert into webhooks (id, url, secret, events, active, created_at) values ($1, $2, $3, $4, 1, $5)")
        .bind(&hook.id)
        .bind(url)
        .bind(&secret)
        .bind(events.join(","))
        .bind(hook.created_at)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        actor,
        "webhook.create",
        &format!("webhook:{}", hook.id),
        &serde_json::json!({"url": url, "events": events}),
    )
    .await?;
    tx.commit().await?;
    Ok((hook, secret))
}

/// Active subscriptions.
pub async fn list(store: &Store) -> Result<Vec<Webhook>> {
    let rows = sqlx::query("select id, url, events, created_at from webhooks where active = 1 order by created_at")
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let events: String = r.try_get("events")?;
            Ok(Webhook {
                id: r.try_get("id")?,
                url: r.try_get("url")?,
                events: events.split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect(),
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Deactivates a subscription; pending deliveries to it are dropped when they run.
pub async fn delete(store: &Store, id: &str, actor: &Actor) -> Result<bool> {
    let mut tx = store.write().await?;
    let done =
        sqlx::query("update webhooks set active = 0 where id = $1 and active = 1").bind(id).execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    audit::append(&mut tx, actor, "webhook.delete", &format!("webhook:{id}"), &serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

/// The outbox kind of a webhook delivery (run by `jobs::webhook`).
pub const DELIVERY: &str = "webhook";

/// The event of a text message to a citizen: delivered only to gateways that ask for it (not to
/// `*` subscribers).
pub const SMS_EVENT: &str = "sms";

/// A delivery's payload in the outbox.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    /// The webhook's id (its URL and secret are read at delivery).
    pub webhook: String,
    /// The event's name.
    pub event: String,
    /// The event's body.
    pub body: serde_json::Value,
}

/// Enqueues one delivery of `event` to every active webhook subscribed to it, inside `tx`.
pub async fn enqueue_event(tx: &mut super::Tx, event: &str, body: &serde_json::Value) -> Result<usize> {
    enqueue_events(tx, event, std::slice::from_ref(body)).await
}

/// [`enqueue_event`] for many bodies of one event: one query for the subscribers, one insert.
pub async fn enqueue_events(
    conn: &mut sqlx::AnyConnection,
    event: &str,
    bodies: &[serde_json::Value],
) -> Result<usize> {
    let jobs = event_jobs(conn, event, bodies).await?;
    super::jobs::enqueue(conn, &jobs).await
}

/// The deliveries of `event` with each of `bodies` to the webhooks subscribed to it.
pub async fn event_jobs(
    conn: &mut sqlx::AnyConnection,
    event: &str,
    bodies: &[serde_json::Value],
) -> Result<Vec<super::jobs::NewJob>> {
    if bodies.is_empty() {
        return Ok(Vec::new());
    }
    Ok(jobs_for(&active(conn).await?, event, bodies))
}

/// An active webhook: its id and the events it subscribes to.
#[derive(Debug, Clone)]
pub struct Hook {
    /// Id.
    pub id: String,
    /// Comma-separated event names, or `*`.
    pub events: String,
}

/// The active webhooks.
pub async fn active(conn: &mut sqlx::AnyConnection) -> Result<Vec<Hook>> {
    let rows = sqlx::query("select id, events from webhooks where active = 1").fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(Hook { id: r.try_get("id")?, events: r.try_get("events")? })).collect()
}

/// [`event_jobs`] with the active webhooks read already.
pub fn jobs_for(hooks: &[Hook], event: &str, bodies: &[serde_json::Value]) -> Vec<super::jobs::NewJob> {
    let mut jobs = Vec::new();
    for hook in hooks {
        // `*` means every event but text messages, which go only to gateways that ask for them.
        if hook.events.split(',').any(|e| e == event || (e == "*" && event != SMS_EVENT)) {
            jobs.extend(bodies.iter().map(|body| super::jobs::NewJob {
                kind: DELIVERY,
                payload: serde_json::json!(Delivery {
                    webhook: hook.id.clone(),
                    event: event.to_owned(),
                    body: body.clone()
                }),
                dedupe_key: None,
                run_at: now_ms(),
                max_attempts: 8,
            }));
        }
    }
    jobs
}

/// Where a delivery goes: the webhook's URL and secret, or `None` when it was deleted or
/// deactivated since.
pub async fn target(store: &Store, id: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query("select url, secret, active from webhooks where id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let active: i64 = row.try_get("active")?;
    Ok((active != 0).then_some((row.try_get("url")?, row.try_get("secret")?)))
}
