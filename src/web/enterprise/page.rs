//! The desk's pages, phone first (park cadres answer on the move, firms post from site):
//! `/projects` (the key projects the caller sees, red first), `/projects/{code}` (a project's
//! facts, funding, stage nodes and monthly reports, its channel and its requests with their
//! clocks, live over the project's event stream), `/desk` (the queue: open requests, nearest
//! clock first; withdrawals to check) and `/desk/{id}` (one request, its timeline and a form per
//! action the caller may take). Every form posts to the same checks as the API, in the page's
//! language, and a refused form comes back with what was typed.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::desk::{self as api, MessageRequest, RequestAction, RequestDetail, RequestParams};
use super::projects::{self as project_api, FundingLine, ProjectParams, ReportRequest};
use crate::config::Config;
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::i18n::{Locale, Tr};
use crate::store::enterprise::channel::{self, Message};
use crate::store::enterprise::desk::Request;
use crate::store::enterprise::projects::{Project, ProjectDetail};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiPath, Error};
use crate::web::pages::{Nav, Page, PageError, local};

/// The pages.
pub fn pages(config: &Config) -> Router<AppState> {
    let limit = DefaultBodyLimit::max(config.max_attachment_bytes.saturating_mul(4).saturating_add(64 * 1024));
    Router::new()
        .route("/projects", get(projects_page))
        .route("/projects/{code}", get(project_page))
        .route("/projects/{code}/post", post(post_form).layer(limit))
        .route("/projects/{code}/report", post(report_form))
        .route("/projects/{code}/progress", post(progress_form))
        .route("/desk", get(desk_page))
        .route("/investment", get(super::investment::investment_page))
        .route("/conduct", get(super::conduct::conduct_page))
        .route("/conduct/breach", post(super::conduct::breach_form))
        .route("/chains/{id}", get(super::investment::chain_page))
        .route("/desk/{id}", get(request_page))
        .route("/desk/{id}/act", post(act_form))
}

/// A page's refusal: shown on the page that was posted, with what was typed.
fn kept(e: Error) -> Result<(axum::http::StatusCode, Vec<String>), PageError> {
    match e {
        e @ (Error::Forbidden | Error::NotFound | Error::Internal(_) | Error::Store(_) | Error::Unavailable) => {
            Err(PageError(e))
        }
        e => Ok((e.status(), e.page_messages())),
    }
}

/// Money in 万元 as people read it: `6.33亿元` / `850万元`; `¥633.1m` / `¥8.5m` in English.
pub fn money(tr: Tr, wan: f64) -> String {
    match tr.locale {
        Locale::ZhCn if wan.abs() >= 10_000.0 => format!("{:.2}亿元", wan / 10_000.0),
        Locale::ZhCn => format!("{wan:.0}万元"),
        Locale::En => format!("¥{:.1}m", wan / 100.0),
    }
}

/// A share as a percentage with one decimal.
pub fn percent(v: f64) -> String {
    format!("{v:.1}%")
}

/// A request as its row shows it: the state's words, the step's deadline and clock.
pub struct RequestRow {
    /// The request.
    pub r: Request,
    /// Its state, in words.
    pub state: String,
    /// The step timed, in words.
    pub step: String,
    /// When it falls due, as text.
    pub due: String,
    /// Posted, as text.
    pub posted: String,
}

fn row(tr: Tr, r: Request) -> RequestRow {
    RequestRow {
        state: tr.t(&format!("desk.state.{}", r.state.as_str())).to_owned(),
        step: r.step.as_deref().map(|s| tr.t(&format!("sla.step.{s}")).to_owned()).unwrap_or_default(),
        due: r.step_due_at.map(local).unwrap_or_default(),
        posted: local(r.posted_at),
        r,
    }
}

/// The state names for the live page's script (`{"posted": "待回复", …}`).
fn state_labels(tr: Tr) -> String {
    let map: HashMap<&str, String> = crate::domain::enterprise::desk::State::ALL
        .iter()
        .map(|s| (s.as_str(), tr.t(&format!("desk.state.{}", s.as_str())).to_owned()))
        .collect();
    serde_json::to_string(&map).unwrap_or_default()
}

