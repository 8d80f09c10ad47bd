//! Opening cases: an unsatisfied rating opens one, routed to its region or configured office,
//! on the SLA policy in force; a batch that cannot open its cases keeps its ratings.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{UNIT, rating_case, run_jobs};
use crate::ratings::{code_of, rate};

crate::on_both_engines! {
    async fn a_batch_that_cannot_open_its_cases_keeps_its_ratings_and_queues_the_cases(app) {
        // Take away a table opening a case needs, so the batch's cases fail inside it.
        let away = |to: &'static str, from: &'static str| {
            let pool = app.store.pool().clone();
            async move {
                sqlx::query(sqlx::AssertSqlSafe(format!("alter table {from} rename to {to}"))).execute(&pool).await.unwrap();
            }
        };
        away("sla_clocks_away", "sla_clocks").await;
        let code = code_of(&app, UNIT).await;
        let r = rate(&app.anonymous(), json!({"code": code, "satisfied": false, "reasons": ["harsh_words"], "comment": "态度生硬"})).await;
        assert_eq!(r.status(), StatusCode::CREATED, "the rating is stored all the same");
        let v: Value = r.json().await.unwrap();
        let rating = v["id"].as_str().unwrap().to_owned();
        away("sla_clocks", "sla_clocks_away").await;
        let stored: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from ratings where id = $1").bind(&rating).fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(stored, 1);
        let cases: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from cases").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(cases, 0, "nothing of the failed cases was kept");
        let jobs: Vec<String> = sqlx::query_scalar("select payload from jobs where kind = 'case.open' and state = 'queued'").fetch_all(app.store.pool()).await.unwrap();
        assert_eq!(jobs, vec![json!({"rating": rating}).to_string()]);
        // The job opens the case later.
        run_jobs(&app).await;
        let id: String = sqlx::query_scalar("select id from cases where rating_id = $1").bind(&rating).fetch_one(app.store.pool()).await.unwrap();
        let case = app.login("supervisor").await.get_json(&format!("/api/v1/cases/{id}"), StatusCode::OK).await;
        assert_eq!(case["state"], "open");
        assert!(case["title"].as_str().unwrap().contains("话难听"), "{}", case["title"]);
        assert_eq!(case["description"], "态度生硬");
    }

    async fn a_changed_sla_policy_applies_to_the_next_ratings_case(app) {
        // The rating writer opens cases with the policy in force at its batch.
        let first = rating_case(&app).await;
        let minutes = |c: &Value| (c["step_due_at"].as_i64().unwrap() - c["created_at"].as_i64().unwrap()) / 60_000;
        assert!(minutes(&first) > 60, "the default acknowledgement clock is working days: {first}");
        let admin = app.login("admin").await;
        let t = json!({"blue": 0.5, "yellow": 0.75, "orange": 0.9});
        let policy = json!({"source": "rating", "category": "*", "priority": "*",
            "acknowledge": {"kind": "natural_minutes", "amount": 30}, "return_visit": {"kind": "working_days", "amount": 2},
            "resolution": {"kind": "working_days", "amount": 15}, "thresholds": t});
        let r = admin.http.put(app.url("/api/v1/sla/policies")).header("x-csrf-token", admin.csrf.clone().unwrap()).json(&policy).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let second = rating_case(&app).await;
        assert_eq!(minutes(&second), 30, "{second}");
    }

    async fn a_deadline_notice_names_the_case_and_its_step(app) {
        let case = rating_case(&app).await;
        let due = case["step_due_at"].as_i64().unwrap();
        let t = pingyi::domain::sla::Thresholds::default();
        pingyi::store::sla::sweep(&app.store, &t, due + 1, 100).await.unwrap();
        let titles: Vec<String> = sqlx::query_scalar("select title from inbox where kind like 'sla.%' order by created_at")
            .fetch_all(app.store.pool()).await.unwrap();
        assert!(!titles.is_empty(), "the overdue acknowledgement is escalated");
        let expected = format!("{}（签收）", case["title"].as_str().unwrap());
        assert!(titles.iter().all(|t| t.ends_with(&expected) && !t.contains("case:")), "{titles:?}");
    }

    async fn an_unsatisfied_rating_opens_one_case_routed_to_its_region(app) {
        let c = app.anonymous();
        let code = code_of(&app, UNIT).await;
        assert_eq!(rate(&c, json!({"code": code, "satisfied": true})).await.status(), StatusCode::CREATED);
        let case = rating_case(&app).await;
        assert_eq!(case["source"], "rating");
        assert_eq!(case["state"], "open");
        assert_eq!(case["unit_code"], UNIT);
        assert_eq!(case["office_code"], "XN-CD", "routed to the unit's region without a configured office");
        assert_eq!(case["step"], "acknowledge");
        assert!(case["step_due_at"].as_i64().unwrap() > case["created_at"].as_i64().unwrap());
        assert!(case["title"].as_str().unwrap().contains("话难听"), "{}", case["title"]);
        assert_eq!(case["rating"]["phone"], "13912345678", "the supervisor sees the number to call back");
        let head = app.login("unithead").await;
        let seen = head.get_json(&format!("/api/v1/cases/{}", case["id"].as_str().unwrap()), StatusCode::OK).await;
        assert_eq!(seen["rating"]["phone"], "139****5678", "masked for the rated unit");
        assert_eq!(seen["actions"], json!(["acknowledge"]), "no send-back for a rating case");
        let n: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from cases").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(n, 1, "the satisfied rating opened none");
        // The `case.open` job (the fallback for a batch that could not open its cases) finds the
        // case there and opens nothing more.
        let rating = case["rating_id"].as_str().unwrap();
        let again = pingyi::store::cases::open_for_rating(&app.store, &app.ratings.calendar, rating).await.unwrap();
        assert!(again.is_none());
        let n: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from cases where rating_id = $1").bind(rating).fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(n, 1);
        // The unit head hears of it in the inbox, with a link to the case.
        let link: String = sqlx::query_scalar("select i.link from inbox i join users u on u.id = i.user_id where u.username = 'unithead' and i.kind = 'case'")
            .fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(link, format!("/cases/{}", case["id"].as_str().unwrap()));
        // A configured office takes over for new cases below it.
        let admin = app.login("admin").await;
        let resp = admin.http.put(app.url("/api/v1/org/XN-CD-GA/case-office")).header("x-csrf-token", admin.csrf.clone().unwrap())
            .json(&json!({"office": "XN"})).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let second = rating_case(&app).await;
        assert_eq!(second["office_code"], "XN");
    }
}
