//! The supervision pages, phone first (inspectors work on site): `/supervision` (what waits
//! for the caller: the team's stations, visits, items to review, re-checks due), `/visits/new`
//! and `/visits/{id}` (record a visit with photos, issue its findings on a feedback sheet),
//! `/sheets/{id}` (the printable sheet; the unit signs for it), `/items` and `/items/{id}` (the
//! ledger and one item with a form per action the caller may take). Every form posts to the
//! same checks as the API, in the page's language, and a refused form comes back with what
//! was typed.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::items::{self, ItemAction, ItemDetail, ItemParams, ItemRequest, ItemView};
use super::{FindingRequest, SheetRequest, VisitRequest};
use crate::config::Config;
use crate::domain::inspection::{DEFAULT_CHECKLIST, check_label};
use crate::domain::item::{Level, Outcome, Source};
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::store::inspection::{self, Check, Sheet, VISIT_FILES, Visit};
use crate::store::workflow::{self, Attachment};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiPath, Error};
use crate::web::pages::{Nav, Page, PageError, local};

/// Rows of findings a sheet form offers (blank rows are skipped).
const FINDING_ROWS: usize = 3;

/// The pages.
pub fn pages(config: &Config) -> Router<AppState> {
    let limit = DefaultBodyLimit::max(config.max_attachment_bytes.saturating_add(64 * 1024));
    Router::new()
        .route("/supervision", get(home))
        .route("/meetings", get(super::meetings::list_page).post(super::meetings::create_form))
        .route("/meetings/{id}", get(super::meetings::meeting_page))
        .route("/meetings/{id}/minutes", post(super::meetings::minutes_form))
        .route("/plans", get(super::plans::list_page).post(super::plans::create_form))
        .route("/plans/{id}", get(super::plans::plan_page))
        .route("/data-requests", get(super::requests::page).post(super::requests::form))
        .route("/admin/ledger-settings", get(super::settings::settings_page).post(super::settings::settings_form))
        .route("/supervision/dashboard", get(super::report::dashboard_page))
        .route("/supervision/bulletin", get(super::report::bulletin_page))
        .route("/visits/new", get(new_visit))
        .route("/visits", post(create_visit).layer(limit))
        .route("/visits/{id}", get(visit_page))
        .route("/visits/{id}/photos", post(add_photo).layer(limit))
        .route("/visits/{id}/sheet", post(issue_form))
        .route("/sheets/{id}", get(sheet_page))
        .route("/sheets/{id}/sign", post(sign_form))
        .route("/items", get(items_page).post(new_item))
        .route("/items/import", post(import_form).layer(DefaultBodyLimit::max(config.max_import_bytes)))
        .route("/items/{id}", get(item_page))
        .route("/items/{id}/act", post(act_form).layer(limit))
        .route("/items/{id}/documents/{doc}", get(document_page))
        .route("/items/{id}/milestones", post(milestone_form))
        .route("/items/{id}/milestones/{milestone}/reached", post(reached_form))
}

/// A page's refusal: shown on the page that was posted, with what was typed.
pub(super) fn kept(e: Error) -> Result<(axum::http::StatusCode, Vec<String>), PageError> {
    match e {
        e @ (Error::Forbidden | Error::NotFound | Error::Internal(_) | Error::Store(_) | Error::Unavailable) => {
            Err(PageError(e))
        }
        e => Ok((e.status(), e.page_messages())),
    }
}

/// Reads a multipart form: its text fields (repeated names kept in order) and its files.
async fn read_multipart(mut form: Multipart) -> Result<(Vec<(String, String)>, Vec<(String, Vec<u8>)>), Error> {
    let mut fields = Vec::new();
    let mut files = Vec::new();
    while let Some(field) =
        form.next_field().await.map_err(|e| Error::BadRequest { code: "bad_form", message: e.body_text() })?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|_| Error::TooLarge)?;
            if !bytes.is_empty() {
                files.push((file_name, bytes.to_vec()));
            }
            continue;
        }
        let value = field.text().await.map_err(|_| Error::field(&name, "not understood"))?;
        fields.push((name, value.trim().to_owned()));
    }
    Ok((fields, files))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

