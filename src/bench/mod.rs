//! `pingyi bench ratings`: measures durable rating ingestion against a no-op endpoint of the
//! same server in the same run, on SQLite or PostgreSQL, and records the figures.
//!
//! The server runs as a child process (`pingyi serve`) over a fresh database with a small demo
//! city; this process is the load generator: plain HTTP/1.1 keep-alive connections on
//! loopback, written here so that nothing but the server is measured.

pub mod cpu;
pub mod dashboard;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// For PostgreSQL: a server URL under which a fresh database is created and dropped.
    pub postgres_url: String,
    /// How long each phase runs.
    pub duration: Duration,
    /// Concurrent connections in the closed-loop phases.
    pub connections: usize,
    /// Requests per second in the fixed-rate phase.
    pub rate: u32,
    /// Where to record the figures (a section of this Markdown file is replaced).
    pub record: Option<PathBuf>,
    /// The command line, for the record.
    pub command: String,
}

/// One phase's figures.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Name.
    pub name: String,
    /// Successful responses.
    pub ok: u64,
    /// Failed or unexpected responses.
    pub errors: u64,
    /// Seconds the phase ran.
    pub seconds: f64,
    /// Latencies, ms, sorted.
    pub latencies: Vec<f64>,
    /// The CPU the phase used, where `/proc` could tell.
    pub cpu: Option<cpu::Usage>,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }

    fn row(&self) -> String {
        let per_request = |s: f64| format!("{:.0}", s * 1e6 / self.ok.max(1) as f64);
        let (server, client, busy) = match &self.cpu {
            Some(u) => (per_request(u.server_s), per_request(u.client_s), format!("{:.0}%", u.machine_busy * 100.0)),
            None => ("?".into(), "?".into(), "?".into()),
        };
        format!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {server} | {client} | {busy} |",
            self.name,
            self.per_second(),
            self.pct(0.5),
            self.pct(0.9),
            self.pct(0.99),
            self.latencies.last().copied().unwrap_or(f64::NAN),
            self.errors
        )
    }
}

struct Server {
    child: Child,
    port: u16,
    db: String,
    cleanup: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_cli(exe: &Path, db: &str, dir: &Path, args: &[&str]) -> Result<(), String> {
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

async fn start_server(opts: &BenchOptions) -> Result<Server, String> {
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

async fn admin_sql(url: &str, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.map_err(|e| format!("{url}: {e}"))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::with_capacity(4096) })
    }

    /// Sends one request and reads the whole response; returns the status.
    async fn send(&mut self, request: &[u8]) -> std::io::Result<u16> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).map_err(std::io::Error::other)?;
                let status: u16 = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| std::io::Error::other("bad status"))?;
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                            .map(|(_, v)| v.trim())
                    })
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    self.read_more().await?;
                }
                return Ok(status);
            }
            self.read_more().await?;
        }
    }

    async fn read_more(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn noop_request() -> Vec<u8> {
    b"GET /healthz HTTP/1.1\r\nhost: bench\r\n\r\n".to_vec()
}

fn rating_requests(codes: &[String]) -> Vec<Vec<u8>> {
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let body = if i % 4 == 0 {
                format!("{{\"code\":\"{code}\",\"level\":1,\"reasons\":[\"not_done\"],\"comment\":\"排队太久\"}}")
            } else {
                format!("{{\"code\":\"{code}\",\"level\":5}}")
            };
            format!(
                "POST /api/v1/ratings HTTP/1.1\r\nhost: bench\r\nuser-agent: bench-{i}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        })
        .collect()
}

/// As many requests as `connections` connections can push for `duration`.
async fn closed_loop(
    name: &str,
    port: u16,
    requests: &[Vec<u8>],
    expect: u16,
    connections: usize,
    duration: Duration,
) -> Phase {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let requests = requests.to_vec();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut lat) = (0u64, 0u64, Vec::new());
            let Ok(mut conn) = Conn::open(port).await else { return (0, 1, lat) };
            let mut i = c;
            while Instant::now() < deadline {
                let t = Instant::now();
                match conn.send(&requests[i % requests.len()]).await {
                    Ok(s) if s == expect => {
                        ok += 1;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        match Conn::open(port).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
                i += connections;
            }
            (ok, errors, lat)
        }));
    }
    collect(name, started, tasks).await
}

