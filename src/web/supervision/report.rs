//! The ledger in numbers: per team and per district (`/api/v1/supervision/stats`, the page
//! `/supervision/dashboard`, each figure a link to the items behind it) and the monthly bulletin
//! (通报: `/api/v1/supervision/bulletin`, the printable page `/supervision/bulletin`, and its
//! tables as CSV or XLSX), generated from the data: it praises and names units by a stated rule
//! (`domain::item::bulletin`).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;

use crate::domain::ids::OrgCode;
use crate::domain::item::bulletin::{self, UnitRecord};
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::store::items::stats::{self, By, Tally};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiQuery, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError};

/// Which month, where.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The month, YYYY-MM (the dashboard: this month; the bulletin: the last complete month).
    pub month: Option<String>,
    /// Root of the subtree (default: the caller's first scope).
    pub under: Option<String>,
    /// Downloads: `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// A month's bounds, ms, China time: `text` (YYYY-MM), or the month `back` months before now's.
pub fn month_of(text: Option<&str>, back: u32, tr: Tr) -> Result<(String, i64, i64)> {
    let first = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => chrono::NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d")
            .map_err(|_| Error::field("month", tr.t("ledger.err.month")))?,
        None => {
            let now =
                chrono::DateTime::from_timestamp_millis(crate::store::now_ms() + crate::domain::time::CST_OFFSET_MS)
                    .unwrap_or_default()
                    .date_naive();
            let mut first = now.with_day(1).unwrap_or(now);
            for _ in 0..back {
                first = (first - chrono::Days::new(1)).with_day(1).unwrap_or(first);
            }
            first
        }
    };
    let next = (first + chrono::Days::new(31)).with_day(1).unwrap_or(first);
    let start = crate::domain::time::day_start(first).ok_or_else(|| Error::field("month", tr.t("ledger.err.month")))?;
    let end = crate::domain::time::day_start(next).ok_or_else(|| Error::field("month", tr.t("ledger.err.month")))?;
    Ok((first.format("%Y-%m").to_string(), start, end))
}

/// The ledger's figures for a month.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    /// The month, YYYY-MM.
    pub month: String,
    /// The subtree's root.
    pub under: String,
    /// Per team.
    pub teams: Vec<Tally>,
    /// Per district (the nodes just below the root).
    pub districts: Vec<Tally>,
    /// All of them.
    pub total: Tally,
}

/// The bulletin: the month's figures and the units praised and named.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Bulletin {
    /// The figures.
    pub stats: Stats,
    /// Units praised: every problem fixed by its deadline, none came back.
    pub praised: Vec<UnitRecord>,
    /// Units named: someone held to account, two or more items overdue, or a problem that came
    /// back; the worst first.
    pub named: Vec<UnitRecord>,
}

fn sum(rows: &[Tally], name: &str) -> Tally {
    let mut t = Tally { key: String::new(), name: name.to_owned(), ..Default::default() };
    for r in rows {
        t.found += r.found;
        t.fixed += r.fixed;
        t.fixed_on_time += r.fixed_on_time;
        t.overdue += r.overdue;
        t.recurring += r.recurring;
        t.held += r.held;
        for (a, b) in t.colours.iter_mut().zip(r.colours) {
            *a += b;
        }
    }
    t
}

async fn build(
    state: &AppState,
    user: &CurrentUser,
    p: &ReportParams,
    back: u32,
    tr: Tr,
) -> Result<(Stats, OrgCode, i64, i64)> {
    user.may(Permission::ReadLedger)?;
    let (month, from, to) = month_of(p.month.as_deref(), back, tr)?;
    let root = user.subtree(state, p.under.as_deref()).await?;
    let now = crate::store::now_ms();
    let teams = stats::tallies(&state.store, By::Team, &root, from, to, now).await?;
    let districts = stats::tallies(&state.store, By::District, &root, from, to, now).await?;
    let total = sum(&districts, tr.t("report.total"));
    Ok((Stats { month, under: root.as_str().to_owned(), teams, districts, total }, root, from, to))
}

