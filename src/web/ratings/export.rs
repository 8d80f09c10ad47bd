//! The ratings export (`GET /api/v1/ratings/export`): a subtree's ratings of a period as CSV,
//! streamed a page at a time, or as XLSX, built in memory up to `max_export_ratings`.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::OrgCode;
use crate::domain::rating::Outcome;
use crate::store::ratings::{self, RatingView};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiQuery, Error, ErrorBody, Result};
use crate::web::ratings::parse_outcome;

/// The export route.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_ratings))
}

/// Export filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Root of the subtree (default: the caller's first scope).
    pub under: Option<String>,
    /// satisfied, neutral or unsatisfied.
    pub outcome: Option<String>,
    /// First day, YYYY-MM-DD, China time (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, inclusive (default: today).
    pub to: Option<String>,
    /// csv (default) or xlsx.
    pub format: Option<String>,
}

/// Ratings of units under a node received in a period, oldest first, as CSV or XLSX: time,
/// node, staff, scale, level, reasons, comment, phone (masked except for supervisors), source,
/// flags, defaulted, excluded, appeal. Who rated is never exported. CSV is streamed a page at a
/// time and takes any period; XLSX is built in memory, so more ratings than
/// `max_export_ratings` (configuration, default 100000) is a 422 naming `format`. A file is never
/// cut short: a failure during a stream breaks the download.
#[utoipa::path(get, path = "/ratings/export", tag = "ratings", params(ExportParams),
    responses((status = 200, description = "The file", content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn export_ratings(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<axum::response::Response> {
    user.may(crate::domain::permission::Permission::ReadRatings)?;
    let root = user.subtree(&state, p.under.as_deref()).await?;
    let outcome = parse_outcome(p.outcome.as_deref())?;
    // Every filter is checked before the ratings are read.
    let format = crate::web::dashboard::download_format(p.format.as_deref())?;
    let period = crate::web::dashboard::Period::parse(p.from.as_deref(), p.to.as_deref())?;
    let range = (crate::store::rollups::day_start_ms(period.from), crate::store::rollups::day_start_ms(period.to));
    let sees_phone = user.user.role.may(crate::domain::permission::Permission::SeeFullPhone);
    let name = format!("ratings-{}-{}-{}", root.as_str(), period.first(), period.last());
    if format == crate::imports::Format::Csv {
        return Ok(stream_csv(state, root, outcome, range, sees_phone, &name));
    }
    let reveal = sees_phone.then_some(&state.ratings.sealer);
    let max = state.config.max_export_ratings;
    let list = ratings::in_period(&state.store, &root, outcome, range, None, max as i64 + 1, reveal).await?;
    if list.len() > max {
        return Err(Error::field(
            "format",
            format!(
                "more than {max} ratings in this period for XLSX; choose CSV (any size), a shorter period or a smaller part of the tree"
            ),
        ));
    }
    let mut table = vec![EXPORT_HEADER.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()];
    table.extend(export_rows(&state, list, &mut crate::web::ratings::page::Places::under(&state, &root).await?).await?);
    crate::web::dashboard::download(p.format.as_deref(), "ratings", &name, &table)
}

const EXPORT_HEADER: [&str; 16] = [
    "时间",
    "编码",
    "被评价对象",
    "单位编码",
    "工号",
    "量表",
    "等级",
    "评价",
    "原因",
    "意见",
    "手机号",
    "来源",
    "标记",
    "默认评价",
    "不计入统计",
    "申诉",
];

/// Ratings as rows of the export (after its header); `places` keeps the nodes' names and
/// settings between pages.
async fn export_rows(
    state: &AppState,
    list: Vec<RatingView>,
    places: &mut crate::web::ratings::page::Places,
) -> Result<Vec<Vec<String>>> {
    let tr = crate::i18n::Tr { locale: crate::i18n::Locale::ZhCn };
    let yes = |b: bool| if b { "是".to_owned() } else { String::new() };
    let mut table = Vec::with_capacity(list.len());
    for row in crate::web::ratings::page::rows_with(state, tr, list, places).await? {
        let r = row.r;
        table.push(vec![
            row.at,
            r.org_code,
            row.place,
            r.unit_code,
            r.staff_no.unwrap_or_default(),
            r.scale.as_str().to_owned(),
            r.level.to_string(),
            row.outcome,
            row.reasons,
            r.comment.unwrap_or_default(),
            r.phone.unwrap_or_default(),
            r.source,
            r.flags.join(" "),
            yes(r.defaulted),
            yes(r.excluded),
            r.appeal.map(|a| tr.t(&format!("appeal.{a}")).to_owned()).unwrap_or_default(),
        ]);
    }
    Ok(table)
}

/// Ratings read and written per step of a streamed CSV export.
const EXPORT_PAGE: i64 = 2_000;

/// The CSV export, streamed: the header, then the ratings a page at a time (by time and id), so
/// a period of any size takes the memory of one page. A failure after the first bytes ends the
/// body with an error, which the client sees as a broken download, never as a complete file.
fn stream_csv(
    state: AppState,
    root: OrgCode,
    outcome: Option<Outcome>,
    range: (i64, i64),
    sees_phone: bool,
    name: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::result::Result<Vec<u8>, std::io::Error>>(4);
    tokio::spawn(async move {
        let csv = |rows: &[Vec<String>]| {
            crate::imports::write_table(crate::imports::Format::Csv, "ratings", rows).map_err(std::io::Error::other)
        };
        let header = vec![EXPORT_HEADER.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()];
        if tx.send(csv(&header)).await.is_err() {
            return;
        }
        let reveal = sees_phone.then_some(&state.ratings.sealer);
        let mut after: Option<(i64, String)> = None;
        let mut places = match crate::web::ratings::page::Places::under(&state, &root).await {
            Ok(places) => places,
            Err(e) => {
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                return;
            }
        };
        loop {
            let cursor = after.as_ref().map(|(at, id)| (*at, id.as_str()));
            let page = match ratings::in_period(&state.store, &root, outcome, range, cursor, EXPORT_PAGE, reveal).await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "ratings export failed");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let full = page.len() as i64 == EXPORT_PAGE;
            after = page.last().map(|r| (r.created_at, r.id.clone()));
            let bytes = match export_rows(&state, page, &mut places).await {
                Ok(rows) => csv(&rows),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let failed = bytes.is_err();
            if tx.send(bytes).await.is_err() || failed || !full {
                return;
            }
        }
    });
    let body = axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    let kind = crate::imports::Format::Csv.content_type().to_owned();
    ([(axum::http::header::CONTENT_TYPE, kind), (axum::http::header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}
