//! The closed loop end to end: every transition and every refusal, documents, evidence,
//! extensions, send-back, and the accountability register (opening cases: `opening`).

mod opening;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, error_code};
use crate::ratings::{code_of, rate};

pub const UNIT: &str = "XN-CD-GA-001";

/// A small PNG (its signature is what the upload check reads).
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";

/// Runs the job queue to empty (the `case.open` jobs among them).
pub async fn run_jobs(app: &TestApp) {
    let out = std::sync::Arc::new(pingyi::jobs::Outbound::new(None, "t@pingyi.localhost".into()));
    pingyi::jobs::Runner::new(app.store.clone(), "test-runner", out).run_until_empty().await.unwrap();
}

/// Rates `UNIT` unsatisfied and returns the case it opened.
pub async fn rating_case(app: &TestApp) -> Value {
    let code = code_of(app, UNIT).await;
    let v: Value = rate(&app.anonymous(), json!({"code": code, "satisfied": false, "reasons": ["harsh_words"], "comment": "窗口人员态度生硬", "phone": "13912345678"}))
        .await
        .json()
        .await
        .unwrap();
    let rating = v["id"].as_str().unwrap().to_owned();
    // The case was opened in the rating's own commit: it exists when the 201 comes back.
    let id: String = sqlx::query_scalar("select id from cases where rating_id = $1")
        .bind(&rating)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    app.login("supervisor").await.get_json(&format!("/api/v1/cases/{id}"), StatusCode::OK).await
}

/// Posts an action and returns the response.
pub async fn act(c: &Client, case: &str, body: Value) -> reqwest::Response {
    c.post_json(&format!("/api/v1/cases/{case}/actions"), &body).await
}

/// Posts an action that must succeed; returns the case after it.
pub async fn ok(c: &Client, case: &str, body: Value) -> Value {
    let resp = act(c, case, body.clone()).await;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "{body} → {v}");
    v
}

pub async fn upload(c: &Client, case: &str, bytes: &[u8], ct: &str) -> reqwest::Response {
    c.post_body(&format!("/api/v1/cases/{case}/attachments?name=fix.png"), ct, bytes.to_vec()).await
}

