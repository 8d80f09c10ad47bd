//! The ledger's API: list, open, read and act on items, and their evidence. Checked in the
//! case loop's order: the item exists (404), lies within the caller's scope (403: its lead or
//! an assisting unit), the role owns the action (403), the details are valid (422), the version
//! is current and the state allows it (409).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::item::ladder::planned_with;
use crate::domain::item::{Action, Facts, Level, Outcome, Refusal, Source, State as ItemState, transition};
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::store::items::apply::{self, ApplyError, Details};
use crate::store::items::{self, Item, NewItem};
use crate::store::now_ms;
use crate::store::workflow::{self, Attachment};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiPath, ApiQuery, Error, ErrorBody, Result};

/// Longest title, requirement or note, in characters.
pub const MAX_TEXT: usize = 2000;

/// An item as the API shows it, with its colour worked out from the deadline and the
/// progress against plan (never set by hand).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Item)]
pub struct ItemView {
    /// Id.
    pub id: String,
    /// Its number (the assignment notice's).
    pub number: String,
    /// One line.
    pub title: String,
    /// What must be done.
    pub requirements: String,
    /// The measures reported.
    pub measures: String,
    /// Where it came from.
    pub source: Source,
    /// How high it is listed.
    pub level: Level,
    /// Category.
    pub category: String,
    /// The lead unit (主办).
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// Assisting units (协办): code and name.
    pub assisting: Vec<(String, String)>,
    /// The responsible leader.
    pub responsible_leader: String,
    /// The responsible person.
    pub responsible_person: String,
    /// The team that found it.
    pub team_code: Option<String>,
    /// The visit.
    pub visit_id: Option<String>,
    /// The feedback sheet.
    pub sheet_id: Option<String>,
    /// The case it comes from.
    pub case_id: Option<String>,
    /// The meeting that decided it.
    pub meeting_id: Option<String>,
    /// Where it stands.
    pub state: ItemState,
    /// Version, for the next action.
    pub version: i64,
    /// Percent done, as reported (a parent's: rolled up from its children, weighted).
    pub progress: i64,
    /// Percent that should be done by now: through its milestones, else even over the time to
    /// the deadline.
    pub planned: u8,
    /// Milestones.
    pub milestones: Vec<items::Milestone>,
    /// The parent item.
    pub parent_id: Option<String>,
    /// Weight in the parent's progress.
    pub weight: i64,
    /// `green`, `blue`, `yellow` or `red`, as the minute's sweep set it from the deadline and the
    /// progress against plan (closed items: `green`).
    pub colour: String,
    /// Assigned, ms.
    pub started_at: i64,
    /// The deadline in force, ms.
    pub deadline_at: i64,
    /// The step being timed and its due time.
    pub step: Option<String>,
    /// Its due time, ms.
    pub step_due_at: Option<i64>,
    /// A pending extension request, working days.
    pub extension_days: Option<i64>,
    /// Its reason.
    pub extension_reason: Option<String>,
    /// The final report came before the deadline.
    pub reported_on_time: Option<bool>,
    /// Who reported.
    pub reported_by: Option<String>,
    /// How it ended.
    pub outcome: Option<String>,
    /// Times reopened.
    pub reopened: i64,
    /// The closed item this one repeats (a recurrence).
    pub recurrence_of: Option<String>,
    /// Later items that repeat this one.
    pub recurrences: i64,
    /// The closing's evidence also closed another item.
    pub evidence_reused: bool,
    /// Assigned by.
    pub created_by: String,
    /// Closed, ms.
    pub closed_at: Option<i64>,
}

