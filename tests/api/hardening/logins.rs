//! Failed logins hold off the guesser, not the account's owner, and an anonymous client writes a
//! bounded number of rows however many usernames it guesses.

use std::net::IpAddr;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

/// A client whose requests come from another loopback address (the whole 127/8 is local).
fn client_from(app: &TestApp, addr: &str) -> reqwest::Client {
    let _ = app;
    reqwest::Client::builder().local_address(addr.parse::<IpAddr>().ok()).build().unwrap()
}

async fn try_login(app: &TestApp, c: &reqwest::Client, username: &str, password: &str) -> StatusCode {
    let body = json!({"username": username, "password": password});
    c.post(app.url("/api/v1/session")).json(&body).send().await.unwrap().status()
}

async fn rows(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(app.store.pool()).await.unwrap()
}

crate::on_both_engines! {
    async fn wrong_passwords_from_one_address_do_not_lock_the_owner_out_elsewhere(app) {
        let guesser = client_from(&app, "127.0.0.2");
        for i in 0..5 {
            let status = try_login(&app, &guesser, "admin", "not-the-password").await;
            assert!(status == StatusCode::UNAUTHORIZED || (i == 4 && status == StatusCode::TOO_MANY_REQUESTS), "{i}: {status}");
        }
        assert_eq!(try_login(&app, &guesser, "admin", pingyi::demo::DEMO_PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
        let owner = client_from(&app, "127.0.0.3");
        assert_eq!(try_login(&app, &owner, "admin", pingyi::demo::DEMO_PASSWORD).await, StatusCode::OK, "the admin logs in from their own desk");
    }

    async fn guessing_usernames_is_throttled_by_address_and_writes_bounded_rows(app) {
        let guesser = client_from(&app, "127.0.0.4");
        let audit_before = app.audit_rows().await;
        let mut refused_at = None;
        for i in 0..60 {
            let status = try_login(&app, &guesser, &format!("nobody{i}"), "whatever-it-is").await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                refused_at.get_or_insert(i);
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED);
            }
        }
        let refused_at = refused_at.expect("the address was held off");
        assert!(refused_at <= pingyi::domain::login::ADDRESS_FREE_FAILURES as usize, "held off after {refused_at} guesses");
        let written = rows(&app, "select cast(count(*) as bigint) from login_failures").await;
        assert!(written <= pingyi::domain::login::ADDRESS_FREE_FAILURES + 1, "{written} rows for 60 guesses");
        let audited = app.audit_rows().await - audit_before;
        assert!(audited <= pingyi::domain::login::ADDRESS_FREE_FAILURES, "{audited} audit rows for 60 guesses");
        // Another address is not held off.
        let other = client_from(&app, "127.0.0.5");
        assert_eq!(try_login(&app, &other, "supervisor", pingyi::demo::DEMO_PASSWORD).await, StatusCode::OK);
    }

    async fn a_token_beside_a_stale_session_cookie_is_not_believed(app) {
        let created = app.login("admin").await.post_json("/api/v1/tokens", &json!({"name": "script"})).await;
        let token = created.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
        let c = reqwest::Client::new();
        let alone = c.get(app.url("/api/v1/session")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(alone.status(), StatusCode::OK);
        let stale = c.get(app.url("/api/v1/session")).bearer_auth(&token).header("cookie", "pingyi_session=ended-long-ago").send().await.unwrap();
        assert_eq!(stale.status(), StatusCode::UNAUTHORIZED, "every credential a request carries must hold");
        let unreadable = c.get(app.url("/api/v1/session")).bearer_auth(&token).header("cookie", "pingyi_session=\"a;b").send().await.unwrap();
        assert_eq!(unreadable.status(), StatusCode::UNAUTHORIZED, "nor one that cannot be read");
    }

    async fn a_wrong_password_says_so(app) {
        let r = app.anonymous().post_json("/api/v1/session", &json!({"username": "admin", "password": "not-the-password"})).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "wrong_credentials");
        assert_eq!(body["error"]["message"], "wrong username or password");
    }
}
