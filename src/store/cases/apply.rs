//! Applying a transition the domain permitted to a case: the case loop's thin module on the
//! shared workflow executor (`store::workflow`). It reads what the effects need (the SLA
//! policy, the unit's calendar, a named unit), has the executor make the guarded update and run
//! the shared effects (clocks, closing, documents, notices), runs the case's own effects
//! (verdict, appeal, order deadline, extension, accountability), and writes the rollups, the
//! notices and the audit row, all in one transaction. It decides nothing: what happens is the
//! domain's (`domain::case::effects`). A stale or concurrent update changes nothing and answers
//! [`ApplyError::Stale`].

use super::notify::{Notice, notify};
use super::{Case, get, office_for, register};
use crate::calendar_data::CalendarHandle;
use crate::domain::case::Transition;
use crate::domain::case::effects::{Effect, Step};
use crate::domain::ids::CaseId;
use crate::domain::role::Role;
use crate::domain::workflow::FlowEffect;
use crate::store::audit::Actor;
use crate::store::script::Script;
pub use crate::store::workflow::ApplyError;
use crate::store::workflow::{self, Execution, Tables, Timing, invalid};
use crate::store::{Result, Store, StoreError, Tx, now_ms};

/// The case loop's tables.
pub static TABLES: Tables = Tables {
    subject: "cases",
    events: "case_events",
    key: "case_id",
    attachments: "attachments",
    documents: "case_documents",
    noun: "case",
};

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

/// Applies `t` to `case` as `actor` (in `role`). The caller has checked scope and asked the
/// domain; this checks the details against the database and writes everything or nothing, in
/// this order: the guarded update, each effect before the timeline entry in the order given,
/// the entry and its evidence, the effects that refer to the entry (the document, the
/// accountability rows), the rollups, the notices and the audit row.
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
        if !super::unit_exists(store, &unit).await? {
            return Err(invalid("unit", format!("no unit {unit:?}")));
        }
    }
    let policy = crate::store::sla::policy_for(store, case.source.as_str(), &case.category, &case.priority).await?;
    let cal = calendar.for_node(store, &unit).await?;
    let limit_of = |step: Step| match step {
        Step::Acknowledge => policy.acknowledge,
        Step::ReturnVisit => policy.return_visit,
        Step::Rectification => policy.resolution,
    };
    let timing = Timing {
        policy: &limit_of,
        requested_days: u32::try_from(case.extension_days.unwrap_or(0)).unwrap_or(0),
        deadline: case.order_due_at,
    };
    let mut tx = store.write().await?;
    workflow::guard(&mut tx, &TABLES, &case.id, (t.from.as_str(), t.to.as_str()), case.version, now).await?;
    let mut run = Run {
        x: Execution {
            tables: &TABLES,
            id: &case.id,
            unit: &unit,
            now,
            cal: &cal,
            step_clock: case.step_clock_id.clone(),
            subject_clock: case.clock_id.clone(),
            last_due: None,
            data: serde_json::to_value(t.action).unwrap_or_default(),
            event: None,
            tell: None,
        },
        case,
        details: d,
        actor,
        on_time: false,
        held: 0,
    };
    for effect in &t.effects {
        match effect.flow() {
            Some(flow) if !flow.after_event() => run.x.before_event(&mut tx, flow, &timing).await?,
            Some(_) => {}
            None => run.own_before_event(&mut tx, *effect).await?,
        }
    }
    let action = t.action.name();
    run.x
        .append_event(&mut tx, action.as_str(), (t.from.as_str(), t.to.as_str()), actor, role.as_str(), &d.note)
        .await?;
    run.x.link_evidence(&mut tx, &d.attachments).await?;
    for effect in &t.effects {
        run.after_event(&mut tx, *effect).await?;
    }
    let counted = crate::domain::case::counted(&t, run.on_time, run.held);
    crate::store::rollups::add_case(&mut tx, &unit, now, &counted).await?;
    let office: String =
        sqlx::query_scalar("select office_code from cases where id = $1").bind(&case.id).fetch_one(&mut *tx).await?;
    let notice = Notice {
        case_id: &case.id,
        title: &case.title,
        tell: run.x.tell.flatten(),
        state: t.to,
        unit: &unit,
        office: &office,
        action: action.as_str(),
    };
    let mut script = Script::new();
    notify(&mut tx, &mut script, &[notice]).await?;
    script.run(&mut tx).await?;
    let change = serde_json::json!({"before": t.from, "after": t.to, "version": case.version + 1, "note": d.note, "data": run.x.data});
    run.x.audit(&mut tx, actor, action.as_str(), &change).await?;
    tx.commit().await.map_err(StoreError::from)?;
    get(store, &CaseId::stored(case.id.clone())).await?.ok_or(ApplyError::Stale(TABLES.noun))
}

