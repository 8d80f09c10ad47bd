//! Rating ingestion: the key ring that checks signed codes, and the group-commit writer.
//!
//! Every rating request hands its validated rating to one writer task and waits. The writer
//! takes whatever has queued up (up to [`MAX_BATCH`]), writes it in one transaction with its
//! audit rows, commits, and only then answers each request, so a 2xx always means committed.
//! Under load many ratings share one commit; when idle a rating commits alone at once.

use std::collections::BTreeSet;
use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::domain::rating::{self, AbuseRule, AlertRule, SigningKey, TokenKind};
use crate::store::ratings::{self, NewRating, Receipt, Refusal};
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
}

impl RatingService {
    /// Loads the keys and starts the writer.
    pub async fn start(store: &Store, secret: &crate::secrets::Secret) -> Result<RatingService, StoreError> {
        let alert = AlertRule::default();
        Ok(RatingService {
            keys: KeyRing::load(store).await?,
            writer: RatingWriter::start(store.clone(), AbuseRule::default(), alert),
            sealer: crate::secrets::Sealer::new(secret),
            pepper: secret.derive("pingyi rating pepper v1"),
            alert,
        })
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
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl RatingWriter {
    /// Starts the writer task.
    pub fn start(store: Store, abuse: AbuseRule, alert: AlertRule) -> RatingWriter {
        let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        let (alerts_tx, alerts_rx) = mpsc::unbounded_channel::<BTreeSet<String>>();
        tokio::spawn(run(store.clone(), rx, abuse, alerts_tx));
        tokio::spawn(watch_alerts(store, alerts_rx, alert));
        RatingWriter { tx }
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
    mut rx: mpsc::Receiver<Job>,
    abuse: AbuseRule,
    alerts: mpsc::UnboundedSender<BTreeSet<String>>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (ratings, replies): (Vec<NewRating>, Vec<_>) = batch.drain(..).map(|j| (j.rating, j.reply)).unzip();
        let units: BTreeSet<String> = ratings.iter().map(|r| r.target.unit_code.clone()).collect();
        match write(&store, &ratings, &abuse).await {
            Ok(results) => {
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
        let _ = alerts.send(units);
    }
}

/// Evaluates the alert rule for units that just received ratings, one evaluation at a time
/// (so an evaluation that read older counts can never close an episode a newer one opened),
/// off the request path, merging whatever queued up meanwhile.
async fn watch_alerts(store: Store, mut rx: mpsc::UnboundedReceiver<BTreeSet<String>>, alert: AlertRule) {
    let mut pending = Vec::new();
    while rx.recv_many(&mut pending, 1024).await > 0 {
        let units: Vec<String> = pending.drain(..).flatten().collect::<BTreeSet<_>>().into_iter().collect();
        if let Err(e) = alerts::evaluate(&store, &units, &alert, now_ms()).await {
            tracing::warn!(error = %e, "alert evaluation failed");
        }
    }
}

async fn write(
    store: &Store,
    ratings: &[NewRating],
    abuse: &AbuseRule,
) -> Result<Vec<Result<Receipt, Refusal>>, StoreError> {
    let mut tx = store.write().await?;
    let results = ratings::insert_batch(&mut tx, ratings, abuse).await?;
    tx.commit().await?;
    Ok(results)
}

/// Every minute: closes alert episodes whose window has passed and records default levels
/// for invitations left unrated. (The durable job runner will take these over.)
pub fn spawn_housekeeping(store: Store, alert: AlertRule) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = housekeeping(&store, &alert, now_ms()).await {
                tracing::warn!(error = %e, "housekeeping failed");
            }
        }
    });
}

/// One housekeeping pass at `now`; returns (episodes re-evaluated, default ratings recorded).
pub async fn housekeeping(store: &Store, alert: &AlertRule, now: i64) -> Result<(usize, usize), StoreError> {
    let open: Vec<String> =
        sqlx::query_scalar("select unit_code from alerts where closed_at is null").fetch_all(store.pool()).await?;
    alerts::evaluate(store, &open, alert, now).await?;
    let defaults = invitations::record_defaults(store, now).await?;
    Ok((open.len(), defaults))
}
