//! The rating pages: the form at `/r/{token}`, its plain POST and the thank-you page.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;

use super::{DEVICE_COOKIE, Device, device_and_address, resolve, store_rating};
use crate::domain::rating::{self, RawRating, STANDARD_REASONS, Scale};
use crate::i18n::Tr;
use crate::store::rating_codes::Target;
use crate::store::ratings::{self, Source};
use crate::web::AppState;
use crate::web::auth::{self, ClientAddr, Lang};
use crate::web::error::{ApiPath, Error, Result};
use crate::web::pages::Page;

/// The rating pages.
pub fn pages() -> Router<AppState> {
    Router::new().route("/r/{token}", get(page).post(submit_form)).route("/r/{token}/thanks", get(thanks))
}

/// The values a citizen entered, kept when the form comes back with errors.
#[derive(Debug, Default)]
struct FormValues {
    level: Option<i64>,
    satisfied: Option<bool>,
    reasons: Vec<String>,
    comment: String,
    phone: String,
    consent: bool,
    /// The hidden `request_key`: new with each page, sent again with every retry of its form.
    request_key: String,
}

impl FormValues {
    fn parse(body: &[u8]) -> FormValues {
        let mut v = FormValues::default();
        for (k, val) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "level" => v.level = val.trim().parse().ok(),
                "satisfied" => v.satisfied = Some(val == "yes"),
                "reasons" => v.reasons.push(val.into_owned()),
                "comment" => v.comment = val.into_owned(),
                "phone" => v.phone = val.into_owned(),
                "consent" => v.consent = !val.is_empty(),
                "request_key" => v.request_key = val.into_owned(),
                _ => {}
            }
        }
        v
    }

    fn raw(&self) -> RawRating {
        RawRating {
            level: self.level,
            satisfied: self.satisfied,
            reasons: self.reasons.clone(),
            comment: Some(self.comment.clone()),
            phone: Some(self.phone.clone()),
            consent: self.consent,
        }
    }

    fn has_reason(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r == code)
    }

    fn level_is(&self, l: &u8) -> bool {
        self.level == Some(i64::from(*l))
    }
}

struct Choice {
    value: u8,
    label: String,
}

struct ReasonChoice {
    code: String,
    label: String,
}

#[derive(Template)]
#[template(path = "rate.html")]
struct RatePage {
    tr: Tr,
    token: String,
    unit_name: String,
    window_name: Option<String>,
    staff_name: Option<String>,
    five: bool,
    levels: Vec<Choice>,
    reasons: Vec<ReasonChoice>,
    values: FormValues,
    errors: Vec<String>,
    max_comment: usize,
}

#[derive(Template)]
#[template(path = "rate_closed.html")]
struct ClosedPage {
    tr: Tr,
    status: u16,
    message_key: &'static str,
}

fn closed_page(tr: Tr, e: Error) -> Response {
    let status = e.status();
    let message_key = match &e {
        Error::Gone { code: "revoked", .. } => "rate.revoked",
        Error::Gone { code: "invitation_used", .. } => "rate.used",
        Error::Gone { code: "invitation_expired", .. } => "rate.expired",
        Error::NotFound => "rate.unknown",
        Error::Unavailable => "rate.unavailable",
        _ => return crate::web::pages::PageError(e).into_response(),
    };
    (status, Page(ClosedPage { tr, status: status.as_u16(), message_key })).into_response()
}

async fn rate_page(
    state: &AppState,
    tr: Tr,
    token: &str,
    target: &Target,
    mut values: FormValues,
    errors: Vec<String>,
) -> Result<RatePage> {
    if super::requests::parse_key("request_key", &values.request_key).is_err() {
        values.request_key = crate::store::new_secret(16);
    }
    let settings = ratings::settings_for(&state.store, &target.org_code).await?;
    let five = settings.scale == Scale::Five;
    let levels =
        (1..=5u8).rev().map(|value| Choice { value, label: tr.t(&format!("rate.level{value}")).to_owned() }).collect();
    let mut reasons: Vec<ReasonChoice> = STANDARD_REASONS
        .iter()
        .map(|code| ReasonChoice { code: (*code).to_owned(), label: tr.t(&format!("reason.{code}")).to_owned() })
        .collect();
    reasons.extend(settings.extra_reasons.iter().map(|r| ReasonChoice {
        code: r.code.clone(),
        label: if tr.locale == crate::i18n::Locale::En { r.en.clone() } else { r.zh.clone() },
    }));
    Ok(RatePage {
        tr,
        token: token.to_owned(),
        unit_name: target.unit_name.clone(),
        window_name: (target.org_code != target.unit_code).then(|| target.org_name.clone()),
        staff_name: target.staff_name.clone(),
        five,
        levels,
        reasons,
        values,
        errors,
        max_comment: rating::MAX_COMMENT_CHARS,
    })
}

