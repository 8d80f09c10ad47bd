//! `email`: one message over SMTP. Payload `{"to", "subject", "body"}`.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Outbound;
use crate::store::jobs::NewJob;

/// The job's stable name.
pub const KIND: &str = "email";

/// An email job to enqueue (five attempts).
pub fn job(to: &str, subject: &str, body: &str, dedupe_key: Option<String>) -> NewJob {
    NewJob {
        kind: KIND,
        payload: serde_json::json!({"to": to, "subject": subject, "body": body}),
        dedupe_key,
        run_at: crate::store::now_ms(),
        max_attempts: 5,
    }
}

/// Sends the message; an error (refused, unreachable, not configured) is retried.
pub async fn run(out: &Outbound, payload: &serde_json::Value) -> Result<(), String> {
    let url = out.smtp_url.as_deref().ok_or("email is not configured (smtp_url)")?;
    let text = |k: &str| payload.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let to: Mailbox = text("to").parse().map_err(|e| format!("to: {e}"))?;
    let from: Mailbox = out.mail_from.parse().map_err(|e| format!("mail_from: {e}"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(text("subject"))
        .header(ContentType::TEXT_PLAIN)
        .body(text("body"))
        .map_err(|e| e.to_string())?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| e.to_string())?.build();
    transport.send(message).await.map_err(|e| e.to_string())?;
    Ok(())
}
