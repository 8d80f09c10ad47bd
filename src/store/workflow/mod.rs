//! The executor every workflow machine shares. A machine's store module reads the facts, asks
//! its domain module for the transition, and hands the result here: [`guard`] makes the one
//! versioned update (`where state = $from and version = $v`), an [`Execution`] runs the shared
//! effects ([`Flow`]s: step clocks, closing, numbered documents, who is told), appends the
//! timeline entry, links the evidence and writes the audit row, all inside the caller's
//! transaction. The machine's own effects (a case's verdict, an item's progress) stay in its
//! module. What differs between machines is their tables, named once in a [`Tables`].

use chrono::{Datelike, TimeZone};

use crate::domain::FieldError;
use crate::domain::calendar::Calendar;
use crate::domain::role::Role;
use crate::domain::sla::{Clock, Thresholds};
use crate::domain::workflow::{DocumentKind, Flow, Limit, Named, Start};
use crate::store::audit::{self, Actor};
use crate::store::sla::{self, NewClock};
use crate::store::{Result, StoreError, Tx, new_id};

mod evidence;

pub use evidence::{Attachment, Files, attachment, attachments, path_of, save_attachment, sniff};

/// A machine's tables. The subject table has `id`, `state`, `version`, `updated_at`, `step`,
/// `step_clock_id`, `step_due_at` and `closed_at`; the timeline, evidence and document tables
/// have the shapes of the case loop's (`case_events`, `attachments`, `case_documents`), keyed
/// by `key`.
#[derive(Debug)]
pub struct Tables {
    /// The subjects (`cases`).
    pub subject: &'static str,
    /// Their timeline (`case_events`).
    pub events: &'static str,
    /// The column naming the subject in the other tables (`case_id`).
    pub key: &'static str,
    /// Evidence files (`attachments`).
    pub attachments: &'static str,
    /// Numbered documents (`case_documents`).
    pub documents: &'static str,
    /// The subject's noun in audit actions (`case.order`), audit targets (`case:ID`) and clock
    /// subjects (`case:ID:acknowledge`).
    pub noun: &'static str,
}

impl Tables {
    /// Where the machine keeps its evidence.
    pub const fn files(&self) -> Files {
        Files { table: self.attachments, key: self.key, noun: self.noun }
    }
}

/// Why a transition was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The subject changed since the caller read it (or another change won the race).
    #[error("the {0} was changed by someone else; reload it and try again")]
    Stale(&'static str),
    /// A detail refers to something that does not exist or does not fit.
    #[error("invalid details")]
    Invalid(Vec<FieldError>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Store(StoreError::from(e))
    }
}

/// A field-level refusal of a detail.
pub fn invalid(field: &str, message: impl Into<String>) -> ApplyError {
    ApplyError::Invalid(vec![FieldError::new(field, message)])
}

/// The guarded update that makes a transition: moves subject `id` from `from` to `to` if it is
/// still at `version`, else changes nothing and answers [`ApplyError::Stale`].
pub async fn guard(
    tx: &mut Tx,
    tables: &Tables,
    id: &str,
    (from, to): (&str, &str),
    version: i64,
    now: i64,
) -> Result<(), ApplyError> {
    let sql = format!(
        "update {} set state = $2, version = version + 1, updated_at = $3 where id = $1 and state = $4 and version = $5",
        tables.subject
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(to)
        .bind(now)
        .bind(from)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(ApplyError::Stale(tables.noun));
    }
    Ok(())
}

/// Starts the clock of `step` of subject `id` (for `unit`'s calendar) inside `tx`; returns its
/// id and due time.
#[allow(clippy::too_many_arguments)]
pub async fn start_clock(
    tx: &mut Tx,
    cal: &Calendar,
    tables: &Tables,
    id: &str,
    unit: &str,
    step: &str,
    clock: Clock,
    started_at: i64,
) -> Result<(String, i64)> {
    let subject = format!("{}:{id}:{step}", tables.noun);
    let new = NewClock { subject: &subject, unit_code: Some(unit), handler: None, clock, started_at };
    sla::start(tx, cal, &Thresholds::default(), &new).await
}

