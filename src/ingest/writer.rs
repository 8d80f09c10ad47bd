//! The group-commit writer task and the handle requests use to reach it (see the module
//! above): straight through or through the rating inbox, and the projection of the inbox.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::IngestError;
use super::alerts::{AlertMsg, watch_alerts};
use super::pace::{InboxMode, Pace};
use crate::domain::rating::{self, AbuseRule, AbuseTracker, AlertRule};
use crate::store::ratings::{self, NewRating, Receipt, Refusal, Stamp, inbox};
use crate::store::{Store, StoreError, now_ms};

/// The most ratings one commit carries.
pub const MAX_BATCH: usize = 512;

/// The most inbox ratings one projection carries: a request that arrives meanwhile waits for
/// it, a few milliseconds.
pub const PROJECT_CHUNK: usize = 32;

/// Under load, how many times the writer lets other tasks run before it takes a batch.
const YIELDS_BEFORE_BATCH: usize = 4;

/// How long a rating may wait in the inbox before projection stops yielding to new ratings
/// and takes every other turn of the writer (which then slows ingestion to what projection
/// keeps up with).
pub const MAX_LAG: Duration = Duration::from_secs(30);

struct Job {
    rating: NewRating,
    reply: oneshot::Sender<Result<Result<Receipt, Refusal>, IngestError>>,
}

/// The handle requests use to submit ratings to the writer task.
#[derive(Debug, Clone)]
pub struct RatingWriter {
    tx: mpsc::Sender<Job>,
    alerts: mpsc::UnboundedSender<AlertMsg>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl RatingWriter {
    /// Starts the writer task with its abuse and alert rules and inbox mode.
    pub fn start(
        store: Store,
        calendar: std::sync::Arc<crate::calendar_data::CalendarHandle>,
        (abuse, alert, inbox): (AbuseRule, AlertRule, InboxMode),
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> RatingWriter {
        let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        let (alerts_tx, alerts_rx) = mpsc::unbounded_channel::<AlertMsg>();
        let writer_metrics = metrics.clone();
        let writer = Writer {
            store: store.clone(),
            calendar,
            conn: None,
            settings: Default::default(),
            metrics,
            mode: inbox,
            pace: Pace::new(),
            backlog: 0,
            oldest: None,
            retry_at: None,
        };
        tokio::spawn(run(writer, rx, abuse, alerts_tx.clone()));
        tokio::spawn(recount_unreadable(store.clone(), writer_metrics));
        tokio::spawn(tick_alerts(alerts_tx.downgrade()));
        tokio::spawn(watch_alerts(store, alerts_rx, alert));
        RatingWriter { tx, alerts: alerts_tx }
    }

    /// Asks the alert watcher to re-evaluate every open episode as of `now` (episodes whose
    /// window has passed close). Returns at once; the watcher acts in its turn.
    pub fn tick_alerts(&self, now: i64) {
        let _ = self.alerts.send(AlertMsg::Tick(now));
    }

    /// Writes one rating; returns once it is committed (or refused).
    pub async fn submit(&self, rating: NewRating) -> Result<Result<Receipt, Refusal>, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job { rating, reply }).await.map_err(|_| IngestError::Stopped)?;
        answer.await.map_err(|_| IngestError::Stopped)?
    }
}

/// The writer task's state.
struct Writer {
    store: Store,
    calendar: std::sync::Arc<crate::calendar_data::CalendarHandle>,
    /// Its own connection, opened on first use and again after a failure.
    conn: Option<sqlx::AnyConnection>,
    settings: crate::store::settings_cache::SettingsCache,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    mode: InboxMode,
    pace: Pace,
    /// Ratings in the inbox, as far as this writer knows.
    backlog: i64,
    /// No inbox rating was received before this (ms).
    oldest: Option<i64>,
    /// After a failed projection: not before this.
    retry_at: Option<std::time::Instant>,
}

