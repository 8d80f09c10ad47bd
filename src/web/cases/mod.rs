//! Cases over HTTP (DESIGN.md §5): list (an inbox per role), read one with its timeline and the
//! actions open to the caller, act on it, open one by hand, attach evidence, and route a
//! subtree's cases to a supervising office. The HTML pages are in [`page`].

pub mod act;
pub mod page;
pub mod view;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::CurrentUser;
use super::error::{ApiJson, ApiPath, ApiQuery, Error, ErrorBody, Result};
use crate::config::Config;
use crate::domain::FieldError;
use crate::domain::case::{ActionName, Source, State as CaseState, permitted};
use crate::domain::ids::OrgCode;
use crate::store::cases::register::{self, Attachment, Document};
use crate::store::cases::{self, Case, Event, Filter, NewCase};
use crate::store::now_ms;
use crate::store::ratings::RatingView;
use crate::store::workflow;
use act::{ActionRequest, MAX_TEXT, act, facts, visible_case};
use view::CaseView;

/// The cases API.
pub fn api(config: &Config) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_case))
        .routes(routes!(post_action))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload))
                .layer(DefaultBodyLimit::max(config.max_attachment_bytes.saturating_add(64 * 1024))),
        )
        .routes(routes!(download))
        .routes(routes!(set_office))
}

/// Which cases to list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `mine` (waiting for the caller's role), `all` (default) or `overdue`.
    pub view: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only units under this node (within the caller's scope).
    pub under: Option<String>,
    /// Page size (1–500, default 100).
    pub limit: Option<i64>,
    /// Page start.
    pub offset: Option<i64>,
}

/// A page of cases.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CaseList {
    /// How many match.
    pub total: i64,
    /// This page: open cases first, earliest deadline (so overdue) first.
    pub cases: Vec<CaseSummary>,
}

/// A case in a listing.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    /// The case.
    #[serde(flatten)]
    pub case: CaseView,
    /// Past a deadline while open.
    pub overdue: bool,
}