/// Stops a clock inside `tx`.
pub async fn stop_clock(tx: &mut Tx, id: Option<&str>, now: i64) -> Result<()> {
    if let Some(id) = id {
        sqlx::query(
            "update sla_clocks set state = 'stopped', next_check_at = null, updated_at = $2 where id = $1 and state <> 'stopped'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The next number of a document of `kind` (printed with `word`) from `office` in the year of
/// `now`: its year, serial and printed number (`城东区督办〔2026〕3号`). The counter row is locked
/// by the upsert, so concurrent issues never share a number, whichever machine issues them.
pub async fn next_number(
    conn: &mut sqlx::AnyConnection,
    kind: &str,
    word: &str,
    office: &str,
    now: i64,
) -> Result<(i64, i64, String)> {
    let year = i64::from(crate::domain::calendar::cst().timestamp_millis_opt(now).single().map_or(1970, |d| d.year()));
    let serial: i64 = sqlx::query_scalar(
        "insert into document_serials (office_code, kind, year, last) values ($1, $2, $3, 1)
         on conflict (office_code, kind, year) do update set last = document_serials.last + 1 returning last",
    )
    .bind(office)
    .bind(kind)
    .bind(year)
    .fetch_one(&mut *conn)
    .await?;
    let office_name: String =
        sqlx::query_scalar("select name from org_nodes where code = $1").bind(office).fetch_one(&mut *conn).await?;
    Ok((year, serial, format!("{office_name}{word}〔{year}〕{serial}号")))
}

/// Issues a numbered document of subject `id` inside `tx` ([`next_number`]). Returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn issue_document<D: DocumentKind>(
    conn: &mut sqlx::AnyConnection,
    tables: &Tables,
    id: &str,
    event: Option<&str>,
    kind: D,
    office: &str,
    body: &serde_json::Value,
    now: i64,
) -> Result<String> {
    let (year, serial, number) = next_number(conn, kind.as_str(), kind.word(), office, now).await?;
    let doc = new_id();
    let sql = format!(
        "insert into {} (id, {}, event_id, kind, office_code, year, serial, number, body, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        tables.documents, tables.key
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&doc)
        .bind(id)
        .bind(event)
        .bind(kind.as_str())
        .bind(office)
        .bind(year)
        .bind(serial)
        .bind(&number)
        .bind(body.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(doc)
}

/// How the shared effects time a machine's steps: the policy's limit per step, the working days
/// a pending extension asked for, and the deadline in force.
pub struct Timing<'a, S> {
    /// The SLA policy's limit for a step.
    pub policy: &'a (dyn Fn(S) -> Clock + Sync),
    /// The working days the pending extension request asked for.
    pub requested_days: u32,
    /// The deadline in force, if any.
    pub deadline: Option<i64>,
}

/// One transition's execution: the shared state the effects read and leave for those after
/// them (the clock of the step being timed, the due time of the step just started, the
/// timeline entry) and what the timeline entry records (`data`).
pub struct Execution<'a> {
    /// The machine's tables.
    pub tables: &'static Tables,
    /// The subject.
    pub id: &'a str,
    /// The unit whose calendar times its steps.
    pub unit: &'a str,
    /// The moment of the transition.
    pub now: i64,
    /// The unit's calendar.
    pub cal: &'a Calendar,
    /// The clock of the step being timed.
    pub step_clock: Option<String>,
    /// The subject's overall clock.
    pub subject_clock: Option<String>,
    /// The due time of the step started last.
    pub last_due: Option<i64>,
    /// What the timeline entry records besides the note.
    pub data: serde_json::Value,
    /// The timeline entry, once appended.
    pub event: Option<String>,
    /// Who is told, once a notice effect ran.
    pub tell: Option<Option<Role>>,
}

impl Execution<'_> {
    /// Runs a shared effect that comes before the timeline entry (clocks, steps, closing).
    pub async fn before_event<S: Named, D>(
        &mut self,
        tx: &mut Tx,
        flow: Flow<S, D>,
        timing: &Timing<'_, S>,
    ) -> Result<()> {
        match flow {
            Flow::StopStepClock => {
                stop_clock(tx, self.step_clock.as_deref(), self.now).await?;
                self.step_clock = None;
            }
            Flow::StartStep { step, limit, from } => {
                let clock = match limit {
                    Limit::Policy => (timing.policy)(step),
                    Limit::WorkingDays(days) => Clock::WorkingDays(days),
                    Limit::RequestedExtension => Clock::WorkingDays(timing.requested_days),
                };
                let at = match from {
                    Start::Now => self.now,
                    Start::Deadline => timing.deadline.unwrap_or(self.now),
                    Start::At(at) => at,
                };
                let (clock_id, due) =
                    start_clock(tx, self.cal, self.tables, self.id, self.unit, step.as_str(), clock, at).await?;
                self.set_step(tx, Some((step.as_str(), &clock_id, due))).await?;
                self.step_clock = Some(clock_id);
                self.last_due = Some(due);
            }
            Flow::ClearStep => self.set_step(tx, None).await?,
            Flow::Close => {
                stop_clock(tx, self.step_clock.as_deref(), self.now).await?;
                stop_clock(tx, self.subject_clock.as_deref(), self.now).await?;
                self.step_clock = None;
                self.set_step(tx, None).await?;
                let sql = format!("update {} set closed_at = $2 where id = $1", self.tables.subject);
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.id).bind(self.now).execute(&mut **tx).await?;
            }
            Flow::Reopen => {
                let sql = format!("update {} set closed_at = null where id = $1", self.tables.subject);
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.id).execute(&mut **tx).await?;
            }
            Flow::Notify(role) => self.tell = Some(role),
            Flow::Issue(_) => {}
        }
        Ok(())
    }

    /// Sets the step being timed.
    async fn set_step(&self, tx: &mut Tx, step: Option<(&str, &str, i64)>) -> Result<()> {
        let sql =
            format!("update {} set step = $2, step_clock_id = $3, step_due_at = $4 where id = $1", self.tables.subject);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.id)
            .bind(step.map(|s| s.0))
            .bind(step.map(|s| s.1))
            .bind(step.map(|s| s.2))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Appends the transition's timeline entry (with [`Execution::data`]); returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn append_event(
        &mut self,
        tx: &mut Tx,
        action: &str,
        (from, to): (&str, &str),
        actor: &Actor,
        role: &str,
        note: &str,
    ) -> Result<String> {
        let (events, key) = (self.tables.events, self.tables.key);
        let seq_sql = format!("select cast(coalesce(max(seq), 0) + 1 as bigint) from {events} where {key} = $1");
        let seq: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(seq_sql)).bind(self.id).fetch_one(&mut **tx).await?;
        let id = new_id();
        let sql = format!(
            "insert into {events} (id, {key}, seq, action, from_state, to_state, actor, actor_role, note, data, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .bind(self.id)
            .bind(seq)
            .bind(action)
            .bind(from)
            .bind(to)
            .bind(&actor.name)
            .bind(role)
            .bind(note)
            .bind(self.data.to_string())
            .bind(self.now)
            .execute(&mut **tx)
            .await?;
        self.event = Some(id.clone());
        Ok(id)
    }

    /// Links evidence uploaded to this subject (and not yet used) to the timeline entry.
    pub async fn link_evidence(&self, tx: &mut Tx, attachments: &[String]) -> Result<(), ApplyError> {
        let sql = format!(
            "update {} set event_id = $3 where id = $1 and {} = $2 and event_id is null",
            self.tables.attachments, self.tables.key
        );
        for file in attachments {
            let linked = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(file)
                .bind(self.id)
                .bind(self.event.as_deref())
                .execute(&mut **tx)
                .await?;
            if linked.rows_affected() != 1 {
                let noun = self.tables.noun;
                return Err(invalid("attachments", format!("{file} is not an unused file uploaded to this {noun}")));
            }
        }
        Ok(())
    }

    /// Issues a numbered document referring to the timeline entry; returns its id.
    pub async fn issue<D: DocumentKind>(
        &self,
        tx: &mut Tx,
        kind: D,
        office: &str,
        body: &serde_json::Value,
    ) -> Result<String> {
        issue_document(tx, self.tables, self.id, self.event.as_deref(), kind, office, body, self.now).await
    }

    /// Writes the transition's audit row: `{noun}.{action}` on `{noun}:{id}`.
    pub async fn audit(&self, tx: &mut Tx, actor: &Actor, action: &str, change: &serde_json::Value) -> Result<()> {
        let noun = self.tables.noun;
        audit::append(tx, actor, &format!("{noun}.{action}"), &format!("{noun}:{}", self.id), change).await?;
        Ok(())
    }
}

