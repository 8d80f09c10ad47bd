//! The web shell: JSON errors for every kind of bad request, never a 5xx; health, readiness,
//! metrics and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::error_code;

crate::on_both_engines! {
    async fn bad_requests_get_4xx_json_errors_never_5xx(app) {
        let c = app.login("admin").await;
        let r = c.get("/no/such/route").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(error_code(r).await, "not_found");
        let r = c.get("/api/v1/nothing-here").await;
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::NOT_FOUND, "not_found"));

        let r = c.post_body("/api/v1/users", "application/json", b"{not json".to_vec()).await;
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::BAD_REQUEST, "bad_json"));

        let r = c.post_body("/api/v1/users", "text/plain", b"hello".to_vec()).await;
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));

        let big = format!("{{\"name\": \"{}\"}}", "x".repeat(200_000));
        let r = c.post_body("/api/v1/tokens", "application/json", big.into_bytes()).await;
        assert_eq!(r.headers().get("connection").map(|v| v.as_bytes()), Some(&b"close"[..]), "the body was not read");
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));

        let r = c.post_json("/api/v1/users", &serde_json::json!({"username": "x"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["fields"][0]["field"], "display_name", "{v}");

        let r = c.http.put(app.url("/api/v1/users")).header("x-csrf-token", c.csrf.clone().unwrap()).send().await.unwrap();
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));

        let r = c.get("/api/v1/org/nodes/XN/children?limit=lots").await;
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::BAD_REQUEST, "bad_query"));

        let r = app.anonymous().get("/api/v1/users").await;
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    }

    async fn a_browser_gets_an_html_404(app) {
        let r = app.anonymous().http.get(app.url("/no/such/page")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r.text().await.unwrap().contains("<h1>404"));
    }

    async fn user_creation_validates_every_field_and_refuses_duplicates(app) {
        let c = app.login("admin").await;
        let body = serde_json::json!({"username": "li.si", "display_name": "李四", "role": "staff", "scopes": ["XN-CD-GA-001"], "password": "a-good-long-password"});
        let r = c.post_json("/api/v1/users", &body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(c.post_json("/api/v1/users", &body).await.status(), StatusCode::CONFLICT);
        let bad = serde_json::json!({"username": "A B", "display_name": "", "role": "staff", "scopes": ["NOPE"], "password": "short"});
        let v: Value = c.post_json("/api/v1/users", &bad).await.json().await.unwrap();
        let fields: Vec<&str> = v["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["username", "display_name", "password"], "{v}");
        let unknown_scope = serde_json::json!({"username": "wang.wu", "display_name": "王五", "role": "staff", "scopes": ["NOPE"], "password": "a-good-long-password"});
        let v: Value = c.post_json("/api/v1/users", &unknown_scope).await.json().await.unwrap();
        assert_eq!(v["error"]["fields"][0]["field"], "scopes");
        let bad_role = serde_json::json!({"username": "wang.wu", "display_name": "王五", "role": "king", "scopes": ["XN"], "password": "a-good-long-password"});
        assert_eq!(c.post_json("/api/v1/users", &bad_role).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn health_readiness_and_metrics_answer(app) {
        let c = app.anonymous();
        let r = c.get("/healthz").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-request-id"].len(), 26, "every response carries a request id");
        assert_eq!(c.get("/readyz").await.text().await.unwrap(), "ready");
        c.get("/api/v1/org/nodes").await;
        let m = c.get("/metrics").await.text().await.unwrap();
        assert!(m.contains("pingyi_http_requests_total{method=\"GET\",route=\"/api/v1/org/nodes\",status=\"401\"} 1"), "{m}");
        assert!(m.contains("pingyi_http_request_duration_seconds_bucket"));
    }

    async fn the_openapi_document_lists_every_api_route(app) {
        let doc: Value = app.anonymous().get_json("/api/openapi.json", StatusCode::OK).await;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().unwrap();
        for (path, method) in [
            ("/api/v1/session", "post"),
            ("/api/v1/session", "get"),
            ("/api/v1/session", "delete"),
            ("/api/v1/session/password", "post"),
            ("/api/v1/org/nodes", "get"),
            ("/api/v1/org/nodes/{code}", "get"),
            ("/api/v1/org/nodes/{code}/children", "get"),
            ("/api/v1/org/nodes/{code}/search", "get"),
            ("/api/v1/org/nodes/{code}/staff", "get"),
            ("/api/v1/org/import", "post"),
            ("/api/v1/org/export", "get"),
            ("/api/v1/users", "get"),
            ("/api/v1/users", "post"),
            ("/api/v1/tokens", "get"),
            ("/api/v1/tokens", "post"),
            ("/api/v1/tokens/{id}", "delete"),
            ("/api/v1/audit", "get"),
            ("/api/v1/ratings", "post"),
            ("/api/v1/ratings", "get"),
            ("/api/v1/ratings/counts", "get"),
            ("/api/v1/ratings/export", "get"),
            ("/api/v1/ratings/{id}", "get"),
            ("/api/v1/ratings/{id}/appeal", "post"),
            ("/api/v1/appeals", "get"),
            ("/api/v1/appeals/{id}/decision", "post"),
            ("/api/v1/invitations", "post"),
            ("/api/v1/alerts", "get"),
            ("/api/v1/inbox", "get"),
            ("/api/v1/org/nodes/{code}/rating-code", "get"),
            ("/api/v1/org/nodes/{code}/rating-code/reissue", "post"),
            ("/api/v1/rating-codes/issue", "post"),
            ("/api/v1/signing-keys/rotate", "post"),
            ("/api/v1/org/nodes/{code}/rating-settings", "get"),
            ("/api/v1/org/nodes/{code}/rating-settings", "put"),
            ("/api/v1/calendar/days/{date}", "get"),
            ("/api/v1/calendar/deadline", "get"),
            ("/api/v1/webhooks", "get"),
            ("/api/v1/webhooks", "post"),
            ("/api/v1/webhooks/{id}", "delete"),
            ("/api/v1/jobs", "get"),
            ("/api/v1/jobs/{id}/retry", "post"),
            ("/api/v1/sla/policies", "get"),
            ("/api/v1/sla/policies", "put"),
            ("/api/v1/sla/overdue", "get"),
            ("/api/v1/calendar/years", "post"),
            ("/api/v1/calendar/overrides", "post"),
            ("/api/v1/org/nodes/{code}/business-hours", "get"),
            ("/api/v1/org/nodes/{code}/business-hours", "put"),
            ("/api/v1/staff/{staff_no}/rating-code", "post"),
            ("/api/v1/cases", "get"),
            ("/api/v1/cases", "post"),
            ("/api/v1/cases/{id}", "get"),
            ("/api/v1/cases/{id}/actions", "post"),
            ("/api/v1/cases/{id}/attachments", "post"),
            ("/api/v1/attachments/{id}", "get"),
            ("/api/v1/org/{code}/case-office", "put"),
            ("/api/v1/accountability", "get"),
            ("/api/v1/accountability/counts", "get"),
            ("/api/v1/dashboard", "get"),
            ("/api/v1/dashboard/export", "get"),
            ("/api/v1/rankings", "get"),
            ("/api/v1/public", "get"),
            ("/api/v1/reports/monthly", "get"),
            ("/api/v1/reports/monthly", "post"),
            ("/api/v1/teams", "get"),
            ("/api/v1/teams/{code}/stations", "put"),
            ("/api/v1/teams/{code}/history", "get"),
            ("/api/v1/visits", "get"),
            ("/api/v1/visits", "post"),
            ("/api/v1/visits/{id}", "get"),
            ("/api/v1/visits/{id}/attachments", "post"),
            ("/api/v1/visit-files/{id}", "get"),
            ("/api/v1/visits/{id}/sheet", "post"),
            ("/api/v1/sheets/{id}", "get"),
            ("/api/v1/sheets/{id}/sign", "post"),
            ("/api/v1/burden", "get"),
            ("/api/v1/items", "get"),
            ("/api/v1/items", "post"),
            ("/api/v1/items/{id}", "get"),
            ("/api/v1/items/{id}/actions", "post"),
            ("/api/v1/items/{id}/attachments", "post"),
            ("/api/v1/item-files/{id}", "get"),
            ("/api/v1/supervision/stats", "get"),
            ("/api/v1/supervision/bulletin", "get"),
            ("/api/v1/supervision/bulletin/export", "get"),
            ("/api/v1/items/export", "get"),
            ("/api/v1/items/import", "post"),
            ("/api/v1/meetings", "get"),
            ("/api/v1/meetings", "post"),
            ("/api/v1/meetings/{id}", "get"),
            ("/api/v1/meetings/{id}/minutes", "post"),
            ("/api/v1/data-requests", "get"),
            ("/api/v1/data-requests", "post"),
            ("/api/v1/plans", "get"),
            ("/api/v1/plans", "post"),
            ("/api/v1/plans/{id}", "get"),
            ("/api/v1/items/{id}/milestones", "post"),
            ("/api/v1/items/{id}/milestones/{milestone}/reached", "post"),
            ("/api/v1/supervision/settings", "get"),
            ("/api/v1/supervision/settings", "put"),
            ("/api/v1/parks", "get"),
            ("/api/v1/parks/{code}", "put"),
            ("/api/v1/chains", "get"),
            ("/api/v1/chains", "post"),
            ("/api/v1/enterprises", "get"),
            ("/api/v1/enterprises", "post"),
            ("/api/v1/enterprises/{uscc}/users", "post"),
            ("/api/v1/projects", "get"),
            ("/api/v1/projects", "post"),
            ("/api/v1/projects/{code}", "get"),
            ("/api/v1/projects/{code}/reports", "post"),
            ("/api/v1/projects/{code}/progress", "post"),
            ("/api/v1/projects/{code}/messages", "get"),
            ("/api/v1/projects/{code}/messages", "post"),
            ("/api/v1/projects/{code}/files", "post"),
            ("/api/v1/project-files/{id}", "get"),
            ("/api/v1/projects/{code}/stream", "get"),
            ("/api/v1/desk-requests", "get"),
            ("/api/v1/desk-requests/{id}", "get"),
            ("/api/v1/desk-requests/{id}/actions", "post"),
            ("/api/v1/investment", "get"),
            ("/api/v1/chains/{id}", "get"),
            ("/api/v1/conduct-lists", "get"),
            ("/api/v1/conduct-lists", "post"),
            ("/api/v1/conduct-breaches", "post"),
            ("/api/v1/projects/export", "get"),
            ("/api/v1/projects/import", "post"),
            ("/api/v1/project-reports/export", "get"),
            ("/api/v1/project-reports/import", "post"),
        ] {
            assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
        }
        let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(documented, 129, "a route was added: list it above too");
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    }
}
