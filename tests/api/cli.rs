//! The command line against a real database: users, tokens, imports.

use reqwest::StatusCode;

crate::on_both_engines! {
    async fn rollups_check_finds_drift_and_rebuild_repairs_it(app) {
        let code = crate::ratings::code_of(&app, "XN-CD-GA-001").await;
        for satisfied in [true, false, false] {
            let body = if satisfied { serde_json::json!({"code": code, "satisfied": true}) } else { serde_json::json!({"code": code, "satisfied": false, "reasons": ["not_done"]}) };
            assert_eq!(crate::ratings::rate(&app.anonymous(), body).await.status(), StatusCode::CREATED);
        }
        let ok = app.cli(&["rollups", "check"], "");
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        assert!(String::from_utf8_lossy(&ok.stdout).contains("match"));
        let good = pingyi::store::rollups::snapshot(&app.store).await.unwrap();

        // Drift: a count off by five at the unit, and a reason row gone at the city.
        sqlx::query("update rating_days set total = total + 5 where org_code = 'XN-CD-GA-001'").execute(app.store.pool()).await.unwrap();
        sqlx::query("delete from rating_reasons where org_code = 'XN'").execute(app.store.pool()).await.unwrap();
        let drifted = pingyi::store::rollups::snapshot(&app.store).await.unwrap();
        let check = app.cli(&["rollups", "check"], "");
        assert_eq!(check.status.code(), Some(1));
        let (out, err) = (String::from_utf8_lossy(&check.stdout).to_string(), String::from_utf8_lossy(&check.stderr).to_string());
        assert!(err.contains("DIFFER") && err.contains("1 stored row(s)") && err.contains("2 recomputed"), "{err}");
        assert!(out.lines().any(|l| l.starts_with("- rating_days: XN-CD-GA-001 ")) && out.lines().any(|l| l.starts_with("+ rating_reasons: XN ")), "{out}");
        assert_eq!(pingyi::store::rollups::snapshot(&app.store).await.unwrap(), drifted, "a check changes nothing");

        let rebuild = app.cli(&["rollups", "rebuild"], "");
        assert!(rebuild.status.success(), "{}", String::from_utf8_lossy(&rebuild.stderr));
        assert!(String::from_utf8_lossy(&rebuild.stdout).contains("rebuilt"));
        assert_eq!(pingyi::store::rollups::snapshot(&app.store).await.unwrap(), good);
        assert!(app.cli(&["rollups", "check"], "").status.success());
        let d = app.login("supervisor").await.get_json("/api/v1/dashboard?under=XN-CD-GA-001", StatusCode::OK).await;
        assert_eq!(d["totals"]["ratings"], 3);
    }

    async fn user_add_reads_the_password_from_stdin(app) {
        let out = app.cli(&["user", "add", "zhao.liu", "--role", "inspector", "--scope", "XN-CX", "--display-name", "赵六"], "a-fine-password\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let c = app.anonymous();
        let r = c.post_json("/api/v1/session", &serde_json::json!({"username": "zhao.liu", "password": "a-fine-password"})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let bad = app.cli(&["user", "add", "x.y", "--role", "king", "--scope", "XN"], "a-fine-password\n");
        assert_eq!(bad.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("--role"));
        let short = app.cli(&["user", "add", "x.y", "--role", "staff", "--scope", "XN"], "short\n");
        assert_eq!(short.status.code(), Some(2));
    }

    async fn a_cli_token_authenticates_and_can_be_revoked(app) {
        let out = app.cli(&["token", "create", "--user", "supervisor", "--name", "reports"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(token.starts_with("pyt_"));
        let c = app.anonymous();
        let me = c.http.get(app.url("/api/v1/org/nodes")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        let list = String::from_utf8_lossy(&app.cli(&["token", "list", "--user", "supervisor"], "").stdout).to_string();
        let id = list.split_whitespace().next().unwrap().to_owned();
        assert!(app.cli(&["token", "revoke", &id], "").status.success());
        let me = c.http.get(app.url("/api/v1/org/nodes")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    }

    async fn cli_import_refuses_a_bad_file_whole_and_accepts_a_good_one_once(app) {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "code,parent_code,kind,name\nXN-A,XN,region,甲\nXN-B,XN-NOPE,region,乙\n").unwrap();
        let out = app.cli(&["import", "org", bad.to_str().unwrap()], "");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("row 3, column parent_code"), "{}", String::from_utf8_lossy(&out.stderr));
        let good = dir.path().join("good.csv");
        std::fs::write(&good, "code,parent_code,kind,name\nXN-A,XN,region,甲\n").unwrap();
        let first = app.cli(&["import", "org", good.to_str().unwrap()], "");
        assert!(String::from_utf8_lossy(&first.stdout).contains("1 created, 0 updated, 0 unchanged"));
        let second = app.cli(&["import", "org", good.to_str().unwrap()], "");
        assert!(String::from_utf8_lossy(&second.stdout).contains("0 created, 0 updated, 1 unchanged"));
        let xlsx = dir.path().join("out.xlsx");
        assert!(app.cli(&["export", "org", "--under", "XN-A", "--output", xlsx.to_str().unwrap()], "").status.success());
        let again = app.cli(&["import", "org", xlsx.to_str().unwrap()], "");
        assert!(String::from_utf8_lossy(&again.stdout).contains("0 created, 0 updated, 1 unchanged"));
    }
}