/// Parses the listing's filters for `user`; `None` when nothing can match (the caller's role
/// owns no step, so nothing waits for it).
pub(crate) async fn filter_for(state: &AppState, user: &CurrentUser, p: &ListParams) -> Result<Option<Filter>> {
    let mut errors = Vec::new();
    let mut f = Filter {
        limit: p.limit.unwrap_or(100).clamp(1, 500),
        offset: p.offset.unwrap_or(0).max(0),
        ..Filter::default()
    };
    match p.view.as_deref().unwrap_or("all") {
        "all" => {}
        "mine" => {
            f.states = CaseState::awaiting(user.user.role);
            if f.states.is_empty() {
                // Roles that own no step (admins, inspectors, enterprises) wait on nothing.
                return Ok(None);
            }
        }
        "overdue" => f.overdue_at = Some(now_ms()),
        other => errors.push(FieldError::new("view", format!("{other:?} is not mine, all or overdue"))),
    }
    if let Some(s) = p.state.as_deref().filter(|s| !s.is_empty()) {
        match CaseState::parse(s) {
            Some(st) if f.states.is_empty() || f.states.contains(&st) => f.states = vec![st],
            Some(_) => return Ok(None),
            None => errors.push(FieldError::new("state", format!("{s:?} is not a case state"))),
        }
    }
    if let Some(s) = p.source.as_deref().filter(|s| !s.is_empty()) {
        match Source::parse(s) {
            Some(src) => f.source = Some(src),
            None => errors.push(FieldError::new("source", format!("{s:?} is not a case source"))),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if p.under.as_deref().is_some_and(|u| !u.trim().is_empty()) {
        f.under = Some(user.subtree(state, p.under.as_deref()).await?);
    }
    Ok(Some(f))
}

/// Cases visible to the caller (its unit or supervising office in scope).
#[utoipa::path(get, path = "/cases", tag = "cases", params(ListParams),
    responses((status = 200, body = CaseList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<axum::Json<CaseList>> {
    let Some(f) = filter_for(&state, &user, &p).await? else {
        return Ok(axum::Json(CaseList { total: 0, cases: Vec::new() }));
    };
    let (found, total) = cases::list(&state.store, &user.viewer(), &f).await?;
    let now = now_ms();
    let cases = found.iter().map(|c| CaseSummary { overdue: c.overdue(now), case: CaseView::from(c) }).collect();
    Ok(axum::Json(CaseList { total, cases }))
}

/// A case with everything about it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    /// The case.
    #[serde(flatten)]
    pub case: CaseView,
    /// Past a deadline while open.
    pub overdue: bool,
    /// What the caller may do now.
    pub actions: Vec<ActionName>,
    /// Every step, oldest first.
    pub timeline: Vec<Event>,
    /// Numbered documents.
    pub documents: Vec<Document>,
    /// Evidence files uploaded but not yet used by an action.
    pub pending_attachments: Vec<Attachment>,
    /// The rating behind a rating case (the phone masked except for supervisors).
    pub rating: Option<RatingView>,
}

/// Everything about a case, as `user` may see it.
pub(crate) async fn detail(state: &AppState, user: &CurrentUser, case: Case) -> Result<CaseDetail> {
    let timeline = cases::timeline(&state.store, &case.id).await?;
    let documents = register::documents(&state.store, &case.id).await?;
    let pending_attachments = workflow::attachments(&state.store, &cases::apply::TABLES.files(), &case.id)
        .await?
        .into_iter()
        .filter(|a| a.event_id.is_none())
        .collect();
    let rating = match &case.rating_id {
        Some(r) => {
            let reveal = user
                .user
                .role
                .may(crate::domain::permission::Permission::SeeFullPhone)
                .then_some(&state.ratings.sealer);
            crate::store::ratings::get(&state.store, &crate::domain::ids::RatingId::stored(r.clone()), reveal).await?
        }
        None => None,
    };
    let actions = permitted(&facts(&case), user.user.role);
    let (overdue, case) = (case.overdue(now_ms()), CaseView::from(&case));
    Ok(CaseDetail { overdue, actions, timeline, documents, pending_attachments, rating, case })
}

/// One case with its timeline, documents and the actions open to the caller.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = String, Path, description = "Case id")),
    responses((status = 200, body = CaseDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn get_case(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<CaseDetail>> {
    let case = visible_case(&state, &user, &id).await?;
    Ok(axum::Json(detail(&state, &user, case).await?))
}

/// Act on a case: 409 when the state does not allow the action or `version` is stale, 403
/// outside the caller's role or scope, 422 with the fields an action is missing.
#[utoipa::path(post, path = "/cases/{id}/actions", tag = "cases", params(("id" = String, Path, description = "Case id")),
    request_body = ActionRequest,
    responses((status = 200, body = CaseDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn post_action(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ActionRequest>,
) -> Result<axum::Json<CaseDetail>> {
    let case = act(&state, &user, &id, &req).await?;
    Ok(axum::Json(detail(&state, &user, case).await?))
}

/// A case opened by hand.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    /// `inspection`, `enterprise`, `unresolved_window`, `hotline`, `secret_visit` or `open311`
    /// (rating cases open from ratings only).
    pub source: String,
    /// The responsible unit's code.
    pub unit: String,
    /// One line (at most 200 characters).
    pub title: String,
    /// What happened (at most 2000 characters).
    pub description: String,
    /// Category for SLA policies (a–z, 0–9, _; default `general`).
    pub category: Option<String>,
    /// `normal` (default) or `urgent`.
    pub priority: Option<String>,
}

fn slug(v: Option<&str>, default: &str, field: &str, errors: &mut Vec<FieldError>) -> String {
    let v = v.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default);
    if v.len() > 40 || !v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        errors.push(FieldError::new(field, "a–z, 0–9 and _, at most 40 characters"));
    }
    v.to_owned()
}

/// Open a case from another source (inspection finding, enterprise report, 办不成事 window,
/// hotline transfer, secret visit). Inspection and enterprise cases come with a numbered
/// feedback sheet (问题反馈单).
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = CreateCase,
    responses((status = 201, body = CaseDetail), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<CreateCase>,
) -> Result<Response> {
    let mut errors = Vec::new();
    let source = Source::parse(body.source.trim());
    match source {
        None => errors.push(FieldError::new(
            "source",
            "inspection, enterprise, unresolved_window, hotline, secret_visit or open311",
        )),
        Some(Source::Rating) => errors.push(FieldError::new("source", "rating cases open from citizens' ratings only")),
        Some(_) => {}
    }
    let unit = OrgCode::parse(&body.unit).map_err(|e| errors.push(FieldError::new("unit", e.0))).ok();
    let title = body.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 {
        errors.push(FieldError::new("title", "one line of 1 to 200 characters"));
    }
    let description = body.description.trim().to_owned();
    if description.is_empty() || description.chars().count() > MAX_TEXT {
        errors.push(FieldError::new("description", "1 to 2000 characters"));
    }
    let category = slug(body.category.as_deref(), "general", "category", &mut errors);
    let priority = slug(body.priority.as_deref(), "normal", "priority", &mut errors);
    let (Some(source), Some(unit), true) = (source, unit, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    if !source.may_be_filed_by(user.user.role) {
        return Err(Error::Forbidden);
    }
    crate::store::org::get(&state.store, &unit).await?.ok_or_else(|| Error::field("unit", "no such unit"))?;
    user.require_case_unit(&state, &unit).await?;
    let new = NewCase {
        source,
        category,
        priority,
        title,
        description,
        unit_code: unit.as_str().to_owned(),
        rating_id: None,
    };
    let case = cases::open(&state.store, &state.calendar, &new, &user.actor())
        .await?
        .ok_or_else(|| Error::Internal("case not opened".into()))?;
    Ok((StatusCode::CREATED, axum::Json(detail(&state, &user, case).await?)).into_response())
}

/// How an uploaded file is named.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name, as shown in the timeline.
    pub name: Option<String>,
}

/// Checks an evidence file and stores it for `case`.
pub(crate) async fn store_file(
    state: &AppState,
    user: &CurrentUser,
    case: &Case,
    name: &str,
    bytes: &[u8],
) -> Result<Attachment> {
    crate::web::evidence::save_file(state, user, &cases::apply::TABLES.files(), &case.id, Some(name), bytes).await
}

/// Upload an evidence file (JPEG, PNG or PDF, told by content; size limited) as the request
/// body. Name it in an action's `attachments` to tie it to that step.
#[utoipa::path(post, path = "/cases/{id}/attachments", tag = "cases",
    params(("id" = String, Path, description = "Case id"), UploadParams),
    request_body(content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/pdf"))),
    responses((status = 201, body = Attachment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<UploadParams>,
    body: Bytes,
) -> Result<Response> {
    let case = visible_case(&state, &user, &id).await?;
    if case.state == CaseState::Closed {
        return Err(Error::Conflict("the case is closed".into()));
    }
    let a = store_file(&state, &user, &case, p.name.as_deref().unwrap_or_default(), &body).await?;
    Ok((StatusCode::CREATED, axum::Json(a)).into_response())
}

/// Download an evidence file (to those who may see its case).
#[utoipa::path(get, path = "/attachments/{id}", tag = "cases", params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn download(State(state): State<AppState>, user: CurrentUser, ApiPath(id): ApiPath<String>) -> Result<Response> {
    let (a, case_id) =
        workflow::attachment(&state.store, &cases::apply::TABLES.files(), &id).await?.ok_or(Error::NotFound)?;
    visible_case(&state, &user, &case_id).await?;
    crate::web::evidence::serve_file(&state, &a).await
}

/// The office that supervises a subtree's cases.
#[derive(Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Office {
    /// The office's org node.
    pub office: String,
}

/// Route the cases of a subtree to a supervising office (admin). New cases of units below go
/// there; the nearest configured ancestor wins, and without one the unit's region supervises.
#[utoipa::path(put, path = "/org/{code}/case-office", tag = "cases", params(("code" = String, Path, description = "Org code")),
    request_body = Office,
    responses((status = 200, body = Office), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn set_office(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<Office>,
) -> Result<axum::Json<Office>> {
    user.may(crate::domain::permission::Permission::RouteCases)?;
    let code = OrgCode::parse(&code).map_err(|e| Error::field("code", e.0))?;
    crate::store::org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    let office = OrgCode::parse(&body.office).map_err(|e| Error::field("office", e.0))?;
    crate::store::org::get(&state.store, &office).await?.ok_or_else(|| Error::field("office", "no such node"))?;
    cases::set_office(&state.store, &code, &office, &user.actor()).await?;
    Ok(axum::Json(Office { office: office.to_string() }))
}
