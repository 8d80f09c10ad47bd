//! The settings the rating writer keeps between batches (`store::settings_cache`): every change
//! to them moves the settings generation, and a batch after a change sees it.

use reqwest::StatusCode;
use serde_json::json;

use crate::cases::rating_case;
use crate::helpers::TestApp;

async fn generation(app: &TestApp) -> i64 {
    sqlx::query_scalar("select n from settings_generation where id = 1").fetch_one(app.store.pool()).await.unwrap()
}

/// One insert, one update and one delete of a row of every table behind the kept settings.
const CHANGES: &[&str] = &[
    "insert into org_nodes (code, parent_code, kind, name, depth, created_at, updated_at) values ('XN-ZZ', 'XN', 'unit', 'z', 1, 0, 0)",
    "insert into org_closure (ancestor, descendant, distance) values ('XN-ZZ', 'XN-ZZ', 0)",
    "insert into case_offices (org_code, office_code, updated_at) values ('XN-ZZ', 'XN', 0)",
    "insert into calendar_years (year, notice, holidays, workdays, imported_by, imported_at) values (2099, 'z', '[]', '[]', 'z', 0)",
    "insert into calendar_overrides (org_code, day, kind, name, created_by, created_at) values ('XN-ZZ', '2099-01-02', 'holiday', 'z', 'z', 0)",
    "insert into business_hours (org_code, hours, updated_at) values ('XN-ZZ', '{}', 0)",
    "insert into sla_policies (source, category, priority, acknowledge, return_visit, resolution, blue_permille, yellow_permille, orange_permille)
     values ('zz', '*', '*', '1d', '1d', '1d', 1, 2, 3)",
    "insert into users (id, username, display_name, role, password_hash, disabled, created_at, password_changed_at) values ('u-zz', 'zz', 'z', 'unit_head', 'x', 0, 0, 0)",
    "insert into user_scopes (user_id, org_code) values ('u-zz', 'XN-ZZ')",
    "insert into webhooks (id, url, secret, events, active, created_at) values ('w-zz', 'http://127.0.0.1:9/', 'z', '[]', 0, 0)",
    "update org_nodes set name = 'zz' where code = 'XN-ZZ'",
    "update org_closure set distance = 0 where descendant = 'XN-ZZ'",
    "update case_offices set updated_at = 1 where org_code = 'XN-ZZ'",
    "update calendar_years set notice = 'zz' where year = 2099",
    "update calendar_overrides set name = 'zz' where org_code = 'XN-ZZ'",
    "update business_hours set updated_at = 1 where org_code = 'XN-ZZ'",
    "update sla_policies set blue_permille = 4 where source = 'zz'",
    "update users set disabled = 1 where id = 'u-zz'",
    "update user_scopes set org_code = 'XN-ZZ' where user_id = 'u-zz'",
    "update webhooks set active = 1 where id = 'w-zz'",
    "delete from webhooks where id = 'w-zz'",
    "delete from user_scopes where user_id = 'u-zz'",
    "delete from users where id = 'u-zz'",
    "delete from sla_policies where source = 'zz'",
    "delete from business_hours where org_code = 'XN-ZZ'",
    "delete from calendar_overrides where org_code = 'XN-ZZ'",
    "delete from calendar_years where year = 2099",
    "delete from case_offices where org_code = 'XN-ZZ'",
    "delete from org_closure where descendant = 'XN-ZZ'",
    "delete from org_nodes where code = 'XN-ZZ'",
];

crate::on_both_engines! {
    async fn every_change_to_a_kept_setting_moves_the_generation(app) {
        let mut last = generation(&app).await;
        for sql in CHANGES {
            let done = sqlx::query(sqlx::AssertSqlSafe(*sql)).execute(app.store.pool()).await.unwrap();
            assert_eq!(done.rows_affected(), 1, "{sql}");
            let now = generation(&app).await;
            assert!(now > last, "{sql} left the settings generation at {last}");
            last = now;
        }
        // Writes elsewhere (a rating and its case) leave it where it is.
        rating_case(&app).await;
        assert_eq!(generation(&app).await, last);
    }

    async fn a_unit_head_added_after_a_batch_hears_of_the_next_case(app) {
        // The first case fills the writer's kept settings, the unit's heads among them.
        rating_case(&app).await;
        let admin = app.login("admin").await;
        let new_head = json!({"username": "newhead", "display_name": "新负责人", "role": "unit_head",
            "scopes": [crate::cases::UNIT], "password": "pingyi-new-head-1"});
        assert_eq!(admin.post_json("/api/v1/users", &new_head).await.status(), StatusCode::CREATED);
        let second = rating_case(&app).await;
        let links: Vec<String> = sqlx::query_scalar(
            "select i.link from inbox i join users u on u.id = i.user_id where u.username = 'newhead' and i.kind = 'case'",
        )
        .fetch_all(app.store.pool())
        .await
        .unwrap();
        assert_eq!(links, vec![format!("/cases/{}", second["id"].as_str().unwrap())]);
    }
}