/// The month's figures per team and per district.
#[utoipa::path(get, path = "/supervision/stats", tag = "supervision", params(ReportParams),
    responses((status = 200, body = Stats), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn stats_api(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<axum::Json<Stats>> {
    Ok(axum::Json(build(&state, &user, &p, 0, super::items::API).await?.0))
}

async fn bulletin_of(state: &AppState, user: &CurrentUser, p: &ReportParams, tr: Tr) -> Result<Bulletin> {
    let (stats, root, from, to) = build(state, user, p, 1, tr).await?;
    let units = stats::units(&state.store, &root, from, to, crate::store::now_ms()).await?;
    Ok(Bulletin { praised: bulletin::praised(&units), named: bulletin::named(&units), stats })
}

/// The monthly bulletin (通报): the figures, the units praised and named.
#[utoipa::path(get, path = "/supervision/bulletin", tag = "supervision", params(ReportParams),
    responses((status = 200, body = Bulletin), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn bulletin_api(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<axum::Json<Bulletin>> {
    Ok(axum::Json(bulletin_of(&state, &user, &p, super::items::API).await?))
}

/// The bulletin's tables (teams, districts, praised, named) as one CSV or XLSX sheet.
#[utoipa::path(get, path = "/supervision/bulletin/export", tag = "supervision", params(ReportParams),
    responses((status = 200, description = "The file", content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn bulletin_export(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response> {
    crate::web::dashboard::download_format(p.format.as_deref())?;
    let tr = Tr { locale: crate::i18n::Locale::ZhCn };
    let b = bulletin_of(&state, &user, &p, tr).await?;
    let mut rows = vec![vec![format!("{} {}", b.stats.month, tr.t("bulletin.title"))]];
    let head = [
        "",
        "report.found",
        "report.fixed",
        "report.on_time",
        "report.overdue",
        "report.recurring",
        "item.colour.red",
        "report.held",
    ];
    for (title, list) in [("report.teams", &b.stats.teams), ("report.districts", &b.stats.districts)] {
        rows.push(vec![tr.t(title).to_owned()]);
        rows.push(head.iter().map(|k| if k.is_empty() { String::new() } else { tr.t(k).to_owned() }).collect());
        for t in list.iter().chain(std::iter::once(&b.stats.total)) {
            rows.push(vec![
                t.name.clone(),
                t.found.to_string(),
                t.fixed.to_string(),
                t.fixed_on_time.to_string(),
                t.overdue.to_string(),
                t.recurring.to_string(),
                t.colours[3].to_string(),
                t.held.to_string(),
            ]);
        }
    }
    for (title, list) in [("bulletin.praised", &b.praised), ("bulletin.named", &b.named)] {
        rows.push(vec![tr.t(title).to_owned()]);
        for u in list {
            rows.push(vec![
                u.name.clone(),
                u.found.to_string(),
                u.on_time.to_string(),
                u.overdue.to_string(),
                u.recurring.to_string(),
                u.held.to_string(),
            ]);
        }
    }
    // One sheet, one width: every row is as wide as the widest.
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for r in &mut rows {
        r.resize(width, String::new());
    }
    let name = format!("bulletin-{}-{}", b.stats.under, b.stats.month);
    crate::web::dashboard::download(p.format.as_deref(), "bulletin", &name, &rows)
}

#[derive(Template)]
#[template(path = "supervision_dashboard.html")]
struct DashboardPage {
    tr: Tr,
    nav: Nav,
    s: Stats,
}

/// `/supervision/dashboard`.
pub(super) async fn dashboard_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<ReportParams>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let (s, ..) = build(&state, &user, &p, 0, tr).await?;
    Ok(Page(DashboardPage { tr, nav: Nav::new(Some(&user), "/supervision/dashboard"), s }).into_response())
}

#[derive(Template)]
#[template(path = "bulletin.html")]
struct BulletinPage {
    tr: Tr,
    nav: Nav,
    b: Bulletin,
    issued: String,
}

/// `/supervision/bulletin`: printable.
pub(super) async fn bulletin_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<ReportParams>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let b = bulletin_of(&state, &user, &p, tr).await?;
    let issued = crate::domain::time::date_zh(crate::store::now_ms());
    Ok(Page(BulletinPage { tr, nav: Nav::new(Some(&user), "/supervision/bulletin"), b, issued }).into_response())
}
