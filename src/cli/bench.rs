//! `pingyi bench …`: the benchmarks, each against a baseline measured in the same run.

use std::path::PathBuf;

use clap::Subcommand;

use super::CliError;

#[derive(Debug, Subcommand)]
pub(super) enum BenchWhat {
    /// The city dashboard's data (from the rollups) against the same figures by GROUP BY over
    /// raw ratings, with 3,200 units and N ratings of history.
    Dashboard {
        /// sqlite or postgres.
        #[arg(long, default_value = "sqlite")]
        engine: String,
        /// PostgreSQL server URL under which a fresh database is created and dropped.
        #[arg(long, env = "PINGYI_TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres_url: String,
        /// Ratings of history.
        #[arg(long, default_value_t = 10_000_000)]
        ratings: u64,
        /// Record the figures in this Markdown file.
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Finding the due SLA clocks among many open ones, against a scan.
    SlaSweep {
        /// sqlite or postgres.
        #[arg(long, default_value = "sqlite")]
        engine: String,
        /// PostgreSQL server URL under which a fresh database is created and dropped.
        #[arg(long, env = "PINGYI_TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres_url: String,
        /// Open clocks.
        #[arg(long, default_value_t = 1_000_000)]
        clocks: i64,
        /// Record the figures in this Markdown file.
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Deadline computations per second: the precomputed index against a day-by-day walk.
    Deadlines {
        /// How many deadlines to compute with each method.
        #[arg(long, default_value_t = 2_000_000)]
        count: u32,
        /// Record the figures in this Markdown file.
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Project channel messages and desk problems posted per second against GET /healthz, with
    /// the server's CPU per request, and the time from a firm's problem to the cadre's notice.
    Desk {
        /// sqlite or postgres.
        #[arg(long, default_value = "sqlite")]
        engine: String,
        /// PostgreSQL server URL under which a fresh database is created and dropped.
        #[arg(long, env = "PINGYI_TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres_url: String,
        /// Seconds per phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Connections in the closed-loop phases (comma-separated; a round of phases each).
        #[arg(long, default_value = "16", value_delimiter = ',')]
        connections: Vec<usize>,
        /// Problems timed from posting to the notice on the cadre's live page.
        #[arg(long, default_value_t = 30)]
        samples: usize,
        /// Record the figures in this Markdown file (its section for the engine is replaced).
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Durable rating ingestion (POST /api/v1/ratings) against GET /healthz: throughput, ratio,
    /// latency percentiles, and p99 at a fixed rate.
    Ratings {
        /// sqlite or postgres.
        #[arg(long, default_value = "sqlite")]
        engine: String,
        /// PostgreSQL server URL under which a fresh database is created and dropped.
        #[arg(long, env = "PINGYI_TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres_url: String,
        /// Seconds per phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Connections in the closed-loop phases: each count in this comma-separated list gets
        /// its own no-op and rating phases.
        #[arg(long, default_value = "32,128", value_delimiter = ',')]
        connections: Vec<usize>,
        /// Requests per second in the fixed-rate phase.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        /// The server's rating inbox mode: auto (the default), always or never.
        #[arg(long, default_value = "auto")]
        inbox: crate::ingest::InboxMode,
        /// Record the figures in this Markdown file (its section for the engine is replaced).
        #[arg(long)]
        record: Option<PathBuf>,
    },
}

/// Runs one benchmark and prints (and, with `--record`, records) its figures.
pub(super) async fn bench_command(what: BenchWhat) -> Result<(), CliError> {
    // The command line as run, for the record.
    let command = format!("pingyi {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
    match what {
        BenchWhat::SlaSweep { engine, postgres_url, clocks, record } => {
            crate::bench::sla_sweep(&engine, &postgres_url, clocks.max(1000), record.as_deref(), &command)
                .await
                .map_err(CliError::Failed)?;
        }
        BenchWhat::Dashboard { engine, postgres_url, ratings, record } => {
            crate::bench::dashboard::run(&engine, &postgres_url, ratings.max(1000), record.as_deref(), &command)
                .await
                .map_err(CliError::Failed)?;
        }
        BenchWhat::Deadlines { count, record } => {
            crate::bench::deadlines(count.max(1000), record.as_deref(), &command).map_err(CliError::Failed)?;
        }
        BenchWhat::Desk { engine, postgres_url, seconds, connections, samples, record } => {
            let opts = crate::bench::BenchOptions {
                engine,
                postgres_url,
                duration: std::time::Duration::from_secs(seconds.max(1)),
                connections: if connections.is_empty() {
                    vec![16]
                } else {
                    connections.iter().map(|c| (*c).max(1)).collect()
                },
                rate: 1,
                inbox: crate::ingest::InboxMode::Auto,
                record,
                command,
            };
            crate::bench::desk::run(opts, samples.max(1)).await.map_err(CliError::Failed)?;
        }
        BenchWhat::Ratings { engine, postgres_url, seconds, connections, rate, inbox, record } => {
            let opts = crate::bench::BenchOptions {
                engine,
                postgres_url,
                duration: std::time::Duration::from_secs(seconds.max(1)),
                connections: if connections.is_empty() {
                    vec![32]
                } else {
                    connections.iter().map(|c| (*c).max(1)).collect()
                },
                rate: rate.max(1),
                inbox,
                record,
                command,
            };
            crate::bench::ratings(opts).await.map_err(CliError::Failed)?;
        }
    }
    Ok(())
}
