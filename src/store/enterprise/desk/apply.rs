//! A request's transitions on the shared executor: the effects, the channel message, the
//! notices (app, email, webhook) and the audit row, in one transaction.

use super::*;

/// What travels beside an action, validated at the edge.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// What the actor wrote (the reply, the plan, the fix, the reason): posted in the channel.
    pub note: String,
    /// The unit a hand-over or a ruling names.
    pub unit: Option<OrgCode>,
    /// Files uploaded to the project, posted with the note.
    pub attachments: Vec<String>,
}
/// Applies `t` to request `r`: the guarded update, the effects, the timeline entry, the
/// channel message, the notices (app, email, webhook) and the audit row, or nothing.
pub async fn apply(
    store: &Store,
    calendar: &CalendarHandle,
    r: &Request,
    t: Transition,
    d: &Details,
    who: &Author<'_>,
) -> Result<Request, ApplyError> {
    apply_at(store, calendar, r, t, d, who, now_ms()).await
}

/// [`apply`] at moment `now` (the demo's history runs the machine in its own time).
#[allow(clippy::too_many_arguments)]
pub async fn apply_at(
    store: &Store,
    calendar: &CalendarHandle,
    r: &Request,
    t: Transition,
    d: &Details,
    who: &Author<'_>,
    now: i64,
) -> Result<Request, ApplyError> {
    let cal = calendar.for_node(store, &r.unit_code).await?;
    let mut tx = store.write().await?;
    let settings = super::super::desk_settings(&mut tx, &r.park_code).await?;
    apply_in(&mut tx, &cal, &settings, r, t, d, who, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    get(store, &r.id).await?.ok_or(ApplyError::Stale(TABLES.noun))
}

/// [`apply`] inside the caller's transaction, at `now`.
#[allow(clippy::too_many_arguments)]
pub async fn apply_in(
    tx: &mut Tx,
    cal: &Calendar,
    settings: &DeskSettings,
    r: &Request,
    t: Transition,
    d: &Details,
    who: &Author<'_>,
    now: i64,
) -> Result<(), ApplyError> {
    let policy = move |s| settings.limit(s);
    let timing = Timing { policy: &policy, requested_days: 0, deadline: r.step_due_at };
    workflow::guard(tx, &TABLES, &r.id, (t.from.as_str(), t.to.as_str()), r.version, now).await?;
    let mut x = Execution {
        tables: &TABLES,
        id: &r.id,
        unit: &r.unit_code,
        now,
        cal,
        step_clock: r.step_clock_id.clone(),
        subject_clock: None,
        last_due: None,
        data: serde_json::to_value(t.action).unwrap_or_default(),
        event: None,
        tell: None,
    };
    for effect in &t.effects {
        match effect.flow() {
            Some(flow) if !flow.after_event() => x.before_event(tx, flow, &timing).await?,
            Some(_) => {}
            None => own(tx, &mut x, r, *effect, d, who).await?,
        }
    }
    if t.action == Action::MarkComplex {
        sqlx::query("update desk_requests set plan_due_at = $2 where id = $1")
            .bind(&r.id)
            .bind(x.last_due)
            .execute(&mut **tx)
            .await?;
    }
    let action = t.action.name();
    x.append_event(tx, action, (t.from.as_str(), t.to.as_str()), who.actor, who.role.as_str(), &d.note).await?;
    for effect in &t.effects {
        if let Effect::Flow(Flow::Issue(kind)) = effect {
            let body = serde_json::json!({"request": r.number, "title": r.title, "plan": d.note, "unit": r.unit_name,
                "fix_due_at": x.last_due, "project": r.project_name, "firm": r.enterprise_name});
            let doc = x.issue(tx, *kind, &r.park_code, &body).await?;
            x.data["document"] = doc.into();
        }
    }
    // The move, in the channel: what was written, under the action's name.
    let key = format!("desk.action.{action}");
    let label = crate::i18n::t(crate::i18n::Locale::ZhCn, &key);
    let text = if d.note.is_empty() { format!("【{label}】") } else { format!("【{label}】{}", d.note) };
    channel::append(
        tx,
        &r.project_id,
        (&who.actor.name, who.role.as_str(), who.name),
        &text,
        Some(&r.id),
        &d.attachments,
        now,
    )
    .await?;
    settle(tx, &r.id, action, x.tell.flatten(), &x.data, now).await?;
    let change =
        serde_json::json!({"before": t.from, "after": t.to, "version": r.version + 1, "note": d.note, "data": x.data});
    x.audit(tx, who.actor, action, &change).await?;
    Ok(())
}

/// Runs one of the request's own effects.
async fn own(
    tx: &mut Tx,
    x: &mut Execution<'_>,
    r: &Request,
    effect: Effect,
    d: &Details,
    who: &Author<'_>,
) -> Result<(), ApplyError> {
    let now = x.now;
    let set = |sql: &'static str| sqlx::query(sql).bind(&r.id).bind(now);
    match effect {
        Effect::RecordReply => {
            let on_time = now <= r.reply_due_at;
            sqlx::query("update desk_requests set replied_at = $2, replied_on_time = $3 where id = $1")
                .bind(&r.id)
                .bind(now)
                .bind(i64::from(on_time))
                .execute(&mut **tx)
                .await?;
            x.data["on_time"] = on_time.into();
        }
        Effect::MarkComplex => {
            set("update desk_requests set complex = 1, updated_at = $2 where id = $1").execute(&mut **tx).await?;
        }
        Effect::RecordPlan => {
            let on_time = r.step_due_at.is_none_or(|due| now <= due);
            sqlx::query("update desk_requests set planned_at = $2, plan_on_time = $3 where id = $1")
                .bind(&r.id)
                .bind(now)
                .bind(i64::from(on_time))
                .execute(&mut **tx)
                .await?;
            x.data["on_time"] = on_time.into();
        }
        Effect::RecordResolved => {
            set("update desk_requests set resolved_at = $2 where id = $1").execute(&mut **tx).await?;
        }
        Effect::RecordConfirmation(rating) => {
            sqlx::query("update desk_requests set confirmed_at = $2, rating = $3 where id = $1")
                .bind(&r.id)
                .bind(now)
                .bind(i64::from(rating))
                .execute(&mut **tx)
                .await?;
        }
        Effect::CountRejection => {
            set("update desk_requests set rejections = rejections + 1, resolved_at = null, updated_at = $2 where id = $1")
                .execute(&mut **tx)
                .await?;
        }
        Effect::FlagWithdrawal => {
            set("update desk_requests set withdrawn_at = $2, withdrawal_checked_at = null, withdrawal_checked_by = null,
                 withdrawal_pressed = null where id = $1")
            .execute(&mut **tx)
            .await?;
        }
        Effect::RecordWithdrawalCheck { pressed } => {
            sqlx::query(
                "update desk_requests set withdrawal_checked_at = $2, withdrawal_checked_by = $3, withdrawal_pressed = $4 where id = $1",
            )
            .bind(&r.id)
            .bind(now)
            .bind(&who.actor.name)
            .bind(i64::from(pressed))
            .execute(&mut **tx)
            .await?;
        }
        Effect::ChangeUnit => {
            let unit = match (&d.unit, &r.proposed_unit) {
                (Some(u), _) => u.as_str().to_owned(),
                (None, Some(p)) => p.clone(),
                (None, None) => return Err(workflow::invalid("unit", "name the unit that takes the request")),
            };
            known_unit(tx, &unit).await?;
            let counted: i64 = if r.state == State::Ruling { 0 } else { 1 };
            sqlx::query(
                "update desk_requests set unit_code = $2, handovers = handovers + $3, proposed_unit = null,
                 basis = coalesce($4, basis) where id = $1",
            )
            .bind(&r.id)
            .bind(&unit)
            .bind(counted)
            .bind((counted == 1).then_some(d.note.as_str()))
            .execute(&mut **tx)
            .await?;
            // The clocks run on, now the new unit's: its head is the one warned.
            sqlx::query("update sla_clocks set unit_code = $2 where subject like $1 and state = 'running'")
                .bind(format!("request:{}:%", r.id))
                .bind(&unit)
                .execute(&mut **tx)
                .await?;
            x.data["from_unit"] = r.unit_code.clone().into();
            x.data["to_unit"] = unit.into();
        }
        Effect::AwaitRuling => {
            let unit =
                d.unit.as_ref().ok_or_else(|| workflow::invalid("unit", "name the unit that takes the request"))?;
            known_unit(tx, unit.as_str()).await?;
            sqlx::query(
                "update desk_requests set handovers = handovers + 1, proposed_unit = $2, basis = $3 where id = $1",
            )
            .bind(&r.id)
            .bind(unit.as_str())
            .bind(&d.note)
            .execute(&mut **tx)
            .await?;
            x.data["proposed_unit"] = unit.as_str().into();
        }
        Effect::OpenItem => {
            let days = crate::store::items::settings(&mut **tx)
                .await?
                .days_for(crate::domain::item::Source::EnterpriseRequest);
            let new = crate::store::items::NewItem {
                title: format!("企业诉求：{}", r.title),
                requirements: format!("{}（{}，{}）：{}", r.number, r.enterprise_name, r.project_name, r.body),
                source: crate::domain::item::Source::EnterpriseRequest,
                level: crate::domain::item::Level::Key,
                category: "企业诉求".into(),
                unit_code: r.unit_code.clone(),
                assisting: Vec::new(),
                responsible_leader: String::new(),
                responsible_person: String::new(),
                days,
                team_code: None,
                visit_id: None,
                sheet_id: None,
                case_id: None,
                meeting_id: None,
                parent_id: None,
                weight: 1,
            };
            let item = crate::store::items::open_in(tx, x.cal, &new, who.actor, who.role).await?;
            sqlx::query("update desk_requests set item_id = $2 where id = $1")
                .bind(&r.id)
                .bind(&item)
                .execute(&mut **tx)
                .await?;
            x.data["item_id"] = item.into();
        }
        Effect::Flow(_) => {}
    }
    Ok(())
}

async fn known_unit(tx: &mut Tx, unit: &str) -> Result<(), ApplyError> {
    let found: Option<String> =
        sqlx::query_scalar("select code from org_nodes where code = $1").bind(unit).fetch_optional(&mut **tx).await?;
    found.map(|_| ()).ok_or_else(|| workflow::invalid("unit", format!("{unit} is not a unit")))
}

/// After a change: the step's clock names the project's manager as its handler (so the
/// reminder reaches them first), whoever moves next is told in the app and by email, and the
/// webhooks get the request as it now stands.
pub(super) async fn settle(
    tx: &mut Tx,
    id: &str,
    action: &str,
    tell: Option<Role>,
    data: &serde_json::Value,
    now: i64,
) -> Result<()> {
    let sql = format!("select {COLUMNS} where r.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut **tx).await?;
    let r = request_from(&row)?;
    if let (Some(clock), Some(manager)) = (&r.step_clock_id, &r.manager) {
        sqlx::query("update sla_clocks set handler = $2 where id = $1")
            .bind(clock)
            .bind(manager)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(role) = tell {
        let users = told(tx, &r, role).await?;
        let zh = |key: String| crate::i18n::t(crate::i18n::Locale::ZhCn, &key).to_owned();
        let title = format!("【{}】{}（{}）", zh(format!("desk.action.{action}")), r.title, r.enterprise_name);
        let due = r.step_due_at.map(crate::domain::time::minute).unwrap_or_default();
        let body = if due.is_empty() {
            format!("{} {}", r.number, zh(format!("desk.state.{}", r.state.as_str())))
        } else {
            format!("{} {}，期限 {due}", r.number, zh(format!("desk.state.{}", r.state.as_str())))
        };
        notify(tx, &users, "desk", &title, &body, &format!("/desk/{id}"), now).await?;
    }
    let body = serde_json::json!({"action": action, "request": r, "data": data});
    crate::store::webhooks::enqueue_event(tx, EVENT, &body).await?;
    Ok(())
}

/// Sends `title` and `body` to each of `users` in the app and, where they gave an address, by
/// email.
pub(crate) async fn notify(
    tx: &mut Tx,
    users: &[String],
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
    now: i64,
) -> Result<()> {
    let mut emails = Vec::new();
    for user in users {
        sqlx::query(
            "insert into inbox (id, user_id, kind, title, body, link, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(user)
        .bind(kind)
        .bind(title)
        .bind(body)
        .bind(link)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        let email: Option<String> = sqlx::query_scalar("select email from users where id = $1 and email is not null")
            .bind(user)
            .fetch_optional(&mut **tx)
            .await?
            .flatten();
        if let Some(to) = email.filter(|e| !e.is_empty()) {
            emails.push(crate::store::jobs::email(&to, title, &format!("{body}\n\n{link}"), None));
        }
    }
    crate::store::jobs::enqueue(tx, &emails).await?;
    Ok(())
}

/// The users `role` names for request `r`: the firm's users; the desk's cadres (the project's
/// manager, the unit heads and staff over the unit that holds it); or the supervisors over it.
async fn told(tx: &mut Tx, r: &Request, role: Role) -> Result<Vec<String>> {
    let mut users: Vec<String> = match role {
        Role::Enterprise => {
            sqlx::query_scalar(
                "select u.id from enterprise_users f join users u on u.id = f.user_id
             where f.enterprise_id = $1 and u.disabled = 0 order by u.id",
            )
            .bind(&r.enterprise_id)
            .fetch_all(&mut **tx)
            .await?
        }
        Role::UnitHead | Role::Staff => {
            let mut v = crate::store::items::users_told(tx, Role::UnitHead, &r.unit_code).await?;
            v.extend(crate::store::items::users_told(tx, Role::Staff, &r.unit_code).await?);
            v.extend(r.manager.clone());
            v
        }
        other => crate::store::items::users_told(tx, other, &r.unit_code).await?,
    };
    users.sort();
    users.dedup();
    Ok(users)
}
