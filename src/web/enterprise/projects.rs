//! Key projects' API: list (by park, chain, colour, stage), register, read one with its firms,
//! funding, stage nodes and monthly reports, record a month's report, move the stage on and mark
//! nodes done. A firm's user sees its own projects only; a project outside the caller's view is
//! a 404, as if it did not exist.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use super::{API, firm_of, required, viewer};
use crate::domain::FieldError;
use crate::domain::enterprise::project::{FundingSource, ProjectLevel, ProjectStage};
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::store::enterprise::projects::{self, NewProject, NewReport, Project, ProjectDetail, ProjectError};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiPath, ApiQuery, Error, ErrorBody, Result};

/// Projects per page.
pub const PER_PAGE: i64 = 50;

/// Largest amount accepted, 万元 (¥10 trillion).
const MAX_WAN: f64 = 1.0e9;

/// Which projects to list.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectParams {
    /// Only this park's (its org code).
    pub park: Option<String>,
    /// Only this chain's (its id).
    pub chain: Option<String>,
    /// Only this colour: `green`, `yellow` or `red`.
    pub colour: Option<String>,
    /// Only this stage: `signed`, `building`, `producing` or `terminated`.
    pub stage: Option<String>,
    /// Name or code containing this.
    pub q: Option<String>,
    /// Page (from 1).
    pub page: Option<i64>,
}

