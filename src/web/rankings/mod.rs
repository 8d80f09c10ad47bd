//! Fair rankings (比学赶超) of units or departments within a parent, per quarter or any period,
//! and the public transparency page. Both read the rollups and rank with
//! [`crate::domain::rates::rank`]: a minimum sample, the Wilson lower bound, shared ranks for ties,
//! movement against the previous period of the same length.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Datelike;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{CurrentUser, Lang, PageUser};
use super::charts::percent;
use super::dashboard::{Period, download};
use super::error::{ApiQuery, Error, ErrorBody, Result};
use super::pages::{Nav, Page, PageError};
use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::rates::{Entry, MIN_SAMPLE_RANGE, Measure, rank};
use crate::i18n::Tr;
use crate::store::dashboard::{self, Members, NodeCounts};
use crate::store::now_ms;
use crate::store::rollups::{date_of_day, day_of, day_of_date};

mod public;

pub use public::PublicCache;

pub use crate::domain::rates::MIN_SAMPLE;

/// The rankings API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(rankings)).routes(routes!(public::public_data))
}

/// The rankings and public pages.
pub fn pages() -> Router<AppState> {
    Router::new().route("/rankings", get(rankings_page)).route("/public", get(public::public_page))
}

/// What to rank.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankParams {
    /// The parent (default: the caller's first scope).
    pub under: Option<String>,
    /// `unit` or `department`: every node of that kind under the parent (default: its children).
    pub kind: Option<String>,
    /// `satisfaction` (default) or `on_time` (on-time rectification).
    pub measure: Option<String>,
    /// A quarter such as `2026Q3` (default: the current quarter so far); or use `from`/`to`.
    pub period: Option<String>,
    /// First day, YYYY-MM-DD.
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD.
    pub to: Option<String>,
    /// Minimum sample (default 30).
    pub min_sample: Option<i64>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

/// Parses `2026Q3` into its days.
pub fn quarter(s: &str) -> Option<Period> {
    let (y, q) =
        s.trim().to_ascii_uppercase().split_once('Q').map(|(y, q)| (y.parse::<i32>().ok(), q.parse::<u32>().ok()))?;
    let (y, q) = (y?, q?);
    if !(1..=4).contains(&q) {
        return None;
    }
    let start = chrono::NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1)?;
    let end = if q == 4 {
        chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        chrono::NaiveDate::from_ymd_opt(y, q * 3 + 1, 1)?
    };
    Some(Period { from: day_of_date(start), to: day_of_date(end) })
}

fn current_quarter() -> String {
    let today = date_of_day(day_of(now_ms()));
    format!("{}Q{}", today.year(), today.month0() / 3 + 1)
}

/// One ranked node.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RankRow {
    /// Rank, 1 for the best; `None`: not enough ratings (or reports) to rank.
    pub rank: Option<usize>,
    /// The node.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Successes (satisfied ratings, on-time reports).
    pub k: i64,
    /// Sample (ratings, reports).
    pub n: i64,
    /// k / n.
    pub rate: Option<f64>,
    /// Wilson lower bound (95%), the ordering key.
    pub score: f64,
    /// Rank in the previous period of the same length.
    pub previous_rank: Option<usize>,
    /// Places gained (positive) or lost since then.
    pub movement: Option<i64>,
}

/// A ranking.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Ranking {
    /// The parent.
    pub under: String,
    /// `satisfaction` or `on_time`.
    pub measure: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// The previous period's first day.
    pub previous_from: String,
    /// The minimum sample.
    pub min_sample: i64,
    /// Ranked first, then those without enough ratings.
    pub rows: Vec<RankRow>,
}

fn entries(nodes: &[NodeCounts], measure: Measure) -> Vec<Entry> {
    nodes.iter().map(|n| measure.entry(&n.code, &n.counts)).collect()
}

/// Ranks the members of `parent` over `p` against the previous period of the same length.
pub async fn build(
    state: &AppState,
    parent: &OrgCode,
    kind: Option<&str>,
    measure: Measure,
    p: Period,
    min_sample: i64,
) -> Result<Ranking> {
    let members = match kind {
        Some(k) => Members::Descendants(k),
        None => Members::Children,
    };
    let now = dashboard::members(&state.store, parent.as_str(), members, p.from, p.to).await?;
    let length = p.to - p.from;
    let before = dashboard::members(&state.store, parent.as_str(), members, p.from - length, p.from).await?;
    let previous = rank(&entries(&before, measure), min_sample);
    let rows = rank(&entries(&now, measure), min_sample)
        .into_iter()
        .map(|r| {
            let previous_rank = previous.iter().find(|x| x.code == r.code).and_then(|x| x.rank);
            let movement = match (r.rank, previous_rank) {
                (Some(a), Some(b)) => Some(i64::try_from(b).unwrap_or(0) - i64::try_from(a).unwrap_or(0)),
                _ => None,
            };
            RankRow {
                name: now.iter().find(|n| n.code == r.code).map(|n| n.name.clone()).unwrap_or_default(),
                rank: r.rank,
                code: r.code,
                k: r.k,
                n: r.n,
                rate: r.rate,
                score: r.score,
                previous_rank,
                movement,
            }
        })
        .collect();
    Ok(Ranking {
        under: parent.to_string(),
        measure: measure.as_str().to_owned(),
        from: p.first(),
        to: p.last(),
        previous_from: date_of_day(p.from - length).to_string(),
        min_sample,
        rows,
    })
}

