//! The monthly report of a region: its rates, the table by child node, the best and weakest units
//! by the fair ranking and the people held to account, as plain text to read (GET) or to email
//! (POST: an email job over real SMTP, queued with its audit row).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::store::rollups::day_of_date;
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::charts::percent;
use crate::web::dashboard::Period;
use crate::web::error::{ApiJson, ApiQuery, Error, ErrorBody, Result};

/// The reports API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview, send))
}

/// Which report.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonthlyParams {
    /// The region (default: the caller's first scope).
    pub under: Option<String>,
    /// The month, YYYY-MM.
    pub month: String,
    /// Send to this address (POST only).
    pub to: Option<String>,
}

fn month(s: &str) -> Result<Period> {
    let first = chrono::NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .map_err(|_| Error::field("month", "a month as YYYY-MM"))?;
    let next = if first.month() == 12 {
        chrono::NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(|| Error::field("month", "a month as YYYY-MM"))?;
    Ok(Period { from: day_of_date(first), to: day_of_date(next) })
}

/// The report's subject and text.
pub async fn monthly(state: &AppState, node: &OrgCode, month_text: &str) -> Result<(String, String)> {
    let p = month(month_text)?;
    let d = crate::web::dashboard::build(state, node, p, "day").await?;
    let ranking = crate::web::rankings::build(
        state,
        node,
        Some("unit"),
        crate::domain::rates::Measure::Satisfaction,
        p,
        crate::web::rankings::MIN_SAMPLE,
    )
    .await?;
    let subject = format!("{} {} 服务满意度月报", d.name, month_text.trim());
    let mut b = String::new();
    b.push_str(&format!("{subject}\n统计期间：{} 至 {}\n\n", d.from, d.to));
    b.push_str(&format!(
        "有效评价 {} 条，满意 {}，不满意 {}（默认评价 {}，申诉核减 {}）。\n\n",
        d.totals.ratings, d.totals.satisfied, d.totals.unsatisfied, d.totals.defaulted, d.totals.excluded
    ));
    b.push_str("标准指标\n");
    for r in &d.rates {
        b.push_str(&format!(
            "  {}：{}（{} / {}；{}）\n",
            r.name_zh,
            percent(r.value),
            r.numerator,
            r.denominator,
            r.formula
        ));
    }
    b.push_str("\n下级单位\n");
    for m in &d.members {
        b.push_str(&format!(
            "  {}：评价 {}，满意率 {}，工单 {}，按期整改率 {}\n",
            m.name,
            m.counts.ratings,
            percent(m.satisfaction),
            m.counts.opened,
            percent(m.on_time)
        ));
    }
    let ranked: Vec<_> = ranking.rows.iter().filter(|r| r.rank.is_some()).collect();
    b.push_str(&format!("\n比学赶超（评价不少于 {} 条的单位，按威尔逊置信下限排序）\n", ranking.min_sample));
    for r in ranked.iter().take(5) {
        b.push_str(&format!("  第 {} 名 {}：满意率 {}（{} 条）\n", r.rank.unwrap_or(0), r.name, percent(r.rate), r.n));
    }
    if ranked.len() > 5 {
        b.push_str("  ……\n");
        for r in ranked.iter().rev().take(3).rev() {
            b.push_str(&format!(
                "  第 {} 名 {}：满意率 {}（{} 条）\n",
                r.rank.unwrap_or(0),
                r.name,
                percent(r.rate),
                r.n
            ));
        }
    }
    let not_enough = ranking.rows.len() - ranked.len();
    b.push_str(&format!("  评价不足、未参与排名的单位：{not_enough} 个\n"));
    b.push_str("\n问责情况\n");
    for (kind, n) in &d.accountability {
        b.push_str(&format!("  {}：{} 人次\n", kind.label_zh(), n));
    }
    b.push_str(&format!("\n逾期未办结工单：{} 件（列前 20 件）\n", d.overdue.len()));
    Ok((subject, b))
}

/// The monthly report of a region as plain text.
#[utoipa::path(get, path = "/reports/monthly", tag = "dashboard", params(MonthlyParams),
    responses((status = 200, description = "The report", content_type = "text/plain"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<MonthlyParams>,
) -> Result<Response> {
    user.may(crate::domain::permission::Permission::SendReports)?;
    let node = user.subtree(&state, p.under.as_deref()).await?;
    let (_, body) = monthly(&state, &node, &p.month).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

/// Email the monthly report of a region (queued; sent over SMTP by the job runner).
#[utoipa::path(post, path = "/reports/monthly", tag = "dashboard", request_body = MonthlyParams,
    responses((status = 202, description = "Queued"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn send(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(p): ApiJson<MonthlyParams>,
) -> Result<Response> {
    user.may(crate::domain::permission::Permission::SendReports)?;
    let mut errors = Vec::new();
    let to = p.to.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if to.parse::<lettre::message::Mailbox>().is_err() {
        errors.push(FieldError::new("to", "an email address"));
    }
    if let Err(Error::Validation(fields)) = month(&p.month) {
        errors.extend(fields);
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let node = user.subtree(&state, p.under.as_deref()).await?;
    let (subject, body) = monthly(&state, &node, &p.month).await?;
    let mut tx = state.store.write().await?;
    crate::store::jobs::enqueue(&mut tx, &[crate::store::jobs::email(&to, &subject, &body, None)]).await?;
    crate::store::audit::append(
        &mut tx,
        &user.actor(),
        "report.monthly",
        &format!("org:{node}"),
        &serde_json::json!({"month": p.month, "to": to}),
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok((StatusCode::ACCEPTED, axum::Json(serde_json::json!({"queued": true, "subject": subject}))).into_response())
}
