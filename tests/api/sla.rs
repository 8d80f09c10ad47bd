//! SLA clocks with a controllable clock: warnings at each threshold, each escalation step to
//! its tier, pause and resume, overdue counts. No sleeping: every call names its `now`.

use chrono::DateTime;
use pingyi::domain::sla::{Clock, Colour, Notice, Thresholds, Tier};
use pingyi::store::sla::{self, NewClock};

fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

async fn inbox_kinds(app: &crate::helpers::TestApp, username: &str) -> Vec<String> {
    sqlx::query_scalar("select i.kind from inbox i join users u on u.id = i.user_id where u.username = $1 order by i.created_at, i.kind")
        .bind(username)
        .fetch_all(app.store.pool())
        .await
        .unwrap()
}

crate::on_both_engines! {
    async fn a_clock_warns_at_each_threshold_and_escalates_one_level_at_a_time(app) {
        let cal = pingyi::calendar_data::load();
        let t = Thresholds::default();
        let staff_id: String = sqlx::query_scalar("select id from users where username = 'staff'").fetch_one(app.store.pool()).await.unwrap();
        // 100 natural minutes from 10:00: blue 10:50, yellow 11:15, orange 11:30, red after 11:40.
        let start = ms("2026-03-02T10:00:00+08:00");
        let mut tx = app.store.write().await.unwrap();
        let (id, due) = sla::start(&mut tx, &cal, &t, &NewClock {
            subject: "case:TEST:resolution", unit_code: Some("XN-CD-GA-001"), handler: Some(&staff_id),
            clock: Clock::NaturalMinutes(100), started_at: start,
        }).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(due, ms("2026-03-02T11:40:00+08:00"));

        let at = |s: &str| ms(s);
        assert!(sla::sweep(&app.store, &t, at("2026-03-02T10:49:00+08:00"), 100).await.unwrap().is_empty(), "still green");
        let blue = sla::sweep(&app.store, &t, at("2026-03-02T10:50:00+08:00"), 100).await.unwrap();
        assert_eq!((blue[0].colour, blue[0].notice), (Colour::Blue, None));
        let yellow = sla::sweep(&app.store, &t, at("2026-03-02T11:15:00+08:00"), 100).await.unwrap();
        assert_eq!((yellow[0].colour, yellow[0].notice, yellow[0].recipients), (Colour::Yellow, Some((Notice::Reminder, Tier::Handler)), 1));
        assert!(sla::sweep(&app.store, &t, at("2026-03-02T11:20:00+08:00"), 100).await.unwrap().is_empty(), "nothing twice");
        let orange = sla::sweep(&app.store, &t, at("2026-03-02T11:30:00+08:00"), 100).await.unwrap();
        assert_eq!(orange[0].notice, Some((Notice::Urge, Tier::UnitHead)));
        let red = sla::sweep(&app.store, &t, at("2026-03-02T11:41:00+08:00"), 100).await.unwrap();
        assert_eq!((red[0].colour, red[0].notice), (Colour::Red, Some((Notice::Supervise, Tier::SupervisingOffice))));
        assert!(sla::sweep(&app.store, &t, at("2026-03-02T13:20:00+08:00"), 100).await.unwrap().is_empty(), "still just red");
        // Overdue for as long again as it was allowed: the bureau head (supervisors over the city).
        let bureau = sla::sweep(&app.store, &t, at("2026-03-02T13:21:00+08:00"), 100).await.unwrap();
        assert_eq!((bureau[0].colour, bureau[0].notice), (Colour::Red, Some((Notice::Supervise, Tier::BureauHead))));
        assert!(sla::sweep(&app.store, &t, at("2026-03-09T00:00:00+08:00"), 100).await.unwrap().is_empty(), "nothing after that");

        assert_eq!(inbox_kinds(&app, "staff").await, ["sla.reminder"]);
        assert_eq!(inbox_kinds(&app, "unithead").await, ["sla.urge"]);
        assert_eq!(inbox_kinds(&app, "supervisor").await, ["sla.supervise", "sla.supervise"], "as the office, then as the bureau");
        let root = pingyi::domain::ids::OrgCode::parse("XN-CD").unwrap();
        assert_eq!(sla::overdue_count(&app.store, &root, at("2026-03-02T12:00:00+08:00")).await.unwrap(), 1);
        assert_eq!(sla::get(&app.store, &id).await.unwrap().unwrap().colour, "red");
        assert!(sla::stop(&app.store, &id, at("2026-03-02T12:00:00+08:00")).await.unwrap());
        assert_eq!(sla::overdue_count(&app.store, &root, at("2026-03-02T12:00:00+08:00")).await.unwrap(), 0);
    }

    async fn a_paused_clock_is_visible_and_gets_its_time_back(app) {
        let cal = pingyi::calendar_data::load();
        let t = Thresholds::default();
        let mut tx = app.store.write().await.unwrap();
        let (id, due) = sla::start(&mut tx, &cal, &t, &NewClock {
            subject: "case:P:resolution", unit_code: Some("XN-CD-GA-001"), handler: None,
            clock: Clock::WorkingDays(15), started_at: ms("2026-03-02T10:00:00+08:00"),
        }).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(due, ms("2026-03-23T23:59:59+08:00"));
        assert!(sla::pause(&app.store, &id, ms("2026-03-04T12:00:00+08:00")).await.unwrap());
        let paused = sla::get(&app.store, &id).await.unwrap().unwrap();
        assert_eq!((paused.state.as_str(), paused.paused_at), ("paused", Some(ms("2026-03-04T12:00:00+08:00"))));
        assert!(sla::sweep(&app.store, &t, ms("2026-04-30T00:00:00+08:00"), 100).await.unwrap().is_empty(), "a paused clock never warns");
        assert!(sla::resume(&app.store, &cal, &t, &id, ms("2026-03-09T09:00:00+08:00")).await.unwrap());
        let resumed = sla::get(&app.store, &id).await.unwrap().unwrap();
        assert_eq!((resumed.state.as_str(), resumed.due_at), ("running", ms("2026-03-26T23:59:59+08:00")));
        assert_eq!(resumed.calendar_version, "cn-2026.1");
    }
}

