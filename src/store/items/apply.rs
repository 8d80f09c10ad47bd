//! Applying a transition the domain permitted to a supervision item: the ledger's thin module
//! on the shared workflow executor, as `store::cases::apply` is the case loop's. The executor
//! makes the guarded update and runs the shared effects (clocks, closing, reopening, the
//! closing notice); this runs the item's own (progress, extensions, the report, the outcome,
//! the re-checks and the check for reused evidence), tells the people whose move it is, and
//! writes the audit row, all in one transaction.

use super::{Item, get};
use crate::calendar_data::CalendarHandle;
use crate::domain::item::{Document, Effect, Transition, step_limit};
use crate::domain::role::Role;
use crate::domain::sla::Clock;
use crate::domain::workflow::FlowEffect;
use crate::store::audit::Actor;
pub use crate::store::workflow::ApplyError;
use crate::store::workflow::{self, Execution, Tables, Timing};
use crate::store::{Result, Store, StoreError, Tx, new_id, now_ms};

/// The ledger's tables.
pub static TABLES: Tables = Tables {
    subject: "items",
    events: "item_events",
    key: "item_id",
    attachments: "item_attachments",
    documents: "item_documents",
    noun: "item",
};

const DAY_MS: i64 = 86_400_000;

/// What travels beside an action, validated at the edge.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// What the actor wrote (the measures taken, the reason, the verifier's finding).
    pub note: String,
    /// Evidence uploaded for this step.
    pub attachments: Vec<String>,
}

/// How many evidence files the last final report of `item` carries.
pub async fn final_evidence(store: &Store, item: &str) -> Result<u32> {
    let n: i64 = sqlx::query_scalar(
        "select cast(count(*) as bigint) from item_attachments a join item_events e on e.id = a.event_id
         where a.item_id = $1 and e.seq = (select max(seq) from item_events where item_id = $1 and action = 'submit_final')",
    )
    .bind(item)
    .fetch_one(store.pool())
    .await?;
    Ok(u32::try_from(n).unwrap_or(0))
}

/// Applies `t` to `item` as `actor` (in `role`): the guarded update, the effects before the
/// timeline entry, the entry and its evidence, the closing notice, the notice to whoever moves
/// next and the audit row, or nothing.
pub async fn apply(
    store: &Store,
    calendar: &CalendarHandle,
    item: &Item,
    t: Transition,
    d: &Details,
    actor: &Actor,
    role: Role,
) -> Result<Item, ApplyError> {
    let cal = calendar.for_node(store, &item.unit_code).await?;
    let mut tx = store.write().await?;
    apply_in(&mut tx, &cal, item, t, d, actor, role).await?;
    tx.commit().await.map_err(StoreError::from)?;
    get(store, &item.id).await?.ok_or(ApplyError::Stale(TABLES.noun))
}

/// [`apply`] inside the caller's transaction, on the lead unit's calendar `cal` (an import
/// applies many rows in one).
#[allow(clippy::too_many_arguments)]
pub async fn apply_in(
    tx: &mut Tx,
    cal: &crate::domain::calendar::Calendar,
    item: &Item,
    t: Transition,
    d: &Details,
    actor: &Actor,
    role: Role,
) -> Result<(), ApplyError> {
    let now = now_ms();
    let policy = step_limit;
    let timing = Timing {
        policy: &policy,
        requested_days: u32::try_from(item.extension_days.unwrap_or(0)).unwrap_or(0),
        deadline: Some(item.deadline_at),
    };
    workflow::guard(tx, &TABLES, &item.id, (t.from.as_str(), t.to.as_str()), item.version, now).await?;
    let mut run = Run {
        x: Execution {
            tables: &TABLES,
            id: &item.id,
            unit: &item.unit_code,
            now,
            cal,
            step_clock: item.step_clock_id.clone(),
            subject_clock: item.clock_id.clone(),
            last_due: None,
            data: serde_json::to_value(t.action).unwrap_or_default(),
            event: None,
            tell: None,
        },
        item,
        details: d,
        actor,
    };
    for effect in &t.effects {
        match effect.flow() {
            Some(flow) if !flow.after_event() => run.x.before_event(tx, flow, &timing).await?,
            Some(_) => {}
            None => run.own(tx, *effect).await?,
        }
    }
    let action = t.action.name();
    run.x.append_event(tx, action, (t.from.as_str(), t.to.as_str()), actor, role.as_str(), &d.note).await?;
    run.x.link_evidence(tx, &d.attachments).await?;
    for effect in &t.effects {
        run.after_event(tx, *effect).await?;
    }
    if let Some(parent) = &item.parent_id {
        super::roll_up(tx, parent).await?;
    }
    tell(tx, &item.id, &item.title, run.x.tell.flatten(), &item.unit_code, action).await?;
    let change = serde_json::json!({"before": t.from, "after": t.to, "version": item.version + 1, "note": d.note, "data": run.x.data});
    run.x.audit(tx, actor, action, &change).await?;
    Ok(())
}