fn number<T: std::str::FromStr>(v: &str, name: &str, tr: Tr) -> Result<Option<T>, Error> {
    if v.is_empty() { Ok(None) } else { v.parse().map(Some).map_err(|_| Error::field(name, tr.t("ledger.err.number"))) }
}

// ---- /supervision ----

struct ItemRow {
    item: ItemView,
    due: String,
}

fn rows(items: Vec<ItemView>) -> Vec<ItemRow> {
    items.into_iter().map(|item| ItemRow { due: local(item.deadline_at), item }).collect()
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct HomePage {
    tr: Tr,
    nav: Nav,
    team: Option<crate::store::teams::Team>,
    inspects: bool,
    waiting: Vec<ItemRow>,
    waiting_total: i64,
    visits: Vec<VisitRow>,
    rechecks: Vec<(String, String, String)>,
}

struct VisitRow {
    visit: Visit,
    at: String,
}

async fn home(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    user.may(Permission::ReadLedger)?;
    let tr = Tr { locale };
    let team = match super::my_teams(&state, &user).await?.first() {
        Some(code) => crate::store::teams::get(&state.store, code).await?,
        None => None,
    };
    // What waits for the caller's move: reports to review for verifiers, open items for units.
    let want = match user.user.role {
        Role::Inspector | Role::Supervisor | Role::Admin => "reported",
        _ => "",
    };
    let p = ItemParams { state: (!want.is_empty()).then(|| want.to_owned()), ..Default::default() };
    let mut page = items::list_for(&state, &user, &p, tr).await?;
    if want.is_empty() {
        page.items.retain(|i| i.state != crate::domain::item::State::Closed);
    }
    let visits = super::visits_for(&state, &user, 10)
        .await?
        .into_iter()
        .map(|visit| VisitRow { at: local(visit.visited_at), visit })
        .collect();
    let scopes = items::ledger_scopes(&state, &user).await?;
    let rechecks =
        crate::store::items::rechecks_due(&state.store, &scopes, crate::store::now_ms() + 7 * 86_400_000, 10)
            .await?
            .into_iter()
            .map(|(id, title, due)| (id, title, local(due)))
            .collect();
    let page = HomePage {
        nav: Nav::new(Some(&user), "/supervision"),
        team,
        inspects: user.user.role.may(Permission::Inspect),
        waiting_total: page.total,
        waiting: rows(page.items),
        visits,
        rechecks,
        tr,
    };
    Ok(Page(page).into_response())
}

// ---- visits ----

#[derive(Template)]
#[template(path = "visit_new.html")]
struct NewVisitPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    errors: Vec<String>,
    units: Vec<(String, String)>,
    unit: String,
    mode: String,
    place: String,
    members: String,
    note: String,
    checks: Vec<(String, String, String)>,
    plan: Option<crate::store::inspection::Plan>,
}

async fn units_in_scope(state: &AppState, user: &CurrentUser) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for s in &user.user.scopes {
        let unit = Some(crate::domain::org::OrgKind::Unit);
        for n in crate::store::org::search_subtree(&state.store, s, unit, None, 400, 0).await?.0 {
            out.push((n.code.to_string(), n.name));
        }
    }
    Ok(out)
}

fn visit_form(
    tr: Tr,
    nav: Nav,
    csrf: String,
    units: Vec<(String, String)>,
    r: &VisitRequest,
    errors: Vec<String>,
    plan: Option<crate::store::inspection::Plan>,
) -> NewVisitPage {
    let checklist = r.checklist.clone().unwrap_or_default();
    let checks = DEFAULT_CHECKLIST
        .iter()
        .filter(|(key, _)| plan.as_ref().is_none_or(|p| p.checklist.iter().any(|k| k == key)))
        .map(|(key, zh)| {
            let state = checklist.iter().find(|c| c.key == *key).map_or("", |c| if c.ok { "ok" } else { "bad" });
            let label = if tr.locale == crate::i18n::Locale::ZhCn {
                (*zh).to_owned()
            } else {
                tr.t(&format!("check.{key}")).to_owned()
            };
            ((*key).to_owned(), label, state.to_owned())
        })
        .collect();
    let mode = if r.mode.is_empty() { "open".to_owned() } else { r.mode.clone() };
    NewVisitPage {
        tr,
        nav,
        csrf,
        errors,
        units,
        unit: r.unit.clone(),
        place: r.place.clone(),
        members: r.members.clone().unwrap_or_default(),
        note: r.note.clone().unwrap_or_default(),
        mode: plan.as_ref().map_or(mode, |p| p.mode.as_str().to_owned()),
        checks,
        plan,
    }
}

