//! The rating inbox (`rating_inbox = "always"` here, so that every rating without an
//! invitation goes through it): its ratings end exactly as ratings written straight through,
//! an invitation is still used up at once, and a row that cannot be read is kept.

use std::time::{Duration, Instant};

use pingyi::ingest::InboxMode;
use pingyi::store::ratings::inbox;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, error_code, spawn_app_with};
use crate::ratings::{code_of, rate};

async fn inbox_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |c| c.rating_inbox = InboxMode::Always).await
}

/// Waits until the writer has projected everything readable in the inbox.
pub async fn drained(store: &pingyi::store::Store) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (n, _) = inbox::backlog(store).await.unwrap();
        if n == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{n} ratings still in the inbox");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn one_row(app: &TestApp, sql: &str, id: &str) -> sqlx::any::AnyRow {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(id).fetch_one(app.store.pool()).await.unwrap()
}

async fn inbox_ratings_end_as_ratings_written_straight_through(engine: Engine) {
    use sqlx::Row;
    let app = inbox_app(engine).await;
    let units = ["XN-CD-GA-001", "XN-CD-GA-002", "XN-CD-GA-001-W1"];
    let mut codes = Vec::new();
    for u in units {
        codes.push(code_of(&app, u).await);
    }
    let before = pingyi::store::now_ms();
    // Forty ratings at once, so that batches of several go to the inbox together.
    let c = app.anonymous();
    let bodies: Vec<Value> = (0..40)
        .map(|i| match i % 4 {
            0 => json!({"code": codes[i % 3], "satisfied": false, "reasons": ["harsh_words"], "comment": format!("第{i}位"), "phone": "13912345678", "consent": true}),
            1 => json!({"code": codes[i % 3], "satisfied": false, "reasons": ["not_done"]}),
            _ => json!({"code": codes[i % 3], "satisfied": true}),
        })
        .collect();
    let sent: Vec<_> = bodies
        .iter()
        .map(|b| {
            let (http, url, b) = (c.http.clone(), app.url("/api/v1/ratings"), b.clone());
            tokio::spawn(async move { http.post(url).json(&b).send().await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for s in sent {
        answers.push(s.await.unwrap());
    }
    let after = pingyi::store::now_ms();
    let mut receipts = Vec::new();
    for (r, body) in answers.into_iter().zip(&bodies) {
        assert_eq!(r.status(), StatusCode::CREATED, "{body}");
        receipts.push((r.json::<Value>().await.unwrap(), body.clone()));
    }
    drained(&app.store).await;

    for (receipt, body) in &receipts {
        let id = receipt["id"].as_str().unwrap();
        let row = one_row(
            &app,
            "select outcome, created_at, phone_masked, phone_enc, comment from ratings where id = $1",
            id,
        )
        .await;
        let at: i64 = row.get("created_at");
        assert!((before..=after).contains(&at), "received between the request's start and its 201");
        let unsatisfied = body["satisfied"] == false;
        assert_eq!(row.get::<String, _>("outcome"), if unsatisfied { "unsatisfied" } else { "satisfied" });
        if body.get("phone").is_some() {
            assert_eq!(row.get::<Option<String>, _>("phone_masked").as_deref(), Some("139****5678"));
            let sealed: String = row.get("phone_enc");
            assert!(!sealed.contains("13912345678"), "the phone is sealed");
            assert_eq!(row.get::<Option<String>, _>("comment"), body["comment"].as_str().map(str::to_owned));
        }
        let cases: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from cases where rating_id = $1")
            .bind(id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_eq!(cases, i64::from(unsatisfied), "one case for each unsatisfied rating, none for the others");
        if unsatisfied {
            // The case and its clock start when the rating was received, not when it was projected.
            let case = one_row(&app, "select c.created_at, k.started_at from cases c join sla_clocks k on k.id = c.clock_id where c.rating_id = $1", id).await;
            assert_eq!((case.get::<i64, _>("created_at"), case.get::<i64, _>("started_at")), (at, at));
        }
        let audited: i64 = sqlx::query_scalar(
            "select cast(count(*) as bigint) from audit_log where action = 'rating.submit' and target = $1",
        )
        .bind(format!("rating:{id}"))
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert_eq!(audited, 1);
    }
    let incremental = pingyi::store::rollups::snapshot(&app.store).await.unwrap();
    pingyi::store::rollups::recompute_ratings(&app.store).await.unwrap();
    assert_eq!(
        incremental,
        pingyi::store::rollups::snapshot(&app.store).await.unwrap(),
        "the rollups count each rating once"
    );
    let rows: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from rating_inbox")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(rows, 0, "every projected row left the inbox");
    assert!(matches!(
        pingyi::store::audit::verify(&app.store).await.unwrap(),
        pingyi::store::audit::Verdict::Intact(_)
    ));

    // An invitation never waits in the inbox: it is used up by its own commit.
    let staff = app.login("staff").await;
    let inv: Value = staff
        .post_json("/api/v1/invitations", &json!({"org_code": "XN-CD-GA-001-W1", "transaction_ref": "INBOX-1"}))
        .await
        .json()
        .await
        .unwrap();
    let token = inv["token"].as_str().unwrap();
    assert_eq!(rate(&c, json!({"code": token, "satisfied": true})).await.status(), StatusCode::CREATED);
    let second = rate(&c, json!({"code": token, "satisfied": false, "reasons": ["not_done"]})).await;
    assert_eq!((second.status(), error_code(second).await.as_str()), (StatusCode::GONE, "invitation_used"));
}

async fn an_unreadable_inbox_row_is_kept_and_the_rest_projected(engine: Engine) {
    let app = inbox_app(engine).await;
    sqlx::query("insert into rating_inbox (received_at, ratings, body) values ($1, 1, $2)")
        .bind(pingyi::store::now_ms())
        .bind("[{\"not\": \"a rating\"}]")
        .execute(app.store.pool())
        .await
        .unwrap();
    let code = code_of(&app, "XN-CD-GA-001").await;
    let r = rate(&app.anonymous(), json!({"code": code, "satisfied": true})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    drained(&app.store).await;
    let found: Option<String> = sqlx::query_scalar("select id from ratings where id = $1")
        .bind(&id)
        .fetch_optional(app.store.pool())
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(id.as_str()), "the rating behind the unreadable row was projected");
    assert_eq!(inbox::unreadable(&app.store).await.unwrap(), 1, "the unreadable row is kept, with its error");
    let error: Option<String> =
        sqlx::query_scalar("select error from rating_inbox").fetch_one(app.store.pool()).await.unwrap();
    assert!(error.is_some_and(|e| e.contains("missing field")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_ratings_end_as_direct_ones_sqlite() {
    inbox_ratings_end_as_ratings_written_straight_through(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
async fn inbox_ratings_end_as_direct_ones_postgres() {
    inbox_ratings_end_as_ratings_written_straight_through(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_inbox_row_is_kept_sqlite() {
    an_unreadable_inbox_row_is_kept_and_the_rest_projected(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
async fn an_unreadable_inbox_row_is_kept_postgres() {
    an_unreadable_inbox_row_is_kept_and_the_rest_projected(Engine::Postgres).await;
}
