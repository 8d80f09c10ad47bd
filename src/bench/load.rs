//! The load generator of `pingyi bench ratings`: plain HTTP/1.1 keep-alive connections on
//! loopback, driven closed-loop (as fast as answers come) or at a fixed rate, each phase's
//! answers, errors and latencies collected into a [`Phase`].

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cpu;

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
    pub(super) fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    pub(super) fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }

    pub(super) fn row(&self) -> String {
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

/// One keep-alive HTTP/1.1 connection.
pub(super) struct Conn {
    stream: TcpStream,
    pub(super) buf: Vec<u8>,
}

impl Conn {
    pub(super) async fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::with_capacity(4096) })
    }

    /// Sends one request and reads the whole response; returns the status.
    pub(super) async fn send(&mut self, request: &[u8]) -> std::io::Result<u16> {
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

/// As many requests as `connections` connections can push for `duration`.
pub(super) async fn closed_loop(
    name: &str,
    port: u16,
    requests: &[Vec<u8>],
    expect: u16,
    connections: usize,
    duration: Duration,
) -> Phase {
    let started = Instant::now();
    let deadline = started + duration;
    // Each request is due as soon as the previous one on its connection is answered.
    let next = move |c: usize, k: u64| {
        let now = Instant::now();
        (now < deadline).then_some((c + k as usize * connections, now))
    };
    drive(name, port, requests, expect, connections, started, next).await
}

/// Requests at a fixed rate, each timed from when it was due (so a stall counts fully).
pub(super) async fn fixed_rate(
    name: &str,
    port: u16,
    requests: &[Vec<u8>],
    expect: u16,
    rate: u32,
    duration: Duration,
) -> Phase {
    let total = (rate as f64 * duration.as_secs_f64()) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let connections = 64usize;
    let started = Instant::now() + Duration::from_millis(50);
    // Request n is due at n intervals from the start, on connection n mod 64.
    let next = move |c: usize, k: u64| {
        let n = c as u64 + k * connections as u64;
        (n < total).then(|| (n as usize, started + interval * n as u32))
    };
    drive(name, port, requests, expect, connections, started, next).await
}

/// Runs `connections` connections, each sending the requests `next(connection, k)` names for
/// its k-th turn (an index into `requests` and when it is due; `None` ends the connection), and
/// times each from when it was due. A connection that fails is opened again.
async fn drive<F>(
    name: &str,
    port: u16,
    requests: &[Vec<u8>],
    expect: u16,
    connections: usize,
    started: Instant,
    next: F,
) -> Phase
where
    F: Fn(usize, u64) -> Option<(usize, Instant)> + Copy + Send + 'static,
{
    let mut tasks = Vec::new();
    for c in 0..connections {
        let requests = requests.to_vec();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut lat) = (0u64, 0u64, Vec::new());
            let Ok(mut conn) = Conn::open(port).await else { return (0, 1, lat) };
            let mut k = 0;
            while let Some((i, due)) = next(c, k) {
                k += 1;
                if due > Instant::now() {
                    tokio::time::sleep_until(due.into()).await;
                }
                match conn.send(&requests[i % requests.len()]).await {
                    Ok(s) if s == expect => {
                        ok += 1;
                        lat.push(due.elapsed().as_secs_f64() * 1000.0);
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
