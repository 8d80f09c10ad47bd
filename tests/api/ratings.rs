//! Citizen ratings end to end: codes, validation, scales, invitations, abuse flags, appeals,
//! privacy, live alerts, defaults, group commit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::alerts::alert_window;
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

/// Posts an unsatisfied (or satisfied) rating of `code` from a device of its own to `base`.
pub async fn rate_from_device(base: &str, code: &str, device: &str, satisfied: bool) {
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

pub async fn counts(c: &Client, under: &str) -> Value {
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
        // Its QR image, for the window's screen: a genuine invitation draws.
        assert_eq!(inv["svg"], format!("/qr/{token}.svg"));
        let png = c.get(inv["png"].as_str().unwrap()).await;
        assert_eq!(png.headers()["content-type"], "image/png");
        assert_eq!(&png.bytes().await.unwrap()[1..4], b"PNG");
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
        assert!(matches!(pingyi::store::audit::verify(&app.store, &crate::helpers::audit_key()).await.unwrap(), pingyi::store::audit::Verdict::Intact(_)));
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
        let html = admin.get("/admin/posters?under=XN-CD-GA-001&paper=a4&format=html").await.text().await.unwrap();
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
