//! The server under test: `pingyi serve` as a child process over a fresh database with a small
//! demo city, and what the benchmark reads from that database.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::BenchOptions;
use super::load::Conn;

/// The running server; killed when dropped.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) port: u16,
    pub(super) db: String,
    pub(super) cleanup: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn run_cli(exe: &Path, db: &str, dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new(exe)
        .arg("--database")
        .arg(db)
        .args(args)
        .current_dir(dir)
        .env("PINGYI_SECRET_KEY", "5a".repeat(32))
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

pub(super) async fn start_server(opts: &BenchOptions) -> Result<Server, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (url, name) = fresh_database(&opts.engine, &opts.postgres_url, &dir.path().join("bench.db")).await?;
    let db = match url {
        crate::config::DatabaseUrl::Sqlite(path) => path.display().to_string(),
        crate::config::DatabaseUrl::Postgres(url) => url,
    };
    let cleanup = name.map(|n| (opts.postgres_url.clone(), n));
    run_cli(&exe, &db, dir.path(), &["demo", "--units", "200"])?;
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let child = Command::new(&exe)
        .arg("--database")
        .arg(&db)
        .args(["--log", "warn", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("PINGYI_SECRET_KEY", "5a".repeat(32))
        .env("PINGYI_RATING_INBOX", opts.inbox.as_str())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let server = Server { child, port, db, cleanup, _dir: dir };
    for _ in 0..300 {
        if let Ok(mut c) = Conn::open(port).await
            && c.send(b"GET /healthz HTTP/1.1\r\nhost: bench\r\n\r\n").await.is_ok_and(|s| s == 200)
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the server did not start".into())
}

pub(super) async fn admin_sql(url: &str, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.map_err(|e| format!("{url}: {e}"))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// How the server reached PostgreSQL (its connections to database `name`, counted while it
/// still runs): over the Unix socket or TCP, with TLS or without. Both cost the server CPU
/// per batch, so the figures depend on them.
pub(super) async fn postgres_transport(admin: &str, name: &str) -> Result<String, String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await.map_err(|e| format!("{admin}: {e}"))?;
    let (all, socket, tls): (i64, i64, i64) = sqlx::query_as(
        "select cast(count(*) as bigint),
                cast(count(*) filter (where a.client_addr is null) as bigint),
                cast(count(*) filter (where s.ssl) as bigint)
         from pg_stat_activity a left join pg_stat_ssl s on s.pid = a.pid
         where a.datname = $1 and a.pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_one(&mut conn)
    .await
    .map_err(|e| e.to_string())?;
    let over = match (socket, all - socket) {
        (_, 0) => "the Unix socket".to_owned(),
        (0, _) => "TCP".to_owned(),
        (s, t) => format!("the Unix socket ({s}) and TCP ({t})"),
    };
    let tls = match tls {
        0 => "without TLS".to_owned(),
        n if n == all => "with TLS".to_owned(),
        n => format!("{n} of them with TLS"),
    };
    Ok(format!("The server's {all} connections to PostgreSQL went over {over}, {tls}.\n\n"))
}

pub(super) async fn open_store(server: &Server) -> Result<crate::store::Store, String> {
    let url = crate::config::DatabaseUrl::parse(&server.db)?;
    crate::store::Store::connect(&url).await.map_err(|e| e.to_string())
}

/// The live codes of the demo's units and windows, read from the server's database.
pub(super) async fn codes_of(server: &Server) -> Result<Vec<String>, String> {
    let store = open_store(server).await?;
    let codes: Vec<String> =
        sqlx::query_scalar("select token from rating_codes where revoked_at is null order by org_code limit 400")
            .fetch_all(store.pool())
            .await
            .map_err(|e| e.to_string())?;
    store.close().await;
    if codes.is_empty() { Err("the demo city has no rating codes".into()) } else { Ok(codes) }
}

pub(super) async fn stored_count(server: &Server) -> Result<i64, String> {
    let store = open_store(server).await?;
    let n: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from ratings")
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    Ok(n)
}

/// A fresh database for a benchmark: a SQLite file at `sqlite_path`, or a new database under the
/// PostgreSQL server (whose name is returned, to drop afterwards).
pub(crate) async fn fresh_database(
    engine: &str,
    postgres_url: &str,
    sqlite_path: &Path,
) -> Result<(crate::config::DatabaseUrl, Option<String>), String> {
    match engine {
        "sqlite" => Ok((crate::config::DatabaseUrl::Sqlite(sqlite_path.to_path_buf()), None)),
        "postgres" => {
            let name = format!("pingyi_bench_{}", crate::store::new_secret(4));
            admin_sql(postgres_url, &format!("create database {name}")).await?;
            eprintln!("benchmark database {name} (dropped at the end)");
            // Keep the query (e.g. `?host=/var/run/postgresql` for a Unix socket).
            let (url, query) = postgres_url.split_once('?').map_or((postgres_url, ""), |(u, q)| (u, q));
            let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
            let query = if query.is_empty() { String::new() } else { format!("?{query}") };
            Ok((crate::config::DatabaseUrl::Postgres(format!("{base}/{name}{query}")), Some(name)))
        }
        other => Err(format!("--engine: {other:?} is not sqlite or postgres")),
    }
}