async fn new_visit(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.may(Permission::Inspect)?;
    let units = units_in_scope(&state, &user).await?;
    let plan = match q.get("plan").filter(|p| !p.is_empty()) {
        Some(id) => Some(super::plans::visible_plan(&state, &user, id).await?),
        None => None,
    };
    let r = VisitRequest {
        unit: q.get("unit").cloned().unwrap_or_default(),
        plan_id: plan.as_ref().map(|p| p.id.clone()),
        ..Default::default()
    };
    let nav = Nav::new(Some(&user), "/visits/new");
    let page = visit_form(Tr { locale }, nav, user.csrf().to_owned(), units, &r, Vec::new(), plan);
    Ok(Page(page).into_response())
}

async fn create_visit(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    form: Multipart,
) -> Result<Response, PageError> {
    user.may(Permission::Inspect)?;
    let tr = Tr { locale };
    let (fields, files) = read_multipart(form).await?;
    let checklist = DEFAULT_CHECKLIST
        .iter()
        .filter_map(|(key, _)| match field(&fields, &format!("check_{key}")) {
            "ok" => Some(Check { key: (*key).to_owned(), ok: true, note: String::new() }),
            "bad" => Some(Check { key: (*key).to_owned(), ok: false, note: String::new() }),
            _ => None,
        })
        .collect();
    let r = VisitRequest {
        plan_id: Some(field(&fields, "plan").to_owned()).filter(|p| !p.is_empty()),
        unit: field(&fields, "unit").to_owned(),
        mode: field(&fields, "mode").to_owned(),
        place: field(&fields, "place").to_owned(),
        members: Some(field(&fields, "members").to_owned()),
        visited_at: None,
        checklist: Some(checklist),
        note: Some(field(&fields, "note").to_owned()),
    };
    // Every file is checked before anything is kept: a refused form leaves no visit behind.
    let checked = super::checked_visit(&state, &user, &r, tr).await;
    let checked = match checked {
        Ok(new) => files
            .iter()
            .try_for_each(|(_, bytes)| {
                workflow::sniff(bytes).map(|_| ()).ok_or_else(|| Error::field("file", tr.t("ledger.err.file")))
            })
            .map(|()| new),
        Err(e) => Err(e),
    };
    match checked {
        Ok(new) => {
            let v = inspection::record(&state.store, &new, &user.actor()).await?;
            for (name, bytes) in &files {
                crate::web::evidence::save_file(&state, &user, &VISIT_FILES, &v.id, Some(name), bytes).await?;
            }
            Ok(Redirect::to(&format!("/visits/{}", v.id)).into_response())
        }
        Err(e) => {
            let (status, errors) = kept(e)?;
            let units = units_in_scope(&state, &user).await?;
            let plan = match r.plan_id.as_deref() {
                Some(id) => super::plans::visible_plan(&state, &user, id).await.ok(),
                None => None,
            };
            let nav = Nav::new(Some(&user), "/visits/new");
            let page = visit_form(tr, nav, user.csrf().to_owned(), units, &r, errors, plan);
            Ok((status, Page(page)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "visit.html")]
struct VisitPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    visit: Visit,
    at: String,
    checks: Vec<(String, bool, String)>,
    files: Vec<Attachment>,
    own: bool,
    burden: inspection::Burden,
    errors: Vec<String>,
    form: SheetForm,
}

/// What the findings form holds (what was typed, when it comes back).
#[derive(Debug, Clone, Default)]
struct SheetForm {
    rows: Vec<FindingRequest>,
    leader: String,
    person: String,
    reply_days: String,
}

async fn render_visit(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    visit: Visit,
    errors: Vec<String>,
    form: SheetForm,
) -> Result<VisitPage, PageError> {
    let own = super::my_teams(state, user).await?.contains(&visit.team_code);
    let files = workflow::attachments(&state.store, &VISIT_FILES, &visit.id).await?;
    let burden = inspection::burden(&state.store, &visit.unit_code, crate::store::now_ms()).await?;
    let checks = visit
        .checklist
        .iter()
        .map(|c| {
            let label = if tr.locale == crate::i18n::Locale::ZhCn {
                check_label(&c.key).to_owned()
            } else {
                tr.t(&format!("check.{}", c.key)).to_owned()
            };
            (label, c.ok, c.note.clone())
        })
        .collect();
    let mut form = form;
    form.rows.resize_with(FINDING_ROWS.max(form.rows.len()), FindingRequest::default);
    if form.reply_days.is_empty() {
        form.reply_days = "5".into();
    }
    Ok(VisitPage {
        tr,
        nav: Nav::new(Some(user), &format!("/visits/{}", visit.id)),
        csrf: user.csrf().to_owned(),
        at: local(visit.visited_at),
        checks,
        files,
        own,
        burden,
        errors,
        form,
        visit,
    })
}

async fn visit_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let visit = super::visible_visit(&state, &user, &id).await?;
    let page = render_visit(&state, Tr { locale }, &user, visit, Vec::new(), SheetForm::default()).await?;
    Ok(Page(page).into_response())
}

async fn add_photo(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let visit = super::own_visit(&state, &user, &id).await?;
    let (_, files) = read_multipart(form).await?;
    let mut result =
        if files.is_empty() { Err(Error::field("file", Tr { locale }.t("ledger.err.file"))) } else { Ok(()) };
    for (name, bytes) in &files {
        if result.is_ok() {
            result = crate::web::evidence::save_file(&state, &user, &VISIT_FILES, &visit.id, Some(name), bytes)
                .await
                .map(|_| ());
        }
    }
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/visits/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let page = render_visit(&state, Tr { locale }, &user, visit, errors, SheetForm::default()).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

async fn issue_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let mut rows = Vec::new();
    for i in 0..FINDING_ROWS {
        rows.push(FindingRequest {
            problem: get(&format!("problem_{i}")),
            requirement: get(&format!("requirement_{i}")),
            category: get(&format!("category_{i}")),
            level: Some(get(&format!("level_{i}"))),
            days: None,
        });
    }
    let form = SheetForm {
        rows: rows.clone(),
        leader: get("responsible_leader"),
        person: get("responsible_person"),
        reply_days: get("reply_days"),
    };
    let result = async {
        let mut findings = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if r.problem.is_empty() && r.requirement.is_empty() && r.category.is_empty() {
                continue;
            }
            let days = number::<u32>(&get(&format!("days_{i}")), &format!("findings[{i}].days"), tr)?;
            findings.push(FindingRequest { days, ..r.clone() });
        }
        let req = SheetRequest {
            findings,
            responsible_leader: form.leader.clone(),
            responsible_person: form.person.clone(),
            reply_days: number(&form.reply_days, "reply_days", tr)?,
        };
        super::issue(&state, &user, &id, &req, tr).await
    }
    .await;
    match result {
        Ok(sheet) => Ok(Redirect::to(&format!("/sheets/{}", sheet.id)).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let visit = super::visible_visit(&state, &user, &id).await?;
            let page = render_visit(&state, tr, &user, visit, errors, form).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

// ---- sheets ----

struct Problem {
    problem: String,
    requirement: String,
    item: String,
    item_number: String,
    recurrence: bool,
}

#[derive(Template)]
#[template(path = "sheet.html")]
struct SheetPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    sheet: Sheet,
    problems: Vec<Problem>,
    issued: String,
    reply_due: String,
    signed: String,
    may_sign: bool,
    errors: Vec<String>,
}

async fn render_sheet(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    sheet: Sheet,
    errors: Vec<String>,
) -> Result<SheetPage, PageError> {
    let problems = sheet.body["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            Problem {
                problem: s("problem"),
                requirement: s("requirement"),
                item: s("item"),
                item_number: s("item_number"),
                recurrence: p["recurrence_of"].is_string(),
            }
        })
        .collect();
    let may_sign = sheet.signed_by.is_none() && matches!(user.user.role, Role::UnitHead | Role::Staff) && {
        let unit = crate::domain::ids::OrgCode::parse(&sheet.unit_code).map_err(|e| Error::Internal(e.0))?;
        crate::store::org::within(&state.store, &unit, &items::ledger_scopes(state, user).await?).await?
    };
    Ok(SheetPage {
        tr,
        nav: Nav::new(Some(user), &format!("/sheets/{}", sheet.id)),
        csrf: user.csrf().to_owned(),
        problems,
        issued: crate::domain::time::date_zh(sheet.created_at),
        reply_due: crate::domain::time::date_zh(sheet.reply_due_at),
        signed: sheet.signed_at.map(local).unwrap_or_default(),
        may_sign,
        errors,
        sheet,
    })
}

