//! Data requests (报送要求) and the burden meter: whoever is about to ask a unit for data sees
//! what it received this month (visits, sheets, items, requests), and a second request for the
//! same data from the same unit for the same period is refused with the first one named (409).
//! Page: `/data-requests?unit=`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::items::{self, API};
use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::store::inspection::{self, Burden, DataRequest};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiJson, ApiQuery, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError, local};

/// A request for data.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DataRequestBody {
    /// The unit asked (within the caller's scope).
    pub unit: String,
    /// What data, e.g. 窗口办件量统计 (compared trimmed, spaces collapsed, case ignored).
    pub topic: String,
    /// The period it covers, YYYY-MM.
    pub period: String,
    /// What exactly is wanted.
    pub detail: String,
    /// Working days to answer (5 if left out).
    pub days: Option<u32>,
}

/// Which unit's requests.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitParams {
    /// The unit.
    pub unit: Option<String>,
}

async fn unit_in_scope(state: &AppState, user: &CurrentUser, unit: &str, tr: Tr) -> Result<OrgCode> {
    let code = OrgCode::parse(unit.trim()).map_err(|_| Error::field("unit", tr.t("ledger.err.no_unit")))?;
    crate::store::org::get(&state.store, &code)
        .await?
        .ok_or_else(|| Error::field("unit", tr.t("ledger.err.no_unit")))?;
    user.require_scope(state, &code).await?;
    Ok(code)
}

/// Records `r` for `user`.
async fn request(state: &AppState, user: &CurrentUser, r: &DataRequestBody, tr: Tr) -> Result<DataRequest> {
    user.may(Permission::AssignItems)?;
    let mut errors = Vec::new();
    let topic = items::required(&mut errors, tr, "topic", &r.topic, 100);
    let detail = items::required(&mut errors, tr, "detail", &r.detail, items::MAX_TEXT);
    let period = r.period.trim().to_owned();
    if chrono::NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").is_err() {
        errors.push(FieldError::new("period", tr.t("ledger.err.month")));
    }
    let days = r.days.unwrap_or(5);
    if !(1..=30).contains(&days) {
        errors.push(FieldError::new("days", tr.t("ledger.err.reply_days")));
    }
    let unit = match unit_in_scope(state, user, &r.unit, tr).await {
        Ok(u) => Some(u),
        Err(Error::Validation(f)) => {
            errors.extend(f);
            None
        }
        Err(e) => return Err(e),
    };
    let (Some(unit), true) = (unit, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    let cal = state.calendar.for_node(&state.store, unit.as_str()).await?;
    let hours = crate::domain::calendar::BusinessHours::default();
    let now = crate::store::now_ms();
    let due =
        crate::domain::sla::Clock::WorkingDays(days).due(&cal, now, &hours).map_err(crate::store::StoreError::from)?;
    match inspection::request_data(&state.store, unit.as_str(), &topic, &period, &detail, due, &user.actor()).await? {
        Ok(r) => Ok(r),
        Err(first) => Err(Error::Conflict(format!(
            "{} {} · {} · {}",
            tr.t("ledger.err.asked_before"),
            crate::domain::time::date_zh(first.created_at),
            first.requested_by,
            first.topic
        ))),
    }
}

/// Ask a unit for data (inspectors, supervisors). The same data of the same unit for the same
/// period is asked once: a second request is a 409 naming the first.
#[utoipa::path(post, path = "/data-requests", tag = "supervision", request_body = DataRequestBody,
    responses((status = 201, body = DataRequest), (status = 403, body = ErrorBody), (status = 409, description = "Asked before", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn create_request(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<DataRequestBody>,
) -> Result<Response> {
    let created = request(&state, &user, &r, API).await?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// A unit's data requests, newest first.
#[utoipa::path(get, path = "/data-requests", tag = "supervision", params(UnitParams),
    responses((status = 200, body = Vec<DataRequest>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_requests(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<UnitParams>,
) -> Result<axum::Json<Vec<DataRequest>>> {
    user.may(Permission::ReadLedger)?;
    let unit = unit_in_scope(&state, &user, p.unit.as_deref().unwrap_or_default(), API).await?;
    Ok(axum::Json(inspection::data_requests(&state.store, unit.as_str(), 100).await?))
}

#[derive(Template)]
#[template(path = "data_requests.html")]
struct RequestsPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    unit: String,
    unit_name: String,
    burden: Option<Burden>,
    rows: Vec<(DataRequest, String, String)>,
    asks: bool,
    errors: Vec<String>,
    form: DataRequestBody,
}

async fn render(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    unit: &str,
    errors: Vec<String>,
    form: DataRequestBody,
) -> Result<RequestsPage> {
    user.may(Permission::ReadLedger)?;
    let (mut burden, mut rows, mut unit_name) = (None, Vec::new(), String::new());
    if !unit.trim().is_empty()
        && let Ok(code) = unit_in_scope(state, user, unit, tr).await
    {
        unit_name = crate::store::org::get(&state.store, &code).await?.map(|n| n.name).unwrap_or_default();
        burden = Some(inspection::burden(&state.store, code.as_str(), crate::store::now_ms()).await?);
        rows = inspection::data_requests(&state.store, code.as_str(), 50)
            .await?
            .into_iter()
            .map(|r| {
                let (at, due) = (local(r.created_at), local(r.due_at));
                (r, at, due)
            })
            .collect();
    }
    Ok(RequestsPage {
        nav: Nav::new(Some(user), "/data-requests"),
        csrf: user.csrf().to_owned(),
        unit: unit.trim().to_owned(),
        unit_name,
        burden,
        rows,
        asks: user.user.role.may(Permission::AssignItems),
        errors,
        form,
        tr,
    })
}

/// `/data-requests?unit=`.
pub(super) async fn page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<UnitParams>,
) -> std::result::Result<Response, PageError> {
    let unit = p.unit.unwrap_or_default();
    Ok(Page(render(&state, Tr { locale }, &user, &unit, Vec::new(), DataRequestBody::default()).await?).into_response())
}

/// `POST /data-requests`.
pub(super) async fn form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let body = DataRequestBody {
        unit: get("unit"),
        topic: get("topic"),
        period: get("period"),
        detail: get("detail"),
        days: get("days").parse().ok(),
    };
    match request(&state, &user, &body, tr).await {
        Ok(r) => Ok(Redirect::to(&format!("/data-requests?unit={}", r.unit_code)).into_response()),
        Err(e) => {
            let (status, errors) = super::page::kept(e)?;
            let unit = body.unit.clone();
            Ok((status, Page(render(&state, tr, &user, &unit, errors, body).await?)).into_response())
        }
    }
}
