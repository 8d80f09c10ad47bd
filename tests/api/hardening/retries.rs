//! A rating sent again with its idempotency key (a client that did not hear the answer) gets the
//! first answer and is stored once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::ratings::code_of;

const UNIT: &str = "XN-CD-GA-001";

async fn ratings_with(app: &TestApp, comment: &str) -> i64 {
    sqlx::query_scalar("select cast(count(*) as bigint) from ratings where comment = $1")
        .bind(comment)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

crate::on_both_engines! {
    async fn a_retried_rating_with_its_key_answers_the_first_answer_and_is_stored_once(app) {
        let code = code_of(&app, UNIT).await;
        let body = json!({"code": code, "satisfied": false, "reasons": ["not_done"], "comment": "重试的评价"});
        let send = |key: &'static str| {
            let c = reqwest::Client::new();
            let (url, body) = (app.url("/api/v1/ratings"), body.clone());
            async move { c.post(url).header("idempotency-key", key).json(&body).send().await.unwrap() }
        };
        let first = send("7d1f9c8e-retry-1").await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        // Three retries, two of them at once: the same answer, nothing stored again.
        let (a, b) = tokio::join!(send("7d1f9c8e-retry-1"), send("7d1f9c8e-retry-1"));
        for r in [a, b, send("7d1f9c8e-retry-1").await] {
            assert_eq!(r.status(), StatusCode::CREATED);
            assert_eq!(r.headers()["idempotent-replayed"], "true");
            assert_eq!(r.json::<Value>().await.unwrap(), first);
        }
        assert_eq!(ratings_with(&app, "重试的评价").await, 1);
        let cases: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from cases where rating_id = $1").bind(first["id"].as_str().unwrap()).fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(cases, 1, "one case");
        // Another key is another rating; a bad key is named.
        assert_eq!(send("7d1f9c8e-retry-2").await.status(), StatusCode::CREATED);
        assert_eq!(ratings_with(&app, "重试的评价").await, 2);
        let bad = reqwest::Client::new().post(app.url("/api/v1/ratings")).header("idempotency-key", "has spaces in it").json(&body).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.json::<Value>().await.unwrap()["error"]["fields"][0]["field"], "Idempotency-Key");
    }

    async fn the_rating_form_sent_twice_is_stored_once(app) {
        let code = code_of(&app, UNIT).await;
        let c = app.anonymous();
        let page = c.get(&format!("/r/{code}")).await.text().await.unwrap();
        let key = page.split("name=\"request_key\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        assert!(key.len() >= 16);
        let form = [("satisfied", "no"), ("reasons", "not_done"), ("comment", "表单重发"), ("request_key", key.as_str())];
        for _ in 0..3 {
            let r = c.http.post(app.url(&format!("/r/{code}"))).form(&form).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            assert!(r.headers()["location"].to_str().unwrap().contains("/thanks?o=unsatisfied"));
        }
        assert_eq!(ratings_with(&app, "表单重发").await, 1);
        // A new page is a new key.
        let again = c.get(&format!("/r/{code}")).await.text().await.unwrap();
        assert!(!again.contains(&key));
    }
}
