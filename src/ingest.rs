//! Rating ingestion: the key ring that checks signed codes, and the group-commit writer.
//!
//! Every rating request hands its validated rating to one writer task and waits. The writer
//! takes whatever has queued up (up to [`MAX_BATCH`]), writes it in one transaction with its
//! audit rows, commits, and only then answers each request, so a 2xx always means committed.
//! Under load many ratings share one commit: those that arrive while a batch is being written
//! form the next one. The writer never waits for more (a wait of 2 ms to let batches fill, tried
//! until 2026-11-29, added its length to every rating's latency and no throughput); when idle a
//! rating commits alone at once.

use std::collections::BTreeSet;
use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::domain::rating::{self, AbuseRule, AbuseTracker, AlertRule, SigningKey, TokenKind};
use crate::store::rating_codes::Target;
use crate::store::ratings::{self, NewRating, RatingSettings, Receipt, Refusal};
use crate::store::{Store, StoreError, alerts, invitations, now_ms, rating_codes};

/// The most ratings one commit carries.
pub const MAX_BATCH: usize = 512;

/// The signing keys, cached; reloaded when a token names a key this process has not seen
/// (another server process rotated).
#[derive(Debug)]
pub struct KeyRing {
    keys: RwLock<Vec<SigningKey>>,
    store: Store,
}

impl KeyRing {
    /// Loads the keys, creating the first one if there is none.
    pub async fn load(store: &Store) -> Result<KeyRing, StoreError> {
        let keys = rating_codes::ensure_key(store).await?;
        Ok(KeyRing { keys: RwLock::new(keys), store: store.clone() })
    }

    /// The newest key, which signs new codes.
    pub fn current(&self) -> Option<SigningKey> {
        self.keys.read().ok().and_then(|k| k.last().cloned())
    }

    fn secret(&self, id: u8) -> Option<[u8; 32]> {
        self.keys.read().ok().and_then(|k| k.iter().find(|k| k.id == id).map(|k| k.secret))
    }

    /// Reloads the keys from the store.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let keys = rating_codes::load_keys(&self.store).await?;
        if let Ok(mut k) = self.keys.write() {
            *k = keys;
        }
        Ok(())
    }

    /// The id (hex) inside a genuine token of `kind`, or `None` for a forged or altered one.
    pub async fn open(&self, token: &str, kind: TokenKind) -> Result<Option<String>, StoreError> {
        if let Some(id) = rating::open(token, kind, |k| self.secret(k)) {
            return Ok(Some(hex::encode(id)));
        }
        // A well-formed token naming a key we do not hold: maybe a newer key; look once.
        let unknown_key = token.len() == 24 && rating::open(token, kind, |_| None).is_none();
        if unknown_key {
            self.refresh().await?;
            return Ok(rating::open(token, kind, |k| self.secret(k)).map(hex::encode));
        }
        Ok(None)
    }
}

/// Everything rating requests need: keys, the writer, the sealer for phone numbers and the
/// pepper for device and address hashes.
#[derive(Debug)]
pub struct RatingService {
    /// Signing keys.
    pub keys: KeyRing,
    /// The group-commit writer.
    pub writer: RatingWriter,
    /// Encrypts phone numbers.
    pub sealer: crate::secrets::Sealer,
    /// Hashes device ids and addresses.
    pub pepper: [u8; 32],
    /// Live alert rule.
    pub alert: AlertRule,
    /// The working-day calendar, for the deadlines of the cases ratings open.
    pub calendar: std::sync::Arc<crate::calendar_data::CalendarHandle>,
    /// Recently resolved codes with their settings (see [`RatingService::code_target`]).
    cache: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Target, RatingSettings)>>,
}

/// How long a resolved code and its region's settings are reused before being read again.
/// A revocation or settings change made through this process applies at once; one made by
/// another process applies within this time.
pub const CODE_CACHE_TTL: Duration = Duration::from_secs(10);

impl RatingService {
    /// Loads the keys and starts the writer.
    pub async fn start(
        store: &Store,
        secret: &crate::secrets::Secret,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
        calendar: std::sync::Arc<crate::calendar_data::CalendarHandle>,
    ) -> Result<RatingService, StoreError> {
        let alert = AlertRule::default();
        Ok(RatingService {
            keys: KeyRing::load(store).await?,
            writer: RatingWriter::start(store.clone(), calendar.clone(), AbuseRule::default(), alert, metrics),
            calendar,
            sealer: crate::secrets::Sealer::new(secret),
            pepper: secret.derive("pingyi rating pepper v1"),
            alert,
            cache: Default::default(),
        })
    }