crate::on_both_engines! {
    async fn policies_are_validated_and_the_most_specific_one_applies(app) {
        let admin = app.login("admin").await;
        let put = |body: serde_json::Value| {
            let admin = &admin;
            let url = app.url("/api/v1/sla/policies");
            async move {
                admin.http.put(url).header("x-csrf-token", admin.csrf.clone().unwrap()).json(&body).send().await.unwrap()
            }
        };
        let t = serde_json::json!({"blue": 0.5, "yellow": 0.75, "orange": 0.9});
        let general = serde_json::json!({"source": "rating", "category": "*", "priority": "*",
            "acknowledge": {"kind": "working_days", "amount": 1}, "return_visit": {"kind": "working_days", "amount": 2},
            "resolution": {"kind": "working_days", "amount": 15}, "thresholds": t});
        assert_eq!(put(general).await.status(), reqwest::StatusCode::OK);
        let urgent = serde_json::json!({"source": "rating", "category": "*", "priority": "urgent",
            "acknowledge": {"kind": "natural_minutes", "amount": 10}, "return_visit": {"kind": "working_days", "amount": 1},
            "resolution": {"kind": "working_days", "amount": 3}, "thresholds": t});
        assert_eq!(put(urgent).await.status(), reqwest::StatusCode::OK);
        let bad = serde_json::json!({"source": "Rating!", "category": "*", "priority": "*",
            "acknowledge": {"kind": "working_days", "amount": 0}, "return_visit": {"kind": "working_days", "amount": 1},
            "resolution": {"kind": "working_days", "amount": 3}, "thresholds": {"blue": 0.9, "yellow": 0.5, "orange": 0.7}});
        let r = put(bad).await;
        assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let v: serde_json::Value = r.json().await.unwrap();
        let fields: Vec<&str> = v["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["source", "acknowledge", "thresholds"]);
        let p = sla::policy_for(&app.store, "rating", "rude", "urgent").await.unwrap();
        assert_eq!(p.acknowledge, Clock::NaturalMinutes(10));
        let p = sla::policy_for(&app.store, "rating", "rude", "normal").await.unwrap();
        assert_eq!(p.resolution, Clock::WorkingDays(15));
        let p = sla::policy_for(&app.store, "inspection", "x", "normal").await.unwrap();
        assert_eq!(p.resolution, Clock::WorkingDays(15), "the fallback");
        assert_eq!(app.login("unithead").await.get("/api/v1/sla/policies").await.status(), reqwest::StatusCode::FORBIDDEN);
        let v = app.login("unithead").await.get_json("/api/v1/sla/overdue", reqwest::StatusCode::OK).await;
        assert_eq!((v["under"].as_str(), v["overdue"].as_i64()), (Some("XN-CD-GA-001"), Some(0)));
    }
}