async fn run(mut w: Writer, mut rx: mpsc::Receiver<Job>, abuse: AbuseRule, alerts: mpsc::UnboundedSender<AlertMsg>) {
    if w.store.dialect().needs_checkpointer() {
        tokio::spawn(checkpoints(w.store.clone()));
    }
    let mut tracker = AbuseTracker::default();
    match ratings::recent_for_abuse(&w.store, now_ms() - abuse.window_ms).await {
        Ok(recent) => {
            for (code, device, address, at) in recent {
                tracker.record(&abuse, &code, &device, &address, at);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not warm the abuse tracker; repeats before this start are not counted")
        }
    }
    match inbox::backlog(&w.store).await {
        Ok((n, oldest)) => {
            (w.backlog, w.oldest) = (n, oldest);
            w.metrics.record_inbox_append(0, n);
        }
        Err(e) => {
            // Projection finds the rows anyway; assume some so that it looks.
            tracing::warn!(error = %e, "could not count the rating inbox");
            w.backlog = 1;
        }
    }
    count_unreadable(&w.store, &w.metrics).await;
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        if w.wants_projection(rx.is_empty()) {
            w.project().await;
            if rx.is_empty() {
                continue;
            }
        }
        if w.backlog > 0 {
            // Under load (ratings go to the inbox): let the request tasks that are ready run
            // first, so that they join this batch. Batches of about 12 instead of 4 took the
            // server's CPU per rating from 83 to 61 µs (SQLite, BENCHMARKS.md).
            for _ in 0..YIELDS_BEFORE_BATCH {
                tokio::task::yield_now().await;
            }
        }
        let received = if w.backlog > 0 {
            // Look again at the pace before long even if no rating comes.
            match tokio::time::timeout(Pace::WINDOW / 4, rx.recv_many(&mut batch, MAX_BATCH)).await {
                Ok(n) => n,
                Err(_) => continue,
            }
        } else {
            rx.recv_many(&mut batch, MAX_BATCH).await
        };
        if received == 0 {
            break;
        }
        let (ratings, replies): (Vec<NewRating>, Vec<_>) = batch.drain(..).map(|j| (j.rating, j.reply)).unzip();
        w.pace.arrived(ratings.len());
        let now = now_ms();
        let flags: Vec<Vec<String>> = ratings
            .iter()
            .map(|r| match &r.code_id {
                Some(code) => tracker.record(&abuse, code, &r.device_hash, &r.address_hash, now),
                None => Vec::new(),
            })
            .map(|f| f.into_iter().map(str::to_owned).collect())
            .collect();
        // What the live alerts count, should the rating be stored: unflagged ratings only.
        let for_alerts: Vec<Option<(String, bool)>> = ratings
            .iter()
            .zip(&flags)
            .map(|(r, f)| {
                let unsatisfied = r.submission.outcome == rating::Outcome::Unsatisfied;
                f.is_empty().then(|| (r.target.unit_code.clone(), unsatisfied))
            })
            .collect();
        let written = w.write(ratings, flags, now).await;
        let mut rated = Vec::new();
        for (reply, (alert, result)) in replies.into_iter().zip(for_alerts.into_iter().zip(written)) {
            if let (Ok(Ok(_)), Some((unit, unsatisfied))) = (&result, alert) {
                rated.push((unit, unsatisfied, now));
            }
            let _ = reply.send(result);
        }
        let _ = alerts.send(AlertMsg::Rated(rated));
    }
}

type Written = Result<Result<Receipt, Refusal>, IngestError>;

impl Writer {
    /// Whether to project a chunk of the inbox now: there is one, no failure is being waited
    /// out, and either the oldest has waited [`MAX_LAG`] or no rating waits and the pace is
    /// quiet (any pace, in [`InboxMode::Always`]).
    fn wants_projection(&mut self, idle: bool) -> bool {
        if self.backlog <= 0 || self.retry_at.is_some_and(|t| std::time::Instant::now() < t) {
            return false;
        }
        let lagging = self.oldest.is_some_and(|o| o < now_ms() - MAX_LAG.as_millis() as i64);
        lagging || (idle && (self.mode == InboxMode::Always || self.pace.quiet()))
    }

