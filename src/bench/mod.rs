//! `pingyi bench ratings`: measures durable rating ingestion against a no-op endpoint of the
//! same server in the same run, on SQLite or PostgreSQL, and records the figures.
//!
//! The server runs as a child process (`pingyi serve`) over a fresh database with a small demo
//! city (`server.rs`); this process is the load generator (`load.rs`): plain HTTP/1.1 keep-alive connections
//! on loopback, written here so that nothing but the server is measured. The other benchmarks:
//! [`dashboard`], and the deadline and SLA-sweep ones in `sla`.

pub mod cpu;
pub mod dashboard;
pub mod desk;
mod load;
mod server;
mod sla;

use load::Conn;
pub use load::Phase;
use load::{closed_loop, fixed_rate};
use server::{Server, admin_sql, codes_of, fresh_database, open_store, postgres_transport, start_server, stored_count};
pub use sla::{deadlines, sla_sweep};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// For PostgreSQL: a server URL under which a fresh database is created and dropped.
    pub postgres_url: String,
    /// How long each phase runs.
    pub duration: Duration,
    /// Concurrent connections in the closed-loop phases: one round of phases for each.
    pub connections: Vec<usize>,
    /// Requests per second in the fixed-rate phase.
    pub rate: u32,
    /// The server's rating inbox mode.
    pub inbox: crate::ingest::InboxMode,
    /// Where to record the figures (a section of this Markdown file is replaced).
    pub record: Option<PathBuf>,
    /// The command line, for the record.
    pub command: String,
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
    // The warm-up's ratings may have gone through the inbox: project them before measuring.
    drain(&server).await?;
    let pid = server.child.id();
    // One round per connection count: the no-op, the ratings, their projection, the no-op again
    // (this machine's speed drifts within minutes: the ratio is taken against the fastest no-op).
    let mut rounds = Vec::new();
    for &connections in &opts.connections {
        let phase = |what: &str| format!("{what}, {connections} connections");
        eprintln!("no-op endpoint, {connections} connections, {:?} …", opts.duration);
        let t0 = cpu::sample(pid);
        let mut before =
            closed_loop(&phase("GET /healthz (no-op)"), port, &noop, 200, connections, opts.duration).await;
        let t1 = cpu::sample(pid);
        before.cpu = cpu::between(&t0, &t1);
        eprintln!("ratings, {connections} connections, {:?} …", opts.duration);
        let mut rated =
            closed_loop(&phase("POST /api/v1/ratings"), port, &rate_reqs, 201, connections, opts.duration).await;
        rated.cpu = cpu::between(&t1, &cpu::sample(pid));
        let left = drain(&server).await?;
        eprintln!("no-op endpoint again, {connections} connections, {:?} …", opts.duration);
        let t3 = cpu::sample(pid);
        let mut after =
            closed_loop(&phase("GET /healthz (no-op) again"), port, &noop, 200, connections, opts.duration).await;
        after.cpu = cpu::between(&t3, &cpu::sample(pid));
        rounds.push(Round { connections, before, rated, left, after });
    }
    let t2 = cpu::sample(pid);
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
    drain(&server).await?;
    let stored = stored_count(&server).await?;
    let batches = batch_figures(port).await;
    let cleanup = server.cleanup.clone();
    let transport = match &cleanup {
        Some((admin, name)) => Some(postgres_transport(admin, name).await?),
        None => None,
    };
    drop(server);
    if let Some((admin, name)) = cleanup {
        admin_sql(&admin, &format!("drop database if exists {name} with (force)")).await?;
    }

    let noop_best = rounds.iter().flat_map(|r| [r.before.per_second(), r.after.per_second()]).fold(0.0, f64::max);
    let best = rounds
        .iter()
        .max_by(|a, b| a.rated.per_second().total_cmp(&b.rated.per_second()))
        .ok_or("no connection count to run")?;
    let ratio = best.rated.per_second() / noop_best;
    let sent = warm.ok + rounds.iter().map(|r| r.rated.ok).sum::<u64>() + fixed.ok;
    let counts: Vec<String> = opts.connections.iter().map(|c| c.to_string()).collect();
    let mut report = String::new();
    report.push_str(&format!(
        "Engine: **{}**; closed-loop phases over {} connections, {:.0} s each (for each count: the no-op, the ratings, then the no-op again once the ratings are projected); fixed-rate phase {} req/s over 64 connections, latency measured from each request's due time, started once the previous phase's ratings are all projected and checkpointed.\n\n",
        if opts.engine == "postgres" { "PostgreSQL" } else { "SQLite" },
        counts.join(" and "),
        opts.duration.as_secs_f64(),
        opts.rate
    ));
    if let Some(t) = &transport {
        report.push_str(t);
    }
    report.push_str("| phase | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/req | load generator CPU µs/req | machine busy |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for p in rounds.iter().flat_map(|r| [&r.before, &r.rated, &r.after]).chain([&fixed]) {
        report.push_str(&p.row());
        report.push('\n');
    }
    report.push_str(&format!(
        "\nRatings at **{:.0}%** of the no-op endpoint's throughput (the most ratings a second, over {} connections, against the fastest no-op phase; target ≥ 50%); p99 at {} req/s **{:.2} ms** (target < 20 ms). {} ratings in the database, {} acknowledged with 201.\n",
        ratio * 100.0,
        best.connections,
        opts.rate,
        fixed.pct(0.99),
        stored,
        sent
    ));
    if let Some(BatchFigures { inboxed, projected, projection_seconds, .. }) = &batches {
        let phase = opts.duration.as_secs_f64();
        let (rated, left) = (&best.rated, &best.left);
        let sustained = rated.ok as f64 / (phase + left.seconds);
        report.push_str(&format!(
            "Rating inbox (`{}`): {inboxed:.0} of the {sent} ratings were committed to the inbox and projected later ({projected:.0} projected, {:.0} a second of projection time). When the closed-loop phase over {} connections ended {} ratings were still waiting; the server projected them in {:.1} s. End to end (every rating of that phase in ratings, rollups and cases) the phase sustained **{:.0} ratings/s**, {:.0}% of the no-op.\n",
            opts.inbox.as_str(),
            projected / projection_seconds.max(1e-9),
            best.connections,
            left.waiting,
            left.seconds,
            sustained,
            sustained / noop_best * 100.0
        ));
    }
    if let Some(BatchFigures { batches, rows, seconds, steps, .. }) = batches {
        let per_batch = |s: f64| s * 1000.0 / batches.max(1.0);
        let steps: Vec<String> = steps.iter().map(|(step, s)| format!("{step} {:.2}", per_batch(*s))).collect();
        report.push_str(&format!(
            "Group commit: {batches} batches, {:.1} ratings per batch on average, {:.2} ms per batch write + commit (ms per step: {}).\n",
            rows / batches.max(1.0),
            per_batch(seconds),
            steps.join(", ")
        ));
    }
    println!("{report}");
    // A rating acknowledged but not stored is a loss, not a figure: fail, and record nothing.
    // (More stored than acknowledged is possible: a request the load generator gave up on.)
    if stored < i64::try_from(sent).unwrap_or(i64::MAX) {
        return Err(format!("{} ratings acknowledged with 201 are not in the database", sent as i64 - stored));
    }
    if let Some(path) = &opts.record {
        record(path, &opts, &report)?;
        eprintln!("recorded in {}", path.display());
    }
    Ok(report)
}

