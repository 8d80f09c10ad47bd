//! `email`: one message over SMTP. Payload `{"to", "subject", "body"}`.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Outbound;

/// The job's stable name.
pub const KIND: &str = crate::store::jobs::EMAIL;

pub use crate::store::jobs::email as job;

/// Sends the message; an error (refused, unreachable, not configured) is retried.
pub async fn run(out: &Outbound, payload: &serde_json::Value) -> Result<(), String> {
    let url = out.smtp_url.as_deref().ok_or("email is not configured (smtp_url)")?;
    let email: crate::store::jobs::Email =
        serde_json::from_value(payload.clone()).map_err(|e| format!("payload: {e}"))?;
    let to: Mailbox = email.to.parse().map_err(|e| format!("to: {e}"))?;
    let from: Mailbox = out.mail_from.parse().map_err(|e| format!("mail_from: {e}"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(email.body)
        .map_err(|e| e.to_string())?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| e.to_string())?.build();
    transport.send(message).await.map_err(|e| e.to_string())?;
    Ok(())
}