// ---- /projects ----

struct ProjectRow {
    p: Project,
    colour: String,
    stage: String,
    slip: String,
    committed: String,
    completed: String,
    arrived: String,
    completed_pct: String,
    arrived_pct: String,
    planned_pct: String,
}

fn project_row(tr: Tr, p: Project) -> ProjectRow {
    ProjectRow {
        colour: tr.t(&format!("ent.colour.{}", p.colour)).to_owned(),
        stage: tr.t(&format!("ent.stage.{}", p.stage.as_str())).to_owned(),
        slip: p.slip.as_deref().map(|s| tr.t(&format!("ent.slip.{s}")).to_owned()).unwrap_or_default(),
        committed: money(tr, p.committed_wan),
        completed: money(tr, p.completed_wan),
        arrived: money(tr, p.arrived_wan),
        completed_pct: percent(p.completed_percent()),
        arrived_pct: percent(p.arrived_percent()),
        planned_pct: percent(p.planned_percent),
        p,
    }
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    tr: Tr,
    nav: Nav,
    rows: Vec<ProjectRow>,
    total: i64,
    page: i64,
    pages: i64,
    p: ProjectParams,
    query: String,
    parks: Vec<(String, String)>,
    errors: Vec<String>,
    totals: (String, String, String),
    stages: Vec<(String, String)>,
}

async fn projects_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<ProjectParams>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let (found, errors, status) = match project_api::list_for(&state, &user, &p, tr).await {
        Ok(f) => (Some(f), Vec::new(), axum::http::StatusCode::OK),
        Err(e) => {
            let (status, errors) = kept(e)?;
            (None, errors, status)
        }
    };
    let (projects, total, page, per_page) =
        found.map_or((Vec::new(), 0, 1, 50), |f| (f.projects, f.total, f.page, f.per_page));
    let sums = projects
        .iter()
        .fold((0.0, 0.0, 0.0), |s, x| (s.0 + x.committed_wan, s.1 + x.completed_wan, s.2 + x.arrived_wan));
    let parks = crate::store::enterprise::parks(&state.store).await?.into_iter().map(|p| (p.code, p.name)).collect();
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("park", &p.park), ("colour", &p.colour), ("stage", &p.stage), ("q", &p.q)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            q.append_pair(k, v);
        }
    }
    let page = ProjectsPage {
        nav: Nav::new(Some(&user), "/projects"),
        rows: projects.into_iter().map(|x| project_row(tr, x)).collect(),
        total,
        page,
        pages: ((total + per_page - 1) / per_page).max(1),
        query: q.finish(),
        p,
        parks,
        errors,
        totals: (money(tr, sums.0), money(tr, sums.1), money(tr, sums.2)),
        stages: crate::domain::enterprise::project::ProjectStage::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), tr.t(&format!("ent.stage.{}", s.as_str())).to_owned()))
            .collect(),
        tr,
    };
    Ok((status, Page(page)).into_response())
}

// ---- /projects/{code} ----

struct MessageRow {
    m: Message,
    at: String,
    mine: bool,
    firm: bool,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    d: ProjectDetail,
    row: ProjectRow,
    funding: Vec<(String, String, String)>,
    reports: Vec<(String, String, String, String)>,
    messages: Vec<MessageRow>,
    requests: Vec<RequestRow>,
    last_seq: i64,
    is_firm: bool,
    is_cadre: bool,
    reports_allowed: bool,
    errors: Vec<String>,
    body: String,
    title: String,
    problem: bool,
    report: (String, String, String, String),
    labels: String,
    month: String,
    posted: bool,
}

#[derive(Default)]
struct Kept {
    errors: Vec<String>,
    body: String,
    title: String,
    problem: bool,
    report: (String, String, String, String),
    posted: bool,
}

