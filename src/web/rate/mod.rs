//! The citizen's side: the rating page `/r/{token}` (works without JavaScript), its plain form
//! POST, the thank-you page, and `POST /api/v1/ratings`. No login. Every accepted rating is
//! committed before the answer; a rating that could not be stored is never reported as stored.
//!
//! Here the JSON API and what both paths share (resolving the token, the device, storing the
//! rating); the pages in `page.rs`.

mod page;
pub mod requests;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum_extra::extract::cookie::Cookie;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::ClientAddr;
use super::error::{ApiJson, Error, ErrorBody, Result};
use crate::domain::FieldError;
use crate::domain::rating::{self, Outcome, RawRating, Scale, TokenKind};
use crate::ingest::IngestError;
use crate::store::rating_codes::{self, Target};
use crate::store::ratings::{self, NewRating, RatingSettings, Receipt, Refusal, Source};

pub use page::pages;

/// The device cookie: random, so repeated ratings from one phone can be flagged.
pub const DEVICE_COOKIE: &str = "pingyi_device";

/// The public rating API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(submit_json))
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
        // Parsed as `CookieJar` parses each cookie, without building the jar.
        let cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| Cookie::parse_encoded(c).ok())
            .find(|c| c.name() == DEVICE_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() >= 16 && v.len() <= 64);
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

/// The stored form of a request's idempotency key: peppered with the code it rated.
fn request_hash(state: &AppState, token: &str, key: &str) -> String {
    state.ratings.pepper.hash(&format!("request\n{token}\n{key}"))
}

async fn store_rating(
    state: &AppState,
    resolved: Resolved,
    raw: &RawRating,
    source: Source,
    hashes: (String, String),
    request_key: Option<String>,
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
    let reason_labels = settings.reason_labels(crate::i18n::Locale::ZhCn, &submission.reasons);
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
        request_key,
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
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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

/// Submit a rating. 201 means it is durably committed. Send an `Idempotency-Key` (a new UUID
/// for each rating) to retry safely: a retry with the same key and code within 24 hours answers
/// the first answer again (with `Idempotent-Replayed: true`) and stores nothing new.
#[utoipa::path(post, path = "/api/v1/ratings", tag = "ratings", request_body = RatingRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 100 visible ASCII characters, new for each rating")),
    responses(
        (status = 201, description = "Committed (or, for a retried key, committed before)", body = RatingCreated),
        (status = 400, body = ErrorBody),
        (status = 404, description = "Unknown or forged code", body = ErrorBody),
        (status = 410, description = "Revoked code, used or expired invitation", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
        (status = 503, description = "Not stored; try again", body = ErrorBody)))]
async fn submit_json(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    device: Device,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<RatingRequest>,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let token = req.code.trim();
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(
            requests::parse_key("Idempotency-Key", v.to_str().unwrap_or_default())
                .map_err(|f| Error::Validation(vec![f]))?,
        ),
        None => None,
    };
    let key_hash = key.map(|k| request_hash(&state, token, &k));
    let _held = match &key_hash {
        Some(h) => Some(state.rating_requests.lock(h).await),
        None => None,
    };
    if let Some(h) = &key_hash
        && let Some(first) = ratings::replayed(&state.store, h, crate::store::now_ms()).await?
    {
        let first: RatingCreated = serde_json::from_value(first).map_err(|e| Error::Internal(e.to_string()))?;
        return Ok((StatusCode::CREATED, [("idempotent-replayed", "true")], axum::Json(first)).into_response());
    }
    let resolved = resolve(&state, token).await?;
    let raw = RawRating {
        level: req.level,
        satisfied: req.satisfied,
        reasons: req.reasons,
        comment: req.comment,
        consent: req.consent.unwrap_or(req.phone.is_some()),
        phone: req.phone,
    };
    let hashes = device_and_address(&state, &device, &addr);
    match store_rating(&state, resolved, &raw, Source::Api, hashes, key_hash).await? {
        Ok((r, scale)) => {
            Ok((StatusCode::CREATED, axum::Json(RatingCreated { id: r.id, outcome: r.outcome, scale, flags: r.flags }))
                .into_response())
        }
        Err(fields) => Err(Error::Validation(fields)),
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::FromRequestParts;
    use axum_extra::extract::cookie::CookieJar;

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
    async fn the_device_is_its_cookie_as_the_cookie_jar_reads_it_or_else_its_user_agent() {
        let id = "0123456789abcdef0123";
        let d = device(&[("cookie", &format!("a=1; {DEVICE_COOKIE}={id}; b=2")), ("user-agent", "Phone/1")]).await;
        assert_eq!((d.cookie.as_deref(), d.user_agent.as_str()), (Some(id), "Phone/1"));
        // Too short or too long to be one of ours: the user agent stands in.
        for value in ["short", &"x".repeat(65)] {
            let d = device(&[("cookie", &format!("{DEVICE_COOKIE}={value}")), ("user-agent", "Phone/1")]).await;
            assert_eq!((d.cookie, d.user_agent.as_str()), (None, "Phone/1"), "{value}");
        }
        // The same value the jar the form page uses would find, however the header is written.
        for headers in [
            vec![format!("a=1; {DEVICE_COOKIE}={id}")],
            vec!["a=1".to_owned(), format!("{DEVICE_COOKIE}={id}")],
            vec![format!("{DEVICE_COOKIE}=\"{id}\"")],
            vec![format!("{DEVICE_COOKIE}=%30{id}")],
            vec![format!("x{DEVICE_COOKIE}={id}")],
            vec![format!(" {DEVICE_COOKIE} = {id} ; b=2")],
        ] {
            let mut map = axum::http::HeaderMap::new();
            for h in &headers {
                map.append(header::COOKIE, h.parse().unwrap_or_else(|e| panic!("{e}")));
            }
            let jar = CookieJar::from_headers(&map);
            let expected =
                jar.get(DEVICE_COOKIE).map(|c| c.value().to_owned()).filter(|v| v.len() >= 16 && v.len() <= 64);
            let pairs: Vec<(&str, &str)> = headers.iter().map(|h| ("cookie", h.as_str())).collect();
            assert_eq!(device(&pairs).await.cookie, expected, "{headers:?}");
        }
    }
}