async fn staff_of(app: &TestApp, unit: &str) -> String {
    sqlx::query_scalar("select s.staff_no from staff s join org_closure a on a.descendant = s.org_code where a.ancestor = $1 order by s.staff_no limit 1")
        .bind(unit)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

fn actions(v: &Value) -> Vec<String> {
    v["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

crate::on_both_engines! {
    async fn a_rating_case_walks_every_step_to_closed_and_into_the_register(app) {
        let case = rating_case(&app).await;
        let id = case["id"].as_str().unwrap().to_owned();
        let head = app.login("unithead").await;
        let sup = app.login("supervisor").await;
        let staff = app.login("staff").await;
        let before = app.audit_rows().await;

        let v = ok(&head, &id, json!({"action": "acknowledge", "version": 1})).await;
        assert_eq!((v["state"].as_str(), v["version"].as_i64(), v["step"].as_str()), (Some("acknowledged"), Some(2), Some("return_visit")));
        let v = ok(&sup, &id, json!({"action": "return_visit", "reached": true, "note": "市民称窗口人员语气生硬"})).await;
        assert_eq!(v["state"], "visited");
        let v = ok(&sup, &id, json!({"action": "verify", "verdict": "substantiated", "note": "调取录音，情况属实"})).await;
        assert_eq!((v["state"].as_str(), v["verdict"].as_str()), (Some("verified"), Some("substantiated")));
        let v = ok(&sup, &id, json!({"action": "order", "requirements": "开展文明用语培训并当面致歉", "deadline_days": 5, "note": "责令整改"})).await;
        assert_eq!((v["state"].as_str(), v["step"].as_str()), (Some("ordered"), Some("rectification")));
        assert!(v["order_due_at"].as_i64().unwrap() > v["updated_at"].as_i64().unwrap());
        let doc = &v["documents"][0];
        assert_eq!(doc["kind"], "order");
        assert_eq!(doc["serial"], 1);
        assert!(doc["number"].as_str().unwrap().contains("督整〔"), "{doc}");
        let page = sup.get(&format!("/cases/{id}/documents/{}", doc["id"].as_str().unwrap())).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("责令整改通知书") && html.contains("开展文明用语培训并当面致歉"));

        // The report needs evidence; staff of the unit answer the order.
        let resp = act(&staff, &id, json!({"action": "report", "note": "已培训"})).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let file: Value = upload(&staff, &id, PNG, "image/png").await.json().await.unwrap();
        let v = ok(&staff, &id, json!({"action": "report", "note": "已培训并致歉", "attachments": [file["id"]]})).await;
        assert_eq!((v["state"].as_str(), v["reported_on_time"].as_bool()), (Some("reported"), Some(true)));
        // Returned for redo (退回重办) with a new deadline, then reported again.
        let v = ok(&sup, &id, json!({"action": "return", "deadline_days": 3, "note": "缺少致歉记录"})).await;
        assert_eq!(v["state"], "ordered");
        let file2: Value = upload(&head, &id, b"%PDF-1.4 apology record", "application/pdf").await.json().await.unwrap();
        ok(&head, &id, json!({"action": "report", "note": "补充致歉记录", "attachments": [file2["id"]]})).await;
        ok(&sup, &id, json!({"action": "accept"})).await;
        // Still unhappy at the follow-up visit: reopened (重办) for a new order.
        let v = ok(&sup, &id, json!({"action": "follow_up", "satisfied": false, "note": "市民仍不满意"})).await;
        assert_eq!((v["state"].as_str(), v["reopened"].as_i64()), (Some("verified"), Some(1)));
        let v = ok(&sup, &id, json!({"action": "order", "requirements": "重新整改", "deadline_days": 2, "note": "重办"})).await;
        assert_eq!(v["documents"][1]["serial"], 2, "serials count per office and year");
        let file3: Value = upload(&head, &id, PNG, "image/png").await.json().await.unwrap();
        ok(&head, &id, json!({"action": "report", "note": "再次整改", "attachments": [file3["id"]]})).await;
        ok(&sup, &id, json!({"action": "accept"})).await;
        ok(&sup, &id, json!({"action": "follow_up", "satisfied": true, "note": "市民表示满意"})).await;

        let no = staff_of(&app, UNIT).await;
        let resp = act(&sup, &id, json!({"action": "decide", "kind": "admonition_talk", "note": "态度生硬"})).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a sanction names someone");
        let resp = act(&sup, &id, json!({"action": "decide", "kind": "admonition_talk", "note": "x", "staff": ["S999999"]})).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "staff of another unit");
        let v = ok(&sup, &id, json!({"action": "decide", "kind": "admonition_talk", "staff": [no], "unit_head": "王主任", "note": "工作作风问题，约谈当事人及单位负责人"})).await;
        assert_eq!(v["state"], "closed");
        assert!(v["closed_at"].is_i64());
        assert!(v["step"].is_null() && v["actions"].as_array().unwrap().is_empty());
        let steps = actions(&v);
        for needed in ["open", "acknowledge", "return_visit", "verify", "order", "report", "return", "accept", "follow_up", "decide"] {
            assert!(steps.contains(&needed.to_owned()), "{needed} in {steps:?}");
        }
        let seqs: Vec<i64> = v["timeline"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        assert_eq!(v["timeline"].as_array().unwrap().iter().filter(|e| !e["attachments"].as_array().unwrap().is_empty()).count(), 3);
        assert!(app.audit_rows().await >= before + 17, "each step and upload audited");
        let open_clocks: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from sla_clocks where subject like $1 and state <> 'stopped'")
            .bind(format!("case:{id}:%")).fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(open_clocks, 0, "a closed case leaves no clock running");

        // The register: two people, with the case and its evidence chain.
        let reg = sup.get_json("/api/v1/accountability", StatusCode::OK).await;
        let rows = reg.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r["case_id"] == id.as_str() && r["kind"] == "admonition_talk"));
        assert!(rows.iter().any(|r| r["subject"] == "unit_head" && r["person_name"] == "王主任"));
        assert!(rows.iter().any(|r| r["subject"] == "staff" && r["staff_no"] == no.as_str()));
        assert_eq!(rows[0]["evidence"].as_array().unwrap().len(), 3);
        let counts = sup.get_json("/api/v1/accountability/counts?under=XN", StatusCode::OK).await;
        assert_eq!(counts["total"], 2);
        let none = sup.get_json("/api/v1/accountability?kind=reminder", StatusCode::OK).await;
        assert!(none.as_array().unwrap().is_empty());
        let csv = sup.get("/api/v1/accountability?format=csv").await;
        assert_eq!(csv.status(), StatusCode::OK);
        let text = csv.text().await.unwrap();
        assert!(text.contains("约谈") && text.contains("王主任") && text.contains(&id), "{text}");
        let xlsx = sup.get("/api/v1/accountability?format=xlsx").await;
        assert_eq!(xlsx.status(), StatusCode::OK);
        assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
        assert_eq!(sup.get("/api/v1/accountability?from=2026-13-01").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(staff.get("/api/v1/accountability").await.status(), StatusCode::FORBIDDEN);
        let chain = app.cli(&["audit", "verify"], "");
        assert!(chain.status.success(), "{}", String::from_utf8_lossy(&chain.stderr));
    }

    async fn every_refusal_is_named_and_changes_nothing(app) {
        let case = rating_case(&app).await;
        let id = case["id"].as_str().unwrap().to_owned();
        let head = app.login("unithead").await;
        let sup = app.login("supervisor").await;
        let stranger = app.login("inspector02").await;
        // Wrong role.
        assert_eq!(act(&sup, &id, json!({"action": "acknowledge"})).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(act(&head, &id, json!({"action": "verify", "verdict": "malicious", "note": "x"})).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(act(&app.login("admin").await, &id, json!({"action": "accept"})).await.status(), StatusCode::FORBIDDEN);
        // Wrong scope: another district's people neither see nor act.
        assert_eq!(stranger.get(&format!("/api/v1/cases/{id}")).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(act(&stranger, &id, json!({"action": "acknowledge"})).await.status(), StatusCode::FORBIDDEN);
        let listed = stranger.get_json("/api/v1/cases", StatusCode::OK).await;
        assert_eq!(listed["total"], 0);
        // Wrong state.
        let resp = act(&sup, &id, json!({"action": "accept"})).await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        assert_eq!(error_code(resp).await, "conflict");
        // No send-back (退单) of a rating case.
        let resp = act(&head, &id, json!({"action": "send_back", "note": "不归我们管"})).await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let body: Value = resp.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("cannot be sent back"));
        // Bad input: unknown action, missing fields, unknown field.
        let resp = act(&sup, &id, json!({"action": "dance"})).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["fields"][0]["field"], "action");
        assert_eq!(act(&head, &id, json!({"action": "acknowledge", "colour": "red"})).await.status().as_u16() / 100, 4);
        // Stale version.
        let resp = act(&head, &id, json!({"action": "acknowledge", "version": 7})).await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let unchanged = sup.get_json(&format!("/api/v1/cases/{id}"), StatusCode::OK).await;
        assert_eq!((unchanged["state"].as_str(), unchanged["version"].as_i64()), (Some("open"), Some(1)));
        assert_eq!(actions(&unchanged), vec!["open"]);
        // Unknown case.
        assert_eq!(act(&head, "NOPE", json!({"action": "acknowledge"})).await.status(), StatusCode::NOT_FOUND);
        // Two people acting at once: one wins, the other gets 409.
        let (a, b) = tokio::join!(
            act(&head, &id, json!({"action": "acknowledge", "version": 1})),
            act(&head, &id, json!({"action": "acknowledge", "version": 1}))
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let after = sup.get_json(&format!("/api/v1/cases/{id}"), StatusCode::OK).await;
        assert_eq!(actions(&after), vec!["open", "acknowledge"]);
    }

    async fn extensions_are_asked_before_the_deadline_and_decided_by_a_supervisor(app) {
        let case = rating_case(&app).await;
        let id = case["id"].as_str().unwrap().to_owned();
        let head = app.login("unithead").await;
        let sup = app.login("supervisor").await;
        ok(&head, &id, json!({"action": "acknowledge"})).await;
        ok(&sup, &id, json!({"action": "return_visit", "reached": false, "note": "电话未接通"})).await;
        ok(&sup, &id, json!({"action": "verify", "verdict": "partly", "note": "部分属实"})).await;
        let v = ok(&sup, &id, json!({"action": "order", "requirements": "整改", "deadline_days": 2, "note": "限期"})).await;
        let due = v["order_due_at"].as_i64().unwrap();
        assert_eq!(act(&head, &id, json!({"action": "decide_extension", "approve": true})).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(act(&sup, &id, json!({"action": "decide_extension", "approve": true})).await.status(), StatusCode::CONFLICT, "nothing to decide");
        let v = ok(&head, &id, json!({"action": "request_extension", "days": 3, "note": "需要采购设备"})).await;
        assert_eq!((v["state"].as_str(), v["extension_days"].as_i64()), (Some("ordered"), Some(3)));
        assert_eq!(act(&head, &id, json!({"action": "request_extension", "days": 1, "note": "再延"})).await.status(), StatusCode::CONFLICT, "one at a time");
        let v = ok(&sup, &id, json!({"action": "decide_extension", "approve": true})).await;
        let extended = v["order_due_at"].as_i64().unwrap();
        assert!(extended >= due + 3 * 86_400_000, "three more working days from the old deadline");
        assert!(v["extension_days"].is_null());
        assert_eq!(v["step_due_at"], v["order_due_at"]);
        // A refused request leaves the deadline where it was.
        ok(&head, &id, json!({"action": "request_extension", "days": 5, "note": "再要五天"})).await;
        let v = ok(&sup, &id, json!({"action": "decide_extension", "approve": false})).await;
        assert_eq!(v["order_due_at"].as_i64(), Some(extended));
        assert!(v["extension_days"].is_null());
        assert_eq!(v["timeline"].as_array().unwrap().last().unwrap()["data"]["approve"], false);
        // Once the deadline has passed, no more extensions.
        sqlx::query("update cases set order_due_at = 1000 where id = $1").bind(&id).execute(app.store.pool()).await.unwrap();
        let resp = act(&head, &id, json!({"action": "request_extension", "days": 2, "note": "还要时间"})).await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let body: Value = resp.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("deadline has passed"));
        // A late report is recorded as late.
        let file: Value = upload(&head, &id, PNG, "image/png").await.json().await.unwrap();
        let v = ok(&head, &id, json!({"action": "report", "note": "完成", "attachments": [file["id"]]})).await;
        assert_eq!(v["reported_on_time"], false);
    }

    async fn verdicts_that_do_not_hold_close_the_case_and_malice_goes_to_appeal(app) {
        let head = app.login("unithead").await;
        let sup = app.login("supervisor").await;
        for (verdict, appeal) in [("unsubstantiated", false), ("malicious", true)] {
            let case = rating_case(&app).await;
            let id = case["id"].as_str().unwrap().to_owned();
            ok(&head, &id, json!({"action": "acknowledge"})).await;
            ok(&sup, &id, json!({"action": "return_visit", "reached": true, "note": "已回访"})).await;
            assert_eq!(act(&sup, &id, json!({"action": "verify", "verdict": verdict})).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "a written explanation is required");
            let v = ok(&sup, &id, json!({"action": "verify", "verdict": verdict, "note": "经核实与事实不符"})).await;
            assert_eq!(v["state"], "closed");
            let rating = case["rating_id"].as_str().unwrap();
            let appeals: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from appeals where rating_id = $1 and state = 'pending'")
                .bind(rating).fetch_one(app.store.pool()).await.unwrap();
            assert_eq!(appeals, i64::from(appeal), "{verdict}");
            let rating_left: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from ratings where id = $1")
                .bind(rating).fetch_one(app.store.pool()).await.unwrap();
            assert_eq!(rating_left, 1, "the rating itself is never touched");
        }
    }

    async fn other_sources_open_cases_with_feedback_sheets_and_may_be_sent_back(app) {
        let inspector = app.login("inspector01").await;
        let scope: String = sqlx::query_scalar("select s.org_code from user_scopes s join users u on u.id = s.user_id where u.username = 'inspector01'")
            .fetch_one(app.store.pool()).await.unwrap();
        let unit: String = sqlx::query_scalar("select a.descendant from org_closure a join org_nodes n on n.code = a.descendant where a.ancestor = $1 and n.kind = 'unit' and n.code <> $2 order by n.code limit 1")
            .bind(&scope).bind(UNIT).fetch_one(app.store.pool()).await.unwrap();
        let body = json!({"source": "inspection", "unit": unit, "title": "窗口午间无人值守", "description": "明察发现午休期间窗口无人"});
        let resp = inspector.post_json("/api/v1/cases", &body).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["source"], "inspection");
        assert_eq!(v["documents"][0]["kind"], "feedback");
        assert!(v["documents"][0]["number"].as_str().unwrap().contains("督反〔"));
        let second: Value = inspector.post_json("/api/v1/cases", &body).await.json().await.unwrap();
        assert_eq!(second["documents"][0]["serial"], 2);
        // Validation and ownership.
        let resp = inspector.post_json("/api/v1/cases", &json!({"source": "rating", "unit": unit, "title": "", "description": ""})).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<String> = resp.json::<Value>().await.unwrap()["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect();
        assert_eq!(fields, vec!["source", "title", "description"]);
        assert_eq!(app.login("enterprise").await.post_json("/api/v1/cases", &body).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(inspector.post_json("/api/v1/cases", &json!({"source": "hotline", "unit": unit, "title": "t", "description": "d"})).await.status(), StatusCode::FORBIDDEN);
        let other = app.login("inspector02").await;
        assert_eq!(other.post_json("/api/v1/cases", &body).await.status(), StatusCode::FORBIDDEN, "outside the team's stations");
        // A hotline case may be sent back and routed elsewhere.
        let sup = app.login("supervisor").await;
        let v: Value = sup.post_json("/api/v1/cases", &json!({"source": "hotline", "unit": UNIT, "title": "热线转办", "description": "市民反映办事难"})).await.json().await.unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        assert!(v["documents"].as_array().unwrap().is_empty());
        let head = app.login("unithead").await;
        let v = ok(&head, &id, json!({"action": "send_back", "note": "该事项属于城西区"})).await;
        assert_eq!(v["state"], "sent_back");
        assert_eq!(act(&sup, &id, json!({"action": "reassign", "unit": "NOPE-1", "note": "改派"})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v = ok(&sup, &id, json!({"action": "reassign", "unit": unit, "note": "改派"})).await;
        assert_eq!((v["state"].as_str(), v["unit_code"].as_str(), v["step"].as_str()), (Some("open"), Some(unit.as_str()), Some("acknowledge")));
        assert_eq!(head.get(&format!("/api/v1/cases/{id}")).await.status(), StatusCode::FORBIDDEN, "no longer the old unit's");
        // Another is sent back and closed by the office with an explanation.
        let v: Value = sup.post_json("/api/v1/cases", &json!({"source": "unresolved_window", "unit": UNIT, "title": "办不成事", "description": "证明材料无法开具"})).await.json().await.unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        assert_eq!(act(&sup, &id, json!({"action": "close", "note": "x"})).await.status(), StatusCode::CONFLICT, "only a sent-back case closes this way");
        ok(&head, &id, json!({"action": "send_back", "note": "非本单位职责"})).await;
        assert_eq!(act(&sup, &id, json!({"action": "close"})).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "an explanation is required");
        let v = ok(&sup, &id, json!({"action": "close", "note": "已告知申请人向民政部门申请"})).await;
        assert_eq!(v["state"], "closed");
        let clocks: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from sla_clocks where subject like $1 and state <> 'stopped'")
            .bind(format!("case:{id}:%")).fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(clocks, 0);
    }

    async fn evidence_is_checked_stored_by_hash_and_shown_only_in_scope(app) {
        let case = rating_case(&app).await;
        let id = case["id"].as_str().unwrap().to_owned();
        let head = app.login("unithead").await;
        let resp = upload(&head, &id, b"MZ\x90\0 not a picture", "image/png").await;
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(upload(&head, &id, b"", "image/png").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let big = vec![0xFFu8; crate::helpers::ATTACHMENT_LIMIT + 1000];
        assert_eq!(upload(&head, &id, &big, "image/jpeg").await.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let a: Value = upload(&head, &id, PNG, "image/png").await.json().await.unwrap();
        assert_eq!(a["content_type"], "image/png");
        let b: Value = upload(&head, &id, PNG, "image/png").await.json().await.unwrap();
        assert_eq!(a["sha256"], b["sha256"], "content-addressed");
        let got = head.get(&format!("/api/v1/attachments/{}", a["id"].as_str().unwrap())).await;
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(got.bytes().await.unwrap().as_ref(), PNG);
        let stranger = app.login("inspector02").await;
        assert_eq!(stranger.get(&format!("/api/v1/attachments/{}", a["id"].as_str().unwrap())).await.status(), StatusCode::FORBIDDEN);
        // A file of another case cannot be used as evidence here.
        let other = rating_case(&app).await;
        let oid = other["id"].as_str().unwrap().to_owned();
        let sup = app.login("supervisor").await;
        for (who, body) in [
            (&head, json!({"action": "acknowledge"})),
            (&sup, json!({"action": "return_visit", "reached": true, "note": "n"})),
            (&sup, json!({"action": "verify", "verdict": "substantiated", "note": "n"})),
            (&sup, json!({"action": "order", "requirements": "r", "deadline_days": 3, "note": "n"})),
        ] {
            ok(who, &oid, body).await;
        }
        let resp = act(&head, &oid, json!({"action": "report", "note": "n", "attachments": [a["id"]]})).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v = head.get_json(&format!("/api/v1/cases/{oid}"), StatusCode::OK).await;
        assert_eq!(v["state"], "ordered", "the refused report changed nothing");
    }

    async fn inboxes_show_what_waits_for_each_role_overdue_first(app) {
        let first = rating_case(&app).await;
        let second = rating_case(&app).await;
        let head = app.login("unithead").await;
        let sup = app.login("supervisor").await;
        let mine = head.get_json("/api/v1/cases?view=mine", StatusCode::OK).await;
        assert_eq!(mine["total"], 2);
        assert_eq!(sup.get_json("/api/v1/cases?view=mine", StatusCode::OK).await["total"], 0);
        // Make the second case overdue: it leads every listing.
        sqlx::query("update cases set step_due_at = 5 where id = $1").bind(second["id"].as_str().unwrap()).execute(app.store.pool()).await.unwrap();
        let all = sup.get_json("/api/v1/cases", StatusCode::OK).await;
        assert_eq!(all["cases"][0]["id"], second["id"]);
        assert_eq!(all["cases"][0]["overdue"], true);
        let overdue = sup.get_json("/api/v1/cases?view=overdue", StatusCode::OK).await;
        assert_eq!(overdue["total"], 1);
        ok(&head, first["id"].as_str().unwrap(), json!({"action": "acknowledge"})).await;
        assert_eq!(sup.get_json("/api/v1/cases?view=mine", StatusCode::OK).await["cases"][0]["id"], first["id"]);
        assert_eq!(head.get_json("/api/v1/cases?view=mine", StatusCode::OK).await["total"], 1);
        assert_eq!(app.login("staff").await.get_json("/api/v1/cases", StatusCode::OK).await["total"], 2, "staff see their unit's cases");
        assert_eq!(sup.get("/api/v1/cases?view=everything").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(sup.get("/api/v1/cases?state=limbo").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = head.get("/cases").await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains(second["id"].as_str().unwrap()));
    }
}
