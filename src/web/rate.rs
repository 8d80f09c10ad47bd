//! The citizen's side: the rating page `/r/{token}` (works without JavaScript), its plain form
//! POST, the thank-you page, and `POST /api/v1/ratings`. No login. Every accepted rating is
//! committed before the answer; a rating that could not be stored is never reported as stored.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{self, ClientAddr, Lang};
use super::error::{ApiJson, ApiPath, Error, ErrorBody, Result};
use super::pages::Page;
use crate::domain::FieldError;
use crate::domain::rating::{self, Outcome, RawRating, STANDARD_REASONS, Scale, TokenKind};
use crate::i18n::Tr;
use crate::ingest::IngestError;
use crate::store::rating_codes::{self, Target};
use crate::store::ratings::{self, NewRating, RatingSettings, Receipt, Refusal, Source};

/// The device cookie: random, so repeated ratings from one phone can be flagged.
pub const DEVICE_COOKIE: &str = "pingyi_device";

/// The public rating API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(submit_json))
}

/// The rating pages.
pub fn pages() -> Router<AppState> {
    Router::new().route("/r/{token}", get(page).post(submit_form)).route("/r/{token}/thanks", get(thanks))
}

/// What a token stands for.
#[derive(Debug)]
struct Resolved {
    target: Target,
    invitation: bool,
    /// The region's settings, when already at hand.
    settings: Option<std::sync::Arc<RatingSettings>>,
}

/// Resolves a code or invitation token: 404 when forged or unknown, 410 when revoked, used or
/// expired.
async fn resolve(state: &AppState, token: &str) -> Result<Resolved> {
    let keys = &state.ratings.keys;
    if let Some(id) = keys.open(token, TokenKind::Code).await? {
        let (target, settings) = state.ratings.code_target(&state.store, &id).await?.ok_or(Error::NotFound)?;
        if target.closed {
            return Err(Error::Gone {
                code: "revoked",
                message: "this rating code has been replaced by a new one".into(),
            });
        }
        return Ok(Resolved { target, invitation: false, settings: Some(settings) });
    }
    if let Some(id) = keys.open(token, TokenKind::Invitation).await? {
        let target = rating_codes::invitation_target(&state.store, &id).await?.ok_or(Error::NotFound)?;
        if target.closed {
            return Err(Error::Gone {
                code: "invitation_used",
                message: "this invitation has already been used".into(),
            });
        }
        if target.expired {
            return Err(Error::Gone { code: "invitation_expired", message: "this invitation has expired".into() });
        }
        return Ok(Resolved { target, invitation: true, settings: None });
    }
    Err(Error::NotFound)
}

/// What identifies the rating's device before hashing: the device cookie when the browser
/// has one, otherwise its user agent (with the address). Read from the headers in place: the
/// JSON path is the hot one, so no copy of the header map and no parse of every cookie.
#[derive(Debug)]
struct Device {
    cookie: Option<String>,
    user_agent: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Device {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> std::result::Result<Device, std::convert::Infallible> {
        let cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == DEVICE_COOKIE)
            .map(|(_, value)| value.trim_matches('"'))
            .filter(|v| v.len() >= 16 && v.len() <= 64)
            .map(str::to_owned);
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Ok(Device { cookie, user_agent: user_agent.to_owned() })
    }
}

/// The peppered device and address hashes of a rating from `device` at `addr`.
fn device_and_address(state: &AppState, device: &Device, addr: &str) -> (String, String) {
    let pepper = &state.ratings.pepper;
    let device = match &device.cookie {
        Some(d) => format!("cookie:{d}"),
        None => format!("ua:{}|{addr}", device.user_agent),
    };
    (pepper.hash(&device), pepper.hash(addr))
}

async fn store_rating(
    state: &AppState,
    resolved: Resolved,
    raw: &RawRating,
    source: Source,
    hashes: (String, String),
) -> Result<std::result::Result<(Receipt, Scale), Vec<FieldError>>> {
    let settings = match resolved.settings {
        Some(s) => s,
        None => std::sync::Arc::new(ratings::settings_for(&state.store, &resolved.target.org_code).await?),
    };
    let submission = match rating::validate(raw, settings.scale, &settings.reason_codes()) {
        Ok(s) => s,
        Err(fields) => return Ok(Err(fields)),
    };
    let phone_enc = submission.phone.as_ref().map(|p| state.ratings.sealer.seal(p.expose()));
    let phone_masked = submission.phone.as_ref().map(|p| p.masked());
    let reason_labels = settings.reason_labels_zh(&submission.reasons);
    let id = resolved.target.id.clone();
    let new = NewRating {
        code_id: (!resolved.invitation).then(|| id.clone()),
        invitation_id: resolved.invitation.then_some(id),
        target: resolved.target,
        scale: settings.scale,
        submission,
        phone_enc,
        phone_masked,
        device_hash: hashes.0,
        address_hash: hashes.1,
        source,
        reason_labels,
    };
    match state.ratings.writer.submit(new).await {
        Ok(Ok(receipt)) => Ok(Ok((receipt, settings.scale))),
        Ok(Err(Refusal::InvitationUsed)) => {
            Err(Error::Gone { code: "invitation_used", message: "this invitation has already been used".into() })
        }
        Err(IngestError::Stopped) => Err(Error::Unavailable),
        Err(IngestError::Store(e)) => {
            tracing::error!(error = %e, "rating not stored");
            Err(Error::Unavailable)
        }
    }
}

