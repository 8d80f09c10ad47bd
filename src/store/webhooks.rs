//! Webhook subscriptions: a URL, a secret to sign deliveries, the events it wants.

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