async fn render_project(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    code: &str,
    k: Kept,
) -> Result<ProjectPage, PageError> {
    let d = project_api::visible(state, user, code).await?;
    let messages = channel::latest(state.store.pool(), &d.project.id, 100).await?;
    let last_seq = channel::last_seq(state.store.pool(), &d.project.id).await?;
    let params = RequestParams { project: Some(d.project.code.clone()), ..Default::default() };
    let requests = api::list_for(state, user, &params, tr).await?.requests;
    let role = user.user.role;
    let funding = d
        .funding
        .iter()
        .map(|f| (word(tr, f.source.as_str(), f.source.zh()), money(tr, f.planned_wan), money(tr, f.arrived_wan)))
        .collect();
    let reports = d
        .reports
        .iter()
        .map(|r| {
            let arrived: f64 = r.funds.iter().map(|(_, a)| a).sum();
            (r.month.clone(), money(tr, r.completed_wan), money(tr, arrived), r.note.clone())
        })
        .collect();
    Ok(ProjectPage {
        nav: Nav::new(Some(user), &format!("/projects/{}", d.project.code)),
        csrf: user.csrf().to_owned(),
        row: project_row(tr, d.project.clone()),
        funding,
        reports,
        messages: messages
            .into_iter()
            .map(|m| MessageRow {
                at: local(m.created_at),
                mine: m.author == user.user.username,
                firm: m.author_role == "enterprise",
                m,
            })
            .collect(),
        requests: requests.into_iter().map(|r| row(tr, r)).collect(),
        last_seq,
        is_firm: role == Role::Enterprise,
        is_cadre: matches!(role, Role::Admin | Role::Supervisor | Role::UnitHead | Role::Staff),
        reports_allowed: role.may(Permission::ReportProjects),
        errors: k.errors,
        body: k.body,
        title: k.title,
        problem: k.problem,
        report: k.report,
        labels: state_labels(tr),
        month: crate::domain::time::date_of(crate::store::now_ms()).format("%Y-%m").to_string(),
        posted: k.posted,
        d,
        tr,
    })
}

fn word(tr: Tr, code: &str, zh: &str) -> String {
    if tr.locale == Locale::ZhCn { zh.to_owned() } else { tr.t(&format!("ent.word.{code}")).to_owned() }
}

#[derive(serde::Deserialize, Default)]
struct Flash {
    posted: Option<String>,
}

async fn project_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(code): ApiPath<String>,
    Query(f): Query<Flash>,
) -> Result<Response, PageError> {
    let k = Kept { posted: f.posted.is_some(), ..Default::default() };
    Ok(Page(render_project(&state, Tr { locale }, &user, &code, k).await?).into_response())
}

/// Reads the composer: its text fields and its files.
async fn read_form(mut form: Multipart) -> Result<(HashMap<String, String>, Vec<(String, Vec<u8>)>), Error> {
    let mut fields = HashMap::new();
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
        fields.insert(name, value.trim().to_owned());
    }
    Ok((fields, files))
}

async fn post_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(code): ApiPath<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let (fields, files) = read_form(form).await?;
    let f = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let mut req = MessageRequest {
        body: f("body"),
        problem: f("problem") == "true",
        title: Some(f("title")).filter(|t| !t.is_empty()),
        raise_from: Some(f("raise_from")).filter(|t| !t.is_empty()),
        attachments: Vec::new(),
    };
    let result = async {
        let project = project_api::visible(&state, &user, &code).await?;
        // Check the message before keeping its files: a refused post leaves no stray upload.
        if req.raise_from.is_none() && req.body.trim().is_empty() {
            return Err(Error::field("body", tr.t("ent.err.required")));
        }
        for (name, bytes) in &files {
            let a = crate::web::evidence::save_file(
                &state,
                &user,
                &crate::store::enterprise::channel::FILES,
                &project.project.id,
                Some(name.as_str()),
                bytes,
            )
            .await?;
            req.attachments.push(a.id);
        }
        api::post(&state, &user, &code, &req, tr).await
    }
    .await;
    match result {
        Ok(posted) => Ok(match posted.request {
            Some(r) if req.raise_from.is_some() => Redirect::to(&format!("/desk/{}", r.id)).into_response(),
            _ => Redirect::to(&format!("/projects/{code}?posted=1#channel")).into_response(),
        }),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let k = Kept {
                errors,
                body: req.body,
                title: req.title.unwrap_or_default(),
                problem: req.problem,
                ..Default::default()
            };
            Ok((status, Page(render_project(&state, tr, &user, &code, k).await?)).into_response())
        }
    }
}