async fn sheet_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let sheet = super::visible_sheet(&state, &user, &id).await?;
    Ok(Page(render_sheet(&state, Tr { locale }, &user, sheet, Vec::new()).await?).into_response())
}

async fn sign_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    match super::sign(&state, &user, &id, tr).await {
        Ok(_) => Ok(Redirect::to(&format!("/sheets/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let sheet = super::visible_sheet(&state, &user, &id).await?;
            Ok((status, Page(render_sheet(&state, tr, &user, sheet, errors).await?)).into_response())
        }
    }
}

// ---- items ----

#[derive(Template)]
#[template(path = "items.html")]
struct ItemsPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    rows: Vec<ItemRow>,
    total: i64,
    page: i64,
    pages: i64,
    p: ItemParams,
    query: String,
    assigns: bool,
    errors: Vec<String>,
    new: ItemRequest,
    sources: Vec<(String, String)>,
    levels: Vec<(String, String)>,
    imported: Option<super::transfer::ImportReport>,
}

fn label<T: Copy>(
    tr: Tr,
    all: &[T],
    key: impl Fn(T) -> String,
    zh: impl Fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|x| {
            let k = key(*x);
            let l = if tr.locale == crate::i18n::Locale::ZhCn {
                zh(*x).to_owned()
            } else {
                tr.t(&format!("item.word.{k}")).to_owned()
            };
            (k, l)
        })
        .collect()
}