/// A rating.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct RatingRequest {
    /// The rating code or invitation token (the last part of `/r/{code}`).
    pub code: String,
    /// 1 (very unsatisfied) to 5 (very satisfied). Five-level regions need it.
    pub level: Option<i64>,
    /// For two-level regions: satisfied or not.
    pub satisfied: Option<bool>,
    /// Reason codes; at least one when unsatisfied: hard_to_enter, unfriendly, harsh_words,
    /// not_done, or one the region added.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Free text, at most 500 characters.
    pub comment: Option<String>,
    /// Mobile number for a return visit.
    pub phone: Option<String>,
    /// Consent to be called back. Defaults to true when a phone is given (the calling system
    /// asked); send false to record that it was refused, which makes the phone an error.
    pub consent: Option<bool>,
}

/// A stored rating.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RatingCreated {
    /// Id.
    pub id: String,
    /// satisfied, neutral or unsatisfied.
    pub outcome: Outcome,
    /// two or five.
    pub scale: Scale,
    /// Abuse-rule flags; the rating is stored either way.
    pub flags: Vec<String>,
}

/// Submit a rating. 201 means it is durably committed.
#[utoipa::path(post, path = "/api/v1/ratings", tag = "ratings", request_body = RatingRequest,
    responses(
        (status = 201, description = "Committed", body = RatingCreated),
        (status = 400, body = ErrorBody),
        (status = 404, description = "Unknown or forged code", body = ErrorBody),
        (status = 410, description = "Revoked code, used or expired invitation", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
        (status = 503, description = "Not stored; try again", body = ErrorBody)))]
async fn submit_json(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    device: Device,
    ApiJson(req): ApiJson<RatingRequest>,
) -> Result<(StatusCode, axum::Json<RatingCreated>)> {
    let resolved = resolve(&state, req.code.trim()).await?;
    let raw = RawRating {
        level: req.level,
        satisfied: req.satisfied,
        reasons: req.reasons,
        comment: req.comment,
        consent: req.consent.unwrap_or(req.phone.is_some()),
        phone: req.phone,
    };
    let hashes = device_and_address(&state, &device, &addr);
    match store_rating(&state, resolved, &raw, Source::Api, hashes).await? {
        Ok((r, scale)) => {
            Ok((StatusCode::CREATED, axum::Json(RatingCreated { id: r.id, outcome: r.outcome, scale, flags: r.flags })))
        }
        Err(fields) => Err(Error::Validation(fields)),
    }
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
        _ => return super::pages::PageError(e).into_response(),
    };
    (status, Page(ClosedPage { tr, status: status.as_u16(), message_key })).into_response()
}

async fn rate_page(
    state: &AppState,
    tr: Tr,
    token: &str,
    target: &Target,
    values: FormValues,
    errors: Vec<String>,
) -> Result<RatePage> {
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
    let resolved = match resolve(&state, &token).await {
        Ok(r) => r,
        Err(e) => return closed_page(tr, e),
    };
    let target = resolved.target.clone();
    let hashes = device_and_address(&state, &device, &addr);
    let outcome = store_rating(&state, resolved, &values.raw(), Source::Page, hashes).await;
    let (status, errors) = match outcome {
        Ok(Ok((receipt, _))) => {
            let phone = if values.phone.trim().is_empty() { "0" } else { "1" };
            let to = format!("/r/{token}/thanks?o={}&p={phone}", receipt.outcome.as_str());
            return (with_device_cookie(&state, jar), Redirect::to(&to)).into_response();
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

#[cfg(test)]
mod tests {
    use axum::extract::FromRequestParts;

    use super::*;

    async fn device(headers: &[(&str, &str)]) -> Device {
        let mut request = axum::http::Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).unwrap_or_else(|e| panic!("{e}")).into_parts();
        match Device::from_request_parts(&mut parts, &()).await {
            Ok(d) => d,
        }
    }

    #[tokio::test]
    async fn the_device_is_its_cookie_among_the_others_or_else_its_user_agent() {
        let id = "0123456789abcdef0123";
        let d = device(&[("cookie", &format!("a=1; {DEVICE_COOKIE}={id}; b=2")), ("user-agent", "Phone/1")]).await;
        assert_eq!((d.cookie.as_deref(), d.user_agent.as_str()), (Some(id), "Phone/1"));
        // Browsers may send several Cookie headers (HTTP/2) and quote a value.
        let d = device(&[("cookie", "a=1"), ("cookie", &format!("{DEVICE_COOKIE}=\"{id}\""))]).await;
        assert_eq!(d.cookie.as_deref(), Some(id));
        // Too short or too long to be one of ours: the user agent stands in.
        for value in ["short", &"x".repeat(65)] {
            let d = device(&[("cookie", &format!("{DEVICE_COOKIE}={value}")), ("user-agent", "Phone/1")]).await;
            assert_eq!((d.cookie, d.user_agent.as_str()), (None, "Phone/1"), "{value}");
        }
        let d = device(&[("cookie", &format!("x{DEVICE_COOKIE}={id}"))]).await;
        assert_eq!((d.cookie, d.user_agent.as_str()), (None, ""), "another cookie whose name ends the same");
    }
}