async fn report_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(code): ApiPath<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let typed = (get("month"), get("completed_wan"), get("arrived_wan"), get("note"));
    let result = async {
        let p = project_api::visible(&state, &user, &code).await?;
        user.may(Permission::ReportProjects)?;
        let amount = |v: &str, field: &str| -> Result<f64, Error> {
            if v.is_empty() {
                return Ok(0.0);
            }
            v.parse::<f64>().map_err(|_| Error::field(field, tr.t("ent.err.amount")))
        };
        let req = ReportRequest {
            month: typed.0.clone(),
            completed_wan: amount(&typed.1, "completed_wan")?,
            funds: vec![FundingLine { source: get("source"), amount_wan: amount(&typed.2, "arrived_wan")? }],
            note: typed.3.clone(),
        };
        let report = req.parse(tr).map_err(Error::Validation)?;
        crate::store::enterprise::projects::report(&state.store, &p.project.id, &report, &user.actor())
            .await
            .map_err(|e| project_api::refused(e, tr))
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{code}#reports")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let k = Kept { errors, report: typed, ..Default::default() };
            Ok((status, Page(render_project(&state, tr, &user, &code, k).await?)).into_response())
        }
    }
}

/// Marks a stage node done, or moves the stage on (park cadres, the manager, supervisors).
async fn progress_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(code): ApiPath<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let result = async {
        let p = project_api::visible(&state, &user, &code).await?;
        user.may(Permission::ReportProjects)?;
        let on = crate::domain::time::date_of(crate::store::now_ms());
        let node: Option<i64> = get("node").parse().ok();
        let stage = crate::domain::enterprise::project::ProjectStage::parse(&get("stage"))
            .filter(|s| *s != crate::domain::enterprise::project::ProjectStage::Signed);
        let nodes: Vec<(i64, chrono::NaiveDate)> = node
            .filter(|n| p.nodes.iter().any(|x| x.seq == *n && x.done_on.is_none()))
            .map(|n| (n, on))
            .into_iter()
            .collect();
        if nodes.is_empty() && stage.is_none() {
            return Err(Error::field("node", tr.t("ent.err.nothing")));
        }
        crate::store::enterprise::projects::progress(
            &state.store,
            &p.project.id,
            stage.map(|s| (s, on)),
            &nodes,
            &user.actor(),
        )
        .await
        .map_err(|e| project_api::refused(e, tr))
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{code}#nodes")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let k = Kept { errors, ..Default::default() };
            Ok((status, Page(render_project(&state, tr, &user, &code, k).await?)).into_response())
        }
    }
}

// ---- /desk ----

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    tr: Tr,
    nav: Nav,
    rows: Vec<RequestRow>,
    total: i64,
    p: RequestParams,
    errors: Vec<String>,
    labels: String,
    checks: bool,
    states: Vec<(String, String)>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct DeskParams {
    state: Option<String>,
    overdue: Option<String>,
    unchecked_withdrawals: Option<String>,
    page: Option<i64>,
}

