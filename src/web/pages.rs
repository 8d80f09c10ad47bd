//! HTML plumbing shared by every page ([`Page`], [`PageError`], [`Nav`]), the home page, the
//! language switcher and the stylesheet.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;

use super::AppState;
use super::auth::{self, CurrentUser, LANG_COOKIE, Lang, MaybeUser, PageUser};
use super::error::{ApiForm, Error};
use crate::domain::ids::OrgCode;
use crate::domain::org::OrgKind;
use crate::i18n::{Locale, Tr};
use crate::store::{org, users};

/// A rendered template as a response; a template failure is logged and answered with a 500.
pub struct Page<T: Template>(pub T);

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => Error::Internal(format!("template: {e}")).into_response(),
        }
    }
}

/// The navigation bar's view of the caller.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// Whether someone is logged in.
    pub logged_in: bool,
    /// Their display name.
    pub display_name: String,
    /// Their role's catalog key.
    pub role_key: String,
    /// Whether to show admin links.
    pub is_admin: bool,
    /// Whether to show the ratings link (everyone but enterprises).
    pub sees_ratings: bool,
    /// Whether to show the supervision link (inspection and the ledger).
    pub sees_ledger: bool,
    /// Whether to show the key projects and the desk (staff who read projects, and firms).
    pub sees_projects: bool,
    /// The CSRF token for the logout and language forms.
    pub csrf: String,
    /// The current path, for "come back here" links.
    pub here: String,
}

impl Nav {
    /// The bar for `user` (or an anonymous visitor) on page `here`.
    pub fn new(user: Option<&CurrentUser>, here: &str) -> Nav {
        match user {
            None => Nav { here: here.to_owned(), ..Default::default() },
            Some(u) => Nav {
                logged_in: true,
                display_name: u.user.display_name.clone(),
                role_key: format!("role.{}", u.user.role.as_str()),
                is_admin: u.user.role.may(crate::domain::permission::Permission::ManageUsers),
                sees_ratings: u.user.role.may(crate::domain::permission::Permission::ReadRatings),
                sees_ledger: u.user.role.may(crate::domain::permission::Permission::ReadLedger),
                sees_projects: u.user.role.may(crate::domain::permission::Permission::ReadProjects)
                    || u.user.role == crate::domain::role::Role::Enterprise,
                csrf: u.csrf().to_owned(),
                here: here.to_owned(),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    tr: Tr,
    nav: Nav,
    status: u16,
    message_key: &'static str,
    /// What was wrong with the request, field by field (validation errors only).
    details: Vec<String>,
}

/// An error on an HTML page: the same [`Error`], rendered as a page in both languages' reach.
#[derive(Debug)]
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError(e)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status.is_server_error() {
            let cause = std::error::Error::source(&self.0).map(|s| format!("{s:?}"));
            tracing::error!(error = %self.0, cause, "page failed");
        }
        let message_key = match status {
            StatusCode::NOT_FOUND => "error.not_found",
            StatusCode::FORBIDDEN => "error.forbidden",
            StatusCode::UNAUTHORIZED => "error.unauthorized",
            s if s.is_server_error() => "error.internal",
            _ => "error.bad_request",
        };
        let details = match self.0 {
            e @ Error::Validation(_) => e.page_messages(),
            _ => Vec::new(),
        };
        let page = ErrorPage {
            tr: Tr { locale: Locale::ZhCn },
            nav: Nav::default(),
            status: status.as_u16(),
            message_key,
            details,
        };
        (status, Page(page)).into_response()
    }
}

/// Milliseconds as China Standard Time, to the minute (how every page shows a time).
pub fn local(ms: i64) -> String {
    crate::domain::time::minute(ms)
}

/// Page-size parameters shared by listings.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// At most this many rows (1–500, default 100).
    pub limit: Option<i64>,
    /// Skip this many rows.
    pub offset: Option<i64>,
}

impl Paging {
    /// The limit, clamped.
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(100).clamp(1, 500)
    }

    /// The offset, never negative.
    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }
}

/// Pages that need no particular resource: home, language, stylesheet.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/lang/{tag}", get(switch_language))
        .route("/account/language", post(set_language))
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .route("/static/rate.js", get(rate_script))
}