    /// Commits one batch received at `now`: the ratings without invitations to the inbox when
    /// the mode and pace say so, the rest straight through. Answers in the batch's order.
    async fn write(&mut self, ratings: Vec<NewRating>, flags: Vec<Vec<String>>, now: i64) -> Vec<Written> {
        let to_inbox = match self.mode {
            InboxMode::Never => false,
            InboxMode::Always => true,
            InboxMode::Auto => self.backlog > 0 || !self.pace.quiet(),
        };
        let mut out: Vec<Option<Written>> = (0..ratings.len()).map(|_| None).collect();
        let (mut at, mut body) = (Vec::new(), Vec::new());
        let (mut direct, mut items, mut stamps, mut direct_flags) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, (r, f)) in ratings.into_iter().zip(flags).enumerate() {
            // An invitation is used up in the same transaction as its rating, and a request key is
            // recorded in it (so that a retry finds it at once): never through the inbox.
            if to_inbox && r.invitation_id.is_none() && r.request_key.is_none() {
                at.push(i);
                body.push(inbox::Pending { stamp: Stamp::fresh(now), flags: f, rating: r });
            } else {
                direct.push(i);
                items.push(r);
                stamps.push(Stamp::fresh(now));
                direct_flags.push(f);
            }
        }
        if !body.is_empty() {
            let started = std::time::Instant::now();
            let appended = match connection(&self.store, &mut self.conn).await {
                Ok(c) => inbox::append(c, now, &body).await,
                Err(e) => Err(e),
            };
            let steps = ratings::Steps { inbox: started.elapsed(), ..Default::default() };
            self.metrics.record_rating_batch(body.len(), started.elapsed(), &steps.named());
            warn_if_slow("inbox append", body.len(), started.elapsed(), &steps);
            match appended {
                Ok(()) => {
                    self.backlog += body.len() as i64;
                    self.oldest = Some(self.oldest.map_or(now, |o| o.min(now)));
                    self.metrics.record_inbox_append(body.len(), self.backlog);
                    for (i, p) in at.into_iter().zip(body) {
                        let receipt = Receipt { id: p.stamp.id, outcome: p.rating.submission.outcome, flags: p.flags };
                        out[i] = Some(Ok(Ok(receipt)));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, ratings = body.len(), "rating inbox append failed; nothing committed");
                    self.conn = None;
                    for i in at {
                        out[i] = Some(Err(IngestError::Store(StoreError::NotCommitted)));
                    }
                }
            }
        }
        if !direct.is_empty() {
            let started = std::time::Instant::now();
            let mut steps = ratings::Steps::default();
            let batch = ratings::Batch { items: &items, stamps: &stamps, flags: &direct_flags, inbox: &[] };
            let written = self.commit(batch, &mut steps).await;
            self.metrics.record_rating_batch(items.len(), started.elapsed(), &steps.named());
            warn_if_slow("rating batch", items.len(), started.elapsed(), &steps);
            match written {
                Ok(results) => {
                    for (i, result) in direct.iter().zip(results) {
                        out[*i] = Some(Ok(result));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, ratings = items.len(), "rating batch failed; nothing committed");
                    for i in &direct {
                        out[*i] = Some(Err(IngestError::Store(StoreError::NotCommitted)));
                    }
                }
            }
        }
        out.into_iter().map(|r| r.unwrap_or(Err(IngestError::Stopped))).collect()
    }

    /// Projects one chunk of the inbox; after a failure, waits a second before the next.
    async fn project(&mut self) {
        let started = std::time::Instant::now();
        let mut steps = ratings::Steps::default();
        let result = match connection(&self.store, &mut self.conn).await {
            Ok(c) => {
                inbox::project(&self.store, c, &self.calendar, &mut self.settings, &mut steps, PROJECT_CHUNK).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(done) if done.busy => {
                // Another process is projecting this inbox: look again shortly.
                self.retry_at = Some(std::time::Instant::now() + Duration::from_millis(100));
            }
            Ok(done) => {
                warn_if_slow("inbox projection", done.ratings, started.elapsed(), &steps);
                self.pace.projected(done.ratings, started.elapsed());
                let taken = (done.ratings + done.unreadable) as i64;
                self.backlog = if done.more { (self.backlog - taken).max(1) } else { 0 };
                self.oldest = if done.more { done.last_at.or(self.oldest) } else { None };
                self.retry_at = None;
                self.metrics.record_inbox_projection(done.ratings, started.elapsed(), self.backlog);
                if done.unreadable > 0 {
                    count_unreadable(&self.store, &self.metrics).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "projecting the rating inbox failed; trying again in a second");
                self.conn = None;
                self.retry_at = Some(std::time::Instant::now() + Duration::from_secs(1));
            }
        }
    }

    /// Writes one batch straight through on the writer's connection.
    async fn commit(
        &mut self,
        batch: ratings::Batch<'_>,
        steps: &mut ratings::Steps,
    ) -> Result<Vec<Result<Receipt, Refusal>>, StoreError> {
        let c = connection(&self.store, &mut self.conn).await?;
        let result = ratings::commit_batch(&self.store, c, &self.calendar, batch, &mut self.settings, steps).await;
        if result.is_err() {
            self.conn = None;
        }
        result
    }
}

