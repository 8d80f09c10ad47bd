//! Logging in and out, and changing one's password: the JSON API (`/api/v1/session`) and
//! the pages (`/login`, `/logout`, `/account/password`).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::{NewPassword, Username};
use crate::i18n::Tr;
use crate::store::audit::Actor;
use crate::store::users::{self, SessionInfo, User};
use crate::store::{StoreError, now_ms};
use crate::web::AppState;
use crate::web::auth::{
    self, AuthKind, ClientAddr, CurrentUser, LOGIN_CSRF_COOKIE, Lang, MaybeUser, PageUser, SESSION_COOKIE,
};
use crate::web::error::{ApiForm, ApiJson, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError, safe_next};

/// The session API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login, current, logout)).routes(routes!(change_password))
}

/// The login, logout and password pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_form))
        .route("/logout", axum::routing::post(logout_form))
        .route("/account/password", get(password_page).post(password_form))
}

/// Credentials.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// The logged-in user and the CSRF token their session's changes must carry.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The user.
    pub user: User,
    /// Send as `X-CSRF-Token` on every POST/PUT/PATCH/DELETE made with the session cookie.
    pub csrf_token: String,
}

enum LoginOutcome {
    Ok(User, users::NewSession),
    Wrong,
    Locked(i64),
}

/// Checks credentials with backoff; on success opens a session. The same work is done for an
/// unknown username as for a wrong password, so neither answers faster.
async fn attempt_login(state: &AppState, username: &str, password: &str, client_addr: &str) -> Result<LoginOutcome> {
    let username = Username::parse(username).map(|u| u.to_string()).unwrap_or_else(|_| username.trim().to_owned());
    if let Some(until) = users::locked_until(&state.store, &username, client_addr).await? {
        return Ok(LoginOutcome::Locked(until));
    }
    let found = users::by_username(&state.store, &username).await?;
    let stored = found.as_ref().map_or_else(|| users::decoy_hash().to_owned(), |(_, h)| h.clone());
    let given = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || users::verify_password(&given, &stored))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let actor = Actor { name: username.clone(), client_addr: client_addr.to_owned() };
    let mut tx = state.store.write().await?;
    match found {
        Some((user, _)) if matches && !user.disabled => {
            let session = users::open_session(&mut tx, &user, &actor).await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(LoginOutcome::Ok(user, session))
        }
        _ => {
            let locked = users::record_failed_login(&mut tx, &username, &actor).await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(locked.map_or(LoginOutcome::Wrong, LoginOutcome::Locked))
        }
    }
}

fn retry_after(until: i64) -> i64 {
    ((until - now_ms()) / 1000).max(1)
}

/// Log in; sets the session cookie.
#[utoipa::path(post, path = "/session", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = SessionView),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response> {
    match attempt_login(&state, &req.username, &req.password, &addr).await? {
        LoginOutcome::Ok(user, session) => {
            let jar = jar.add(auth::cookie(SESSION_COOKIE, session.token, state.config.secure_cookies, None));
            Ok((jar, axum::Json(SessionView { user, csrf_token: session.csrf })).into_response())
        }
        LoginOutcome::Wrong => Err(Error::WrongCredentials),
        LoginOutcome::Locked(until) => Err(Error::TooManyAttempts { retry_after_secs: retry_after(until) }),
    }
}

/// The logged-in user.
#[utoipa::path(get, path = "/session", tag = "session",
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn current(user: CurrentUser) -> Result<axum::Json<SessionView>> {
    let csrf_token = user.csrf().to_owned();
    Ok(axum::Json(SessionView { user: user.user, csrf_token }))
}

fn session_of(user: &CurrentUser) -> Option<SessionInfo> {
    match &user.auth {
        AuthKind::Session { csrf, id_hash } => {
            Some(SessionInfo { user: user.user.clone(), id_hash: id_hash.clone(), csrf: csrf.clone() })
        }
        AuthKind::Token => None,
    }
}

/// Log out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/session", tag = "session",
    responses((status = 204, description = "Logged out"), (status = 400, description = "A bearer token has no session to end", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Missing CSRF token", body = ErrorBody)),
    security(("session" = [])))]
