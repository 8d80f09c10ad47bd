//! `webhook`: one signed delivery of an event to a subscribed URL. Payload `{"webhook",
//! "event", "body"}`; the URL and secret are read at delivery, so a rotated secret applies to
//! retries too. The receiver checks `X-Pingyi-Signature: sha256=HEX` = HMAC-SHA256(secret,
//! raw body).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sqlx::Row;

use super::Outbound;
use crate::store::jobs::NewJob;
use crate::store::{Store, Tx};

/// The job's stable name.
pub const KIND: &str = "webhook";

/// The signature header value of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Enqueues one delivery of `event` to every active webhook subscribed to it, inside `tx`.
pub async fn enqueue_event(tx: &mut Tx, event: &str, body: &serde_json::Value) -> crate::store::Result<usize> {
    enqueue_events(tx, event, std::slice::from_ref(body)).await
}

/// [`enqueue_event`] for many bodies of one event: one query for the subscribers, one insert.
pub async fn enqueue_events(
    conn: &mut sqlx::AnyConnection,
    event: &str,
    bodies: &[serde_json::Value],
) -> crate::store::Result<usize> {
    let jobs = event_jobs(conn, event, bodies).await?;
    crate::store::jobs::enqueue(conn, &jobs).await
}

/// The deliveries of `event` with each of `bodies` to the webhooks subscribed to it.
pub async fn event_jobs(
    conn: &mut sqlx::AnyConnection,
    event: &str,
    bodies: &[serde_json::Value],
) -> crate::store::Result<Vec<NewJob>> {
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
pub async fn active(conn: &mut sqlx::AnyConnection) -> crate::store::Result<Vec<Hook>> {
    let rows = sqlx::query("select id, events from webhooks where active = 1").fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(Hook { id: r.try_get("id")?, events: r.try_get("events")? })).collect()
}

/// [`event_jobs`] with the active webhooks read already.
pub fn jobs_for(hooks: &[Hook], event: &str, bodies: &[serde_json::Value]) -> Vec<NewJob> {
    let mut jobs = Vec::new();
    for hook in hooks {
        // `*` means every event but text messages, which go only to gateways that ask for them.
        if hook.events.split(',').any(|e| e == event || (e == "*" && event != super::sms::EVENT)) {
            jobs.extend(bodies.iter().map(|body| NewJob {
                kind: KIND,
                payload: serde_json::json!({"webhook": hook.id, "event": event, "body": body}),
                dedupe_key: None,
                run_at: crate::store::now_ms(),
                max_attempts: 8,
            }));
        }
    }
    jobs
}

/// Delivers; any non-2xx answer or network error is retried.
pub async fn run(store: &Store, out: &Outbound, delivery: &str, payload: &serde_json::Value) -> Result<(), String> {
    let id = payload.get("webhook").and_then(|v| v.as_str()).ok_or("payload has no webhook")?;
    let event = payload.get("event").and_then(|v| v.as_str()).unwrap_or_default();
    let row = sqlx::query("select url, secret, active from webhooks where id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the webhook was deleted")?;
    let active: i64 = row.try_get("active").map_err(|e| e.to_string())?;
    if active == 0 {
        return Ok(());
    }
    let url: String = row.try_get("url").map_err(|e| e.to_string())?;
    let secret: String = row.try_get("secret").map_err(|e| e.to_string())?;
    let body = serde_json::json!({"event": event, "delivery": delivery, "data": payload.get("body")}).to_string();
    let resp = out
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("x-pingyi-event", event)
        .header("x-pingyi-delivery", delivery)
        .header("x-pingyi-signature", signature(&secret, body.as_bytes()))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if resp.status().is_success() { Ok(()) } else { Err(format!("{url} answered {}", resp.status())) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // Known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            super::signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
