//! Inspection plans: a team writes a plan (targets, scope, window, mode, checklist) before it
//! visits; visits made under it use its checklist. A secret plan, like its visits, is seen only
//! by the team and the city. Pages: `/plans`, `/plans/{id}`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::items::{self, API};
use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::inspection::{DEFAULT_CHECKLIST, Mode};
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::store::inspection::{self, NewPlan, Plan, Visit};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiJson, ApiPath, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError, local};

/// A plan to write.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PlanRequest {
    /// What it inspects.
    pub title: String,
    /// `open` (明察) or `secret` (暗访).
    pub mode: String,
    /// The subtree it covers (within the team's stations).
    pub scope: String,
    /// Targets: which halls, which services.
    pub targets: String,
    /// First day, YYYY-MM-DD.
    pub starts_on: String,
    /// Last day, YYYY-MM-DD (not before the first, at most a year on).
    pub ends_on: String,
    /// The checklist's keys (the default checklist's if left out).
    pub checklist: Option<Vec<String>>,
}

/// A plan and the visits made under it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PlanDetail {
    /// The plan.
    pub plan: Plan,
    /// Its visits, newest first.
    pub visits: Vec<Visit>,
}

async fn checked(state: &AppState, user: &CurrentUser, r: &PlanRequest, tr: Tr) -> Result<NewPlan> {
    user.may(Permission::Inspect)?;
    let team_code = super::my_teams(state, user).await?.into_iter().next().ok_or(Error::Forbidden)?;
    let mut errors = Vec::new();
    let title = items::required(&mut errors, tr, "title", &r.title, 200);
    let targets = items::required(&mut errors, tr, "targets", &r.targets, items::MAX_TEXT);
    let mode = Mode::parse(r.mode.trim());
    if mode.is_none() {
        errors.push(FieldError::new("mode", tr.t("ledger.err.mode")));
    }
    let day = |v: &str| chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
    let (from, to) = (day(&r.starts_on), day(&r.ends_on));
    if from.is_none() {
        errors.push(FieldError::new("starts_on", tr.t("ledger.err.date")));
    }
    match (from, to) {
        (_, None) => errors.push(FieldError::new("ends_on", tr.t("ledger.err.date"))),
        (Some(f), Some(t)) if t < f || (t - f).num_days() > 366 => {
            errors.push(FieldError::new("ends_on", tr.t("ledger.err.window")));
        }
        _ => {}
    }
    let checklist: Vec<String> = match &r.checklist {
        Some(keys) if !keys.is_empty() => keys.iter().map(|k| k.trim().to_owned()).collect(),
        _ => DEFAULT_CHECKLIST.iter().map(|(k, _)| (*k).to_owned()).collect(),
    };
    for k in &checklist {
        if !DEFAULT_CHECKLIST.iter().any(|(d, _)| d == k) {
            errors.push(FieldError::new("checklist", format!("{}: {k}", tr.t("ledger.err.check"))));
        }
    }
    let scope = match OrgCode::parse(r.scope.trim()) {
        Ok(c) if crate::store::org::get(&state.store, &c).await?.is_some() => Some(c),
        _ => {
            errors.push(FieldError::new("scope", format!("{}: {}", tr.t("ledger.err.no_unit"), r.scope.trim())));
            None
        }
    };
    let (Some(mode), Some(scope), true) = (mode, scope, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    user.require_scope(state, &scope).await?;
    let team = crate::store::teams::get(&state.store, &team_code).await?.ok_or(Error::Forbidden)?;
    let leader = team.members.first().map_or_else(|| user.user.display_name.clone(), |m| m.name.clone());
    Ok(NewPlan {
        team_code,
        title,
        mode,
        scope_code: scope.as_str().to_owned(),
        targets,
        leader,
        starts_on: r.starts_on.trim().to_owned(),
        ends_on: r.ends_on.trim().to_owned(),
        checklist,
    })
}

/// Loads a plan the caller may see: its team, the city, and for an open plan anyone whose scope
/// covers it; otherwise 404 (a secret plan does not exist for anyone else).
pub(crate) async fn visible_plan(state: &AppState, user: &CurrentUser, id: &str) -> Result<Plan> {
    user.may(Permission::ReadLedger)?;
    let plan = inspection::plan(&state.store, id).await?.ok_or(Error::NotFound)?;
    let scope = OrgCode::parse(&plan.scope_code).map_err(|e| Error::Internal(e.0))?;
    let who = crate::domain::inspection::Onlooker {
        in_team: super::my_teams(state, user).await?.contains(&plan.team_code),
        in_scope: crate::store::org::within(&state.store, &scope, &user.user.scopes).await?,
        city_wide: super::city_wide(state, user).await? && matches!(user.user.role, Role::Admin | Role::Supervisor),
    };
    if crate::domain::inspection::visible(plan.mode == Mode::Secret, who) { Ok(plan) } else { Err(Error::NotFound) }
}

/// The plans the caller may see.
pub(crate) async fn plans_for(state: &AppState, user: &CurrentUser) -> Result<Vec<Plan>> {
    user.may(Permission::ReadLedger)?;
    let teams = super::my_teams(state, user).await?;
    let scopes: Vec<String> = user.user.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let city = super::city_wide(state, user).await? && matches!(user.user.role, Role::Admin | Role::Supervisor);
    Ok(inspection::plans(&state.store, &teams, &scopes, city, 200).await?)
}

/// The plans the caller may see: their team's, open plans in their scope, all for the city.
#[utoipa::path(get, path = "/plans", tag = "supervision",
    responses((status = 200, body = Vec<Plan>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_plans(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<Plan>>> {
    Ok(axum::Json(plans_for(&state, &user).await?))
}

/// Write an inspection plan (inspectors, within the team's stations; the team leader is named).
#[utoipa::path(post, path = "/plans", tag = "supervision", request_body = PlanRequest,
    responses((status = 201, body = Plan), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn create_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<PlanRequest>,
) -> Result<Response> {
    let new = checked(&state, &user, &r, API).await?;
    let plan = inspection::write_plan(&state.store, &new, &user.actor()).await?;
    Ok((StatusCode::CREATED, axum::Json(plan)).into_response())
}

/// One plan and its visits (404 to anyone outside the team for a secret plan).
#[utoipa::path(get, path = "/plans/{id}", tag = "supervision", params(("id" = String, Path, description = "Plan id")),
    responses((status = 200, body = PlanDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn get_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<PlanDetail>> {
    let plan = visible_plan(&state, &user, &id).await?;
    let visits = visits_seen(&state, &user, &plan).await?;
    Ok(axum::Json(PlanDetail { plan, visits }))
}

/// The plan's visits the caller may see (sealed ones only by the team and the city).
async fn visits_seen(state: &AppState, user: &CurrentUser, plan: &Plan) -> Result<Vec<Visit>> {
    let mut out = Vec::new();
    for v in inspection::visits_of_plan(&state.store, &plan.id).await? {
        if super::visible_visit(state, user, &v.id).await.is_ok() {
            out.push(v);
        }
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    plans: Vec<Plan>,
    writes: bool,
    errors: Vec<String>,
    form: PlanRequest,
}

async fn render(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    errors: Vec<String>,
    form: PlanRequest,
) -> Result<PlansPage> {
    Ok(PlansPage {
        nav: Nav::new(Some(user), "/plans"),
        csrf: user.csrf().to_owned(),
        plans: plans_for(state, user).await?,
        writes: user.user.role.may(Permission::Inspect),
        errors,
        form,
        tr,
    })
}

/// `/plans`.
pub(super) async fn list_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
) -> std::result::Result<Response, PageError> {
    let form = PlanRequest { mode: "open".into(), ..Default::default() };
    Ok(Page(render(&state, Tr { locale }, &user, Vec::new(), form).await?).into_response())
}

/// `POST /plans`.
pub(super) async fn create_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let form = PlanRequest {
        title: get("title"),
        mode: get("mode"),
        scope: get("scope"),
        targets: get("targets"),
        starts_on: get("starts_on"),
        ends_on: get("ends_on"),
        checklist: None,
    };
    let result = async {
        let new = checked(&state, &user, &form, tr).await?;
        Ok::<_, Error>(inspection::write_plan(&state.store, &new, &user.actor()).await?)
    }
    .await;
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/plans/{}", p.id)).into_response()),
        Err(e) => {
            let (status, errors) = super::page::kept(e)?;
            Ok((status, Page(render(&state, tr, &user, errors, form).await?)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    tr: Tr,
    nav: Nav,
    plan: Plan,
    visits: Vec<(Visit, String)>,
    own: bool,
    checks: Vec<String>,
}

/// `/plans/{id}`.
pub(super) async fn plan_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let plan = visible_plan(&state, &user, &id).await?;
    let visits = visits_seen(&state, &user, &plan).await?.into_iter().map(|v| {
        let at = local(v.visited_at);
        (v, at)
    });
    let checks = plan
        .checklist
        .iter()
        .map(|k| {
            if tr.locale == crate::i18n::Locale::ZhCn {
                crate::domain::inspection::check_label(k).to_owned()
            } else {
                tr.t(&format!("check.{k}")).to_owned()
            }
        })
        .collect();
    let own = super::my_teams(&state, &user).await?.contains(&plan.team_code);
    let page = PlanPage {
        nav: Nav::new(Some(&user), &format!("/plans/{id}")),
        visits: visits.collect(),
        own,
        checks,
        plan,
        tr,
    };
    Ok(Page(page).into_response())
}
