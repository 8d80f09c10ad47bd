//! The HTTP layer: a JSON API under `/api/v1` (documented at `/api/openapi.json`), HTML pages,
//! health and metrics. Every router is merged in [`router`], top to bottom.

pub mod accountability;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod charts;
pub mod codes;
pub mod dashboard;
pub mod enterprise;
pub mod error;
pub mod evidence;
pub mod headers;
pub mod health;
pub mod inbox;
pub mod openapi;
pub mod org;
pub mod pages;
pub mod rankings;
pub mod rate;
pub mod ratings;
pub mod supervision;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;
use error::Error;

/// What every handler can reach: one shared [`Shared`], so that the clones axum makes for
/// every layer a request passes through cost one reference count each.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Shares `shared` with every handler.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The services behind [`AppState`].
#[derive(Debug)]
pub struct Shared {
    /// The database.
    pub store: Store,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Rating keys, writer, sealer.
    pub ratings: Arc<crate::ingest::RatingService>,
    /// The working-day calendar in force.
    pub calendar: Arc<crate::calendar_data::CalendarHandle>,
    /// SMTP and webhook clients for jobs.
    pub outbound: Arc<crate::jobs::Outbound>,
    /// The public page's figures, kept for a minute.
    pub public_cache: rankings::PublicCache,
    /// Rating requests with an idempotency key in flight in this process.
    pub rating_requests: rate::requests::KeyLocks,
}

/// The OpenAPI document's header; paths are added by the routers below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pingyi (评议) API",
        description = "Public-service satisfaction ratings and the closed loop from complaint to fix. \
                       Errors are `{\"error\": {\"code\", \"message\", \"fields\"?}}`. Authenticate with a session \
                       cookie (from `POST /api/v1/session`; changes then need the `X-CSRF-Token` header) or \
                       `Authorization: Bearer` tokens from `pingyi token create`."
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, crate::domain::FieldError, org::ImportKind)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

/// The whole application: API, pages, health, with the shared middleware.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .merge(accounts::session::api())
                .merge(org::api(&state.config))
                .merge(accounts::api())
                .merge(accounts::tokens::api())
                .merge(audit::api())
                .merge(ratings::api())
                .merge(codes::api())
                .merge(calendar::api())
                .merge(inbox::api())
                .merge(calendar::sla::api())
                .merge(cases::api(&state.config))
                .merge(accountability::api())
                .merge(dashboard::api())
                .merge(rankings::api())
                .merge(dashboard::reports::api())
                .merge(supervision::api(&state.config))
                .merge(enterprise::api(&state.config)),
        )
        // Citizens' ratings, the hot path, at their full path: nesting would wrap every rating
        // request in two more layers (a rewritten URI and a nested-path extension). Merged after
        // the nest, which would replace the documented path rather than add to it.
        .merge(rate::api())
        .split_for_parts();
    let mut openapi = openapi;
    openapi::complete(&mut openapi);

    Router::new()
        .merge(health::router(Arc::new(openapi)))
        .merge(api)
        .merge(pages::router())
        .merge(accounts::session::pages())
        .merge(org::pages(&state.config))
        .merge(audit::pages())
        .merge(rate::pages())
        .merge(codes::pages())
        .merge(calendar::page::pages())
        .merge(inbox::page::pages())
        .merge(ratings::page::pages())
        .merge(codes::posters::pages())
        .merge(codes::settings::pages())
        .merge(cases::page::pages(&state.config))
        .merge(accountability::pages())
        .merge(dashboard::pages())
        .merge(rankings::pages())
        .merge(supervision::page::pages(&state.config))
        .merge(enterprise::page::pages(&state.config))
        .route_layer(middleware::from_fn_with_state(state.clone(), track_metrics))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(middleware::from_fn(error::uniform_errors))
        .layer(middleware::from_fn_with_state(state.clone(), headers::secure))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
            tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(NewRequestId))
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
            Error::Internal("handler panicked".into()).into_response()
        }))
        .with_state(state)
}

/// Gives every request an `x-request-id` (kept if the client sent one), echoed in the
/// response and recorded in the request's log span.
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        axum::http::HeaderValue::from_str(&crate::store::new_id()).ok().map(RequestId::new)
    }
}

async fn track_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    state.metrics.record(&method, &route, resp.status().as_u16(), started.elapsed());
    resp
}

/// Whether the caller wants HTML (a browser navigating) rather than JSON.
pub fn wants_html(headers: &HeaderMap, path: &str) -> bool {
    !path.starts_with("/api/")
        && headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

async fn fallback(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    if wants_html(&headers, uri.path()) {
        pages::PageError(Error::NotFound).into_response()
    } else {
        Error::NotFound.into_response()
    }
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}
