//! Which cases and ratings each role sees and acts on: enterprise users only what they filed,
//! scoped supervisors only targets in their scope, staff of a window their window and unit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cases::{PNG, UNIT, act, ok, rating_case, upload};
use crate::ratings::{code_of, rate};

crate::on_both_engines! {
    async fn an_enterprise_user_sees_and_acts_only_on_the_cases_it_filed(app) {
        let citizens = rating_case(&app).await;
        let citizens_case = citizens["id"].as_str().unwrap();
        let enterprise = app.login("enterprise").await;
        let body = json!({"source": "enterprise", "unit": UNIT, "title": "营业执照变更迟迟未办", "description": "提交材料后两周无回复"});
        let filed = enterprise.post_json("/api/v1/cases", &body).await;
        assert_eq!(filed.status(), StatusCode::CREATED);
        let own = filed.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let list = enterprise.get_json("/api/v1/cases", StatusCode::OK).await;
        let ids: Vec<&str> = list["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [own.as_str()], "only its own case, not the district's");
        assert_eq!(enterprise.get(&format!("/api/v1/cases/{citizens_case}")).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(upload(&enterprise, citizens_case, PNG, "image/png").await.status(), StatusCode::FORBIDDEN);
        assert_eq!(upload(&enterprise, &own, PNG, "image/png").await.status(), StatusCode::CREATED);
        let page = enterprise.get("/cases").await.text().await.unwrap();
        assert!(!page.contains(citizens_case) && page.contains(&own), "the cases page lists its own case only");
        // The supervisors still see both.
        let sup = app.login("supervisor").await;
        assert_eq!(sup.get(&format!("/api/v1/cases/{own}")).await.status(), StatusCode::OK);
    }

    async fn a_scoped_supervisor_cannot_send_a_case_outside_their_scope(app) {
        let admin = app.login("admin").await;
        let made = admin.post_json("/api/v1/users", &json!({"username": "sup-cd", "display_name": "城东监督员", "role": "supervisor", "scopes": ["XN-CD"], "password": "pingyi-demo"})).await;
        assert_eq!(made.status(), StatusCode::CREATED);
        let sup = app.login("sup-cd").await;
        let v: Value = sup.post_json("/api/v1/cases", &json!({"source": "hotline", "unit": UNIT, "title": "热线转办", "description": "市民反映办事难"})).await.json().await.unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        ok(&app.login("unithead").await, &id, json!({"action": "send_back", "note": "该事项不属于本单位"})).await;
        let outside: String = sqlx::query_scalar("select code from org_nodes where kind = 'unit' and code not like 'XN-CD-%' order by code limit 1")
            .fetch_one(app.store.pool()).await.unwrap();
        let r = act(&sup, &id, json!({"action": "reassign", "unit": outside, "note": "改派"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["fields"][0]["field"], "unit");
        let state = sup.get_json(&format!("/api/v1/cases/{id}"), StatusCode::OK).await;
        assert_eq!(state["state"], "sent_back", "nothing changed");
    }

    async fn staff_of_a_window_see_its_ratings_and_file_cases_for_its_unit(app) {
        let window = "XN-CD-GA-001-W1";
        let code = code_of(&app, window).await;
        let r = rate(&app.anonymous(), json!({"code": code, "satisfied": false, "reasons": ["not_done"], "comment": "窗口评价"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let unit_code = code_of(&app, UNIT).await;
        let r = rate(&app.anonymous(), json!({"code": unit_code, "satisfied": true})).await;
        let unit_rating = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let staff = app.login("staff").await;
        let list = staff.get_json("/api/v1/ratings", StatusCode::OK).await;
        let ids: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&id.as_str()), "the window's rating is listed: {ids:?}");
        assert!(!ids.contains(&unit_rating.as_str()), "the unit's own code's rating is not the window's");
        assert_eq!(staff.get(&format!("/api/v1/ratings/{id}")).await.status(), StatusCode::OK);
        assert_eq!(staff.get(&format!("/api/v1/ratings/{unit_rating}")).await.status(), StatusCode::FORBIDDEN);
        let body = json!({"source": "unresolved_window", "unit": UNIT, "title": "办不成事", "description": "证明材料无法开具"});
        assert_eq!(staff.post_json("/api/v1/cases", &body).await.status(), StatusCode::CREATED, "for the window's unit");
        let other = json!({"source": "unresolved_window", "unit": "XN-CD-GA-002", "title": "办不成事", "description": "证明材料无法开具"});
        assert_eq!(staff.post_json("/api/v1/cases", &other).await.status(), StatusCode::FORBIDDEN, "not for another unit");
    }
}
