//! SMS through a gateway adapter: a text message is delivered as the `sms` webhook event
//! (`{"to", "text"}`) to whatever subscribes to it, typically a small adapter in front of the
//! city's SMS gateway. Same signing, retries and dead-letter list as every webhook.

use crate::domain::rating::Phone;
use crate::store::Tx;

/// The webhook event that carries a text message.
pub const EVENT: &str = crate::store::webhooks::SMS_EVENT;

/// Enqueues a text message to `to` inside `tx`; returns how many gateways will receive it
/// (0 when no webhook subscribes to `sms`).
pub async fn enqueue(tx: &mut Tx, to: &Phone, text: &str) -> crate::store::Result<usize> {
    crate::store::webhooks::enqueue_event(tx, EVENT, &serde_json::json!({"to": to.expose(), "text": text})).await
}
