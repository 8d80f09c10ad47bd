//! Who is asking: session cookies and bearer tokens resolved once per request by
//! [`authenticate`], CSRF checked there for every cookie-authenticated change, and the
//! extractors handlers use ([`CurrentUser`], [`PageUser`], [`MaybeUser`], [`Lang`], [`ClientAddr`]).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use super::AppState;
use super::error::Error;
use crate::domain::ids::OrgCode;
use crate::domain::role::Role;
use crate::i18n::Locale;
use crate::store::audit::Actor;
use crate::store::org;
use crate::store::users::{self, User};

/// The session cookie.
pub const SESSION_COOKIE: &str = "pingyi_session";
/// The double-submit cookie that protects the login form before a session exists.
pub const LOGIN_CSRF_COOKIE: &str = "pingyi_login_csrf";
/// The language cookie set by the language switcher.
pub const LANG_COOKIE: &str = "lang";
/// The header carrying the session's CSRF token on API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field carrying the session's CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// How a request authenticated.
#[derive(Debug, Clone)]
pub enum AuthKind {
    /// A browser session; changes need its CSRF token.
    Session {
        /// The session's CSRF token.
        csrf: String,
        /// The session's key.
        id_hash: String,
    },
    /// An API bearer token.
    Token,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user, with role and scopes.
    pub user: User,
    /// How they authenticated.
    pub auth: AuthKind,
    /// The client address, for the audit trail.
    pub client_addr: String,
}

impl CurrentUser {
    /// The actor recorded in the audit trail.
    pub fn actor(&self) -> Actor {
        Actor { name: self.user.username.clone(), client_addr: self.client_addr.clone() }
    }

    /// The CSRF token to embed in forms (empty for token callers, who need none).
    pub fn csrf(&self) -> &str {
        match &self.auth {
            AuthKind::Session { csrf, .. } => csrf,
            AuthKind::Token => "",
        }
    }

    /// Refuses unless the role allows it.
    pub fn require(&self, allowed: bool) -> Result<(), Error> {
        if allowed { Ok(()) } else { Err(Error::Forbidden) }
    }

    /// Refuses with 403 unless the caller's role holds `permission` (the one table,
    /// `domain::permission`).
    pub fn may(&self, permission: crate::domain::permission::Permission) -> Result<(), Error> {
        self.require(self.user.role.may(permission))
    }

    /// The subtree a listing asks for: `under` (422 if malformed, 404 if unknown) or, by
    /// default, the caller's first scope; 403 unless it lies within the caller's scopes.
    pub async fn subtree(&self, state: &AppState, under: Option<&str>) -> Result<OrgCode, Error> {
        let root = match under.map(str::trim).filter(|u| !u.is_empty()) {
            Some(c) => OrgCode::parse(c).map_err(|e| Error::field("under", e.0))?,
            None => self.user.scopes.first().cloned().ok_or(Error::Forbidden)?,
        };
        // A filter naming no node is the caller's mistake in a field, not a missing resource.
        org::get(&state.store, &root).await?.ok_or_else(|| Error::field("under", "no such node"))?;
        self.require_scope(state, &root).await?;
        Ok(root)
    }

    /// The caller as a viewer of cases (which ones they see).
    pub fn viewer(&self) -> crate::store::cases::Viewer<'_> {
        crate::store::cases::Viewer { scopes: &self.user.scopes, role: self.user.role, username: &self.user.username }
    }

    /// Refuses with 403 unless the caller may file cases for `unit`: it lies within one of their
    /// scopes or, for staff scoped to a window, it is the unit the window belongs to.
    pub async fn require_case_unit(&self, state: &AppState, unit: &OrgCode) -> Result<(), Error> {
        if self.user.role == Role::Staff {
            for node in org::get_many(&state.store, &self.user.scopes).await? {
                if node.kind == crate::domain::org::OrgKind::Window
                    && node.parent_code.as_deref() == Some(unit.as_str())
                {
                    return Ok(());
                }
            }
        }
        self.require_scope(state, unit).await
    }

    /// Refuses with 403 unless `code` lies within one of the caller's scopes.
    pub async fn require_scope(&self, state: &AppState, code: &OrgCode) -> Result<(), Error> {
        if org::within(&state.store, code, &self.user.scopes).await? { Ok(()) } else { Err(Error::Forbidden) }
    }
}

/// The caller, if any: put in the request's extensions by [`authenticate`].
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

/// The client's address as seen on the socket.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts.extensions.get::<ConnectInfo<SocketAddr>>())))
    }
}

fn client_addr(info: Option<&ConnectInfo<SocketAddr>>) -> String {
    info.map(|ConnectInfo(a)| a.ip().to_string()).unwrap_or_default()
}

