//! Coordination meetings (现场协调会): held on a matter with units, enterprises and people; the
//! minutes (纪要) are issued, numbered, within a deadline, and each decision becomes an item of
//! the ledger with an owner and a deadline, in the same transaction. The next meeting on the same
//! matter names the last one, and opens with the state of its decisions.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::calendar_data::CalendarHandle;
use crate::domain::ids::OrgCode;
use crate::domain::role::Role;
use crate::store::audit::{self, Actor};
use crate::store::items::{self, NewItem};
use crate::store::{Result, Store, StoreError, new_id, now_ms, opt_text};

/// A meeting.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Meeting {
    /// Id.
    pub id: String,
    /// What it is about.
    pub title: String,
    /// The subtree it concerns.
    pub scope_code: String,
    /// Its name.
    pub scope_name: String,
    /// The last meeting on the same matter.
    pub previous_id: Option<String>,
    /// When, ms.
    pub held_at: i64,
    /// Where.
    pub place: String,
    /// Who attended: units, enterprises, people.
    pub attendees: Vec<String>,
    /// The agenda.
    pub agenda: String,
    /// The minutes, once issued.
    pub minutes: Option<String>,
    /// The minutes are due by, ms.
    pub minutes_due_at: i64,
    /// The minutes' number, e.g. `城东区纪要〔2026〕3号`.
    pub minutes_number: Option<String>,
    /// Issued, ms.
    pub minutes_issued_at: Option<i64>,
    /// Who called it.
    pub created_by: String,
}

const COLUMNS: &str = "m.id, m.title, m.scope_code, n.name as scope_name, m.previous_id, m.held_at, m.place,
    m.attendees, m.agenda, m.minutes, m.minutes_due_at, m.minutes_number, m.minutes_issued_at, m.created_by
    from meetings m join org_nodes n on n.code = m.scope_code";

fn meeting_from(r: &AnyRow) -> Result<Meeting> {
    let attendees: String = r.try_get("attendees")?;
    Ok(Meeting {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        scope_code: r.try_get("scope_code")?,
        scope_name: r.try_get("scope_name")?,
        previous_id: opt_text(r, "previous_id")?,
        held_at: r.try_get("held_at")?,
        place: r.try_get("place")?,
        attendees: serde_json::from_str(&attendees)
            .map_err(|e| crate::store::undecodable("meetings.attendees", e.to_string()))?,
        agenda: r.try_get("agenda")?,
        minutes: opt_text(r, "minutes")?,
        minutes_due_at: r.try_get("minutes_due_at")?,
        minutes_number: opt_text(r, "minutes_number")?,
        minutes_issued_at: r.try_get("minutes_issued_at")?,
        created_by: r.try_get("created_by")?,
    })
}

/// A meeting to record.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    /// What it is about.
    pub title: String,
    /// The subtree it concerns.
    pub scope: OrgCode,
    /// The last meeting on the same matter.
    pub previous_id: Option<String>,
    /// When, ms.
    pub held_at: i64,
    /// Where.
    pub place: String,
    /// Who attended.
    pub attendees: Vec<String>,
    /// The agenda.
    pub agenda: String,
    /// The minutes are due by, ms.
    pub minutes_due_at: i64,
}

