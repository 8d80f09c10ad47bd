//! The accountability register (问责台账): every decision with person, unit, kind, reason, the
//! case and its evidence chain; filtered, exported as CSV or XLSX, counted per period. API and page.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{CurrentUser, Lang, PageUser};
use super::error::{ApiQuery, Error, ErrorBody, Result};
use super::pages::{Nav, Page, PageError};
use crate::domain::FieldError;
use crate::domain::case::Accountability;
use crate::i18n::Tr;
use crate::imports::{self, Format};
use crate::store::cases::register::{self, Decision, RegisterFilter};

/// The register's API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(counts))
}

/// The register's page.
pub fn pages() -> Router<AppState> {
    Router::new().route("/accountability", get(page))
}

/// Filters of the register.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegisterParams {
    /// Only units under this node (within the caller's scope).
    pub under: Option<String>,
    /// Only this kind (`none`, `reminder`, `admonition_talk`, `public_criticism`, `discipline_referral`).
    pub kind: Option<String>,
    /// Decided on or after this date (YYYY-MM-DD, China time).
    pub from: Option<String>,
    /// Decided on or before this date (YYYY-MM-DD, China time).
    pub to: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

fn day_start(field: &str, s: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    match chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(d) => Some(crate::store::rollups::day_start_ms(crate::store::rollups::day_of_date(d))),
        Err(_) => {
            errors.push(FieldError::new(field, "a date as YYYY-MM-DD"));
            None
        }
    }
}

async fn filter(state: &AppState, user: &CurrentUser, p: &RegisterParams) -> Result<RegisterFilter> {
    let mut errors = Vec::new();
    let mut f = RegisterFilter::default();
    if let Some(k) = p.kind.as_deref().filter(|k| !k.is_empty()) {
        match Accountability::parse(k) {
            Some(kind) => f.kind = Some(kind),
            None => errors.push(FieldError::new("kind", format!("{k:?} is not a kind of accountability"))),
        }
    }
    f.from = p.from.as_deref().filter(|s| !s.is_empty()).and_then(|s| day_start("from", s, &mut errors));
    f.to =
        p.to.as_deref().filter(|s| !s.is_empty()).and_then(|s| day_start("to", s, &mut errors)).map(|t| t + 86_400_000);
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if p.under.as_deref().is_some_and(|u| !u.trim().is_empty()) {
        f.under = Some(user.subtree(state, p.under.as_deref()).await?);
    }
    Ok(f)
}

fn rows(decisions: &[Decision]) -> Vec<Vec<String>> {
    let mut out = vec![
        [
            "决定时间",
            "问责方式",
            "被问责人",
            "工号",
            "单位编码",
            "单位",
            "事由",
            "工单",
            "工单标题",
            "核实结论",
            "决定人",
            "证据链(SHA-256)",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>(),
    ];
    for d in decisions {
        out.push(vec![
            super::pages::local(d.decided_at),
            d.kind.label_zh().to_owned(),
            d.person_name.clone().unwrap_or_default(),
            d.staff_no.clone().unwrap_or_default(),
            d.unit_code.clone(),
            d.unit_name.clone(),
            d.reason.clone(),
            d.case_id.clone(),
            d.case_title.clone(),
            d.verdict.clone().unwrap_or_default(),
            d.decided_by.clone(),
            d.evidence.join(" "),
        ]);
    }
    out
}

/// The accountability register within the caller's scope, newest first, as JSON, CSV or XLSX.
#[utoipa::path(get, path = "/accountability", tag = "cases", params(RegisterParams),
    responses((status = 200, body = Vec<Decision>, description = "JSON, or the file for csv/xlsx"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<RegisterParams>,
) -> Result<Response> {
    user.may(crate::domain::permission::Permission::ReadAccountability)?;
    let f = filter(&state, &user, &p).await?;
    let format = match p.format.as_deref().unwrap_or("json") {
        "json" => None,
        "csv" => Some(Format::Csv),
        "xlsx" => Some(Format::Xlsx),
        other => return Err(Error::field("format", format!("{other:?} is not json, csv or xlsx"))),
    };
    let decisions = register::decisions(&state.store, &user.user.scopes, &f, 100_000).await?;
    match format {
        None => Ok(axum::Json(decisions).into_response()),
        Some(format) => {
            let bytes = imports::write_table(format, "问责台账", &rows(&decisions)).map_err(Error::Internal)?;
            let disposition = format!("attachment; filename=\"accountability.{}\"", format.extension());
            Ok((
                [(header::CONTENT_TYPE, format.content_type().to_owned()), (header::CONTENT_DISPOSITION, disposition)],
                bytes,
            )
                .into_response())
        }
    }
}

/// People held to account in a period.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = AccountabilityCounts)]
pub struct Counts {
    /// The subtree.
    pub under: String,
    /// Per kind (decisions of no accountability are not counted).
    pub by_kind: Vec<KindCount>,
    /// All kinds together.
    pub total: i64,
}

/// One kind's count.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct KindCount {
    /// The kind.
    pub kind: Accountability,
    /// People held to account with it.
    pub count: i64,
}

/// How many people were held to account under a node in a period, by kind.
#[utoipa::path(get, path = "/accountability/counts", tag = "cases", params(RegisterParams),
    responses((status = 200, body = Counts), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn counts(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<RegisterParams>,
) -> Result<axum::Json<Counts>> {
    user.may(crate::domain::permission::Permission::ReadAccountability)?;
    let f = filter(&state, &user, &p).await?;
    let root = match f.under {
        Some(u) => u,
        None => user.subtree(&state, None).await?,
    };
    let by_kind: Vec<KindCount> = register::counts(&state.store, &root, f.from.unwrap_or(0), f.to.unwrap_or(i64::MAX))
        .await?
        .into_iter()
        .map(|(kind, count)| KindCount { kind, count })
        .collect();
    let total = by_kind.iter().map(|k| k.count).sum();
    Ok(axum::Json(Counts { under: root.to_string(), by_kind, total }))
}

struct Row {
    d: Decision,
    at: String,
    kind_key: String,
}

#[derive(Template)]
#[template(path = "accountability.html")]
struct RegisterPage {
    tr: Tr,
    nav: Nav,
    rows: Vec<Row>,
    p: RegisterParams,
    query: String,
    kinds: Vec<(String, String)>,
}

async fn page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<RegisterParams>,
) -> Result<Response, PageError> {
    user.may(crate::domain::permission::Permission::ReadAccountability)?;
    let f = filter(&state, &user, &p).await?;
    let rows = register::decisions(&state.store, &user.user.scopes, &f, 500)
        .await?
        .into_iter()
        .map(|d| Row { at: super::pages::local(d.decided_at), kind_key: format!("case.kind.{}", d.kind.as_str()), d })
        .collect();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("under", p.under.as_deref().unwrap_or_default())
        .append_pair("kind", p.kind.as_deref().unwrap_or_default())
        .append_pair("from", p.from.as_deref().unwrap_or_default())
        .append_pair("to", p.to.as_deref().unwrap_or_default())
        .finish();
    let kinds =
        Accountability::ALL.iter().map(|k| (k.as_str().to_owned(), format!("case.kind.{}", k.as_str()))).collect();
    let page = RegisterPage { tr: Tr { locale }, nav: Nav::new(Some(&user), "/accountability"), rows, p, query, kinds };
    Ok(Page(page).into_response())
}
