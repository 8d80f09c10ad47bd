//! The working-day calendar API and CLI (DESIGN.md §5 contracts).

use reqwest::StatusCode;
use serde_json::Value;

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
