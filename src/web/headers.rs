//! The security headers every answer carries, set in one place ([`secure`]) so that no page or
//! API answer can forget them.
//!
//! - `Content-Security-Policy` on HTML: scripts only from this site (`/static/app.js`), styles
//!   from this site or one of the inline stylesheets named here by hash, no framing, forms only
//!   to this site. The pages have no inline script and no `style` attribute.
//! - `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin` on everything.
//! - `Strict-Transport-Security` when `secure_cookies` is on (the site is served over HTTPS).
//! - `Cache-Control: no-store` on every answer that did not choose its own caching: staff pages
//!   and API answers carry phone numbers and comments, which must not stay in a shared cache or
//!   in the browser's history cache. Static files and rating-code images set their own.

use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::AppState;

/// The rating pages' stylesheet, inline so that a citizen's phone loads the page in one request.
pub const RATE_CSS: &str = include_str!("../../static/rate.css");

/// The policy for HTML answers.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let inline = std::iter::once(RATE_CSS.to_owned()).chain(crate::qr::PAPERS.map(crate::qr::poster_style));
    let hashes: Vec<String> = inline
        .map(|css| format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css))))
        .collect();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' {}; img-src 'self'; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        hashes.join(" ")
    )
});

/// Adds the security headers to every answer (see the module's documentation).
pub async fn secure(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = resp.headers_mut();
    if is_html && let Ok(v) = HeaderValue::from_str(&CSP) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if state.config.secure_cookies {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_every_inline_stylesheet_and_no_unsafe_source() {
        assert_eq!(CSP.matches("'sha256-").count(), 3, "{}", *CSP);
        assert!(!CSP.contains("unsafe"), "{}", *CSP);
        assert!(CSP.contains("frame-ancestors 'none'"));
    }
}
