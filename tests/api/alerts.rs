//! Live alerts end to end: a burst raises one episode, the minute tick closes it, and ratings
//! received by several server processes count together.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp};
use crate::ratings::{code_of, rate_from_device};

/// The live-alert window of `unit` as every server process counts it (the tallies in the
/// database), once it reads `want` or after five seconds.
pub async fn alert_window(app: &TestApp, unit: &str, want: (i64, i64)) -> (i64, i64) {
    let mut got = (-1, -1);
    for _ in 0..50 {
        let since = pingyi::store::now_ms() - pingyi::domain::rating::AlertRule::default().window_ms;
        let w = pingyi::store::alerts::windows(&app.store, &[unit.to_owned()], since).await.unwrap();
        got = (w[0].total, w[0].unsatisfied);
        if got == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    got
}

/// `GET /api/v1/alerts` once `done` holds for it or after five seconds: alerts are evaluated
/// off the request path, after the ratings' commit.
async fn alerts_once(c: &Client, done: impl Fn(&Value) -> bool) -> Value {
    let mut alerts = Value::Null;
    for _ in 0..50 {
        alerts = c.get_json("/api/v1/alerts", StatusCode::OK).await;
        if done(&alerts) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    alerts
}

crate::on_both_engines! {
    async fn a_burst_of_unsatisfied_ratings_raises_one_alert(app) {
        let code = code_of(&app, "XN-CD-GA-001").await;
        for i in 0..6 {
            // Different devices, so nothing is flagged.
            let c = app.anonymous();
            let body = if i % 3 == 0 { json!({"code": code, "satisfied": true}) } else { json!({"code": code, "satisfied": false, "reasons": ["not_done"]}) };
            let r = c.http.post(app.url("/api/v1/ratings")).header("user-agent", format!("phone-{i}")).json(&body).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }
        // Alerts are evaluated after each commit, off the request path; wait for them.
        let head = app.login("unithead").await;
        let alerts = alerts_once(&head, |a| !a.as_array().unwrap().is_empty()).await;
        assert_eq!(alerts.as_array().unwrap().len(), 1, "one episode: {alerts}");
        assert!(alerts[0]["closed_at"].is_null());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(head.get_json("/api/v1/alerts", StatusCode::OK).await.as_array().unwrap().len(), 1, "not raised again");
        let inbox = head.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert_eq!(inbox.as_array().unwrap().iter().filter(|m| m["kind"] == "alert").count(), 1);
        let sup_inbox = app.login("supervisor").await.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert_eq!(sup_inbox.as_array().unwrap().len(), 1);
        // The message links to the alerts page, which shows the open episode.
        let alert = inbox.as_array().unwrap().iter().find(|m| m["kind"] == "alert").unwrap();
        assert!(alert["link"].as_str().unwrap().starts_with("/alerts#"));
        let page = head.get("/alerts").await.text().await.unwrap();
        assert!(page.contains("城东区八一路派出所：差评预警"), "the page lists the message");
        assert!(page.contains("href=\"/org/XN-CD-GA-001\""), "and the open alert");
        // Twenty minutes later the window has passed: the writer's minute tick closes the episode.
        let later = pingyi::store::now_ms() + 20 * 60_000;
        app.ratings.writer.tick_alerts(later);
        let closed = alerts_once(&head, |a| a[0]["closed_at"].is_i64()).await;
        assert!(closed[0]["closed_at"].is_i64(), "{closed}");
    }

    async fn ratings_received_by_two_server_processes_count_together_for_one_alert(app) {
        // Two `pingyi serve` processes over one database, as behind a load balancer.
        let other = app.another_server().await;
        let (here, there) = (app.url(""), format!("http://{}", other.addr));
        let code = code_of(&app, "XN-CD-GA-001").await;
        // Three ratings here, two unsatisfied: too few for the rule (4) on their own.
        for (i, satisfied) in [false, true, false].into_iter().enumerate() {
            rate_from_device(&here, &code, &format!("phone-here-{i}"), satisfied).await;
        }
        assert_eq!(alert_window(&app, "XN-CD-GA-001", (3, 2)).await, (3, 2));
        let head = app.login("unithead").await;
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(head.get_json("/api/v1/alerts", StatusCode::OK).await, json!([]), "three ratings raise nothing");
        // Two more at the other process, one unsatisfied: 3 of 5, the rule holds across both.
        for (i, satisfied) in [false, true].into_iter().enumerate() {
            rate_from_device(&there, &code, &format!("phone-there-{i}"), satisfied).await;
        }
        let alerts = alerts_once(&head, |a| !a.as_array().unwrap().is_empty()).await;
        assert_eq!(alerts.as_array().unwrap().len(), 1, "one episode: {alerts}");
        assert_eq!((alerts[0]["total"].as_i64(), alerts[0]["unsatisfied"].as_i64()), (Some(5), Some(3)), "{alerts}");
        // Both processes evaluated the unit after the last ratings; one episode, one message.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(head.get_json("/api/v1/alerts", StatusCode::OK).await.as_array().unwrap().len(), 1);
        let inbox = head.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert_eq!(inbox.as_array().unwrap().iter().filter(|m| m["kind"] == "alert").count(), 1, "{inbox}");
        // The other process closes the episode this one opened (or the reverse) once the window has passed.
        other.ratings.writer.tick_alerts(pingyi::store::now_ms() + 20 * 60_000);
        let closed = alerts_once(&head, |a| a[0]["closed_at"].is_i64()).await;
        assert!(closed[0]["closed_at"].is_i64(), "{closed}");
        // The same tick deleted the buckets that have left the window.
        let mut left = -1;
        for _ in 0..50 {
            left = sqlx::query_scalar("select cast(count(*) as bigint) from alert_tallies").fetch_one(app.store.pool()).await.unwrap();
            if left == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(left, 0);
    }

}
