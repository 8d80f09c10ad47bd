//! User administration over the API (admin only): list and create users with role and scopes.

pub mod session;
pub mod tokens;

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::FieldError;
use crate::domain::ids::{NewPassword, OrgCode, Username, parse_name};
use crate::domain::role::Role;
use crate::store::StoreError;
use crate::store::users::{self, CreateUserError, NewUser, User};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiJson, Error, ErrorBody, Result};

/// The users API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user))
}

/// Every user (admin).
#[utoipa::path(get, path = "/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn list_users(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Vec<User>>> {
    user.may(crate::domain::permission::Permission::ManageUsers)?;
    Ok(axum::Json(users::list(&state.store).await?))
}

/// A new user.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    /// Login name: 3–32 of a–z, 0–9, `.`, `_`, `-`.
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Org codes of the subtrees the user may see; at least one.
    pub scopes: Vec<String>,
    /// Initial password: at least 10 characters.
    pub password: String,
    /// Address for email notifications.
    pub email: Option<String>,
}

/// Create a user (admin).
#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn create_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<(StatusCode, axum::Json<User>)> {
    user.may(crate::domain::permission::Permission::ManageUsers)?;
    let mut errors = Vec::new();
    let username = Username::parse(&req.username).map_err(|e| errors.push(FieldError::new("username", e.0))).ok();
    let display_name = parse_name(&req.display_name, "display_name")
        .map_err(|e| errors.push(FieldError::new("display_name", e.0)))
        .ok();
    let password = NewPassword::parse(&req.password).map_err(|e| errors.push(FieldError::new("password", e.0))).ok();
    let mut scopes = Vec::new();
    for (i, s) in req.scopes.iter().enumerate() {
        match OrgCode::parse(s) {
            Ok(c) => scopes.push(c),
            Err(e) => errors.push(FieldError::new(format!("scopes[{i}]"), e.0)),
        }
    }
    let email = req.email.as_deref().map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned);
    if let Some(e) = &email
        && (e.parse::<lettre::Address>().is_err() || e.len() > 200)
    {
        errors.push(FieldError::new("email", "not an email address"));
    }
    if req.scopes.is_empty() {
        errors.push(FieldError::new("scopes", "at least one scope is required"));
    }
    let (Some(username), Some(display_name), Some(password)) = (username, display_name, password) else {
        return Err(Error::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let password_hash = tokio::task::spawn_blocking(move || users::hash_password(&password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(Error::Internal)?;
    let new = NewUser { username, display_name, role: req.role, scopes, password_hash, email };
    let mut tx = state.store.write().await?;
    let created = users::create(&mut tx, &new, &user.actor()).await.map_err(|e| match e {
        CreateUserError::Taken(u) => Error::Conflict(format!("username {u} is already taken")),
        CreateUserError::UnknownScope(s) => Error::field("scopes", format!("{s} is not in the org tree")),
        CreateUserError::NoScope => Error::field("scopes", "at least one scope is required"),
        CreateUserError::Store(s) => s.into(),
    })?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}
