//! `pingyi bench desk`: channel messages posted per second (plain messages, and problems that
//! open a desk request with its clock, numbered document serial, notices, webhook outbox and
//! audit row) against the no-op endpoint of the same server in the same run, with the server's
//! CPU time per request; then the time from a firm's problem to the reply-clock notice, both in
//! the cadre's inbox (written in the posting's transaction) and on the cadre's live project
//! page (the event stream).

use std::time::{Duration, Instant};

use super::load::closed_loop;
use super::server::{Server, start_server};
use super::{BenchOptions, admin_sql, cpu, noop_request, record_section};

const PROJECT: &str = "XN-ZD-001";

/// A logged-in session: the cookie and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn login(http: &reqwest::Client, port: u16, user: &str) -> Result<Session, String> {
    let r = http
        .post(format!("http://127.0.0.1:{port}/api/v1/session"))
        .json(&serde_json::json!({"username": user, "password": crate::demo::DEMO_PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("login {user}: {}", r.status()));
    }
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no session cookie")?
        .to_owned();
    let v: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
    Ok(Session { cookie, csrf: v["csrf_token"].as_str().unwrap_or_default().to_owned() })
}

fn message_request(s: &Session, i: usize, problem: bool) -> Vec<u8> {
    let body = if problem {
        serde_json::json!({"body": format!("第{i}号问题：施工用电报装未接，请协调。"), "problem": true, "title": format!("用电报装 {i}")})
    } else {
        serde_json::json!({"body": format!("第{i}条消息：今天现场施工正常。")})
    }
    .to_string();
    format!(
        "POST /api/v1/projects/{PROJECT}/messages HTTP/1.1\r\nhost: bench\r\ncookie: {}\r\nx-csrf-token: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        s.cookie,
        s.csrf,
        body.len()
    )
    .into_bytes()
}