struct Run<'a> {
    x: Execution<'a>,
    item: &'a Item,
    details: &'a Details,
    actor: &'a Actor,
}

impl Run<'_> {
    /// Runs one of the item's own effects (all come before the timeline entry, except the
    /// re-checks and the evidence check, which read the report's entry).
    async fn own(&mut self, tx: &mut Tx, effect: Effect) -> Result<(), ApplyError> {
        let (item, now, note) = (self.item, self.x.now, &self.details.note);
        match effect {
            Effect::SetProgress(percent) => {
                sqlx::query("update items set progress = $2, measures = $3 where id = $1")
                    .bind(&item.id)
                    .bind(i64::from(percent))
                    .bind(if note.is_empty() { &item.measures } else { note })
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::RecordExtensionRequest(days) => {
                sqlx::query("update items set extension_days = $2, extension_reason = $3 where id = $1")
                    .bind(&item.id)
                    .bind(i64::from(days))
                    .bind(note)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::ExtendDeadline => {
                // The deadline moves by the days asked, counted from the deadline in force: the
                // item's clock restarts there.
                let days = u32::try_from(item.extension_days.unwrap_or(0)).unwrap_or(0);
                workflow::stop_clock(tx, item.clock_id.as_deref(), now).await?;
                let (clock, due) = workflow::start_clock(
                    tx,
                    self.x.cal,
                    &TABLES,
                    &item.id,
                    &item.unit_code,
                    "deadline",
                    Clock::WorkingDays(days),
                    item.deadline_at,
                )
                .await?;
                sqlx::query("update items set deadline_at = $2, clock_id = $3 where id = $1")
                    .bind(&item.id)
                    .bind(due)
                    .bind(&clock)
                    .execute(&mut **tx)
                    .await?;
                self.x.subject_clock = Some(clock);
                self.x.data["deadline_at"] = due.into();
            }
            Effect::ClearExtensionRequest => {
                self.x.data["days"] = item.extension_days.into();
                sqlx::query("update items set extension_days = null, extension_reason = null where id = $1")
                    .bind(&item.id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::MarkReportedOnTime => {
                let on_time = now <= item.deadline_at;
                sqlx::query(
                    "update items set reported_on_time = $2, reported_by = $3, progress = 100, measures = $4 where id = $1",
                )
                .bind(&item.id)
                .bind(i64::from(on_time))
                .bind(&self.actor.name)
                .bind(note)
                .execute(&mut **tx)
                .await?;
                self.x.data["on_time"] = on_time.into();
            }
            Effect::SetOutcome(outcome) => {
                // A closed item carries no slip.
                sqlx::query("update items set outcome = $2, colour = 'green' where id = $1")
                    .bind(&item.id)
                    .bind(outcome.as_str())
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::RecordRecheck { passed } => {
                let due: Option<String> = sqlx::query_scalar(
                    "select id from item_rechecks where item_id = $1 and done_at is null order by due_at, id limit 1",
                )
                .bind(&item.id)
                .fetch_optional(&mut **tx)
                .await?;
                let id = match due {
                    Some(id) => id,
                    // A re-check nobody scheduled (an extra visit) is recorded all the same.
                    None => {
                        let id = new_id();
                        sqlx::query("insert into item_rechecks (id, item_id, due_at) values ($1, $2, $3)")
                            .bind(&id)
                            .bind(&item.id)
                            .bind(now)
                            .execute(&mut **tx)
                            .await?;
                        id
                    }
                };
                sqlx::query("update item_rechecks set done_at = $2, passed = $3, checked_by = $4 where id = $1")
                    .bind(&id)
                    .bind(now)
                    .bind(i64::from(passed))
                    .bind(&self.actor.name)
                    .execute(&mut **tx)
                    .await?;
                if !passed {
                    // The item is worked again; the next closing schedules its own re-checks.
                    sqlx::query("delete from item_rechecks where item_id = $1 and done_at is null")
                        .bind(&item.id)
                        .execute(&mut **tx)
                        .await?;
                }
                self.x.data["passed"] = passed.into();
            }
            Effect::CountReopening => {
                sqlx::query("update items set reopened = reopened + 1, progress = 0 where id = $1")
                    .bind(&item.id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::ScheduleRechecks | Effect::Flow(_) => {}
        }
        Ok(())
    }

    /// Runs `effect` if it refers to the timeline entry: the closing notice, the re-checks and
    /// the check that the closing's evidence was not used to close another item.
    async fn after_event(&mut self, tx: &mut Tx, effect: Effect) -> Result<(), ApplyError> {
        let item = self.item;
        match effect {
            Effect::Flow(crate::domain::workflow::Flow::Issue(kind)) => {
                let body = serde_json::json!({
                    "title": item.title, "unit": item.unit_name, "number": item.number,
                    "requirements": item.requirements, "measures": item.measures,
                    "outcome": self.x.data.get("outcome"), "finding": self.details.note,
                    "responsible_person": item.responsible_person,
                });
                debug_assert_eq!(kind, Document::Closing);
                self.x.issue(tx, kind, &item.office_code, &body).await?;
            }
            Effect::CountReopening => {
                // Reopened, the item is timed anew: its deadline is the re-work's, its plan
                // runs from now.
                if let Some(due) = self.x.last_due {
                    sqlx::query("update items set deadline_at = $2, started_at = $3 where id = $1")
                        .bind(&item.id)
                        .bind(due)
                        .bind(self.x.now)
                        .execute(&mut **tx)
                        .await?;
                    self.x.data["deadline_at"] = due.into();
                }
            }
            Effect::ScheduleRechecks => {
                let mut due = Vec::new();
                for days in super::settings(&mut **tx).await?.recheck_days {
                    let at = self.x.now + days * DAY_MS;
                    sqlx::query("insert into item_rechecks (id, item_id, due_at) values ($1, $2, $3)")
                        .bind(new_id())
                        .bind(&item.id)
                        .bind(at)
                        .execute(&mut **tx)
                        .await?;
                    due.push(at);
                }
                self.x.data["rechecks"] = due.into();
                self.flag_reused_evidence(tx).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Flags this item and any other whose final report carries a file with the same content
    /// as this one's (the same photo closing two problems is how paper closing looks).
    async fn flag_reused_evidence(&mut self, tx: &mut Tx) -> Result<(), ApplyError> {
        let item = &self.item.id;
        let others: Vec<String> = sqlx::query_scalar(
            "select distinct o.item_id from item_attachments mine
             join item_events me on me.id = mine.event_id and me.action = 'submit_final'
             join item_attachments o on o.sha256 = mine.sha256 and o.item_id <> mine.item_id
             join item_events oe on oe.id = o.event_id and oe.action = 'submit_final'
             where mine.item_id = $1 order by o.item_id",
        )
        .bind(item)
        .fetch_all(&mut **tx)
        .await?;
        if others.is_empty() {
            return Ok(());
        }
        for id in others.iter().chain(std::iter::once(item)) {
            sqlx::query("update items set evidence_reused = 1 where id = $1").bind(id).execute(&mut **tx).await?;
        }
        self.x.data["evidence_reused_by"] = others.into();
        Ok(())
    }
}

/// Tells the users of `role` in scope of `unit` about item `id` (an inbox message linking to
/// it): unit heads for the lead unit's moves, inspectors (the team stationed there) and
/// supervisors for theirs.
pub(crate) async fn tell(
    tx: &mut Tx,
    id: &str,
    title: &str,
    role: Option<Role>,
    unit: &str,
    action: &str,
) -> Result<()> {
    let Some(role) = role else { return Ok(()) };
    let zh = |key: String| crate::i18n::t(crate::i18n::Locale::ZhCn, &key).to_owned();
    let heading = format!("【{}】{title}", zh(format!("item.action.{action}")));
    let body = zh(format!("item.tell.{}", role.as_str()));
    let now = now_ms();
    for user in super::users_told(tx, role, unit).await? {
        sqlx::query(
            "insert into inbox (id, user_id, kind, title, body, link, created_at) values ($1, $2, 'item', $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(&user)
        .bind(&heading)
        .bind(&body)
        .bind(format!("/items/{id}"))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