async fn render_items(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    p: ItemParams,
    errors: Vec<String>,
    new: ItemRequest,
) -> Result<ItemsPage, PageError> {
    let found = items::list_for(state, user, &p, tr).await?;
    let pages = ((found.total + found.per_page - 1) / found.per_page).max(1);
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("state", &p.state), ("colour", &p.colour), ("q", &p.q), ("source", &p.source), ("under", &p.under)]
    {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            q.append_pair(k, v);
        }
    }
    if p.recurring == Some(true) {
        q.append_pair("recurring", "true");
    }
    Ok(ItemsPage {
        nav: Nav::new(Some(user), "/items"),
        csrf: user.csrf().to_owned(),
        total: found.total,
        page: found.page,
        pages,
        rows: rows(found.items),
        query: q.finish(),
        p,
        assigns: user.user.role.may(Permission::AssignItems),
        errors,
        new,
        sources: label(tr, Source::ALL, |s| s.as_str().to_owned(), Source::label_zh),
        levels: label(tr, Level::ALL, |s| s.as_str().to_owned(), Level::label_zh),
        imported: None,
        tr,
    })
}

fn blank_item() -> ItemRequest {
    ItemRequest {
        title: String::new(),
        requirements: String::new(),
        source: "leader_instruction".into(),
        level: None,
        category: String::new(),
        unit: String::new(),
        assisting: None,
        responsible_leader: String::new(),
        responsible_person: String::new(),
        days: None,
        case_id: None,
        parent_id: None,
        weight: None,
    }
}

async fn import_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    form: Multipart,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let result = async {
        let (fields, files) = read_multipart(form).await?;
        let (name, bytes) = files.first().ok_or_else(|| Error::field("file", tr.t("ledger.err.import_file")))?;
        let format = crate::imports::Format::from_path(name)
            .ok_or_else(|| Error::field("file", tr.t("ledger.err.import_file")))?;
        let dry_run = !field(&fields, "dry_run").is_empty();
        super::transfer::run_import(&state, &user, bytes, format, dry_run, tr).await
    }
    .await;
    let (status, errors, report) = match result {
        Ok(r) => (axum::http::StatusCode::OK, Vec::new(), Some(r)),
        Err(e) => {
            let (status, errors) = kept(e)?;
            (status, errors, None)
        }
    };
    let mut page = render_items(&state, tr, &user, ItemParams::default(), errors, blank_item()).await?;
    page.imported = report;
    Ok((status, Page(page)).into_response())
}

