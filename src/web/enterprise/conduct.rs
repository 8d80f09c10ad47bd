//! The 政商交往 positive and negative lists: published and versioned (`GET` is public, publishing
//! is for admins and supervisors), a public page (`/conduct`), and a firm's report of a breach,
//! which opens a case with source `enterprise` against the official's unit.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{API, required};
use crate::domain::FieldError;
use crate::domain::case::Source;
use crate::domain::ids::OrgCode;
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::store::enterprise::conduct::{self, ConductList};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, MaybeUser};
use crate::web::error::{ApiJson, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError, local};

/// Both lists, every version, newest first (public: firms and citizens read them).
#[utoipa::path(get, path = "/conduct-lists", tag = "enterprise",
    responses((status = 200, body = Vec<ConductList>)))]
pub(super) async fn list_conduct(State(state): State<AppState>) -> Result<axum::Json<Vec<ConductList>>> {
    Ok(axum::Json(conduct::all(&state.store).await?))
}

/// A new version of a list.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConductRequest {
    /// `positive` or `negative`.
    pub kind: String,
    /// Title as published.
    pub title: String,
    /// The rules, one per entry (1 to 100).
    pub rules: Vec<String>,
}

/// Publish a new version of the positive or negative list (admins and supervisors); the older
/// versions stay readable.
#[utoipa::path(post, path = "/conduct-lists", tag = "enterprise", request_body = ConductRequest,
    responses((status = 201, body = ConductList), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn publish_conduct(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<ConductRequest>,
) -> Result<Response> {
    user.may(Permission::ManageProjects)?;
    let mut errors = Vec::new();
    let kind = r.kind.trim();
    if !matches!(kind, "positive" | "negative") {
        errors.push(FieldError::new("kind", format!("{} positive, negative", API.t("ent.err.one_of"))));
    }
    let title = required(&mut errors, API, "title", &r.title, 200);
    let rules: Vec<String> = r.rules.iter().map(|l| l.trim().replace('\n', " ")).filter(|l| !l.is_empty()).collect();
    if rules.is_empty() || rules.len() > 100 || rules.iter().any(|l| l.chars().count() > 500) {
        errors.push(FieldError::new("rules", API.t("ent.err.rules")));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let list = conduct::publish(&state.store, kind, &title, &rules, &user.actor()).await?;
    Ok((StatusCode::CREATED, axum::Json(list)).into_response())
}

/// A firm's report of a breach.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BreachRequest {
    /// The official's unit (an org code).
    pub unit: String,
    /// The rule of the negative list that was broken, as published.
    pub rule: String,
    /// What happened: when, where, who.
    pub description: String,
}

/// A breach reported.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BreachReported {
    /// The case opened (source `enterprise`), which the firm follows at `/cases/{id}`.
    pub case_id: String,
}

/// Opens the case of a breach reported by `user`.
pub async fn report_breach(state: &AppState, user: &CurrentUser, r: &BreachRequest, tr: Tr) -> Result<String> {
    if user.user.role != Role::Enterprise {
        return Err(Error::Forbidden);
    }
    let mut errors = Vec::new();
    let unit = OrgCode::parse(&r.unit).map_err(|_| errors.push(FieldError::new("unit", tr.t("ent.err.unit")))).ok();
    if let Some(u) = &unit
        && crate::store::org::get(&state.store, u).await?.is_none()
    {
        errors.push(FieldError::new("unit", tr.t("ent.err.unit")));
    }
    let description = required(&mut errors, tr, "description", &r.description, 2000);
    let negative: Vec<String> = conduct::all(&state.store)
        .await?
        .into_iter()
        .find(|l| l.kind == "negative")
        .map(|l| l.rules)
        .unwrap_or_default();
    let rule = r.rule.trim().to_owned();
    if !negative.contains(&rule) {
        errors.push(FieldError::new("rule", tr.t("ent.err.rule")));
    }
    let (Some(unit), true) = (unit, errors.is_empty()) else { return Err(Error::Validation(errors)) };
    let title: String = format!("违反政商交往负面清单：{rule}").chars().take(200).collect();
    let new = crate::store::cases::NewCase {
        source: Source::Enterprise,
        category: "conduct_breach".into(),
        priority: "high".into(),
        title,
        description,
        unit_code: unit.as_str().to_owned(),
        rating_id: None,
    };
    let case = crate::store::cases::open(&state.store, &state.calendar, &new, &user.actor())
        .await?
        .ok_or_else(|| Error::Internal("case not opened".into()))?;
    Ok(case.id)
}

/// Report a breach of the negative list (a firm's users): it opens a case with source
/// `enterprise` against the official's unit, followed like any other case.
#[utoipa::path(post, path = "/conduct-breaches", tag = "enterprise", request_body = BreachRequest,
    responses((status = 201, body = BreachReported), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn post_breach(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<BreachRequest>,
) -> Result<Response> {
    let case_id = report_breach(&state, &user, &r, API).await?;
    Ok((StatusCode::CREATED, axum::Json(BreachReported { case_id })).into_response())
}

#[derive(Template)]
#[template(path = "conduct.html")]
struct ConductPage {
    tr: Tr,
    nav: Nav,
    current: Vec<(ConductList, String)>,
    older: Vec<(ConductList, String)>,
    firm: bool,
    csrf: String,
    negative: Vec<String>,
    errors: Vec<String>,
    typed: BreachRequest,
}

async fn render(
    state: &AppState,
    tr: Tr,
    user: Option<&CurrentUser>,
    errors: Vec<String>,
    typed: BreachRequest,
) -> Result<ConductPage> {
    let all = conduct::all(&state.store).await?;
    let mut current = Vec::new();
    let mut older = Vec::new();
    for l in all {
        let at = local(l.published_at);
        if current.iter().any(|(c, _): &(ConductList, String)| c.kind == l.kind) {
            older.push((l, at));
        } else {
            current.push((l, at));
        }
    }
    let negative = current.iter().find(|(l, _)| l.kind == "negative").map(|(l, _)| l.rules.clone()).unwrap_or_default();
    Ok(ConductPage {
        nav: Nav::new(user, "/conduct"),
        firm: user.is_some_and(|u| u.user.role == Role::Enterprise),
        csrf: user.map(|u| u.csrf().to_owned()).unwrap_or_default(),
        current,
        older,
        negative,
        errors,
        typed,
        tr,
    })
}

/// The public page of both lists, and a firm's breach form.
pub(super) async fn conduct_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    MaybeUser(user): MaybeUser,
) -> std::result::Result<Response, PageError> {
    Ok(Page(render(&state, Tr { locale }, user.as_ref(), Vec::new(), BreachRequest::default()).await?).into_response())
}

/// The breach form: the case it opens, or the form again with the errors and what was typed.
pub(super) async fn breach_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    crate::web::auth::PageUser(user): crate::web::auth::PageUser,
    axum::Form(r): axum::Form<BreachRequest>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    match report_breach(&state, &user, &r, tr).await {
        Ok(id) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(e @ (Error::Forbidden | Error::NotFound | Error::Internal(_) | Error::Store(_) | Error::Unavailable)) => {
            Err(PageError(e))
        }
        Err(e) => {
            let (status, errors) = (e.status(), e.page_messages());
            Ok((status, Page(render(&state, tr, Some(&user), errors, r).await?)).into_response())
        }
    }
}
