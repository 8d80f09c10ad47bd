//! API tokens over the API: a user lists, creates and revokes their own; an admin anyone's.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::parse_name;
use crate::store::StoreError;
use crate::store::users::{self, TokenInfo};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, ApiPath, Error, ErrorBody, Result};

/// The tokens API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tokens, create_token)).routes(routes!(revoke_token))
}

/// The caller's tokens (an admin sees everyone's).
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_tokens(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<TokenInfo>>> {
    let who = (!user.user.role.may(crate::domain::permission::Permission::ManageUsers))
        .then_some(user.user.username.as_str());
    Ok(axum::Json(users::list_tokens(&state.store, who).await?))
}

/// A token request.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct CreateToken {
    /// A label, e.g. the system that will use it.
    pub name: String,
}

/// A new token; the secret is shown only here.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// Id, to revoke it.
    pub id: String,
    /// The secret: send as `Authorization: Bearer …`.
    pub token: String,
}

/// Create a token for oneself.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn create_token(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, axum::Json<CreatedToken>)> {
    let name = parse_name(&req.name, "name").map_err(|e| Error::field("name", e.0))?;
    let mut tx = state.store.write().await?;
    let (id, token) = users::create_token(&mut tx, &user.user, &name, &user.actor()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((StatusCode::CREATED, axum::Json(CreatedToken { id, token })))
}

/// Revoke a token (one's own; an admin any).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    let who = (!user.user.role.may(crate::domain::permission::Permission::ManageUsers))
        .then_some(user.user.username.as_str());
    let owned = users::list_tokens(&state.store, who).await?.iter().any(|t| t.id == id && t.revoked_at.is_none());
    if !owned {
        return Err(Error::NotFound);
    }
    let mut tx = state.store.write().await?;
    if !users::revoke_token(&mut tx, &id, &user.actor()).await? {
        return Err(Error::NotFound);
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
