//! The project channel and the desk's API: read and post messages (a firm's problem opens a
//! desk request; a cadre converts a firm's message into one), upload and download the
//! channel's files, list and read requests, act on them. Checked in the case loop's order: the
//! request exists and the caller sees it (404), the role owns the action (403), the details are
//! valid (422), the version is current and the state allows it (409).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::projects::visible as visible_project;
use super::{API, firm_of, required, viewer};
use crate::domain::FieldError;
use crate::domain::enterprise::desk::{Action, MAX_PLAN_DAYS, Refusal, State as RequestState, transition};
use crate::domain::ids::OrgCode;
use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::store::enterprise::channel::{self, FILES, Message};
use crate::store::enterprise::desk::{self as store_desk, ApplyError, Author, Details, Post, ProjectRef, Request};
use crate::store::enterprise::projects::{self, ProjectDetail};
use crate::store::now_ms;
use crate::store::workflow::{self, Attachment};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiPath, ApiQuery, Error, ErrorBody, Result};

/// Longest message or note, in characters.
pub const MAX_TEXT: usize = 2000;

/// Messages a page of the channel holds.
pub const PAGE: i64 = 200;

/// Whether `role` speaks for the project's side in its channel (the firm speaks for itself).
fn cadre(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Supervisor | Role::UnitHead | Role::Staff)
}

/// The project's reference for the desk.
pub fn project_ref(p: &ProjectDetail) -> ProjectRef {
    ProjectRef {
        id: p.project.id.clone(),
        park_code: p.project.park_code.clone(),
        unit_code: p.project.unit_code.clone(),
    }
}

/// Which messages to read.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageParams {
    /// Only messages after this position (0: from the start; absent: the latest 200).
    pub after: Option<i64>,
}

/// The channel's messages, oldest first, with their files and the requests they raised.
#[utoipa::path(get, path = "/projects/{code}/messages", tag = "enterprise",
    params(("code" = String, Path, description = "Project code"), MessageParams),
    responses((status = 200, body = Vec<Message>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_messages(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiQuery(p): ApiQuery<MessageParams>,
) -> Result<axum::Json<Vec<Message>>> {
    let project = super::projects::reference(&state, &user, &code).await?;
    let id = &project.id;
    let messages = match p.after {
        Some(after) if after < 0 => return Err(Error::field("after", API.t("ent.err.after"))),
        Some(after) => channel::since(state.store.pool(), id, after, PAGE).await?,
        None => channel::latest(state.store.pool(), id, PAGE).await?,
    };
    Ok(axum::Json(messages))
}

/// A message to post.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MessageRequest {
    /// The text (up to 2,000 characters).
    pub body: String,
    /// A firm's user: this message is a problem for the desk (opens a request, starting its
    /// reply clock now).
    pub problem: bool,
    /// The problem's one-line title (a problem; a conversion).
    pub title: Option<String>,
    /// A cadre: open a request from this earlier message of the firm (its clock counts from
    /// that message).
    pub raise_from: Option<String>,
    /// Files uploaded to the project (`POST /projects/{code}/files`), posted with it.
    pub attachments: Vec<String>,
}

/// What a post made.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Posted {
    /// The message posted (none for a conversion).
    pub message_id: Option<String>,
    /// The request opened, if any.
    pub request: Option<Request>,
}

/// The author of a post or an action.
pub fn author<'a>(user: &'a CurrentUser, actor: &'a crate::store::audit::Actor) -> Author<'a> {
    Author { actor, role: user.user.role, name: &user.user.display_name }
}

