//! The audit chain is keyed: a rewrite with every hash recomputed is caught without the key, and
//! a checkpoint kept outside the database catches a rewrite even by whoever holds the key.

use pingyi::domain::audit::{AuditRow, Hashing};
use sqlx::Row;

use crate::helpers::{TestApp, audit_key};

/// Rewrites the whole stored chain as someone with write access to the database would: `edit`
/// changes rows, then every hash is recomputed with `hashing` and the head follows.
async fn rewrite_chain(app: &TestApp, hashing: Hashing, edit: impl Fn(&mut AuditRow)) {
    let rows = sqlx::query(
        "select seq, at, actor, action, target, summary, client_addr, prev_hash, hash from audit_log order by seq",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let mut prev = pingyi::domain::audit::GENESIS_HASH.to_owned();
    for r in rows {
        let mut row = AuditRow {
            seq: r.get("seq"),
            at: r.get("at"),
            actor: r.get("actor"),
            action: r.get("action"),
            target: r.get("target"),
            summary: r.get("summary"),
            client_addr: r.get("client_addr"),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        edit(&mut row);
        row.hash = row.compute_hash(&hashing);
        sqlx::query("update audit_log set actor = $2, prev_hash = $3, hash = $4 where seq = $1")
            .bind(row.seq)
            .bind(&row.actor)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .execute(app.store.pool())
            .await
            .unwrap();
        prev = row.hash;
    }
    sqlx::query("update audit_head set hash = $1 where id = 1").bind(&prev).execute(app.store.pool()).await.unwrap();
}

fn mallory(row: &mut AuditRow) {
    if row.seq == 7 {
        row.actor = "mallory".into();
    }
}

fn verify(app: &TestApp, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let out = app.cli(&args, "");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

crate::on_both_engines! {
    async fn a_rewrite_with_every_hash_recomputed_is_caught_without_the_key(app) {
        rewrite_chain(&app, Hashing::Plain, mallory).await;
        let (ok, out) = verify(&app, &[]);
        assert!(!ok && out.contains("audit row 1 was edited"), "{out}");
    }

    async fn a_checkpoint_catches_a_rewrite_by_whoever_holds_the_key_and_removed_rows(app) {
        let file = app.files_dir().with_file_name("checkpoint.json");
        let out = app.cli(&["audit", "checkpoint", "--output", file.to_str().unwrap()], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let path = file.to_str().unwrap();
        let (ok, out) = verify(&app, &["--checkpoint", path]);
        assert!(ok && out.contains("holds"), "{out}");
        // More rows later: the checkpoint still holds.
        app.login("admin").await;
        assert!(verify(&app, &["--checkpoint", path]).0);
        // Someone with the server secret rewrites history: the chain checks out, the checkpoint does not.
        rewrite_chain(&app, Hashing::Keyed(audit_key()), mallory).await;
        let (ok, out) = verify(&app, &["--checkpoint", path]);
        assert!(!ok && out.contains("audit trail intact") && out.contains("rewritten"), "{out}");
        // A forged checkpoint is refused.
        let text = std::fs::read_to_string(&file).unwrap().replace("\"seq\": ", "\"seq\": 1");
        std::fs::write(&file, text).unwrap();
        let (ok, out) = verify(&app, &["--checkpoint", path]);
        assert!(!ok && out.contains("signature"), "{out}");
    }

    async fn a_chain_written_before_keyed_hashes_is_re_keyed_once_and_keeps_every_row(app) {
        // The previous version's chain: plain SHA-256, the head not marked keyed.
        rewrite_chain(&app, Hashing::Plain, |_| {}).await;
        sqlx::query("update audit_head set keyed = 0 where id = 1").execute(app.store.pool()).await.unwrap();
        let before = app.audit_rows().await;
        let (ok, out) = verify(&app, &[]);
        assert!(ok, "a plain chain verifies as plain before the upgrade: {out}");
        // The next start re-keys it.
        let _server = app.another_server().await;
        let keyed: i64 = sqlx::query_scalar("select keyed from audit_head where id = 1").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(keyed, 1);
        assert_eq!(app.audit_rows().await, before + 1, "every row kept, and the re-keying recorded");
        let (ok, out) = verify(&app, &[]);
        assert!(ok, "{out}");
        let rekeyed: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from audit_log where action = 'audit.rekeyed'").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(rekeyed, 1);
        // Now a plain rewrite is caught.
        rewrite_chain(&app, Hashing::Plain, mallory).await;
        assert!(!verify(&app, &[]).0);
    }
}
