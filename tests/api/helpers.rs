//! The test harness: `spawn_app(engine)` starts the real server on port 0 over a fresh
//! database (a temporary SQLite file, or a new PostgreSQL database that is dropped
//! afterwards) loaded with a small demo city, and offers typed helpers.

use std::net::SocketAddr;

use pingyi::config::{Config, DatabaseUrl};
use pingyi::demo::{self, DEMO_PASSWORD, DemoOptions};
use pingyi::startup::App;
use pingyi::store::Store;
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs a test body once on SQLite and once on PostgreSQL. The PostgreSQL run is ignored,
/// with the reason printed, when `PINGYI_TEST_POSTGRES_URL` was not set at build time.
#[macro_export]
macro_rules! on_both_engines {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[allow(unused_imports)]
                use $crate::helpers::*;

                async fn body($app: TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    body(spawn_app(Engine::Sqlite).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
                async fn postgres() {
                    body(spawn_app(Engine::Postgres).await).await
                }
            }
        )*
    };
}

/// A running server over a fresh database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub ratings: std::sync::Arc<pingyi::ingest::RatingService>,
    pub database: DatabaseUrl,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    pg_db: Option<(String, String)>,
}

/// The evidence size limit of the test server.
pub const ATTACHMENT_LIMIT: usize = 256 * 1024;

/// The server secret of every test server and of the CLI the tests run against its database.
pub const TEST_SECRET: &str = "4242424242424242424242424242424242424242424242424242424242424242";

/// The audit key of the test servers (derived from [`TEST_SECRET`]).
pub fn audit_key() -> pingyi::domain::audit::AuditKey {
    pingyi::secrets::Secret::from_hex(TEST_SECRET).unwrap_or_else(|e| panic!("{e}")).audit_key()
}

/// Units in the test city: one per department, enough for every role's scope.
pub const TEST_UNITS: usize = 80;

pub fn pg_admin_url() -> String {
    std::env::var("PINGYI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| panic!("PINGYI_TEST_POSTGRES_URL must be set for PostgreSQL tests"))
}

/// The same server URL with another database name.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    format!("{}/{db}{query}", &base[..host_end])
}

/// Creates a fresh database for one test and returns its URL.
pub async fn fresh_database(engine: Engine, dir: &std::path::Path) -> (DatabaseUrl, Option<(String, String)>) {
    match engine {
        Engine::Sqlite => (DatabaseUrl::Sqlite(dir.join("test.db")), None),
        Engine::Postgres => {
            use sqlx::Connection;
            let admin = pg_admin_url();
            // `.ci/run` names its run in the prefix, so that it drops only the databases it made.
            let prefix = std::env::var("PINGYI_TEST_DB_PREFIX").unwrap_or_else(|_| "pingyi_t_".into());
            assert!(
                prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "PINGYI_TEST_DB_PREFIX: {prefix}"
            );
            let name = format!("{prefix}{}", pingyi::store::new_secret(6));
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| panic!("connect {admin}: {e}"));
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {name}")))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("create database: {e}"));
            let url = with_database(&admin, &name);
            (DatabaseUrl::Postgres(url), Some((admin, name)))
        }
    }
}

/// Starts the server over a fresh database holding the small demo city.
pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

/// [`spawn_app`] with the test configuration changed by `adjust` first.
pub async fn spawn_app_with(engine: Engine, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (database, pg_db) = fresh_database(engine, dir.path()).await;
    let mut config = Config::for_database(database.clone());
    config.listen = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
    // Tests drive the job queue themselves.
    config.run_jobs = false;
    config.secret = pingyi::secrets::Secret::from_hex(TEST_SECRET).unwrap_or_else(|e| panic!("{e}"));
    config.files_dir = dir.path().join("files");
    // Small enough that a test can send a file just over it in one go.
    config.max_attachment_bytes = ATTACHMENT_LIMIT;
    adjust(&mut config);
    let app = App::build(config).await.unwrap_or_else(|e| panic!("{e}"));
    demo::load(app.store(), DemoOptions { units: TEST_UNITS, progress: false })
        .await
        .unwrap_or_else(|e| panic!("demo: {e}"));
    let addr = app.local_addr();
    let store = app.store().clone();
    let ratings = app.state().ratings.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp { addr, store, ratings, database, shutdown: Some(tx), _dir: dir, pg_db }
}