fn with_device_cookie(state: &AppState, jar: CookieJar) -> CookieJar {
    if jar.get(DEVICE_COOKIE).is_some() {
        return jar;
    }
    jar.add(auth::cookie(DEVICE_COOKIE, crate::store::new_secret(16), state.config.secure_cookies, Some(365 * 86400)))
}

async fn page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    jar: CookieJar,
    ApiPath(token): ApiPath<String>,
) -> Response {
    let tr = Tr { locale };
    let resolved = match resolve(&state, &token).await {
        Ok(r) => r,
        Err(e) => return closed_page(tr, e),
    };
    match rate_page(&state, tr, &token, &resolved.target, FormValues::default(), Vec::new()).await {
        Ok(p) => (with_device_cookie(&state, jar), Page(p)).into_response(),
        Err(e) => closed_page(tr, e),
    }
}

fn error_key(field: &str) -> &'static str {
    match field {
        "level" | "satisfied" => "rate.err.level",
        "reasons" => "rate.err.reasons",
        "comment" => "rate.err.comment",
        "phone" => "rate.err.phone",
        "consent" => "rate.err.consent",
        _ => "error.bad_request",
    }
}

async fn submit_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    ClientAddr(addr): ClientAddr,
    device: Device,
    jar: CookieJar,
    ApiPath(token): ApiPath<String>,
    body: Bytes,
) -> Response {
    let tr = Tr { locale };
    let values = FormValues::parse(&body);
    let thanks = |outcome: &str| {
        let phone = if values.phone.trim().is_empty() { "0" } else { "1" };
        format!("/r/{token}/thanks?o={outcome}&p={phone}")
    };
    // A form sent again (the browser's resend, the page's retry after a network error) with its
    // key: the first answer, and nothing stored twice. A page from before keys has none.
    let key = super::requests::parse_key("request_key", &values.request_key).ok();
    let key_hash = key.map(|k| super::request_hash(&state, &token, &k));
    let _held = match &key_hash {
        Some(h) => Some(state.rating_requests.lock(h).await),
        None => None,
    };
    if let Some(h) = &key_hash {
        match ratings::replayed(&state.store, h, crate::store::now_ms()).await {
            Ok(Some(first)) => {
                let outcome = first["outcome"].as_str().unwrap_or_default().to_owned();
                return (with_device_cookie(&state, jar), Redirect::to(&thanks(&outcome))).into_response();
            }
            Ok(None) => {}
            Err(e) => return closed_page(tr, e.into()),
        }
    }
    let resolved = match resolve(&state, &token).await {
        Ok(r) => r,
        Err(e) => return closed_page(tr, e),
    };
    let target = resolved.target.clone();
    let hashes = device_and_address(&state, &device, &addr);
    let outcome = store_rating(&state, resolved, &values.raw(), Source::Page, hashes, key_hash.clone()).await;
    let (status, errors) = match outcome {
        Ok(Ok((receipt, _))) => {
            return (with_device_cookie(&state, jar), Redirect::to(&thanks(receipt.outcome.as_str()))).into_response();
        }
        Ok(Err(fields)) => {
            let mut keys: Vec<String> = fields.iter().map(|f| tr.t(error_key(&f.field)).to_owned()).collect();
            keys.dedup();
            (StatusCode::UNPROCESSABLE_ENTITY, keys)
        }
        // Not stored: say so, and give the citizen their form back to send again.
        Err(Error::Unavailable) => (StatusCode::SERVICE_UNAVAILABLE, vec![tr.t("rate.unavailable").to_owned()]),
        Err(e) => return closed_page(tr, e),
    };
    match rate_page(&state, tr, &token, &target, values, errors).await {
        Ok(p) => (status, Page(p)).into_response(),
        Err(e) => closed_page(tr, e),
    }
}

#[derive(Template)]
#[template(path = "rate_thanks.html")]
struct ThanksPage {
    tr: Tr,
    unsatisfied: bool,
    phone: bool,
}

#[derive(Debug, serde::Deserialize)]
struct ThanksParams {
    o: Option<String>,
    p: Option<String>,
}

async fn thanks(Lang(locale): Lang, ApiPath(_token): ApiPath<String>, Query(q): Query<ThanksParams>) -> Response {
    let page = ThanksPage {
        tr: Tr { locale },
        unsatisfied: q.o.as_deref() == Some("unsatisfied"),
        phone: q.p.as_deref() == Some("1"),
    };
    Page(page).into_response()
}