/// Requests at a fixed rate, each timed from when it was due (so a stall counts fully).
async fn fixed_rate(name: &str, port: u16, requests: &[Vec<u8>], expect: u16, rate: u32, duration: Duration) -> Phase {
    let total = (rate as f64 * duration.as_secs_f64()) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let connections = 64usize;
    let started = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let requests = requests.to_vec();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut lat) = (0u64, 0u64, Vec::new());
            let Ok(mut conn) = Conn::open(port).await else { return (0, 1, lat) };
            let mut n = c as u64;
            while n < total {
                let due = started + interval * n as u32;
                tokio::time::sleep_until(due.into()).await;
                match conn.send(&requests[n as usize % requests.len()]).await {
                    Ok(s) if s == expect => {
                        ok += 1;
                        lat.push(due.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(_) => errors += 1,
                    Err(_) => errors += 1,
                }
                n += connections as u64;
            }
            (ok, errors, lat)
        }));
    }
    collect(name, started, tasks).await
}

type Outcome = (u64, u64, Vec<f64>);

async fn collect(name: &str, started: Instant, tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> Phase {
    let mut phase = Phase { name: name.to_owned(), ok: 0, errors: 0, seconds: 0.0, latencies: Vec::new(), cpu: None };
    for t in tasks {
        if let Ok((ok, errors, lat)) = t.await {
            phase.ok += ok;
            phase.errors += errors;
            phase.latencies.extend(lat);
        } else {
            phase.errors += 1;
        }
    }
    phase.seconds = started.elapsed().as_secs_f64();
    phase.latencies.sort_by(f64::total_cmp);
    phase
}

/// Runs the rating benchmark and prints (and optionally records) its figures.
pub async fn ratings(opts: BenchOptions) -> Result<String, String> {
    let server = start_server(&opts).await?;
    let db_codes = codes_of(&server).await?;
    let port = server.port;
    let noop = vec![noop_request()];
    let rate_reqs = rating_requests(&db_codes);
    eprintln!("warming up …");
    closed_loop("warm-up", port, &noop, 200, 4, Duration::from_secs(1)).await;
    let warm = closed_loop("warm-up", port, &rate_reqs, 201, 4, Duration::from_secs(1)).await;
    let pid = server.child.id();
    eprintln!("no-op endpoint, {} connections, {:?} …", opts.connections, opts.duration);
    let t0 = cpu::sample(pid);
    let mut noop_phase =
        closed_loop("GET /healthz (no-op), max", port, &noop, 200, opts.connections, opts.duration).await;
    let t1 = cpu::sample(pid);
    noop_phase.cpu = cpu::between(&t0, &t1);
    eprintln!("ratings, {} connections, {:?} …", opts.connections, opts.duration);
    let mut rating_phase =
        closed_loop("POST /api/v1/ratings, max", port, &rate_reqs, 201, opts.connections, opts.duration).await;
    let t2 = cpu::sample(pid);
    rating_phase.cpu = cpu::between(&t1, &t2);
    eprintln!("ratings at {} req/s, {:?} …", opts.rate, opts.duration);
    let mut fixed = fixed_rate(
        &format!("POST /api/v1/ratings at {} req/s", opts.rate),
        port,
        &rate_reqs,
        201,
        opts.rate,
        opts.duration,
    )
    .await;
    fixed.cpu = cpu::between(&t2, &cpu::sample(pid));
    let stored = stored_count(&server).await?;
    let batches = batch_figures(port).await;
    let cleanup = server.cleanup.clone();
    drop(server);
    if let Some((admin, name)) = cleanup {
        admin_sql(&admin, &format!("drop database if exists {name} with (force)")).await?;
    }

    let ratio = rating_phase.per_second() / noop_phase.per_second();
    let sent = warm.ok + rating_phase.ok + fixed.ok;
    let mut report = String::new();
    report.push_str(&format!(
        "Engine: **{}**; {} connections for the closed-loop phases, {:.0} s each; fixed-rate phase {} req/s over 64 connections, latency measured from each request's due time.\n\n",
        if opts.engine == "postgres" { "PostgreSQL" } else { "SQLite" },
        opts.connections,
        opts.duration.as_secs_f64(),
        opts.rate
    ));
    report.push_str("| phase | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/req | load generator CPU µs/req | machine busy |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for p in [&noop_phase, &rating_phase, &fixed] {
        report.push_str(&p.row());
        report.push('\n');
    }
    report.push_str(&format!(
        "\nRatings at **{:.0}%** of the no-op endpoint's throughput (target ≥ 50%); p99 at {} req/s **{:.2} ms** (target < 20 ms). {} ratings in the database, {} acknowledged with 201.\n",
        ratio * 100.0,
        opts.rate,
        fixed.pct(0.99),
        stored,
        sent
    ));
    if let Some((batches, rows, commit_s)) = batches {
        report.push_str(&format!(
            "Group commit: {batches} batches, {:.1} ratings per batch on average, {:.2} ms per batch write + commit.\n",
            rows / batches.max(1.0),
            commit_s * 1000.0 / batches.max(1.0)
        ));
    }
    println!("{report}");
    if let Some(path) = &opts.record {
        record(path, &opts, &report)?;
        eprintln!("recorded in {}", path.display());
    }
    Ok(report)
}

/// Deadline computations per second with the calendar's precomputed index, against the
/// obvious day-by-day walk over the same inputs in the same run.
pub fn deadlines(count: u32, record: Option<&Path>, command: &str) -> Result<String, String> {
    use crate::domain::calendar::{self as cal, cst};
    use chrono::TimeZone;
    let calendar = crate::calendar_data::load();
    // Deterministic inputs: start days spread over 2020–2026, 1 to 30 working days.
    let base = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).ok_or("date")?;
    let inputs: Vec<(chrono::DateTime<chrono::FixedOffset>, u32)> = (0..count)
        .map(|i| {
            let x = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let day = base + chrono::Duration::days((x % (365 * 7)) as i64);
            let t =
                cst().from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap_or_default()).single().unwrap_or_default();
            (t, 1 + (x >> 32) as u32 % 30)
        })
        .collect();
    let started = Instant::now();
    let mut check = 0i64;
    for (t, n) in &inputs {
        check += calendar.working_days_deadline(*t, *n).map_err(|e| e.to_string())?.timestamp() & 1;
    }
    let indexed = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut check2 = 0i64;
    for (t, n) in &inputs {
        let d = cal::nth_working_day_after_by_walking(&calendar, t.date_naive(), *n).map_err(|e| e.to_string())?;
        let end =
            cst().from_local_datetime(&d.and_hms_opt(23, 59, 59).unwrap_or_default()).single().unwrap_or_default();
        check2 += end.timestamp() & 1;
    }
    let walked = started.elapsed().as_secs_f64();
    if check != check2 {
        return Err("the two methods disagree".into());
    }
    let per_s = |secs: f64| count as f64 / secs;
    let report = format!(
        "| method | deadlines/s | ns each |\n|---|---|---|\n| precomputed working-day index | {:.0} | {:.0} |\n| day-by-day walk (baseline) | {:.0} | {:.0} |\n\n{count} deadlines of 1–30 working days from start days across 2020–2026, both methods over the same inputs (results checked equal). Index: **{:.1} M/s** (target ≥ 1 M/s), {:.0}× the walk.\n",
        per_s(indexed),
        indexed * 1e9 / count as f64,
        per_s(walked),
        walked * 1e9 / count as f64,
        per_s(indexed) / 1e6,
        walked / indexed,
    );
    println!("{report}");
    if let Some(path) = record {
        record_section(path, "deadlines", "Deadline computations", command, &report)?;
    }
    Ok(report)
}