/// A second server process over the same database as a [`TestApp`] (as several `pingyi serve`
/// processes share one PostgreSQL), in this test process; stops when dropped.
pub struct OtherServer {
    pub addr: SocketAddr,
    pub ratings: std::sync::Arc<pingyi::ingest::RatingService>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    /// Starts another server over this app's database (no demo data loaded again).
    pub async fn another_server(&self) -> OtherServer {
        let mut config = Config::for_database(self.database.clone());
        config.listen = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
        config.run_jobs = false;
        config.secret = pingyi::secrets::Secret::from_hex(TEST_SECRET).unwrap_or_else(|e| panic!("{e}"));
        config.files_dir = self._dir.path().join("files");
        config.max_attachment_bytes = ATTACHMENT_LIMIT;
        let app = App::build(config).await.unwrap_or_else(|e| panic!("{e}"));
        let addr = app.local_addr();
        let ratings = app.state().ratings.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        OtherServer { addr, ratings, shutdown: Some(tx) }
    }
}

impl Drop for OtherServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((admin, name)) = self.pg_db.take() {
            // Drop the test database from a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A client with its own cookie jar and, once logged in, its CSRF token.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's `files_dir` (evidence, poster builds).
    pub fn files_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("files")
    }

    /// A client with no session.
    pub fn anonymous(&self) -> Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        Client { http, base: self.url(""), csrf: None }
    }

    /// A client logged in as a demo user.
    pub async fn login(&self, username: &str) -> Client {
        let mut c = self.anonymous();
        let resp =
            c.post_json("/api/v1/session", &serde_json::json!({"username": username, "password": DEMO_PASSWORD})).await;
        assert_eq!(resp.status(), StatusCode::OK, "login as {username}");
        let body: Value = resp.json().await.unwrap_or_default();
        c.csrf = body["csrf_token"].as_str().map(str::to_owned);
        c
    }

    /// Runs the real `pingyi` binary against this app's database.
    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pingyi"))
            .arg("--database")
            .arg(match &self.database {
                DatabaseUrl::Sqlite(p) => p.display().to_string(),
                DatabaseUrl::Postgres(u) => u.clone(),
            })
            .args(args)
            .current_dir(self._dir.path())
            .env("PINGYI_SECRET_KEY", TEST_SECRET)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(mut s) = child.stdin.take() {
            let _ = s.write_all(stdin.as_bytes());
        }
        child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Number of audit rows.
    pub async fn audit_rows(&self) -> i64 {
        sqlx::query_scalar::<_, i64>("select cast(count(*) as bigint) from audit_log")
            .fetch_one(self.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Client {
    pub async fn get(&self, path: &str) -> Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap_or_else(|e| panic!("{e}"))
    }

    fn with_csrf(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.csrf {
            Some(t) => rb.header("x-csrf-token", t),
            None => rb,
        }
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        let rb = self.http.post(format!("{}{path}", self.base)).json(body);
        self.with_csrf(rb).send().await.unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn post_body(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        let rb = self.http.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        self.with_csrf(rb).send().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// POSTs a page's form as a browser does: urlencoded, with the CSRF token as a field.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.extend_pairs(fields);
        if let Some(t) = &self.csrf {
            body.append_pair("_csrf", t);
        }
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn delete(&self, path: &str) -> Response {
        let rb = self.http.delete(format!("{}{path}", self.base));
        self.with_csrf(rb).send().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// GET and decode JSON, asserting the status.
    pub async fn get_json(&self, path: &str, status: StatusCode) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), status, "GET {path}");
        resp.json().await.unwrap_or_default()
    }
}

/// The error code of a JSON error body.
pub async fn error_code(resp: Response) -> String {
    let v: Value = resp.json().await.unwrap_or_default();
    v["error"]["code"].as_str().unwrap_or_default().to_owned()
}
