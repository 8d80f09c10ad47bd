//! Prometheus metrics for `/metrics`: request counts and latency histograms per route,
//! kept in memory with no exporter dependency.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
    rating_batches: u64,
    rating_batch_rows: u64,
    rating_commit: Histogram,
    rating_steps: BTreeMap<&'static str, f64>,
    inbox: Inbox,
}

#[derive(Default)]
struct Inbox {
    appended: u64,
    projected: u64,
    projections: u64,
    projection_seconds: f64,
    backlog: i64,
    unreadable: i64,
}

/// The process's metrics. One per server, shared by reference.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// Records one finished request. `route` is the matched route pattern, never the raw path,
    /// so the number of series stays bounded.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut inner) = self.inner.lock() else { return };
        *inner.requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        let h = inner.latency.entry((method.to_owned(), route.to_owned())).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Records one group commit of `rows` ratings that took `elapsed`, `steps` of it by step.
    pub fn record_rating_batch(&self, rows: usize, elapsed: Duration, steps: &[(&'static str, Duration)]) {
        let Ok(mut inner) = self.inner.lock() else { return };
        inner.rating_batches += 1;
        inner.rating_batch_rows += rows as u64;
        for (step, took) in steps {
            *inner.rating_steps.entry(step).or_default() += took.as_secs_f64();
        }
        let secs = elapsed.as_secs_f64();
        let h = &mut inner.rating_commit;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Records ratings committed to the rating inbox (they count as a group commit too, with
    /// [`Metrics::record_rating_batch`]).
    pub fn record_inbox_append(&self, ratings: usize, backlog: i64) {
        let Ok(mut inner) = self.inner.lock() else { return };
        inner.inbox.appended += ratings as u64;
        inner.inbox.backlog = backlog;
    }

    /// Sets how many inbox ratings are in rows that could not be read back.
    pub fn set_inbox_unreadable(&self, ratings: i64) {
        let Ok(mut inner) = self.inner.lock() else { return };
        inner.inbox.unreadable = ratings;
    }

    /// Records one projection of `ratings` inbox ratings that took `elapsed`.
    pub fn record_inbox_projection(&self, ratings: usize, elapsed: Duration, backlog: i64) {
        let Ok(mut inner) = self.inner.lock() else { return };
        inner.inbox.projected += ratings as u64;
        inner.inbox.projections += 1;
        inner.inbox.projection_seconds += elapsed.as_secs_f64();
        inner.inbox.backlog = backlog;
    }

    /// Renders everything in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP pingyi_build_info Build information.");
        let _ = writeln!(out, "# TYPE pingyi_build_info gauge");
        let _ = writeln!(out, "pingyi_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        let Ok(inner) = self.inner.lock() else { return out };
        let _ = writeln!(out, "# HELP pingyi_http_requests_total HTTP requests by method, route and status.");
        let _ = writeln!(out, "# TYPE pingyi_http_requests_total counter");
        for ((method, route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "pingyi_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
        let _ = writeln!(out, "# HELP pingyi_rating_batches_total Group commits of ratings.");
        let _ = writeln!(out, "# TYPE pingyi_rating_batches_total counter");
        let _ = writeln!(out, "pingyi_rating_batches_total {}", inner.rating_batches);
        let _ = writeln!(out, "# HELP pingyi_rating_batch_rows_total Ratings written by group commits.");
        let _ = writeln!(out, "# TYPE pingyi_rating_batch_rows_total counter");
        let _ = writeln!(out, "pingyi_rating_batch_rows_total {}", inner.rating_batch_rows);
        let _ = writeln!(out, "# HELP pingyi_rating_commit_seconds Time to write and commit one batch of ratings.");
        let _ = writeln!(out, "# TYPE pingyi_rating_commit_seconds histogram");
        let h = &inner.rating_commit;
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "pingyi_rating_commit_seconds_bucket{{le=\"{bound}\"}} {}", h.counts[i]);
        }
        let _ = writeln!(out, "pingyi_rating_commit_seconds_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "pingyi_rating_commit_seconds_sum {}", h.sum);
        let _ = writeln!(out, "pingyi_rating_commit_seconds_count {}", h.count);
        let _ = writeln!(out, "# HELP pingyi_rating_batch_step_seconds_total Time rating batches spent in each step.");
        let _ = writeln!(out, "# TYPE pingyi_rating_batch_step_seconds_total counter");
        for (step, secs) in &inner.rating_steps {
            let _ = writeln!(out, "pingyi_rating_batch_step_seconds_total{{step=\"{step}\"}} {secs}");
        }
        let i = &inner.inbox;
        for (name, kind, help, value) in [
            ("appended_total", "counter", "Ratings committed to the rating inbox.", i.appended as f64),
            (
                "projected_total",
                "counter",
                "Inbox ratings projected into ratings, rollups and cases.",
                i.projected as f64,
            ),
            ("projections_total", "counter", "Transactions that projected inbox ratings.", i.projections as f64),
            ("projection_seconds_total", "counter", "Time spent projecting inbox ratings.", i.projection_seconds),
            ("backlog", "gauge", "Inbox ratings waiting to be projected.", i.backlog as f64),
            (
                "unreadable",
                "gauge",
                "Inbox ratings in rows that could not be read back, kept with their error for an operator.",
                i.unreadable as f64,
            ),
        ] {
            let _ = writeln!(out, "# HELP pingyi_rating_inbox_{name} {help}");
            let _ = writeln!(out, "# TYPE pingyi_rating_inbox_{name} {kind}");
            let _ = writeln!(out, "pingyi_rating_inbox_{name} {value}");
        }
        let _ = writeln!(out, "# HELP pingyi_http_request_duration_seconds HTTP request latency.");
        let _ = writeln!(out, "# TYPE pingyi_http_request_duration_seconds histogram");
        for ((method, route), h) in &inner.latency {
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "pingyi_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(out, "pingyi_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "pingyi_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "pingyi_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_route_and_bucketed() {
        let m = Metrics::default();
        m.record("GET", "/api/v1/org/nodes/{code}", 200, Duration::from_millis(3));
        m.record("GET", "/api/v1/org/nodes/{code}", 200, Duration::from_millis(30));
        let text = m.render();
        assert!(text.contains(
            "pingyi_http_requests_total{method=\"GET\",route=\"/api/v1/org/nodes/{code}\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }

    #[test]
    fn rating_batches_add_up_their_steps() {
        let m = Metrics::default();
        let steps = [("begin", Duration::from_millis(1)), ("commit", Duration::from_millis(2))];
        m.record_rating_batch(10, Duration::from_millis(3), &steps);
        m.record_rating_batch(5, Duration::from_millis(3), &steps);
        let text = m.render();
        assert!(text.contains("pingyi_rating_batches_total 2\n"), "{text}");
        assert!(text.contains("pingyi_rating_batch_rows_total 15\n"), "{text}");
        assert!(text.contains("pingyi_rating_batch_step_seconds_total{step=\"begin\"} 0.002\n"), "{text}");
        assert!(text.contains("pingyi_rating_batch_step_seconds_total{step=\"commit\"} 0.004\n"), "{text}");
    }
}