/// Records a meeting, audited.
pub async fn record(store: &Store, new: &NewMeeting, actor: &Actor) -> Result<Meeting> {
    let id = new_id();
    let mut tx = store.write().await?;
    sqlx::query(
        "insert into meetings (id, title, scope_code, previous_id, held_at, place, attendees, agenda, minutes_due_at,
            created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(&new.title)
    .bind(new.scope.as_str())
    .bind(&new.previous_id)
    .bind(new.held_at)
    .bind(&new.place)
    .bind(serde_json::to_string(&new.attendees).unwrap_or_else(|_| "[]".into()))
    .bind(&new.agenda)
    .bind(new.minutes_due_at)
    .bind(&actor.name)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let change = serde_json::json!({"title": new.title, "scope": new.scope, "previous": new.previous_id});
    audit::append(&mut tx, actor, "meeting.record", &format!("meeting:{id}"), &change).await?;
    tx.commit().await?;
    get(store, &id).await?.ok_or(StoreError::Missing("the meeting just recorded"))
}

/// One meeting.
pub async fn get(store: &Store, id: &str) -> Result<Option<Meeting>> {
    let sql = format!("select {COLUMNS} where m.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(meeting_from).transpose()
}

/// The latest meetings on subtrees within `scopes` (or covering them), newest first.
pub async fn list(store: &Store, scopes: &[OrgCode], limit: i64) -> Result<Vec<Meeting>> {
    let mut out = Vec::new();
    for s in scopes {
        let sql = format!(
            "select {COLUMNS} where m.scope_code in (select descendant from org_closure where ancestor = $1)
                or m.scope_code in (select ancestor from org_closure where descendant = $1)
             order by m.held_at desc, m.id limit {}",
            limit.clamp(1, 500)
        );
        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(s.as_str()).fetch_all(store.pool()).await? {
            let m = meeting_from(&r)?;
            if !out.iter().any(|x: &Meeting| x.id == m.id) {
                out.push(m);
            }
        }
    }
    out.sort_by(|a, b| b.held_at.cmp(&a.held_at).then_with(|| a.id.cmp(&b.id)));
    out.truncate(usize::try_from(limit).unwrap_or(100));
    Ok(out)
}

/// The items a meeting decided.
pub async fn decisions(store: &Store, id: &str) -> Result<Vec<items::Item>> {
    let ids: Vec<String> = sqlx::query_scalar("select id from items where meeting_id = $1 order by created_at, id")
        .bind(id)
        .fetch_all(store.pool())
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for i in ids {
        if let Some(item) = items::get(store, &i).await? {
            out.push(item);
        }
    }
    Ok(out)
}

/// Issues the minutes of `meeting` with its decisions, in one transaction: the numbered
/// minutes, an item per decision (source: meeting decision). Once: a second issue changes
/// nothing and answers [`StoreError::Misuse`].
pub async fn issue_minutes(
    store: &Store,
    calendar: &CalendarHandle,
    meeting: &Meeting,
    minutes: &str,
    decisions: &[NewItem],
    actor: &Actor,
    role: Role,
) -> Result<Meeting> {
    let mut cals = std::collections::HashMap::new();
    for d in decisions {
        if !cals.contains_key(&d.unit_code) {
            cals.insert(d.unit_code.clone(), calendar.for_node(store, &d.unit_code).await?);
        }
    }
    let now = now_ms();
    let mut tx = store.write().await?;
    let office = crate::store::cases::office_for(&mut tx, &meeting.scope_code).await?;
    let (_, _, number) = crate::store::workflow::next_number(&mut tx, "minutes", "纪要", &office, now).await?;
    let done = sqlx::query(
        "update meetings set minutes = $2, minutes_number = $3, minutes_issued_at = $4 where id = $1 and minutes is null",
    )
    .bind(&meeting.id)
    .bind(minutes)
    .bind(&number)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Misuse("the minutes were issued already"));
    }
    for d in decisions {
        let d = NewItem { meeting_id: Some(meeting.id.clone()), ..d.clone() };
        items::open_in(&mut tx, &cals[&d.unit_code], &d, actor, role).await?;
    }
    let change =
        serde_json::json!({"number": number, "decisions": decisions.len(), "late": now > meeting.minutes_due_at});
    audit::append(&mut tx, actor, "meeting.minutes", &format!("meeting:{}", meeting.id), &change).await?;
    tx.commit().await?;
    get(store, &meeting.id).await?.ok_or(StoreError::Missing("the meeting"))
}

/// Moves a meeting and the items it decided back by `by` ms, as if held then (the demo).
pub async fn move_back(store: &Store, id: &str, by: i64) -> Result<()> {
    let mut tx = store.write().await?;
    sqlx::query(
        "update meetings set held_at = held_at - $2, minutes_due_at = minutes_due_at - $2,
            minutes_issued_at = minutes_issued_at - $2, created_at = created_at - $2 where id = $1",
    )
    .bind(id)
    .bind(by)
    .execute(&mut *tx)
    .await?;
    items::move_back(&mut tx, "meeting_id", id, by).await?;
    tx.commit().await?;
    Ok(())
}
