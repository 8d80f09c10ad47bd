//! Logging in and out, backoff, CSRF, bearer tokens, password changes.

use reqwest::StatusCode;
use serde_json::json;

crate::on_both_engines! {
    async fn a_wrong_password_or_unknown_user_gets_401(app) {
        let c = app.anonymous();
        let r = c.post_json("/api/v1/session", &json!({"username": "admin", "password": "not-the-password"})).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = c.post_json("/api/v1/session", &json!({"username": "nobody", "password": "whatever-it-is"})).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(c.get("/api/v1/session").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn the_session_cookie_is_http_only_and_same_site(app) {
        let c = app.anonymous();
        let r = c.post_json("/api/v1/session", &json!({"username": "admin", "password": pingyi::demo::DEMO_PASSWORD})).await;
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("pingyi_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    }

    async fn repeated_failures_lock_the_username_even_for_the_right_password(app) {
        let c = app.anonymous();
        for _ in 0..5 {
            let r = c.post_json("/api/v1/session", &json!({"username": "supervisor", "password": "wrong-password"})).await;
            assert_ne!(r.status(), StatusCode::OK);
        }
        let r = c.post_json("/api/v1/session", &json!({"username": "supervisor", "password": pingyi::demo::DEMO_PASSWORD})).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&wait), "retry after {wait}s");
        // Other users are not affected.
        app.login("admin").await;
    }

    async fn changes_made_with_a_session_need_the_csrf_token(app) {
        let mut c = app.login("admin").await;
        let token = c.csrf.take();
        let body = json!({"name": "reporting"});
        assert_eq!(c.post_json("/api/v1/tokens", &body).await.status(), StatusCode::FORBIDDEN);
        c.csrf = Some("forged".into());
        assert_eq!(c.post_json("/api/v1/tokens", &body).await.status(), StatusCode::FORBIDDEN);
        c.csrf = token;
        assert_eq!(c.post_json("/api/v1/tokens", &body).await.status(), StatusCode::CREATED);
    }

    async fn a_bearer_token_works_without_csrf_until_revoked(app) {
        let c = app.login("supervisor").await;
        let created = c.post_json("/api/v1/tokens", &json!({"name": "dashboard"})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: serde_json::Value = created.json().await.unwrap();
        let token = created["token"].as_str().unwrap().to_owned();
        let bearer = app.anonymous();
        let me = bearer.http.get(app.url("/api/v1/session")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        let me: serde_json::Value = me.json().await.unwrap();
        assert_eq!(me["user"]["username"], "supervisor");
        let id = created["id"].as_str().unwrap();
        assert_eq!(c.delete(&format!("/api/v1/tokens/{id}")).await.status(), StatusCode::NO_CONTENT);
        let me = bearer.http.get(app.url("/api/v1/session")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
        // Another user cannot revoke someone else's token.
        let other = app.login("inspector01").await;
        let mine = c.post_json("/api/v1/tokens", &json!({"name": "second"})).await.json::<serde_json::Value>().await.unwrap();
        let r = other.delete(&format!("/api/v1/tokens/{}", mine["id"].as_str().unwrap())).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    async fn logging_out_ends_the_session(app) {
        let c = app.login("staff").await;
        assert_eq!(c.delete("/api/v1/session").await.status(), StatusCode::NO_CONTENT);
        assert_eq!(c.get("/api/v1/session").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn changing_the_password_ends_every_session_and_revokes_every_token(app) {
        let first = app.login("unithead").await;
        let second = app.login("unithead").await;
        let weak = first.post_json("/api/v1/session/password", &json!({"current_password": pingyi::demo::DEMO_PASSWORD, "new_password": "short"})).await;
        assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let wrong = first.post_json("/api/v1/session/password", &json!({"current_password": "not-it-at-all", "new_password": "a much longer password"})).await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let token = first.post_json("/api/v1/tokens", &json!({"name": "reporting"})).await.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
        let bearer = app.anonymous();
        assert_eq!(bearer.http.get(app.url("/api/v1/session")).bearer_auth(&token).send().await.unwrap().status(), StatusCode::OK);
        let ok = first.post_json("/api/v1/session/password", &json!({"current_password": pingyi::demo::DEMO_PASSWORD, "new_password": "a much longer password"})).await;
        assert_eq!(ok.status(), StatusCode::OK);
        let ended: serde_json::Value = ok.json().await.unwrap();
        assert_eq!((ended["sessions_ended"].as_u64(), ended["tokens_revoked"].as_u64()), (Some(2), Some(1)), "{ended}");
        assert_eq!(second.get("/api/v1/session").await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(bearer.http.get(app.url("/api/v1/session")).bearer_auth(&token).send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "the token made under the old password is revoked");
        let c = app.anonymous();
        let r = c.post_json("/api/v1/session", &json!({"username": "unithead", "password": "a much longer password"})).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    async fn the_login_form_needs_its_csrf_cookie_and_shows_errors_in_the_chosen_language(app) {
        let c = app.anonymous();
        let page = c.http.get(app.url("/login")).header("accept-language", "en").send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("Log in") && html.contains("lang=\"en\""));
        let csrf = html.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let forged = c.http.post(app.url("/login")).form(&[("username", "admin"), ("password", pingyi::demo::DEMO_PASSWORD), ("_csrf", "forged")]).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let wrong = c.http.post(app.url("/login")).header("accept-language", "en").form(&[("username", "admin"), ("password", "wrong-password"), ("_csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(wrong.text().await.unwrap().contains("Wrong username or password"));
        let ok = c.http.post(app.url("/login")).form(&[("username", "admin"), ("password", pingyi::demo::DEMO_PASSWORD), ("_csrf", csrf.as_str()), ("next", "/admin/audit")]).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        assert_eq!(ok.headers()["location"], "/admin/audit");
        let zh = c.get("/").await.text().await.unwrap();
        assert!(zh.contains("我的范围"), "Chinese is the default language");
    }
}
