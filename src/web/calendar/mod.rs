//! The working-day calendar over HTTP (public): what kind of day a date is, and deadlines.

pub mod page;
pub mod sla;

use axum::extract::State;
use chrono::{DateTime, FixedOffset, NaiveDate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::calendar::{BusinessHours, CalendarError, DayInfo, cst};
use crate::web::AppState;
use crate::web::error::{ApiPath, ApiQuery, Error, ErrorBody, Result};

/// The calendar API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(day))
        .routes(routes!(deadline))
        .routes(routes!(import_year))
        .routes(routes!(set_override))
        .routes(routes!(get_hours, put_hours))
}

/// The outcome of an import.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Imported {
    /// The calendar version now in force.
    pub calendar_version: String,
    /// Running SLA clocks whose due time changed because provisional days became official.
    pub recomputed: usize,
}

/// Import one year's official notice (admin): `{"year", "notice", "holidays": [[name, from, to], …],
/// "workdays": [[name, date], …]}`. It replaces the year's data, provisional or shipped; open SLA
/// clocks computed on provisional days are recomputed, each change audited.
#[utoipa::path(post, path = "/calendar/years", tag = "calendar", request_body(content = serde_json::Value, description = "One year's notice"),
    responses((status = 200, body = Imported), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn import_year(
    State(state): State<AppState>,
    user: crate::web::auth::CurrentUser,
    crate::web::error::ApiJson(year): crate::web::error::ApiJson<crate::domain::calendar::YearNotice>,
) -> Result<axum::Json<Imported>> {
    user.may(crate::domain::permission::Permission::ManageCalendar)?;
    year.validate().map_err(Error::Validation)?;
    crate::store::calendar::import_year(&state.store, &year, &user.actor()).await?;
    let cal = state.calendar.reload(&state.store).await?;
    let recomputed = crate::store::calendar::recompute_provisional_clocks(
        &state.store,
        &cal,
        &crate::domain::sla::Thresholds::default(),
        &user.actor(),
    )
    .await?;
    Ok(axum::Json(Imported { calendar_version: cal.version().to_owned(), recomputed }))
}

fn out_of_range(field: &str) -> impl Fn(CalendarError) -> Error + '_ {
    move |e| Error::field(field, e.to_string())
}

/// What kind of day a date is: workday, weekend, holiday or adjusted_workday (调休上班).
#[utoipa::path(get, path = "/calendar/days/{date}", tag = "calendar",
    params(("date" = String, Path, description = "YYYY-MM-DD"), RegionParam),
    responses((status = 200, body = DayInfo), (status = 422, body = ErrorBody)))]
async fn day(
    State(state): State<AppState>,
    ApiPath(date): ApiPath<String>,
    ApiQuery(p): ApiQuery<RegionParam>,
) -> Result<axum::Json<DayInfo>> {
    let d = NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| Error::field("date", "must be YYYY-MM-DD"))?;
    let cal = calendar_for(&state, p.org.as_deref()).await?;
    Ok(axum::Json(cal.day(d).map_err(out_of_range("date"))?))
}

/// The region whose calendar applies.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionParam {
    /// An org code: the national calendar with that region's own days (default: national).
    pub org: Option<String>,
}

async fn hours_for(state: &AppState, org: Option<&str>) -> Result<BusinessHours> {
    match org.map(str::trim).filter(|o| !o.is_empty()) {
        None => Ok(BusinessHours::default()),
        Some(code) => {
            let mut conn = state.store.pool().acquire().await.map_err(crate::store::StoreError::from)?;
            Ok(crate::store::calendar::hours_for(&mut conn, code).await?)
        }
    }
}

async fn calendar_for(
    state: &AppState,
    org: Option<&str>,
) -> Result<std::sync::Arc<crate::domain::calendar::Calendar>> {
    match org.map(str::trim).filter(|o| !o.is_empty()) {
        None => Ok(state.calendar.get()),
        Some(code) => {
            let code = crate::domain::ids::OrgCode::parse(code).map_err(|e| Error::field("org", e.0))?;
            crate::store::org::get(&state.store, &code)
                .await?
                .ok_or_else(|| Error::field("org", "not in the org tree"))?;
            Ok(state.calendar.for_node(&state.store, code.as_str()).await?)
        }
    }
}

/// A region's own day.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct OverrideRequest {
    /// The region (any org node; applies to everything below it).
    pub org_code: String,
    /// The day and what it is there.
    #[serde(flatten)]
    pub day: crate::domain::calendar::Override,
}