struct Parsed {
    kind: Option<String>,
    measure: Measure,
    period: Period,
    min_sample: i64,
}

fn parse(p: &RankParams) -> Result<Parsed> {
    let mut errors = Vec::new();
    let kind = match p.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k @ ("unit" | "department" | "window" | "region")) => Some(k.to_owned()),
        Some(other) => {
            errors.push(FieldError::new("kind", format!("{other:?} is not unit, department, window or region")));
            None
        }
    };
    let measure = match p.measure.as_deref().map(|m| (m, Measure::parse(m))) {
        None => Measure::Satisfaction,
        Some((_, Some(m))) => m,
        Some((other, None)) => {
            errors.push(FieldError::new("measure", format!("{other:?} is not satisfaction or on_time")));
            Measure::Satisfaction
        }
    };
    let min_sample = p.min_sample.unwrap_or(MIN_SAMPLE);
    if !MIN_SAMPLE_RANGE.contains(&min_sample) {
        errors.push(FieldError::new("min_sample", "from 1 to 100000"));
    }
    let period = if p.from.is_some() || p.to.is_some() {
        match Period::parse(p.from.as_deref(), p.to.as_deref()) {
            Ok(period) => Some(period),
            Err(Error::Validation(fields)) => {
                errors.extend(fields);
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        let q = p.period.clone().filter(|q| !q.is_empty()).unwrap_or_else(current_quarter);
        let parsed = quarter(&q);
        if parsed.is_none() {
            errors.push(FieldError::new("period", "a quarter such as 2026Q3"));
        }
        parsed
    };
    match period {
        Some(period) if errors.is_empty() => Ok(Parsed { kind, measure, period, min_sample }),
        _ => Err(Error::Validation(errors)),
    }
}

fn rows_of(r: &Ranking) -> Vec<Vec<String>> {
    let mut rows = vec![
        ["名次", "编码", "名称", "样本", "达标数", "比率", "威尔逊下限", "上期名次", "变化"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>(),
    ];
    for x in &r.rows {
        rows.push(vec![
            x.rank.map_or_else(|| "评价不足".to_owned(), |r| r.to_string()),
            x.code.clone(),
            x.name.clone(),
            x.n.to_string(),
            x.k.to_string(),
            percent(x.rate),
            format!("{:.4}", x.score),
            x.previous_rank.map(|r| r.to_string()).unwrap_or_default(),
            x.movement.map(|m| format!("{m:+}")).unwrap_or_default(),
        ]);
    }
    rows
}

/// Rank units or departments within a parent for a quarter or period (JSON, CSV or XLSX).
#[utoipa::path(get, path = "/rankings", tag = "dashboard", params(RankParams),
    responses((status = 200, body = Ranking), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn rankings(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<RankParams>,
) -> Result<Response> {
    user.may(crate::domain::permission::Permission::ReadRatings)?;
    let parsed = parse(&p)?;
    let parent = user.subtree(&state, p.under.as_deref()).await?;
    let r = build(&state, &parent, parsed.kind.as_deref(), parsed.measure, parsed.period, parsed.min_sample).await?;
    match p.format.as_deref().unwrap_or("json") {
        "json" => Ok(axum::Json(r).into_response()),
        f => download(Some(f), "rankings", &format!("rankings-{}-{}-{}", r.under, r.from, r.to), &rows_of(&r)),
    }
}

struct RowView {
    r: RankRow,
    rate: String,
    score: String,
    movement: String,
}

#[derive(Template)]
#[template(path = "rankings.html")]
struct RankingsPage {
    tr: Tr,
    nav: Nav,
    ranking: Ranking,
    rows: Vec<RowView>,
    p: RankParams,
    query: String,
}

fn views(r: &Ranking) -> Vec<RowView> {
    r.rows
        .iter()
        .map(|x| RowView {
            rate: percent(x.rate),
            score: format!("{:.3}", x.score),
            movement: match x.movement {
                Some(m) if m > 0 => format!("↑{m}"),
                Some(m) if m < 0 => format!("↓{}", -m),
                Some(_) => "—".into(),
                None => String::new(),
            },
            r: x.clone(),
        })
        .collect()
}

async fn rankings_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<RankParams>,
) -> Result<Response, PageError> {
    user.may(crate::domain::permission::Permission::ReadRatings)?;
    let parsed = parse(&p)?;
    let parent = user.subtree(&state, p.under.as_deref()).await?;
    let ranking =
        build(&state, &parent, parsed.kind.as_deref(), parsed.measure, parsed.period, parsed.min_sample).await?;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("under", &ranking.under)
        .append_pair("kind", p.kind.as_deref().unwrap_or_default())
        .append_pair("measure", &ranking.measure)
        .append_pair("from", &ranking.from)
        .append_pair("to", &ranking.to)
        .append_pair("min_sample", &ranking.min_sample.to_string())
        .finish();
    let page = RankingsPage {
        tr: Tr { locale },
        nav: Nav::new(Some(&user), "/rankings"),
        rows: views(&ranking),
        ranking,
        p,
        query,
    };
    Ok(Page(page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_parse_into_their_days() {
        let q = quarter("2026Q4").unwrap_or_else(|| panic!("parses"));
        assert_eq!((q.first(), q.last()), ("2026-10-01".to_owned(), "2026-12-31".to_owned()));
        assert_eq!(quarter("2026q1").map(|p| p.to - p.from), Some(90));
        assert!(quarter("2026Q5").is_none() && quarter("soon").is_none());
    }
}