/// A commit slower than this is logged with where its time went: ratings wait for it.
pub const SLOW_COMMIT: Duration = Duration::from_millis(100);

fn warn_if_slow(what: &str, ratings: usize, took: Duration, steps: &ratings::Steps) {
    if took >= SLOW_COMMIT {
        let named = steps.named();
        let other = took.saturating_sub(named.iter().map(|(_, d)| *d).sum());
        let steps: Vec<String> = named
            .iter()
            .chain([("other", other)].iter())
            .filter(|(_, d)| !d.is_zero())
            .map(|(n, d)| format!("{n} {} ms", d.as_millis()))
            .collect();
        tracing::warn!(ratings, ms = took.as_millis() as u64, steps = %steps.join(", "), "slow {what}");
    }
}

/// The writer's own connection in `slot` (opened on first use, and again after a failure,
/// since a failed connection may be in any state).
async fn connection<'c>(
    store: &Store,
    slot: &'c mut Option<sqlx::AnyConnection>,
) -> Result<&'c mut sqlx::AnyConnection, StoreError> {
    if slot.is_none() {
        let mut c = store.dedicated_connection().await?;
        // The checkpointer copies the log into the database, off the writer's path.
        store.without_autocheckpoint(&mut c).await?;
        *slot = Some(c);
    }
    slot.as_mut().ok_or(StoreError::Unavailable)
}

/// Sets the `/metrics` gauge of ratings in inbox rows that could not be read back (kept, never
/// dropped) from the database, not from a running count: an operator may deal with such rows
/// at any time.
pub async fn count_unreadable(store: &Store, metrics: &crate::metrics::Metrics) {
    match inbox::unreadable(store).await {
        Ok(n) => metrics.set_inbox_unreadable(n),
        Err(e) => tracing::warn!(error = %e, "could not count the unreadable rows of the rating inbox"),
    }
}

/// How often the unreadable inbox rows are counted again (besides at start and whenever
/// projection sets rows aside).
pub const UNREADABLE_RECOUNT: Duration = Duration::from_secs(60);

/// Counts the unreadable inbox rows every [`UNREADABLE_RECOUNT`], so that the gauge falls
/// once an operator has dealt with them, in every server process (each has its own
/// `/metrics`), whether or not it runs the housekeeping sweeps. Stops when the store closes.
async fn recount_unreadable(store: Store, metrics: std::sync::Arc<crate::metrics::Metrics>) {
    let mut tick = tokio::time::interval(UNREADABLE_RECOUNT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // The writer counts at start.
    while !store.pool().is_closed() {
        tick.tick().await;
        count_unreadable(&store, &metrics).await;
    }
}

/// How often each server process re-evaluates its open alert episodes as of the time.
pub const ALERT_TICK: Duration = Duration::from_secs(60);

/// Asks the alert watcher every [`ALERT_TICK`] to re-evaluate the open episodes (of every
/// process) and drop old tallies, so that an episode whose window has passed closes though its
/// unit gets no more ratings. Every server process ticks, whether or not it runs the
/// housekeeping sweeps (closing is idempotent). Holds the watcher's channel weakly: stops
/// once the writer and its handles are gone (and with them the watcher).
async fn tick_alerts(alerts: mpsc::WeakUnboundedSender<AlertMsg>) {
    let mut tick = tokio::time::interval(ALERT_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(alerts) = alerts.upgrade() else { return };
        if alerts.send(AlertMsg::Tick(now_ms())).is_err() {
            return;
        }
    }
}

/// How often the SQLite log is copied into the database while the server runs.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// SQLite only: copies the write-ahead log into the database file every [`CHECKPOINT_EVERY`],
/// on a pool connection, so that the rating writer (whose connection does not checkpoint)
/// never pays for a checkpoint's copying and fsync inside a commit. Passive: it never waits
/// for readers or blocks the writer. Stops when the store closes.
async fn checkpoints(store: Store) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !store.pool().is_closed() {
        tick.tick().await;
        if let Err(e) = store.checkpoint_passive().await
            && !store.pool().is_closed()
        {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}
