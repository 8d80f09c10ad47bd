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
//! back. When ratings arrive faster than that can go on (see `pace.rs`), each batch is committed
//! as rows of the rating inbox in one statement, and the writer projects the inbox into the
//! rest in its quiet moments, oldest first, or every other turn once the oldest has waited
//! [`MAX_LAG`] ([`crate::store::ratings::inbox`]).
//!
//! Files: the writer task and its handle (`writer.rs`), when it goes through the inbox
//! (`pace.rs`), the live-alert watcher (`alerts.rs`); here the key ring, the service that
//! holds them together. (The minute sweeps are in `jobs::sweeps`.)

mod alerts;
mod pace;
mod writer;

use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use pace::InboxMode;
pub use writer::{CHECKPOINT_EVERY, MAX_BATCH, MAX_LAG, PROJECT_CHUNK, RatingWriter};

use crate::domain::rating::{self, AbuseRule, AlertRule, SigningKey, TokenKind};
use crate::store::rating_codes::Target;
use crate::store::ratings::{self, RatingSettings};
use crate::store::{Store, StoreError, rating_codes};

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
    pub pepper: crate::secrets::Pepper,
    /// Live alert rule.
    pub alert: AlertRule,
    /// The working-day calendar, for the deadlines of the cases ratings open.
    pub calendar: std::sync::Arc<crate::calendar_data::CalendarHandle>,
    /// Recently resolved codes with their settings (see [`RatingService::code_target`]).
    cache: std::sync::Mutex<std::collections::HashMap<String, CachedCode>>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

/// A resolved code: when it was read, its target and its region's settings.
type CachedCode = (std::time::Instant, Target, Arc<RatingSettings>);

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
            writer: RatingWriter::start(store.clone(), calendar.clone(), rules, metrics.clone()),
            calendar,
            sealer: crate::secrets::Sealer::new(secret),
            pepper: crate::secrets::Pepper::new(&secret.derive("pingyi rating pepper v1")),
            alert,
            cache: Default::default(),
            metrics,
        })
    }

    /// What a rating code points at, with the settings in force there; read through a short
    /// cache so that the rating hot path usually needs no query.
    pub async fn code_target(
        &self,
        store: &Store,
        id: &str,
    ) -> Result<Option<(Target, Arc<RatingSettings>)>, StoreError> {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, target, settings)) = cache.get(id)
            && at.elapsed() < CODE_CACHE_TTL
        {
            return Ok(Some((target.clone(), settings.clone())));
        }
        let Some(target) = rating_codes::code_target(store, id).await? else { return Ok(None) };
        let settings = Arc::new(ratings::settings_for(store, &target.org_code).await?);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(id.to_owned(), (std::time::Instant::now(), target.clone(), settings.clone()));
        }
        Ok(Some((target, settings)))
    }

    /// Counts the unreadable inbox rows for `/metrics` now, as the writer does every
    /// minute (`writer::UNREADABLE_RECOUNT`).
    pub async fn count_unreadable(&self, store: &Store) {
        writer::count_unreadable(store, &self.metrics).await;
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
