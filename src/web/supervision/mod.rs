//! Inspection teams and the supervision ledger (docs/supervision.md): teams and their stations,
//! visits (a secret one sealed until its findings are issued), feedback sheets that issue
//! findings as items, and the items (in `items`). The pages are in `page`.

pub mod items;
pub mod meetings;
pub mod page;
pub mod plans;
pub mod report;
pub mod requests;
pub mod settings;
pub mod transfer;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::inspection::{DEFAULT_CHECKLIST, Mode, Onlooker, visible};
use crate::domain::item::Level;
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::store::inspection::{self, Check, Finding, NewVisit, Sheet, VISIT_FILES, Visit};
use crate::store::teams::{self, Station, Team};
use crate::store::workflow::{self, Attachment};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiPath, ApiQuery, Error, ErrorBody, Result};

/// The API: teams, visits, sheets, items.
pub fn api(config: &Config) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload_visit_file))
        .routes(routes!(items::upload_item_file))
        .layer(DefaultBodyLimit::max(config.max_attachment_bytes.saturating_add(64 * 1024)));
    let imports = OpenApiRouter::new()
        .routes(routes!(transfer::import_items))
        .layer(DefaultBodyLimit::max(config.max_import_bytes));
    OpenApiRouter::new()
        .merge(uploads)
        .merge(imports)
        .routes(routes!(transfer::export_items))
        .routes(routes!(list_teams))
        .routes(routes!(rotate_team))
        .routes(routes!(team_history))
        .routes(routes!(list_visits, record_visit))
        .routes(routes!(get_visit))
        .routes(routes!(download_visit_file))
        .routes(routes!(issue_sheet))
        .routes(routes!(get_sheet))
        .routes(routes!(sign_sheet))
        .routes(routes!(burden))
        .routes(routes!(items::list_items, items::create_item))
        .routes(routes!(items::get_item))
        .routes(routes!(items::act_on_item))
        .routes(routes!(items::download_item_file))
        .routes(routes!(items::post_milestone))
        .routes(routes!(items::post_reached))
        .routes(routes!(meetings::list_meetings, meetings::create_meeting))
        .routes(routes!(meetings::get_meeting))
        .routes(routes!(meetings::issue_minutes))
        .routes(routes!(requests::list_requests, requests::create_request))
        .routes(routes!(plans::list_plans, plans::create_plan))
        .routes(routes!(plans::get_plan))
        .routes(routes!(settings::get_settings, settings::put_settings))
        .routes(routes!(report::stats_api))
        .routes(routes!(report::bulletin_api))
        .routes(routes!(report::bulletin_export))
}

