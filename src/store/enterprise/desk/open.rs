//! Opening a request: from a firm's problem posted in the channel, or a cadre's conversion of a
//! firm's earlier message (the clock counting from that message).

use super::*;

/// What a project needs to open a request in its channel.
#[derive(Debug, Clone)]
pub struct ProjectRef {
    /// Id.
    pub id: String,
    /// Park (whose desk promises apply and whose office numbers requests).
    pub park_code: String,
    /// The unit that serves it.
    pub unit_code: String,
}

/// Who is acting, as the channel and the notices name them.
#[derive(Debug, Clone)]
pub struct Author<'a> {
    /// Audit actor.
    pub actor: &'a Actor,
    /// Role.
    pub role: Role,
    /// Name shown.
    pub name: &'a str,
}

/// Opens a request inside `tx` from the message `message` of firm `firm` in project `p`'s
/// channel, posted at `now`. Returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn open_in(
    tx: &mut Tx,
    cal: &Calendar,
    p: &ProjectRef,
    firm: &str,
    title: &str,
    body: &str,
    message: &str,
    who: &Author<'_>,
    now: i64,
) -> Result<String> {
    let settings = super::super::desk_settings(tx, &p.park_code).await?;
    let id = new_id();
    let (year, serial, number) = workflow::next_number(tx, "desk_request", "企诉", &p.park_code, now).await?;
    let reply_from = settings.reply_start(cal, now);
    let hours = crate::domain::calendar::BusinessHours::default();
    let handover_until = crate::domain::sla::Clock::WorkingDays(settings.handover_days)
        .due(cal, now, &hours)
        .map_err(StoreError::from)?;
    sqlx::query(
        "insert into desk_requests (id, number, office_code, project_id, enterprise_id, message_id, title, body, unit_code,
            state, version, posted_by, posted_at, reply_from, reply_due_at, complex, rejections, handovers, handover_until,
            created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'posted', 1, $10, $11, $12, $12, 0, 0, 0, $13, $11, $11)",
    )
    .bind(&id)
    .bind(&number)
    .bind(&p.park_code)
    .bind(&p.id)
    .bind(firm)
    .bind(message)
    .bind(title)
    .bind(body)
    .bind(&p.unit_code)
    .bind(&who.actor.name)
    .bind(now)
    .bind(reply_from)
    .bind(handover_until)
    .execute(&mut **tx)
    .await?;
    let _ = (year, serial);
    sqlx::query("update channel_messages set request_id = $2 where id = $1")
        .bind(message)
        .bind(&id)
        .execute(&mut **tx)
        .await?;
    let policy = move |s| settings.limit(s);
    let timing = Timing { policy: &policy, requested_days: 0, deadline: None };
    let mut x = Execution {
        tables: &TABLES,
        id: &id,
        unit: &p.unit_code,
        now,
        cal,
        step_clock: None,
        subject_clock: None,
        last_due: None,
        data: serde_json::json!({"reply_from": reply_from, "number": number}),
        event: None,
        tell: None,
    };
    for e in machine::opening_effects(reply_from) {
        if let Some(flow) = e.flow() {
            x.before_event(tx, flow, &timing).await?;
        }
    }
    let due = x.last_due.unwrap_or(reply_from);
    sqlx::query("update desk_requests set reply_due_at = $2 where id = $1")
        .bind(&id)
        .bind(due)
        .execute(&mut **tx)
        .await?;
    x.data["reply_due_at"] = due.into();
    x.append_event(tx, "post", ("posted", "posted"), who.actor, who.role.as_str(), body).await?;
    settle(tx, &id, "post", x.tell.flatten(), &x.data, now).await?;
    x.audit(tx, who.actor, "post", &serde_json::json!({"title": title, "number": number})).await?;
    Ok(id)
}

/// A message to post in a project's channel.
#[derive(Debug, Clone)]
pub struct Post<'a> {
    /// The text.
    pub body: &'a str,
    /// Files uploaded to the project, posted with it.
    pub files: &'a [String],
    /// For a firm's problem: the request's one-line title and the firm.
    pub problem: Option<(&'a str, &'a str)>,
}

/// Posts a message in project `p`'s channel at `now`; a firm's problem opens a desk request in
/// the same transaction, its reply clock starting then. Returns the message's id and the request's.
pub async fn post(
    store: &Store,
    calendar: &CalendarHandle,
    p: &ProjectRef,
    who: &Author<'_>,
    m: &Post<'_>,
    now: i64,
) -> Result<(String, Option<String>), ApplyError> {
    let cal = calendar.for_node(store, &p.unit_code).await?;
    let mut tx = store.write().await?;
    let (message, _) =
        channel::append(&mut tx, &p.id, (&who.actor.name, who.role.as_str(), who.name), m.body, None, m.files, now)
            .await?;
    let request = match m.problem {
        Some((title, firm)) => Some(open_in(&mut tx, &cal, p, firm, title, m.body, &message, who, now).await?),
        None => None,
    };
    tx.commit().await.map_err(StoreError::from)?;
    Ok((message, request))
}

/// Opens a desk request from message `message` a firm's user posted in project `p`'s channel
/// (a cadre converts what the firm did not mark): the reply clock counts from the message, not
/// from the conversion. `Ok(None)` when the message is not a firm's unraised message of this
/// project.
pub async fn convert(
    store: &Store,
    calendar: &CalendarHandle,
    p: &ProjectRef,
    message: &str,
    title: &str,
    who: &Author<'_>,
) -> Result<Option<String>, ApplyError> {
    let row = sqlx::query(
        "select m.body, m.created_at, f.enterprise_id from channel_messages m
         join users u on u.username = m.author join enterprise_users f on f.user_id = u.id
         where m.id = $1 and m.project_id = $2 and m.author_role = 'enterprise' and m.request_id is null",
    )
    .bind(message)
    .bind(&p.id)
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (body, posted, firm): (String, i64, String) =
        (row.try_get("body")?, row.try_get("created_at")?, row.try_get("enterprise_id")?);
    let cal = calendar.for_node(store, &p.unit_code).await?;
    let mut tx = store.write().await?;
    let id = open_in(&mut tx, &cal, p, &firm, title, &body, message, who, posted).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Some(id))
}
