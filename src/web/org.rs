//! The org tree over HTTP: browse within one's scope, import (admin) and export, as JSON API
//! and as pages.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{CurrentUser, Lang, PageUser};
use super::error::{ApiPath, ApiQuery, Error, ErrorBody, Result};
use super::pages::{Nav, Page, PageError, Paging};
use crate::config::Config;
use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::org::OrgKind;
use crate::i18n::Tr;
use crate::imports::{self, Format};
use crate::store::org::{self, ImportCounts, OrgNode, Staff};

/// The org API.
pub fn api(config: &Config) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(scope_roots))
        .routes(routes!(get_node))
        .routes(routes!(node_children))
        .routes(routes!(search_nodes))
        .routes(routes!(node_staff))
        .routes(routes!(export_org))
        .merge(OpenApiRouter::new().routes(routes!(import)).layer(DefaultBodyLimit::max(config.max_import_bytes)))
}

/// The org pages.
pub fn pages(config: &Config) -> Router<AppState> {
    Router::new().route("/org/{code}", get(node_page)).route(
        "/admin/import",
        get(import_page).post(import_form).layer(DefaultBodyLimit::max(config.max_import_bytes)),
    )
}

fn parse_code(s: &str) -> Result<OrgCode> {
    OrgCode::parse(s).map_err(|_| Error::NotFound)
}

