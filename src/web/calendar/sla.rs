//! SLA policies (admin) and overdue counts over HTTP.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::FieldError;
use crate::domain::sla::Clock;
use crate::store::now_ms;
use crate::store::sla::{self, Policy};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiQuery, Error, ErrorBody, Result};

/// The SLA API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_policies, put_policy)).routes(routes!(overdue))
}

/// Stored SLA policies (supervisors and admins).
#[utoipa::path(get, path = "/sla/policies", tag = "sla",
    responses((status = 200, body = Vec<Policy>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_policies(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<Policy>>> {
    user.may(crate::domain::permission::Permission::ReadSlaPolicies)?;
    Ok(axum::Json(sla::policies(&state.store).await?))
}

fn check_clock(field: &str, c: Clock, errors: &mut Vec<FieldError>) {
    let ok = match c {
        Clock::NaturalMinutes(n) | Clock::BusinessMinutes(n) => (1..=525_600).contains(&n),
        Clock::WorkingDays(n) => (1..=250).contains(&n),
    };
    if !ok {
        errors.push(FieldError::new(field, "minutes from 1 to 525600, or working days from 1 to 250"));
    }
}

/// Set the SLA policy for a case source, category and priority (`*` matches any) (admin).
#[utoipa::path(put, path = "/sla/policies", tag = "sla", request_body = Policy,
    responses((status = 200, body = Policy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn put_policy(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(p): ApiJson<Policy>,
) -> Result<axum::Json<Policy>> {
    user.may(crate::domain::permission::Permission::ManageSlaPolicies)?;
    let mut errors = Vec::new();
    for (field, value) in [("source", &p.source), ("category", &p.category), ("priority", &p.priority)] {
        let ok = value == "*"
            || (!value.is_empty()
                && value.len() <= 40
                && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        if !ok {
            errors.push(FieldError::new(field, "`*` or a–z, 0–9 and _"));
        }
    }
    check_clock("acknowledge", p.acknowledge, &mut errors);
    check_clock("return_visit", p.return_visit, &mut errors);
    check_clock("resolution", p.resolution, &mut errors);
    let t = p.thresholds;
    if !(0.0 < t.blue && t.blue < t.yellow && t.yellow < t.orange && t.orange < 1.0) {
        errors.push(FieldError::new("thresholds", "0 < blue < yellow < orange < 1"));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    sla::set_policy(&state.store, &p, &user.actor()).await?;
    Ok(axum::Json(p))
}

/// Where to count.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverdueParams {
    /// Root of the subtree (default: the caller's first scope).
    pub under: Option<String>,
}

/// Overdue running clocks.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Overdue {
    /// The subtree.
    pub under: String,
    /// Running clocks past their due time.
    pub overdue: i64,
}

/// Overdue SLA clocks under a node.
#[utoipa::path(get, path = "/sla/overdue", tag = "sla", params(OverdueParams),
    responses((status = 200, body = Overdue), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn overdue(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<OverdueParams>,
) -> Result<axum::Json<Overdue>> {
    let root = user.subtree(&state, p.under.as_deref()).await?;
    let overdue = sla::overdue_count(&state.store, &root, now_ms()).await?;
    Ok(axum::Json(Overdue { under: root.to_string(), overdue }))
}
