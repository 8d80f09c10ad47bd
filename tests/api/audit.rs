//! The audit trail: written with every change, browsable by admins, tamper-evident.

use reqwest::StatusCode;
use serde_json::Value;

crate::on_both_engines! {
    async fn changes_write_audit_rows_with_actor_and_client(app) {
        let c = app.login("admin").await;
        let rows: Value = c.get_json("/api/v1/audit?action=session.login", StatusCode::OK).await;
        let row = &rows[0];
        assert_eq!(row["actor"], "admin");
        assert_eq!(row["target"], "user:admin");
        assert_eq!(row["client_addr"], "127.0.0.1");
        let page = c.get("/admin/audit?action=session.").await.text().await.unwrap();
        assert!(page.contains("session.login"));
        let filtered: Value = c.get_json("/api/v1/audit?actor=nobody", StatusCode::OK).await;
        assert_eq!(filtered.as_array().unwrap().len(), 0);
        assert_eq!(c.get("/api/v1/audit?from=yesterday").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn editing_an_audit_row_in_the_database_is_caught_and_named(app) {
        assert!(matches!(pingyi::store::audit::verify(&app.store, &crate::helpers::audit_key()).await.unwrap(), pingyi::store::audit::Verdict::Intact(n) if n > 10));
        let ok = app.cli(&["audit", "verify"], "");
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        sqlx::query("update audit_log set actor = 'mallory' where seq = 7").execute(app.store.pool()).await.unwrap();
        let out = app.cli(&["audit", "verify"], "");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("audit row 7 was edited"), "{err}");
    }

    async fn removing_an_audit_row_is_caught_and_named(app) {
        sqlx::query("delete from audit_log where seq = 3").execute(app.store.pool()).await.unwrap();
        let out = app.cli(&["audit", "verify"], "");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("audit row 3 is missing"));
    }

    async fn concurrent_changes_keep_one_unbroken_chain(app) {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let c = app.login("supervisor").await;
            tasks.push(tokio::spawn(async move {
                for i in 0..5 {
                    let r = c.post_json("/api/v1/tokens", &serde_json::json!({"name": format!("t{i}")})).await;
                    assert_eq!(r.status(), StatusCode::CREATED);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(matches!(pingyi::store::audit::verify(&app.store, &crate::helpers::audit_key()).await.unwrap(), pingyi::store::audit::Verdict::Intact(_)));
    }
}