/// A timeline entry of any machine, with the evidence linked to it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = TimelineEntry)]
pub struct Event {
    /// Id.
    pub id: String,
    /// 1, 2, … in order.
    pub seq: i64,
    /// The action.
    pub action: String,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Who (login name).
    pub actor: String,
    /// In which role.
    pub actor_role: String,
    /// What they wrote.
    pub note: String,
    /// The action's details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When, ms.
    pub created_at: i64,
    /// Evidence linked to this step.
    pub attachments: Vec<Attachment>,
}

/// Subject `id`'s timeline in `tables`, oldest first, with each step's evidence.
pub async fn timeline(store: &crate::store::Store, tables: &Tables, id: &str) -> Result<Vec<Event>> {
    use sqlx::Row;
    let sql = format!(
        "select id, seq, action, from_state, to_state, actor, actor_role, note, data, created_at from {}
         where {} = $1 order by seq",
        tables.events, tables.key
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(store.pool()).await?;
    let files = attachments(store, &tables.files(), id).await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Ok(Event {
                attachments: files.iter().filter(|a| a.event_id.as_deref() == Some(id.as_str())).cloned().collect(),
                id,
                seq: r.try_get("seq")?,
                action: r.try_get("action")?,
                from_state: r.try_get("from_state")?,
                to_state: r.try_get("to_state")?,
                actor: r.try_get("actor")?,
                actor_role: r.try_get("actor_role")?,
                note: r.try_get("note")?,
                data: crate::store::decode_json(&r.try_get::<String, _>("data")?, "timeline data")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
