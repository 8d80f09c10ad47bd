//! The audit trail over HTTP (admin): a filtered, paged listing as JSON and as a page.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{CurrentUser, Lang, PageUser};
use super::error::{ApiQuery, Error, ErrorBody, Result};
use super::pages::{Nav, Page, PageError};
use crate::domain::audit::AuditRow;
use crate::i18n::Tr;
use crate::store::audit::{self, AuditFilter};

/// The audit API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The audit page.
pub fn pages() -> Router<AppState> {
    Router::new().route("/admin/audit", get(page))
}

/// Filters; all optional.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Exact actor (username, `cli`, `system`).
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `.` such as `session.`.
    pub action: Option<String>,
    /// Target contains this text.
    pub target: Option<String>,
    /// From this date (YYYY-MM-DD, Asia/Shanghai), inclusive.
    pub from: Option<String>,
    /// To this date (YYYY-MM-DD, Asia/Shanghai), inclusive.
    pub to: Option<String>,
    /// Rows before this sequence number (the next page).
    pub before: Option<i64>,
    /// At most this many rows (1–500, default 50).
    pub limit: Option<i64>,
}

/// Milliseconds at the start of a local (UTC+8) day.
fn day_start_ms(date: &str, field: &str) -> Result<i64> {
    let d = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| Error::field(field, "must be a date such as 2026-03-01"))?;
    crate::domain::time::day_start(d).ok_or_else(|| Error::field(field, "not a valid date"))
}

fn blank_to_none(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn to_filter(p: &AuditParams) -> Result<AuditFilter> {
    Ok(AuditFilter {
        actor: blank_to_none(&p.actor),
        action: blank_to_none(&p.action),
        target: blank_to_none(&p.target),
        from: blank_to_none(&p.from).map(|d| day_start_ms(&d, "from")).transpose()?,
        to: blank_to_none(&p.to).map(|d| day_start_ms(&d, "to").map(|ms| ms + 86_400_000)).transpose()?,
        before_seq: p.before,
        limit: p.limit.unwrap_or(50),
    })
}

/// Audit rows, newest first (admin).
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = Vec<AuditRow>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<axum::Json<Vec<AuditRow>>> {
    user.may(crate::domain::permission::Permission::ReadAudit)?;
    Ok(axum::Json(audit::list(&state.store, &to_filter(&p)?).await?))
}

struct Line {
    row: AuditRow,
    at_text: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    tr: Tr,
    nav: Nav,
    params: AuditParams,
    lines: Vec<Line>,
    next_page: Option<String>,
    error: Option<String>,
}

fn local_time(ms: i64) -> String {
    crate::domain::time::second(ms)
}

async fn page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<AuditParams>,
) -> Result<Response, PageError> {
    user.may(crate::domain::permission::Permission::ReadAudit)?;
    let tr = Tr { locale };
    let nav = Nav::new(Some(&user), "/admin/audit");
    let (rows, error) = match to_filter(&p) {
        Ok(f) => (audit::list(&state.store, &f).await?, None),
        Err(Error::Validation(fields)) => (Vec::new(), fields.first().map(|f| format!("{}: {}", f.field, f.message))),
        Err(e) => return Err(e.into()),
    };
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let next_page = rows.last().filter(|_| rows.len() as i64 == limit).map(|last| {
        let mut q = p.clone();
        q.before = Some(last.seq);
        query_string(&q)
    });
    let lines = rows.into_iter().map(|row| Line { at_text: local_time(row.at), row }).collect();
    Ok(Page(AuditPage { tr, nav, params: p, lines, next_page, error }).into_response())
}

/// The query string of a filter, for the next-page link.
fn query_string(p: &AuditParams) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("actor", &p.actor), ("action", &p.action), ("target", &p.target), ("from", &p.from), ("to", &p.to)]
    {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    if let Some(b) = p.before {
        s.append_pair("before", &b.to_string());
    }
    if let Some(l) = p.limit {
        s.append_pair("limit", &l.to_string());
    }
    s.finish()
}
