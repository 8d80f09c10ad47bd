//! Dashboards, rankings and the public page: each rate against its definition on a hand-made
//! data set, rankings' ties and minimum sample, rollups against a full recomputation after a
//! random mix of ratings and appeals, scope, exports.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cases::{PNG, ok, run_jobs, upload};
use crate::helpers::TestApp;
use crate::ratings::{code_of, rate};

async fn rated(app: &TestApp, code: &str, satisfied: bool) -> String {
    let body = if satisfied {
        json!({"code": code, "satisfied": true})
    } else {
        json!({"code": code, "satisfied": false, "reasons": ["not_done", "harsh_words"]})
    };
    let v: Value = rate(&app.anonymous(), body).await.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

async fn units_under(app: &TestApp, root: &str, n: i64) -> Vec<String> {
    sqlx::query_scalar("select n.code from org_nodes n join org_closure a on a.descendant = n.code where a.ancestor = $1 and n.kind = 'unit' order by n.code limit $2")
        .bind(root)
        .bind(n)
        .fetch_all(app.store.pool())
        .await
        .unwrap()
}

fn rate_of(d: &Value, key: &str) -> (i64, i64) {
    let r = d["rates"].as_array().unwrap().iter().find(|r| r["key"] == key).unwrap();
    (r["numerator"].as_i64().unwrap(), r["denominator"].as_i64().unwrap())
}

/// A tiny deterministic generator for the randomised check.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

crate::on_both_engines! {
    async fn each_rate_matches_its_definition_on_a_hand_made_data_set(app) {
        let u1 = "XN-CD-GA-001";
        let u2 = units_under(&app, "XN-CZ", 1).await.remove(0);
        let (c1, c2) = (code_of(&app, u1).await, code_of(&app, &u2).await);
        for _ in 0..3 { rated(&app, &c1, true).await; }
        let excluded = rated(&app, &c1, false).await;
        rated(&app, &c1, false).await;
        rated(&app, &c2, true).await;
        rated(&app, &c2, false).await;
        // Two invitations, one used.
        let staff = app.login("staff").await;
        let mut tokens = Vec::new();
        for t in ["T-1", "T-2"] {
            let v: Value = staff.post_json("/api/v1/invitations", &json!({"org_code": "XN-CD-GA-001-W1", "transaction_ref": t})).await.json().await.unwrap();
            tokens.push(v["token"].as_str().unwrap().to_owned());
        }
        assert_eq!(rate(&app.anonymous(), json!({"code": tokens[0], "satisfied": true})).await.status(), StatusCode::CREATED);
        // An upheld appeal takes one unsatisfied rating out.
        let head = app.login("unithead").await;
        let appeal: Value = head.post_json(&format!("/api/v1/ratings/{excluded}/appeal"), &json!({"reason": "非本所业务"})).await.json().await.unwrap();
        let sup = app.login("supervisor").await;
        let r = sup.post_json(&format!("/api/v1/appeals/{}/decision", appeal["id"].as_str().unwrap()), &json!({"upheld": true, "note": "属实"})).await;
        assert_eq!(r.status(), StatusCode::OK);
        // Cases: three open (one per unsatisfied rating); one goes to an accepted report, one is
        // only signed for.
        run_jobs(&app).await;
        let cases = sup.get_json("/api/v1/cases?under=XN-CD-GA-001", StatusCode::OK).await;
        let ids: Vec<String> = cases["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 2);
        ok(&head, &ids[0], json!({"action": "acknowledge"})).await;
        ok(&head, &ids[1], json!({"action": "acknowledge"})).await;
        ok(&sup, &ids[0], json!({"action": "return_visit", "reached": true, "note": "n"})).await;
        ok(&sup, &ids[0], json!({"action": "verify", "verdict": "substantiated", "note": "n"})).await;
        ok(&sup, &ids[0], json!({"action": "order", "requirements": "r", "deadline_days": 3, "note": "n"})).await;
        let file: Value = upload(&head, &ids[0], PNG, "image/png").await.json().await.unwrap();
        ok(&head, &ids[0], json!({"action": "report", "note": "done", "attachments": [file["id"]]})).await;
        ok(&sup, &ids[0], json!({"action": "accept"})).await;

        let d = sup.get_json("/api/v1/dashboard?under=XN", StatusCode::OK).await;
        let t = &d["totals"];
        assert_eq!((t["ratings"].as_i64(), t["satisfied"].as_i64(), t["unsatisfied"].as_i64(), t["excluded"].as_i64()), (Some(7), Some(5), Some(2), Some(1)));
        assert_eq!(rate_of(&d, "satisfaction"), (5, 7));
        assert_eq!(rate_of(&d, "participation"), (1, 2));
        assert_eq!(rate_of(&d, "response"), (2, 3));
        assert_eq!(rate_of(&d, "return_visit"), (1, 3));
        assert_eq!(rate_of(&d, "resolution"), (0, 3));
        assert_eq!(rate_of(&d, "rectification"), (1, 1));
        assert_eq!(rate_of(&d, "on_time"), (1, 1));
        assert_eq!(rate_of(&d, "send_back"), (0, 3));
        let satisfaction = d["rates"][0]["value"].as_f64().unwrap();
        assert!((satisfaction - 5.0 / 7.0).abs() < 1e-9);
        assert!(d["rates"][0]["formula"].as_str().unwrap().contains("÷"));
        let funnel: Vec<i64> = d["funnel"].as_array().unwrap().iter().map(|s| s["n"].as_i64().unwrap()).collect();
        assert_eq!(funnel, vec![2, 3, 1, 1, 0]);
        let heat: i64 = d["heatmap"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap())).sum();
        assert_eq!(heat, 2, "the heatmap counts the unsatisfied ratings still in the statistics");
        assert_eq!(d["reasons"], json!([["harsh_words", 2], ["not_done", 2]]));
        // By child: the rollups agree with a plain GROUP BY over the raw rows.
        let members: Vec<(String, i64, i64, i64)> = d["members"].as_array().unwrap().iter()
            .filter(|m| m["counts"]["ratings"].as_i64().unwrap() > 0)
            .map(|m| (m["code"].as_str().unwrap().to_owned(), m["counts"]["ratings"].as_i64().unwrap(), m["counts"]["satisfied"].as_i64().unwrap(), m["counts"]["unsatisfied"].as_i64().unwrap()))
            .collect();
        let today = pingyi::store::rollups::day_of(pingyi::store::now_ms());
        let raw = pingyi::store::dashboard::raw_children(&app.store, "XN", today - 29, today + 1).await.unwrap();
        assert_eq!(members, raw);
        assert_eq!(members.len(), 2);
        // Drilling down to a window lists its staff; the unit head sees only their own subtree.
        let w = head.get_json("/api/v1/dashboard?under=XN-CD-GA-001", StatusCode::OK).await;
        assert_eq!(w["totals"]["ratings"], 5);
        assert_eq!(head.get("/api/v1/dashboard?under=XN-CD").await.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.login("enterprise").await.get("/api/v1/dashboard").await.status(), StatusCode::FORBIDDEN);
        assert_eq!(sup.get("/api/v1/dashboard?from=2026-02-30").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(sup.get("/api/v1/dashboard?trend=hourly").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let monthly = sup.get_json("/api/v1/dashboard?under=XN&trend=month", StatusCode::OK).await;
        let in_trend: i64 = monthly["trend"].as_array().unwrap().iter().map(|p| p["counts"]["ratings"].as_i64().unwrap()).sum();
        assert_eq!(in_trend, 7);
        let xlsx = sup.get("/api/v1/dashboard/export?under=XN&format=xlsx").await;
        assert_eq!(xlsx.status(), StatusCode::OK);
        assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
        let csv = sup.get("/api/v1/dashboard/export?under=XN").await.text().await.unwrap();
        assert!(csv.contains("满意率") && csv.contains("80.0%") && csv.contains("50.0%"), "{csv}");
    }

    async fn a_windows_dashboard_lists_the_ratings_of_each_of_its_staff(app) {
        let staff_of = |org: &'static str| {
            let store = app.store.clone();
            async move {
                let nos: Vec<String> = sqlx::query_scalar("select staff_no from staff where org_code = $1 order by staff_no").bind(org).fetch_all(store.pool()).await.unwrap();
                nos
            }
        };
        let here = staff_of("XN-CD-GA-001-W1").await.remove(0);
        let elsewhere: String = sqlx::query_scalar("select s.staff_no from staff s where s.org_code not in (select descendant from org_closure where ancestor = 'XN-CD-GA-001') order by s.staff_no limit 1").fetch_one(app.store.pool()).await.unwrap();
        let admin = app.login("admin").await;
        let personal = |no: String| {
            let admin = &admin;
            async move {
                let v: Value = admin.post_json(&format!("/api/v1/staff/{no}/rating-code"), &json!({})).await.json().await.unwrap();
                v["token"].as_str().unwrap().to_owned()
            }
        };
        let (mine, theirs) = (personal(here.clone()).await, personal(elsewhere).await);
        rated(&app, &mine, true).await;
        rated(&app, &mine, false).await;
        rated(&app, &theirs, false).await;
        // Rated at the window's own code: no staff member named.
        rated(&app, &code_of(&app, "XN-CD-GA-001-W1").await, true).await;
        let sup = app.login("supervisor").await;
        let d = sup.get_json("/api/v1/dashboard?under=XN-CD-GA-001-W1", StatusCode::OK).await;
        let members: Vec<(String, String, i64, i64, i64)> = d["members"].as_array().unwrap().iter()
            .map(|m| (m["code"].as_str().unwrap().to_owned(), m["kind"].as_str().unwrap().to_owned(), m["counts"]["ratings"].as_i64().unwrap(), m["counts"]["satisfied"].as_i64().unwrap(), m["counts"]["unsatisfied"].as_i64().unwrap()))
            .collect();
        assert_eq!(members, vec![(here, "staff".to_owned(), 2, 1, 1)]);
        assert_eq!(d["totals"]["ratings"], 3, "the window's own ratings, with or without a staff member");
    }

    async fn rankings_use_the_wilson_bound_share_ties_and_list_small_samples_apart(app) {
        let units = units_under(&app, "XN-CD", 4).await;
        let plan = [(5, 0), (5, 0), (4, 1), (1, 0)];
        for (unit, (good, bad)) in units.iter().zip(plan) {
            let code = code_of(&app, unit).await;
            for _ in 0..good { rated(&app, &code, true).await; }
            for _ in 0..bad { rated(&app, &code, false).await; }
        }
        let sup = app.login("supervisor").await;
        let r = sup.get_json("/api/v1/rankings?under=XN-CD&kind=unit&min_sample=3&from=2026-01-01", StatusCode::OK).await;
        let rows = r["rows"].as_array().unwrap();
        let view: Vec<(String, Option<i64>, i64)> = rows.iter().filter(|x| x["n"].as_i64().unwrap() > 0)
            .map(|x| (x["code"].as_str().unwrap().to_owned(), x["rank"].as_i64(), x["n"].as_i64().unwrap())).collect();
        assert_eq!(view, vec![
            (units[0].clone(), Some(1), 5),
            (units[1].clone(), Some(1), 5),
            (units[2].clone(), Some(3), 5),
            (units[3].clone(), None, 1),
        ]);
        assert!(rows[0]["score"].as_f64().unwrap() < 1.0, "5 of 5 is not taken as certainty");
        assert!(rows.iter().all(|x| x["previous_rank"].is_null()), "nothing rated in the previous period");
        let q = sup.get_json("/api/v1/rankings?under=XN-CD&kind=unit&period=2026Q4", StatusCode::OK).await;
        assert_eq!((q["from"].as_str(), q["to"].as_str(), q["previous_from"].as_str()), (Some("2026-10-01"), Some("2026-12-31"), Some("2026-07-01")));
        assert_eq!(sup.get("/api/v1/rankings?period=2026Q5").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(sup.get("/api/v1/rankings?measure=speed").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let csv = sup.get("/api/v1/rankings?under=XN-CD&kind=unit&min_sample=3&from=2026-01-01&format=csv").await.text().await.unwrap();
        assert!(csv.contains("评价不足"), "{csv}");
        // The public page: no login, only units with enough ratings, nothing personal.
        let public = app.anonymous().get_json("/api/v1/public", StatusCode::OK).await;
        assert_eq!(public["min_sample"], 30);
        assert!(public["units"].as_array().unwrap().is_empty(), "no unit has 30 ratings yet");
        let page = app.anonymous().get("/public").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(app.anonymous().get("/api/v1/public?format=xlsx").await.bytes().await.unwrap().starts_with(b"PK"));
        let trend = sup.get("/api/v1/dashboard/export?under=XN-CD&table=trend&trend=month").await.text().await.unwrap();
        assert!(trend.starts_with("起始日期") && trend.contains(",16,"), "{trend}");
        assert_eq!(sup.get("/api/v1/dashboard/export?table=pie").await.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // The monthly report of a region: read it, then email it (an email job with its audit row).
        let month = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).format("%Y-%m").to_string();
        let text = sup.get(&format!("/api/v1/reports/monthly?under=XN-CD&month={month}")).await.text().await.unwrap();
        assert!(text.contains("服务满意度月报") && text.contains("有效评价 16 条") && text.contains("满意率"), "{text}");
        let bad = sup.post_json("/api/v1/reports/monthly", &json!({"under": "XN-CD", "month": "2026-13", "to": "nobody"})).await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<String> = bad.json::<Value>().await.unwrap()["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect();
        assert_eq!(fields, vec!["to", "month"]);
        let r = sup.post_json("/api/v1/reports/monthly", &json!({"under": "XN-CD", "month": month, "to": "bureau@xining.example"})).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let payload: String = sqlx::query_scalar("select payload from jobs where kind = 'email'").fetch_one(app.store.pool()).await.unwrap();
        let payload: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(payload["to"], "bureau@xining.example");
        assert!(payload["body"].as_str().unwrap().contains("有效评价 16 条"));
        assert_eq!(app.login("staff").await.get(&format!("/api/v1/reports/monthly?month={month}")).await.status(), StatusCode::FORBIDDEN);
    }

    async fn the_public_page_keeps_its_figures_for_a_minute_per_quarter(app) {
        let first = app.anonymous().get_json("/api/v1/public", StatusCode::OK).await;
        assert!(first["units"].as_array().unwrap().is_empty());
        assert!(first["as_of"].as_str().unwrap().len() >= 16, "{first}");
        // Thirty ratings would put the unit on the page, but the figures are kept for a minute.
        let code = code_of(&app, "XN-CD-GA-001").await;
        for _ in 0..30 {
            rated(&app, &code, true).await;
        }
        let kept = app.anonymous().get_json("/api/v1/public", StatusCode::OK).await;
        assert_eq!(kept, first, "the same figures, computed at the same time");
        let page = app.anonymous().get("/public").await.text().await.unwrap();
        assert!(page.contains(&format!("数据更新于（每分钟更新）： {}", first["as_of"].as_str().unwrap())), "{page}");
        // Another quarter is computed for itself; a bad one is still refused.
        let other = app.anonymous().get_json("/api/v1/public?period=2026Q1", StatusCode::OK).await;
        assert_eq!((other["from"].as_str(), other["to"].as_str()), (Some("2026-01-01"), Some("2026-03-31")));
        assert_eq!(app.anonymous().get("/api/v1/public?period=2026Q9").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn rollups_equal_a_full_recomputation_after_random_ratings_and_appeals(app) {
        // The unit head's own unit is among them, so that some ratings can be appealed.
        let mut units = vec!["XN-CD-GA-001".to_owned()];
        units.extend(units_under(&app, "XN", 6).await.into_iter().filter(|u| u != "XN-CD-GA-001").take(5));
        let mut codes = Vec::new();
        for u in &units {
            codes.push(code_of(&app, u).await);
        }
        let head = app.login("unithead").await;
        let sup = app.login("supervisor").await;
        let mut rng = Rng(0x2026_1129);
        let mut appealable = Vec::new();
        for _ in 0..60 {
            match rng.below(5) {
                0 if !appealable.is_empty() => {
                    let id: String = appealable.remove(rng.below(appealable.len() as u64) as usize);
                    let a: Value = head.post_json(&format!("/api/v1/ratings/{id}/appeal"), &json!({"reason": "r"})).await.json().await.unwrap();
                    let upheld = rng.below(2) == 0;
                    let r = sup.post_json(&format!("/api/v1/appeals/{}/decision", a["id"].as_str().unwrap()), &json!({"upheld": upheld, "note": "n"})).await;
                    assert_eq!(r.status(), StatusCode::OK);
                }
                _ => {
                    let i = rng.below(codes.len() as u64) as usize;
                    let satisfied = rng.below(3) != 0;
                    let id = rated(&app, &codes[i], satisfied).await;
                    // The unit head may appeal ratings of their own unit.
                    if units[i] == "XN-CD-GA-001" {
                        appealable.push(id);
                    }
                }
            }
        }
        let (appeals, upheld): (i64, i64) = (
            sqlx::query_scalar("select cast(count(*) as bigint) from appeals").fetch_one(app.store.pool()).await.unwrap(),
            sqlx::query_scalar("select cast(count(*) as bigint) from rating_exclusions").fetch_one(app.store.pool()).await.unwrap(),
        );
        assert!(appeals > 0 && upheld > 0, "the mix had appeals ({appeals}, {upheld} upheld)");
        let incremental = pingyi::store::rollups::snapshot(&app.store).await.unwrap();
        assert!(incremental.len() > 10);
        // The read-only check (computed in memory) agrees, and changes nothing.
        let drift = pingyi::store::rollups::rebuild_ratings(&app.store, false).await.unwrap();
        assert!(drift.is_empty(), "{drift:?}");
        assert_eq!(pingyi::store::rollups::snapshot(&app.store).await.unwrap(), incremental);
        pingyi::store::rollups::recompute_ratings(&app.store).await.unwrap();
        let full = pingyi::store::rollups::snapshot(&app.store).await.unwrap();
        assert_eq!(incremental, full);
    }
}