/// Whether the caller's scope is the whole city (a top-level node).
async fn city_wide(state: &AppState, user: &CurrentUser) -> Result<bool> {
    for s in &user.user.scopes {
        if crate::store::org::get(&state.store, s).await?.is_some_and(|n| n.parent_code.is_none()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The teams the caller belongs to.
pub(crate) async fn my_teams(state: &AppState, user: &CurrentUser) -> Result<Vec<String>> {
    Ok(teams::of_user(&state.store, &user.user.id).await?)
}

/// Loads a visit the caller may see: 404 if there is none or it is sealed from them (a sealed
/// visit does not exist for those outside the team), 404 too outside their scope.
pub(crate) async fn visible_visit(state: &AppState, user: &CurrentUser, id: &str) -> Result<Visit> {
    user.may(Permission::ReadLedger)?;
    let v = inspection::visit(&state.store, id).await?.ok_or(Error::NotFound)?;
    let unit = OrgCode::parse(&v.unit_code).map_err(|e| Error::Internal(e.0))?;
    let who = Onlooker {
        in_team: my_teams(state, user).await?.contains(&v.team_code),
        in_scope: crate::store::org::within(&state.store, &unit, &user.user.scopes).await?,
        city_wide: city_wide(state, user).await? && matches!(user.user.role, Role::Admin | Role::Supervisor),
    };
    if visible(v.sealed, who) { Ok(v) } else { Err(Error::NotFound) }
}

/// The inspection teams, their members and current stations.
#[utoipa::path(get, path = "/teams", tag = "supervision",
    responses((status = 200, body = Vec<Team>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_teams(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<Team>>> {
    user.may(Permission::ReadLedger)?;
    Ok(axum::Json(teams::list(&state.store).await?))
}

/// Where a team is to be stationed.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stations {
    /// The subtrees (org codes), at least one.
    pub stations: Vec<String>,
}

/// Rotate a team (admins and supervisors): its current stations end, the new ones start, and
/// its members' scopes follow; the history is kept.
#[utoipa::path(put, path = "/teams/{code}/stations", tag = "supervision", params(("code" = String, Path, description = "Team code")),
    request_body = Stations,
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn rotate_team(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<Stations>,
) -> Result<axum::Json<Team>> {
    user.may(Permission::ManageTeams)?;
    let mut errors = Vec::new();
    let mut stations = Vec::new();
    if body.stations.is_empty() || body.stations.len() > 20 {
        errors.push(FieldError::new("stations", items::API.t("ledger.err.stations")));
    }
    for s in &body.stations {
        match OrgCode::parse(s.trim()) {
            Ok(c) if crate::store::org::get(&state.store, &c).await?.is_some() => stations.push(c),
            Ok(_) => errors.push(FieldError::new("stations", format!("{}: {s}", items::API.t("ledger.err.no_unit")))),
            Err(e) => errors.push(FieldError::new("stations", e.0)),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    for s in &stations {
        user.require_scope(&state, s).await?;
    }
    stations.sort();
    stations.dedup();
    if !teams::rotate(&state.store, &code, &stations, &user.actor()).await? {
        return Err(Error::NotFound);
    }
    Ok(axum::Json(teams::get(&state.store, &code).await?.ok_or(Error::NotFound)?))
}

/// Where a team was and is stationed, newest first.
#[utoipa::path(get, path = "/teams/{code}/history", tag = "supervision", params(("code" = String, Path, description = "Team code")),
    responses((status = 200, body = Vec<Station>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn team_history(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<Vec<Station>>> {
    user.may(Permission::ReadLedger)?;
    teams::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    Ok(axum::Json(teams::history(&state.store, &code).await?))
}

/// A visit to record.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitRequest {
    /// The plan the visit carries out (the team's): its mode and checklist apply, and the unit
    /// must lie within its scope.
    pub plan_id: Option<String>,
    /// The unit visited (within the team's stations).
    pub unit: String,
    /// `open` (明察) or `secret` (暗访).
    pub mode: String,
    /// Where: the hall, the window.
    pub place: String,
    /// Who went (names).
    pub members: Option<String>,
    /// When, ms (now if left out; not in the future).
    pub visited_at: Option<i64>,
    /// The checklist as found; keys from the default checklist unless a plan names others.
    pub checklist: Option<Vec<Check>>,
    /// What was seen.
    pub note: Option<String>,
}

/// Checks a visit request for `user` (an inspector of a team, within its stations).
pub(crate) async fn checked_visit(state: &AppState, user: &CurrentUser, r: &VisitRequest, tr: Tr) -> Result<NewVisit> {
    user.may(Permission::Inspect)?;
    let team = my_teams(state, user).await?.into_iter().next().ok_or(Error::Forbidden)?;
    let mut errors = Vec::new();
    let plan = match r.plan_id.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(id) => match inspection::plan(&state.store, id).await? {
            Some(plan) if plan.team_code == team => Some(plan),
            _ => {
                errors.push(FieldError::new("plan_id", tr.t("ledger.err.no_plan")));
                None
            }
        },
        None => None,
    };
    let mode = match &plan {
        Some(p) => Some(p.mode),
        None => Mode::parse(r.mode.trim()),
    };
    if mode.is_none() {
        errors.push(FieldError::new("mode", tr.t("ledger.err.mode")));
    }
    let place = r.place.trim().to_owned();
    if place.is_empty() || place.chars().count() > 200 {
        errors.push(FieldError::new("place", tr.t("ledger.err.place")));
    }
    let note = r.note.as_deref().unwrap_or_default().trim().to_owned();
    if note.chars().count() > items::MAX_TEXT {
        errors.push(FieldError::new("note", format!("{} ({})", tr.t("ledger.err.too_long"), items::MAX_TEXT)));
    }
    let now = crate::store::now_ms();
    let visited_at = r.visited_at.unwrap_or(now);
    if visited_at > now + 60_000 || visited_at < now - 366 * 86_400_000 {
        errors.push(FieldError::new("visited_at", tr.t("ledger.err.visited_at")));
    }
    let checklist = r.checklist.clone().unwrap_or_default();
    for c in &checklist {
        let allowed = match &plan {
            Some(p) => p.checklist.contains(&c.key),
            None => DEFAULT_CHECKLIST.iter().any(|(k, _)| *k == c.key),
        };
        if !allowed {
            errors.push(FieldError::new("checklist", format!("{}: {}", tr.t("ledger.err.check"), c.key)));
        }
    }
    let unit = match OrgCode::parse(r.unit.trim()) {
        Ok(c) if crate::store::org::get(&state.store, &c).await?.is_some() => Some(c),
        Ok(_) => {
            errors.push(FieldError::new("unit", format!("{}: {}", tr.t("ledger.err.no_unit"), r.unit.trim())));
            None
        }
        Err(e) => {
            errors.push(FieldError::new("unit", e.0));
            None
        }
    };
    let (Some(mode), Some(unit), true) = (mode, unit, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    if let Some(p) = &plan {
        let scope = OrgCode::parse(&p.scope_code).map_err(|e| Error::Internal(e.0))?;
        if !crate::store::org::within(&state.store, &unit, &[scope]).await? {
            return Err(Error::field("unit", tr.t("ledger.err.outside_plan")));
        }
    }
    // Within the team's current stations (the inspector's scope), else 403.
    user.require_scope(state, &unit).await?;
    let members = r
        .members
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(|| user.user.display_name.clone(), |m| m.chars().take(200).collect());
    Ok(NewVisit {
        plan_id: plan.map(|p| p.id),
        team_code: team,
        unit_code: unit.as_str().to_owned(),
        mode,
        visited_at,
        place,
        members,
        checklist,
        note,
    })
}

/// Record a visit (inspectors, within their team's stations). A secret visit is sealed until
/// its findings are issued.
#[utoipa::path(post, path = "/visits", tag = "supervision", request_body = VisitRequest,
    responses((status = 201, body = Visit), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn record_visit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<VisitRequest>,
) -> Result<Response> {
    let new = checked_visit(&state, &user, &r, items::API).await?;
    let v = inspection::record(&state.store, &new, &user.actor()).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// The latest visits the caller may see: their team's, issued ones in their scope, all for
/// the city's supervisors.
#[utoipa::path(get, path = "/visits", tag = "supervision",
    responses((status = 200, body = Vec<Visit>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_visits(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<Visit>>> {
    Ok(axum::Json(visits_for(&state, &user, 100).await?))
}

/// The latest `limit` visits `user` may see.
pub(crate) async fn visits_for(state: &AppState, user: &CurrentUser, limit: i64) -> Result<Vec<Visit>> {
    user.may(Permission::ReadLedger)?;
    let teams = my_teams(state, user).await?;
    let scopes: Vec<String> = user.user.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let city = city_wide(state, user).await? && matches!(user.user.role, Role::Admin | Role::Supervisor);
    Ok(inspection::visits(&state.store, &teams, &scopes, city, limit).await?)
}

/// One visit (404 to anyone outside the team while it is sealed).
#[utoipa::path(get, path = "/visits/{id}", tag = "supervision", params(("id" = String, Path, description = "Visit id")),
    responses((status = 200, body = Visit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn get_visit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Visit>> {
    Ok(axum::Json(visible_visit(&state, &user, &id).await?))
}

/// Loads a visit the caller's team made (404 otherwise, as for a sealed one).
pub(crate) async fn own_visit(state: &AppState, user: &CurrentUser, id: &str) -> Result<Visit> {
    user.may(Permission::Inspect)?;
    let v = visible_visit(state, user, id).await?;
    if !my_teams(state, user).await?.contains(&v.team_code) {
        return Err(Error::Forbidden);
    }
    Ok(v)
}

/// Upload a photo, video still or PDF taken on a visit (the visiting team).
#[utoipa::path(post, path = "/visits/{id}/attachments", tag = "supervision",
    params(("id" = String, Path, description = "Visit id"), crate::web::cases::UploadParams),
    request_body(content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/pdf"))),
    responses((status = 201, body = Attachment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn upload_visit_file(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<crate::web::cases::UploadParams>,
    body: Bytes,
) -> Result<Response> {
    let v = own_visit(&state, &user, &id).await?;
    let a = crate::web::evidence::save_file(&state, &user, &VISIT_FILES, &v.id, p.name.as_deref(), &body).await?;
    Ok((StatusCode::CREATED, axum::Json(a)).into_response())
}

/// Download a visit's evidence (to those who may see the visit).
#[utoipa::path(get, path = "/visit-files/{id}", tag = "supervision", params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn download_visit_file(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let (a, visit) = workflow::attachment(&state.store, &VISIT_FILES, &id).await?.ok_or(Error::NotFound)?;
    visible_visit(&state, &user, &visit).await?;
    crate::web::evidence::serve_file(&state, &a).await
}

/// One finding on a feedback sheet.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingRequest {
    /// The problem, one line.
    pub problem: String,
    /// What the unit must do.
    pub requirement: String,
    /// Category (same unit and category within 180 days of a closing is a recurrence).
    pub category: String,
    /// `general`, `key` or `listed`.
    pub level: Option<String>,
    /// Working days to fix it (15 if left out).
    pub days: Option<u32>,
}

/// Findings to issue on a feedback sheet, with the people named on the spot.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SheetRequest {
    /// The problems found, at least one.
    pub findings: Vec<FindingRequest>,
    /// The responsible leader (责任领导).
    pub responsible_leader: String,
    /// The responsible person (责任人).
    pub responsible_person: String,
    /// Working days for the unit's reply (5 if left out).
    pub reply_days: Option<u32>,
}

/// Checks a sheet request; every bad field is listed, by row (`findings[0].problem`).
pub(crate) fn checked_sheet(
    r: &SheetRequest,
    mode: Mode,
    defaults: &crate::domain::item::settings::Settings,
    tr: Tr,
) -> Result<(Vec<Finding>, inspection::Naming)> {
    let mut errors = Vec::new();
    let leader = items::required(&mut errors, tr, "responsible_leader", &r.responsible_leader, 60);
    let person = items::required(&mut errors, tr, "responsible_person", &r.responsible_person, 60);
    let mut findings = Vec::new();
    for (i, f) in r.findings.iter().enumerate() {
        let problem = items::required(&mut errors, tr, &format!("findings[{i}].problem"), &f.problem, 200);
        let requirement =
            items::required(&mut errors, tr, &format!("findings[{i}].requirement"), &f.requirement, items::MAX_TEXT);
        let category = items::required(&mut errors, tr, &format!("findings[{i}].category"), &f.category, 60);
        findings.push((i, problem, requirement, category, f.level.clone(), f.days));
    }
    let mut out = Vec::new();
    for (i, problem, requirement, category, level, days) in findings {
        let level = match level.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            None => Level::General,
            Some(l) => Level::parse(l).unwrap_or_else(|| {
                errors.push(FieldError::new(format!("findings[{i}].level"), tr.t("ledger.err.level")));
                Level::General
            }),
        };
        let days = days.unwrap_or_else(|| defaults.days_for(mode.source()));
        if !(1..=crate::domain::item::MAX_DAYS).contains(&days) {
            errors.push(FieldError::new(format!("findings[{i}].days"), tr.t("ledger.err.days")));
        }
        out.push(Finding { problem, requirement, category, level, days });
    }
    if out.is_empty() {
        errors.push(FieldError::new("findings", tr.t("ledger.err.findings")));
    }
    if out.len() > 50 {
        errors.push(FieldError::new("findings", tr.t("ledger.err.findings_max")));
    }
    let reply_days = r.reply_days.unwrap_or(5);
    if !(1..=30).contains(&reply_days) {
        errors.push(FieldError::new("reply_days", tr.t("ledger.err.reply_days")));
    }
    if errors.is_empty() {
        Ok((out, inspection::Naming { leader, person, reply_days }))
    } else {
        Err(Error::Validation(errors))
    }
}

/// Issue a visit's findings to its unit (the visiting team): a numbered feedback sheet with the
/// responsible people named, an item per finding; a secret visit is unsealed. Once per visit.
#[utoipa::path(post, path = "/visits/{id}/sheet", tag = "supervision", params(("id" = String, Path, description = "Visit id")),
    request_body = SheetRequest,
    responses((status = 201, body = Sheet), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Issued already", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn issue_sheet(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(r): ApiJson<SheetRequest>,
) -> Result<Response> {
    let sheet = issue(&state, &user, &id, &r, items::API).await?;
    Ok((StatusCode::CREATED, axum::Json(sheet)).into_response())
}

/// Issues `r` for visit `id` as `user`.
pub(crate) async fn issue(state: &AppState, user: &CurrentUser, id: &str, r: &SheetRequest, tr: Tr) -> Result<Sheet> {
    let v = own_visit(state, user, id).await?;
    if v.sheet_id.is_some() {
        return Err(Error::Conflict(tr.t("ledger.err.issued").into()));
    }
    let defaults = crate::store::items::settings(state.store.pool()).await?;
    let (findings, naming) = checked_sheet(r, v.mode, &defaults, tr)?;
    inspection::issue_sheet(&state.store, &state.calendar, &v, &findings, &naming, &user.actor(), user.user.role)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Misuse(_) => Error::Conflict(tr.t("ledger.err.issued").into()),
            other => other.into(),
        })
}

/// Loads a sheet the caller may see (its unit in scope, or the issuing team).
pub(crate) async fn visible_sheet(state: &AppState, user: &CurrentUser, id: &str) -> Result<Sheet> {
    user.may(Permission::ReadLedger)?;
    let s = inspection::sheet(&state.store, id).await?.ok_or(Error::NotFound)?;
    let unit = OrgCode::parse(&s.unit_code).map_err(|e| Error::Internal(e.0))?;
    if my_teams(state, user).await?.contains(&s.team_code)
        || crate::store::org::within(&state.store, &unit, &user.user.scopes).await?
    {
        Ok(s)
    } else {
        Err(Error::Forbidden)
    }
}

/// One feedback sheet.
#[utoipa::path(get, path = "/sheets/{id}", tag = "supervision", params(("id" = String, Path, description = "Sheet id")),
    responses((status = 200, body = Sheet), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn get_sheet(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Sheet>> {
    Ok(axum::Json(visible_sheet(&state, &user, &id).await?))
}

/// Sign for a sheet (签收; the unit's head or staff), once.
#[utoipa::path(post, path = "/sheets/{id}/sign", tag = "supervision", params(("id" = String, Path, description = "Sheet id")),
    responses((status = 200, body = Sheet), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Signed already", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn sign_sheet(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Sheet>> {
    Ok(axum::Json(sign(&state, &user, &id, items::API).await?))
}

/// Signs sheet `id` for `user`'s unit.
pub(crate) async fn sign(state: &AppState, user: &CurrentUser, id: &str, tr: Tr) -> Result<Sheet> {
    let s = visible_sheet(state, user, id).await?;
    if !matches!(user.user.role, Role::UnitHead | Role::Staff) {
        return Err(Error::Forbidden);
    }
    let unit = OrgCode::parse(&s.unit_code).map_err(|e| Error::Internal(e.0))?;
    user.require_scope(state, &unit).await?;
    if !inspection::sign_sheet(&state.store, &s.id, &user.actor()).await? {
        return Err(Error::Conflict(tr.t("ledger.err.signed").into()));
    }
    inspection::sheet(&state.store, id).await?.ok_or(Error::NotFound)
}

/// Which unit's burden.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BurdenParams {
    /// The unit.
    pub unit: String,
}

/// What a unit received this month (visits, sheets, items): shown to whoever is about to ask
/// it for more.
#[utoipa::path(get, path = "/burden", tag = "supervision", params(BurdenParams),
    responses((status = 200, body = inspection::Burden), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn burden(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<BurdenParams>,
) -> Result<axum::Json<inspection::Burden>> {
    user.may(Permission::ReadLedger)?;
    let unit = OrgCode::parse(p.unit.trim()).map_err(|e| Error::field("unit", e.0))?;
    crate::store::org::get(&state.store, &unit).await?.ok_or_else(|| Error::field("unit", "no such node"))?;
    user.require_scope(&state, &unit).await?;
    Ok(axum::Json(inspection::burden(&state.store, unit.as_str(), crate::store::now_ms()).await?))
}