impl ItemView {
    /// The view of `item` at `now`.
    pub fn of(item: Item, now: i64) -> ItemView {
        let marks: Vec<(i64, u8)> = item
            .milestones
            .iter()
            .map(|m| (m.planned_at, u8::try_from(m.planned_percent.clamp(0, 100)).unwrap_or(100)))
            .collect();
        let planned = planned_with(item.started_at, item.deadline_at, &marks, now);
        // The colour is the sweep's (domain::item::ladder, every minute): the one the ladder's
        // slips and rungs followed, never set by hand and never recomputed apart from them.
        let colour = if item.state == ItemState::Closed { "green".to_owned() } else { item.colour.clone() };
        ItemView {
            id: item.id,
            number: item.number,
            title: item.title,
            requirements: item.requirements,
            measures: item.measures,
            source: item.source,
            level: item.level,
            category: item.category,
            unit_code: item.unit_code,
            unit_name: item.unit_name,
            assisting: item.assisting,
            responsible_leader: item.responsible_leader,
            responsible_person: item.responsible_person,
            team_code: item.team_code,
            visit_id: item.visit_id,
            sheet_id: item.sheet_id,
            case_id: item.case_id,
            meeting_id: item.meeting_id,
            state: item.state,
            version: item.version,
            progress: item.progress,
            planned,
            milestones: item.milestones,
            parent_id: item.parent_id,
            weight: item.weight,
            colour,
            started_at: item.started_at,
            deadline_at: item.deadline_at,
            step: item.step,
            step_due_at: item.step_due_at,
            extension_days: item.extension_days,
            extension_reason: item.extension_reason,
            reported_on_time: item.reported_on_time,
            reported_by: item.reported_by,
            outcome: item.outcome,
            reopened: item.reopened,
            recurrence_of: item.recurrence_of,
            recurrences: item.recurrences,
            evidence_reused: item.evidence_reused,
            created_by: item.created_by,
            closed_at: item.closed_at,
        }
    }
}

/// An item with everything its page shows.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ItemDetail {
    /// The item.
    pub item: ItemView,
    /// What the caller may do now.
    pub actions: Vec<String>,
    /// The timeline.
    pub timeline: Vec<items::Event>,
    /// Numbered documents.
    pub documents: Vec<items::Document>,
    /// Evidence files (those not yet used by a step are pending).
    pub attachments: Vec<Attachment>,
    /// Re-checks (回头看).
    pub rechecks: Vec<items::Recheck>,
    /// The closed item this one repeats: number and title.
    pub repeats: Option<(String, String)>,
    /// Its sub-items (their progress rolls up into this one's).
    pub children: Vec<ItemView>,
}

/// Every action name, in the loop's order.
pub const ACTIONS: [&str; 9] = [
    "acknowledge",
    "report_progress",
    "request_extension",
    "decide_extension",
    "submit_final",
    "return",
    "close",
    "recheck",
    "reopen",
];

/// The actions `role` may try on an item in `state` (the machine has the last word).
pub fn offered(item: &Item, role: Role, actor: &str) -> Vec<String> {
    let facts = facts_of(item, actor, 1);
    let samples = [
        Action::Acknowledge,
        Action::ReportProgress { percent: 50 },
        Action::RequestExtension { days: 1 },
        Action::DecideExtension { approve: true },
        Action::SubmitFinal { evidence: 1 },
        Action::Return { days: 5 },
        Action::Close { outcome: Outcome::Implemented },
        Action::Recheck { passed: true, days: 5 },
        Action::Reopen { days: 5 },
    ];
    samples.into_iter().filter(|a| transition(&facts, *a, role).is_ok()).map(|a| a.name().to_owned()).collect()
}

fn facts_of(item: &Item, actor: &str, final_evidence: u32) -> Facts {
    Facts {
        state: item.state,
        now: now_ms(),
        deadline: item.deadline_at,
        extension_pending: item.extension_days.is_some(),
        actor_reported: item.reported_by.as_deref() == Some(actor),
        final_evidence,
    }
}

