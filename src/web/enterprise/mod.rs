//! Key projects and the enterprise service desk (docs/enterprise.md): parks and their desk's
//! promises, industrial chains and firms (here), projects and their reports (`projects`), the
//! project channel and desk requests (`desk`), the live stream (`stream`) and the pages
//! (`page`).

pub mod conduct;
pub mod desk;
pub mod investment;
pub mod page;
pub mod projects;
pub mod stream;
pub mod transfer;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::domain::FieldError;
use crate::domain::enterprise::Uscc;
use crate::domain::enterprise::desk::DeskSettings;
use crate::domain::enterprise::uscc::UsccError;
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::store::enterprise::{self as ent, Chain, Enterprise, NewEnterprise, Park, RegisterError, Viewer};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiPath, Error, ErrorBody, Result};

/// The API answers in English (as every API message does); pages pass their own language.
pub const API: Tr = Tr { locale: crate::i18n::Locale::En };

/// The API: parks, chains, firms, projects, channels, desk requests.
pub fn api(config: &Config) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(desk::upload_project_file))
        .layer(DefaultBodyLimit::max(config.max_attachment_bytes.saturating_add(64 * 1024)));
    let imports = OpenApiRouter::new()
        .routes(routes!(transfer::import_projects))
        .routes(routes!(transfer::import_reports))
        .layer(DefaultBodyLimit::max(config.max_import_bytes));
    OpenApiRouter::new()
        .merge(uploads)
        .merge(imports)
        .routes(routes!(transfer::export_projects))
        .routes(routes!(transfer::export_reports))
        .routes(routes!(list_parks))
        .routes(routes!(put_park))
        .routes(routes!(list_chains, create_chain))
        .routes(routes!(investment::chain_api))
        .routes(routes!(investment::investment_api))
        .routes(routes!(conduct::list_conduct, conduct::publish_conduct))
        .routes(routes!(conduct::post_breach))
        .routes(routes!(list_enterprises, register_enterprise))
        .routes(routes!(add_enterprise_user))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(projects::get_project))
        .routes(routes!(projects::post_report))
        .routes(routes!(projects::post_progress))
        .routes(routes!(desk::list_messages, desk::post_message))
        .routes(routes!(desk::download_project_file))
        .routes(routes!(stream::project_stream))
        .routes(routes!(desk::list_requests))
        .routes(routes!(desk::get_request))
        .routes(routes!(desk::act_on_request))
}

/// The firm the caller belongs to, for an enterprise user.
pub async fn firm_of(state: &AppState, user: &CurrentUser) -> Result<Option<String>> {
    if user.user.role != crate::domain::role::Role::Enterprise {
        return Ok(None);
    }
    Ok(ent::firm_of(&state.store, &user.user.id).await?)
}

/// The key projects and the desk as the home page shows them.
#[derive(Debug, Clone)]
pub struct HomeCard {
    /// The firm's name, for a firm's user.
    pub firm: Option<String>,
    /// Projects the user sees.
    pub projects: i64,
    /// Requests open.
    pub open: i64,
    /// Open and past their clock.
    pub overdue: i64,
}

/// The home page's card for users who see key projects (staff who read them, firms); `None`
/// for everyone else, and for a staff user with no project in view.
pub async fn home_card(state: &AppState, user: &CurrentUser) -> Result<Option<HomeCard>> {
    let role = user.user.role;
    if !role.may(Permission::ReadProjects) && role != crate::domain::role::Role::Enterprise {
        return Ok(None);
    }
    let firm = firm_of(state, user).await?;
    let v = viewer(user, &firm);
    let f = crate::store::enterprise::projects::Filter { limit: 1, ..Default::default() };
    let (_, projects) = crate::store::enterprise::projects::list(&state.store, &v, &f).await?;
    if projects == 0 && role != crate::domain::role::Role::Enterprise {
        return Ok(None);
    }
    let q = crate::store::enterprise::desk::outcomes(&state.store, &v, None, crate::store::now_ms()).await?;
    let name = match &firm {
        Some(id) => ent::enterprise(&state.store, id).await?.map(|e| e.name),
        None => None,
    };
    Ok(Some(HomeCard { firm: name, projects, open: q.open, overdue: q.overdue }))
}

/// The viewer `user` is, given their firm.
pub fn viewer<'a>(user: &'a CurrentUser, firm: &'a Option<String>) -> Viewer<'a> {
    Viewer::of(user.user.role, &user.user.id, &user.user.scopes, firm.as_deref())
}

