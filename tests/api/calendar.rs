//! The working-day calendar API and CLI (DESIGN.md §5 contracts).

use reqwest::StatusCode;
use serde_json::{Value, json};

crate::on_both_engines! {
    async fn days_follow_the_2026_notice(app) {
        let c = app.anonymous();
        for (date, kind, working) in [
            ("2026-02-14", "adjusted_workday", true),
            ("2026-02-28", "adjusted_workday", true),
            ("2026-02-15", "holiday", false),
            ("2026-02-23", "holiday", false),
            ("2026-10-01", "holiday", false),
            ("2026-10-07", "holiday", false),
            ("2026-10-08", "workday", true),
            ("2026-10-11", "weekend", false),
        ] {
            let v: Value = c.get_json(&format!("/api/v1/calendar/days/{date}"), StatusCode::OK).await;
            assert_eq!((v["date"].as_str(), v["kind"].as_str(), v["working"].as_bool(), v["provisional"].as_bool()), (Some(date), Some(kind), Some(working), Some(false)), "{v}");
        }
        let v: Value = c.get_json("/api/v1/calendar/days/2027-10-02", StatusCode::OK).await;
        assert_eq!(v["provisional"], true);
        assert_eq!(c.get("/api/v1/calendar/days/2026-13-01").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(c.get("/api/v1/calendar/days/1999-01-01").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn deadlines_count_working_days_from_the_day_after(app) {
        let c = app.anonymous();
        let v: Value = c.get_json("/api/v1/calendar/deadline?start=2026-09-30T10:00:00%2B08:00&working_days=3", StatusCode::OK).await;
        assert_eq!(v["due"], "2026-10-10T23:59:59+08:00", "{v}");
        assert_eq!((v["provisional"].as_bool(), v["calendar_version"].as_str()), (Some(false), Some("cn-2026.1")));
        let v: Value = c.get_json("/api/v1/calendar/deadline?start=2026-09-30T10:00:00%2B08:00&natural_minutes=10", StatusCode::OK).await;
        assert_eq!(v["due"], "2026-09-30T10:10:00+08:00");
        let v: Value = c.get_json("/api/v1/calendar/deadline?start=2026-09-30T16:30:00%2B08:00&business_minutes=60", StatusCode::OK).await;
        assert_eq!(v["due"], "2026-10-08T09:30:00+08:00");
        let v: Value = c.get_json("/api/v1/calendar/deadline?start=2026-12-30T10:00:00%2B08:00&working_days=5", StatusCode::OK).await;
        assert_eq!(v["provisional"], true, "the deadline runs into 2027, which has no notice yet");
        for bad in [
            "/api/v1/calendar/deadline?start=yesterday&working_days=3",
            "/api/v1/calendar/deadline?start=2026-09-30T10:00:00%2B08:00",
            "/api/v1/calendar/deadline?start=2026-09-30T10:00:00%2B08:00&working_days=3&natural_minutes=5",
        ] {
            assert_eq!(c.get(bad).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        assert_eq!(c.get("/api/v1/calendar/deadline?start=2026-09-30T10:00:00%2B08:00&working_days=-1").await.status(), StatusCode::BAD_REQUEST);
        let out = app.cli(&["calendar", "add", "2026-09-30T10:00:00+08:00", "3"], "");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2026-10-10T23:59:59+08:00");
        let out = app.cli(&["calendar", "day", "2026-02-14"], "");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2026-02-14 adjusted_workday (春节)");
    }
}

crate::on_both_engines! {
    async fn importing_a_notice_replaces_provisional_days_and_recomputes_open_clocks(app) {
        use pingyi::domain::sla::{Clock, Thresholds};
        use pingyi::store::sla::{self, NewClock};
        let cal = pingyi::calendar_data::load();
        let start = chrono::DateTime::parse_from_rfc3339("2026-12-28T10:00:00+08:00").unwrap().timestamp_millis();
        let mut tx = app.store.write().await.unwrap();
        let (id, due) = sla::start(&mut tx, &cal, &Thresholds::default(), &NewClock {
            subject: "case:X:resolution", unit_code: Some("XN-CD-GA-001"), handler: None, clock: Clock::WorkingDays(10), started_at: start,
        }).await.unwrap();
        tx.commit().await.unwrap();
        // 2027 is provisional: only 1 January is a holiday, so 10 working days end on 12 January.
        assert_eq!(due, chrono::DateTime::parse_from_rfc3339("2027-01-12T23:59:59+08:00").unwrap().timestamp_millis());

        let admin = app.login("admin").await;
        let bad = json!({"year": 2027, "notice": "测试通知", "holidays": [["元旦", "2027-01-01", "2027-01-03"]], "workdays": [["元旦", "2027-01-05"]]});
        let r = admin.post_json("/api/v1/calendar/years", &bad).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "5 January 2027 is a Tuesday, not a weekend day");
        // A test notice (not the real 2027 one): a week of holidays from 4 January.
        let notice = json!({"year": 2027, "notice": "测试用通知（非官方）", "holidays": [["元旦", "2027-01-01", "2027-01-01"], ["测试假期", "2027-01-04", "2027-01-08"]], "workdays": [["测试假期", "2027-01-09"]]});
        let r = admin.post_json("/api/v1/calendar/years", &notice).await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!((v["calendar_version"].as_str(), v["recomputed"].as_i64()), (Some("cn-2026.1+2027"), Some(1)));
        let day: Value = admin.get_json("/api/v1/calendar/days/2027-01-05", StatusCode::OK).await;
        assert_eq!((day["kind"].as_str(), day["provisional"].as_bool()), (Some("holiday"), Some(false)));
        let clock = sla::get(&app.store, &id).await.unwrap().unwrap();
        // 29, 30, 31 Dec; then 9 (adjusted), 11, 12, 13, 14, 15, 18 January.
        assert_eq!(clock.due_at, chrono::DateTime::parse_from_rfc3339("2027-01-18T23:59:59+08:00").unwrap().timestamp_millis());
        assert_eq!(clock.calendar_version, "cn-2026.1+2027");
        let audit: Value = admin.get_json("/api/v1/audit?action=sla.recompute", StatusCode::OK).await;
        assert_eq!(audit.as_array().unwrap().len(), 1, "the change is in the audit trail");
        assert_eq!(app.login("supervisor").await.post_json("/api/v1/calendar/years", &notice).await.status(), StatusCode::FORBIDDEN);
    }
}

crate::on_both_engines! {
    async fn a_regions_own_holiday_applies_below_it_only(app) {
        let admin = app.login("admin").await;
        let body = json!({"org_code": "XN-DT", "date": "2026-03-03", "kind": "holiday", "name": "地方节日（测试）"});
        assert_eq!(admin.post_json("/api/v1/calendar/overrides", &body).await.status(), StatusCode::NO_CONTENT);
        let bad = json!({"org_code": "XN-DT", "date": "2026-03-04", "kind": "weekend", "name": "x"});
        assert_eq!(admin.post_json("/api/v1/calendar/overrides", &bad).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let unknown = json!({"org_code": "NOWHERE", "date": "2026-03-04", "kind": "holiday", "name": "x"});
        assert_eq!(admin.post_json("/api/v1/calendar/overrides", &unknown).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.login("supervisor").await.post_json("/api/v1/calendar/overrides", &body).await.status(), StatusCode::FORBIDDEN);

        let c = app.anonymous();
        let local: Value = c.get_json("/api/v1/calendar/days/2026-03-03?org=XN-DT-GA-001", StatusCode::OK).await;
        assert_eq!((local["kind"].as_str(), local["name"].as_str()), (Some("holiday"), Some("地方节日（测试）")));
        let national: Value = c.get_json("/api/v1/calendar/days/2026-03-03", StatusCode::OK).await;
        assert_eq!(national["kind"], "workday");
        let elsewhere: Value = c.get_json("/api/v1/calendar/days/2026-03-03?org=XN-CD", StatusCode::OK).await;
        assert_eq!(elsewhere["kind"], "workday");
        let due: Value = c.get_json("/api/v1/calendar/deadline?start=2026-03-02T10:00:00%2B08:00&working_days=1&org=XN-DT", StatusCode::OK).await;
        assert_eq!((due["due"].as_str(), due["calendar_version"].as_str()), (Some("2026-03-04T23:59:59+08:00"), Some("cn-2026.1+local")));
    }
}

crate::on_both_engines! {
    async fn a_service_centre_open_on_saturday_mornings_counts_them_in_business_minutes(app) {
        let admin = app.login("admin").await;
        let put = |code: &str, body: Value| {
            let url = app.url(&format!("/api/v1/org/nodes/{code}/business-hours"));
            let req = admin.http.put(url).header("x-csrf-token", admin.csrf.clone().unwrap()).json(&body);
            async move { req.send().await.unwrap() }
        };
        let centre = json!({"open": "09:00:00", "close": "17:00:00", "saturday_open": "09:00:00", "saturday_close": "12:00:00", "cutoff": null});
        assert_eq!(put("XN-CX-ZWFW", centre).await.status(), StatusCode::OK);
        let bad = json!({"open": "17:00:00", "close": "09:00:00", "saturday_open": "09:00:00", "saturday_close": null, "cutoff": null});
        let r = put("XN-CX-ZWFW", bad).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let inherited = admin.get_json("/api/v1/org/nodes/XN-CX-ZWFW-001/business-hours", StatusCode::OK).await;
        assert_eq!(inherited["saturday_close"], "12:00:00");
        let c = app.anonymous();
        let friday = "/api/v1/calendar/deadline?start=2026-03-06T16:30:00%2B08:00&business_minutes=60";
        let v: Value = c.get_json(&format!("{friday}&org=XN-CX-ZWFW-001"), StatusCode::OK).await;
        assert_eq!(v["due"], "2026-03-07T09:30:00+08:00", "the centre's Saturday morning counts");
        let v: Value = c.get_json(friday, StatusCode::OK).await;
        assert_eq!(v["due"], "2026-03-09T09:30:00+08:00", "elsewhere Monday");
    }
}
