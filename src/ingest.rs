//! Rating ingestion: the key ring that checks signed codes, and the group-commit writer.
//!
//! Every rating request hands its validated rating to one writer task and waits. The writer
//! takes whatever has queued up (up to [`MAX_BATCH`]), commits it, and only then answers each
//! request, so a 2xx always means committed. Under load many ratings share one commit: those
//! that arrive while a batch is being written form the next one. The writer never waits for
//! more (a wait of 2 ms to let batches fill, tried until 2026-11-29, added its length to every
//! rating's latency and no throughput); when idle a rating commits alone at once.
//!
//! Where a batch goes ([`InboxMode`]): while the writer keeps up, straight into ratings,
//! rollups, cases and the audit log in one transaction, so the case exists when the 201 comes
//! back. When ratings arrive faster than that can go on (see [`Pace`]), each batch is committed
//! as rows of the rating inbox in one statement, and the writer projects the inbox into the
//! rest in its quiet moments, oldest first, or every other turn once the oldest has waited
//! [`MAX_LAG`] ([`crate::store::ratings::inbox`]).

use std::collections::BTreeSet;
use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::domain::rating::{self, AbuseRule, AbuseTracker, AlertRule, SigningKey, TokenKind};
use crate::store::rating_codes::Target;
use crate::store::ratings::{self, NewRating, RatingSettings, Receipt, Refusal, Stamp, inbox};
use crate::store::{Store, StoreError, alerts, invitations, now_ms, rating_codes};

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

/// Where the rating writer commits ratings (`rating_inbox` in the configuration file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxMode {
    /// Straight into ratings, rollups and cases while the writer keeps up; through the inbox
    /// under load.
    #[default]
    Auto,
    /// Always through the inbox, projected as soon as the writer is idle.
    Always,
    /// Never through the inbox: every 2xx comes after the rating's case exists, however slow.
    Never,
}

impl InboxMode {
    /// The mode's name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxMode::Auto => "auto",
            InboxMode::Always => "always",
            InboxMode::Never => "never",
        }
    }
}

impl std::str::FromStr for InboxMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(InboxMode::Auto),
            "always" => Ok(InboxMode::Always),
            "never" => Ok(InboxMode::Never),
            other => Err(format!("rating_inbox: {other:?} is not one of auto, always, never")),
        }
    }
}

/// How fast ratings arrive and how fast the writer projects them, to tell load from quiet.
#[derive(Debug)]
struct Pace {
    /// Ratings taken by the writer in the last [`Pace::WINDOW`].
    arrivals: std::collections::VecDeque<(std::time::Instant, usize)>,
    /// Ratings a second that projection achieves (moving average over full chunks).
    projection_rate: f64,
}

impl Pace {
    const WINDOW: Duration = Duration::from_millis(200);

    fn new() -> Pace {
        // A cautious guess until the first full chunk is measured (the project's machine
        // projects 5-10k/s).
        Pace { arrivals: Default::default(), projection_rate: 4_000.0 }
    }

    fn arrived(&mut self, n: usize) {
        self.arrivals.push_back((std::time::Instant::now(), n));
    }

    /// Ratings a second over the last window.
    fn arrival_rate(&mut self) -> f64 {
        let now = std::time::Instant::now();
        while self.arrivals.front().is_some_and(|(at, _)| now.duration_since(*at) > Self::WINDOW) {
            self.arrivals.pop_front();
        }
        self.arrivals.iter().map(|(_, n)| *n).sum::<usize>() as f64 / Self::WINDOW.as_secs_f64()
    }

    fn projected(&mut self, n: usize, took: Duration) {
        if n >= PROJECT_CHUNK / 2 && !took.is_zero() {
            self.projection_rate = 0.8 * self.projection_rate + 0.2 * (n as f64 / took.as_secs_f64());
        }
    }

