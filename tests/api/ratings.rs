//! Citizen ratings end to end: codes, validation, scales, invitations, abuse flags, appeals,
//! privacy, live alerts, defaults, group commit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, error_code};

/// The live rating code of a node, via the admin API.
pub async fn code_of(app: &TestApp, org: &str) -> String {
    let admin = app.login("admin").await;
    let v = admin.get_json(&format!("/api/v1/org/nodes/{org}/rating-code"), StatusCode::OK).await;
    v["token"].as_str().unwrap().to_owned()
}

pub async fn rate(c: &Client, body: Value) -> reqwest::Response {
    c.post_json("/api/v1/ratings", &body).await
}

/// The live-alert window of `unit` as every server process counts it (the tallies in the
/// database), once it reads `want` or after five seconds.
async fn alert_window(app: &TestApp, unit: &str, want: (i64, i64)) -> (i64, i64) {
    let mut got = (-1, -1);
    for _ in 0..50 {
        let since = pingyi::store::now_ms() - pingyi::domain::rating::AlertRule::default().window_ms;
        let w = pingyi::store::alerts::windows(&app.store, &[unit.to_owned()], since).await.unwrap();
        got = (w[0].total, w[0].unsatisfied);
        if got == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    got
}

/// `GET /api/v1/alerts` once `done` holds for it or after five seconds: alerts are evaluated
/// off the request path, after the ratings' commit.
async fn alerts_once(c: &Client, done: impl Fn(&Value) -> bool) -> Value {
    let mut alerts = Value::Null;
    for _ in 0..50 {
        alerts = c.get_json("/api/v1/alerts", StatusCode::OK).await;
        if done(&alerts) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    alerts
}

/// Posts an unsatisfied (or satisfied) rating of `code` from a device of its own to `base`.
async fn rate_from_device(base: &str, code: &str, device: &str, satisfied: bool) {
    let body = if satisfied {
        json!({"code": code, "satisfied": true})
    } else {
        json!({"code": code, "satisfied": false, "reasons": ["not_done"]})
    };
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/ratings"))
        .header("user-agent", device)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn counts(c: &Client, under: &str) -> Value {
    c.get_json(&format!("/api/v1/ratings/counts?under={under}"), StatusCode::OK).await
}

crate::on_both_engines! {
    async fn forged_unknown_and_revoked_codes_are_refused(app) {
        let c = app.anonymous();
        let good = code_of(&app, "XN-CD-GA-001").await;
        assert_eq!(c.get(&format!("/r/{good}")).await.status(), StatusCode::OK);
        // One character changed: the signature no longer matches.
        let mut forged: Vec<char> = good.chars().collect();
        forged[12] = if forged[12] == 'A' { 'B' } else { 'A' };
        let forged: String = forged.into_iter().collect();
        assert_eq!(c.get(&format!("/r/{forged}")).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(c.get("/r/not-a-code").await.status(), StatusCode::NOT_FOUND);
        let r = rate(&c, json!({"code": forged, "satisfied": true})).await;
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::NOT_FOUND, "not_found"));

        let admin = app.login("admin").await;
        let r = admin.post_json("/api/v1/org/nodes/XN-CD-GA-001/rating-code/reissue", &json!({})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let new: Value = r.json().await.unwrap();
        let page = c.get(&format!("/r/{good}")).await;
        assert_eq!(page.status(), StatusCode::GONE);
        assert!(page.text().await.unwrap().contains("这个评价码已停用"));
        let r = rate(&c, json!({"code": good, "satisfied": true})).await;
        assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::GONE, "revoked"));
        let r = rate(&c, json!({"code": new["token"], "satisfied": true})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    async fn rotating_the_key_keeps_printed_codes_working(app) {
        let c = app.anonymous();
        let old = code_of(&app, "XN-CD-GA-002").await;
        let admin = app.login("admin").await;
        let v = admin.post_json("/api/v1/signing-keys/rotate", &json!({})).await.json::<Value>().await.unwrap();
        assert_eq!(v["key"], 2);
        assert_eq!(rate(&c, json!({"code": old, "satisfied": true})).await.status(), StatusCode::CREATED);
        let new = admin.post_json("/api/v1/org/nodes/XN-CD-GA-002/rating-code/reissue", &json!({})).await.json::<Value>().await.unwrap();
        assert_ne!(new["token"].as_str().unwrap()[..3], old[..3], "the new code names key 2");
        assert_eq!(rate(&c, json!({"code": new["token"], "satisfied": false, "reasons": ["not_done"]})).await.status(), StatusCode::CREATED);
    }

    async fn every_field_is_validated_and_named(app) {
        let c = app.anonymous();
        let code = code_of(&app, "XN-CD-GA-001-W1").await;
        let cases = [
            (json!({"code": code}), "satisfied"),
            (json!({"code": code, "level": 7}), "level"),
            (json!({"code": code, "satisfied": false}), "reasons"),
            (json!({"code": code, "satisfied": false, "reasons": ["bribery"]}), "reasons"),
            (json!({"code": code, "satisfied": true, "comment": "长".repeat(501)}), "comment"),
            (json!({"code": code, "satisfied": true, "phone": "110"}), "phone"),
            (json!({"code": code, "satisfied": true, "phone": "13812345678", "consent": false}), "consent"),
        ];
        for (body, field) in cases {
            let r = rate(&c, body.clone()).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["fields"][0]["field"], field, "{body} → {v}");
        }
        let r = c.post_body("/api/v1/ratings", "application/json", b"{\"code\": ".to_vec()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // The form keeps what was typed when it comes back with errors.
        let page = c.http.post(app.url(&format!("/r/{code}"))).form(&[("satisfied", "no"), ("comment", "等了两个小时")]).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = page.text().await.unwrap();
        assert!(html.contains("不满意时请至少选择一项原因") && html.contains("等了两个小时"));
        assert_eq!(counts(&app.login("supervisor").await, "XN-CD-GA-001").await["total"], 0, "nothing was stored");
    }

    async fn two_level_and_five_level_regions_rate_on_their_own_scale(app) {
        let c = app.anonymous();
        let two = code_of(&app, "XN-CD-GA-001").await;
        let five = code_of(&app, "XN-CX-GA-001").await;
        assert!(c.get(&format!("/r/{two}")).await.text().await.unwrap().contains("name=\"satisfied\""));
        let page = c.get(&format!("/r/{five}")).await.text().await.unwrap();
        assert!(page.contains("非常满意") && page.contains("多次跑腿"), "five levels and the region's own reasons");

        let v: Value = rate(&c, json!({"code": five, "level": 3})).await.json().await.unwrap();
        assert_eq!((v["outcome"].as_str(), v["scale"].as_str()), (Some("neutral"), Some("five")));
        let v: Value = rate(&c, json!({"code": five, "level": 2, "reasons": ["many_trips"]})).await.json().await.unwrap();
        assert_eq!(v["outcome"], "unsatisfied");
        assert_eq!(rate(&c, json!({"code": five, "satisfied": true})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rate(&c, json!({"code": two, "level": 3})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rate(&c, json!({"code": two, "level": 5})).await.status(), StatusCode::CREATED);
        assert_eq!(rate(&c, json!({"code": two, "reasons": ["many_trips"], "satisfied": false})).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "that reason is 城西区's own");

        let s = app.login("supervisor").await;
        let cx = counts(&s, "XN-CX").await;
        assert_eq!((cx["total"].as_i64(), cx["neutral"].as_i64(), cx["unsatisfied"].as_i64()), (Some(2), Some(1), Some(1)));
        // The ratings page and the export name the level and the region's own reason.
        let page = s.get("/ratings?under=XN-CX").await.text().await.unwrap();
        assert!(page.contains("<td>不满意</td>") && page.contains("<td>多次跑腿</td>") && page.contains("<td>一般</td>"), "{page}");
        let csv = s.get("/api/v1/ratings/export?under=XN-CX").await.text().await.unwrap();
        assert!(csv.contains(",five,2,不满意,多次跑腿,"), "{csv}");
    }

    async fn an_invitation_works_once(app) {
        let staff = app.login("staff").await;
        let body = json!({"org_code": "XN-CD-GA-001-W1", "staff_no": null, "transaction_ref": "BJ-2026-000123"});
        let r = staff.post_json("/api/v1/invitations", &body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let inv: Value = r.json().await.unwrap();
        let again = staff.post_json("/api/v1/invitations", &body).await;
        assert_eq!(again.status(), StatusCode::OK, "the same transaction gets the same invitation");
        assert_eq!(again.json::<Value>().await.unwrap()["token"], inv["token"]);
        let elsewhere = staff.post_json("/api/v1/invitations", &json!({"org_code": "XN-CD-GA-002", "transaction_ref": "x"})).await;
        assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);

        let c = app.anonymous();
        let token = inv["token"].as_str().unwrap();
        assert!(inv["url"].as_str().unwrap().ends_with(&format!("/r/{token}")));
        assert_eq!(c.get(&format!("/r/{token}")).await.status(), StatusCode::OK);
        let first = c.http.post(app.url(&format!("/r/{token}"))).form(&[("satisfied", "yes")]).send().await.unwrap();
        assert_eq!(first.status(), StatusCode::SEE_OTHER);
        let second = rate(&c, json!({"code": token, "satisfied": false, "reasons": ["not_done"]})).await;
        assert_eq!((second.status(), error_code(second).await.as_str()), (StatusCode::GONE, "invitation_used"));
        assert_eq!(c.get(&format!("/r/{token}")).await.status(), StatusCode::GONE);
        let rows = app.login("supervisor").await.get_json("/api/v1/ratings?under=XN-CD-GA-001", StatusCode::OK).await;
        assert_eq!(rows.as_array().unwrap().len(), 1);
        assert_eq!(rows[0]["source"], "invitation");
    }

    async fn an_unrated_invitation_records_the_default_level_marked_as_defaulted(app) {
        let staff = app.login("supervisor").await;
        let r = staff.post_json("/api/v1/invitations", &json!({"org_code": "XN-CX-GA-001", "transaction_ref": "CX-1"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let inv: Value = r.json().await.unwrap();
        // 城西区 records level 4 after 7 days.
        let six_days = pingyi::store::now_ms() + 6 * 86_400_000;
        assert_eq!(pingyi::store::invitations::record_defaults(&app.store, &app.ratings.calendar, six_days).await.unwrap(), 0);
        let eight_days = pingyi::store::now_ms() + 8 * 86_400_000;
        assert_eq!(pingyi::store::invitations::record_defaults(&app.store, &app.ratings.calendar, eight_days).await.unwrap(), 1);
        assert_eq!(pingyi::store::invitations::record_defaults(&app.store, &app.ratings.calendar, eight_days).await.unwrap(), 0, "once only");
        let c = counts(&staff, "XN-CX-GA-001").await;
        assert_eq!((c["total"].as_i64(), c["satisfied"].as_i64(), c["defaulted"].as_i64()), (Some(1), Some(1), Some(1)));
        let r = rate(&app.anonymous(), json!({"code": inv["token"], "level": 1, "reasons": ["not_done"]})).await;
        assert_eq!(r.status(), StatusCode::GONE, "a defaulted invitation cannot be rated afterwards");
    }

    async fn a_flagged_rating_is_still_stored_and_low_ratings_are_never_blocked(app) {
        let c = app.anonymous();
        let code = code_of(&app, "XN-CD-GA-001").await;
        let mut flags = Vec::new();
        for _ in 0..3 {
            let v: Value = rate(&c, json!({"code": code, "satisfied": false, "reasons": ["unfriendly"]})).await.json().await.unwrap();
            assert!(v["id"].is_string(), "stored: {v}");
            flags.push(v["flags"].clone());
        }
        assert_eq!(flags[0], json!([]));
        assert_eq!(flags[1], json!(["repeat_device"]));
        let s = app.login("supervisor").await;
        let c = counts(&s, "XN-CD-GA-001").await;
        assert_eq!((c["total"].as_i64(), c["unsatisfied"].as_i64(), c["flagged"].as_i64()), (Some(3), Some(3), Some(2)));
    }

    async fn an_upheld_appeal_keeps_the_rating_but_takes_it_out_of_statistics(app) {
        let c = app.anonymous();
        let code = code_of(&app, "XN-CD-GA-001").await;
        let bad: Value = rate(&c, json!({"code": code, "satisfied": false, "reasons": ["harsh_words"]})).await.json().await.unwrap();
        let id = bad["id"].as_str().unwrap();
        let head = app.login("unithead").await;
        assert_eq!(counts(&head, "XN-CD-GA-001").await["total"], 1);
        assert_eq!(alert_window(&app, "XN-CD-GA-001", (1, 1)).await, (1, 1), "the live alerts count it");
        let r = head.post_json(&format!("/api/v1/ratings/{id}/appeal"), &json!({"reason": "评价人当天未到本所办事"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let appeal: Value = r.json().await.unwrap();
        assert_eq!(head.post_json(&format!("/api/v1/ratings/{id}/appeal"), &json!({"reason": "again"})).await.status(), StatusCode::CONFLICT);
        let decision = json!({"upheld": true, "note": "监控核实当天无此人办事"});
        assert_eq!(head.post_json(&format!("/api/v1/appeals/{}/decision", appeal["id"].as_str().unwrap()), &decision).await.status(), StatusCode::FORBIDDEN, "unit heads do not decide");
        let sup = app.login("supervisor").await;
        let r = sup.post_json(&format!("/api/v1/appeals/{}/decision", appeal["id"].as_str().unwrap()), &decision).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["state"], "upheld");
        assert_eq!(sup.post_json(&format!("/api/v1/appeals/{}/decision", appeal["id"].as_str().unwrap()), &decision).await.status(), StatusCode::CONFLICT);

        let after = counts(&sup, "XN-CD-GA-001").await;
        assert_eq!((after["total"].as_i64(), after["excluded"].as_i64()), (Some(0), Some(1)));
        assert_eq!(alert_window(&app, "XN-CD-GA-001", (0, 0)).await, (0, 0), "out of the live alerts too");
        let kept = sup.get_json(&format!("/api/v1/ratings/{id}"), StatusCode::OK).await;
        assert_eq!((kept["outcome"].as_str(), kept["excluded"].as_bool(), kept["appeal"].as_str()), (Some("unsatisfied"), Some(true), Some("upheld")));
        let reasons = kept["reasons"].clone();
        assert_eq!(reasons, json!(["harsh_words"]), "the rating itself is unchanged");
    }

    async fn phones_are_encrypted_and_masked_for_the_rated_unit(app) {
        let c = app.anonymous();
        let code = code_of(&app, "XN-CD-GA-001").await;
        let v: Value = rate(&c, json!({"code": code, "satisfied": false, "reasons": ["not_done"], "phone": "138 1234 5678"})).await.json().await.unwrap();
        let id = v["id"].as_str().unwrap();
        let stored: String = sqlx::query_scalar("select phone_enc from ratings where id = $1").bind(id).fetch_one(app.store.pool()).await.unwrap();
        assert!(!stored.contains("5678"), "encrypted at rest");
        let head = app.login("unithead").await.get_json(&format!("/api/v1/ratings/{id}"), StatusCode::OK).await;
        assert_eq!(head["phone"], "138****5678");
        assert!(head.get("device_hash").is_none() && head.get("address_hash").is_none(), "who rated is never shown");
        let sup = app.login("supervisor").await.get_json(&format!("/api/v1/ratings/{id}"), StatusCode::OK).await;
        assert_eq!(sup["phone"], "13812345678", "the role that calls back sees the number");
        let other = app.login("inspector02").await;
        assert_eq!(other.get(&format!("/api/v1/ratings/{id}")).await.status(), StatusCode::FORBIDDEN);
    }

    async fn a_burst_of_unsatisfied_ratings_raises_one_alert(app) {
        let code = code_of(&app, "XN-CD-GA-001").await;
        for i in 0..6 {
            // Different devices, so nothing is flagged.
            let c = app.anonymous();
            let body = if i % 3 == 0 { json!({"code": code, "satisfied": true}) } else { json!({"code": code, "satisfied": false, "reasons": ["not_done"]}) };
            let r = c.http.post(app.url("/api/v1/ratings")).header("user-agent", format!("phone-{i}")).json(&body).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }
        // Alerts are evaluated after each commit, off the request path; wait for them.
        let head = app.login("unithead").await;
        let alerts = alerts_once(&head, |a| !a.as_array().unwrap().is_empty()).await;
        assert_eq!(alerts.as_array().unwrap().len(), 1, "one episode: {alerts}");
        assert!(alerts[0]["closed_at"].is_null());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(head.get_json("/api/v1/alerts", StatusCode::OK).await.as_array().unwrap().len(), 1, "not raised again");
        let inbox = head.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert_eq!(inbox.as_array().unwrap().iter().filter(|m| m["kind"] == "alert").count(), 1);
        let sup_inbox = app.login("supervisor").await.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert_eq!(sup_inbox.as_array().unwrap().len(), 1);
        // The message links to the alerts page, which shows the open episode.
        let alert = inbox.as_array().unwrap().iter().find(|m| m["kind"] == "alert").unwrap();
        assert!(alert["link"].as_str().unwrap().starts_with("/alerts#"));
        let page = head.get("/alerts").await.text().await.unwrap();
        assert!(page.contains("城东区八一路派出所：差评预警"), "the page lists the message");
        assert!(page.contains("href=\"/org/XN-CD-GA-001\""), "and the open alert");
        // Twenty minutes later the window has passed: the writer's minute tick closes the episode.
        let later = pingyi::store::now_ms() + 20 * 60_000;
        app.ratings.writer.tick_alerts(later);
        let closed = alerts_once(&head, |a| a[0]["closed_at"].is_i64()).await;
        assert!(closed[0]["closed_at"].is_i64(), "{closed}");
    }

    async fn a_unit_head_appeals_on_the_rating_page_and_a_supervisor_decides_there(app) {
        let c = app.anonymous();
        let code = code_of(&app, "XN-CD-GA-001").await;
        let body = json!({"code": code, "satisfied": false, "reasons": ["unfriendly"], "comment": "窗口人员态度冷淡", "phone": "13812345678"});
        let v: Value = rate(&c, body).await.json().await.unwrap();
        let id = v["id"].as_str().unwrap();

        // The unit head finds it on the ratings page, phone masked, and opens it.
        let head = app.login("unithead").await;
        let list = head.get("/ratings?outcome=unsatisfied").await;
        assert_eq!(list.status(), StatusCode::OK);
        let list = list.text().await.unwrap();
        assert!(list.contains(&format!("href=\"/ratings/{id}\"")) && list.contains("脸难看") && list.contains("窗口人员态度冷淡"), "{list}");
        let page = head.get(&format!("/ratings/{id}")).await.text().await.unwrap();
        assert!(page.contains("138****5678") && !page.contains("13812345678"), "masked for the unit head");
        assert!(page.contains(&format!("action=\"/ratings/{id}/appeal\"")), "the appeal form");

        // An appeal without a reason comes back with the error; nothing is filed.
        let r = head.post_form(&format!("/ratings/{id}/appeal"), &[("reason", "  ")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("reason:"));
        let sup = app.login("supervisor").await;
        assert_eq!(sup.get_json("/api/v1/appeals?state=pending", StatusCode::OK).await, json!([]));
        // Without the form's CSRF token: refused.
        let forged = head.http.post(app.url(&format!("/ratings/{id}/appeal"))).header("content-type", "application/x-www-form-urlencoded").body("reason=x").send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);

        let r = head.post_form(&format!("/ratings/{id}/appeal"), &[("reason", "评价人当天未到本所办事")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], format!("/ratings/{id}"));
        let page = head.get(&format!("/ratings/{id}")).await.text().await.unwrap();
        assert!(page.contains("待审核") && page.contains("评价人当天未到本所办事") && !page.contains("/appeal\""), "filed once, no second form");
        let again = head.post_form(&format!("/ratings/{id}/appeal"), &[("reason", "再次申诉")]).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);

        // Staff may not appeal; an inspector of another district may not even look.
        let staff = app.login("staff").await;
        assert_eq!(staff.post_form(&format!("/ratings/{id}/appeal"), &[("reason", "x")]).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.login("inspector02").await.get(&format!("/ratings/{id}")).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.login("enterprise").await.get("/ratings").await.status(), StatusCode::FORBIDDEN);

        // The supervisor sees it waiting, with the full phone, and decides on the rating's page.
        let appeals = sup.get("/appeals").await.text().await.unwrap();
        assert!(appeals.contains(&format!("href=\"/ratings/{id}\"")) && appeals.contains("评价人当天未到本所办事"));
        let page = sup.get(&format!("/ratings/{id}")).await.text().await.unwrap();
        assert!(page.contains("13812345678"), "the role that calls back sees the number");
        let appeal_id = sup.get_json("/api/v1/appeals?state=pending", StatusCode::OK).await[0]["id"].as_str().unwrap().to_owned();
        assert!(page.contains(&format!("action=\"/appeals/{appeal_id}/decision\"")));
        assert_eq!(head.post_form(&format!("/appeals/{appeal_id}/decision"), &[("upheld", "yes"), ("note", "x")]).await.status(), StatusCode::FORBIDDEN, "unit heads do not decide");
        let r = sup.post_form(&format!("/appeals/{appeal_id}/decision"), &[("note", "监控核实")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "uphold or reject must be chosen");
        assert!(r.text().await.unwrap().contains("请选择申诉成立或驳回"));
        let r = sup.post_form(&format!("/appeals/{appeal_id}/decision"), &[("upheld", "yes"), ("note", "监控核实当天无此人办事")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = sup.get(&format!("/ratings/{id}")).await.text().await.unwrap();
        assert!(page.contains("申诉成立，不计入统计") && page.contains("监控核实当天无此人办事") && !page.contains("/decision\""), "{page}");
        let after = counts(&sup, "XN-CD-GA-001").await;
        assert_eq!((after["total"].as_i64(), after["excluded"].as_i64()), (Some(0), Some(1)));
        assert!(sup.get("/appeals").await.text().await.unwrap().contains("没有申诉"), "nothing left pending");
        assert!(sup.get("/appeals?state=upheld").await.text().await.unwrap().contains(&format!("href=\"/ratings/{id}\"")));
    }

    async fn ratings_export_as_csv_and_xlsx_with_the_phone_masked_by_role(app) {
        let code = code_of(&app, "XN-CD-GA-001").await;
        // One with a comment that needs quoting and a phone, then three from devices of their own.
        let body = json!({"code": code, "satisfied": false, "reasons": ["unfriendly", "not_done"], "comment": "等了, \"很久\"", "phone": "13812345678"});
        assert_eq!(rate(&app.anonymous(), body).await.status(), StatusCode::CREATED);
        for (i, satisfied) in [true, false, false].into_iter().enumerate() {
            rate_from_device(&app.url(""), &code, &format!("export-{i}"), satisfied).await;
        }
        let sup = app.login("supervisor").await;
        let r = sup.get("/api/v1/ratings/export?under=XN-CD-GA-001").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"ratings-XN-CD-GA-001-"));
        let text = r.text().await.unwrap();
        let rows: Vec<Vec<String>> = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes()).records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
        assert_eq!(rows[0][..4], ["时间", "编码", "被评价对象", "单位编码"]);
        assert_eq!(rows.len(), 1 + 4, "every rating of the period: {rows:?}");
        let full = rows.iter().find(|r| r[9] == "等了, \"很久\"").expect("the commented rating");
        assert_eq!((full[7].as_str(), full[8].as_str(), full[10].as_str()), ("不满意", "脸难看、事难办", "13812345678"));
        assert!(rows.windows(2).skip(1).all(|w| w[0][0] <= w[1][0]), "oldest first");

        // A unit head gets the same rows with the phone masked; the XLSX holds what the CSV does.
        let head = app.login("unithead").await;
        let masked = head.get("/api/v1/ratings/export?under=XN-CD-GA-001&outcome=unsatisfied").await.text().await.unwrap();
        assert!(masked.contains("138****5678") && !masked.contains("13812345678"));
        assert_eq!(masked.lines().count(), 1 + 3, "three unsatisfied");
        let xlsx = head.get("/api/v1/ratings/export?under=XN-CD-GA-001&outcome=unsatisfied&format=xlsx").await;
        assert_eq!(xlsx.status(), StatusCode::OK);
        let bytes = xlsx.bytes().await.unwrap();
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let sheet = book.worksheet_range("ratings").unwrap();
        let from_xlsx: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        let from_csv: Vec<Vec<String>> = csv::ReaderBuilder::new().has_headers(false).from_reader(masked.as_bytes()).records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
        assert_eq!(from_xlsx, from_csv);

        // Bad filters are named; an enterprise user may not export; a period before any rating is empty.
        for (query, field) in [("format=pdf", "format"), ("from=2026-13-01", "from"), ("from=2026-02-01&to=2026-01-01", "from"), ("outcome=angry", "outcome")] {
            let r = sup.get(&format!("/api/v1/ratings/export?under=XN-CD-GA-001&{query}")).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["fields"][0]["field"], field, "{query}: {v}");
        }
        assert_eq!(app.login("enterprise").await.get("/api/v1/ratings/export").await.status(), StatusCode::FORBIDDEN);
        let old = sup.get("/api/v1/ratings/export?under=XN-CD-GA-001&from=2020-01-01&to=2020-01-31").await.text().await.unwrap();
        assert_eq!(old.lines().count(), 1, "only the header");

        // The ratings page offers the export for its subtree and outcome.
        let page = head.get("/ratings?outcome=unsatisfied").await.text().await.unwrap();
        assert!(page.contains("action=\"/api/v1/ratings/export\"") && page.contains("name=\"outcome\" value=\"unsatisfied\""));
    }

    async fn ratings_received_by_two_server_processes_count_together_for_one_alert(app) {
        // Two `pingyi serve` processes over one database, as behind a load balancer.
        let other = app.another_server().await;
        let (here, there) = (app.url(""), format!("http://{}", other.addr));
        let code = code_of(&app, "XN-CD-GA-001").await;
        // Three ratings here, two unsatisfied: too few for the rule (4) on their own.
        for (i, satisfied) in [false, true, false].into_iter().enumerate() {
            rate_from_device(&here, &code, &format!("phone-here-{i}"), satisfied).await;
        }
        assert_eq!(alert_window(&app, "XN-CD-GA-001", (3, 2)).await, (3, 2));
        let head = app.login("unithead").await;
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(head.get_json("/api/v1/alerts", StatusCode::OK).await, json!([]), "three ratings raise nothing");
        // Two more at the other process, one unsatisfied: 3 of 5, the rule holds across both.
        for (i, satisfied) in [false, true].into_iter().enumerate() {
            rate_from_device(&there, &code, &format!("phone-there-{i}"), satisfied).await;
        }
        let alerts = alerts_once(&head, |a| !a.as_array().unwrap().is_empty()).await;
        assert_eq!(alerts.as_array().unwrap().len(), 1, "one episode: {alerts}");
        assert_eq!((alerts[0]["total"].as_i64(), alerts[0]["unsatisfied"].as_i64()), (Some(5), Some(3)), "{alerts}");
        // Both processes evaluated the unit after the last ratings; one episode, one message.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(head.get_json("/api/v1/alerts", StatusCode::OK).await.as_array().unwrap().len(), 1);
        let inbox = head.get_json("/api/v1/inbox", StatusCode::OK).await;
        assert_eq!(inbox.as_array().unwrap().iter().filter(|m| m["kind"] == "alert").count(), 1, "{inbox}");
        // The other process closes the episode this one opened (or the reverse) once the window has passed.
        other.ratings.writer.tick_alerts(pingyi::store::now_ms() + 20 * 60_000);
        let closed = alerts_once(&head, |a| a[0]["closed_at"].is_i64()).await;
        assert!(closed[0]["closed_at"].is_i64(), "{closed}");
        // The same tick deleted the buckets that have left the window.
        let mut left = -1;
        for _ in 0..50 {
            left = sqlx::query_scalar("select cast(count(*) as bigint) from alert_tallies").fetch_one(app.store.pool()).await.unwrap();
            if left == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(left, 0);
    }

    async fn concurrent_ratings_are_all_committed_with_an_unbroken_audit_chain(app) {
        let code = code_of(&app, "XN-CD-GA-001").await;
        let mut tasks = Vec::new();
        for t in 0..16 {
            let c = app.anonymous();
            let code = code.clone();
            let url = app.url("/api/v1/ratings");
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..25 {
                    let body = json!({"code": code, "satisfied": (t + i) % 4 != 0, "reasons": ["not_done"]});
                    let r = c.http.post(&url).json(&body).send().await.unwrap();
                    assert_eq!(r.status(), StatusCode::CREATED);
                    ids.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
                }
                ids
            }));
        }
        let mut ids = Vec::new();
        for t in tasks {
            ids.extend(t.await.unwrap());
        }
        assert_eq!(ids.len(), 400);
        let stored: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from ratings").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(stored, 400);
        let audited: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from audit_log where action = 'rating.submit'").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(audited, 400);
        assert!(matches!(pingyi::store::audit::verify(&app.store).await.unwrap(), pingyi::store::audit::Verdict::Intact(_)));
    }

    async fn qr_images_and_posters_are_served_for_genuine_codes_only(app) {
        let code = code_of(&app, "XN-CD-GA-001").await;
        let c = app.anonymous();
        let svg = c.get(&format!("/qr/{code}.svg")).await;
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        assert!(svg.text().await.unwrap().starts_with("<svg"));
        let png = c.get(&format!("/qr/{code}.png")).await.bytes().await.unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(c.get("/qr/AAAAAAAAAAAAAAAAAAAAAAAA.svg").await.status(), StatusCode::NOT_FOUND);
        let admin = app.login("admin").await;
        let html = admin.get("/admin/posters?under=XN-CD-GA-001&paper=a4").await.text().await.unwrap();
        assert!(html.contains("size: A4") && html.contains(&format!("/r/{code}")) && html.contains("请扫码评价我们的服务"));
        let zip = admin.get("/admin/posters?under=XN-CD-GA&format=zip").await.bytes().await.unwrap();
        assert_eq!(&zip[..2], b"PK");
        assert_eq!(app.login("unithead").await.get("/admin/posters").await.status(), StatusCode::FORBIDDEN);
    }

    async fn rating_settings_are_validated_and_inherited(app) {
        let admin = app.login("admin").await;
        let bad = json!({"scale": "five", "extra_reasons": [{"code": "Bad Code", "zh": "", "en": "x"}], "default_level": 9, "default_after_days": null});
        let r = admin.http.put(app.url("/api/v1/org/nodes/XN-HY/rating-settings")).header("x-csrf-token", admin.csrf.clone().unwrap()).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let good = json!({"scale": "five", "extra_reasons": [], "default_level": null, "default_after_days": null});
        let r = admin.http.put(app.url("/api/v1/org/nodes/XN-HY/rating-settings")).header("x-csrf-token", admin.csrf.clone().unwrap()).json(&good).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let inherited = admin.get_json("/api/v1/org/nodes/XN-HY-GA-001-W1/rating-settings", StatusCode::OK).await;
        assert_eq!(inherited["scale"], "five");
        let code = code_of(&app, "XN-HY-GA-001-W1").await;
        assert!(app.anonymous().get(&format!("/r/{code}")).await.text().await.unwrap().contains("非常不满意"));
    }
}

crate::on_both_engines! {
    async fn a_staff_members_personal_code_rates_them_by_name(app) {
        let admin = app.login("admin").await;
        let staff_no: String = sqlx::query_scalar("select staff_no from staff where org_code = 'XN-CD-GA-001-W1' order by staff_no limit 1")
            .fetch_one(app.store.pool()).await.unwrap();
        let name: String = sqlx::query_scalar("select name from staff where staff_no = $1").bind(&staff_no).fetch_one(app.store.pool()).await.unwrap();
        let r = admin.post_json(&format!("/api/v1/staff/{staff_no}/rating-code"), &json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let code: Value = r.json().await.unwrap();
        let again: Value = admin.post_json(&format!("/api/v1/staff/{staff_no}/rating-code"), &json!({})).await.json().await.unwrap();
        assert_eq!(again["token"], code["token"], "one live personal code");
        let token = code["token"].as_str().unwrap();
        let page = app.anonymous().get(&format!("/r/{token}")).await.text().await.unwrap();
        assert!(page.contains(&name), "the page names who served");
        let v: Value = rate(&app.anonymous(), json!({"code": token, "satisfied": true})).await.json().await.unwrap();
        let stored = app.login("supervisor").await.get_json(&format!("/api/v1/ratings/{}", v["id"].as_str().unwrap()), StatusCode::OK).await;
        assert_eq!(stored["staff_no"], staff_no.as_str());
        assert_eq!(admin.post_json("/api/v1/staff/NOBODY/rating-code", &json!({})).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.login("inspector02").await.post_json(&format!("/api/v1/staff/{staff_no}/rating-code"), &json!({})).await.status(), StatusCode::FORBIDDEN);
    }
}

/// An export larger than `max_export_ratings` is refused with the reason, never cut short.
async fn an_export_over_the_limit_is_refused(engine: crate::helpers::Engine) {
    let app = crate::helpers::spawn_app_with(engine, |c| c.max_export_ratings = 2).await;
    let code = code_of(&app, "XN-CD-GA-001").await;
    for i in 0..3 {
        rate_from_device(&app.url(""), &code, &format!("limit-{i}"), true).await;
    }
    let sup = app.login("supervisor").await;
    let r = sup.get("/api/v1/ratings/export?under=XN-CD-GA-001").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["fields"][0]["message"].as_str().unwrap().contains("more than 2 ratings"), "{v}");
    let two = sup.get("/api/v1/ratings/export?under=XN-CD-GA-001&outcome=satisfied&from=2020-01-01").await;
    assert_eq!(two.status(), StatusCode::UNPROCESSABLE_ENTITY, "three satisfied: still over");
}

mod export_limit {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::an_export_over_the_limit_is_refused(crate::helpers::Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
    async fn postgres() {
        super::an_export_over_the_limit_is_refused(crate::helpers::Engine::Postgres).await;
    }
}
