//! Rating codes, QR images, printable posters, signing-key rotation and per-region rating
//! settings.

pub mod posters;
pub mod settings;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::OrgCode;
use crate::domain::org::OrgKind;
use crate::domain::permission::Permission;
use crate::domain::rating::{Scale, TokenKind};
use crate::qr::{self, Paper, Poster};
use crate::store::org;
use crate::store::rating_codes::{self, CodeView};
use crate::store::ratings::{self, RatingSettings, ReasonDef};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiJson, ApiPath, Error, ErrorBody, Result};
use crate::web::pages::PageError;

/// The codes and settings API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_code))
        .routes(routes!(reissue_code))
        .routes(routes!(issue_codes))
        .routes(routes!(rotate_key))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(staff_code))
}

/// QR images, posters, and the org page's reissue button.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/qr/{file}", get(qr_image))
        .route("/admin/posters", get(posters))
        .route("/org/{code}/rating-code/reissue", post(reissue_form))
        .route("/org/{code}/staff/{staff_no}/rating-code", post(staff_code_form))
}

async fn node_in_scope(state: &AppState, user: &CurrentUser, code: &str) -> Result<(OrgCode, org::OrgNode)> {
    let code = OrgCode::parse(code).map_err(|_| Error::NotFound)?;
    let node = org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    user.require_scope(state, &code).await?;
    Ok((code, node))
}

/// A rating code with its links.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CodeLinks {
    /// The code.
    #[serde(flatten)]
    pub code: CodeView,
    /// The rating page.
    pub url: String,
    /// The QR code as SVG.
    pub svg: String,
    /// The QR code as PNG.
    pub png: String,
}

fn links(state: &AppState, code: CodeView) -> CodeLinks {
    let base = &state.config.public_url;
    CodeLinks {
        url: format!("{base}/r/{}", code.token),
        svg: format!("/qr/{}.svg", code.token),
        png: format!("/qr/{}.png", code.token),
        code,
    }
}

