//! Notifications administration (admin): webhook subscriptions, and the job queue with its
//! dead-letter list.

pub mod page;

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store::jobs::{self, JobView};
use crate::store::webhooks::{self, Webhook};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiPath, ApiQuery, Error, ErrorBody, Result};

/// Events a webhook may subscribe to.
pub const EVENTS: [&str; 5] = ["alert.opened", "desk.request", "desk.clock", "sms", "*"];

/// The notifications API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(list_jobs))
        .routes(routes!(retry_job))
}

/// A subscription request.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct CreateWebhook {
    /// http:// or https:// URL that receives POSTs.
    pub url: String,
    /// Events: `alert.opened`; `desk.request` (every change of a desk request, with the request
    /// as it now stands); `desk.clock` (a desk request's clock warnings: 提醒, 催办, 督办); `sms`
    /// for an SMS gateway adapter (`{"to", "text"}`); `*` for every event but `sms`.
    pub events: Vec<String>,
}

/// A new subscription with its signing secret (shown only here).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Deliveries carry `X-Pingyi-Signature: sha256=HEX(HMAC-SHA256(secret, body))`.
    pub secret: String,
}

/// Active webhook subscriptions (admin).
#[utoipa::path(get, path = "/webhooks", tag = "notifications",
    responses((status = 200, body = Vec<Webhook>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_webhooks(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<Webhook>>> {
    user.may(crate::domain::permission::Permission::ManageJobs)?;
    Ok(axum::Json(webhooks::list(&state.store).await?))
}

/// Subscribe a URL to events (admin).
#[utoipa::path(post, path = "/webhooks", tag = "notifications", request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhook), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn create_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, axum::Json<CreatedWebhook>)> {
    user.may(crate::domain::permission::Permission::ManageJobs)?;
    let url = req.url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.len() > 500
        || reqwest::Url::parse(url).is_err()
    {
        return Err(Error::field("url", "an http:// or https:// URL"));
    }
    if req.events.is_empty() || req.events.iter().any(|e| !EVENTS.contains(&e.as_str())) {
        return Err(Error::field("events", format!("one or more of {}", EVENTS.join(", "))));
    }
    let (webhook, secret) = webhooks::create(&state.store, url, &req.events, &user.actor()).await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedWebhook { webhook, secret })))
}

/// Remove a subscription (admin).
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "notifications", params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn delete_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    user.may(crate::domain::permission::Permission::ManageJobs)?;
    if webhooks::delete(&state.store, &id, &user.actor()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound)
    }
}

/// Job filter.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    /// queued, running, done or dead (the dead-letter list; default).
    pub state: Option<String>,
    /// At most this many (1–500, default 100).
    pub limit: Option<i64>,
}

/// Jobs by state, newest first (admin). `state=dead` is the dead-letter list: jobs out of attempts.
#[utoipa::path(get, path = "/jobs", tag = "notifications", params(JobParams),
    responses((status = 200, body = Vec<JobView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_jobs(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<JobParams>,
) -> Result<axum::Json<Vec<JobView>>> {
    user.may(crate::domain::permission::Permission::ManageJobs)?;
    let st = p.state.as_deref().unwrap_or("dead");
    if !matches!(st, "queued" | "running" | "done" | "dead") {
        return Err(Error::field("state", "queued, running, done or dead"));
    }
    Ok(axum::Json(jobs::list(&state.store, st, p.limit.unwrap_or(100)).await?))
}

/// Put a dead job back in the queue (admin).
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "notifications", params(("id" = String, Path, description = "Job id")),
    responses((status = 204, description = "Queued again"), (status = 403, body = ErrorBody), (status = 404, description = "No dead job with that id", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn retry_job(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    user.may(crate::domain::permission::Permission::ManageJobs)?;
    if jobs::retry_dead(&state.store, &id).await? { Ok(StatusCode::NO_CONTENT) } else { Err(Error::NotFound) }
}