async fn items_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<ItemParams>,
) -> Result<Response, PageError> {
    Ok(Page(render_items(&state, Tr { locale }, &user, p, Vec::new(), blank_item()).await?).into_response())
}

async fn new_item(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let assisting: Vec<String> =
        get("assisting").split([',', '，', ' ', '\n']).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let mut req = ItemRequest {
        title: get("title"),
        requirements: get("requirements"),
        source: get("source"),
        level: Some(get("level")),
        category: get("category"),
        unit: get("unit"),
        assisting: Some(assisting),
        responsible_leader: get("responsible_leader"),
        responsible_person: get("responsible_person"),
        days: None,
        case_id: Some(get("case_id")),
        parent_id: None,
        weight: None,
    };
    let result = async {
        user.may(Permission::AssignItems)?;
        req.days = number(&get("days"), "days", tr)?;
        let new = items::checked_item(&state, &user, &req, tr).await?;
        Ok::<_, Error>(
            crate::store::items::open(&state.store, &state.calendar, &new, &user.actor(), user.user.role).await?,
        )
    }
    .await;
    match result {
        Ok(item) => Ok(Redirect::to(&format!("/items/{}", item.id)).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let page = render_items(&state, tr, &user, ItemParams::default(), errors, req).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

struct EventRow {
    event: crate::store::items::Event,
    label: String,
    at: String,
    files: Vec<Attachment>,
    documents: Vec<crate::store::items::Document>,
}

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    d: ItemDetail,
    source: String,
    level: String,
    outcome: String,
    due: String,
    step_due: String,
    created: String,
    events: Vec<EventRow>,
    actions: Vec<(String, String)>,
    rechecks: Vec<(String, String)>,
    outcomes: Vec<(String, String)>,
    errors: Vec<String>,
    note: String,
    milestones: Vec<(crate::store::items::Milestone, String)>,
    plans: bool,
    reaches: bool,
    children: Vec<ItemRow>,
}

async fn render_item(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    item: crate::store::items::Item,
    errors: Vec<String>,
    note: String,
) -> Result<ItemPage, PageError> {
    let d = items::detail(state, user, item).await?;
    let word = |k: &str, zh: &str| {
        if tr.locale == crate::i18n::Locale::ZhCn { zh.to_owned() } else { tr.t(&format!("item.word.{k}")).to_owned() }
    };
    let i = &d.item;
    let outcome =
        i.outcome.as_deref().and_then(Outcome::parse).map(|o| word(o.as_str(), o.label_zh())).unwrap_or_default();
    let events = d
        .timeline
        .iter()
        .map(|e| EventRow {
            label: if e.action == "colour" {
                format!("{} · {}", tr.t("item.action.colour"), tr.t(&format!("item.colour.{}", e.note)))
            } else {
                tr.t(&format!("item.action.{}", e.action)).to_owned()
            },
            at: local(e.created_at),
            files: d.attachments.iter().filter(|a| a.event_id.as_deref() == Some(e.id.as_str())).cloned().collect(),
            documents: d.documents.iter().filter(|x| x.event_id.as_deref() == Some(e.id.as_str())).cloned().collect(),
            event: e.clone(),
        })
        .collect();
    let actions = d.actions.iter().map(|a| (a.clone(), tr.t(&format!("item.action.{a}")).to_owned())).collect();
    let open = d.item.state != crate::domain::item::State::Closed;
    let unit_role = matches!(user.user.role, Role::UnitHead | Role::Staff);
    let milestones =
        d.item.milestones.iter().map(|m| (m.clone(), crate::domain::time::date_zh(m.planned_at))).collect();
    let children = rows(d.children.clone());
    let rechecks = d
        .rechecks
        .iter()
        .map(|r| {
            let result = match r.passed {
                Some(true) => tr.t("item.recheck.passed"),
                Some(false) => tr.t("item.recheck.failed"),
                None => tr.t("item.recheck.pending"),
            };
            (crate::domain::time::date_zh(r.due_at), result.to_owned())
        })
        .collect();
    Ok(ItemPage {
        nav: Nav::new(Some(user), &format!("/items/{}", i.id)),
        csrf: user.csrf().to_owned(),
        source: word(i.source.as_str(), i.source.label_zh()),
        level: word(i.level.as_str(), i.level.label_zh()),
        outcome,
        due: local(i.deadline_at),
        step_due: i.step_due_at.map(local).unwrap_or_default(),
        created: local(i.started_at),
        events,
        actions,
        rechecks,
        outcomes: label(tr, Outcome::ALL, |o| o.as_str().to_owned(), Outcome::label_zh),
        errors,
        note,
        milestones,
        plans: open && (unit_role || matches!(user.user.role, Role::Inspector | Role::Supervisor)),
        reaches: open && unit_role,
        children,
        tr,
        d,
    })
}

async fn item_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let item = items::visible_item(&state, &user, &id).await?;
    Ok(Page(render_item(&state, Tr { locale }, &user, item, Vec::new(), String::new()).await?).into_response())
}

async fn act_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let item = items::visible_item(&state, &user, &id).await?;
    let (fields, files) = read_multipart(form).await?;
    let f = |k: &str| field(&fields, k);
    let flag = |k: &str| match f(k) {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let result = async {
        let mut req = ItemAction {
            action: f("action").to_owned(),
            version: number(f("version"), "version", tr)?,
            note: Some(f("note").to_owned()),
            percent: number(f("percent"), "percent", tr)?,
            days: number(f("days"), "days", tr)?,
            approve: flag("approve"),
            outcome: Some(f("outcome").to_owned()).filter(|o| !o.is_empty()),
            passed: flag("passed"),
            attachments: None,
        };
        // Check the request before keeping the files: a refused action leaves no stray upload.
        let mut probe = req.clone();
        probe.attachments = Some(files.iter().map(|_| "pending".to_owned()).collect());
        probe.parse(tr).map_err(Error::Validation)?;
        let mut ids = Vec::new();
        for (name, bytes) in &files {
            let files = crate::store::items::TABLES.files();
            ids.push(crate::web::evidence::save_file(&state, &user, &files, &item.id, Some(name), bytes).await?.id);
        }
        req.attachments = Some(ids);
        items::act(&state, &user, &id, &req, tr).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/items/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let item = items::visible_item(&state, &user, &id).await?;
            let page = render_item(&state, tr, &user, item, errors, f("note").to_owned()).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "item_document.html")]
struct DocumentPage {
    tr: Tr,
    nav: Nav,
    item: ItemView,
    doc: crate::store::items::Document,
    title: String,
    lead: String,
    issued: String,
    due: String,
    finding: String,
}

async fn document_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath((id, doc)): ApiPath<(String, String)>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let item = items::visible_item(&state, &user, &id).await?;
    let doc = crate::store::items::documents(&state.store, &item.id)
        .await?
        .into_iter()
        .find(|d| d.id == doc)
        .ok_or(Error::NotFound)?;
    let page = DocumentPage {
        nav: Nav::new(Some(&user), &format!("/items/{id}")),
        title: tr.t(&format!("item.doc.{}", doc.kind)).to_owned(),
        lead: tr.t(&format!("item.doc.body.{}", doc.kind)).to_owned(),
        issued: crate::domain::time::date_zh(doc.created_at),
        due: crate::domain::time::date_zh(item.deadline_at),
        finding: doc.body.get("finding").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
        item: ItemView::of(item, crate::store::now_ms()),
        doc,
        tr,
    };
    Ok(Page(page).into_response())
}

async fn milestone_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let result = async {
        let percent = number::<u8>(&get("percent"), "percent", tr)?.unwrap_or(0);
        let r = super::items::MilestoneRequest { title: get("title"), planned_on: get("planned_on"), percent };
        super::items::add_milestone(&state, &user, &id, &r, tr).await
    }
    .await;
    after_item_form(&state, tr, &user, &id, result.map(|_| ())).await
}

async fn reached_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath((id, milestone)): ApiPath<(String, String)>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let result = super::items::reach(&state, &user, &id, &milestone, tr).await.map(|_| ());
    after_item_form(&state, tr, &user, &id, result).await
}

/// Back to the item page after one of its forms, or the page with the form's errors.
async fn after_item_form(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    id: &str,
    result: Result<(), Error>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/items/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let item = items::visible_item(state, user, id).await?;
            Ok((status, Page(render_item(state, tr, user, item, errors, String::new()).await?)).into_response())
        }
    }
}
