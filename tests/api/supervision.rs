//! Inspection teams and the supervision ledger over HTTP, on both engines: a secret visit
//! sealed from the unit, findings issued on a numbered sheet that opens items, every action of
//! the item machine and its refusals, re-checks, recurrence and reused evidence, rotation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cases::{PNG, UNIT};
use crate::helpers::{Client, TestApp, error_code};

async fn visit(inspector: &Client, mode: &str) -> Value {
    let body = json!({"unit": UNIT, "mode": mode, "place": "户籍窗口", "members": "张三、李四",
        "checklist": [{"key": "staff_at_post", "ok": false, "note": "2号窗口无人"}, {"key": "attitude", "ok": true}],
        "note": "上午10点到场"});
    let r = inspector.post_json("/api/v1/visits", &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn sheet(inspector: &Client, visit: &str, category: &str) -> Value {
    let body = json!({"findings": [{"problem": "窗口人员脱岗", "requirement": "建立AB岗制度", "category": category}],
        "responsible_leader": "王所长", "responsible_person": "李警官", "reply_days": 5});
    let r = inspector.post_json(&format!("/api/v1/visits/{visit}/sheet"), &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn act(c: &Client, item: &str, body: Value) -> reqwest::Response {
    c.post_json(&format!("/api/v1/items/{item}/actions"), &body).await
}

async fn ok(c: &Client, item: &str, body: Value) -> Value {
    let r = act(c, item, body.clone()).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}: {v}");
    v
}

async fn upload(c: &Client, item: &str) -> String {
    let r = c.post_body(&format!("/api/v1/items/{item}/attachments?name=after.png"), "image/png", PNG.to_vec()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// An item issued from a visit to UNIT, acknowledged and reported by the unit head.
async fn reported_item(app: &TestApp, category: &str) -> (Value, Client, Client) {
    let inspector = app.login("inspector01").await;
    let v = visit(&inspector, "open").await;
    let s = sheet(&inspector, v["id"].as_str().unwrap(), category).await;
    let item = s["body"]["problems"][0]["item"].as_str().unwrap().to_owned();
    let head = app.login("unithead").await;
    ok(&head, &item, json!({"action": "acknowledge"})).await;
    let file = upload(&head, &item).await;
    let d = ok(&head, &item, json!({"action": "submit_final", "note": "已建立AB岗", "attachments": [file]})).await;
    (d, inspector, head)
}

crate::on_both_engines! {
    async fn a_secret_visit_is_sealed_from_the_unit_until_its_findings_are_issued(app) {
        let inspector = app.login("inspector01").await;
        let v = visit(&inspector, "secret").await;
        let id = v["id"].as_str().unwrap();
        assert_eq!(v["sealed"], true);
        let photo = inspector.post_body(&format!("/api/v1/visits/{id}/attachments?name=scene.png"), "image/png", PNG.to_vec()).await;
        assert_eq!(photo.status(), StatusCode::CREATED);
        let photo: Value = photo.json().await.unwrap();

        // The unit, and a supervisor of its district below the city, do not know it exists.
        let head = app.login("unithead").await;
        assert_eq!(head.get(&format!("/api/v1/visits/{id}")).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(head.get(&format!("/api/v1/visit-files/{}", photo["id"].as_str().unwrap())).await.status(), StatusCode::NOT_FOUND);
        assert!(head.get_json("/api/v1/visits", StatusCode::OK).await.as_array().unwrap().iter().all(|x| x["id"] != id));
        let burden = head.get_json(&format!("/api/v1/burden?unit={UNIT}"), StatusCode::OK).await;
        assert_eq!(burden["visits"], 0, "a sealed visit is not even counted");
        // Another team does not see it either; the city's supervisor does.
        let other = app.login("inspector02").await;
        assert_eq!(other.get(&format!("/api/v1/visits/{id}")).await.status(), StatusCode::NOT_FOUND);
        let city = app.login("supervisor").await;
        assert_eq!(city.get_json(&format!("/api/v1/visits/{id}"), StatusCode::OK).await["id"], id);

        let s = sheet(&inspector, id, "脱岗").await;
        assert!(s["number"].as_str().unwrap().contains("巡反〔"), "{s}");
        assert_eq!(s["responsible_person"], "李警官");
        let seen = head.get_json(&format!("/api/v1/visits/{id}"), StatusCode::OK).await;
        assert_eq!(seen["sealed"], false, "issued: the unit sees the visit");
        assert_eq!(head.get_json(&format!("/api/v1/burden?unit={UNIT}"), StatusCode::OK).await["sheets"], 1);
        // One sheet per visit; the unit signs for it once.
        let again = inspector.post_json(&format!("/api/v1/visits/{id}/sheet"), &json!({"findings": [{"problem": "x", "requirement": "y", "category": "z"}], "responsible_leader": "a", "responsible_person": "b"})).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        let sid = s["id"].as_str().unwrap();
        assert_eq!(inspector.post_json(&format!("/api/v1/sheets/{sid}/sign"), &json!({})).await.status(), StatusCode::FORBIDDEN);
        let signed = head.post_json(&format!("/api/v1/sheets/{sid}/sign"), &json!({})).await;
        assert_eq!(signed.status(), StatusCode::OK);
        assert_eq!(head.post_json(&format!("/api/v1/sheets/{sid}/sign"), &json!({})).await.status(), StatusCode::CONFLICT);

        let item = s["body"]["problems"][0]["item"].as_str().unwrap();
        let d = head.get_json(&format!("/api/v1/items/{item}"), StatusCode::OK).await;
        assert_eq!(d["item"]["source"], "secret_visit");
        assert_eq!(d["item"]["state"], "assigned");
        assert!(d["item"]["number"].as_str().unwrap().contains("督办〔"), "{d}");
        assert_eq!(d["documents"][0]["kind"], "item_assignment");
        assert_eq!(d["actions"], json!(["acknowledge"]));
    }

    async fn visits_and_items_stay_within_the_teams_stations_and_the_roles(app) {
        let inspector = app.login("inspector02").await; // stationed in another district
        let r = inspector.post_json("/api/v1/visits", &json!({"unit": UNIT, "mode": "open", "place": "大厅"})).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "outside the team's stations");
        let r = inspector.post_json("/api/v1/visits", &json!({"unit": "", "mode": "loud", "place": ""})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = r.json().await.unwrap();
        let fields: Vec<&str> = body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["mode", "place", "unit"]);
        let head = app.login("unithead").await;
        assert_eq!(head.post_json("/api/v1/visits", &json!({"unit": UNIT, "mode": "open", "place": "大厅"})).await.status(), StatusCode::FORBIDDEN, "unit heads do not inspect");

        let (d, _, _) = reported_item(&app, "脱岗").await;
        let item = d["item"]["id"].as_str().unwrap();
        assert_eq!(inspector.get(&format!("/api/v1/items/{item}")).await.status(), StatusCode::FORBIDDEN, "another district's item");
        let close = json!({"action": "close", "outcome": "implemented", "note": "核实已整改"});
        assert_eq!(act(&inspector, item, close.clone()).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(act(&head, item, close).await.status(), StatusCode::FORBIDDEN, "the unit does not close its own item");
        // Assigning an item outside one's scope is refused by field.
        let r = inspector.post_json("/api/v1/items", &json!({"title": "t", "requirements": "r", "source": "media", "category": "c",
            "unit": UNIT, "responsible_leader": "a", "responsible_person": "b"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("outside your scope"));
        let enterprise = app.login("enterprise").await;
        assert_eq!(enterprise.get("/api/v1/items").await.status(), StatusCode::FORBIDDEN);
    }

    async fn an_item_closes_only_on_evidence_by_a_verifier_who_did_not_report_it(app) {
        let inspector = app.login("inspector01").await;
        let v = visit(&inspector, "open").await;
        let s = sheet(&inspector, v["id"].as_str().unwrap(), "脱岗").await;
        let item = s["body"]["problems"][0]["item"].as_str().unwrap().to_owned();
        let item = item.as_str();
        let head = app.login("unithead").await;
        let d = ok(&head, item, json!({"action": "acknowledge", "version": 1})).await;
        assert_eq!(d["item"]["state"], "in_progress");
        // A stale version is a conflict.
        assert_eq!(act(&head, item, json!({"action": "report_progress", "percent": 40, "note": "n", "version": 1})).await.status(), StatusCode::CONFLICT);
        let d = ok(&head, item, json!({"action": "report_progress", "percent": 40, "note": "已排班"})).await;
        assert_eq!(d["item"]["progress"], 40);
        let r = act(&head, item, json!({"action": "report_progress", "percent": 140, "note": "n"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // A final report without evidence is refused, by field.
        let r = act(&head, item, json!({"action": "submit_final", "note": "已整改"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("attachments"));
        let file = upload(&head, item).await;
        let d = ok(&head, item, json!({"action": "submit_final", "note": "已建立AB岗", "attachments": [file]})).await;
        assert_eq!(d["item"]["state"], "reported");
        assert_eq!(d["item"]["reported_by"], "unithead");
        assert_eq!(d["item"]["reported_on_time"], true);

        // Returned for re-work, reported again, then closed by the inspector.
        let d = ok(&inspector, item, json!({"action": "return", "days": 3, "note": "缺少整改后照片"})).await;
        assert_eq!(d["item"]["state"], "in_progress");
        assert_eq!(d["item"]["step"], "rework");
        let file = upload(&head, item).await;
        ok(&head, item, json!({"action": "submit_final", "note": "补充照片", "attachments": [file]})).await;
        let r = act(&inspector, item, json!({"action": "close", "note": "n"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "an outcome is named");
        let d = ok(&inspector, item, json!({"action": "close", "outcome": "implemented", "note": "现场核实已整改"})).await;
        assert_eq!(d["item"]["state"], "closed");
        assert_eq!(d["item"]["outcome"], "implemented");
        let kinds: Vec<&str> = d["documents"].as_array().unwrap().iter().map(|x| x["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["item_assignment", "item_closing"]);
        assert!(d["documents"][1]["number"].as_str().unwrap().contains("销号〔"));
        // Two re-checks, a month and a quarter on.
        let rechecks = d["rechecks"].as_array().unwrap();
        assert_eq!(rechecks.len(), 2);
        let closed = d["item"]["closed_at"].as_i64().unwrap();
        assert_eq!(rechecks[0]["due_at"].as_i64().unwrap() - closed, 30 * 86_400_000);
        assert_eq!(rechecks[1]["due_at"].as_i64().unwrap() - closed, 90 * 86_400_000);
        // A passed re-check keeps it closed; a failed one reopens it for re-work.
        let d = ok(&inspector, item, json!({"action": "recheck", "passed": true, "note": "回头看：在岗"})).await;
        assert_eq!(d["item"]["state"], "closed");
        assert_eq!(d["rechecks"][0]["passed"], true);
        let d = ok(&inspector, item, json!({"action": "recheck", "passed": false, "days": 5, "note": "回头看：又脱岗"})).await;
        assert_eq!(d["item"]["state"], "in_progress");
        assert_eq!(d["item"]["reopened"], 1);
        assert_eq!(d["rechecks"].as_array().unwrap().len(), 2, "the pending re-check went with the reopening");
    }

    async fn whoever_reported_may_not_close_and_extensions_come_before_the_deadline(app) {
        let sup = app.login("supervisor").await;
        let new = json!({"title": "办事指南未公示", "requirements": "三日内公示", "source": "leader_instruction", "level": "key",
            "category": "公示", "unit": UNIT, "assisting": ["XN-CD"], "responsible_leader": "王所长", "responsible_person": "李警官", "days": 3});
        let r = sup.post_json("/api/v1/items", &new).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let d: Value = r.json().await.unwrap();
        assert_eq!(d["item"]["level"], "key");
        assert_eq!(d["item"]["assisting"][0][0], "XN-CD");
        let item = d["item"]["id"].as_str().unwrap().to_owned();
        let item = item.as_str();
        let staff = app.login("staff").await;
        ok(&staff, item, json!({"action": "acknowledge"})).await;
        // An extension asked before the deadline, decided by the supervisor: the deadline moves.
        let before = sup.get_json(&format!("/api/v1/items/{item}"), StatusCode::OK).await["item"]["deadline_at"].as_i64().unwrap();
        ok(&staff, item, json!({"action": "request_extension", "days": 2, "note": "需采购展板"})).await;
        assert_eq!(act(&staff, item, json!({"action": "request_extension", "days": 2, "note": "again"})).await.status(), StatusCode::CONFLICT, "one at a time");
        let d = ok(&sup, item, json!({"action": "decide_extension", "approve": true})).await;
        assert!(d["item"]["deadline_at"].as_i64().unwrap() > before, "{d}");
        assert_eq!(d["item"]["extension_days"], Value::Null);
        // After the deadline, no extension.
        sqlx::query("update items set deadline_at = 1 where id = $1").bind(item).execute(app.store.pool()).await.unwrap();
        let r = act(&staff, item, json!({"action": "request_extension", "days": 2, "note": "late"})).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(r.text().await.unwrap().contains("deadline has passed"));
        pingyi::store::items::ladder::sweep(&app.store, &pingyi::domain::item::ladder::Rule::default(), pingyi::store::now_ms()).await.unwrap();
        let overdue = sup.get_json(&format!("/api/v1/items/{item}"), StatusCode::OK).await;
        assert_eq!(overdue["item"]["colour"], "red", "overdue is red");
        // The supervisor reports in the unit's place? No: the unit reports; a supervisor who
        // reported could not close. Here staff reports and the supervisor closes.
        let file = upload(&staff, item).await;
        ok(&staff, item, json!({"action": "submit_final", "note": "已公示", "attachments": [file]})).await;
        let d = sup.get_json(&format!("/api/v1/items/{item}"), StatusCode::OK).await;
        assert_eq!(d["item"]["reported_on_time"], false, "reported after the deadline");
        assert!(d["actions"].as_array().unwrap().contains(&json!("close")));
        ok(&sup, item, json!({"action": "close", "outcome": "partly_implemented", "note": "基本落实"})).await;
        assert_eq!(error_code(act(&staff, item, json!({"action": "reopen", "days": 3, "note": "x"})).await).await, "forbidden");
        let d = ok(&sup, item, json!({"action": "reopen", "days": 3, "note": "群众再次反映"})).await;
        assert_eq!(d["item"]["state"], "in_progress");
    }

    async fn a_new_finding_for_a_closed_problem_is_a_recurrence_and_reused_evidence_is_flagged(app) {
        let (d, inspector, head) = reported_item(&app, "脱岗").await;
        let first = d["item"]["id"].as_str().unwrap().to_owned();
        ok(&inspector, &first, json!({"action": "close", "outcome": "implemented", "note": "已整改"})).await;
        // The same unit, the same category: linked to the closed item and flagged.
        let v = visit(&inspector, "secret").await;
        let s = sheet(&inspector, v["id"].as_str().unwrap(), "脱岗").await;
        assert_eq!(s["body"]["problems"][0]["recurrence_of"], first.as_str());
        let second = s["body"]["problems"][0]["item"].as_str().unwrap().to_owned();
        let d = head.get_json(&format!("/api/v1/items/{second}"), StatusCode::OK).await;
        assert_eq!(d["item"]["recurrence_of"], first.as_str());
        assert!(d["repeats"][0].as_str().unwrap().contains("督办〔"));
        let d = head.get_json(&format!("/api/v1/items/{first}"), StatusCode::OK).await;
        assert_eq!(d["item"]["recurrences"], 1);
        let listed = head.get_json("/api/v1/items?recurring=true", StatusCode::OK).await;
        assert_eq!(listed["total"], 2);
        // Another category is not a recurrence.
        let v = visit(&inspector, "open").await;
        let s = sheet(&inspector, v["id"].as_str().unwrap(), "公示").await;
        assert_eq!(s["body"]["problems"][0]["recurrence_of"], Value::Null);

        // The same photo closing the second item as closed the first: both flagged.
        ok(&head, &second, json!({"action": "acknowledge"})).await;
        let file = upload(&head, &second).await;
        ok(&head, &second, json!({"action": "submit_final", "note": "同上", "attachments": [file]})).await;
        let d = ok(&inspector, &second, json!({"action": "close", "outcome": "implemented", "note": "已整改"})).await;
        assert_eq!(d["item"]["evidence_reused"], true);
        assert_eq!(head.get_json(&format!("/api/v1/items/{first}"), StatusCode::OK).await["item"]["evidence_reused"], true);
    }

    async fn rotating_a_team_keeps_its_history_and_moves_its_members_scope(app) {
        let sup = app.login("supervisor").await;
        let before = sup.get_json("/api/v1/teams/XCZ02/history", StatusCode::OK).await;
        assert_eq!(before.as_array().unwrap().len(), 1);
        let r = sup.http.put(app.url("/api/v1/teams/XCZ02/stations")).header("x-csrf-token", sup.csrf.clone().unwrap_or_default())
            .json(&json!({"stations": ["XN-CD"]})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let team: Value = r.json().await.unwrap();
        assert_eq!(team["stations"][0]["org_code"], "XN-CD");
        let history = sup.get_json("/api/v1/teams/XCZ02/history", StatusCode::OK).await;
        assert_eq!(history.as_array().unwrap().len(), 2);
        assert!(history[1]["ended_at"].is_i64(), "the old station ended: {history}");
        // Inspector 02 now works in 城东区.
        let inspector = app.login("inspector02").await;
        let r = inspector.post_json("/api/v1/visits", &json!({"unit": UNIT, "mode": "open", "place": "大厅"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let head = app.login("unithead").await;
        let r = head.http.put(app.url("/api/v1/teams/XCZ02/stations")).header("x-csrf-token", head.csrf.clone().unwrap_or_default())
            .json(&json!({"stations": ["XN-CD"]})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = sup.http.put(app.url("/api/v1/teams/NOPE/stations")).header("x-csrf-token", sup.csrf.clone().unwrap_or_default())
            .json(&json!({"stations": ["XN-CD"]})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

crate::on_both_engines! {
    async fn colours_follow_the_plan_and_the_units_slips_climb_the_ladder(app) {
        use pingyi::domain::item::ladder::Rule;
        use pingyi::store::items::ladder::sweep;
        let sup = app.login("supervisor").await;
        let mut ids = Vec::new();
        for n in 0..4 {
            let new = json!({"title": format!("事项{n}"), "requirements": "r", "source": "media", "category": format!("c{n}"),
                "unit": UNIT, "responsible_leader": "王所长", "responsible_person": "李警官", "days": 20});
            let r = sup.post_json("/api/v1/items", &new).await;
            assert_eq!(r.status(), StatusCode::CREATED);
            ids.push(r.json::<Value>().await.unwrap()["item"]["id"].as_str().unwrap().to_owned());
        }
        let now = pingyi::store::now_ms();
        let day = 86_400_000_i64;
        let rule = Rule::default();
        let set = |id: &str, progress: i64, started: i64, deadline: i64| {
            let (id, pool) = (id.to_owned(), app.store.pool().clone());
            async move {
                sqlx::query("update items set progress = $2, started_at = $3, deadline_at = $4 where id = $1")
                    .bind(id).bind(progress).bind(started).bind(deadline).execute(&pool).await.unwrap();
            }
        };
        // On plan: nothing changes (green stays green).
        assert_eq!(sweep(&app.store, &rule, now).await.unwrap(), 0);
        // Half the time gone, 30% done: 20 points behind is a yellow slip; the unit's first.
        set(&ids[0], 30, now - 10 * day, now + 10 * day).await;
        assert_eq!(sweep(&app.store, &rule, now).await.unwrap(), 1);
        let d = sup.get_json(&format!("/api/v1/items/{}", ids[0]), StatusCode::OK).await;
        assert_eq!(d["item"]["colour"], "yellow");
        assert_eq!(d["timeline"].as_array().unwrap().last().unwrap()["action"], "colour");
        assert_eq!(d["documents"].as_array().unwrap().len(), 1, "one yellow: no letter yet");
        // The unit's second yellow (on another item) brings a supervision letter.
        set(&ids[1], 30, now - 10 * day, now + 10 * day).await;
        sweep(&app.store, &rule, now).await.unwrap();
        let d = sup.get_json(&format!("/api/v1/items/{}", ids[1]), StatusCode::OK).await;
        let kinds: Vec<&str> = d["documents"].as_array().unwrap().iter().map(|x| x["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["item_assignment", "supervision_letter"]);
        assert!(d["documents"][1]["number"].as_str().unwrap().contains("督办函〔"));
        // Overdue is red: a talk each time; three reds in a row for the unit, a referral.
        let mut talks = 0;
        for id in &ids[1..4] {
            set(id, 90, now - 30 * day, now - day).await;
            sweep(&app.store, &rule, now).await.unwrap();
            let d = sup.get_json(&format!("/api/v1/items/{id}"), StatusCode::OK).await;
            assert_eq!(d["item"]["colour"], "red");
            talks += d["documents"].as_array().unwrap().iter().filter(|x| x["kind"] == "talk").count();
        }
        assert_eq!(talks, 3);
        let last = sup.get_json(&format!("/api/v1/items/{}", ids[3]), StatusCode::OK).await;
        assert!(last["documents"].as_array().unwrap().iter().any(|x| x["kind"] == "referral"), "{last}");
        // A sweep with nothing new changes nothing; a closed item is never swept.
        assert_eq!(sweep(&app.store, &rule, now).await.unwrap(), 0);
        let head = app.login("unithead").await;
        let inbox = head.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert!(inbox.to_string().contains("约谈"), "the unit head is told of the talk: {inbox}");
        let page = sup.get(&format!("/items/{}/documents/{}", ids[3], last["documents"].as_array().unwrap().iter().find(|x| x["kind"] == "referral").unwrap()["id"].as_str().unwrap())).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("移送"));
    }
}

crate::on_both_engines! {
    async fn the_dashboard_counts_per_team_and_district_and_the_bulletin_names_and_praises(app) {
        let (d, inspector, _) = reported_item(&app, "脱岗").await;
        let first = d["item"]["id"].as_str().unwrap().to_owned();
        ok(&inspector, &first, json!({"action": "close", "outcome": "implemented", "note": "已整改"})).await;
        let v = visit(&inspector, "open").await;
        sheet(&inspector, v["id"].as_str().unwrap(), "脱岗").await; // a recurrence, left open
        let sup = app.login("supervisor").await;
        let s = sup.get_json("/api/v1/supervision/stats", StatusCode::OK).await;
        let team = s["teams"].as_array().unwrap().iter().find(|t| t["key"] == "XCZ01").unwrap();
        assert_eq!(team["found"], 2, "{s}");
        assert_eq!(team["fixed"], 1);
        assert_eq!(team["recurring"], 1);
        assert_eq!(s["total"]["found"], 2);
        let district = s["districts"].as_array().unwrap().iter().find(|t| t["key"] == "XN-CD").unwrap();
        assert_eq!(district["found"], 2);
        // The bulletin of this month names the unit for its recurrence.
        let month = s["month"].as_str().unwrap();
        let b = sup.get_json(&format!("/api/v1/supervision/bulletin?month={month}"), StatusCode::OK).await;
        assert_eq!(b["named"][0]["code"], UNIT, "{b}");
        assert_eq!(b["named"][0]["recurring"], 1);
        assert_eq!(b["praised"], json!([]));
        let bad = sup.get("/api/v1/supervision/bulletin?month=2026-13").await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let csv = sup.get(&format!("/api/v1/supervision/bulletin/export?month={month}")).await;
        assert_eq!(csv.status(), StatusCode::OK);
        let text = csv.text().await.unwrap();
        assert!(text.contains("第一作风巡查组") && text.contains("通报批评"), "{text}");
        let xlsx = sup.get(&format!("/api/v1/supervision/bulletin/export?month={month}&format=xlsx")).await;
        assert_eq!(xlsx.status(), StatusCode::OK);
        assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
        for page in ["/supervision/dashboard", &format!("/supervision/bulletin?month={month}"), "/supervision", "/items?colour=red"] {
            let r = sup.get(page).await;
            assert_eq!(r.status(), StatusCode::OK, "{page}");
        }
        let page = sup.get(&format!("/supervision/bulletin?month={month}")).await.text().await.unwrap();
        assert!(page.contains("城东区八一路派出所"), "the named unit is on the printable bulletin");
    }
}

crate::on_both_engines! {
    async fn the_ledger_goes_out_and_back_in_one_spreadsheet_format_all_or_nothing(app) {
        let sup = app.login("supervisor").await;
        // Two new items and one bad row: nothing is written, every error is named by row.
        let csv = "事项,编号,来源,级别,类别,主办单位,协办单位,责任领导,责任人,督办要求,办理时限\n\
                   大厅无障碍通道被占用,,领导批示,重点,无障碍,XN-CD-GA-001,XN-CD,王所长,李警官,三日内清理,3\n\
                   自助机长期故障,,12345热线,一般,设备,XN-CD-GA-001,,王所长,马超,一周内修复,\n\
                   ,,媒体曝光,一般,x,XN-NOPE,,a,b,c,200\n";
        let post = |body: &'static str, dry: bool| {
            let sup = &sup;
            async move {
                sup.post_body(&format!("/api/v1/items/import?dry_run={dry}"), "text/csv", body.as_bytes().to_vec()).await
            }
        };
        let r = post(csv, false).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = r.json().await.unwrap();
        let fields: Vec<(i64, &str)> = body["error"]["fields"].as_array().unwrap().iter().map(|f| (f["row"].as_i64().unwrap(), f["field"].as_str().unwrap())).collect();
        assert!(fields.contains(&(4, "title")) && fields.contains(&(4, "unit")) && fields.contains(&(4, "days")), "{body}");
        assert_eq!(sup.get_json("/api/v1/items", StatusCode::OK).await["total"], 0, "nothing half-applied");
        let good: &'static str = "事项,编号,来源,级别,类别,主办单位,协办单位,责任领导,责任人,督办要求,办理时限\n\
                   大厅无障碍通道被占用,,领导批示,重点,无障碍,XN-CD-GA-001,XN-CD,王所长,李警官,三日内清理,3\n\
                   自助机长期故障,,12345热线,一般,设备,XN-CD-GA-001,,王所长,马超,一周内修复,\n";
        let dry: Value = post(good, true).await.json().await.unwrap();
        assert_eq!(dry, json!({"dry_run": true, "created": 2, "updated": 0, "unchanged": 0}));
        assert_eq!(sup.get_json("/api/v1/items", StatusCode::OK).await["total"], 0);
        let done: Value = post(good, false).await.json().await.unwrap();
        assert_eq!(done["created"], 2);
        let list = sup.get_json("/api/v1/items?q=自助机", StatusCode::OK).await;
        assert_eq!(list["items"][0]["source"], "hotline");
        assert_eq!(list["items"][0]["level"], "general");

        // Exported and imported back unchanged: nothing changes. The unit updates progress.
        let exported = sup.get("/api/v1/items/export").await;
        assert_eq!(exported.status(), StatusCode::OK);
        let text = exported.text().await.unwrap();
        assert!(text.starts_with("事项,编号,来源") && text.contains("大厅无障碍通道被占用"), "{text}");
        let r = sup.post_body("/api/v1/items/import", "text/csv", text.clone().into_bytes()).await;
        assert_eq!(r.json::<Value>().await.unwrap()["unchanged"], 2);
        let head = app.login("unithead").await;
        let number = list["items"][0]["number"].as_str().unwrap();
        ok(&head, list["items"][0]["id"].as_str().unwrap(), json!({"action": "acknowledge"})).await;
        let update = format!("事项,编号,进度,整改措施\n自助机长期故障,{number},60,已联系厂家更换主板\n");
        let r = head.post_body("/api/v1/items/import", "text/csv", update.clone().into_bytes()).await;
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["updated"], 1, "{v}");
        let d = head.get_json(&format!("/api/v1/items/{}", list["items"][0]["id"].as_str().unwrap()), StatusCode::OK).await;
        assert_eq!(d["item"]["progress"], 60);
        assert_eq!(d["item"]["measures"], "已联系厂家更换主板");
        // The unit may not assign; an unknown number is named.
        let r = head.post_body("/api/v1/items/import", "text/csv", "事项,编号\n新事项,\n旧事项,XX督办〔2026〕9999号\n".as_bytes().to_vec()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text().await.unwrap();
        assert!(text.contains("\"row\":2") && text.contains("\"row\":3"), "{text}");
        let xlsx = sup.get("/api/v1/items/export?format=xlsx&state=assigned").await;
        assert_eq!(xlsx.status(), StatusCode::OK);
        let bytes = xlsx.bytes().await.unwrap().to_vec();
        let r = sup.post_body("/api/v1/items/import?dry_run=true", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes).await;
        assert_eq!(r.json::<Value>().await.unwrap()["unchanged"], 1, "XLSX round trip");
    }
}

crate::on_both_engines! {
    async fn a_meetings_decisions_become_items_and_the_next_meeting_opens_with_their_state(app) {
        let sup = app.login("supervisor").await;
        let r = sup.post_json("/api/v1/meetings", &json!({"title": "光伏项目用电增容协调", "scope": "XN-CD", "place": "区政务服务中心3楼",
            "attendees": []})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let fields = r.text().await.unwrap();
        assert!(fields.contains("attendees") && fields.contains("agenda"), "{fields}");
        let head = app.login("unithead").await;
        let r = head.post_json("/api/v1/meetings", &json!({"title": "t", "scope": "XN-CD", "place": "p", "attendees": ["a"], "agenda": "g"})).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = sup.post_json("/api/v1/meetings", &json!({"title": "光伏项目用电增容协调", "scope": "XN-CD", "place": "区政务服务中心3楼",
            "attendees": ["青海高原光伏科技有限公司", "城东区供电所", "王副区长"], "agenda": "增容报装排期"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let m: Value = r.json().await.unwrap();
        let id = m["meeting"]["id"].as_str().unwrap().to_owned();
        assert!(m["meeting"]["minutes_due_at"].as_i64().unwrap() > m["meeting"]["held_at"].as_i64().unwrap());
        let minutes = json!({"minutes": "会议议定两项", "decisions": [
            {"title": "一周内完成现场勘查", "requirements": "供电所派员勘查", "unit": UNIT, "responsible_leader": "王所长", "responsible_person": "李警官", "days": 5},
            {"title": "月底前完成增容", "requirements": "按期送电", "unit": UNIT, "responsible_leader": "王所长", "responsible_person": "马超"}]});
        let r = sup.post_json(&format!("/api/v1/meetings/{id}/minutes"), &minutes).await;
        assert_eq!(r.status(), StatusCode::OK);
        let d: Value = r.json().await.unwrap();
        assert!(d["meeting"]["minutes_number"].as_str().unwrap().contains("纪要〔"));
        assert_eq!(d["decisions"].as_array().unwrap().len(), 2);
        assert_eq!(d["decisions"][0]["source"], "meeting_decision");
        assert_eq!(d["decisions"][0]["meeting_id"], id.as_str());
        assert_eq!(d["minutes_late"], false);
        assert_eq!(sup.post_json(&format!("/api/v1/meetings/{id}/minutes"), &minutes).await.status(), StatusCode::CONFLICT);
        // The unit works one decision; the next meeting opens with where both stand.
        let first = d["decisions"][0]["id"].as_str().unwrap();
        ok(&head, first, json!({"action": "acknowledge"})).await;
        let r = sup.post_json("/api/v1/meetings", &json!({"title": "光伏项目用电增容协调（二）", "scope": "XN-CD", "place": "现场",
            "attendees": ["城东区供电所"], "agenda": "检查上次议定事项", "previous_id": id})).await;
        let next: Value = r.json().await.unwrap();
        let states: Vec<&str> = next["previous_decisions"].as_array().unwrap().iter().map(|i| i["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["in_progress", "assigned"]);
        // The unit sees the meeting about its district; a district elsewhere does not.
        assert_eq!(head.get(&format!("/api/v1/meetings/{id}")).await.status(), StatusCode::OK);
        let other = app.login("inspector02").await;
        assert_eq!(other.get(&format!("/api/v1/meetings/{id}")).await.status(), StatusCode::FORBIDDEN);
        let page = sup.get(&format!("/meetings/{}", next["meeting"]["id"].as_str().unwrap())).await.text().await.unwrap();
        assert!(page.contains("一周内完成现场勘查"), "the previous decisions are on the page");
    }
}

crate::on_both_engines! {
    async fn the_same_data_is_asked_of_a_unit_once_and_the_burden_is_shown(app) {
        let inspector = app.login("inspector01").await;
        let body = json!({"unit": UNIT, "topic": "窗口办件量 统计", "period": "2026-11", "detail": "按窗口分列"});
        let r = inspector.post_json("/api/v1/data-requests", &body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        // The same data again, written a little differently: refused, naming the first.
        let again = json!({"unit": UNIT, "topic": "  窗口办件量   统计 ", "period": "2026-11", "detail": "再要一次"});
        let sup = app.login("supervisor").await;
        let r = sup.post_json("/api/v1/data-requests", &again).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(r.text().await.unwrap().contains("inspector01"), "the first request is named");
        // Another period is another request; bad input is named field by field.
        let other = json!({"unit": UNIT, "topic": "窗口办件量统计", "period": "2026-12", "detail": "d"});
        assert_eq!(sup.post_json("/api/v1/data-requests", &other).await.status(), StatusCode::CREATED);
        let r = sup.post_json("/api/v1/data-requests", &json!({"unit": UNIT, "period": "2026/12"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text().await.unwrap();
        assert!(text.contains("topic") && text.contains("period") && text.contains("detail"), "{text}");
        let head = app.login("unithead").await;
        assert_eq!(head.post_json("/api/v1/data-requests", &body).await.status(), StatusCode::FORBIDDEN);
        let list = head.get_json(&format!("/api/v1/data-requests?unit={UNIT}"), StatusCode::OK).await;
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert_eq!(head.get_json(&format!("/api/v1/burden?unit={UNIT}"), StatusCode::OK).await["requests"], 2);
        let page = inspector.get(&format!("/data-requests?unit={UNIT}")).await.text().await.unwrap();
        assert!(page.contains("窗口办件量 统计") && page.contains("id=\"burden\""));
    }
}

crate::on_both_engines! {
    async fn a_plan_names_its_leader_scope_and_checklist_and_a_secret_one_is_sealed(app) {
        let inspector = app.login("inspector01").await;
        let r = inspector.post_json("/api/v1/plans", &json!({"title": "t", "mode": "secret", "scope": "XN-CD", "targets": "x",
            "starts_on": "2026-12-10", "ends_on": "2026-12-01"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("ends_on"));
        let r = inspector.post_json("/api/v1/plans", &json!({"title": "城东区派出所窗口作风暗访", "mode": "secret", "scope": "XN-CD",
            "targets": "户籍、出入境窗口", "starts_on": "2026-12-01", "ends_on": "2026-12-31", "checklist": ["staff_at_post", "attitude"]})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let plan: Value = r.json().await.unwrap();
        let id = plan["id"].as_str().unwrap();
        assert!(!plan["leader"].as_str().unwrap().is_empty(), "the team leader is named");
        // A visit under the plan takes its mode and its checklist only.
        let r = inspector.post_json("/api/v1/visits", &json!({"plan_id": id, "unit": UNIT, "mode": "open", "place": "户籍窗口",
            "checklist": [{"key": "rules_displayed", "ok": true}]})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a check the plan does not name");
        let r = inspector.post_json("/api/v1/visits", &json!({"plan_id": id, "unit": UNIT, "mode": "open", "place": "户籍窗口",
            "checklist": [{"key": "staff_at_post", "ok": false}]})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["mode"], "secret");
        assert_eq!(v["plan_id"], id);
        let d = inspector.get_json(&format!("/api/v1/plans/{id}"), StatusCode::OK).await;
        assert_eq!(d["visits"].as_array().unwrap().len(), 1);
        // Sealed: the unit and another team do not know it exists; the city does.
        let head = app.login("unithead").await;
        assert_eq!(head.get(&format!("/api/v1/plans/{id}")).await.status(), StatusCode::NOT_FOUND);
        assert!(head.get_json("/api/v1/plans", StatusCode::OK).await.as_array().unwrap().is_empty());
        assert_eq!(app.login("inspector02").await.get(&format!("/api/v1/plans/{id}")).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.login("supervisor").await.get(&format!("/api/v1/plans/{id}")).await.status(), StatusCode::OK);
        // A plan outside the team's stations is refused.
        let r = app.login("inspector02").await.post_json("/api/v1/plans", &json!({"title": "t", "mode": "open", "scope": "XN-CD",
            "targets": "x", "starts_on": "2026-12-01", "ends_on": "2026-12-31"})).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let page = inspector.get(&format!("/visits/new?plan={id}")).await.text().await.unwrap();
        assert!(page.contains("check_staff_at_post") && !page.contains("check_rules_displayed"));
    }
}

crate::on_both_engines! {
    async fn milestones_set_the_plan_and_a_parent_rolls_up_from_its_children(app) {
        let sup = app.login("supervisor").await;
        let new = |title: &str, parent: Option<&str>, weight: u32| json!({"title": title, "requirements": "r", "source": "leader_instruction",
            "category": format!("c-{title}"), "unit": UNIT, "responsible_leader": "王所长", "responsible_person": "李警官", "days": 20,
            "parent_id": parent, "weight": weight});
        let parent: Value = sup.post_json("/api/v1/items", &new("营商环境整改", None, 1)).await.json().await.unwrap();
        let pid = parent["item"]["id"].as_str().unwrap().to_owned();
        let a: Value = sup.post_json("/api/v1/items", &new("材料精简", Some(&pid), 3)).await.json().await.unwrap();
        let b: Value = sup.post_json("/api/v1/items", &new("窗口整合", Some(&pid), 1)).await.json().await.unwrap();
        let (a, b) = (a["item"]["id"].as_str().unwrap().to_owned(), b["item"]["id"].as_str().unwrap().to_owned());
        let head = app.login("unithead").await;
        for id in [&a, &b] {
            ok(&head, id, json!({"action": "acknowledge"})).await;
        }
        ok(&head, &a, json!({"action": "report_progress", "percent": 100, "note": "已完成"})).await;
        let d = sup.get_json(&format!("/api/v1/items/{pid}"), StatusCode::OK).await;
        assert_eq!(d["item"]["progress"], 75, "3 of 4 weighted parts done");
        assert_eq!(d["children"].as_array().unwrap().len(), 2);
        ok(&head, &b, json!({"action": "report_progress", "percent": 40, "note": "进行中"})).await;
        assert_eq!(sup.get_json(&format!("/api/v1/items/{pid}"), StatusCode::OK).await["item"]["progress"], 85);

        // A milestone early on: half done by tomorrow makes the plan steep.
        let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
        let day = (tomorrow + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string();
        let r = head.post_json(&format!("/api/v1/items/{b}/milestones"), &json!({"title": "方案上报", "planned_on": day, "percent": 50})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let d: Value = r.json().await.unwrap();
        assert_eq!(d["item"]["milestones"].as_array().unwrap().len(), 1);
        let r = head.post_json(&format!("/api/v1/items/{b}/milestones"), &json!({"title": "x", "planned_on": "2020-01-01", "percent": 150})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text().await.unwrap();
        assert!(text.contains("planned_on") && text.contains("percent"), "{text}");
        let m = d["item"]["milestones"][0]["id"].as_str().unwrap();
        let r = head.post_json(&format!("/api/v1/items/{b}/milestones/{m}/reached"), &json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(head.post_json(&format!("/api/v1/items/{b}/milestones/{m}/reached"), &json!({})).await.status(), StatusCode::CONFLICT);
        assert_eq!(sup.post_json(&format!("/api/v1/items/{b}/milestones/{m}/reached"), &json!({})).await.status(), StatusCode::FORBIDDEN);
        // Past the milestone's date with 40% done against 50% planned: the sweep turns it yellow.
        let after = pingyi::store::now_ms() + 2 * 86_400_000;
        pingyi::store::items::ladder::sweep(&app.store, &pingyi::domain::item::ladder::Rule::default(), after).await.unwrap();
        let d = sup.get_json(&format!("/api/v1/items/{b}"), StatusCode::OK).await;
        assert_eq!(d["item"]["colour"], "yellow", "{}", d["item"]);
    }
}

crate::on_both_engines! {
    async fn the_city_sets_its_own_ledger_numbers_and_they_apply(app) {
        let admin = app.login("admin").await;
        let mut s = admin.get_json("/api/v1/supervision/settings", StatusCode::OK).await;
        assert_eq!(s["recheck_days"], json!([30, 90]));
        assert_eq!(s["source_days"]["media"], 3);
        let put = |c: &crate::helpers::Client, body: &Value| {
            c.http.put(app.url("/api/v1/supervision/settings")).header("x-csrf-token", c.csrf.clone().unwrap_or_default()).json(body).send()
        };
        let mut bad = s.clone();
        bad["red_behind"] = json!(5);
        bad["recheck_days"] = json!([]);
        let r = put(&admin, &bad).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text().await.unwrap();
        assert!(text.contains("red_behind") && text.contains("recheck_days"), "{text}");
        s["recheck_days"] = json!([7]);
        s["source_days"]["leader_instruction"] = json!(2);
        let sup = app.login("supervisor").await;
        assert_eq!(put(&sup, &s).await.unwrap().status(), StatusCode::FORBIDDEN, "admins set the city's numbers");
        assert_eq!(put(&admin, &s).await.unwrap().status(), StatusCode::OK);
        // A new leader's instruction gets 2 working days; its closing schedules one re-check a week on.
        let r = sup.post_json("/api/v1/items", &json!({"title": "t", "requirements": "r", "source": "leader_instruction", "category": "c",
            "unit": UNIT, "responsible_leader": "a", "responsible_person": "b"})).await;
        let d: Value = r.json().await.unwrap();
        let (start, due) = (d["item"]["started_at"].as_i64().unwrap(), d["item"]["deadline_at"].as_i64().unwrap());
        assert!(due - start <= 6 * 86_400_000, "2 working days, at most a weekend and a holiday between: {}", (due - start) / 3_600_000);
        let id = d["item"]["id"].as_str().unwrap().to_owned();
        let head = app.login("unithead").await;
        ok(&head, &id, json!({"action": "acknowledge"})).await;
        let file = upload(&head, &id).await;
        ok(&head, &id, json!({"action": "submit_final", "note": "done", "attachments": [file]})).await;
        let d = ok(&sup, &id, json!({"action": "close", "outcome": "implemented", "note": "ok"})).await;
        assert_eq!(d["rechecks"].as_array().unwrap().len(), 1);
        assert_eq!(d["rechecks"][0]["due_at"].as_i64().unwrap() - d["item"]["closed_at"].as_i64().unwrap(), 7 * 86_400_000);
        let page = admin.get("/admin/ledger-settings").await;
        assert_eq!(page.status(), StatusCode::OK);
        let r = admin.post_form("/admin/ledger-settings", &[("blue_days", "x")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