/// From a firm's problem to the notice on the cadre's live page: `samples` problems, each timed
/// until the cadre's stream delivers its request.
async fn notice_latency(
    http: &reqwest::Client,
    port: u16,
    firm: &Session,
    cadre: &Session,
    samples: usize,
) -> Result<Vec<f64>, String> {
    let mut stream = http
        .get(format!("http://127.0.0.1:{port}/api/v1/projects/{PROJECT}/stream"))
        .header("cookie", &cadre.cookie)
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = String::new();
    let mut read_until = async |stream: &mut reqwest::Response, needle: &str| -> Result<bool, String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !seen.contains(needle) {
            match tokio::time::timeout_at(deadline, stream.chunk()).await {
                Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) => return Ok(false),
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => return Err(format!("no notice of {needle} within 10 s")),
            }
        }
        Ok(true)
    };
    read_until(&mut stream, "event: ready").await?;
    let mut latencies = Vec::new();
    for i in 0..samples {
        let title = format!("时延测量 {i} {}", crate::store::now_ms());
        let started = Instant::now();
        let r = http
            .post(format!("http://127.0.0.1:{port}/api/v1/projects/{PROJECT}/messages"))
            .header("cookie", &firm.cookie)
            .header("x-csrf-token", &firm.csrf)
            .json(&serde_json::json!({"body": "请协调", "problem": true, "title": title}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status().as_u16() != 201 {
            return Err(format!("problem {i}: {}", r.status()));
        }
        // A stream ends after 25 seconds, as browsers reconnect: so does this.
        if !read_until(&mut stream, &title).await? {
            stream = http
                .get(format!("http://127.0.0.1:{port}/api/v1/projects/{PROJECT}/stream?after=0"))
                .header("cookie", &cadre.cookie)
                .header("accept", "text/event-stream")
                .send()
                .await
                .map_err(|e| e.to_string())?;
            read_until(&mut stream, &title).await?;
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        // Spread the samples over the stream's one-second look.
        tokio::time::sleep(Duration::from_millis(137 + (i as u64 * 211) % 700)).await;
    }
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs the benchmark and prints (and optionally records) its figures.
pub async fn run(opts: BenchOptions, samples: usize) -> Result<String, String> {
    let server: Server = start_server(&opts).await?;
    let port = server.port;
    let pid = server.child.id();
    // Plain HTTP on loopback, no overall timeout (the stream stays open); the client still wants
    // the process's TLS provider chosen, which building an `Outbound` does.
    let _ = crate::jobs::Outbound::new(None, String::new());
    let http = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
    let firm = login(&http, port, "enterprise").await?;
    let cadre = login(&http, port, "cadre").await?;
    let noop = vec![noop_request()];
    let plain: Vec<Vec<u8>> = (0..1000).map(|i| message_request(&firm, i, false)).collect();
    let problems: Vec<Vec<u8>> = (0..1000).map(|i| message_request(&firm, i, true)).collect();
    eprintln!("warming up …");
    closed_loop("warm-up", port, &noop, 200, 4, Duration::from_secs(1)).await;
    closed_loop("warm-up", port, &plain, 201, 4, Duration::from_secs(1)).await;
    let mut phases = Vec::new();
    for &connections in &opts.connections {
        for (name, requests, expect) in [
            ("GET /healthz (no-op)", &noop, 200),
            ("POST a channel message", &plain, 201),
            ("POST a problem (opens a desk request)", &problems, 201),
            ("GET /healthz (no-op) again", &noop, 200),
        ] {
            eprintln!("{name}, {connections} connections, {:?} …", opts.duration);
            let t0 = cpu::sample(pid);
            let mut phase = closed_loop(
                &format!("{name}, {connections} connections"),
                port,
                requests,
                expect,
                connections,
                opts.duration,
            )
            .await;
            phase.cpu = cpu::between(&t0, &cpu::sample(pid));
            phases.push(phase);
        }
    }
    eprintln!("problem → notice on the cadre's live page, {samples} samples …");
    let latencies = notice_latency(&http, port, &firm, &cadre, samples).await?;
    // The inbox notice is written in the posting's transaction: every request has its notice
    // the moment the post is answered.
    let store = super::server::open_store(&server).await?;
    let (requests, told): (i64, i64) = sqlx::query_as(
        "select (select cast(count(*) as bigint) from desk_requests where title like '用电报装 %' or title like '时延测量 %'),
                (select cast(count(*) as bigint) from inbox i join users u on u.id = i.user_id
                 where u.username = 'cadre' and i.kind = 'desk' and i.title like '【企业诉求】%')",
    )
    .fetch_one(store.pool())
    .await
    .map_err(|e| e.to_string())?;
    store.close().await;
    let cleanup = server.cleanup.clone();
    drop(server);
    if let Some((admin, name)) = cleanup {
        admin_sql(&admin, &format!("drop database if exists {name} with (force)")).await?;
    }

    let noop_best = phases.iter().filter(|p| p.name.contains("no-op")).map(|p| p.per_second()).fold(0.0, f64::max);
    let best = |what: &str| phases.iter().filter(|p| p.name.contains(what)).map(|p| p.per_second()).fold(0.0, f64::max);
    let cpu_per = |what: &str| {
        phases
            .iter()
            .filter(|p| p.name.contains(what))
            .filter_map(|p| p.cpu.map(|u| u.server_s * 1e6 / p.ok.max(1) as f64))
            .fold(f64::NAN, |a, b| if a.is_nan() { b } else { a.min(b) })
    };
    let mut report = format!(
        "Engine: **{}**; closed-loop phases of {:.0} s over {} connections, as the demo firm's user posting in its project's channel (session cookie and CSRF token, as the pages do).\n\n\
         | phase | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/req | load generator CPU µs/req | machine busy |\n|---|---|---|---|---|---|---|---|---|---|\n",
        if opts.engine == "postgres" { "PostgreSQL" } else { "SQLite" },
        opts.duration.as_secs_f64(),
        opts.connections.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" and "),
    );
    for p in &phases {
        report.push_str(&p.row());
        report.push('\n');
    }
    let (noop_cpu, plain_cpu, problem_cpu) = (cpu_per("no-op"), cpu_per("channel message"), cpu_per("problem"));
    report.push_str(&format!(
        "\nChannel messages: **{:.0}/s** ({:.0}% of the no-op's {:.0}/s); problems opening a request: **{:.0}/s** ({:.0}%). Server CPU per request: no-op {noop_cpu:.0} µs, message {plain_cpu:.0} µs ({:.1}×), problem {problem_cpu:.0} µs ({:.1}×): the CPU ratio is the figure that holds across runs on this shared two-core machine.\n\n\
         From a firm's problem to its notice: in the cadre's inbox at once ({told} notices for {requests} requests, each written in the posting's transaction, so present when the post is answered); on the cadre's live project page (the event stream, which looks at the store once a second) p50 **{:.0} ms**, p95 {:.0} ms, max {:.0} ms over {} problems. Target: the reply clock's warnings reach the cadre well within the 10 minutes.\n",
        best("channel message"),
        best("channel message") / noop_best * 100.0,
        noop_best,
        best("problem"),
        best("problem") / noop_best * 100.0,
        plain_cpu / noop_cpu,
        problem_cpu / noop_cpu,
        pct(&latencies, 0.5),
        pct(&latencies, 0.95),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len(),
    ));
    println!("{report}");
    // A refused post is a defect, not a figure: fail, and record nothing.
    let errors: u64 = phases.iter().map(|p| p.errors).sum();
    if errors > 0 {
        return Err(format!("{errors} requests were refused or failed"));
    }
    if requests > told {
        return Err(format!("{} requests have no notice in the cadre's inbox", requests - told));
    }
    if let Some(path) = &opts.record {
        let engine = if opts.engine == "postgres" { "PostgreSQL" } else { "SQLite" };
        record_section(
            path,
            &format!("desk {}", opts.engine),
            &format!("Enterprise desk on {engine}"),
            &opts.command,
            &report,
        )?;
        eprintln!("recorded in {}", path.display());
    }
    Ok(report)
}