/// Set a region's own holiday or working day (admin).
#[utoipa::path(post, path = "/calendar/overrides", tag = "calendar", request_body = OverrideRequest,
    responses((status = 204, description = "Set"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn set_override(
    State(state): State<AppState>,
    user: crate::web::auth::CurrentUser,
    crate::web::error::ApiJson(req): crate::web::error::ApiJson<OverrideRequest>,
) -> Result<axum::http::StatusCode> {
    user.may(crate::domain::permission::Permission::ManageCalendar)?;
    let code = crate::domain::ids::OrgCode::parse(&req.org_code).map_err(|e| Error::field("org_code", e.0))?;
    crate::store::org::get(&state.store, &code)
        .await?
        .ok_or_else(|| Error::field("org_code", "not in the org tree"))?;
    crate::domain::ids::parse_name(&req.day.name, "name").map_err(|e| Error::field("name", e.0))?;
    state.calendar.get().day(req.day.date).map_err(out_of_range("date"))?;
    if req.day.kind == crate::domain::calendar::DayKind::Weekend {
        return Err(Error::field("kind", "holiday, adjusted_workday or workday"));
    }
    crate::store::calendar::set_override(&state.store, code.as_str(), &req.day, &user.actor()).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Deadline parameters: a start and exactly one of the three clocks.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineParams {
    /// RFC 3339 time, e.g. 2026-09-30T10:00:00+08:00.
    pub start: String,
    /// Working days: the day of `start` does not count; due at the end (23:59:59, UTC+8) of the
    /// Nth working day after it.
    pub working_days: Option<u32>,
    /// Minutes of business hours (working days, 9:00–17:00 UTC+8).
    pub business_minutes: Option<u32>,
    /// Plain minutes.
    pub natural_minutes: Option<u32>,
    /// An org code whose region's own days apply (default: the national calendar).
    pub org: Option<String>,
}

/// A computed deadline.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Deadline {
    /// When it falls due, RFC 3339 in UTC+8.
    pub due: String,
    /// The start, RFC 3339 in UTC+8.
    pub start: String,
    /// working_days, business_minutes or natural_minutes.
    pub clock: String,
    /// The amount.
    pub amount: u32,
    /// The calendar data version that produced it.
    pub calendar_version: String,
    /// True when a day between start and due comes from a provisional (not yet official) year.
    pub provisional: bool,
}

/// Compute a deadline on the official calendar.
#[utoipa::path(get, path = "/calendar/deadline", tag = "calendar", params(DeadlineParams),
    responses((status = 200, body = Deadline), (status = 422, body = ErrorBody)))]
async fn deadline(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<DeadlineParams>,
) -> Result<axum::Json<Deadline>> {
    let start: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(p.start.trim())
        .map_err(|_| Error::field("start", "must be an RFC 3339 time such as 2026-09-30T10:00:00+08:00"))?;
    let cal = calendar_for(&state, p.org.as_deref()).await?;
    let hours = hours_for(&state, p.org.as_deref()).await?;
    let (clock, amount, due) = match (p.working_days, p.business_minutes, p.natural_minutes) {
        (Some(n), None, None) => {
            ("working_days", n, cal.working_days_deadline(start, n).map_err(out_of_range("working_days"))?)
        }
        (None, Some(n), None) => (
            "business_minutes",
            n,
            cal.business_minutes_deadline(start, n, &hours).map_err(out_of_range("business_minutes"))?,
        ),
        (None, None, Some(n)) => {
            ("natural_minutes", n, (start + chrono::Duration::minutes(i64::from(n))).with_timezone(&cst()))
        }
        _ => {
            return Err(Error::field(
                "working_days",
                "give exactly one of working_days, business_minutes, natural_minutes",
            ));
        }
    };
    let start_local = start.with_timezone(&cst());
    Ok(axum::Json(Deadline {
        due: due.to_rfc3339(),
        start: start_local.to_rfc3339(),
        clock: clock.to_owned(),
        amount,
        calendar_version: cal.version().to_owned(),
        provisional: cal.any_provisional(start_local.date_naive(), due.date_naive()),
    }))
}

/// The business hours in force at a node (its own or inherited; 9:00–17:00 without any).
#[utoipa::path(get, path = "/org/nodes/{code}/business-hours", tag = "calendar", params(("code" = String, Path, description = "Org code")),
    responses((status = 200, body = BusinessHours), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn get_hours(
    State(state): State<AppState>,
    user: crate::web::auth::CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<BusinessHours>> {
    let code = crate::domain::ids::OrgCode::parse(&code).map_err(|_| Error::NotFound)?;
    crate::store::org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    user.require_scope(&state, &code).await?;
    Ok(axum::Json(hours_for(&state, Some(code.as_str())).await?))
}

/// Set the business hours of a unit or service centre and everything below it (admin).
#[utoipa::path(put, path = "/org/nodes/{code}/business-hours", tag = "calendar", params(("code" = String, Path, description = "Org code")),
    request_body = BusinessHours,
    responses((status = 200, body = BusinessHours), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn put_hours(
    State(state): State<AppState>,
    user: crate::web::auth::CurrentUser,
    ApiPath(code): ApiPath<String>,
    crate::web::error::ApiJson(h): crate::web::error::ApiJson<BusinessHours>,
) -> Result<axum::Json<BusinessHours>> {
    user.may(crate::domain::permission::Permission::ManageCalendar)?;
    let code = crate::domain::ids::OrgCode::parse(&code).map_err(|_| Error::NotFound)?;
    crate::store::org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    let mut errors = Vec::new();
    if h.open >= h.close {
        errors.push(crate::domain::FieldError::new("close", "must be after open"));
    }
    match (h.saturday_open, h.saturday_close) {
        (Some(o), Some(c)) if o >= c => {
            errors.push(crate::domain::FieldError::new("saturday_close", "must be after saturday_open"))
        }
        (Some(_), None) | (None, Some(_)) => {
            errors.push(crate::domain::FieldError::new("saturday_open", "give both Saturday times, or neither"))
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    crate::store::calendar::set_hours(&state.store, code.as_str(), &h, &user.actor()).await?;
    Ok(axum::Json(h))
}
