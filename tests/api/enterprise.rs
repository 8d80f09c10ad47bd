//! Key projects and the enterprise desk over HTTP, on both engines: credit codes, the request
//! machine (the clock starts at the firm's posting, the first reply stops it, complex → plan,
//! hand-over limits and rulings, withdrawal checks, confirmation, escalation), the notices
//! (app, email, webhook, clock warnings), monthly reports, and scope (a firm sees its own
//! projects, requests and channel only).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp};

/// The demo firm's (青海高原光伏科技有限公司's) project in 南川园区, managed by `cadre`.
const PROJECT: &str = "XN-ZD-001";
/// The other demo firm's (青海康源药业有限公司's) project in the biotech park.
const OTHER_PROJECT: &str = "XN-ZD-028";

/// 南川's desk open round the clock, so the test does not depend on the hour it runs at.
async fn open_all_day(app: &TestApp) {
    let admin = app.login("admin").await;
    let r = admin
        .http
        .put(app.url("/api/v1/parks/XN-NCYQ"))
        .header("x-csrf-token", admin.csrf.clone().unwrap_or_default())
        .json(&json!({"reply_minutes": 10, "solution_days": 3, "handover_days": 2, "open_minute": 0,
            "close_minute": 1440, "working_days_only": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The firm raises a problem in the project's channel; returns the request.
async fn raise(firm: &Client, title: &str) -> Value {
    let body = json!({"body": "二期厂房施工用电报装两周未接，请协调供电公司。", "problem": true, "title": title});
    let r = firm.post_json(&format!("/api/v1/projects/{PROJECT}/messages"), &body).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["request"].clone()
}

async fn act(c: &Client, id: &str, body: Value) -> reqwest::Response {
    c.post_json(&format!("/api/v1/desk-requests/{id}/actions"), &body).await
}

async fn ok(c: &Client, id: &str, body: Value) -> Value {
    let r = act(c, id, body.clone()).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}: {v}");
    v
}

async fn fields(r: reqwest::Response) -> Vec<String> {
    let v: Value = r.json().await.unwrap();
    v["error"]["fields"]
        .as_array()
        .map(|a| a.iter().map(|f| f["field"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

async fn clock(app: &TestApp, id: &str) -> (String, i64, i64) {
    sqlx::query_as("select state, started_at, due_at from sla_clocks where id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn step_clock(app: &TestApp, request: &str) -> Option<String> {
    sqlx::query_scalar("select step_clock_id from desk_requests where id = $1")
        .bind(request)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn jobs(app: &TestApp, kind: &str, needle: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("select cast(count(*) as bigint) from jobs where kind = $1 and payload like $2")
        .bind(kind)
        .bind(format!("%{needle}%"))
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

crate::on_both_engines! {
    async fn a_credit_code_is_checked_to_its_last_character(app) {
        let admin = app.login("admin").await;
        let firm = |uscc: &str| json!({"uscc": uscc, "name": "西宁新材料有限公司", "industry": "新材料", "size": "small", "contact": "王经理"});
        // One character mistyped: the check character no longer matches.
        let r = admin.post_json("/api/v1/enterprises", &firm("914403001922038217")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["fields"][0]["field"], "uscc");
        assert!(v["error"]["fields"][0]["message"].as_str().unwrap().contains("check character"), "{v}");
        let r = admin.post_json("/api/v1/enterprises", &firm("9144030019220382")).await;
        assert_eq!(fields(r).await, ["uscc"]);
        // A real firm's code is accepted once; the second registration is a conflict.
        let r = admin.post_json("/api/v1/enterprises", &firm("914403001922038216")).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.json::<Value>().await.unwrap()["uscc"], "914403001922038216");
        assert_eq!(admin.post_json("/api/v1/enterprises", &firm("914403001922038216")).await.status(), StatusCode::CONFLICT);
        // A firm's user may not register firms.
        let firm_user = app.login("enterprise").await;
        assert_eq!(firm_user.post_json("/api/v1/enterprises", &firm("9144030071526726XG")).await.status(), StatusCode::FORBIDDEN);
    }

    async fn the_reply_clock_starts_when_the_firm_posts_and_the_first_reply_stops_it(app) {
        open_all_day(&app).await;
        let firm = app.login("enterprise").await;
        let before = pingyi::store::now_ms();
        let req = raise(&firm, "施工用电报装迟迟未接").await;
        let id = req["id"].as_str().unwrap().to_owned();
        assert_eq!(req["state"], "posted");
        assert!(req["number"].as_str().unwrap().starts_with("南川工业园区管委会企诉〔"), "{req}");
        // The clock started at the posting, not when anyone signed: 10 natural minutes.
        let posted = req["posted_at"].as_i64().unwrap();
        assert!(posted >= before);
        assert_eq!(req["reply_from"].as_i64(), Some(posted));
        assert_eq!(req["reply_due_at"].as_i64(), Some(posted + 10 * 60_000));
        assert_eq!(req["step"], "reply");
        let reply_clock = step_clock(&app, &id).await.unwrap();
        assert_eq!(clock(&app, &reply_clock).await, ("running".to_owned(), posted, posted + 10 * 60_000));

        // The cadre is told in the app, linking to the request.
        let cadre = app.login("cadre").await;
        let inbox = cadre.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert!(inbox.as_array().unwrap().iter().any(|m| m["link"] == format!("/desk/{id}")), "{inbox}");
        // The request shows in the cadre's desk queue and in the channel.
        let queue = cadre.get_json("/api/v1/desk-requests?state=open", StatusCode::OK).await;
        assert!(queue["requests"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()));
        let messages = cadre.get_json(&format!("/api/v1/projects/{PROJECT}/messages"), StatusCode::OK).await;
        assert!(messages.as_array().unwrap().iter().any(|m| m["request_id"] == id.as_str()));

        // A firm may not answer itself; the cadre's first reply stops the clock, on time.
        assert_eq!(act(&firm, &id, json!({"action": "reply", "note": "好"})).await.status(), StatusCode::FORBIDDEN);
        let r = act(&cadre, &id, json!({"action": "reply"})).await;
        assert_eq!(fields(r).await, ["note"]);
        let d = ok(&cadre, &id, json!({"action": "reply", "note": "收到，已联系供电公司，今天答复。"})).await;
        assert_eq!(d["state"], "replied");
        assert_eq!(d["replied_on_time"], true);
        assert_eq!(clock(&app, &reply_clock).await.0, "stopped");
        // The fix is timed next (3 working days), and the firm is told.
        assert_eq!(d["step"], "resolve");
        let firm_inbox = firm.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert!(firm_inbox.as_array().unwrap().iter().any(|m| m["link"] == format!("/desk/{id}")));
        // The reply is in the channel under the cadre's name.
        let messages = firm.get_json(&format!("/api/v1/projects/{PROJECT}/messages"), StatusCode::OK).await;
        let last = messages.as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["author"], "cadre");
        assert!(last["body"].as_str().unwrap().contains("已联系供电公司"), "{last}");
    }

    async fn a_complex_request_gets_a_numbered_plan_and_the_firm_confirms_the_fix(app) {
        open_all_day(&app).await;
        let firm = app.login("enterprise").await;
        let cadre = app.login("cadre").await;
        let id = raise(&firm, "环评批复进度").await["id"].as_str().unwrap().to_owned();
        ok(&cadre, &id, json!({"action": "reply", "note": "收到"})).await;
        let d = ok(&cadre, &id, json!({"action": "mark_complex"})).await;
        assert_eq!((d["state"].as_str(), d["step"].as_str(), d["complex"].as_bool()), (Some("planning"), Some("plan"), Some(true)));
        assert!(d["plan_due_at"].as_i64().unwrap() > pingyi::store::now_ms());
        let r = act(&cadre, &id, json!({"action": "submit_plan", "note": "方案", "days": 0})).await;
        assert_eq!(fields(r).await, ["days"]);
        let d = ok(&cadre, &id, json!({"action": "submit_plan", "note": "一、协调会；二、十个工作日内办结。", "days": 10})).await;
        assert_eq!((d["state"].as_str(), d["plan_on_time"].as_bool()), (Some("solving"), Some(true)));
        let plan = d["timeline"].as_array().unwrap().iter().find(|e| e["action"] == "submit_plan").unwrap().clone();
        // The plan is a numbered document, issued with the plan's timeline entry.
        let number: String = sqlx::query_scalar("select number from request_documents where request_id = $1 and event_id = $2")
            .bind(&id).bind(plan["id"].as_str().unwrap()).fetch_one(app.store.pool()).await.unwrap();
        assert!(number.contains("企服方案〔"), "{number}");
        // The firm cannot confirm before the fix; then confirms it with a rating.
        assert_eq!(act(&firm, &id, json!({"action": "confirm", "rating": 5})).await.status(), StatusCode::CONFLICT);
        ok(&cadre, &id, json!({"action": "resolve", "note": "已办结"})).await;
        let r = act(&firm, &id, json!({"action": "confirm", "rating": 6})).await;
        assert_eq!(fields(r).await, ["rating"]);
        // Rejected once: worked again; then confirmed.
        let d = ok(&firm, &id, json!({"action": "reject", "note": "没解决"})).await;
        assert_eq!((d["state"].as_str(), d["rejections"].as_i64()), (Some("solving"), Some(1)));
        ok(&cadre, &id, json!({"action": "resolve", "note": "已重新办结"})).await;
        let d = ok(&firm, &id, json!({"action": "confirm", "rating": 4, "note": "满意"})).await;
        assert_eq!((d["state"].as_str(), d["rating"].as_i64()), (Some("confirmed"), Some(4)));
        assert!(d["closed_at"].is_i64());
        assert!(d["actions"].as_array().unwrap().is_empty());
    }

    async fn a_hand_over_needs_a_basis_and_its_limit_and_a_second_one_goes_to_a_ruling(app) {
        open_all_day(&app).await;
        let firm = app.login("enterprise").await;
        let cadre = app.login("cadre").await;
        let id = raise(&firm, "道路开口审批").await["id"].as_str().unwrap().to_owned();
        let r = act(&cadre, &id, json!({"action": "hand_over", "unit": "XN-CZ-SJ"})).await;
        assert_eq!(fields(r).await, ["note"], "the legal basis is required");
        let r = act(&cadre, &id, json!({"action": "hand_over", "unit": "NO-SUCH", "note": "依据"})).await;
        assert_eq!(fields(r).await, ["unit"]);
        let d = ok(&cadre, &id, json!({"action": "hand_over", "unit": "XN-CZ-SJ", "note": "依据《优化营商环境条例》第三十五条"})).await;
        assert_eq!((d["unit_code"].as_str(), d["handovers"].as_i64(), d["state"].as_str()), (Some("XN-CZ-SJ"), Some(1), Some("posted")));
        // The reply clock ran on, now the new unit's.
        let reply = step_clock(&app, &id).await.unwrap();
        let unit: String = sqlx::query_scalar("select unit_code from sla_clocks where id = $1").bind(&reply).fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(unit, "XN-CZ-SJ");
        assert_eq!(clock(&app, &reply).await.0, "running");
        // A second hand-over goes to the desk's owner; a cadre cannot rule, a supervisor does.
        let d = ok(&cadre, &id, json!({"action": "hand_over", "unit": "XN-NCYQ", "note": "依据三定方案"})).await;
        assert_eq!((d["state"].as_str(), d["proposed_unit"].as_str()), (Some("ruling"), Some("XN-NCYQ")));
        assert_eq!(act(&cadre, &id, json!({"action": "rule", "note": "由园区负责"})).await.status(), StatusCode::FORBIDDEN);
        let boss = app.login("supervisor").await;
        let d = ok(&boss, &id, json!({"action": "rule", "note": "园区管委会牵头办理"})).await;
        assert_eq!((d["state"].as_str(), d["unit_code"].as_str()), (Some("posted"), Some("XN-NCYQ")));

        // Past the limit (2 working days after posting), no more hand-overs.
        let id2 = raise(&firm, "排水管网接入").await["id"].as_str().unwrap().to_owned();
        sqlx::query("update desk_requests set handover_until = $2 where id = $1")
            .bind(&id2).bind(pingyi::store::now_ms() - 1).execute(app.store.pool()).await.unwrap();
        let r = act(&cadre, &id2, json!({"action": "hand_over", "unit": "XN-CZ-SJ", "note": "依据"})).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
    }

    async fn a_withdrawal_is_flagged_and_checked_by_someone_who_did_not_handle_it(app) {
        open_all_day(&app).await;
        let firm = app.login("enterprise").await;
        let boss = app.login("supervisor").await;
        let id = raise(&firm, "园区补贴未兑现").await["id"].as_str().unwrap().to_owned();
        // The supervisor answered this one, so may not be the one who asks the firm.
        ok(&boss, &id, json!({"action": "reply", "note": "收到"})).await;
        let d = ok(&firm, &id, json!({"action": "withdraw", "note": "先撤回"})).await;
        assert_eq!(d["state"], "withdrawn");
        assert!(d["withdrawn_at"].is_i64() && d["withdrawal_checked_at"].is_null());
        let flagged = boss.get_json("/api/v1/desk-requests?unchecked_withdrawals=true", StatusCode::OK).await;
        assert!(flagged["requests"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()));
        let r = act(&boss, &id, json!({"action": "check_withdrawal", "pressed": false, "note": "企业称自愿撤回"})).await;
        assert_eq!(fields(r).await, ["actor"]);
        let cadre = app.login("cadre").await;
        assert_eq!(act(&cadre, &id, json!({"action": "check_withdrawal", "pressed": false, "note": "x"})).await.status(), StatusCode::FORBIDDEN);
        // An inspector who never touched it asks: the firm was pressed; the request is open again.
        let inspector = app.login("inspector01").await;
        let d = act(&inspector, &id, json!({"action": "check_withdrawal", "pressed": true, "note": "企业称经办人要求撤回"})).await;
        // Inspector 01 is stationed in 城东区, not over the park: the request is not theirs to see.
        assert_eq!(d.status(), StatusCode::NOT_FOUND);
        sqlx::query("update user_scopes set org_code = 'XN' where user_id = (select id from users where username = 'inspector01')")
            .execute(app.store.pool()).await.unwrap();
        let inspector = app.login("inspector01").await;
        let d = ok(&inspector, &id, json!({"action": "check_withdrawal", "pressed": true, "note": "企业称经办人要求撤回"})).await;
        assert_eq!((d["state"].as_str(), d["withdrawal_pressed"].as_bool()), (Some("solving"), Some(true)));
        assert!(d["closed_at"].is_null());
        assert_eq!(d["step"], "rework");
    }

    async fn an_overdue_request_becomes_a_supervision_item_with_one_action(app) {
        open_all_day(&app).await;
        let firm = app.login("enterprise").await;
        let cadre = app.login("cadre").await;
        let boss = app.login("supervisor").await;
        let id = raise(&firm, "土地证办理").await["id"].as_str().unwrap().to_owned();
        ok(&cadre, &id, json!({"action": "reply", "note": "收到"})).await;
        assert_eq!(act(&boss, &id, json!({"action": "escalate"})).await.status(), StatusCode::CONFLICT, "not overdue yet");
        sqlx::query("update desk_requests set step_due_at = $2 where id = $1")
            .bind(&id).bind(pingyi::store::now_ms() - 1).execute(app.store.pool()).await.unwrap();
        let d = ok(&boss, &id, json!({"action": "escalate", "note": "超期未解决"})).await;
        let item = d["item_id"].as_str().unwrap();
        assert!(d["item_number"].as_str().unwrap().contains("督办〔"));
        let item = boss.get_json(&format!("/api/v1/items/{item}"), StatusCode::OK).await;
        assert_eq!((item["item"]["source"].as_str(), item["item"]["unit_code"].as_str()), (Some("enterprise_request"), Some("XN-NCYQ")));
        assert_eq!(act(&boss, &id, json!({"action": "escalate"})).await.status(), StatusCode::CONFLICT, "once");
    }

    async fn a_firm_sees_only_its_own_projects_requests_and_channel(app) {
        open_all_day(&app).await;
        let firm = app.login("enterprise").await;
        let other = app.login("enterprise2").await;
        let mine = firm.get_json("/api/v1/projects", StatusCode::OK).await;
        let codes: Vec<&str> = mine["projects"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
        assert!(codes.contains(&PROJECT) && !codes.contains(&OTHER_PROJECT), "{codes:?}");
        assert_eq!(mine["total"], 3, "the demo firm has three key projects");
        let theirs = other.get_json("/api/v1/projects", StatusCode::OK).await;
        assert!(theirs["projects"].as_array().unwrap().iter().all(|p| p["code"] != PROJECT));
        let id = raise(&firm, "天然气接入价格").await["id"].as_str().unwrap().to_owned();
        // The other firm: not its project, request, channel or stream; as if they did not exist.
        for path in [
            format!("/api/v1/projects/{PROJECT}"),
            format!("/api/v1/projects/{PROJECT}/messages"),
            format!("/api/v1/projects/{PROJECT}/stream"),
            format!("/api/v1/desk-requests/{id}"),
        ] {
            assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
        assert_eq!(other.post_json(&format!("/api/v1/projects/{PROJECT}/messages"), &json!({"body": "hi"})).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(act(&other, &id, json!({"action": "withdraw", "note": "x"})).await.status(), StatusCode::NOT_FOUND);
        let list = other.get_json("/api/v1/desk-requests", StatusCode::OK).await;
        assert!(list["requests"].as_array().unwrap().iter().all(|r| r["id"] != id.as_str()));
        assert_eq!(other.get_json("/api/v1/enterprises", StatusCode::OK).await.as_array().unwrap().len(), 1);
        // A firm's home is its desk, not a district's counts.
        let home = firm.get("/").await.text().await.unwrap();
        assert!(home.contains("id=\"home-desk\"") && home.contains("青海高原光伏科技有限公司") && !home.contains("/org/XN-CD"), "{home}");
        assert!(!app.login("unithead").await.get("/").await.text().await.unwrap().contains("home-desk"));
        assert!(app.login("cadre").await.get("/").await.text().await.unwrap().contains("home-desk"));
        // Staff outside the parks see none of it; the cadre of 南川 sees 南川's projects only.
        let head = app.login("unithead").await;
        assert_eq!(head.get_json("/api/v1/projects", StatusCode::OK).await["total"], 0);
        assert_eq!(head.get(&format!("/api/v1/desk-requests/{id}")).await.status(), StatusCode::NOT_FOUND);
        let cadre = app.login("cadre").await;
        let seen = cadre.get_json("/api/v1/projects", StatusCode::OK).await;
        assert!(seen["projects"].as_array().unwrap().iter().all(|p| p["park_code"] == "XN-NCYQ"));
        assert_eq!(cadre.get(&format!("/api/v1/projects/{OTHER_PROJECT}")).await.status(), StatusCode::NOT_FOUND);
        // Only the firm marks a problem; a cadre converts a firm's message instead.
        let r = cadre.post_json(&format!("/api/v1/projects/{PROJECT}/messages"), &json!({"body": "x", "problem": true, "title": "t"})).await;
        assert_eq!(fields(r).await, ["problem"]);
        let plain = firm.post_json(&format!("/api/v1/projects/{PROJECT}/messages"), &json!({"body": "消防验收预约排到两个月以后"})).await;
        assert_eq!(plain.status(), StatusCode::CREATED);
        let message = plain.json::<Value>().await.unwrap()["message_id"].as_str().unwrap().to_owned();
        let r = cadre.post_json(&format!("/api/v1/projects/{PROJECT}/messages"), &json!({"raise_from": message, "title": "消防验收预约"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let converted = r.json::<Value>().await.unwrap()["request"].clone();
        assert_eq!(converted["state"], "posted");
        assert_eq!(converted["enterprise_name"], "青海高原光伏科技有限公司");
    }

    async fn every_change_is_told_by_email_and_webhook_and_a_late_reply_is_warned(app) {
        open_all_day(&app).await;
        sqlx::query("update users set email = 'cadre@nanchuan.example' where username = 'cadre'").execute(app.store.pool()).await.unwrap();
        let admin = app.login("admin").await;
        let r = admin.post_json("/api/v1/webhooks", &json!({"url": "http://127.0.0.1:9/hook", "events": ["desk.request", "desk.clock"]})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let firm = app.login("enterprise").await;
        let id = raise(&firm, "消防验收预约").await["id"].as_str().unwrap().to_owned();
        assert_eq!(jobs(&app, "email", "cadre@nanchuan.example").await, 1, "the cadre is told by email");
        assert_eq!(jobs(&app, "webhook", "desk.request").await, 1, "one signed event per change");
        // Eight minutes on, the sweep warns the project's manager (提醒), by all three ways.
        let due: i64 = sqlx::query_scalar("select reply_due_at from desk_requests where id = $1").bind(&id).fetch_one(app.store.pool()).await.unwrap();
        let changes = pingyi::store::sla::sweep(&app.store, &pingyi::domain::sla::Thresholds::default(), due - 2 * 60_000, 100).await.unwrap();
        let warned = changes.iter().find(|c| c.subject == format!("request:{id}:reply")).unwrap();
        assert_eq!(warned.recipients, 1);
        let cadre = app.login("cadre").await;
        let inbox = cadre.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert!(inbox.as_array().unwrap().iter().any(|m| m["kind"] == "desk.clock" && m["title"].as_str().unwrap().starts_with("提醒")), "{inbox}");
        assert_eq!(jobs(&app, "email", "提醒").await, 1);
        assert_eq!(jobs(&app, "webhook", "desk.clock").await, 1);
        // The reply comes after the clock: recorded as late.
        sqlx::query("update desk_requests set reply_due_at = $2 where id = $1").bind(&id).bind(pingyi::store::now_ms() - 1).execute(app.store.pool()).await.unwrap();
        let d = ok(&cadre, &id, json!({"action": "reply", "note": "抱歉回复晚了"})).await;
        assert_eq!(d["replied_on_time"], false);
        assert_eq!(jobs(&app, "webhook", "desk.request").await, 2);
    }

    async fn monthly_reports_move_the_figures_and_the_colour(app) {
        let cadre = app.login("cadre").await;
        let before = cadre.get_json(&format!("/api/v1/projects/{PROJECT}"), StatusCode::OK).await;
        let month = pingyi::domain::time::date_of(pingyi::store::now_ms()).format("%Y-%m").to_string();
        let body = json!({"month": month, "completed_wan": 1200.5, "funds": [{"source": "bank_loan", "amount_wan": 800.0}, {"source": "own_funds", "amount_wan": 200.0}], "note": "主体施工"});
        let d = cadre.post_json(&format!("/api/v1/projects/{PROJECT}/reports"), &body).await;
        assert_eq!(d.status(), StatusCode::OK);
        let d: Value = d.json().await.unwrap();
        let delta = |k: &str| d[k].as_f64().unwrap() - before[k].as_f64().unwrap();
        assert!((delta("completed_wan") - 1200.5).abs() < 1e-6 && (delta("arrived_wan") - 1000.0).abs() < 1e-6);
        assert_eq!(d["reports"][0]["month"], month.as_str());
        assert_eq!(cadre.post_json(&format!("/api/v1/projects/{PROJECT}/reports"), &body).await.status(), StatusCode::CONFLICT);
        let bad = json!({"month": "2099-01", "completed_wan": -1.0, "funds": [{"source": "loan", "amount_wan": 1.0}]});
        let r = cadre.post_json(&format!("/api/v1/projects/{PROJECT}/reports"), &bad).await;
        assert_eq!(fields(r).await, ["month", "completed_wan", "funds[0].source"]);
        // The page marks a stage node done and moves the stage on; the API shows both.
        let node = before["nodes"].as_array().unwrap().iter().find(|n| n["done_on"].is_null()).unwrap()["seq"].as_i64().unwrap().to_string();
        let r = cadre.post_form(&format!("/projects/{PROJECT}/progress"), &[("node", node.as_str())]).await;
        assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
        let after = cadre.get_json(&format!("/api/v1/projects/{PROJECT}"), StatusCode::OK).await;
        assert!(after["nodes"].as_array().unwrap().iter().any(|n| n["seq"].as_i64().unwrap().to_string() == node && n["done_on"].is_string()));
        let r = cadre.post_form(&format!("/projects/{PROJECT}/progress"), &[("stage", "producing")]).await;
        assert!(r.status().is_success() || r.status().is_redirection());
        let after = cadre.get_json(&format!("/api/v1/projects/{PROJECT}"), StatusCode::OK).await;
        assert_eq!((after["stage"].as_str(), after["colour"].as_str()), (Some("producing"), Some("green")));
        // Firms and inspectors do not report.
        let firm = app.login("enterprise").await;
        assert_eq!(firm.post_json(&format!("/api/v1/projects/{PROJECT}/reports"), &body).await.status(), StatusCode::FORBIDDEN);
        // A signed project three months past its planned start is red for it.
        let admin = app.login("admin").await;
        let late = admin.get_json("/api/v1/projects?stage=signed&colour=red", StatusCode::OK).await;
        assert!(late["projects"].as_array().unwrap().iter().any(|p| p["slip"] == "start_missed"), "{late}");
        let all = admin.get_json("/api/v1/projects", StatusCode::OK).await;
        assert_eq!(all["total"], 36);
        let committed: f64 = all["projects"].as_array().unwrap().iter().map(|p| p["committed_wan"].as_f64().unwrap()).sum();
        assert!((committed - 6_331_300.0).abs() < 0.01, "¥63.313bn committed: {committed}");
    }

    async fn a_firms_users_share_its_cases_and_no_other_firm_sees_them(app) {
        let mine = app.login("enterprise").await;
        let body = json!({"source": "enterprise", "unit": crate::cases::UNIT, "title": "厂房用电增容报装排队过长", "description": "两周无人受理"});
        let filed = mine.post_json("/api/v1/cases", &body).await;
        assert_eq!(filed.status(), StatusCode::CREATED);
        let case = filed.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        // Another firm's user does not see it …
        let other = app.login("enterprise2").await;
        assert_eq!(other.get(&format!("/api/v1/cases/{case}")).await.status(), StatusCode::FORBIDDEN);
        // … until bound to the same firm: then its colleague's case is theirs to follow too.
        let admin = app.login("admin").await;
        let uscc = pingyi::demo_enterprise::credit_code(0);
        let r = admin.post_json(&format!("/api/v1/enterprises/{uscc}/users"), &json!({"username": "enterprise2"})).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(other.get_json(&format!("/api/v1/cases/{case}"), StatusCode::OK).await["id"], case.as_str());
        let list = other.get_json("/api/v1/cases", StatusCode::OK).await;
        assert!(list["cases"].as_array().unwrap().iter().any(|c| c["id"] == case.as_str()));
        // And it sees that firm's projects now, not its old firm's.
        let projects = other.get_json("/api/v1/projects", StatusCode::OK).await;
        assert!(projects["projects"].as_array().unwrap().iter().any(|p| p["code"] == PROJECT));
        assert!(projects["projects"].as_array().unwrap().iter().all(|p| p["code"] != OTHER_PROJECT));
        // Only an enterprise user can be bound to a firm.
        let r = admin.post_json(&format!("/api/v1/enterprises/{uscc}/users"), &json!({"username": "unithead"})).await;
        assert_eq!(fields(r).await, ["username"]);
    }

    async fn the_investment_dashboard_and_the_chains_add_up_from_the_projects(app) {
        open_all_day(&app).await;
        let boss = app.login("supervisor").await;
        let d = boss.get_json("/api/v1/investment", StatusCode::OK).await;
        assert_eq!(d["total"]["projects"], 36);
        assert!((d["total"]["committed_wan"].as_f64().unwrap() - 6_331_300.0).abs() < 0.01);
        let sum = |key: &str| d[key].as_array().unwrap().iter().map(|l| l["rates"]["projects"].as_i64().unwrap()).sum::<i64>();
        assert_eq!((sum("by_chain"), sum("by_park"), sum("by_colour")), (36, 36, 36), "every project counted once in each view");
        assert_eq!(d["by_park"].as_array().unwrap().len(), 4);
        let t = &d["total"];
        let started = t["building"].as_i64().unwrap() + t["producing"].as_i64().unwrap();
        assert!((t["started_percent"].as_f64().unwrap() - started as f64 / 36.0 * 100.0).abs() < 1e-9);
        // The desk's requests by clock outcome move with the machine.
        let firm = app.login("enterprise").await;
        let cadre = app.login("cadre").await;
        let id = raise(&firm, "用工招聘困难").await["id"].as_str().unwrap().to_owned();
        ok(&cadre, &id, json!({"action": "reply", "note": "收到"})).await;
        let q = boss.get_json("/api/v1/investment", StatusCode::OK).await["requests"].clone();
        assert_eq!((q["total"].as_i64(), q["replied_in_time"].as_i64(), q["open"].as_i64()), (Some(1), Some(1), Some(1)));
        // A chain: its 链长, 链主 and rates; a firm sees its own projects' figures only.
        let chain = d["by_chain"].as_array().unwrap().iter().find(|l| l["name"] == "光伏制造产业链").unwrap()["key"].as_str().unwrap().to_owned();
        let c = boss.get_json(&format!("/api/v1/chains/{chain}"), StatusCode::OK).await;
        assert_eq!(c["chain"]["leader"], "副市长 王立新");
        assert!(c["lead_firms"].as_array().unwrap().iter().any(|f| f["name"] == "青海高原光伏科技有限公司"));
        assert_eq!(c["rates"]["projects"].as_i64().unwrap() as usize, c["projects"].as_array().unwrap().len());
        let mine = firm.get_json("/api/v1/investment", StatusCode::OK).await;
        assert_eq!(mine["total"]["projects"], 3);
        assert_eq!(boss.get("/api/v1/chains/nope").await.status(), StatusCode::NOT_FOUND);
    }

    async fn the_conduct_lists_are_public_and_versioned_and_a_firm_reports_a_breach_as_a_case(app) {
        let lists = app.anonymous().get_json("/api/v1/conduct-lists", StatusCode::OK).await;
        let lists = lists.as_array().unwrap();
        assert_eq!(lists.len(), 2, "the demo publishes both lists");
        let negative = lists.iter().find(|l| l["kind"] == "negative").unwrap();
        let rule = negative["rules"][4].as_str().unwrap().to_owned();
        assert!(rule.contains("撤回"), "{rule}");
        let page = app.anonymous().get("/conduct").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains(&rule));
        // A new version is in force; the old one stays readable.
        let boss = app.login("supervisor").await;
        let r = boss.post_json("/api/v1/conduct-lists", &json!({"kind": "negative", "title": "负面清单（修订）", "rules": [rule.clone(), "不得以任何名义向企业索要赞助"]})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);
        let all = app.anonymous().get_json("/api/v1/conduct-lists", StatusCode::OK).await;
        assert_eq!(all.as_array().unwrap().iter().filter(|l| l["kind"] == "negative").count(), 2);
        let r = boss.post_json("/api/v1/conduct-lists", &json!({"kind": "other", "title": "", "rules": []})).await;
        assert_eq!(fields(r).await, ["kind", "title", "rules"]);
        assert_eq!(app.login("cadre").await.post_json("/api/v1/conduct-lists", &json!({"kind": "negative", "title": "x", "rules": ["y"]})).await.status(), StatusCode::FORBIDDEN);
        // A firm reports a breach of a rule in force: a case with source enterprise it follows.
        let firm = app.login("enterprise").await;
        let r = firm.post_json("/api/v1/conduct-breaches", &json!({"unit": "XN-CZ-SJ", "rule": "不得以任何名义向企业索要赞助", "description": "2026年11月某科室人员要求赞助活动经费"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let case = r.json::<Value>().await.unwrap()["case_id"].as_str().unwrap().to_owned();
        let c = firm.get_json(&format!("/api/v1/cases/{case}"), StatusCode::OK).await;
        assert_eq!(c["source"], "enterprise");
        assert!(c["title"].as_str().unwrap().starts_with("违反政商交往负面清单"));
        // A rule that is not (or no longer) in force, or a unit that does not exist: 422.
        let r = firm.post_json("/api/v1/conduct-breaches", &json!({"unit": "NOPE", "rule": "不得随意打扰企业", "description": "x"})).await;
        assert_eq!(fields(r).await, ["unit", "rule"]);
        // Only firms report breaches here.
        assert_eq!(boss.post_json("/api/v1/conduct-breaches", &json!({"unit": "XN-CZ-SJ", "rule": rule, "description": "x"})).await.status(), StatusCode::FORBIDDEN);
    }

    async fn projects_and_monthly_reports_go_out_and_come_back_as_spreadsheets(app) {
        let admin = app.login("admin").await;
        let csv = admin.get("/api/v1/projects/export?format=csv").await;
        assert_eq!(csv.status(), StatusCode::OK);
        let text = csv.text().await.unwrap();
        assert!(text.contains("项目编号") && text.contains(PROJECT));
        assert_eq!(text.lines().count(), 37, "a header and 36 projects");
        // A park reports two projects' month in one file; a bad row stops all of it.
        let cadre = app.login("cadre").await;
        let month = pingyi::domain::time::date_of(pingyi::store::now_ms()).format("%Y-%m").to_string();
        let good = format!("项目编号,月份,本月完成投资,企业自筹,银行贷款,说明\n{PROJECT},{month},1500,300,700,主体施工\nXN-ZD-002,{month},800,,400,设备进场\n");
        let bad = format!("{good}{OTHER_PROJECT},{month},10,,,别的园区的项目\nXN-ZD-003,2099-01,x,,,将来\n");
        let r = cadre.post_body("/api/v1/project-reports/import", "text/csv", bad.into_bytes()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        let named: Vec<(i64, String)> = v["error"]["fields"].as_array().unwrap().iter().map(|f| (f["row"].as_i64().unwrap(), f["field"].as_str().unwrap().to_owned())).collect();
        assert_eq!(named, [(4, "code".to_owned()), (5, "completed_wan".to_owned()), (5, "month".to_owned())], "{v}");
        let before = cadre.get_json(&format!("/api/v1/projects/{PROJECT}"), StatusCode::OK).await["completed_wan"].as_f64().unwrap();
        let dry = cadre.post_body("/api/v1/project-reports/import?dry_run=true", "text/csv", good.clone().into_bytes()).await;
        assert_eq!(dry.json::<Value>().await.unwrap(), json!({"dry_run": true, "created": 2}));
        assert_eq!(cadre.get_json(&format!("/api/v1/projects/{PROJECT}"), StatusCode::OK).await["completed_wan"].as_f64().unwrap(), before, "a dry run writes nothing");
        let r = cadre.post_body("/api/v1/project-reports/import", "text/csv", good.clone().into_bytes()).await;
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"dry_run": false, "created": 2}));
        let after = cadre.get_json(&format!("/api/v1/projects/{PROJECT}"), StatusCode::OK).await;
        assert!((after["completed_wan"].as_f64().unwrap() - before - 1500.0).abs() < 1e-6);
        // The same month again: refused, by row.
        let r = cadre.post_body("/api/v1/project-reports/import", "text/csv", good.into_bytes()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let exported = cadre.get("/api/v1/project-reports/export?format=xlsx").await;
        assert_eq!(exported.status(), StatusCode::OK);
        assert!(exported.bytes().await.unwrap().starts_with(b"PK"), "an XLSX file");
        // Projects come in the same way (admins and supervisors), the credit code checked.
        let uscc = pingyi::demo_enterprise::credit_code(2);
        let file = format!("项目编号,项目名称,园区,产业链,级别,企业自筹,银行贷款,签约日期,计划开工,计划竣工,责任单位,责任人,联系市领导,企业统一社会信用代码\n            XN-ZD-037,锂电隔膜项目,XN-NCYQ,锂电产业链,市级,20000,30000,2026-10-01,2027-03-01,2028-06-30,XN-NCYQ,张明,副市长 陈志刚,{uscc}\n            XN-ZD-038,坏行,XN-NCYQ,没有这条链,市级,1,,2026-10-01,2027-03-01,2026-01-01,XN-NCYQ,张明,某,91630100MA7000000X\n");
        let r = admin.post_body("/api/v1/projects/import", "text/csv", file.clone().into_bytes()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["fields"].as_array().unwrap().iter().all(|f| f["row"] == 3), "{v}");
        let one: String = file.lines().take(2).collect::<Vec<_>>().join("\n");
        let r = admin.post_body("/api/v1/projects/import", "text/csv", one.into_bytes()).await;
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"dry_run": false, "created": 1}));
        let p = admin.get_json("/api/v1/projects/XN-ZD-037", StatusCode::OK).await;
        assert_eq!((p["committed_wan"].as_f64(), p["chain_name"].as_str()), (Some(50_000.0), Some("锂电产业链")));
        assert_eq!(cadre.post_body("/api/v1/projects/import", "text/csv", b"code\nx\n".to_vec()).await.status(), StatusCode::FORBIDDEN);
    }

    async fn concurrent_posts_in_one_channel_each_get_their_own_place(app) {
        open_all_day(&app).await;
        let firm = std::sync::Arc::new(app.login("enterprise").await);
        let mut tasks = Vec::new();
        for i in 0..16 {
            let firm = firm.clone();
            tasks.push(tokio::spawn(async move {
                let body = json!({"body": format!("第{i}条"), "problem": i % 2 == 0, "title": format!("问题{i}")});
                firm.post_json(&format!("/api/v1/projects/{PROJECT}/messages"), &body).await.status()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), StatusCode::CREATED);
        }
        let messages = firm.get_json(&format!("/api/v1/projects/{PROJECT}/messages?after=0"), StatusCode::OK).await;
        let seqs: Vec<i64> = messages.as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "positions 1, 2, … without a gap or a repeat");
        assert!(seqs.len() >= 16);
    }

    async fn the_stream_sends_the_channel_and_the_requests_as_they_change(app) {
        open_all_day(&app).await;
        let firm = app.login("enterprise").await;
        let cadre = app.login("cadre").await;
        // Without asking for an event stream, a client gets the snapshot and the response ends.
        let once = cadre.get(&format!("/api/v1/projects/{PROJECT}/stream")).await.text().await.unwrap();
        assert!(once.contains("event: ready"), "{once}");
        let mut stream = cadre.http.get(app.url(&format!("/api/v1/projects/{PROJECT}/stream")))
            .header("accept", "text/event-stream").send().await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        let mut seen = String::new();
        async fn until(stream: &mut reqwest::Response, seen: &mut String, needle: &str) {
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
            while !seen.contains(needle) {
                let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await.expect("in time").unwrap().expect("open");
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
        until(&mut stream, &mut seen, "event: ready").await;
        let id = raise(&firm, "物流通道拥堵").await["id"].as_str().unwrap().to_owned();
        until(&mut stream, &mut seen, "物流通道拥堵").await;
        assert!(seen.contains("event: message") && seen.contains("event: request"), "{seen}");
        assert!(seen.contains(&id));
        ok(&cadre, &id, json!({"action": "reply", "note": "马上协调交警"})).await;
        until(&mut stream, &mut seen, "马上协调交警").await;
        until(&mut stream, &mut seen, "\"state\":\"replied\"").await;
    }
}