/// Finding the SLA clocks due for a look among `count` open clocks: the sweep's indexed query
/// against the same query made to scan (the baseline), on a fresh database.
pub async fn sla_sweep(
    engine: &str,
    postgres_url: &str,
    count: i64,
    record: Option<&Path>,
    command: &str,
) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (url, cleanup) = fresh_database(engine, postgres_url, &dir.path().join("sla.db")).await?;
    let store = crate::store::Store::open(&url).await.map_err(|e| e.to_string())?;
    let base = 1_767_225_600_000i64; // 2026-01-01
    let spread_s = 30 * 86_400i64;
    eprintln!("inserting {count} open clocks …");
    let started = Instant::now();
    sqlx::query(
        "with recursive s(n) as (select cast(1 as bigint) union all select n + 1 from s where n < $1)
         insert into sla_clocks (id, subject, unit_code, handler, clock, started_at, due_at, state, colour, next_check_at,
             calendar_version, provisional, created_at, updated_at)
         select 'c' || n, 'bench', null, null, 'natural_minutes:100', $2, $2 + 6000000, 'running', 'green',
                $2 + ((n * 7919) % $3) * 1000, 'bench', 0, $2, $2 from s",
    )
    .bind(count)
    .bind(base)
    .bind(spread_s)
    .execute(store.pool())
    .await
    .map_err(|e| e.to_string())?;
    if engine == "postgres" {
        sqlx::query("analyze sla_clocks").execute(store.pool()).await.map_err(|e| e.to_string())?;
    }
    eprintln!("inserted in {:.1} s", started.elapsed().as_secs_f64());
    // 1% of the clocks are due.
    let now = base + spread_s * 10;
    let time = |sql: &'static str| {
        let store = store.clone();
        async move {
            let mut runs = Vec::new();
            let mut found = 0usize;
            for _ in 0..7 {
                let t = Instant::now();
                let ids: Vec<String> =
                    sqlx::query_scalar(sql).bind(now).fetch_all(store.pool()).await.map_err(|e| e.to_string())?;
                runs.push(t.elapsed().as_secs_f64() * 1000.0);
                found = ids.len();
            }
            runs.sort_by(f64::total_cmp);
            Ok::<_, String>((runs[runs.len() / 2], found))
        }
    };
    let (indexed, n1) = time("select id from sla_clocks where state = 'running' and next_check_at <= $1").await?;
    let (scan, n2) = time("select id from sla_clocks where state = 'running' and next_check_at + 0 <= $1").await?;
    if n1 != n2 {
        return Err(format!("the queries disagree: {n1} vs {n2}"));
    }
    store.close().await;
    if let Some(name) = cleanup {
        admin_sql(postgres_url, &format!("drop database if exists {name} with (force)")).await?;
    }
    let engine_name = if engine == "postgres" { "PostgreSQL" } else { "SQLite" };
    let report = format!(
        "| query | median ms (7 runs) | clocks found |\n|---|---|---|\n| sweep: `state = 'running' and next_check_at <= now` (index) | {indexed:.1} | {n1} |\n| baseline: the same forced to scan (`next_check_at + 0`) | {scan:.1} | {n2} |\n\n{count} open clocks on {engine_name}, 1% due. The sweep finds the due ones in **{indexed:.1} ms** (target < 100 ms), {:.0}× faster than a scan.\n",
        scan / indexed.max(0.001)
    );
    println!("{report}");
    if let Some(path) = record {
        record_section(path, &format!("sla-sweep {engine}"), &format!("SLA sweep on {engine_name}"), command, &report)?;
    }
    Ok(report)
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
            // Keep the query (e.g. `?host=/var/run/postgresql` for a Unix socket).
            let (url, query) = postgres_url.split_once('?').map_or((postgres_url, ""), |(u, q)| (u, q));
            let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
            let query = if query.is_empty() { String::new() } else { format!("?{query}") };
            Ok((crate::config::DatabaseUrl::Postgres(format!("{base}/{name}{query}")), Some(name)))
        }
        other => Err(format!("--engine: {other:?} is not sqlite or postgres")),
    }
}