    /// What a rating code points at, with the settings in force there; read through a short
    /// cache so that the rating hot path usually needs no query.
    pub async fn code_target(&self, store: &Store, id: &str) -> Result<Option<(Target, RatingSettings)>, StoreError> {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, target, settings)) = cache.get(id)
            && at.elapsed() < CODE_CACHE_TTL
        {
            return Ok(Some((target.clone(), settings.clone())));
        }
        let Some(target) = rating_codes::code_target(store, id).await? else { return Ok(None) };
        let settings = ratings::settings_for(store, &target.org_code).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(id.to_owned(), (std::time::Instant::now(), target.clone(), settings.clone()));
        }
        Ok(Some((target, settings)))
    }

    /// Forgets every cached code (after a reissue or a settings change).
    pub fn forget_codes(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }
}

/// Why a rating could not be written.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The database failed; nothing of the batch was committed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer has stopped (the server is shutting down).
    #[error("the rating writer has stopped")]
    Stopped,
}

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
    /// Starts the writer task.
    pub fn start(
        store: Store,
        calendar: std::sync::Arc<crate::calendar_data::CalendarHandle>,
        abuse: AbuseRule,
        alert: AlertRule,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> RatingWriter {
        let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        let (alerts_tx, alerts_rx) = mpsc::unbounded_channel::<AlertMsg>();
        tokio::spawn(run(store.clone(), calendar, rx, abuse, alerts_tx.clone(), metrics));
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

async fn run(
    store: Store,
    calendar: std::sync::Arc<crate::calendar_data::CalendarHandle>,
    mut rx: mpsc::Receiver<Job>,
    abuse: AbuseRule,
    alerts: mpsc::UnboundedSender<AlertMsg>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) {
    if store.dialect() == crate::store::Dialect::Sqlite {
        tokio::spawn(checkpoints(store.clone()));
    }
    let mut tracker = AbuseTracker::default();
    match ratings::recent_for_abuse(&store, now_ms() - abuse.window_ms).await {
        Ok(recent) => {
            for (code, device, address, at) in recent {
                tracker.record(&abuse, &code, &device, &address, at);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not warm the abuse tracker; repeats before this start are not counted")
        }
    }
    let mut conn = None;
    let mut settings = crate::store::settings_cache::SettingsCache::default();
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (ratings, replies): (Vec<NewRating>, Vec<_>) = batch.drain(..).map(|j| (j.rating, j.reply)).unzip();
        let now = now_ms();
        let flags: Vec<Vec<&'static str>> = ratings
            .iter()
            .map(|r| match &r.code_id {
                Some(code) => tracker.record(&abuse, code, &r.device_hash, &r.address_hash, now),
                None => Vec::new(),
            })
            .collect();
        let started = std::time::Instant::now();
        let mut steps = ratings::Steps::default();
        let written = write(&store, &calendar, &mut conn, &mut settings, &mut steps, &ratings, &flags).await;
        metrics.record_rating_batch(ratings.len(), started.elapsed(), &steps.named());
        let mut rated = Vec::new();
        match written {
            Ok(results) => {
                for ((r, f), result) in ratings.iter().zip(&flags).zip(&results) {
                    if result.is_ok() && f.is_empty() {
                        rated.push((
                            r.target.unit_code.clone(),
                            r.submission.outcome == rating::Outcome::Unsatisfied,
                            now,
                        ));
                    }
                }
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, ratings = ratings.len(), "rating batch failed; nothing committed");
                for reply in replies {
                    let _ = reply.send(Err(IngestError::Store(StoreError::Database(sqlx::Error::WorkerCrashed))));
                }
            }
        }
        let _ = alerts.send(AlertMsg::Rated(rated));
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
        if let Err(e) = sqlx::query("pragma wal_checkpoint(passive)").execute(store.pool()).await
            && !store.pool().is_closed()
        {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// What the alert watcher is told.
#[derive(Debug)]
enum AlertMsg {
    /// Ratings just committed: (unit, unsatisfied, at).
    Rated(Vec<(String, bool, i64)>),
    /// Re-evaluate every unit with an open episode as of this time.
    Tick(i64),
}

/// The live-alert rule over a sliding window kept in memory per unit (warmed from the
/// database at start), so that evaluating it costs no query; the database is touched only
/// when an episode opens or closes. One evaluation at a time, off the request path.
async fn watch_alerts(store: Store, mut rx: mpsc::UnboundedReceiver<AlertMsg>, rule: AlertRule) {
    let mut windows: std::collections::HashMap<String, std::collections::VecDeque<(i64, bool)>> = Default::default();
    let mut open: std::collections::HashMap<String, String> = Default::default();
    match alerts::recent(&store, now_ms() - rule.window_ms).await {
        Ok(rows) => {
            for (unit, unsatisfied, at) in rows {
                windows.entry(unit).or_default().push_back((at, unsatisfied));
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not warm the alert windows"),
    }
    match alerts::open_episodes(&store).await {
        Ok(rows) => open.extend(rows),
        Err(e) => tracing::warn!(error = %e, "could not read open alert episodes"),
    }
    let mut msgs = Vec::new();
    while rx.recv_many(&mut msgs, 1024).await > 0 {
        let mut touched = BTreeSet::new();
        let mut now = now_ms();
        for msg in msgs.drain(..) {
            match msg {
                AlertMsg::Rated(rows) => {
                    for (unit, unsatisfied, at) in rows {
                        windows.entry(unit.clone()).or_default().push_back((at, unsatisfied));
                        touched.insert(unit);
                    }
                }
                AlertMsg::Tick(at) => {
                    now = now.max(at);
                    touched.extend(open.keys().cloned());
                }
            }
        }
        for unit in touched {
            let window = windows.entry(unit.clone()).or_default();
            while window.front().is_some_and(|(at, _)| *at <= now - rule.window_ms) {
                window.pop_front();
            }
            let total = window.len() as i64;
            let unsatisfied = window.iter().filter(|(_, u)| *u).count() as i64;
            if window.is_empty() {
                windows.remove(&unit);
            }
            let result = match (rule.breached(total, unsatisfied), open.get(&unit)) {
                (true, None) => alerts::open(&store, &unit, total, unsatisfied, now).await.map(|id| {
                    open.insert(unit.clone(), id);
                }),
                (false, Some(id)) => alerts::close(&store, id, now).await.map(|()| {
                    open.remove(&unit);
                }),
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, unit, "alert evaluation failed");
            }
        }
    }
}

/// Writes one batch on the writer's own connection (opened on first use, and again after a
/// failure, since a failed connection may be in any state).
async fn write(
    store: &Store,
    calendar: &crate::calendar_data::CalendarHandle,
    conn: &mut Option<sqlx::AnyConnection>,
    settings: &mut crate::store::settings_cache::SettingsCache,
    steps: &mut ratings::Steps,
    ratings: &[NewRating],
    flags: &[Vec<&'static str>],
) -> Result<Vec<Result<Receipt, Refusal>>, StoreError> {
    if conn.is_none() {
        let mut c = store.dedicated_connection().await?;
        if store.dialect() == crate::store::Dialect::Sqlite {
            // The checkpointer copies the log into the database, off the writer's path.
            sqlx::query("pragma wal_autocheckpoint = 0").execute(&mut c).await?;
        }
        *conn = Some(c);
    }
    let Some(c) = conn.as_mut() else { return Err(StoreError::Database(sqlx::Error::PoolClosed)) };
    let result = ratings::commit_batch(store, c, calendar, ratings, flags, settings, steps).await;
    if result.is_err() {
        *conn = None;
    }
    result
}

/// Every minute: re-evaluates open alert episodes (closing those whose window has passed)
/// and records default levels for invitations left unrated. (The durable job runner will take
/// these over.)
pub fn spawn_housekeeping(store: Store, service: std::sync::Arc<RatingService>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = housekeeping(&store, &service, now_ms()).await {
                tracing::warn!(error = %e, "housekeeping failed");
            }
        }
    });
}

/// One housekeeping pass at `now`; returns how many default ratings were recorded.
pub async fn housekeeping(store: &Store, service: &RatingService, now: i64) -> Result<usize, StoreError> {
    service.writer.tick_alerts(now);
    sweeps(store, &service.calendar, now).await
}

/// The sweeps that need no state of a server process: SLA colours and escalations, and
/// default ratings for unrated invitations. Returns how many default ratings were recorded.
pub async fn sweeps(
    store: &Store,
    calendar: &crate::calendar_data::CalendarHandle,
    now: i64,
) -> Result<usize, StoreError> {
    // SLA clocks whose colour changed: record it and send the escalation notices.
    loop {
        let changes = crate::store::sla::sweep(store, &crate::domain::sla::Thresholds::default(), now, 1000).await?;
        if changes.len() < 1000 {
            break;
        }
    }
    invitations::record_defaults(store, calendar, now).await
}
