//! Every refusal answers the documented error body, whichever part of the server refused.

use reqwest::StatusCode;
use serde_json::Value;

use crate::cases::{UNIT, rating_case};
use crate::helpers::ATTACHMENT_LIMIT;
use crate::ratings::code_of;

async fn documented(resp: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(resp.status(), status);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

crate::on_both_engines! {
    async fn every_413_answers_the_json_error_body(app) {
        let case = rating_case(&app).await;
        let id = case["id"].as_str().unwrap();
        let sup = app.login("supervisor").await;
        let big = vec![b'x'; ATTACHMENT_LIMIT + 128 * 1024];
        documented(sup.post_body(&format!("/api/v1/cases/{id}/attachments?name=big.png"), "image/png", big).await, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
        let admin = app.login("admin").await;
        let import = vec![b'x'; 17 * 1024 * 1024];
        documented(admin.post_body("/api/v1/org/import", "text/csv", import).await, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
        let code = code_of(&app, UNIT).await;
        let form = vec![b'a'; 80 * 1024];
        let r = app.anonymous().post_body(&format!("/r/{code}"), "application/x-www-form-urlencoded", form).await;
        documented(r, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
        let json = format!("{{\"code\": \"{code}\", \"comment\": \"{}\"}}", "长".repeat(40 * 1024));
        documented(app.anonymous().post_body("/api/v1/ratings", "application/json", json.into_bytes()).await, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    }
}