/// A page of projects.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProjectPage {
    /// Red first, then yellow, then by code.
    pub projects: Vec<Project>,
    /// How many match in all.
    pub total: i64,
    /// This page (from 1).
    pub page: i64,
    /// Per page.
    pub per_page: i64,
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The projects `p` selects for `user`.
pub async fn list_for(state: &AppState, user: &CurrentUser, p: &ProjectParams, tr: Tr) -> Result<ProjectPage> {
    let firm = firm_of(state, user).await?;
    if user.user.role != crate::domain::role::Role::Enterprise {
        user.may(Permission::ReadProjects)?;
    }
    let mut errors = Vec::new();
    let mut f = projects::Filter { limit: PER_PAGE, park: text(&p.park), chain: text(&p.chain), ..Default::default() };
    if let Some(c) = text(&p.colour) {
        if !matches!(c.as_str(), "green" | "yellow" | "red") {
            errors.push(FieldError::new("colour", format!("{} green, yellow, red", tr.t("ent.err.one_of"))));
        }
        f.colour = Some(c);
    }
    if let Some(s) = text(&p.stage) {
        f.stage = ProjectStage::parse(&s);
        if f.stage.is_none() {
            errors.push(FieldError::new(
                "stage",
                format!("{} signed, building, producing, terminated", tr.t("ent.err.one_of")),
            ));
        }
    }
    f.q = text(&p.q).map(|q| q.chars().take(100).collect());
    let page = p.page.unwrap_or(1);
    if !(1..=10_000).contains(&page) {
        errors.push(FieldError::new("page", tr.t("ent.err.page")));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    f.offset = (page - 1) * PER_PAGE;
    let (found, total) = projects::list(&state.store, &viewer(user, &firm), &f).await?;
    Ok(ProjectPage { projects: found, total, page, per_page: PER_PAGE })
}

/// Key projects the caller sees: a firm's user its own; staff those of the parks and units in
/// their scope and those they manage. Colours are computed from dates and reports: a missed
/// start (yellow, red after 3 months), investment or funds behind the plan (yellow 10–30
/// points, red beyond).
#[utoipa::path(get, path = "/projects", tag = "enterprise", params(ProjectParams),
    responses((status = 200, body = ProjectPage), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_projects(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ProjectParams>,
) -> Result<axum::Json<ProjectPage>> {
    Ok(axum::Json(list_for(&state, &user, &p, API).await?))
}

/// Project `code` as `user` sees it, or 404.
pub async fn visible(state: &AppState, user: &CurrentUser, code: &str) -> Result<ProjectDetail> {
    let firm = firm_of(state, user).await?;
    if user.user.role != crate::domain::role::Role::Enterprise {
        user.may(Permission::ReadProjects)?;
    }
    projects::get(&state.store, &viewer(user, &firm), code).await?.ok_or(Error::NotFound)
}

/// What the channel needs of project `code` as `user` sees it (one query), or 404.
pub async fn reference(
    state: &AppState,
    user: &CurrentUser,
    code: &str,
) -> Result<crate::store::enterprise::desk::ProjectRef> {
    let firm = firm_of(state, user).await?;
    if user.user.role != crate::domain::role::Role::Enterprise {
        user.may(Permission::ReadProjects)?;
    }
    projects::reference(&state.store, &viewer(user, &firm), code).await?.ok_or(Error::NotFound)
}

/// One project with its firms, funding by source (planned and arrived), stage nodes and monthly
/// reports.
#[utoipa::path(get, path = "/projects/{code}", tag = "enterprise", params(("code" = String, Path, description = "Project code")),
    responses((status = 200, body = ProjectDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn get_project(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<ProjectDetail>> {
    Ok(axum::Json(visible(&state, &user, &code).await?))
}

/// A funding line.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FundingLine {
    /// `own_funds`, `bank_loan`, `government`, `foreign` or `other`.
    pub source: String,
    /// Amount, 万元 (≥ 0).
    pub amount_wan: f64,
}

/// A stage node to plan.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NodeLine {
    /// What it is (取得施工许可).
    pub name: String,
    /// Due, `YYYY-MM-DD`.
    pub due_on: String,
    /// Who owns it.
    pub owner: String,
}

/// A project to register.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectRequest {
    /// Code, unique (`XN-2026-001`).
    pub code: String,
    /// Name.
    pub name: String,
    /// The park (a park's org code).
    pub park_code: String,
    /// The chain (its id).
    pub chain_id: Option<String>,
    /// `province`, `city` or `county`.
    pub level: String,
    /// `signed` (default), `building`, `producing` or `terminated`.
    pub stage: Option<String>,
    /// Committed investment by source (at least one line; the total is their sum).
    pub funding: Vec<FundingLine>,
    /// Signed, `YYYY-MM-DD`.
    pub signed_on: String,
    /// Planned start, `YYYY-MM-DD`.
    pub planned_start: String,
    /// Planned finish, `YYYY-MM-DD` (after the start).
    pub planned_finish: String,
    /// Actual start, if it started.
    pub started_on: Option<String>,
    /// The responsible unit (an org code).
    pub unit_code: String,
    /// The responsible person.
    pub responsible_person: String,
    /// The 项目管家 (a staff user's login name).
    pub manager: Option<String>,
    /// The city leader in charge.
    pub city_leader: String,
    /// What it is.
    pub description: String,
    /// Its firms' credit codes (at least one).
    pub firms: Vec<String>,
    /// Stage nodes, in order.
    pub nodes: Vec<NodeLine>,
}

fn date(errors: &mut Vec<FieldError>, tr: Tr, field: &str, v: &str) -> Option<NaiveDate> {
    let d = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
    if d.is_none() {
        errors.push(FieldError::new(field, tr.t("ent.err.date")));
    }
    d
}

fn amount(errors: &mut Vec<FieldError>, tr: Tr, field: &str, v: f64) -> f64 {
    if !v.is_finite() || !(0.0..=MAX_WAN).contains(&v) {
        errors.push(FieldError::new(field, tr.t("ent.err.amount")));
        return 0.0;
    }
    v
}

fn funding(errors: &mut Vec<FieldError>, tr: Tr, field: &str, lines: &[FundingLine]) -> Vec<(FundingSource, f64)> {
    let mut out: Vec<(FundingSource, f64)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(source) = FundingSource::parse(&l.source) else {
            errors.push(FieldError::new(
                format!("{field}[{i}].source"),
                format!("{} own_funds, bank_loan, government, foreign, other", tr.t("ent.err.one_of")),
            ));
            continue;
        };
        let a = amount(errors, tr, &format!("{field}[{i}].amount_wan"), l.amount_wan);
        match out.iter_mut().find(|(s, _)| *s == source) {
            Some((_, sum)) => *sum += a,
            None => out.push((source, a)),
        }
    }
    out
}

impl ProjectRequest {
    /// Checks every field; all the bad ones are listed.
    pub fn parse(&self, tr: Tr) -> std::result::Result<NewProject, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = required(&mut errors, tr, "code", &self.code, 40);
        let name = required(&mut errors, tr, "name", &self.name, 200);
        let park_code = required(&mut errors, tr, "park_code", &self.park_code, 64);
        let unit_code = required(&mut errors, tr, "unit_code", &self.unit_code, 64);
        let responsible_person = required(&mut errors, tr, "responsible_person", &self.responsible_person, 100);
        let city_leader = required(&mut errors, tr, "city_leader", &self.city_leader, 100);
        let level = ProjectLevel::parse(&self.level);
        if level.is_none() {
            errors.push(FieldError::new("level", format!("{} province, city, county", tr.t("ent.err.one_of"))));
        }
        let stage = match text(&self.stage) {
            None => Some(ProjectStage::Signed),
            Some(s) => ProjectStage::parse(&s),
        };
        if stage.is_none() {
            errors.push(FieldError::new(
                "stage",
                format!("{} signed, building, producing, terminated", tr.t("ent.err.one_of")),
            ));
        }
        let funding = funding(&mut errors, tr, "funding", &self.funding);
        if self.funding.is_empty() || funding.iter().map(|(_, a)| a).sum::<f64>() <= 0.0 {
            errors.push(FieldError::new("funding", tr.t("ent.err.funding")));
        }
        let signed_on = date(&mut errors, tr, "signed_on", &self.signed_on);
        let planned_start = date(&mut errors, tr, "planned_start", &self.planned_start);
        let planned_finish = date(&mut errors, tr, "planned_finish", &self.planned_finish);
        if let (Some(s), Some(f)) = (planned_start, planned_finish)
            && f <= s
        {
            errors.push(FieldError::new("planned_finish", tr.t("ent.err.finish_before_start")));
        }
        let started_on = text(&self.started_on).and_then(|d| date(&mut errors, tr, "started_on", &d));
        if self.firms.is_empty() {
            errors.push(FieldError::new("firms", tr.t("ent.err.firms")));
        }
        let mut firms = Vec::new();
        for (i, f) in self.firms.iter().enumerate() {
            match crate::domain::enterprise::Uscc::parse(f) {
                Ok(c) => firms.push(c.as_str().to_owned()),
                Err(e) => errors.push(FieldError::new(format!("firms[{i}]"), super::uscc_message(e, tr))),
            }
        }
        firms.sort();
        firms.dedup();
        let mut nodes = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let name = required(&mut errors, tr, &format!("nodes[{i}].name"), &n.name, 200);
            let owner = required(&mut errors, tr, &format!("nodes[{i}].owner"), &n.owner, 100);
            if let Some(due) = date(&mut errors, tr, &format!("nodes[{i}].due_on"), &n.due_on) {
                nodes.push((name, due, owner));
            }
        }
        if self.nodes.len() > 50 {
            errors.push(FieldError::new("nodes", tr.t("ent.err.too_many")));
        }
        let description = self.description.trim().chars().take(4000).collect();
        match (level, stage, signed_on, planned_start, planned_finish, errors.is_empty()) {
            (Some(level), Some(stage), Some(signed_on), Some(planned_start), Some(planned_finish), true) => {
                Ok(NewProject {
                    code,
                    name,
                    park_code,
                    chain_id: text(&self.chain_id),
                    level,
                    stage,
                    funding,
                    signed_on,
                    planned_start,
                    planned_finish,
                    started_on,
                    unit_code,
                    responsible_person,
                    manager: text(&self.manager),
                    city_leader,
                    description,
                    firms,
                    nodes,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A refusal of the project store as an HTTP error.
pub fn refused(e: ProjectError, tr: Tr) -> Error {
    match e {
        ProjectError::Taken => Error::Conflict(tr.t("ent.err.project_taken").into()),
        ProjectError::MonthTaken => Error::Conflict(tr.t("ent.err.month_taken").into()),
        ProjectError::Unknown(field) => Error::field(field, tr.t("ent.err.unknown")),
        ProjectError::Store(s) => s.into(),
    }
}

/// Register a key project (admins and supervisors) with its firms, funding by source and
/// stage nodes.
#[utoipa::path(post, path = "/projects", tag = "enterprise", request_body = ProjectRequest,
    responses((status = 201, body = ProjectDetail), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn create_project(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<ProjectRequest>,
) -> Result<Response> {
    user.may(Permission::ManageProjects)?;
    let new = r.parse(API).map_err(Error::Validation)?;
    projects::create(&state.store, &new, &user.actor()).await.map_err(|e| refused(e, API))?;
    Ok((StatusCode::CREATED, axum::Json(visible(&state, &user, &new.code).await?)).into_response())
}

/// A month's report.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReportRequest {
    /// `YYYY-MM`, not in the future, reported once.
    pub month: String,
    /// Investment completed in the month, 万元.
    pub completed_wan: f64,
    /// Funds arrived in the month, by source.
    pub funds: Vec<FundingLine>,
    /// What happened.
    pub note: String,
}

impl ReportRequest {
    /// Checks every field.
    pub fn parse(&self, tr: Tr) -> std::result::Result<NewReport, Vec<FieldError>> {
        let mut errors = Vec::new();
        let month = self.month.trim().to_owned();
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok();
        let this_month = crate::domain::time::date_of(crate::store::now_ms());
        match first {
            Some(d) if month.len() == 7 && d <= this_month => {}
            _ => errors.push(FieldError::new("month", tr.t("ent.err.month"))),
        }
        let completed_wan = amount(&mut errors, tr, "completed_wan", self.completed_wan);
        let funds = funding(&mut errors, tr, "funds", &self.funds);
        let note = self.note.trim().chars().take(2000).collect();
        if errors.is_empty() { Ok(NewReport { month, completed_wan, funds, note }) } else { Err(errors) }
    }
}

async fn reportable(state: &AppState, user: &CurrentUser, code: &str) -> Result<ProjectDetail> {
    let p = visible(state, user, code).await?;
    user.may(Permission::ReportProjects)?;
    Ok(p)
}

/// Record a month's report (park cadres, the 项目管家, supervisors): the investment completed and
/// the funds arrived by source; the cumulative totals and the colour follow. A month is
/// reported once (409).
#[utoipa::path(post, path = "/projects/{code}/reports", tag = "enterprise", params(("code" = String, Path, description = "Project code")),
    request_body = ReportRequest,
    responses((status = 200, body = ProjectDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn post_report(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(r): ApiJson<ReportRequest>,
) -> Result<axum::Json<ProjectDetail>> {
    let p = reportable(&state, &user, &code).await?;
    let report = r.parse(API).map_err(Error::Validation)?;
    projects::report(&state.store, &p.project.id, &report, &user.actor()).await.map_err(|e| refused(e, API))?;
    Ok(axum::Json(visible(&state, &user, &code).await?))
}

/// A project's progress: a new stage, nodes done.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProgressRequest {
    /// The new stage, if it moved: `building`, `producing`, `terminated`.
    pub stage: Option<String>,
    /// The day it moved (or the nodes were done), `YYYY-MM-DD`; today if absent.
    pub on: Option<String>,
    /// Stage nodes done, by position.
    pub nodes_done: Vec<i64>,
}

/// Move a project's stage on (started, in production, terminated) and mark stage nodes done.
#[utoipa::path(post, path = "/projects/{code}/progress", tag = "enterprise", params(("code" = String, Path, description = "Project code")),
    request_body = ProgressRequest,
    responses((status = 200, body = ProjectDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn post_progress(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(r): ApiJson<ProgressRequest>,
) -> Result<axum::Json<ProjectDetail>> {
    let p = reportable(&state, &user, &code).await?;
    let mut errors = Vec::new();
    let on = match text(&r.on) {
        Some(d) => date(&mut errors, API, "on", &d),
        None => Some(crate::domain::time::date_of(crate::store::now_ms())),
    };
    if on.is_some_and(|d| d > crate::domain::time::date_of(crate::store::now_ms())) {
        errors.push(FieldError::new("on", API.t("ent.err.future")));
    }
    let stage = match text(&r.stage) {
        None => None,
        Some(s) => match ProjectStage::parse(&s) {
            Some(st) if st != ProjectStage::Signed => Some(st),
            _ => {
                errors.push(FieldError::new(
                    "stage",
                    format!("{} building, producing, terminated", API.t("ent.err.one_of")),
                ));
                None
            }
        },
    };
    for (i, seq) in r.nodes_done.iter().enumerate() {
        if !p.nodes.iter().any(|n| n.seq == *seq) {
            errors.push(FieldError::new(format!("nodes_done[{i}]"), API.t("ent.err.node")));
        }
    }
    if stage.is_none() && r.nodes_done.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("stage", API.t("ent.err.nothing")));
    }
    let Some(on) = on.filter(|_| errors.is_empty()) else { return Err(Error::Validation(errors)) };
    let done: Vec<(i64, NaiveDate)> = r.nodes_done.iter().map(|s| (*s, on)).collect();
    projects::progress(&state.store, &p.project.id, stage.map(|s| (s, on)), &done, &user.actor())
        .await
        .map_err(|e| refused(e, API))?;
    Ok(axum::Json(visible(&state, &user, &code).await?))
}
