//! Each demo role sees only its own scope, on both engines.

use reqwest::StatusCode;
use serde_json::Value;

/// Codes of the caller's scope roots.
async fn roots(c: &crate::helpers::Client) -> Vec<String> {
    let v = c.get_json("/api/v1/org/nodes", StatusCode::OK).await;
    v.as_array().unwrap().iter().map(|n| n["code"].as_str().unwrap().to_owned()).collect()
}

async fn status(c: &crate::helpers::Client, path: &str) -> StatusCode {
    c.get(path).await.status()
}

/// Every node a search under each scope root returns lies under that root.
async fn search_stays_inside(c: &crate::helpers::Client, root: &str) -> i64 {
    let v: Value = c.get_json(&format!("/api/v1/org/nodes/{root}/search?limit=500"), StatusCode::OK).await;
    for n in v["nodes"].as_array().unwrap() {
        let code = n["code"].as_str().unwrap();
        assert!(code == root || code.starts_with(&format!("{root}-")), "{code} is outside {root}");
    }
    v["total"].as_i64().unwrap()
}

crate::on_both_engines! {
    async fn admin_sees_the_whole_city_and_may_administer(app) {
        let c = app.login("admin").await;
        assert_eq!(roots(&c).await, ["XN"]);
        let total = search_stays_inside(&c, "XN").await;
        assert!(total > 80 + 48, "the whole tree: {total}");
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-HY-GA-002").await, StatusCode::OK);
        assert_eq!(status(&c, "/api/v1/users").await, StatusCode::OK);
        assert_eq!(status(&c, "/api/v1/audit").await, StatusCode::OK);
        assert_eq!(status(&c, "/api/v1/org/export?under=XN").await, StatusCode::OK);
    }

    async fn supervisor_sees_the_city_but_cannot_administer(app) {
        let c = app.login("supervisor").await;
        assert_eq!(roots(&c).await, ["XN"]);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-HY-GA-002").await, StatusCode::OK);
        assert_eq!(status(&c, "/api/v1/users").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/audit").await, StatusCode::FORBIDDEN);
        let r = c.post_body("/api/v1/org/import", "text/csv", b"code,parent_code,kind,name\n".to_vec()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    async fn an_inspector_sees_only_where_their_team_is_stationed(app) {
        let c = app.login("inspector01").await;
        assert_eq!(roots(&c).await, ["XN-CD"]);
        search_stays_inside(&c, "XN-CD").await;
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CD-GA-001").await, StatusCode::OK);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CZ").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CZ-GA-001/children").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/org/export?under=XN-CZ").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/org/export?under=XN-CD").await, StatusCode::OK);
        // The path shown above a node stops at the scope root: no names from outside leak.
        let v = c.get_json("/api/v1/org/nodes/XN-CD-GA-001", StatusCode::OK).await;
        let path: Vec<&str> = v["path"].as_array().unwrap().iter().map(|n| n["code"].as_str().unwrap()).collect();
        assert_eq!(path, ["XN-CD", "XN-CD-GA"]);
        // Team 8 is stationed in two city departments.
        let c8 = app.login("inspector08").await;
        assert_eq!(roots(&c8).await, ["XN-GD", "XN-GS"]);
    }

    async fn a_unit_head_sees_only_their_unit(app) {
        let c = app.login("unithead").await;
        assert_eq!(roots(&c).await, ["XN-CD-GA-001"]);
        let total = search_stays_inside(&c, "XN-CD-GA-001").await;
        assert!(total >= 2, "the unit and at least one window");
        let staff = c.get_json("/api/v1/org/nodes/XN-CD-GA-001/staff", StatusCode::OK).await;
        assert!(!staff.as_array().unwrap().is_empty());
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CD-GA-002").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CD-GA").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/org/export").await, StatusCode::FORBIDDEN);
    }

    async fn staff_see_only_their_window(app) {
        let c = app.login("staff").await;
        assert_eq!(roots(&c).await, ["XN-CD-GA-001-W1"]);
        assert_eq!(search_stays_inside(&c, "XN-CD-GA-001-W1").await, 1);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CD-GA-001").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/users").await, StatusCode::FORBIDDEN);
    }

    async fn an_enterprise_user_sees_their_district_but_no_staff(app) {
        let c = app.login("enterprise").await;
        assert_eq!(roots(&c).await, ["XN-CD"]);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CD-GA-001").await, StatusCode::OK);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CD-GA-001/staff").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&c, "/api/v1/org/nodes/XN-CB").await, StatusCode::FORBIDDEN);
    }

    async fn pages_show_only_the_viewers_scope(app) {
        let c = app.login("inspector02").await;
        let home = c.get("/").await.text().await.unwrap();
        assert!(home.contains("城中区") && !home.contains("城东区"), "home shows the stationed district only");
        assert_eq!(c.get("/org/XN-CZ-GA").await.status(), StatusCode::OK);
        let r = c.get("/org/XN-CD-GA").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let anonymous = app.anonymous();
        let r = anonymous.get("/org/XN-CZ").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/login?next="));
    }
}
