//! The supervisor dashboard: for any node the viewer may see and any period, the standard rates,
//! ratings by child node (drilling down to staff), the trend, the hour × weekday heatmap of
//! unsatisfied ratings, the reasons, the case funnel, live alerts, overdue cases and people held
//! to account. Everything comes from the rollups. JSON API, exports and the page.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::Datelike;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::CurrentUser;
use super::error::{ApiQuery, Error, ErrorBody, Result};
use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::rates::{Counts, Rate};
use crate::domain::role::Role;
use crate::store::dashboard::{self, Members, NodeCounts};
use crate::store::rollups::{date_of_day, day_of, day_of_date, day_start_ms};
use crate::store::{now_ms, org};

mod export;
mod page;
pub mod reports;

pub use export::{download, download_format, member_rows};

/// The dashboard API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(data)).routes(routes!(export::export))
}

/// The dashboard and rate help pages.
pub fn pages() -> Router<AppState> {
    Router::new().route("/dashboard", get(page::page)).route("/help/rates", get(page::help))
}

/// The node and period asked for.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// The node (default: the caller's first scope).
    pub under: Option<String>,
    /// First day, YYYY-MM-DD (default: 30 days before `to`).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today, China time).
    pub to: Option<String>,
    /// Trend by `day` (default), `week` or `month`.
    pub trend: Option<String>,
    /// Exports: `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// Exports: `members` (default: the table by child node), `trend` or `reasons`.
    pub table: Option<String>,
}

/// A period of days `[from, to)`, parsed from dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: i64,
    /// The day after the last.
    pub to: i64,
}

impl Period {
    /// Parses `from` and `to` (inclusive dates); defaults to the 30 days up to today.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Period> {
        let mut errors = Vec::new();
        let mut date = |field: &str, s: Option<&str>| -> Option<i64> {
            let s = s.map(str::trim).filter(|s| !s.is_empty())?;
            match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Some(day_of_date(d)),
                Err(_) => {
                    errors.push(FieldError::new(field, "a date as YYYY-MM-DD"));
                    None
                }
            }
        };
        let last = date("to", to).unwrap_or_else(|| day_of(now_ms()));
        let first = date("from", from).unwrap_or(last - 29);
        if errors.is_empty() && first > last {
            errors.push(FieldError::new("from", "must not be after `to`"));
        }
        if errors.is_empty() && last - first > 3 * 366 {
            errors.push(FieldError::new("from", "a period of at most three years"));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(Period { from: first, to: last + 1 })
    }

    /// The first day as a date.
    pub fn first(&self) -> String {
        date_of_day(self.from).to_string()
    }

    /// The last day as a date.
    pub fn last(&self) -> String {
        date_of_day(self.to - 1).to_string()
    }
}

/// A node in the dashboard's answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Member {
    /// The node (or staff number).
    pub code: String,
    /// Its name.
    pub name: String,
    /// region, department, unit, window or staff.
    pub kind: String,
    /// Counts over the period.
    pub counts: Counts,
    /// 满意率 over the period.
    pub satisfaction: Option<f64>,
    /// 按期整改率 over the period.
    pub on_time: Option<f64>,
}

impl From<NodeCounts> for Member {
    fn from(n: NodeCounts) -> Member {
        Member {
            satisfaction: n.counts.satisfaction().value,
            on_time: n.counts.on_time().value,
            code: n.code,
            name: n.name,
            kind: n.kind,
            counts: n.counts,
        }
    }
}

/// One point of the trend.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    /// The period's first day.
    pub start: String,
    /// Counts.
    pub counts: Counts,
}

/// One stage of the case funnel.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FunnelStage)]
pub struct Stage {
    /// Stable key.
    pub key: &'static str,
    /// How many.
    pub n: i64,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    /// The node.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Totals over the period.
    pub totals: Counts,
    /// The standard rates, with their formulas.
    pub rates: Vec<Rate>,
    /// By child node (or by staff member below a window).
    pub members: Vec<Member>,
    /// By day, week or month.
    pub trend: Vec<TrendPoint>,
    /// Unsatisfied ratings by weekday (0 = Monday) × hour.
    pub heatmap: Vec<Vec<i64>>,
    /// Reasons given, most frequent first.
    pub reasons: Vec<(String, i64)>,
    /// unsatisfied → cases → substantiated → rectified on time → accountability decisions.
    pub funnel: Vec<Stage>,
    /// Live alerts open now.
    pub alerts: Vec<crate::store::alerts::Alert>,
    /// Open cases past a deadline, most overdue first (at most 20).
    pub overdue: Vec<crate::web::cases::view::CaseView>,
    /// People held to account in the period, by kind.
    pub accountability: Vec<(crate::domain::case::Accountability, i64)>,
}

