//! The staff side of ratings: listings and counts within one's scope, appeals (unit heads file,
//! supervisors decide), one-rating-per-transaction invitations, live alerts and the inbox.

pub mod export;
pub mod page;

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::{OrgCode, RatingId, parse_name};
use crate::domain::permission::Permission;
use crate::domain::rating::Outcome;
use crate::store::alerts::{self, Alert, Message};
use crate::store::appeals::{self, Appeal, AppealError};
use crate::store::invitations::{self, Invitation, InvitationError};
use crate::store::now_ms;
use crate::store::ratings::{self, Counts, RatingView};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiPath, ApiQuery, Error, ErrorBody, Result};

/// The staff-side rating API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ratings))
        .merge(crate::web::ratings::export::api())
        .routes(routes!(rating_counts))
        .routes(routes!(get_rating))
        .routes(routes!(file_appeal))
        .routes(routes!(list_appeals))
        .routes(routes!(decide_appeal))
        .routes(routes!(create_invitation))
        .routes(routes!(list_alerts))
        .routes(routes!(inbox))
}

/// Listing filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RatingParams {
    /// Root of the subtree (default: the caller's first scope).
    pub under: Option<String>,
    /// satisfied, neutral or unsatisfied.
    pub outcome: Option<String>,
    /// Only ratings before this time (ms): the next page.
    pub before: Option<i64>,
    /// At most this many (1–500, default 100).
    pub limit: Option<i64>,
}

