//! `webhook`: one signed delivery of an event to a subscribed URL. Payload `{"webhook",
//! "event", "body"}`; the URL and secret are read at delivery, so a rotated secret applies to
//! retries too. The receiver checks `X-Pingyi-Signature: sha256=HEX` = HMAC-SHA256(secret,
//! raw body).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Outbound;
use crate::store::Store;

/// The job's stable name.
pub const KIND: &str = crate::store::webhooks::DELIVERY;

/// The signature header value of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub use crate::store::webhooks::{enqueue_event, enqueue_events};

/// Delivers; any non-2xx answer or network error is retried.
pub async fn run(store: &Store, out: &Outbound, delivery: &str, payload: &serde_json::Value) -> Result<(), String> {
    let delivery_of: crate::store::webhooks::Delivery =
        serde_json::from_value(payload.clone()).map_err(|e| format!("payload: {e}"))?;
    let event = delivery_of.event.as_str();
    let Some((url, secret)) =
        crate::store::webhooks::target(store, &delivery_of.webhook).await.map_err(|e| e.to_string())?
    else {
        // Deleted or deactivated since: nothing to deliver.
        return Ok(());
    };
    let body = serde_json::json!({"event": event, "delivery": delivery, "data": delivery_of.body}).to_string();
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