/// The caller's scope roots (the top of what they may see).
#[utoipa::path(get, path = "/org/nodes", tag = "org",
    responses((status = 200, body = Vec<OrgNode>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn scope_roots(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<OrgNode>>> {
    Ok(axum::Json(org::get_many(&state.store, &user.user.scopes).await?))
}

/// One node with its path from the caller's scope root.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NodeView {
    /// The node.
    pub node: OrgNode,
    /// Ancestors within the caller's scope, from the top down (the node itself excluded).
    pub path: Vec<OrgNode>,
}

async fn visible_path(state: &AppState, user: &CurrentUser, code: &OrgCode) -> Result<Vec<OrgNode>> {
    let mut path = Vec::new();
    for n in org::ancestors(&state.store, code).await? {
        if n.code == code.as_str() {
            continue;
        }
        let c = parse_code(&n.code)?;
        if org::within(&state.store, &c, &user.user.scopes).await? {
            path.push(n);
        }
    }
    Ok(path)
}

/// A node within the caller's scope.
#[utoipa::path(get, path = "/org/nodes/{code}", tag = "org",
    params(("code" = String, Path, description = "Org code")),
    responses((status = 200, body = NodeView), (status = 403, description = "Outside the caller's scope", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn get_node(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<NodeView>> {
    let code = parse_code(&code)?;
    let node = org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    user.require_scope(&state, &code).await?;
    let path = visible_path(&state, &user, &code).await?;
    Ok(axum::Json(NodeView { node, path }))
}

/// Direct children of a node, by code.
#[utoipa::path(get, path = "/org/nodes/{code}/children", tag = "org",
    params(("code" = String, Path, description = "Org code"), Paging),
    responses((status = 200, body = Vec<OrgNode>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn node_children(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<axum::Json<Vec<OrgNode>>> {
    let code = parse_code(&code)?;
    org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    user.require_scope(&state, &code).await?;
    Ok(axum::Json(org::children(&state.store, &code, paging.limit(), paging.offset()).await?))
}

/// Filters for a subtree search.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Only nodes of this kind.
    pub kind: Option<OrgKind>,
    /// Name or code contains this text.
    pub q: Option<String>,
    /// At most this many rows (1–500, default 100).
    pub limit: Option<i64>,
    /// Skip this many rows.
    pub offset: Option<i64>,
}

/// One page of a search.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    /// Matching nodes, nearest first.
    pub nodes: Vec<OrgNode>,
    /// How many match in all.
    pub total: i64,
}

/// Search the subtree under a node (the node included).
#[utoipa::path(get, path = "/org/nodes/{code}/search", tag = "org",
    params(("code" = String, Path, description = "Org code"), SearchParams),
    responses((status = 200, body = SearchResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn search_nodes(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<axum::Json<SearchResult>> {
    let code = parse_code(&code)?;
    org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    user.require_scope(&state, &code).await?;
    let paging = Paging { limit: p.limit, offset: p.offset };
    let (nodes, total) =
        org::search_subtree(&state.store, &code, p.kind, p.q.as_deref(), paging.limit(), paging.offset()).await?;
    Ok(axum::Json(SearchResult { nodes, total }))
}

/// Staff attached to a node or below it.
#[utoipa::path(get, path = "/org/nodes/{code}/staff", tag = "org",
    params(("code" = String, Path, description = "Org code"), Paging),
    responses((status = 200, body = Vec<Staff>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn node_staff(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<axum::Json<Vec<Staff>>> {
    let code = parse_code(&code)?;
    org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    user.may(crate::domain::permission::Permission::ReadStaff)?;
    user.require_scope(&state, &code).await?;
    Ok(axum::Json(org::staff_under(&state.store, &code, paging.limit(), paging.offset()).await?))
}

/// What to import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// Org nodes: code, parent_code, kind, name, name_en, address.
    #[default]
    Org,
    /// Staff: staff_no, org_code, name, position.
    Staff,
}

/// Import options.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `org` (default) or `staff`.
    pub kind: Option<ImportKind>,
    /// Validate and count, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Whether anything was written.
    pub dry_run: bool,
    /// Counts.
    #[serde(flatten)]
    pub counts: ImportCounts,
}

async fn run_import(
    state: &AppState,
    user: &CurrentUser,
    kind: ImportKind,
    format: Format,
    bytes: &[u8],
    dry_run: bool,
) -> Result<ImportCounts> {
    user.may(crate::domain::permission::Permission::ManageOrg)?;
    let source = format!("upload.{}", format.extension());
    let counts = match kind {
        ImportKind::Org => imports::import_org(&state.store, bytes, format, &user.actor(), &source, dry_run).await?,
        ImportKind::Staff => {
            imports::import_staff(&state.store, bytes, format, &user.actor(), &source, dry_run).await?
        }
    };
    Ok(counts)
}

/// Import org nodes or staff from a CSV or XLSX body (admin). All or nothing: any bad row
/// refuses the whole file with every bad row named; importing the same file again changes nothing.
#[utoipa::path(post, path = "/org/import", tag = "org",
    params(ImportParams),
    request_body(content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
        description = "The file; the first row names the columns (English or Chinese headers)"),
    responses(
        (status = 200, body = ImportReport),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, description = "Not CSV or XLSX", body = ErrorBody),
        (status = 422, description = "Bad rows; `fields` names each row and column", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<axum::Json<ImportReport>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let format = Format::from_content_type(ct).ok_or_else(|| {
        Error::UnsupportedMediaType(
            "send text/csv or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
        )
    })?;
    let counts = run_import(&state, &user, p.kind.unwrap_or_default(), format, &body, p.dry_run).await?;
    Ok(axum::Json(ImportReport { dry_run: p.dry_run, counts }))
}

/// Export options.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Root of the exported subtree; defaults to the caller's first scope.
    pub under: Option<String>,
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// Export a subtree as CSV or XLSX, in the import format (parents first, re-importable).
#[utoipa::path(get, path = "/org/export", tag = "org",
    params(ExportParams),
    responses(
        (status = 200, description = "The file", content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn export_org(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response> {
    user.may(crate::domain::permission::Permission::ExportOrg)?;
    let root = user.subtree(&state, p.under.as_deref()).await?;
    let format = match p.format.as_deref().unwrap_or("csv") {
        "csv" => Format::Csv,
        "xlsx" => Format::Xlsx,
        other => return Err(Error::field("format", format!("{other:?} is not csv or xlsx"))),
    };
    let records = org::export(&state.store, &root).await?;
    let bytes = imports::write_table(format, "org", &imports::org_rows(&records)).map_err(Error::Internal)?;
    let disposition = format!("attachment; filename=\"org-{root}.{}\"", format.extension());
    Ok(([(header::CONTENT_TYPE, format.content_type().to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

/// A notice after a form on the page.
#[derive(Debug, serde::Deserialize)]
struct Notice {
    reissued: Option<String>,
}

struct Crumb {
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "org_node.html")]
struct NodePage {
    tr: Tr,
    nav: Nav,
    node: OrgNode,
    kind_key: String,
    path: Vec<Crumb>,
    children: Vec<(OrgNode, String)>,
    /// Staff, each with their live personal rating code's token, if any.
    staff: Vec<(Staff, Option<String>)>,
    show_staff: bool,
    can_export: bool,
    can_print_posters: bool,
    /// The rating-code section (units and windows): the live code, if any.
    rating_code: Option<Option<super::codes::CodeCard>>,
    can_reissue: bool,
    /// Just reissued: say that the old posters stopped working.
    reissued: bool,
    offset: i64,
    limit: i64,
}

async fn node_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(code): ApiPath<String>,
    Query(paging): Query<Paging>,
    Query(notice): Query<Notice>,
) -> Result<Response, PageError> {
    let code = parse_code(&code)?;
    let node = org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    user.require_scope(&state, &code).await?;
    let path =
        visible_path(&state, &user, &code).await?.into_iter().map(|n| Crumb { code: n.code, name: n.name }).collect();
    let children = org::children(&state.store, &code, paging.limit(), paging.offset())
        .await?
        .into_iter()
        .map(|n| {
            let key = format!("kind.{}", n.kind.as_str());
            (n, key)
        })
        .collect();
    let show_staff = user.user.role.may(crate::domain::permission::Permission::ReadStaff)
        && matches!(node.kind, OrgKind::Unit | OrgKind::Window);
    let staff = if show_staff {
        let codes: std::collections::HashMap<String, String> =
            crate::store::rating_codes::staff_codes_under(&state.store, code.as_str())
                .await?
                .into_iter()
                .filter_map(|c| c.staff_no.map(|no| (no, c.token)))
                .collect();
        org::staff_under(&state.store, &code, 200, 0)
            .await?
            .into_iter()
            .map(|s| {
                let token = codes.get(&s.staff_no).cloned();
                (s, token)
            })
            .collect()
    } else {
        Vec::new()
    };
    let rating_code = super::codes::code_card(&state, &user, &node).await?;
    let page = NodePage {
        tr: Tr { locale },
        nav: Nav::new(Some(&user), &format!("/org/{code}")),
        rating_code,
        can_reissue: user.user.role.may(crate::domain::permission::Permission::ManageCodes),
        reissued: notice.reissued.is_some(),
        kind_key: format!("kind.{}", node.kind.as_str()),
        node,
        path,
        children,
        staff,
        show_staff,
        can_export: user.user.role.may(crate::domain::permission::Permission::ExportOrg),
        can_print_posters: user.user.role.may(crate::domain::permission::Permission::PrintCodes),
        offset: paging.offset(),
        limit: paging.limit(),
    };
    Ok(Page(page).into_response())
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    tr: Tr,
    nav: Nav,
    report: Option<(bool, ImportCounts)>,
    errors: Vec<FieldError>,
}

async fn import_page(Lang(locale): Lang, PageUser(user): PageUser) -> Result<Response, PageError> {
    user.may(crate::domain::permission::Permission::ManageOrg)?;
    let page =
        ImportPage { tr: Tr { locale }, nav: Nav::new(Some(&user), "/admin/import"), report: None, errors: Vec::new() };
    Ok(Page(page).into_response())
}

async fn import_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    user.may(crate::domain::permission::Permission::ManageOrg)?;
    let mut kind = ImportKind::Org;
    let mut dry_run = false;
    let mut file: Option<(String, Bytes)> = None;
    let bad = |m: String| Error::BadRequest { code: "bad_upload", message: m };
    while let Some(field) = multipart.next_field().await.map_err(|e| bad(e.body_text()))? {
        match field.name().unwrap_or_default() {
            "kind" => {
                kind = match field.text().await.map_err(|e| bad(e.body_text()))?.as_str() {
                    "staff" => ImportKind::Staff,
                    _ => ImportKind::Org,
                }
            }
            "dry_run" => dry_run = !field.text().await.map_err(|e| bad(e.body_text()))?.is_empty(),
            "file" => {
                let name = field.file_name().unwrap_or_default().to_owned();
                file = Some((name, field.bytes().await.map_err(|e| bad(e.body_text()))?));
            }
            _ => {}
        }
    }
    let tr = Tr { locale };
    let nav = Nav::new(Some(&user), "/admin/import");
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let errors = vec![FieldError::new("file", tr.t("import.choose_file"))];
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, Page(ImportPage { tr, nav, report: None, errors })).into_response()
        );
    };
    let Some(format) = Format::from_path(&name) else {
        let errors = vec![FieldError::new("file", tr.t("import.bad_format"))];
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, Page(ImportPage { tr, nav, report: None, errors })).into_response()
        );
    };
    match run_import(&state, &user, kind, format, &bytes, dry_run).await {
        Ok(counts) => {
            Ok(Page(ImportPage { tr, nav, report: Some((dry_run, counts)), errors: Vec::new() }).into_response())
        }
        Err(Error::Validation(errors)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(ImportPage { tr, nav, report: None, errors })).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