/// Whether the request's cookies name the session cookie at all, readable or not.
fn carries_session_cookie(headers: &HeaderMap) -> bool {
    let name = SESSION_COOKIE.as_bytes();
    headers.get_all(header::COOKIE).iter().any(|v| v.as_bytes().windows(name.len()).any(|w| w == name))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The rating page and the rating submission endpoint.
fn is_public_rating(req: &Request) -> bool {
    let path = req.uri().path();
    path.starts_with("/r/") || (path == "/api/v1/ratings" && req.method() == Method::POST)
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Resolves the caller once per request and enforces CSRF on cookie-authenticated changes:
/// the token must come in the `X-CSRF-Token` header, a `_csrf` form field, or (for file
/// upload forms) a `_csrf` query parameter. Requests with neither cookie nor token cost
/// nothing here.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, Error> {
    if is_public_rating(&req) {
        // Citizens' ratings act on no session: skip the look-ups (the hot path stays lean) and
        // the CSRF check (a logged-in staff member may rate too).
        let mut req = req;
        req.extensions_mut().insert(MaybeUser(None));
        return Ok(next.run(req).await);
    }
    let addr = client_addr(req.extensions().get::<ConnectInfo<SocketAddr>>());
    let jar = CookieJar::from_headers(req.headers());
    let mut found = None;
    if let Some(token) = bearer(req.headers()) {
        // A wrong token is an error, not an anonymous request: the caller meant to log in. So is
        // a session cookie beside it that is no longer valid: every credential a request
        // carries must hold, or it is refused rather than half believed.
        let user = users::find_token(&state.store, token).await?.ok_or(Error::Unauthorized)?;
        if carries_session_cookie(req.headers()) {
            let session = match jar.get(SESSION_COOKIE) {
                Some(cookie) => users::find_session(&state.store, cookie.value()).await?,
                // Named, but not readable as a cookie.
                None => None,
            };
            if session.is_none() {
                return Err(Error::Unauthorized);
            }
        }
        found = Some(CurrentUser { user, auth: AuthKind::Token, client_addr: addr });
    } else if let Some(cookie) = jar.get(SESSION_COOKIE)
        && let Some(s) = users::find_session(&state.store, cookie.value()).await?
    {
        found = Some(CurrentUser {
            user: s.user,
            auth: AuthKind::Session { csrf: s.csrf, id_hash: s.id_hash },
            client_addr: addr,
        });
    }
    let mut req = req;
    if let Some(CurrentUser { auth: AuthKind::Session { csrf, .. }, .. }) = &found
        && is_change(req.method())
    {
        req = check_csrf(req, csrf, state.config.max_import_bytes).await?;
    }
    req.extensions_mut().insert(MaybeUser(found));
    Ok(next.run(req).await)
}

async fn check_csrf(req: Request, expected: &str, limit: usize) -> Result<Request, Error> {
    let matches = |given: &str| !given.is_empty() && constant_time_eq(given.as_bytes(), expected.as_bytes());
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if matches(v) { Ok(req) } else { Err(Error::Csrf) };
    }
    if let Some(q) = req.uri().query()
        && let Some((_, v)) = form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == CSRF_FIELD)
    {
        return if matches(&v) { Ok(req) } else { Err(Error::Csrf) };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(Error::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| Error::TooLarge)?;
    let ok = form_urlencoded::parse(&bytes).any(|(k, v)| k == CSRF_FIELD && matches(&v));
    if !ok {
        return Err(Error::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<MaybeUser>().cloned().unwrap_or(MaybeUser(None)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<MaybeUser>().and_then(|m| m.0.clone()).ok_or(Error::Unauthorized)
    }
}

/// A logged-in caller of an HTML page; anyone else is sent to the login page.
#[derive(Debug, Clone)]
pub struct PageUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<MaybeUser>().and_then(|m| m.0.clone()) {
            Some(u) => Ok(PageUser(u)),
            None => {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let target =
                    format!("/login?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

/// The language of the response.
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub Locale);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let user_pref =
            parts.extensions.get::<MaybeUser>().and_then(|m| m.0.as_ref()).and_then(|u| u.user.locale.clone());
        let jar = CookieJar::from_headers(&parts.headers);
        let accept = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Ok(Lang(Locale::negotiate(user_pref.as_deref(), jar.get(LANG_COOKIE).map(|c| c.value()), accept)))
    }
}

/// A cookie with the product's flags: HttpOnly, SameSite=Lax, path `/`, Secure when configured.
pub fn cookie(name: &'static str, value: String, secure: bool, max_age_secs: Option<i64>) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(secure);
    if let Some(s) = max_age_secs {
        c.set_max_age(time::Duration::seconds(s));
    }
    c
}
