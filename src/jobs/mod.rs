//! The durable job runner: claims due jobs from the job table, runs each by kind, retries
//! failures with backoff and moves jobs out of attempts to the dead-letter list. Runs inside
//! `pingyi serve` and alone as `pingyi worker`; several runners on one PostgreSQL never run
//! the same job twice. Each kind lives in a file of its own.

pub mod case_open;
pub mod email;
pub mod sms;
pub mod sweeps;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use crate::store::jobs::{self, Claimed};
use crate::store::{Store, StoreError, now_ms};

/// How long a claimed job is held before another runner may take it over.
pub const LEASE_MS: i64 = 60_000;

/// Outside services the jobs talk to.
#[derive(Debug)]
pub struct Outbound {
    /// SMTP server URL (`smtp://host:port`, `smtps://user:pass@host`), when email is configured.
    pub smtp_url: Option<String>,
    /// Sender address of emails.
    pub mail_from: String,
    /// HTTP client for webhooks.
    pub http: reqwest::Client,
}

impl Outbound {
    /// Builds the clients.
    pub fn new(smtp_url: Option<String>, mail_from: String) -> Outbound {
        // One TLS stack: rustls with ring, as the database driver uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("pingyi/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Outbound { smtp_url, mail_from, http }
    }
}

/// One runner.
#[derive(Debug, Clone)]
pub struct Runner {
    store: Store,
    worker: String,
    outbound: Arc<Outbound>,
    calendar: Arc<crate::calendar_data::CalendarHandle>,
}

impl Runner {
    /// A runner named `worker` (unique per process).
    pub fn new(store: Store, worker: impl Into<String>, outbound: Arc<Outbound>) -> Runner {
        let calendar = Arc::new(crate::calendar_data::CalendarHandle::new(crate::calendar_data::load()));
        Runner { store, worker: worker.into(), outbound, calendar }
    }

    /// Uses `calendar` (the server's, with imported years and regional overrides) for the
    /// deadlines jobs compute; the shipped calendar otherwise.
    pub fn with_calendar(mut self, calendar: Arc<crate::calendar_data::CalendarHandle>) -> Runner {
        self.calendar = calendar;
        self
    }

    /// Claims and runs up to `limit` due jobs; returns how many ran (succeeded or not).
    pub async fn run_once(&self, limit: i64) -> Result<usize, StoreError> {
        let claimed = jobs::claim(&self.store, &self.worker, now_ms(), LEASE_MS, limit).await?;
        for job in &claimed {
            match self.perform(job).await {
                Ok(()) => {
                    jobs::finish(&self.store, &job.id, &self.worker).await?;
                }
                Err(e) => {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempt, error = %e, "job failed");
                    jobs::fail(&self.store, job, &self.worker, &e, now_ms()).await?;
                }
            }
        }
        Ok(claimed.len())
    }

    /// Runs until no job is due (for tests and `pingyi worker --once`); returns how many ran.
    pub async fn run_until_empty(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let n = self.run_once(50).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    /// Runs forever, polling every second when idle.
    pub fn spawn(self) {
        tokio::spawn(async move {
            loop {
                match self.run_once(50).await {
                    Ok(0) => tokio::time::sleep(Duration::from_secs(1)).await,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "job runner could not claim jobs");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                }
            }
        });
    }

    async fn perform(&self, job: &Claimed) -> Result<(), String> {
        match job.kind.as_str() {
            case_open::KIND => case_open::run(&self.store, &self.calendar, &job.payload).await,
            email::KIND => email::run(&self.outbound, &job.payload).await,
            webhook::KIND => webhook::run(&self.store, &self.outbound, &job.id, &job.payload).await,
            other => Err(format!("unknown job kind {other:?}")),
        }
    }
}
