//! `kill -9` in the middle of a load: after a restart, every rating that got a 2xx is there,
//! whether it was written straight through or committed to the rating inbox (projected by the
//! restarted server).

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pingyi::config::DatabaseUrl;
use pingyi::store::Store;
use serde_json::json;

use crate::helpers::{Engine, fresh_database};

fn url_arg(db: &DatabaseUrl) -> String {
    match db {
        DatabaseUrl::Sqlite(p) => p.display().to_string(),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}

fn pingyi(db: &DatabaseUrl, dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pingyi"));
    c.arg("--database").arg(url_arg(db)).current_dir(dir).env("PINGYI_SECRET_KEY", "24".repeat(32));
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

/// A plain HTTP client. These tests run the server as a child process, so nothing in this
/// process may have installed the TLS crypto provider the client library needs yet (other tests
/// do it through the server they build in-process): install it here.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn start(db: &DatabaseUrl, dir: &std::path::Path, port: u16, inbox: &str) -> Child {
    let mut child = pingyi(db, dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("PINGYI_RATING_INBOX", inbox)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

/// `inbox`: the server's `rating_inbox` mode under the load (`never` or `always`); the
/// restarted server runs with the default.
async fn kill_nine_loses_no_acknowledged_rating(engine: Engine, inbox: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (db, pg) = fresh_database(engine, dir.path()).await;
    let out = pingyi(&db, dir.path()).args(["demo", "--units", "40"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = Store::open(&db).await.unwrap();
    let codes: Vec<String> = sqlx::query_scalar("select token from rating_codes order by org_code limit 20")
        .fetch_all(store.pool())
        .await
        .unwrap();

    let port = free_port();
    let mut server = start(&db, dir.path(), port, inbox).await;
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for t in 0..8 {
        let acked = acked.clone();
        let codes = codes.clone();
        tasks.push(tokio::spawn(async move {
            let client = http_client();
            for i in 0.. {
                let body =
                    json!({"code": codes[(t + i) % codes.len()], "satisfied": i % 3 != 0, "reasons": ["not_done"]});
                match client.post(format!("http://127.0.0.1:{port}/api/v1/ratings")).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        let v: serde_json::Value = match r.json().await {
                            Ok(v) => v,
                            Err(_) => break,
                        };
                        acked.lock().unwrap().push(v["id"].as_str().unwrap().to_owned());
                    }
                    Ok(r) => panic!("unexpected {}", r.status()),
                    Err(_) => break,
                }
            }
        }));
    }
    // Let the load run, then kill the server without warning.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 500 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 100, "the load ran: {} acknowledged", acked.len());
    store.close().await;

    let mut server = start(&db, dir.path(), port, "auto").await;
    let store = Store::open(&db).await.unwrap();
    // The restarted server projects what the inbox still held.
    crate::inbox::drained(&store).await;
    let mut missing = Vec::new();
    for id in &acked {
        let found: Option<String> = sqlx::query_scalar("select id from ratings where id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await
            .unwrap();
        if found.is_none() {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged ratings lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(matches!(
        pingyi::store::audit::verify(&store, &pingyi::secrets::Secret::from_hex(&"24".repeat(32)).unwrap().audit_key())
            .await
            .unwrap(),
        pingyi::store::audit::Verdict::Intact(_)
    ));
    store.close().await;
    server.kill().unwrap();
    server.wait().unwrap();
    if let Some((admin, name)) = pg {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_mid_load_loses_no_acknowledged_rating_sqlite() {
    kill_nine_loses_no_acknowledged_rating(Engine::Sqlite, "never").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
async fn kill_nine_mid_load_loses_no_acknowledged_rating_postgres() {
    kill_nine_loses_no_acknowledged_rating(Engine::Postgres, "never").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_mid_load_loses_no_inbox_rating_sqlite() {
    kill_nine_loses_no_acknowledged_rating(Engine::Sqlite, "always").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
async fn kill_nine_mid_load_loses_no_inbox_rating_postgres() {
    kill_nine_loses_no_acknowledged_rating(Engine::Postgres, "always").await;
}