/// Trimmed text, required and at most `max` characters; a field error otherwise.
pub fn required(errors: &mut Vec<FieldError>, tr: Tr, field: &str, v: &str, max: usize) -> String {
    let v = v.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, tr.t("ent.err.required")));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(field, format!("{} ({max})", tr.t("ent.err.too_long"))));
    }
    v.chars().take(max).collect()
}

/// The message of a credit code that does not parse, in `tr`'s language.
pub fn uscc_message(e: UsccError, tr: Tr) -> &'static str {
    tr.t(match e {
        UsccError::Length => "ent.err.uscc_length",
        UsccError::Charset => "ent.err.uscc_charset",
        UsccError::Division => "ent.err.uscc_division",
        UsccError::CheckDigit => "ent.err.uscc_check",
    })
}

/// Parks and their desk's promises (reply minutes, solution days, hand-over limit, service
/// hours).
#[utoipa::path(get, path = "/parks", tag = "enterprise",
    responses((status = 200, body = Vec<Park>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_parks(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<Park>>> {
    user.may(Permission::ReadProjects)?;
    Ok(axum::Json(ent::parks(&state.store).await?))
}

/// Make an org node a park, or change its desk's promises (admins and supervisors): reply
/// minutes 1–1440, solution and hand-over working days 1–30, service hours as minutes after
/// midnight, open before close.
#[utoipa::path(put, path = "/parks/{code}", tag = "enterprise", params(("code" = String, Path, description = "The park's org code")),
    request_body = DeskSettings,
    responses((status = 200, body = Park), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn put_park(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(s): ApiJson<DeskSettings>,
) -> Result<axum::Json<Park>> {
    user.may(Permission::ManageProjects)?;
    if let Err((field, _)) = s.check() {
        return Err(Error::field(field, API.t(&format!("ent.err.settings.{field}"))));
    }
    let park = ent::set_park(&state.store, &code, &s, &user.actor()).await?.ok_or(Error::NotFound)?;
    Ok(axum::Json(park))
}

/// A chain to create.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ChainRequest {
    /// Name (新能源产业链), unique.
    pub name: String,
    /// 链长: the city leader in charge.
    pub leader: String,
    /// The unit that runs its task force.
    pub unit_code: Option<String>,
    /// What the chain is.
    pub description: String,
}

/// Industrial chains (链长制), by name.
#[utoipa::path(get, path = "/chains", tag = "enterprise",
    responses((status = 200, body = Vec<Chain>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_chains(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<Chain>>> {
    user.may(Permission::ReadProjects)?;
    Ok(axum::Json(ent::chains(&state.store).await?))
}

/// Create a chain (admins and supervisors).
#[utoipa::path(post, path = "/chains", tag = "enterprise", request_body = ChainRequest,
    responses((status = 201, body = Chain), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn create_chain(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<ChainRequest>,
) -> Result<Response> {
    user.may(Permission::ManageProjects)?;
    let mut errors = Vec::new();
    let name = required(&mut errors, API, "name", &r.name, 100);
    let leader = required(&mut errors, API, "leader", &r.leader, 100);
    let description = r.description.trim().chars().take(2000).collect::<String>();
    let unit = r.unit_code.as_deref().map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = unit {
        let known = match crate::domain::ids::OrgCode::parse(u) {
            Ok(code) => crate::store::org::get(&state.store, &code).await?.is_some(),
            Err(_) => false,
        };
        if !known {
            errors.push(FieldError::new("unit_code", API.t("ent.err.unit")));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let chain = ent::create_chain(&state.store, &name, &leader, unit, &description, &user.actor())
        .await?
        .ok_or_else(|| Error::Conflict(API.t("ent.err.chain_taken").into()))?;
    Ok((StatusCode::CREATED, axum::Json(chain)).into_response())
}

/// A firm to register.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EnterpriseRequest {
    /// Its unified social credit code (18 characters; the check character is verified).
    pub uscc: String,
    /// Registered name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// The park it sits in (a park's org code).
    pub park_code: Option<String>,
    /// `large`, `medium`, `small` or `micro`.
    pub size: String,
    /// The chain it belongs to (a chain's id).
    pub chain_id: Option<String>,
    /// `lead` (链主), `member` or `target`.
    pub chain_role: Option<String>,
    /// Who to call there.
    pub contact: String,
}

impl EnterpriseRequest {
    /// Checks every field; all the bad ones are listed.
    pub fn parse(&self, tr: Tr) -> std::result::Result<NewEnterprise, Vec<FieldError>> {
        let mut errors = Vec::new();
        let uscc = Uscc::parse(&self.uscc).map_err(|e| errors.push(FieldError::new("uscc", uscc_message(e, tr)))).ok();
        let name = required(&mut errors, tr, "name", &self.name, 200);
        let industry = required(&mut errors, tr, "industry", &self.industry, 100);
        let contact = self.contact.trim().chars().take(200).collect();
        let size = self.size.trim().to_owned();
        if !matches!(size.as_str(), "large" | "medium" | "small" | "micro") {
            errors.push(FieldError::new("size", format!("{} large, medium, small, micro", tr.t("ent.err.one_of"))));
        }
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let chain_role = text(&self.chain_role);
        if let Some(r) = &chain_role
            && !matches!(r.as_str(), "lead" | "member" | "target")
        {
            errors.push(FieldError::new("chain_role", format!("{} lead, member, target", tr.t("ent.err.one_of"))));
        }
        let chain_id = text(&self.chain_id);
        if chain_role.is_some() && chain_id.is_none() {
            errors.push(FieldError::new("chain_id", tr.t("ent.err.chain_for_role")));
        }
        match (uscc, errors.is_empty()) {
            (Some(uscc), true) => Ok(NewEnterprise {
                uscc,
                name,
                industry,
                park_code: text(&self.park_code),
                size,
                chain_id,
                chain_role,
                contact,
            }),
            _ => Err(errors),
        }
    }
}

/// Firms, by name (a firm's user: its own only).
#[utoipa::path(get, path = "/enterprises", tag = "enterprise",
    responses((status = 200, body = Vec<Enterprise>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_enterprises(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<Vec<Enterprise>>> {
    let firm = firm_of(&state, &user).await?;
    if firm.is_none() {
        user.may(Permission::ReadProjects)?;
    }
    Ok(axum::Json(ent::enterprises(&state.store, &viewer(&user, &firm)).await?))
}

/// Register a firm (admins and supervisors). A credit code that fails its check character is
/// a 422 naming `uscc`; a code registered already is a 409.
#[utoipa::path(post, path = "/enterprises", tag = "enterprise", request_body = EnterpriseRequest,
    responses((status = 201, body = Enterprise), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn register_enterprise(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<EnterpriseRequest>,
) -> Result<Response> {
    user.may(Permission::ManageProjects)?;
    let new = r.parse(API).map_err(Error::Validation)?;
    let firm = ent::register(&state.store, &new, &user.actor()).await.map_err(|e| registered(e, API))?;
    Ok((StatusCode::CREATED, axum::Json(firm)).into_response())
}

/// A refused registration as an HTTP error.
pub fn registered(e: RegisterError, tr: Tr) -> Error {
    match e {
        RegisterError::Taken => Error::Conflict(tr.t("ent.err.uscc_taken").into()),
        RegisterError::Unknown(field) => Error::field(field, tr.t("ent.err.unknown")),
        RegisterError::Store(s) => s.into(),
    }
}

/// A user to bind to a firm.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EnterpriseUserRequest {
    /// The login name of a user with the enterprise role.
    pub username: String,
}

/// Bind an enterprise user to a firm (admins and supervisors): from then on they see that
/// firm's projects, channels, requests and cases only.
#[utoipa::path(post, path = "/enterprises/{uscc}/users", tag = "enterprise",
    params(("uscc" = String, Path, description = "The firm's unified social credit code")),
    request_body = EnterpriseUserRequest,
    responses((status = 204, description = "Bound"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn add_enterprise_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(uscc): ApiPath<String>,
    ApiJson(r): ApiJson<EnterpriseUserRequest>,
) -> Result<StatusCode> {
    user.may(Permission::ManageProjects)?;
    let firm = ent::by_uscc(&state.store, uscc.trim()).await?.ok_or(Error::NotFound)?;
    if !ent::add_user(&state.store, &firm.id, r.username.trim(), &user.actor()).await? {
        return Err(Error::field("username", API.t("ent.err.enterprise_user")));
    }
    Ok(StatusCode::NO_CONTENT)
}
