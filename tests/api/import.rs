//! Importing and exporting the org tree and staff: all or nothing, idempotent, rows named.

use reqwest::StatusCode;
use serde_json::Value;

const GOOD: &str = "code,parent_code,kind,name,name_en,address
XN-NEW,XN,region,新区,New District,
XN-NEW-ZW,XN-NEW,department,新区政务服务中心,,
XN-NEW-ZW-001,XN-NEW-ZW,unit,新区第一便民服务站,,新区一路1号
XN-NEW-ZW-001-W1,XN-NEW-ZW-001,window,1号窗口,,
";

async fn import(c: &crate::helpers::Client, body: &str, query: &str) -> reqwest::Response {
    c.post_body(&format!("/api/v1/org/import{query}"), "text/csv", body.as_bytes().to_vec()).await
}

async fn node_count(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("select cast(count(*) as bigint) from org_nodes")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

crate::on_both_engines! {
    async fn a_file_with_one_bad_row_changes_nothing_and_names_the_row(app) {
        let c = app.login("admin").await;
        let before = (node_count(&app).await, app.audit_rows().await);
        let bad = GOOD.replace("XN-NEW-ZW-001,XN-NEW-ZW,unit", "XN-NEW-ZW-001,XN-MISSING,unit");
        let r = import(&c, &bad, "").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        let fields = v["error"]["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 1, "{v}");
        assert_eq!(fields[0]["row"], 4);
        assert_eq!(fields[0]["field"], "parent_code");
        assert_eq!((node_count(&app).await, app.audit_rows().await), before, "nothing was written");
    }

    async fn every_bad_field_of_every_row_is_reported(app) {
        let c = app.login("admin").await;
        let bad = "code,parent_code,kind,name\nok-1,XN,region,好\nbad code,XN,planet,\nXN-W,XN,window,窗口\n";
        let v: Value = import(&c, bad, "").await.json().await.unwrap();
        let got: Vec<(i64, String)> = v["error"]["fields"].as_array().unwrap().iter()
            .map(|f| (f["row"].as_i64().unwrap(), f["field"].as_str().unwrap().to_owned())).collect();
        assert_eq!(got, [(3, "code".into()), (3, "kind".into()), (3, "name".into())], "{v}");
        let v: Value = import(&c, "code,parent_code,kind,name\nXN-W,XN,window,窗口\n", "").await.json().await.unwrap();
        assert_eq!(v["error"]["fields"][0]["field"], "kind", "a window cannot sit under a region: {v}");
    }

    async fn importing_the_same_file_twice_changes_nothing_the_second_time(app) {
        let c = app.login("admin").await;
        let first: Value = import(&c, GOOD, "").await.json().await.unwrap();
        assert_eq!((first["created"].as_i64(), first["updated"].as_i64()), (Some(4), Some(0)), "{first}");
        let after_first = (node_count(&app).await, app.audit_rows().await);
        let second: Value = import(&c, GOOD, "").await.json().await.unwrap();
        assert_eq!((second["created"].as_i64(), second["updated"].as_i64(), second["unchanged"].as_i64()), (Some(0), Some(0), Some(4)));
        assert_eq!((node_count(&app).await, app.audit_rows().await), after_first, "no change, no audit row");
        // The new subtree is searchable through the closure table.
        let v = c.get_json("/api/v1/org/nodes/XN-NEW/search?kind=window", StatusCode::OK).await;
        assert_eq!(v["total"], 1);
    }

    async fn a_dry_run_counts_but_writes_nothing(app) {
        let c = app.login("admin").await;
        let before = node_count(&app).await;
        let v: Value = import(&c, GOOD, "?dry_run=true").await.json().await.unwrap();
        assert_eq!((v["dry_run"].as_bool(), v["created"].as_i64()), (Some(true), Some(4)));
        assert_eq!(node_count(&app).await, before);
    }

    async fn moving_a_unit_moves_its_whole_subtree(app) {
        let c = app.login("admin").await;
        let moved = "code,parent_code,kind,name\nXN-CD-GA-001,XN-CZ-GA,unit,城东区八一路派出所\n";
        let v: Value = import(&c, moved, "").await.json().await.unwrap();
        assert_eq!(v["updated"], 1, "{v}");
        let audit: Value = c.get_json("/api/v1/audit?action=org.import&limit=1", StatusCode::OK).await;
        let summary: Value = serde_json::from_str(audit[0]["summary"].as_str().unwrap()).unwrap();
        assert_eq!(summary["changes"][0]["before"]["parent_code"], "XN-CD-GA", "{summary}");
        assert_eq!(summary["changes"][0]["after"]["parent_code"], "XN-CZ-GA");
        let under_cz = c.get_json("/api/v1/org/nodes/XN-CZ/search?q=XN-CD-GA-001&limit=50", StatusCode::OK).await;
        let under_cd = c.get_json("/api/v1/org/nodes/XN-CD/search?q=XN-CD-GA-001&limit=50", StatusCode::OK).await;
        assert!(under_cz["total"].as_i64().unwrap() >= 2, "the unit and its windows moved: {under_cz}");
        assert_eq!(under_cd["total"], 0);
        let node = c.get_json("/api/v1/org/nodes/XN-CD-GA-001-W1", StatusCode::OK).await;
        assert_eq!(node["node"]["depth"], 4);
        // The team stationed in 城中区 now sees the moved unit.
        let head = app.login("inspector02").await;
        assert_eq!(head.get("/api/v1/org/nodes/XN-CD-GA-001").await.status(), StatusCode::OK);
        // A loop is refused.
        let lp = "code,parent_code,kind,name\nXN-CZ,XN-CZ-GA,region,城中区\n";
        assert_eq!(import(&c, lp, "").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn xlsx_exports_and_reimports_unchanged(app) {
        let c = app.login("admin").await;
        let r = c.get("/api/v1/org/export?under=XN-CD&format=xlsx").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
        let bytes = r.bytes().await.unwrap().to_vec();
        let ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        let v: Value = c.post_body("/api/v1/org/import", ct, bytes).await.json().await.unwrap();
        assert_eq!((v["created"].as_i64(), v["updated"].as_i64()), (Some(0), Some(0)), "{v}");
        assert!(v["unchanged"].as_i64().unwrap() > 10);
        let csv = c.get("/api/v1/org/export?under=XN-CD").await.text().await.unwrap();
        assert!(csv.starts_with("code,parent_code,kind,name,name_en,address\nXN-CD,XN,region,城东区"), "{}", &csv[..80]);
    }

    async fn staff_import_is_checked_against_the_tree(app) {
        let c = app.login("admin").await;
        let good = "工号,所属编码,姓名,职务\nT0001,XN-CD-GA-001-W1,王芳,窗口工作人员\n";
        let r = c.post_body("/api/v1/org/import?kind=staff", "text/csv", good.as_bytes().to_vec()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let bad = "staff_no,org_code,name\nT0002,XN-CD,李强\n";
        let r = c.post_body("/api/v1/org/import?kind=staff", "text/csv", bad.as_bytes().to_vec()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let staff = c.get_json("/api/v1/org/nodes/XN-CD-GA-001-W1/staff", StatusCode::OK).await;
        assert!(staff.as_array().unwrap().iter().any(|s| s["staff_no"] == "T0001"));
    }

    async fn import_needs_csv_or_xlsx(app) {
        let c = app.login("admin").await;
        let r = c.post_body("/api/v1/org/import", "application/pdf", b"%PDF".to_vec()).await;
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let r = c.post_body("/api/v1/org/import", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"not a zip".to_vec()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