    /// Ratings arrive at under half the rate projection goes: writing them straight through
    /// (or projecting the inbox) leaves the writer time to spare.
    fn quiet(&mut self) -> bool {
        self.arrival_rate() < self.projection_rate / 2.0
    }
}

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
        inbox: InboxMode,
    ) -> Result<RatingService, StoreError> {
        let alert = AlertRule::default();
        let rules = (AbuseRule::default(), alert, inbox);
        Ok(RatingService {
            keys: KeyRing::load(store).await?,
            writer: RatingWriter::start(store.clone(), calendar.clone(), rules, metrics),
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
    /// Starts the writer task with its abuse and alert rules and inbox mode.
    pub fn start(
        store: Store,
        calendar: std::sync::Arc<crate::calendar_data::CalendarHandle>,
        (abuse, alert, inbox): (AbuseRule, AlertRule, InboxMode),
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> RatingWriter {
        let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        let (alerts_tx, alerts_rx) = mpsc::unbounded_channel::<AlertMsg>();
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
    if w.store.dialect() == crate::store::Dialect::Sqlite {
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
        let written = w.write(&ratings, flags.clone(), now).await;
        let mut rated = Vec::new();
        for (reply, ((r, f), result)) in replies.into_iter().zip(ratings.iter().zip(&flags).zip(written)) {
            if matches!(result, Ok(Ok(_))) && f.is_empty() {
                rated.push((r.target.unit_code.clone(), r.submission.outcome == rating::Outcome::Unsatisfied, now));
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
    async fn write(&mut self, ratings: &[NewRating], flags: Vec<Vec<String>>, now: i64) -> Vec<Written> {
        let to_inbox = match self.mode {
            InboxMode::Never => false,
            InboxMode::Always => true,
            InboxMode::Auto => self.backlog > 0 || !self.pace.quiet(),
        };
        // An invitation is used up in the same transaction as its rating: never through the inbox.
        let inboxed: Vec<bool> = ratings.iter().map(|r| to_inbox && r.invitation_id.is_none()).collect();
        let stamps: Vec<Stamp> = ratings.iter().map(|_| Stamp::fresh(now)).collect();
        let mut out: Vec<Option<Written>> = (0..ratings.len()).map(|_| None).collect();
        let (mut at, mut body, mut direct) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (r, f)) in ratings.iter().zip(flags).enumerate() {
            if inboxed[i] {
                at.push(i);
                body.push(inbox::Pending { stamp: stamps[i].clone(), flags: f, rating: r.clone() });
            } else {
                direct.push((i, f));
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
                        out[i] = Some(Err(IngestError::Store(StoreError::Database(sqlx::Error::WorkerCrashed))));
                    }
                }
            }
        }
        if !direct.is_empty() {
            let items: Vec<NewRating> = direct.iter().map(|(i, _)| ratings[*i].clone()).collect();
            let stamps: Vec<Stamp> = direct.iter().map(|(i, _)| stamps[*i].clone()).collect();
            let flags: Vec<Vec<String>> = direct.iter().map(|(_, f)| f.clone()).collect();
            let started = std::time::Instant::now();
            let mut steps = ratings::Steps::default();
            let batch = ratings::Batch { items: &items, stamps: &stamps, flags: &flags, inbox: &[] };
            let written = self.commit(batch, &mut steps).await;
            self.metrics.record_rating_batch(items.len(), started.elapsed(), &steps.named());
            match written {
                Ok(results) => {
                    for ((i, _), result) in direct.iter().zip(results) {
                        out[*i] = Some(Ok(result));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, ratings = items.len(), "rating batch failed; nothing committed");
                    for (i, _) in &direct {
                        out[*i] = Some(Err(IngestError::Store(StoreError::Database(sqlx::Error::WorkerCrashed))));
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
            Ok(done) => {
                self.pace.projected(done.ratings, started.elapsed());
                let taken = (done.ratings + done.unreadable) as i64;
                self.backlog = if done.more { (self.backlog - taken).max(1) } else { 0 };
                self.oldest = if done.more { done.last_at.or(self.oldest) } else { None };
                self.retry_at = None;
                self.metrics.record_inbox_projection(done.ratings, started.elapsed(), self.backlog);
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

/// The writer's own connection in `slot` (opened on first use, and again after a failure,
/// since a failed connection may be in any state).
async fn connection<'c>(
    store: &Store,
    slot: &'c mut Option<sqlx::AnyConnection>,
) -> Result<&'c mut sqlx::AnyConnection, StoreError> {
    if slot.is_none() {
        let mut c = store.dedicated_connection().await?;
        if store.dialect() == crate::store::Dialect::Sqlite {
            // The checkpointer copies the log into the database, off the writer's path.
            sqlx::query("pragma wal_autocheckpoint = 0").execute(&mut c).await?;
        }
        *slot = Some(c);
    }
    slot.as_mut().ok_or(StoreError::Database(sqlx::Error::PoolClosed))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_load_and_a_lone_rating_is_quiet() {
        let mut pace = Pace::new();
        pace.arrived(1);
        assert!(pace.quiet(), "one rating in the window");
        pace.arrived(MAX_BATCH);
        assert!(
            !pace.quiet(),
            "{} ratings in {:?} is more than half of {}/s",
            MAX_BATCH + 1,
            Pace::WINDOW,
            pace.projection_rate
        );
    }

    #[test]
    fn a_faster_projection_tolerates_more_arrivals() {
        let mut pace = Pace::new();
        pace.arrived(500);
        assert!(!pace.quiet());
        for _ in 0..30 {
            // 32 ratings in 1 ms: 32,000 a second.
            pace.projected(PROJECT_CHUNK, Duration::from_millis(1));
        }
        assert!(pace.quiet(), "500 in {:?} is under half of {}/s", Pace::WINDOW, pace.projection_rate);
        // Small chunks say little about the rate and are not counted.
        let rate = pace.projection_rate;
        pace.projected(1, Duration::from_secs(1));
        assert_eq!(pace.projection_rate, rate);
    }
}
