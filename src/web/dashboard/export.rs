//! Dashboard exports: the members table as CSV or XLSX.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::imports::{self, Format};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::charts::percent;
use crate::web::error::{ApiQuery, Error, ErrorBody, Result};

use super::{Member, Params, Period, build, trend_of};

/// The table of the dashboard's members as rows (header first).
pub fn member_rows(members: &[Member]) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "编码",
            "名称",
            "类型",
            "评价数",
            "满意",
            "一般",
            "不满意",
            "满意率",
            "工单",
            "整改报告",
            "按期整改率",
            "问责人次",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>(),
    ];
    for m in members {
        let c = &m.counts;
        rows.push(vec![
            m.code.clone(),
            m.name.clone(),
            m.kind.clone(),
            c.ratings.to_string(),
            c.satisfied.to_string(),
            c.neutral.to_string(),
            c.unsatisfied.to_string(),
            percent(m.satisfaction),
            c.opened.to_string(),
            c.reported.to_string(),
            percent(m.on_time),
            c.held.to_string(),
        ]);
    }
    rows
}

/// The `format` of a download: csv (the default) or xlsx.
pub fn download_format(format: Option<&str>) -> Result<Format> {
    match format.unwrap_or("csv") {
        "csv" => Ok(Format::Csv),
        "xlsx" => Ok(Format::Xlsx),
        other => Err(Error::field("format", format!("{other:?} is not csv or xlsx"))),
    }
}

/// Sends rows as a CSV or XLSX download.
pub fn download(format: Option<&str>, sheet: &str, name: &str, rows: &[Vec<String>]) -> Result<Response> {
    let format = download_format(format)?;
    let bytes = imports::write_table(format, sheet, rows).map_err(Error::Internal)?;
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
    Ok(([(header::CONTENT_TYPE, format.content_type().to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

/// The dashboard's table by child node as CSV or XLSX.
#[utoipa::path(get, path = "/dashboard/export", tag = "dashboard", params(Params),
    responses((status = 200, description = "The file"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Response> {
    user.may(crate::domain::permission::Permission::ViewDashboards)?;
    let period = Period::parse(p.from.as_deref(), p.to.as_deref())?;
    let node = user.subtree(&state, p.under.as_deref()).await?;
    let trend = trend_of(&p)?;
    let d = build(&state, &node, period, trend).await?;
    let (table, rows) = match p.table.as_deref().unwrap_or("members") {
        "members" => ("dashboard", member_rows(&d.members)),
        "trend" => {
            let mut rows = vec![
                ["起始日期", "评价数", "满意", "不满意", "工单", "整改报告", "按期"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>(),
            ];
            for t in &d.trend {
                let c = &t.counts;
                rows.push(vec![
                    t.start.clone(),
                    c.ratings.to_string(),
                    c.satisfied.to_string(),
                    c.unsatisfied.to_string(),
                    c.opened.to_string(),
                    c.reported.to_string(),
                    c.reported_on_time.to_string(),
                ]);
            }
            ("trend", rows)
        }
        "reasons" => {
            let mut rows = vec![vec!["原因".to_owned(), "次数".to_owned()]];
            rows.extend(d.reasons.iter().map(|(r, n)| vec![r.clone(), n.to_string()]));
            ("reasons", rows)
        }
        other => return Err(Error::field("table", format!("{other:?} is not members, trend or reasons"))),
    };
    download(p.format.as_deref(), table, &format!("{table}-{}-{}-{}", d.code, d.from, d.to), &rows)
}
