//! The staff side of ratings on pages and in files: the ratings and appeals pages, where a unit
//! head appeals and a supervisor decides, and the CSV/XLSX export.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::ratings::{code_of, counts, rate, rate_from_device};

crate::on_both_engines! {
    async fn a_staff_members_personal_code_is_issued_and_shown_on_the_org_page(app) {
        let no: String = sqlx::query_scalar("select staff_no from staff where org_code = 'XN-CD-GA-001-W1' order by staff_no limit 1").fetch_one(app.store.pool()).await.unwrap();
        let sup = app.login("supervisor").await;
        let page = sup.get("/org/XN-CD-GA-001-W1").await.text().await.unwrap();
        let action = format!("action=\"/org/XN-CD-GA-001-W1/staff/{no}/rating-code\"");
        assert!(page.contains(&format!("data-staff=\"{no}\"")) && page.contains(&action) && page.contains("签发个人评价码"), "{page}");
        // Without the form's CSRF token: refused, nothing issued.
        let path = format!("/org/XN-CD-GA-001-W1/staff/{no}/rating-code");
        let forged = sup.http.post(app.url(&path)).header("content-type", "application/x-www-form-urlencoded").body("").send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let issued = || async {
            let n: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from rating_codes where staff_no is not null").fetch_one(app.store.pool()).await.unwrap();
            n
        };
        assert_eq!(issued().await, 0);
        // A unit head sees the staff but has no button, and is refused.
        let head = app.login("unithead").await;
        let their = head.get("/org/XN-CD-GA-001-W1").await.text().await.unwrap();
        assert!(their.contains(&format!("data-staff=\"{no}\"")) && !their.contains(&action), "{their}");
        assert_eq!(head.post_form(&path, &[]).await.status(), StatusCode::FORBIDDEN);

        let r = sup.post_form(&path, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/org/XN-CD-GA-001-W1#staff");
        assert_eq!(issued().await, 1);
        let token = sup.post_json(&format!("/api/v1/staff/{no}/rating-code"), &json!({})).await.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
        assert_eq!(issued().await, 1, "the same code, not a second one");
        let page = sup.get("/org/XN-CD-GA-001-W1").await.text().await.unwrap();
        assert!(page.contains(&format!("href=\"/qr/{token}.svg\"")) && !page.contains(&action), "{page}");
        // The unit page above lists the window's staff with the code too.
        assert!(sup.get("/org/XN-CD-GA-001").await.text().await.unwrap().contains(&format!("href=\"/qr/{token}.png\"")));
        let png = app.anonymous().get(&format!("/qr/{token}.png")).await;
        assert_eq!(png.status(), StatusCode::OK);
    }

    async fn an_admin_sets_a_regions_scale_and_reasons_on_its_settings_page(app) {
        let admin = app.login("admin").await;
        let org = admin.get("/org/XN-HY").await.text().await.unwrap();
        assert!(org.contains("href=\"/org/XN-HY/rating-settings\""), "{org}");
        let page = admin.get("/org/XN-HY/rating-settings").await;
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        // The demo city sets the defaults at its root.
        assert!(page.contains("沿用上级") && page.contains("href=\"/org/XN/rating-settings\"") && page.contains("value=\"two\" checked") && page.contains("name=\"code_2\""), "{page}");
        let before = admin.get_json("/api/v1/org/nodes/XN-HY/rating-settings", StatusCode::OK).await;
        let audited = || async {
            let n: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from audit_log where action = 'rating_settings.set'").fetch_one(app.store.pool()).await.unwrap();
            n
        };
        let audits = audited().await;

        // Every bad field is named, by the row the page shows; what was typed comes back.
        let bad = [("scale", "three"), ("code_0", ""), ("zh_0", ""), ("en_0", ""), ("code_1", "Bad Code"), ("zh_1", ""), ("en_1", "x"), ("default_level", "4"), ("default_after_days", "abc")];
        let r = admin.post_form("/org/XN-HY/rating-settings", &bad).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        for m in ["scale: 请选择两级或五级", "原因 2 · 代码: 需要新的", "原因 2 · 中文标签: 1 到 40 个字", "default_after_days: 请填写整数"] {
            assert!(page.contains(m), "{m} in {page}");
        }
        assert!(!page.contains("class=\"error\">原因 1 ·"), "a blank row is no error");
        assert!(page.contains("value=\"Bad Code\"") && page.contains("value=\"abc\""), "{page}");
        let r = admin.post_form("/org/XN-HY/rating-settings", &[("scale", "two"), ("default_level", "3"), ("default_after_days", "7")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("default_level: 两级评价只能默认记为 1（不满意）或 5（满意）"));
        let r = admin.post_form("/org/XN-HY/rating-settings", &[("scale", "five"), ("code_0", "slow"), ("zh_0", "慢"), ("en_0", "Slow"), ("code_1", "slow"), ("zh_1", "很慢"), ("en_1", "Very slow")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "the same code twice");
        // Without the form's CSRF token, or as a supervisor: refused.
        let forged = admin.http.post(app.url("/org/XN-HY/rating-settings")).header("content-type", "application/x-www-form-urlencoded").body("scale=five").send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let sup = app.login("supervisor").await;
        assert_eq!(sup.get("/org/XN-HY/rating-settings").await.status(), StatusCode::FORBIDDEN);
        assert_eq!(sup.post_form("/org/XN-HY/rating-settings", &[("scale", "five")]).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(admin.get_json("/api/v1/org/nodes/XN-HY/rating-settings", StatusCode::OK).await, before, "nothing changed");
        assert_eq!(audited().await, audits);

        // Five levels, two reasons of the region's own (a blank row between them), a default.
        let good = [("scale", "five"), ("code_0", "slow"), ("zh_0", " 办事效率低 "), ("en_0", "Too slow"), ("code_1", ""), ("zh_1", ""), ("en_1", ""), ("code_2", "many_trips"), ("zh_2", "多次跑腿"), ("en_2", "Many trips"), ("default_level", "4"), ("default_after_days", "7")];
        let r = admin.post_form("/org/XN-HY/rating-settings", &good).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        assert_eq!(r.headers()["location"], "/org/XN-HY/rating-settings?saved=1");
        let inherited = admin.get_json("/api/v1/org/nodes/XN-HY-GA-001-W1/rating-settings", StatusCode::OK).await;
        assert_eq!(inherited, json!({"scale": "five", "extra_reasons": [{"code": "slow", "zh": "办事效率低", "en": "Too slow"}, {"code": "many_trips", "zh": "多次跑腿", "en": "Many trips"}], "default_level": 4, "default_after_days": 7}));
        assert_eq!(audited().await, audits + 1);
        let page = admin.get("/org/XN-HY/rating-settings?saved=1").await.text().await.unwrap();
        assert!(page.contains("已保存") && page.contains("本机构有自己的评价设置") && page.contains("value=\"five\" checked") && page.contains("value=\"many_trips\""), "{page}");
        // A citizen at a unit of the region sees five levels and the region's reasons.
        let code = code_of(&app, "XN-HY-GA-001").await;
        let rate_page = app.anonymous().get(&format!("/r/{code}")).await.text().await.unwrap();
        assert!(rate_page.contains("非常满意") && rate_page.contains("办事效率低") && rate_page.contains("多次跑腿"), "{rate_page}");
        // Below, the page says where the settings come from; above, that a node below has its own.
        let below = admin.get("/org/XN-HY-GA/rating-settings").await.text().await.unwrap();
        assert!(below.contains("沿用上级") && below.contains("href=\"/org/XN-HY/rating-settings\""), "{below}");
        let city = admin.get("/org/XN/rating-settings").await.text().await.unwrap();
        assert!(city.contains("下级中有自己设置"), "{city}");
    }

    async fn an_admin_reissues_a_lost_posters_code_on_the_org_page(app) {
        let old = code_of(&app, "XN-CD-GA-001").await;
        let admin = app.login("admin").await;
        let page = admin.get("/org/XN-CD-GA-001").await.text().await.unwrap();
        assert!(page.contains("id=\"rating-code\"") && page.contains(&format!("src=\"/qr/{old}.svg\"")) && page.contains(&format!("/r/{old}")), "{page}");
        assert!(page.contains("action=\"/org/XN-CD-GA-001/rating-code/reissue\""));
        // Without ticking that the old posters stop working: refused, nothing changes.
        let r = admin.post_form("/org/XN-CD-GA-001/rating-code/reissue", &[]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("confirm: 请勾选"));
        assert_eq!(code_of(&app, "XN-CD-GA-001").await, old);
        // Without the form's CSRF token: refused.
        let forged = admin.http.post(app.url("/org/XN-CD-GA-001/rating-code/reissue")).header("content-type", "application/x-www-form-urlencoded").body("confirm=yes").send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        // A supervisor sees the code but has no button, and is refused.
        let sup = app.login("supervisor").await;
        let page = sup.get("/org/XN-CD-GA-001").await.text().await.unwrap();
        assert!(page.contains(&format!("src=\"/qr/{old}.svg\"")) && !page.contains("/rating-code/reissue"), "{page}");
        assert_eq!(sup.post_form("/org/XN-CD-GA-001/rating-code/reissue", &[("confirm", "yes")]).await.status(), StatusCode::FORBIDDEN);
        // An enterprise sees no code.
        let ent = app.login("enterprise").await.get("/org/XN-CD-GA-001").await;
        assert_eq!(ent.status(), StatusCode::OK);
        assert!(!ent.text().await.unwrap().contains("id=\"rating-code\""));
        assert_eq!(code_of(&app, "XN-CD-GA-001").await, old);

        let r = admin.post_form("/org/XN-CD-GA-001/rating-code/reissue", &[("confirm", "yes")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/org/XN-CD-GA-001?reissued=1#rating-code");
        let new = code_of(&app, "XN-CD-GA-001").await;
        assert_ne!(new, old);
        let page = admin.get("/org/XN-CD-GA-001?reissued=1").await.text().await.unwrap();
        assert!(page.contains(&format!("src=\"/qr/{new}.svg\"")) && page.contains("旧海报上的二维码已失效"), "{page}");
        // The old poster's code is revoked (410 with its page); the new one rates.
        assert_eq!(app.anonymous().get(&format!("/r/{old}")).await.status(), StatusCode::GONE);
        assert_eq!(app.anonymous().get(&format!("/r/{new}")).await.status(), StatusCode::OK);
        let audited: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from audit_log where action = 'rating_code.reissue' and target = 'org:XN-CD-GA-001'").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(audited, 1);

        // A window without a live code: the page says so and the button issues one.
        sqlx::query("update rating_codes set revoked_at = $1 where org_code = 'XN-CD-GA-001-W1' and staff_no is null").bind(pingyi::store::now_ms()).execute(app.store.pool()).await.unwrap();
        let page = admin.get("/org/XN-CD-GA-001-W1").await.text().await.unwrap();
        assert!(page.contains("还没有评价码") && page.contains("签发评价码"), "{page}");
        assert_eq!(admin.get("/api/v1/org/nodes/XN-CD-GA-001-W1/rating-code").await.status(), StatusCode::NOT_FOUND);
        let r = admin.post_form("/org/XN-CD-GA-001-W1/rating-code/reissue", &[("confirm", "yes")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let issued = code_of(&app, "XN-CD-GA-001-W1").await;
        assert_eq!(app.anonymous().get(&format!("/r/{issued}")).await.status(), StatusCode::OK);
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

}

/// An XLSX export larger than `max_export_ratings` is refused with the reason, never cut short;
/// CSV streams any size.
async fn an_export_over_the_limit_is_refused(engine: crate::helpers::Engine) {
    let app = crate::helpers::spawn_app_with(engine, |c| c.max_export_ratings = 2).await;
    let code = code_of(&app, "XN-CD-GA-001").await;
    for i in 0..3 {
        rate_from_device(&app.url(""), &code, &format!("limit-{i}"), true).await;
    }
    let sup = app.login("supervisor").await;
    let r = sup.get("/api/v1/ratings/export?under=XN-CD-GA-001&format=xlsx").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["fields"][0]["field"], "format");
    assert!(v["error"]["fields"][0]["message"].as_str().unwrap().contains("more than 2 ratings"), "{v}");
    let two = sup.get("/api/v1/ratings/export?under=XN-CD-GA-001&outcome=satisfied&from=2020-01-01&format=xlsx").await;
    assert_eq!(two.status(), StatusCode::UNPROCESSABLE_ENTITY, "three satisfied: still over");
    let csv = sup.get("/api/v1/ratings/export?under=XN-CD-GA-001").await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.text().await.unwrap().lines().count(), 4, "the header and all three ratings");
}

crate::on_both_engines! {
    async fn a_long_period_reads_page_by_page_in_order_without_gaps_or_repeats(app) {
        // Ratings received in one batch may share a millisecond: the pages go by time, then id.
        let code = code_of(&app, "XN-CD-GA-001").await;
        let c = app.anonymous();
        let sent: Vec<_> = (0..12).map(|i| {
            let c = &c;
            let code = code.clone();
            async move { rate(c, json!({"code": code, "satisfied": i % 2 == 0, "reasons": if i % 2 == 0 { json!([]) } else { json!(["not_done"]) }})).await.status() }
        }).collect();
        for status in futures_util::future::join_all(sent).await {
            assert_eq!(status, StatusCode::CREATED);
        }
        let root = pingyi::domain::ids::OrgCode::parse("XN-CD-GA").unwrap();
        let range = (0, i64::MAX);
        let all = pingyi::store::ratings::in_period(&app.store, &root, None, range, None, 100, None).await.unwrap();
        assert_eq!(all.len(), 12);
        for size in [1, 5, 12] {
            let mut paged = Vec::new();
            let mut after: Option<(i64, String)> = None;
            loop {
                let cursor = after.as_ref().map(|(t, i)| (*t, i.as_str()));
                let page = pingyi::store::ratings::in_period(&app.store, &root, None, range, cursor, size, None).await.unwrap();
                after = page.last().map(|r| (r.created_at, r.id.clone()));
                let n = page.len() as i64;
                paged.extend(page.into_iter().map(|r| r.id));
                if n < size { break; }
            }
            assert_eq!(paged, all.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), "pages of {size}");
        }
    }
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