/// The subtrees whose items the caller sees: their scopes and, for window staff, the unit
/// their window belongs to (an item is assigned to the unit, and its windows work it).
pub async fn ledger_scopes(state: &AppState, user: &CurrentUser) -> Result<Vec<OrgCode>> {
    let mut scopes = user.user.scopes.clone();
    if user.user.role == Role::Staff {
        for node in crate::store::org::get_many(&state.store, &user.user.scopes).await? {
            if node.kind == crate::domain::org::OrgKind::Window
                && let Some(parent) = node.parent_code.as_deref().and_then(|p| OrgCode::parse(p).ok())
            {
                scopes.push(parent);
            }
        }
    }
    Ok(scopes)
}

/// Loads an item the caller may see: 404 if there is none, 403 outside the caller's scope.
pub async fn visible_item(state: &AppState, user: &CurrentUser, id: &str) -> Result<Item> {
    user.may(Permission::ReadLedger)?;
    let item = items::get(&state.store, id).await?.ok_or(Error::NotFound)?;
    let scopes = ledger_scopes(state, user).await?;
    let mut units = vec![item.unit_code.clone()];
    units.extend(item.assisting.iter().map(|(c, _)| c.clone()));
    for u in units {
        if let Ok(code) = OrgCode::parse(&u)
            && crate::store::org::within(&state.store, &code, &scopes).await?
        {
            return Ok(item);
        }
    }
    Err(Error::Forbidden)
}

/// An item's page data for `user`.
pub async fn detail(state: &AppState, user: &CurrentUser, item: Item) -> Result<ItemDetail> {
    let id = item.id.clone();
    let repeats = match &item.recurrence_of {
        Some(r) => items::get(&state.store, r).await?.map(|i| (i.number, i.title)),
        None => None,
    };
    let actions = offered(&item, user.user.role, &user.actor().name);
    Ok(ItemDetail {
        actions,
        timeline: items::events(&state.store, &id).await?,
        documents: items::documents(&state.store, &id).await?,
        attachments: workflow::attachments(&state.store, &apply::TABLES.files(), &id).await?,
        rechecks: items::rechecks(&state.store, &id).await?,
        repeats,
        children: items::children(&state.store, &id).await?.into_iter().map(|c| ItemView::of(c, now_ms())).collect(),
        item: ItemView::of(item, now_ms()),
    })
}

/// An action on an item. `action` names it; the other fields are what that action needs.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemAction {
    /// `acknowledge`, `report_progress`, `request_extension`, `decide_extension`,
    /// `submit_final`, `return`, `close`, `recheck` or `reopen`.
    pub action: String,
    /// The item's version as the caller read it; a different current version answers 409.
    pub version: Option<i64>,
    /// The measures taken (progress, final report), the reason (extension, return, reopen),
    /// the verifier's finding (close, recheck). Required except for acknowledge and
    /// decide_extension.
    pub note: Option<String>,
    /// report_progress: percent done, 0–100.
    pub percent: Option<u8>,
    /// request_extension, return, failed recheck, reopen: working days (1–120).
    pub days: Option<u32>,
    /// decide_extension: grant it.
    pub approve: Option<bool>,
    /// close: `implemented`, `partly_implemented`, `not_implementable`, `merged` or
    /// `dispute_upheld`.
    pub outcome: Option<String>,
    /// recheck: the fix held.
    pub passed: Option<bool>,
    /// submit_final (at least one, before/after), any other: ids of files uploaded to this item.
    pub attachments: Option<Vec<String>>,
}