async fn desk_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(q): Query<DeskParams>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let p = RequestParams {
        project: None,
        state: Some(q.state.unwrap_or_else(|| "open".into())).filter(|s| !s.is_empty()),
        overdue: Some(q.overdue.as_deref() == Some("true")),
        unchecked_withdrawals: Some(q.unchecked_withdrawals.as_deref() == Some("true")),
        page: q.page,
    };
    let (found, errors, status) = match api::list_for(&state, &user, &p, tr).await {
        Ok(f) => (Some(f), Vec::new(), axum::http::StatusCode::OK),
        Err(e) => {
            let (status, errors) = kept(e)?;
            (None, errors, status)
        }
    };
    let (requests, total) = found.map_or((Vec::new(), 0), |f| (f.requests, f.total));
    let page = DeskPage {
        nav: Nav::new(Some(&user), "/desk"),
        rows: requests.into_iter().map(|r| row(tr, r)).collect(),
        total,
        p,
        errors,
        labels: state_labels(tr),
        checks: matches!(user.user.role, Role::Supervisor | Role::Inspector),
        states: crate::domain::enterprise::desk::State::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), tr.t(&format!("desk.state.{}", s.as_str())).to_owned()))
            .collect(),
        tr,
    };
    Ok((status, Page(page)).into_response())
}

// ---- /desk/{id} ----

struct EventRow {
    document: Option<String>,
    label: String,
    at: String,
    actor: String,
    note: String,
}

#[derive(Template)]
#[template(path = "desk_request.html")]
struct RequestPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    d: RequestDetail,
    row: RequestRow,
    events: Vec<EventRow>,
    actions: Vec<(String, String)>,
    errors: Vec<String>,
    note: String,
    labels: String,
    done: Option<String>,
    reply_due: String,
    handover_until: String,
}

async fn render_request(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    id: &str,
    errors: Vec<String>,
    note: String,
    done: Option<String>,
) -> Result<RequestPage, PageError> {
    let r = api::visible(state, user, id).await?;
    let d = api::detail(state, user, r).await?;
    let events = d
        .timeline
        .iter()
        .map(|e| EventRow {
            document: d.documents.iter().find(|(_, ev)| ev.as_deref() == Some(e.id.as_str())).map(|(n, _)| n.clone()),
            label: tr.t(&format!("desk.action.{}", e.action)).to_owned(),
            at: local(e.created_at),
            actor: e.actor.clone(),
            note: e.note.clone(),
        })
        .collect();
    let actions = d.actions.iter().map(|a| (a.clone(), tr.t(&format!("desk.action.{a}")).to_owned())).collect();
    Ok(RequestPage {
        nav: Nav::new(Some(user), &format!("/desk/{id}")),
        csrf: user.csrf().to_owned(),
        row: row(tr, d.request.clone()),
        reply_due: local(d.request.reply_due_at),
        handover_until: local(d.request.handover_until),
        events,
        actions,
        errors,
        note,
        labels: state_labels(tr),
        done: done.map(|a| tr.t(&format!("desk.action.{a}")).to_owned()),
        d,
        tr,
    })
}

#[derive(serde::Deserialize, Default)]
struct Done {
    done: Option<String>,
}

async fn request_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let done = q.done.filter(|a| api::ACTIONS.contains(&a.as_str()));
    Ok(Page(render_request(&state, Tr { locale }, &user, &id, Vec::new(), String::new(), done).await?).into_response())
}

async fn act_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let note = get("note");
    let result = async {
        let number = |k: &str| -> Result<Option<u32>, Error> {
            let v = get(k);
            if v.is_empty() {
                Ok(None)
            } else {
                v.parse().map(Some).map_err(|_| Error::field(k, tr.t("ent.err.plan_days")))
            }
        };
        let req = RequestAction {
            action: get("action"),
            version: get("version").parse().ok(),
            note: note.clone(),
            days: number("days")?,
            rating: get("rating").parse().ok(),
            pressed: match get("pressed").as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            unit: Some(get("unit")).filter(|u| !u.is_empty()),
            attachments: Vec::new(),
        };
        api::act(&state, &user, &id, &req, tr).await.map(|_| req.action)
    }
    .await;
    match result {
        Ok(action) => Ok(Redirect::to(&format!("/desk/{id}?done={action}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            Ok((status, Page(render_request(&state, tr, &user, &id, errors, note, None).await?)).into_response())
        }
    }
}
