//! The public transparency page (公开): for a quarter, the satisfaction and on-time
//! rectification of departments and units with enough ratings, for anyone, with no personal
//! data or comments; as JSON, CSV, XLSX and as a page.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use crate::i18n::Tr;
use crate::store::dashboard::{self, Members};
use crate::web::AppState;
use crate::web::auth::{Lang, MaybeUser};
use crate::web::charts::percent;
use crate::web::dashboard::download;
use crate::web::error::{ApiQuery, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError};

use super::{MIN_SAMPLE, current_quarter, quarter};

/// The public figures of one node.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicRow {
    /// The node.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Ratings counted.
    pub ratings: i64,
    /// 满意率.
    pub satisfaction: Option<f64>,
    /// Rectification reports.
    pub reports: i64,
    /// 按期整改率 (only with at least the minimum sample of reports).
    pub on_time: Option<f64>,
}

/// The transparency page's figures: no personal data, no comments.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Public {
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// The minimum sample below which a node is not shown.
    pub min_sample: i64,
    /// Departments with enough ratings.
    pub departments: Vec<PublicRow>,
    /// Units with enough ratings.
    pub units: Vec<PublicRow>,
    /// How many units were left out for too few ratings.
    pub units_not_shown: usize,
    /// When these figures were computed (China time, to the minute): they are kept for up to
    /// a minute.
    pub as_of: String,
}

/// How long the public figures are kept before they are computed again.
const KEEP: std::time::Duration = std::time::Duration::from_secs(60);

/// Quarters kept at once (the period is the visitor's choice).
const KEEP_QUARTERS: usize = 8;

/// The public figures per quarter, each kept for a minute: the page is for anyone and sums every
/// unit's rollups (0.2 s at 100,000 ratings a month), so a rush of visitors must not recompute
/// it for each of them. Per server process.
#[derive(Debug, Default)]
pub struct PublicCache(std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Public)>>);

impl PublicCache {
    fn get(&self, quarter: &str) -> Option<Public> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(quarter).filter(|(at, _)| at.elapsed() < KEEP).map(|(_, p)| p.clone())
    }

    fn put(&self, quarter: String, public: Public) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (at, _)| at.elapsed() < KEEP);
        if map.len() >= KEEP_QUARTERS
            && let Some(oldest) = map.iter().min_by_key(|(_, (at, _))| *at).map(|(q, _)| q.clone())
        {
            map.remove(&oldest);
        }
        map.insert(quarter, (std::time::Instant::now(), public));
    }
}

/// The period shown publicly.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicParams {
    /// A quarter such as `2026Q3` (default: the current quarter so far).
    pub period: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

async fn public(state: &AppState, period: Option<&str>) -> Result<Public> {
    let q = period.filter(|q| !q.is_empty()).map_or_else(current_quarter, str::to_owned);
    let p = quarter(&q).ok_or_else(|| Error::field("period", "a quarter such as 2026Q3"))?;
    if let Some(kept) = state.public_cache.get(&q) {
        return Ok(kept);
    }
    let roots = crate::store::org::roots(&state.store).await?;
    let mut departments = Vec::new();
    let mut units = Vec::new();
    let mut units_not_shown = 0;
    for root in roots {
        for (kind, out) in [("department", &mut departments), ("unit", &mut units)] {
            for n in dashboard::members(&state.store, &root, Members::Descendants(kind), p.from, p.to).await? {
                let c = &n.counts;
                if c.ratings < MIN_SAMPLE {
                    if kind == "unit" {
                        units_not_shown += 1;
                    }
                    continue;
                }
                out.push(PublicRow {
                    code: n.code.clone(),
                    name: n.name.clone(),
                    ratings: c.ratings,
                    satisfaction: c.satisfaction().value,
                    reports: c.reported,
                    on_time: if c.reported >= 5 { c.on_time().value } else { None },
                });
            }
        }
    }
    let as_of = crate::web::pages::local(crate::store::now_ms());
    let public =
        Public { from: p.first(), to: p.last(), min_sample: MIN_SAMPLE, departments, units, units_not_shown, as_of };
    state.public_cache.put(q, public.clone());
    Ok(public)
}

/// The public transparency figures (no login): satisfaction and on-time rectification per
/// department and unit with enough ratings.
#[utoipa::path(get, path = "/public", tag = "dashboard", params(PublicParams),
    responses((status = 200, body = Public, description = "JSON, or the file for csv/xlsx"), (status = 422, body = ErrorBody)))]
pub(super) async fn public_data(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<PublicParams>,
) -> Result<Response> {
    let data = public(&state, p.period.as_deref()).await?;
    match p.format.as_deref().unwrap_or("json") {
        "json" => Ok(axum::Json(data).into_response()),
        f => {
            let mut rows = vec![
                ["类型", "编码", "名称", "评价数", "满意率", "整改报告", "按期整改率"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>(),
            ];
            for (kind, list) in [("部门", &data.departments), ("单位", &data.units)] {
                for r in list {
                    rows.push(vec![
                        kind.to_owned(),
                        r.code.clone(),
                        r.name.clone(),
                        r.ratings.to_string(),
                        percent(r.satisfaction),
                        r.reports.to_string(),
                        percent(r.on_time),
                    ]);
                }
            }
            download(Some(f), "public", &format!("public-{}-{}", data.from, data.to), &rows)
        }
    }
}

struct PublicView {
    row: PublicRow,
    satisfaction: String,
    on_time: String,
}

#[derive(Template)]
#[template(path = "public.html")]
struct PublicPage {
    tr: Tr,
    nav: Nav,
    data: Public,
    departments: Vec<PublicView>,
    units: Vec<PublicView>,
}

pub(super) async fn public_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    user: MaybeUser,
    Query(p): Query<PublicParams>,
) -> Result<Response, PageError> {
    let data = public(&state, p.period.as_deref()).await?;
    let view = |rows: &[PublicRow]| {
        rows.iter()
            .map(|r| PublicView { satisfaction: percent(r.satisfaction), on_time: percent(r.on_time), row: r.clone() })
            .collect()
    };
    let page = PublicPage {
        tr: Tr { locale },
        nav: Nav::new(user.0.as_ref(), "/public"),
        departments: view(&data.departments),
        units: view(&data.units),
        data,
    };
    Ok(Page(page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(from: &str) -> Public {
        Public {
            from: from.into(),
            to: String::new(),
            min_sample: MIN_SAMPLE,
            departments: Vec::new(),
            units: Vec::new(),
            units_not_shown: 0,
            as_of: String::new(),
        }
    }

    #[test]
    fn figures_are_kept_a_minute_per_quarter_and_few_quarters_at_once() {
        let cache = PublicCache::default();
        cache.put("2026Q4".into(), figures("2026-10-01"));
        assert_eq!(cache.get("2026Q4").map(|p| p.from), Some("2026-10-01".to_owned()));
        assert!(cache.get("2026Q3").is_none());
        // Computed over a minute ago: computed again.
        if let Some(old) = std::time::Instant::now().checked_sub(KEEP + std::time::Duration::from_secs(1)) {
            cache
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert("2026Q2".into(), (old, figures("2026-04-01")));
            assert!(cache.get("2026Q2").is_none());
        }
        for y in 2000..2020 {
            cache.put(format!("{y}Q1"), figures(&format!("{y}-01-01")));
        }
        assert_eq!(cache.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len(), KEEP_QUARTERS);
        assert!(cache.get("2019Q1").is_some() && cache.get("2000Q1").is_none(), "the oldest go first");
    }
}