impl ItemAction {
    /// Parses the request into the domain's action and its details; every bad field is listed.
    pub fn parse(&self, tr: Tr) -> std::result::Result<(Action, Details), Vec<FieldError>> {
        let mut errors = Vec::new();
        let note = self.note.as_deref().map(str::trim).unwrap_or_default().to_owned();
        let name = self.action.trim();
        if note.chars().count() > MAX_TEXT {
            errors.push(FieldError::new("note", format!("{} ({MAX_TEXT})", tr.t("ledger.err.too_long"))));
        }
        if note.is_empty() && !matches!(name, "acknowledge" | "decide_extension") {
            errors.push(FieldError::new("note", tr.t("ledger.err.note")));
        }
        let days = |errors: &mut Vec<FieldError>| match self.days {
            Some(d) if (1..=crate::domain::item::MAX_DAYS).contains(&d) => d,
            _ => {
                errors.push(FieldError::new("days", tr.t("ledger.err.days")));
                1
            }
        };
        let attachments = self.attachments.clone().unwrap_or_default();
        let evidence = u32::try_from(attachments.len()).unwrap_or(u32::MAX);
        let action = match name {
            "acknowledge" => Action::Acknowledge,
            "report_progress" => match self.percent {
                Some(p) if p <= 100 => Action::ReportProgress { percent: p },
                _ => {
                    errors.push(FieldError::new("percent", tr.t("ledger.err.percent")));
                    Action::ReportProgress { percent: 0 }
                }
            },
            "request_extension" => Action::RequestExtension { days: days(&mut errors) },
            "decide_extension" => match self.approve {
                Some(approve) => Action::DecideExtension { approve },
                None => {
                    errors.push(FieldError::new("approve", tr.t("ledger.err.approve")));
                    Action::DecideExtension { approve: false }
                }
            },
            "submit_final" => {
                if evidence == 0 {
                    errors.push(FieldError::new("attachments", tr.t("ledger.err.evidence")));
                }
                Action::SubmitFinal { evidence }
            }
            "return" => Action::Return { days: days(&mut errors) },
            "close" => match self.outcome.as_deref().and_then(Outcome::parse) {
                Some(outcome) => Action::Close { outcome },
                None => {
                    let all: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
                    errors
                        .push(FieldError::new("outcome", format!("{} {}", tr.t("ledger.err.one_of"), all.join(", "))));
                    Action::Close { outcome: Outcome::Implemented }
                }
            },
            "recheck" => match self.passed {
                Some(true) => Action::Recheck { passed: true, days: 1 },
                Some(false) => Action::Recheck { passed: false, days: days(&mut errors) },
                None => {
                    errors.push(FieldError::new("passed", tr.t("ledger.err.passed")));
                    Action::Recheck { passed: true, days: 1 }
                }
            },
            "reopen" => Action::Reopen { days: days(&mut errors) },
            _ => {
                return Err(vec![FieldError::new(
                    "action",
                    format!("{} {}", tr.t("ledger.err.one_of"), ACTIONS.join(", ")),
                )]);
            }
        };
        if errors.is_empty() { Ok((action, Details { note, attachments })) } else { Err(errors) }
    }
}

/// The API answers in English (as every API message does); pages pass their own language.
pub const API: Tr = Tr { locale: crate::i18n::Locale::En };

/// A refusal of the machine as an HTTP error, its message in `tr`'s language.
pub fn refused(r: Refusal, tr: Tr) -> Error {
    let key = match r {
        Refusal::WrongRole => return Error::Forbidden,
        Refusal::WrongState { .. } => "ledger.refusal.state",
        Refusal::DeadlinePassed => "ledger.refusal.deadline_passed",
        Refusal::ExtensionPending => "ledger.refusal.extension_pending",
        Refusal::NoExtensionPending => "ledger.refusal.no_extension",
        Refusal::EvidenceRequired => return Error::field("attachments", tr.t("ledger.err.evidence")),
        Refusal::VerifierIsDoer => return Error::field("actor", tr.t("ledger.refusal.doer")),
        Refusal::DaysOutOfRange => return Error::field("days", tr.t("ledger.err.days")),
        Refusal::ProgressOutOfRange => return Error::field("percent", tr.t("ledger.err.percent")),
    };
    Error::Conflict(tr.t(key).to_owned())
}