/// The phases run over one connection count.
struct Round {
    connections: usize,
    /// The no-op before the ratings.
    before: Phase,
    /// The ratings.
    rated: Phase,
    /// What the ratings left in the inbox.
    left: Drained,
    /// The no-op once they are projected.
    after: Phase,
}

/// What the server's own metrics say of its group commits over the whole run.
struct BatchFigures {
    /// Batches committed.
    batches: f64,
    /// Ratings in them.
    rows: f64,
    /// Seconds spent writing and committing them.
    seconds: f64,
    /// Of those, seconds per step of a batch (`store::ratings::Steps`), in order.
    steps: Vec<(&'static str, f64)>,
    /// Ratings committed to the rating inbox.
    inboxed: f64,
    /// Inbox ratings projected.
    projected: f64,
    /// Seconds spent projecting them.
    projection_seconds: f64,
}

async fn batch_figures(port: u16) -> Option<BatchFigures> {
    let mut conn = Conn::open(port).await.ok()?;
    conn.send(b"GET /metrics HTTP/1.1\r\nhost: bench\r\n\r\n").await.ok()?;
    let text = String::from_utf8_lossy(&conn.buf).into_owned();
    let value = |name: &str| text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<f64>().ok()));
    let steps = crate::store::ratings::Steps::default()
        .named()
        .iter()
        .filter_map(|(step, _)| {
            Some((*step, value(&format!("pingyi_rating_batch_step_seconds_total{{step=\"{step}\"}} "))?))
        })
        .collect();
    Some(BatchFigures {
        batches: value("pingyi_rating_batches_total ")?,
        rows: value("pingyi_rating_batch_rows_total ")?,
        seconds: value("pingyi_rating_commit_seconds_sum ")?,
        steps,
        inboxed: value("pingyi_rating_inbox_appended_total ")?,
        projected: value("pingyi_rating_inbox_projected_total ")?,
        projection_seconds: value("pingyi_rating_inbox_projection_seconds_total ")?,
    })
}

/// What waited in the rating inbox at the end of a phase, and how long the server took to
/// project it.
struct Drained {
    waiting: i64,
    seconds: f64,
}

/// Waits (up to ten minutes) until the server has projected everything in the rating inbox,
/// then has the database write what the burst left dirty (a checkpoint), so that the next
/// phase measures its own load, not the disk flushing the last one's.
async fn drain(server: &Server) -> Result<Drained, String> {
    let store = open_store(server).await?;
    let started = std::time::Instant::now();
    let mut waiting = None;
    loop {
        let (n, _) = crate::store::ratings::inbox::backlog(&store).await.map_err(|e| e.to_string())?;
        let first = *waiting.get_or_insert(n);
        if n == 0 {
            let checkpoint = store.dialect().checkpoint();
            if let Err(e) = sqlx::query(checkpoint).execute(store.pool()).await {
                eprintln!("(no checkpoint after the phase: {e})");
            }
            // And the operating system what it still holds dirty.
            if let Err(e) = Command::new("sync").status() {
                eprintln!("(no sync after the phase: {e})");
            }
            store.close().await;
            return Ok(Drained {
                waiting: first,
                seconds: if first == 0 { 0.0 } else { started.elapsed().as_secs_f64() },
            });
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("{n} ratings still in the inbox after ten minutes"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