fn bucket(day: i64, trend: &str) -> i64 {
    let d = date_of_day(day);
    match trend {
        "week" => day - i64::from(d.weekday().num_days_from_monday()),
        "month" => day - i64::from(d.day0()),
        _ => day,
    }
}

/// Builds the dashboard of `node` for `p`.
pub async fn build(state: &AppState, node: &OrgCode, p: Period, trend: &str) -> Result<Dashboard> {
    let info = org::get(&state.store, node).await?.ok_or(Error::NotFound)?;
    let store = &state.store;
    let mut members: Vec<Member> = dashboard::members(store, node.as_str(), Members::Children, p.from, p.to)
        .await?
        .into_iter()
        .map(Member::from)
        .collect();
    if members.is_empty() && matches!(info.kind.as_str(), "unit" | "window") {
        members = dashboard::staff(store, node.as_str(), day_start_ms(p.from), day_start_ms(p.to))
            .await?
            .into_iter()
            .map(Member::from)
            .collect();
    }
    let days = dashboard::days(store, node.as_str(), p.from, p.to).await?;
    let mut totals = Counts::default();
    let mut by_bucket: std::collections::BTreeMap<i64, Counts> = std::collections::BTreeMap::new();
    for (day, c) in &days {
        totals.add(c);
        by_bucket.entry(bucket(*day, trend)).or_default().add(c);
    }
    let trend = by_bucket
        .into_iter()
        .map(|(start, counts)| TrendPoint { start: date_of_day(start).to_string(), counts })
        .collect();
    let grid = dashboard::heatmap(store, node.as_str(), p.from, p.to).await?;
    let reasons = dashboard::reasons(store, node.as_str(), p.from, p.to).await?;
    let funnel = vec![
        Stage { key: "unsatisfied", n: totals.unsatisfied },
        Stage { key: "cases", n: totals.opened },
        Stage { key: "substantiated", n: totals.substantiated },
        Stage { key: "rectified_on_time", n: totals.reported_on_time },
        Stage { key: "decided", n: totals.decided },
    ];
    let alerts = crate::store::alerts::list(store, node, true).await?;
    let filter = crate::store::cases::Filter {
        under: Some(node.clone()),
        overdue_at: Some(now_ms()),
        limit: 20,
        ..Default::default()
    };
    let (overdue, _) = crate::store::cases::list(
        store,
        &crate::store::cases::Viewer { scopes: std::slice::from_ref(node), role: Role::Supervisor, username: "" },
        &filter,
    )
    .await?;
    let accountability =
        crate::store::cases::register::counts(store, node, day_start_ms(p.from), day_start_ms(p.to)).await?;
    Ok(Dashboard {
        code: info.code.clone(),
        name: info.name.clone(),
        kind: info.kind.as_str().to_owned(),
        from: p.first(),
        to: p.last(),
        rates: totals.rates(),
        totals,
        members,
        trend,
        heatmap: grid.iter().map(|r| r.to_vec()).collect(),
        reasons,
        funnel,
        alerts,
        overdue: overdue.iter().map(crate::web::cases::view::CaseView::from).collect(),
        accountability,
    })
}

fn trend_of(p: &Params) -> Result<&str> {
    match p.trend.as_deref().unwrap_or("day") {
        t @ ("day" | "week" | "month") => Ok(t),
        other => Err(Error::field("trend", format!("{other:?} is not day, week or month"))),
    }
}

/// The dashboard's data for a node and period.
#[utoipa::path(get, path = "/dashboard", tag = "dashboard", params(Params),
    responses((status = 200, body = Dashboard), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn data(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<axum::Json<Dashboard>> {
    user.may(crate::domain::permission::Permission::ViewDashboards)?;
    let period = Period::parse(p.from.as_deref(), p.to.as_deref())?;
    let trend = trend_of(&p)?;
    let node = user.subtree(&state, p.under.as_deref()).await?;
    Ok(axum::Json(build(&state, &node, period, trend).await?))
}