/// Applies one action for `user`; returns the item after it.
pub async fn act(state: &AppState, user: &CurrentUser, id: &str, req: &ItemAction, tr: Tr) -> Result<Item> {
    let item = visible_item(state, user, id).await?;
    let role = user.user.role;
    let (action, details) = req.parse(tr).map_err(Error::Validation)?;
    if !action.owners().contains(&role) {
        return Err(Error::Forbidden);
    }
    if let Some(v) = req.version
        && v != item.version
    {
        return Err(Error::Conflict(format!(
            "the item is at version {}, not {v}: someone changed it; reload it and try again",
            item.version
        )));
    }
    let evidence = apply::final_evidence(&state.store, &item.id).await?;
    let t = transition(&facts_of(&item, &user.actor().name, evidence), action, role).map_err(|r| refused(r, tr))?;
    apply::apply(&state.store, &state.calendar, &item, t, &details, &user.actor(), role).await.map_err(|e| match e {
        stale @ ApplyError::Stale(_) => Error::Conflict(stale.to_string()),
        ApplyError::Invalid(fields) => Error::Validation(fields),
        ApplyError::Store(s) => s.into(),
    })
}

/// Which items to list.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemParams {
    /// `assigned`, `in_progress`, `reported` or `closed`.
    pub state: Option<String>,
    /// Only items whose lead unit lies under this node.
    pub under: Option<String>,
    /// Only items of this team.
    pub team: Option<String>,
    /// Only items from this source.
    pub source: Option<String>,
    /// Only open items of this colour (`green`, `blue`, `yellow`, `red`).
    pub colour: Option<String>,
    /// Only recurring items (repeating a closed one, or repeated).
    pub recurring: Option<bool>,
    /// Title, number or responsible person containing this.
    pub q: Option<String>,
    /// Page (from 1).
    pub page: Option<i64>,
}

/// A page of items.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ItemPage {
    /// The items, open ones first by nearest deadline.
    pub items: Vec<ItemView>,
    /// How many match in all.
    pub total: i64,
    /// This page (from 1).
    pub page: i64,
    /// Items per page.
    pub per_page: i64,
}

/// Items per page.
pub const PER_PAGE: i64 = 50;

/// The items `p` selects for `user`.
pub async fn list_for(state: &AppState, user: &CurrentUser, p: &ItemParams, tr: Tr) -> Result<ItemPage> {
    user.may(Permission::ReadLedger)?;
    let mut errors = Vec::new();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let mut f = items::Filter { limit: PER_PAGE, ..Default::default() };
    if let Some(s) = text(&p.state) {
        f.state = ItemState::parse(&s);
        if f.state.is_none() {
            errors.push(FieldError::new(
                "state",
                format!("{} assigned, in_progress, reported, closed", tr.t("ledger.err.one_of")),
            ));
        }
    }
    if let Some(s) = text(&p.source) {
        f.source = Source::parse(&s);
        if f.source.is_none() {
            errors.push(FieldError::new("source", tr.t("ledger.err.source")));
        }
    }
    if let Some(c) = text(&p.colour) {
        if !matches!(c.as_str(), "green" | "blue" | "yellow" | "red") {
            errors.push(FieldError::new("colour", format!("{} green, blue, yellow, red", tr.t("ledger.err.one_of"))));
        }
        f.colour = Some(c);
    }
    f.team = text(&p.team);
    f.recurring = p.recurring.unwrap_or(false);
    f.q = text(&p.q).map(|q| q.chars().take(100).collect());
    let page = p.page.unwrap_or(1);
    if !(1..=10_000).contains(&page) {
        errors.push(FieldError::new("page", tr.t("ledger.err.page")));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if text(&p.under).is_some() {
        f.under = Some(user.subtree(state, p.under.as_deref()).await?);
    }
    f.offset = (page - 1) * PER_PAGE;
    let (found, total) = items::list(&state.store, &ledger_scopes(state, user).await?, &f).await?;
    let now = now_ms();
    Ok(ItemPage { items: found.into_iter().map(|i| ItemView::of(i, now)).collect(), total, page, per_page: PER_PAGE })
}

/// The ledger's items the caller may see, filtered, 50 a page.
#[utoipa::path(get, path = "/items", tag = "supervision", params(ItemParams),
    responses((status = 200, body = ItemPage), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_items(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ItemParams>,
) -> Result<axum::Json<ItemPage>> {
    Ok(axum::Json(list_for(&state, &user, &p, API).await?))
}

/// An item to assign.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    /// One line.
    pub title: String,
    /// What must be done.
    pub requirements: String,
    /// Where it came from (a ledger source).
    pub source: String,
    /// `general`, `key` or `listed` (挂牌督办).
    pub level: Option<String>,
    /// Category (for recurrence).
    pub category: String,
    /// The lead unit (主办).
    pub unit: String,
    /// Assisting units (协办).
    pub assisting: Option<Vec<String>>,
    /// The responsible leader.
    pub responsible_leader: String,
    /// The responsible person.
    pub responsible_person: String,
    /// Working days to the deadline (the source's default if left out).
    pub days: Option<u32>,
    /// The case it comes from (a rating case or a "could not get it done" case).
    pub case_id: Option<String>,
    /// The parent item (its progress rolls up from its children).
    pub parent_id: Option<String>,
    /// Weight in the parent's progress (1–100, 1 if left out).
    pub weight: Option<u32>,
}

/// A required text of at most `max` characters, trimmed; an error names `field` otherwise.
pub(crate) fn required(errors: &mut Vec<FieldError>, tr: Tr, field: &str, v: &str, max: usize) -> String {
    let v = v.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, tr.t("ledger.err.required")));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(field, format!("{} ({max})", tr.t("ledger.err.too_long"))));
    }
    v.to_owned()
}