async fn logout(State(state): State<AppState>, jar: CookieJar, user: CurrentUser) -> Result<Response> {
    let session = session_of(&user).ok_or(Error::BadRequest {
        code: "not_a_session",
        message: "bearer tokens have no session; revoke the token instead".into(),
    })?;
    let mut tx = state.store.write().await?;
    users::close_session(&mut tx, &session, &user.actor()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((
        jar.remove(auth::cookie(SESSION_COOKIE, String::new(), state.config.secure_cookies, None)),
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

/// A password change.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new password: at least 10 characters.
    pub new_password: String,
}

async fn apply_password_change(
    state: &AppState,
    user: &CurrentUser,
    req: &PasswordChange,
) -> Result<users::PasswordChanged> {
    let new = NewPassword::parse(&req.new_password).map_err(|e| Error::field("new_password", e.0))?;
    let (_, stored) = users::by_username(&state.store, &user.user.username).await?.ok_or(Error::Unauthorized)?;
    let current = req.current_password.clone();
    let (ok, hash) =
        tokio::task::spawn_blocking(move || (users::verify_password(&current, &stored), users::hash_password(&new)))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
    if !ok {
        return Err(Error::field("current_password", "the current password is wrong"));
    }
    let hash = hash.map_err(Error::Internal)?;
    let mut tx = state.store.write().await?;
    let changed = users::set_password(&mut tx, &user.user, &hash, &user.actor()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(changed)
}

/// Change one's own password; every session of the user ends (log in again) and every API token
/// of theirs is revoked (make new ones); the answer says how many of each.
#[utoipa::path(post, path = "/session/password", tag = "session", request_body = PasswordChange,
    responses((status = 200, description = "Changed; all sessions ended and all tokens revoked", body = users::PasswordChanged),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<axum::Json<users::PasswordChanged>> {
    Ok(axum::Json(apply_password_change(&state, &user, &req).await?))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    next: String,
    username: String,
    error_key: Option<&'static str>,
}

#[derive(Debug, serde::Deserialize)]
struct NextParam {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    MaybeUser(user): MaybeUser,
    jar: CookieJar,
    Query(q): Query<NextParam>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if user.is_some() {
        return Redirect::to(&next).into_response();
    }
    let csrf = crate::store::new_secret(16);
    let jar = jar.add(auth::cookie(LOGIN_CSRF_COOKIE, csrf.clone(), state.config.secure_cookies, None));
    let page = LoginPage {
        tr: Tr { locale },
        nav: Nav::new(None, "/login"),
        csrf,
        next,
        username: String::new(),
        error_key: None,
    };
    (jar, Page(page)).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf")]
    csrf: String,
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    ApiForm(form): ApiForm<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref());
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if expected.is_empty() || !auth::constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return Err(Error::Csrf.into());
    }
    let render = |status: StatusCode, key: &'static str, jar: CookieJar| {
        let page = LoginPage {
            tr: Tr { locale },
            nav: Nav::new(None, "/login"),
            csrf: expected.clone(),
            next: next.clone(),
            username: form.username.clone(),
            error_key: Some(key),
        };
        (status, jar, Page(page)).into_response()
    };
    Ok(match attempt_login(&state, &form.username, &form.password, &addr).await? {
        LoginOutcome::Ok(_, session) => {
            let jar = jar
                .remove(auth::cookie(LOGIN_CSRF_COOKIE, String::new(), state.config.secure_cookies, None))
                .add(auth::cookie(SESSION_COOKIE, session.token, state.config.secure_cookies, None));
            (jar, Redirect::to(&next)).into_response()
        }
        LoginOutcome::Wrong => render(StatusCode::UNAUTHORIZED, "login.wrong", jar),
        LoginOutcome::Locked(_) => render(StatusCode::TOO_MANY_REQUESTS, "login.locked", jar),
    })
}

async fn logout_form(
    State(state): State<AppState>,
    jar: CookieJar,
    MaybeUser(user): MaybeUser,
) -> Result<Response, PageError> {
    if let Some(session) = user.as_ref().and_then(session_of)
        && let Some(u) = &user
    {
        let mut tx = state.store.write().await?;
        users::close_session(&mut tx, &session, &u.actor()).await?;
        tx.commit().await.map_err(StoreError::from)?;
    }
    let jar = jar.remove(auth::cookie(SESSION_COOKIE, String::new(), state.config.secure_cookies, None));
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    tr: Tr,
    nav: Nav,
    errors: Vec<String>,
}

async fn password_page(Lang(locale): Lang, PageUser(user): PageUser) -> Response {
    Page(PasswordPage { tr: Tr { locale }, nav: Nav::new(Some(&user), "/account/password"), errors: Vec::new() })
        .into_response()
}

#[derive(Debug, serde::Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn password_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiForm(form): ApiForm<PasswordForm>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let result = if form.new_password != form.confirm_password {
        Err(Error::field("confirm_password", tr.t("password.mismatch")))
    } else {
        let change = PasswordChange { current_password: form.current_password, new_password: form.new_password };
        apply_password_change(&state, &user, &change).await
    };
    match result {
        Ok(_) => Ok(Redirect::to("/login").into_response()),
        Err(Error::Validation(fields)) => {
            let errors = fields.into_iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
            let page = PasswordPage { tr, nav: Nav::new(Some(&user), "/account/password"), errors };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