/// One scope root on the home page, with what it contains.
struct ScopeCard {
    code: String,
    name: String,
    kind_key: String,
    regions: i64,
    departments: i64,
    units: i64,
    windows: i64,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    tr: Tr,
    nav: Nav,
    scopes: Vec<ScopeCard>,
    desk: Option<crate::web::enterprise::HomeCard>,
}

async fn home(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let desk = crate::web::enterprise::home_card(&state, &user).await?;
    let mut scopes = Vec::new();
    // A firm's user has projects, not a district: the desk card is its home.
    let shown: &[OrgCode] =
        if user.user.role == crate::domain::role::Role::Enterprise { &[] } else { &user.user.scopes };
    for node in org::get_many(&state.store, shown).await? {
        let code = OrgCode::parse(&node.code).map_err(|e| Error::Internal(e.0))?;
        let counts = org::count_by_kind(&state.store, &code).await?;
        let n = |k| counts.get(&k).copied().unwrap_or(0);
        scopes.push(ScopeCard {
            code: node.code,
            name: node.name,
            kind_key: format!("kind.{}", node.kind.as_str()),
            regions: n(OrgKind::Region),
            departments: n(OrgKind::Department),
            units: n(OrgKind::Unit),
            windows: n(OrgKind::Window),
        });
    }
    let page = HomePage { tr: Tr { locale }, nav: Nav::new(Some(&user), "/"), scopes, desk };
    Ok(Page(page).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct NextParam {
    next: Option<String>,
}

/// Where to go after a language switch or a login: only a path on this site, never another
/// host. A target is kept when it is a path-absolute URL a browser reads as one (`/org/XN?x=1`):
/// printable ASCII without spaces, one leading `/` not followed by `/` or `\\`, and no
/// backslash anywhere (browsers read it as `/`). Control characters are refused too, because
/// browsers strip tabs and newlines before parsing (`/\t/evil.example` is `//evil.example`), and a
/// CR or LF could not be sent in a header. Anything else goes to `/`.
pub fn safe_next(next: Option<&str>) -> String {
    let acceptable = |n: &str| {
        let b = n.as_bytes();
        b.first() == Some(&b'/')
            && !matches!(b.get(1), Some(b'/' | b'\\'))
            && b.iter().all(|c| c.is_ascii_graphic() && *c != b'\\')
    };
    match next {
        Some(n) if acceptable(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

async fn switch_language(
    State(state): State<AppState>,
    jar: CookieJar,
    axum::extract::Path(tag): axum::extract::Path<String>,
    Query(q): Query<NextParam>,
) -> Result<Response, Error> {
    let locale = Locale::parse(&tag).ok_or(Error::NotFound)?;
    let jar =
        jar.add(auth::cookie(LANG_COOKIE, locale.tag().to_owned(), state.config.secure_cookies, Some(365 * 86400)));
    Ok((jar, Redirect::to(&safe_next(q.next.as_deref()))).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct LanguageForm {
    lang: String,
    next: Option<String>,
}

/// Sets a logged-in user's preferred language (and the cookie), then goes back.
async fn set_language(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    jar: CookieJar,
    ApiForm(form): ApiForm<LanguageForm>,
) -> Result<Response, PageError> {
    let locale = Locale::parse(&form.lang).ok_or_else(|| Error::field("lang", "must be zh-CN or en"))?;
    if let Some(u) = &user
        && u.user.locale.as_deref() != Some(locale.tag())
    {
        let mut tx = state.store.write().await?;
        users::set_locale(&mut tx, &u.user, locale.tag(), &u.actor()).await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
    }
    let jar =
        jar.add(auth::cookie(LANG_COOKIE, locale.tag().to_owned(), state.config.secure_cookies, Some(365 * 86400)));
    Ok((jar, Redirect::to(&safe_next(form.next.as_deref()))).into_response())
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.js"),
    )
        .into_response()
}

async fn rate_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/rate.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/org/XN")), "/org/XN");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/cases?state=open&page=2")), "/cases?state=open&page=2");
    }

    #[test]
    fn control_characters_and_other_hosts_in_disguise_are_refused() {
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/ /evil",
            "\t//evil.example",
            "/org/\u{3000}",
            "/%09/evil.example\t",
            "",
            "evil.example",
            "javascript:alert(1)",
            "/\u{0}x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        // Percent-escapes stay escaped: the browser reads `/%2F/evil` as a path on this site.
        assert_eq!(safe_next(Some("/%2F/evil.example")), "/%2F/evil.example");
    }
}