/// One case transition's execution: the shared executor's state, and what the case's own
/// effects leave for the rollups (`on_time`, `held`).
struct Run<'a> {
    x: Execution<'a>,
    case: &'a Case,
    details: &'a Details,
    actor: &'a Actor,
    on_time: bool,
    held: i64,
}

impl Run<'_> {
    /// Runs one of the case's own effects that come before the timeline entry (all but
    /// accountability).
    async fn own_before_event(&mut self, tx: &mut Tx, effect: Effect) -> Result<(), ApplyError> {
        let (case, now) = (self.case, self.x.now);
        match effect {
            Effect::SetOrderDeadline { fresh } => {
                let due = self.x.last_due.unwrap_or(now);
                let sql = if fresh {
                    "update cases set order_due_at = $2, reported_on_time = null where id = $1"
                } else {
                    "update cases set order_due_at = $2 where id = $1"
                };
                sqlx::query(sql).bind(&case.id).bind(due).execute(&mut **tx).await?;
                self.x.data["due_at"] = due.into();
                if fresh && let Some(req) = &self.details.requirements {
                    self.x.data["requirements"] = req.clone().into();
                }
            }
            Effect::MarkReportedOnTime => {
                self.on_time = case.order_due_at.is_none_or(|due| now <= due);
                sqlx::query("update cases set reported_on_time = $2 where id = $1")
                    .bind(&case.id)
                    .bind(i64::from(self.on_time))
                    .execute(&mut **tx)
                    .await?;
                self.x.data["on_time"] = self.on_time.into();
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
                    self.x.data["appeal_filed"] = serde_json::Value::Bool(true);
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
                self.x.data["days"] = case.extension_days.into();
                sqlx::query("update cases set extension_days = null, extension_reason = null where id = $1")
                    .bind(&case.id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::MoveToNamedUnit => {
                let office = office_for(tx, self.x.unit).await?;
                sqlx::query("update cases set unit_code = $2, office_code = $3 where id = $1")
                    .bind(&case.id)
                    .bind(self.x.unit)
                    .bind(&office)
                    .execute(&mut **tx)
                    .await?;
                self.x.data["unit"] = self.x.unit.into();
            }
            // Shared flows are the executor's; accountability needs the timeline entry.
            Effect::StopStepClock
            | Effect::StartStep { .. }
            | Effect::ClearStep
            | Effect::Close
            | Effect::Issue(_)
            | Effect::Notify(_)
            | Effect::RecordAccountability(_) => {}
        }
        Ok(())
    }

    /// Runs `effect` if it refers to the timeline entry: the order's document (shared), the
    /// accountability decision (the case's own).
    async fn after_event(&mut self, tx: &mut Tx, effect: Effect) -> Result<(), ApplyError> {
        let case = self.case;
        match effect {
            Effect::Issue(kind) => {
                let body = serde_json::json!({
                    "title": case.title, "description": case.description, "unit": case.unit_name,
                    "requirements": self.details.requirements, "deadline_days": self.x.data["deadline_days"],
                    "due_at": self.x.last_due,
                });
                self.x.issue(tx, kind, &case.office_code, &body).await?;
            }
            Effect::RecordAccountability(kind) => {
                let event = self.x.event.clone().unwrap_or_default();
                self.held =
                    register::record_decision(tx, case, &event, kind, self.details, self.actor, self.x.now).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A malicious verdict feeds the rating's appeal path: a pending appeal for a supervisor to
/// decide (unless one was filed already). The rating itself is never touched.
async fn file_appeal(tx: &mut Tx, rating: &str, unit: &str, note: &str, actor: &Actor, now: i64) -> Result<()> {
    let reason = format!("核实为恶意评价：{note}");
    crate::store::appeals::file_in(tx, rating, unit, &reason, actor, now).await?;
    Ok(())
}