/// Checks an item request against the caller's scope; every bad field is listed.
pub async fn checked_item(state: &AppState, user: &CurrentUser, r: &ItemRequest, tr: Tr) -> Result<NewItem> {
    let mut errors = Vec::new();
    let title = required(&mut errors, tr, "title", &r.title, 200);
    let requirements = required(&mut errors, tr, "requirements", &r.requirements, MAX_TEXT);
    let category = required(&mut errors, tr, "category", &r.category, 60);
    let leader = required(&mut errors, tr, "responsible_leader", &r.responsible_leader, 60);
    let person = required(&mut errors, tr, "responsible_person", &r.responsible_person, 60);
    let source = Source::parse(r.source.trim());
    if source.is_none() {
        let all: Vec<&str> = Source::ALL.iter().map(|s| s.as_str()).collect();
        errors.push(FieldError::new("source", format!("{} {}", tr.t("ledger.err.one_of"), all.join(", "))));
    }
    let level = match r.level.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => Some(Level::General),
        Some(l) => Level::parse(l),
    };
    if level.is_none() {
        errors.push(FieldError::new("level", tr.t("ledger.err.level")));
    }
    if let Some(d) = r.days
        && !(1..=crate::domain::item::MAX_DAYS).contains(&d)
    {
        errors.push(FieldError::new("days", tr.t("ledger.err.days")));
    }
    let mut units = Vec::new();
    for (field, code) in
        std::iter::once(("unit", &r.unit)).chain(r.assisting.iter().flatten().map(|c| ("assisting", c)))
    {
        match OrgCode::parse(code.trim()) {
            Ok(c) => match crate::store::org::get(&state.store, &c).await? {
                None => errors.push(FieldError::new(field, format!("{}: {code}", tr.t("ledger.err.no_unit")))),
                Some(_) if !crate::store::org::within(&state.store, &c, &user.user.scopes).await? => {
                    errors.push(FieldError::new(field, format!("{code}: {}", tr.t("ledger.err.outside"))));
                }
                Some(_) => units.push(c.as_str().to_owned()),
            },
            Err(e) => errors.push(FieldError::new(field, e.0)),
        }
    }
    if let Some(case) = r.case_id.as_deref().filter(|c| !c.is_empty()) {
        let found = match crate::domain::ids::CaseId::parse(case) {
            Ok(id) => crate::store::cases::get(&state.store, &id).await?,
            Err(_) => None,
        };
        if found.is_none() {
            errors.push(FieldError::new("case_id", tr.t("ledger.err.no_case")));
        }
    }
    if let Some(parent) = r.parent_id.as_deref().filter(|c| !c.is_empty())
        && items::get(&state.store, parent).await?.is_none_or(|p| p.state == ItemState::Closed)
    {
        errors.push(FieldError::new("parent_id", tr.t("ledger.err.no_item")));
    }
    if r.weight.is_some_and(|w| !(1..=100).contains(&w)) {
        errors.push(FieldError::new("weight", tr.t("ledger.err.weight")));
    }
    let (Some(source), Some(level), true) = (source, level, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    let team = crate::store::teams::of_user(&state.store, &user.user.id).await?.into_iter().next();
    Ok(NewItem {
        title,
        requirements,
        source,
        level,
        category,
        unit_code: units[0].clone(),
        assisting: units[1..].to_vec(),
        responsible_leader: leader,
        responsible_person: person,
        days: match r.days {
            Some(d) => d,
            None => crate::store::items::settings(state.store.pool()).await?.days_for(source),
        },
        team_code: team,
        visit_id: None,
        sheet_id: None,
        case_id: r.case_id.clone().filter(|c| !c.is_empty()),
        meeting_id: None,
        parent_id: r.parent_id.clone().filter(|c| !c.is_empty()),
        weight: r.weight.unwrap_or(1),
    })
}

