//! Wiring for `pingyi serve` and for the tests: open the store (migrating it), build the
//! router, bind the listener, serve until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::ingest::RatingService;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use crate::web::{self, AppState};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened or migrated.
    #[error("database {url}: {source}")]
    Store {
        /// The database, without password.
        url: String,
        /// The cause.
        source: StoreError,
    },
    /// The server secret is not the one the data was written with.
    #[error(
        "the server secret is not the one this database was written with: phone numbers sealed with it could not be \
         read. Start with the original secret (secret_file, default ./pingyi.secret, or PINGYI_SECRET_KEY); \
         servers sharing one database must share one secret"
    )]
    SecretDiffers,
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A server ready to run: store open, listener bound.
pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    /// Opens the store (running migrations) and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<App, StartupError> {
        let store = Store::open(&config.database)
            .await
            .map_err(|source| StartupError::Store { url: config.database.to_string(), source })?;
        App::with_store(config, store).await
    }

    /// Binds the listener for an already open store.
    pub async fn with_store(config: Config, store: Store) -> Result<App, StartupError> {
        prepare(&store, &config).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Bind { addr: config.listen, source })?;
        let metrics = Arc::new(Metrics::default());
        let calendar = Arc::new(crate::calendar_data::CalendarHandle::new(crate::calendar_data::load()));
        calendar
            .reload(&store)
            .await
            .map_err(|source| StartupError::Store { url: config.database.to_string(), source })?;
        let ratings =
            RatingService::start(&store, &config.secret, metrics.clone(), calendar.clone(), config.rating_inbox)
                .await
                .map_err(|source| StartupError::Store { url: config.database.to_string(), source })?;
        let outbound = Arc::new(crate::jobs::Outbound::new(config.smtp_url.clone(), config.mail_from.clone()));
        let state = AppState::new(crate::web::Shared {
            store,
            config: Arc::new(config),
            metrics,
            ratings: Arc::new(ratings),
            calendar,
            outbound,
            public_cache: Default::default(),
            rating_requests: Default::default(),
        });
        Ok(App { listener, state })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.config.listen)
    }

    /// Everything the server shares with its handlers.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The store the server uses.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        if self.state.config.run_jobs {
            crate::jobs::sweeps::spawn_every_minute(self.state.store.clone(), self.state.calendar.clone());
            crate::jobs::Runner::new(self.state.store.clone(), worker_name(), self.state.outbound.clone())
                .with_calendar(self.state.calendar.clone())
                .spawn();
        }
        let router = web::router(self.state.clone());
        axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await?;
        self.state.store.close().await;
        Ok(())
    }
}

/// Readies an open store for a process that writes to it: refuses a server secret other than
/// the one the data was written with, installs the audit key derived from the secret, and
/// re-keys an audit chain written before keyed hashes (once; a broken chain is left as it is,
/// loudly, for `pingyi audit verify` to name).
pub async fn prepare(store: &Store, config: &Config) -> Result<(), StartupError> {
    check_secret(store, config).await?;
    let key = config.secret.audit_key();
    crate::store::audit::install_key(key.clone())
        .map_err(|e| StartupError::Store { url: config.database.to_string(), source: StoreError::Audit(e) })?;
    match crate::store::audit::rekey(store, &key).await {
        Ok(Some(rows)) if rows > 0 => {
            tracing::warn!(rows, "the audit trail was re-keyed: its hashes are keyed from now on");
        }
        Ok(_) => {}
        Err(StoreError::Audit(e)) => {
            tracing::error!(error = %e, "the audit trail is broken; run `pingyi audit verify`")
        }
        Err(source) => return Err(StartupError::Store { url: config.database.to_string(), source }),
    }
    Ok(())
}

/// Refuses a server secret other than the one the data was written with (recording it on a
/// database that has none yet).
pub async fn check_secret(store: &Store, config: &Config) -> Result<(), StartupError> {
    let sealer = crate::secrets::Sealer::new(&config.secret);
    let check = crate::store::fingerprint::check(store, &config.secret.fingerprint(), |s| sealer.open(s).is_some())
        .await
        .map_err(|source| StartupError::Store { url: config.database.to_string(), source })?;
    match check {
        crate::store::fingerprint::SecretCheck::Differs => Err(StartupError::SecretDiffers),
        _ => Ok(()),
    }
}

/// A job-runner name unique to this process: host, process id and a random suffix.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{}-{}-{}", host.trim(), std::process::id(), crate::store::new_secret(3))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Sets up logging to stderr with `filter` (e.g. `info`), overridable by `RUST_LOG`.
pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
