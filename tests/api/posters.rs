//! The posters page: a build started there, its progress, its file, its checks, and builds seen
//! from another server process.

use std::io::Read;

use reqwest::StatusCode;

use crate::helpers::{Client, TestApp};
use crate::ratings::code_of;

async fn builds(app: &TestApp) -> i64 {
    sqlx::query_scalar("select cast(count(*) as bigint) from poster_builds").fetch_one(app.store.pool()).await.unwrap()
}

/// How many live codes (units and windows) lie under `root`.
async fn live_codes(app: &TestApp, root: &str) -> usize {
    let root = pingyi::domain::ids::OrgCode::parse(root).unwrap();
    pingyi::web::codes::poster_list(&app.store, "http://x", &root).await.unwrap().len()
}

/// Starts a build and returns its page's path.
async fn start(c: &Client, under: &str, paper: &str, format: &str) -> String {
    let r = c.post_form("/admin/posters/builds", &[("under", under), ("paper", paper), ("format", format)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/admin/posters/builds/"), "{to}");
    to
}

/// Reads the build's page until it is no longer queued or running (at most 60 s); returns the
/// last page and every page seen.
async fn until_ended(c: &Client, page: &str) -> (String, Vec<String>) {
    let mut seen = Vec::new();
    for _ in 0..600 {
        let r = c.get(page).await;
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        let running = html.contains("data-state=\"queued\"") || html.contains("data-state=\"running\"");
        if running {
            assert!(html.contains("<meta http-equiv=\"refresh\""), "a running build's page refreshes itself");
            assert!(html.contains("<progress"), "{html}");
            seen.push(html);
        } else {
            assert!(!html.contains("<meta http-equiv=\"refresh\""), "an ended build's page stays");
            return (html, seen);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the build did not end in 60 s");
}

fn unzip(bytes: &[u8]) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap()
}

crate::on_both_engines! {
    async fn an_admin_makes_a_subtrees_posters_on_the_page_and_downloads_them(app) {
        let admin = app.login("admin").await;
        let page = admin.get("/admin/posters?under=XN-CD").await;
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(page.contains("action=\"/admin/posters/builds\"") && page.contains("value=\"XN-CD\"") && page.contains("还没有生成过海报"), "{page}");
        // The org page links to it.
        let org = admin.get("/org/XN-CD-GA").await.text().await.unwrap();
        assert!(org.contains("href=\"/admin/posters?under=XN-CD-GA\""), "{org}");

        let to = start(&admin, "XN-CD-GA", "a4", "zip").await;
        let (done, _) = until_ended(&admin, &to).await;
        let n = live_codes(&app, "XN-CD-GA").await;
        assert!(n >= 2, "the department's units and windows");
        assert!(done.contains("data-state=\"done\"") && done.contains(&format!("max=\"{n}\" value=\"{n}\"")), "{done}");
        let file_link = format!("{to}/file");
        assert!(done.contains(&format!("href=\"{file_link}\"")), "{done}");

        let r = admin.get(&file_link).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/zip");
        assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"posters-XN-CD-GA-a4.zip\""));
        let mut archive = unzip(&r.bytes().await.unwrap());
        let code = code_of(&app, "XN-CD-GA-001").await;
        let mut html = String::new();
        archive.by_name("posters.html").unwrap().read_to_string(&mut html).unwrap();
        assert!(html.contains("size: A4") && html.contains(&format!("/r/{code}")));
        assert_eq!(html.matches("<section class=\"poster\">").count(), n);
        assert_eq!(archive.len(), 2 * n + 1, "an SVG and a PNG per code, and the document");
        assert!(archive.by_name("svg/XN-CD-GA-001.svg").is_ok() && archive.by_name("png/XN-CD-GA-001.png").is_ok());

        // The print document of one unit, shown in the browser.
        let to_html = start(&admin, "XN-CD-GA-001", "a5", "html").await;
        let (done, _) = until_ended(&admin, &to_html).await;
        assert!(done.contains("data-state=\"done\""), "{done}");
        let r = admin.get(&format!("{to_html}/file")).await;
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let doc = r.text().await.unwrap();
        assert!(doc.contains("size: A5") && doc.contains(&format!("/r/{code}")) && doc.contains("请扫码评价我们的服务"));

        // Both are listed on the page, newest first, with their downloads; both were audited.
        let page = admin.get("/admin/posters").await.text().await.unwrap();
        let (first, second) = (page.find(&format!("href=\"{to_html}\"")).unwrap(), page.find(&format!("href=\"{to}\"")).unwrap());
        assert!(first < second, "newest first");
        assert!(page.contains(&format!("href=\"{file_link}\"")));
        let audited: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from audit_log where action = 'posters.build' and actor = 'admin'").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(audited, 2);

        // Another printer of posters neither sees the build nor gets its file; roles that print
        // none are refused.
        let sup = app.login("supervisor").await;
        assert_eq!(sup.get(&to).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(sup.get(&file_link).await.status(), StatusCode::NOT_FOUND);
        assert!(!sup.get("/admin/posters").await.text().await.unwrap().contains(&to));
        for who in ["unithead", "inspector01", "staff"] {
            let c = app.login(who).await;
            assert_eq!(c.get("/admin/posters").await.status(), StatusCode::FORBIDDEN, "{who}");
            assert_eq!(c.get(&to).await.status(), StatusCode::FORBIDDEN, "{who}");
            let r = c.post_form("/admin/posters/builds", &[("under", "XN-CD-GA-001"), ("paper", "a5"), ("format", "zip")]).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}");
        }
        assert_eq!(app.anonymous().get(&file_link).await.status(), StatusCode::SEE_OTHER, "to the login page");
        assert_eq!(builds(&app).await, 2);
    }

    async fn a_bad_poster_form_names_each_field_and_starts_nothing(app) {
        let admin = app.login("admin").await;
        let r = admin.post_form("/admin/posters/builds", &[("under", " "), ("paper", "a3"), ("format", "pdf")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        for field in ["under: 请填写机构编码", "paper: 请选择 A5 或 A4", "format: 请选择压缩包或打印文档"] {
            assert!(page.contains(field), "{field} in {page}");
        }
        let r = admin.post_form("/admin/posters/builds", &[("under", "XN-NOPE"), ("paper", "a4"), ("format", "html")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(page.contains("under: 没有这个机构编码"), "{page}");
        // What was typed is kept.
        assert!(page.contains("value=\"XN-NOPE\"") && page.contains("value=\"a4\" checked") && page.contains("value=\"html\" checked"), "{page}");
        // Without the form's CSRF token: refused.
        let forged = admin.http.post(app.url("/admin/posters/builds")).header("content-type", "application/x-www-form-urlencoded").body("under=XN&paper=a5&format=zip").send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        // A supervisor of one district cannot print another's.
        let c = admin.post_json("/api/v1/users", &serde_json::json!({"username": "sup-cd", "display_name": "城东监督员", "role": "supervisor", "scopes": ["XN-CD"], "password": "pingyi-demo"})).await;
        assert_eq!(c.status(), StatusCode::CREATED, "{}", c.text().await.unwrap());
        let sup = app.login("sup-cd").await;
        let r = sup.post_form("/admin/posters/builds", &[("under", "XN-CX"), ("paper", "a5"), ("format", "zip")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(sup.get("/admin/posters?under=XN-CX").await.status(), StatusCode::FORBIDDEN);
        assert_eq!(builds(&app).await, 0, "nothing was started");
        // The file at once still checks its format.
        assert_eq!(admin.get("/admin/posters?under=XN-CD-GA-001&format=pdf").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn a_build_started_on_one_server_is_followed_and_fetched_on_another(app) {
        let other = app.another_server().await;
        let admin = app.login("admin").await;
        let there = Client { http: admin.http.clone(), base: format!("http://{}", other.addr), csrf: admin.csrf.clone() };
        let to = start(&admin, "XN-CD", "a5", "zip").await;
        let (done, _) = until_ended(&there, &to).await;
        assert!(done.contains("data-state=\"done\""), "{done}");
        let r = there.get(&format!("{to}/file")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(unzip(&r.bytes().await.unwrap()).len(), 2 * live_codes(&app, "XN-CD").await + 1);
    }

    async fn an_interrupted_build_says_so_and_old_builds_are_deleted_with_their_files(app) {
        let admin = app.login("admin").await;
        let now = pingyi::store::now_ms();
        // One whose process stopped a minute ago, one that ended two days ago with its file.
        for (id, state, updated, finished) in [("01STOPPED", "running", now - 60_000, None), ("01OLD", "done", now - 2 * 86_400_000, Some(now - 2 * 86_400_000))] {
            sqlx::query("insert into poster_builds (id, requested_by, root_code, paper, format, state, total, drawn, created_at, updated_at, finished_at) values ($1, 'admin', 'XN-CD', 'a5', 'zip', $2, 10, 4, $3, $3, $4)")
                .bind(id).bind(state).bind(updated).bind(finished).execute(app.store.pool()).await.unwrap();
        }
        let old_file = app.files_dir().join("posters").join("01OLD.zip");
        std::fs::create_dir_all(old_file.parent().unwrap()).unwrap();
        std::fs::write(&old_file, b"PK old").unwrap();

        let page = admin.get("/admin/posters/builds/01STOPPED").await.text().await.unwrap();
        assert!(page.contains("data-state=\"interrupted\"") && page.contains("已停止") && page.contains("重新生成"), "{page}");
        assert!(!page.contains("http-equiv=\"refresh\""));
        assert_eq!(admin.get("/admin/posters/builds/01STOPPED/file").await.status(), StatusCode::NOT_FOUND);
        // Starting again (the form on that page) makes a new build and expires the old one.
        let to = start(&admin, "XN-CD", "a5", "zip").await;
        until_ended(&admin, &to).await;
        assert_eq!(admin.get("/admin/posters/builds/01OLD").await.status(), StatusCode::NOT_FOUND);
        assert!(!old_file.exists(), "the expired build's file is deleted");
        assert_eq!(admin.get("/admin/posters/builds/01STOPPED").await.status(), StatusCode::OK, "interrupted a minute ago: kept for a day");
        assert_eq!(builds(&app).await, 2);
    }
}
