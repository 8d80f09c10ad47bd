//! The store's one error type: each cause a variant of its own (a duplicate key, a busy pool, a
//! damaged stored value, …), so callers match on kinds, never on message text.

/// A store error. Constraint violations are told apart by kind, never by message text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (a concurrent writer got there first).
    #[error("a record with the same key already exists")]
    Duplicate,
    /// The database failed.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database cannot take work now (no connection came free in time, or the pool is
    /// closing): worth trying again later.
    #[error("the database is busy or closing")]
    Unavailable,
    /// A batch was not committed (the writer's connection failed); nothing of it was written.
    #[error("the batch was not committed")]
    NotCommitted,
    /// A row the operation relies on is not there (a unit's office, an SLA policy).
    #[error("missing {0}")]
    Missing(&'static str),
    /// The caller broke the function's contract (a programming error, not bad input).
    #[error("misuse: {0}")]
    Misuse(&'static str),
    /// A value could not be turned into the JSON the store keeps.
    #[error("value could not be stored: {0}")]
    Encode(#[from] serde_json::Error),
    /// A working-day computation has no answer (a date outside the calendar's years).
    #[error(transparent)]
    Calendar(#[from] crate::domain::calendar::CalendarError),
    /// A file of the store (evidence) could not be written.
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    /// A value stored as JSON could not be read back: the row is damaged, never silently
    /// replaced by a default.
    #[error("stored value {column} could not be read: {reason}")]
    Decode {
        /// Table and column.
        column: &'static str,
        /// Why.
        reason: String,
    },
    /// The audit chain cannot be written: this process has no audit key (see
    /// [`super::audit::install_key`]), or the chain to re-key is broken.
    #[error("audit trail: {0}")]
    Audit(String),
    /// Migrations could not be applied.
    #[error("migration {version} ({name}): {reason}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// Its name.
        name: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            return StoreError::Duplicate;
        }
        if matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) {
            return StoreError::Unavailable;
        }
        StoreError::Database(e)
    }
}

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
