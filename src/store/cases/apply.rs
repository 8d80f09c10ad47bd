//! Applying a transition the domain permitted: one guarded update (`where state = $from and
//! version = $v`), then the transition's effects as the domain listed them (step clocks, the
//! rectification deadline, documents, accountability, …), the timeline entry with its evidence,
//! the notices (inbox, email, webhook) and the audit row, all in one transaction. This module
//! decides nothing: what happens is the domain's (`domain::case::effects`). A stale or
//! concurrent update changes nothing and answers [`ApplyError::Stale`].

use super::notify::{Notice, notify};
use super::{Case, get, office_for, register, start_clock};
use crate::calendar_data::CalendarHandle;
use crate::domain::FieldError;
use crate::domain::case::Transition;
use crate::domain::case::effects::{Effect, Limit, Start, Step};
use crate::domain::role::Role;
use crate::domain::sla::Clock;
use crate::store::audit::{self, Actor};
use crate::store::script::Script;
use crate::store::{Result, Store, StoreError, Tx, new_id, now_ms};

/// What travels beside an action, validated at the edge.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// What the actor wrote (what the citizen said, the explanation, the reason, …).
    pub note: String,
    /// The rectification order's requirements.
    pub requirements: Option<String>,
    /// Evidence uploaded for this step.
    pub attachments: Vec<String>,
    /// Staff numbers held to account.
    pub staff: Vec<String>,
    /// The unit head held to account, by name.
    pub unit_head: Option<String>,
    /// The unit a sent-back case goes to.
    pub unit: Option<String>,
}

/// Why a transition was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The case changed since the caller read it (or another change won the race).
    #[error("the case was changed by someone else; reload it and try again")]
    Stale,
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

fn invalid(field: &str, message: impl Into<String>) -> ApplyError {
    ApplyError::Invalid(vec![FieldError::new(field, message)])
}

