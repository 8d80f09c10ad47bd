//! A unit hovering at the alert threshold raises one episode and one notice, not a storm.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::ratings::code_of;

/// A rating from a phone of its own at an address of its own (127.0.1.n), so that nothing is
/// flagged as repeated.
async fn rate_from(app: &TestApp, code: &str, n: u32, satisfied: bool) {
    let addr: std::net::IpAddr = format!("127.0.{}.{}", 1 + n / 250, 1 + n % 250).parse().unwrap();
    let c = reqwest::Client::builder().local_address(addr).build().unwrap();
    let body = if satisfied {
        serde_json::json!({"code": code, "satisfied": true})
    } else {
        serde_json::json!({"code": code, "satisfied": false, "reasons": ["not_done"]})
    };
    let r =
        c.post(app.url("/api/v1/ratings")).header("user-agent", format!("phone-{n}")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

const UNIT: &str = "XN-CD-GA-001";

async fn alert_messages(app: &TestApp, who: &str) -> usize {
    let inbox = app.login(who).await.get_json("/api/v1/inbox", StatusCode::OK).await;
    inbox.as_array().unwrap().iter().filter(|m| m["kind"] == "alert").count()
}

/// The unit's episodes once `done` holds for them or after five seconds.
async fn episodes(app: &TestApp, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let sup = app.login("supervisor").await;
    let mut got = Vec::new();
    for _ in 0..50 {
        let all = sup.get_json(&format!("/api/v1/alerts?under={UNIT}"), StatusCode::OK).await;
        got = all.as_array().unwrap().clone();
        if done(&got) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    got
}

crate::on_both_engines! {
    async fn a_unit_hovering_at_the_threshold_raises_one_episode_and_one_notice(app) {
        let code = code_of(&app, UNIT).await;
        // Ratings whose share swings across the threshold and back within seconds: all
        // unsatisfied (it opens), well below (clearing), at the threshold again (breaching), well
        // below again. Each phase waits until the watcher has seen it.
        let last_kind = |e: &[Value]| -> Option<String> {
            e.first()?["history"].as_array()?.last()?["kind"].as_str().map(str::to_owned)
        };
        let mut n = 0;
        for (count, satisfied, seen) in [(4, false, "opened"), (12, true, "clearing"), (8, false, "breaching"), (24, true, "clearing")] {
            for _ in 0..count {
                n += 1;
                rate_from(&app, &code, n, satisfied).await;
            }
            let now = episodes(&app, |e| last_kind(e).as_deref() == Some(seen)).await;
            assert_eq!(last_kind(&now).as_deref(), Some(seen), "after {count} ratings: {now:?}");
        }
        let list = episodes(&app, |_| true).await;
        assert_eq!(list.len(), 1, "one episode: {list:?}");
        assert!(list[0]["closed_at"].is_null(), "still open: it never stayed clear for long");
        let kinds: Vec<&str> = list[0]["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["opened", "clearing", "breaching", "clearing"], "the swings are in its history");
        assert_eq!(alert_messages(&app, "supervisor").await, 1);
        assert_eq!(alert_messages(&app, "unithead").await, 1);
        // The window passes: the episode closes. A breach soon after reopens it without a notice.
        app.ratings.writer.tick_alerts(pingyi::store::now_ms() + 20 * 60_000);
        let closed = episodes(&app, |e| e.first().is_some_and(|a| a["closed_at"].is_i64())).await;
        assert!(closed[0]["closed_at"].is_i64(), "{closed:?}");
        for _ in 0..8 {
            n += 1;
            rate_from(&app, &code, n, false).await;
        }
        let reopened = episodes(&app, |e| e.first().is_some_and(|a| a["closed_at"].is_null())).await;
        assert_eq!(reopened.len(), 1, "the same episode: {reopened:?}");
        let kinds: Vec<&str> = reopened[0]["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        // (The closing was told to happen twenty minutes from now, so it sorts after the reopening.)
        assert!(kinds.contains(&"closed") && kinds.contains(&"reopened"), "{kinds:?}");
        assert_eq!(alert_messages(&app, "supervisor").await, 1, "no second notice within the interval");
        let page = app.login("supervisor").await.get("/alerts").await.text().await.unwrap();
        assert!(page.contains("解除后不久再次触发"), "the page shows the history");
    }
}