/// The live rating code of a unit or window.
#[utoipa::path(get, path = "/org/nodes/{code}/rating-code", tag = "rating codes", params(("code" = String, Path, description = "Org code")),
    responses((status = 200, body = CodeLinks), (status = 403, body = ErrorBody), (status = 404, description = "No such node, or no live code", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn get_code(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<CodeLinks>> {
    user.may(Permission::ReadRatings)?;
    let (code, _) = node_in_scope(&state, &user, &code).await?;
    let live = rating_codes::live_code(&state.store, code.as_str()).await?.ok_or(Error::NotFound)?;
    Ok(axum::Json(links(&state, live)))
}

/// Revoke a unit's or window's code (a lost poster) and issue a new one (admin). The old
/// code answers 410 from now on.
#[utoipa::path(post, path = "/org/nodes/{code}/rating-code/reissue", tag = "rating codes", params(("code" = String, Path, description = "Org code")),
    responses((status = 201, body = CodeLinks), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn reissue_code(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<(StatusCode, axum::Json<CodeLinks>)> {
    let new = reissue(&state, &user, &code).await?.ok_or(Error::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(links(&state, new))))
}

/// Revokes a unit's or window's live code and issues a new one (admins within scope); `None`
/// when it has no live code.
async fn reissue(state: &AppState, user: &CurrentUser, code: &str) -> Result<Option<CodeView>> {
    user.may(Permission::ManageCodes)?;
    let (code, _) = node_in_scope(state, user, code).await?;
    let key = state.ratings.keys.current().ok_or_else(|| Error::Internal("no signing key".into()))?;
    let new = rating_codes::reissue_code(&state.store, &key, code.as_str(), &user.actor()).await?;
    state.ratings.forget_codes();
    Ok(new)
}

/// The rating code as the org page shows it.
pub struct CodeCard {
    /// The rating page's URL.
    pub url: String,
    /// The QR image, SVG and PNG.
    pub svg: String,
    pub png: String,
    /// When it was issued, local time.
    pub issued: String,
}

/// The org page's rating-code section of a unit or window: `Some(None)` when it has no live
/// code; `None` for other nodes and for enterprises.
pub async fn code_card(
    state: &AppState,
    user: &CurrentUser,
    node: &org::OrgNode,
) -> Result<Option<Option<CodeCard>>, crate::store::StoreError> {
    if !user.user.role.may(Permission::ReadRatings) || !matches!(node.kind, OrgKind::Unit | OrgKind::Window) {
        return Ok(None);
    }
    let live = rating_codes::live_code(&state.store, node.code.as_str()).await?;
    Ok(Some(live.map(|c| {
        let l = links(state, c);
        CodeCard { url: l.url, svg: l.svg, png: l.png, issued: crate::web::pages::local(l.code.created_at) }
    })))
}

#[derive(Debug, serde::Deserialize)]
struct ReissueForm {
    #[serde(default)]
    confirm: String,
}

/// The org page's button: reissues the live code (or issues the first one) after the admin
/// ticked that the old posters stop working, then shows the page again with the new code.
async fn reissue_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(code): ApiPath<String>,
    crate::web::error::ApiForm(form): crate::web::error::ApiForm<ReissueForm>,
) -> Result<Response, PageError> {
    user.may(Permission::ManageCodes)?;
    let (org_code, _) = node_in_scope(&state, &user, &code).await?;
    if form.confirm != "yes" {
        return Err(Error::field("confirm", crate::i18n::Tr { locale }.t("code.err.confirm")).into());
    }
    if reissue(&state, &user, &code).await?.is_none() {
        let key = state.ratings.keys.current().ok_or_else(|| Error::Internal("no signing key".into()))?;
        rating_codes::issue_missing_codes(&state.store, &key, &org_code, &user.actor()).await?;
    }
    Ok(axum::response::Redirect::to(&format!("/org/{org_code}?reissued=1#rating-code")).into_response())
}

/// A staff member's personal rating code (badge or desk sign), issued on first request
/// (admins and supervisors within scope).
#[utoipa::path(post, path = "/staff/{staff_no}/rating-code", tag = "rating codes", params(("staff_no" = String, Path, description = "Staff number")),
    responses((status = 200, body = CodeLinks), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn staff_code(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(staff_no): ApiPath<String>,
) -> Result<axum::Json<CodeLinks>> {
    Ok(axum::Json(links(&state, issue_staff_code(&state, &user, &staff_no).await?)))
}

/// A staff member's personal code, issued on first request (admins and supervisors whose scope
/// holds the staff member).
async fn issue_staff_code(state: &AppState, user: &CurrentUser, staff_no: &str) -> Result<CodeView> {
    user.may(Permission::PrintCodes)?;
    let no = crate::domain::ids::StaffNo::parse(staff_no).map_err(|_| Error::NotFound)?;
    let org = crate::store::org::node_of_staff(&state.store, no.as_str()).await?.ok_or(Error::NotFound)?;
    user.require_scope(state, &OrgCode::parse(&org).map_err(|e| Error::Internal(e.0))?).await?;
    let key = state.ratings.keys.current().ok_or_else(|| Error::Internal("no signing key".into()))?;
    rating_codes::staff_code(&state.store, &key, no.as_str(), &user.actor()).await?.ok_or(Error::NotFound)
}

/// The org page's button beside a staff member without a personal code.
async fn staff_code_form(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    ApiPath((code, staff_no)): ApiPath<(String, String)>,
) -> Result<Response, PageError> {
    let (org_code, _) = node_in_scope(&state, &user, &code).await?;
    issue_staff_code(&state, &user, &staff_no).await?;
    Ok(axum::response::Redirect::to(&format!("/org/{org_code}#staff")).into_response())
}

/// Where to issue codes.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct IssueRequest {
    /// Every unit and window under this node without a live code gets one.
    pub under: String,
}

/// How many codes were issued.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Issued {
    /// Codes issued.
    pub issued: usize,
}

/// Issue codes for every unit and window under a node that has none (admin).
#[utoipa::path(post, path = "/rating-codes/issue", tag = "rating codes", request_body = IssueRequest,
    responses((status = 200, body = Issued), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn issue_codes(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<axum::Json<Issued>> {
    user.may(Permission::ManageCodes)?;
    let (code, _) = node_in_scope(&state, &user, &req.under).await?;
    let key = state.ratings.keys.current().ok_or_else(|| Error::Internal("no signing key".into()))?;
    let issued = rating_codes::issue_missing_codes(&state.store, &key, &code, &user.actor()).await?;
    Ok(axum::Json(Issued { issued }))
}

/// The new key's number.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Rotated {
    /// Signs every code issued from now on; codes already printed keep working.
    pub key: i64,
}

/// Rotate the signing key (admin).
#[utoipa::path(post, path = "/signing-keys/rotate", tag = "rating codes",
    responses((status = 200, body = Rotated), (status = 403, body = ErrorBody), (status = 409, description = "All 255 keys used", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn rotate_key(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Rotated>> {
    user.may(Permission::ManageCodes)?;
    let key = rating_codes::rotate_key(&state.store, &user.actor())
        .await?
        .ok_or_else(|| Error::Conflict("all 255 signing keys are used".into()))?;
    state.ratings.keys.refresh().await?;
    Ok(axum::Json(Rotated { key }))
}

/// The rating settings in force at a node (its own or inherited).
#[utoipa::path(get, path = "/org/nodes/{code}/rating-settings", tag = "rating codes", params(("code" = String, Path, description = "Org code")),
    responses((status = 200, body = RatingSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn get_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<RatingSettings>> {
    let (code, _) = node_in_scope(&state, &user, &code).await?;
    Ok(axum::Json(ratings::settings_for(&state.store, code.as_str()).await?))
}

/// Set the rating settings of a node and everything below it (admin).
#[utoipa::path(put, path = "/org/nodes/{code}/rating-settings", tag = "rating codes", params(("code" = String, Path, description = "Org code")),
    request_body = RatingSettings,
    responses((status = 200, body = RatingSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn put_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<RatingSettings>,
) -> Result<axum::Json<RatingSettings>> {
    user.may(Permission::ManageCodes)?;
    let (code, _) = node_in_scope(&state, &user, &code).await?;
    let settings = checked_settings(&req, crate::i18n::Tr { locale: crate::i18n::Locale::En })?;
    ratings::set_settings(&state.store, code.as_str(), &settings, &user.actor()).await?;
    state.ratings.forget_codes();
    Ok(axum::Json(settings))
}

/// `/qr/{token}.svg` or `.png`: only for genuine codes and invitations, so the server never
/// draws QR codes of arbitrary text.
async fn qr_image(State(state): State<AppState>, ApiPath(file): ApiPath<String>) -> Result<Response> {
    let (token, ext) = file.rsplit_once('.').ok_or(Error::NotFound)?;
    let genuine = state.ratings.keys.open(token, TokenKind::Code).await?.is_some()
        || state.ratings.keys.open(token, TokenKind::Invitation).await?.is_some();
    if !genuine {
        return Err(Error::NotFound);
    }
    let url = format!("{}/r/{token}", state.config.public_url);
    let cache = (header::CACHE_CONTROL, "public, max-age=86400");
    match ext {
        "svg" => {
            let svg = qr::svg(&url, "评议二维码 rating code").map_err(Error::Internal)?;
            Ok(([(header::CONTENT_TYPE, "image/svg+xml"), cache], svg).into_response())
        }
        "png" => {
            let png = qr::png(&url, 10).map_err(Error::Internal)?;
            Ok(([(header::CONTENT_TYPE, "image/png"), cache], png).into_response())
        }
        _ => Err(Error::NotFound),
    }
}

/// Poster options.
#[derive(Debug, serde::Deserialize)]
pub struct PosterParams {
    /// Root of the subtree (default: the caller's first scope).
    pub under: Option<String>,
    /// a5 (default) or a4.
    pub paper: Option<String>,
    /// html or zip: the file at once; without it, the posters page.
    pub format: Option<String>,
}

/// The posters of every live code under a node.
pub async fn poster_list(
    store: &crate::store::Store,
    public_url: &str,
    root: &OrgCode,
) -> Result<Vec<Poster>, crate::store::StoreError> {
    Ok(rating_codes::live_codes_under(store, root)
        .await?
        .into_iter()
        .map(|r| {
            let window = r.kind == OrgKind::Window.as_str();
            Poster {
                unit_name: r.unit_name,
                window_name: window.then_some(r.name),
                org_code: r.code.org_code,
                url: format!("{public_url}/r/{}", r.code.token),
            }
        })
        .collect())
}

/// `GET /admin/posters`: the posters page (`codes/posters.rs`), or with `format` the file at once
/// (for scripts and small subtrees; the page's builds show progress and suit a whole city).
async fn posters(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<PosterParams>,
) -> Result<Response, PageError> {
    let Some(format) = p.format.as_deref() else {
        let tr = crate::i18n::Tr { locale };
        return crate::web::codes::posters::form_page(&state, tr, &user, p.under.as_deref(), p.paper.as_deref()).await;
    };
    user.may(Permission::PrintCodes)?;
    let root = user.subtree(&state, p.under.as_deref()).await?;
    let paper = Paper::parse(p.paper.as_deref().unwrap_or("a5")).ok_or_else(|| Error::field("paper", "a5 or a4"))?;
    if !matches!(format, "html" | "zip") {
        return Err(Error::field("format", "html or zip").into());
    }
    let list = poster_list(&state.store, &state.config.public_url, &root).await?;
    match format {
        "zip" => {
            let bytes = tokio::task::spawn_blocking(move || qr::posters_zip(&list, paper, || {}))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(Error::Internal)?;
            let disposition = format!("attachment; filename=\"posters-{root}.zip\"");
            Ok((
                [(header::CONTENT_TYPE, "application/zip".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
                bytes,
            )
                .into_response())
        }
        _ => {
            let html = tokio::task::spawn_blocking(move || qr::posters_html(&list, paper, || {}))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(Error::Internal)?;
            Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
        }
    }
}

/// Checks rating settings (from the API or the settings page): every field's problem at once,
/// in `tr`'s language; returns them with labels trimmed.
pub(super) fn checked_settings(req: &RatingSettings, tr: crate::i18n::Tr) -> Result<RatingSettings> {
    let mut fields = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, r) in req.extra_reasons.iter().enumerate() {
        let ok_code = !r.code.is_empty()
            && r.code.len() <= 40
            && r.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !crate::domain::rating::STANDARD_REASONS.contains(&r.code.as_str());
        if !ok_code || !seen.insert(r.code.clone()) {
            fields.push(crate::domain::FieldError::new(format!("extra_reasons[{i}].code"), tr.t("settings.err.code")));
        }
        for (name, label) in [("zh", &r.zh), ("en", &r.en)] {
            if crate::domain::ids::parse_name(label, name).is_err() || label.chars().count() > 40 {
                fields.push(crate::domain::FieldError::new(
                    format!("extra_reasons[{i}].{name}"),
                    tr.t("settings.err.label"),
                ));
            }
        }
    }
    if req.default_level.is_some_and(|l| !(1..=5).contains(&l)) {
        fields.push(crate::domain::FieldError::new("default_level", tr.t("settings.err.level")));
    }
    if req.default_after_days.is_some_and(|d| !(1..=365).contains(&d)) {
        fields.push(crate::domain::FieldError::new("default_after_days", tr.t("settings.err.days")));
    }
    if req.default_level.is_some() != req.default_after_days.is_some() {
        fields.push(crate::domain::FieldError::new("default_level", tr.t("settings.err.both")));
    }
    if req.scale == Scale::Two && req.default_level == Some(3) {
        fields.push(crate::domain::FieldError::new("default_level", tr.t("settings.err.two_level")));
    }
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    Ok(RatingSettings {
        scale: req.scale,
        extra_reasons: req
            .extra_reasons
            .iter()
            .map(|r| ReasonDef { code: r.code.clone(), zh: r.zh.trim().into(), en: r.en.trim().into() })
            .collect(),
        default_level: req.default_level,
        default_after_days: req.default_after_days,
    })
}