/// Stops a clock inside `tx`.
async fn stop_clock(tx: &mut Tx, id: Option<&str>, now: i64) -> Result<()> {
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

/// Sets the step being timed.
async fn set_step(tx: &mut Tx, case_id: &str, step: Option<(&str, String, i64)>) -> Result<()> {
    let (name, clock, due) = match step {
        Some((n, c, d)) => (Some(n), Some(c), Some(d)),
        None => (None, None, None),
    };
    sqlx::query("update cases set step = $2, step_clock_id = $3, step_due_at = $4 where id = $1")
        .bind(case_id)
        .bind(name)
        .bind(clock)
        .bind(due)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Applies `t` to `case` as `actor` (in `role`): the executor of the effects the domain
/// returned with the transition. The caller has checked scope and asked the domain; this checks
/// the details against the database and writes everything or nothing, in this order: the
/// guarded update, each effect in the order given (those that need the timeline entry, the
/// document and the accountability rows, after it), the evidence links, the rollups, the
/// notices and the audit row.
pub async fn apply(
    store: &Store,
    calendar: &CalendarHandle,
    case: &Case,
    t: Transition,
    d: &Details,
    actor: &Actor,
    role: Role,
) -> Result<Case, ApplyError> {
    let now = now_ms();
    let mut unit = case.unit_code.clone();
    if t.effects.contains(&Effect::MoveToNamedUnit) {
        unit = d.unit.clone().ok_or_else(|| invalid("unit", "name the unit the case goes to"))?;
        let kind: Option<String> = sqlx::query_scalar("select kind from org_nodes where code = $1")
            .bind(&unit)
            .fetch_optional(store.pool())
            .await
            .map_err(StoreError::from)?;
        if kind.is_none() {
            return Err(invalid("unit", format!("no unit {unit:?}")));
        }
    }
    let policy = crate::store::sla::policy_for(store, case.source.as_str(), &case.category, &case.priority).await?;
    let cal = calendar.for_node(store, &unit).await?;
    let mut tx = store.write().await?;
    let guarded = sqlx::query(
        "update cases set state = $2, version = version + 1, updated_at = $3 where id = $1 and state = $4 and version = $5",
    )
    .bind(&case.id)
    .bind(t.to.as_str())
    .bind(now)
    .bind(t.from.as_str())
    .bind(case.version)
    .execute(&mut *tx)
    .await?;
    if guarded.rows_affected() != 1 {
        return Err(ApplyError::Stale);
    }
    let mut run = Run {
        case,
        unit: &unit,
        details: d,
        actor,
        now,
        cal: &cal,
        policy: &policy,
        data: serde_json::to_value(t.action).unwrap_or_default(),
        step_clock: case.step_clock_id.clone(),
        last_due: None,
        on_time: false,
        held: 0,
    };
    for effect in &t.effects {
        run.before_event(&mut tx, *effect).await?;
    }
    let event = insert_event(
        &mut tx,
        &case.id,
        t.action.name().as_str(),
        t.from.as_str(),
        t.to.as_str(),
        actor,
        role.as_str(),
        &d.note,
        &run.data,
        now,
    )
    .await?;
    for id in &d.attachments {
        let linked =
            sqlx::query("update attachments set event_id = $3 where id = $1 and case_id = $2 and event_id is null")
                .bind(id)
                .bind(&case.id)
                .bind(&event)
                .execute(&mut *tx)
                .await?;
        if linked.rows_affected() != 1 {
            return Err(invalid("attachments", format!("{id} is not an unused file uploaded to this case")));
        }
    }
    let mut tell = None;
    for effect in &t.effects {
        if let Effect::Notify(role) = effect {
            tell = *role;
        }
        run.after_event(&mut tx, *effect, &event).await?;
    }
    let counted = crate::domain::case::counted(&t, run.on_time, run.held);
    crate::store::rollups::add_case(&mut tx, &unit, now, &counted).await?;
    let office: String =
        sqlx::query_scalar("select office_code from cases where id = $1").bind(&case.id).fetch_one(&mut *tx).await?;
    let action = t.action.name();
    let notice = Notice {
        case_id: &case.id,
        title: &case.title,
        tell,
        state: t.to,
        unit: &unit,
        office: &office,
        action: action.as_str(),
    };
    let mut script = Script::new();
    notify(&mut tx, &mut script, &[notice]).await?;
    script.run(&mut tx).await?;
    audit::append(
        &mut tx,
        actor,
        &format!("case.{}", t.action.name().as_str()),
        &format!("case:{}", case.id),
        &serde_json::json!({"before": t.from, "after": t.to, "version": case.version + 1, "note": d.note, "data": run.data}),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    get(store, &case.id).await?.ok_or(ApplyError::Stale)
}

/// One transition's execution: what the effects read and what they leave for those after them
/// (the clock of the step being timed, the due time of the step just started) and for the
/// timeline entry (`data`), the rollups (`on_time`, `held`).
struct Run<'a> {
    case: &'a Case,
    unit: &'a str,
    details: &'a Details,
    actor: &'a Actor,
    now: i64,
    cal: &'a crate::domain::calendar::Calendar,
    policy: &'a crate::store::sla::Policy,
    data: serde_json::Value,
    step_clock: Option<String>,
    last_due: Option<i64>,
    on_time: bool,
    held: i64,
}

impl Run<'_> {
    /// Runs `effect` if it comes before the timeline entry (all but documents, accountability
    /// and notices).
    async fn before_event(&mut self, tx: &mut Tx, effect: Effect) -> Result<(), ApplyError> {
        let (case, now) = (self.case, self.now);
        match effect {
            Effect::StopStepClock => {
                stop_clock(tx, self.step_clock.as_deref(), now).await?;
                self.step_clock = None;
            }
            Effect::StartStep { step, limit, from } => {
                let clock = match limit {
                    Limit::Policy => match step {
                        Step::Acknowledge => self.policy.acknowledge,
                        Step::ReturnVisit => self.policy.return_visit,
                        Step::Rectification => self.policy.resolution,
                    },
                    Limit::WorkingDays(days) => Clock::WorkingDays(days),
                    Limit::RequestedExtension => {
                        Clock::WorkingDays(u32::try_from(case.extension_days.unwrap_or(0)).unwrap_or(0))
                    }
                };
                let at = match from {
                    Start::Now => now,
                    Start::OrderDeadline => case.order_due_at.unwrap_or(now),
                };
                let (id, due) = start_clock(tx, self.cal, &case.id, self.unit, step.as_str(), clock, at).await?;
                set_step(tx, &case.id, Some((step.as_str(), id.clone(), due))).await?;
                self.step_clock = Some(id);
                self.last_due = Some(due);
            }
            Effect::ClearStep => set_step(tx, &case.id, None).await?,
            Effect::SetOrderDeadline { fresh } => {
                let due = self.last_due.unwrap_or(now);
                let sql = if fresh {
                    "update cases set order_due_at = $2, reported_on_time = null where id = $1"
                } else {
                    "update cases set order_due_at = $2 where id = $1"
                };
                sqlx::query(sql).bind(&case.id).bind(due).execute(&mut **tx).await?;
                self.data["due_at"] = due.into();
                if fresh && let Some(req) = &self.details.requirements {
                    self.data["requirements"] = req.clone().into();
                }
            }
            Effect::MarkReportedOnTime => {
                self.on_time = case.order_due_at.is_none_or(|due| now <= due);
                sqlx::query("update cases set reported_on_time = $2 where id = $1")
                    .bind(&case.id)
                    .bind(i64::from(self.on_time))
                    .execute(&mut **tx)
                    .await?;
                self.data["on_time"] = self.on_time.into();
            }
            Effect::SetVerdict(verdict) => {
                sqlx::query("update cases set verdict = $2 where id = $1")
                    .bind(&case.id)
                    .bind(verdict.as_str())
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::FileAppeal => {
                if let Some(rating) = &case.rating_id {
                    file_appeal(tx, rating, &case.unit_code, &self.details.note, self.actor, now).await?;
                    self.data["appeal_filed"] = serde_json::Value::Bool(true);
                }
            }
            Effect::CountReopening => {
                sqlx::query("update cases set reopened = reopened + 1 where id = $1")
                    .bind(&case.id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::RecordExtensionRequest { days } => {
                sqlx::query("update cases set extension_days = $2, extension_reason = $3 where id = $1")
                    .bind(&case.id)
                    .bind(i64::from(days))
                    .bind(&self.details.note)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::ClearExtensionRequest => {
                self.data["days"] = case.extension_days.into();
                sqlx::query("update cases set extension_days = null, extension_reason = null where id = $1")
                    .bind(&case.id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::MoveToNamedUnit => {
                let office = office_for(tx, self.unit).await?;
                sqlx::query("update cases set unit_code = $2, office_code = $3 where id = $1")
                    .bind(&case.id)
                    .bind(self.unit)
                    .bind(&office)
                    .execute(&mut **tx)
                    .await?;
                self.data["unit"] = self.unit.into();
            }
            Effect::Close => {
                stop_clock(tx, self.step_clock.as_deref(), now).await?;
                stop_clock(tx, case.clock_id.as_deref(), now).await?;
                self.step_clock = None;
                set_step(tx, &case.id, None).await?;
                sqlx::query("update cases set closed_at = $2 where id = $1")
                    .bind(&case.id)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::Issue(_) | Effect::RecordAccountability(_) | Effect::Notify(_) => {}
        }
        Ok(())
    }

    /// Runs `effect` if it needs the timeline entry `event` (documents, accountability).
    async fn after_event(&mut self, tx: &mut Tx, effect: Effect, event: &str) -> Result<(), ApplyError> {
        let case = self.case;
        match effect {
            Effect::Issue(kind) => {
                let body = serde_json::json!({
                    "title": case.title, "description": case.description, "unit": case.unit_name,
                    "requirements": self.details.requirements, "deadline_days": self.data["deadline_days"],
                    "due_at": self.last_due,
                });
                register::issue_document(tx, &case.id, Some(event), kind.as_str(), &case.office_code, &body, self.now)
                    .await?;
            }
            Effect::RecordAccountability(kind) => {
                self.held =
                    register::record_decision(tx, case, event, kind, self.details, self.actor, self.now).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Appends a timeline entry; returns its id.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_event(
    tx: &mut Tx,
    case_id: &str,
    action: &str,
    from: &str,
    to: &str,
    actor: &Actor,
    role: &str,
    note: &str,
    data: &serde_json::Value,
    now: i64,
) -> Result<String> {
    let seq: i64 =
        sqlx::query_scalar("select cast(coalesce(max(seq), 0) + 1 as bigint) from case_events where case_id = $1")
            .bind(case_id)
            .fetch_one(&mut **tx)
            .await?;
    let id = new_id();
    sqlx::query(
        "insert into case_events (id, case_id, seq, action, from_state, to_state, actor, actor_role, note, data, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(case_id)
    .bind(seq)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(&actor.name)
    .bind(role)
    .bind(note)
    .bind(data.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A malicious verdict feeds the rating's appeal path: a pending appeal for a supervisor to
/// decide (unless one was filed already). The rating itself is never touched.
async fn file_appeal(tx: &mut Tx, rating: &str, unit: &str, note: &str, actor: &Actor, now: i64) -> Result<()> {
    let exists: Option<String> = sqlx::query_scalar("select id from appeals where rating_id = $1")
        .bind(rating)
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_some() {
        return Ok(());
    }
    let id = new_id();
    let reason = format!("核实为恶意评价：{note}");
    sqlx::query(
        "insert into appeals (id, rating_id, unit_code, reason, filed_by, filed_at, state) values ($1, $2, $3, $4, $5, $6, 'pending')",
    )
    .bind(&id)
    .bind(rating)
    .bind(unit)
    .bind(&reason)
    .bind(&actor.name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    audit::append(
        tx,
        actor,
        "appeal.file",
        &format!("rating:{rating}"),
        &serde_json::json!({"appeal": id, "reason": reason}),
    )
    .await?;
    Ok(())
}
