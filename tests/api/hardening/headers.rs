//! Every answer carries the security headers; personal data is never cached; a spreadsheet
//! never runs a citizen's comment.

use reqwest::StatusCode;
use serde_json::json;

use crate::ratings::{code_of, rate};

crate::on_both_engines! {
    async fn pages_carry_a_policy_and_personal_answers_are_never_stored(app) {
        let admin = app.login("admin").await;
        let anonymous = app.anonymous();
        for (c, path) in [(&anonymous, "/login"), (&admin, "/"), (&admin, "/cases"), (&admin, "/no/such/page")] {
            let r = c.http.get(app.url(path)).header("accept", "text/html").send().await.unwrap();
            let h = r.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            assert_eq!(h["cache-control"], "no-store", "{path}");
            assert!(h.get("strict-transport-security").is_none(), "plain HTTP: no HSTS");
        }
        let code = code_of(&app, "XN-CD-GA-001").await;
        let page = app.anonymous().get(&format!("/r/{code}")).await;
        assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("'sha256-"), "the rating page's inline style is allowed by its hash");
        let api = admin.get("/api/v1/cases").await;
        assert_eq!(api.headers()["cache-control"], "no-store");
        assert_eq!(api.headers()["x-content-type-options"], "nosniff");
        assert!(api.headers().get("content-security-policy").is_none(), "JSON needs no policy");
        let css = admin.get("/static/app.css").await;
        assert!(css.headers()["cache-control"].to_str().unwrap().starts_with("public"), "static files keep their own caching");
    }

    async fn a_comment_that_a_spreadsheet_would_run_is_exported_as_text(app) {
        let code = code_of(&app, "XN-CD-GA-001").await;
        let formula = "=HYPERLINK(\"http://evil.example\",\"点这里\")";
        let r = rate(&app.anonymous(), json!({"code": code, "satisfied": false, "reasons": ["not_done"], "comment": formula})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let csv = app.login("supervisor").await.get("/api/v1/ratings/export?under=XN-CD-GA-001").await.text().await.unwrap();
        assert!(csv.contains("'=HYPERLINK("), "{csv}");
        assert!(!csv.contains(",=HYPERLINK(") && !csv.contains(",\"=HYPERLINK("), "{csv}");
    }
}

/// With `secure_cookies` on, browsers are told to use HTTPS only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_sites_send_strict_transport_security() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Engine::Sqlite, |c| c.secure_cookies = true).await;
    let r = app.anonymous().get("/healthz").await;
    assert!(r.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
}