/// (batches, rows, seconds spent writing) from the server's own metrics.
async fn batch_figures(port: u16) -> Option<(f64, f64, f64)> {
    let mut conn = Conn::open(port).await.ok()?;
    conn.send(b"GET /metrics HTTP/1.1\r\nhost: bench\r\n\r\n").await.ok()?;
    let text = String::from_utf8_lossy(&conn.buf).into_owned();
    let value = |name: &str| text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<f64>().ok()));
    Some((
        value("pingyi_rating_batches_total ")?,
        value("pingyi_rating_batch_rows_total ")?,
        value("pingyi_rating_commit_seconds_sum ")?,
    ))
}

async fn open_store(server: &Server) -> Result<crate::store::Store, String> {
    let url = crate::config::DatabaseUrl::parse(&server.db)?;
    crate::store::Store::connect(&url).await.map_err(|e| e.to_string())
}

/// The live codes of the demo's units and windows, read from the server's database.
async fn codes_of(server: &Server) -> Result<Vec<String>, String> {
    let store = open_store(server).await?;
    let codes: Vec<String> =
        sqlx::query_scalar("select token from rating_codes where revoked_at is null order by org_code limit 400")
            .fetch_all(store.pool())
            .await
            .map_err(|e| e.to_string())?;
    store.close().await;
    if codes.is_empty() { Err("the demo city has no rating codes".into()) } else { Ok(codes) }
}

async fn stored_count(server: &Server) -> Result<i64, String> {
    let store = open_store(server).await?;
    let n: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from ratings")
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    Ok(n)
}

fn record(path: &Path, opts: &BenchOptions, report: &str) -> Result<(), String> {
    let title = format!("Rating ingestion on {}", if opts.engine == "postgres" { "PostgreSQL" } else { "SQLite" });
    record_section(path, &format!("ratings {}", opts.engine), &title, &opts.command, report)
}

/// Replaces (or appends) the section `key` of a Markdown file.
fn record_section(path: &Path, key: &str, title: &str, command: &str, report: &str) -> Result<(), String> {
    let begin = format!("<!-- bench {key} begin -->");
    let end = format!("<!-- bench {key} end -->");
    let section = format!(
        "{begin}\n### {title}\n\nCommand: `{command}` (run {})\n\n{report}{end}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let new = match (text.find(&begin), text.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &text[..a], &text[b + end.len()..]),
        _ => format!("{}\n\n{section}\n", text.trim_end()),
    };
    std::fs::write(path, new).map_err(|e| format!("{}: {e}", path.display()))
}