/// Posts `r` in project `code`'s channel for `user`.
pub async fn post(state: &AppState, user: &CurrentUser, code: &str, r: &MessageRequest, tr: Tr) -> Result<Posted> {
    let p = super::projects::reference(state, user, code).await?;
    let role = user.user.role;
    if role != Role::Enterprise && !cadre(role) {
        return Err(Error::Forbidden);
    }
    let mut errors = Vec::new();
    let title = r.title.as_deref().map(str::trim).unwrap_or_default();
    let actor = user.actor();
    let who = author(user, &actor);
    if let Some(message) = r.raise_from.as_deref() {
        if !cadre(role) {
            return Err(Error::Forbidden);
        }
        let title = required(&mut errors, tr, "title", title, 200);
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let id = store_desk::convert(&state.store, &state.calendar, &p, message.trim(), &title, &who)
            .await
            .map_err(applied)?
            .ok_or_else(|| Error::field("raise_from", tr.t("ent.err.raise_from")))?;
        let request = store_desk::get(&state.store, &id).await?;
        return Ok(Posted { message_id: None, request });
    }
    let body = required(&mut errors, tr, "body", &r.body, MAX_TEXT);
    let firm = firm_of(state, user).await?;
    let problem = if r.problem {
        if role != Role::Enterprise {
            errors.push(FieldError::new("problem", tr.t("ent.err.problem_firm")));
        }
        let title = required(&mut errors, tr, "title", title, 200);
        Some(title)
    } else {
        None
    };
    if r.attachments.len() > 10 {
        errors.push(FieldError::new("attachments", tr.t("ent.err.too_many")));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let firm = firm.unwrap_or_default();
    let post = Post { body: &body, files: &r.attachments, problem: problem.as_deref().map(|t| (t, firm.as_str())) };
    let (message, request) =
        store_desk::post(&state.store, &state.calendar, &p, &who, &post, now_ms()).await.map_err(applied)?;
    let request = match request {
        Some(id) => store_desk::get(&state.store, &id).await?,
        None => None,
    };
    Ok(Posted { message_id: Some(message), request })
}

/// Post in a project's channel: the firm's users and the project's cadres. A firm's user marks
/// a problem (`problem`, `title`) to open a desk request, whose 10-minute reply clock starts at
/// the posting; a cadre converts a firm's earlier message with `raise_from`.
#[utoipa::path(post, path = "/projects/{code}/messages", tag = "enterprise",
    params(("code" = String, Path, description = "Project code")), request_body = MessageRequest,
    responses((status = 201, body = Posted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn post_message(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(r): ApiJson<MessageRequest>,
) -> Result<Response> {
    let posted = post(&state, &user, &code, &r, API).await?;
    Ok((StatusCode::CREATED, axum::Json(posted)).into_response())
}

/// Upload a photo or file for the channel (JPEG, PNG or PDF, told by content), then name it in
/// a message's `attachments`.
#[utoipa::path(post, path = "/projects/{code}/files", tag = "enterprise",
    params(("code" = String, Path, description = "Project code"), crate::web::cases::UploadParams),
    request_body(content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/pdf"))),
    responses((status = 201, body = Attachment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn upload_project_file(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiQuery(p): ApiQuery<crate::web::cases::UploadParams>,
    body: Bytes,
) -> Result<Response> {
    let project = visible_project(&state, &user, &code).await?;
    if user.user.role != Role::Enterprise && !cadre(user.user.role) {
        return Err(Error::Forbidden);
    }
    let a =
        crate::web::evidence::save_file(&state, &user, &FILES, &project.project.id, p.name.as_deref(), &body).await?;
    Ok((StatusCode::CREATED, axum::Json(a)).into_response())
}

/// Download a project's file (to those who see the project).
#[utoipa::path(get, path = "/project-files/{id}", tag = "enterprise", params(("id" = String, Path, description = "File id")),
    responses((status = 200, description = "The file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn download_project_file(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let (a, project) = workflow::attachment(&state.store, &FILES, &id).await?.ok_or(Error::NotFound)?;
    let code = projects::code_of(&state.store, &project).await?.ok_or(Error::NotFound)?;
    super::projects::reference(&state, &user, &code).await?;
    crate::web::evidence::serve_file(&state, &a).await
}

/// Which requests to list.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestParams {
    /// Only this project's (its code).
    pub project: Option<String>,
    /// Only this state: `posted`, `replied`, `planning`, `solving`, `ruling`, `resolved`,
    /// `confirmed`, `withdrawn`; or `open` for every state not yet over.
    pub state: Option<String>,
    /// Only open requests past their clock.
    pub overdue: Option<bool>,
    /// Only withdrawals not yet checked.
    pub unchecked_withdrawals: Option<bool>,
    /// Page (from 1).
    pub page: Option<i64>,
}

/// A page of requests.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RequestPage {
    /// Open ones first, the nearest clock first.
    pub requests: Vec<Request>,
    /// How many match in all.
    pub total: i64,
    /// This page (from 1).
    pub page: i64,
    /// Per page.
    pub per_page: i64,
}

/// Requests per page.
pub const PER_PAGE: i64 = 50;

/// The requests `p` selects for `user`.
pub async fn list_for(state: &AppState, user: &CurrentUser, p: &RequestParams, tr: Tr) -> Result<RequestPage> {
    let firm = firm_of(state, user).await?;
    if user.user.role != Role::Enterprise {
        user.may(crate::domain::permission::Permission::ReadProjects)?;
    }
    let mut errors = Vec::new();
    let mut f = store_desk::Filter { limit: PER_PAGE, ..Default::default() };
    match p.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {}
        Some("open") => f.states = RequestState::ALL.into_iter().filter(|s| !s.closed()).collect(),
        Some(s) => match RequestState::parse(s) {
            Some(s) => f.states = vec![s],
            None => errors.push(FieldError::new(
                "state",
                format!(
                    "{} open, posted, replied, planning, solving, ruling, resolved, confirmed, withdrawn",
                    tr.t("ent.err.one_of")
                ),
            )),
        },
    }
    if p.overdue.unwrap_or(false) {
        f.overdue_at = Some(now_ms());
    }
    f.unchecked_withdrawals = p.unchecked_withdrawals.unwrap_or(false);
    let page = p.page.unwrap_or(1);
    if !(1..=10_000).contains(&page) {
        errors.push(FieldError::new("page", tr.t("ent.err.page")));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if let Some(code) = p.project.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let project = projects::id_of(&state.store, &viewer(user, &firm), code).await?;
        f.project = Some(project.ok_or_else(|| Error::field("project", tr.t("ent.err.project")))?);
    }
    f.offset = (page - 1) * PER_PAGE;
    let (requests, total) = store_desk::list(&state.store, &viewer(user, &firm), &f).await?;
    Ok(RequestPage { requests, total, page, per_page: PER_PAGE })
}

/// Desk requests the caller sees (a firm's user: its own), open ones first by the nearest clock.
#[utoipa::path(get, path = "/desk-requests", tag = "enterprise", params(RequestParams),
    responses((status = 200, body = RequestPage), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_requests(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<RequestParams>,
) -> Result<axum::Json<RequestPage>> {
    Ok(axum::Json(list_for(&state, &user, &p, API).await?))
}

/// Request `id` as `user` sees it, or 404.
pub async fn visible(state: &AppState, user: &CurrentUser, id: &str) -> Result<Request> {
    let firm = firm_of(state, user).await?;
    if user.user.role != Role::Enterprise {
        user.may(crate::domain::permission::Permission::ReadProjects)?;
    }
    let r = store_desk::get(&state.store, id).await?.ok_or(Error::NotFound)?;
    if !store_desk::visible(&state.store, &viewer(user, &firm), &r).await? {
        return Err(Error::NotFound);
    }
    Ok(r)
}

/// A request with its timeline and the actions open to the caller.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RequestDetail {
    /// The request.
    #[serde(flatten)]
    pub request: Request,
    /// What happened, oldest first.
    pub timeline: Vec<crate::store::workflow::Event>,
    /// Actions the caller may take now.
    pub actions: Vec<String>,
    /// Numbered documents (solution plans): number and the timeline entry they came with.
    pub documents: Vec<(String, Option<String>)>,
}

/// The actions `role` may take on `r` now.
pub fn actions_for(r: &Request, role: Role, facts: &crate::domain::enterprise::desk::Facts) -> Vec<String> {
    ACTIONS
        .iter()
        .filter(|name| {
            let Some(action) = sample(name) else { return false };
            transition(facts, action, role).is_ok()
        })
        .filter(|_| !r.state.closed() || matches!(r.state, RequestState::Withdrawn))
        .map(|s| (*s).to_owned())
        .collect()
}

/// The actions, by name.
pub const ACTIONS: [&str; 11] = [
    "reply",
    "mark_complex",
    "submit_plan",
    "resolve",
    "confirm",
    "reject",
    "withdraw",
    "hand_over",
    "rule",
    "check_withdrawal",
    "escalate",
];

/// An action of this name with valid details, to ask the machine whether it is open.
fn sample(name: &str) -> Option<Action> {
    Some(match name {
        "reply" => Action::Reply,
        "mark_complex" => Action::MarkComplex,
        "submit_plan" => Action::SubmitPlan { days: 1 },
        "resolve" => Action::Resolve,
        "confirm" => Action::Confirm { rating: 5 },
        "reject" => Action::Reject,
        "withdraw" => Action::Withdraw,
        "hand_over" => Action::HandOver { basis: true },
        "rule" => Action::Rule,
        "check_withdrawal" => Action::CheckWithdrawal { pressed: false },
        "escalate" => Action::Escalate,
        _ => return None,
    })
}

/// `r` with its timeline and the actions open to `user`.
pub async fn detail(state: &AppState, user: &CurrentUser, r: Request) -> Result<RequestDetail> {
    let timeline = crate::store::workflow::timeline(&state.store, &store_desk::TABLES, &r.id).await?;
    let facts = store_desk::facts(&state.store, &r, &user.actor().name, now_ms()).await?;
    let actions = actions_for(&r, user.user.role, &facts);
    let documents = store_desk::documents(&state.store, &r.id).await?;
    Ok(RequestDetail { request: r, timeline, actions, documents })
}

/// One desk request with its timeline and the caller's actions.
#[utoipa::path(get, path = "/desk-requests/{id}", tag = "enterprise", params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn get_request(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<RequestDetail>> {
    let r = visible(&state, &user, &id).await?;
    Ok(axum::Json(detail(&state, &user, r).await?))
}

/// An action on a request.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = DeskAction)]
pub struct RequestAction {
    /// `reply`, `mark_complex`, `submit_plan`, `resolve`, `confirm`, `reject`, `withdraw`,
    /// `hand_over`, `rule`, `check_withdrawal` or `escalate`.
    pub action: String,
    /// The request's version as the caller read it; a different current version answers 409.
    pub version: Option<i64>,
    /// The reply, the plan, the fix, the legal basis of a hand-over, the reason for a
    /// rejection, withdrawal or ruling, what the firm said when asked: required except for
    /// mark_complex, confirm and escalate. Posted in the channel.
    pub note: String,
    /// submit_plan: working days to the fix (1–60).
    pub days: Option<u32>,
    /// confirm: the firm's rating, 1 (very dissatisfied) to 5 (very satisfied).
    pub rating: Option<u8>,
    /// check_withdrawal: the firm says it was pressed to withdraw.
    pub pressed: Option<bool>,
    /// hand_over, rule: the unit that takes the request (an org code).
    pub unit: Option<String>,
    /// Files uploaded to the project, posted with the note.
    pub attachments: Vec<String>,
}

impl RequestAction {
    /// Parses the request into the domain's action and its details; every bad field is listed.
    pub fn parse(&self, tr: Tr) -> std::result::Result<(Action, Details), Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.action.trim();
        let note: String = self.note.trim().to_owned();
        if note.chars().count() > MAX_TEXT {
            errors.push(FieldError::new("note", format!("{} ({MAX_TEXT})", tr.t("ent.err.too_long"))));
        }
        if note.is_empty() && !matches!(name, "mark_complex" | "confirm" | "escalate") {
            errors.push(FieldError::new(
                "note",
                tr.t(if name == "hand_over" { "ent.err.basis" } else { "ent.err.note" }),
            ));
        }
        let unit = match self.unit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(u) => match OrgCode::parse(u) {
                Ok(c) => Some(c),
                Err(_) => {
                    errors.push(FieldError::new("unit", tr.t("ent.err.unit")));
                    None
                }
            },
            None => None,
        };
        if matches!(name, "hand_over") && unit.is_none() && self.unit.is_none() {
            errors.push(FieldError::new("unit", tr.t("ent.err.unit")));
        }
        let action = match name {
            "reply" => Action::Reply,
            "mark_complex" => Action::MarkComplex,
            "submit_plan" => match self.days {
                Some(d) if (1..=MAX_PLAN_DAYS).contains(&d) => Action::SubmitPlan { days: d },
                _ => {
                    errors.push(FieldError::new("days", tr.t("ent.err.plan_days")));
                    Action::SubmitPlan { days: 1 }
                }
            },
            "resolve" => Action::Resolve,
            "confirm" => match self.rating {
                Some(r) if (1..=5).contains(&r) => Action::Confirm { rating: r },
                _ => {
                    errors.push(FieldError::new("rating", tr.t("ent.err.rating")));
                    Action::Confirm { rating: 5 }
                }
            },
            "reject" => Action::Reject,
            "withdraw" => Action::Withdraw,
            "hand_over" => Action::HandOver { basis: !note.is_empty() },
            "rule" => Action::Rule,
            "check_withdrawal" => match self.pressed {
                Some(pressed) => Action::CheckWithdrawal { pressed },
                None => {
                    errors.push(FieldError::new("pressed", tr.t("ent.err.pressed")));
                    Action::CheckWithdrawal { pressed: false }
                }
            },
            "escalate" => Action::Escalate,
            _ => {
                return Err(vec![FieldError::new(
                    "action",
                    format!("{} {}", tr.t("ent.err.one_of"), ACTIONS.join(", ")),
                )]);
            }
        };
        if self.attachments.len() > 10 {
            errors.push(FieldError::new("attachments", tr.t("ent.err.too_many")));
        }
        if errors.is_empty() {
            Ok((action, Details { note, unit, attachments: self.attachments.clone() }))
        } else {
            Err(errors)
        }
    }
}

/// A refusal of the machine as an HTTP error, its message in `tr`'s language.
pub fn refused(r: Refusal, tr: Tr) -> Error {
    let key = match r {
        Refusal::WrongRole => return Error::Forbidden,
        Refusal::WrongState { .. } => "ent.refusal.state",
        Refusal::HandOverTooLate => "ent.refusal.handover_late",
        Refusal::AlreadyChecked => "ent.refusal.checked",
        Refusal::NotOverdue => "ent.refusal.not_overdue",
        Refusal::AlreadyEscalated => "ent.refusal.escalated",
        Refusal::BasisRequired => return Error::field("note", tr.t("ent.err.basis")),
        Refusal::RatingOutOfRange => return Error::field("rating", tr.t("ent.err.rating")),
        Refusal::DaysOutOfRange => return Error::field("days", tr.t("ent.err.plan_days")),
        Refusal::CheckerHandled => return Error::field("actor", tr.t("ent.refusal.checker")),
    };
    Error::Conflict(tr.t(key).to_owned())
}

/// A store refusal as an HTTP error.
pub fn applied(e: ApplyError) -> Error {
    match e {
        stale @ ApplyError::Stale(_) => Error::Conflict(stale.to_string()),
        ApplyError::Invalid(fields) => Error::Validation(fields),
        ApplyError::Store(s) => s.into(),
    }
}

/// Applies one action for `user`; returns the request after it.
pub async fn act(state: &AppState, user: &CurrentUser, id: &str, req: &RequestAction, tr: Tr) -> Result<Request> {
    let r = visible(state, user, id).await?;
    let role = user.user.role;
    let (action, details) = req.parse(tr).map_err(Error::Validation)?;
    if !action.owners().contains(&role) {
        return Err(Error::Forbidden);
    }
    if let Some(v) = req.version
        && v != r.version
    {
        return Err(Error::Conflict(format!(
            "the request is at version {}, not {v}: someone changed it; reload it and try again",
            r.version
        )));
    }
    let actor = user.actor();
    let facts = store_desk::facts(&state.store, &r, &actor.name, now_ms()).await?;
    let t = transition(&facts, action, role).map_err(|e| refused(e, tr))?;
    store_desk::apply(&state.store, &state.calendar, &r, t, &details, &author(user, &actor)).await.map_err(applied)
}

/// Act on a desk request. The firm confirms (with a rating), rejects or withdraws; the desk's
/// cadres reply, mark it complex, submit the solution plan, resolve it, hand it over (once,
/// within the limit, with the legal basis; a second hand-over goes to a ruling); supervisors
/// rule, check withdrawals (not having handled the request) and make an overdue request a
/// supervision item. Refusals: 403 (role, scope), 422 (details), 409 (state, version, limits).
#[utoipa::path(post, path = "/desk-requests/{id}/actions", tag = "enterprise", params(("id" = String, Path, description = "Request id")),
    request_body = RequestAction,
    responses((status = 200, body = RequestDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn act_on_request(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(r): ApiJson<RequestAction>,
) -> Result<axum::Json<RequestDetail>> {
    let request = act(&state, &user, &id, &r, API).await?;
    Ok(axum::Json(detail(&state, &user, request).await?))
}
