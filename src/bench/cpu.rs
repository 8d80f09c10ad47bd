//! Where a benchmark phase's CPU went: the server process's, the load generator's (this
//! process) and the whole machine's busy share, read from `/proc` before and after the phase.
//! On two cores the three compete, so a throughput ratio means little without them.

/// CPU counters at one moment, in clock ticks (`None` where `/proc` could not be read).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    server: Option<u64>,
    own: Option<u64>,
    machine: Option<(u64, u64)>,
}

/// CPU used between two samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Seconds of CPU the server process used.
    pub server_s: f64,
    /// Seconds of CPU the load generator used.
    pub client_s: f64,
    /// Share of all cores' time that was busy, 0–1.
    pub machine_busy: f64,
}

/// Reads the counters now.
pub fn sample(server_pid: u32) -> Sample {
    Sample {
        server: process_ticks(&format!("/proc/{server_pid}/stat")),
        own: process_ticks("/proc/self/stat"),
        machine: machine_ticks(),
    }
}

/// The CPU used from `a` to `b`, if every counter could be read both times.
pub fn between(a: &Sample, b: &Sample) -> Option<Usage> {
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let (busy_a, total_a) = a.machine?;
    let (busy_b, total_b) = b.machine?;
    let total = total_b.checked_sub(total_a).filter(|t| *t > 0)?;
    Some(Usage {
        server_s: b.server?.checked_sub(a.server?)? as f64 / hz,
        client_s: b.own?.checked_sub(a.own?)? as f64 / hz,
        machine_busy: busy_b.saturating_sub(busy_a) as f64 / total as f64,
    })
}

/// utime + stime of a process (fields 14 and 15 of its `stat`, counted after the command name,
/// which may hold spaces and is closed by the last `)`).
fn process_ticks(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_process(&text)
}

fn parse_process(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so utime (14) and stime (15) are its 12th and 13th.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// (busy, total) ticks of all cores: the first line of `/proc/stat`.
fn machine_ticks() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine(&text)
}

fn parse_machine(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().map(|f| f.parse().ok()).collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7).copied().unwrap_or(0);
    let idle = v.get(3)? + v.get(4)?;
    Some((busy, busy + idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_from_proc_formats() {
        let stat = "4242 (tokio rt) worker) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_process(stat), Some(175));
        let machine = "cpu  100 5 50 1000 20 3 2 7 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
        assert_eq!(parse_machine(machine), Some((167, 1187)));
        assert_eq!(parse_machine("intr 1 2 3"), None);
        // The real files parse, and this process has used some CPU.
        let now = sample(std::process::id());
        assert!(now.own.is_some() && now.server.is_some() && now.machine.is_some());
    }
}
