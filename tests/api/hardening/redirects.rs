//! `next=` after a language switch or a login never leads off the site, and never fails.

use reqwest::StatusCode;

/// Targets a browser would follow to another host, or that cannot be sent in a header.
const DISGUISED: [&str; 6] = [
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "//evil.example",
    "/%5Cevil.example",
    "https://evil.example",
];

crate::on_both_engines! {
    async fn the_language_switch_follows_only_paths_on_this_site(app) {
        let c = app.anonymous();
        for next in DISGUISED {
            let r = c.get(&format!("/lang/en?next={next}")).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
            assert_eq!(r.headers()["location"], "/", "{next}");
        }
        let r = c.get("/lang/en?next=/org/XN%3Fx%3D1").await;
        assert_eq!(r.headers()["location"], "/org/XN?x=1");
    }

    async fn the_login_page_and_form_follow_only_paths_on_this_site(app) {
        let admin = app.login("admin").await;
        for next in DISGUISED {
            let r = admin.get(&format!("/login?next={next}")).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
            assert_eq!(r.headers()["location"], "/", "{next}");
        }
        let decoded = ["/\t/evil.example", "/\r\nSet-Cookie: x=1", "//evil.example"];
        for next in decoded {
            let c = app.anonymous();
            let html = c.get("/login").await.text().await.unwrap();
            let csrf = html.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
            let form = [("username", "admin"), ("password", pingyi::demo::DEMO_PASSWORD), ("_csrf", csrf.as_str()), ("next", next)];
            let r = c.http.post(app.url("/login")).form(&form).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
            assert_eq!(r.headers()["location"], "/", "{next:?}");
        }
    }
}