/// Ratings of units under a node, newest first. Phones are masked except for supervisors;
/// who rated is never shown.
#[utoipa::path(get, path = "/ratings", tag = "ratings", params(RatingParams),
    responses((status = 200, body = Vec<RatingView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_ratings(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<RatingParams>,
) -> Result<axum::Json<Vec<RatingView>>> {
    user.may(Permission::ReadRatings)?;
    let root = user.subtree(&state, p.under.as_deref()).await?;
    let outcome = parse_outcome(p.outcome.as_deref())?;
    let reveal =
        user.user.role.may(crate::domain::permission::Permission::SeeFullPhone).then_some(&state.ratings.sealer);
    Ok(axum::Json(ratings::list(&state.store, &root, outcome, p.before, p.limit.unwrap_or(100), reveal).await?))
}

/// The `outcome` filter: none (empty or absent) or one of the three.
pub(super) fn parse_outcome(outcome: Option<&str>) -> Result<Option<Outcome>> {
    match outcome.unwrap_or_default() {
        "" => Ok(None),
        "satisfied" => Ok(Some(Outcome::Satisfied)),
        "neutral" => Ok(Some(Outcome::Neutral)),
        "unsatisfied" => Ok(Some(Outcome::Unsatisfied)),
        o => Err(Error::field("outcome", format!("{o:?} is not satisfied, neutral or unsatisfied"))),
    }
}

/// Count filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountParams {
    /// Root of the subtree (default: the caller's first scope).
    pub under: Option<String>,
    /// From (ms, inclusive; default 0).
    pub from: Option<i64>,
    /// To (ms, exclusive; default now).
    pub to: Option<i64>,
}

/// Counts of ratings under a node; appeals upheld take a rating out of every count but `excluded`.
#[utoipa::path(get, path = "/ratings/counts", tag = "ratings", params(CountParams),
    responses((status = 200, body = Counts), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn rating_counts(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<CountParams>,
) -> Result<axum::Json<Counts>> {
    let root = user.subtree(&state, p.under.as_deref()).await?;
    Ok(axum::Json(
        ratings::counts(&state.store, &root, p.from.unwrap_or(0), p.to.unwrap_or_else(|| now_ms() + 1)).await?,
    ))
}

/// Rating `id` as `user` may see it (phone masked unless their role calls back), if it is in scope.
pub(super) async fn rating_in_scope(state: &AppState, user: &CurrentUser, id: &str) -> Result<RatingView> {
    let reveal =
        user.user.role.may(crate::domain::permission::Permission::SeeFullPhone).then_some(&state.ratings.sealer);
    let id = RatingId::parse(id).map_err(|_| Error::NotFound)?;
    let r = ratings::get(&state.store, &id, reveal).await?.ok_or(Error::NotFound)?;
    // By the node rated (a window, or the unit itself): staff scoped to a window see its ratings,
    // not those of the unit's other windows.
    let rated = OrgCode::parse(&r.org_code).map_err(|e| Error::Internal(e.0))?;
    user.require_scope(state, &rated).await?;
    Ok(r)
}

/// One rating.
#[utoipa::path(get, path = "/ratings/{id}", tag = "ratings", params(("id" = String, Path, description = "Rating id")),
    responses((status = 200, body = RatingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn get_rating(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<RatingView>> {
    user.may(Permission::ReadRatings)?;
    Ok(axum::Json(rating_in_scope(&state, &user, &id).await?))
}

/// An appeal.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct AppealRequest {
    /// Why the rating should not count (e.g. the rater was never served here).
    pub reason: String,
}

/// Appeal a rating of one's unit (unit heads). One appeal per rating.
#[utoipa::path(post, path = "/ratings/{id}/appeal", tag = "appeals", params(("id" = String, Path, description = "Rating id")),
    request_body = AppealRequest,
    responses((status = 201, body = Appeal), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn file_appeal(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AppealRequest>,
) -> Result<(StatusCode, axum::Json<Appeal>)> {
    Ok((StatusCode::CREATED, axum::Json(appeal(&state, &user, &id, &req.reason).await?)))
}

/// Files `user`'s appeal of rating `id` (the API's and the rating page's).
pub(super) async fn appeal(state: &AppState, user: &CurrentUser, id: &str, reason: &str) -> Result<Appeal> {
    user.may(Permission::FileAppeal)?;
    let reason = parse_name(reason, "reason").map_err(|e| Error::field("reason", e.0))?;
    let rating = rating_in_scope(state, user, id).await?;
    if rating.pending {
        return Err(Error::Conflict("this rating is still being processed; it can be appealed in a minute".into()));
    }
    appeals::file(&state.store, id, &rating.unit_code, &reason, &user.actor()).await.map_err(appeal_error)
}

fn appeal_error(e: AppealError) -> Error {
    match e {
        AppealError::AlreadyAppealed | AppealError::AlreadyDecided => Error::Conflict(e.to_string()),
        AppealError::NotFound => Error::NotFound,
        AppealError::Store(s) => s.into(),
    }
}

/// Appeal filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppealParams {
    /// Root of the subtree (default: the caller's first scope).
    pub under: Option<String>,
    /// pending, upheld or rejected.
    pub state: Option<String>,
}

/// Appeals of units under a node, oldest first.
#[utoipa::path(get, path = "/appeals", tag = "appeals", params(AppealParams),
    responses((status = 200, body = Vec<Appeal>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_appeals(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<AppealParams>,
) -> Result<axum::Json<Vec<Appeal>>> {
    user.may(Permission::ReadAppeals)?;
    let root = user.subtree(&state, p.under.as_deref()).await?;
    let st = p.state.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = st
        && !matches!(s, "pending" | "upheld" | "rejected")
    {
        return Err(Error::field("state", "must be pending, upheld or rejected"));
    }
    Ok(axum::Json(appeals::list(&state.store, &root, st).await?))
}

/// A decision on an appeal.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = AppealDecision)]
pub struct Decision {
    /// Uphold (the rating stops counting) or reject (it keeps counting).
    pub upheld: bool,
    /// The reasoning, kept with the decision.
    pub note: String,
}

/// Decide an appeal (supervisors). An upheld appeal excludes the rating from statistics by a
/// recorded decision; the rating itself is kept unchanged.
#[utoipa::path(post, path = "/appeals/{id}/decision", tag = "appeals", params(("id" = String, Path, description = "Appeal id")),
    request_body = Decision,
    responses((status = 200, body = Appeal), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Already decided", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn decide_appeal(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Decision>,
) -> Result<axum::Json<Appeal>> {
    Ok(axum::Json(decide(&state, &user, &id, req.upheld, &req.note).await?))
}

/// `user`'s decision on appeal `id` (the API's and the rating page's).
pub(super) async fn decide(state: &AppState, user: &CurrentUser, id: &str, upheld: bool, note: &str) -> Result<Appeal> {
    user.may(Permission::DecideAppeal)?;
    let note = parse_name(note, "note").map_err(|e| Error::field("note", e.0))?;
    let appeal = appeals::get(&state.store, id).await?.ok_or(Error::NotFound)?;
    let unit = OrgCode::parse(&appeal.unit_code).map_err(|e| Error::Internal(e.0))?;
    user.require_scope(state, &unit).await?;
    appeals::decide(&state.store, id, upheld, &note, &user.actor()).await.map_err(appeal_error)
}

/// A request for a one-rating-per-transaction invitation.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct InvitationRequest {
    /// The unit or window that served.
    pub org_code: String,
    /// The staff member who served, if known.
    pub staff_no: Option<String>,
    /// The window system's own reference for the transaction; the same reference returns the
    /// same invitation.
    pub transaction_ref: String,
    /// Minutes until the link stops working (default 1440 = one day, at most 43200 = 30 days).
    pub expires_in_minutes: Option<i64>,
}

/// An invitation with its link.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    /// The invitation.
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The link to show or print as a QR code; it works once.
    pub url: String,
    /// The link as a QR image (SVG), for the window's screen or receipt.
    pub svg: String,
    /// The same as PNG.
    pub png: String,
}

/// Issue a single-use rating invitation for one transaction (a window's own system, with a
/// token of a user whose scope holds the unit). 201 when new, 200 when the transaction already
/// had one.
#[utoipa::path(post, path = "/invitations", tag = "ratings", request_body = InvitationRequest,
    responses((status = 201, body = InvitationView), (status = 200, description = "Existing invitation for this transaction", body = InvitationView),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn create_invitation(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<InvitationRequest>,
) -> Result<(StatusCode, axum::Json<InvitationView>)> {
    user.may(Permission::InviteRatings)?;
    let org = OrgCode::parse(&req.org_code).map_err(|e| Error::field("org_code", e.0))?;
    let reference = req.transaction_ref.trim();
    if reference.is_empty() || reference.len() > 128 || reference.chars().any(char::is_control) {
        return Err(Error::field("transaction_ref", "1 to 128 printable characters"));
    }
    let minutes = req.expires_in_minutes.unwrap_or(1440);
    if !(1..=43_200).contains(&minutes) {
        return Err(Error::field("expires_in_minutes", "from 1 to 43200"));
    }
    crate::store::org::get(&state.store, &org).await?.ok_or_else(|| Error::field("org_code", "not in the org tree"))?;
    user.require_scope(&state, &org).await?;
    let key = state.ratings.keys.current().ok_or_else(|| Error::Internal("no signing key".into()))?;
    let staff = req.staff_no.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (invitation, created) = invitations::issue(
        &state.store,
        &key,
        org.as_str(),
        staff,
        reference,
        now_ms() + minutes * 60_000,
        &user.actor(),
    )
    .await
    .map_err(|e| match e {
        InvitationError::NotRateable(_) => Error::field("org_code", e.to_string()),
        InvitationError::StaffElsewhere(..) => Error::field("staff_no", e.to_string()),
        InvitationError::Store(s) => s.into(),
    })?;
    let url = format!("{}/r/{}", state.config.public_url, invitation.token);
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let (svg, png) = (format!("/qr/{}.svg", invitation.token), format!("/qr/{}.png", invitation.token));
    Ok((status, axum::Json(InvitationView { invitation, url, svg, png })))
}

/// Alert filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// Root of the subtree (default: the caller's first scope).
    pub under: Option<String>,
    /// Only open episodes.
    #[serde(default)]
    pub open: bool,
}

/// Live alert episodes of units under a node, newest first.
#[utoipa::path(get, path = "/alerts", tag = "ratings", params(AlertParams),
    responses((status = 200, body = Vec<Alert>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_alerts(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<AlertParams>,
) -> Result<axum::Json<Vec<Alert>>> {
    user.may(Permission::ReadRatings)?;
    let root = user.subtree(&state, p.under.as_deref()).await?;
    Ok(axum::Json(alerts::list(&state.store, &root, p.open).await?))
}

/// The caller's inbox.
#[utoipa::path(get, path = "/inbox", tag = "ratings",
    responses((status = 200, body = Vec<Message>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn inbox(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<Message>>> {
    Ok(axum::Json(alerts::inbox(&state.store, &user.user.id).await?))
}