/// Assign an item (inspectors and supervisors, within their scope): it opens with its
/// deadline, the numbered assignment notice and a notice to the lead unit.
#[utoipa::path(post, path = "/items", tag = "supervision", request_body = ItemRequest,
    responses((status = 201, body = ItemDetail), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn create_item(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<ItemRequest>,
) -> Result<Response> {
    user.may(Permission::AssignItems)?;
    let new = checked_item(&state, &user, &r, API).await?;
    let item = items::open(&state.store, &state.calendar, &new, &user.actor(), user.user.role).await?;
    Ok((StatusCode::CREATED, axum::Json(detail(&state, &user, item).await?)).into_response())
}

/// One item with its timeline, documents, evidence, re-checks and the caller's actions.
#[utoipa::path(get, path = "/items/{id}", tag = "supervision", params(("id" = String, Path, description = "Item id")),
    responses((status = 200, body = ItemDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn get_item(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<ItemDetail>> {
    let item = visible_item(&state, &user, &id).await?;
    Ok(axum::Json(detail(&state, &user, item).await?))
}

/// Act on an item. Refusals: 403 (role, scope), 422 (details; a final report or a closing
/// without evidence; a closing by whoever reported), 409 (state, version, an extension after
/// the deadline).
#[utoipa::path(post, path = "/items/{id}/actions", tag = "supervision", params(("id" = String, Path, description = "Item id")),
    request_body = ItemAction,
    responses((status = 200, body = ItemDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn act_on_item(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(r): ApiJson<ItemAction>,
) -> Result<axum::Json<ItemDetail>> {
    let item = act(&state, &user, &id, &r, API).await?;
    Ok(axum::Json(detail(&state, &user, item).await?))
}

/// Upload an evidence file for an item (JPEG, PNG or PDF, told by content): the lead unit's
/// before/after photos, a verifier's re-check. Name it in an action's `attachments`.
#[utoipa::path(post, path = "/items/{id}/attachments", tag = "supervision",
    params(("id" = String, Path, description = "Item id"), crate::web::cases::UploadParams),
    request_body(content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/pdf"))),
    responses((status = 201, body = Attachment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn upload_item_file(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<crate::web::cases::UploadParams>,
    body: Bytes,
) -> Result<Response> {
    let item = visible_item(&state, &user, &id).await?;
    let a = crate::web::evidence::save_file(&state, &user, &apply::TABLES.files(), &item.id, p.name.as_deref(), &body)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(a)).into_response())
}

/// Download an item's evidence file (to those who may see the item).
#[utoipa::path(get, path = "/item-files/{id}", tag = "supervision", params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn download_item_file(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let (a, item) = workflow::attachment(&state.store, &apply::TABLES.files(), &id).await?.ok_or(Error::NotFound)?;
    visible_item(&state, &user, &item).await?;
    crate::web::evidence::serve_file(&state, &a).await
}

/// A milestone to add.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MilestoneRequest {
    /// What is done by then.
    pub title: String,
    /// By when, YYYY-MM-DD (from the assignment to the deadline).
    pub planned_on: String,
    /// Percent done by then (1–100).
    pub percent: u8,
}

/// Adds a milestone for `user` (the unit plans its work; verifiers may too).
pub async fn add_milestone(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    r: &MilestoneRequest,
    tr: Tr,
) -> Result<Item> {
    let item = visible_item(state, user, id).await?;
    if !matches!(user.user.role, Role::UnitHead | Role::Staff | Role::Inspector | Role::Supervisor) {
        return Err(Error::Forbidden);
    }
    if item.state == ItemState::Closed {
        return Err(Error::Conflict(tr.t("ledger.refusal.state").into()));
    }
    let mut errors = Vec::new();
    let title = required(&mut errors, tr, "title", &r.title, 200);
    if !(1..=100).contains(&r.percent) {
        errors.push(FieldError::new("percent", tr.t("ledger.err.percent")));
    }
    let at = chrono::NaiveDate::parse_from_str(r.planned_on.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| crate::domain::time::day_start(d + chrono::Days::new(1)))
        .map(|end_of_day| end_of_day - 1);
    match at {
        Some(t) if t >= item.started_at && t <= item.deadline_at + 86_400_000 => {}
        _ => errors.push(FieldError::new("planned_on", tr.t("ledger.err.milestone_date"))),
    }
    let (Some(at), true) = (at, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    items::add_milestone(&state.store, &item.id, &title, at.min(item.deadline_at), r.percent, &user.actor()).await?;
    items::get(&state.store, &item.id).await?.ok_or(Error::NotFound)
}

/// Add a milestone (planned date and percent): the item's planned progress, and so its colour,
/// follows its milestones.
#[utoipa::path(post, path = "/items/{id}/milestones", tag = "supervision", params(("id" = String, Path, description = "Item id")),
    request_body = MilestoneRequest,
    responses((status = 200, body = ItemDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn post_milestone(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(r): ApiJson<MilestoneRequest>,
) -> Result<axum::Json<ItemDetail>> {
    let item = add_milestone(&state, &user, &id, &r, API).await?;
    Ok(axum::Json(detail(&state, &user, item).await?))
}

/// Marks a milestone reached for `user` (the unit).
pub async fn reach(state: &AppState, user: &CurrentUser, id: &str, milestone: &str, tr: Tr) -> Result<Item> {
    let item = visible_item(state, user, id).await?;
    if !matches!(user.user.role, Role::UnitHead | Role::Staff) {
        return Err(Error::Forbidden);
    }
    if !item.milestones.iter().any(|m| m.id == milestone) {
        return Err(Error::NotFound);
    }
    if !items::reach_milestone(&state.store, &item.id, milestone, &user.actor()).await? {
        return Err(Error::Conflict(tr.t("ledger.err.milestone_reached").into()));
    }
    items::get(&state.store, &item.id).await?.ok_or(Error::NotFound)
}

/// Mark a milestone reached (the unit), once.
#[utoipa::path(post, path = "/items/{id}/milestones/{milestone}/reached", tag = "supervision",
    params(("id" = String, Path, description = "Item id"), ("milestone" = String, Path, description = "Milestone id")),
    responses((status = 200, body = ItemDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn post_reached(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((id, milestone)): ApiPath<(String, String)>,
) -> Result<axum::Json<ItemDetail>> {
    let item = reach(&state, &user, &id, &milestone, API).await?;
    Ok(axum::Json(detail(&state, &user, item).await?))
}
